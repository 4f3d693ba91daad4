//! Learning-rate schedules. Each maps a step (or, for reduce-on-plateau, the validation
//! history) to a learning rate; the training loop applies it before every update.

use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    Constant,
    /// Multiply by `gamma` every `every` steps.
    Step {
        every: u64,
        gamma: f64,
    },
    /// Cosine decay from the base rate to `min_lr` over `total` steps, then flat.
    Cosine {
        total: u64,
        min_lr: f64,
    },
    /// Smith's one-cycle: cosine warm-up from max_lr/div to max_lr over `pct_start` of
    /// `total`, then cosine annealing to max_lr/(div * final_div) (PyTorch's defaults:
    /// pct_start 0.3, div 25, final_div 1e4). The base rate is max_lr.
    OneCycle {
        total: u64,
        pct_start: f64,
        div: f64,
        final_div: f64,
    },
    /// Multiply by `factor` when the validation loss has not improved by a relative
    /// `threshold` for `patience` epochs; never below `min_lr`.
    ReduceOnPlateau {
        factor: f64,
        patience: usize,
        threshold: f64,
        min_lr: f64,
    },
}

/// A schedule with its state (the plateau tracker needs one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scheduler {
    pub schedule: Schedule,
    pub base_lr: f64,
    plateau_lr: f64,
    /// The best validation loss so far (None before the first epoch: JSON has no infinity).
    best: Option<f64>,
    bad_epochs: usize,
}

impl Scheduler {
    pub fn new(schedule: Schedule, base_lr: f64) -> Self {
        Scheduler { schedule, base_lr, plateau_lr: base_lr, best: None, bad_epochs: 0 }
    }

    /// The learning rate for update number `step` (0-based).
    pub fn lr(&self, step: u64) -> f64 {
        let cos_between =
            |from: f64, to: f64, frac: f64| to + (from - to) * 0.5 * (1.0 + (PI * frac.clamp(0.0, 1.0)).cos());
        match self.schedule {
            Schedule::Constant => self.base_lr,
            Schedule::Step { every, gamma } => self.base_lr * gamma.powi((step / every.max(1)) as i32),
            Schedule::Cosine { total, min_lr } => cos_between(self.base_lr, min_lr, step as f64 / total.max(1) as f64),
            Schedule::OneCycle { total, pct_start, div, final_div } => {
                let warm = (pct_start * total as f64).max(1.0);
                let (start, end) = (self.base_lr / div, self.base_lr / (div * final_div));
                let s = step as f64;
                if s < warm {
                    cos_between(start, self.base_lr, s / warm)
                } else {
                    cos_between(self.base_lr, end, (s - warm) / (total as f64 - warm).max(1.0))
                }
            }
            Schedule::ReduceOnPlateau { .. } => self.plateau_lr,
        }
    }

    /// Checks a scheduler read from a file: its base and current plateau learning rates must be
    /// finite and not negative (the message names the one that is not).
    pub fn validate(&self) -> Result<(), String> {
        for (name, lr) in [("base_lr", self.base_lr), ("plateau_lr", self.plateau_lr)] {
            if !lr.is_finite() || lr < 0.0 {
                return Err(format!("holds a scheduler whose {name} is {lr}: a learning rate must be finite and >= 0"));
            }
        }
        Ok(())
    }

    /// Tells the schedule an epoch ended with this validation loss.
    pub fn end_epoch(&mut self, val_loss: f64) {
        if let Schedule::ReduceOnPlateau { factor, patience, threshold, min_lr } = self.schedule {
            if self.best.is_none_or(|b| val_loss < b - b.abs() * threshold) {
                self.best = Some(val_loss);
                self.bad_epochs = 0;
            } else {
                self.bad_epochs += 1;
                if self.bad_epochs > patience {
                    self.plateau_lr = (self.plateau_lr * factor).max(min_lr);
                    self.bad_epochs = 0;
                }
            }
        }
    }
}
