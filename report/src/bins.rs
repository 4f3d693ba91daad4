//! Binning helpers, so an app can turn per-event numbers into the histograms the figures draw
//! without writing its own edge search.

/// `n` equal-width bin edges from `lo` to `hi` (n + 1 values); empty when the range is unusable.
pub fn linear_edges(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) || n == 0 {
        return Vec::new();
    }
    (0..=n).map(|i| if i == n { hi } else { lo + (hi - lo) * i as f64 / n as f64 }).collect()
}

/// `n` bins of equal width in log10 from `lo` to `hi` (both positive); empty when unusable.
pub fn log_edges(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo > 0.0 && hi.is_finite() && hi > lo) {
        return Vec::new();
    }
    linear_edges(lo.log10(), hi.log10(), n).into_iter().map(|e| 10f64.powf(e)).collect()
}

/// The bin of `v` among increasing `edges` (the last bin includes its upper edge), if any.
pub fn bin_index(edges: &[f64], v: f64) -> Option<usize> {
    let (first, last) = (*edges.first()?, *edges.last()?);
    if edges.len() < 2 || !v.is_finite() || v < first || v > last {
        return None;
    }
    // The number of edges <= v, minus one; binary search needs the edges sorted.
    let above = edges.partition_point(|&e| e <= v);
    Some(above.saturating_sub(1).min(edges.len() - 2))
}

/// Counts of `values` per bin (optionally weighted); values outside the edges or not finite are
/// left out.
pub fn histogram(values: &[f64], weights: Option<&[f64]>, edges: &[f64]) -> Vec<f64> {
    let mut counts = vec![0.0; edges.len().saturating_sub(1)];
    for (i, &v) in values.iter().enumerate() {
        let w = weights.map_or(1.0, |w| w.get(i).copied().unwrap_or(0.0));
        if let (Some(b), true) = (bin_index(edges, v), w.is_finite()) {
            counts[b] += w;
        }
    }
    counts
}

/// Counts of the points (x[i], y[i]) per cell, x-major: cell (ix, iy) is at `ix * ny + iy`, where
/// ny is the number of y bins (the layout [`crate::Heatmap`] expects).
pub fn histogram_2d(x: &[f64], y: &[f64], x_edges: &[f64], y_edges: &[f64]) -> Vec<f64> {
    let (nx, ny) = (x_edges.len().saturating_sub(1), y_edges.len().saturating_sub(1));
    let mut counts = vec![0.0; nx * ny];
    for (&a, &b) in x.iter().zip(y) {
        if let (Some(i), Some(j)) = (bin_index(x_edges, a), bin_index(y_edges, b)) {
            counts[i * ny + j] += 1.0;
        }
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_and_counts() {
        assert_eq!(linear_edges(0.0, 1.0, 4), [0.0, 0.25, 0.5, 0.75, 1.0]);
        let e = log_edges(0.1, 1000.0, 4);
        assert!((e[1] - 1.0).abs() < 1e-12 && e[4] == 1000.0, "{e:?}");
        assert!(log_edges(0.0, 1.0, 3).is_empty() && linear_edges(1.0, 1.0, 3).is_empty());
        assert_eq!(histogram(&[0.1, 0.3, 0.3, 1.0, 2.0, f64::NAN], None, &[0.0, 0.25, 0.5, 1.0]), [1.0, 2.0, 1.0]);
        assert_eq!(histogram(&[0.1, 0.6], Some(&[2.0, 0.5]), &[0.0, 0.5, 1.0]), [2.0, 0.5]);
        assert_eq!(
            histogram_2d(&[0.1, 0.9, 0.9], &[0.1, 0.1, 0.9], &[0.0, 0.5, 1.0], &[0.0, 0.5, 1.0]),
            [1.0, 0.0, 1.0, 1.0]
        );
        assert_eq!(bin_index(&[0.0, 1.0], 1.0), Some(0));
        assert_eq!(bin_index(&[0.0], 0.0), None);
    }
}
