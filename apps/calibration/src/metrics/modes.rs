//! The secondary maximum of the relative-uncertainty spectrum (docs/calibration-method.md §5.8, §6.1): the
//! local maxima of the histogram of ln(σ/R) above 1 GeV, with and without the gap clusters. The
//! gap clusters "form the secondary maximum" when the spectrum has a mode above every mode of the
//! spectrum without them. One test for the exact answer (the generator's self-check) and for
//! every method (the study's acceptance), so the two are judged alike.

use serde::{Deserialize, Serialize};

/// The histogram the modes are read from: 30 bins of ln(σ/R) from 2 % to 120 %, wide enough
/// that a few times 10^4 clusters give no spurious maxima, narrow enough to separate the bulk
/// from a mode at twice its width.
pub const MODE_RANGE: (f64, f64) = (0.02, 1.2);
pub const MODE_BINS: usize = 30;

/// The modes of one spectrum with and without the gap clusters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapModes {
    /// σ/R at the bin centres of the local maxima, all clusters.
    pub with_gap: Vec<f64>,
    /// The same without the gap clusters.
    pub without_gap: Vec<f64>,
    /// The mode above every mode of `without_gap`, when there is one: the secondary maximum that
    /// removing the gap clusters removes.
    pub gap_mode: Option<f64>,
}

/// The σ/R at the local maxima of the ln-histogram of `values` (bins above 0.2 % of the peak).
pub fn modes(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let (lo, hi) = (MODE_RANGE.0.ln(), MODE_RANGE.1.ln());
    let width = (hi - lo) / MODE_BINS as f64;
    let mut counts = vec![0.0f64; MODE_BINS];
    for v in values {
        let x = v.ln();
        if x.is_finite() && x >= lo && x < hi {
            counts[(((x - lo) / width) as usize).min(MODE_BINS - 1)] += 1.0;
        }
    }
    let top = counts.iter().copied().fold(0.0, f64::max);
    (1..MODE_BINS - 1)
        .filter(|&i| counts[i] > counts[i - 1] && counts[i] >= counts[i + 1] && counts[i] > 0.002 * top)
        .map(|i| (lo + (i as f64 + 0.5) * width).exp())
        .collect()
}

/// The modes of `rel` (σ/R per cluster) over the clusters `keep` selects, with and without those
/// whose `is_gap` is true.
pub fn gap_modes(rel: &[f64], keep: impl Fn(usize) -> bool, is_gap: impl Fn(usize) -> bool) -> GapModes {
    let chosen: Vec<usize> = (0..rel.len()).filter(|&i| keep(i)).collect();
    let with_gap = modes(chosen.iter().map(|&i| rel[i]));
    let without_gap = modes(chosen.iter().filter(|&&i| !is_gap(i)).map(|&i| rel[i]));
    let highest_without = without_gap.iter().copied().fold(0.0, f64::max);
    let gap_mode = with_gap
        .iter()
        .copied()
        .filter(|&m| m > highest_without)
        .fold(None, |a: Option<f64>, m| Some(a.map_or(m, |a| a.max(m))));
    GapModes { with_gap, without_gap, gap_mode }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bell-shaped cloud of `n` values around `centre`, relative spread about 10 % (the sum of
    /// three quasi-random uniforms, so the test needs no random numbers).
    fn cloud(centre: f64, n: usize) -> Vec<f64> {
        let frac = |x: f64| x - x.floor();
        (0..n)
            .map(|i| {
                let i = i as f64;
                let z = 2.0 * (frac(0.618_034 * i) + frac(0.414_214 * i) + frac(0.732_051 * i) - 1.5);
                centre * (0.1 * z).exp()
            })
            .collect()
    }

    #[test]
    fn a_gap_cloud_above_the_bulk_is_the_gap_mode_and_a_shoulder_is_not() {
        let mut rel = cloud(0.15, 20_000);
        rel.extend(cloud(0.33, 10_000));
        let bulk = rel.len();
        rel.extend(cloud(0.6, 2_000));
        let m = gap_modes(&rel, |_| true, |i| i >= bulk);
        assert_eq!(m.without_gap.len(), 2, "{m:?}");
        let g = m.gap_mode.expect("a gap mode");
        assert!((g / 0.6 - 1.0).abs() < 0.15, "{g}");
        // The same gap clusters smeared into the bulk's upper flank: no mode of their own.
        let mut smeared = rel[..bulk].to_vec();
        smeared.extend((0..2_000).map(|i| 0.33 + 0.2 * i as f64 / 2_000.0));
        let s = gap_modes(&smeared, |_| true, |i| i >= bulk);
        assert_eq!(s.gap_mode, None, "{s:?}");
        // Values outside the range and non-finite ones are ignored, not a panic.
        assert!(modes([f64::NAN, -1.0, 0.0, 5.0]).is_empty());
    }
}
