//! Bins as numpy makes them: `n` bins have `n + 1` strictly increasing edges, a value belongs to
//! [e_i, e_{i+1}) except in the last bin, which is closed, [e_{n-1}, e_n], and values outside
//! the edges or NaN belong nowhere (numpy drops them). The diagnostics and figures must bin
//! exactly as the papers' numpy code did.
//!
//! **Sizes never come from the data.** Every allocation here is sized by the caller's bin count,
//! capped at [`MAX_BINS`], never by the width of a range: a range of 1 ± 1e-14, of 1e300 or of
//! NaN gives a bounded answer (or none), not a loop that runs past 2⁵³.

use serde::{Deserialize, Serialize};

/// The most bins any function here makes: far beyond what a figure or a diagnostic can show,
/// and small enough that a mistaken count cannot exhaust memory.
pub const MAX_BINS: usize = 1 << 20;

/// `n` equal-width edges from `lo` to `hi` (n + 1 values, np.linspace); empty when the range is
/// not finite, not increasing, or n is 0. `n` is capped at [`MAX_BINS`].
pub fn linear_edges(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite() && hi > lo) || n == 0 {
        return Vec::new();
    }
    let n = n.min(MAX_BINS);
    let width = hi - lo;
    if !width.is_finite() {
        // lo and hi near ±f64::MAX: interpolate without forming the overflowing difference.
        return (0..=n)
            .map(|i| if i == n { hi } else { lo * (1.0 - i as f64 / n as f64) + hi * (i as f64 / n as f64) })
            .collect();
    }
    let edges: Vec<f64> = (0..=n).map(|i| if i == n { hi } else { lo + width * i as f64 / n as f64 }).collect();
    // A range narrower than n ulps cannot hold n distinct edges.
    if edges.windows(2).all(|w| w[0] < w[1]) {
        edges
    } else {
        Vec::new()
    }
}

/// `n` edges of equal width in log10 from `lo` to `hi` (both positive, np.logspace), with the end
/// points exact so values at lo or hi are inside; empty when unusable.
pub fn log_edges(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo > 0.0 && hi.is_finite() && hi > lo) {
        return Vec::new();
    }
    let mut edges: Vec<f64> = linear_edges(lo.log10(), hi.log10(), n).into_iter().map(|e| 10f64.powf(e)).collect();
    if let Some(first) = edges.first_mut() {
        *first = lo;
    }
    if let Some(last) = edges.last_mut() {
        *last = hi;
    }
    if edges.windows(2).all(|w| w[0] < w[1]) {
        edges
    } else {
        Vec::new()
    }
}

/// The bin of `v` among increasing `edges` (the last bin includes its upper edge); None outside
/// the edges, for a non-finite value, or for fewer than two edges.
pub fn bin_index(edges: &[f64], v: f64) -> Option<usize> {
    if edges.len() < 2 {
        return None;
    }
    let (first, last) = (edges[0], edges[edges.len() - 1]);
    if !v.is_finite() || v < first || v > last {
        return None;
    }
    // The number of edges <= v, minus one (binary search: the edges are sorted).
    Some(edges.partition_point(|&e| e <= v).saturating_sub(1).min(edges.len() - 2))
}

/// Counts of `values` per bin, optionally weighted (a missing or non-finite weight counts as
/// nothing); values outside the edges or not finite are left out.
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

/// Counts of the points (x[i], y[i]) per cell, x-major: cell (ix, iy) is at `ix * ny + iy`, with
/// ny the number of y bins.
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

/// Edges of `bins` bins holding about equal numbers of the finite values (their type-7
/// quantiles), from the smallest value to the largest, so that every bin has the statistics for a
/// fit. Repeated edges (many tied values) are merged, so there may be fewer bins; no finite
/// values or no bins give no edges.
pub fn equal_count_edges(values: &[f64], bins: usize) -> Vec<f64> {
    let v = crate::quantile::sorted_finite(values.iter().copied());
    if v.is_empty() || bins == 0 {
        return Vec::new();
    }
    let bins = bins.min(MAX_BINS);
    let mut edges: Vec<f64> =
        (0..=bins).filter_map(|i| crate::quantile::quantile_sorted(&v, i as f64 / bins as f64)).collect();
    edges.dedup();
    edges
}

/// Bin edges, strictly increasing, with numpy's membership rule; serialisable, so a diagnostic
/// can keep the binning it was computed with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binning {
    pub edges: Vec<f64>,
}

