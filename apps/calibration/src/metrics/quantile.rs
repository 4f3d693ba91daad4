//! Quantiles as numpy computes them by default ("linear", Hyndman–Fan type 7): the value at
//! position q (n − 1) of the sorted sample, interpolated linearly between neighbours. The
//! study's resolution (Q84 − Q16) / (2 median) is defined with these.

/// The q-quantile of sorted values; None for none.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let pos = q.clamp(0.0, 1.0) * (n - 1) as f64;
    let i = pos.floor() as usize;
    let frac = pos - i as f64;
    let next = sorted[(i + 1).min(n - 1)];
    Some(sorted[i] + frac * (next - sorted[i]))
}

/// The finite values, sorted.
pub fn sorted_finite(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut v: Vec<f64> = values.into_iter().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// The median of the finite values; None for none.
pub fn median(values: impl IntoIterator<Item = f64>) -> Option<f64> {
    quantile_sorted(&sorted_finite(values), 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // numpy.quantile([1, 2, 3, 4], [0.16, 0.5, 0.84]) = [1.48, 2.5, 3.52]
        assert!((quantile_sorted(&v, 0.16).unwrap() - 1.48).abs() < 1e-12);
        assert_eq!(quantile_sorted(&v, 0.5), Some(2.5));
        assert!((quantile_sorted(&v, 0.84).unwrap() - 3.52).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[], 0.5), None);
        assert_eq!(median([3.0, f64::NAN, 1.0, 2.0]), Some(2.0));
    }
}
