//! Calibration diagnostics for regression with uncertainties: are the predicted sigmas the size
//! of the actual errors? The tools are pulls (target - mean) / sigma, whose distribution is N(0, 1)
//! for calibrated Gaussian errors, a Gaussian core fit of their width, the coverage of the
//! +-1 and +-2 sigma intervals, and all of it binned in an observed variable, because a model can
//! be calibrated on average and wrong in every bin.
//!
//! Empty inputs and empty bins give zeros rather than NaN: the results go into metrics.json, and
//! JSON has no NaN.

use crate::predictive::Prediction;
use serde::{Deserialize, Serialize};

/// Half-width of the core-fit window in units of the current sigma. +-2 sigma keeps 95% of a
/// Gaussian (little statistical loss) while cutting the tails that inflate the RMS.
pub const CORE_WINDOW: f64 = 2.0;

/// Pulls (target - mean) / sigma. Entries whose sigma is not positive, or where any input or the
/// pull itself is not finite, are left out: such a pull carries no calibration information (a
/// deterministic model has sigma_stat = 0), and leaving it in would poison every fit. The result
/// may therefore be shorter than the inputs, which are also truncated to the shortest.
pub fn pulls(target: &[f64], mean: &[f64], sigma: &[f64]) -> Vec<f64> {
    target
        .iter()
        .zip(mean)
        .zip(sigma)
        .filter(|&((_, _), &s)| s > 0.0 && s.is_finite())
        .map(|((t, m), s)| (t - m) / s)
        .filter(|p| p.is_finite())
        .collect()
}

/// A Gaussian fitted to the core of a distribution.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GaussFit {
    pub mean: f64,
    pub sigma: f64,
    /// The number of entries inside the final window, i.e. that the fit actually used.
    pub n: usize,
}

impl GaussFit {
    /// The fit of nothing: zeros, so that it serialises cleanly.
    pub const EMPTY: GaussFit = GaussFit { mean: 0.0, sigma: 0.0, n: 0 };
}

/// Gaussian fit of the core of a distribution, robust to tails, with the default window of
/// [`CORE_WINDOW`] = +-2 sigma. See [`gauss_core_fit_window`].
pub fn gauss_core_fit(values: &[f64]) -> GaussFit {
    gauss_core_fit_window(values, CORE_WINDOW)
}

/// Gaussian fit of the core of a distribution in a window of +-`k` sigma (k is limited to
/// [0.5, 5]).
///
/// Pull distributions have tails (outliers, non-Gaussian errors) that inflate the plain RMS, and
/// a histogram fit depends on the binning; so this is an iterated truncated-moment fit:
///
/// 1. start from the median and 1.4826 x MAD (the sigma of a Gaussian with that MAD; both ignore
///    tails of up to half the entries), or the plain standard deviation if the MAD is zero;
/// 2. take the entries within mean +- k sigma; their mean is the new mean, and their variance
///    divided by c(k) = 1 - 2k phi(k) / (2 Phi(k) - 1), the variance of a standard normal
///    truncated to [-k, k], is the new sigma^2. The correction makes the estimate consistent for
///    an exact Gaussian (c(2) = 0.7737); it is computed for the window used;
/// 3. repeat until mean and sigma change by less than 1e-10 sigma (the fixed-point map contracts
///    by about a factor two per step), or at most 500 times.
///
/// Non-finite values are ignored. No values give [`GaussFit::EMPTY`]; identical values give
/// their value with sigma = 0.
pub fn gauss_core_fit_window(values: &[f64], k: f64) -> GaussFit {
    let k = if k.is_finite() { k.clamp(0.5, 5.0) } else { CORE_WINDOW };
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return GaussFit::EMPTY;
    }
    v.sort_by(f64::total_cmp);
    let mut mean = stats::quantile_sorted(&v, 0.5).unwrap_or(0.0);
    let mut dev: Vec<f64> = v.iter().map(|x| (x - mean).abs()).collect();
    dev.sort_by(f64::total_cmp);
    let mut sigma = 1.4826 * stats::quantile_sorted(&dev, 0.5).unwrap_or(0.0);
    if sigma <= 0.0 {
        let (m, var) = moments(&v);
        (mean, sigma) = (m, var.sqrt());
    }
    if sigma <= 0.0 || !sigma.is_finite() {
        return if mean.is_finite() { GaussFit { mean, sigma: 0.0, n: v.len() } } else { GaussFit::EMPTY };
    }
    let c = truncated_variance(k);
    let mut n = v.len();
    for _ in 0..500 {
        // The values are sorted: the window is a contiguous slice.
        let a = v.partition_point(|&x| x < mean - k * sigma);
        let b = v.partition_point(|&x| x <= mean + k * sigma);
        if b - a < 2 {
            break;
        }
        let (m, var) = moments(&v[a..b]);
        let s = (var / c).sqrt();
        n = b - a;
        let done = (m - mean).abs() < 1e-10 * sigma && (s - sigma).abs() < 1e-10 * sigma;
        (mean, sigma) = (m, s);
        if done || sigma <= 0.0 {
            break;
        }
    }
    if mean.is_finite() && sigma.is_finite() {
        GaussFit { mean, sigma, n }
    } else {
        GaussFit::EMPTY // only values near f64::MAX overflow the moments
    }
}

