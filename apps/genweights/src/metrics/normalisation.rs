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
