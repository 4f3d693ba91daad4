//! The paper's comparison of classifier weights with a Bayesian generator's own uncertainty
//! (docs/genweights-method.md §5.10, after the paper's BINN section): each generated event
//! carries K log densities ln p_k(x), one per posterior draw of the generator. With
//! μ = median_k p_k and σ = (q84 − q16)/2 over k, the relative uncertainty is σ/μ and the pull is
//! μ(w − 1)/σ: since w − 1 = (p_truth − p_model)/p_model, the pull is the generator's deviation
//! from truth in units of its own uncertainty, about N(0, 1) where that uncertainty covers it.
//! It needs no exact weights; with them it is shown for the exact w beside the learned one.

use super::finite;
use serde::{Deserialize, Serialize};
use stats::histogram::{Binning, Histogram2d};
use stats::quantile;

/// A pull distribution summarised robustly (the paper fits a Gaussian; the median and the
/// half-width (q84 − q16)/2 are its centre and width without a fit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullSummary {
    pub events: usize,
    pub median: Option<f64>,
    pub half_width_68: Option<f64>,
}

impl PullSummary {
    fn of(pulls: &[f64]) -> PullSummary {
        let (q16, q84) = (quantile(pulls, 0.159).and_then(finite), quantile(pulls, 0.841).and_then(finite));
        PullSummary {
            events: pulls.len(),
            median: quantile(pulls, 0.5).and_then(finite),
            half_width_68: q16.zip(q84).map(|(a, b)| 0.5 * (b - a)),
        }
    }
}

/// The generator's uncertainty against the weights, over the generated events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratorPulls {
    /// K, the generator's posterior draws per event.
    pub draws: usize,
    /// The median over events of the generator's relative uncertainty σ/μ.
    pub median_relative_uncertainty: Option<f64>,
    /// μ(w − 1)/σ with the learned weights.
    pub learned: PullSummary,
    /// The same with the exact weights (toys only).
    pub exact: Option<PullSummary>,
    /// What the page draws: the pull histograms and σ/μ against the learned ln w.
    #[serde(default)]
    pub histograms: Option<PullHistograms>,
}

/// The pulls' histograms on [-PULL_RANGE, PULL_RANGE] (pulls beyond it in the end bins), and the
/// 2-D histogram of (learned ln w, σ/μ) over the generated events: whether the generator's own
/// uncertainty is large where the weights find it wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullHistograms {
    pub edges: Vec<f64>,
    /// Fractions of events per bin.
    pub learned: Vec<f64>,
    pub exact: Option<Vec<f64>>,
    pub uncertainty_map: Histogram2d,
}

/// The pull histograms' half-range and bins.
const PULL_RANGE: f64 = 6.0;
const PULL_BINS: usize = 48;

/// The fractions of `values` per bin of `edges`, the outermost bins holding what lies beyond.
fn clipped_fractions(values: &[f64], edges: &[f64]) -> Vec<f64> {
    let (lo, hi) = (edges[0], edges[edges.len() - 1]);
    let inner: Vec<f64> = values.iter().map(|v| v.clamp(lo, hi - 1e-9 * (hi - lo))).collect();
    let counts = stats::histogram::histogram(&inner, None, edges);
    counts.iter().map(|c| c / values.len().max(1) as f64).collect()
}

impl PullHistograms {
    fn of(learned: &[f64], exact: Option<&[f64]>, log_w: &[f64], relative: &[Option<f64>]) -> PullHistograms {
        let edges = stats::histogram::linear_edges(-PULL_RANGE, PULL_RANGE, PULL_BINS);
        let points: Vec<(f64, f64)> = log_w.iter().zip(relative).filter_map(|(l, r)| r.map(|r| (*l, r))).collect();
        let xs: Vec<f64> = points.iter().map(|p| p.0).collect();
        let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
        let bound = |v: &[f64], q: f64, fallback: f64| quantile(v, q).and_then(finite).unwrap_or(fallback);
        let (x0, x1) = (bound(&xs, 0.005, -1.0), bound(&xs, 0.995, 1.0));
        let y1 = bound(&ys, 0.99, 1.0);
        let x = Binning::linear(x0.min(x1 - 1e-3), x1.max(x0 + 1e-3), 40);
        let y = Binning::linear(0.0, y1.max(1e-6), 30);
        PullHistograms {
            learned: clipped_fractions(learned, &edges),
            exact: exact.map(|e| clipped_fractions(e, &edges)),
            edges,
            uncertainty_map: Histogram2d::fill(&x, &y, points),
        }
    }
}

/// The relative uncertainty σ/μ of one event's K log densities (None where it is 0 or undefined).
fn relative_uncertainty(log_p: &[f64]) -> Option<f64> {
    let ref_log = log_p.iter().copied().filter(|x| x.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    if !ref_log.is_finite() {
        return None;
    }
    // Scaled by the largest density: σ/μ is scale-free, and exp underflows no draw that matters.
    let p: Vec<f64> = log_p.iter().map(|l| (l - ref_log).exp()).collect();
    let mu = quantile(&p, 0.5)?;
    let sigma = 0.5 * (quantile(&p, 0.841)? - quantile(&p, 0.159)?);
    finite(sigma / mu).filter(|r| *r > 0.0)
}

/// [`GeneratorPulls`] from the generated events' K log densities (`log_p[i]`, one row per
/// event) and their ln w (learned, and exact where known); None with fewer than two draws.
pub fn generator_pulls(log_p: &[Vec<f64>], learned: &[f64], exact: Option<&[f64]>) -> Option<GeneratorPulls> {
    let draws = log_p.first().map_or(0, Vec::len);
    if draws < 2 || log_p.len() != learned.len() || exact.is_some_and(|e| e.len() != learned.len()) {
        return None;
    }
    let rel: Vec<Option<f64>> = log_p.iter().map(|row| relative_uncertainty(row)).collect();
    let pulls = |log_w: &[f64]| -> Vec<f64> {
        rel.iter().zip(log_w).filter_map(|(r, l)| r.and_then(|r| finite((l.exp() - 1.0) / r))).collect()
    };
    let known: Vec<f64> = rel.iter().flatten().copied().collect();
    let (learned_pulls, exact_pulls) = (pulls(learned), exact.map(pulls));
    Some(GeneratorPulls {
        draws,
        median_relative_uncertainty: quantile(&known, 0.5).and_then(finite),
        learned: PullSummary::of(&learned_pulls),
        exact: exact_pulls.as_deref().map(PullSummary::of),
        histograms: Some(PullHistograms::of(&learned_pulls, exact_pulls.as_deref(), learned, &rel)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Draws spread ±10 % around p: σ/μ ≈ 0.1, so w = 1.1 pulls by about 1 and w = 1 by 0.
    #[test]
    fn a_deviation_of_one_relative_uncertainty_pulls_by_one() {
        let row: Vec<f64> = (0..201).map(|k| (1.0 + 0.1 * stats::inverse_phi((k as f64 + 0.5) / 201.0)).ln()).collect();
        let rows = vec![row; 50];
        let p = generator_pulls(&rows, &[1.1f64.ln(); 50], Some(&[0.0; 50])).unwrap();
        let r = p.median_relative_uncertainty.unwrap();
        assert!((r - 0.1).abs() < 0.005, "σ/μ {r}");
        assert!((p.learned.median.unwrap() - 1.0).abs() < 0.05, "{:?}", p.learned);
        assert_eq!(p.exact.unwrap().median, Some(0.0));
        assert!(generator_pulls(&[vec![0.0]], &[0.0], None).is_none(), "one draw has no spread");
    }
}