/// Mean and population variance (the fit corrects for truncation, not for the N - 1).
fn moments(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    (m, v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n)
}

/// Variance of a standard normal truncated to [-k, k]: 1 - 2k phi(k) / (2 Phi(k) - 1).
pub fn truncated_variance(k: f64) -> f64 {
    1.0 - 2.0 * k * stats::normal_pdf(k) / normal_mass(k)
}

/// P(|Z| < k) = 2 Phi(k) - 1 for a standard normal Z.
pub fn normal_mass(k: f64) -> f64 {
    stats::normal_interval(-k.abs(), k.abs())
}

/// Fraction of pulls with |pull| < k: 0.6827 at k = 1 and 0.9545 at k = 2 for calibrated
/// Gaussian errors. Unlike the fitted width it sees the tails. Non-finite pulls are left out;
/// no pulls give 0.
pub fn coverage(pulls: &[f64], k: f64) -> f64 {
    let finite = pulls.iter().filter(|p| p.is_finite());
    let (inside, total) = finite.fold((0usize, 0usize), |(i, t), p| (i + usize::from(p.abs() < k), t + 1));
    if total == 0 {
        0.0
    } else {
        inside as f64 / total as f64
    }
}

/// Calibration in one bin of a variable.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BinStats {
    pub lo: f64,
    pub hi: f64,
    /// Entries whose binning variable falls in [lo, hi).
    pub n: usize,
    pub pull_tot: GaussFit,
    pub pull_stat: GaussFit,
    pub pull_syst: GaussFit,
    /// Coverage of the total pull at 1 and 2 sigma.
    pub coverage1: f64,
    pub coverage2: f64,
    pub mean_sigma_tot: f64,
    pub mean_sigma_stat: f64,
    pub mean_sigma_syst: f64,
}

