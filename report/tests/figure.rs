//! Single figures (ported from nn's plot tests and grown): well-formed output, every series kind,
//! styles, robustness to bad data, and "no data" for empty inputs.

mod common;

use common::*;
use report::{Chart, Dash, Figure, Legend, Style};

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
        .histogram_with_errors("hist err", &[0.0, 1.0, 2.0, 3.0], &[0.4, 0.8, 0.1], &[0.1, 0.1, 0.1])
        .histogram_band("hist band", &[0.0, 1.0, 2.0, 3.0], &[0.3, 0.7, 0.05], &[0.5, 0.9, 0.15])
        .hline(0.0)
        .vline(2.5)
        .shade_x(1.0, 1.5, "gap")
        .note("Gaussian core fit: mean 0.01, width 0.98")
        .text(0.5, 0.5, "here");
    let svg = fig.to_svg();
    let doc = parse(&svg);
    assert!(svg.contains("width=\"640\" height=\"420\""));
    for label in ["All kinds", "x [GeV]", "line", "dashed", "points", "band", "bars", "hist", "gap", "here"] {
        assert!(svg.contains(&format!(">{label}</text>")), "missing text {label}");
    }
    assert!(svg.contains("Gaussian core fit: mean 0.01, width 0.98"));
    assert_eq!(with_class(&doc, "data").len(), 8, "one data element per series");
    assert_eq!(report::check::check_svg(&svg).data_elements, 8);
    assert_eq!(with_class(&doc, "errors").len(), 1, "the histogram's error bars");
}

#[test]
fn one_path_per_line_series_and_dashed_is_always_dashed() {
    let x = xs(10);
    let svg = Figure::new("t").line("a", &x, &x).line("b", &x, &x).dashed("c", &x, &x).style(Style::nth(0)).to_svg();
    let doc = parse(&svg);
    let lines = with_class(&doc, "line");
    assert_eq!(lines.len(), 3);
    // Style 0 is solid, yet the dashed series is dashed.
    assert_eq!(lines[2].attribute("stroke-dasharray"), Dash::Dashed.dasharray());
}

#[test]
fn series_get_distinct_colours_and_dashes() {
    let x = xs(10);
    let mut fig = Figure::new("colours");
    for i in 0..6 {
        fig = fig.line(&format!("s{i}"), &x, &x);
    }
    let svg = fig.to_svg();
    let doc = parse(&svg);
    let lines = with_class(&doc, "line");
    let colours: std::collections::BTreeSet<&str> = lines.iter().filter_map(|n| n.attribute("stroke")).collect();
    let dashes: std::collections::BTreeSet<Option<&str>> =
        lines.iter().map(|n| n.attribute("stroke-dasharray")).collect();
    assert_eq!(colours.len(), 6);
    assert_eq!(dashes.len(), 6, "distinguishable in greyscale too");
}

#[test]
fn a_method_has_the_same_style_on_every_figure() {
    let x = xs(10);
    let bnn = Style::for_method("BNN");
    let a = Figure::new("a").line("LCW", &x, &x).method("LCW").line("BNN", &x, &x).style(bnn).to_svg();
    let b = Figure::new("b").line("BNN", &x, &x).style(bnn).to_svg();
    let colour_of_bnn = |svg: &str| {
        let doc = parse(svg);
        let lines = with_class(&doc, "line");
        lines.last().and_then(|n| n.attribute("stroke")).map(str::to_string)
    };
    assert_eq!(colour_of_bnn(&a), Some(bnn.colour.to_string()));
    assert_eq!(colour_of_bnn(&a), colour_of_bnn(&b));
    // An unstyled series never borrows a colour an explicit style has taken.
    let c = Figure::new("c").line("auto", &x, &x).line("BNN", &x, &x).style(Style::nth(0)).to_svg();
    let doc = parse(&c);
    let strokes: Vec<&str> = with_class(&doc, "line").iter().filter_map(|n| n.attribute("stroke")).collect();
    assert_ne!(strokes[0], strokes[1]);
}

#[test]
fn text_is_escaped() {
    let x = xs(3);
    let svg = Figure::new("R<sup> & \"friends\"").x_label("E > 1 'GeV'").line("a<b && c>d", &x, &x).to_svg();
    parse(&svg);
    assert!(svg.contains("a&lt;b &amp;&amp; c&gt;d"));
    assert!(svg.contains("R&lt;sup&gt; &amp; &quot;friends&quot;"));
    assert!(svg.contains("E &gt; 1 &apos;GeV&apos;"));
    assert!(!svg.contains("a<b"));
}

#[test]
fn label_markup_writes_sub_and_superscripts() {
    let svg = Figure::new("E^{EM}_{clus}").x_label("E_{dep} [GeV]").line("l", &[1.0, 2.0], &[1.0, 2.0]).to_svg();
    let doc = parse(&svg);
    let title = with_class(&doc, "title");
    assert_eq!(text_of(&title[0]), "EEMclus");
    assert!(title[0].descendants().filter(|n| n.tag_name().name() == "tspan").count() == 2);
    assert_eq!(doc.descendants().find(|n| n.tag_name().name() == "title").and_then(|n| n.text()), Some("EEMclus"));
}

