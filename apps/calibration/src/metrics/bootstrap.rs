//! Bootstrap errors of resolution differences (docs/calibration-method.md §5.2 and §6.3): is one
//! method's resolution worse than another's by more than the test sample's own noise?
//!
//! The test clusters are drawn with replacement (all of them at once, so a bin's count varies
//! as it would in another sample), and every method's resolution (Q84 − Q16)/(2 median) in every
//! E_dep bin is recomputed on the same resample. Because the methods share each resample, the
//! spread of the difference accounts for their correlation: two calibrations of the same
//! clusters scatter together, and the difference is far better known than either value.
//!
//! A resample is a vector of multiplicities rather than a list of drawn rows: each method's bin
//! is sorted once, and a quantile of the resample is found by walking that order and summing
//! multiplicities, with the same interpolation rule as `stats::quantile_sorted`. A resample
//! then costs O(n) per method instead of a sort.
//!
//! Per-cluster weights (`--weight-column`) are not applied here yet: the comparison is of the
//! unweighted resolutions, and `evaluate` says so in its notes when a weight column is given.

use super::binned::bin_members;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Resamples per evaluation: the standard error of a standard error from B resamples is about
/// 1/√(2B), 5 % at 200, enough for a test at two standard errors.
pub const RESAMPLES: usize = 200;

/// The resampling seed: fixed, so an evaluation is reproducible.
pub const SEED: u64 = 24;

/// The name of the exact mean* (R_pred = the generator's mean response) among the compared
/// responses, when the file has the truth: the resolution a network that learned the mean exactly
/// would reach, the yardstick for the networks' own.
pub const EXACT_MEAN: &str = "exact-mean";

/// Resolution a − b in one E_dep bin with its bootstrap standard error, and a/b with its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DifferenceBin {
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
    pub resolution_a: Option<f64>,
    pub resolution_b: Option<f64>,
    /// resolution_a − resolution_b on the test sample.
    pub difference: Option<f64>,
    /// The standard deviation of the difference over the resamples.
    pub difference_se: Option<f64>,
    /// resolution_a / resolution_b and the standard deviation of the ratio over the resamples.
    pub ratio: Option<f64>,
    pub ratio_se: Option<f64>,
}

/// The resolutions of two methods compared bin by bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolutionDifference {
    pub a: String,
    pub b: String,
    pub resamples: usize,
    pub seed: u64,
    pub by_e_dep: Vec<DifferenceBin>,
}

/// One method's response sorted within one bin: the values and their clusters.
struct SortedBin {
    values: Vec<f64>,
    clusters: Vec<usize>,
}

impl SortedBin {
    fn new(response: &[f64], members: &[usize]) -> SortedBin {
        let mut pairs: Vec<(f64, usize)> =
            members.iter().map(|&i| (response[i], i)).filter(|(v, _)| v.is_finite()).collect();
        pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
        SortedBin { values: pairs.iter().map(|p| p.0).collect(), clusters: pairs.iter().map(|p| p.1).collect() }
    }

    /// (Q84 − Q16)/(2 median) of the sample in which cluster i appears `counts[i]` times; None
    /// below `min_entries` entries. With every count 1 this is `binned::summarise`'s value.
    fn resolution(&self, counts: &[u32], min_entries: usize) -> Option<f64> {
        let mult: Vec<u32> = self.clusters.iter().map(|&i| counts[i]).collect();
        let total: usize = mult.iter().map(|&m| m as usize).sum();
        if total < min_entries.max(1) {
            return None;
        }
        // The k-th value (0-based) of the resample, for increasing k, by one walk of the order.
        let ranks = |q: f64| {
            let h = (total - 1) as f64 * q;
            let lo = h.floor() as usize;
            (lo, (lo + 1).min(total - 1), h - lo as f64)
        };
        let wanted = [ranks(0.16), ranks(0.5), ranks(0.84)];
        let mut targets: Vec<usize> = wanted.iter().flat_map(|w| [w.0, w.1]).collect();
        targets.sort_unstable();
        let mut found = Vec::with_capacity(targets.len());
        let (mut seen, mut t) = (0usize, 0usize);
        for (v, &m) in self.values.iter().zip(&mult) {
            seen += m as usize;
            while t < targets.len() && targets[t] < seen {
                found.push((targets[t], *v));
                t += 1;
            }
        }
        let value_at = |k: usize| found.iter().find(|f| f.0 == k).map(|f| f.1);
        let q = |w: (usize, usize, f64)| Some(value_at(w.0)? + w.2 * (value_at(w.1)? - value_at(w.0)?));
        let (q16, q50, q84) = (q(wanted[0])?, q(wanted[1])?, q(wanted[2])?);
        (q50 != 0.0).then(|| (q84 - q16) / (2.0 * q50))
    }
}

