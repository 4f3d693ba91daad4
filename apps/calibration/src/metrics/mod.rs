//! The metrics of docs/calibration-method.md §5 and what its acceptance tests (§6) read, for any calibration
//! method κ given as a predicted response R_pred (E_κ = E^EM / R_pred) and optionally its
//! uncertainties:
//!
//! - response r = E_κ / E_dep = R^EM / R_pred; linearity median(r) and resolution
//!   (Q84 − Q16)/(2 median) in bins of E_dep, E^EM, ⟨μ⟩, N_PV and |η|;
//! - closure median(R_pred / truth_R_mean) in E^EM bins, when the file has the truth;
//! - pulls t = (R_pred − R^EM)/σ for σ_tot, σ_stat, σ_syst: Gaussian core fit and coverage at
//!   1 and 2 σ in E^EM bins (observed variable: binning in E_dep biases pulls);
//! - median σ_syst / truth_R_sd, the gap ratio, the μ slope of the linearity at low E_dep;
//! - per-cluster agreement of two methods' uncertainties;
//! - bootstrap errors of the resolution difference of two methods (`bootstrap`).
//!
//! With per-cluster weights ([`EvalData::weights`]) every median, quantile and coverage is
//! weighted ([`weighted`]); the Gaussian core fit of the pulls and the correlation of log σ are
//! not (a fit and a correlation, not quantiles), and bin counts stay cluster counts.
//!
//! Empty bins are None (null in JSON), never NaN.

pub mod binned;
pub mod bootstrap;
pub mod modes;
pub mod weighted;

use binned::{bin_members, response_in_bins_weighted, BinSummary};
use nn::diagnostics::{gauss_core_fit, GaussFit};
use serde::{Deserialize, Serialize};
use weighted::{coverage_of, median_all, median_of, pulls_of};

/// The bin edges of every metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binning {
    /// E_dep (GeV): the bins of the reference table of docs/calibration-generator.md §11.
    pub e_dep: Vec<f64>,
    /// E^EM (GeV).
    pub e_em: Vec<f64>,
    pub mu: Vec<f64>,
    pub n_pv: Vec<f64>,
    pub abs_eta: Vec<f64>,
    /// Fewer entries than this leave a bin empty.
    pub min_entries: usize,
    /// The E_dep window of the μ-dependence (GeV).
    pub mu_slope_e_dep: (f64, f64),
    /// Gap clusters have truth_gap above the first value, the others below the second; both
    /// with E^EM above `gap_min_e_em`.
    pub gap_thresholds: (f64, f64),
    pub gap_min_e_em: f64,
}

impl Default for Binning {
    fn default() -> Self {
        Binning {
            e_dep: vec![0.3, 0.6, 1.0, 2.0, 5.0, 20.0, 100.0, 2000.0],
            e_em: vec![0.03, 0.1, 0.3, 0.6, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 2000.0],
            mu: vec![8.0, 25.0, 40.0, 55.0, 75.0],
            n_pv: vec![1.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 60.0],
            abs_eta: vec![0.0, 0.4, 0.8, 1.2, 1.4, 1.6, 2.0, 2.5, 3.2],
            min_entries: 50,
            mu_slope_e_dep: (0.3, 2.0),
            gap_thresholds: (0.5, 0.1),
            gap_min_e_em: 1.0,
        }
    }
}

/// The observed and truth quantities of the selected clusters.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalData {
    pub e_em: Vec<f64>,
    pub e_dep: Vec<f64>,
    pub mu: Vec<f64>,
    pub n_pv: Vec<f64>,
    pub abs_eta: Vec<f64>,
    pub truth: Option<Truth>,
    /// Per-cluster weights (MC event weights), finite and >= 0; None: every cluster counts once.
    pub weights: Option<Vec<f64>>,
}

/// The generator's truth, when the file has it.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub r_mean: Vec<f64>,
    pub r_sd: Vec<f64>,
    pub r_median: Vec<f64>,
    pub gap: Vec<f64>,
}

impl EvalData {
    pub fn len(&self) -> usize {
        self.e_em.len()
    }

    pub fn is_empty(&self) -> bool {
        self.e_em.is_empty()
    }

    /// R^EM = E^EM / E_dep.
    pub fn r_em(&self) -> Vec<f64> {
        self.e_em.iter().zip(&self.e_dep).map(|(e, d)| e / d).collect()
    }
}

/// The uncertainties of a method's R_pred.
#[derive(Debug, Clone, PartialEq)]
pub struct Sigmas {
    pub tot: Vec<f64>,
    pub stat: Vec<f64>,
    pub syst: Vec<f64>,
}

