//! Ranges that are zero, tiny next to their values (1 ± 1e-14), huge (1e300) or not finite (NaN,
//! ±inf): the axis, tick, bin and heatmap code gives a bounded number of ticks and bins and a
//! usable axis, and nothing loops or allocates by the width of a range. Found in the wild: weights
//! all equal to 1 ± 1e-14 gave an axis so narrow that the tick search counted past 2^53, where
//! `i + 1.0 == i`, and never ended (after allocating 4 GB).

mod common;

use common::*;
use proptest::prelude::*;
use report::bins::{histogram, linear_edges, log_edges};
use report::{log_ticks, nice_ticks, Figure, Grid, Heatmap, RatioFigure};
use std::sync::mpsc;
use std::time::Duration;

/// Runs `draw` on its own thread and fails the test if it has not finished in a minute, so that a
/// loop that never ends is a failure rather than a hung test run.
fn within_a_minute<T: Send + 'static>(what: &str, draw: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || send.send(draw()));
    receive.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|e| panic!("{what} did not finish: {e}"))
}

/// The labels of the ticks of one class ("x", "y" or "colour") that are shown.
fn labels(doc: &roxmltree::Document, axis: &str) -> Vec<String> {
    let ticks = with_class(doc, "tick-label");
    ticks.iter().filter(|n| has_class(n, axis)).map(text_of).filter(|l| !l.is_empty()).collect()
}

fn assert_few_distinct(labels: &[String], what: &str) {
    assert!(!labels.is_empty() && labels.len() <= 40, "{what}: {labels:?}");
    for (i, l) in labels.iter().enumerate() {
        assert!(!labels[..i].contains(l), "{what}: the label {l} twice in {labels:?}");
    }
}

#[test]
fn weights_equal_to_one_up_to_rounding_draw_a_whole_figure() {
    let x: Vec<f64> = (0..60).map(f64::from).collect();
    let w: Vec<f64> = x.iter().map(|i| 1.0 + (i % 3.0 - 1.0) * 1e-14).collect();
    let svgs = within_a_minute("the figures of 1 ± 1e-14", move || {
        let (lo, hi) = w.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        // Too narrow for 1000 distinct edges: the bins say so (none) rather than repeat an edge.
        assert!(linear_edges(lo, hi, 1000).is_empty() && log_edges(lo, hi, 1000).is_empty());
        let edges = linear_edges(lo, hi, 40);
        let weights =
            Figure::new("weights").line("w", &x, &w).points("w", &x, &w).band("band", &x, &w, &w).hline(1.0 + 1e-14);
        let hist = Figure::new("weight histogram").histogram("w", &edges, &histogram(&w, None, &edges)).log_y(true);
        let map = Heatmap::new(&[0.0, 1.0, 2.0], &[0.0, 1.0, 2.0], &w[..4]).label("w");
        let cells = Figure::new("weights per cell").heatmap(map);
        let ratio = RatioFigure::new(weights.clone(), Figure::new("").line("", &x, &w).y_range(1.0, 1.0 + 1e-14));
        [
            weights.to_svg(),
            weights.log_y(true).to_svg(),
            hist.to_svg(),
            cells.to_svg(),
            ratio.to_svg(),
            Grid::new(2).share_y(true).figures([hist, cells]).to_svg(),
        ]
    });
    for (k, svg) in svgs.iter().enumerate() {
        let doc = parse(svg);
        assert!(report::check::check_svg(svg).passed(), "figure {k} fails the check");
        let y = labels(&doc, "y");
        // The single panels' labels differ; a ratio figure and a grid repeat them per panel.
        if k < 4 {
            assert_few_distinct(&y, &format!("y ticks of figure {k}"));
        }
        assert!(!y.is_empty() && y.len() <= 40, "figure {k}: {y:?}");
    }
    let doc = parse(&svgs[0]);
    assert!(
        labels(&doc, "y").iter().any(|l| l == "1" || l == "1.0"),
        "the axis shows the value: {:?}",
        labels(&doc, "y")
    );
    assert_few_distinct(&labels(&parse(&svgs[3]), "colour"), "the colour bar");
}

/// Range ends of every kind: ordinary, zero, near 1, huge, the largest double, subnormal and not
/// finite.
fn any_end() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(0.0),
        Just(1.0),
        Just(1e300),
        Just(-1e300),
        Just(f64::MAX),
        Just(-f64::MAX),
        Just(5e-324),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        any::<f64>(),
        -1e3f64..1e3,
    ]
}

