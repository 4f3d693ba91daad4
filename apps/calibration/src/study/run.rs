//! The study pipeline. Every step reads the previous steps' files and is reused when nothing it
//! depends on changed (see [`super::steps`]). The output directory:
//!
//! | path | content |
//! |---|---|
//! | `index.html` | the report page (self-contained: open it from disk) |
//! | `metrics.json` | every number the page shows ([`StudySummary`]) |
//! | `run.json` | the preset, seeds, versions, machine and the wall time of each step |
//! | `data/` | the generated samples: `train.h5`, `test.h5`, `pu0.h5`, `scan_test.h5` |
//! | `lcw.h5` | the LCW-like tables (from `pu0.h5`) |
//! | `models/<method>/` | each network's run directory (`best.h5`, `history.csv`, ...); `models/scan-N/` |
//! | `predictions/<method>.h5` | the predictions on `test.h5` |
//! | `evaluation/metrics.json` | `calibration evaluate`'s report on `test.h5` |

use super::acceptance::acceptance;
use super::compute::{self, feature_columns};
use super::preset::StudyPreset;
use super::summary::*;
use crate::cuts::read_selected;
use crate::error::{Error, Result};
use crate::evaluate::{eval_data, evaluate, methods, write_json, EvaluateOptions, MetricsReport};
use crate::generator::{generate, ClassChoice, GeneratorConfig, Sample};
use crate::lcw::{build, Labelled};
use crate::metrics::Binning;
use crate::model::predict::{predict, PredictArgs};
use crate::model::train::{train, TrainOptions, TrainSummary};
use crate::model::{Method, ModelConfig};
use crate::table::{DataSource, TargetPolicy};
use rundir::{StepReport, Steps};
use serde::{Deserialize, Serialize};
use sigmagrad::Device;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A step's key (see [`rundir::key_of`]), as this app's error when the parts cannot be encoded.
fn key_of<T: serde::Serialize>(parts: &T) -> Result<String> {
    rundir::key_of(parts).ok_or_else(|| Error::invalid("cannot encode a study step's key (a bug: please report it)"))
}

/// Bump when the generator's output changes, so old samples are regenerated.
const GENERATOR_VERSION: u32 = 1;
/// Bump when training or prediction changes what they write for the same configuration (2: the
/// validation set of a `max_train` run is in proportion to it), so old networks are retrained.
const TRAINING_VERSION: u32 = 2;

pub struct StudyOptions {
    pub out: PathBuf,
    pub preset: StudyPreset,
    pub device: Device,
    /// Recompute every step.
    pub fresh: bool,
    pub quiet: bool,
}

/// run.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub preset: StudyPreset,
    pub machine: String,
    pub device: String,
    pub date: String,
    pub version: String,
    pub seconds: f64,
    pub steps: Vec<StepReport>,
}

pub use report::meta::{machine, utc_now};

#[allow(clippy::too_many_arguments)]
fn generate_step(
    steps: &mut Steps,
    name: &str,
    what: &str,
    path: &Path,
    n: usize,
    seed: u64,
    sample: Sample,
    quiet: bool,
) -> Result<String> {
    let config = GeneratorConfig { n, seed, sample, class: ClassChoice::Mixed };
    let key = key_of(&(GENERATOR_VERSION, n, seed, format!("{sample:?}")))?;
    steps.run(name, what, &key, &[path.to_path_buf()], || {
        generate(&config, !quiet)?.write_hdf5(path)?;
        Ok::<_, Error>(())
    })?;
    Ok(key)
}

/// A trained network and the key of its training step.
struct Trained {
    config: ModelConfig,
    dir: PathBuf,
    key: String,
    summary: TrainSummary,
}

#[allow(clippy::too_many_arguments)]
fn train_step(
    steps: &mut Steps,
    name: &str,
    what: &str,
    config: &ModelConfig,
    data: &DataSource,
    data_key: &str,
    dir: &Path,
    opts: &StudyOptions,
) -> Result<Trained> {
    let key = key_of(&(TRAINING_VERSION, data_key, config))?;
    let device = opts.device.clone();
    let summary = steps.run(name, what, &key, &[dir.join(nn::train::BEST)], || {
        // A half-finished or outdated run is started again: the step key says it is stale.
        let _ = std::fs::remove_dir_all(dir);
        let t = TrainOptions {
            data: data.clone(),
            out: dir.to_path_buf(),
            config: config.clone(),
            device,
            resume: false,
            progress: !opts.quiet,
            interrupt_after: None,
        };
        train(&t, &|s: &str| {
            if !opts.quiet {
                eprint!("      {s}")
            }
        })
    })?;
    Ok(Trained { config: config.clone(), dir: dir.to_path_buf(), key, summary })
}

