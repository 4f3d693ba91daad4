//! The section "Training": the table of the trained networks and their loss curves.

use super::draw::{count, duration, has_data, unwrap_nan};
use super::{not_run, order, Ctx};
use crate::study::summary::TrainingCurve;
use report::{Cell, Figure, Grid, Section, Table};

impl Ctx<'_> {
    pub(super) fn training_section(&self) -> Section {
        let mut s = Section::new("Training").table(self.models_table());
        let mut curves: Vec<&TrainingCurve> = self.s.training.iter().collect();
        curves.sort_by_key(|c| order(&self.label(&c.method)));
        let panels: Vec<Figure> = curves.iter().filter_map(|c| self.training_panel(c)).collect();
        if panels.is_empty() {
            return not_run(s, "the training curves");
        }
        let cols = panels.len().clamp(1, 2);
        s = s.figure(
            Grid::new(cols).title("Training curves").cell_size(640, 360).figures(panels),
            "Loss per epoch on the training set (solid) and the validation set (dashed) of every network; a vertical \
             line marks where a two-step training starts its second step. A validation loss that turns up would mean \
             over-fitting; the checkpoint kept is the epoch of the lowest validation loss.",
        );
        s
    }

    fn models_table(&self) -> Table {
        let mut t = Table::new(&["network", "architecture", "epochs", "draws", "training time", "samples / s"])
            .caption(
                "The trained networks; draws are the weight samples (BNN) or members (RE) a prediction averages. \
                 The study trains its networks side by side, each on its share of the cores, so a time is that of \
                 the network's own share.",
            );
        for m in &self.s.description.models {
            t = t.row([
                Cell::from(m.label.as_str()),
                Cell::from(m.network.as_str()),
                Cell::num(m.epochs as f64, 0),
                Cell::num(m.draws as f64, 0),
                Cell::from(duration(m.train_seconds)),
                Cell::from(count(m.samples_per_second.max(0.0).round() as usize)),
            ]);
        }
        t
    }

    fn training_panel(&self, c: &TrainingCurve) -> Option<Figure> {
        let x: Vec<f64> = c.epoch.iter().map(|&e| e as f64).collect();
        let val = unwrap_nan(&c.val_loss);
        let values: Vec<f64> = c.train_loss.iter().chain(&val).copied().filter(|v| v.is_finite()).collect();
        if values.is_empty() || x.is_empty() {
            return None;
        }
        let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        // Positive losses spanning a decade or more read better on a log axis.
        let log = lo > 0.0 && hi / lo > 10.0;
        let label = self.label(&c.method);
        let style = self.style(&c.method);
        let mut f = Figure::new(&label)
            .x_label("epoch")
            .y_label(if c.loss.is_empty() { "loss" } else { &c.loss })
            .log_y(log)
            .line(&format!("{label}, training"), &x, &c.train_loss)
            .style(style);
        if has_data(&x, &val, false, log) {
            f = f.dashed(&format!("{label}, validation"), &x, &val).style(style);
        }
        for &e in c.step_starts.iter().filter(|&&e| e > c.epoch.first().copied().unwrap_or(0)) {
            f = f.vline(e as f64);
        }
        Some(f)
    }
}