/// A calibration to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Method {
    pub name: String,
    /// Where it came from ("reference", a file name).
    pub source: String,
    pub r_pred: Vec<f64>,
    pub sigmas: Option<Sigmas>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMetrics {
    pub by_e_dep: Vec<BinSummary>,
    pub by_e_em: Vec<BinSummary>,
    pub by_mu: Vec<BinSummary>,
    pub by_n_pv: Vec<BinSummary>,
    pub by_abs_eta: Vec<BinSummary>,
}

/// A median in one bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinMedian {
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
    pub median: Option<f64>,
}

/// Pull fits and coverage of one kind of σ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullFit {
    pub core: Option<GaussFit>,
    pub coverage_1sigma: Option<f64>,
    pub coverage_2sigma: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullBin {
    pub lo: f64,
    pub hi: f64,
    pub n: usize,
    pub tot: PullFit,
    pub stat: PullFit,
    pub syst: PullFit,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullMetrics {
    /// All selected clusters (lo, hi = the E^EM range).
    pub overall: PullBin,
    pub by_e_em: Vec<PullBin>,
}

/// median(σ_syst / truth_R_sd).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigmaOverTruth {
    pub median: Option<f64>,
    /// The gap clusters alone (truth_gap above the gap threshold).
    pub median_gap: Option<f64>,
    pub by_e_em: Vec<BinMedian>,
}

/// median(σ_tot/R_pred) of gap clusters over that of the others, and the same from the truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GapRatio {
    pub n_gap: usize,
    pub n_other: usize,
    pub model: Option<f64>,
    pub truth: Option<f64>,
    /// model / truth: the share of the truth's gap contrast the model reproduces.
    pub fraction_of_truth: Option<f64>,
}

/// The linearity against ⟨μ⟩ at low E_dep and a straight line through the bin medians.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MuDependence {
    pub e_dep_range: (f64, f64),
    pub bins: Vec<BinSummary>,
    /// d median / d⟨μ⟩ by least squares over the non-empty bins (bin centres).
    pub slope_per_mu: Option<f64>,
    /// slope × (last edge − first edge): the change across the μ range.
    pub change_over_range: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodMetrics {
    pub name: String,
    pub source: String,
    pub response: ResponseMetrics,
    pub mu_dependence: MuDependence,
    /// median(R_pred / truth_R_mean) per E^EM bin; None without truth.
    pub closure_by_e_em: Option<Vec<BinMedian>>,
    pub pulls: Option<PullMetrics>,
    pub sigma_syst_over_truth_sd: Option<SigmaOverTruth>,
    pub gap_ratio: Option<GapRatio>,
}

/// Two methods' uncertainties cluster by cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigmaAgreement {
    /// Pearson correlation of log σ.
    pub pearson_log: Option<f64>,
    /// median(σ_b / σ_a).
    pub median_ratio: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    pub n: usize,
    pub tot: SigmaAgreement,
    pub stat: SigmaAgreement,
    pub syst: SigmaAgreement,
}

fn bin_medians(values: &[f64], var: &[f64], edges: &[f64], min: usize, w: Option<&[f64]>) -> Vec<BinMedian> {
    bin_members(var, edges)
        .iter()
        .enumerate()
        .map(|(b, idx)| BinMedian {
            lo: edges[b],
            hi: edges[b + 1],
            n: idx.len(),
            median: if idx.len() >= min.max(1) { median_of(values, idx, w) } else { None },
        })
        .collect()
}

/// The core fit (unweighted) and the (weighted) coverage of pulls `p` with weights `w`.
fn pull_fit(p: &[f64], w: &[f64], min_entries: usize) -> PullFit {
    if p.len() < min_entries.max(1) {
        return PullFit { core: None, coverage_1sigma: None, coverage_2sigma: None };
    }
    let fit = gauss_core_fit(p);
    PullFit {
        core: (fit.n > 0).then_some(fit),
        coverage_1sigma: Some(coverage_of(p, w, 1.0)),
        coverage_2sigma: Some(coverage_of(p, w, 2.0)),
    }
}

/// The pulls (R_pred − R^EM)/σ of the rows `idx` for each kind of σ.
fn pull_bin(
    method: &Method,
    r_em: &[f64],
    weights: Option<&[f64]>,
    idx: &[usize],
    lo: f64,
    hi: f64,
    min: usize,
) -> Option<PullBin> {
    let s = method.sigmas.as_ref()?;
    let fit = |sigma: &[f64]| {
        let (p, w) = pulls_of(&method.r_pred, r_em, sigma, idx, weights);
        pull_fit(&p, &w, min)
    };
    Some(PullBin { lo, hi, n: idx.len(), tot: fit(&s.tot), stat: fit(&s.stat), syst: fit(&s.syst) })
}

