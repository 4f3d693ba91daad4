//! A training loop users do not have to rewrite: epochs, minibatches from one sample or two, a
//! learning-rate schedule, validation each epoch, early stopping, best-weight restore, a
//! progress bar, a per-epoch hook, exact resume, and guards that stop a run with a clear error
//! (naming the epoch and batch) before a broken model can replace a good one on disk.
//!
//! With `TrainConfig::dir` set, the trainer keeps two checkpoints there, each written atomically:
//! `last.h5` (after every epoch: weights, optimizer state, every random stream's position, and
//! the trainer's own state, so that [`Trainer::resume`] continues bit-identically) and `best.h5`
//! (the weights of the best validation epoch so far, across resumes), plus `history.csv`.

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::data::{Batch, BatchSource};
use crate::module::{with_mode, Mode, Module};
use crate::objective::Objective;
use crate::optim::Optimizer;
use crate::progress;
use crate::schedule::Schedule;
use crate::standardizer::Standardizer;
use autodiff::{no_grad, DType, Device, Result, Rng, Tensor};
use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

pub use crate::train_error::TrainError;
pub use crate::trainer_state::{EpochRecord, History, TrainerState};

/// Limits beyond which a run counts as diverged. A loss can stay finite while the network
/// explodes (a clamped log variance keeps a Gaussian NLL near 1e32 while the weights reach 1e7);
/// these catch that.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Guard {
    /// No parameter may exceed this in absolute value.
    pub max_abs_param: f64,
    /// A batch loss may not exceed this many times the first batch's (at least 1 in magnitude).
    pub max_loss_growth: f64,
}

impl Default for Guard {
    fn default() -> Self {
        Guard { max_abs_param: 1e6, max_loss_growth: 1e8 }
    }
}

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
    /// Where `last.h5`, `best.h5` and `history.csv` go (see the module docs).
    pub dir: Option<PathBuf>,
    /// Stored in the checkpoints so the preprocessing travels with the weights.
    pub standardizer: Option<Standardizer>,
    /// Stored in the checkpoints too (anything the caller wants to keep with the model).
    pub meta: BTreeMap<String, String>,
    pub guard: Guard,
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
            dir: None,
            standardizer: None,
            meta: BTreeMap::new(),
            guard: Guard::default(),
        }
    }
}

/// What a per-epoch hook tells the loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// The batch loss the trainer minimises: given the model, a batch and the training-set size N.
pub trait Loss<M: ?Sized> {
    fn loss(&self, model: &M, batch: &Batch, n_train: usize) -> Result<Tensor>;
    /// Checks before training that the loss fits the model.
    fn check(&self, _model: &M) -> Result<()> {
        Ok(())
    }
}

impl<M: Module + ?Sized> Loss<M> for Objective {
    fn loss(&self, model: &M, batch: &Batch, n_train: usize) -> Result<Tensor> {
        Objective::loss(self, model, batch, n_train)
    }
    fn check(&self, model: &M) -> Result<()> {
        Objective::check(self, model)
    }
}

impl<M: ?Sized, F: Fn(&M, &Batch, usize) -> Result<Tensor>> Loss<M> for F {
    fn loss(&self, model: &M, batch: &Batch, n_train: usize) -> Result<Tensor> {
        self(model, batch, n_train)
    }
}

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

/// The first parameter that is not finite or exceeds `max_abs`, as a reason.
fn bad_parameter<M: Module + ?Sized>(model: &M, max_abs: f64) -> Result<Option<String>> {
    for p in model.params() {
        let v = p.var.tensor().to_vec_f64()?;
        if let Some(x) = v.iter().find(|x| !x.is_finite()) {
            return Ok(Some(format!("parameter {} holds {x}", p.name)));
        }
        let biggest = v.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if biggest > max_abs {
            return Ok(Some(format!("parameter {} reached {biggest:.3e} (the limit is {max_abs:.0e})", p.name)));
        }
    }
    Ok(None)
}