/// A range (lo, hi): two independent ends, or one end and another a relative distance from it
/// that is zero, rounding noise (1e-16 .. 1e-14) or just resolvable.
fn any_range() -> impl Strategy<Value = (f64, f64)> {
    let width = || prop_oneof![Just(0.0), Just(1e-16), Just(1e-14), Just(1e-12), Just(1e-9), Just(1e-6), 0.0f64..1.0];
    prop_oneof![
        (any_end(), any_end()),
        (any_end(), width()).prop_map(|(lo, w)| (lo, lo + lo.abs() * w)),
        (any_end(), width()).prop_map(|(lo, w)| (lo, lo + w)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Round ticks: a bounded number, increasing and finite, for any range and target.
    #[test]
    fn nice_ticks_are_few_for_any_range((lo, hi) in any_range(), target in 0usize..40) {
        let t = within_a_minute("nice_ticks", move || nice_ticks(lo, hi, target));
        prop_assert!(t.len() <= 3 * target.max(2) + 1, "{lo}..{hi}, target {target}: {} ticks", t.len());
        prop_assert!(t.windows(2).all(|w| w[0] < w[1]), "{t:?}");
        prop_assert!(t.iter().all(|v| v.is_finite()), "{t:?}");
    }

    /// Log ticks: a bounded number of positive, increasing values for any range.
    #[test]
    fn log_ticks_are_few_for_any_range((lo, hi) in any_range()) {
        let t = within_a_minute("log_ticks", move || log_ticks(lo, hi));
        prop_assert!(t.len() <= 13, "{lo}..{hi}: {t:?}");
        prop_assert!(t.windows(2).all(|w| w[0] < w[1]) && t.iter().all(|&v| v > 0.0 && v.is_finite()), "{t:?}");
    }

    /// Bins: never more than asked for, strictly increasing, and counts for each of them.
    #[test]
    fn bins_are_bounded_by_the_count_for_any_range((lo, hi) in any_range(), n in 0usize..3000) {
        for edges in [linear_edges(lo, hi, n), log_edges(lo, hi, n)] {
            prop_assert!(edges.len() <= n + 1 && (edges.is_empty() || edges.len() >= 2), "{} edges", edges.len());
            prop_assert!(edges.windows(2).all(|w| w[0] < w[1]));
            let counts = histogram(&[lo, hi, 0.5 * lo + 0.5 * hi], None, &edges);
            prop_assert_eq!(counts.len(), edges.len().saturating_sub(1));
            prop_assert!(counts.iter().sum::<f64>() <= 3.0);
        }
    }

    /// A whole figure over any range, fixed or from the data, on linear and log axes, with a
    /// histogram and a heatmap binned on it, and a heatmap whose colour scale spans the range: they
    /// render, their axes and colour bars have a bounded number of distinct labels, and the heatmap
    /// has no more cells than bins.
    #[test]
    fn figures_over_any_range_have_few_ticks_and_bins(
        (lo, hi) in any_range(),
        fixed: bool,
        log in any::<(bool, bool)>(),
        n in 1usize..40,
    ) {
        let svgs = within_a_minute("a figure", move || {
            let data = [lo, hi, 0.5 * lo + 0.5 * hi];
            let edges = linear_edges(lo, hi, n);
            let mut fig = Figure::new("any range").log_x(log.0).log_y(log.1).line("l", &data, &data)
                .histogram("h", &edges, &histogram(&data, None, &edges));
            if fixed {
                fig = fig.x_range(lo, hi).y_range(lo, hi);
            }
            let map = Heatmap::from_points(&data, &data, &edges, &edges).log(log.1);
            let cells = Figure::new("cells").log_x(log.0).log_y(log.1).heatmap(map);
            // The range as cell values: the colour scale spans it.
            let mut colours = Heatmap::new(&[0.0, 1.0, 2.0], &[0.0, 1.0], &[lo, hi]).log(log.0);
            if fixed {
                colours = colours.range(lo, hi);
            }
            (fig.to_svg(), cells.to_svg(), Figure::new("colours").heatmap(colours).to_svg())
        });
        for svg in [&svgs.0, &svgs.1, &svgs.2] {
            let doc = parse(svg);
            for axis in ["x", "y", "colour"] {
                let l = labels(&doc, axis);
                prop_assert!(l.len() <= 40, "{axis}: {l:?}");
                for (i, a) in l.iter().enumerate() {
                    prop_assert!(!l[..i].contains(a), "{lo}..{hi}: {axis} label {a} twice in {l:?}");
                }
            }
        }
        let cells = with_class(&parse(&svgs.1), "heatmap")
            .first()
            .map_or(0, |g| g.children().filter(|c| c.is_element()).count());
        prop_assert!(cells <= n * n, "{cells} cells from {n} x {n} bins");
    }
}
