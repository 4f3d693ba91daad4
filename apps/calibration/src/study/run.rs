//! The study pipeline. Every step reads the previous steps' files and is reused when nothing it
//! depends on changed (see [`super::steps`]). The training sample is made first, on every core;
//! then everything up to the evaluation runs side by side, each step after the ones it reads
//! ([`super::plan`]); the evaluation and the summary come last. The output directory:
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

use super::plan::{scan_trainings, SidePlan};
use super::preset::StudyPreset;
use super::steps::{
    explain_job, generate_job, key_of, run_now, say_to, scan_config, scan_plans, Made, ScanNetwork, ScanRun, StepJob,
    StudyOptions, TrainPlan, Trained,
};
use super::summarise::{scan_summary, summarise};
use super::summary::*;
use crate::cuts::read_selected;
use crate::error::{Error, Result};
use crate::evaluate::{evaluate, write_json, EvaluateOptions, MetricsReport};
use crate::explain::ExplainSummary;
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
    // The training sample first, on every core: everything else reads it or can wait.
    let train = out.join("data/train.h5");
    let what = format!("generate {} training clusters (pile-up)", p.generated_train);
    let sample = (p.generated_train, p.seed_train, Sample::PileUp);
    let train_job = generate_job(("generate-train", what), &train, sample, opts.quiet)?;
    let train_key = train_job.key.clone();
    run_now(&mut steps, train_job)?;
    let side = run_side_by_side(&mut steps, opts, (&train, &train_key))?;
    let evaluation = evaluate_step(&mut steps, opts, &side)?;
    let explained = side.explained.clone();
    say_to(opts, "summarising the figures' numbers\n");
    let mut summary = summarise(
        opts,
        &side.trained,
        &side.predicted.files,
        &evaluation,
        &side.test,
        &side.scan_h5,
        (&side.scans[0], &side.scans[1]),
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

/// What the side-by-side steps of a study made: the test sample and the keys of it and the
/// LCW tables, the main networks and their predictions, and the two scans' points on their
/// test sample.
struct Side {
    test: PathBuf,
    test_key: String,
    lcw_key: String,
    trained: Vec<Trained>,
    predicted: Predicted,
    /// `calibration explain` on the BNN's test predictions (None without a BNN).
    explained: Option<ExplainSummary>,
    scan_h5: PathBuf,
    scans: [Vec<ScanRun>; 2],
}

/// Runs everything between the training sample and the evaluation side by side (`plan`): the
/// other samples, the LCW tables, the four networks, the scans' networks, and every network's
/// predictions.
fn run_side_by_side(steps: &mut Steps, opts: &StudyOptions, (train, train_key): (&Path, &str)) -> Result<Side> {
    let (p, out) = (&opts.preset, &opts.out);
    let mut plan = SidePlan::new(opts);
    let (test, pu0, scan_h5) = (out.join("data/test.h5"), out.join("data/pu0.h5"), out.join("data/scan_test.h5"));
    let sample = |name: &str, what: String, path: &Path, n, seed, kind| {
        generate_job((name, what), path, (n, seed, kind), opts.quiet)
    };
    let what = format!("generate {} test clusters", p.generated_test);
    let test_step = plan.add(sample("generate-test", what, &test, p.generated_test, p.seed_test, Sample::PileUp)?, &[]);
    let what = format!("generate {} clusters without pile-up for the LCW tables", p.generated_pu0);
    let pu0_step = plan.add(sample("generate-pu0", what, &pu0, p.generated_pu0, p.seed_pu0, Sample::Pu0)?, &[]);
    let lcw_step = plan.add(lcw_job(out, &pu0, &pu0_step.key)?, &[&pu0_step]);
    let what = "the scan's test clusters (the first of the test sample)".to_string();
    let scan_step =
        plan.add(sample("generate-scan-test", what, &scan_h5, p.scan_test, p.seed_test, Sample::PileUp)?, &[]);
    let train_data = DataSource::file(train);
    let data = (&train_data, train_key, Some(p.generated_train));
    let mains = p
        .networks()
        .into_iter()
        .map(|config| plan.add_training(main_plan(opts, config), data, opts))
        .collect::<Result<Vec<_>>>()?;
    let main_of = |m: Method| mains.iter().find(|t| t.plan.config.method == m);
    let scans = [
        (ScanNetwork::Bnn, Method::Bnn, &p.bnn, &p.scan_sizes),
        (ScanNetwork::Re, Method::Re, &p.re, &p.re_scan_sizes),
    ];
    let mut scan_trained = Vec::new();
    for (network, method, base, sizes) in scans {
        let points = scan_plans(opts, (network, base, sizes), main_of(method).is_some());
        scan_trained.push((network, scan_trainings(&mut plan, points, main_of(method), data, opts)?));
    }
    let test_source = DataSource::file(&test);
    let mut predictions = Vec::new();
    for m in &mains {
        let method = m.plan.config.method;
        let path = out.join("predictions").join(format!("{}.h5", method.name()));
        let names =
            (format!("predict-{}", method.name()), format!("predict with the {} on the test sample", method.label()));
        let step = plan.add_prediction(names, m, (&test_source, &test_step.key, Some(&test_step)), &path, opts)?;
        predictions.push((method, path, step));
    }
    let explain = match predictions.iter().find(|(m, _, _)| *m == Method::Bnn) {
        Some((_, path, step)) => {
            let job = explain_job((&test_source, &test_step.key), (path, &step.key), &out.join("explain"))?;
            Some(plan.add(job, &[step, &test_step]))
        }
        None => None,
    };
    let scan_source = DataSource::file(&scan_h5);
    let mut scan_runs = Vec::new();
    for (network, points) in &scan_trained {
        scan_runs.push(plan.add_scan(*network, points, (&scan_source, &scan_step.key, Some(&scan_step)), opts)?);
    }
    let done = plan.run(steps, opts)?;
    let mut predicted = Predicted { files: Vec::new(), keys: Vec::new() };
    for (method, path, step) in predictions {
        predicted.files.push((method, path, done.draws(&step)?));
        predicted.keys.push(step.key);
    }
    Ok(Side {
        test,
        test_key: test_step.key,
        lcw_key: lcw_step.key,
        trained: mains.iter().map(|m| done.trained(m)).collect::<Result<_>>()?,
        predicted,
        explained: explain.map(|step| done.explained(&step)).transpose()?,
        scan_h5,
        scans: [done.scan_runs(&scan_runs[0])?, done.scan_runs(&scan_runs[1])?],
    })
}

/// The training of one of the study's four networks.
fn main_plan(opts: &StudyOptions, config: &crate::model::ModelConfig) -> TrainPlan {
    let m = config.method;
    TrainPlan {
        name: format!("train-{}", m.name()),
        what: format!("train the {}", m.label()),
        config: config.clone(),
        dir: opts.out.join("models").join(m.name()),
    }
}

/// Building `out/lcw.h5` from the PU0 sample at `pu0` (made by the step keyed `pu0_key`).
fn lcw_job<'a>(out: &Path, pu0: &Path, pu0_key: &str) -> Result<StepJob<'a>> {
    let (lcw_h5, pu0) = (out.join("lcw.h5"), pu0.to_path_buf());
    Ok(rundir::Job {
        name: "lcw".into(),
        what: "build the LCW-like tables".into(),
        key: key_of(&(pu0_key, "lcw", 1))?,
        outputs: vec![lcw_h5.clone()],
        cost: 1e2,
        after: Vec::new(),
        work: Box::new(move || {
            let (t, _) = read_selected(&DataSource::file(&pu0), TargetPolicy::Required)?;
            build(&[Labelled::from_column(&t, "truth_class")?], "data/pu0.h5 (class from truth_class)")?
                .write(&lcw_h5)?;
            Ok(Made::Written)
        }),
    })
}

/// The prediction files of the networks on the test sample: (method, file, draws), and the
/// keys of their steps.
struct Predicted {
    files: Vec<(Method, PathBuf, usize)>,
    keys: Vec<String>,
}

fn evaluate_step(steps: &mut Steps, opts: &StudyOptions, side: &Side) -> Result<MetricsReport> {
    let eval_dir = opts.out.join("evaluation");
    let options = EvaluateOptions {
        data: DataSource::file(&side.test),
        predictions: side.predicted.files.iter().map(|(m, p, _)| (m.name().to_string(), p.clone())).collect(),
        lcw: Some(opts.out.join("lcw.h5")),
        binning: Binning::default(),
        weight_column: None,
    };
    // 2: the report holds the bootstrap errors of the resolution differences.
    let key = key_of(&(&side.test_key, &side.lcw_key, &side.predicted.keys, 2))?;
    steps.run("evaluate", "evaluate every method on the test sample", &key, &[eval_dir.join("metrics.json")], || {
        evaluate(&options, &eval_dir)
    })
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
    let mut plan = SidePlan::new(opts);
    let points = scan_plans(opts, (ScanNetwork::Bnn, &p.bnn, &p.scan_sizes), false);
    let trained = scan_trainings(&mut plan, points, None, (train, &k_train, None), opts)?;
    let planned = plan.add_scan(ScanNetwork::Bnn, &trained, (test, &k_test, None), opts)?;
    let runs = plan.run(&mut steps, opts)?.scan_runs(&planned)?;
    let scan = scan_summary(test, (&runs, &[]))?;
    write_json(&scan, &out.join("scan.json"))?;
    let page = crate::page::write_scan(
        &scan,
        &format!("{} (training) and {} (test)", train.path.display(), test.path.display()),
        out,
    )?;
    Ok((scan, page))
}
