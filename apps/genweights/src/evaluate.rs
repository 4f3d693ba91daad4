//! Everything the report shows for one truth/generated pair, computed once from the classifier's
//! weights (and, for the toys, the exact ones) and kept as serde-serialisable numbers in
//! `metrics.json`; the page ([`crate::page`]) is drawn from these numbers alone.
//!
//! Every number is computed on the **test split** of both samples (events the classifier never
//! trained on and that did not choose its epoch); weights.h5 keeps every event.

use crate::error::{invalid, Result};
use crate::features::FeatureMatrix;
use crate::metrics::exact::{log_w_map, residual_histogram};
pub use crate::metrics::top::{top_fraction_overlap_ties, top_gap, top_within_resolution, TopWithinResolution};
use crate::metrics::weight_hist::EnsembleWeightHistograms;
use crate::metrics::{
    self, ensemble_weight_histograms, quantile_clusters, reweighted_observable, threshold_clusters, weight_histograms,
    ExactComparison, QuantilePoint, ReweightedObservable, ThresholdClusters, WeightAxis, WeightHistOptions,
    WeightHistograms, WeightSummary,
};
use crate::metrics::{generator_pulls, truncated_identities, GeneratorPulls, TruncatedIdentity};
use crate::model::{ClassifierOutput, Split, TrainingSummary};
use serde::{Deserialize, Serialize};
use stats::{mean_and_error, quantile, Binning, Histogram, Histogram2d};

/// One plotted observable: reweighted, clustered in threshold and quantile mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservablePlots {
    pub name: String,
    pub label: String,
    pub reweighted: ReweightedObservable,
    pub clusters: ThresholdClusters,
    pub quantiles: Vec<QuantilePoint>,
}

/// A normalisation identity against the value exact weights give (1 for a generic pair).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdentityCheck {
    pub estimate: Option<f64>,
    /// The standard error of the mean over the test events.
    pub error: Option<f64>,
    /// The error from the validation-fitted output offset that every weight shares
    /// (estimate × σ_c): the classifier's own statistical uncertainty in the normalisation.
    pub offset_error: f64,
    pub expected: f64,
    /// (estimate − expected)/√(error² + offset_error²).
    pub pull: Option<f64>,
}

impl IdentityCheck {
    fn new(values: impl Iterator<Item = f64>, expected: f64, offset_sigma: f64) -> IdentityCheck {
        let v: Vec<f64> = values.collect();
        let stats = mean_and_error(&v).filter(|(m, e)| m.is_finite() && e.is_finite());
        let (estimate, error) = (stats.map(|s| s.0), stats.map(|s| s.1));
        let offset_error = estimate.map_or(0.0, |m| (m * offset_sigma).abs());
        let pull = stats.and_then(|(m, e)| {
            let total = (e * e + offset_error * offset_error).sqrt();
            (total > 0.0).then(|| (m - expected) / total)
        });
        IdentityCheck { estimate, error, offset_error, expected, pull }
    }

    /// Holds when |pull| ≤ `sigmas` (an exact estimate with zero error must equal expected).
    pub fn holds_within(&self, sigmas: f64) -> bool {
        match (self.estimate, self.error, self.pull) {
            (_, _, Some(p)) => p.abs() <= sigmas,
            (Some(m), Some(_), None) => (m - self.expected).abs() < 1e-12,
            _ => false,
        }
    }
}

