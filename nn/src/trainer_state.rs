//! What a training run carries from one epoch to the next besides weights, optimizer and
//! random streams: the [`History`] of its epochs and the [`TrainerState`] that `last.h5` stores
//! so that a resumed run behaves as an uninterrupted one. Both the training loop and the
//! checkpoint code use it, so it depends on neither.

use crate::schedule::{Schedule, Scheduler};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    pub lr: f64,
    pub seconds: f64,
    pub samples_per_second: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub epochs: Vec<EpochRecord>,
    pub best_epoch: Option<usize>,
    pub best_val_loss: Option<f64>,
    pub stopped_early: bool,
}

impl History {
    /// The history as CSV (epoch, train_loss, val_loss, lr, seconds, samples_per_second).
    pub fn to_csv(&self) -> String {
        let mut s = String::from("epoch,train_loss,val_loss,lr,seconds,samples_per_second\n");
        for r in &self.epochs {
            let val = r.val_loss.map_or(String::new(), |v| v.to_string());
            s += &format!(
                "{},{},{},{},{:.3},{:.1}\n",
                r.epoch, r.train_loss, val, r.lr, r.seconds, r.samples_per_second
            );
        }
        s
    }

    pub fn save_csv(&self, path: impl AsRef<Path>) -> std::result::Result<(), crate::io::FileError> {
        let csv = self.to_csv();
        crate::io::write_atomically(path.as_ref(), |tmp| std::fs::write(tmp, &csv).map_err(|e| e.to_string()))
    }
}

/// Everything about a run besides weights, optimizer and random streams that the next epoch
/// depends on: stored in `last.h5` so that a resumed run behaves as an uninterrupted one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    pub epochs_done: usize,
    pub best_loss: Option<f64>,
    pub best_epoch: Option<usize>,
    pub since_best: usize,
    pub scheduler: Scheduler,
    /// The magnitude of the run's first batch loss, the reference for `Guard::max_loss_growth`.
    pub loss_scale: Option<f64>,
    pub history: History,
}

impl TrainerState {
    pub(crate) fn fresh(schedule: &Schedule, lr: f64) -> Self {
        TrainerState {
            epochs_done: 0,
            best_loss: None,
            best_epoch: None,
            since_best: 0,
            scheduler: Scheduler::new(schedule.clone(), lr),
            loss_scale: None,
            history: History::default(),
        }
    }

    /// Records a finished epoch: its record in the history, the scheduler's view of its
    /// validation loss, and whether it is the best so far (by validation loss, or training loss
    /// without validation data), which it returns.
    pub(crate) fn end_epoch(&mut self, record: EpochRecord) -> bool {
        let monitored = record.val_loss.unwrap_or(record.train_loss);
        if let Some(v) = record.val_loss {
            self.scheduler.end_epoch(v);
        }
        let improved = self.best_loss.is_none_or(|b| monitored < b);
        if improved {
            self.best_loss = Some(monitored);
            self.best_epoch = Some(record.epoch);
            self.since_best = 0;
        } else {
            self.since_best += 1;
        }
        self.epochs_done = record.epoch + 1;
        self.history.epochs.push(record);
        self.history.best_epoch = self.best_epoch;
        self.history.best_val_loss = self.best_loss;
        improved
    }

    /// Checks a state read from a file.
    pub fn validate(&self) -> std::result::Result<(), String> {
        let finite = |v: Option<f64>| v.is_none_or(f64::is_finite);
        if !finite(self.best_loss) || !finite(self.loss_scale) {
            return Err("holds a best loss or loss scale that is not finite".into());
        }
        if let Some(scale) = self.loss_scale.filter(|s| *s < 0.0) {
            return Err(format!("holds a negative loss scale ({scale}): it is the magnitude of a loss"));
        }
        self.scheduler.validate()?;
        if self.history.epochs.len() > self.epochs_done || self.best_epoch.is_some_and(|e| e >= self.epochs_done) {
            return Err(format!(
                "is inconsistent: {} epochs done, {} in the history, best epoch {:?}",
                self.epochs_done,
                self.history.epochs.len(),
                self.best_epoch
            ));
        }
        Ok(())
    }
}
