//! The section "Training-size scan", on the study page and alone on `calibration scan`'s page.

use super::draw::{count, duration, has_data};
use super::{not_run, Ctx};
use crate::study::summary::{Scan, ScanPoint};
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
    let with_re = if scan.re_points.is_empty() { "BNNs" } else { "BNNs and repulsive ensembles (RE)" };
    let s = match scan_figure(pal, scan) {
        Some(f) => s.figure(
            f,
            &format!(
                "{with_re} trained on the first N_{{train}} clusters (docs/calibration-method.md §6.6): the statistical \
                 uncertainty falls roughly as N^{{−1/2}} while σ_{{syst}} levels off at the mean true sd of the test \
                 clusters (black line), which the BNN's should reach within 5 % from N = 3 × 10^{{5}}."
            ),
        ),
        None => not_run(s, "the training-size scan figure"),
    };
    let s = if scan.re_left_to_paper.is_empty() {
        s
    } else {
        let sizes: Vec<String> = scan.re_left_to_paper.iter().map(|&n| count(n)).collect();
        s.paragraph(&format!(
            "The RE's scan here holds only the sizes this preset's time budget allows: an RE step trains 16 \
             networks. Its points at N_{{train}} = {} are in the paper preset (calibration study --preset paper).",
            sizes.join(", ")
        ))
    };
    s.table(scan_table(scan))
}

/// (n, ⟨σ_stat⟩, ⟨σ_syst⟩) of a scan's points in increasing N.
fn series(points: &[ScanPoint]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut pts: Vec<_> = points.iter().collect();
    pts.sort_by_key(|p| p.n_train);
    (
        pts.iter().map(|p| p.n_train as f64).collect(),
        pts.iter().map(|p| p.mean_sigma_stat).collect(),
        pts.iter().map(|p| p.mean_sigma_syst).collect(),
    )
}

fn scan_figure(pal: &Palette, scan: &Scan) -> Option<Figure> {
    let (n, stat, syst) = series(&scan.points);
    if !has_data(&n, &stat, true, true) && !has_data(&n, &syst, true, true) {
        return None;
    }
    let mut f = Figure::new("Uncertainties against the training-set size")
        .x_label("N_{train} (clusters)")
        .y_label("mean σ of R")
        .log_x(true)
        .log_y(true);
    let mut ns = n.clone();
    for (label, points) in [("BNN", &scan.points), ("RE", &scan.re_points)] {
        let (n, stat, syst) = series(points);
        if n.is_empty() {
            continue;
        }
        ns.extend(&n);
        let style = pal.style(label);
        let syst_style = style.with_marker(Marker::Square).with_dash(Dash::Dashed);
        let (l_stat, l_syst) = (format!("⟨σ_{{stat}}⟩ {label}"), format!("⟨σ_{{syst}}⟩ {label}"));
        f = f
            .line(&l_stat, &n, &stat)
            .style(style)
            .points(&l_stat, &n, &stat)
            .style(style)
            .line(&l_syst, &n, &syst)
            .style(syst_style)
            .points(&l_syst, &n, &syst)
            .style(syst_style);
    }
    let (lo, hi) = ns.iter().fold((f64::INFINITY, 0.0f64), |(a, b), &x| (a.min(x), b.max(x)));
    if scan.mean_truth_sd.is_finite() && scan.mean_truth_sd > 0.0 && hi > 0.0 {
        f = f.line("mean true sd^{*}", &[lo / 1.3, hi * 1.3], &[scan.mean_truth_sd; 2]).style(pal.style("truth"));
    }
    let slopes: Vec<String> = [("BNN", scan.stat_slope), ("RE", scan.re_stat_slope)]
        .iter()
        .filter_map(|(l, s)| s.map(|v| format!("{l} {v:.2}")))
        .collect();
    if !slopes.is_empty() {
        f = f.note(&format!("fitted slope of ⟨σ_{{stat}}⟩: {} (expected ≈ −0.5)", slopes.join(", ")));
    }
    Some(f)
}

fn scan_table(scan: &Scan) -> Table {
    let mut t =
        Table::new(&["network", "N_{train}", "⟨σ_{stat}⟩", "⟨σ_{syst}⟩", "median σ_{stat}/σ_{syst}", "training time"])
            .caption(&format!(
                "The scan's points; the mean true sd of the test clusters is {}.",
                if scan.mean_truth_sd.is_finite() {
                    format!("{:.4}", scan.mean_truth_sd)
                } else {
                    "unknown".to_string()
                }
            ));
    for (label, points) in [("BNN", &scan.points), ("RE", &scan.re_points)] {
        let mut pts: Vec<_> = points.iter().collect();
        pts.sort_by_key(|p| p.n_train);
        for p in pts {
            t = t.row([
                Cell::from(label),
                Cell::from(count(p.n_train)),
                Cell::num(p.mean_sigma_stat, 4),
                Cell::num(p.mean_sigma_syst, 4),
                Cell::num(p.median_sigma_stat_over_syst, 3),
                Cell::from(duration(p.seconds)),
            ]);
        }
    }
    t
}
