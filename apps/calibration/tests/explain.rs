//! `calibration explain` end to end on a generator variant whose gap window is moved to
//! |η| 2.2–2.4: a small BNN is trained, predicts a test file from which every truth column has
//! been removed, and explain must find the moved window and not the study's 1.4–1.6. Plus the
//! hostile inputs: NaN σ, an empty file, a missing column, a bad quantile.

mod common;

use calibration::columns::{is_truth, CLUSTER_ETA};
use calibration::explain::output::read_flags;
use calibration::io::{ClusterTable, DataSource, Schema, TargetPolicy};
use common::{fails, ok, s, temp_dir};
use std::path::Path;

const MOVED: (f64, f64) = (2.2, 2.4);
const STUDY: (f64, f64) = (1.4, 1.6);

fn iou(a: (f64, f64), b: (f64, f64)) -> f64 {
    let inter = (a.1.min(b.1) - a.0.max(b.0)).max(0.0);
    inter / (a.1.max(b.1) - a.0.min(b.0))
}

/// A copy of a cluster file without its truth columns: what real data looks like.
fn without_truth(from: &Path, to: &Path) {
    let mut t = ClusterTable::read(&DataSource::file(from), &Schema::clusters(TargetPolicy::Required)).unwrap();
    let truth: Vec<String> = t.names().iter().filter(|n| is_truth(n)).cloned().collect();
    assert!(!truth.is_empty());
    for name in truth {
        t.remove(&name);
    }
    t.write_hdf5(to).unwrap();
}

/// The BNN of the test: small and short, with a learning rate that resolves a 0.2-wide window.
fn bnn_config(path: &Path) {
    std::fs::write(
        path,
        "[network]\nhidden = [32, 32, 32]\n[training]\nepochs = 12\nbatch_size = 256\nlr = 0.003\n[bnn]\ndraws = 10\n",
    )
    .unwrap();
}

