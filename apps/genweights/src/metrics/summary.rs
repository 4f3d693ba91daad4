//! The one-call summary of a pair of weight samples, and the width of the log-weight
//! distribution that the null test (truth against truth) reports as its reference.

use super::calibration::{reliability_curve, weight_calibration, ReliabilityCurve, WeightCalibration};
use super::normalisation::{normalisation_identities, NormalisationIdentities};
use super::roc::{roc_curve, RocCurve};
use super::weight_hist::{weight_histograms, WeightAxis, WeightHistOptions, WeightHistograms};
use super::{check_pair, finite};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use stats::{mean_and_error, quantile};

/// The spread of ln w over the finite weights of both samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogWeightSpread {
    pub events: usize,
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub q16: Option<f64>,
    pub q84: Option<f64>,
    /// (q84 − q16)/2: a width robust to tails.
    pub half_width_68: Option<f64>,
}

pub fn log_weight_spread(truth: &[f64], generated: &[f64]) -> Result<LogWeightSpread> {
    check_pair(truth, generated)?;
    let v: Vec<f64> = truth.iter().chain(generated).copied().filter(|x| x.is_finite()).collect();
    let n = v.len();
    let stats = mean_and_error(&v);
    let (q16, q84) = (quantile(&v, 0.159).and_then(finite), quantile(&v, 0.841).and_then(finite));
    Ok(LogWeightSpread {
        events: n,
        mean: stats.map(|s| s.0).and_then(finite),
        std: stats.map(|s| s.1 * (n as f64).sqrt()).and_then(finite),
        q16,
        q84,
        half_width_68: q16.zip(q84).map(|(a, b)| (b - a) / 2.0),
    })
}

/// Everything the report shows for one pair that needs only the weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightSummary {
    pub truth_events: usize,
    pub generated_events: usize,
    pub roc: RocCurve,
    pub identities: NormalisationIdentities,
    pub spread: LogWeightSpread,
    /// The paper's three axes: linear [0, 3], log between the clip bounds, log [1e-2, 10].
    pub weight_histograms: Vec<WeightHistograms>,
    pub reliability: ReliabilityCurve,
    pub weight_calibration: WeightCalibration,
    /// Fractions of truth and generated events with w < 1 and w > 1 (the paper's table row).
    pub truth_below_one: f64,
    pub truth_above_one: f64,
    pub generated_below_one: f64,
    pub generated_above_one: f64,
}

impl WeightSummary {
    pub fn compute(truth: &[f64], generated: &[f64]) -> Result<WeightSummary> {
        check_pair(truth, generated)?;
        let frac = |v: &[f64], f: fn(f64) -> bool| v.iter().filter(|&&x| f(x)).count() as f64 / v.len() as f64;
        let mut hists = Vec::new();
        for axis in WeightAxis::paper_variants() {
            hists.push(weight_histograms(truth, generated, &WeightHistOptions::new(axis))?);
        }
        Ok(WeightSummary {
            truth_events: truth.len(),
            generated_events: generated.len(),
            roc: roc_curve(truth, generated, 500)?,
            identities: normalisation_identities(truth, generated)?,
            spread: log_weight_spread(truth, generated)?,
            weight_histograms: hists,
            reliability: reliability_curve(truth, generated, 30)?,
            weight_calibration: weight_calibration(truth, generated, &WeightCalibration::paper_binning())?,
            truth_below_one: frac(truth, |x| x < 0.0),
            truth_above_one: frac(truth, |x| x > 0.0),
            generated_below_one: frac(generated, |x| x < 0.0),
            generated_above_one: frac(generated, |x| x > 0.0),
        })
    }
}
