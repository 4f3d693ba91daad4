//! The classifier of the method (docs/genweights-method.md §1.1, §1.3–1.4): M MLPs on standardized
//! features, trained as one
//! batched ensemble (an `nn` model whose parameters carry a leading member axis) with the
//! balanced binary cross-entropy of the paper (each step sees as many truth as generated events,
//! `nn::TwoSample`), Adam, a validation split and the weights of the best validation epoch; or,
//! with `bayesian`, one network of variational layers whose weight draws play the members.
//!
//! - **ln w is the logit** f(x) of each member, never ln(D/(1 − D)) of a probability: no 1 − D
//!   underflow in the tails. Balanced batches make the logit ln p_truth/p_gen for any sample
//!   sizes; trained on the pooled events instead ([`Balance::Pooled`]), the logit estimates
//!   ln(N_truth p_truth/(N_gen p_gen)) and ln w = f + ln(N_gen/N_truth) (docs/genweights-method.md §1.1).
//! - Members combine by averaging D, as the paper does, computed in log space
//!   (`metrics::combine_members`); the per-event spread of ln w over members (or draws) is
//!   kept as its uncertainty.
//! - Optionally an isotonic map fitted on the validation split recalibrates the combined weight
//!   (docs/genweights-method.md §1.5).
//!
//! Splits are per sample, by a seeded permutation: validation first, then test, the rest
//! training. Standardisation is fitted on the training events of both samples together (the
//! paper's shared `norm`). Predictions cover every event, and each event's split is returned, so
//! a report can evaluate on the test events alone.
//!
//! Nothing here reads the toys' exact weights: the classifier sees feature matrices only.

use crate::error::{invalid, Error, Result};
use crate::features::FeatureMatrix;
use crate::metrics::{combine_members, IsotonicCalibration};
use nn::train::{Control, TrainConfig, Trainer};
use nn::{
    predict_rows, Activation, Adam, Dataset, Head, Likelihood, MlpSpec, ModelSpec, Module, Objective, PerDraw,
    PredictOptions, Regulariser, Schedule, Standardizer, Transform, TwoSample, VariationalConfig,
};
use serde::{Deserialize, Serialize};
use sigmagrad::{DType, Device, Rng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// How the two classes are balanced in training.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balance {
    /// Each batch holds as many truth as generated events (the paper's zipped loaders); an epoch
    /// is min(N_truth, N_gen)/batch steps. ln w = logit.
    #[default]
    Batches,
    /// All events of both samples pooled and shuffled; ln w = logit + ln(N_gen/N_truth).
    Pooled,
}

/// What to train and how (fields missing from a stored configuration take their defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClassifierConfig {
    /// Ensemble members (ignored with `bayesian`, whose members are weight draws).
    pub members: usize,
    /// One variational network instead of an ensemble.
    pub bayesian: bool,
    /// Weight draws of the variational network.
    pub draws: usize,
    pub hidden: Vec<usize>,
    pub activation: Activation,
    /// Dropout after each hidden activation (the paper's event classifier uses 0.1).
    pub dropout: f64,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    /// Stop after this many epochs without a better validation loss.
    pub patience: Option<usize>,
    /// The learning rate decays by cosine to this fraction of `lr` over the epochs.
    pub final_lr_fraction: f64,
    /// Fractions of each sample held out for validation and for testing.
    pub val_fraction: f64,
    pub test_fraction: f64,
    pub seed: u64,
    /// Refit each member's output offset on the validation split (see [`fit_offset`]).
    pub offset_fit: bool,
    /// Recalibrate the combined weight with an isotonic map fitted on the validation split.
    pub isotonic: bool,
    pub balance: Balance,
    /// The variational layers' prior width.
    pub prior_sigma: f64,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        ClassifierConfig {
            members: 3,
            bayesian: false,
            draws: 5,
            hidden: vec![64, 64, 64],
            activation: Activation::Silu,
            dropout: 0.0,
            epochs: 40,
            batch_size: 512,
            lr: 2e-3,
            patience: None,
            final_lr_fraction: 0.02,
            val_fraction: 0.2,
            test_fraction: 0.2,
            seed: 1,
            offset_fit: true,
            isotonic: false,
            balance: Balance::Batches,
            prior_sigma: 1.0,
        }
    }
}