#[allow(clippy::too_many_arguments)]
fn predict_step(
    steps: &mut Steps,
    name: &str,
    what: &str,
    model: &Trained,
    test: &DataSource,
    test_key: &str,
    out: &Path,
    opts: &StudyOptions,
) -> Result<(String, usize)> {
    let key = key_of(&(&model.key, test_key))?;
    let device = opts.device.clone();
    let draws = steps.run(name, what, &key, &[out.to_path_buf()], || {
        let args = PredictArgs {
            model: model.dir.clone(),
            data: test.clone(),
            draws: None,
            batch_size: 8192,
            device,
            progress: !opts.quiet,
        };
        let (p, s) = predict(&args, &|_| {})?;
        p.write(out)?;
        Ok::<_, Error>(s.draws)
    })?;
    Ok((key, draws))
}

/// Epochs for a scan point: about `preset.scan_steps` optimizer steps, at most `scan_max_epochs`.
fn scan_config(base: &ModelConfig, n: usize, preset: &StudyPreset) -> ModelConfig {
    let mut c = base.clone();
    if base.training.max_train == Some(n) {
        return c;
    }
    let per_epoch = n.div_ceil(c.training.batch_size).max(1);
    c.training.epochs = preset.scan_steps.div_ceil(per_epoch).clamp(1, preset.scan_max_epochs);
    c.training.max_train = Some(n);
    c
}

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

