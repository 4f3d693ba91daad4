//! The numbers of the study page, gathered once from the study's files into a [`StudySummary`].

use super::acceptance::acceptance;
use super::compute::{self, feature_columns};
use super::steps::{ScanRun, StudyOptions, Trained};
use super::summary::*;
use crate::cuts::read_selected;
use crate::error::{Error, Result};
use crate::evaluate::{eval_data, methods, EvaluateOptions, MetricsReport};
use crate::io::{DataSource, TargetPolicy};
use crate::metrics::{Binning, EvalData, Truth};
use crate::model::Method;
use report::meta::{machine, utc_now};
use rundir::StepReport;
use std::path::{Path, PathBuf};

/// Reads a history.csv into (epoch, train loss, val loss).
fn read_history(path: &Path) -> Vec<(usize, f64, Option<f64>)> {
    let Ok(text) = std::fs::read_to_string(path) else { return Vec::new() };
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            Some((f.first()?.parse().ok()?, f.get(1)?.parse().ok()?, f.get(2).and_then(|v| v.parse().ok())))
        })
        .collect()
}

fn training_curve(t: &Trained) -> TrainingCurve {
    let mut steps = Vec::new();
    if t.config.method == Method::DnnLgk {
        steps.push(t.dir.join("step1").join("history.csv"));
    }
    steps.push(t.dir.join("history.csv"));
    let mut curve = TrainingCurve {
        method: t.config.method.label().into(),
        epoch: vec![],
        train_loss: vec![],
        val_loss: vec![],
        step_starts: vec![],
        loss: match t.config.method {
            Method::Dnn => "mean squared error",
            Method::DnnLgk => "leaky Gaussian kernel (step 1), Gaussian kernel (step 2)",
            Method::Bnn => "Gaussian NLL + KL / N",
            Method::Re => "Σ members Gaussian NLL + repulsion + prior",
        }
        .into(),
    };
    for path in steps {
        curve.step_starts.push(curve.epoch.len());
        for (_, tr, va) in read_history(&path) {
            curve.epoch.push(curve.epoch.len() + 1);
            curve.train_loss.push(tr);
            curve.val_loss.push(va);
        }
    }
    curve
}

fn label_of(name: &str) -> String {
    match name {
        "dnn" => "DNN",
        "dnn-lgk" => "DNN-LGK",
        "bnn" => "BNN",
        "re" => "RE",
        other => other,
    }
    .to_string()
}

#[allow(clippy::too_many_arguments)]
pub(super) fn summarise(
    opts: &StudyOptions,
    trained: &[Trained],
    predictions: &[(Method, PathBuf, usize)],
    evaluation: &MetricsReport,
    test_h5: &Path,
    scan_h5: &Path,
    scan_points: (&[ScanRun], &[ScanRun]),
    step_reports: &[StepReport],
    run_seconds: f64,
) -> Result<StudySummary> {
    let (table, _) = read_selected(&DataSource::file(test_h5), TargetPolicy::Required)?;
    let data = eval_data(&table)?;
    let truth = data.truth.clone().ok_or_else(|| Error::invalid("the test sample has no generator truth"))?;
    let options = EvaluateOptions {
        data: DataSource::file(test_h5),
        predictions: predictions.iter().map(|(m, path, _)| (m.name().to_string(), path.clone())).collect(),
        lcw: Some(opts.out.join("lcw.h5")),
        binning: Binning::default(),
        weight_column: None,
    };
    let mut notes = Vec::new();
    let all = methods(&table, &options, &mut notes)?;
    let with_sigma: Vec<(String, &crate::metrics::Method)> = all
        .iter()
        .filter(|m| m.sigmas.is_some() && ["bnn", "re"].contains(&m.name.as_str()))
        .map(|m| (label_of(&m.name), m))
        .collect();
    let labels: Vec<(String, String)> = all.iter().map(|m| (m.name.clone(), label_of(&m.name))).collect();
    let features = compute::feature_hists(&feature_columns(&table)?);
    let figures = network_figures(&with_sigma, &all, &data, &truth)?;
    let bnn_vs_re = bnn_vs_re(&with_sigma);
    let mut scan = scan_summary(&DataSource::file(scan_h5), scan_points)?;
    scan.re_left_to_paper =
        opts.preset.scan_sizes.iter().copied().filter(|n| !opts.preset.re_scan_sizes.contains(n)).collect();
    let description = describe(opts, trained, predictions, table.len(), step_reports, run_seconds);
    let acceptance = acceptance(evaluation, &figures.spectra, Some(&scan));
    Ok(StudySummary {
        description,
        acceptance,
        evaluation: evaluation.clone(),
        features,
        response_vs_energy: compute::response_vs_energy(&data),
        predicted_vs_true: figures.predicted_vs_true,
        marginals: compute::marginals(&with_sigma, &data),
        pulls: figures.pulls,
        coverage: compute::coverage_curves(&labels, evaluation),
        spectra: figures.spectra,
        sigma_vs_eta: figures.sigma_vs_eta,
        syst_vs_truth: figures.syst_vs_truth,
        bnn_vs_re,
        scan: Some(scan),
        training: trained.iter().map(training_curve).collect(),
        explain: None,
    })
}

