//! Helpers shared by the integration tests.
#![allow(dead_code)]

use genweights::features::{Column, FeatureMatrix};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The built `genweights` binary, as a user runs it.
pub fn genweights() -> Command {
    Command::new(env!("CARGO_BIN_EXE_genweights"))
}

/// `genweights run --truth T --generated G --out O`, to which a test adds its options.
pub fn run_command(truth: impl AsRef<OsStr>, generated: impl AsRef<OsStr>, out: impl AsRef<OsStr>) -> Command {
    let mut command = genweights();
    command.args(["run", "--truth"]).arg(truth).arg("--generated").arg(generated).arg("--out").arg(out);
    command
}

/// A classifier small enough for CI: two members of one hidden layer of 8, two epochs.
pub const SMALL: [&str; 10] = ["--epochs", "2", "--hidden", "8", "--members", "2", "--batch-size", "64", "--seed", "3"];

/// A feature matrix of `d` columns x0, x1, … from row-major `values`.
pub fn table(values: Vec<f64>, d: usize) -> FeatureMatrix {
    let rows = values.len() / d;
    FeatureMatrix {
        columns: (0..d).map(|i| Column::new(format!("x{i}"), "")).collect(),
        rows,
        values,
        sample_rows: (0..rows).collect(),
    }
}

/// `n` draws of N(shift, 1), seeded.
pub fn normals(n: usize, shift: f64, seed: u64) -> Vec<f64> {
    let z = sigmagrad::Rng::new(seed).normal(&[n], sigmagrad::DType::F64, &sigmagrad::cpu()).unwrap();
    z.to_vec_f64().unwrap().into_iter().map(|x| x + shift).collect()
}

/// A fresh directory for one test.
pub fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("genweights-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Writes an f64 (or f32) dataset with plain hdf5, as a foreign tool would.
pub fn dataset(f: &hdf5::File, name: &str, shape: &[usize], values: &[f64], f32: bool) {
    if f32 {
        let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
        f.new_dataset::<f32>().shape(shape).create(name).unwrap().write_raw(&v).unwrap();
    } else {
        f.new_dataset::<f64>().shape(shape).create(name).unwrap().write_raw(values).unwrap();
    }
}

/// Asserts that an error message names the file and the item.
pub fn names(err: &impl std::fmt::Display, path: &Path, item: &str) {
    let m = err.to_string();
    assert!(m.contains(&path.display().to_string()), "message does not name the file: {m}");
    assert!(m.contains(item), "message does not name '{item}': {m}");
}
