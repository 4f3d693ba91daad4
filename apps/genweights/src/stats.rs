//! numpy's conventions, written once: linear-interpolation quantiles (`np.quantile`'s default,
//! "type 7"), and histograms whose bins are half-open except the last, which is closed. The
//! diagnostics and the figures must bin exactly as the paper's numpy code did.

use serde::{Deserialize, Serialize};

/// The q-quantile (0 ≤ q ≤ 1) of values already sorted ascending, by linear interpolation
/// between closest ranks. Infinite entries are allowed: between two equal infinities the result
/// is that infinity. None for an empty slice.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() || !(0.0..=1.0).contains(&q) {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * q;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let frac = h - lo as f64;
    let (a, b) = (sorted[lo], sorted[hi]);
    if frac == 0.0 || a == b {
        return Some(a);
    }
    Some(a + frac * (b - a))
}

/// The q-quantile of unsorted values (NaN entries are ignored).
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    let sorted = sorted_finite_or_infinite(values);
    quantile_sorted(&sorted, q)
}

/// The values without NaN, sorted ascending (−∞ first, +∞ last).
pub fn sorted_finite_or_infinite(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_by(f64::total_cmp);
    v
}

/// Mean and standard error of the mean (sample standard deviation / √n); None when n < 2.
pub fn mean_and_error(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1) as f64;
    Some((mean, (var / n as f64).sqrt()))
}

/// Bin edges, strictly increasing, with numpy's membership rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binning {
    pub edges: Vec<f64>,
}

impl Binning {
    /// `n` equal bins on [lo, hi] (np.linspace(lo, hi, n + 1)).
    pub fn linear(lo: f64, hi: f64, n: usize) -> Binning {
        let n = n.max(1);
        let edges = (0..=n).map(|i| if i == n { hi } else { lo + (hi - lo) * i as f64 / n as f64 }).collect();
        Binning { edges }
    }

    /// `n` bins equal in log10 between lo > 0 and hi (np.logspace(log10 lo, log10 hi, n + 1)).
    pub fn log(lo: f64, hi: f64, n: usize) -> Binning {
        let (a, b) = (lo.log10(), hi.log10());
        let mut edges: Vec<f64> = Binning::linear(a, b, n).edges.into_iter().map(|e| 10f64.powf(e)).collect();
        // Keep the end points exact, so values at lo or hi are inside.
        edges[0] = lo;
        if let Some(last) = edges.last_mut() {
            *last = hi;
        }
        Binning { edges }
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

    /// The bin of `x`: [e_i, e_{i+1}) for every bin but the last, which is [e_{n-1}, e_n].
    /// None outside the range and for NaN.
    pub fn index(&self, x: f64) -> Option<usize> {
        if x.is_nan() || x < self.lo() || x > self.hi() {
            return None;
        }
        let n = self.bins();
        if x == self.hi() {
            return Some(n - 1);
        }
        // The number of edges ≤ x, minus one.
        Some(self.edges.partition_point(|&e| e <= x) - 1)
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

    /// Contents divided by their sum (the weight-histogram convention of
    /// docs/genweights-method.md §5.3): zeros when empty.
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
        self.sum_w2
            .iter()
            .zip(self.binning.widths())
            .map(|(v, w)| if t > 0.0 { v.sqrt() / (t * w) } else { 0.0 })
            .collect()
    }
}

/// A 2-D histogram of counts, row-major over (x bin, y bin), for the learned-against-exact map.
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

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // np.quantile([1,2,3,4], [0, .25, .5, .9, 1]) = [1, 1.75, 2.5, 3.7, 4]
        let q: Vec<f64> = [0.0, 0.25, 0.5, 0.9, 1.0].iter().map(|&q| quantile(&v, q).unwrap()).collect();
        for (a, b) in q.iter().zip([1.0, 1.75, 2.5, 3.7, 4.0]) {
            assert!((a - b).abs() < 1e-12, "{q:?}");
        }
        assert_eq!(quantile(&[1.0, f64::INFINITY, f64::INFINITY], 0.9), Some(f64::INFINITY));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn bins_are_half_open_except_the_last() {
        let b = Binning::linear(0.0, 3.0, 3);
        assert_eq!(b.index(0.0), Some(0));
        assert_eq!(b.index(1.0), Some(1));
        assert_eq!(b.index(2.999), Some(2));
        assert_eq!(b.index(3.0), Some(2));
        assert_eq!(b.index(3.000_001), None);
        assert_eq!(b.index(-0.1), None);
        let h = Histogram::fill(&b, [0.0, 1.0, 1.5, 3.0, 7.0]);
        assert_eq!(h.entries, vec![1, 2, 1]);
        let l = Binning::log(1e-2, 1e2, 4);
        assert!((l.edges[2] - 1.0).abs() < 1e-12 && l.edges[0] == 1e-2 && l.edges[4] == 1e2);
    }
}
