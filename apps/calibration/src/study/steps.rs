//! The steps of a study run: generating a sample, training a network, predicting, and the
//! training-size scan's points. Each is a [`rundir::Steps`] step keyed by everything its output
//! depends on, so a re-run reuses what did not change.

use super::preset::StudyPreset;
use crate::error::{Error, Result};
use crate::explain::{explain, output, ExplainOptions, ExplainSummary, DEFAULT_QUANTILE};
use crate::generator::{generate, GeneratorConfig, Sample};
use crate::io::DataSource;
use crate::model::predict::{predict, PredictArgs};
use crate::model::train::{train, TrainOptions, TrainSummary};
use crate::model::ModelConfig;
use rundir::Steps;
use serde::{Deserialize, Serialize};
use sigmagrad::Device;
use std::path::{Path, PathBuf};

/// A step's key (see [`rundir::key_of`]), as this app's error when the parts cannot be encoded.
pub(super) fn key_of<T: serde::Serialize>(parts: &T) -> Result<String> {
    rundir::key_of(parts).ok_or_else(|| Error::invalid("cannot encode a study step's key (a bug: please report it)"))
}

/// Bump when the generator's output changes, so old samples are regenerated.
const GENERATOR_VERSION: u32 = 1;

/// Bump when training or prediction changes what they write for the same configuration (2: the
/// validation set of a `max_train` run is in proportion to it), so old networks are retrained.
const TRAINING_VERSION: u32 = 2;

/// Bump when `calibration explain` changes what it finds for the same predictions.
const EXPLAIN_VERSION: u32 = 1;

pub struct StudyOptions {
    pub out: PathBuf,
    pub preset: StudyPreset,
    pub device: Device,
    /// Recompute every step.
    pub fresh: bool,
    pub quiet: bool,
    /// How many trainings may run at once (None: as many as the cores, one core each; see
    /// [`train_all`]).
    pub jobs: Option<usize>,
}

/// What a step of the study made, as its record keeps it: a training's summary, a prediction's
/// number of draws, what the page shows of an explanation, or files alone (a sample, the LCW
/// tables). Untagged, so that every record reads as it was written when each kind of step had
/// its own result type (the two summaries share no field).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub(super) enum Made {
    Trained(Box<TrainSummary>),
    Explained(Box<ExplainSummary>),
    Predicted(usize),
    Written,
}

/// A step of the study for [`rundir::Steps::run_each`] (or [`run_now`]).
pub(super) type StepJob<'a> = rundir::Job<'a, Made, Error>;

/// Runs `job` at once, on the current pool.
pub(super) fn run_now(steps: &mut Steps, job: StepJob) -> Result<Made> {
    steps.run(&job.name, &job.what, &job.key, &job.outputs, job.work)
}

/// Generating `n` clusters of `sample` with `seed` into `path`.
pub(super) fn generate_job<'a>(
    (name, what): (&str, String),
    path: &Path,
    (n, seed, sample): (usize, u64, Sample),
    quiet: bool,
) -> Result<StepJob<'a>> {
    let config = GeneratorConfig::new(n, seed, sample);
    let key = key_of(&(GENERATOR_VERSION, n, seed, format!("{sample:?}")))?;
    let path = path.to_path_buf();
    Ok(rundir::Job {
        name: name.into(),
        what,
        key,
        outputs: vec![path.clone()],
        // Beside trainings, whose costs are in the millions: a sample is made first only
        // when nothing else is ready.
        cost: n as f64 * 1e-3,
        after: Vec::new(),
        work: Box::new(move || {
            generate(&config, !quiet)?.write_hdf5(&path)?;
            Ok(Made::Written)
        }),
    })
}

/// A trained network: its configuration, run directory and training summary.
#[derive(Clone)]
pub(super) struct Trained {
    pub(super) config: ModelConfig,
    pub(super) dir: PathBuf,
    pub(super) summary: TrainSummary,
}

/// A network the study trains: its step's name and description, its configuration and its run
/// directory.
pub(super) struct TrainPlan {
    pub(super) name: String,
    pub(super) what: String,
    pub(super) config: ModelConfig,
    pub(super) dir: PathBuf,
}

