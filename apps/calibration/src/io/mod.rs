//! The files the app reads and writes: cluster tables in (HDF5 and ROOT, checked against a
//! [`Schema`]), cluster tables out (HDF5), and the prediction files of `calibration predict`.

mod hdf5;
mod layout;
pub mod predictions;
mod root;
mod source;
mod table;

pub use layout::{Schema, TargetPolicy};
pub use predictions::Predictions;
pub use source::DataSource;
pub use table::ClusterTable;