/// The learned weights against the exact ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExactAnalysis {
    pub comparison: ExactComparison,
    /// The top-1 % overlap with ties in the exact weight resolved in the learned weight's favour
    /// (see [`top_fraction_overlap_ties`]); None where the exact top 1 % of truth is one tie
    /// (every truth event at the same exact weight, as in the null tests), so it says nothing.
    pub top_percent_overlap: Option<f64>,
    /// How flat the top is: the exact ln w of the largest truth event minus that of the k-th
    /// (k = 1 %), and the mean exact ln w of the exact top 1 % minus that of the learned top 1 %
    /// (None where infinite weights are involved). A small gap with a small overlap means the
    /// learned top 1 % is as good as the exact one for any weight-based selection.
    pub top_percent_exact_span: Option<f64>,
    pub top_percent_exact_gap: Option<f64>,
    /// The gap as a fraction of the spread of exact ln w over truth, (q84 − q16)/2 of its finite
    /// values (None where that spread is 0, as in the tailcut, or the gap is undefined).
    #[serde(default)]
    pub top_percent_gap_fraction: Option<f64>,
    /// (q84 − q16)/2 of the finite exact ln w over truth: how far w spreads, against the
    /// classifier's resolution τ (the study's gate for the top-1 % test).
    #[serde(default)]
    pub exact_truth_spread: Option<f64>,
    /// The criterion the study passes or fails: the top 1 % with exact ln w within τ of the cut
    /// counted as tied, τ = min(median |learned − exact| of the bulk, 0.05), scored against a
    /// random selection ([`top_within_resolution`]); None where no selection could fail.
    #[serde(default)]
    pub top_within: Option<TopWithinResolution>,
    /// The 2-D histogram of (exact, learned) ln w over both samples' test events.
    pub map: Histogram2d,
    pub residuals: Histogram,
    /// The exact weights' histograms on the same bins as the learned ones (log axis).
    pub exact_histograms: WeightHistograms,
    pub exact_roc: metrics::RocCurve,
}

/// Everything of one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairAnalysis {
    pub name: String,
    pub description: String,
    pub kind: String,
    pub truth_test_events: usize,
    pub generated_test_events: usize,
    pub training: TrainingSummary,
    pub summary: WeightSummary,
    /// `E_gen[w]` and `E_truth[1/w]` against their exact expectations.
    pub gen_mean_w: IdentityCheck,
    pub truth_mean_inverse_w: IdentityCheck,
    /// The paper's weight histogram with the ensemble band, log axis between the clip bounds.
    pub ensemble_histograms: EnsembleWeightHistograms,
    /// The median over test events of the members' standard deviation of ln w.
    pub median_member_std: Option<f64>,
    pub observables: Vec<ObservablePlots>,
    pub lower_thresholds: Vec<f64>,
    pub upper_thresholds: Vec<f64>,
    /// The data-only identity E_gen[w·1(w < c)] = P_truth(w < c) at the cuts
    /// [`IDENTITY_CUT_QUANTILES`] of the learned w.
    #[serde(default)]
    pub truncated_identities: Vec<TruncatedIdentity>,
    /// The generator's own uncertainty against w, where the generated file carries K log
    /// densities per event (a Bayesian generator).
    #[serde(default)]
    pub generator_pulls: Option<GeneratorPulls>,
    /// With one classifier per group of events (`--split-by njets`): each group's weight
    /// histograms over its test events.
    #[serde(default)]
    pub group_histograms: Vec<GroupHistograms>,
    pub exact: Option<ExactAnalysis>,
}

/// One group's weight histograms (log axis between its clip bounds).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupHistograms {
    pub name: String,
    pub truth_events: usize,
    pub generated_events: usize,
    pub histograms: WeightHistograms,
}

/// Each input row's group (an index into `names`), for per-group histograms.
#[derive(Debug, Clone, PartialEq)]
pub struct RowGroups {
    pub names: Vec<String>,
    pub truth: Vec<usize>,
    pub generated: Vec<usize>,
}

/// The metrics.json of `genweights run`: the inputs and every number of the pair's page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    pub truth_file: String,
    pub generated_file: String,
    pub truth: String,
    pub generated: String,
    pub seconds: f64,
    pub sigmagrad_version: String,
    pub analysis: PairAnalysis,
}

/// What to analyse besides the classifier output.
pub struct PairInput<'a> {
    pub name: String,
    pub description: String,
    pub kind: String,
    /// Plotted observables, row-aligned with the classifier's inputs.
    pub truth_observables: &'a FeatureMatrix,
    pub generated_observables: &'a FeatureMatrix,
    /// Names of the observables to plot (columns of the matrices).
    pub plot: Vec<String>,
    /// Exact ln w, row-aligned with the classifier's inputs.
    pub exact: Option<(Vec<f64>, Vec<f64>)>,
    /// The exact `E_gen[w]` and `E_truth[1/w]` (1 and 1 unless the supports differ).
    pub expected_gen_mean_w: f64,
    pub expected_truth_mean_inverse_w: f64,
    pub lower_thresholds: Vec<f64>,
    pub upper_thresholds: Vec<f64>,
    /// A Bayesian generator's K log densities of each generated event, row-aligned with the
    /// generated inputs (None: the generator gave none).
    pub generator_log_p: Option<Vec<Vec<f64>>>,
    /// Each input row's group, where one classifier was trained per group.
    pub groups: Option<RowGroups>,
}

