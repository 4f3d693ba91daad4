//! The calls nn's examples (bnn_toy, bnn_reference) and the root demo make, first written for
//! the plot module nn had before its figures moved here, keep working on report::Figure and
//! report::grid.

mod common;

use common::*;
use report::{grid, Figure, Legend};

#[test]
fn the_demo_figures_draw_as_before() {
    let xs: Vec<f64> = (0..=120).map(|i| -3.0 + 0.05 * i as f64).collect();
    let mean: Vec<f64> = xs.iter().map(|x| x.sin()).collect();
    let lo: Vec<f64> = mean.iter().map(|m| m - 0.2).collect();
    let hi: Vec<f64> = mean.iter().map(|m| m + 0.2).collect();
    let prediction = Figure::new("prediction")
        .x_label("x")
        .y_label("y")
        .band("mean +- sigma_tot", &xs, &lo, &hi)
        .line("mean", &xs, &mean)
        .dashed("sin x", &xs, &mean)
        .vline(1.0)
        .vline(2.0);
    let pulls = Figure::new("Pulls")
        .x_label("pull")
        .y_label("density")
        .x_range(-5.0, 5.0)
        .histogram("pulls (N = 3)", &[-1.0, 0.0, 1.0], &[0.4, 0.4])
        .error_bars("total", &[0.0], &[1.0], &[0.1])
        .hline(1.0)
        .log_x(false)
        .log_y(false)
        .y_range(0.0, 2.0)
        .size(400, 300)
        .legend(Legend::TopLeft);
    let svg = grid(&[prediction.clone(), pulls], 2);
    let doc = parse(&svg);
    assert_eq!(with_class(&doc, "plot-area").len(), 2);
    let path = std::env::temp_dir().join(format!("report_migration_{}.svg", std::process::id()));
    prediction.save(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(report::escape("a<b"), "a&lt;b");
}
