//! The section "Response linearity and resolution": every calibration against E_dep, E_EM, ⟨μ⟩,
//! N_PV and |η|, the pile-up slopes at low energy and the closure against the exact mean.

use super::draw::{bin_points, centre, has_data, opt_cell, ratio_points, Plot};
use super::{not_run, Ctx};
use crate::generator::params::GAP_WINDOW;
use crate::metrics::binned::BinSummary;
use crate::metrics::MethodMetrics;
use report::{Cell, Figure, RatioFigure, Section, Table};

impl Ctx<'_> {
    pub(super) fn response_section(&self) -> Section {
        let mut s = Section::new("Response linearity and resolution");
        if self.methods().is_empty() {
            return not_run(s, "the evaluation of the calibrations");
        }
        s = s.paragraph(
            "Linearity is the median of E/E_{dep}; resolution is the 68 % interquantile range over twice the median, \
             (Q_{84} − Q_{16})/(2 median), both per bin with at least 50 clusters. In bins of E_{dep} even the \
             oracle is not at 1 at low energy, because binning in the truth selects on R: judge the linearity against \
             the oracle curve, and the closure in bins of the observed E^{EM}.",
        );
        for v in [Var::EDep, Var::EEm, Var::Mu, Var::NPv, Var::AbsEta] {
            s = self.response_pair(s, v);
        }
        s = self.mu_dependence(s);
        self.closure(s)
    }

    /// Linearity and resolution (with its ratio to LCW-like) against one variable.
    fn response_pair(&self, s: Section, v: Var) -> Section {
        let s = match self.linearity_figure(v) {
            Some(f) => s.figure(f, &v.linearity_caption()),
            None => not_run(s, &format!("the linearity against {}", v.name())),
        };
        match self.resolution_figure(v) {
            Some(Plot::Ratio(f)) => s.figure(f, &v.resolution_caption(Some(self.em_scale_ratio(v)))),
            Some(Plot::Single(f)) => s.figure(f, &v.resolution_caption(None)),
            None => not_run(s, &format!("the resolution against {}", v.name())),
        }
    }

    /// How much worse the EM scale's resolution is than LCW-like's against `v` in this run, in
    /// words: "1.3–2.0 times worse", or "worse" when either was not evaluated.
    fn em_scale_ratio(&self, v: Var) -> String {
        let methods = self.methods();
        let find = |label: &str| methods.iter().find(|m| self.label(&m.name) == label);
        let (Some(em), Some(lcw)) = (find("EM scale"), find("LCW-like")) else { return "worse".to_string() };
        let (_, ratios) = ratio_points(v.bins(em), v.bins(lcw), v.log());
        let finite: Vec<f64> = ratios.into_iter().filter(|r| r.is_finite()).collect();
        let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if lo.is_finite() && hi.is_finite() {
            format!("{lo:.1}–{hi:.1} times LCW-like's")
        } else {
            "worse".to_string()
        }
    }

    fn linearity_figure(&self, v: Var) -> Option<Figure> {
        let mut f = Figure::new(&format!("Linearity against {}", v.name()))
            .x_label(v.axis())
            .y_label("median E/E_{dep}")
            .log_x(v.log());
        let mut any = false;
        for m in self.methods() {
            let (x, y) = bin_points(v.bins(m), v.log(), |b| b.median);
            if has_data(&x, &y, v.log(), false) {
                any = true;
                f = self.line_points(f, &m.name, &x, &y);
            }
        }
        let f = if v == Var::AbsEta { f.shade_x(GAP_WINDOW.0, GAP_WINDOW.1, "gap window") } else { f };
        any.then(|| f.hline(1.0))
    }

    fn resolution_figure(&self, v: Var) -> Option<Plot> {
        let methods = self.methods();
        let mut main = Figure::new(&format!("Resolution against {}", v.name()))
            .x_label(v.axis())
            .y_label("(Q_{84} − Q_{16}) / (2 median)")
            .log_x(v.log());
        if v == Var::AbsEta {
            main = main.shade_x(GAP_WINDOW.0, GAP_WINDOW.1, "gap window");
        }
        let mut any = false;
        for m in &methods {
            let (x, y) = bin_points(v.bins(m), v.log(), |b| b.resolution);
            if has_data(&x, &y, v.log(), false) {
                any = true;
                main = self.line_points(main, &m.name, &x, &y);
            }
        }
        if !any {
            return None;
        }
        let lcw = methods.iter().find(|m| self.label(&m.name) == "LCW-like");
        let Some(lcw) = lcw else { return Some(Plot::Single(main)) };
        let mut ratio = Figure::new("").x_label(v.axis()).y_label("ratio to LCW-like").log_x(v.log()).hline(1.0);
        let mut any_ratio = false;
        for m in methods.iter().filter(|m| !matches!(self.label(&m.name).as_str(), "LCW-like" | "EM scale")) {
            let (x, y) = ratio_points(v.bins(m), v.bins(lcw), v.log());
            if has_data(&x, &y, v.log(), false) {
                any_ratio = true;
                ratio = self.line_points(ratio, "", &x, &y).style(self.style(&m.name));
            }
        }
        if !any_ratio {
            return Some(Plot::Single(main));
        }
        Some(Plot::Ratio(RatioFigure::new(main.x_label(""), ratio).heights(&[2.6, 1.0])))
    }

    /// The linearity against ⟨μ⟩ at low E_dep, where pile-up matters, with the fitted slopes.
    fn mu_dependence(&self, s: Section) -> Section {
        let methods = self.methods();
        let range = methods.first().map_or((0.3, 2.0), |m| m.mu_dependence.e_dep_range);
        let mut f = Figure::new(&format!("Linearity against ⟨μ⟩ at {} < E_{{dep}} < {} GeV", range.0, range.1))
            .x_label("⟨μ⟩")
            .y_label("median E/E_{dep}");
        let mut t = Table::new(&["method", "slope per unit ⟨μ⟩", "change over the ⟨μ⟩ range"]);
        let mut any = false;
        for m in &methods {
            let (x, y) = bin_points(&m.mu_dependence.bins, false, |b| b.median);
            if has_data(&x, &y, false, false) {
                any = true;
                f = self.line_points(f, &m.name, &x, &y);
                let d = &m.mu_dependence;
                t = t.row([
                    Cell::from(self.label(&m.name)),
                    opt_cell(d.slope_per_mu, 4),
                    opt_cell(d.change_over_range, 3),
                ]);
            }
        }
        if !any {
            return not_run(s, "the linearity against ⟨μ⟩ at low E_{dep}");
        }
        s.figure(
            f.hline(1.0),
            "The pile-up dependence that docs/calibration-method.md §6.2 tests: LCW-like tables built without pile-up fall with ⟨μ⟩, a \
             calibration that sees N_{PV}, ⟨μ⟩ and ζ stays flat like the oracle. The table gives the straight-line fits.",
        )
        .table(t.caption("Least-squares slope of the median E/E_{dep} through the ⟨μ⟩ bins, and its change over the range."))
    }

    /// Closure median(R_pred / mean*) against E^EM.
    fn closure(&self, s: Section) -> Section {
        let mut f = Figure::new("Closure against E^{EM}")
            .x_label("E^{EM} [GeV]")
            .y_label("median R_{pred} / mean^{*}(R | x)")
            .log_x(true);
        let mut any = false;
        for m in self.methods() {
            let Some(bins) = &m.closure_by_e_em else { continue };
            let x: Vec<f64> = bins.iter().map(|b| centre(b.lo, b.hi, true)).collect();
            let y: Vec<f64> = bins.iter().map(|b| b.median.unwrap_or(f64::NAN)).collect();
            if has_data(&x, &y, true, false) {
                any = true;
                f = self.line_points(f, &m.name, &x, &y);
            }
        }
        if !any {
            return not_run(s, "the closure test (it needs the generator's truth)");
        }
        s.figure(
            f.hline(1.0).hline(0.99).hline(1.01).vline(1.0),
            "Closure against the exact conditional mean: a Gaussian likelihood learns mean^{*}(R | x), so the BNN and \
             RE should lie within the 1 % lines above E^{EM} = 1 GeV (3 % below); DNN-LGK learns the mode and the \
             oracle is the median, so both sit lower by the skew of p(R | x).",
        )
    }
}

