//! `genweights flow train`: the features of a file, a seeded training/validation split, the
//! standardisation fitted on the training rows, and the flow trained by `nn`'s trainer on the
//! negative log-likelihood (plus KL/N for a Bayesian INN), keeping its best validation epoch.

use super::{MODEL_FILE, SUMMARY_FILE};
use crate::error::{invalid, Result};
use crate::features::{classifier_inputs, FeatureMatrix, FeatureOptions};
use crate::io::{read_sample, Kind, ReadOptions};
use crate::model::{split_rows, Split};
use nn::train::{Control, TrainConfig, Trainer};
use nn::{
    flow_spec, Activation, Adam, Coupling, Dataset, FlowConfig, Likelihood, Mixing, Module, Objective, Regulariser,
    Schedule, Standardizer, Transform, VariationalConfig,
};
use serde::{Deserialize, Serialize};
use sigmagrad::{DType, Device};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to train and how (serialised into `flow.json` and the checkpoint's metadata).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowTrainConfig {
    pub blocks: usize,
    pub coupling: Coupling,
    /// Permutations or rotations between the blocks (absent in a `flow.json` written before
    /// rotations: permutations).
    #[serde(default)]
    pub mixing: Mixing,
    pub hidden: Vec<usize>,
    /// Variational coupling subnetworks (a Bayesian INN), with this many weight draws for the
    /// densities and samples.
    pub bayesian: bool,
    pub draws: usize,
    pub epochs: usize,
    pub patience: Option<usize>,
    pub batch_size: usize,
    pub lr: f64,
    pub val_fraction: f64,
    pub seed: u64,
}

impl Default for FlowTrainConfig {
    fn default() -> Self {
        FlowTrainConfig {
            blocks: 6,
            coupling: Coupling::Affine { clamp: 2.0 },
            mixing: Mixing::Permutation,
            hidden: vec![64, 64],
            bayesian: false,
            draws: 10,
            epochs: 30,
            patience: Some(6),
            batch_size: 512,
            lr: 2e-3,
            val_fraction: 0.1,
            seed: 1,
        }
    }
}

impl FlowTrainConfig {
    /// The spline of `--coupling spline`: 8 bins on ±4 standard deviations of the standardized
    /// features (a wider interval leaves most bins empty, a narrower one most events in the tails).
    pub const SPLINE: Coupling = Coupling::Spline { bins: 8, bound: 4.0 };

    pub fn validate(&self) -> Result<()> {
        let ok = self.blocks > 0
            && self.epochs > 0
            && self.batch_size > 0
            && self.draws > 0
            && self.lr > 0.0
            && self.lr.is_finite()
            && (0.0..0.9).contains(&self.val_fraction)
            && !self.hidden.is_empty()
            && !self.hidden.contains(&0);
        if !ok {
            return Err(invalid(format!("the flow's training settings make no sense: {self:?}")));
        }
        Ok(())
    }

    fn flow_config(&self) -> FlowConfig {
        let variational =
            self.bayesian.then(|| VariationalConfig { logsig2_range: (-11.0, 11.0), ..VariationalConfig::default() });
        let (blocks, coupling, mixing) = (self.blocks, self.coupling, self.mixing);
        FlowConfig { blocks, coupling, permutation_seed: self.seed, variational, mixing }
    }
}

/// What `flow train` did (also written to `flow.json` in the model directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowTrained {
    pub data: PathBuf,
    pub kind: Kind,
    pub columns: Vec<String>,
    pub config: FlowTrainConfig,
    pub model: String,
    pub parameters: usize,
    pub train_rows: usize,
    pub val_rows: usize,
    pub epochs_run: usize,
    pub best_epoch: Option<usize>,
    /// The best validation loss: −ln p per event in standardized units (plus KL/N for a
    /// Bayesian INN)...
    pub best_val_loss: Option<f64>,
    /// ...and the same −ln p in the file's own units, −ln p(x) = −ln p(z) + Σ ln std.
    pub best_val_nll: Option<f64>,
    pub train_seconds: f64,
}

/// The feature matrix of `data` and the layout it was read in.
pub fn features_of(data: &Path, kind: Option<Kind>) -> Result<(FeatureMatrix, Kind)> {
    let sample = read_sample(data, &ReadOptions { kind, ..Default::default() })?;
    let features = classifier_inputs(&sample, &FeatureOptions::default())?;
    Ok((features, sample.kind()))
}

