//! The numbers of a study: everything the report page shows, and nothing it computes itself.
//! The pipeline fills a [`StudySummary`] from the test sample, the prediction files, the
//! evaluation, the scan and the training histories, and writes it to `metrics.json`; the page is
//! drawn from it alone, so a change to the report re-renders in a second without touching a
//! network.
//!
//! Conventions: histograms store their bin edges (n + 1) and counts (n); 2-D histograms store
//! x-major counts (`counts[ix * ny + iy]`, as `report::Heatmap::new` takes them); "None" is a
//! number that could not be computed (too few entries), never NaN.

use crate::evaluate::MetricsReport;
use nn::diagnostics::GaussFit;
use serde::{Deserialize, Serialize};

/// What was run, on what: the page's opening paragraph is written from this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyDescription {
    /// "quick", "paper" or "tiny".
    pub preset: String,
    /// Clusters generated for training (before cuts), for testing, and without pile-up.
    pub generated_train: usize,
    pub generated_test: usize,
    pub generated_pu0: usize,
    /// Selected clusters the networks trained and validated on, and tested on.
    pub n_train: usize,
    pub n_val: usize,
    pub n_test: usize,
    /// How the validation set was held out: "by row", or "by event (...)" (train.json's `split`).
    #[serde(default)]
    pub split: String,
    pub seeds: Seeds,
    pub models: Vec<ModelInfo>,
    /// CPU model (or GPU adapter), cores, date (UTC), sigmagrad version, commit when known.
    pub machine: String,
    pub date: String,
    pub version: String,
    /// This invocation's wall time plus the reused steps' times when they ran, so a re-run that
    /// reuses every step still says what its steps cost. With nothing reused it is the study's
    /// wall time; with reused trainings, which ran side by side, it is more than that.
    pub seconds: f64,
    /// Wall time of this invocation, and how many of its steps were reused.
    #[serde(default)]
    pub run_seconds: f64,
    #[serde(default)]
    pub reused_steps: usize,
    #[serde(default)]
    pub steps: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seeds {
    pub train: u64,
    pub test: u64,
    pub pu0: u64,
    pub networks: u64,
}

/// One trained network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// "dnn", "dnn-lgk", "bnn", "re".
    pub method: String,
    /// The name figures and tables use: "DNN", "DNN-LGK", "BNN", "RE".
    pub label: String,
    /// `ModelSpec::describe()`, e.g. "variational MLP (...) 15-64-64-64-2 (Tanh), Gaussian head".
    pub network: String,
    pub epochs: usize,
    pub train_seconds: f64,
    pub samples_per_second: f64,
    /// Draws a prediction averages (BNN weight draws, ensemble members, 1 for a DNN).
    pub draws: usize,
}

/// A 1-D histogram.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hist1D {
    pub edges: Vec<f64>,
    pub counts: Vec<f64>,
}

/// A 2-D histogram, x-major counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hist2D {
    pub x_edges: Vec<f64>,
    pub y_edges: Vec<f64>,
    pub counts: Vec<f64>,
}

/// The distribution of one input feature in the test sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureHist {
    /// The ntuple branch name, e.g. "cluster_CENTER_LAMBDA".
    pub name: String,
    /// The axis label with its unit, in the report's markup: "λ_{clus} [mm]".
    pub label: String,
    /// Whether the edges are log-spaced (draw a log x axis).
    pub log_x: bool,
    pub hist: Hist1D,
}

/// A 2-D histogram of two per-cluster quantities, with the axes' labels and scales.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scatter {
    /// "BNN", "RE", ... or "" when not about one method.
    pub method: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub hist: Hist2D,
    /// Pearson correlation (of logs when both axes are log) and median y/x, when meaningful.
    pub correlation: Option<f64>,
    pub median_ratio: Option<f64>,
}

/// The predicted marginal density of R in one E_dep bin against the true R histogram
/// (docs/calibration-method.md §5.9: a generative closure test). Densities integrate to 1 over the edges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MarginalDensity {
    pub e_lo: f64,
    pub e_hi: f64,
    pub n: usize,
    pub edges: Vec<f64>,
    /// The histogram of R^EM of the clusters in the bin, as a density.
    pub truth: Vec<f64>,
    /// (method label, the average over the bin's clusters of N(R; R_pred, sigma_tot^2) integrated
    /// over each bin, as a density).
    pub predicted: Vec<(String, Vec<f64>)>,
}

/// "tot", "stat" or "syst".
pub type Kind = String;

/// A histogram of pulls (R_pred − R^EM)/σ with its Gaussian core fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullHist {
    pub method: String,
    pub kind: Kind,
    pub hist: Hist1D,
    pub fit: Option<GaussFit>,
    /// Share of pulls with |t| < 1 and < 2.
    pub coverage_1sigma: Option<f64>,
    pub coverage_2sigma: Option<f64>,
}

