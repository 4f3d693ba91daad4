//! A training loop users do not have to rewrite: epochs, minibatches, a learning-rate
//! schedule, validation each epoch, early stopping, best-weight restore, a progress bar, a
//! per-epoch hook, and a clear stop when the loss stops being a number.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::data::{Dataset, Standardizer};
use crate::module::Module;
use crate::optim::Optimizer;
use crate::schedule::{Schedule, Scheduler};
use autodiff::{no_grad, DType, Device, Result, Rng, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Clone)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Seeds the shuffling; epoch e shuffles with `Rng::new(seed).fork(e)`, so a resumed run
    /// sees the same batches as an uninterrupted one.
    pub seed: u64,
    /// Stop after this many epochs without a better validation loss.
    pub patience: Option<usize>,
    /// Restore the weights of the best validation epoch at the end.
    pub keep_best: bool,
    pub schedule: Schedule,
    pub dtype: DType,
    pub drop_last: bool,
    pub progress: bool,
    /// Write a checkpoint here whenever the validation loss improves (and at the end).
    pub checkpoint: Option<PathBuf>,
    /// Stored in checkpoints so the preprocessing travels with the weights.
    pub standardizer: Option<Standardizer>,
    /// Epochs already done (for resuming from a checkpoint).
    pub start_epoch: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 256,
            seed: 0,
            patience: None,
            keep_best: true,
            schedule: Schedule::Constant,
            dtype: DType::F32,
            drop_last: false,
            progress: true,
            checkpoint: None,
            standardizer: None,
            start_epoch: 0,
        }
    }
}

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

    pub fn save_csv(&self, path: impl AsRef<std::path::Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_csv())
    }
}

/// What a per-epoch hook tells the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

#[derive(Debug)]
pub enum TrainError {
    /// The loss became NaN or infinite. The model holds the last good weights (those of the
    /// best validation epoch, or of the end of the previous epoch); an on-disk checkpoint is
    /// left as it was.
    NonFinite {
        epoch: usize,
        batch: usize,
        loss: f64,
    },
    Tensor(autodiff::Error),
    Checkpoint(CheckpointError),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrainError::NonFinite { epoch, batch, loss } => write!(
                f,
                "training stopped: the loss is {loss} at epoch {epoch}, batch {batch}; the model holds the last good \
                 weights. Try a smaller learning rate, check the inputs for outliers, or clamp the head."
            ),
            TrainError::Tensor(e) => write!(f, "training failed: {e}"),
            TrainError::Checkpoint(e) => write!(f, "training failed: {e}"),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<autodiff::Error> for TrainError {
    fn from(e: autodiff::Error) -> Self {
        TrainError::Tensor(e)
    }
}

impl From<CheckpointError> for TrainError {
    fn from(e: CheckpointError) -> Self {
        TrainError::Checkpoint(e)
    }
}

/// The batch loss: given the model, a feature batch [b, d] and a target batch [b, t].
pub trait LossFn<M: ?Sized>: Fn(&M, &Tensor, &Tensor) -> Result<Tensor> {}
impl<M: ?Sized, F: Fn(&M, &Tensor, &Tensor) -> Result<Tensor>> LossFn<M> for F {}

pub struct Trainer {
    pub config: TrainConfig,
    pub device: Device,
}

fn snapshot<M: Module + ?Sized>(model: &M) -> Vec<Tensor> {
    model.params().iter().map(|p| p.var.tensor()).collect()
}

fn restore<M: Module + ?Sized>(model: &M, weights: &[Tensor]) -> Result<()> {
    model.params().iter().zip(weights).try_for_each(|(p, w)| p.var.set(w))
}

impl Trainer {
    pub fn new(config: TrainConfig, device: &Device) -> Self {
        Trainer { config, device: device.clone() }
    }

    /// Mean loss over a dataset, in eval mode and without recording a graph.
    pub fn evaluate<M: Module + ?Sized>(&self, model: &M, data: &Dataset, loss: &impl LossFn<M>) -> Result<f64> {
        model.set_training(false);
        let result = no_grad(|| {
            let (mut total, mut n) = (0.0, 0usize);
            for batch in data.batches(self.config.batch_size.max(1024), None, false, self.config.dtype, &self.device) {
                let (x, y) = batch?;
                let b = x.shape()[0];
                total += loss(model, &x, &y)?.to_scalar()? * b as f64;
                n += b;
            }
            Ok(total / n.max(1) as f64)
        });
        model.set_training(true);
        result
    }

