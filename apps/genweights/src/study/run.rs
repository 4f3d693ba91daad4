//! `genweights run`: two files in, the classifier trained, and its weights, numbers and page out.
//!
//! | file | content |
//! |---|---|
//! | `weights.h5` | every event's ln w, per member and combined, and its split ([`crate::io::weights`]) |
//! | `metrics.json` | [`RunMetrics`]: the inputs, the training, and every number of the report (test split) |
//! | `index.html` | the report |
//! | `model/` | the trainer's run directory: `best.h5` (the selected weights, with the standardizer), `last.h5`, `history.csv` |
//!
//! The four are written as one set (`rundir::Staging`): a run that fails or is killed leaves
//! `--out` as it was, and `--out/.lock` (`rundir::RunLock`) keeps a second run out meanwhile.
//!
//! The toys' exact weights (`log_w_true`), when the files hold them, are read and checked with
//! the files, before training, and handed to the report's comparison alone: the classifier sees
//! the feature matrices only.

use crate::error::{invalid, Error, Result};
use crate::evaluate::{analyse, PairAnalysis, PairInput, RowGroups, RunMetrics};
use crate::features::{observables, pair_inputs, FeatureMatrix, FeatureOptions};
use crate::io::{read_exact_log_w, read_pair, write_text, write_weights, Kind, ReadOptions, Sample};
use crate::model::{fit_groups, train_and_predict, Balance, ClassifierConfig, ClassifierOutput, Group, TrainTarget};
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
    /// One classifier per jet multiplicity (event files only), as the paper trains its Z+jets
    /// classifiers.
    pub split_by_njets: bool,
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
            split_by_njets: false,
        }
    }
}

/// The paths a run wrote, and its numbers.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub weights: PathBuf,
    pub metrics_path: PathBuf,
    pub page: PathBuf,
    pub metrics: RunMetrics,
}

/// The pair as read, with the classifier's inputs and the observables of each sample.
struct Pair {
    truth: Sample,
    generated: Sample,
    inputs: (FeatureMatrix, FeatureMatrix),
    observables: (FeatureMatrix, FeatureMatrix),
    /// The observables to plot, each checked to exist.
    plot: Vec<String>,
    /// The toys' exact ln w, row-aligned with the inputs, when both files hold them: read and
    /// checked with the files, but handed to the evaluation alone.
    exact: Option<(Vec<f64>, Vec<f64>)>,
}

/// An error of the pair's computation with the pair's files named, where it names none (a file
/// error names its own file): every error of a run says which files it is about.
fn naming_the_pair(opts: &RunOptions) -> impl Fn(Error) -> Error + '_ {
    move |e| {
        let name = |m: String| {
            if m.contains(&opts.truth.display().to_string()) {
                m
            } else {
                format!("--truth {} and --generated {}: {m}", opts.truth.display(), opts.generated.display())
            }
        };
        match e {
            Error::File(f) => Error::File(f),
            Error::Invalid(m) => Error::Invalid(name(m)),
            Error::Mismatch(m) => Error::Mismatch(name(m)),
        }
    }
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

/// Reads both files and builds the classifier's inputs and the observables.
fn read(opts: &RunOptions, say: &dyn Fn(&str)) -> Result<Pair> {
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
        return Err(invalid(format!(
            "{} and {}: the observables and the classifier inputs select different events (a bug: please report it)",
            opts.truth.display(),
            opts.generated.display()
        )));
    }
    let plot = plot_names(opts, &ot)?;
    if opts.split_by_njets && !matches!(truth, Sample::Events(_)) {
        return Err(invalid(format!(
            "--split-by njets: {} is a {} file; one classifier per jet multiplicity needs event files (--kind events)",
            opts.truth.display(),
            truth.kind()
        )));
    }
    let mut pair = Pair { truth, generated, inputs: (xt, xg), observables: (ot, og), plot, exact: None };
    pair.exact = exact_weights(opts, &pair)?;
    Ok(pair)
}

