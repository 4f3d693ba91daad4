//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

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