/// Coverage at 1 and 2 σ_tot in E^EM bins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageCurve {
    pub method: String,
    /// Bin edges in E^EM (GeV); one value per bin, None when the bin is empty.
    pub e_em_edges: Vec<f64>,
    pub coverage_1sigma: Vec<Option<f64>>,
    pub coverage_2sigma: Vec<Option<f64>>,
    pub core_width: Vec<Option<f64>>,
}

/// The spectrum of relative uncertainties σ/R_pred (log-spaced edges), split into gap clusters
/// (truth_gap > 0.5) and the others, for all clusters or those with E^EM > 1 GeV.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Spectrum {
    /// A method label, or "truth" for truth_R_sd / truth_R_mean.
    pub method: String,
    pub kind: Kind,
    /// "all" or "E_EM > 1 GeV".
    pub selection: String,
    pub edges: Vec<f64>,
    pub all: Vec<f64>,
    pub gap: Vec<f64>,
    /// The local maxima of ln(σ/R) with and without the gap clusters (`metrics::modes`): whether
    /// the gap clusters form the secondary maximum, the same test for the truth and each method.
    pub modes: crate::metrics::modes::GapModes,
}

/// A median (and 16/84 % quantiles) of a per-cluster quantity in bins of a variable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BinnedCurve {
    pub method: String,
    pub edges: Vec<f64>,
    pub median: Vec<Option<f64>>,
    pub q16: Vec<Option<f64>>,
    pub q84: Vec<Option<f64>>,
}

/// One point of the training-size scan (docs/calibration-method.md §5.10, §6.6): a BNN (or RE) trained on the
/// first `n_train` clusters, evaluated on the test sample.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanPoint {
    pub n_train: usize,
    pub mean_sigma_stat: f64,
    pub mean_sigma_syst: f64,
    pub median_sigma_stat_over_syst: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scan {
    pub points: Vec<ScanPoint>,
    /// The mean truth_R_sd of the test clusters: the value ⟨σ_syst⟩ approaches.
    pub mean_truth_sd: f64,
    /// Least-squares slope of log ⟨σ_stat⟩ against log N (theory: about −0.5).
    pub stat_slope: Option<f64>,
    /// The repulsive ensemble's scan on the same test clusters (the paper shows both), and its
    /// slope of log ⟨σ_stat⟩.
    #[serde(default)]
    pub re_points: Vec<ScanPoint>,
    #[serde(default)]
    pub re_stat_slope: Option<f64>,
    /// Sizes of the BNN's scan that the RE's leaves to the paper preset (the quick preset's time
    /// budget does not hold them); the page says where they are.
    #[serde(default)]
    pub re_left_to_paper: Vec<usize>,
}

/// One network's losses per epoch; `step_starts` marks where a two-step training restarts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingCurve {
    pub method: String,
    pub epoch: Vec<usize>,
    pub train_loss: Vec<f64>,
    pub val_loss: Vec<Option<f64>>,
    pub step_starts: Vec<usize>,
    /// What the loss is, for the axis label: "Gaussian NLL + KL / N", "MSE", ...
    pub loss: String,
}

/// One acceptance test of docs/calibration-method.md §6, as the headline table shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Acceptance {
    /// "7.8.2", "7.8.3", ...
    pub item: String,
    /// What is tested, in a few words: "BNN closure above 1 GeV".
    pub what: String,
    /// The measured value(s), formatted: "0.4 % (worst bin)".
    pub value: String,
    /// The requirement: "< 1 %".
    pub threshold: String,
    /// Some(pass) for a test (a test whose numbers are missing fails, its value says so); None
    /// for a row shown only as information, which metrics.json writes without a `pass` key.
    #[serde(rename = "pass", alias = "passed", default, skip_serializing_if = "Option::is_none")]
    pub passed: Option<bool>,
}

/// Everything the study page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudySummary {
    pub description: StudyDescription,
    pub acceptance: Vec<Acceptance>,
    /// Linearity, resolution, closure, pulls in bins, comparisons: `calibration evaluate`'s report.
    pub evaluation: MetricsReport,
    pub features: Vec<FeatureHist>,
    /// R^EM against E^EM (test sample).
    pub response_vs_energy: Scatter,
    /// R_pred against R^EM per network with uncertainties.
    pub predicted_vs_true: Vec<Scatter>,
    pub marginals: Vec<MarginalDensity>,
    pub pulls: Vec<PullHist>,
    pub coverage: Vec<CoverageCurve>,
    pub spectra: Vec<Spectrum>,
    /// Median σ_tot/R_pred (and the truth's sd*/mean*) in fine |η| bins across the gap window.
    pub sigma_vs_eta: Vec<BinnedCurve>,
    /// σ_syst against truth_R_sd, per network.
    pub syst_vs_truth: Vec<Scatter>,
    /// RE's σ against the BNN's, per cluster: tot, stat, syst.
    pub bnn_vs_re: Vec<Scatter>,
    pub scan: Option<Scan>,
    pub training: Vec<TrainingCurve>,
    /// `calibration explain` on the BNN's test predictions: its findings and the |η| figure.
    #[serde(default)]
    pub explain: Option<crate::explain::ExplainSummary>,
}