impl TrainPlan {
    /// Relative cost, to start the longest first: epochs times clusters times members times
    /// hidden units over the batch size (a rough count; only the order matters). `rows` is at
    /// least the training file's clusters (the study knows how many it generated); a training
    /// on the whole file counts as that many, or as 10^9 when it is not known. (It counted as
    /// 10^9 always, which started the quick study's DNNs first and its ensemble, the longest
    /// training, only after them: 19 s later on the clock.)
    fn cost(&self, rows: Option<usize>) -> f64 {
        let t = &self.config.training;
        let all = rows.map_or(1e9, |n| n as f64);
        let seen = t.epochs as f64 * t.max_train.map_or(all, |n| all.min(n as f64));
        let members = match self.config.method {
            crate::model::Method::Re => self.config.ensemble.members as f64,
            crate::model::Method::Bnn => 2.0,
            _ => 1.0,
        };
        let width: usize = self.config.network.hidden.iter().sum();
        seen * members * width as f64 / t.batch_size.max(1) as f64
    }
}

/// Training `plan` on `data` (whose step key is `data_key`, and which holds at most `rows`
/// clusters when that is known); `alone` when no other step runs beside it, so that the
/// trainer's own summary lines may be printed. The trainer's bar carries the run directory's
/// name, so side-by-side trainings keep theirs apart (nn::progress draws them together).
pub(super) fn train_job<'a>(
    plan: &TrainPlan,
    (data, data_key, rows): (&DataSource, &str, Option<usize>),
    opts: &StudyOptions,
    alone: bool,
) -> Result<StepJob<'a>> {
    let key = key_of(&(TRAINING_VERSION, data_key, &plan.config))?;
    let t = TrainOptions {
        data: data.clone(),
        out: plan.dir.clone(),
        config: plan.config.clone(),
        device: opts.device.clone(),
        resume: false,
        restart: false,
        progress: !opts.quiet,
        interrupt_after: None,
    };
    let talk = !opts.quiet && alone;
    Ok(rundir::Job {
        name: plan.name.clone(),
        what: plan.what.clone(),
        key,
        outputs: vec![plan.dir.join(nn::train::BEST)],
        cost: plan.cost(rows),
        after: Vec::new(),
        work: Box::new(move || {
            // A half-finished or outdated run is started again: the step key says it is stale.
            let _ = std::fs::remove_dir_all(&t.out);
            let summary = train(&t, &|s: &str| {
                if talk {
                    eprint!("      {s}")
                }
            })?;
            Ok(Made::Trained(Box::new(summary)))
        }),
    })
}

/// Predicting `test` (whose step key is `test_key`) with the network of `model` (its run
/// directory and the key of its training step) into `out`.
pub(super) fn predict_job<'a>(
    (name, what): (String, String),
    (model_dir, model_key): (&Path, &str),
    (test, test_key): (&DataSource, &str),
    out: &Path,
    opts: &StudyOptions,
) -> Result<StepJob<'a>> {
    let key = key_of(&(model_key, test_key))?;
    let args = PredictArgs {
        model: model_dir.to_path_buf(),
        data: test.clone(),
        draws: None,
        batch_size: 8192,
        device: opts.device.clone(),
        progress: !opts.quiet,
        keep_all: false,
    };
    let out = out.to_path_buf();
    Ok(rundir::Job {
        name,
        what,
        key,
        outputs: vec![out.clone()],
        // Less than any training or sample: a lane predicts when nothing else is ready.
        cost: 1.0,
        after: Vec::new(),
        work: Box::new(move || {
            let (p, s) = predict(&args, &|_| {})?;
            p.write(&out)?;
            Ok(Made::Predicted(s.draws))
        }),
    })
}

/// `calibration explain` on the predictions of the test sample at `predictions` (made by the
/// step keyed `predictions_key`), into `dir`; its result is what the study page shows of it.
pub(super) fn explain_job<'a>(
    (test, test_key): (&DataSource, &str),
    (predictions, predictions_key): (&Path, &str),
    dir: &Path,
) -> Result<StepJob<'a>> {
    let opts =
        ExplainOptions { data: test.clone(), predictions: predictions.to_path_buf(), quantile: DEFAULT_QUANTILE };
    let dir = dir.to_path_buf();
    Ok(rundir::Job {
        name: "explain".into(),
        what: "explain the BNN's uncertainty from the features alone (calibration explain)".into(),
        key: key_of(&(EXPLAIN_VERSION, test_key, predictions_key, DEFAULT_QUANTILE))?,
        outputs: output::output_paths(&dir),
        cost: 1.0,
        after: Vec::new(),
        work: Box::new(move || {
            let explanation = explain(&opts)?;
            output::write(&explanation, &dir)?;
            Ok(Made::Explained(Box::new(explanation.summary())))
        }),
    })
}

