//! The figure numbers of a study: histograms, 2-D histograms, binned medians and spectra, from
//! the test sample (with its truth) and the methods' predictions. Plain arithmetic over
//! per-cluster vectors; the evaluation's binned metrics come from [`crate::metrics`].

use super::summary::{
    BinnedCurve, CoverageCurve, FeatureHist, Hist1D, Hist2D, MarginalDensity, PullHist, Scatter, Spectrum,
};
use crate::columns::{self, FEATURES};
use crate::evaluate::MetricsReport;
use crate::metrics::binned::bin_members;
use crate::metrics::modes::gap_modes;
use crate::metrics::{EvalData, Method};
use nn::diagnostics::{coverage, gauss_core_fit, pulls};
use nn::Transform;
use rayon::prelude::*;
use stats::phi;
use stats::{median, quantile_sorted, sorted_finite};

/// `n` equal bins between `lo` and `hi` (log-spaced when `log`); no edges for an unusable range.
pub fn edges(lo: f64, hi: f64, n: usize, log: bool) -> Vec<f64> {
    if log {
        stats::log_edges(lo, hi, n)
    } else {
        stats::linear_edges(lo, hi, n)
    }
}

pub fn hist1d(values: impl IntoIterator<Item = f64>, edges: &[f64]) -> Hist1D {
    let values: Vec<f64> = values.into_iter().collect();
    Hist1D { edges: edges.to_vec(), counts: stats::histogram(&values, None, edges) }
}

pub fn hist2d(x: &[f64], y: &[f64], xe: &[f64], ye: &[f64]) -> Hist2D {
    Hist2D { x_edges: xe.to_vec(), y_edges: ye.to_vec(), counts: stats::histogram_2d(x, y, xe, ye) }
}

/// The axis label (with unit) of each feature, in the report's markup.
pub fn feature_label(name: &str) -> String {
    let label = match name {
        columns::CLUSTER_E => "E^{EM}_{clus} [GeV]",
        columns::CLUSTER_ETA => "η_{clus}",
        columns::CENTER_LAMBDA => "λ_{clus} [mm]",
        columns::CENTER_MAG => "|r_{clus}| [mm]",
        columns::ENG_FRAC_EM => "f_{emc}",
        columns::FIRST_ENG_DENS => "⟨ρ_{cell}⟩ [GeV/mm^{3}]",
        columns::LATERAL => "⟨m^{2}_{lat}⟩",
        columns::LONGITUDINAL => "⟨m^{2}_{long}⟩",
        columns::PTD => "p_{T}D",
        columns::TIME => "t_{clus} [ns]",
        columns::ISOLATION => "f_{iso}",
        columns::SECOND_TIME => "σ^{2}_{t} [ns^{2}]",
        columns::SIGNIFICANCE => "ζ^{EM}_{clus}",
        columns::N_PRIM_VTX => "N_{PV}",
        columns::AVG_MU => "⟨μ⟩",
        other => other,
    };
    label.to_string()
}

/// A histogram of each feature over its central 99.8 %, log-binned where the network takes its
/// logarithm.
pub fn feature_hists(columns: &[(&str, &[f64])]) -> Vec<FeatureHist> {
    columns
        .iter()
        .map(|(name, values)| {
            let log = columns::transform_of(name) == Some(Transform::Log) && values.iter().all(|&v| v > 0.0);
            let sorted = sorted_finite(values.iter().copied());
            let lo = quantile_sorted(&sorted, 0.001).unwrap_or(0.0);
            let hi = quantile_sorted(&sorted, 0.999).unwrap_or(1.0);
            let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
            let e = edges(lo, hi, 50, log && lo > 0.0);
            FeatureHist {
                name: name.to_string(),
                label: feature_label(name),
                log_x: log && lo > 0.0,
                hist: hist1d(values.iter().copied(), &e),
            }
        })
        .collect()
}

fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let pairs: Vec<(f64, f64)> =
        x.iter().zip(y).filter(|(a, b)| a.is_finite() && b.is_finite()).map(|(a, b)| (*a, *b)).collect();
    if pairs.len() < 3 {
        return None;
    }
    let n = pairs.len() as f64;
    let (mx, my) = (pairs.iter().map(|p| p.0).sum::<f64>() / n, pairs.iter().map(|p| p.1).sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in &pairs {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| sxy / (sxx * syy).sqrt())
}