/// The quantiles of the learned w (both samples' test events) at which the data-only identity
/// is evaluated: inside the bulk wherever w is, so both of its sides have events.
pub const IDENTITY_CUT_QUANTILES: [f64; 3] = [0.16, 0.5, 0.84];

fn take(v: &[f64], rows: &[usize]) -> Vec<f64> {
    rows.iter().map(|&i| v[i]).collect()
}

/// Bins over the 0.5–99.5 % range of both samples' values (40 bins), widened if flat.
pub fn observable_binning(a: &[f64], b: &[f64]) -> Binning {
    let all: Vec<f64> = a.iter().chain(b).copied().filter(|x| x.is_finite()).collect();
    let lo = quantile(&all, 0.005).unwrap_or(0.0);
    let hi = quantile(&all, 0.995).unwrap_or(1.0);
    let (lo, hi) = if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) };
    Binning::linear(lo, hi, 40)
}

/// The largest τ of the top-1 % criterion: the bulk resolution the study accepts (median
/// |learned − exact| < 0.05), so that a classifier that fails it gets no wider window.
pub const TOP_TOLERANCE_CAP: f64 = 0.05;

/// The analysis of a trained pair on its test events.
pub fn analyse(out: &ClassifierOutput, input: &PairInput) -> Result<PairAnalysis> {
    let (t, g) = (&out.truth, &out.generated);
    let (tr, gr) = (t.rows_in(Split::Test), g.rows_in(Split::Test));
    if tr.is_empty() || gr.is_empty() {
        return Err(invalid("the test split is empty: no events to evaluate on (raise --test-fraction)"));
    }
    let (to, go) = (input.truth_observables, input.generated_observables);
    if to.rows != t.log_w.len() || go.rows != g.log_w.len() {
        return Err(invalid("the observables are not row-aligned with the classifier's inputs"));
    }
    let (lt, lg) = (take(&t.log_w, &tr), take(&g.log_w, &gr));
    let members = |m: &[Vec<f64>], rows: &[usize]| -> Vec<Vec<f64>> { m.iter().map(|v| take(v, rows)).collect() };
    let summary = WeightSummary::compute(&lt, &lg)?;
    let sigma_c = out.summary.offset_error;
    let gen_mean_w = IdentityCheck::new(lg.iter().map(|l| l.exp()), input.expected_gen_mean_w, sigma_c);
    let truth_mean_inverse_w =
        IdentityCheck::new(lt.iter().map(|l| (-l).exp()), input.expected_truth_mean_inverse_w, sigma_c);
    let hist_opts = WeightHistOptions::new(WeightAxis::LogClipped { bins: 50 });
    let ensemble_histograms =
        ensemble_weight_histograms(&members(&t.members, &tr), &members(&g.members, &gr), &hist_opts)?;
    let stds: Vec<f64> = tr.iter().map(|&i| t.std_log_w[i]).chain(gr.iter().map(|&i| g.std_log_w[i])).collect();
    let observables = observable_plots(input, (&tr, &gr), (&lt, &lg))?;
    let exact_test = match &input.exact {
        None => None,
        Some((et, eg)) => {
            if et.len() != t.log_w.len() || eg.len() != g.log_w.len() {
                return Err(invalid("the exact weights are not row-aligned with the classifier's inputs"));
            }
            Some((take(et, &tr), take(eg, &gr)))
        }
    };
    let exact = match &exact_test {
        Some((et, eg)) => Some(exact_analysis((&lt, &lg), (et, eg), &ensemble_histograms.edges)?),
        None => None,
    };
    let generator_pulls = match &input.generator_log_p {
        Some(p) if p.len() == g.log_w.len() => {
            let rows: Vec<Vec<f64>> = gr.iter().map(|&i| p[i].clone()).collect();
            generator_pulls(&rows, &lg, exact_test.as_ref().map(|e| e.1.as_slice()))
        }
        _ => None,
    };
    Ok(PairAnalysis {
        name: input.name.clone(),
        description: input.description.clone(),
        kind: input.kind.clone(),
        truth_test_events: tr.len(),
        generated_test_events: gr.len(),
        training: out.summary.clone(),
        summary,
        gen_mean_w,
        truth_mean_inverse_w,
        ensemble_histograms,
        median_member_std: quantile(&stds, 0.5).filter(|x| x.is_finite()),
        observables,
        lower_thresholds: input.lower_thresholds.clone(),
        upper_thresholds: input.upper_thresholds.clone(),
        truncated_identities: truncated_identities(&lt, &lg, &identity_cuts(&lt, &lg), sigma_c)?,
        generator_pulls,
        group_histograms: group_histograms(input.groups.as_ref(), (&tr, &gr), (&t.log_w, &g.log_w))?,
        exact,
    })
}

