//! `calibration train`: the selected clusters of a file, split into training and validation sets
//! by a seeded permutation of their events (`model::split`), the 15 features standardized with
//! statistics of the training set (saved in the checkpoint), and one of the four networks trained
//! into a run directory:
//!
//! | file | content |
//! |---|---|
//! | `best.h5` | the checkpoint of the best validation epoch: the model, its standardizer, metadata |
//! | `last.h5` | the last epoch, with optimizer and random-stream state, to `--resume` from |
//! | `history.csv` | one row per epoch: losses, learning rate, time, samples/s |
//! | `config.toml` | the resolved configuration (preset, file and flags applied) |
//! | `train.json` | what was trained on (file, cuts, sizes), wall time and speed |
//!
//! The LGK DNN trains twice (docs/calibration-method.md §4.4): `step1/` holds the leaky first step, the directory
//! itself the second.

use super::inputs::check_model_inputs;
use super::run_dir::{step_dir, write_text, RunDir, Start, TRAIN_JSON};
use super::split::{split, Events, Split};
use super::{model_spec, objective, steps, ModelConfig};
use crate::columns::{FEATURES, FEATURE_TRANSFORMS, TARGET};
use crate::cuts::{read_selected, CutReport};
use crate::error::{Error, Result};
use crate::io::{DataSource, TargetPolicy};
use nn::train::{Control, TrainConfig, Trainer, BEST, LAST};
use nn::{Adam, Checkpoint, Dataset, Module, Schedule, Standardizer};
use serde::{Deserialize, Serialize};
use sigmagrad::{DType, Device};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to train.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub data: DataSource,
    pub out: PathBuf,
    pub config: ModelConfig,
    pub device: Device,
    /// Continue the interrupted run in `out` (see [`RunDir`] for what is checked).
    pub resume: bool,
    /// Train again into an `out` that holds a run, replacing it only when the new one finishes.
    pub restart: bool,
    /// Progress bars and per-epoch lines.
    pub progress: bool,
    /// Stop after this many epochs of a step, as an interruption would (tests of `--resume`).
    pub interrupt_after: Option<usize>,
}

/// The content of train.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    pub method: String,
    pub model: String,
    pub data: String,
    pub cuts: CutReport,
    pub n_train: usize,
    pub n_val: usize,
    /// "by row", or "by event (eventNumber)" when whole events went to one side of the split
    /// (a train.json written before the split knew events was split by row).
    #[serde(default = "by_row")]
    pub split: String,
    pub epochs: usize,
    pub best_epoch: Option<usize>,
    pub best_val_loss: Option<f64>,
    pub seconds: f64,
    /// Training samples per second over all epochs (validation excluded).
    pub samples_per_second: f64,
    pub device: String,
    pub sigmagrad_version: String,
}

fn by_row() -> String {
    "by row".into()
}

/// The split of the selected clusters, standardized with the training statistics.
pub struct Prepared {
    pub train: Dataset,
    pub val: Dataset,
    pub standardizer: Standardizer,
    pub cuts: CutReport,
    /// "by row" or "by event (eventNumber)": how the validation set was held out.
    pub split: String,
}

