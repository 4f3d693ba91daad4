//! Proptest strategies for property tests of gradients (feature `testing`).
//!
//! Shapes include scalars, 1xN and Nx1, and broadcastable pairs; values stay a margin away
//! from kinks (relu at 0, abs at 0, clamp bounds) where finite differences straddle a corner.

use proptest::prelude::*;

/// A shape of rank `min_rank..=max_rank` with axes of size 1..=max_dim.
pub fn shape(min_rank: usize, max_rank: usize, max_dim: usize) -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(1..=max_dim, min_rank..=max_rank)
}

/// Two shapes that broadcast against each other: some axes of either collapse to 1, and the
/// shorter one may drop leading axes. Scalars, 1xN and Nx1 all appear.
pub fn broadcast_pair(max_rank: usize, max_dim: usize) -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    shape(0, max_rank, max_dim)
        .prop_flat_map(|full| {
            let n = full.len();
            (Just(full), prop::collection::vec(0u8..4, n), prop::collection::vec(0u8..4, n), 0..=n, 0..=n)
        })
        .prop_map(|(full, ma, mb, drop_a, drop_b)| {
            // 0 collapses an axis to 1 in a, 1 collapses it in b, anything else keeps it.
            let a: Vec<usize> = full.iter().zip(&ma).map(|(&d, &m)| if m == 0 { 1 } else { d }).collect();
            let b: Vec<usize> = full.iter().zip(&mb).map(|(&d, &m)| if m == 1 { 1 } else { d }).collect();
            let (drop_a, drop_b) = if drop_a > 0 && drop_b > 0 { (drop_a, 0) } else { (drop_a, drop_b) };
            (a[drop_a.min(a.len())..].to_vec(), b[drop_b.min(b.len())..].to_vec())
        })
}

/// Values in [-range, range] at least `margin` away from each point in `kinks`.
pub fn values_away_from(len: usize, range: f64, kinks: Vec<f64>, margin: f64) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(-range..range, len).prop_map(move |mut v| {
        for x in v.iter_mut() {
            for &k in &kinks {
                if (*x - k).abs() < margin {
                    *x = if *x >= k { k + margin } else { k - margin };
                }
            }
        }
        v
    })
}

/// Smooth-region values: in [-range, range] and at least `margin` from 0.
pub fn nonzero_values(len: usize, range: f64, margin: f64) -> impl Strategy<Value = Vec<f64>> {
    values_away_from(len, range, vec![0.0], margin)
}

/// Strictly positive values in [lo, hi] (inputs of log, sqrt, powf, division).
pub fn positive_values(len: usize, lo: f64, hi: f64) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(lo..hi, len)
}

/// A shape together with values for it.
pub fn tensor_data(max_rank: usize, max_dim: usize, range: f64) -> impl Strategy<Value = (Vec<usize>, Vec<f64>)> {
    shape(0, max_rank, max_dim).prop_flat_map(move |s| {
        let n = s.iter().product();
        (Just(s), nonzero_values(n, range, 0.05))
    })
}