/// The five binning variables of the response metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    EDep,
    EEm,
    Mu,
    NPv,
    AbsEta,
}

impl Var {
    fn bins(self, m: &MethodMetrics) -> &[BinSummary] {
        let r = &m.response;
        match self {
            Var::EDep => &r.by_e_dep,
            Var::EEm => &r.by_e_em,
            Var::Mu => &r.by_mu,
            Var::NPv => &r.by_n_pv,
            Var::AbsEta => &r.by_abs_eta,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Var::EDep => "E_{dep}",
            Var::EEm => "E^{EM}",
            Var::Mu => "⟨μ⟩",
            Var::NPv => "N_{PV}",
            Var::AbsEta => "|η|",
        }
    }
    fn axis(self) -> &'static str {
        match self {
            Var::EDep => "E_{dep} [GeV]",
            Var::EEm => "E^{EM} [GeV]",
            Var::Mu => "⟨μ⟩ (interactions per crossing)",
            Var::NPv => "N_{PV} (primary vertices)",
            Var::AbsEta => "|η_{clus}|",
        }
    }
    fn log(self) -> bool {
        matches!(self, Var::EDep | Var::EEm)
    }
    fn linearity_caption(self) -> String {
        let what = match self {
            Var::EDep => {
                "The EM scale is low by the hadronic and pile-up losses; at low E_{dep} every curve, the \
                          oracle's too, rises above 1 from the migration bias of binning in the truth."
            }
            Var::EEm => {
                "In bins of the observed E^{EM} there is no migration bias: a calibration that closes sits \
                         near 1 wherever the oracle does."
            }
            Var::Mu => {
                "Pile-up adds energy that the tables built without it do not remove; the networks see ⟨μ⟩ and \
                        N_{PV} and stay flat."
            }
            Var::NPv => "The same against the number of reconstructed vertices.",
            Var::AbsEta => {
                "Against |η| the tile-gap window (shaded) is where the EM-scale signal is the poorest \
                            proxy for the deposit."
            }
        };
        format!("Median E/E_{{dep}} of every calibration against {}. {what}", self.name())
    }
    /// The resolution figure's caption; `em_scale` says how the EM scale compares with LCW-like
    /// when there is a ratio panel.
    fn resolution_caption(self, em_scale: Option<String>) -> String {
        let under = match em_scale {
            Some(em) => format!(
                " Underneath, the ratio to LCW-like (EM scale left out: it is {em}); docs/calibration-method.md \
                 §6.3 asks the BNN to be below 1 in every E_{{dep}} bin and at most 0.85 below 0.6 GeV."
            ),
            None => " No LCW-like tables were evaluated, so there is no ratio panel.".to_string(),
        };
        format!("Relative resolution (Q_{{84}} − Q_{{16}})/(2 median) of E/E_{{dep}} against {}.{under}", self.name())
    }
}