/// The first value of a batch that is not finite, as a reason. A NaN feature need not reach
/// the loss (ReLU maps it to 0) but still poisons the gradients; checking the batch names it
/// where it enters, for the cost of reading the batch once (small next to the step).
fn non_finite_value(batch: &Batch) -> Result<Option<String>> {
    for (what, t) in [("feature", Some(&batch.x)), ("target", Some(&batch.y)), ("weight", batch.w.as_ref())] {
        let Some(t) = t else { continue };
        let v = t.to_vec_f64()?;
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            let cols = t.shape().iter().skip(1).product::<usize>().max(1);
            return Ok(Some(format!(
                "{what} row {} (of the batch), column {} is {} ({} such values in the batch)",
                i / cols,
                i % cols,
                v[i],
                v.iter().filter(|x| !x.is_finite()).count()
            )));
        }
    }
    Ok(None)
}

pub const LAST: &str = "last.h5";
pub const BEST: &str = "best.h5";

impl Trainer {
    pub fn new(config: TrainConfig, device: &Device) -> Self {
        Trainer { config, device: device.clone() }
    }

    /// Mean loss over `data` (weighted by batch size), without recording a graph, with the
    /// model in evaluation mode (weight draw 0 of a Bayesian network); the mode is restored.
    pub fn evaluate<M: Module + ?Sized>(
        &self,
        model: &M,
        data: &dyn BatchSource,
        loss: &impl Loss<M>,
        n_train: usize,
    ) -> Result<f64> {
        self.mean_loss(model, data, loss, n_train).map(|(mean, _)| mean)
    }

    /// The mean loss of [`Trainer::evaluate`], with the first batch that holds a NaN or an
    /// infinity (its index and what is wrong): a saturating network (tanh of +Inf is 1) can turn
    /// such a value into a finite loss, so the loss alone does not reveal it.
    fn mean_loss<M: Module + ?Sized>(
        &self,
        model: &M,
        data: &dyn BatchSource,
        loss: &impl Loss<M>,
        n_train: usize,
    ) -> Result<(f64, Option<(usize, String)>)> {
        let _mode = with_mode(model, Mode::Eval { draw: 0 });
        no_grad(|| {
            let (mut total, mut n, mut non_finite) = (0.0, 0usize, None);
            let batches = data.epoch(self.config.batch_size.max(1024), None, false, self.config.dtype, &self.device);
            for (index, batch) in batches.enumerate() {
                let batch = batch?;
                if non_finite.is_none() {
                    non_finite = non_finite_value(&batch)?.map(|reason| (index, reason));
                }
                let b = batch.len();
                total += loss.loss(model, &batch, n_train.max(1))?.to_scalar()? * b as f64;
                n += b;
            }
            Ok((total / n.max(1) as f64, non_finite))
        })
    }

    /// Trains `model` on `train` from the start, validating on `val` after each epoch. `on_epoch`
    /// sees each epoch's record and may stop training.
    pub fn fit<M: Module + ?Sized>(
        &self,
        model: &M,
        optimizer: &mut dyn Optimizer,
        train: &dyn BatchSource,
        val: Option<&dyn BatchSource>,
        loss: &impl Loss<M>,
        on_epoch: impl FnMut(&EpochRecord) -> Control,
    ) -> std::result::Result<History, TrainError> {
        let state = TrainerState::fresh(&self.config.schedule, optimizer.learning_rate());
        self.run(model, optimizer, train, val, loss, on_epoch, state, None)
    }

