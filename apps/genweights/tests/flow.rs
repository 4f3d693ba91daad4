//! `genweights flow` end to end, as checks outside the repository call it: a tiny flow trained
//! on a table, sampled and asked for densities; the sample's `log_p` equals `flow density` of
//! the same rows; a Bayesian INN writes ln p per draw, whose mixture is its `log_p`; a file with
//! other columns is refused with both column lists.

mod common;
use genweights::flow::mixture::Mixture;
use genweights::io::table::{write, Table};
use nn::io::H5File;
use std::path::{Path, PathBuf};
use std::process::Command;

fn genweights(args: &[&str], paths: &[&Path]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_genweights"));
    cmd.arg("flow").args(args);
    let out = cmd.output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "genweights flow {args:?} failed ({paths:?}): {text}");
    text
}

fn table(path: &Path, n: usize, columns: &[&str], seed: u64) {
    let mixture = Mixture::narrow_mode_5d();
    let d = columns.len();
    let values: Vec<f64> = mixture.sample(n, seed).chunks(5).flat_map(|r| r[..d].to_vec()).collect();
    write(path, &Table { n, columns: columns.iter().map(|c| c.to_string()).collect(), values }, None).unwrap();
}

fn read(path: &Path, name: &str) -> (Vec<f64>, Vec<usize>) {
    H5File::open(path).unwrap().read_f64(name, None).unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn train_sample_density(dir: &Path, extra: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    let (truth, model, generated, density) =
        (dir.join("truth.h5"), dir.join("model"), dir.join("gen.h5"), dir.join("density.h5"));
    table(&truth, 1500, &["a", "b", "c"], 1);
    let mut train = vec!["train", "--data", s(&truth), "--kind", "table", "--out", s(&model)];
    train.extend_from_slice(&["--epochs", "3", "--blocks", "2", "--hidden", "16"]);
    train.extend_from_slice(extra);
    let said = genweights(&train, &[&truth]);
    assert!(said.contains("best validation −ln p per event"), "{said}");
    assert!(model.join("best.h5").is_file() && model.join("flow.json").is_file());
    genweights(&["sample", "--model", s(&model), "--n", "400", "--out", s(&generated), "--seed", "3"], &[]);
    genweights(&["density", "--model", s(&model), "--data", s(&generated), "--out", s(&density)], &[]);
    (truth, generated, density)
}

#[test]
fn a_flow_trains_samples_and_gives_the_density_of_its_own_samples() {
    let dir = common::dir("flow-affine");
    let (truth, generated, density) = train_sample_density(&dir, &[]);
    let (features, shape) = read(&generated, "features");
    assert_eq!(shape, vec![400, 3]);
    assert!(features.iter().all(|v| v.is_finite()));
    let columns = H5File::open(&generated).unwrap().attr_string("features", "columns").unwrap();
    assert_eq!(columns, "a,b,c");
    let (sampled, _) = read(&generated, "log_p");
    let (again, _) = read(&density, "log_p");
    assert_eq!(sampled.len(), 400);
    assert_eq!(sampled, again, "log_p written by `sample` differs from `density` on the same rows");
    assert!(!H5File::open(&generated).unwrap().exists("log_p_draws"), "a plain flow has no draws");
    // The sample is a table file like any other: the classifier reads it beside the truth.
    let (t, g) = genweights::io::read_pair(&truth, &generated, &Default::default()).unwrap();
    assert_eq!((t.len(), g.len()), (1500, 400));
    // The density of the training file is row-aligned with it.
    let train_density = dir.join("truth-density.h5");
    let model = dir.join("model");
    genweights(&["density", "--model", s(&model), "--data", s(&truth), "--out", s(&train_density)], &[]);
    let (log_p, shape) = read(&train_density, "log_p");
    assert_eq!(shape, vec![1500]);
    assert!(log_p.iter().all(|v| v.is_finite()));
}

#[test]
fn a_bayesian_spline_flow_writes_log_p_per_draw() {
    let dir = common::dir("flow-bayes");
    let (_, generated, density) = train_sample_density(&dir, &["--coupling", "spline", "--bayesian", "--draws", "4"]);
    let (draws, shape) = read(&generated, "log_p_draws");
    assert_eq!(shape, vec![400, 4]);
    let (log_p, _) = read(&generated, "log_p");
    for (row, lp) in draws.chunks(4).zip(&log_p) {
        let mixture = genweights::special::log_sum_exp(row) - 4f64.ln();
        assert!((mixture - lp).abs() < 1e-9, "log_p {lp} is not the mixture of its draws {row:?}");
    }
    assert!(draws.chunks(4).any(|r| r.iter().any(|v| (v - r[0]).abs() > 1e-6)), "the draws do not differ");
    assert_eq!(read(&density, "log_p_draws").0, draws);
    assert_eq!(read(&density, "log_p").0, log_p);
}

#[test]
fn density_refuses_a_file_with_other_columns() {
    let dir = common::dir("flow-columns");
    let (truth, model) = (dir.join("truth.h5"), dir.join("model"));
    table(&truth, 400, &["a", "b", "c"], 2);
    genweights(&["train", "--data", s(&truth), "--out", s(&model), "--epochs", "1", "--blocks", "1"], &[]);
    let other = dir.join("other.h5");
    table(&other, 50, &["a", "b", "x"], 3);
    let out = Command::new(env!("CARGO_BIN_EXE_genweights"))
        .args(["flow", "density", "--model", s(&model), "--data", s(&other), "--out", s(&dir.join("d.h5"))])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && text.contains("a, b, x") && text.contains("a, b, c"), "{text}");
    let missing = Command::new(env!("CARGO_BIN_EXE_genweights"))
        .args(["flow", "sample", "--model", s(&dir), "--n", "5", "--out", s(&dir.join("g.h5"))])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&missing.stderr);
    assert!(!missing.status.success() && text.contains("best.h5"), "{text}");
}
