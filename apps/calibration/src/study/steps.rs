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

#[allow(clippy::too_many_arguments)]
pub(super) fn generate_step(
    steps: &mut Steps,
    name: &str,
    what: &str,
    path: &Path,
    n: usize,
    seed: u64,
    sample: Sample,
    quiet: bool,
) -> Result<String> {
    let config = GeneratorConfig::new(n, seed, sample);
    let key = key_of(&(GENERATOR_VERSION, n, seed, format!("{sample:?}")))?;
    steps.run(name, what, &key, &[path.to_path_buf()], || {
        generate(&config, !quiet)?.write_hdf5(path)?;
        Ok::<_, Error>(())
    })?;
    Ok(key)
}

/// A trained network and the key of its training step.
#[derive(Clone)]
pub(super) struct Trained {
    pub(super) config: ModelConfig,
    pub(super) dir: PathBuf,
    pub(super) key: String,
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
    /// hidden units over the batch size (a rough count; only the order matters). A training on
    /// the whole file counts as 10^9 clusters, more than any scan point's `max_train`.
    fn cost(&self) -> f64 {
        let t = &self.config.training;
        let seen = t.epochs as f64 * t.max_train.map_or(1e9, |n| n as f64);
        let members = match self.config.method {
            crate::model::Method::Re => self.config.ensemble.members as f64,
            crate::model::Method::Bnn => 2.0,
            _ => 1.0,
        };
        let width: usize = self.config.network.hidden.iter().sum();
        seen * members * width as f64 / t.batch_size.max(1) as f64
    }
}

/// Trains every plan on `data` (whose step key is `data_key`), the independent trainings side
/// by side on the cores (`rundir::parallel`; `opts.jobs` caps how many at once), each with its
/// own bar (nn::progress draws them together); the trainer's own summary lines only when one
/// training runs at a time.
pub(super) fn train_all(
    steps: &mut Steps,
    opts: &StudyOptions,
    plans: Vec<TrainPlan>,
    (data, data_key): (&DataSource, &str),
) -> Result<Vec<Trained>> {
    let lanes = rundir::lane_plan(plans.len(), opts.jobs);
    let alone = lanes.0 == 1;
    let mut keys = Vec::new();
    let mut jobs = Vec::new();
    for plan in &plans {
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
        jobs.push(rundir::Job {
            name: plan.name.clone(),
            what: plan.what.clone(),
            key: key.clone(),
            outputs: vec![plan.dir.join(nn::train::BEST)],
            cost: plan.cost(),
            work: Box::new(move || {
                // A half-finished or outdated run is started again: the step key says it is stale.
                let _ = std::fs::remove_dir_all(&t.out);
                train(&t, &|s: &str| {
                    if talk {
                        eprint!("      {s}")
                    }
                })
            }),
        });
        keys.push(key);
    }
    let summaries = steps.run_each(jobs, lanes)?;
    Ok(plans
        .into_iter()
        .zip(keys)
        .zip(summaries)
        .map(|((plan, key), summary)| Trained { config: plan.config, dir: plan.dir, key, summary })
        .collect())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn predict_step(
    steps: &mut Steps,
    name: &str,
    what: &str,
    model: &Trained,
    test: &DataSource,
    test_key: &str,
    out: &Path,
    opts: &StudyOptions,
) -> Result<(String, usize)> {
    let key = key_of(&(&model.key, test_key))?;
    let device = opts.device.clone();
    let draws = steps.run(name, what, &key, &[out.to_path_buf()], || {
        let args = PredictArgs {
            model: model.dir.clone(),
            data: test.clone(),
            draws: None,
            batch_size: 8192,
            device,
            progress: !opts.quiet,
            keep_all: false,
        };
        let (p, s) = predict(&args, &|_| {})?;
        p.write(out)?;
        Ok::<_, Error>(s.draws)
    })?;
    Ok((key, draws))
}

/// `calibration explain` on the predictions of the test sample at `predictions` (made by the
/// step keyed `predictions_key`), into `dir`; returns what the study page shows of it.
pub(super) fn explain_step(
    steps: &mut Steps,
    test: (&DataSource, &str),
    predictions: (&Path, &str),
    dir: &Path,
) -> Result<ExplainSummary> {
    let key = key_of(&(EXPLAIN_VERSION, test.1, predictions.1, DEFAULT_QUANTILE))?;
    let what = "explain the BNN's uncertainty from the features alone (calibration explain)";
    steps.run("explain", what, &key, &output::output_paths(dir), || {
        let opts = ExplainOptions {
            data: test.0.clone(),
            predictions: predictions.0.to_path_buf(),
            quantile: DEFAULT_QUANTILE,
        };
        let explanation = explain(&opts)?;
        output::write(&explanation, dir)?;
        Ok::<_, Error>(explanation.summary())
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
    fn tag(self) -> &'static str {
        match self {
            ScanNetwork::Bnn => "scan",
            ScanNetwork::Re => "scan-re",
        }
    }

    fn label(self) -> &'static str {
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

/// Predicts `test` with every scan point's network (`trained`, one per size, in order).
pub(super) fn scan_points(
    steps: &mut Steps,
    opts: &StudyOptions,
    network: ScanNetwork,
    trained: Vec<(usize, Trained, bool)>,
    test: (&DataSource, &str),
) -> Result<Vec<ScanRun>> {
    let (tag, label) = (network.tag(), network.label());
    let mut points = Vec::new();
    for (n, t, is_main) in trained {
        if is_main {
            say_to(opts, &format!("      {tag}: N = {n} is the main {label} ({})\n", t.dir.display()));
        }
        let path = opts.out.join("predictions").join(format!("{tag}-{n}.h5"));
        predict_step(
            steps,
            &format!("predict-{tag}-{n}"),
            &format!("{tag}: predict with the N = {n} {label}"),
            &t,
            test.0,
            test.1,
            &path,
            opts,
        )?;
        points.push(ScanRun { n, predictions: path, seconds: t.summary.seconds, n_train: t.summary.n_train });
    }
    Ok(points)
}

pub(super) fn say_to(opts: &StudyOptions, s: &str) {
    if !opts.quiet {
        eprint!("{s}");
    }
}
