//! Weight clustering (docs/genweights-method.md §5.7): which events the weights single out, and what they look like in
//! an observable.
//!
//! - **Threshold mode**: for each lower threshold t the *generated* events with w < t (what the
//!   generator over-produces), for each upper threshold T the *truth* events with w > T (what it
//!   misses), each histogrammed (density) beside the full truth and generated samples.
//! - **Quantile mode**: for each q (the paper: 20 values log-spaced in [0.01, 1]) the lower
//!   threshold max(q-quantile of w_gen, q-quantile of w_truth) and the upper threshold
//!   min((1 − q)-quantiles); the observable of generated events beyond a threshold is compared
//!   with that of truth events beyond the same threshold by χ² = Σ (a/A − b/B)²/(a/A² + b/B²)
//!   over the bins with entries, p-value 1 − CDF_χ²(ν = non-empty bins − 1).

use super::{check_pair, finite};
use crate::error::{invalid, Result};
use crate::special::chi2_sf;
use serde::{Deserialize, Serialize};
use stats::{quantile, Binning, Histogram};

/// One selected slice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slice {
    /// "generated w < 0.1" or "truth w > 2".
    pub label: String,
    pub threshold: f64,
    /// Indices into the sample the slice is taken from.
    pub events: Vec<usize>,
    /// Density histogram of the observable for these events (empty when none was given).
    pub density: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThresholdClusters {
    pub edges: Vec<f64>,
    pub truth_density: Vec<f64>,
    pub generated_density: Vec<f64>,
    /// Gen/Truth per bin (None where truth is empty).
    pub ratio_gen_truth: Vec<Option<f64>>,
    /// Generated events with w < t, per lower threshold.
    pub lower: Vec<Slice>,
    /// Truth events with w > T, per upper threshold.
    pub upper: Vec<Slice>,
}

fn density_of(obs: &[f64], events: &[usize], b: &Binning) -> Vec<f64> {
    Histogram::fill(b, events.iter().map(|&i| obs[i])).density()
}