/// The observables to plot: `--plot`'s, each of which must be one of the layout's, or the
/// first four.
fn plot_names(opts: &RunOptions, observables: &FeatureMatrix) -> Result<Vec<String>> {
    let names: Vec<String> = observables.columns.iter().map(|c| c.name.clone()).collect();
    let Some(plot) = &opts.plot else { return Ok(names.iter().take(4).cloned().collect()) };
    if let Some(missing) = plot.iter().find(|p| !names.contains(p)) {
        return Err(invalid(format!(
            "--plot {missing}: {} has no such observable; give some of: {}",
            opts.truth.display(),
            names.join(", ")
        )));
    }
    Ok(plot.clone())
}

/// Trains the classifier on the pair; its checkpoints go to `model_dir`.
fn train(pair: &Pair, opts: &RunOptions, model_dir: PathBuf, say: &dyn Fn(&str)) -> Result<ClassifierOutput> {
    let (xt, xg) = &pair.inputs;
    let spec = opts.classifier.model_spec(xt.width());
    say(&format!(
        "classifier: {} on {} inputs, {} truth and {} generated events\n",
        spec.describe(),
        xt.width(),
        xt.rows,
        xg.rows
    ));
    let target = TrainTarget { device: opts.device.clone(), dir: Some(model_dir), progress: opts.progress };
    let out = if opts.split_by_njets {
        let groups = multiplicity_groups(pair, opts)?;
        for g in &groups {
            say(&format!(
                "  {}: {} truth and {} generated events, {} inputs\n",
                g.name,
                g.truth.rows,
                g.generated.rows,
                g.truth.width()
            ));
        }
        fit_groups(&groups, &xt.sample_rows, &xg.sample_rows, &opts.classifier, &target)?
    } else {
        train_and_predict(xt, xg, &opts.classifier, &target)?
    };
    say(&format!(
        "trained {} epochs in {:.1} s (best epoch {}, validation loss {}), predicted in {:.1} s\n",
        out.summary.epochs_run,
        out.summary.train_seconds,
        out.summary.best_epoch.map_or("-".into(), |e| (e + 1).to_string()),
        out.summary.best_val_loss.map_or("-".into(), |l| format!("{l:.5}")),
        out.summary.predict_seconds
    ));
    Ok(out)
}

/// The names of the jet-multiplicity groups, in order (group g holds events with g + 1 jets).
pub const MULTIPLICITY_GROUPS: [&str; 3] = ["1 jet", "2 jets", "3 jets"];

/// `--split-by njets`: the events of each jet multiplicity with that multiplicity's own inputs.
fn multiplicity_groups(pair: &Pair, opts: &RunOptions) -> Result<Vec<Group>> {
    let mut groups = Vec::new();
    for (g, name) in MULTIPLICITY_GROUPS.iter().enumerate() {
        let features = FeatureOptions { event_jets: Some(g + 1), ..opts.features };
        let (truth, generated) = pair_inputs(&pair.truth, &pair.generated, &features)?;
        if truth.rows + generated.rows > 0 {
            groups.push(Group { name: name.to_string(), truth, generated });
        }
    }
    Ok(groups)
}

/// Each input row's jet-multiplicity group (see [`MULTIPLICITY_GROUPS`]), for the page's
/// per-multiplicity histograms; None unless split by multiplicity.
fn row_groups(pair: &Pair, opts: &RunOptions) -> Option<RowGroups> {
    let (Sample::Events(t), Sample::Events(g)) = (&pair.truth, &pair.generated) else { return None };
    if !opts.split_by_njets {
        return None;
    }
    let per_row = |e: &crate::io::Events, m: &FeatureMatrix| -> Vec<usize> {
        let n = crate::features::events::jet_multiplicity(e);
        m.sample_rows.iter().map(|&r| n[r].saturating_sub(1)).collect()
    };
    Some(RowGroups {
        names: MULTIPLICITY_GROUPS.iter().map(|s| s.to_string()).collect(),
        truth: per_row(t, &pair.inputs.0),
        generated: per_row(g, &pair.inputs.1),
    })
}

