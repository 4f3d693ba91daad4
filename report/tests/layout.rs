//! What a reader would notice first: legends and notes that hide data, tick labels that touch,
//! titles cut off, and panels that do not line up.

mod common;

use common::*;
use report::{Chart, Figure, Grid, Legend, RatioFigure};

/// A deterministic random walk, for data that wander all over the plot.
fn walk(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut v = 0.0;
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            v += ((s >> 33) as f64 / (1u64 << 31) as f64) - 0.5;
            v
        })
        .collect()
}

/// Every sampled point of every data line and marker of the figure, in pixels.
fn data_points(doc: &roxmltree::Document) -> Vec<(f64, f64)> {
    let mut pts = Vec::new();
    for n in with_class(doc, "line").iter().chain(&with_class(doc, "histogram")) {
        pts.extend(sample(&polylines(n.attribute("d").unwrap()), 2.0));
    }
    pts
}

fn boxes(doc: &roxmltree::Document, class: &str) -> Vec<(f64, f64, f64, f64)> {
    with_class(doc, class)
        .iter()
        .filter_map(|g| g.first_element_child())
        .filter(|r| r.tag_name().name() == "rect")
        .map(|r| rect(&r))
        .collect()
}

#[test]
fn automatic_legends_and_notes_never_cover_data() {
    let x: Vec<f64> = (0..80).map(|i| i as f64).collect();
    let mut placed = 0;
    for seed in 0..40 {
        let mut fig = Figure::new("random walks").note("Gaussian core fit: mean 0.01, width 0.98");
        for k in 0..(1 + seed % 4) {
            fig = fig.line(&format!("walk {k}"), &x, &walk(seed * 10 + k, 80));
        }
        let svg = fig.to_svg();
        let doc = parse(&svg);
        let area = rect(&with_class(&doc, "plot-area")[0]);
        let pts = data_points(&doc);
        for b in boxes(&doc, "legend").into_iter().chain(boxes(&doc, "note")) {
            let hidden = pts.iter().filter(|&&p| inside(p, b)).count();
            assert_eq!(hidden, 0, "seed {seed}: a box {b:?} hides {hidden} data points");
            placed += usize::from(b.0 < area.0 + area.2);
        }
    }
    assert!(placed > 40, "most boxes found room inside the plot area ({placed})");
}

#[test]
fn a_legend_with_no_free_corner_moves_out_of_the_plot() {
    // A band over the whole plot area leaves no corner.
    let x: Vec<f64> = (0..=10).map(|i| i as f64).collect();
    let svg = Figure::new("full")
        .band("band", &x, &[0.0; 11], &[1.0; 11])
        .line("mid", &x, &[0.5; 11])
        .y_range(0.0, 1.0)
        .to_svg();
    let doc = parse(&svg);
    let area = rect(&with_class(&doc, "plot-area")[0]);
    let legend = boxes(&doc, "legend")[0];
    assert!(legend.0 >= area.0 + area.2, "legend {legend:?} right of the plot area {area:?}");
    assert!(legend.0 + legend.2 <= 640.0, "and inside the figure");
    // A note with no room becomes a line under the title, above the plot area.
    let svg =
        Figure::new("full").band("", &x, &[0.0; 11], &[1.0; 11]).y_range(0.0, 1.0).note("fit: width 1.02").to_svg();
    let doc = parse(&svg);
    let area = rect(&with_class(&doc, "plot-area")[0]);
    let note = texts(&doc, "note");
    assert_eq!(note.len(), 1);
    assert!(note[0].1 < area.1 && note[0].1 > texts(&doc, "title")[0].1, "{note:?} between title and plot");
}