impl ClassifierConfig {
    pub fn validate(&self) -> Result<()> {
        let frac = |f: f64| f.is_finite() && (0.0..1.0).contains(&f);
        if !self.bayesian && self.members == 0 {
            return Err(invalid("the ensemble needs at least one member"));
        }
        if self.bayesian && self.draws == 0 {
            return Err(invalid("a Bayesian classifier needs at least one weight draw"));
        }
        if self.epochs == 0 || self.batch_size == 0 {
            return Err(invalid(format!(
                "epochs ({}) and batch size ({}) must be positive",
                self.epochs, self.batch_size
            )));
        }
        if self.hidden.is_empty() || self.hidden.contains(&0) {
            return Err(invalid(format!("hidden widths {:?} must be positive, at least one layer", self.hidden)));
        }
        let positive = |x: f64| x > 0.0 && x.is_finite();
        if !positive(self.lr) || !positive(self.prior_sigma) {
            return Err(invalid(format!(
                "learning rate {} and prior width {} must be positive",
                self.lr, self.prior_sigma
            )));
        }
        if !frac(self.val_fraction) || !frac(self.test_fraction) || self.val_fraction + self.test_fraction >= 0.9 {
            return Err(invalid(format!(
                "validation ({}) and test ({}) fractions must be in [0, 1) and leave at least 10 % for training",
                self.val_fraction, self.test_fraction
            )));
        }
        if !(0.0..0.9).contains(&self.dropout) {
            return Err(invalid(format!("dropout {} must be in [0, 0.9)", self.dropout)));
        }
        if self.val_fraction == 0.0 {
            return Err(invalid("a validation split is needed (best epoch, early stopping, isotonic map)"));
        }
        Ok(())
    }

    /// The network: a batched ensemble, or a variational MLP.
    pub fn model_spec(&self, inputs: usize) -> ModelSpec {
        let mlp = MlpSpec::new(inputs, &self.hidden, 1).activation(self.activation).dropout(self.dropout);
        if self.bayesian {
            let cfg =
                VariationalConfig { prior_sigma: self.prior_sigma, logsig2_range: (-11.0, 11.0), ..Default::default() };
            ModelSpec::variational(mlp, cfg, Head::Logit)
        } else {
            ModelSpec::ensemble(mlp, self.members, Head::Logit)
        }
    }

    /// Members of the prediction: ensemble members or weight draws.
    pub fn prediction_members(&self) -> usize {
        if self.bayesian {
            self.draws
        } else {
            self.members
        }
    }
}

/// Which split an event belongs to (stored in `weights.h5` as these codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[repr(u8)]
pub enum Split {
    Train = 0,
    Validation = 1,
    Test = 2,
}

/// The per-sample split: `val_fraction` and `test_fraction` of a seeded permutation.
pub fn split_rows(n: usize, val_fraction: f64, test_fraction: f64, seed: u64) -> Vec<Split> {
    let order = Rng::new(seed).permutation(n);
    let n_val = ((n as f64) * val_fraction).round() as usize;
    let n_test = (((n as f64) * test_fraction).round() as usize).min(n - n_val.min(n));
    let mut split = vec![Split::Train; n];
    for (rank, &i) in order.iter().enumerate() {
        if rank < n_val {
            split[i] = Split::Validation;
        } else if rank < n_val + n_test {
            split[i] = Split::Test;
        }
    }
    split
}

/// One sample's ln w: combined, per member, and the members' spread, row-aligned with its
/// feature matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct SampleWeights {
    /// The combined (mean-D) ln w, isotonic-recalibrated when asked.
    pub log_w: Vec<f64>,
    /// The combined ln w before recalibration (equal to `log_w` without it).
    pub log_w_raw: Vec<f64>,
    /// `members[k][i]`: member (or draw) k's ln w of event i.
    pub members: Vec<Vec<f64>>,
    /// The standard deviation of ln w over members.
    pub std_log_w: Vec<f64>,
    pub split: Vec<Split>,
}

impl SampleWeights {
    /// The rows of one split.
    pub fn rows_in(&self, split: Split) -> Vec<usize> {
        (0..self.split.len()).filter(|&i| self.split[i] == split).collect()
    }
}

