//! `genweights run` end to end on a small toy, the classifier's ln w against a known density
//! ratio, and the refusals of bad input.

mod common;
use common::{genweights, normals, run_command, table, SMALL};
use genweights::io::{write_sample, Precision, Sample, Table};
use genweights::model::{train_and_predict, Balance, ClassifierConfig, Split, TrainTarget};
use nn::io::H5File;

/// ln σ(x) = −softplus(−x), stable.
fn sigmoid_ln(x: f64) -> f64 {
    -((-x).max(0.0) + (-x.abs()).exp().ln_1p())
}

#[test]
fn run_writes_row_aligned_weights_metrics_and_a_page_that_checks() {
    let d = common::dir("run-e2e");
    let out = genweights()
        .args(["toy", "--case", "masspeak", "--n", "700", "--seed", "2", "--out"])
        .arg(&d)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let run = d.join("run");
    let out = run_command(d.join("truth.h5"), d.join("generated.h5"), &run)
        .args(SMALL)
        .args(["--plot", "M_mumu"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let f = H5File::open(run.join("weights.h5")).unwrap();
    for group in ["truth", "generated"] {
        let (log_w, shape) = f.read_f64(&format!("{group}/log_w"), None).unwrap();
        assert_eq!(shape, vec![700], "{group}: one weight per file row");
        let (members, mshape) = f.read_f64(&format!("{group}/log_w_members"), None).unwrap();
        assert_eq!(mshape, vec![700, 2], "{group}: one column per member");
        let (split, _) = f.read_numeric_f64(&format!("{group}/split"), Some(&[700])).unwrap();
        assert!(split.iter().all(|s| [0.0, 1.0, 2.0].contains(s)), "{group}: every row used");
        for s in [0.0, 1.0, 2.0] {
            let n = split.iter().filter(|&&x| x == s).count();
            assert!(n > 50, "{group}: split {s} has {n} rows");
        }
        // The combined ln w is ln(mean D / (1 − mean D)) of the members' logits.
        for (i, &lw) in log_w.iter().enumerate() {
            let f = &members[2 * i..2 * i + 2];
            let (a, b) = (sigmoid_ln(f[0]), sigmoid_ln(f[1]));
            let (c, e) = (sigmoid_ln(-f[0]), sigmoid_ln(-f[1]));
            let lse = |x: f64, y: f64| x.max(y) + (-(x - y).abs()).exp().ln_1p();
            let expect = lse(a, b) - lse(c, e);
            assert!((lw - expect).abs() < 1e-9, "{group} row {i}: {lw} against {expect}");
            assert!(lw.is_finite() && lw >= f[0].min(f[1]) - 1e-9 && lw <= f[0].max(f[1]) + 1e-9);
        }
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let a = &metrics["analysis"];
    assert!(a["summary"]["roc"]["auc"].as_f64().is_some_and(|x| (0.0..=1.0).contains(&x)));
    assert!(a["exact"]["comparison"]["optimal_auc"].as_f64().is_some_and(|x| x > 0.5), "exact comparison present");
    assert_eq!(a["training"]["config"]["members"].as_u64(), Some(2));
    let html = std::fs::read_to_string(run.join("index.html")).unwrap();
    let check = report::check::check_page(&html);
    assert!(check.passed(), "{check}");
    assert!(html.contains("M_mumu") && html.contains("Learned against exact"));
    assert!(run.join("model").join("best.h5").is_file() && run.join("model").join("history.csv").is_file());
}

#[test]
fn the_exact_weights_in_the_files_do_not_change_what_is_learned() {
    // Two copies of one toy: one with its log_w_true, one with log_w_true replaced by zeros.
    let d = common::dir("run-blind");
    let toy = genweights::generator::generate(
        genweights::generator::Case::Shifted,
        400,
        5,
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    let zeros = vec![0.0; 400];
    for (name, exact) in [("a", (&toy.truth_log_w, &toy.generated_log_w)), ("b", (&zeros, &zeros))] {
        write_sample(&d.join(format!("{name}-t.h5")), &toy.truth, Some(exact.0), Precision::F32).unwrap();
        write_sample(&d.join(format!("{name}-g.h5")), &toy.generated, Some(exact.1), Precision::F32).unwrap();
    }
    let weights = |name: &str| -> Vec<f64> {
        let out = run_command(d.join(format!("{name}-t.h5")), d.join(format!("{name}-g.h5")), d.join(name))
            .args(SMALL)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        H5File::open(d.join(name).join("weights.h5")).unwrap().read_f64("generated/log_w", None).unwrap().0
    };
    assert_eq!(weights("a"), weights("b"));
}

/// Truth N(0, 1) against generated N(0.6, 1): ln w(x) = 0.18 − 0.6 x. Balanced batches learn it
/// as the logit; pooled training on 2:1 unbalanced samples needs the ln(N_gen/N_truth) offset.
#[test]
fn the_logit_is_ln_w_with_balanced_batches_and_with_the_offset_when_pooled() {
    let exact = |x: f64| 0.18 - 0.6 * x;
    for (balance, n_gen) in [(Balance::Batches, 6000), (Balance::Pooled, 3000)] {
        let t = table(normals(6000, 0.0, 1), 1);
        let g = table(normals(n_gen, 0.6, 2), 1);
        let config = ClassifierConfig {
            members: 2,
            hidden: vec![8],
            epochs: 6,
            batch_size: 128,
            lr: 1e-2,
            balance,
            ..ClassifierConfig::default()
        };
        let target = TrainTarget { device: sigmagrad::cpu(), dir: None, progress: false };
        let out = train_and_predict(&t, &g, &config, &target).unwrap();
        let offset = out.summary.log_w_offset;
        match balance {
            Balance::Batches => assert_eq!(offset, 0.0),
            Balance::Pooled => assert!((offset - 0.5f64.ln()).abs() < 0.02, "offset {offset}"),
        }
        let test = out.truth.rows_in(Split::Test);
        assert!(test.len() > 1000);
        let mut res: Vec<f64> = test.iter().map(|&i| (out.truth.log_w[i] - exact(t.values[i])).abs()).collect();
        res.sort_by(f64::total_cmp);
        let median = res[res.len() / 2];
        assert!(median < 0.08, "{balance:?}: median |learned − exact| {median}");
        assert_eq!(out.truth.members.len(), 2);
        assert!(out.truth.std_log_w.iter().all(|s| s.is_finite() && *s >= 0.0));
    }
}

#[test]
fn a_bayesian_run_gives_one_column_per_weight_draw() {
    let t = table(normals(1500, 0.0, 3), 1);
    let g = table(normals(1500, 0.5, 4), 1);
    let config = ClassifierConfig {
        bayesian: true,
        draws: 4,
        hidden: vec![8],
        epochs: 2,
        batch_size: 128,
        ..ClassifierConfig::default()
    };
    let target = TrainTarget { device: sigmagrad::cpu(), dir: None, progress: false };
    let out = train_and_predict(&t, &g, &config, &target).unwrap();
    assert_eq!(out.generated.members.len(), 4);
    assert!(out.generated.std_log_w.iter().any(|&s| s > 0.0), "the draws differ");
    assert!(out.summary.model.contains("variational"));
}

#[test]
fn bad_inputs_are_refused_naming_what_is_wrong() {
    let d = common::dir("run-bad");
    for (p, cols) in [("a.h5", 3usize), ("b.h5", 4)] {
        let t = Table { n: 300, columns: (0..cols).map(|i| format!("c{i}")).collect(), values: vec![0.5; 300 * cols] };
        write_sample(&d.join(p), &Sample::Table(t), None, Precision::F64).unwrap();
    }
    let run = |extra: &[&str], t: &str, g: &str| {
        let out = run_command(d.join(t), d.join(g), d.join("out")).args(extra).output().unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (ok, err) = run(&[], "a.h5", "b.h5");
    assert!(!ok && err.contains("3 features") && err.contains("4 features") && err.contains("a.h5"), "{err}");
    let (ok, err) = run(&["--bayesian", "--members", "3"], "a.h5", "a.h5");
    assert!(!ok && err.contains("--draws"), "{err}");
    let (ok, err) = run(&["--device", "tpu"], "a.h5", "a.h5");
    assert!(!ok && err.contains("--device"), "{err}");
    let (ok, err) = run(&[], "a.h5", "missing.h5");
    assert!(!ok && err.contains("missing.h5"), "{err}");
    // Too few events to split and train on: an error, not a panic.
    let tiny = Table { n: 5, columns: vec!["x".into()], values: vec![0.1, 0.2, 0.3, 0.4, 0.5] };
    write_sample(&d.join("tiny.h5"), &Sample::Table(tiny), None, Precision::F64).unwrap();
    let (ok, err) = run(&[], "tiny.h5", "tiny.h5");
    assert!(!ok && err.contains("too few"), "{err}");
}

#[test]
fn the_tie_aware_top_overlap_counts_ties_at_the_cut_as_found() {
    use genweights::evaluate::top_fraction_overlap_ties as overlap;
    // Distinct exact weights: the plain overlap.
    let exact: Vec<f64> = (0..100).map(|i| i as f64).collect();
    let mut learned = exact.clone();
    assert_eq!(overlap(&learned, &exact, 0.05), Some(1.0));
    learned[99] = -1.0; // the top event lost: 4 of 5 found
    assert_eq!(overlap(&learned, &exact, 0.05), Some(0.8));
    // Every truth event at one exact weight: no information.
    assert_eq!(overlap(&learned, &[0.3; 100], 0.05), None);
    // Ten infinite weights, top 5 %: any five of the ten are right; finite ones are not.
    let mut exact = vec![0.0; 100];
    exact[90..].iter_mut().for_each(|e| *e = f64::INFINITY);
    let learned: Vec<f64> = (0..100).map(|i| if i >= 95 { 5.0 } else { 0.0 }).collect();
    assert_eq!(overlap(&learned, &exact, 0.05), Some(1.0));
    let learned: Vec<f64> = (0..100).map(|i| if (3..8).contains(&i) { 5.0 } else { 0.0 }).collect();
    assert_eq!(overlap(&learned, &exact, 0.05), Some(0.0));
}

#[test]
fn a_row_the_reader_drops_stays_a_row_of_weights_h5_marked_unused() {
    let d = common::dir("run-dropped");
    let toy = genweights::generator::generate(
        genweights::generator::Case::Masspeak,
        600,
        7,
        &indicatif::ProgressBar::hidden(),
    )
    .unwrap();
    let mut generated = toy.generated.clone();
    if let Sample::Events(e) = &mut generated {
        let c = e.columns.len();
        e.values[17 * c + 2] = f64::NAN; // row 17: a non-finite momentum, dropped on reading
    }
    write_sample(&d.join("t.h5"), &toy.truth, None, Precision::F32).unwrap();
    write_sample(&d.join("g.h5"), &generated, None, Precision::F32).unwrap();
    let out = run_command(d.join("t.h5"), d.join("g.h5"), d.join("out")).args(SMALL).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let f = H5File::open(d.join("out").join("weights.h5")).unwrap();
    let (w, shape) = f.read_f64("generated/log_w", None).unwrap();
    let (split, _) = f.read_numeric_f64("generated/split", None).unwrap();
    assert_eq!(shape, vec![600], "one row per file row, the dropped one included");
    assert!(w[17].is_nan() && split[17] == 255.0, "row 17: {} {}", w[17], split[17]);
    assert!(w.iter().enumerate().all(|(i, x)| i == 17 || x.is_finite()));
    // No exact weights in these files: the page has no exact comparison, and still checks.
    let html = std::fs::read_to_string(d.join("out").join("index.html")).unwrap();
    assert!(!html.contains("Learned against exact"));
    assert!(report::check::check_page(&html).passed());
}

#[test]
fn the_study_checks_its_cases_and_reuses_finished_ones() {
    let d = common::dir("study");
    let study = |extra: &[&str]| {
        let out = genweights()
            .args(["study", "--cases", "tailcut,null-events", "--events", "600", "--out"])
            .arg(&d)
            .args(SMALL)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let first = study(&[]);
    assert!(!first.contains("reusing"), "{first}");
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(d.join("metrics.json")).unwrap()).unwrap();
    let rows = m["acceptance"].as_array().unwrap();
    let tests: Vec<&str> = rows.iter().filter_map(|r| r["test"].as_str()).collect();
    assert!(tests.iter().any(|t| t.starts_with("AUC against")), "the tailcut's AUC test: {tests:?}");
    assert!(tests.iter().any(|t| t.starts_with("null width")), "the null width: {tests:?}");
    assert!(rows.iter().all(|r| r["case"] == "tailcut" || r["case"] == "null-events"));
    let html = std::fs::read_to_string(d.join("index.html")).unwrap();
    let check = report::check::check_page(&html);
    assert!(check.passed(), "{check}");
    assert!(html.contains("Acceptance tests") && html.contains("null-events"));
    let second = study(&[]);
    assert_eq!(second.matches("reusing").count(), 2, "{second}");
    // The re-run's page still gives the study's time (the reused cases' recorded times count).
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(again["reused_cases"].as_u64(), Some(2));
    let case_seconds: f64 =
        again["cases"].as_array().unwrap().iter().map(|c| c["metrics"]["seconds"].as_f64().unwrap()).sum();
    assert!(again["seconds"].as_f64().unwrap() >= case_seconds, "{}", again["seconds"]);
    let html = std::fs::read_to_string(d.join("index.html")).unwrap();
    assert!(html.contains("reused 2 of its 2 cases"));
    let third = study(&["--lr", "0.003"]);
    assert!(!third.contains("reusing"), "another learning rate must retrain: {third}");
}

/// `--device wgpu` is the CPU's computation: the ensemble (plain and Bayesian) trained on both
/// devices gives the same ln w per event.
#[test]
fn the_classifier_learns_the_same_weights_on_wgpu_and_on_the_cpu() {
    let Some(gpu) = sigmagrad::wgpu_or_skip() else { return };
    let t = table(normals(2000, 0.0, 5), 2);
    let g = table(normals(2000, 0.4, 6), 2);
    for bayesian in [false, true] {
        let config = ClassifierConfig {
            members: 2,
            bayesian,
            draws: 3,
            hidden: vec![16, 16],
            epochs: 2,
            batch_size: 128,
            ..ClassifierConfig::default()
        };
        let run = |device: sigmagrad::Device| {
            let target = TrainTarget { device, dir: None, progress: false };
            train_and_predict(&t, &g, &config, &target).unwrap()
        };
        let (cpu, wgpu) = (run(sigmagrad::cpu()), run(gpu.clone()));
        assert!(wgpu.summary.device.contains("wgpu"), "trained on {}", wgpu.summary.device);
        let worst = cpu
            .generated
            .log_w
            .iter()
            .chain(&cpu.truth.log_w)
            .zip(wgpu.generated.log_w.iter().chain(&wgpu.truth.log_w))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(worst < 1e-4, "bayesian = {bayesian}: ln w differs by up to {worst} between the devices");
        assert!(cpu.generated.log_w.iter().any(|&v| v != 0.0), "the classifier learned something");
    }
}