/// Least-squares slope of y against x.
pub fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 2 {
        return None;
    }
    let n = points.len() as f64;
    let (mx, my) = (points.iter().map(|p| p.0).sum::<f64>() / n, points.iter().map(|p| p.1).sum::<f64>() / n);
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

fn mu_dependence(response: &[f64], data: &EvalData, binning: &Binning) -> MuDependence {
    let (lo, hi) = binning.mu_slope_e_dep;
    let idx: Vec<usize> = (0..data.len()).filter(|&i| data.e_dep[i] > lo && data.e_dep[i] < hi).collect();
    let r: Vec<f64> = idx.iter().map(|&i| response[i]).collect();
    let mu: Vec<f64> = idx.iter().map(|&i| data.mu[i]).collect();
    let w: Option<Vec<f64>> = data.weights.as_ref().map(|w| idx.iter().map(|&i| w[i]).collect());
    let bins = response_in_bins_weighted(&r, &mu, &binning.mu, binning.min_entries, w.as_deref());
    let points: Vec<(f64, f64)> = bins.iter().filter_map(|b| b.median.map(|m| (0.5 * (b.lo + b.hi), m))).collect();
    let slope_per_mu = slope(&points);
    let range = binning.mu.last().copied().unwrap_or(0.0) - binning.mu.first().copied().unwrap_or(0.0);
    MuDependence { e_dep_range: (lo, hi), bins, slope_per_mu, change_over_range: slope_per_mu.map(|s| s * range) }
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

fn gap_ratio(r_pred: &[f64], s: &Sigmas, data: &EvalData, truth: &Truth, binning: &Binning) -> GapRatio {
    let (gap_min, other_max) = binning.gap_thresholds;
    let energetic = |i: &usize| data.e_em[*i] > binning.gap_min_e_em;
    let gap: Vec<usize> = (0..data.len()).filter(energetic).filter(|&i| truth.gap[i] > gap_min).collect();
    let other: Vec<usize> = (0..data.len()).filter(energetic).filter(|&i| truth.gap[i] < other_max).collect();
    let w = data.weights.as_deref();
    let model_rel: Vec<f64> = s.tot.iter().zip(r_pred).map(|(s, r)| s / r).collect();
    let truth_rel: Vec<f64> = truth.r_sd.iter().zip(&truth.r_mean).map(|(s, m)| s / m).collect();
    let rel = |idx: &[usize]| median_of(&model_rel, idx, w);
    let rel_truth = |idx: &[usize]| median_of(&truth_rel, idx, w);
    let (model, truth_ratio) = if gap.is_empty() || other.is_empty() {
        (None, None)
    } else {
        (ratio(rel(&gap), rel(&other)), ratio(rel_truth(&gap), rel_truth(&other)))
    };
    GapRatio {
        n_gap: gap.len(),
        n_other: other.len(),
        model,
        truth: truth_ratio,
        fraction_of_truth: ratio(model, truth_ratio),
    }
}

/// The pulls of the exact answer, (mean*(x) − R^EM)/sd*(x), in the same bins as a method's: the
/// reference a method's pulls are judged against. R given x is not Gaussian (a log-normal
/// response, a class mixture), so even the exact mean and sd give a Gaussian core narrower than 1
/// and a 1σ coverage away from 68 %; a perfect calibration reproduces these numbers, not 1 and 68 %.
pub fn truth_pulls(data: &EvalData, binning: &Binning) -> Option<PullMetrics> {
    let t = data.truth.as_ref()?;
    let exact = Method {
        name: "truth".into(),
        source: "generator truth".into(),
        r_pred: t.r_mean.clone(),
        sigmas: Some(Sigmas { tot: t.r_sd.clone(), stat: t.r_sd.clone(), syst: t.r_sd.clone() }),
    };
    method_metrics(&exact, data, binning).pulls
}

/// All metrics of one method.
pub fn method_metrics(method: &Method, data: &EvalData, binning: &Binning) -> MethodMetrics {
    let r_em = data.r_em();
    let response: Vec<f64> = r_em.iter().zip(&method.r_pred).map(|(r, p)| r / p).collect();
    let (min, w) = (binning.min_entries, data.weights.as_deref());
    let in_bins = |var: &[f64], edges: &[f64]| response_in_bins_weighted(&response, var, edges, min, w);
    let response_metrics = ResponseMetrics {
        by_e_dep: in_bins(&data.e_dep, &binning.e_dep),
        by_e_em: in_bins(&data.e_em, &binning.e_em),
        by_mu: in_bins(&data.mu, &binning.mu),
        by_n_pv: in_bins(&data.n_pv, &binning.n_pv),
        by_abs_eta: in_bins(&data.abs_eta, &binning.abs_eta),
    };
    let closure_by_e_em = data.truth.as_ref().map(|t| {
        let c: Vec<f64> = method.r_pred.iter().zip(&t.r_mean).map(|(p, m)| p / m).collect();
        bin_medians(&c, &data.e_em, &binning.e_em, min, w)
    });
    let all: Vec<usize> = (0..data.len()).collect();
    let (lo, hi) = (binning.e_em.first().copied().unwrap_or(0.0), binning.e_em.last().copied().unwrap_or(f64::MAX));
    let pulls = pull_bin(method, &r_em, w, &all, lo, hi, min).map(|overall| PullMetrics {
        overall,
        by_e_em: bin_members(&data.e_em, &binning.e_em)
            .iter()
            .enumerate()
            .filter_map(|(b, idx)| pull_bin(method, &r_em, w, idx, binning.e_em[b], binning.e_em[b + 1], min))
            .collect(),
    });
    let (sigma_syst_over_truth_sd, gap) = match (&method.sigmas, &data.truth) {
        (Some(s), Some(t)) => {
            let ratio: Vec<f64> = s.syst.iter().zip(&t.r_sd).map(|(a, b)| a / b).collect();
            let gap_idx: Vec<usize> = (0..data.len()).filter(|&i| t.gap[i] > binning.gap_thresholds.0).collect();
            let over = SigmaOverTruth {
                median: median_all(&ratio, w),
                median_gap: median_of(&ratio, &gap_idx, w),
                by_e_em: bin_medians(&ratio, &data.e_em, &binning.e_em, min, w),
            };
            (Some(over), Some(gap_ratio(&method.r_pred, s, data, t, binning)))
        }
        _ => (None, None),
    };
    MethodMetrics {
        name: method.name.clone(),
        source: method.source.clone(),
        response: response_metrics,
        mu_dependence: mu_dependence(&response, data, binning),
        closure_by_e_em,
        pulls,
        sigma_syst_over_truth_sd,
        gap_ratio: gap,
    }
}

/// Pearson correlation of the logs of positive pairs.
fn pearson_log(a: &[f64], b: &[f64]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> =
        a.iter().zip(b).filter(|(x, y)| **x > 0.0 && **y > 0.0).map(|(x, y)| (x.ln(), y.ln())).collect();
    if pairs.len() < 2 {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (x, y) in &pairs {
        sxy += (x - mx) * (y - my);
        sxx += (x - mx).powi(2);
        syy += (y - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// The (weighted) median of σ_b/σ_a over the clusters with σ_a > 0, and the correlation of log σ.
fn agreement(a: &[f64], b: &[f64], weights: Option<&[f64]>) -> SigmaAgreement {
    let n = a.len().min(b.len());
    let ratio: Vec<f64> = (0..n).map(|i| b[i] / a[i]).collect();
    let positive: Vec<usize> = (0..n).filter(|&i| a[i] > 0.0).collect();
    SigmaAgreement { pearson_log: pearson_log(a, b), median_ratio: median_of(&ratio, &positive, weights) }
}

/// Per-cluster agreement of the uncertainties of two methods on the same clusters.
pub fn compare(a: &Method, b: &Method) -> Option<Comparison> {
    compare_weighted(a, b, None)
}

/// [`compare`] with the medians weighted by the clusters' `weights` when given.
pub fn compare_weighted(a: &Method, b: &Method, weights: Option<&[f64]>) -> Option<Comparison> {
    let (sa, sb) = (a.sigmas.as_ref()?, b.sigmas.as_ref()?);
    Some(Comparison {
        a: a.name.clone(),
        b: b.name.clone(),
        n: a.r_pred.len().min(b.r_pred.len()),
        tot: agreement(&sa.tot, &sb.tot, weights),
        stat: agreement(&sa.stat, &sb.stat, weights),
        syst: agreement(&sa.syst, &sb.syst, weights),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_straight_line_has_its_slope_and_logs_correlate_fully() {
        assert_eq!(slope(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]), Some(2.0));
        assert_eq!(slope(&[(1.0, 1.0)]), None);
        let a = [1.0, 2.0, 4.0, 8.0];
        let b = [3.0, 6.0, 12.0, 24.0];
        assert!((pearson_log(&a, &b).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(agreement(&a, &b, None).median_ratio, Some(3.0));
    }
}