#[test]
fn legends_on_the_right_or_below_stay_outside_the_plot_and_inside_the_figure() {
    let x: Vec<f64> = (0..20).map(|i| i as f64).collect();
    let base = (0..5).fold(Figure::new("five"), |f, k| f.line(&format!("method number {k}"), &x, &walk(k, 20)));
    let right = base.clone().legend(Legend::Right).to_svg();
    let doc = parse(&right);
    let (area, legend) = (rect(&with_class(&doc, "plot-area")[0]), boxes(&doc, "legend")[0]);
    assert!(legend.0 >= area.0 + area.2 && legend.0 + legend.2 <= 640.0, "{legend:?}");
    let below = base.legend(Legend::Below).to_svg();
    let doc = parse(&below);
    let (area, legend) = (rect(&with_class(&doc, "plot-area")[0]), boxes(&doc, "legend")[0]);
    let x_label_bottom = texts(&doc, "tick-label").iter().map(|t| t.1).fold(0.0, f64::max);
    assert!(legend.1 > x_label_bottom && legend.1 + legend.3 <= 420.0, "{legend:?} under the axis, inside the figure");
    assert!(legend.1 > area.1 + area.3);
    assert!(legend.2 > legend.3, "entries flow in columns: {legend:?}");
}

/// Tick labels of one axis, in pixel order, must leave a gap between neighbours.
fn assert_x_labels_apart(svg: &str, what: &str) {
    let doc = parse(svg);
    let ticks: Vec<(f64, f64, String)> = with_class(&doc, "tick-label")
        .iter()
        .filter(|n| has_class(n, "x"))
        .map(|n| (num(n, "x"), num(n, "y"), text_of(n)))
        .collect();
    for w in ticks.windows(2) {
        let gap = (w[1].0 - w[0].0).abs();
        let need = (min_width(&w[0].2) + min_width(&w[1].2)) / 2.0;
        assert!(gap > need, "{what}: labels {:?} and {:?} overlap ({gap} < {need})", w[0].2, w[1].2);
    }
    assert!(ticks.len() >= 2, "{what}: at least two labelled ticks: {ticks:?}");
}

#[test]
fn tick_labels_never_touch_on_any_range_or_width() {
    let ranges =
        [(0.0, 1.0), (-3.7, 12.2), (1e-5, 3e-5), (1234.0, 98765.0), (0.95, 1.05), (-1e9, -2e8), (123456.0, 123457.0)];
    for (lo, hi) in ranges {
        for width in [200, 320, 640, 1200] {
            let svg = Figure::new("").size(width, 300).x_range(lo, hi).line("", &[lo, hi], &[0.0, 1.0]).to_svg();
            assert_x_labels_apart(&svg, &format!("{lo}..{hi} at {width} px"));
        }
    }
    for (lo, hi) in [(1e-3, 1e2), (0.1, 1000.0), (1e-12, 1e12), (2.0, 80.0), (3.0, 3.5)] {
        for width in [200, 320, 640] {
            let svg =
                Figure::new("").size(width, 300).log_x(true).x_range(lo, hi).line("", &[lo, hi], &[0.0, 1.0]).to_svg();
            assert_x_labels_apart(&svg, &format!("log {lo}..{hi} at {width} px"));
        }
    }
}

#[test]
fn vertical_tick_labels_are_a_line_apart() {
    for height in [150, 200, 420] {
        let svg = Figure::new("").size(400, height).log_y(true).line("", &[0.0, 1.0], &[1e-6, 1e6]).to_svg();
        let doc = parse(&svg);
        let ys: Vec<f64> =
            with_class(&doc, "tick-label").iter().filter(|n| has_class(n, "y")).map(|n| num(n, "y")).collect();
        for w in ys.windows(2) {
            assert!((w[1] - w[0]).abs() >= 13.0, "height {height}: {ys:?}");
        }
    }
}

#[test]
fn large_numbers_share_one_power_of_ten() {
    let svg = Figure::new("").x_label("N_{train}").line("", &[0.0, 2e6], &[0.0, 1.0]).to_svg();
    let doc = parse(&svg);
    let label = texts(&doc, "axis-label").into_iter().find(|t| t.2.starts_with("N")).unwrap();
    assert_eq!(label.2, "Ntrain (\u{d7}106)", "the exponent joins the axis label");
    let ticks: Vec<String> =
        with_class(&doc, "tick-label").iter().filter(|n| has_class(n, "x")).map(|n| text_of(n)).collect();
    assert!(ticks.iter().all(|t| t.len() <= 4), "mantissas only: {ticks:?}");
}

