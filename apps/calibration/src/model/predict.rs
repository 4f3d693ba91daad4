//! `calibration predict`: a trained run directory (or a checkpoint file) and a cluster file give
//! the prediction-file layout of [`crate::io::predictions`], row-aligned with the input after the
//! cuts, or with every input row (`keep_all`: the rows the cuts removed stay at the EM scale). The model, its standardizer and its feature list come from the checkpoint alone; the
//! file needs the 15 features (not the target, not the truth). Rows go through the network in
//! batches, so memory stays bounded whatever the file's size, and weight draw k of a BNN is the
//! same network in every batch.

use super::inputs::check_model_inputs;
use crate::columns::{CLUSTER_E, FEATURES};
use crate::cuts::{apply_cuts, CutReport};
use crate::error::{Error, Result};
use crate::io::predictions::Predictions;
use crate::io::{ClusterTable, DataSource, Schema, TargetPolicy};
use nn::train::BEST;
use nn::{predict_rows, Checkpoint, Head, Moments, PredictOptions};
use sigmagrad::Device;
use std::path::{Path, PathBuf};

/// A response below this is floored: the selection keeps R > 0.1, so such a prediction is an
/// extrapolation failure of the network, and E_calib = E / R must stay finite and positive.
pub const MIN_RESPONSE: f64 = 0.01;

#[derive(Debug, Clone)]
pub struct PredictArgs {
    /// A run directory of `calibration train` (its best.h5 is used) or a checkpoint file.
    pub model: PathBuf,
    pub data: DataSource,
    /// Weight draws of a BNN (ensembles use their members, a DNN one network); None: the
    /// configuration's `bnn.draws`.
    pub draws: Option<usize>,
    pub batch_size: usize,
    pub device: Device,
    pub progress: bool,
    /// One output row per input row, with `selected`: what an ntuple's friend tree needs.
    pub keep_all: bool,
}

/// What a prediction did, for logs and run.json.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PredictSummary {
    pub clusters: usize,
    pub draws: usize,
    pub floored: usize,
    pub cuts: CutReport,
    pub seconds: f64,
}

/// The checkpoint a `--model` argument names.
pub fn checkpoint_path(model: &Path) -> PathBuf {
    if model.is_dir() {
        model.join(BEST)
    } else {
        model.to_path_buf()
    }
}

/// Predicts R and its uncertainties for the selected clusters of `opts.data`.
pub fn predict(opts: &PredictArgs, say: &dyn Fn(&str)) -> Result<(Predictions, PredictSummary)> {
    let start = std::time::Instant::now();
    let path = checkpoint_path(&opts.model);
    let loaded = Checkpoint::load_model(&path, &opts.device)?;
    let meta = &loaded.checkpoint.meta;
    let not_ours =
        |what: &str| Error::invalid(format!("{}: not a checkpoint of `calibration train` ({what})", path.display()));
    if meta.get("app").map(String::as_str) != Some("calibration") {
        return Err(not_ours("its metadata does not say app = calibration"));
    }
    let features: Vec<String> = serde_json::from_str(meta.get("features").ok_or_else(|| not_ours("no feature list"))?)
        .map_err(|_| not_ours("an unreadable feature list"))?;
    if features != FEATURES {
        return Err(Error::invalid(format!(
            "{}: the model was trained on the features {features:?}, this version reads {FEATURES:?}",
            path.display()
        )));
    }
    let standardizer = loaded.checkpoint.standardizer.clone().ok_or_else(|| not_ours("it holds no standardizer"))?;
    let spec = loaded.spec().cloned().ok_or_else(|| not_ours("no model description"))?;
    let draws = opts.draws.unwrap_or_else(|| {
        meta.get("config")
            .and_then(|c| toml::from_str::<super::ModelConfig>(c).ok())
            .map_or(nn::predictive::DEFAULT_DRAWS, |c| c.bnn.draws)
    });
    let every_row = ClusterTable::read(&opts.data, &Schema::clusters(TargetPolicy::IfPresent))?;
    let (table, mut cuts) = apply_cuts(&every_row)?;
    cuts.source = opts.data.display();
    // The EM-scale energy of every input row, kept only when the output holds every row.
    let every_cluster_e = if opts.keep_all { Some(every_row.require(CLUSTER_E)?.to_vec()) } else { None };
    drop(every_row);
    say(&cuts.summary());
    if table.is_empty() {
        return Err(Error::invalid(format!(
            "{}: no cluster passes the selection cuts ({} read); nothing to predict",
            opts.data.display(),
            cuts.input
        )));
    }
    for warning in check_model_inputs(&table, false)? {
        say(&warning);
    }
    let x = table.matrix(&FEATURES)?;
    let z = standardizer.transform_rows(&x).map_err(|e| Error::invalid(format!("{}: {e}", opts.data.display())))?;
    let mut moments = Moments::new(spec.head);
    let popts = PredictOptions { draws, batch_size: opts.batch_size.max(1), progress: opts.progress };
    predict_rows(loaded.model.as_ref(), &z, FEATURES.len(), &popts, &opts.device, &mut moments)?;
    let p = moments.finish()?;
    let floored = p.mean.iter().filter(|&&r| r.is_nan() || r < MIN_RESPONSE).count();
    if floored > 0 {
        say(&format!(
            "warning: {floored} of {} clusters have a predicted response below {MIN_RESPONSE} (the selection keeps R > 0.1); floored to {MIN_RESPONSE}\n",
            p.len()
        ));
    }
    let r_pred: Vec<f64> = p.mean.iter().map(|&r| if r >= MIN_RESPONSE { r } else { MIN_RESPONSE }).collect();
    let syst = if spec.head == Head::Gaussian { p.sigma_syst() } else { vec![0.0; p.len()] };
    let method = meta.get("method").cloned().unwrap_or_default();
    let mut predictions = Predictions::from_response(
        table.require(CLUSTER_E)?,
        table.input_index.clone(),
        r_pred,
        syst,
        p.sigma_stat(),
        &method,
        &opts.model.display().to_string(),
        &opts.data.display(),
    )?;
    let clusters = predictions.len();
    if let Some(e) = every_cluster_e {
        predictions = predictions.with_every_row(&e)?;
    }
    let summary = PredictSummary { clusters, draws: p.draws, floored, cuts, seconds: start.elapsed().as_secs_f64() };
    Ok((predictions, summary))
}