/// Per group, the weight histograms of its test events (groups with events in both samples).
fn group_histograms(
    groups: Option<&RowGroups>,
    test_rows: (&[usize], &[usize]),
    log_w: (&[f64], &[f64]),
) -> Result<Vec<GroupHistograms>> {
    let Some(groups) = groups else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for (k, name) in groups.names.iter().enumerate() {
        let pick = |rows: &[usize], of: &[usize], lw: &[f64]| -> Vec<f64> {
            rows.iter().filter(|&&i| of.get(i) == Some(&k)).map(|&i| lw[i]).collect()
        };
        let (t, g) = (pick(test_rows.0, &groups.truth, log_w.0), pick(test_rows.1, &groups.generated, log_w.1));
        if t.is_empty() || g.is_empty() {
            continue;
        }
        out.push(GroupHistograms {
            name: name.clone(),
            truth_events: t.len(),
            generated_events: g.len(),
            histograms: weight_histograms(&t, &g, &WeightHistOptions::new(WeightAxis::LogClipped { bins: 50 }))?,
        });
    }
    Ok(out)
}

/// The cuts of the data-only identity: [`IDENTITY_CUT_QUANTILES`] of the learned w over both
/// samples, rounded to three significant digits so the page names them plainly.
fn identity_cuts(truth: &[f64], generated: &[f64]) -> Vec<f64> {
    let all: Vec<f64> = truth.iter().chain(generated).copied().filter(|x| x.is_finite()).collect();
    let mut cuts: Vec<f64> = IDENTITY_CUT_QUANTILES
        .iter()
        .filter_map(|&q| quantile(&all, q))
        .map(|l| {
            let w = l.exp();
            let scale = 10f64.powi(2 - w.log10().floor() as i32);
            (w * scale).round() / scale
        })
        .filter(|w| w.is_finite() && *w > 0.0)
        .collect();
    cuts.dedup();
    cuts
}

/// The plotted observables of the test events: reweighted, and clustered in threshold and
/// quantile mode. `rows`: the test rows of truth and generated; `log_w`: their ln w.
fn observable_plots(
    input: &PairInput,
    rows: (&[usize], &[usize]),
    log_w: (&[f64], &[f64]),
) -> Result<Vec<ObservablePlots>> {
    let (to, go) = (input.truth_observables, input.generated_observables);
    let ((tr, gr), (lt, lg)) = (rows, log_w);
    let mut observables = Vec::new();
    for name in &input.plot {
        let (Some(ot), Some(og)) = (to.column_named(name), go.column_named(name)) else {
            return Err(invalid(format!("no observable '{name}' to plot")));
        };
        let label = to.columns.iter().find(|c| &c.name == name).map_or(name.clone(), |c| c.label());
        let (ot, og) = (take(&ot, tr), take(&og, gr));
        let b = if name == "M_mumu" { Binning::linear(70.0, 110.0, 50) } else { observable_binning(&ot, &og) };
        observables.push(ObservablePlots {
            name: name.clone(),
            label,
            reweighted: reweighted_observable(&ot, &og, lg, &b)?,
            clusters: threshold_clusters(lt, lg, &ot, &og, &input.lower_thresholds, &input.upper_thresholds, &b)?,
            quantiles: quantile_clusters(lt, lg, &ot, &og, &metrics::clustering::paper_quantiles(), &b)?,
        });
    }
    Ok(observables)
}