    /// Continues the run whose checkpoints are in `dir` (its `last.h5`: weights, optimizer,
    /// random streams, trainer state; and its `best.h5`), as if it had never stopped. The model
    /// and optimizer must be built as for the original run.
    #[allow(clippy::too_many_arguments)]
    pub fn resume<M: Module + ?Sized>(
        &self,
        dir: &Path,
        model: &M,
        optimizer: &mut dyn Optimizer,
        train: &dyn BatchSource,
        val: Option<&dyn BatchSource>,
        loss: &impl Loss<M>,
        on_epoch: impl FnMut(&EpochRecord) -> Control,
    ) -> std::result::Result<History, TrainError> {
        // last.h5's trainer state is judged from its attributes before anything is loaded, so
        // that a file this run cannot continue leaves the model and optimizer as they were.
        let last = dir.join(LAST);
        self.resumable(&last, Checkpoint::read_header(&last)?.trainer)?;
        // best.h5 is read through the model (the only place its weights fit), then last.h5
        // overwrites weights and streams; if that fails, the model is put back as it was.
        let before = snapshot(model);
        let before_streams: Vec<_> = model.noise_streams().iter().map(|s| s.state()).collect();
        let put_back = |e: TrainError| -> TrainError {
            if let Err(r) = restore(model, &before) {
                return TrainError::Tensor(r);
            }
            model.noise_streams().iter().zip(&before_streams).for_each(|(s, st)| s.set_state(st));
            e
        };
        let best = if dir.join(BEST).is_file() {
            Checkpoint::load(dir.join(BEST), model, None)?;
            Some(snapshot(model))
        } else {
            None
        };
        let head = Checkpoint::load(&last, model, Some(optimizer)).map_err(|e| put_back(e.into()))?;
        // Judged again as loaded, in case the file was replaced in between.
        let state = self.resumable(&last, head.trainer).map_err(put_back)?;
        self.run(model, optimizer, train, val, loss, on_epoch, state, best)
    }

    /// The trainer state of `last` (a `last.h5`), when this run can continue it: there is one
    /// (a checkpoint saved outside a training run has none), and it has not done more epochs
    /// than this run is configured for.
    fn resumable(&self, last: &Path, trainer: Option<TrainerState>) -> std::result::Result<TrainerState, TrainError> {
        let refuse = |msg: String| {
            TrainError::Checkpoint(CheckpointError::File(crate::io::FileError::item(last, "attribute 'trainer'", msg)))
        };
        let state = trainer.ok_or_else(|| {
            refuse("is missing: this checkpoint was not written by a training run and cannot be resumed".into())
        })?;
        if state.epochs_done > self.config.epochs {
            return Err(refuse(format!(
                "records epochs_done = {}, beyond the {} epochs of this run (TrainConfig::epochs)",
                state.epochs_done, self.config.epochs
            )));
        }
        Ok(state)
    }

    #[allow(clippy::too_many_arguments)]
    fn run<M: Module + ?Sized, L: Loss<M>>(
        &self,
        model: &M,
        optimizer: &mut dyn Optimizer,
        train: &dyn BatchSource,
        val: Option<&dyn BatchSource>,
        loss: &L,
        mut on_epoch: impl FnMut(&EpochRecord) -> Control,
        mut state: TrainerState,
        mut best: Option<Vec<Tensor>>,
    ) -> std::result::Result<History, TrainError> {
        let cfg = &self.config;
        loss.check(model)?;
        if let Some(dir) = &cfg.dir {
            std::fs::create_dir_all(dir).map_err(|e| {
                TrainError::Checkpoint(CheckpointError::File(crate::io::FileError::new(
                    dir,
                    format!("cannot create the directory: {e}"),
                )))
            })?;
        }
        let steps_per_epoch = train.steps(cfg.batch_size, cfg.drop_last);
        let _mode = with_mode(model, Mode::Train);
        let mut last_good = snapshot(model);
        let remaining = cfg.epochs.saturating_sub(state.epochs_done);
        let bar = progress::bar_if(cfg.progress, (steps_per_epoch * remaining) as u64, "epoch");
        let run = EpochRun { trainer: self, model, loss, n_train: train.len(), bar };
        for epoch in state.epochs_done..cfg.epochs {
            run.bar.set_prefix(format!("{}epoch {}/{}", run_label(cfg), epoch + 1, cfg.epochs));
            let rewind = |e: TrainError| run.rewind(e, &last_good);
            let start = Instant::now();
            let (total, seen) = run.train_epoch(optimizer, train, &mut state, epoch, &rewind)?;
            let val_loss = run.validation(val, epoch, &rewind)?;
            let record = run.record(epoch, (total, seen), val_loss, optimizer.learning_rate(), start);
            last_good = snapshot(model);
            let improved = state.end_epoch(record);
            if improved {
                best = Some(last_good.clone());
            }
            let stop = on_epoch(state.history.epochs.last().expect("just pushed")) == Control::Stop;
            let patience_over = cfg.patience.is_some_and(|p| state.since_best >= p);
            if stop || patience_over {
                state.history.stopped_early = epoch + 1 < cfg.epochs;
            }
            self.checkpoint(model, &*optimizer, &state, improved)?;
            if stop || patience_over {
                break;
            }
        }
        run.bar.finish_and_clear();
        if cfg.keep_best {
            if let Some(w) = &best {
                restore(model, w)?;
            }
        }
        Ok(state.history)
    }

