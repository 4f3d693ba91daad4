//! `genweights flow-study --preset tiny` end to end, as CI runs it: flows trained on the three
//! toys and a Bayesian INN, sampled, judged by the classifier; the files, the rows, the page,
//! and numbers that could come out wrong: finite weights that follow the exact ones, a KL per
//! flow, the Bayesian INN's densities per draw and its pulls.

mod common;
use nn::io::H5File;
use serde_json::Value;
use std::path::Path;

const CASES: [&str; 4] = ["edge-banana", "narrow-mode", "mass-peak", "edge-banana-binn"];

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// The learned ln w of a case's test events against the exact ones (finite exact only).
fn learned_and_exact(dir: &Path) -> (Vec<f64>, Vec<f64>) {
    let w = H5File::open(dir.join("weights.h5")).unwrap();
    let (mut learned, mut exact) = (Vec::new(), Vec::new());
    for (group, file) in [("truth", "truth.h5"), ("generated", "generated.h5")] {
        let (lw, _) = w.read_f64(&format!("{group}/log_w"), None).unwrap();
        let (split, _) = w.read_numeric_f64(&format!("{group}/split"), None).unwrap();
        let (ex, _) = H5File::open(dir.join(file)).unwrap().read_f64("log_w_true", None).unwrap();
        assert_eq!(lw.len(), ex.len(), "{}: weights and exact weights differ in length", dir.display());
        for i in (0..lw.len()).filter(|&i| split[i] == 2.0 && ex[i].is_finite()) {
            learned.push(lw[i]);
            exact.push(ex[i]);
        }
    }
    (learned, exact)
}

#[test]
fn the_tiny_flow_study_runs_end_to_end() {
    let out = common::dir("flow-study");
    let run = common::genweights()
        .args(["flow-study", "--preset", "tiny", "--seed", "3", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{said}");
    assert!(said.contains("acceptance tests pass"), "{said}");
    let m: Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let names: Vec<&str> = m["cases"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, CASES);
    for row in m["acceptance"].as_array().unwrap() {
        let reported = row["threshold"] == "reported";
        assert_eq!(row.get("pass").is_none(), reported, "a reported row has no pass key, a test has one: {row}");
        assert!(row.get("passed").is_none(), "{row}");
    }
    for name in CASES {
        let rows: Vec<&Value> = m["acceptance"].as_array().unwrap().iter().filter(|r| r["case"] == name).collect();
        assert!(rows.iter().any(|r| r["test"].as_str().unwrap().starts_with("median |learned − exact| ln w")));
        assert!(rows.iter().any(|r| r["test"] == "what the weights found"), "{name}: {rows:?}");
    }
    let narrow = m["acceptance"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["case"] == "narrow-mode" && r["test"].as_str().unwrap().starts_with("KL"));
    assert!(narrow.is_some_and(|r| r["pass"].is_boolean()), "the 5-D flow's KL is a test: {narrow:?}");
    for (c, name) in m["cases"].as_array().unwrap().iter().zip(CASES) {
        let dir = out.join("cases").join(name);
        for f in ["flow-train.h5", "flow/best.h5", "truth.h5", "generated.h5", "weights.h5", "index.html"] {
            assert!(dir.join(f).is_file(), "{name}: {f} missing");
        }
        let kl = &c["kl"];
        assert!(kl["flow"]["mean"].as_f64().is_some_and(f64::is_finite), "{name}: {kl}");
        assert!(kl["gaussian"]["mean"].as_f64().is_some_and(|v| v > 0.0), "{name}: {kl}");
        let sentence = c["findings"]["sentence"].as_str().unwrap();
        assert!(sentence.contains(c["findings"]["region"].as_str().unwrap()), "{sentence}");
        let (learned, exact) = learned_and_exact(&dir);
        assert!(learned.len() > 300 && learned.iter().all(|v| v.is_finite()), "{name}: {} weights", learned.len());
        let r = pearson(&learned, &exact);
        assert!(r > 0.0, "{name}: the learned ln w does not follow the exact one (correlation {r})");
    }
    let binn = out.join("cases/edge-banana-binn");
    let (draws, shape) = H5File::open(binn.join("generated.h5")).unwrap().read_f64("log_p_draws", None).unwrap();
    assert_eq!(shape, vec![2000, 4]);
    let rows: Vec<&[f64]> = draws.chunks(4).collect();
    assert!(rows.iter().any(|r| r[0] != r[1]), "the weight draws give one density");
    let pulls = &m["cases"][3]["run"]["analysis"]["generator_pulls"];
    assert_eq!(pulls["draws"], 4);
    assert!(pulls["histograms"]["learned"].as_array().is_some_and(|h| {
        let total: f64 = h.iter().filter_map(Value::as_f64).sum();
        (total - 1.0).abs() < 1e-9
    }));
    assert!(m["cases"][0]["run"]["analysis"]["generator_pulls"].is_null(), "a plain flow has no draws");
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let check = report::check::check_page(&html);
    assert!(check.passed(), "{check}");
    assert!(html.contains("What the weights found") && html.contains("Pulls"), "the page lacks its sections");
    // metrics.json reads back: --page-only redraws the same page from it.
    std::fs::remove_file(out.join("index.html")).unwrap();
    let redraw = common::genweights().args(["flow-study", "--page-only", "--out"]).arg(&out).output().unwrap();
    assert!(redraw.status.success(), "{}", String::from_utf8_lossy(&redraw.stderr));
    assert_eq!(std::fs::read_to_string(out.join("index.html")).unwrap(), html);
}

/// A bad preset is refused with the choices named, before anything runs.
#[test]
fn a_bad_preset_is_refused() {
    let out = common::dir("flow-study-bad");
    let run =
        common::genweights().args(["flow-study", "--preset", "huge", "--out"]).arg(out.join("x")).output().unwrap();
    let said = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success() && said.contains("quick and tiny"), "{said}");
    assert!(!out.join("x").exists());
}