impl Binning {
    /// `n` equal bins on [lo, hi]; a single bin [lo, lo + 1] when the range cannot be split (so
    /// a constant sample still gets a histogram), see [`linear_edges`].
    pub fn linear(lo: f64, hi: f64, n: usize) -> Binning {
        let edges = linear_edges(lo, hi, n.max(1));
        Binning { edges: if edges.is_empty() { Self::fallback(lo) } else { edges } }
    }

    /// `n` bins equal in log10 between lo > 0 and hi, see [`log_edges`].
    pub fn log(lo: f64, hi: f64, n: usize) -> Binning {
        let edges = log_edges(lo, hi, n.max(1));
        Binning { edges: if edges.is_empty() { Self::fallback(lo) } else { edges } }
    }

    fn fallback(lo: f64) -> Vec<f64> {
        let lo = if lo.is_finite() { lo } else { 0.0 };
        if lo + 1.0 > lo {
            vec![lo, lo + 1.0]
        } else if lo < f64::MAX {
            vec![lo, lo.next_up()] // |lo| beyond 2^53: one ulp is the narrowest bin there is
        } else {
            vec![lo.next_down(), lo]
        }
    }

    /// Edges given explicitly; None unless at least two, finite and strictly increasing.
    pub fn from_edges(edges: Vec<f64>) -> Option<Binning> {
        let ok = edges.len() >= 2 && edges.iter().all(|e| e.is_finite()) && edges.windows(2).all(|w| w[0] < w[1]);
        ok.then_some(Binning { edges })
    }

    pub fn bins(&self) -> usize {
        self.edges.len() - 1
    }

    pub fn lo(&self) -> f64 {
        self.edges[0]
    }

    pub fn hi(&self) -> f64 {
        self.edges[self.edges.len() - 1]
    }

    /// The bin of `x` (see [`bin_index`]).
    pub fn index(&self, x: f64) -> Option<usize> {
        bin_index(&self.edges, x)
    }

    /// The bin centres (arithmetic).
    pub fn centres(&self) -> Vec<f64> {
        self.edges.windows(2).map(|w| 0.5 * (w[0] + w[1])).collect()
    }

    pub fn widths(&self) -> Vec<f64> {
        self.edges.windows(2).map(|w| w[1] - w[0]).collect()
    }
}

/// Weighted bin contents with their sums of squared weights (the variance of each bin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub binning: Binning,
    pub sum_w: Vec<f64>,
    pub sum_w2: Vec<f64>,
    /// Unweighted entries per bin.
    pub entries: Vec<u64>,
}

impl Histogram {
    pub fn empty(binning: &Binning) -> Histogram {
        let n = binning.bins();
        Histogram { binning: binning.clone(), sum_w: vec![0.0; n], sum_w2: vec![0.0; n], entries: vec![0; n] }
    }

    /// Counts (weight 1) of `values` inside the range; values outside are dropped, as numpy does.
    pub fn fill(binning: &Binning, values: impl IntoIterator<Item = f64>) -> Histogram {
        let mut h = Histogram::empty(binning);
        for v in values {
            h.add(v, 1.0);
        }
        h
    }

    /// Weighted counts; pairs with a non-finite weight are skipped.
    pub fn fill_weighted(binning: &Binning, values: impl IntoIterator<Item = (f64, f64)>) -> Histogram {
        let mut h = Histogram::empty(binning);
        for (v, w) in values {
            if w.is_finite() {
                h.add(v, w);
            }
        }
        h
    }

    pub fn add(&mut self, value: f64, weight: f64) {
        if let Some(i) = self.binning.index(value) {
            self.sum_w[i] += weight;
            self.sum_w2[i] += weight * weight;
            self.entries[i] += 1;
        }
    }

    pub fn total(&self) -> f64 {
        self.sum_w.iter().sum()
    }

    /// Contents divided by their sum (zeros when empty).
    pub fn unit_sum(&self) -> Vec<f64> {
        let t = self.total();
        self.sum_w.iter().map(|v| if t > 0.0 { v / t } else { 0.0 }).collect()
    }

    /// Contents divided by sum × bin width (numpy's `density=True`): zeros when empty.
    pub fn density(&self) -> Vec<f64> {
        let t = self.total();
        self.sum_w.iter().zip(self.binning.widths()).map(|(v, w)| if t > 0.0 { v / (t * w) } else { 0.0 }).collect()
    }

