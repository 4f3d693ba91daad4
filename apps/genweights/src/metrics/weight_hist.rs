//! Weight histograms, truth and generated separately (docs/genweights-method.md §5.3; the paper's
//! `plots.py::process_weights`).
//!
//! Weights w = e^{ln w} are first clipped to [p_low, p_high], p_low the 0.01th percentile of
//! the non-zero weights of both samples together and p_high the 99.99th of the finite ones
//! (so w = 0 and w = ∞ land on the bounds); then binned on the chosen axis and each sample
//! normalised to unit **sum**. Values outside a fixed axis are dropped (numpy) or, with
//! [`Overflow::EndBins`], stacked into the end bins. For an ensemble each member is binned
//! alone and the per-bin median and 15.9/84.1 % quantiles are reported.

use super::check_pair;
use crate::error::{invalid, Result};
use serde::{Deserialize, Serialize};
use stats::{quantile, Binning, Histogram};

/// The x axis of a weight histogram.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum WeightAxis {
    /// Linear in w, e.g. [0, 3] with 50 bins.
    Linear { lo: f64, hi: f64, bins: usize },
    /// Log-spaced bins between the clip bounds p_low and p_high.
    LogClipped { bins: usize },
    /// Log-spaced bins over a fixed range, e.g. [1e-2, 1e1] with 50 bins.
    Log { lo: f64, hi: f64, bins: usize },
}

impl WeightAxis {
    /// The paper's three pages: linear [0, 3], log between the clip bounds, log [1e-2, 10].
    pub fn paper_variants() -> [WeightAxis; 3] {
        [
            WeightAxis::Linear { lo: 0.0, hi: 3.0, bins: 50 },
            WeightAxis::LogClipped { bins: 50 },
            WeightAxis::Log { lo: 1e-2, hi: 1e1, bins: 50 },
        ]
    }
}

/// What happens to clipped weights outside a fixed axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Overflow {
    #[default]
    Drop,
    EndBins,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeightHistOptions {
    pub axis: WeightAxis,
    /// Percentiles (0–100) of the clip bounds: 0.01 and 99.99 in the paper's jet/event code,
    /// 0.005 and 99.995 in the calorimeter branch.
    pub clip_low_percent: f64,
    pub clip_high_percent: f64,
    pub overflow: Overflow,
}

impl WeightHistOptions {
    pub fn new(axis: WeightAxis) -> WeightHistOptions {
        WeightHistOptions { axis, clip_low_percent: 0.01, clip_high_percent: 99.99, overflow: Overflow::Drop }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightHistograms {
    pub edges: Vec<f64>,
    /// Truth per bin, summing to 1 (0 everywhere when no truth weight is in range).
    pub truth: Vec<f64>,
    pub generated: Vec<f64>,
    pub clip_low: f64,
    pub clip_high: f64,
}

/// The clip bounds over all given log weights.
fn clip_bounds(all_log_w: &[f64], o: &WeightHistOptions) -> Result<(f64, f64)> {
    let nonzero: Vec<f64> = all_log_w.iter().filter(|&&l| l != f64::NEG_INFINITY).map(|l| l.exp()).collect();
    let finite: Vec<f64> = all_log_w.iter().filter(|&&l| l != f64::INFINITY).map(|l| l.exp()).collect();
    let lo = quantile(&nonzero, o.clip_low_percent / 100.0);
    let hi = quantile(&finite, o.clip_high_percent / 100.0);
    match (lo, hi) {
        (Some(lo), Some(hi)) if lo.is_finite() && hi.is_finite() => Ok((lo, hi)),
        _ => Err(invalid("the weights have no finite non-zero values to set the clip bounds by")),
    }
}

fn binning(axis: WeightAxis, lo: f64, hi: f64) -> Result<Binning> {
    let b = match axis {
        WeightAxis::Linear { lo, hi, bins } => Binning::linear(lo, hi, bins),
        WeightAxis::Log { lo, hi, bins } => Binning::log(lo, hi, bins),
        WeightAxis::LogClipped { bins } => {
            // A sample of equal weights (the null test with exact w) still needs a range.
            let (l, h) = if hi > lo { (lo, hi) } else { (lo / 1.01, hi * 1.01) };
            Binning::log(l, h, bins)
        }
    };
    Binning::from_edges(b.edges.clone()).ok_or_else(|| invalid(format!("weight axis {axis:?} has no valid bins")))
}

fn unit_histogram(log_w: &[f64], b: &Binning, lo: f64, hi: f64, overflow: Overflow) -> Vec<f64> {
    let values = log_w.iter().map(|l| {
        let w = l.exp().clamp(lo, hi);
        match overflow {
            Overflow::Drop => w,
            Overflow::EndBins => w.clamp(b.lo(), b.hi()),
        }
    });
    Histogram::fill(b, values).unit_sum()
}

pub fn weight_histograms(truth: &[f64], generated: &[f64], options: &WeightHistOptions) -> Result<WeightHistograms> {
    check_pair(truth, generated)?;
    let all: Vec<f64> = truth.iter().chain(generated).copied().collect();
    let (lo, hi) = clip_bounds(&all, options)?;
    let b = binning(options.axis, lo, hi)?;
    Ok(WeightHistograms {
        truth: unit_histogram(truth, &b, lo, hi, options.overflow),
        generated: unit_histogram(generated, &b, lo, hi, options.overflow),
        edges: b.edges,
        clip_low: lo,
        clip_high: hi,
    })
}

/// Per-bin median and 15.9/84.1 % quantiles over ensemble members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Band {
    pub median: Vec<f64>,
    pub low: Vec<f64>,
    pub high: Vec<f64>,
}

impl Band {
    fn from_members(members: &[Vec<f64>]) -> Band {
        let bins = members.first().map_or(0, Vec::len);
        let per_bin = |q: f64| -> Vec<f64> {
            (0..bins).map(|i| quantile(&members.iter().map(|m| m[i]).collect::<Vec<_>>(), q).unwrap_or(0.0)).collect()
        };
        Band { median: per_bin(0.5), low: per_bin(0.159), high: per_bin(0.841) }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleWeightHistograms {
    pub edges: Vec<f64>,
    pub truth: Band,
    pub generated: Band,
    pub clip_low: f64,
    pub clip_high: f64,
}

/// One histogram per member (`truth[k]`, `generated[k]` are member k's log weights) on common
/// bins and clip bounds (taken over all members), summarised per bin.
pub fn ensemble_weight_histograms(
    truth: &[Vec<f64>],
    generated: &[Vec<f64>],
    options: &WeightHistOptions,
) -> Result<EnsembleWeightHistograms> {
    if truth.is_empty() || truth.len() != generated.len() {
        return Err(invalid(format!(
            "{} truth and {} generated members: need the same number, at least one",
            truth.len(),
            generated.len()
        )));
    }
    for (t, g) in truth.iter().zip(generated) {
        check_pair(t, g)?;
    }
    let all: Vec<f64> = truth.iter().chain(generated).flatten().copied().collect();
    let (lo, hi) = clip_bounds(&all, options)?;
    let b = binning(options.axis, lo, hi)?;
    let hists = |s: &[Vec<f64>]| -> Vec<Vec<f64>> {
        s.iter().map(|m| unit_histogram(m, &b, lo, hi, options.overflow)).collect()
    };
    Ok(EnsembleWeightHistograms {
        truth: Band::from_members(&hists(truth)),
        generated: Band::from_members(&hists(generated)),
        edges: b.edges,
        clip_low: lo,
        clip_high: hi,
    })
}
