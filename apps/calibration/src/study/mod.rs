//! `calibration study`: the whole of arXiv:2412.04370 on synthetic data, as one command that
//! writes a directory a physicist opens in a browser (see [`run`] for what it holds).

pub mod acceptance;
pub mod compute;
pub mod preset;
pub mod report;
pub mod run;
pub mod summary;

pub use preset::{StudyPreset, StudyPresetName};
pub use run::{run_study, StudyOptions};
