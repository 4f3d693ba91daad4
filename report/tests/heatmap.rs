//! 2-D histograms: cells only where there are entries, colours along the scale, a colour bar,
//! and reference curves on top.

mod common;

use common::*;
use report::bins::linear_edges;
use report::{Figure, Heatmap};

fn cells(doc: &roxmltree::Document) -> Vec<(f64, f64, f64, f64, String)> {
    let Some(g) = with_class(doc, "heatmap").into_iter().next() else { return Vec::new() };
    g.children()
        .filter(|n| n.tag_name().name() == "rect")
        .map(|n| {
            let (x, y, w, h) = rect(&n);
            (x, y, w, h, n.attribute("fill").unwrap().to_string())
        })
        .collect()
}

#[test]
fn empty_and_non_finite_cells_are_left_blank() {
    let e = linear_edges(0.0, 3.0, 3);
    // x-major: cell (ix, iy) at ix * 3 + iy.
    let values = [1.0, 0.0, 2.0, f64::NAN, 5.0, 0.0, 0.0, 0.0, 9.0];
    let svg = Figure::new("h").heatmap(Heatmap::new(&e, &e, &values)).to_svg();
    let doc = parse(&svg);
    let c = cells(&doc);
    assert_eq!(c.len(), 4, "only the filled cells: {c:?}");
    let colours: std::collections::BTreeSet<&str> = c.iter().map(|c| c.4.as_str()).collect();
    assert_eq!(colours.len(), 4);
    // The cells tile the plot area exactly: the axes span the edges without a margin.
    let area = rect(&with_class(&doc, "plot-area")[0]);
    let (lowest_x, highest_x) = c.iter().fold((f64::MAX, 0.0f64), |(a, b), c| (a.min(c.0), b.max(c.0 + c.2)));
    assert!((lowest_x - area.0).abs() < 0.02 && (highest_x - (area.0 + area.2)).abs() < 0.02, "{c:?} {area:?}");
    // Cell (2, 2) holds 9: top right, in the brightest colour.
    let top_right = c.iter().max_by(|a, b| (a.0 - a.1).total_cmp(&(b.0 - b.1))).unwrap();
    assert_eq!(top_right.4, "#FDE725");
}

#[test]
fn log_colour_scales_skip_non_positive_cells_and_show_a_colour_bar() {
    let e = linear_edges(0.0, 1.0, 2);
    let svg =
        Figure::new("h").heatmap(Heatmap::new(&e, &e, &[1.0, 10.0, -3.0, 1000.0]).log(true).label("events")).to_svg();
    let doc = parse(&svg);
    assert_eq!(cells(&doc).len(), 3);
    assert_eq!(with_class(&doc, "colour-bar").len(), 1);
    let bar_labels: Vec<String> =
        with_class(&doc, "tick-label").iter().filter(|n| has_class(n, "colour")).map(text_of).collect();
    assert_eq!(bar_labels, ["1", "10", "100", "1000"]);
    assert!(svg.contains(">events</text>"));
    // The colour bar stays inside the figure.
    let bar = with_class(&doc, "colour-bar")[0]
        .descendants()
        .find(|n| n.tag_name().name() == "rect")
        .map(|n| rect(&n))
        .unwrap();
    assert!(bar.0 + bar.2 < 640.0 && bar.0 > rect(&with_class(&doc, "plot-area")[0]).0);
}

#[test]
fn points_are_histogrammed_and_a_diagonal_drawn_on_top() {
    let x: Vec<f64> = (0..1000).map(|i| (i % 100) as f64 / 100.0).collect();
    let y: Vec<f64> = x.iter().map(|v| v * 0.9 + 0.05).collect();
    let e = linear_edges(0.0, 1.0, 20);
    let svg = Figure::new("pred vs true")
        .heatmap(Heatmap::from_points(&x, &y, &e, &e).label("clusters"))
        .diagonal()
        .line("median", &[0.0, 1.0], &[0.05, 0.95])
        .to_svg();
    let doc = parse(&svg);
    assert!(cells(&doc).len() >= 20 && cells(&doc).len() <= 40, "a band of cells along the diagonal");
    let order: Vec<String> = doc.descendants().filter_map(|n| n.attribute("class")).map(String::from).collect();
    let at = |c: &str| order.iter().position(|o| o == c).unwrap();
    assert!(at("data heatmap") < at("ref diagonal") && at("data heatmap") < at("data line"), "cells under the curves");
    assert_eq!(report::check::check_svg(&svg).data_elements, 2);
}

#[test]
fn degenerate_heatmaps_draw_without_breaking() {
    for map in [
        Heatmap::new(&[], &[], &[]),
        Heatmap::new(&[0.0, 1.0], &[0.0, 1.0], &[]),
        Heatmap::new(&[0.0, f64::NAN, 2.0], &[0.0, 1.0], &[1.0, 2.0]),
        Heatmap::new(&[0.0, 1.0], &[0.0, 1.0], &[f64::INFINITY]).log(true),
        Heatmap::new(&[0.0, 1.0], &[0.0, 1.0], &[4.0]).range(f64::NAN, 1.0),
    ] {
        parse(&Figure::new("d").heatmap(map.clone()).to_svg());
        parse(&Figure::new("d").log_x(true).log_y(true).heatmap(map).to_svg());
    }
    let svg = Figure::new("empty").heatmap(Heatmap::new(&[0.0, 1.0], &[0.0, 1.0], &[0.0])).to_svg();
    assert!(!report::check::check_svg(&svg).passed(), "an all-empty histogram has no data");
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use report::{Grid, RatioFigure};

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]
        /// Any edges and values, on any axes and colour scales, inside a ratio figure and a grid
        /// with shared axes: well-formed, finite SVG.
        #[test]
        fn arbitrary_heatmaps_and_panels_never_break_the_svg(
            xe in prop::collection::vec(prop::num::f64::ANY, 0..6),
            ye in prop::collection::vec(prop::num::f64::ANY, 0..6),
            v in prop::collection::vec(prop::num::f64::ANY, 0..30),
            log in any::<(bool, bool, bool)>(),
        ) {
            let map = Heatmap::new(&xe, &ye, &v).log(log.2).label("n");
            let fig = Figure::new("h").log_x(log.0).log_y(log.1).heatmap(map).diagonal().note("note");
            parse(&fig.to_svg());
            let ratio = Figure::new("").log_x(log.0).line("", &xe, &ye).hline(1.0);
            parse(&RatioFigure::new(fig.clone(), ratio.clone()).to_svg());
            parse(&Grid::new(2).share_x(true).share_y(true).shared_legend(true).figures([fig, ratio]).to_svg());
        }
    }
}
