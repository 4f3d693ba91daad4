//! The section "Spectrum of the relative uncertainty": the σ/R spectra with their gap clusters,
//! and the relative uncertainty against |η|.

use super::draw::{edge_centres, has_data, has_hist, unwrap_nan};
use super::{not_run, order, sorted, Ctx, KINDS};
use crate::generator::params::GAP_WINDOW;
use crate::study::summary::{BinnedCurve, Spectrum};
use report::{Figure, Grid, Section};

impl Ctx<'_> {
    pub(super) fn spectrum_section(&self) -> Section {
        let mut s = Section::new("Spectrum of the relative uncertainty");
        let mut selections: Vec<&str> = Vec::new();
        for sp in &self.s.spectra {
            if !selections.contains(&sp.selection.as_str()) {
                selections.push(&sp.selection);
            }
        }
        if selections.is_empty() {
            s = not_run(s, "the uncertainty spectra");
        }
        for sel in selections {
            match self.spectrum_grid(sel) {
                Some(g) => s = s.figure(g, &spectrum_caption(sel)),
                None => s = not_run(s, &format!("the uncertainty spectra ({sel})")),
            }
        }
        match self.eta_figure(&self.s.sigma_vs_eta) {
            Some(f) => self.with_explain(
                s,
                f,
                "Median relative uncertainty in fine |η| bins, with the 16–84 % range of the clusters as a band. In \
                 the tile-gap window (shaded) the EM-scale signal is a poor proxy for the deposit and the true spread \
                 jumps; σ_{tot} follows it.",
            ),
            None => not_run(s, "σ against |η|"),
        }
    }

    /// One panel per kind of σ, each with every network's spectrum, its gap clusters filled, and
    /// the truth sd*/mean* where it is comparable (tot and syst).
    fn spectrum_grid(&self, selection: &str) -> Option<Grid> {
        let of_sel: Vec<&Spectrum> = self.s.spectra.iter().filter(|sp| sp.selection == selection).collect();
        let truth: Option<&&Spectrum> = of_sel.iter().find(|sp| sp.method.eq_ignore_ascii_case("truth"));
        let panels: Vec<Figure> = KINDS
            .iter()
            .filter_map(|kind| {
                let mut nets: Vec<&Spectrum> = of_sel
                    .iter()
                    .copied()
                    .filter(|sp| sp.kind == *kind && !sp.method.eq_ignore_ascii_case("truth"))
                    .collect();
                nets.sort_by_key(|sp| order(&self.label(&sp.method)));
                let truth = truth.filter(|_| *kind != "stat").copied();
                self.spectrum_panel(kind, &nets, truth)
            })
            .collect();
        if panels.is_empty() {
            return None;
        }
        let title = format!("Relative uncertainty, {}", selection_label(selection));
        Some(Grid::new(3).title(&title).shared_legend(true).cell_size(440, 340).figures(panels))
    }

    fn spectrum_panel(&self, kind: &str, nets: &[&Spectrum], truth: Option<&Spectrum>) -> Option<Figure> {
        let mut f = Figure::new(&format!("σ_{{{kind}}}"))
            .x_label(&format!("σ_{{{kind}}} / R_{{pred}}"))
            .y_label("fraction of clusters per bin")
            .log_x(true);
        let mut any = false;
        let mut peaks: Vec<String> = Vec::new();
        for sp in nets.iter().copied().chain(truth) {
            let (all, gap) = shares(sp);
            if !has_hist(&sp.edges, &all) {
                continue;
            }
            any = true;
            let label = if sp.method.eq_ignore_ascii_case("truth") {
                "truth sd^{*}/mean^{*}".to_string()
            } else {
                self.label(&sp.method)
            };
            let style = self.style(&sp.method);
            let zeros = vec![0.0; gap.len()];
            if has_hist(&sp.edges, &gap) {
                f = f.histogram_band(&format!("{label}, gap clusters"), &sp.edges, &zeros, &gap).style(style);
            }
            f = f.histogram(&label, &sp.edges, &all).style(style);
            if sp.selection != "all" {
                let who = if sp.method.eq_ignore_ascii_case("truth") { "truth" } else { &label };
                peaks.push(match sp.modes.gap_mode {
                    Some(at) => format!("{who}: gap maximum at {at:.2}"),
                    None => format!("{who}: no gap maximum"),
                });
            }
        }
        for p in peaks {
            f = f.note(&p);
        }
        any.then_some(f)
    }

    fn eta_figure(&self, curves: &[BinnedCurve]) -> Option<Figure> {
        let mut f = Figure::new("Relative uncertainty against |η|")
            .x_label("|η_{clus}|")
            .y_label("median σ_{tot} / R_{pred}")
            .shade_x(GAP_WINDOW.0, GAP_WINDOW.1, "tile-gap window");
        let mut any = false;
        for c in sorted(curves, |c| order(&self.label(&c.method))) {
            let x = edge_centres(&c.edges, false);
            let y = unwrap_nan(&c.median);
            if !has_data(&x, &y, false, false) {
                continue;
            }
            any = true;
            let label = if c.method.eq_ignore_ascii_case("truth") {
                "truth sd^{*}/mean^{*}".to_string()
            } else {
                self.label(&c.method)
            };
            let style = self.style(&c.method);
            let (lo, hi) = (unwrap_nan(&c.q16), unwrap_nan(&c.q84));
            f = f.band(&label, &x, &lo, &hi).style(style).line(&label, &x, &y).style(style);
        }
        any.then_some(f)
    }
}

fn spectrum_caption(selection: &str) -> String {
    let what = if selection.contains('>') {
        "Above 1 GeV the gap clusters (filled) stand apart at the high end: in the truth a secondary maximum after a \
         dip; in the networks, whose σ is smoother in η, a shoulder. The notes name each spectrum's mode that \
         removing the gap clusters removes (docs/calibration-method.md §6.1), when it has one."
    } else {
        "With every cluster the gap clusters (filled) sit on the upper edge as a shoulder, because low-energy clusters \
         are intrinsically broad too."
    };
    format!(
        "Spectrum of σ/R_{{pred}} for σ_{{tot}}, σ_{{stat}} and σ_{{syst}}, {}, with the truth sd^{{*}}/mean^{{*}} \
         (black) where it is comparable. {what}",
        selection_label(selection)
    )
}

/// "E_EM > 1 GeV" in the page's markup.
fn selection_label(selection: &str) -> String {
    match selection {
        "all" => "all clusters".to_string(),
        s => s.replace("E_EM", "E^{EM}"),
    }
}

/// Each bin's share of all clusters of the spectrum, for all clusters and for the gap ones.
fn shares(sp: &Spectrum) -> (Vec<f64>, Vec<f64>) {
    let total: f64 = sp.all.iter().filter(|c| c.is_finite()).sum();
    if total <= 0.0 {
        return (Vec::new(), Vec::new());
    }
    (sp.all.iter().map(|c| c / total).collect(), sp.gap.iter().map(|c| c / total).collect())
}