/// The scan's figure numbers: the BNN's points and the RE's. The line σ_syst approaches, the
/// mean `truth_R_sd`, is known only for generated data; elsewhere it is NaN and the page leaves it
/// out.
pub(super) fn scan_summary(test: &DataSource, (bnn, re): (&[ScanRun], &[ScanRun])) -> Result<Scan> {
    let (table, _) = read_selected(test, TargetPolicy::Required)?;
    let mean_truth_sd = match table.column("truth_R_sd") {
        Some(sd) if !sd.is_empty() => sd.iter().sum::<f64>() / sd.len() as f64,
        _ => f64::NAN,
    };
    let (points, stat_slope) = scan_series(bnn)?;
    let (re_points, re_stat_slope) = scan_series(re)?;
    Ok(Scan { points, mean_truth_sd, stat_slope, re_points, re_stat_slope, re_left_to_paper: Vec::new() })
}

/// One network's scan points and the log–log slope of their ⟨σ_stat⟩.
fn scan_series(runs: &[ScanRun]) -> Result<(Vec<ScanPoint>, Option<f64>)> {
    let mut points = Vec::new();
    for r in runs {
        let pr = crate::io::predictions::Predictions::read(&r.predictions)?;
        let k = pr.len().max(1) as f64;
        points.push(ScanPoint {
            n_train: r.n_train.min(r.n),
            mean_sigma_stat: pr.sigma_stat.iter().sum::<f64>() / k,
            mean_sigma_syst: pr.sigma_syst.iter().sum::<f64>() / k,
            median_sigma_stat_over_syst: stats::median(pr.sigma_stat.iter().zip(&pr.sigma_syst).map(|(a, b)| a / b))
                .unwrap_or(0.0),
            seconds: r.seconds,
        });
    }
    let logs: Vec<(f64, f64)> = points
        .iter()
        .filter(|p| p.mean_sigma_stat > 0.0)
        .map(|p| ((p.n_train as f64).ln(), p.mean_sigma_stat.ln()))
        .collect();
    Ok((points, crate::metrics::slope(&logs)))
}

/// The figures drawn for each network with uncertainties (and the DNNs' predicted against true).
struct NetworkFigures {
    spectra: Vec<Spectrum>,
    pulls: Vec<PullHist>,
    predicted_vs_true: Vec<Scatter>,
    syst_vs_truth: Vec<Scatter>,
    sigma_vs_eta: Vec<BinnedCurve>,
}

