//! The numbers behind the paper's figures (docs/genweights-method.md §5), computed from per-event log weights of a
//! truth sample and a generated sample. Weights enter as ln w (the classifier's logit, docs/genweights-method.md §1.1),
//! where exact toy weights may be ±∞ (w = ∞: a truth event the generator cannot produce; w = 0:
//! a generated event truth never has); NaN is refused. Every result is serde-serialisable and
//! holds no NaN or infinity: an undefined number (an empty bin's ratio) is `None`.
//!
//! numpy's conventions hold throughout (the `stats` crate): half-open bins except the last, and
//! linear-interpolation quantiles.

pub mod calibration;
pub mod clustering;
pub mod ensemble;
pub mod exact;
pub mod isotonic;
pub mod normalisation;
pub mod pulls;
pub mod reweighting;
pub mod roc;
pub mod summary;
pub mod top;
pub mod weight_hist;

pub use calibration::{reliability_curve, weight_calibration, ReliabilityCurve, WeightCalibration};
pub use clustering::{
    chi2_compare, quantile_clusters, threshold_clusters, Chi2Comparison, QuantilePoint, ThresholdClusters,
};
pub use ensemble::{combine_members, log_w_from_logit, CombinedLogW};
pub use exact::{bce, compare_to_exact, ExactComparison};
pub use isotonic::{pav, IsotonicCalibration};
pub use normalisation::{
    normalisation_identities, truncated_identities, Identity, NormalisationIdentities, TruncatedIdentity,
};
pub use pulls::{generator_pulls, GeneratorPulls, PullHistograms, PullSummary};
pub use reweighting::{reweighted_observable, ReweightedObservable};
pub use roc::{auc, roc_curve, RocCurve};
pub use summary::{log_weight_spread, LogWeightSpread, WeightSummary};
pub use weight_hist::{
    ensemble_weight_histograms, weight_histograms, Band, WeightAxis, WeightHistOptions, WeightHistograms,
};

use crate::error::{invalid, Result};

/// An error if any log weight is NaN (±∞ are allowed), naming the sample and the event.
pub fn check_log_w(what: &str, log_w: &[f64]) -> Result<()> {
    if let Some(i) = log_w.iter().position(|v| v.is_nan()) {
        return Err(invalid(format!("{what} log weight {i} is NaN")));
    }
    Ok(())
}

/// Both samples checked, and neither empty.
pub(crate) fn check_pair(truth: &[f64], generated: &[f64]) -> Result<()> {
    check_log_w("truth", truth)?;
    check_log_w("generated", generated)?;
    if truth.is_empty() || generated.is_empty() {
        return Err(invalid(format!(
            "{} truth and {} generated weights: both samples need events",
            truth.len(),
            generated.len()
        )));
    }
    Ok(())
}

/// `Some(x)` when x is finite.
pub fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}