#[test]
fn explain_finds_a_moved_gap_window_from_a_bnn_without_the_truth() {
    let d = temp_dir("explain-moved");
    let (train, full, test, config) = (d.join("train.h5"), d.join("full.h5"), d.join("test.h5"), d.join("bnn.toml"));
    let window = format!("{}:{}", MOVED.0, MOVED.1);
    ok(&["generate", "--quiet", "--out", s(&train), "--n", "60000", "--seed", "21", "--gap-window", &window]);
    ok(&["generate", "--quiet", "--out", s(&full), "--n", "40000", "--seed", "22", "--gap-window", &window]);
    without_truth(&full, &test);
    bnn_config(&config);
    let (model, pred, out) = (d.join("bnn"), d.join("pred.h5"), d.join("explain"));
    ok(&["train", "--quiet", "--data", s(&train), "--model", "bnn", "--config", s(&config), "--out", s(&model)]);
    ok(&["predict", "--quiet", "--model", s(&model), "--data", s(&test), "--out", s(&pred)]);
    let sentence = ok(&["explain", "--quiet", "--data", s(&test), "--pred", s(&pred), "--out", s(&out)]);
    eprintln!("explain on the moved window: {sentence}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("findings.json")).unwrap()).unwrap();
    let selection = &json["selection"];
    let (flagged, total) = (selection["flagged"].as_u64().unwrap(), selection["total"].as_u64().unwrap());
    assert_eq!(selection["quantile"].as_f64(), Some(0.95));
    assert!(selection["rule"].as_str().unwrap().contains("clusterE"));
    assert!((flagged as f64 / total as f64 - 0.05).abs() < 0.01, "{flagged} of {total}");
    let findings = json["findings"].as_array().unwrap();
    let keys = ["feature", "transform", "low", "high", "flagged_share", "overall_share", "enrichment", "score"];
    for f in findings {
        assert!(keys.iter().all(|k| !f[k].is_null()), "{f}");
    }
    let scores: Vec<f64> = findings.iter().map(|f| f["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "sorted by score: {scores:?}");
    let top_eta = findings.iter().find(|f| f["feature"] == CLUSTER_ETA).expect("a finding on clusterEta");
    let range = (top_eta["low"].as_f64().unwrap(), top_eta["high"].as_f64().unwrap());
    let range = if range.1 <= 0.0 { (-range.1, -range.0) } else { range };
    assert!(iou(range, MOVED) >= 0.3, "the top η finding {top_eta} is not on the moved window; {sentence}");
    assert!(iou(range, STUDY) < 0.1, "the top η finding {top_eta} is on the study's window");
    assert!(top_eta["enrichment"].as_f64().unwrap() >= 2.0, "{top_eta}");

    let (flags, index) = read_flags(&out.join("flags.h5")).unwrap();
    assert_eq!((flags.len() as u64, flags.iter().filter(|&&f| f).count() as u64), (total, flagged));
    assert!(index.windows(2).all(|w| w[0] < w[1]), "input rows in file order");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let check = report::check::check_page(&html);
    assert!(check.passed(), "{check}");
    assert!(html.contains("enrichment"), "the page states the finding");
}

/// A small file and a prediction file for it, written through the library.
fn small_inputs(d: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let data = d.join("data.h5");
    let config = calibration::generator::GeneratorConfig::new(3000, 5, calibration::generator::Sample::PileUp);
    calibration::generator::generate(&config, false).unwrap().write_hdf5(&data).unwrap();
    let (t, _) = calibration::cuts::read_selected(&DataSource::file(&data), TargetPolicy::IfPresent).unwrap();
    let e = t.column("clusterE").unwrap();
    let sd: Vec<f64> = e.iter().map(|e| 0.2 / e.sqrt()).collect();
    let p = calibration::io::Predictions::from_response(
        e,
        t.input_index.clone(),
        vec![1.0; t.len()],
        sd,
        vec![0.01; t.len()],
        "test",
        "test",
        s(&data),
    )
    .unwrap();
    let pred = d.join("pred.h5");
    p.write(&pred).unwrap();
    (data, pred)
}

/// Runs explain, which must fail; returns its message.
fn refused(data: &Path, pred: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = vec!["explain", "--quiet", "--data", s(data), "--pred", s(pred), "--out", s(out)];
    args.extend_from_slice(extra);
    fails(&args)
}

#[test]
fn hostile_inputs_are_named() {
    let d = temp_dir("explain-hostile");
    let (data, pred) = small_inputs(&d);
    let out = d.join("out");
    let err = refused(&data, &pred, &out, &["--quantile", "1.2"]);
    assert!(err.contains("--quantile"), "{err}");

    // NaN σ in the prediction file: the file and the dataset are named.
    let bad = d.join("nan.h5");
    std::fs::copy(&pred, &bad).unwrap();
    {
        let f = hdf5::File::open_rw(&bad).unwrap();
        f.unlink("sigma_tot").unwrap();
        let mut v: Vec<f64> = vec![0.1; calibration::io::Predictions::read(&pred).unwrap().len()];
        v[3] = f64::NAN;
        f.new_dataset::<f64>().shape([v.len()]).create("sigma_tot").unwrap().write_raw(&v).unwrap();
    }
    let err = refused(&data, &bad, &out, &[]);
    assert!(err.contains("nan.h5") && err.contains("sigma_tot") && err.contains("not finite"), "{err}");

    // A file without rows, and one without a feature.
    let mut t = ClusterTable::read(&DataSource::file(&data), &Schema::clusters(TargetPolicy::Required)).unwrap();
    let empty = d.join("empty.h5");
    t.head(0).write_hdf5(&empty).unwrap();
    let err = refused(&empty, &pred, &out, &[]);
    assert!(err.contains("empty.h5") && err.contains("no cluster"), "{err}");
    t.remove("cluster_time");
    let missing = d.join("missing.h5");
    t.write_hdf5(&missing).unwrap();
    let err = refused(&missing, &pred, &out, &[]);
    assert!(err.contains("missing.h5") && err.contains("cluster_time"), "{err}");

    // A cluster file given as the predictions.
    let err = refused(&data, &data, &out, &[]);
    assert!(err.contains("cluster file"), "{err}");
    assert!(!out.join("findings.json").exists(), "nothing written by a refused run");
    ok(&["explain", "--quiet", "--data", s(&data), "--pred", s(&pred), "--out", s(&out)]);
    assert!(out.join("findings.json").exists());
}