/// Pulls of the total, statistical and systematic sigmas, fitted per bin of `bin_var`. Bin
/// membership follows [`histogram`]. Bin in an observed variable: binning in the target selects
/// on it and biases the pulls even of a perfect model. The inputs are truncated to the shortest;
/// bins without entries have n = 0 and zeros elsewhere.
pub fn pull_report(target: &[f64], pred: &Prediction, bin_var: &[f64], edges: &[f64]) -> Vec<BinStats> {
    let n = [
        target.len(),
        bin_var.len(),
        pred.mean.len(),
        pred.sigma_tot2.len(),
        pred.sigma_stat2.len(),
        pred.sigma_syst2.len(),
    ]
    .into_iter()
    .min()
    .unwrap_or(0);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); edges.len().saturating_sub(1)];
    for (i, &v) in bin_var[..n].iter().enumerate() {
        if let Some(b) = stats::bin_index(edges, v) {
            members[b].push(i);
        }
    }
    // A negative or NaN variance gives a NaN sigma, which the pulls and the means then skip.
    let sqrt = |v: &[f64], idx: &[usize]| idx.iter().map(|&i| v[i].sqrt()).collect::<Vec<f64>>();
    members
        .iter()
        .enumerate()
        .map(|(b, idx)| {
            let t: Vec<f64> = idx.iter().map(|&i| target[i]).collect();
            let m: Vec<f64> = idx.iter().map(|&i| pred.mean[i]).collect();
            let (tot, stat, syst) =
                (sqrt(&pred.sigma_tot2, idx), sqrt(&pred.sigma_stat2, idx), sqrt(&pred.sigma_syst2, idx));
            let p_tot = pulls(&t, &m, &tot);
            BinStats {
                lo: edges[b],
                hi: edges[b + 1],
                n: idx.len(),
                pull_tot: gauss_core_fit(&p_tot),
                pull_stat: gauss_core_fit(&pulls(&t, &m, &stat)),
                pull_syst: gauss_core_fit(&pulls(&t, &m, &syst)),
                coverage1: coverage(&p_tot, 1.0),
                coverage2: coverage(&p_tot, 2.0),
                mean_sigma_tot: finite_mean(&tot),
                mean_sigma_stat: finite_mean(&stat),
                mean_sigma_syst: finite_mean(&syst),
            }
        })
        .collect()
}

fn finite_mean(v: &[f64]) -> f64 {
    let (s, n) = v.iter().filter(|x| x.is_finite()).fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 {
        0.0
    } else {
        s / n as f64
    }
}

pub use stats::equal_count_edges;

/// Counts per bin for increasing `edges` (numpy's rule: [e_i, e_i+1), the last bin closed);
/// values outside the edges and non-finite values are not counted anywhere. Fewer than two edges
/// give no bins.
pub fn histogram(values: &[f64], edges: &[f64]) -> Vec<f64> {
    stats::histogram(values, None, edges)
}

/// The pull distribution as a density over the bins of increasing `edges` (bins as in
/// [`histogram`]): counts / (all finite pulls x bin width). It is normalised to every finite pull,
/// not to those inside the edges, so pulls beyond the outer edges show as missing area rather
/// than being hidden. No pulls, or zero-width bins, give zeros.
pub fn pull_density(pulls: &[f64], edges: &[f64]) -> Vec<f64> {
    let total = pulls.iter().filter(|p| p.is_finite()).count();
    histogram(pulls, edges)
        .iter()
        .zip(edges.windows(2))
        .map(|(c, w)| {
            let area = total as f64 * (w[1] - w[0]);
            if area > 0.0 {
                c / area
            } else {
                0.0
            }
        })
        .collect()
}

/// The Gaussian of a core fit as a density at `x`, to draw over a [`pull_density`] of the same
/// `total` finite pulls: scaled to the fraction of pulls in the fit's window, fit.n / total,
/// divided by the Gaussian's own mass inside that window (the window is +-`k` sigma; `k` =
/// [`CORE_WINDOW`] for [`gauss_core_fit`]), so that the curve lies on the core of the histogram
/// even when tails hold many pulls. A fit of width zero, or no pulls, gives zeros.
pub fn core_fit_density(fit: &GaussFit, k: f64, total: usize, x: &[f64]) -> Vec<f64> {
    let k = if k.is_finite() { k.clamp(0.5, 5.0) } else { CORE_WINDOW };
    if fit.sigma <= 0.0 || !fit.sigma.is_finite() || total == 0 {
        return vec![0.0; x.len()];
    }
    let scale = fit.n as f64 / total as f64 / normal_mass(k);
    x.iter().map(|&v| scale * stats::normal_pdf((v - fit.mean) / fit.sigma) / fit.sigma).collect()
}
