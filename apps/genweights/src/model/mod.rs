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
//!
//! - [`config`]: what to train ([`ClassifierConfig`], [`Balance`]);
//! - [`split`]: the per-sample training, validation and test rows;
//! - [`mod@train`]: standardisation, batch sources and the trainer;
//! - [`mod@predict`]: ln w per member, the refitted output offsets ([`fit_offset`]).

pub mod config;
pub mod crossfit;
pub mod groups;
pub mod predict;
pub mod split;
pub mod train;

pub use config::{Balance, ClassifierConfig};
pub use crossfit::cross_fit;
pub use groups::{fit_groups, Group};
pub use predict::{fit_offset, predict, Predicted};
pub use split::{fold_of, split_rows, PairSplit, Split};
pub use train::{train, Trained};

use crate::error::{invalid, Error, Result};
use crate::features::FeatureMatrix;
use crate::io::WeightColumns;
use crate::metrics::{combine_members, CombinedLogW, IsotonicCalibration};
use serde::{Deserialize, Serialize};
use sigmagrad::Device;
use std::path::PathBuf;

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
    /// Each event's cross-fitting fold (empty without `--folds`).
    pub fold: Vec<u8>,
}

impl SampleWeights {
    /// The rows of one split.
    pub fn rows_in(&self, split: Split) -> Vec<usize> {
        (0..self.split.len()).filter(|&i| self.split[i] == split).collect()
    }

    /// The columns weights.h5 stores, spread to `file_len` file rows by `file_rows`; the
    /// uncalibrated ln w too when `raw`.
    pub fn columns<'a>(&'a self, raw: bool, file_rows: &'a [usize], file_len: usize) -> WeightColumns<'a> {
        WeightColumns {
            log_w: &self.log_w,
            log_w_raw: raw.then_some(self.log_w_raw.as_slice()),
            std_log_w: &self.std_log_w,
            members: &self.members,
            split: self.split.iter().map(|&s| s as u8).collect(),
            fold: (!self.fold.is_empty()).then_some(self.fold.as_slice()),
            file_rows,
            file_len,
        }
    }
}

/// One sample's weights assembled from several classifiers (cross-fitting's folds, one
/// classifier per group of events): each event takes the weights of the classifier that
/// predicted it out of sample.
pub(crate) struct Assembled {
    pub weights: SampleWeights,
    folded: bool,
}

impl Assembled {
    pub fn new(n: usize, members: usize) -> Assembled {
        let weights = SampleWeights {
            log_w: vec![f64::NAN; n],
            log_w_raw: vec![f64::NAN; n],
            members: vec![vec![f64::NAN; n]; members],
            std_log_w: vec![f64::NAN; n],
            split: vec![Split::Test; n],
            fold: vec![0; n],
        };
        Assembled { weights, folded: false }
    }

    /// Copies `from`'s weights of rows `src` to rows `dst` for each (src, dst) of `rows`, with
    /// `fold` as their fold (else `from`'s own, where it has folds).
    pub fn take(&mut self, from: &SampleWeights, rows: &[(usize, usize)], fold: Option<u8>) {
        let w = &mut self.weights;
        self.folded |= fold.is_some() || !from.fold.is_empty();
        for &(s, d) in rows {
            w.log_w[d] = from.log_w[s];
            w.log_w_raw[d] = from.log_w_raw[s];
            w.std_log_w[d] = from.std_log_w[s];
            for (k, m) in w.members.iter_mut().enumerate() {
                m[d] = from.members[k][s];
            }
            w.split[d] = from.split[s];
            w.fold[d] = fold.or_else(|| from.fold.get(s).copied()).unwrap_or(0);
        }
    }

