//! The whole study end to end on the tiny preset (seconds): every output of the directory
//! layout is written, the page passes the figure checker, a re-run reuses every step, and
//! `calibration scan` works on files that are not the study's.

mod common;

use calibration::io::DataSource;
use calibration::study::run::{run_scan, RunRecord};
use calibration::study::summary::StudySummary;
use calibration::study::{run_study, StudyOptions, StudyPreset, StudyPresetName};
use std::path::Path;

fn options(out: &Path, fresh: bool) -> StudyOptions {
    StudyOptions {
        out: out.to_path_buf(),
        preset: StudyPreset::new(StudyPresetName::Tiny),
        device: sigmagrad::cpu(),
        fresh,
        quiet: true,
        jobs: None,
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_tiny_study_writes_its_directory_and_a_rerun_reuses_every_step() {
    let out = common::temp_dir("study");
    let (summary, page) = run_study(&options(&out, false)).unwrap();
    assert_eq!(page, out.join("index.html"));
    for file in [
        "index.html",
        "metrics.json",
        "run.json",
        "lcw.h5",
        "data/train.h5",
        "data/test.h5",
        "data/pu0.h5",
        "data/scan_test.h5",
        "evaluation/metrics.json",
    ] {
        assert!(out.join(file).is_file(), "{file} is missing");
    }
    for m in ["dnn", "dnn-lgk", "bnn", "re"] {
        assert!(out.join("models").join(m).join("best.h5").is_file(), "models/{m}/best.h5");
        assert!(out.join("predictions").join(format!("{m}.h5")).is_file(), "predictions/{m}.h5");
    }
    // metrics.json is the summary the page was drawn from.
    let written: StudySummary = read_json(&out.join("metrics.json"));
    assert_eq!(written.description.models.len(), 4);
    assert_eq!(written.scan.as_ref().map(|s| s.points.len()), Some(2));
    assert_eq!(written.evaluation.methods.len(), summary.evaluation.methods.len());
    assert!(written.evaluation.methods.iter().any(|m| m.name == "LCW-like"), "the LCW-like baseline is evaluated");
    // The page: self-contained and every figure well formed.
    let html = std::fs::read_to_string(&page).unwrap();
    let check = report::check::check_page(&html);
    assert!(check.passed(), "{check}");
    assert!(check.figures.len() >= 10, "only {} figures", check.figures.len());
    let first: RunRecord = read_json(&out.join("run.json"));
    assert!(first.steps.iter().all(|s| !s.reused), "a first run computes everything");
    assert!(first.steps.len() >= 15);

    // A second run changes nothing, so it reuses every step; the page is written again.
    std::fs::remove_file(out.join("index.html")).unwrap();
    run_study(&options(&out, false)).unwrap();
    let second: RunRecord = read_json(&out.join("run.json"));
    assert!(
        second.steps.iter().all(|s| s.reused),
        "{:?}",
        second.steps.iter().filter(|s| !s.reused).collect::<Vec<_>>()
    );
    assert!(out.join("index.html").is_file());
    // Its summary still gives the study's own time (the steps' recorded times), not the re-run's.
    let summary: serde_json::Value = read_json(&out.join("metrics.json"));
    let d = &summary["description"];
    let step_total: f64 = first.steps.iter().map(|s| s.seconds).sum();
    let total = d["seconds"].as_f64().unwrap();
    assert!(total >= step_total && total > d["run_seconds"].as_f64().unwrap(), "{d}");
    assert_eq!(d["reused_steps"].as_u64(), Some(second.steps.len() as u64));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains(&format!("reused {} of its {} steps", second.steps.len(), second.steps.len())));

    // A changed network reruns that network and what depends on it, nothing else.
    let mut changed = options(&out, false);
    changed.preset.dnn.training.epochs += 1;
    run_study(&changed).unwrap();
    let third: RunRecord = read_json(&out.join("run.json"));
    let rerun: Vec<&str> = third.steps.iter().filter(|s| !s.reused).map(|s| s.name.as_str()).collect();
    assert_eq!(rerun, ["train-dnn", "predict-dnn", "evaluate"]);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn the_scan_runs_on_any_training_and_test_files() {
    let study = common::temp_dir("scan-data");
    // Two small generated files, written the way any user would (no study around them).
    let gen = |n: usize, seed: u64, path: &Path| {
        let config = calibration::generator::GeneratorConfig::new(n, seed, calibration::generator::Sample::PileUp);
        calibration::generator::generate(&config, false).unwrap().write_hdf5(path).unwrap();
    };
    let (train, test) = (study.join("train.h5"), study.join("test.h5"));
    gen(4000, 11, &train);
    gen(1500, 12, &test);
    let out = study.join("scan");
    let mut opts = options(&out, false);
    opts.preset.scan_sizes = vec![500, 2000];
    let (scan, page) = run_scan(&opts, &DataSource::file(&train), &DataSource::file(&test)).unwrap();
    assert_eq!(scan.points.iter().map(|p| p.n_train).collect::<Vec<_>>(), [500, 2000]);
    assert!(scan.points.iter().all(|p| p.mean_sigma_stat > 0.0 && p.mean_sigma_syst > 0.0));
    assert!(scan.mean_truth_sd > 0.0, "generated test data carry truth_R_sd");
    assert!(scan.stat_slope.is_some_and(f64::is_finite));
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(report::check::check_page(&html).passed());
    assert!(out.join("scan.json").is_file());
    let _ = std::fs::remove_dir_all(&study);
}
