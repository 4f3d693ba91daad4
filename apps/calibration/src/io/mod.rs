//! The files the app reads and writes: cluster tables in (HDF5 and ROOT, checked against a
//! [`Schema`]), cluster tables out (HDF5), and the prediction files of `calibration predict`
//! (HDF5, or a ROOT tree to befriend the input ntuple).

mod hdf5;
mod layout;
pub mod predictions;
mod root;
pub mod root_write;
mod source;
mod table;

pub use layout::{Schema, TargetPolicy};
pub use predictions::Predictions;
pub use root_write::PredictionOutput;
pub use source::DataSource;
pub use table::ClusterTable;

use crate::columns::CLUSTER_E;
use crate::error::Result;
use nn::io::{FileError, H5File};
use std::path::Path;

/// Checks the `format` attribute of a file this app wrote: `expected`, a file of `what` ("a
/// prediction file"). A cluster file given in its place says so, rather than only that an
/// attribute is missing.
pub(crate) fn check_format(f: &H5File, path: &Path, expected: &str, what: &str) -> Result<()> {
    let item = "attribute 'format'";
    if !f.has_attr("", "format") {
        let msg = if f.exists(CLUSTER_E) {
            format!("is missing: this is a cluster file, not {what}")
        } else {
            format!("is missing, so this is not {what} (format '{expected}')")
        };
        return Err(FileError::item(path, item, msg).into());
    }
    let format = f.attr_string("", "format")?;
    if format != expected {
        return Err(FileError::item(path, item, format!("is '{format}', not {what} ('{expected}')")).into());
    }
    Ok(())
}