/// Reads `data` with the cuts, splits it and standardizes it (statistics from the training split
/// only). The split is a seeded permutation of the events ([`split`]: by event when the file says
/// which clusters share one, else by row); `max_train` keeps its first events, so a smaller
/// training set is a subset of a larger one with the same seed, and keeps as many validation
/// clusters as a sample of that size would have had (at least 1000): a network trained on 10^4
/// clusters is chosen on 2500, as it would be by a physicist who had only 1.25 x 10^4, and its
/// epochs do not spend most of their time validating. With `training.weight_column` both sets
/// carry the clusters' weights, which weight the losses.
pub fn prepare(data: &DataSource, config: &ModelConfig, say: &dyn Fn(&str)) -> Result<Prepared> {
    let (table, cuts) = read_selected(data, TargetPolicy::Required)?;
    say(&cuts.summary());
    let t = &config.training;
    let events = Events::of(&table, t.event_column.as_deref())?;
    let Split { train: train_rows, val: val_rows } = split(&events, t.val_fraction, t.seed, t.max_train)
        .map_err(|e| Error::invalid(format!("{}: {e}", data.display())))?;
    for warning in check_model_inputs(&table, true)? {
        say(&warning);
    }
    let weights = t.weight_column.as_deref().map(|name| table.weights(name)).transpose()?;
    let x = table.matrix(&FEATURES)?;
    let y = table.response()?;
    let d = FEATURES.len();
    let pick = |rows: &[usize]| -> (Vec<f64>, Vec<f64>) {
        let mut xs = Vec::with_capacity(rows.len() * d);
        for &r in rows {
            xs.extend_from_slice(&x[r * d..(r + 1) * d]);
        }
        (xs, rows.iter().map(|&r| y[r]).collect())
    };
    let (tx, ty) = pick(&train_rows);
    let (vx, vy) = pick(&val_rows);
    let standardizer = Standardizer::fit_rows(&tx, d, &FEATURE_TRANSFORMS)
        .map_err(|e| Error::invalid(format!("{}: cannot standardize the features: {e}", data.display())))?;
    let build = |xs: &[f64], ys: Vec<f64>, rows: &[usize], set: &str| -> Result<Dataset> {
        let invalid = |e: sigmagrad::Error| Error::invalid(format!("{}: {set} set: {e}", data.display()));
        let z = standardizer.transform_rows(xs).map_err(|e| Error::invalid(format!("{}: {e}", data.display())))?;
        let mut ds = Dataset::new(z, d, ys, 1).map_err(invalid)?;
        if let (Some(w), Some(name)) = (&weights, &t.weight_column) {
            let w: Vec<f64> = rows.iter().map(|&r| w[r]).collect();
            if w.iter().all(|&v| v == 0.0) {
                return Err(Error::invalid(format!(
                    "{}: weight column '{name}': every cluster of the {set} set has weight 0",
                    data.display()
                )));
            }
            ds = ds.with_weights(w).map_err(invalid)?;
        }
        ds.with_names(&FEATURES).map_err(|e| Error::invalid(e.to_string()))
    };
    Ok(Prepared {
        train: build(&tx, ty, &train_rows, "training")?,
        val: build(&vx, vy, &val_rows, "validation")?,
        standardizer,
        cuts,
        split: events.description,
    })
}

/// The metadata every checkpoint of the app carries, which `predict` checks.
pub fn checkpoint_meta(config: &ModelConfig, data: &DataSource) -> Result<BTreeMap<String, String>> {
    let features = serde_json::to_string(&FEATURES).map_err(|e| Error::invalid(e.to_string()))?;
    Ok(BTreeMap::from([
        ("app".to_string(), "calibration".to_string()),
        ("method".to_string(), config.method.name().to_string()),
        ("features".to_string(), features),
        ("target".to_string(), format!("R = clusterE / {TARGET}")),
        ("data".to_string(), data.display()),
        ("config".to_string(), config.to_toml()?),
    ]))
}

/// Trains the configured network; see the module docs for what the run directory holds.
pub fn train(opts: &TrainOptions, say: &dyn Fn(&str)) -> Result<TrainSummary> {
    let config = &opts.config;
    config.validate()?;
    let run = RunDir::open(&opts.out, config, Start { resume: opts.resume, restart: opts.restart })?;
    let prepared = prepare(&opts.data, config, say)?;
    say(&format!(
        "{}: {} on {} training and {} validation clusters\n",
        config.method.label(),
        model_spec(config).describe(),
        prepared.train.len(),
        prepared.val.len()
    ));
    let start = Instant::now();
    let spec = model_spec(config);
    let model = spec.build(DType::F32, &opts.device, config.training.seed)?;
    let meta = checkpoint_meta(config, &opts.data)?;
    let mut history = None;
    let mut trained_seconds = 0.0;
    let mut trained_samples = 0.0;
    for step in 0..steps(config) {
        let Some(h) = train_step(opts, &run.dir, step, model.as_ref(), &prepared, &meta, say)? else { continue };
        trained_seconds += h.epochs.iter().map(|e| e.seconds).sum::<f64>();
        trained_samples += h.epochs.iter().map(|e| e.seconds * e.samples_per_second).sum::<f64>();
        history = Some(h);
    }
    let history = history.unwrap_or_default();
    let summary = TrainSummary {
        method: config.method.name().into(),
        model: spec.describe(),
        data: opts.data.display(),
        cuts: prepared.cuts.clone(),
        n_train: prepared.train.len(),
        n_val: prepared.val.len(),
        split: prepared.split.clone(),
        epochs: history.epochs.len(),
        best_epoch: history.best_epoch,
        best_val_loss: history.best_val_loss,
        seconds: start.elapsed().as_secs_f64(),
        samples_per_second: if trained_seconds > 0.0 { trained_samples / trained_seconds } else { 0.0 },
        device: opts.device.backend().name(),
        sigmagrad_version: env!("CARGO_PKG_VERSION").into(),
    };
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::invalid(e.to_string()))?;
    let std_json = serde_json::to_string_pretty(&prepared.standardizer).map_err(|e| Error::invalid(e.to_string()))?;
    write_text(&run.dir.join("standardizer.json"), &std_json)?;
    // train.json last: it marks the run as finished.
    write_text(&run.dir.join(TRAIN_JSON), &json)?;
    run.publish()?;
    Ok(summary)
}

