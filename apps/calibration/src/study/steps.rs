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
pub(super) struct Trained {
    pub(super) config: ModelConfig,
    pub(super) dir: PathBuf,
    pub(super) key: String,
    pub(super) summary: TrainSummary,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn train_step(
    steps: &mut Steps,
    name: &str,
    what: &str,
    config: &ModelConfig,
    data: &DataSource,
    data_key: &str,
    dir: &Path,
    opts: &StudyOptions,
) -> Result<Trained> {
    let key = key_of(&(TRAINING_VERSION, data_key, config))?;
    let device = opts.device.clone();
    let summary = steps.run(name, what, &key, &[dir.join(nn::train::BEST)], || {
        // A half-finished or outdated run is started again: the step key says it is stale.
        let _ = std::fs::remove_dir_all(dir);
        let t = TrainOptions {
            data: data.clone(),
            out: dir.to_path_buf(),
            config: config.clone(),
            device,
            resume: false,
            restart: false,
            progress: !opts.quiet,
            interrupt_after: None,
        };
        train(&t, &|s: &str| {
            if !opts.quiet {
                eprint!("      {s}")
            }
        })
    })?;
    Ok(Trained { config: config.clone(), dir: dir.to_path_buf(), key, summary })
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

/// Trains the network `base` (the main BNN's or RE's configuration) for every size of `sizes`
/// on the first N training clusters and predicts `test`. A size whose configuration is the main
/// network's (`main`) reuses its training.
#[allow(clippy::too_many_arguments)]
pub(super) fn scan_points(
    steps: &mut Steps,
    opts: &StudyOptions,
    (network, base, sizes): (ScanNetwork, &ModelConfig, &[usize]),
    main: Option<&Trained>,
    train: (&DataSource, &str),
    test: (&DataSource, &str),
) -> Result<Vec<ScanRun>> {
    let p = &opts.preset;
    let out = &opts.out;
    let (tag, label) = (network.tag(), network.label());
    let base = main.map_or(base, |m| &m.config);
    let mut points = Vec::new();
    for &n in sizes {
        let config = scan_config(base, n, p);
        let t = if let Some(main) = main.filter(|m| m.config == config) {
            say_to(opts, &format!("      {tag}: N = {n} is the main {label} ({})\n", main.dir.display()));
            Trained { config, dir: main.dir.clone(), key: main.key.clone(), summary: main.summary.clone() }
        } else {
            let what = format!("{tag}: train a {label} on {n} clusters ({} epochs)", config.training.epochs);
            train_step(
                steps,
                &format!("train-{tag}-{n}"),
                &what,
                &config,
                train.0,
                train.1,
                &out.join("models").join(format!("{tag}-{n}")),
                opts,
            )?
        };
        let path = out.join("predictions").join(format!("{tag}-{n}.h5"));
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
