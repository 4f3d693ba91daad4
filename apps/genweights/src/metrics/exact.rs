//! Learned weights against exact ones (the toys, docs/genweights-method.md §4, §5.8): how closely
//! a classifier's log w follows
//! the truth, in the bulk and in the tails, and the optimal AUC and loss an exact classifier
//! would reach.

use super::{auc, check_pair, finite};
use crate::error::{invalid, Result};
use crate::special::softplus;
use serde::{Deserialize, Serialize};
use stats::{quantile, Binning, Histogram, Histogram2d};

/// The balanced BCE ½ E_T[−ln D] + ½ E_M[−ln(1 − D)] with D = w/(1 + w), written in log w:
/// −ln D = softplus(−ln w) and −ln(1 − D) = softplus(ln w), exact at ln w = ±∞ on the side
/// where they occur (truth ∞, generated −∞). With exact weights this is the optimum
/// L* = ln 2 − JSD.
pub fn bce(truth: &[f64], generated: &[f64]) -> Result<f64> {
    check_pair(truth, generated)?;
    let t = truth.iter().map(|&l| softplus(-l)).sum::<f64>() / truth.len() as f64;
    let g = generated.iter().map(|&l| softplus(l)).sum::<f64>() / generated.len() as f64;
    Ok(0.5 * (t + g))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExactComparison {
    /// Events (truth and generated) with |exact ln w| < 1.
    pub bulk_events: usize,
    /// Median |learned − exact| over the bulk.
    pub bulk_median_abs_residual: Option<f64>,
    pub bulk_rmse: Option<f64>,
    pub bulk_bias: Option<f64>,
    /// Of the 1 % of truth events with the largest exact weights, the fraction that are among
    /// the 1 % with the largest learned weights (ties in the exact weight broken by row order).
    pub top_percent_overlap: Option<f64>,
    pub learned_auc: f64,
    pub optimal_auc: f64,
    pub learned_bce: f64,
    pub optimal_bce: f64,
}

/// Indices of the ⌈fraction · n⌉ largest values (a stable order among ties).
fn top_indices(values: &[f64], fraction: f64) -> Vec<usize> {
    let k = ((fraction * values.len() as f64).ceil() as usize).clamp(1, values.len());
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    idx.truncate(k);
    idx
}

/// The fraction of the top-`fraction` truth events by exact weight that are also in the
/// top-`fraction` by learned weight.
pub fn top_fraction_overlap(learned: &[f64], exact: &[f64], fraction: f64) -> Option<f64> {
    if learned.is_empty() || learned.len() != exact.len() {
        return None;
    }
    let a = top_indices(exact, fraction);
    let mut b = top_indices(learned, fraction);
    b.sort_unstable();
    let hits = a.iter().filter(|i| b.binary_search(i).is_ok()).count();
    Some(hits as f64 / a.len() as f64)
}

pub fn compare_to_exact(
    learned_truth: &[f64],
    learned_gen: &[f64],
    exact_truth: &[f64],
    exact_gen: &[f64],
) -> Result<ExactComparison> {
    check_pair(learned_truth, learned_gen)?;
    check_pair(exact_truth, exact_gen)?;
    if learned_truth.len() != exact_truth.len() || learned_gen.len() != exact_gen.len() {
        return Err(invalid("learned and exact weights must be row-aligned"));
    }
    let residuals: Vec<f64> = learned_truth
        .iter()
        .zip(exact_truth)
        .chain(learned_gen.iter().zip(exact_gen))
        .filter(|(_, e)| e.abs() < 1.0)
        .map(|(l, e)| l - e)
        .collect();
    let n = residuals.len();
    let abs: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
    let (rmse, bias) = if n > 0 {
        let rmse = (residuals.iter().map(|r| r * r).sum::<f64>() / n as f64).sqrt();
        (finite(rmse), finite(residuals.iter().sum::<f64>() / n as f64))
    } else {
        (None, None)
    };
    Ok(ExactComparison {
        bulk_events: n,
        bulk_median_abs_residual: quantile(&abs, 0.5).and_then(finite),
        bulk_rmse: rmse,
        bulk_bias: bias,
        top_percent_overlap: top_fraction_overlap(learned_truth, exact_truth, 0.01),
        learned_auc: auc(learned_truth, learned_gen)?,
        optimal_auc: auc(exact_truth, exact_gen)?,
        learned_bce: bce(learned_truth, learned_gen)?,
        optimal_bce: bce(exact_truth, exact_gen)?,
    })
}

/// The learned-against-exact map: a 2-D histogram of (exact, learned) ln w over both samples,
/// with infinite exact values left out.
pub fn log_w_map(learned: &[f64], exact: &[f64], binning: &Binning) -> Histogram2d {
    Histogram2d::fill(
        binning,
        binning,
        exact.iter().copied().zip(learned.iter().copied()).filter(|(e, _)| e.is_finite()),
    )
}

/// The residual learned − exact over events with finite exact weights, histogrammed.
pub fn residual_histogram(learned: &[f64], exact: &[f64], binning: &Binning) -> Histogram {
    Histogram::fill(binning, learned.iter().zip(exact).filter(|(_, e)| e.is_finite()).map(|(l, e)| l - e))
}
