//! The SVG plots: well-formed output, round ticks, robustness to bad data, and grids.

use nn::plot::{format_ticks, grid, log_ticks, nice_ticks, Figure, Legend};

/// Checks that tags nest properly and that the root is one <svg> element; returns the number of
/// elements. A small stand-in for an XML parser: enough for the markup this module writes.
fn check_well_formed(svg: &str) -> usize {
    let s = svg.trim();
    assert!(s.starts_with("<svg") && s.ends_with("</svg>"), "not a single svg element");
    let mut stack: Vec<String> = Vec::new();
    let mut elements = 0;
    let mut rest = s;
    while let Some(open) = rest.find('<') {
        let text = &rest[..open];
        assert!(!text.contains('>'), "stray '>' in text: {text}");
        let close = rest[open..].find('>').expect("unterminated tag") + open;
        let tag = &rest[open + 1..close];
        assert!(!tag.contains('<'), "'<' inside tag: {tag}");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "mismatched close tag");
        } else {
            elements += 1;
            let name: String = tag.chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
            assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()), "bad tag name in <{tag}>");
            assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in <{tag}>");
            if stack.is_empty() {
                assert_eq!(elements, 1, "more than one root element");
            }
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &rest[close + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert!(rest.trim().is_empty());
    elements
}

fn no_bad_numbers(svg: &str) {
    let lower = svg.to_lowercase();
    assert!(!lower.contains("nan") && !lower.contains("inf"), "non-finite number in output");
}

fn xs(n: usize) -> Vec<f64> {
    (0..n).map(|i| i as f64 * 0.1).collect()
}

#[test]
fn figure_is_well_formed_with_every_series_kind() {
    let x = xs(50);
    let y: Vec<f64> = x.iter().map(|v| v.sin()).collect();
    let lo: Vec<f64> = y.iter().map(|v| v - 0.2).collect();
    let hi: Vec<f64> = y.iter().map(|v| v + 0.2).collect();
    let err = vec![0.1; 50];
    let fig = Figure::new("All kinds")
        .x_label("x [GeV]")
        .y_label("y")
        .line("line", &x, &y)
        .dashed("dashed", &x, &lo)
        .points("points", &x, &hi)
        .band("band", &x, &lo, &hi)
        .error_bars("bars", &x, &y, &err)
        .histogram("hist", &[0.0, 1.0, 2.0, 3.0], &[0.5, 1.0, 0.2])
        .hline(0.0)
        .vline(2.5);
    let svg = fig.to_svg();
    assert!(check_well_formed(&svg) > 20);
    assert!(svg.contains("width=\"640\" height=\"420\""));
    for label in ["All kinds", "x [GeV]", "line", "dashed", "points", "band", "bars", "hist"] {
        assert!(svg.contains(&format!(">{label}</text>")), "missing text {label}");
    }
    no_bad_numbers(&svg);
}

#[test]
fn one_path_per_line_series() {
    let x = xs(10);
    let svg = Figure::new("t").line("a", &x, &x).line("b", &x, &x).dashed("c", &x, &x).to_svg();
    assert_eq!(svg.matches("<path class=\"series\"").count(), 3);
    assert_eq!(svg.matches("stroke-dasharray=\"6 4\"").count(), 1);
}

#[test]
fn series_get_distinct_colours() {
    let x = xs(10);
    let mut fig = Figure::new("colours");
    for i in 0..5 {
        fig = fig.line(&format!("s{i}"), &x, &x);
    }
    let svg = fig.to_svg();
    let colours: std::collections::BTreeSet<&str> = svg
        .match_indices("<path class=\"series\"")
        .map(|(i, _)| {
            let s = &svg[i..];
            let at = s.find("stroke=\"").unwrap() + 8;
            &s[at..at + 7]
        })
        .collect();
    assert_eq!(colours.len(), 5);
}

#[test]
fn text_is_escaped() {
    let x = xs(3);
    let svg = Figure::new("R<sup> & \"friends\"").x_label("E > 1 'GeV'").line("a<b && c>d", &x, &x).to_svg();
    check_well_formed(&svg);
    assert!(svg.contains("a&lt;b &amp;&amp; c&gt;d"));
    assert!(svg.contains("R&lt;sup&gt; &amp; &quot;friends&quot;"));
    assert!(svg.contains("E &gt; 1 &apos;GeV&apos;"));
    assert!(!svg.contains("a<b"));
}

fn is_round_step(step: f64) -> bool {
    let k = step.log10().floor();
    let m = step / 10f64.powf(k);
    [1.0, 2.0, 5.0, 10.0].iter().any(|r| (m - r).abs() < 1e-9)
}

