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

use super::preset::StudyPreset;
use super::steps::{generate_step, key_of, predict_step, scan_config, scan_points, train_step, StudyOptions};
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
use std::path::PathBuf;
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
    let page = crate::page::write_scan(
        &scan,
        &format!("{} (training) and {} (test)", train.path.display(), test.path.display()),
        out,
    )?;
    Ok((scan, page))
}
