//! The section "Training-size scan", on the study page and alone on `calibration scan`'s page.

use super::draw::{count, duration, has_data};
use super::{not_run, Ctx};
use crate::study::summary::Scan;
use report::{Cell, Dash, Figure, Marker, Palette, Section, Table};

impl Ctx<'_> {
    pub(super) fn scan_section(&self) -> Section {
        scan_section(&self.pal, self.s.scan.as_ref())
    }
}

pub(super) fn scan_section(pal: &Palette, scan: Option<&Scan>) -> Section {
    let s = Section::new("Training-size scan");
    let Some(scan) = scan.filter(|sc| !sc.points.is_empty()) else {
        return not_run(s, "the training-size scan");
    };
    let s = match scan_figure(pal, scan) {
        Some(f) => s.figure(
            f,
            "BNNs trained on the first N_{train} clusters (docs/calibration-method.md §6.6): the statistical uncertainty falls roughly \
             as N^{−1/2} while σ_{syst} levels off at the mean true sd of the test clusters (black line), which \
             it should reach within 5 % from N = 3 × 10^{5}.",
        ),
        None => not_run(s, "the training-size scan figure"),
    };
    s.table(scan_table(scan))
}

fn scan_figure(pal: &Palette, scan: &Scan) -> Option<Figure> {
    let mut pts: Vec<_> = scan.points.iter().collect();
    pts.sort_by_key(|p| p.n_train);
    let n: Vec<f64> = pts.iter().map(|p| p.n_train as f64).collect();
    let stat: Vec<f64> = pts.iter().map(|p| p.mean_sigma_stat).collect();
    let syst: Vec<f64> = pts.iter().map(|p| p.mean_sigma_syst).collect();
    if !has_data(&n, &stat, true, true) && !has_data(&n, &syst, true, true) {
        return None;
    }
    let bnn = pal.style("BNN");
    let syst_style = bnn.with_marker(Marker::Square).with_dash(Dash::Dashed);
    let mut f = Figure::new("Uncertainties against the training-set size")
        .x_label("N_{train} (clusters)")
        .y_label("mean σ of R")
        .log_x(true)
        .log_y(true)
        .line("⟨σ_{stat}⟩", &n, &stat)
        .style(bnn)
        .points("⟨σ_{stat}⟩", &n, &stat)
        .style(bnn)
        .line("⟨σ_{syst}⟩", &n, &syst)
        .style(syst_style)
        .points("⟨σ_{syst}⟩", &n, &syst)
        .style(syst_style);
    if scan.mean_truth_sd.is_finite() && scan.mean_truth_sd > 0.0 && !n.is_empty() {
        let ends = [n[0] / 1.3, n[n.len() - 1] * 1.3];
        let sd = [scan.mean_truth_sd; 2];
        f = f.line("mean true sd^{*}", &ends, &sd).style(pal.style("truth"));
    }
    if let Some(slope) = scan.stat_slope {
        f = f.note(&format!("fitted slope of ⟨σ_{{stat}}⟩: {slope:.2} (expected ≈ −0.5)"));
    }
    Some(f)
}

fn scan_table(scan: &Scan) -> Table {
    let mut t = Table::new(&["N_{train}", "⟨σ_{stat}⟩", "⟨σ_{syst}⟩", "median σ_{stat}/σ_{syst}", "training time"])
        .caption(&format!(
            "The scan's points; the mean true sd of the test clusters is {}.",
            if scan.mean_truth_sd.is_finite() { format!("{:.4}", scan.mean_truth_sd) } else { "unknown".to_string() }
        ));
    let mut pts: Vec<_> = scan.points.iter().collect();
    pts.sort_by_key(|p| p.n_train);
    for p in pts {
        t = t.row([
            Cell::from(count(p.n_train)),
            Cell::num(p.mean_sigma_stat, 4),
            Cell::num(p.mean_sigma_syst, 4),
            Cell::num(p.median_sigma_stat_over_syst, 3),
            Cell::from(duration(p.seconds)),
        ]);
    }
    t
}
