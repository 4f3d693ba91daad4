//! Quantiles and fractions over a subset of the clusters, weighted by their event weights when
//! the evaluation has them (`evaluate --weight-column`). A sliced dijet sample is a set of
//! slices with very different cross sections; unweighted, each slice would count by the number
//! of events generated in it rather than by how often nature makes it.
//!
//! Without weights these are the plain quantiles (`stats::quantile_sorted`, numpy's linear
//! rule) and counts, so an unweighted evaluation is exactly what it was. With weights they are
//! `stats::weighted_quantile`, which follows the same interpolation rule and gives the same
//! numbers when all weights are equal, and weighted fractions.

use stats::{quantile_sorted, sorted_finite, weighted_quantile};

/// The `qs`-quantiles of `values[i]` for the rows `idx`, weighted by `weights[i]` when given.
/// Non-finite values take no part; None where nothing is left.
pub fn quantiles_of(values: &[f64], idx: &[usize], weights: Option<&[f64]>, qs: &[f64]) -> Vec<Option<f64>> {
    match weights {
        None => {
            let sorted = sorted_finite(idx.iter().map(|&i| values[i]));
            qs.iter().map(|&q| quantile_sorted(&sorted, q)).collect()
        }
        Some(w) => {
            let v: Vec<f64> = idx.iter().map(|&i| values[i]).collect();
            let w: Vec<f64> = idx.iter().map(|&i| w[i]).collect();
            qs.iter().map(|&q| weighted_quantile(&v, &w, q)).collect()
        }
    }
}

/// The (weighted) median of `values[i]` for the rows `idx`.
pub fn median_of(values: &[f64], idx: &[usize], weights: Option<&[f64]>) -> Option<f64> {
    quantiles_of(values, idx, weights, &[0.5])[0]
}

/// The (weighted) median of all of `values`.
pub fn median_all(values: &[f64], weights: Option<&[f64]>) -> Option<f64> {
    let all: Vec<usize> = (0..values.len()).collect();
    median_of(values, &all, weights)
}

/// The pulls (pred − target)/σ of the rows `idx` whose σ is positive and finite and whose pull is
/// finite, with each pull's weight (1 without weights).
pub fn pulls_of(
    pred: &[f64],
    target: &[f64],
    sigma: &[f64],
    idx: &[usize],
    weights: Option<&[f64]>,
) -> (Vec<f64>, Vec<f64>) {
    let mut pulls = Vec::with_capacity(idx.len());
    let mut pull_weights = Vec::with_capacity(idx.len());
    for &i in idx {
        let s = sigma[i];
        if !(s > 0.0 && s.is_finite()) {
            continue;
        }
        let t = (pred[i] - target[i]) / s;
        if t.is_finite() {
            pulls.push(t);
            pull_weights.push(weights.map_or(1.0, |w| w[i]));
        }
    }
    (pulls, pull_weights)
}

/// The weighted share of `pulls` with |t| < k; 0 when the weights sum to nothing. With unit
/// weights this is the count share, to the last bit.
pub fn coverage_of(pulls: &[f64], weights: &[f64], k: f64) -> f64 {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let inside: f64 = pulls.iter().zip(weights).filter(|(t, _)| t.abs() < k).map(|(_, w)| w).sum();
    inside / total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_quantiles_of_a_subset_match_a_hand_computed_answer() {
        // Rows 1..4 hold 1, 2, 3 with weights 1, 2, 1: centres 0.5, 2, 3.5 sit at p = 0, 1/2, 1.
        let (v, w) = ([9.0, 1.0, 2.0, 3.0], [5.0, 1.0, 2.0, 1.0]);
        let q = quantiles_of(&v, &[1, 2, 3], Some(&w), &[0.16, 0.5, 0.84]);
        let want = [1.32, 2.0, 2.68];
        for (got, want) in q.iter().zip(want) {
            assert!((got.unwrap() - want).abs() < 1e-12, "{got:?} vs {want}");
        }
        // Unweighted, the same rows give numpy's answer: 1.32, 2, 2.68 as well (k / (n - 1)).
        assert_eq!(quantiles_of(&v, &[1, 2, 3], None, &[0.5]), vec![Some(2.0)]);
        assert_eq!(median_of(&v, &[0, 1], Some(&[0.0, 1.0, 1.0, 1.0])), Some(1.0), "a zero weight takes no part");
    }

    #[test]
    fn coverage_counts_weights_and_unit_weights_count_clusters() {
        let (p, _) = pulls_of(&[1.0, 3.0, 0.0, 5.0], &[0.0; 4], &[2.0, 2.0, 0.0, 1.0], &[0, 1, 2, 3], None);
        assert_eq!(p, vec![0.5, 1.5, 5.0], "a zero sigma gives no pull");
        assert_eq!(coverage_of(&p, &[1.0; 3], 1.0), 1.0 / 3.0);
        assert_eq!(coverage_of(&p, &[3.0, 1.0, 0.0], 1.0), 0.75);
        assert_eq!(coverage_of(&p, &[0.0; 3], 1.0), 0.0);
    }
}
