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
//! | `explain/` | `calibration explain` on the BNN's predictions: `findings.json`, `flags.h5`, `index.html` |

use super::preset::StudyPreset;
use super::steps::{
    explain_step, generate_step, key_of, predict_step, say_to, scan_config, scan_plans, scan_points, train_all,
    ScanNetwork, ScanPoint, ScanRun, StudyOptions, TrainPlan, Trained,
};
use super::summarise::{scan_summary, summarise};
use super::summary::*;
use crate::cuts::read_selected;
use crate::error::{Error, Result};
use crate::evaluate::{evaluate, write_json, EvaluateOptions, MetricsReport};
use crate::generator::Sample;
use crate::io::{DataSource, TargetPolicy};
use crate::lcw::{build, Labelled};
use crate::metrics::Binning;
use crate::model::Method;
use rundir::{StepReport, Steps};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

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

/// Runs the whole study; returns the summary (also written to metrics.json) and the path of the page.
pub fn run_study(opts: &StudyOptions) -> Result<(StudySummary, PathBuf)> {
    let start = Instant::now();
    let (p, out) = (&opts.preset, &opts.out);
    create_dirs(out, &["data", "models", "predictions", "evaluation"])?;
    let _lock = rundir::RunLock::acquire(out)?;
    let trains = |base: &crate::model::ModelConfig, sizes: &[usize]| {
        sizes.iter().filter(|&&n| scan_config(base, n, p) != *base).count() + sizes.len()
    };
    let total = 3 + 1 + 4 + 4 + 1 + 1 + 1 + trains(&p.bnn, &p.scan_sizes) + trains(&p.re, &p.re_scan_sizes);
    let mut steps = Steps::new(out, opts.fresh, total, opts.quiet)?;
    let samples = generate_samples(&mut steps, opts)?;
    let lcw_key = lcw_step(&mut steps, out, &samples)?;
    let (trained, scans) = train_networks(&mut steps, opts, &samples)?;
    let predicted = predict_networks(&mut steps, opts, &trained, &samples)?;
    let evaluation = evaluate_step(&mut steps, opts, &samples, &lcw_key, &predicted)?;
    let explained = explain_bnn(&mut steps, opts, &samples, &predicted)?;
    let (scan_h5, points, re_points) = scan_step(&mut steps, opts, scans)?;
    say_to(opts, "summarising the figures' numbers\n");
    let mut summary = summarise(
        opts,
        &trained,
        &predicted.files,
        &evaluation,
        &samples.test,
        &scan_h5,
        (&points, &re_points),
        &steps.reports,
        start.elapsed().as_secs_f64(),
    )?;
    summary.acceptance.extend(super::acceptance::explain_rows(explained.as_ref()));
    summary.explain = explained;
    write_json(&summary, &out.join("metrics.json"))?;
    let page = crate::page::write(&summary, out)?;
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

/// Creates `out/sub` for every `sub`.
fn create_dirs(out: &Path, subs: &[&str]) -> Result<()> {
    for sub in subs {
        std::fs::create_dir_all(out.join(sub))
            .map_err(|e| Error::invalid(format!("{}: cannot create the directory: {e}", out.join(sub).display())))?;
    }
    Ok(())
}

/// The three generated samples of a study and the keys of their steps.
struct Samples {
    train: PathBuf,
    test: PathBuf,
    pu0: PathBuf,
    train_key: String,
    test_key: String,
    pu0_key: String,
}

fn generate_samples(steps: &mut Steps, opts: &StudyOptions) -> Result<Samples> {
    let (p, out) = (&opts.preset, &opts.out);
    let (train, test, pu0) = (out.join("data/train.h5"), out.join("data/test.h5"), out.join("data/pu0.h5"));
    let train_key = generate_step(
        steps,
        "generate-train",
        &format!("generate {} training clusters (pile-up)", p.generated_train),
        &train,
        p.generated_train,
        p.seed_train,
        Sample::PileUp,
        opts.quiet,
    )?;
    let test_key = generate_step(
        steps,
        "generate-test",
        &format!("generate {} test clusters", p.generated_test),
        &test,
        p.generated_test,
        p.seed_test,
        Sample::PileUp,
        opts.quiet,
    )?;
    let pu0_key = generate_step(
        steps,
        "generate-pu0",
        &format!("generate {} clusters without pile-up for the LCW tables", p.generated_pu0),
        &pu0,
        p.generated_pu0,
        p.seed_pu0,
        Sample::Pu0,
        opts.quiet,
    )?;
    Ok(Samples { train, test, pu0, train_key, test_key, pu0_key })
}

/// Builds `out/lcw.h5` from the PU0 sample; returns the step's key.
fn lcw_step(steps: &mut Steps, out: &Path, samples: &Samples) -> Result<String> {
    let lcw_h5 = out.join("lcw.h5");
    let key = key_of(&(&samples.pu0_key, "lcw", 1))?;
    steps.run("lcw", "build the LCW-like tables", &key, std::slice::from_ref(&lcw_h5), || {
        let (t, _) = read_selected(&DataSource::file(&samples.pu0), TargetPolicy::Required)?;
        build(&[Labelled::from_column(&t, "truth_class")?], "data/pu0.h5 (class from truth_class)")?.write(&lcw_h5)
    })?;
    Ok(key)
}

/// The networks of each scan, one per size with whether it is the main network's training.
type ScanNetworks = [Vec<(usize, Trained, bool)>; 2];

/// Trains the main networks and the two scans' networks, all in one set so that they share the
/// cores (`steps::train_all`).
fn train_networks(steps: &mut Steps, opts: &StudyOptions, samples: &Samples) -> Result<(Vec<Trained>, ScanNetworks)> {
    let p = &opts.preset;
    let mut plans: Vec<TrainPlan> = p
        .networks()
        .into_iter()
        .map(|config| {
            let m = config.method;
            TrainPlan {
                name: format!("train-{}", m.name()),
                what: format!("train the {}", m.label()),
                config: config.clone(),
                dir: opts.out.join("models").join(m.name()),
            }
        })
        .collect();
    let mains = plans.len();
    let has = |m: Method| plans.iter().any(|t| t.config.method == m);
    let scans = [
        scan_plans(opts, (ScanNetwork::Bnn, &p.bnn, &p.scan_sizes), has(Method::Bnn)),
        scan_plans(opts, (ScanNetwork::Re, &p.re, &p.re_scan_sizes), has(Method::Re)),
    ];
    let mut layout = Vec::new();
    for (s, scan) in scans.into_iter().enumerate() {
        for point in scan {
            match point {
                ScanPoint::Main(n) => layout.push((s, n, None)),
                ScanPoint::Own(n, plan) => {
                    layout.push((s, n, Some(plans.len())));
                    plans.push(*plan);
                }
            }
        }
    }
    let trained = train_all(steps, opts, plans, (&DataSource::file(&samples.train), &samples.train_key))?;
    let main_of = |s: usize| {
        let m = if s == 0 { Method::Bnn } else { Method::Re };
        trained[..mains]
            .iter()
            .find(|t| t.config.method == m)
            .ok_or_else(|| Error::invalid(format!("the study has no {}", m.label())))
    };
    let mut networks: ScanNetworks = [Vec::new(), Vec::new()];
    for (s, n, own) in layout {
        let (t, is_main) = match own {
            Some(i) => (trained[i].clone(), false),
            None => (main_of(s)?.clone(), true),
        };
        networks[s].push((n, t, is_main));
    }
    Ok((trained[..mains].to_vec(), networks))
}

/// The prediction files of the networks on the test sample: (method, file, draws), and the
/// keys of their steps.
struct Predicted {
    files: Vec<(Method, PathBuf, usize)>,
    keys: Vec<String>,
}

fn predict_networks(
    steps: &mut Steps,
    opts: &StudyOptions,
    trained: &[Trained],
    samples: &Samples,
) -> Result<Predicted> {
    let mut predicted = Predicted { files: Vec::new(), keys: Vec::new() };
    for t in trained {
        let m = t.config.method;
        let path = opts.out.join("predictions").join(format!("{}.h5", m.name()));
        let (k, draws) = predict_step(
            steps,
            &format!("predict-{}", m.name()),
            &format!("predict with the {} on the test sample", m.label()),
            t,
            &DataSource::file(&samples.test),
            &samples.test_key,
            &path,
            opts,
        )?;
        predicted.keys.push(k);
        predicted.files.push((m, path, draws));
    }
    Ok(predicted)
}

fn evaluate_step(
    steps: &mut Steps,
    opts: &StudyOptions,
    samples: &Samples,
    lcw_key: &str,
    predicted: &Predicted,
) -> Result<MetricsReport> {
    let eval_dir = opts.out.join("evaluation");
    let options = EvaluateOptions {
        data: DataSource::file(&samples.test),
        predictions: predicted.files.iter().map(|(m, p, _)| (m.name().to_string(), p.clone())).collect(),
        lcw: Some(opts.out.join("lcw.h5")),
        binning: Binning::default(),
        weight_column: None,
    };
    // 2: the report holds the bootstrap errors of the resolution differences.
    let key = key_of(&(&samples.test_key, lcw_key, &predicted.keys, 2))?;
    steps.run("evaluate", "evaluate every method on the test sample", &key, &[eval_dir.join("metrics.json")], || {
        evaluate(&options, &eval_dir)
    })
}

/// `calibration explain` on the BNN's test predictions into `out/explain/`; None when the study
/// has no BNN.
fn explain_bnn(
    steps: &mut Steps,
    opts: &StudyOptions,
    samples: &Samples,
    predicted: &Predicted,
) -> Result<Option<crate::explain::ExplainSummary>> {
    let Some(k) = predicted.files.iter().position(|(m, _, _)| *m == Method::Bnn) else { return Ok(None) };
    let test = DataSource::file(&samples.test);
    let summary = explain_step(
        steps,
        (&test, &samples.test_key),
        (&predicted.files[k].1, &predicted.keys[k]),
        &opts.out.join("explain"),
    )?;
    Ok(Some(summary))
}

/// The training-size scans of the BNN and of the RE: networks on the first N training clusters,
/// predicting the first test clusters; returns the scan's test file and the two scans' points.
fn scan_step(
    steps: &mut Steps,
    opts: &StudyOptions,
    [bnn, re]: ScanNetworks,
) -> Result<(PathBuf, Vec<ScanRun>, Vec<ScanRun>)> {
    let p = &opts.preset;
    let scan_h5 = opts.out.join("data/scan_test.h5");
    let scan_key = generate_step(
        steps,
        "generate-scan-test",
        "the scan's test clusters (the first of the test sample)",
        &scan_h5,
        p.scan_test,
        p.seed_test,
        Sample::PileUp,
        opts.quiet,
    )?;
    let test = (&DataSource::file(&scan_h5), scan_key.as_str());
    let bnn = scan_points(steps, opts, ScanNetwork::Bnn, bnn, test)?;
    let re = scan_points(steps, opts, ScanNetwork::Re, re, test)?;
    Ok((scan_h5, bnn, re))
}

/// `calibration scan`: the training-size scan alone, on any training and test files. Writes
/// `scan.json` and a page `index.html` with the scan's figure into `opts.out`.
pub fn run_scan(opts: &StudyOptions, train: &DataSource, test: &DataSource) -> Result<(Scan, PathBuf)> {
    let out = &opts.out;
    create_dirs(out, &["models", "predictions"])?;
    let _lock = rundir::RunLock::acquire(out)?;
    let file_key = |d: &DataSource| -> Result<String> {
        let meta = std::fs::metadata(&d.path).map_err(|e| Error::invalid(format!("{}: {e}", d.path.display())))?;
        let modified =
            meta.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |t| t.as_nanos());
        key_of(&(std::fs::canonicalize(&d.path).unwrap_or_else(|_| d.path.clone()), &d.tree, meta.len(), modified))
    };
    let (k_train, k_test) = (file_key(train)?, file_key(test)?);
    let mut steps = Steps::new(out, opts.fresh, 2 * opts.preset.scan_sizes.len(), opts.quiet)?;
    let p = &opts.preset;
    let plans: Vec<TrainPlan> = scan_plans(opts, (ScanNetwork::Bnn, &p.bnn, &p.scan_sizes), false)
        .into_iter()
        .filter_map(|point| match point {
            ScanPoint::Own(_, plan) => Some(*plan),
            ScanPoint::Main(_) => None,
        })
        .collect();
    let trained = train_all(&mut steps, opts, plans, (train, &k_train))?;
    let networks = p.scan_sizes.iter().copied().zip(trained).map(|(n, t)| (n, t, false)).collect();
    let runs = scan_points(&mut steps, opts, ScanNetwork::Bnn, networks, (test, &k_test))?;
    let scan = scan_summary(test, (&runs, &[]))?;
    write_json(&scan, &out.join("scan.json"))?;
    let page = crate::page::write_scan(
        &scan,
        &format!("{} (training) and {} (test)", train.path.display(), test.path.display()),
        out,
    )?;
    Ok((scan, page))
}