/// Refuses a column the flow cannot model: one value everywhere has no density.
fn check_columns(data: &Path, m: &FeatureMatrix) -> Result<()> {
    if m.rows < 20 {
        return Err(invalid(format!("{}: {} events are too few to train a flow on", data.display(), m.rows)));
    }
    for j in 0..m.width() {
        let first = m.values[j];
        if (0..m.rows).all(|i| m.values[i * m.width() + j] == first) {
            return Err(invalid(format!(
                "{}: feature '{}' is {first} in every event: a flow needs a spread in every column",
                data.display(),
                m.columns[j].name
            )));
        }
    }
    Ok(())
}

fn rows_where(m: &FeatureMatrix, split: &[Split], which: Split) -> Vec<f64> {
    (0..m.rows).filter(|&i| split[i] == which).flat_map(|i| m.row(i).to_vec()).collect()
}

fn model_error(what: &str, e: impl std::fmt::Display) -> crate::Error {
    invalid(format!("{what}: {e}"))
}

/// Trains a flow on the features of `data` into the directory `out`.
pub fn train(
    data: &Path,
    kind: Option<Kind>,
    out: &Path,
    config: &FlowTrainConfig,
    device: &Device,
) -> Result<FlowTrained> {
    config.validate()?;
    let (m, kind) = features_of(data, kind)?;
    check_columns(data, &m)?;
    let d = m.width();
    let split = split_rows(m.rows, config.val_fraction, 0.0, config.seed ^ 0xF1_0E);
    let (train_x, val_x) = (rows_where(&m, &split, Split::Train), rows_where(&m, &split, Split::Validation));
    let standardizer = Standardizer::fit_rows(&train_x, d, &vec![Transform::None; d])
        .map_err(|e| model_error("standardizing the features", e))?;
    let set = |x: &[f64]| -> Result<Dataset> {
        let z = standardizer.transform_rows(x).map_err(|e| model_error("standardizing", e))?;
        let n = z.len() / d;
        Dataset::new(z, d, vec![0.0; n], 1).map_err(|e| model_error("the training data", e))
    };
    let (train_set, val_set) = (set(&train_x)?, set(&val_x)?);
    let spec = flow_spec(d, &config.hidden, Activation::Relu, config.flow_config());
    let flow = spec.build(DType::F32, device, config.seed).map_err(|e| model_error("building the flow", e))?;
    let columns: Vec<String> = m.columns.iter().map(|c| c.name.clone()).collect();
    let meta = BTreeMap::from([
        ("app".to_string(), "genweights flow".to_string()),
        ("kind".to_string(), kind.name().to_string()),
        ("columns".to_string(), serde_json::to_string(&columns).map_err(|e| invalid(e.to_string()))?),
        ("draws".to_string(), if config.bayesian { config.draws } else { 1 }.to_string()),
    ]);
    let steps = train_set.len().div_ceil(config.batch_size) as u64 * config.epochs as u64;
    let cfg = TrainConfig {
        epochs: config.epochs,
        batch_size: config.batch_size,
        seed: config.seed,
        patience: config.patience,
        schedule: Schedule::Cosine { total: steps, min_lr: config.lr * 0.02 },
        dir: Some(out.to_path_buf()),
        standardizer: Some(standardizer.clone()),
        meta,
        ..TrainConfig::default()
    };
    let regulariser = if config.bayesian { Regulariser::Kl } else { Regulariser::None };
    let objective = Objective::new(Likelihood::Density, regulariser);
    let mut opt = Adam::new(flow.params(), config.lr);
    let start = Instant::now();
    let history = Trainer::new(cfg, device)
        .fit(flow.as_ref(), &mut opt, &train_set, Some(&val_set), &objective, |_| Control::Continue)
        .map_err(|e| model_error("training the flow", e))?;
    let log_std: f64 = standardizer.std.iter().map(|s| s.ln()).sum();
    let trained = FlowTrained {
        data: data.to_path_buf(),
        kind,
        columns,
        config: config.clone(),
        model: spec.describe(),
        parameters: flow.num_params(),
        train_rows: train_set.len(),
        val_rows: val_set.len(),
        epochs_run: history.epochs.len(),
        best_epoch: history.best_epoch,
        best_val_loss: history.best_val_loss,
        best_val_nll: history.best_val_loss.map(|l| l + log_std),
        train_seconds: start.elapsed().as_secs_f64(),
    };
    let text = serde_json::to_string_pretty(&trained).map_err(|e| invalid(e.to_string()))?;
    crate::io::write_text(&out.join(SUMMARY_FILE), &text)?;
    debug_assert!(out.join(MODEL_FILE).is_file());
    Ok(trained)
}