#[test]
fn long_titles_and_labels_wrap_inside_the_figure() {
    let title =
        "A very long title that says in full what the figure shows and would never fit on one line of a small figure";
    let svg = Figure::new(title)
        .size(320, 300)
        .y_label("a long y-axis label with its unit [GeV]")
        .line("", &[0.0, 1.0], &[0.0, 1.0])
        .to_svg();
    let doc = parse(&svg);
    let lines = texts(&doc, "title");
    assert!(lines.len() >= 3, "{lines:?}");
    assert_eq!(lines.iter().map(|l| l.2.as_str()).collect::<Vec<_>>().join(" "), title);
    for (x, _, t) in &lines {
        assert!(x - min_width(t) * 1.3 / 2.0 >= 0.0 && x + min_width(t) * 1.3 / 2.0 <= 320.0, "{t} cut off");
    }
    let area = rect(&with_class(&doc, "plot-area")[0]);
    assert!(area.1 > lines.last().unwrap().1, "the plot starts below the title");
    assert!(texts(&doc, "axis-label").len() >= 2, "the y label wrapped");
}

#[test]
fn a_ratio_panel_shares_the_x_axis_and_shows_its_labels_once() {
    let e: Vec<f64> = (0..30).map(|i| 0.1 * 10f64.powf(i as f64 / 7.0)).collect();
    let main = Figure::new("Resolution").y_label("\u{3c3}/E").log_x(true).line("BNN", &e, &walk(1, 30)).line(
        "LCW",
        &e,
        &walk(2, 30),
    );
    let ratio = Figure::new("").y_label("ratio to LCW").log_x(true).line("", &e, &walk(3, 30)).hline(1.0);
    let fig = RatioFigure::new(main.x_label("E_{dep} [GeV]"), ratio);
    assert_eq!(fig.dimensions(), (640, 570));
    let svg = fig.to_svg();
    let doc = parse(&svg);
    let areas: Vec<_> = with_class(&doc, "plot-area").iter().map(rect).collect();
    assert_eq!(areas.len(), 2);
    assert_eq!((areas[0].0, areas[0].2), (areas[1].0, areas[1].2), "same x position and width");
    assert!(areas[1].1 >= areas[0].1 + areas[0].3 && areas[1].1 - (areas[0].1 + areas[0].3) < 8.0, "touching");
    assert!(areas[0].3 > 2.0 * areas[1].3, "main panel taller");
    let x_labels: Vec<f64> =
        with_class(&doc, "tick-label").iter().filter(|n| has_class(n, "x")).map(|n| num(n, "y")).collect();
    assert!(
        !x_labels.is_empty() && x_labels.iter().all(|&y| y > areas[1].1 + areas[1].3),
        "x tick labels only at the bottom"
    );
    assert_eq!(texts(&doc, "axis-label").iter().filter(|t| t.2.starts_with("E")).count(), 1, "one x label");
    // No y tick label of one panel reaches into the other.
    for n in with_class(&doc, "tick-label").iter().filter(|n| has_class(n, "y")) {
        let y = num(n, "y");
        let in_main = y - 9.0 >= areas[0].1 - 12.0 && y + 3.0 <= areas[0].1 + areas[0].3;
        let in_ratio = y - 9.0 >= areas[1].1 && y + 3.0 <= areas[1].1 + areas[1].3 + 20.0;
        assert!(in_main || in_ratio, "label {} at y {y} straddles the join", text_of(n));
    }
    // A third panel.
    let three = RatioFigure::new(
        Figure::new("a").line("", &[0.0, 1.0], &[0.0, 1.0]),
        Figure::new("").line("", &[0.0, 1.0], &[1.0, 1.0]),
    )
    .panel(Figure::new("").x_label("x").line("", &[0.0, 1.0], &[2.0, 2.0]));
    let doc_svg = three.to_svg();
    let doc = parse(&doc_svg);
    assert_eq!(with_class(&doc, "plot-area").len(), 3);
    assert_eq!(report::check::check_svg(&doc_svg).panels, [1, 1, 1]);
}

