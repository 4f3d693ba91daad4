//! Linearity and resolution of a response in bins of a variable (docs/calibration-method.md §5.2):
//! L = median(r), σ/E = (Q84 − Q16) / (2 median), with at least `min_entries` per bin (Loch's
//! plotting default 50); a bin with fewer is reported with its count and no values.

use super::weighted::quantiles_of;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinSummary {
    pub lo: f64,
    pub hi: f64,
    /// Entries with lo ≤ v < hi.
    pub n: usize,
    /// None when n < the minimum.
    pub median: Option<f64>,
    pub q16: Option<f64>,
    pub q84: Option<f64>,
    /// (Q84 − Q16) / (2 median).
    pub resolution: Option<f64>,
}

/// The indices of the entries of each bin [e_i, e_i+1); values outside are in no bin.
pub fn bin_members(var: &[f64], edges: &[f64]) -> Vec<Vec<usize>> {
    let bins = edges.len().saturating_sub(1);
    let mut members = vec![Vec::new(); bins];
    if bins == 0 {
        return members;
    }
    for (i, &v) in var.iter().enumerate() {
        // Unlike numpy's histograms, the top edge belongs to no bin here.
        if v >= edges[bins] {
            continue;
        }
        if let Some(b) = stats::bin_index(edges, v) {
            members[b].push(i);
        }
    }
    members
}

/// Summary of `values` restricted to `idx`, its quantiles weighted by `weights` when given
/// (`n` stays the number of clusters, which the minimum applies to).
pub fn summarise(
    values: &[f64],
    idx: &[usize],
    (lo, hi): (f64, f64),
    min_entries: usize,
    weights: Option<&[f64]>,
) -> BinSummary {
    let mut s = BinSummary { lo, hi, n: idx.len(), median: None, q16: None, q84: None, resolution: None };
    let finite = idx.iter().filter(|&&i| values[i].is_finite()).count();
    if finite < min_entries.max(1) {
        return s;
    }
    let q = quantiles_of(values, idx, weights, &[0.5, 0.16, 0.84]);
    (s.median, s.q16, s.q84) = (q[0], q[1], q[2]);
    if let (Some(m), Some(a), Some(b)) = (s.median, s.q16, s.q84) {
        s.resolution = if m != 0.0 { Some((b - a) / (2.0 * m)) } else { None };
    }
    s
}

/// Linearity and resolution of `response` in bins of `var`.
pub fn response_in_bins(response: &[f64], var: &[f64], edges: &[f64], min_entries: usize) -> Vec<BinSummary> {
    response_in_bins_weighted(response, var, edges, min_entries, None)
}

/// [`response_in_bins`] with the clusters weighted by `weights` when given.
pub fn response_in_bins_weighted(
    response: &[f64],
    var: &[f64],
    edges: &[f64],
    min_entries: usize,
    weights: Option<&[f64]>,
) -> Vec<BinSummary> {
    bin_members(var, edges)
        .iter()
        .enumerate()
        .map(|(b, idx)| summarise(response, idx, (edges[b], edges[b + 1]), min_entries, weights))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_perfect_response_has_linearity_one_and_no_width() {
        let var: Vec<f64> = (0..200).map(|i| i as f64 / 100.0).collect();
        let bins = response_in_bins(&vec![1.0; 200], &var, &[0.0, 1.0, 2.0, 3.0], 50);
        assert_eq!(bins[0].median, Some(1.0));
        assert_eq!(bins[0].resolution, Some(0.0));
        assert_eq!((bins[2].n, bins[2].median), (0, None));
    }
}