    /// The statistical errors of [`density`](Self::density): √(Σw²) / (sum × width).
    pub fn density_errors(&self) -> Vec<f64> {
        let t = self.total();
        let widths = self.binning.widths();
        self.sum_w2.iter().zip(widths).map(|(v, w)| if t > 0.0 { v.sqrt() / (t * w) } else { 0.0 }).collect()
    }
}

/// A 2-D histogram of counts, row-major over (x bin, y bin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram2d {
    pub x: Binning,
    pub y: Binning,
    pub counts: Vec<u64>,
}

impl Histogram2d {
    pub fn fill(x: &Binning, y: &Binning, points: impl IntoIterator<Item = (f64, f64)>) -> Histogram2d {
        let mut counts = vec![0u64; x.bins() * y.bins()];
        for (a, b) in points {
            if let (Some(i), Some(j)) = (x.index(a), y.index(b)) {
                counts[i * y.bins() + j] += 1;
            }
        }
        Histogram2d { x: x.clone(), y: y.clone(), counts }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bins_are_half_open_except_the_last() {
        let b = Binning::linear(0.0, 3.0, 3);
        assert_eq!(b.index(0.0), Some(0));
        assert_eq!(b.index(1.0), Some(1));
        assert_eq!(b.index(2.999), Some(2));
        assert_eq!(b.index(3.0), Some(2));
        assert_eq!(b.index(3.000_001), None);
        assert_eq!(b.index(-0.1), None);
        assert_eq!(b.index(f64::NAN), None);
        let h = Histogram::fill(&b, [0.0, 1.0, 1.5, 3.0, 7.0]);
        assert_eq!(h.entries, vec![1, 2, 1]);
        let l = Binning::log(1e-2, 1e2, 4);
        assert!((l.edges[2] - 1.0).abs() < 1e-12 && l.edges[0] == 1e-2 && l.edges[4] == 1e2);
        assert_eq!(
            histogram(&[0.5, 1.5, 1.5, 9.0], Some(&[1.0, 2.0, f64::NAN, 1.0]), &[0.0, 1.0, 2.0]),
            vec![1.0, 2.0]
        );
        assert_eq!(histogram_2d(&[0.5, 1.5], &[0.5, 0.5], &[0.0, 1.0, 2.0], &[0.0, 1.0]), vec![1.0, 1.0]);
    }

    #[test]
    fn equal_count_edges_split_the_sample_and_merge_ties() {
        assert_eq!(equal_count_edges(&[1.0, 2.0, 3.0, 4.0, 5.0], 2), vec![1.0, 3.0, 5.0]);
        assert_eq!(equal_count_edges(&[2.0, 2.0, 2.0], 4), vec![2.0]);
        assert!(equal_count_edges(&[f64::NAN], 3).is_empty());
    }

    #[test]
    fn degenerate_ranges_give_no_edges_or_one_bin() {
        assert!(linear_edges(1.0, 1.0 + 1e-15, 100).is_empty(), "100 edges cannot fit in 4 ulps");
        assert!(linear_edges(f64::NAN, 1.0, 10).is_empty());
        assert!(linear_edges(0.0, f64::INFINITY, 10).is_empty());
        assert_eq!(linear_edges(-f64::MAX, f64::MAX, 4).len(), 5);
        assert_eq!(Binning::linear(1.0, 1.0, 10).bins(), 1);
        assert_eq!(Binning::linear(f64::NAN, f64::NAN, 10).bins(), 1);
        assert_eq!(Binning::log(0.0, 1.0, 10).bins(), 1);
    }

    fn any_end() -> impl Strategy<Value = f64> {
        prop_oneof![
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::NEG_INFINITY),
            Just(f64::MAX),
            Just(-f64::MAX),
            Just(1.0),
            Just(1.0 + 1e-14),
            any::<f64>(),
            -1e3f64..1e3,
        ]
    }

    proptest! {
        #[test]
        fn any_range_gives_bounded_increasing_edges(lo in any_end(), hi in any_end(), n in 0usize..5000) {
            for edges in [linear_edges(lo, hi, n), log_edges(lo, hi, n)] {
                prop_assert!(edges.len() <= n.min(MAX_BINS) + 1);
                prop_assert!(edges.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(edges.iter().all(|e| e.is_finite()));
            }
            let b = Binning::linear(lo, hi, n);
            prop_assert!(b.bins() >= 1 && b.bins() <= n.clamp(1, MAX_BINS));
            prop_assert!(b.edges.windows(2).all(|w| w[0] < w[1]));
        }
    }
}