/// Runs the whole study; returns the summary (also written to metrics.json) and the path of the page.
pub fn run_study(opts: &StudyOptions) -> Result<(StudySummary, PathBuf)> {
    let start = Instant::now();
    let p = &opts.preset;
    let out = &opts.out;
    for sub in ["data", "models", "predictions", "evaluation"] {
        std::fs::create_dir_all(out.join(sub))
            .map_err(|e| Error::invalid(format!("{}: cannot create the directory: {e}", out.join(sub).display())))?;
    }
    let scan_trains = p.scan_sizes.iter().filter(|&&n| scan_config(&p.bnn, n, p) != p.bnn).count();
    let total = 3 + 1 + 4 + 4 + 1 + 1 + scan_trains + p.scan_sizes.len();
    let mut steps = Steps::new(out, opts.fresh, total, opts.quiet)?;
    let say = |s: &str| {
        if !opts.quiet {
            eprint!("{s}");
        }
    };
    let (train_h5, test_h5, pu0_h5, scan_h5) =
        (out.join("data/train.h5"), out.join("data/test.h5"), out.join("data/pu0.h5"), out.join("data/scan_test.h5"));
    let k_train = generate_step(
        &mut steps,
        "generate-train",
        &format!("generate {} training clusters (pile-up)", p.generated_train),
        &train_h5,
        p.generated_train,
        p.seed_train,
        Sample::PileUp,
        opts.quiet,
    )?;
    let k_test = generate_step(
        &mut steps,
        "generate-test",
        &format!("generate {} test clusters", p.generated_test),
        &test_h5,
        p.generated_test,
        p.seed_test,
        Sample::PileUp,
        opts.quiet,
    )?;
    let k_pu0 = generate_step(
        &mut steps,
        "generate-pu0",
        &format!("generate {} clusters without pile-up for the LCW tables", p.generated_pu0),
        &pu0_h5,
        p.generated_pu0,
        p.seed_pu0,
        Sample::Pu0,
        opts.quiet,
    )?;
    let lcw_h5 = out.join("lcw.h5");
    let k_lcw = key_of(&(&k_pu0, "lcw", 1))?;
    steps.run("lcw", "build the LCW-like tables", &k_lcw, std::slice::from_ref(&lcw_h5), || {
        let (t, _) = read_selected(&DataSource::file(&pu0_h5), TargetPolicy::Required)?;
        build(&[Labelled::from_column(&t, "truth_class")?], "data/pu0.h5 (class from truth_class)")?.write(&lcw_h5)
    })?;
    let mut trained = Vec::new();
    for config in p.networks() {
        let m = config.method;
        let dir = out.join("models").join(m.name());
        trained.push(train_step(
            &mut steps,
            &format!("train-{}", m.name()),
            &format!("train the {}", m.label()),
            config,
            &DataSource::file(&train_h5),
            &k_train,
            &dir,
            opts,
        )?);
    }
    let mut predictions = Vec::new();
    let mut pred_keys = Vec::new();
    for t in &trained {
        let m = t.config.method;
        let path = out.join("predictions").join(format!("{}.h5", m.name()));
        let (k, draws) = predict_step(
            &mut steps,
            &format!("predict-{}", m.name()),
            &format!("predict with the {} on the test sample", m.label()),
            t,
            &DataSource::file(&test_h5),
            &k_test,
            &path,
            opts,
        )?;
        pred_keys.push(k);
        predictions.push((m, path, draws));
    }
    let eval_dir = out.join("evaluation");
    let options = EvaluateOptions {
        data: DataSource::file(&test_h5),
        predictions: predictions.iter().map(|(m, p, _)| (m.name().to_string(), p.clone())).collect(),
        lcw: Some(lcw_h5.clone()),
        binning: Binning::default(),
    };
    let k_eval = key_of(&(&k_test, &k_lcw, &pred_keys, 1))?;
    let evaluation: MetricsReport = steps.run(
        "evaluate",
        "evaluate every method on the test sample",
        &k_eval,
        &[eval_dir.join("metrics.json")],
        || evaluate(&options, &eval_dir),
    )?;
    // The training-size scan: BNNs on the first N training clusters, on the first test clusters.
    let k_scan_test = generate_step(
        &mut steps,
        "generate-scan-test",
        "the scan's test clusters (the first of the test sample)",
        &scan_h5,
        p.scan_test,
        p.seed_test,
        Sample::PileUp,
        opts.quiet,
    )?;
    let bnn = trained
        .iter()
        .find(|t| t.config.method == Method::Bnn)
        .ok_or_else(|| Error::invalid("the study has no BNN"))?;
    let points = scan_points(
        &mut steps,
        opts,
        Some(bnn),
        (&DataSource::file(&train_h5), &k_train),
        (&DataSource::file(&scan_h5), &k_scan_test),
    )?;
    say("summarising the figures' numbers\n");
    let summary = summarise(
        opts,
        &trained,
        &predictions,
        &evaluation,
        &test_h5,
        &scan_h5,
        &points,
        &steps.reports,
        start.elapsed().as_secs_f64(),
    )?;
    write_json(&summary, &out.join("metrics.json"))?;
    let page = super::report::write(&summary, out)?;
    let record = RunRecord {
        preset: p.clone(),
        machine: machine(),
        device: opts.device.backend().name(),
        date: utc_now(),
        version: env!("CARGO_PKG_VERSION").into(),
        seconds: start.elapsed().as_secs_f64(),
        steps: steps.reports.clone(),
    };
    write_json(&record, &out.join("run.json"))?;
    Ok((summary, page))
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
fn summarise(
    opts: &StudyOptions,
    trained: &[Trained],
    predictions: &[(Method, PathBuf, usize)],
    evaluation: &MetricsReport,
    test_h5: &Path,
    scan_h5: &Path,
    scan_points: &[ScanRun],
    step_reports: &[StepReport],
    run_seconds: f64,
) -> Result<StudySummary> {
    let p = &opts.preset;
    let (table, _) = read_selected(&DataSource::file(test_h5), TargetPolicy::Required)?;
    let data = eval_data(&table)?;
    let truth = data.truth.clone().ok_or_else(|| Error::invalid("the test sample has no generator truth"))?;
    let options = EvaluateOptions {
        data: DataSource::file(test_h5),
        predictions: predictions.iter().map(|(m, path, _)| (m.name().to_string(), path.clone())).collect(),
        lcw: Some(opts.out.join("lcw.h5")),
        binning: Binning::default(),
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
    for (label, m) in &with_sigma {
        let s = m.sigmas.as_ref().ok_or_else(|| Error::invalid("internal: no sigmas"))?;
        let rel = |v: &[f64]| v.iter().zip(&m.r_pred).map(|(a, r)| a / r).collect::<Vec<f64>>();
        spectra.extend(compute::spectra(
            label,
            &[("tot", rel(&s.tot)), ("stat", rel(&s.stat)), ("syst", rel(&s.syst))],
            &data.e_em,
            gap,
        ));
        pulls.extend(compute::pull_hists(label, m, &data));
        predicted_vs_true.push(compute::predicted_vs_true(label, m, &data));
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
        predicted_vs_true.push(compute::predicted_vs_true(&label_of(&m.name), m, &data));
    }
    let bnn_vs_re = match (with_sigma.iter().find(|x| x.0 == "BNN"), with_sigma.iter().find(|x| x.0 == "RE")) {
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
    };
    let scan = scan_summary(&DataSource::file(scan_h5), scan_points)?;
    let bnn = trained.iter().find(|t| t.config.method == Method::Bnn);
    let description = StudyDescription {
        preset: format!("{:?}", p.name).to_lowercase(),
        generated_train: p.generated_train,
        generated_test: p.generated_test,
        generated_pu0: p.generated_pu0,
        n_train: bnn.map_or(0, |t| t.summary.n_train),
        n_val: bnn.map_or(0, |t| t.summary.n_val),
        n_test: table.len(),
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
    };
    let acceptance = acceptance(evaluation, &spectra, Some(&scan));
    Ok(StudySummary {
        description,
        acceptance,
        evaluation: evaluation.clone(),
        features,
        response_vs_energy: compute::response_vs_energy(&data),
        predicted_vs_true,
        marginals: compute::marginals(&with_sigma, &data),
        pulls,
        coverage: compute::coverage_curves(&labels, evaluation),
        spectra,
        sigma_vs_eta,
        syst_vs_truth,
        bnn_vs_re,
        scan: Some(scan),
        training: trained.iter().map(training_curve).collect(),
    })
}

/// One trained point of the scan: its prediction file, training time and training-set size.
#[derive(Debug, Clone)]
pub struct ScanRun {
    pub n: usize,
    pub predictions: PathBuf,
    pub seconds: f64,
    pub n_train: usize,
}

/// Trains a BNN for every size of `opts.preset.scan_sizes` on the first N training clusters and
/// predicts `test`. A size whose configuration is the main BNN's (`main`) reuses its training.
fn scan_points(
    steps: &mut Steps,
    opts: &StudyOptions,
    main: Option<&Trained>,
    train: (&DataSource, &str),
    test: (&DataSource, &str),
) -> Result<Vec<ScanRun>> {
    let p = &opts.preset;
    let out = &opts.out;
    let base = main.map_or(&p.bnn, |m| &m.config);
    let mut points = Vec::new();
    for &n in &p.scan_sizes {
        let config = scan_config(base, n, p);
        let t = if let Some(main) = main.filter(|m| m.config == config) {
            say_to(opts, &format!("      scan: N = {n} is the main BNN ({})\n", main.dir.display()));
            Trained { config, dir: main.dir.clone(), key: main.key.clone(), summary: main.summary.clone() }
        } else {
            let what = format!("scan: train a BNN on {n} clusters ({} epochs)", config.training.epochs);
            train_step(
                steps,
                &format!("train-scan-{n}"),
                &what,
                &config,
                train.0,
                train.1,
                &out.join("models").join(format!("scan-{n}")),
                opts,
            )?
        };
        let path = out.join("predictions").join(format!("scan-{n}.h5"));
        predict_step(
            steps,
            &format!("predict-scan-{n}"),
            &format!("scan: predict with the N = {n} BNN"),
            &t,
            test.0,
            test.1,
            &path,
            opts,
        )?;
        points.push(ScanRun { n, predictions: path, seconds: t.summary.seconds, n_train: t.summary.n_train });
    }
    Ok(points)
}

fn say_to(opts: &StudyOptions, s: &str) {
    if !opts.quiet {
        eprint!("{s}");
    }
}

/// The scan's figure numbers. The line σ_syst approaches, the mean `truth_R_sd`, is known only
/// for generated data; elsewhere it is NaN and the page leaves it out.
fn scan_summary(test: &DataSource, runs: &[ScanRun]) -> Result<Scan> {
    let (table, _) = read_selected(test, TargetPolicy::Required)?;
    let mean_truth_sd = match table.column("truth_R_sd") {
        Some(sd) if !sd.is_empty() => sd.iter().sum::<f64>() / sd.len() as f64,
        _ => f64::NAN,
    };
    let mut points = Vec::new();
    for r in runs {
        let pr = crate::predictions::Predictions::read(&r.predictions)?;
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
    let stat_slope = crate::metrics::slope(&logs);
    Ok(Scan { points, mean_truth_sd, stat_slope })
}

/// `calibration scan`: the training-size scan alone, on any training and test files. Writes
/// `scan.json` and a page `index.html` with the scan's figure into `opts.out`.
pub fn run_scan(opts: &StudyOptions, train: &DataSource, test: &DataSource) -> Result<(Scan, PathBuf)> {
    let out = &opts.out;
    for sub in ["models", "predictions"] {
        std::fs::create_dir_all(out.join(sub))
            .map_err(|e| Error::invalid(format!("{}: cannot create the directory: {e}", out.join(sub).display())))?;
    }
    let file_key = |d: &DataSource| -> Result<String> {
        let meta = std::fs::metadata(&d.path).map_err(|e| Error::invalid(format!("{}: {e}", d.path.display())))?;
        let modified =
            meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |t| t.as_nanos());
        key_of(&(std::fs::canonicalize(&d.path).unwrap_or_else(|_| d.path.clone()), &d.tree, meta.len(), modified))
    };
    let (k_train, k_test) = (file_key(train)?, file_key(test)?);
    let mut steps = Steps::new(out, opts.fresh, 2 * opts.preset.scan_sizes.len(), opts.quiet)?;
    let runs = scan_points(&mut steps, opts, None, (train, &k_train), (test, &k_test))?;
    let scan = scan_summary(test, &runs)?;
    write_json(&scan, &out.join("scan.json"))?;
    let page = super::report::write_scan(
        &scan,
        &format!("{} (training) and {} (test)", train.path.display(), test.path.display()),
        out,
    )?;
    Ok((scan, page))
}
