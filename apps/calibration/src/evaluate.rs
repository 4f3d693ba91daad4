//! `calibration evaluate`: the metrics of every method on one data file, written to
//! `metrics.json`. The methods are the EM scale (R_pred = 1), the LCW-like tables when given,
//! the ntuple's own LCW energy when it has `clusterECalib`, the oracle R_pred = truth_R_median
//! when the file has the generator's truth, and any number of prediction files.

use crate::columns::{AVG_MU, CLUSTER_E, CLUSTER_ETA, LCW_ENERGY, N_PRIM_VTX, TARGET};
use crate::cuts::{read_selected, CutReport};
use crate::error::{Error, Result};
use crate::io::predictions::Predictions;
use crate::io::{ClusterTable, DataSource, TargetPolicy};
use crate::lcw::{Combination, LcwTables};
use crate::metrics::bootstrap::{resolution_differences, ResolutionDifference, EXACT_MEAN, RESAMPLES, SEED};
use crate::metrics::{
    compare_weighted, method_metrics, truth_pulls, Binning, Comparison, EvalData, Method, MethodMetrics, PullMetrics,
    Sigmas, Truth,
};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// What to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluateOptions {
    pub data: DataSource,
    /// (method name, prediction file).
    pub predictions: Vec<(String, PathBuf)>,
    pub lcw: Option<PathBuf>,
    pub binning: Binning,
    /// A column of per-cluster weights (MC event weights) that weight every median, quantile and
    /// coverage; None: every cluster counts once.
    pub weight_column: Option<String>,
}

/// The content of metrics.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricsReport {
    pub data: String,
    pub cuts: CutReport,
    pub has_truth: bool,
    pub binning: Binning,
    /// The column whose weights the quantiles and coverages used, if any.
    #[serde(default)]
    pub weight_column: Option<String>,
    pub methods: Vec<MethodMetrics>,
    pub comparisons: Vec<Comparison>,
    /// The exact answer's own pulls (generated data only): the reference for the methods' pulls
    /// ([`crate::metrics::truth_pulls`]).
    #[serde(default)]
    pub truth_pulls: Option<PullMetrics>,
    /// Every pair of `--pred` methods: resolution differences per E_dep bin with bootstrap
    /// errors ([`crate::metrics::bootstrap`]), what the DNN-against-BNN test reads.
    #[serde(default)]
    pub resolution_differences: Vec<ResolutionDifference>,
    pub notes: Vec<String>,
}

/// The observed (and, when present, truth) columns the metrics read.
pub fn eval_data(table: &ClusterTable) -> Result<EvalData> {
    let truth = if ["truth_R_mean", "truth_R_sd", "truth_R_median", "truth_gap"].iter().all(|c| table.has(c)) {
        Some(Truth {
            r_mean: table.require("truth_R_mean")?.to_vec(),
            r_sd: table.require("truth_R_sd")?.to_vec(),
            r_median: table.require("truth_R_median")?.to_vec(),
            gap: table.require("truth_gap")?.to_vec(),
        })
    } else {
        None
    };
    Ok(EvalData {
        e_em: table.require(CLUSTER_E)?.to_vec(),
        e_dep: table.require(TARGET)?.to_vec(),
        mu: table.require(AVG_MU)?.to_vec(),
        n_pv: table.require(N_PRIM_VTX)?.to_vec(),
        abs_eta: table.require(CLUSTER_ETA)?.iter().map(|x| x.abs()).collect(),
        truth,
        weights: None,
    })
}

/// The prediction file's rows for the selected clusters, matched by input row. The file may
/// hold more clusters (a looser selection); it must hold every selected one, for the same file
/// (its E_calib R_pred must give back clusterE).
pub fn align(table: &ClusterTable, name: &str, path: &Path, p: &Predictions) -> Result<Method> {
    // A file with every input row holds the EM scale where its cuts removed a cluster: those rows
    // are not predictions.
    let rows: HashMap<u64, usize> =
        p.input_index.iter().enumerate().filter(|&(k, _)| p.is_selected(k)).map(|(k, &i)| (i, k)).collect();
    let found: Vec<Option<usize>> = table.input_index.iter().map(|i| rows.get(i).copied()).collect();
    let missing = found.iter().filter(|f| f.is_none()).count();
    if let Some(first) = found.iter().position(|f| f.is_none()) {
        return Err(Error::invalid(format!(
            "{}: predictions '{name}' lack {missing} of the {} selected clusters (the first is input row {}); were they made from {}?",
            path.display(),
            table.len(),
            table.input_index[first],
            table.source()
        )));
    }
    let k: Vec<usize> = found.into_iter().flatten().collect();
    let e = table.require(CLUSTER_E)?;
    let mismatched =
        k.iter().zip(e).filter(|(&j, &e)| (p.e_calib[j] * p.r_pred[j] - e).abs() > 1e-6 * e.abs().max(1e-6)).count();
    if mismatched > 0 {
        return Err(Error::invalid(format!(
            "{}: predictions '{name}': for {mismatched} of {} clusters E_calib x R_pred differs from clusterE of {}; the predictions belong to another file",
            path.display(),
            k.len(),
            table.source()
        )));
    }
    let pick = |v: &[f64]| k.iter().map(|&j| v[j]).collect::<Vec<f64>>();
    Ok(Method {
        name: name.to_string(),
        source: path.display().to_string(),
        r_pred: pick(&p.r_pred),
        sigmas: Some(Sigmas { tot: pick(&p.sigma_tot), stat: pick(&p.sigma_stat), syst: pick(&p.sigma_syst) }),
    })
}

