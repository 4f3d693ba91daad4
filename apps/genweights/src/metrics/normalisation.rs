//! The normalisation identities of docs/genweights-method.md §1.1 as diagnostics: E_gen[w] = 1 and E_truth[1/w] = 1,
//! each estimated by a sample mean with its standard error.
//!
//! Where the supports differ they read E_gen[w] = 1 − P_truth(w = ∞) and
//! E_truth[1/w] = 1 − P_gen(w = 0): the truth events the generator cannot produce carry no
//! generated weight, and vice versa. The expected value reported is that, with the
//! probabilities estimated by the fractions of infinite truth and zero generated weights (both
//! 0 for a classifier, whose weights are finite and positive).

use super::{check_pair, finite};
use crate::error::Result;
use serde::{Deserialize, Serialize};
use stats::mean_and_error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Identity {
    /// The sample mean; None when it is infinite (an infinite weight among the generated
    /// events, say) or there are fewer than two events.
    pub estimate: Option<f64>,
    pub error: Option<f64>,
    pub expected: f64,
    /// The binomial error of `expected` where it is estimated from a fraction (0 otherwise).
    pub expected_error: f64,
    /// (estimate − expected)/√(error² + expected_error²).
    pub pull: Option<f64>,
}

impl Identity {
    fn new(values: &[f64], expected: f64, expected_error: f64) -> Identity {
        let (estimate, error) = match mean_and_error(values) {
            Some((m, e)) if m.is_finite() && e.is_finite() => (Some(m), Some(e)),
            _ => (None, None),
        };
        let pull = match (estimate, error) {
            (Some(m), Some(e)) if e > 0.0 || expected_error > 0.0 => finite((m - expected) / e.hypot(expected_error)),
            _ => None,
        };
        Identity { estimate, error, expected, expected_error, pull }
    }

    /// Whether the estimate is within `sigmas` combined standard errors of the expectation
    /// (an exact match counts when both errors are 0).
    pub fn holds_within(&self, sigmas: f64) -> bool {
        match (self.estimate, self.error) {
            (Some(m), Some(e)) => (m - self.expected).abs() <= sigmas * e.hypot(self.expected_error) + 1e-12,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormalisationIdentities {
    /// E_gen[w].
    pub gen_mean_w: Identity,
    /// E_truth[1/w].
    pub truth_mean_inverse_w: Identity,
    /// The fraction of truth events with w = ∞.
    pub truth_infinite_fraction: f64,
    /// The fraction of generated events with w = 0.
    pub gen_zero_fraction: f64,
}

pub fn normalisation_identities(truth: &[f64], generated: &[f64]) -> Result<NormalisationIdentities> {
    check_pair(truth, generated)?;
    let inf = truth.iter().filter(|&&l| l == f64::INFINITY).count() as f64 / truth.len() as f64;
    let zero = generated.iter().filter(|&&l| l == f64::NEG_INFINITY).count() as f64 / generated.len() as f64;
    let w: Vec<f64> = generated.iter().map(|l| l.exp()).collect();
    let inv: Vec<f64> = truth.iter().map(|l| (-l).exp()).collect();
    Ok(NormalisationIdentities {
        gen_mean_w: Identity::new(&w, 1.0 - inf, (inf * (1.0 - inf) / truth.len() as f64).sqrt()),
        truth_mean_inverse_w: Identity::new(&inv, 1.0 - zero, (zero * (1.0 - zero) / generated.len() as f64).sqrt()),
        truth_infinite_fraction: inf,
        gen_zero_fraction: zero,
    })
}

/// The data-only identity E_gen[w·1(w < c)] = P_truth(w < c) at one cut c: it needs no exact
/// weights (both sides are means over the samples), so it works on real files, and it holds for
/// every c only if the weights are calibrated (E_gen[w_true | ŵ] = ŵ) in the region ŵ < c.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruncatedIdentity {
    pub cut: f64,
    /// E_gen[w·1(w < c)] and its standard error (the mean's, and the shared offset's beside it).
    pub gen_mean_w_below: f64,
    pub gen_error: f64,
    /// P_truth(w < c) and its binomial error.
    pub truth_fraction_below: f64,
    pub truth_error: f64,
    /// (gen − truth)/√(gen_error² + truth_error²); None when both errors are 0.
    pub pull: Option<f64>,
}

/// [`TruncatedIdentity`] at each of `cuts` (in w), from ln w of both samples; `offset_sigma` is
/// the standard error of the output offset that every learned ln w shares (0 for exact weights):
/// a shift δ of every ln w moves the left side by E_gen[w·1(w < c)]·δ, and the right side not at
/// all to first order (for calibrated weights the two boundary terms cancel).
pub fn truncated_identities(
    truth: &[f64],
    generated: &[f64],
    cuts: &[f64],
    offset_sigma: f64,
) -> Result<Vec<TruncatedIdentity>> {
    check_pair(truth, generated)?;
    let (nt, ng) = (truth.len() as f64, generated.len() as f64);
    let mut out = Vec::with_capacity(cuts.len());
    for &cut in cuts {
        let log_cut = cut.ln();
        let below: Vec<f64> = generated.iter().map(|&l| if l < log_cut { l.exp() } else { 0.0 }).collect();
        let mean = below.iter().sum::<f64>() / ng;
        let var = below.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (ng - 1.0).max(1.0);
        let gen_error = (var / ng + (mean * offset_sigma).powi(2)).sqrt();
        let p = truth.iter().filter(|&&l| l < log_cut).count() as f64 / nt;
        let truth_error = (p * (1.0 - p) / nt).sqrt();
        let total = gen_error.hypot(truth_error);
        out.push(TruncatedIdentity {
            cut,
            gen_mean_w_below: mean,
            gen_error,
            truth_fraction_below: p,
            truth_error,
            pull: (total > 0.0).then(|| (mean - p) / total).and_then(finite),
        });
    }
    Ok(out)
}