#[test]
fn log_axes_skip_non_positive_values() {
    let x = [-1.0, 0.0, 1.0, 10.0, 100.0];
    let y = [1.0, 2.0, 3.0, 4.0, 5.0];
    let svg = Figure::new("log").log_x(true).line("l", &x, &y).to_svg();
    let doc = parse(&svg);
    let d = path_data(&doc, "line");
    assert_eq!(d.matches(['M', 'L']).count(), 3, "{d}");
    // Points with y <= 0 on a log y axis are not drawn.
    let svg = Figure::new("log").log_y(true).points("p", &y, &[-1.0, 0.0, 1.0, 10.0, 100.0]).to_svg();
    let doc = parse(&svg);
    let points = with_class(&doc, "points");
    let markers = points[0].last_element_child().and_then(|n| n.attribute("d")).unwrap();
    assert_eq!(markers.matches('Z').count(), 3, "three markers: {markers}");
    // Decade labels.
    let svg = Figure::new("log").log_x(true).line("l", &[0.1, 1000.0], &[0.0, 1.0]).to_svg();
    assert!(svg.contains(">0.1</text>") && svg.contains(">1</text>") && svg.contains(">1000</text>"));
    let svg = Figure::new("log").log_y(true).line("l", &[0.0, 1.0], &[1e-8, 1e8]).to_svg();
    assert!(svg.contains("10<tspan"), "far decades as powers of ten");
    parse(&svg);
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
        Figure::new("i").histogram_with_errors("h", &good, &bad, &bad).histogram_band("b", &bad, &good, &bad),
        Figure::new("j").shade_x(f64::NAN, 1.0, "s").text(f64::INFINITY, 1.0, "t").note("n").diagonal().log_x(true),
    ];
    for f in &figs {
        parse(&f.to_svg());
    }
}

#[test]
fn empty_figures_say_no_data() {
    for fig in [
        Figure::new("empty").x_label("x").y_label("y"),
        Figure::new("all missing").line("l", &[f64::NAN; 4], &[1.0; 4]),
        Figure::new("empty slices").line("l", &[], &[]).points("p", &[1.0], &[]).histogram("h", &[], &[]),
        Figure::new("log of negatives").log_y(true).points("p", &[1.0, 2.0], &[-1.0, 0.0]),
    ] {
        let svg = fig.to_svg();
        let doc = parse(&svg);
        assert_eq!(with_class(&doc, "plot-area").len(), 1);
        assert_eq!(texts(&doc, "no-data").len(), 1, "says no data");
        assert!(with_class(&doc, "data").is_empty() && with_class(&doc, "legend").is_empty());
        assert!(!report::check::check_svg(&svg).passed(), "the checker flags it");
    }
    let svg = Figure::new("empty").to_svg();
    assert!(svg.contains(">0</text>") && svg.contains(">1.0</text>"), "default 0..1 axes");
}

#[test]
fn mismatched_lengths_are_truncated() {
    let svg = Figure::new("t").line("l", &[1.0, 2.0, 3.0, 4.0, 5.0], &[1.0, 2.0, 3.0]).to_svg();
    let doc = parse(&svg);
    assert_eq!(path_data(&doc, "line").matches(['M', 'L']).count(), 3);
    let svg = Figure::new("t").error_bars("e", &[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], &[0.1]).to_svg();
    let doc = parse(&svg);
    let bars = with_class(&doc, "errorbars")[0].children().filter(|n| n.is_element()).count();
    assert_eq!(bars, 2, "one bar path and one marker path");
    assert_eq!(
        polylines(with_class(&doc, "errorbars")[0].first_element_child().unwrap().attribute("d").unwrap()).len(),
        1
    );
    // A histogram with too many counts uses as many bins as the edges allow.
    let svg = Figure::new("t").histogram("h", &[0.0, 1.0, 2.0], &[1.0, 2.0, 3.0, 4.0]).to_svg();
    let doc = parse(&svg);
    assert_eq!(path_data(&doc, "histogram").matches(['M', 'L']).count(), 6, "up, across, step, across, down");
}

#[test]
fn log_histograms_break_at_empty_bins_instead_of_running_along_the_axis() {
    let svg =
        Figure::new("t").log_y(true).histogram("h", &[0.0, 1.0, 2.0, 3.0, 4.0], &[1.0, 100.0, 0.0, 10.0]).to_svg();
    let doc = parse(&svg);
    let lines = polylines(path_data(&doc, "histogram"));
    assert_eq!(lines.len(), 2, "two runs of filled bins: {lines:?}");
}