    /// The assembled weights (without a fold column unless one was taken).
    pub fn finish(mut self) -> SampleWeights {
        if !self.folded {
            self.weights.fold.clear();
        }
        self.weights
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
    /// Cross-fitting's folds (0: one split). With folds, the losses and epochs are the first
    /// fold's, the times and offsets every fold's.
    #[serde(default)]
    pub folds: usize,
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
    if config.folds >= 2 {
        return cross_fit(truth, generated, config, target);
    }
    let split = PairSplit::new(truth.rows, generated.rows, config)?;
    fit_split(truth, generated, split, config, target)
}

/// Trains on one split's training rows and predicts every event: one ensemble, or with
/// `bootstrap` one member per resample ([`crossfit::members_on_resamples`]).
pub(crate) fn fit_split(
    truth: &FeatureMatrix,
    generated: &FeatureMatrix,
    split: PairSplit,
    config: &ClassifierConfig,
    target: &TrainTarget,
) -> Result<ClassifierOutput> {
    if config.bootstrap {
        return crossfit::members_on_resamples(truth, generated, split, config, target);
    }
    let trained = train(truth, generated, &split, config, target)?;
    let predicted = predict(truth, generated, &split, &trained, config, target)?;
    combine(predicted, split, &trained, config, target)
}

/// The members combined per event (mean D), recalibrated when asked, with the run's summary.
pub(crate) fn combine(
    p: Predicted,
    split: PairSplit,
    trained: &Trained,
    config: &ClassifierConfig,
    target: &TrainTarget,
) -> Result<ClassifierOutput> {
    let (ct, cg) = (combine_members(&p.truth)?, combine_members(&p.generated)?);
    let isotonic = if config.isotonic {
        let v = |c: &[f64], r: &[usize]| -> Vec<f64> { r.iter().map(|&i| c[i]).collect() };
        Some(IsotonicCalibration::fit(&v(&ct.log_w, &split.truth_val), &v(&cg.log_w, &split.generated_val))?)
    } else {
        None
    };
    let finish = |c: CombinedLogW, members: Vec<Vec<f64>>, split: Vec<Split>| SampleWeights {
        log_w: match &isotonic {
            Some(iso) => iso.apply(&c.log_w),
            None => c.log_w.clone(),
        },
        log_w_raw: c.log_w,
        members,
        std_log_w: c.std_log_w,
        split,
        fold: Vec::new(),
    };
    let summary = summary(&split, trained, &p, config, target);
    Ok(ClassifierOutput {
        truth: finish(ct, p.truth, split.truth),
        generated: finish(cg, p.generated, split.generated),
        summary,
        isotonic,
    })
}

/// What training did, for metrics.json and the report.
fn summary(
    split: &PairSplit,
    trained: &Trained,
    p: &Predicted,
    config: &ClassifierConfig,
    target: &TrainTarget,
) -> TrainingSummary {
    let history = &trained.history;
    let per_member = if config.bayesian { 1.0 } else { config.members as f64 };
    let (truth_test, generated_test) = split.test_counts();
    TrainingSummary {
        model: trained.spec.describe(),
        config: config.clone(),
        features: trained.features.clone(),
        truth_train: split.truth_train.len(),
        generated_train: split.generated_train.len(),
        truth_val: split.truth_val.len(),
        generated_val: split.generated_val.len(),
        truth_test,
        generated_test,
        epochs_run: history.epochs.len(),
        best_epoch: history.best_epoch,
        best_val_loss: history.best_val_loss.map(|v| v / per_member),
        stopped_early: history.stopped_early,
        log_w_offset: trained.log_w_offset,
        member_offsets: p.member_offsets.clone(),
        offset_error: p.offset_errors.iter().sum::<f64>() / p.offset_errors.len().max(1) as f64,
        // An ensemble's objective sums its members' losses: per member, comparable with ln 2 − JSD.
        train_loss: history.epochs.iter().map(|e| e.train_loss / per_member).collect(),
        val_loss: history.epochs.iter().map(|e| e.val_loss.map(|v| v / per_member)).collect(),
        train_seconds: trained.train_seconds,
        predict_seconds: p.predict_seconds,
        device: target.device.backend().name(),
        folds: 0,
    }
}
