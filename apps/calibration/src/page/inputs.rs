//! The section "Inputs": the cut flow of the test sample, the feature histograms and the
//! EM-scale response against the EM-scale energy.

use super::draw::{count, has_hist_scaled, heatmap_figure};
use super::{not_run, Ctx};
use crate::study::summary::FeatureHist;
use report::{Cell, Colour, Dash, Figure, Grid, Section, Style, Table};

impl Ctx<'_> {
    pub(super) fn inputs_section(&self) -> Section {
        let mut s = Section::new("Inputs").table(self.cut_table());
        s = match features_grid(&self.s.features) {
            Some(g) => s.figure(
                g,
                "The 15 input features of the test clusters after the selection cuts (energies, λ, ⟨ρ⟩, σ_{t}^{2} \
                 and ζ on log axes). Their 1/50/99 % quantiles are those of docs/calibration-generator.md §11.",
            ),
            None => not_run(s, "the feature distributions"),
        };
        let rv = &self.s.response_vs_energy;
        match heatmap_figure(rv, "EM-scale response against E^{EM}", false) {
            Some(f) => s.figure(
                f.hline(1.0).size(640, 480),
                "R^{EM} = E^{EM}/E_{dep} against E^{EM}: the EM scale under-measures hadronic and low-energy clusters; \
                 the spread at low energy is what the calibration has to undo cluster by cluster.",
            ),
            None => not_run(s, "R^{EM} against E^{EM}"),
        }
    }

    /// The cut flow of the test sample.
    fn cut_table(&self) -> Table {
        let c = &self.s.evaluation.cuts;
        let mut t = Table::new(&["selection", "clusters removed", "clusters left"])
            .caption(&format!("Selection cuts on the test sample ({}).", c.source));
        let mut left = c.input;
        t = t.row([Cell::from("generated"), Cell::from(""), Cell::from(count(left))]);
        for cut in &c.cuts {
            left = left.saturating_sub(cut.removed);
            t = t.row([Cell::from(cut.cut.as_str()), Cell::from(count(cut.removed)), Cell::from(count(left))]);
        }
        let share = if c.input > 0 { 100.0 * c.passed as f64 / c.input as f64 } else { 0.0 };
        t.row([Cell::from("selected"), Cell::from(format!("{share:.1} % kept")), Cell::from(count(c.passed))])
    }
}

/// The feature histograms in a grid of four columns, log x where the edges are log-spaced.
fn features_grid(features: &[FeatureHist]) -> Option<Grid> {
    let style = Style::nth(6).with_colour(Colour::BLACK).with_dash(Dash::Solid);
    let panels: Vec<Figure> = features
        .iter()
        .filter(|f| has_hist_scaled(&f.hist.edges, &f.hist.counts, f.log_x))
        .map(|f| {
            Figure::new(&f.name)
                .x_label(&f.label)
                .y_label("clusters per bin")
                .log_x(f.log_x)
                .histogram("", &f.hist.edges, &f.hist.counts)
                .style(style)
        })
        .collect();
    if panels.is_empty() {
        return None;
    }
    Some(Grid::new(4).title("Input features of the test clusters").cell_size(330, 250).figures(panels))
}
