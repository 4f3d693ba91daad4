//! The paper's comparison of classifier weights with a Bayesian generator's own uncertainty
//! (docs/genweights-method.md §5.10, after the paper's BINN section): each generated event
//! carries K log densities ln p_k(x), one per posterior draw of the generator. With
//! μ = median_k p_k and σ = (q84 − q16)/2 over k, the relative uncertainty is σ/μ and the pull is
//! μ(w − 1)/σ: since w − 1 = (p_truth − p_model)/p_model, the pull is the generator's deviation
//! from truth in units of its own uncertainty, about N(0, 1) where that uncertainty covers it.
//! It needs no exact weights; with them it is shown for the exact w beside the learned one.

use super::finite;
use serde::{Deserialize, Serialize};
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
    Some(GeneratorPulls {
        draws,
        median_relative_uncertainty: quantile(&known, 0.5).and_then(finite),
        learned: PullSummary::of(&pulls(learned)),
        exact: exact.map(|e| PullSummary::of(&pulls(e))),
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