#[test]
fn a_grid_with_shared_axes_labels_only_its_outer_panels() {
    let x: Vec<f64> = (0..20).map(|i| i as f64).collect();
    let figs: Vec<Figure> = (0..5)
        .map(|i| Figure::new(&format!("panel {i}")).x_label("x").y_label("y").line("", &x, &walk(i, 20)))
        .collect();
    let svg = Grid::new(3)
        .title("five panels")
        .share_x(true)
        .share_y(true)
        .cell_size(300, 240)
        .figures(figs.clone())
        .to_svg();
    let doc = parse(&svg);
    let areas: Vec<_> = with_class(&doc, "plot-area").iter().map(rect).collect();
    assert_eq!(areas.len(), 5);
    assert!(areas.iter().all(|a| (a.2 - areas[0].2).abs() < 1e-9 && (a.3 - areas[0].3).abs() < 1e-9), "equal panels");
    // x labels under panels 2, 3 and 4 (nothing below them), y labels beside panels 0 and 3.
    let x_labels = texts(&doc, "axis-label").into_iter().filter(|t| t.2 == "x").count();
    let y_labels = texts(&doc, "axis-label").into_iter().filter(|t| t.2 == "y").count();
    assert_eq!((x_labels, y_labels), (3, 2));
    // Shared ranges: every panel's first y tick mark sits at the same height.
    let first_y: Vec<String> = with_class(&doc, "ticks")
        .iter()
        .map(|n| n.attribute("d").unwrap().split('h').next().unwrap().to_string())
        .collect();
    assert_eq!(first_y.len(), 5);
    let svg_plain = report::grid(&figs, 2);
    let doc = parse(&svg_plain);
    assert_eq!(texts(&doc, "axis-label").len(), 10, "without sharing every panel is labelled");
    assert_eq!(report::check::check_svg(&svg_plain).panels.len(), 5);
    // Clip-path ids unique even for identical panels; degenerate grids still draw.
    let same = report::grid(&[figs[0].clone(), figs[0].clone()], 1);
    let doc = parse(&same);
    let ids: std::collections::BTreeSet<&str> =
        doc.descendants().filter(|n| n.tag_name().name() == "clipPath").filter_map(|n| n.attribute("id")).collect();
    assert_eq!(ids.len(), 2);
    parse(&report::grid(&[], 3));
    parse(&report::grid(&figs, 0));
    assert!(!report::check::check_svg(&report::grid(&[], 3)).passed());
}

#[test]
fn small_figures_keep_every_text_inside() {
    for (w, h) in [(200, 150), (260, 180), (400, 250)] {
        let svg = Figure::new("Pulls of the BNN")
            .size(w, h)
            .x_label("pull")
            .y_label("density")
            .histogram("BNN", &[-3.0, -1.0, 0.0, 1.0, 3.0], &[1.0, 40.0, 42.0, 2.0])
            .note("core width 0.98")
            .to_svg();
        let doc = parse(&svg);
        for n in doc.descendants().filter(|n| n.tag_name().name() == "text") {
            let (x, y) = (num(&n, "x"), num(&n, "y"));
            assert!(x >= 0.0 && x <= w as f64 && y >= 8.0 && y <= h as f64, "{} at ({x}, {y}) in {w}x{h}", text_of(&n));
        }
    }
}

#[test]
fn a_shared_legend_sits_once_under_the_grid() {
    let x: Vec<f64> = (0..20).map(|i| i as f64).collect();
    let figs: Vec<Figure> = (0..4)
        .map(|i| Figure::new(&format!("panel {i}")).line("BNN", &x, &walk(i, 20)).line("LCW", &x, &walk(i + 10, 20)))
        .collect();
    let plain = Grid::new(2).figures(figs.clone());
    let shared = Grid::new(2).figures(figs).shared_legend(true);
    assert!(shared.dimensions().1 > plain.dimensions().1, "the grid grows by the legend");
    let svg = shared.to_svg();
    let doc = parse(&svg);
    let legends = boxes(&doc, "legend");
    assert_eq!(legends.len(), 1);
    assert_eq!(svg.matches(">BNN</text>").count(), 1);
    let lowest = with_class(&doc, "plot-area").iter().map(rect).map(|a| a.1 + a.3).fold(0.0, f64::max);
    let x_labels = texts(&doc, "tick-label").iter().map(|t| t.1).fold(0.0, f64::max);
    assert!(legends[0].1 > lowest.max(x_labels), "{legends:?} under every panel");
    assert!(legends[0].1 + legends[0].3 <= shared.dimensions().1 as f64);
}
