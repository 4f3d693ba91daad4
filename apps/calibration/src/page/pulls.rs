//! The section "Are the uncertainties calibrated?": the pulls of every network for each kind of
//! σ, and the coverage with the pull core width in bins of the observed energy.

use super::draw::{edge_centres, gauss, has_data, has_hist, unwrap_nan, Plot};
use super::{not_run, order, sorted, Ctx, KINDS};
use crate::study::summary::{CoverageCurve, PullHist};
use report::{Colour, Dash, Figure, Grid, Legend, RatioFigure, Section, Style};

impl Ctx<'_> {
    pub(super) fn calibration_section(&self) -> Section {
        let mut s = Section::new("Are the uncertainties calibrated?");
        let mut methods: Vec<String> = Vec::new();
        for p in &self.s.pulls {
            let l = self.label(&p.method);
            if !methods.contains(&l) {
                methods.push(l);
            }
        }
        methods.sort_by_key(|m| order(m));
        for m in &methods {
            match self.pull_grid(m) {
                Some(g) => {
                    s = s.figure(
                        g,
                        &format!(
                            "Pulls (R_{{pred}} − R^{{EM}})/σ of the {m} for σ_{{tot}}, σ_{{stat}} and σ_{{syst}}, with \
                             the Gaussian core fit (±2σ, iterated) and N(0, 1). A width near 1 means calibrated, below 1 \
                             conservative; σ_{{stat}} alone is far too small to cover the scatter."
                        ),
                    )
                }
                None => s = not_run(s, &format!("the pulls of the {m}")),
            }
        }
        if methods.is_empty() {
            s = not_run(s, "the pulls (no network with uncertainties)");
        }
        match self.coverage_figure(&self.s.coverage) {
            Some(f) => f.add_to(s, &self.coverage_caption()),
            None => not_run(s, "the coverage in E^{EM} bins"),
        }
    }

    /// The coverage figure's caption, with the range the exact answer covers at 1σ in this run.
    fn coverage_caption(&self) -> String {
        let truth = self.s.coverage.iter().find(|c| c.method.eq_ignore_ascii_case("truth"));
        let covered: Vec<f64> = truth.map_or(Vec::new(), |c| c.coverage_1sigma.iter().flatten().copied().collect());
        let lo = covered.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = covered.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let exact = if lo.is_finite() && hi.is_finite() {
            format!("in this run the exact answer covers {:.0}–{:.0} % at 1σ", 100.0 * lo, 100.0 * hi)
        } else {
            "the exact answer need not cover 68 % at 1σ".to_string()
        };
        format!(
            "Share of test clusters with |R_{{pred}} − R^{{EM}}| < kσ_{{tot}} in bins of the observed E^{{EM}}, k = 1 \
             (lower curves) and 2 (upper), against the Gaussian 68.3 % and 95.4 % (grey); underneath, the pull core \
             width in the same bins. The truth curve uses the exact mean^{{*}} and sd^{{*}}: R given x is not \
             Gaussian, so {exact}, and a calibrated network follows that curve, not 68 % (the acceptance table \
             compares with it)."
        )
    }

    /// The tot, stat and syst pulls of one method, side by side.
    fn pull_grid(&self, method: &str) -> Option<Grid> {
        let panels: Vec<Figure> = KINDS
            .iter()
            .filter_map(|k| self.s.pulls.iter().find(|p| self.label(&p.method) == method && p.kind == *k))
            .filter_map(|p| self.pull_panel(p))
            .collect();
        if panels.is_empty() {
            return None;
        }
        Some(
            Grid::new(3)
                .title(&format!("Pulls of the {method}"))
                .shared_legend(true)
                .cell_size(440, 330)
                .figures(panels),
        )
    }

    fn pull_panel(&self, p: &PullHist) -> Option<Figure> {
        let (edges, counts) = (&p.hist.edges, &p.hist.counts);
        if !has_hist(edges, counts) {
            return None;
        }
        let total: f64 = counts.iter().filter(|c| c.is_finite()).sum();
        let width = |i: usize| edges[i + 1] - edges[i];
        let n = counts.len().min(edges.len() - 1);
        let density: Vec<f64> = (0..n).map(|i| counts[i] / (total * width(i))).collect();
        let err: Vec<f64> = (0..n).map(|i| counts[i].max(0.0).sqrt() / (total * width(i))).collect();
        let label = self.label(&p.method);
        let (lo, hi) = (edges[0], edges[n]);
        let t: Vec<f64> = (0..=200).map(|i| lo + (hi - lo) * i as f64 / 200.0).collect();
        let unit: Vec<f64> = t.iter().map(|&x| gauss(x, 0.0, 1.0, 1.0)).collect();
        let mut f = Figure::new(&format!("{label}, σ_{{{}}}", p.kind))
            .x_label(&format!("(R_{{pred}} − R^{{EM}}) / σ_{{{}}}", p.kind))
            .y_label("density")
            .histogram_with_errors(&format!("{label} pulls"), edges, &density, &err)
            .style(self.style(&p.method))
            .line("N(0, 1)", &t, &unit)
            .style(Style::reference().with_colour(Colour::GREY).with_dash(Dash::Dotted));
        if let Some(fit) = p.fit.filter(|g| g.sigma > 0.0 && g.n > 0) {
            // The fit used the entries within ±2σ of its mean: scale it to hold those.
            let share = fit.n as f64 / total / 0.9545;
            let curve: Vec<f64> = t.iter().map(|&x| gauss(x, fit.mean, fit.sigma, share)).collect();
            f = f
                .line("Gaussian core fit", &t, &curve)
                .style(Style::reference())
                .note(&format!("core fit: mean {:.3}, width {:.3}", fit.mean, fit.sigma));
        }
        if let (Some(c1), Some(c2)) = (p.coverage_1sigma, p.coverage_2sigma) {
            f = f.note(&format!("|t| < 1: {:.1} %, |t| < 2: {:.1} %", 100.0 * c1, 100.0 * c2));
        }
        Some(f)
    }

    /// Coverage at 1 and 2 σ_tot against E^EM, with the core width in a panel underneath.
    fn coverage_figure(&self, curves: &[CoverageCurve]) -> Option<Plot> {
        let mut main = Figure::new("Coverage of σ_{tot} in E^{EM} bins")
            .y_label("fraction of clusters covered")
            .log_x(true)
            .legend(Legend::Right);
        let mut width = Figure::new("").x_label("E^{EM} [GeV]").y_label("core width").log_x(true).hline(1.0);
        let (mut any, mut any_width) = (false, false);
        let mut span = (f64::INFINITY, f64::NEG_INFINITY);
        for c in sorted(curves, |c| order(&self.label(&c.method))) {
            let x = edge_centres(&c.e_em_edges, true);
            let y1 = unwrap_nan(&c.coverage_1sigma);
            let y2 = unwrap_nan(&c.coverage_2sigma);
            if has_data(&x, &y1, true, false) || has_data(&x, &y2, true, false) {
                any = true;
                let label = self.label(&c.method);
                main = self.line_points(main, &label, &x, &y1);
                main = self.line_points(main, &label, &x, &y2);
                span = (span.0.min(c.e_em_edges[0]), span.1.max(c.e_em_edges[c.e_em_edges.len() - 1]));
            }
            let w = unwrap_nan(&c.core_width);
            if has_data(&x, &w, true, false) {
                any_width = true;
                width = self.line_points(width, "", &x, &w).style(self.style(&c.method));
            }
        }
        if !any {
            return None;
        }
        let nominal = Style::reference().with_colour(Colour::GREY);
        let xs = [span.0, span.1];
        main = main.line("Gaussian 68.3 %, 95.4 %", &xs, &[0.683, 0.683]).style(nominal);
        main = main.line("Gaussian 68.3 %, 95.4 %", &xs, &[0.954, 0.954]).style(nominal);
        if !any_width {
            return Some(Plot::Single(main.x_label("E^{EM} [GeV]")));
        }
        Some(Plot::Ratio(RatioFigure::new(main, width).heights(&[2.4, 1.0])))
    }
}
