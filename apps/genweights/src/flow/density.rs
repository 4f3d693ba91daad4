//! A trained flow read back from its model directory, and the exact ln p of feature rows:
//! ln p(x) = ln p_flow((x − mean)/std) − Σ ln std. A Bayesian INN gives one ln p per weight
//! draw k = 0..K−1 (each draw one flow, the same in every call), and as its ln p the density of
//! the mixture of its draws, ln((1/K) Σ_k p_k(x)), which is what `flow sample` draws from.

use super::MODEL_FILE;
use crate::error::{invalid, Result};
use crate::io::table::LOG_P_DRAWS;
use crate::io::Kind;
use crate::special::log_sum_exp;
use nn::flow::standardizer_log_det;
use nn::predictive::{predict_rows, PerDraw, PredictOptions};
use nn::{Flow, Module, Standardizer};
use sigmagrad::Device;
use std::path::{Path, PathBuf};

/// A flow with what its densities need: the standardisation, the feature columns it was trained
/// on, the layout of its training file, and its number of weight draws (1 unless Bayesian).
pub struct FlowModel {
    pub flow: Flow,
    pub standardizer: Standardizer,
    pub columns: Vec<String>,
    pub kind: Kind,
    pub draws: usize,
    pub path: PathBuf,
    /// −Σ ln std, added to the flow's ln p of standardized rows.
    log_det: f64,
}

/// ln p per row, and for a Bayesian INN per row and draw (`draws[row * K + k]`).
pub struct LogDensity {
    pub log_p: Vec<f64>,
    pub draws: Option<(usize, Vec<f64>)>,
}

impl LogDensity {
    /// The datasets a density file or a sample file holds besides its table: `log_p` and, for a
    /// Bayesian INN, `log_p_draws` (rows × K).
    pub fn columns(&self, rows: usize) -> Vec<(&'static str, Vec<usize>, &[f64])> {
        let mut out = vec![("log_p", vec![rows], self.log_p.as_slice())];
        if let Some((k, draws)) = &self.draws {
            out.push((LOG_P_DRAWS, vec![rows, *k], draws.as_slice()));
        }
        out
    }
}

impl FlowModel {
    /// Reads `dir/best.h5`, refusing a checkpoint that is not a `genweights flow train` model.
    pub fn load(dir: &Path, device: &Device) -> Result<FlowModel> {
        let path = dir.join(MODEL_FILE);
        if !path.is_file() {
            return Err(invalid(format!(
                "--model {}: no {MODEL_FILE} there; give the --out directory of `genweights flow train`",
                dir.display()
            )));
        }
        let (flow, head) = Flow::load(&path, device).map_err(|e| invalid(e.to_string()))?;
        let item = |what: &str, why: &str| invalid(format!("{}: {what} {why}", path.display()));
        let meta = |key: &str| head.meta.get(key).ok_or_else(|| item(&format!("metadata '{key}'"), "is missing"));
        if head.meta.get("app").map(String::as_str) != Some("genweights flow") {
            return Err(item("metadata 'app'", "is not 'genweights flow': not a model of `genweights flow train`"));
        }
        let standardizer = head.standardizer.clone().ok_or_else(|| item("attribute 'standardizer'", "is missing"))?;
        let log_det =
            standardizer_log_det(&standardizer).map_err(|e| item("attribute 'standardizer'", &e.to_string()))?;
        let columns: Vec<String> =
            serde_json::from_str(meta("columns")?).map_err(|e| item("metadata 'columns'", &e.to_string()))?;
        let kind: Kind = meta("kind")?.parse().map_err(|e: String| item("metadata 'kind'", &e))?;
        let draws: usize = meta("draws")?.parse().map_err(|e| item("metadata 'draws'", &format!("{e}")))?;
        if columns.len() != flow.dims() || draws == 0 || draws > 1000 {
            return Err(item(
                "metadata",
                &format!("names {} columns and {draws} draws for a flow on {}", columns.len(), flow.dims()),
            ));
        }
        Ok(FlowModel { flow, standardizer, columns, kind, draws, path, log_det })
    }

    /// Whether the flow is a Bayesian INN (its densities come per weight draw).
    pub fn is_bayesian(&self) -> bool {
        self.flow.sampling() == nn::Sampling::WeightDraws
    }
}

/// The exact ln p of `rows` (row-major, the model's columns, in the file's units).
pub fn log_density(model: &FlowModel, rows: &[f64], device: &Device) -> Result<LogDensity> {
    let z = model.standardizer.transform_rows(rows).map_err(|e| invalid(format!("standardizing the rows: {e}")))?;
    let mut per_draw = PerDraw::default();
    let opts = PredictOptions { draws: model.draws, batch_size: 16_384, progress: false };
    predict_rows(&model.flow, &z, model.flow.dims(), &opts, device, &mut per_draw)
        .map_err(|e| invalid(format!("evaluating the flow: {e}")))?;
    let k = per_draw.draws;
    let values: Vec<f64> = per_draw.values.iter().map(|v| v + model.log_det).collect();
    if !model.is_bayesian() {
        return Ok(LogDensity { log_p: values, draws: None });
    }
    // ln((1/K) Σ_k p_k): the density of the mixture of the K draws.
    let log_p = values.chunks(k).map(|v| log_sum_exp(v) - (k as f64).ln()).collect();
    Ok(LogDensity { log_p, draws: Some((k, values)) })
}