/// A 2-D histogram of y against x with the correlation (of logs on log axes) and median y/x.
#[allow(clippy::too_many_arguments)]
pub fn scatter(
    method: &str,
    x_label: &str,
    y_label: &str,
    x: &[f64],
    y: &[f64],
    range: (f64, f64),
    log: bool,
    bins: usize,
) -> Scatter {
    let e = edges(range.0, range.1, bins, log);
    let (cx, cy): (Vec<f64>, Vec<f64>) = if log {
        x.iter().zip(y).filter(|(a, b)| **a > 0.0 && **b > 0.0).map(|(a, b)| (a.ln(), b.ln())).unzip()
    } else {
        (x.to_vec(), y.to_vec())
    };
    Scatter {
        method: method.to_string(),
        x_label: x_label.to_string(),
        y_label: y_label.to_string(),
        log_x: log,
        log_y: log,
        hist: hist2d(x, y, &e, &e),
        correlation: pearson(&cx, &cy),
        median_ratio: median(x.iter().zip(y).filter(|(a, _)| **a > 0.0).map(|(a, b)| b / a)),
    }
}

/// R^EM against E^EM.
pub fn response_vs_energy(data: &EvalData) -> Scatter {
    let r = data.r_em();
    let xe = edges(0.05, 500.0, 60, true);
    let ye = edges(0.1, 3.0, 60, false);
    Scatter {
        method: String::new(),
        x_label: "E^{EM}_{clus} [GeV]".into(),
        y_label: "R^{EM} = E^{EM} / E^{dep}".into(),
        log_x: true,
        log_y: false,
        hist: hist2d(&data.e_em, &r, &xe, &ye),
        correlation: None,
        median_ratio: None,
    }
}

/// R_pred against R^EM for one method.
pub fn predicted_vs_true(label: &str, m: &Method, data: &EvalData) -> Scatter {
    let r = data.r_em();
    let e = edges(0.1, 2.5, 60, false);
    Scatter {
        method: label.to_string(),
        x_label: "R^{EM}".into(),
        y_label: format!("R_{{pred}} ({label})"),
        log_x: false,
        log_y: false,
        hist: hist2d(&r, &m.r_pred, &e, &e),
        correlation: pearson(&r, &m.r_pred),
        median_ratio: median(r.iter().zip(&m.r_pred).map(|(a, b)| b / a)),
    }
}

/// The predicted marginal density of R in bins of E_dep: the average over the bin's clusters of
/// N(R; R_pred, σ_tot²), integrated over each R bin, against the histogram of R^EM. Each
/// (E_dep bin, method) pair is summed on its own core, in the clusters' order, so the numbers do
/// not depend on the cores (its ten million Φ were most of the study's summary: 2.5 s of 3.7).
pub fn marginals(methods: &[(String, &Method)], data: &EvalData) -> Vec<MarginalDensity> {
    let r = data.r_em();
    let e = edges(0.1, 2.5, 48, false);
    let width: Vec<f64> = e.windows(2).map(|w| w[1] - w[0]).collect();
    let bins = [(0.3, 1.0), (1.0, 5.0), (5.0, 20.0), (20.0, 2000.0)];
    bins.par_iter()
        .map(|&(lo, hi)| {
            let idx: Vec<usize> = (0..data.len()).filter(|&i| data.e_dep[i] >= lo && data.e_dep[i] < hi).collect();
            let n = idx.len().max(1) as f64;
            let truth: Vec<f64> =
                hist1d(idx.iter().map(|&i| r[i]), &e).counts.iter().zip(&width).map(|(c, w)| c / (n * w)).collect();
            let predicted = methods
                .par_iter()
                .filter_map(|(label, m)| {
                    let s = m.sigmas.as_ref()?;
                    let mut density = vec![0.0; width.len()];
                    for &i in &idx {
                        let (mu, sd) = (m.r_pred[i], s.tot[i].max(1e-6));
                        let cdf: Vec<f64> = e.iter().map(|&x| phi((x - mu) / sd)).collect();
                        for (b, d) in density.iter_mut().enumerate() {
                            *d += cdf[b + 1] - cdf[b];
                        }
                    }
                    Some((label.clone(), density.iter().zip(&width).map(|(d, w)| d / (n * w)).collect()))
                })
                .collect();
            MarginalDensity { e_lo: lo, e_hi: hi, n: idx.len(), edges: e.clone(), truth, predicted }
        })
        .collect()
}

