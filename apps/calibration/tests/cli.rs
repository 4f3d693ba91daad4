//! The `calibration` binary end to end: generate → lcw → evaluate, with a prediction file, and
//! the messages for wrong arguments.

mod common;

use calibration::cuts::read_selected;
use calibration::io::predictions::Predictions;
use calibration::io::{DataSource, TargetPolicy};
use common::{fails, ok, s, temp_dir};
use std::path::Path;

/// A prediction file as `predict` would write it, from the truth: R_pred = mean*, σ_syst = sd*.
fn truth_predictions(data: &Path, out: &Path) {
    let (t, _) = read_selected(&DataSource::file(data), TargetPolicy::Required).unwrap();
    let mean = t.column("truth_R_mean").unwrap().to_vec();
    let sd = t.column("truth_R_sd").unwrap().to_vec();
    let stat = vec![1e-4; t.len()];
    let p = Predictions::from_response(
        t.column("clusterE").unwrap(),
        t.input_index.clone(),
        mean,
        sd,
        stat,
        "truth",
        "exact truth",
        s(data),
    )
    .unwrap();
    p.write(out).unwrap();
}

#[test]
fn generate_lcw_and_evaluate_run_end_to_end() {
    let d = temp_dir("cli-e2e");
    let (pu0, data, lcw, pred, out) =
        (d.join("pu0.h5"), d.join("data.h5"), d.join("lcw.h5"), d.join("pred.h5"), d.join("eval"));
    ok(&["generate", "--quiet", "--out", s(&pu0), "--n", "40000", "--seed", "3", "--pu0"]);
    ok(&["generate", "--quiet", "--out", s(&data), "--n", "30000", "--seed", "4"]);
    ok(&["lcw", "--quiet", "--pu0", s(&pu0), "--out", s(&lcw)]);
    truth_predictions(&data, &pred);
    let table = ok(&[
        "evaluate",
        "--quiet",
        "--data",
        s(&data),
        "--lcw",
        s(&lcw),
        "--pred",
        &format!("truth={}", s(&pred)),
        "--out",
        s(&out),
    ]);
    assert!(table.contains("LCW-like") && table.contains("oracle") && table.contains("truth"), "{table}");

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let names: Vec<&str> = json["methods"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["EM scale", "LCW-like", "oracle", "truth"]);
    assert_eq!(json["has_truth"], true);
    assert!(json["cuts"]["passed"].as_u64().unwrap() > 20_000);
    let truth = &json["methods"][3];
    let ratio = truth["sigma_syst_over_truth_sd"]["median"].as_f64().unwrap();
    assert!((ratio - 1.0).abs() < 1e-9, "{ratio}");
    for bin in truth["closure_by_e_em"].as_array().unwrap() {
        if let Some(c) = bin["median"].as_f64() {
            assert!((c - 1.0).abs() < 1e-9, "{bin}");
        }
    }
    let gap = truth["gap_ratio"]["fraction_of_truth"].as_f64().unwrap();
    assert!((gap - 1.0).abs() < 0.05, "gap ratio fraction {gap}");
    let coverage = truth["pulls"]["overall"]["tot"]["coverage_1sigma"].as_f64().unwrap();
    assert!((coverage - 0.68).abs() < 0.03, "coverage of the exact sd {coverage}");
    // LCW-like is better than the EM scale in every E_dep bin.
    let res = |m: usize, b: usize| json["methods"][m]["response"]["by_e_dep"][b]["resolution"].as_f64();
    for b in 0..7 {
        if let (Some(em), Some(lcw)) = (res(0, b), res(1, b)) {
            assert!(lcw < em, "bin {b}: LCW {lcw} vs EM {em}");
        }
    }
    assert!(json["comparisons"].as_array().unwrap().is_empty(), "one method with sigmas: no pairs");

    // The two-file LCW form with single-class samples.
    let (em, had, lcw2) = (d.join("em.h5"), d.join("had.h5"), d.join("lcw2.h5"));
    ok(&["generate", "--quiet", "--out", s(&em), "--n", "5000", "--seed", "5", "--pu0", "--class", "em"]);
    ok(&["generate", "--quiet", "--out", s(&had), "--n", "10000", "--seed", "6", "--pu0", "--class", "had"]);
    ok(&["lcw", "--quiet", "--pu0-em", s(&em), "--pu0-had", s(&had), "--out", s(&lcw2)]);
    assert!(lcw2.exists());

    // Predictions for a prefix of the data (same seed) match it; for another file are refused.
    let prefix = d.join("prefix.h5");
    ok(&["generate", "--quiet", "--out", s(&prefix), "--n", "2000", "--seed", "4"]);
    ok(&["evaluate", "--quiet", "--data", s(&prefix), "--pred", &format!("truth={}", s(&pred)), "--out", s(&out)]);
    let other = d.join("other.h5");
    ok(&["generate", "--quiet", "--out", s(&other), "--n", "2000", "--seed", "44"]);
    let err = fails(&[
        "evaluate",
        "--quiet",
        "--data",
        s(&other),
        "--pred",
        &format!("truth={}", s(&pred)),
        "--out",
        s(&out),
    ]);
    assert!(err.contains("another file") || err.contains("lack"), "{err}");
    let err = fails(&[
        "evaluate",
        "--quiet",
        "--data",
        s(&data),
        "--pred",
        &format!("a={}", s(&pred)),
        "--pred",
        &format!("a={}", s(&pred)),
        "--out",
        s(&out),
    ]);
    assert!(err.contains("given twice"), "{err}");
    let err = fails(&["evaluate", "--quiet", "--data", s(&data), "--lcw", s(&pred), "--out", s(&out)]);
    assert!(err.contains("pred.h5") && err.contains("not LCW tables"), "{err}");
}

#[test]
fn arguments_are_checked_with_messages_a_physicist_understands() {
    let help = ok(&["generate", "--help"]);
    for flag in ["--out", "--n", "--seed", "--pu0", "--class"] {
        assert!(help.contains(flag), "generate --help lacks {flag}");
    }
    assert!(ok(&["evaluate", "--help"]).contains("NAME=FILE.h5"));
    assert!(ok(&["lcw", "--help"]).contains("--class-column"));
    assert!(fails(&["generate", "--out", "x.h5", "--n", "0", "--seed", "1"]).contains("0 is not in 1.."));
    assert!(fails(&["generate", "--out", "/no/such/dir/x.h5", "--n", "10", "--seed", "1"]).contains("does not exist"));
    assert!(fails(&["lcw", "--out", "t.h5"]).contains("--pu0"));
    assert!(fails(&["lcw", "--pu0-em", "a.h5", "--out", "t.h5"]).contains("--pu0-had"));
    assert!(fails(&["evaluate", "--data", "x.h5", "--pred", "bnn.h5", "--out", "o"]).contains("NAME=FILE.h5"));
    let d = temp_dir("cli-args");
    let missing = d.join("missing.h5");
    let err = fails(&["evaluate", "--quiet", "--data", s(&missing), "--out", s(&d.join("o"))]);
    assert!(err.contains("missing.h5") && err.contains("no such file"), "{err}");
    let err = fails(&["convert", "--data", s(&common::fixture("two_trees.root")), "--out", s(&d.join("c.h5"))]);
    assert!(err.contains("several TTrees"), "{err}");
}
