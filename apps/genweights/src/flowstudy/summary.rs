//! The flow study's metrics.json: per toy, the flow that was trained, its KL from truth, what
//! the weights found in it and the classifier run's numbers; the acceptance rows of all. The
//! page ([`crate::page::flow_study_page`]) is drawn from it alone.

use super::toys::FlowToy;
use crate::evaluate::RunMetrics;
use crate::flow::FlowTrained;
use crate::study::AcceptanceRow;
use serde::{Deserialize, Serialize};

/// A Monte Carlo mean with its standard error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub mean: f64,
    pub error: f64,
}

impl Estimate {
    /// The mean and standard error of the finite values of `v` (None with fewer than two).
    pub fn of(v: &[f64]) -> Option<Estimate> {
        let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        if v.len() < 2 {
            return None;
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Some(Estimate { mean, error: (var / n).sqrt() })
    }
}

/// KL(truth ‖ q) = E_truth[ln p_truth − ln q], estimated on the run's truth events (drawn
/// apart from the flow's training events), for the flow and for one Gaussian fitted to the
/// flow's training events (the scale a flow's KL is judged against).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KlEstimates {
    pub flow: Estimate,
    pub gaussian: Estimate,
}

/// Per-cell maps over the toy's first two coordinates: the mean learned and exact w of the
/// generated test events (None where a cell holds too few to average), on x and y edges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightMaps {
    pub x_edges: Vec<f64>,
    pub y_edges: Vec<f64>,
    pub learned: Vec<Option<f64>>,
    pub exact: Vec<Option<f64>>,
}

/// What the weights found in the region where the toy's flow is expected to fail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    pub region: String,
    /// Shares of the truth and of the generated test events in the region.
    pub truth_share: f64,
    pub flow_share: f64,
    /// Generated test events in the region, and their mean learned and exact w (E_gen[w·1_R] /
    /// P_gen(R) = P_truth(R)/P_gen(R) for the exact w).
    pub flow_events: usize,
    pub learned_mean_w: Option<f64>,
    pub exact_mean_w: Option<f64>,
    /// One sentence, composed from the numbers above.
    pub sentence: String,
    pub maps: WeightMaps,
}

/// One toy of the flow study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowCase {
    /// The case's name: the toy's, with `-binn` for the Bayesian INN.
    pub name: String,
    pub toy: FlowToy,
    pub description: String,
    /// What `genweights flow train` wrote for the flow (its settings, epochs, time).
    pub flow: FlowTrained,
    pub sample_seconds: f64,
    pub kl: Option<KlEstimates>,
    pub findings: Findings,
    /// `genweights run` of truth against the flow's sample, with the exact weights.
    pub run: RunMetrics,
}

/// The flow study's metrics.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowStudyMetrics {
    pub command: String,
    pub version: String,
    pub machine: String,
    pub device: String,
    pub date: String,
    pub preset: String,
    pub seed: u64,
    /// Events the flows train on, and events per sample of each classifier run.
    pub train_events: usize,
    pub events: usize,
    pub seconds: f64,
    pub acceptance: Vec<AcceptanceRow>,
    pub cases: Vec<FlowCase>,
}
