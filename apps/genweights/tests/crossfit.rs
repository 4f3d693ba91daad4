//! Weights no classifier trained on (`--folds K`), members on bootstrap resamples
//! (`--bootstrap`) and one classifier per jet multiplicity (`--split-by njets`), on toys small
//! enough for CI.

mod common;
use common::{genweights, normals, run_command, table, SMALL};
use genweights::model::{fold_of, train_and_predict, ClassifierConfig, PairSplit, Split, TrainTarget};
use nn::io::H5File;

/// Writes a masspeak toy of `n` events per sample into a fresh directory.
fn masspeak(name: &str, n: usize) -> std::path::PathBuf {
    let d = common::dir(name);
    let out = genweights()
        .args(["toy", "--case", "masspeak", "--n", &n.to_string(), "--seed", "2", "--out"])
        .arg(&d)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    d
}

/// Runs `genweights run` on the toy in `d` with `extra` arguments into `d/run`.
fn run(d: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    let out_dir = d.join("run");
    let out =
        run_command(d.join("truth.h5"), d.join("generated.h5"), &out_dir).args(SMALL).args(extra).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out_dir
}

/// Every event lies in exactly one fold; fold f's classifier neither trains nor validates on
/// any event of fold f, and trains on all the others' training rows.
#[test]
fn no_fold_trains_on_its_own_events() {
    let config = ClassifierConfig { folds: 4, batch_size: 16, ..ClassifierConfig::default() };
    let (tf, gf) = (fold_of(1003, 4, 7), fold_of(998, 4, 8));
    for f in 0..4 {
        let count = tf.iter().filter(|&&x| x == f).count();
        assert!((250..=251).contains(&count), "fold {f} holds {count} of 1003");
        let s = PairSplit::for_fold(&tf, &gf, f, &config).unwrap();
        for (folds, split, train, val) in
            [(&tf, &s.truth, &s.truth_train, &s.truth_val), (&gf, &s.generated, &s.generated_train, &s.generated_val)]
        {
            for i in 0..folds.len() {
                assert_eq!(split[i] == Split::Test, folds[i] == f, "event {i} of fold {}", folds[i]);
            }
            assert!(train.iter().chain(val).all(|&i| folds[i] != f), "fold {f} saw its own event");
            assert_eq!(train.len() + val.len(), folds.iter().filter(|&&x| x != f).count());
        }
    }
}

#[test]
fn cross_fitting_gives_every_event_one_out_of_fold_weight() {
    let d = masspeak("crossfit-e2e", 900);
    let out = run(&d, &["--folds", "3", "--plot", "M_mumu"]);
    let f = H5File::open(out.join("weights.h5")).unwrap();
    for group in ["truth", "generated"] {
        let (log_w, _) = f.read_f64(&format!("{group}/log_w"), Some(&[900])).unwrap();
        let (split, _) = f.read_numeric_f64(&format!("{group}/split"), Some(&[900])).unwrap();
        let (fold, _) = f.read_numeric_f64(&format!("{group}/fold"), Some(&[900])).unwrap();
        assert!(log_w.iter().all(|l| l.is_finite()), "{group}: every event has a weight");
        assert!(split.iter().all(|&s| s == 2.0), "{group}: every event is a test event");
        for k in 0..3 {
            let n = fold.iter().filter(|&&x| x == k as f64).count();
            assert_eq!(n, 300, "{group}: fold {k} holds {n} events");
        }
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let a = &metrics["analysis"];
    assert_eq!(a["truth_test_events"].as_u64(), Some(900), "the report uses every event");
    assert_eq!(a["training"]["folds"].as_u64(), Some(3));
    for k in 0..3 {
        assert!(out.join("model").join(format!("fold{k}")).join("best.h5").is_file(), "fold {k}'s model");
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(report::check::check_page(&html).passed());
    assert!(html.contains("Cross-fitted over 3 folds"));
}

/// Members on resamples differ more than members on the same events: the bootstrap adds the
/// finite sample's error to their spread. Same seeds, same architecture, one switch; trained
/// long enough on a 1-D problem that members on the same events converge to nearly one function.
#[test]
fn bootstrap_members_spread_more_than_members_on_the_same_events() {
    let (t, g) = (table(normals(1500, 0.0, 11), 1), table(normals(1500, 0.4, 12), 1));
    let target = TrainTarget { device: sigmagrad::cpu(), dir: None, progress: false };
    let spread = |bootstrap: bool| -> f64 {
        let config = ClassifierConfig {
            members: 3,
            hidden: vec![8],
            epochs: 30,
            batch_size: 64,
            lr: 1e-2,
            bootstrap,
            ..ClassifierConfig::default()
        };
        let out = train_and_predict(&t, &g, &config, &target).unwrap();
        assert_eq!(out.truth.members.len(), 3);
        assert!(out.truth.log_w.iter().all(|l| l.is_finite()));
        if bootstrap {
            assert!(out.summary.model.contains("bootstrap"), "{}", out.summary.model);
        }
        stats::quantile(&out.truth.std_log_w, 0.5).unwrap()
    };
    let (same, resampled) = (spread(false), spread(true));
    assert!(resampled > same, "median member spread: resampled {resampled} against {same} on the same events");
}

#[test]
fn one_classifier_per_jet_multiplicity() {
    let d = masspeak("njets-e2e", 4000);
    let out = run(&d, &["--split-by", "njets", "--plot", "M_mumu"]);
    let f = H5File::open(out.join("weights.h5")).unwrap();
    let (log_w, _) = f.read_f64("generated/log_w", Some(&[4000])).unwrap();
    assert!(log_w.iter().all(|l| l.is_finite()), "every event weighted by its multiplicity's classifier");
    for g in ["1_jet", "2_jets", "3_jets"] {
        assert!(out.join("model").join(g).join("best.h5").is_file(), "model/{g}");
    }
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    let groups = metrics["analysis"]["group_histograms"].as_array().unwrap();
    let names: Vec<&str> = groups.iter().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(names, ["1 jet", "2 jets", "3 jets"]);
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(report::check::check_page(&html).passed());
    assert!(html.contains("Weights, 3 jets"));
    // A layout without jets is refused, naming the file.
    let j = common::dir("njets-refused");
    let o = genweights().args(["toy", "--case", "null", "--n", "300", "--out"]).arg(&j).output().unwrap();
    assert!(o.status.success());
    let o = run_command(j.join("truth.h5"), j.join("generated.h5"), j.join("run"))
        .args(SMALL)
        .args(["--split-by", "njets"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("--split-by njets") && err.contains("truth.h5"), "{err}");
    assert!(!j.join("run").exists(), "refused before any output");
}