fn network_figures(
    with_sigma: &[(String, &crate::metrics::Method)],
    all: &[crate::metrics::Method],
    data: &EvalData,
    truth: &Truth,
) -> Result<NetworkFigures> {
    let gap = &truth.gap;
    let mut spectra = compute::spectra(
        "truth",
        &[("tot", truth.r_sd.iter().zip(&truth.r_mean).map(|(s, m)| s / m).collect())],
        &data.e_em,
        gap,
    );
    let mut pulls = Vec::new();
    let mut predicted_vs_true = Vec::new();
    let mut syst_vs_truth = Vec::new();
    let eta_edges = compute::edges(0.0, 3.2, 64, false);
    let mut sigma_vs_eta = vec![compute::binned_curve(
        "truth",
        &truth.r_sd.iter().zip(&truth.r_mean).map(|(s, m)| s / m).collect::<Vec<_>>(),
        &data.abs_eta,
        &eta_edges,
    )];
    for (label, m) in with_sigma {
        let s = m.sigmas.as_ref().ok_or_else(|| Error::invalid("internal: no sigmas"))?;
        let rel = |v: &[f64]| v.iter().zip(&m.r_pred).map(|(a, r)| a / r).collect::<Vec<f64>>();
        spectra.extend(compute::spectra(
            label,
            &[("tot", rel(&s.tot)), ("stat", rel(&s.stat)), ("syst", rel(&s.syst))],
            &data.e_em,
            gap,
        ));
        pulls.extend(compute::pull_hists(label, m, data));
        predicted_vs_true.push(compute::predicted_vs_true(label, m, data));
        syst_vs_truth.push(compute::scatter(
            label,
            "truth sd*(x)",
            &format!("σ_{{syst}} ({label})"),
            &truth.r_sd,
            &s.syst,
            (3e-3, 3.0),
            true,
            60,
        ));
        sigma_vs_eta.push(compute::binned_curve(label, &rel(&s.tot), &data.abs_eta, &eta_edges));
    }
    for m in all.iter().filter(|m| m.name == "dnn" || m.name == "dnn-lgk") {
        predicted_vs_true.push(compute::predicted_vs_true(&label_of(&m.name), m, data));
    }
    Ok(NetworkFigures { spectra, pulls, predicted_vs_true, syst_vs_truth, sigma_vs_eta })
}

/// BNN against RE, cluster by cluster, for each kind of σ; empty unless both ran.
fn bnn_vs_re(with_sigma: &[(String, &crate::metrics::Method)]) -> Vec<Scatter> {
    match (with_sigma.iter().find(|x| x.0 == "BNN"), with_sigma.iter().find(|x| x.0 == "RE")) {
        (Some((_, b)), Some((_, r))) => {
            let (sb, sr) = (b.sigmas.as_ref(), r.sigmas.as_ref());
            match (sb, sr) {
                (Some(sb), Some(sr)) => [
                    ("tot", &sb.tot, &sr.tot, (1e-3, 3.0)),
                    ("stat", &sb.stat, &sr.stat, (1e-4, 1.0)),
                    ("syst", &sb.syst, &sr.syst, (1e-3, 3.0)),
                ]
                .iter()
                .map(|(k, a, c, range)| {
                    compute::scatter(k, &format!("σ_{{{k}}} (BNN)"), &format!("σ_{{{k}}} (RE)"), a, c, *range, true, 60)
                })
                .collect(),
                _ => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

/// What was run, on what and for how long.
fn describe(
    opts: &StudyOptions,
    trained: &[Trained],
    predictions: &[(Method, PathBuf, usize)],
    n_test: usize,
    step_reports: &[StepReport],
    run_seconds: f64,
) -> StudyDescription {
    let p = &opts.preset;
    let bnn = trained.iter().find(|t| t.config.method == Method::Bnn);
    StudyDescription {
        preset: format!("{:?}", p.name).to_lowercase(),
        generated_train: p.generated_train,
        generated_test: p.generated_test,
        generated_pu0: p.generated_pu0,
        n_train: bnn.map_or(0, |t| t.summary.n_train),
        n_val: bnn.map_or(0, |t| t.summary.n_val),
        n_test,
        split: bnn.map_or(String::new(), |t| t.summary.split.clone()),
        seeds: Seeds { train: p.seed_train, test: p.seed_test, pu0: p.seed_pu0, networks: p.bnn.training.seed },
        models: trained
            .iter()
            .map(|t| ModelInfo {
                method: t.config.method.name().into(),
                label: t.config.method.label().into(),
                network: t.summary.model.clone(),
                epochs: t.summary.epochs,
                train_seconds: t.summary.seconds,
                samples_per_second: t.summary.samples_per_second,
                draws: predictions.iter().find(|(m, _, _)| *m == t.config.method).map_or(1, |x| x.2),
            })
            .collect(),
        machine: machine(),
        date: utc_now(),
        version: env!("CARGO_PKG_VERSION").into(),
        // The steps' own times plus this run's time outside them (reading, summarising).
        seconds: run_seconds + step_reports.iter().filter(|r| r.reused).map(|r| r.seconds).sum::<f64>(),
        run_seconds,
        reused_steps: step_reports.iter().filter(|r| r.reused).count(),
        steps: step_reports.len(),
    }
}