#[test]
fn ticks_are_round_and_cover_the_range() {
    let ranges = [(0.0, 1.0), (-3.7, 12.2), (1e-5, 3e-5), (1234.0, 98765.0), (-0.5, 0.5), (0.95, 1.05), (-1e9, -2e8)];
    for (lo, hi) in ranges {
        for target in [3, 5, 8] {
            let t = nice_ticks(lo, hi, target);
            assert!(t.len() >= 2 && t.len() <= 3 * target, "{lo}..{hi}: {t:?}");
            let step = t[1] - t[0];
            assert!(is_round_step(step), "step {step} for {lo}..{hi}");
            for w in t.windows(2) {
                assert!(((w[1] - w[0]) - step).abs() < 1e-9 * step, "uneven {t:?}");
            }
            for &v in &t {
                assert!(v >= lo - 1e-12 * lo.abs() && v <= hi + 1e-12 * hi.abs(), "{v} outside {lo}..{hi}");
                assert!(((v / step).round() * step - v).abs() < 1e-9 * step, "{v} not a multiple of {step}");
            }
            // Covering: no gap of a whole step at either end.
            assert!(t[0] - lo < step && hi - t[t.len() - 1] < step, "{lo}..{hi}: {t:?}");
        }
    }
    assert_eq!(nice_ticks(0.0, 1.0, 5), vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
    assert_eq!(nice_ticks(-0.5, 0.5, 5), vec![-0.4, -0.2, 0.0, 0.2, 0.4]);
    assert!(nice_ticks(f64::NAN, 1.0, 5).is_empty());
    assert!(nice_ticks(2.0, 1.0, 5).is_empty());
}

#[test]
fn log_ticks_are_decades() {
    assert_eq!(log_ticks(0.05, 2000.0), vec![0.1, 1.0, 10.0, 100.0, 1000.0]);
    assert_eq!(log_ticks(2.0, 80.0), vec![2.0, 5.0, 10.0, 20.0, 50.0]);
    let wide = log_ticks(1e-10, 1e10);
    assert!(wide.len() <= 11 && wide.len() >= 3, "{wide:?}");
    for v in wide {
        assert!((v.log10() - v.log10().round()).abs() < 1e-12);
    }
    assert!(log_ticks(-1.0, 10.0).is_empty());
    assert!(log_ticks(3.0, 3.5).len() >= 2);
}

#[test]
fn tick_labels_are_compact() {
    assert_eq!(format_ticks(&[0.0, 0.2, 0.4]), ["0", "0.2", "0.4"]);
    assert_eq!(format_ticks(&[0.30000000000000004, 0.6]), ["0.3", "0.6"]);
    assert_eq!(format_ticks(&[-10.0, 0.0, 10.0]), ["-10", "0", "10"]);
    assert_eq!(format_ticks(&[0.0, 5e5, 1e6, 1.5e6]), ["0", "5e5", "1e6", "1.5e6"]);
    assert_eq!(format_ticks(&[2e-5, 4e-5]), ["2e-5", "4e-5"]);
    assert_eq!(format_ticks(&[0.95, 1.0, 1.05]), ["0.95", "1.00", "1.05"]);
}

#[test]
fn log_axes_skip_non_positive_values() {
    let x = [-1.0, 0.0, 1.0, 10.0, 100.0];
    let y = [1.0, 2.0, 3.0, 4.0, 5.0];
    let svg = Figure::new("log").log_x(true).line("l", &x, &y).to_svg();
    check_well_formed(&svg);
    let d = path_data(&svg);
    assert_eq!(d.matches(['M', 'L']).count(), 3, "{d}");
    // Points with y <= 0 on a log y axis are not drawn.
    let svg = Figure::new("log").log_y(true).points("p", &y, &[-1.0, 0.0, 1.0, 10.0, 100.0]).to_svg();
    assert_eq!(svg.matches("<circle").count(), 3 + 1, "three points and the legend marker");
    // Decade labels.
    let svg = Figure::new("log").log_x(true).line("l", &[0.1, 1000.0], &[0.0, 1.0]).to_svg();
    assert!(svg.contains(">0.1</text>") && svg.contains(">1000</text>"));
    let svg = Figure::new("log").log_y(true).line("l", &[0.0, 1.0], &[1e-8, 1e8]).to_svg();
    assert!(svg.contains("10<tspan"), "far decades as powers of ten");
    check_well_formed(&svg);
}

fn path_data(svg: &str) -> &str {
    let at = svg.find("<path class=\"series\" d=\"").unwrap() + 24;
    &svg[at..at + svg[at..].find('"').unwrap()]
}

#[test]
fn non_finite_values_never_reach_the_svg() {
    let bad = [f64::NAN, 1.0, f64::INFINITY, 2.0, f64::NEG_INFINITY, 3.0];
    let good = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let figs = [
        Figure::new("a").line("l", &bad, &good).dashed("d", &good, &bad),
        Figure::new("b").points("p", &bad, &bad).band("b", &good, &bad, &good),
        Figure::new("c").error_bars("e", &good, &good, &bad).histogram("h", &bad, &bad[..5]),
        Figure::new("d").log_x(true).log_y(true).line("l", &bad, &bad).hline(f64::NAN).vline(-1.0),
        Figure::new("e").x_range(f64::NAN, 1.0).y_range(3.0, 1.0).line("l", &good, &good),
        Figure::new("f").line("only bad", &[f64::NAN; 3], &[f64::INFINITY; 3]),
        Figure::new("g").line("huge", &[0.0, 1e300, f64::MAX], &[f64::MIN, 0.0, 1e-300]),
        Figure::new("h").x_range(0.0, 1e-300).line("tiny range", &[0.0, 1e300], &[0.0, 1.0]),
    ];
    for f in &figs {
        let svg = f.to_svg();
        check_well_formed(&svg);
        no_bad_numbers(&svg);
    }
}

#[test]
fn empty_figure_draws_axes_only() {
    let svg = Figure::new("empty").x_label("x").y_label("y").to_svg();
    check_well_formed(&svg);
    assert_eq!(svg.matches("class=\"plot-area\"").count(), 1);
    assert!(!svg.contains("class=\"series\"") && !svg.contains("class=\"legend\""));
    assert!(svg.contains(">0</text>") && svg.contains(">1.0</text>"), "default 0..1 axes");
}

#[test]
fn mismatched_lengths_are_truncated() {
    let svg = Figure::new("t").line("l", &[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 2.0, 3.0]).to_svg();
    assert_eq!(path_data(&svg).matches(['M', 'L']).count(), 3);
    let svg = Figure::new("t").error_bars("e", &[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &[0.1]).to_svg();
    assert_eq!(svg.matches("<circle").count(), 1 + 1);
    // A histogram with too many counts uses as many bins as the edges allow.
    let svg = Figure::new("t").histogram("h", &[0.0, 1.0, 2.0], &[1.0, 2.0, 3.0, 4.0]).to_svg();
    assert_eq!(path_data(&svg).matches(['M', 'L']).count(), 6, "up, across, step, across, down");
    check_well_formed(&svg);
}

#[test]
fn fixed_ranges_and_size_are_used() {
    let svg = Figure::new("t").size(300, 200).x_range(-5.0, 5.0).y_range(0.0, 2.0).line("l", &[0.0], &[1.0]).to_svg();
    assert!(svg.contains("width=\"300\" height=\"200\""));
    assert!(svg.contains(">-5</text>") && svg.contains(">5</text>"));
    assert!(!svg.contains(">10</text>") && !svg.contains(">-10</text>"));
}

#[test]
fn legend_can_move_or_go() {
    let x = xs(5);
    let off = Figure::new("t").line("hidden label", &x, &x).legend(Legend::Off).to_svg();
    assert!(!off.contains("hidden label"));
    let left = Figure::new("t").line("l", &x, &x).legend(Legend::BottomLeft).to_svg();
    assert!(left.contains("class=\"legend\""));
    // Automatic placement avoids the data: a rising diagonal leaves the top left free.
    let rising = Figure::new("t").line("diagonal", &x, &x).to_svg();
    assert!(legend_x(&rising) < 320.0, "legend on the left");
    let falling: Vec<f64> = x.iter().map(|v| -v).collect();
    assert!(legend_x(&Figure::new("t").line("d", &x, &falling).to_svg()) > 320.0, "legend on the right");
    // Unlabelled series get no legend entry.
    assert!(!Figure::new("t").line("", &x, &x).to_svg().contains("class=\"legend\""));
}

fn legend_x(svg: &str) -> f64 {
    let needle = "class=\"legend\"><rect x=\"";
    let at = svg.find(needle).unwrap() + needle.len();
    svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
}

#[test]
fn grid_of_four_has_four_plot_areas() {
    let x = xs(20);
    let figs: Vec<Figure> =
        (0..4).map(|i| Figure::new(&format!("panel {i}")).size(400, 300).line("l", &x, &x)).collect();
    let svg = grid(&figs, 2);
    assert!(check_well_formed(&svg) > 4);
    assert_eq!(svg.matches("class=\"plot-area\"").count(), 4);
    assert!(svg.starts_with("<svg") && svg.contains("width=\"800\" height=\"600\""));
    // Clip-path ids must be unique when figures share a document.
    let mut ids: Vec<&str> = svg.match_indices("<clipPath id=\"").map(|(i, _)| &svg[i + 14..i + 14 + 24]).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    // Identical figures too.
    let same = grid(&[figs[0].clone(), figs[0].clone()], 1);
    assert!(same.contains("-0\"") && same.contains("-1\""));
    check_well_formed(&grid(&[], 3));
    check_well_formed(&grid(&figs, 0));
}

#[test]
fn save_writes_the_svg_and_example_renders() {
    // An example with the features a calibration plot uses, left in the temp dir to look at.
    let e: Vec<f64> = (0..40).map(|i| 0.1 * 10f64.powf(i as f64 / 10.0)).collect();
    let resp: Vec<f64> = e.iter().map(|v| 1.0 - 0.3 / (1.0 + v.sqrt())).collect();
    let lo: Vec<f64> = resp.iter().zip(&e).map(|(r, v)| r - 0.2 / (1.0 + v).sqrt()).collect();
    let hi: Vec<f64> = resp.iter().zip(&e).map(|(r, v)| r + 0.2 / (1.0 + v).sqrt()).collect();
    let lcw: Vec<f64> = resp.iter().map(|r| r * 0.97 + 0.02).collect();
    let err: Vec<f64> = e.iter().map(|v| 0.05 / (1.0 + v).sqrt()).collect();
    let fig = Figure::new("Signal linearity vs deposited energy")
        .x_label("E_dep [GeV]")
        .y_label("median response")
        .log_x(true)
        .band("BNN \u{b1} 1\u{3c3}", &e, &lo, &hi)
        .line("BNN median", &e, &resp)
        .dashed("LCW", &e, &lcw)
        .error_bars(
            "data",
            &e[..40].iter().step_by(4).copied().collect::<Vec<_>>(),
            &resp.iter().step_by(4).map(|r| r + 0.01).collect::<Vec<_>>(),
            &err.iter().step_by(4).copied().collect::<Vec<_>>(),
        )
        .hline(1.0)
        .legend(Legend::BottomRight);
    let dir = std::env::temp_dir();
    let path = dir.join("sigmagrad_plot_example.svg");
    fig.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text, fig.to_svg());
    check_well_formed(&text);
    no_bad_numbers(&text);
    let hist = Figure::new("Counts").log_y(true).histogram("h", &[0.0, 1.0, 2.0, 3.0, 4.0], &[1.0, 100.0, 0.0, 10.0]);
    let g = grid(&[fig.clone(), hist, Figure::new("empty"), fig.size(320, 240)], 2);
    std::fs::write(dir.join("sigmagrad_plot_grid.svg"), &g).unwrap();
    check_well_formed(&g);
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        /// Any doubles at all (NaN, infinities, subnormals, extremes) on any axes: no panic, no
        /// non-finite number in the output, and well-formed markup.
        #[test]
        fn arbitrary_data_never_breaks_the_svg(
            x in prop::collection::vec(prop::num::f64::ANY, 0..12),
            y in prop::collection::vec(prop::num::f64::ANY, 0..12),
            z in prop::collection::vec(prop::num::f64::ANY, 0..12),
            log_x: bool,
            log_y: bool,
            range in prop::option::of((prop::num::f64::ANY, prop::num::f64::ANY)),
        ) {
            let mut fig = Figure::new("any").log_x(log_x).log_y(log_y)
                .line("l", &x, &y).dashed("d", &y, &x).points("p", &x, &z).band("b", &x, &y, &z)
                .error_bars("e", &x, &y, &z).histogram("h", &x, &y).hline(z.first().copied().unwrap_or(0.0));
            if let Some((lo, hi)) = range {
                fig = fig.x_range(lo, hi).y_range(lo, hi);
            }
            let svg = fig.to_svg();
            check_well_formed(&svg);
            no_bad_numbers(&svg);
        }
    }
}

#[test]
fn extreme_ranges_still_draw() {
    // A log axis from 1e-308 up once underflowed to a lower end of 0 (found by the property test).
    let svg = Figure::new("t").log_y(true).line("l", &[0.0, 1.0], &[2.1e-308, 1.3e26]).to_svg();
    check_well_formed(&svg);
    no_bad_numbers(&svg);
    let d = path_data(&svg).to_string();
    assert_eq!(d.matches(['M', 'L']).count(), 2, "{d}");
    // Data spanning all doubles keep distinct positions rather than collapsing onto one.
    let svg = Figure::new("t").line("l", &[-f64::MAX, 0.0, f64::MAX], &[f64::MAX, 0.0, -f64::MAX]).to_svg();
    no_bad_numbers(&svg);
    let d = path_data(&svg).to_string();
    let xs: Vec<&str> = d.split(['M', 'L']).filter(|p| !p.is_empty()).map(|p| p.split(' ').next().unwrap()).collect();
    assert!(xs[0] != xs[1] && xs[1] != xs[2], "{d}");
}