/// What training did, for metrics.json and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    pub model: String,
    pub config: ClassifierConfig,
    pub features: Vec<String>,
    pub truth_train: usize,
    pub generated_train: usize,
    pub truth_val: usize,
    pub generated_val: usize,
    pub truth_test: usize,
    pub generated_test: usize,
    pub epochs_run: usize,
    pub best_epoch: Option<usize>,
    pub best_val_loss: Option<f64>,
    pub stopped_early: bool,
    /// ln(N_gen/N_truth) added to every logit (0 with balanced batches).
    pub log_w_offset: f64,
    /// Per member, the offset refitted on the validation split (0 without `offset_fit`).
    pub member_offsets: Vec<f64>,
    /// The statistical error of those offsets (the members' mean): every ln w shares it, so the
    /// normalisation identities on other events carry it beside their own standard errors.
    pub offset_error: f64,
    /// The training and validation loss per epoch, per member (an ensemble's objective is the
    /// sum over members; a Bayesian network's includes KL/N).
    pub train_loss: Vec<f64>,
    pub val_loss: Vec<Option<f64>>,
    pub train_seconds: f64,
    pub predict_seconds: f64,
    pub device: String,
}

/// The trained classifier's weights for both samples.
#[derive(Debug, Clone)]
pub struct ClassifierOutput {
    pub truth: SampleWeights,
    pub generated: SampleWeights,
    pub summary: TrainingSummary,
    pub isotonic: Option<IsotonicCalibration>,
}

/// Where and how loudly to train.
#[derive(Debug, Clone)]
pub struct TrainTarget {
    pub device: Device,
    /// The run directory for best.h5, last.h5 and history.csv (None: nothing written).
    pub dir: Option<PathBuf>,
    pub progress: bool,
}