/// Writes weights.h5 with one row per row of each input file.
fn write_pair_weights(path: &Path, out: &ClassifierOutput, pair: &Pair) -> Result<()> {
    let raw = out.isotonic.is_some();
    let (rows_t, rows_g) = (file_row_of(&pair.inputs.0, &pair.truth), file_row_of(&pair.inputs.1, &pair.generated));
    write_weights(
        path,
        &out.truth.columns(raw, &rows_t, file_rows(&pair.truth)),
        &out.generated.columns(raw, &rows_g, file_rows(&pair.generated)),
    )
}

/// The toys' exact weights, row-aligned with the classifier's inputs, when both files hold them.
fn exact_weights(opts: &RunOptions, pair: &Pair) -> Result<Option<(Vec<f64>, Vec<f64>)>> {
    let per_row = |e: &[f64], m: &FeatureMatrix| -> Vec<f64> { m.sample_rows.iter().map(|&r| e[r]).collect() };
    Ok(match (read_exact_log_w(&opts.truth, &pair.truth)?, read_exact_log_w(&opts.generated, &pair.generated)?) {
        (Some(et), Some(eg)) => Some((per_row(&et, &pair.inputs.0), per_row(&eg, &pair.inputs.1))),
        _ => None,
    })
}

/// A Bayesian generator's K log densities per generated event, row-aligned with the generated
/// inputs: the columns an event file carries after its 20 momenta, as the paper's generated
/// files carry `log_gen_weights` (the binn toy writes them there), or a table file's
/// `log_p_draws` (a Bayesian INN's sample from `genweights flow sample`). At least two are
/// needed for a spread; other layouts carry none.
fn generator_log_p(path: &Path, generated: &Sample, inputs: &FeatureMatrix) -> Result<Option<Vec<Vec<f64>>>> {
    let per_row = |values: &[f64], width: usize, first: usize| -> Vec<Vec<f64>> {
        inputs.sample_rows.iter().map(|&r| values[r * width + first..(r + 1) * width].to_vec()).collect()
    };
    Ok(match generated {
        Sample::Events(e) if e.columns.len() >= crate::io::pandas::EVENT_COLUMNS + 2 => {
            Some(per_row(&e.values, e.columns.len(), crate::io::pandas::EVENT_COLUMNS))
        }
        Sample::Table(t) => match crate::io::table::read_log_p_draws(path, t.n)? {
            Some((k, values)) if k >= 2 => Some(per_row(&values, k, 0)),
            _ => None,
        },
        _ => None,
    })
}

/// The pair's numbers on its test split.
fn evaluate(opts: &RunOptions, pair: &Pair, out: &ClassifierOutput) -> Result<PairAnalysis> {
    let (ot, og) = &pair.observables;
    let input = PairInput {
        name: opts.name.clone(),
        description: opts.description.clone(),
        kind: pair.truth.kind().to_string(),
        truth_observables: ot,
        generated_observables: og,
        plot: pair.plot.clone(),
        exact: pair.exact.clone(),
        expected_gen_mean_w: opts.expected_gen_mean_w,
        expected_truth_mean_inverse_w: opts.expected_truth_mean_inverse_w,
        lower_thresholds: opts.lower_thresholds.clone(),
        upper_thresholds: opts.upper_thresholds.clone(),
        generator_log_p: generator_log_p(&opts.generated, &pair.generated, &pair.inputs.1)?,
        groups: row_groups(pair, opts),
    };
    analyse(out, &input)
}

/// The sample-size ratio beyond which pooled training is warned about: the loss is then
/// dominated by one class and the other's tail is learned from a handful of events.
pub const POOLED_IMBALANCE_WARNING: f64 = 10.0;

