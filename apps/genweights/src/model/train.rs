//! Training: standardisation on the training events of both samples together, the batch
//! sources (balanced two-sample batches, or the pooled events with their ln(N_gen/N_truth)
//! offset), and the `nn` trainer that keeps the best validation epoch.

use super::{model_error, Balance, ClassifierConfig, PairSplit, TrainTarget};
use crate::error::{invalid, Result};
use crate::features::FeatureMatrix;
use nn::train::{Control, TrainConfig, Trainer};
use nn::{
    Adam, BatchSource, Dataset, History, Likelihood, ModelSpec, Module, Objective, Regulariser, Schedule, Standardizer,
    Transform, TwoSample,
};
use sigmagrad::DType;
use std::collections::BTreeMap;
use std::time::Instant;

/// A trained network and what prediction needs of its training.
pub struct Trained {
    pub spec: ModelSpec,
    pub model: Box<dyn Module>,
    pub standardizer: Standardizer,
    /// ln(N_gen/N_truth) added to every logit (0 with balanced batches).
    pub log_w_offset: f64,
    pub history: History,
    pub train_seconds: f64,
    pub features: Vec<String>,
}

fn pick(m: &FeatureMatrix, rows: &[usize]) -> Vec<f64> {
    let d = m.width();
    let mut out = Vec::with_capacity(rows.len() * d);
    for &r in rows {
        out.extend_from_slice(m.row(r));
    }
    out
}

fn dataset(z: Vec<f64>, d: usize, label: f64) -> Result<Dataset> {
    let n = z.len() / d.max(1);
    Dataset::new(z, d, vec![label; n], 1).map_err(|e| model_error("the training data", e))
}

/// The standardized training and validation events of both samples.
struct Standardized {
    standardizer: Standardizer,
    truth_train: Vec<f64>,
    generated_train: Vec<f64>,
    truth_val: Vec<f64>,
    generated_val: Vec<f64>,
}

/// Standardisation fitted on the training events of both samples together.
fn standardize(truth: &FeatureMatrix, generated: &FeatureMatrix, split: &PairSplit) -> Result<Standardized> {
    let d = truth.width();
    let (xt_train, xg_train) = (pick(truth, &split.truth_train), pick(generated, &split.generated_train));
    let mut both = xt_train.clone();
    both.extend_from_slice(&xg_train);
    let standardizer = Standardizer::fit_rows(&both, d, &vec![Transform::None; d])
        .map_err(|e| model_error("cannot standardize the classifier inputs", e))?;
    drop(both);
    let z = |x: &[f64]| standardizer.transform_rows(x).map_err(|e| model_error("standardizing", e));
    let (truth_train, generated_train) = (z(&xt_train)?, z(&xg_train)?);
    let (truth_val, generated_val) = (z(&pick(truth, &split.truth_val))?, z(&pick(generated, &split.generated_val))?);
    Ok(Standardized { standardizer, truth_train, generated_train, truth_val, generated_val })
}

type Sources = (f64, Box<dyn BatchSource>, Box<dyn BatchSource>);

/// The training and validation batch sources and the logit's offset to ln w.
fn sources(z: Standardized, d: usize, balance: Balance, split: &PairSplit) -> Result<Sources> {
    Ok(match balance {
        Balance::Batches => (
            0.0,
            Box::new(
                TwoSample::new(dataset(z.truth_train, d, 1.0)?, dataset(z.generated_train, d, 0.0)?)
                    .map_err(|e| model_error("the training samples", e))?,
            ),
            Box::new(
                TwoSample::new(dataset(z.truth_val, d, 1.0)?, dataset(z.generated_val, d, 0.0)?)
                    .map_err(|e| model_error("the validation samples", e))?,
            ),
        ),
        Balance::Pooled => {
            let pool = |a: Vec<f64>, b: Vec<f64>| -> Result<Dataset> {
                let (na, nb) = (a.len() / d, b.len() / d);
                let mut x = a;
                x.extend(b);
                let y: Vec<f64> = std::iter::repeat_n(1.0, na).chain(std::iter::repeat_n(0.0, nb)).collect();
                Dataset::new(x, d, y, 1).map_err(|e| model_error("the pooled samples", e))
            };
            (
                (split.generated_train.len() as f64 / split.truth_train.len() as f64).ln(),
                Box::new(pool(z.truth_train, z.generated_train)?),
                Box::new(pool(z.truth_val, z.generated_val)?),
            )
        }
    })
}

/// The trainer's configuration: cosine decay over the run's steps, the best epoch kept, and
/// the model's metadata (features and classifier configuration) in its checkpoints.
fn train_config(
    config: &ClassifierConfig,
    target: &TrainTarget,
    split: &PairSplit,
    standardizer: &Standardizer,
    features: &[String],
) -> Result<TrainConfig> {
    let (nt, ng) = (split.truth_train.len(), split.generated_train.len());
    let steps_per_epoch = match config.balance {
        Balance::Batches => nt.min(ng).div_ceil(config.batch_size),
        Balance::Pooled => (nt + ng).div_ceil(config.batch_size),
    } as u64;
    let meta = BTreeMap::from([
        ("app".to_string(), "genweights".to_string()),
        ("features".to_string(), serde_json::to_string(features).map_err(|e| invalid(e.to_string()))?),
        ("classifier".to_string(), serde_json::to_string(config).map_err(|e| invalid(e.to_string()))?),
    ]);
    if let Some(dir) = &target.dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| invalid(format!("{}: cannot create the directory: {e}", dir.display())))?;
    }
    Ok(TrainConfig {
        epochs: config.epochs,
        batch_size: config.batch_size,
        seed: config.seed,
        patience: config.patience,
        keep_best: true,
        schedule: Schedule::Cosine {
            total: steps_per_epoch * config.epochs as u64,
            min_lr: config.lr * config.final_lr_fraction,
        },
        dtype: DType::F32,
        drop_last: false,
        progress: target.progress,
        dir: target.dir.clone(),
        standardizer: Some(standardizer.clone()),
        meta,
        guard: Default::default(),
    })
}

/// Trains the network on the training split, choosing the epoch on the validation split.
pub fn train(
    truth: &FeatureMatrix,
    generated: &FeatureMatrix,
    split: &PairSplit,
    config: &ClassifierConfig,
    target: &TrainTarget,
) -> Result<Trained> {
    let d = truth.width();
    let z = standardize(truth, generated, split)?;
    let standardizer = z.standardizer.clone();
    let (log_w_offset, train_src, val_src) = sources(z, d, config.balance, split)?;
    let spec = config.model_spec(d);
    let model =
        spec.build(DType::F32, &target.device, config.seed).map_err(|e| model_error("building the model", e))?;
    let features: Vec<String> = truth.columns.iter().map(|c| c.name.clone()).collect();
    let cfg = train_config(config, target, split, &standardizer, &features)?;
    let objective = Objective::new(
        Likelihood::BinaryCrossEntropy,
        if config.bayesian { Regulariser::Kl } else { Regulariser::None },
    );
    let mut opt = Adam::new(model.params(), config.lr).betas(0.9, 0.99).eps(1e-6);
    let start = Instant::now();
    let history = Trainer::new(cfg, &target.device)
        .fit(model.as_ref(), &mut opt, train_src.as_ref(), Some(val_src.as_ref()), &objective, |_| Control::Continue)
        .map_err(|e| model_error("training the classifier", e))?;
    let train_seconds = start.elapsed().as_secs_f64();
    Ok(Trained { spec, model, standardizer, log_w_offset, history, train_seconds, features })
}