/// Epochs for a scan point: about `preset.scan_steps` optimizer steps, at most `scan_max_epochs`.
pub(super) fn scan_config(base: &ModelConfig, n: usize, preset: &StudyPreset) -> ModelConfig {
    let mut c = base.clone();
    if base.training.max_train == Some(n) {
        return c;
    }
    let per_epoch = n.div_ceil(c.training.batch_size).max(1);
    c.training.epochs = preset.scan_steps.div_ceil(per_epoch).clamp(1, preset.scan_max_epochs);
    c.training.max_train = Some(n);
    c
}

/// One trained point of the scan: its prediction file, training time and training-set size.
#[derive(Debug, Clone)]
pub(super) struct ScanRun {
    pub n: usize,
    pub predictions: PathBuf,
    pub seconds: f64,
    pub n_train: usize,
}

/// Which network a scan trains: the BNN (run directories `scan-N`, as before the RE had a scan)
/// or the repulsive ensemble (`scan-re-N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ScanNetwork {
    Bnn,
    Re,
}

impl ScanNetwork {
    pub(super) fn tag(self) -> &'static str {
        match self {
            ScanNetwork::Bnn => "scan",
            ScanNetwork::Re => "scan-re",
        }
    }

    pub(super) fn label(self) -> &'static str {
        match self {
            ScanNetwork::Bnn => "BNN",
            ScanNetwork::Re => "RE",
        }
    }
}

/// One size of a scan: the main network's training when its configuration is the scan's at
/// that size, or a training of its own.
pub(super) enum ScanPoint {
    Main(usize),
    Own(usize, Box<TrainPlan>),
}

/// The scan of the network `base` (the main BNN's or RE's configuration) over `sizes`: a network
/// on the first N training clusters for every size.
pub(super) fn scan_plans(
    opts: &StudyOptions,
    (network, base, sizes): (ScanNetwork, &ModelConfig, &[usize]),
    has_main: bool,
) -> Vec<ScanPoint> {
    let (tag, label) = (network.tag(), network.label());
    sizes
        .iter()
        .map(|&n| {
            let config = scan_config(base, n, &opts.preset);
            if has_main && config == *base {
                return ScanPoint::Main(n);
            }
            let what = format!("{tag}: train a {label} on {n} clusters ({} epochs)", config.training.epochs);
            let dir = opts.out.join("models").join(format!("{tag}-{n}"));
            ScanPoint::Own(n, Box::new(TrainPlan { name: format!("train-{tag}-{n}"), what, config, dir }))
        })
        .collect()
}

pub(super) fn say_to(opts: &StudyOptions, s: &str) {
    if !opts.quiet {
        eprint!("{s}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::study::preset::StudyPresetName;

    /// The quick study's trainings by expected cost, with the file's size known or not.
    fn order(rows: Option<usize>) -> Vec<String> {
        let p = StudyPreset::new(StudyPresetName::Quick);
        let plan = |config: &ModelConfig| TrainPlan {
            name: config.method.name().into(),
            what: String::new(),
            config: config.clone(),
            dir: PathBuf::new(),
        };
        let mut plans: Vec<TrainPlan> = p.networks().into_iter().map(plan).collect();
        plans.extend(
            p.scan_sizes.iter().map(|&n| TrainPlan { name: format!("scan-{n}"), ..plan(&scan_config(&p.bnn, n, &p)) }),
        );
        plans.sort_by(|a, b| b.cost(rows).total_cmp(&a.cost(rows)));
        plans.into_iter().map(|t| t.name).collect()
    }

    #[test]
    fn the_ensemble_starts_first_and_the_dnns_after_the_bnns() {
        let p = StudyPreset::new(StudyPresetName::Quick);
        let known = order(Some(p.generated_train));
        assert_eq!(known[..2], ["re", "bnn"], "{known:?}");
        let dnn = known.iter().position(|n| n == "dnn").expect("the DNN is planned");
        assert!(known[..dnn].iter().any(|n| n.starts_with("scan-")), "{known:?}");
        // Without the size, a training on the whole file is taken for the longest.
        assert_eq!(order(None)[0], "dnn");
    }
}