/// The learned ln w of the test events against the exact ones; the exact weights' histograms
/// use the learned ones' bin `edges`.
fn exact_analysis(learned: (&[f64], &[f64]), exact: (&[f64], &[f64]), edges: &[f64]) -> Result<ExactAnalysis> {
    let ((lt, lg), (et, eg)) = (learned, exact);
    let comparison = metrics::compare_to_exact(lt, lg, et, eg)?;
    let learned: Vec<f64> = lt.iter().chain(lg).copied().collect();
    let exact_all: Vec<f64> = et.iter().chain(eg).copied().collect();
    let finite: Vec<f64> = exact_all.iter().chain(&learned).copied().filter(|x| x.is_finite()).collect();
    let lo = quantile(&finite, 0.001).unwrap_or(-1.0).min(-0.5);
    let hi = quantile(&finite, 0.999).unwrap_or(1.0).max(0.5);
    let map = log_w_map(&learned, &exact_all, &Binning::linear(lo, hi, 60));
    let residuals = residual_histogram(&learned, &exact_all, &Binning::linear(-0.5, 0.5, 60));
    let axis = WeightAxis::Log { lo: edges[0], hi: edges[edges.len() - 1], bins: edges.len() - 1 };
    let mut opts = WeightHistOptions::new(axis);
    opts.overflow = metrics::weight_hist::Overflow::EndBins;
    opts.clip_low_percent = 0.0;
    opts.clip_high_percent = 100.0;
    // w = 0 and w = ∞ go to the end bins of the learned axis.
    let (llo, lhi) = (edges[0].ln(), edges[edges.len() - 1].ln());
    let clamp = |v: &[f64]| -> Vec<f64> { v.iter().map(|l| l.clamp(llo, lhi)).collect() };
    let exact_histograms = weight_histograms(&clamp(et), &clamp(eg), &opts)?;
    let (span, gap) = top_gap(lt, et, 0.01);
    let finite_t: Vec<f64> = et.iter().copied().filter(|x| x.is_finite()).collect();
    let spread = match (quantile(&finite_t, 0.16), quantile(&finite_t, 0.84)) {
        (Some(a), Some(b)) if b > a => Some(0.5 * (b - a)),
        _ => None,
    };
    let tolerance = comparison.bulk_median_abs_residual.map_or(0.0, |m| m.min(TOP_TOLERANCE_CAP));
    Ok(ExactAnalysis {
        top_percent_exact_span: span,
        top_percent_exact_gap: gap,
        top_percent_gap_fraction: gap.zip(spread).map(|(g, s)| g / s),
        exact_truth_spread: spread,
        top_within: top_within_resolution(lt, et, 0.01, tolerance),
        top_percent_overlap: top_fraction_overlap_ties(lt, et, 0.01),
        comparison,
        map,
        residuals,
        exact_histograms,
        exact_roc: metrics::roc_curve(et, eg, 500)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn increasing_and_finite(edges: &[f64]) -> bool {
        edges.len() >= 2 && edges.iter().all(|e| e.is_finite()) && edges.windows(2).all(|w| w[0] < w[1])
    }

    /// The number of bins is a constant and the data's range only places them: samples whose
    /// values are all equal, or equal to 1e-14 (identical rows through a network), get the
    /// same bounded binning as any other, never a bin count or a loop sized by their range.
    #[test]
    fn binnings_have_a_fixed_number_of_bins_whatever_the_data_range() {
        for spread in [0.0, 1e-14, 1e-300, 3.0, 1e300] {
            let v: Vec<f64> = (0..200).map(|i| 1.0 + spread * (i % 2) as f64).collect();
            let b = observable_binning(&v, &v);
            assert!(b.edges.len() <= 41 && increasing_and_finite(&b.edges), "spread {spread}: {:?}", b.edges);
            if spread > 100.0 {
                continue; // ln w of 1e300 is no weight
            }
            let members = vec![v.clone(), v.clone()];
            let h = ensemble_weight_histograms(
                &members,
                &members,
                &WeightHistOptions::new(WeightAxis::LogClipped { bins: 50 }),
            )
            .unwrap();
            assert!(h.edges.len() <= 51 && increasing_and_finite(&h.edges), "spread {spread}: {:?}", h.edges);
        }
    }
}