#[test]
fn fixed_ranges_and_size_are_used() {
    let svg = Figure::new("t").size(300, 200).x_range(-5.0, 5.0).y_range(0.0, 2.0).line("l", &[0.0], &[1.0]).to_svg();
    assert!(svg.contains("width=\"300\" height=\"200\""));
    assert!(svg.contains(">\u{2212}5</text>") && svg.contains(">5</text>"));
    assert!(!svg.contains(">10</text>") && !svg.contains(">\u{2212}10</text>"));
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
    assert!(legend_rect(&rising).0 < 320.0, "legend on the left");
    let falling: Vec<f64> = x.iter().map(|v| -v).collect();
    assert!(legend_rect(&Figure::new("t").line("d", &x, &falling).to_svg()).0 > 320.0, "legend on the right");
    // Unlabelled series get no legend entry; a band and a line of one label share one entry.
    assert!(!Figure::new("t").line("", &x, &x).to_svg().contains("class=\"legend\""));
    let shared = Figure::new("t").band("BNN", &x, &x, &x).line("BNN", &x, &x).to_svg();
    assert_eq!(shared.matches(">BNN</text>").count(), 1);
}

fn legend_rect(svg: &str) -> (f64, f64, f64, f64) {
    let doc = parse(svg);
    let legend = with_class(&doc, "legend");
    rect(&legend[0].first_element_child().expect("the legend's box"))
}

#[test]
fn save_writes_the_svg() {
    let e: Vec<f64> = (0..40).map(|i| 0.1 * 10f64.powf(i as f64 / 10.0)).collect();
    let resp: Vec<f64> = e.iter().map(|v| 1.0 - 0.3 / (1.0 + v.sqrt())).collect();
    let fig = Figure::new("Signal linearity").x_label("E_{dep} [GeV]").log_x(true).line("BNN", &e, &resp).hline(1.0);
    let path = std::env::temp_dir().join(format!("report_save_{}.svg", std::process::id()));
    fig.save(&path).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(text, fig.to_svg());
    assert_eq!(fig.to_svg(), fig.clone().to_svg(), "deterministic");
    parse(&text);
}

#[test]
fn ids_differ_between_figures_and_follow_a_prefix() {
    let a = Figure::new("a").line("l", &[0.0, 1.0], &[0.0, 1.0]);
    let b = Figure::new("b").line("l", &[0.0, 1.0], &[0.0, 1.0]);
    let id = |svg: &str| {
        let doc = parse(svg);
        doc.descendants()
            .find(|n| n.tag_name().name() == "clipPath")
            .and_then(|n| n.attribute("id"))
            .unwrap()
            .to_string()
    };
    assert_ne!(id(&a.to_svg()), id(&b.to_svg()));
    assert!(id(&a.svg_with_ids("f7")).starts_with("f7-"));
}

#[test]
fn extreme_ranges_still_draw() {
    // A log axis from 1e-308 up once underflowed to a lower end of 0 (found by the property test).
    let svg = Figure::new("t").log_y(true).line("l", &[0.0, 1.0], &[2.1e-308, 1.3e26]).to_svg();
    let doc = parse(&svg);
    let d = path_data(&doc, "line").to_string();
    assert_eq!(d.matches(['M', 'L']).count(), 2, "{d}");
    // Data spanning all doubles keep distinct positions rather than collapsing onto one.
    let svg = Figure::new("t").line("l", &[-f64::MAX, 0.0, f64::MAX], &[f64::MAX, 0.0, -f64::MAX]).to_svg();
    let doc = parse(&svg);
    let pts = &polylines(path_data(&doc, "line"))[0];
    assert!(pts[0].0 != pts[1].0 && pts[1].0 != pts[2].0, "{pts:?}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(150))]
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
                .error_bars("e", &x, &y, &z).histogram("h", &x, &y).histogram_with_errors("he", &x, &y, &z)
                .histogram_band("hb", &z, &x, &y).hline(z.first().copied().unwrap_or(0.0))
                .text(x.first().copied().unwrap_or(0.0), y.first().copied().unwrap_or(0.0), "t");
            if let Some((lo, hi)) = range {
                fig = fig.x_range(lo, hi).y_range(lo, hi);
            }
            parse(&fig.to_svg());
        }
    }
}

#[test]
fn dense_series_are_thinned_to_what_can_be_seen() {
    let x: Vec<f64> = (0..100_000).map(|i| i as f64 / 100_000.0).collect();
    let y: Vec<f64> = x.iter().map(|v| v * v).collect();
    let svg = Figure::new("dense").line("l", &x, &y).points("p", &x, &y).to_svg();
    let doc = parse(&svg);
    let line = &polylines(path_data(&doc, "line"))[0];
    assert!(line.len() < 3000 && line.len() > 100, "{} vertices", line.len());
    assert!(svg.len() < 400_000, "{} bytes", svg.len());
    // Thinning keeps the curve: every vertex still lies on y = x^2. Both axes run from 0 (the
    // data minimum, exactly zero) to 1.05 (a 5% margin).
    let area = rect(&with_class(&doc, "plot-area")[0]);
    for &(px, py) in line {
        let x = (px - area.0) / area.2 * 1.05;
        let expected = area.1 + (1.0 - x * x / 1.05) * area.3;
        assert!((py - expected).abs() < 0.6, "vertex ({px}, {py}) is {} px off the curve", py - expected);
    }
}
