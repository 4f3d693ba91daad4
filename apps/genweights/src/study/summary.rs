//! The study's metrics.json: what ran, on what, and every case's numbers and acceptance rows.
//! The page ([`crate::page::study`]) is drawn from it alone.

use super::acceptance::AcceptanceRow;
use crate::evaluate::RunMetrics;
use crate::generator::ToyInfo;
use serde::{Deserialize, Serialize};

/// One case of the study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub case: String,
    pub toy: ToyInfo,
    pub metrics: RunMetrics,
}

/// The study's metrics.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyMetrics {
    pub command: String,
    pub version: String,
    pub machine: String,
    pub device: String,
    pub date: String,
    /// The study's wall time: this run's, plus the recorded time of every case it reused, so a
    /// re-run still says how long the study takes.
    pub seconds: f64,
    /// Cases taken from an earlier run's directory instead of trained again.
    #[serde(default)]
    pub reused_cases: usize,
    pub events: usize,
    pub shower_events: usize,
    #[serde(default)]
    pub zjets_events: usize,
    pub seed: u64,
    pub model: String,
    pub acceptance: Vec<AcceptanceRow>,
    pub cases: Vec<CaseResult>,
}