/// Pull histograms (tot, stat, syst) with their core fits.
pub fn pull_hists(label: &str, m: &Method, data: &EvalData) -> Vec<PullHist> {
    let Some(s) = &m.sigmas else { return Vec::new() };
    let r = data.r_em();
    let e = edges(-5.0, 5.0, 60, false);
    [("tot", &s.tot), ("stat", &s.stat), ("syst", &s.syst)]
        .iter()
        .map(|(kind, sigma)| {
            let p = pulls(&m.r_pred, &r, sigma);
            let fit = gauss_core_fit(&p);
            PullHist {
                method: label.to_string(),
                kind: kind.to_string(),
                hist: hist1d(p.iter().copied(), &e),
                fit: (fit.n > 0).then_some(fit),
                coverage_1sigma: (!p.is_empty()).then(|| coverage(&p, 1.0)),
                coverage_2sigma: (!p.is_empty()).then(|| coverage(&p, 2.0)),
            }
        })
        .collect()
}

/// Coverage and core width in E^EM bins, from the evaluation.
pub fn coverage_curves(labels: &[(String, String)], evaluation: &MetricsReport) -> Vec<CoverageCurve> {
    let curve = |label: String, p: &crate::metrics::PullMetrics| {
        let mut edges: Vec<f64> = p.by_e_em.iter().map(|b| b.lo).collect();
        edges.extend(p.by_e_em.last().map(|b| b.hi));
        CoverageCurve {
            method: label,
            e_em_edges: edges,
            coverage_1sigma: p.by_e_em.iter().map(|b| b.tot.coverage_1sigma).collect(),
            coverage_2sigma: p.by_e_em.iter().map(|b| b.tot.coverage_2sigma).collect(),
            core_width: p.by_e_em.iter().map(|b| b.tot.core.map(|c| c.sigma)).collect(),
        }
    };
    let mut curves: Vec<CoverageCurve> = evaluation
        .methods
        .iter()
        .filter_map(|m| Some(curve(labels.iter().find(|(name, _)| *name == m.name)?.1.clone(), m.pulls.as_ref()?)))
        .collect();
    // The exact mean* and sd*: what a perfect calibration gives, since R given x is not Gaussian.
    curves.extend(evaluation.truth_pulls.as_ref().map(|p| curve("truth".into(), p)));
    curves
}

/// Spectra of σ/R for one method (or the truth), all clusters and E^EM > 1 GeV.
pub fn spectra(label: &str, kinds: &[(&str, Vec<f64>)], e_em: &[f64], gap: &[f64]) -> Vec<Spectrum> {
    let e = edges(1e-3, 3.0, 60, true);
    let mut out = Vec::new();
    for (kind, rel) in kinds {
        for (selection, keep) in [("all", 0.0), ("E_EM > 1 GeV", 1.0)] {
            let idx: Vec<usize> = (0..rel.len()).filter(|&i| e_em[i] > keep).collect();
            let all = hist1d(idx.iter().map(|&i| rel[i]), &e).counts;
            let g = hist1d(idx.iter().filter(|&&i| gap[i] > 0.5).map(|&i| rel[i]), &e).counts;
            let modes = gap_modes(rel, |i| e_em[i] > keep, |i| gap[i] > 0.5);
            out.push(Spectrum {
                method: label.to_string(),
                kind: kind.to_string(),
                selection: selection.into(),
                edges: e.clone(),
                all,
                gap: g,
                modes,
            });
        }
    }
    out
}

/// The median (16 %, 84 %) of `values` in bins of `var`.
pub fn binned_curve(label: &str, values: &[f64], var: &[f64], edges: &[f64]) -> BinnedCurve {
    let members = bin_members(var, edges);
    let q = |idx: &Vec<usize>, p: f64| {
        let s = sorted_finite(idx.iter().map(|&i| values[i]));
        if s.len() < 20 {
            None
        } else {
            quantile_sorted(&s, p)
        }
    };
    BinnedCurve {
        method: label.to_string(),
        edges: edges.to_vec(),
        median: members.iter().map(|m| q(m, 0.5)).collect(),
        q16: members.iter().map(|m| q(m, 0.16)).collect(),
        q84: members.iter().map(|m| q(m, 0.84)).collect(),
    }
}

/// The feature columns of a table, in [`FEATURES`] order.
pub fn feature_columns(table: &crate::io::ClusterTable) -> crate::error::Result<Vec<(&'static str, &[f64])>> {
    FEATURES.iter().map(|&n| Ok((n, table.require(n)?))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_count_each_value_once_and_use_their_edges() {
        let e = edges(0.0, 10.0, 10, false);
        let h = hist1d([0.0, 0.5, 9.99, 10.0, 11.0, -1.0], &e);
        assert_eq!(h.counts.iter().sum::<f64>(), 4.0);
        assert_eq!((h.counts[0], h.counts[9]), (2.0, 2.0));
    }
}