fn model_error(what: &str, e: impl std::fmt::Display) -> Error {
    invalid(format!("{what}: {e}"))
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

/// Trains the classifier on `truth` (label 1) and `generated` (label 0) and predicts ln w for
/// every event of both.
pub fn train_and_predict(
    truth: &FeatureMatrix,
    generated: &FeatureMatrix,
    config: &ClassifierConfig,
    target: &TrainTarget,
) -> Result<ClassifierOutput> {
    config.validate()?;
    let d = truth.width();
    if generated.width() != d || truth.columns != generated.columns {
        return Err(Error::Mismatch(format!(
            "truth has {} input columns, generated {}: the classifier needs the same inputs",
            d,
            generated.width()
        )));
    }
    truth.check_finite()?;
    generated.check_finite()?;
    let split_t = split_rows(truth.rows, config.val_fraction, config.test_fraction, config.seed ^ 0x7_2u64);
    let split_g = split_rows(generated.rows, config.val_fraction, config.test_fraction, config.seed ^ 0x6_e11);
    let rows = |s: &[Split], which: Split| -> Vec<usize> { (0..s.len()).filter(|&i| s[i] == which).collect() };
    let (t_train, g_train) = (rows(&split_t, Split::Train), rows(&split_g, Split::Train));
    let (t_val, g_val) = (rows(&split_t, Split::Validation), rows(&split_g, Split::Validation));
    let min_events = 2 * config.batch_size.min(64);
    if t_train.len() < min_events || g_train.len() < min_events || t_val.is_empty() || g_val.is_empty() {
        return Err(invalid(format!(
            "{} truth and {} generated events are too few to train on: the training split keeps {} and {}, \
             validation {} and {} (at least {min_events} training events per sample are needed)",
            truth.rows,
            generated.rows,
            t_train.len(),
            g_train.len(),
            t_val.len(),
            g_val.len()
        )));
    }
    // Standardisation on the training events of both samples together.
    let (xt_train, xg_train) = (pick(truth, &t_train), pick(generated, &g_train));
    let mut both = xt_train.clone();
    both.extend_from_slice(&xg_train);
    let standardizer = Standardizer::fit_rows(&both, d, &vec![Transform::None; d])
        .map_err(|e| model_error("cannot standardize the classifier inputs", e))?;
    drop(both);
    let z = |x: &[f64]| standardizer.transform_rows(x).map_err(|e| model_error("standardizing", e));
    let (zt_train, zg_train) = (z(&xt_train)?, z(&xg_train)?);
    let (zt_val, zg_val) = (z(&pick(truth, &t_val))?, z(&pick(generated, &g_val))?);
    drop((xt_train, xg_train));

    let (log_w_offset, train_src, val_src): (f64, Box<dyn nn::BatchSource>, Box<dyn nn::BatchSource>) =
        match config.balance {
            Balance::Batches => (
                0.0,
                Box::new(
                    TwoSample::new(dataset(zt_train, d, 1.0)?, dataset(zg_train, d, 0.0)?)
                        .map_err(|e| model_error("the training samples", e))?,
                ),
                Box::new(
                    TwoSample::new(dataset(zt_val, d, 1.0)?, dataset(zg_val, d, 0.0)?)
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
                    (g_train.len() as f64 / t_train.len() as f64).ln(),
                    Box::new(pool(zt_train, zg_train)?),
                    Box::new(pool(zt_val, zg_val)?),
                )
            }
        };

    let spec = config.model_spec(d);
    let model =
        spec.build(DType::F32, &target.device, config.seed).map_err(|e| model_error("building the model", e))?;
    let steps_per_epoch = match config.balance {
        Balance::Batches => t_train.len().min(g_train.len()).div_ceil(config.batch_size),
        Balance::Pooled => (t_train.len() + g_train.len()).div_ceil(config.batch_size),
    } as u64;
    let features: Vec<String> = truth.columns.iter().map(|c| c.name.clone()).collect();
    let meta = BTreeMap::from([
        ("app".to_string(), "genweights".to_string()),
        ("features".to_string(), serde_json::to_string(&features).map_err(|e| invalid(e.to_string()))?),
        ("classifier".to_string(), serde_json::to_string(config).map_err(|e| invalid(e.to_string()))?),
    ]);
    if let Some(dir) = &target.dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| invalid(format!("{}: cannot create the directory: {e}", dir.display())))?;
    }
    let cfg = TrainConfig {
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
    };
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
    drop((train_src, val_src));

    let start = Instant::now();
    let popts = PredictOptions { draws: config.draws, batch_size: 16384, progress: target.progress };
    let predict = |m: &FeatureMatrix| -> Result<Vec<Vec<f64>>> {
        let zs = standardizer.transform_rows(&m.values).map_err(|e| model_error("standardizing", e))?;
        let mut per = PerDraw::default();
        predict_rows(model.as_ref(), &zs, d, &popts, &target.device, &mut per)
            .map_err(|e| model_error("predicting", e))?;
        let members: Vec<Vec<f64>> =
            (0..per.draws).map(|k| per.draw(k).into_iter().map(|f| f + log_w_offset).collect()).collect();
        if let Some((k, i)) =
            members.iter().enumerate().find_map(|(k, v)| v.iter().position(|x| !x.is_finite()).map(|i| (k, i)))
        {
            return Err(invalid(format!(
                "member {k} predicts a non-finite logit for event {} (the network diverged)",
                m.sample_rows.get(i).copied().unwrap_or(i)
            )));
        }
        Ok(members)
    };
    let (mut mt, mut mg) = (predict(truth)?, predict(generated)?);
    let mut member_offsets = vec![0.0; mt.len()];
    let mut offset_errors = vec![0.0; mt.len()];
    if config.offset_fit {
        for k in 0..mt.len() {
            let v = |m: &[f64], r: &[usize]| -> Vec<f64> { r.iter().map(|&i| m[i]).collect() };
            let (c, e) = fit_offset(&v(&mt[k], &t_val), &v(&mg[k], &g_val));
            mt[k].iter_mut().chain(mg[k].iter_mut()).for_each(|f| *f += c);
            member_offsets[k] = c;
            offset_errors[k] = e;
        }
    }
    let predict_seconds = start.elapsed().as_secs_f64();
    let (ct, cg) = (combine_members(&mt)?, combine_members(&mg)?);
    let isotonic = if config.isotonic {
        let v = |c: &[f64], r: &[usize]| -> Vec<f64> { r.iter().map(|&i| c[i]).collect() };
        Some(IsotonicCalibration::fit(&v(&ct.log_w, &t_val), &v(&cg.log_w, &g_val))?)
    } else {
        None
    };
    let finish = |c: crate::metrics::CombinedLogW, members: Vec<Vec<f64>>, split: Vec<Split>| SampleWeights {
        log_w: match &isotonic {
            Some(iso) => iso.apply(&c.log_w),
            None => c.log_w.clone(),
        },
        log_w_raw: c.log_w,
        members,
        std_log_w: c.std_log_w,
        split,
    };
    let per_member = if config.bayesian { 1.0 } else { config.members as f64 };
    let summary = TrainingSummary {
        model: spec.describe(),
        config: config.clone(),
        features,
        truth_train: t_train.len(),
        generated_train: g_train.len(),
        truth_val: t_val.len(),
        generated_val: g_val.len(),
        truth_test: split_t.iter().filter(|s| **s == Split::Test).count(),
        generated_test: split_g.iter().filter(|s| **s == Split::Test).count(),
        epochs_run: history.epochs.len(),
        best_epoch: history.best_epoch,
        best_val_loss: history.best_val_loss.map(|v| v / per_member),
        stopped_early: history.stopped_early,
        log_w_offset,
        member_offsets,
        offset_error: offset_errors.iter().sum::<f64>() / offset_errors.len().max(1) as f64,
        // An ensemble's objective sums its members' losses: per member, comparable with ln 2 − JSD.
        train_loss: history.epochs.iter().map(|e| e.train_loss / per_member).collect(),
        val_loss: history.epochs.iter().map(|e| e.val_loss.map(|v| v / per_member)).collect(),
        train_seconds,
        predict_seconds,
        device: target.device.backend().name(),
    };
    Ok(ClassifierOutput { truth: finish(ct, mt, split_t), generated: finish(cg, mg, split_g), summary, isotonic })
}

