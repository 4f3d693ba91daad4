//! Weights that no classifier trained on (docs/genweights-method.md §1.6):
//!
//! - [`cross_fit`] (`--folds K`): the events of each sample are dealt into K folds; fold f's
//!   weights come from a classifier trained and validated on the other K − 1 folds alone, so
//!   every event gets an out-of-sample weight and the report uses all of them, not a 20 % test
//!   split (the tailcut then has all its tail jets). Each fold's classifier refits its own
//!   offset (and isotonic map) on its own validation rows.
//! - [`members_on_resamples`] (`--bootstrap`): each ensemble member is trained on its own
//!   bootstrap resample of the training rows. Members trained on the same events differ by
//!   their initialisation alone and share the training sample's fluctuations (the masspeak
//!   residuals were 72–76 % correlated across members); resampled, their spread also carries
//!   the finite-sample error.

use super::{combine, fit_split, fold_of, predict, train, ClassifierConfig, ClassifierOutput, PairSplit, Predicted};
use super::{Assembled, TrainTarget};
use crate::error::Result;
use crate::features::FeatureMatrix;

/// Seeds of the fold assignment, one per sample.
const TRUTH_FOLD_SEED: u64 = 0xf01d_0001;
const GENERATED_FOLD_SEED: u64 = 0xf01d_0002;

/// The run directory of one part (a fold, a member, a group) below the run's own.
pub(crate) fn part_target(target: &TrainTarget, part: String) -> TrainTarget {
    TrainTarget { dir: target.dir.as_ref().map(|d| d.join(part)), ..target.clone() }
}

/// Cross-fitting with `config.folds` folds: every event's weight from a classifier that did not
/// train on it. The summary's training curve is the first fold's; times, offsets and the
/// training counts cover every fold, and the offset error is that of the average over the K
/// independent fold offsets, √(Σ σ_f²)/K.
pub fn cross_fit(
    truth: &FeatureMatrix,
    generated: &FeatureMatrix,
    config: &ClassifierConfig,
    target: &TrainTarget,
) -> Result<ClassifierOutput> {
    let k = config.folds;
    let (tf, gf) = (
        fold_of(truth.rows, k, config.seed ^ TRUTH_FOLD_SEED),
        fold_of(generated.rows, k, config.seed ^ GENERATED_FOLD_SEED),
    );
    let m = config.prediction_members();
    let (mut at, mut ag) = (Assembled::new(truth.rows, m), Assembled::new(generated.rows, m));
    let mut first: Option<ClassifierOutput> = None;
    let (mut offsets, mut offset_variance, mut train_s, mut predict_s) = (Vec::new(), 0.0, 0.0, 0.0);
    for f in 0..k {
        let split = PairSplit::for_fold(&tf, &gf, f, config)?;
        let out = fit_split(truth, generated, split, config, &part_target(target, format!("fold{f}")))?;
        let in_fold = |folds: &[usize]| -> Vec<(usize, usize)> {
            (0..folds.len()).filter(|&i| folds[i] == f).map(|i| (i, i)).collect()
        };
        at.take(&out.truth, &in_fold(&tf), Some(f as u8));
        ag.take(&out.generated, &in_fold(&gf), Some(f as u8));
        offsets.extend_from_slice(&out.summary.member_offsets);
        offset_variance += out.summary.offset_error.powi(2);
        train_s += out.summary.train_seconds;
        predict_s += out.summary.predict_seconds;
        first.get_or_insert(out);
    }
    let Some(mut out) = first else { unreachable!("validate() requires at least two folds") };
    let s = &mut out.summary;
    s.folds = k;
    s.member_offsets = offsets;
    s.offset_error = offset_variance.sqrt() / k as f64;
    s.train_seconds = train_s;
    s.predict_seconds = predict_s;
    (s.truth_test, s.generated_test) = (truth.rows, generated.rows);
    out.truth = at.finish();
    out.generated = ag.finish();
    Ok(out)
}

/// Appends member predictions (one member's columns) to `all`.
fn append(all: &mut Option<Predicted>, p: Predicted) {
    match all {
        None => *all = Some(p),
        Some(a) => {
            a.truth.extend(p.truth);
            a.generated.extend(p.generated);
            a.member_offsets.extend(p.member_offsets);
            a.offset_errors.extend(p.offset_errors);
            a.predict_seconds += p.predict_seconds;
        }
    }
}

/// `config.members` members, each a one-member network trained on its own bootstrap resample
/// of `split`'s training rows (validation and test rows unchanged), combined as an ensemble is.
/// Member k's checkpoints go to `member{k}/` of the run directory.
pub fn members_on_resamples(
    truth: &FeatureMatrix,
    generated: &FeatureMatrix,
    split: PairSplit,
    config: &ClassifierConfig,
    target: &TrainTarget,
) -> Result<ClassifierOutput> {
    let mut all: Option<Predicted> = None;
    let mut first = None;
    let mut train_seconds = 0.0;
    for k in 0..config.members {
        let member = ClassifierConfig {
            members: 1,
            bootstrap: false,
            folds: 0,
            seed: config.seed.wrapping_add(k as u64),
            ..config.clone()
        };
        let resample = split.resampled(config.seed ^ (0xb007_0000 + k as u64));
        let t = part_target(target, format!("member{k}"));
        let trained = train(truth, generated, &resample, &member, &t)?;
        append(&mut all, predict(truth, generated, &split, &trained, &member, &t)?);
        train_seconds += trained.train_seconds;
        first.get_or_insert(trained);
    }
    let (Some(all), Some(mut trained)) = (all, first) else { unreachable!("validate() requires at least one member") };
    trained.train_seconds = train_seconds;
    let mut out = combine(all, split, &trained, config, target)?;
    out.summary.model =
        format!("{}, each member on its own bootstrap resample", config.model_spec(truth.width()).describe());
    Ok(out)
}
