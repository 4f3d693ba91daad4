//! The toys' exact per-event log weights, stored beside the sample as a root dataset
//! `log_w_true` (N,) f64, row-aligned with the file. Values are finite or ±∞ (exact w = 0 or ∞);
//! NaN is refused. The method never reads them: only the evaluation against truth and the tests
//! call [`read_exact_log_w`].

use crate::error::{invalid, Result};
use crate::io::Sample;
use nn::io::{FileError, H5File};
use std::path::Path;

/// The name of the sidecar dataset.
pub const EXACT_LOG_W: &str = "log_w_true";

/// The exact log weights of `sample` (read from `path`), aligned with the sample's events (a
/// dropped event row drops its weight too); None when the file has none.
pub fn read_exact_log_w(path: &Path, sample: &Sample) -> Result<Option<Vec<f64>>> {
    let file = H5File::open(path)?;
    if !file.exists(EXACT_LOG_W) {
        return Ok(None);
    }
    let (values, shape) = file.read_f64(EXACT_LOG_W, None)?;
    let what = format!("dataset '{EXACT_LOG_W}'");
    if shape.len() != 1 {
        return Err(FileError::item(path, what, format!("has shape {shape:?}, expected (N,)")).into());
    }
    if let Some(i) = values.iter().position(|v| v.is_nan()) {
        return Err(
            FileError::item(path, what, format!("holds NaN at row {i}; exact log weights are finite or ±inf")).into()
        );
    }
    let rows = sample.source_rows();
    if let Some(&last) = rows.iter().max() {
        if last >= values.len() {
            return Err(FileError::item(
                path,
                what,
                format!("has {} rows but the sample has a row {last}", values.len()),
            )
            .into());
        }
    }
    Ok(Some(rows.iter().map(|&r| values[r]).collect()))
}

/// Adds the sidecar to an open (temporary) file being written.
pub(crate) fn write_exact_log_w(file: &hdf5::File, log_w: &[f64]) -> std::result::Result<(), String> {
    if log_w.iter().any(|v| v.is_nan()) {
        return Err(format!("{EXACT_LOG_W}: NaN among the exact log weights"));
    }
    nn::io::write_checked(file, EXACT_LOG_W, &[log_w.len()], log_w)
}

/// Checks that a weight vector matches a sample length (used by writers and evaluation).
pub fn check_len(log_w: &[f64], n: usize) -> Result<()> {
    if log_w.len() != n {
        return Err(invalid(format!("{} log weights for {n} events", log_w.len())));
    }
    Ok(())
}