/// The methods of the evaluation, in report order.
pub fn methods(table: &ClusterTable, options: &EvaluateOptions, notes: &mut Vec<String>) -> Result<Vec<Method>> {
    let n = table.len();
    let reference = |name: &str, source: &str, r_pred: Vec<f64>| Method {
        name: name.into(),
        source: source.into(),
        r_pred,
        sigmas: None,
    };
    let mut methods = vec![reference("EM scale", "R_pred = 1", vec![1.0; n])];
    match &options.lcw {
        Some(path) => {
            let tables = LcwTables::read(path)?;
            let w = tables.weights(table, Combination::Probability)?;
            methods.push(reference("LCW-like", &path.display().to_string(), w.iter().map(|w| 1.0 / w).collect()));
        }
        None => notes.push("no --lcw tables given: the LCW-like baseline is not evaluated".into()),
    }
    if let Some(e_lcw) = table.column(LCW_ENERGY) {
        let e = table.require(CLUSTER_E)?;
        let bad = e_lcw.iter().filter(|&&x| x <= 0.0 || x.is_nan()).count();
        if bad == 0 {
            methods.push(reference(
                "LCW (clusterECalib)",
                LCW_ENERGY,
                e.iter().zip(e_lcw).map(|(e, l)| e / l).collect(),
            ));
        } else {
            notes.push(format!("{LCW_ENERGY} is not positive for {bad} of {n} clusters: not evaluated"));
        }
    }
    if let Some(median) = table.column("truth_R_median") {
        methods.push(reference("oracle", "R_pred = truth_R_median", median.to_vec()));
    }
    for (name, path) in &options.predictions {
        let p = Predictions::read(path)?;
        methods.push(align(table, name, path, &p)?);
    }
    Ok(methods)
}

/// Evaluates and writes `out_dir/metrics.json` (atomically); returns the report.
pub fn evaluate(options: &EvaluateOptions, out_dir: &Path) -> Result<MetricsReport> {
    let names: Vec<&String> = options.predictions.iter().map(|(n, _)| n).collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(Error::invalid(format!(
                "--pred: the name '{n}' is given twice; give each prediction file its own name"
            )));
        }
    }
    // The other inputs' formats before the expensive read of the clusters.
    for (_, path) in &options.predictions {
        Predictions::check(path)?;
    }
    if let Some(path) = &options.lcw {
        crate::lcw::check_file(path)?;
    }
    let (table, cuts) = read_selected(&options.data, TargetPolicy::Required)?;
    if table.is_empty() {
        return Err(Error::invalid(format!("{}: no cluster passes the selection; nothing to evaluate", cuts.source)));
    }
    let mut notes = table.notes.clone();
    let methods = methods(&table, options, &mut notes)?;
    let mut data = eval_data(&table)?;
    if let Some(name) = &options.weight_column {
        data.weights = Some(table.weights(name)?);
        notes.push(format!(
            "every median, quantile and coverage is weighted by the column '{name}'; the Gaussian core fits of the \
             pulls, the correlations of log sigma and the bootstrap errors of the resolution differences are \
             not, and bin counts are cluster counts"
        ));
    }
    if data.truth.is_none() {
        notes.push(
            "the file has no generator truth: closure, sigma_syst/truth and the gap ratio are not computed".into(),
        );
    }
    let bar = nn::progress::bar(methods.len() as u64, "evaluating methods");
    let metrics: Vec<MethodMetrics> = methods
        .iter()
        .map(|m| {
            let out = method_metrics(m, &data, &options.binning);
            bar.inc(1);
            out
        })
        .collect();
    bar.finish_and_clear();
    let mut comparisons = Vec::new();
    for (i, a) in methods.iter().enumerate() {
        for b in &methods[i + 1..] {
            comparisons.extend(compare_weighted(a, b, data.weights.as_deref()));
        }
    }
    let report = MetricsReport {
        data: options.data.display(),
        cuts,
        has_truth: data.truth.is_some(),
        binning: options.binning.clone(),
        weight_column: options.weight_column.clone(),
        methods: metrics,
        comparisons,
        truth_pulls: truth_pulls(&data, &options.binning),
        resolution_differences: predicted_differences(&methods, options, &data),
        notes,
    };
    write_json(&report, &out_dir.join("metrics.json"))?;
    Ok(report)
}