fn std_dev(values: &[f64]) -> Option<f64> {
    if values.len() < 2 {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    Some((values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt())
}

/// Every pair of `responses` (name, r = R^EM/R_pred per cluster) compared in bins of E_dep, on
/// `resamples` shared bootstrap resamples of the clusters drawn from `seed`.
pub fn resolution_differences(
    responses: &[(&str, &[f64])],
    e_dep: &[f64],
    edges: &[f64],
    min_entries: usize,
    resamples: usize,
    seed: u64,
) -> Vec<ResolutionDifference> {
    let members = bin_members(e_dep, edges);
    let sorted: Vec<Vec<SortedBin>> =
        responses.iter().map(|(_, r)| members.iter().map(|m| SortedBin::new(r, m)).collect()).collect();
    let ones = vec![1u32; e_dep.len()];
    let on_sample: Vec<Vec<Option<f64>>> =
        sorted.iter().map(|bins| bins.iter().map(|b| b.resolution(&ones, min_entries)).collect()).collect();
    // boot[method][bin] = the resolution on every resample where it exists (None kept in place,
    // so that the methods' resamples stay paired).
    let mut boot = vec![vec![Vec::with_capacity(resamples); members.len()]; responses.len()];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut counts = vec![0u32; e_dep.len()];
    for _ in 0..resamples {
        counts.iter_mut().for_each(|c| *c = 0);
        for _ in 0..e_dep.len() {
            counts[rng.random_range(0..e_dep.len())] += 1;
        }
        for (m, bins) in sorted.iter().enumerate() {
            for (b, bin) in bins.iter().enumerate() {
                boot[m][b].push(bin.resolution(&counts, min_entries));
            }
        }
    }
    let mut out = Vec::new();
    for a in 0..responses.len() {
        for b in a + 1..responses.len() {
            let by_e_dep = (0..members.len())
                .map(|k| {
                    let paired = |f: fn(f64, f64) -> f64| -> Vec<f64> {
                        let pairs = boot[a][k].iter().zip(&boot[b][k]);
                        pairs.filter_map(|(x, y)| Some(f((*x)?, (*y)?))).filter(|v| v.is_finite()).collect()
                    };
                    let (ra, rb) = (on_sample[a][k], on_sample[b][k]);
                    let both = ra.zip(rb);
                    DifferenceBin {
                        lo: edges[k],
                        hi: edges[k + 1],
                        n: members[k].len(),
                        resolution_a: ra,
                        resolution_b: rb,
                        difference: both.map(|(x, y)| x - y),
                        difference_se: both.and(std_dev(&paired(|x, y| x - y))),
                        ratio: both.filter(|(_, y)| *y > 0.0).map(|(x, y)| x / y),
                        ratio_se: both.and(std_dev(&paired(|x, y| if y > 0.0 { x / y } else { f64::NAN }))),
                    }
                })
                .collect();
            out.push(ResolutionDifference {
                a: responses[a].0.to_string(),
                b: responses[b].0.to_string(),
                resamples,
                seed,
                by_e_dep,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::binned::summarise;

    #[test]
    fn a_resample_of_ones_is_the_sample_and_counts_act_as_repeats() {
        let r: Vec<f64> = (0..101).map(|i| 0.5 + ((i * 37) % 101) as f64 / 100.0).collect();
        let all: Vec<usize> = (0..r.len()).collect();
        let bin = SortedBin::new(&r, &all);
        let direct = summarise(&r, &all, (0.0, 1.0), 1, None).resolution.unwrap();
        assert!((bin.resolution(&vec![1; r.len()], 1).unwrap() - direct).abs() < 1e-12);
        // Cluster 3 three times and cluster 5 not at all is the sample with those rows repeated.
        let mut counts = vec![1u32; r.len()];
        counts[3] = 3;
        counts[5] = 0;
        let repeated: Vec<f64> = (0..r.len()).flat_map(|i| std::iter::repeat_n(r[i], counts[i] as usize)).collect();
        let idx: Vec<usize> = (0..repeated.len()).collect();
        let expect = summarise(&repeated, &idx, (0.0, 1.0), 1, None).resolution.unwrap();
        assert!((bin.resolution(&counts, 1).unwrap() - expect).abs() < 1e-12);
    }
}
