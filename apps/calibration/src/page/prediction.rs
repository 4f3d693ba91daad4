//! The section "Predicted response": predicted against true response, and the predicted
//! densities against the true ones per energy bin.

use super::draw::{count, has_hist, heatmap_figure, num};
use super::{not_run, Ctx};
use crate::study::summary::MarginalDensity;
use report::{Figure, Grid, Section};

impl Ctx<'_> {
    pub(super) fn prediction_section(&self) -> Section {
        let mut s = Section::new("Predicted response");
        let mut any = false;
        for sc in &self.s.predicted_vs_true {
            let title = format!("R_{{pred}} against R^{{EM}}: {}", self.label(&sc.method));
            if let Some(f) = heatmap_figure(sc, &title, true) {
                any = true;
                s = s.figure(
                    f.size(600, 500),
                    &format!(
                        "{}'s predicted response against the true R^{{EM}} of each test cluster, with y = x dashed. \
                         The prediction is a conditional mean, so it cannot follow the cluster-by-cluster spread: the \
                         cloud is flatter than the diagonal.",
                        self.label(&sc.method)
                    ),
                );
            }
        }
        if !any {
            s = not_run(s, "R_{pred} against R^{EM}");
        }
        match self.marginals_grid(&self.s.marginals) {
            Some(g) => s.figure(
                g,
                "A generative closure test (docs/calibration-method.md §5.9): per E_{dep} bin, the histogram of the true R^{EM} (black) and the \
                 average over the bin's clusters of each network's predicted density N(R; R_{pred}, σ_{tot}^{2}).",
            ),
            None => not_run(s, "the predicted marginal densities"),
        }
    }

    fn marginals_grid(&self, all: &[MarginalDensity]) -> Option<Grid> {
        let panels: Vec<Figure> = all.iter().filter_map(|m| self.marginal_panel(m)).collect();
        if panels.is_empty() {
            return None;
        }
        let cols = panels.len().clamp(1, 4);
        Some(
            Grid::new(cols)
                .title("Predicted and true R^{EM} densities")
                .shared_legend(true)
                .cell_size(330, 280)
                .figures(panels),
        )
    }

    fn marginal_panel(&self, m: &MarginalDensity) -> Option<Figure> {
        let mut f = Figure::new(&format!("{} < E_{{dep}} < {} GeV", num(m.e_lo), num(m.e_hi)))
            .x_label("R^{EM}")
            .y_label("density")
            .note(&format!("{} clusters", count(m.n)));
        let mut any = false;
        if has_hist(&m.edges, &m.truth) {
            any = true;
            f = f.histogram("true R^{EM}", &m.edges, &m.truth).style(self.pal.style("truth"));
        }
        for (name, density) in &m.predicted {
            if has_hist(&m.edges, density) {
                any = true;
                f = f.histogram(&self.label(name), &m.edges, density).style(self.style(name));
            }
        }
        any.then_some(f)
    }
}