/// Warnings for settings that run but are probably not meant: the same file as both samples,
/// pooled training on very different sample sizes.
fn warn_about(opts: &RunOptions, pair: &Pair, say: &dyn Fn(&str)) {
    let same = match (opts.truth.canonicalize(), opts.generated.canonicalize()) {
        (Ok(t), Ok(g)) => t == g,
        _ => false,
    };
    if same {
        say(&format!(
            "warning: --truth and --generated are the same file {}: the classifier compares a sample with itself \
             and every weight is 1 up to noise; for a null test give two independent samples (genweights toy \
             --case null)\n",
            opts.truth.display()
        ));
    }
    let (nt, ng) = (pair.inputs.0.rows as f64, pair.inputs.1.rows as f64);
    let ratio = nt.max(ng) / nt.min(ng).max(1.0);
    if opts.classifier.balance == Balance::Pooled && ratio >= POOLED_IMBALANCE_WARNING {
        say(&format!(
            "warning: --pooled with {nt} truth events ({}) and {ng} generated events ({}), {ratio:.0}:1: the loss is \
             dominated by the larger sample and ln w leans on the ln(N_gen/N_truth) = {:.2} offset; without --pooled \
             each batch holds as many events of both\n",
            opts.truth.display(),
            opts.generated.display(),
            (ng / nt).ln()
        ));
    }
}

/// The entries a run writes into its output directory, as one set.
pub const RUN_OUTPUTS: [&str; 4] = ["weights.h5", "metrics.json", "index.html", "model"];

/// The classifier's settings, and a test split for the report's numbers.
pub fn check_classifier(config: &ClassifierConfig) -> Result<()> {
    config.validate()?;
    if config.test_fraction <= 0.0 {
        return Err(invalid(format!(
            "--test-fraction {}: the report's numbers are computed on held-out test events; give a fraction \
             such as 0.2",
            config.test_fraction
        )));
    }
    Ok(())
}

/// Everything that can be checked before the files are read: the settings, the output
/// directory, and that no output is one of the inputs.
fn check_arguments(opts: &RunOptions) -> Result<()> {
    check_classifier(&opts.classifier)?;
    if opts.out.exists() && !opts.out.is_dir() {
        return Err(invalid(format!("--out {} is a file; give a directory", opts.out.display())));
    }
    let outputs: Vec<PathBuf> = RUN_OUTPUTS.iter().map(|f| opts.out.join(f)).collect();
    let outputs: Vec<&Path> = outputs.iter().map(|p| p.as_path()).collect();
    rundir::refuse_overwrite(&[&opts.truth, &opts.generated], &outputs)?;
    Ok(())
}

/// Trains, predicts, evaluates and writes everything of a run into `opts.out`: as one set,
/// staged beside it and moved in only when all of it is written, under a lock that keeps a
/// second run out of the same directory.
pub fn run(opts: &RunOptions, say: &dyn Fn(&str)) -> Result<RunResult> {
    let start = Instant::now();
    check_arguments(opts)?;
    let pair = read(opts, say).map_err(naming_the_pair(opts))?;
    warn_about(opts, &pair, say);
    std::fs::create_dir_all(&opts.out)
        .map_err(|e| invalid(format!("--out {}: cannot create the directory: {e}", opts.out.display())))?;
    let _lock = rundir::RunLock::acquire(&opts.out)?;
    let staging = rundir::Staging::new(&opts.out)?;
    let out = train(&pair, opts, staging.path("model"), say).map_err(naming_the_pair(opts))?;
    write_pair_weights(&staging.path("weights.h5"), &out, &pair)?;
    let analysis = evaluate(opts, &pair, &out).map_err(naming_the_pair(opts))?;
    let metrics = RunMetrics {
        truth_file: opts.truth.display().to_string(),
        generated_file: opts.generated.display().to_string(),
        truth: pair.truth.describe(),
        generated: pair.generated.describe(),
        seconds: start.elapsed().as_secs_f64(),
        sigmagrad_version: env!("CARGO_PKG_VERSION").into(),
        analysis,
    };
    let json = serde_json::to_string_pretty(&metrics).map_err(|e| invalid(format!("metrics.json: {e}")))?;
    write_text(&staging.path("metrics.json"), &(json + "\n"))?;
    write_text(&staging.path("index.html"), &crate::page::run_page(&metrics).to_html())?;
    staging.commit(&RUN_OUTPUTS)?;
    let [weights, metrics_path, page, _] = RUN_OUTPUTS.map(|f| opts.out.join(f));
    Ok(RunResult { weights, metrics_path, page, metrics })
}