    /// The checkpoint policy: `best.h5` when the epoch improved on the best so far, `last.h5` and
    /// `history.csv` after every epoch; nothing without [`TrainConfig::dir`].
    fn checkpoint<M: Module + ?Sized>(
        &self,
        model: &M,
        optimizer: &dyn Optimizer,
        state: &TrainerState,
        improved: bool,
    ) -> std::result::Result<(), TrainError> {
        let Some(dir) = &self.config.dir else { return Ok(()) };
        if improved {
            self.save(&dir.join(BEST), model, None, state)?;
        }
        self.save(&dir.join(LAST), model, Some(optimizer), state)?;
        state.history.save_csv(dir.join("history.csv")).map_err(|e| TrainError::Checkpoint(e.into()))
    }

    fn save<M: Module + ?Sized>(
        &self,
        path: &Path,
        model: &M,
        opt: Option<&dyn Optimizer>,
        state: &TrainerState,
    ) -> std::result::Result<(), CheckpointError> {
        let ckpt = Checkpoint {
            spec: model.spec().cloned(),
            standardizer: self.config.standardizer.clone(),
            meta: self.config.meta.clone(),
            epoch: state.epochs_done as u64,
            optimizer_steps: opt.map_or(0, |o| o.steps()),
            streams: Vec::new(),
            trainer: Some(state.clone()),
        };
        ckpt.save(path, model, opt)
    }
}

/// What every epoch of one call of [`Trainer::fit`] or [`Trainer::resume`] reads.
struct EpochRun<'r, M: ?Sized, L> {
    trainer: &'r Trainer,
    model: &'r M,
    loss: &'r L,
    n_train: usize,
    bar: ProgressBar,
}