/// The constant c minimising the balanced BCE ½ `E_T[softplus(−(f + c))]` + ½ `E_M[softplus(f + c)]`
/// of held-out log weights f (Newton's method; the loss is convex in c). Its optimum makes
/// `E_T[1 − D]` = `E_M[D]` on those events. The loss barely notices an offset (0.01 in ln w costs
/// ~1e-5 in BCE, below the noise of the validation loss that chooses the epoch), while the
/// normalisation identities `E_gen[w]` = 1 and `E_truth[1/w]` = 1 see it at once; refitting this one
/// parameter on the validation split removes the offset that minibatch noise leaves in the
/// output bias. Returns c and its standard error, √(Var_T(D)/N_T + Var_M(D)/N_M)/h with h the
/// loss's curvature at c (the sandwich estimate of an M-estimator).
pub fn fit_offset(truth: &[f64], generated: &[f64]) -> (f64, f64) {
    use crate::special::sigmoid;
    if truth.is_empty() || generated.is_empty() {
        return (0.0, 0.0);
    }
    let (nt, ng) = (truth.len() as f64, generated.len() as f64);
    let mut c = 0.0;
    for _ in 0..50 {
        let (mut g, mut h) = (0.0, 0.0);
        for &f in truth {
            let s = sigmoid(f + c);
            g -= (1.0 - s) / nt;
            h += s * (1.0 - s) / nt;
        }
        for &f in generated {
            let s = sigmoid(f + c);
            g += s / ng;
            h += s * (1.0 - s) / ng;
        }
        if h.is_nan() || h <= 0.0 {
            break;
        }
        let step = (g / h).clamp(-1.0, 1.0);
        c -= step;
        if step.abs() < 1e-12 {
            break;
        }
    }
    if !c.is_finite() {
        return (0.0, 0.0);
    }
    let moments = |v: &[f64]| -> (f64, f64) {
        let n = v.len() as f64;
        let s: Vec<f64> = v.iter().map(|&f| sigmoid(f + c)).collect();
        let mean = s.iter().sum::<f64>() / n;
        let var = s.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        (var, s.iter().map(|x| x * (1.0 - x)).sum::<f64>() / n)
    };
    let ((vt, ht), (vg, hg)) = (moments(truth), moments(generated));
    let h = ht + hg;
    let err = if h > 0.0 { (vt / nt + vg / ng).sqrt() / h } else { 0.0 };
    (c, if err.is_finite() { err } else { 0.0 })
}
