//! `genweights run`: two files in, the classifier trained, and its weights, numbers and page out.
//!
//! | file | content |
//! |---|---|
//! | `weights.h5` | groups `truth` and `generated`, each row-aligned with its input file: `log_w` (N,) f64, the combined ln w (isotonic-recalibrated with `--isotonic`, then `log_w_raw` holds the uncalibrated one); `log_w_members` (N, M) f64, one column per member or weight draw; `log_w_std` (N,) their spread; `split` (N,) u8: 0 train, 1 validation, 2 test, 255 not used (a row the reader dropped) — rows not used hold NaN weights |
//! | `metrics.json` | [`RunMetrics`]: the inputs, the training, and every number of the report (test split) |
//! | `index.html` | the report |
//! | `model/` | the trainer's run directory: `best.h5` (the selected weights, with the standardizer), `last.h5`, `history.csv` |
//!
//! The toys' exact weights (`log_w_true`) are read only after training and prediction, for the
//! report's comparison, and only when the files hold them.

use crate::error::{invalid, Result};
use crate::evaluate::{analyse, PairAnalysis, PairInput};
use crate::features::{observables, pair_inputs, FeatureMatrix, FeatureOptions};
use crate::io::{read_exact_log_w, read_pair, Kind, ReadOptions, Sample};
use crate::model::{train_and_predict, ClassifierConfig, ClassifierOutput, SampleWeights, Split, TrainTarget};
use serde::{Deserialize, Serialize};
use sigmagrad::Device;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub truth: PathBuf,
    pub generated: PathBuf,
    pub kind: Option<Kind>,
    pub out: PathBuf,
    pub classifier: ClassifierConfig,
    pub features: FeatureOptions,
    pub device: Device,
    pub progress: bool,
    /// Observables to plot (None: the first four of the kind's observables).
    pub plot: Option<Vec<String>>,
    pub lower_thresholds: Vec<f64>,
    pub upper_thresholds: Vec<f64>,
    /// The exact `E_gen[w]` and `E_truth[1/w]` (1 unless truth and generator have different supports).
    pub expected_gen_mean_w: f64,
    pub expected_truth_mean_inverse_w: f64,
    /// Name and description on the page.
    pub name: String,
    pub description: String,
}

impl RunOptions {
    pub fn new(truth: PathBuf, generated: PathBuf, out: PathBuf, device: Device) -> RunOptions {
        RunOptions {
            truth,
            generated,
            kind: None,
            out,
            classifier: ClassifierConfig::default(),
            features: FeatureOptions::default(),
            device,
            progress: true,
            plot: None,
            lower_thresholds: vec![0.5, 0.9],
            upper_thresholds: vec![1.1, 2.0],
            expected_gen_mean_w: 1.0,
            expected_truth_mean_inverse_w: 1.0,
            name: "genweights run".into(),
            description: String::new(),
        }
    }
}

/// metrics.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics {
    pub truth_file: String,
    pub generated_file: String,
    pub truth: String,
    pub generated: String,
    pub seconds: f64,
    pub sigmagrad_version: String,
    pub analysis: PairAnalysis,
}

/// The paths a run wrote, and its numbers.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub weights: PathBuf,
    pub metrics_path: PathBuf,
    pub page: PathBuf,
    pub metrics: RunMetrics,
}

/// Rows of the input file: the sample's events plus any the reader dropped.
fn file_rows(sample: &Sample) -> usize {
    match sample {
        Sample::Events(e) => e.n + e.dropped_non_finite,
        other => other.len(),
    }
}

/// For each feature row, its row in the input file.
fn file_row_of(inputs: &FeatureMatrix, sample: &Sample) -> Vec<usize> {
    let source = sample.source_rows();
    inputs.sample_rows.iter().map(|&r| source[r]).collect()
}

/// Writes one sample's weights, spread out to the file's rows.
fn write_group(
    file: &hdf5::File,
    name: &str,
    w: &SampleWeights,
    rows: &[usize],
    n: usize,
    raw: bool,
) -> std::result::Result<(), String> {
    let g = file.create_group(name).map_err(|e| format!("group {name}: {e}"))?;
    let m = w.members.len();
    let spread = |v: &[f64]| -> Vec<f64> {
        let mut out = vec![f64::NAN; n];
        for (i, &r) in rows.iter().enumerate() {
            out[r] = v[i];
        }
        out
    };
    nn::io::write_checked(&g, "log_w", &[n], &spread(&w.log_w))?;
    if raw {
        nn::io::write_checked(&g, "log_w_raw", &[n], &spread(&w.log_w_raw))?;
    }
    nn::io::write_checked(&g, "log_w_std", &[n], &spread(&w.std_log_w))?;
    let mut members = vec![f64::NAN; n * m];
    for (i, &r) in rows.iter().enumerate() {
        for k in 0..m {
            members[r * m + k] = w.members[k][i];
        }
    }
    nn::io::write_checked(&g, "log_w_members", &[n, m], &members)?;
    let mut split = vec![255u8; n];
    for (i, &r) in rows.iter().enumerate() {
        split[r] = match w.split[i] {
            Split::Train => 0,
            Split::Validation => 1,
            Split::Test => 2,
        };
    }
    nn::io::write_checked(&g, "split", &[n], &split)
}