impl<M: Module + ?Sized, L: Loss<M>> EpochRun<'_, M, L> {
    /// Ends the run on `e`: the bar is left as it stands and the model gets back `good`, the
    /// weights of its last good epoch, so that a broken model never leaves the trainer.
    fn rewind(&self, e: TrainError, good: &[Tensor]) -> TrainError {
        self.bar.abandon();
        match restore(self.model, good) {
            Ok(()) => e,
            Err(r) => TrainError::Tensor(r),
        }
    }

    /// One pass over the training data, a step per batch, with the guards that stop a broken run
    /// (through `rewind`): a batch that cannot be made or holds a non-finite value, a non-finite
    /// or exploding loss, then a parameter out of bounds. Returns the summed loss and the number
    /// of samples seen.
    fn train_epoch(
        &self,
        optimizer: &mut dyn Optimizer,
        train: &dyn BatchSource,
        state: &mut TrainerState,
        epoch: usize,
        rewind: &dyn Fn(TrainError) -> TrainError,
    ) -> std::result::Result<(f64, usize), TrainError> {
        let (cfg, model) = (&self.trainer.config, self.model);
        let mut shuffle = Rng::new(cfg.seed).fork(epoch as u64);
        let (mut total, mut seen) = (0.0, 0usize);
        let batches = train.epoch(cfg.batch_size, Some(&mut shuffle), cfg.drop_last, cfg.dtype, &self.trainer.device);
        for (b, batch) in batches.enumerate() {
            let batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    let reason = format!("the batch cannot be made ({e})");
                    return Err(rewind(TrainError::Batch { epoch, batch: b, reason }));
                }
            };
            if let Some(reason) = non_finite_value(&batch)? {
                return Err(rewind(TrainError::Batch { epoch, batch: b, reason }));
            }
            optimizer.set_learning_rate(state.scheduler.lr(optimizer.steps()));
            let l = self.loss.loss(model, &batch, self.n_train)?;
            let value = l.to_scalar()?;
            if !value.is_finite() {
                return Err(rewind(TrainError::NonFinite { epoch, batch: b, loss: value }));
            }
            let scale = *state.loss_scale.get_or_insert(value.abs());
            if value.abs() > cfg.guard.max_loss_growth * scale.max(1.0) {
                let reason = format!(
                    "the batch loss {value:.3e} is over {:.0e} times the first one ({scale:.3e})",
                    cfg.guard.max_loss_growth
                );
                return Err(rewind(TrainError::Diverged { epoch, batch: Some(b), reason }));
            }
            let grads = l.backward()?;
            // The loss holds the graph, and the graph holds the parameters' values: dropped
            // first, it lets the optimizer update each parameter where it is instead of copying
            // it (about a third of the ensemble's Adam time at batch 256; benches/README.md).
            drop(l);
            optimizer.step(&grads)?;
            let n = batch.len();
            total += value * n as f64;
            seen += n;
            self.bar.inc(1);
            if b % 16 == 0 {
                self.bar.set_message(format!("loss {:.4}", total / seen.max(1) as f64));
            }
        }
        if let Some(reason) = bad_parameter(model, cfg.guard.max_abs_param)? {
            return Err(rewind(TrainError::Diverged { epoch, batch: None, reason }));
        }
        Ok((total, seen))
    }

    /// The validation pass after an epoch: the mean loss on `val` when there is validation data.
    /// A non-finite one, or a NaN or an infinity in the data, stops the run (through `rewind`).
    fn validation(
        &self,
        val: Option<&dyn BatchSource>,
        epoch: usize,
        rewind: &dyn Fn(TrainError) -> TrainError,
    ) -> std::result::Result<Option<f64>, TrainError> {
        let (val_loss, non_finite) = match val {
            Some(v) if !v.is_empty() => {
                let (mean, non_finite) = self.trainer.mean_loss(self.model, v, self.loss, self.n_train)?;
                (Some(mean), non_finite)
            }
            _ => (None, None),
        };
        if let Some(v) = val_loss.filter(|v| !v.is_finite()) {
            return Err(rewind(TrainError::NonFiniteValidation { epoch, loss: v }));
        }
        if let Some((batch, reason)) = non_finite {
            return Err(rewind(TrainError::ValidationBatch { epoch, batch, reason }));
        }
        Ok(val_loss)
    }

    /// The epoch's record from the summed training loss and samples `(total, seen)`, printed as
    /// one line above the bar.
    fn record(
        &self,
        epoch: usize,
        (total, seen): (f64, usize),
        val_loss: Option<f64>,
        lr: f64,
        start: Instant,
    ) -> EpochRecord {
        let seconds = start.elapsed().as_secs_f64();
        let record = EpochRecord {
            epoch,
            train_loss: total / seen.max(1) as f64,
            val_loss,
            lr,
            seconds,
            samples_per_second: seen as f64 / seconds.max(1e-9),
        };
        let line = format!(
            "{}epoch {:>3}: train {:.5}{}  lr {:.2e}  {:.0} samples/s",
            run_label(&self.trainer.config),
            epoch + 1,
            record.train_loss,
            val_loss.map_or(String::new(), |v| format!("  val {v:.5}")),
            record.lr,
            record.samples_per_second
        );
        // A hidden bar (no terminal, as in CI logs) would swallow the line: print it plainly.
        if self.trainer.config.progress && self.bar.is_hidden() {
            println!("{line}");
        } else {
            self.bar.println(line);
        }
        record
    }
}

/// "NAME: " from the run directory's name, before the bar's epoch and each epoch's line, so that
/// trainings run side by side (a study's) tell their bars and lines apart; empty without one.
fn run_label(cfg: &TrainConfig) -> String {
    cfg.dir.as_deref().and_then(|d| d.file_name()).map_or(String::new(), |n| format!("{}: ", n.to_string_lossy()))
}