/// The bootstrap comparison of the resolutions of the methods given as prediction files, and of
/// the exact mean* when the file has the truth.
fn predicted_differences(methods: &[Method], options: &EvaluateOptions, data: &EvalData) -> Vec<ResolutionDifference> {
    let r_em = data.r_em();
    let response = |r_pred: &[f64]| -> Vec<f64> { r_em.iter().zip(r_pred).map(|(r, p)| r / p).collect() };
    let mut responses: Vec<(&str, Vec<f64>)> = methods
        .iter()
        .filter(|m| options.predictions.iter().any(|(n, _)| *n == m.name))
        .map(|m| (m.name.as_str(), response(&m.r_pred)))
        .collect();
    if let (Some(truth), false) = (&data.truth, responses.is_empty()) {
        responses.push((EXACT_MEAN, response(&truth.r_mean)));
    }
    let views: Vec<(&str, &[f64])> = responses.iter().map(|(n, r)| (*n, r.as_slice())).collect();
    let b = &options.binning;
    resolution_differences(&views, &data.e_dep, &b.e_dep, b.min_entries, RESAMPLES, SEED)
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json<T: Serialize>(value: &T, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::invalid(format!("cannot encode JSON: {e}")))?;
    nn::io::write_atomically(path, |tmp| std::fs::write(tmp, text.as_bytes()).map_err(|e| e.to_string()))?;
    Ok(())
}

fn cell(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.3}")).unwrap_or_else(|| "-".into())
}

/// The short table `evaluate` prints: resolution per E_dep bin for each method, then the
/// closure, pull widths and σ checks of the methods that have them.
pub fn summary_table(report: &MetricsReport) -> String {
    let mut s = String::from("relative resolution (Q84 - Q16) / (2 median) of E/E_dep in bins of E_dep [GeV]\n");
    s.push_str(&format!("{:<22}", "method"));
    if let Some(first) = report.methods.first() {
        for b in &first.response.by_e_dep {
            s.push_str(&format!("{:>10}", format!("{}-{}", b.lo, b.hi)));
        }
    }
    s.push('\n');
    for m in &report.methods {
        s.push_str(&format!("{:<22}", m.name));
        for b in &m.response.by_e_dep {
            s.push_str(&format!("{:>10}", cell(b.resolution)));
        }
        s.push('\n');
    }
    s.push_str("\nmedian E/E_dep in <mu> bins at 0.3 < E_dep < 2 GeV, and its change over the mu range\n");
    for m in &report.methods {
        let bins: Vec<String> = m.mu_dependence.bins.iter().map(|b| cell(b.median)).collect();
        s.push_str(&format!("{:<22}{}   change {}\n", m.name, bins.join(" "), cell(m.mu_dependence.change_over_range)));
    }
    for m in &report.methods {
        let mut parts = Vec::new();
        if let Some(p) = &m.pulls {
            parts.push(format!(
                "pull core width {} (coverage 1 sigma {})",
                cell(p.overall.tot.core.map(|c| c.sigma)),
                cell(p.overall.tot.coverage_1sigma)
            ));
        }
        if let Some(r) = &m.sigma_syst_over_truth_sd {
            parts.push(format!("median sigma_syst/truth_sd {}", cell(r.median)));
        }
        if let Some(g) = &m.gap_ratio {
            parts.push(format!("gap ratio {} of truth {}", cell(g.model), cell(g.truth)));
        }
        if let Some(c) = &m.closure_by_e_em {
            let worst = c
                .iter()
                .filter(|b| b.lo >= 1.0)
                .filter_map(|b| b.median)
                .map(|x| (x - 1.0).abs())
                .fold(None, |a: Option<f64>, x| Some(a.map_or(x, |a| a.max(x))));
            parts.push(format!("worst closure |median(R_pred/mean*) - 1| above 1 GeV {}", cell(worst)));
        }
        if !parts.is_empty() {
            s.push_str(&format!("{}: {}\n", m.name, parts.join("; ")));
        }
    }
    for c in &report.comparisons {
        s.push_str(&format!(
            "{} vs {}: Pearson(log sigma_tot) {}, median sigma_tot ratio {}\n",
            c.a,
            c.b,
            cell(c.tot.pearson_log),
            cell(c.tot.median_ratio)
        ));
    }
    for n in &report.notes {
        s.push_str(&format!("note: {n}\n"));
    }
    s
}
