//! Quantiles as numpy computes them by default (`np.quantile(..., method="linear")`, Hyndman and
//! Fan's type 7): the sorted sample's k-th value (0-based) sits at probability k / (n − 1), and
//! a quantile between two of them is interpolated linearly. The calibration study's resolution
//! (Q84 − Q16) / (2 median) and the genweights study's cuts are defined with it, so both apps,
//! `nn`'s diagnostics and the figures call this one function.
//!
//! The weighted quantile generalises the same rule rather than inventing another: each value
//! stands at the centre of its weight, c_k = S_k − w_k/2 with S_k the cumulative weight, and
//! those centres are rescaled so that the first value stands at probability 0 and the last at 1,
//! p_k = (c_k − c_1) / (c_n − c_1). With equal weights this is k / (n − 1) again, so weighted
//! and unweighted quantiles agree exactly when the weights do.

/// The q-quantile (q is clamped to [0, 1]) of values already sorted ascending. Infinite entries
/// are allowed: between two equal infinities the result is that infinity. None for an empty
/// slice or a NaN q.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || q.is_nan() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    Some(interpolate(sorted[lo], sorted[hi], h - lo as f64))
}

/// a + t (b − a), exact at t = 0 and between equal (possibly infinite) ends.
fn interpolate(a: f64, b: f64, t: f64) -> f64 {
    if t == 0.0 || a == b {
        a
    } else {
        a + t * (b - a)
    }
}

/// The q-quantile of unsorted values; NaN entries are ignored, infinities kept.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    quantile_sorted(&sorted_non_nan(values.iter().copied()), q)
}

/// The finite values, sorted ascending.
pub fn sorted_finite(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The values without NaN, sorted ascending (−∞ first, +∞ last).
pub fn sorted_non_nan(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The median of the finite values; None for none.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    quantile_sorted(&sorted_finite(values), 0.5)
}

/// The weighted q-quantile (the rule in the module documentation) of `values` with `weights`
/// (same length). Pairs with a non-finite value or a zero weight take no part. None when
/// nothing is left, when the lengths differ, or when a weight is negative or not finite: a
/// negative event weight has no place in a quantile, and the caller should say which column
/// held it rather than get a number.
pub fn weighted_quantile(values: &[f64], weights: &[f64], q: f64) -> Option<f64> {
    if values.len() != weights.len() || q.is_nan() || weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
        return None;
    }
    let mut pairs: Vec<(f64, f64)> =
        values.iter().copied().zip(weights.iter().copied()).filter(|&(v, w)| v.is_finite() && w > 0.0).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (first, last) = (pairs.first()?, pairs.last()?);
    let total: f64 = pairs.iter().map(|p| p.1).sum();
    let (c_first, c_last) = (0.5 * first.1, total - 0.5 * last.1);
    if pairs.len() == 1 || c_last <= c_first {
        return Some(first.0);
    }
    let q = q.clamp(0.0, 1.0);
    let mut cumulative = 0.0;
    let mut previous = (0.0, first.0);
    for &(value, weight) in &pairs {
        let p = ((cumulative + 0.5 * weight - c_first) / (c_last - c_first)).min(1.0);
        cumulative += weight;
        if p >= q {
            let (p0, v0) = previous;
            let t = if p > p0 { (q - p0) / (p - p0) } else { 0.0 };
            return Some(interpolate(v0, value, t));
        }
        previous = (p, value);
    }
    Some(last.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // np.quantile([1, 2, 3, 4], [0, .16, .25, .5, .84, .9, 1])
        let want = [(0.0, 1.0), (0.16, 1.48), (0.25, 1.75), (0.5, 2.5), (0.84, 3.52), (0.9, 3.7), (1.0, 4.0)];
        for (q, w) in want {
            assert!((quantile(&v, q).unwrap() - w).abs() < 1e-12, "q = {q}");
        }
        assert_eq!(quantile(&[1.0, f64::INFINITY, f64::INFINITY], 0.9), Some(f64::INFINITY));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[1.0], f64::NAN), None);
        assert_eq!(median([3.0, f64::NAN, 1.0, 2.0, f64::INFINITY]), Some(2.0));
    }

    #[test]
    fn weighted_quantiles_match_hand_computed_answers() {
        // Centres of weight 0.5, 2, 3.5 -> probabilities 0, 1/2, 1.
        let (v, w) = ([1.0, 2.0, 3.0], [1.0, 2.0, 1.0]);
        assert_eq!(weighted_quantile(&v, &w, 0.5), Some(2.0));
        assert_eq!(weighted_quantile(&v, &w, 0.25), Some(1.5));
        assert_eq!(weighted_quantile(&v, &w, 0.0), Some(1.0));
        assert_eq!(weighted_quantile(&v, &w, 1.0), Some(3.0));
        // Zero weights take no part; negative or non-finite weights are refused.
        assert_eq!(weighted_quantile(&[1.0, 100.0, 3.0], &[1.0, 0.0, 1.0], 0.5), Some(2.0));
        assert_eq!(weighted_quantile(&v, &[1.0, -1.0, 1.0], 0.5), None);
        assert_eq!(weighted_quantile(&v, &[1.0, f64::NAN, 1.0], 0.5), None);
        assert_eq!(weighted_quantile(&v, &[1.0], 0.5), None);
        assert_eq!(weighted_quantile(&[7.0], &[0.3], 0.9), Some(7.0));
    }

    #[test]
    fn weighted_quantiles_do_not_depend_on_the_input_order() {
        // [1,2,3] with weights [1,1,2], given in another order: centres 0.5, 1.5, 3 -> p = 0, 0.4, 1.
        let got = weighted_quantile(&[3.0, 1.0, 2.0], &[2.0, 1.0, 1.0], 0.5).unwrap();
        assert!((got - (2.0 + 0.1 / 0.6)).abs() < 1e-12, "{got}");
    }

    proptest! {
        #[test]
        fn equal_weights_give_the_unweighted_quantile(
            values in prop::collection::vec(-1e6f64..1e6, 1..60),
            weight in 1e-3f64..1e3,
            q in 0.0f64..=1.0,
        ) {
            let weights = vec![weight; values.len()];
            let a = weighted_quantile(&values, &weights, q).unwrap();
            let b = quantile(&values, q).unwrap();
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
        }

        #[test]
        fn quantiles_are_monotone_in_q_and_inside_the_sample(
            values in prop::collection::vec(-1e6f64..1e6, 1..60),
            weights in prop::collection::vec(0.0f64..10.0, 60),
            q1 in 0.0f64..=1.0,
            q2 in 0.0f64..=1.0,
        ) {
            let w = &weights[..values.len()];
            let (lo, hi) = (q1.min(q2), q1.max(q2));
            if let (Some(a), Some(b)) = (weighted_quantile(&values, w, lo), weighted_quantile(&values, w, hi)) {
                prop_assert!(a <= b + 1e-9 * (1.0 + b.abs()));
                let min = values.iter().copied().fold(f64::INFINITY, f64::min);
                let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                prop_assert!(a >= min && b <= max);
            }
        }
    }
}