    /// Trains `model` on `train`, validating on `val` after each epoch. `on_epoch` sees each
    /// epoch's record and may stop training.
    pub fn fit<M: Module + ?Sized>(
        &self,
        model: &M,
        optimizer: &mut dyn Optimizer,
        train: &Dataset,
        val: Option<&Dataset>,
        loss: impl LossFn<M>,
        mut on_epoch: impl FnMut(&EpochRecord) -> Control,
    ) -> std::result::Result<History, TrainError> {
        let cfg = &self.config;
        let steps_per_epoch = if cfg.drop_last {
            train.len() / cfg.batch_size.max(1)
        } else {
            train.len().div_ceil(cfg.batch_size.max(1))
        };
        let mut scheduler = Scheduler::new(cfg.schedule.clone(), optimizer.learning_rate());
        let mut history = History::default();
        let mut best: Option<(f64, Vec<Tensor>)> = None;
        let mut last_good = snapshot(model);
        let mut since_best = 0usize;
        model.set_training(true);
        let bar = if cfg.progress {
            ProgressBar::new((steps_per_epoch * cfg.epochs.saturating_sub(cfg.start_epoch)) as u64)
        } else {
            ProgressBar::hidden()
        };
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} epoch {prefix} [{bar:30}] {pos}/{len} batches, {per_sec} ({eta} left) {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        for epoch in cfg.start_epoch..cfg.epochs {
            bar.set_prefix(format!("{}/{}", epoch + 1, cfg.epochs));
            let start = Instant::now();
            let mut shuffle = Rng::new(cfg.seed).fork(epoch as u64);
            let (mut total, mut seen) = (0.0, 0usize);
            for (b, batch) in
                train.batches(cfg.batch_size, Some(&mut shuffle), cfg.drop_last, cfg.dtype, &self.device).enumerate()
            {
                let (x, y) = batch?;
                optimizer.set_learning_rate(scheduler.lr(optimizer.steps()));
                let l = loss(model, &x, &y)?;
                let value = l.to_scalar()?;
                if !value.is_finite() {
                    bar.abandon();
                    let good = best.as_ref().map_or(&last_good, |(_, w)| w);
                    restore(model, good)?;
                    return Err(TrainError::NonFinite { epoch, batch: b, loss: value });
                }
                let grads = l.backward()?;
                optimizer.step(&grads)?;
                let n = x.shape()[0];
                total += value * n as f64;
                seen += n;
                bar.inc(1);
                if b % 16 == 0 {
                    bar.set_message(format!("loss {:.4}", total / seen.max(1) as f64));
                }
            }
            let val_loss = match val {
                Some(v) if !v.is_empty() => Some(self.evaluate(model, v, &loss)?),
                _ => None,
            };
            let seconds = start.elapsed().as_secs_f64();
            let record = EpochRecord {
                epoch,
                train_loss: total / seen.max(1) as f64,
                val_loss,
                lr: optimizer.learning_rate(),
                seconds,
                samples_per_second: seen as f64 / seconds.max(1e-9),
            };
            let line = format!(
                "epoch {:>3}: train {:.5}{}  lr {:.2e}  {:.0} samples/s",
                epoch + 1,
                record.train_loss,
                val_loss.map_or(String::new(), |v| format!("  val {v:.5}")),
                record.lr,
                record.samples_per_second
            );
            // A hidden bar (no terminal, as in CI logs) would swallow the line: print it plainly.
            if cfg.progress && bar.is_hidden() {
                println!("{line}");
            } else {
                bar.println(line);
            }
            last_good = snapshot(model);
            let monitored = val_loss.unwrap_or(record.train_loss);
            if let Some(v) = val_loss {
                scheduler.end_epoch(v);
            }
            if best.as_ref().is_none_or(|(b, _)| monitored < *b) {
                best = Some((monitored, last_good.clone()));
                history.best_epoch = Some(epoch);
                history.best_val_loss = Some(monitored);
                since_best = 0;
                if let Some(path) = &cfg.checkpoint {
                    self.save(path, model, optimizer, epoch + 1)?;
                }
            } else {
                since_best += 1;
            }
            history.epochs.push(record);
            let stop = on_epoch(history.epochs.last().expect("just pushed")) == Control::Stop;
            if stop || cfg.patience.is_some_and(|p| since_best >= p) {
                history.stopped_early = epoch + 1 < cfg.epochs;
                break;
            }
        }
        bar.finish_and_clear();
        if cfg.keep_best {
            if let Some((_, w)) = &best {
                restore(model, w)?;
            }
        }
        Ok(history)
    }

    fn save<M: Module + ?Sized>(
        &self,
        path: &PathBuf,
        model: &M,
        opt: &dyn Optimizer,
        epoch: usize,
    ) -> std::result::Result<(), CheckpointError> {
        let ckpt = Checkpoint {
            architecture: model.architecture(),
            epoch: epoch as u64,
            optimizer_steps: opt.steps(),
            standardizer: self.config.standardizer.clone(),
            meta: Default::default(),
        };
        ckpt.save(path, model, Some(opt))
    }
}
