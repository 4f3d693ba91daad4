//! Helpers shared by the integration tests.
#![allow(dead_code)]

use calibration::generator::{generate, GeneratorConfig, Sample};
use calibration::io::{ClusterTable, DataSource};
use calibration::model::train::TrainOptions;
use calibration::model::ModelConfig;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `calibration` binary with `args`.
pub fn calibration(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_calibration")).args(args).output().unwrap()
}

/// Runs `calibration args`, which must succeed; returns its standard output.
pub fn ok(args: &[&str]) -> String {
    let out = calibration(args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Runs `calibration args`, which must fail with a message and no panic; returns the message.
pub fn fails(args: &[&str]) -> String {
    let out = calibration(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A fresh directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("calibration-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// Files in `dir` whose names start with `prefix` (e.g. leftover temporaries).
pub fn files_starting_with(dir: &std::path::Path, prefix: &str) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(prefix))
        .collect()
}

/// A progress callback that prints nothing.
pub fn quiet(_: &str) {}

/// `n` generated clusters of `seed` with the extra columns `extra(table)` adds, written to
/// `dir/name`.
pub fn generated(dir: &Path, name: &str, n: usize, seed: u64, extra: impl FnOnce(&mut ClusterTable)) -> PathBuf {
    let path = dir.join(name);
    let mut table = generate(&GeneratorConfig::new(n, seed, Sample::PileUp), false).unwrap();
    extra(&mut table);
    table.write_hdf5(&path).unwrap();
    path
}

/// Training `config` on `data` into `out`, on the CPU, quietly.
pub fn train_options(data: &Path, out: &Path, config: ModelConfig) -> TrainOptions {
    TrainOptions {
        data: DataSource::file(data),
        out: out.to_path_buf(),
        config,
        device: sigmagrad::cpu(),
        resume: false,
        restart: false,
        progress: false,
        interrupt_after: None,
    }
}