/// Threshold mode on one observable (`obs_*` row-aligned with the log weights).
pub fn threshold_clusters(
    truth_log_w: &[f64],
    gen_log_w: &[f64],
    obs_truth: &[f64],
    obs_gen: &[f64],
    lower: &[f64],
    upper: &[f64],
    binning: &Binning,
) -> Result<ThresholdClusters> {
    check_pair(truth_log_w, gen_log_w)?;
    if obs_truth.len() != truth_log_w.len() || obs_gen.len() != gen_log_w.len() {
        return Err(invalid("observables and weights must be row-aligned"));
    }
    let all_t: Vec<usize> = (0..obs_truth.len()).collect();
    let all_g: Vec<usize> = (0..obs_gen.len()).collect();
    let truth_density = density_of(obs_truth, &all_t, binning);
    let generated_density = density_of(obs_gen, &all_g, binning);
    let ratio_gen_truth = truth_density
        .iter()
        .zip(&generated_density)
        .map(|(t, g)| if *t > 0.0 { finite(g / t) } else { None })
        .collect();
    let lower = lower
        .iter()
        .map(|&t| {
            let events: Vec<usize> = (0..gen_log_w.len()).filter(|&i| gen_log_w[i] < t.ln()).collect();
            Slice {
                label: format!("generated w < {t}"),
                threshold: t,
                density: density_of(obs_gen, &events, binning),
                events,
            }
        })
        .collect();
    let upper = upper
        .iter()
        .map(|&t| {
            let events: Vec<usize> = (0..truth_log_w.len()).filter(|&i| truth_log_w[i] > t.ln()).collect();
            Slice {
                label: format!("truth w > {t}"),
                threshold: t,
                density: density_of(obs_truth, &events, binning),
                events,
            }
        })
        .collect();
    Ok(ThresholdClusters {
        edges: binning.edges.clone(),
        truth_density,
        generated_density,
        ratio_gen_truth,
        lower,
        upper,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chi2Comparison {
    pub chi2: f64,
    pub dof: usize,
    /// None when either histogram is empty or fewer than two bins have entries.
    pub p_value: Option<f64>,
    pub entries_a: f64,
    pub entries_b: f64,
}

/// The χ² comparison of two histograms' shapes (counts `a` and `b` on the same bins).
pub fn chi2_compare(a: &[f64], b: &[f64]) -> Chi2Comparison {
    let (sa, sb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    let (mut chi2, mut nonempty) = (0.0, 0usize);
    if sa > 0.0 && sb > 0.0 {
        for (x, y) in a.iter().zip(b) {
            if x + y > 0.0 {
                nonempty += 1;
                chi2 += (x / sa - y / sb).powi(2) / (x / (sa * sa) + y / (sb * sb));
            }
        }
    }
    let dof = nonempty.saturating_sub(1);
    let p_value = (sa > 0.0 && sb > 0.0 && dof > 0).then(|| chi2_sf(chi2, dof as f64)).and_then(finite);
    Chi2Comparison { chi2, dof, p_value, entries_a: sa, entries_b: sb }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantilePoint {
    pub q: f64,
    pub lower_threshold: f64,
    pub upper_threshold: f64,
    /// Generated against truth events with w < lower.
    pub low_tail: Chi2Comparison,
    /// Generated against truth events with w > upper.
    pub high_tail: Chi2Comparison,
}

/// The paper's quantiles: np.logspace(-2, 0, 20).
pub fn paper_quantiles() -> Vec<f64> {
    (0..20).map(|i| 10f64.powf(-2.0 + 2.0 * i as f64 / 19.0)).collect()
}

/// Quantile mode on one observable.
pub fn quantile_clusters(
    truth_log_w: &[f64],
    gen_log_w: &[f64],
    obs_truth: &[f64],
    obs_gen: &[f64],
    quantiles: &[f64],
    binning: &Binning,
) -> Result<Vec<QuantilePoint>> {
    check_pair(truth_log_w, gen_log_w)?;
    if obs_truth.len() != truth_log_w.len() || obs_gen.len() != gen_log_w.len() {
        return Err(invalid("observables and weights must be row-aligned"));
    }
    let wt: Vec<f64> = truth_log_w.iter().map(|l| l.exp()).collect();
    let wg: Vec<f64> = gen_log_w.iter().map(|l| l.exp()).collect();
    let hist = |obs: &[f64], w: &[f64], keep: &dyn Fn(f64) -> bool| -> Vec<f64> {
        Histogram::fill(binning, obs.iter().zip(w).filter(|(_, &w)| keep(w)).map(|(&o, _)| o)).sum_w
    };
    let mut out = Vec::with_capacity(quantiles.len());
    for &q in quantiles {
        if !(0.0..=1.0).contains(&q) {
            return Err(invalid(format!("quantile {q} outside [0, 1]")));
        }
        let pick = |a: Option<f64>, b: Option<f64>, f: fn(f64, f64) -> f64| match (a, b) {
            (Some(a), Some(b)) => f(a, b),
            _ => f64::NAN,
        };
        let lower = pick(quantile(&wg, q), quantile(&wt, q), f64::max);
        let upper = pick(quantile(&wg, 1.0 - q), quantile(&wt, 1.0 - q), f64::min);
        let low_tail = chi2_compare(&hist(obs_gen, &wg, &|w| w < lower), &hist(obs_truth, &wt, &|w| w < lower));
        let high_tail = chi2_compare(&hist(obs_gen, &wg, &|w| w > upper), &hist(obs_truth, &wt, &|w| w > upper));
        out.push(QuantilePoint {
            q,
            lower_threshold: finite(lower).unwrap_or(0.0),
            upper_threshold: finite(upper).unwrap_or(f64::MAX),
            low_tail,
            high_tail,
        });
    }
    Ok(out)
}
