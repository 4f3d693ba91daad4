//! The calibration study (arXiv:2412.04370 on synthetic data with exact truth): topo-cluster
//! tables in and out (HDF5 and ROOT), the selection cuts, the synthetic generator, the LCW-like
//! baseline, prediction files and the metrics of docs/calibration-method.md §5, behind the `calibration` command.

pub mod cli;
pub mod columns;
pub mod cuts;
pub mod error;
pub mod evaluate;
pub mod explain;
pub mod generator;
pub mod io;
pub mod lcw;
pub mod metrics;
pub mod model;
pub mod page;
pub mod study;

pub use error::{Error, Result};