/// Writes `weights.h5` (see the module docs) atomically.
pub fn write_weights(path: &Path, out: &ClassifierOutput, rows: (&[usize], &[usize]), n: (usize, usize)) -> Result<()> {
    let raw = out.isotonic.is_some();
    nn::io::write_atomically(path, |tmp| {
        let f = nn::io::create_h5(tmp)?;
        write_group(&f, "truth", &out.truth, rows.0, n.0, raw)?;
        write_group(&f, "generated", &out.generated, rows.1, n.1, raw)?;
        f.close().map_err(|e| e.to_string())
    })?;
    Ok(())
}

pub(crate) fn write_text(path: &Path, text: &str) -> Result<()> {
    nn::io::write_atomically(path, |tmp| std::fs::write(tmp, text).map_err(|e| e.to_string()))?;
    Ok(())
}

/// Trains, predicts, evaluates and writes everything of a run into `opts.out`.
pub fn run(opts: &RunOptions, say: &dyn Fn(&str)) -> Result<RunResult> {
    let start = Instant::now();
    opts.classifier.validate()?;
    if opts.out.exists() && !opts.out.is_dir() {
        return Err(invalid(format!("--out {} is a file; give a directory", opts.out.display())));
    }
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| invalid(format!("--out {}: cannot create the directory: {e}", opts.out.display())))?;
    let read = ReadOptions { kind: opts.kind, ..Default::default() };
    let (truth, generated) = read_pair(&opts.truth, &opts.generated, &read)?;
    say(&format!(
        "truth {}: {}\ngenerated {}: {}\n",
        opts.truth.display(),
        truth.describe(),
        opts.generated.display(),
        generated.describe()
    ));
    let (xt, xg) = pair_inputs(&truth, &generated, &opts.features)?;
    let (ot, og) = (observables(&truth, &opts.features)?, observables(&generated, &opts.features)?);
    if ot.sample_rows != xt.sample_rows || og.sample_rows != xg.sample_rows {
        return Err(invalid("the observables and the classifier inputs select different events"));
    }
    let spec = opts.classifier.model_spec(xt.width());
    say(&format!(
        "classifier: {} on {} inputs, {} truth and {} generated events\n",
        spec.describe(),
        xt.width(),
        xt.rows,
        xg.rows
    ));
    let target =
        TrainTarget { device: opts.device.clone(), dir: Some(opts.out.join("model")), progress: opts.progress };
    let out = train_and_predict(&xt, &xg, &opts.classifier, &target)?;
    say(&format!(
        "trained {} epochs in {:.1} s (best epoch {}, validation loss {}), predicted in {:.1} s\n",
        out.summary.epochs_run,
        out.summary.train_seconds,
        out.summary.best_epoch.map_or("-".into(), |e| (e + 1).to_string()),
        out.summary.best_val_loss.map_or("-".into(), |l| format!("{l:.5}")),
        out.summary.predict_seconds
    ));
    let (rows_t, rows_g) = (file_row_of(&xt, &truth), file_row_of(&xg, &generated));
    let weights = opts.out.join("weights.h5");
    write_weights(&weights, &out, (&rows_t, &rows_g), (file_rows(&truth), file_rows(&generated)))?;
    // Only now, for the report: the toys' exact weights, when the files hold them.
    let exact = match (read_exact_log_w(&opts.truth, &truth)?, read_exact_log_w(&opts.generated, &generated)?) {
        (Some(et), Some(eg)) => {
            let per_row = |e: &[f64], m: &FeatureMatrix| -> Vec<f64> { m.sample_rows.iter().map(|&r| e[r]).collect() };
            Some((per_row(&et, &xt), per_row(&eg, &xg)))
        }
        _ => None,
    };
    let plot = match &opts.plot {
        Some(p) => p.clone(),
        None => ot.columns.iter().take(4).map(|c| c.name.clone()).collect(),
    };
    let input = PairInput {
        name: opts.name.clone(),
        description: opts.description.clone(),
        kind: truth.kind().to_string(),
        truth_observables: &ot,
        generated_observables: &og,
        plot,
        exact,
        expected_gen_mean_w: opts.expected_gen_mean_w,
        expected_truth_mean_inverse_w: opts.expected_truth_mean_inverse_w,
        lower_thresholds: opts.lower_thresholds.clone(),
        upper_thresholds: opts.upper_thresholds.clone(),
    };
    let analysis = analyse(&out, &input)?;
    let metrics = RunMetrics {
        truth_file: opts.truth.display().to_string(),
        generated_file: opts.generated.display().to_string(),
        truth: truth.describe(),
        generated: generated.describe(),
        seconds: start.elapsed().as_secs_f64(),
        sigmagrad_version: env!("CARGO_PKG_VERSION").into(),
        analysis,
    };
    let metrics_path = opts.out.join("metrics.json");
    let json = serde_json::to_string_pretty(&metrics).map_err(|e| invalid(format!("metrics.json: {e}")))?;
    write_text(&metrics_path, &(json + "\n"))?;
    let page = opts.out.join("index.html");
    write_text(&page, &crate::page::run_page(&metrics).to_html())?;
    Ok(RunResult { weights, metrics_path, page, metrics })
}