/// Trains step `step` of the network (a fresh fit, or the rest of an interrupted one with
/// `resume`); None when a resumed step had already finished and its best weights were loaded.
fn train_step(
    opts: &TrainOptions,
    run_dir: &Path,
    step: usize,
    model: &dyn Module,
    prepared: &Prepared,
    meta: &BTreeMap<String, String>,
    say: &dyn Fn(&str),
) -> Result<Option<nn::train::History>> {
    let config = &opts.config;
    let dir = step_dir(run_dir, step, config);
    let per_epoch = prepared.train.len().div_ceil(config.training.batch_size) as u64;
    let total = per_epoch * config.training.epochs as u64;
    let cfg = TrainConfig {
        epochs: config.training.epochs,
        batch_size: config.training.batch_size,
        seed: config.training.seed.wrapping_add(step as u64),
        patience: config.training.patience,
        keep_best: true,
        schedule: schedule(&config.training, total),
        dtype: DType::F32,
        drop_last: false,
        progress: opts.progress,
        dir: Some(dir.clone()),
        standardizer: Some(prepared.standardizer.clone()),
        meta: meta.clone(),
        guard: Default::default(),
    };
    let trainer = Trainer::new(cfg, &opts.device);
    let mut opt = Adam::new(model.params(), config.training.lr);
    let objective = objective(config, step);
    let interrupt = opts.interrupt_after;
    let hook = move |r: &nn::EpochRecord| {
        if interrupt.is_some_and(|n| r.epoch + 1 >= n) {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    // RunDir::open checked every last.h5 of a resumed run; one that is missing is a step that
    // had not started.
    let last = dir.join(LAST);
    let done = if opts.resume && last.exists() {
        Checkpoint::read_header(&last).map_err(Error::from)?.trainer.map(|t| t.epochs_done)
    } else {
        None
    };
    let h = match done {
        Some(d) if opts.resume && (d >= config.training.epochs) => {
            // This step finished before the interruption: take its best weights and go on.
            Checkpoint::load(dir.join(BEST), model, None)?;
            say(&format!("step {} was complete: continuing from {}\n", step + 1, dir.join(BEST).display()));
            return Ok(None);
        }
        Some(_) if opts.resume => {
            trainer.resume(&dir, model, &mut opt, &prepared.train, Some(&prepared.val), &objective, hook)?
        }
        _ => trainer.fit(model, &mut opt, &prepared.train, Some(&prepared.val), &objective, hook)?,
    };
    if h.stopped_early && interrupt.is_some() {
        return Err(Error::invalid(format!("interrupted after {} epochs (as asked)", h.epochs.len())));
    }
    Ok(Some(h))
}

/// The learning rate over `total` optimizer steps: a cosine decay from `lr` to
/// `lr * final_lr_fraction`, after a warm-up over `warmup_fraction` of the steps when there is
/// one (nn's one-cycle schedule: a cosine from lr/25 up to lr, then the same decay).
fn schedule(t: &super::config::TrainingConfig, total: u64) -> Schedule {
    let min_lr = t.lr * t.final_lr_fraction;
    if t.warmup_fraction > 0.0 {
        const DIV: f64 = 25.0;
        // OneCycle ends at lr / (div * final_div); final_lr_fraction 0 ends at 0.
        let final_div = if t.final_lr_fraction > 0.0 { 1.0 / (DIV * t.final_lr_fraction) } else { f64::INFINITY };
        Schedule::OneCycle { total, pct_start: t.warmup_fraction, div: DIV, final_div }
    } else {
        Schedule::Cosine { total, min_lr }
    }
}
