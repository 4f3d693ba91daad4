//! `calibration study`: the whole of arXiv:2412.04370 on synthetic data, as one command that
//! writes a directory a physicist opens in a browser (see [`run`] for what it holds).

pub mod acceptance;
pub mod compute;
mod plan;
pub mod preset;
pub mod run;
mod steps;
mod summarise;
pub mod summary;

pub use preset::{StudyPreset, StudyPresetName};
pub use run::run_study;
pub use steps::StudyOptions;
