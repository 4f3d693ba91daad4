//! The `genweights` command line: argument parsing (clap) and thin dispatch to the library.
//! With no subcommand, `genweights` runs the study with its defaults.

use crate::error::{invalid, Result};
use crate::features::{self, FeatureOptions};
use crate::generator::{self, Case};
use crate::io::{read_sample, Kind, ReadOptions};
use crate::metrics;
use crate::model::{Balance, ClassifierConfig};
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "genweights",
    version,
    about = "Classifier weights that show where a generative network fails (arXiv:2305.16774)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a toy truth/generated pair with exact per-event weights (log_w_true in each file).
    Toy(ToyArgs),
    /// Detect a file's layout and print its events and feature columns.
    Inspect(InspectArgs),
    /// Train the classifier between a truth and a generated file: weights.h5, metrics.json, index.html.
    Run(RunArgs),
    /// Every toy case and the null tests, learned against exact weights, in one report (the default).
    Study(StudyArgs),
    /// Normalizing flows as generators: train one on a file's features, sample it, or ask it for ln p.
    Flow(crate::flow::cli::FlowArgs),
    /// Flows trained on toys with closed-form densities, judged by the weights against their exact ln w.
    FlowStudy(FlowStudyArgs),
}

#[derive(Debug, clap::Args)]
pub struct FlowStudyArgs {
    /// Directory for metrics.json, index.html and cases/ (created if missing; its cases/ are rewritten).
    #[arg(long, default_value = "out/genweights-flow-study")]
    pub out: PathBuf,
    /// quick (10^5 events, the default networks; minutes) or tiny (seconds, for CI).
    #[arg(long, default_value = "quick", value_parser = parse_preset)]
    pub preset: crate::flowstudy::Preset,
    /// The flows' couplings.
    #[arg(long, value_enum, default_value_t = crate::flow::cli::CouplingArg::Affine)]
    pub coupling: crate::flow::cli::CouplingArg,
    /// What mixes the coordinates between the flows' blocks.
    #[arg(long, value_enum, default_value_t = crate::flow::cli::MixingArg::Permutation)]
    pub mixing: crate::flow::cli::MixingArg,
    /// The flows' training epochs (default: the preset's).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub epochs: Option<u64>,
    /// Seed of the toys, the flows and the classifiers.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// cpu, or wgpu for a GPU.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Only redraw OUT/index.html from OUT/metrics.json (the acceptance rows recomputed from its numbers).
    #[arg(long)]
    pub page_only: bool,
    /// How many cases run at once, each on its share of the cores (default: one per core). The
    /// numbers do not depend on it.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
}

fn parse_preset(s: &str) -> std::result::Result<crate::flowstudy::Preset, String> {
    s.parse()
}

/// The classifier's settings, shared by `run` and `study`.
#[derive(Debug, Clone, clap::Args)]
pub struct ClassifierArgs {
    /// Ensemble members, trained as one batched network (default 3; with --bayesian, refused).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub members: Option<u64>,
    /// One network of variational (Bayesian) layers; its weight draws play the members.
    #[arg(long)]
    pub bayesian: bool,
    /// Weight draws of the Bayesian network.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub draws: u64,
    /// Training epochs (the best validation epoch is kept; early stopping after --patience).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub epochs: Option<u64>,
    /// Epochs without a better validation loss before training stops.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub patience: Option<u64>,
    /// Hidden layer widths, comma-separated (default 64,64,64).
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    /// Dropout after each hidden layer (0: none).
    #[arg(long)]
    pub dropout: Option<f64>,
    /// Events per batch from each sample.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_size: Option<u64>,
    /// Adam's learning rate (decayed by cosine over the epochs).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Recalibrate the weights with an isotonic map fitted on the validation split.
    #[arg(long)]
    pub isotonic: bool,
    /// Keep the trained output offsets (by default each member's offset is refitted on the validation split).
    #[arg(long)]
    pub no_offset_fit: bool,
    /// Train on the pooled events instead of balanced batches, with ln w = logit + ln(N_gen/N_truth).
    #[arg(long)]
    pub pooled: bool,
    /// Cross-fitting: deal the events into K folds and weight each fold with a classifier trained
    /// on the others, so every event gets an out-of-sample weight (weights.h5 gains `fold`).
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=20))]
    pub folds: Option<u64>,
    /// Train each ensemble member on its own bootstrap resample, so the members' spread carries
    /// the finite-sample error as well as the initialisation's.
    #[arg(long)]
    pub bootstrap: bool,
    /// Seed of the split, the initial weights and the shuffling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// cpu, or wgpu for a GPU (Vulkan, Metal, DX12 or GL).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

impl ClassifierArgs {
    pub fn config(&self, base: ClassifierConfig) -> Result<ClassifierConfig> {
        if self.bayesian && self.members.is_some_and(|m| m > 1) {
            return Err(invalid("--members and --bayesian: a Bayesian classifier's members are its --draws"));
        }
        if let Some(lr) = self.lr {
            if !(lr > 0.0 && lr.is_finite()) {
                return Err(invalid(format!("--lr {lr}: must be a positive number")));
            }
        }
        let c = ClassifierConfig {
            members: self.members.map_or(base.members, |m| m as usize),
            bayesian: self.bayesian,
            draws: self.draws as usize,
            epochs: self.epochs.map_or(base.epochs, |e| e as usize),
            patience: self.patience.map(|p| p as usize).or(base.patience),
            hidden: self.hidden.clone().unwrap_or(base.hidden.clone()),
            batch_size: self.batch_size.map_or(base.batch_size, |b| b as usize),
            lr: self.lr.unwrap_or(base.lr),
            dropout: self.dropout.unwrap_or(base.dropout),
            isotonic: self.isotonic,
            offset_fit: !self.no_offset_fit,
            balance: if self.pooled { Balance::Pooled } else { Balance::Batches },
            folds: self.folds.map_or(base.folds, |k| k as usize),
            bootstrap: self.bootstrap,
            seed: self.seed,
            ..base
        };
        c.validate()?;
        Ok(c)
    }

    pub fn device(&self) -> Result<sigmagrad::Device> {
        sigmagrad::device(&self.device).map_err(|e| invalid(format!("--device {}: {e}", self.device)))
    }
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The truth (data) file.
    #[arg(long)]
    pub truth: PathBuf,
    /// The generated (model) file, in the same layout.
    #[arg(long)]
    pub generated: PathBuf,
    /// Read both files in this layout instead of detecting it: calo, jets, events, table.
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<Kind>,
    /// Directory for weights.h5, metrics.json, index.html and model/ (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Observables to plot, comma-separated (default: the first four of the layout).
    #[arg(long, value_delimiter = ',')]
    pub plot: Option<Vec<String>>,
    /// Fractions of each sample held out for validation and for the report's test numbers.
    #[arg(long, default_value_t = 0.2)]
    pub val_fraction: f64,
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// njets: one classifier per jet multiplicity (event files), as the paper trains its Z+jets classifiers.
    #[arg(long, value_parser = parse_split_by)]
    pub split_by: Option<SplitBy>,
    #[command(flatten)]
    pub classifier: ClassifierArgs,
}

/// What `--split-by` groups events by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SplitBy {
    Njets,
}

fn parse_split_by(s: &str) -> std::result::Result<SplitBy, String> {
    match s {
        "njets" => Ok(SplitBy::Njets),
        _ => Err(format!("'{s}': the one grouping is njets (one classifier per jet multiplicity)")),
    }
}

#[derive(Debug, clap::Args)]
pub struct StudyArgs {
    /// Output directory.
    #[arg(long, default_value = "out/genweights-study")]
    pub out: PathBuf,
    /// Only these cases, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', value_parser = parse_case)]
    pub cases: Option<Vec<Case>>,
    /// Events per sample for jets.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(200..=4_000_000))]
    pub events: u64,
    /// Events per sample for showers.
    #[arg(long, default_value_t = 50_000, value_parser = clap::value_parser!(u64).range(200..=1_000_000))]
    pub shower_events: u64,
    /// Events per sample for the Z→μμ+jets toys (default: twice --events; only M_μμ of their 21
    /// inputs carries w, and at 10⁵ the classifier's error is larger than the mass peak).
    #[arg(long, value_parser = clap::value_parser!(u64).range(200..=8_000_000))]
    pub zjets_events: Option<u64>,
    /// Seed of the toys.
    #[arg(long, default_value_t = 1)]
    pub toy_seed: u64,
    /// Only redraw the page from the metrics.json a previous study left in --out.
    #[arg(long)]
    pub page_only: bool,
    /// Rerun every case (by default a case whose toy and classifier configuration are unchanged
    /// reuses its finished run in --out/cases/NAME).
    #[arg(long)]
    pub fresh: bool,
    /// How many cases run at once, each on its share of the cores (default: one per core). The
    /// numbers do not depend on it: every kernel gives the same bits on any number of threads.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// njets: the Z→μμ+jets cases with one classifier per jet multiplicity.
    #[arg(long, value_parser = parse_split_by)]
    pub split_by: Option<SplitBy>,
    #[command(flatten)]
    pub classifier: ClassifierArgs,
}

impl Default for StudyArgs {
    fn default() -> Self {
        StudyArgs {
            out: PathBuf::from("out/genweights-study"),
            cases: None,
            events: 100_000,
            shower_events: 50_000,
            zjets_events: None,
            toy_seed: 1,
            page_only: false,
            fresh: false,
            jobs: None,
            split_by: None,
            classifier: ClassifierArgs {
                members: None,
                bayesian: false,
                draws: 5,
                epochs: None,
                patience: None,
                hidden: None,
                batch_size: None,
                lr: None,
                dropout: None,
                isotonic: false,
                no_offset_fit: false,
                pooled: false,
                folds: None,
                bootstrap: false,
                seed: 1,
                device: "cpu".into(),
            },
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct ToyArgs {
    /// The toy: tailcut, smeared, shifted, null (jets); layer-fractions, missing-mode, noise,
    /// null-calo (showers); masspeak, binn, null-events (events).
    #[arg(long, value_parser = parse_case)]
    pub case: Case,
    /// Directory to write truth.h5, generated.h5 and toy.json to (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Events per sample (default: 100000, or 50000 for showers; at most 1e6 showers, 4e6 jets,
    /// 2e7 events).
    #[arg(long, value_parser = clap::value_parser!(u64).range(2..=50_000_000))]
    pub n: Option<u64>,
    /// Seed of the random streams (the same seed gives the same files).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// An HDF5 file in one of the layouts (showers, jets, pandas events, table).
    pub file: PathBuf,
    /// Read the file in this layout instead of detecting it.
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<Kind>,
}

fn parse_case(s: &str) -> std::result::Result<Case, String> {
    s.parse()
}

fn parse_kind(s: &str) -> std::result::Result<Kind, String> {
    s.parse()
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Toy(a)) => toy(a),
        Some(Command::Inspect(a)) => inspect(a),
        Some(Command::Run(a)) => run_pair(a),
        Some(Command::Study(a)) => study(a, "genweights study"),
        Some(Command::Flow(a)) => crate::flow::cli::run(a),
        Some(Command::FlowStudy(a)) => flow_study(a),
        None => study(StudyArgs::default(), "genweights (no arguments: the study with its defaults)"),
    }
}

fn say(s: &str) {
    eprint!("{s}");
}

fn run_pair(a: RunArgs) -> Result<()> {
    let mut opts = crate::study::run::RunOptions::new(a.truth, a.generated, a.out, a.classifier.device()?);
    opts.kind = a.kind;
    opts.classifier = a.classifier.config(ClassifierConfig {
        val_fraction: a.val_fraction,
        test_fraction: a.test_fraction,
        ..ClassifierConfig::default()
    })?;
    opts.plot = a.plot;
    opts.split_by_njets = a.split_by == Some(SplitBy::Njets);
    opts.name = format!("{} against {}", opts.truth.display(), opts.generated.display());
    let r = crate::study::run::run(&opts, &say)?;
    let an = &r.metrics.analysis;
    println!(
        "AUC {:.4}, E_gen[w] = {}, E_truth[1/w] = {}, ln w half-width {}\n{}\n{}\n{}",
        an.summary.roc.auc,
        an.gen_mean_w.estimate.map_or("n/a".into(), |v| format!("{v:.4}")),
        an.truth_mean_inverse_w.estimate.map_or("n/a".into(), |v| format!("{v:.4}")),
        an.summary.spread.half_width_68.map_or("n/a".into(), |v| format!("{v:.4}")),
        r.weights.display(),
        r.metrics_path.display(),
        r.page.display()
    );
    Ok(())
}

fn study(a: StudyArgs, command: &str) -> Result<()> {
    if a.page_only {
        let path = a.out.join("metrics.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| invalid(format!("{}: cannot read the study's metrics: {e}", path.display())))?;
        let m: crate::study::StudyMetrics = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("{}: not a study's metrics.json: {e}", path.display())))?;
        println!("{}", crate::study::write_page(&m, &a.out)?.display());
        return Ok(());
    }
    let mut opts = crate::study::StudyOptions::new(a.out, a.classifier.device()?);
    opts.classifier = a.classifier.config(ClassifierConfig::default())?;
    if let Some(c) = a.cases {
        opts.cases = c;
    }
    opts.events = a.events as usize;
    opts.shower_events = a.shower_events as usize;
    opts.zjets_events = a.zjets_events.map(|n| n as usize);
    opts.seed = a.toy_seed;
    opts.split_by_njets = a.split_by == Some(SplitBy::Njets);
    opts.command = command.to_string();
    opts.fresh = a.fresh;
    opts.jobs = a.jobs;
    let (page, m) = crate::study::study(&opts, &say)?;
    print_outcome(&m.acceptance, m.seconds, &page);
    Ok(())
}

/// A study's last lines: its acceptance count, its time and its page.
fn print_outcome(rows: &[crate::study::AcceptanceRow], seconds: f64, page: &std::path::Path) {
    let pass = rows.iter().filter(|r| r.passed == Some(true)).count();
    let fail = rows.iter().filter(|r| r.passed == Some(false)).count();
    println!("{pass} acceptance tests pass, {fail} fail; {seconds:.0} s\n{}", page.display());
}

fn flow_study(a: FlowStudyArgs) -> Result<()> {
    if a.page_only {
        let path = a.out.join("metrics.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| invalid(format!("{}: cannot read the flow study's metrics: {e}", path.display())))?;
        let mut m: crate::flowstudy::FlowStudyMetrics = serde_json::from_str(&text)
            .map_err(|e| invalid(format!("{}: not a flow study's metrics.json: {e}", path.display())))?;
        // The rows are a function of the cases' numbers: recomputed, they follow the code.
        m.acceptance = m.cases.iter().flat_map(crate::flowstudy::flow_acceptance).collect();
        println!("{}", crate::flowstudy::write_page(&m, &a.out)?.display());
        return Ok(());
    }
    let device = sigmagrad::device(&a.device).map_err(|e| invalid(format!("--device {}: {e}", a.device)))?;
    let mut opts = crate::flowstudy::FlowStudyOptions::new(a.out, a.preset, device);
    opts.flow.coupling = a.coupling.coupling();
    opts.flow.mixing = a.mixing.mixing();
    if let Some(e) = a.epochs {
        opts.flow.epochs = e as usize;
    }
    opts.seed = a.seed;
    opts.flow.seed = a.seed;
    opts.classifier.seed = a.seed;
    opts.jobs = a.jobs;
    let (page, m) = crate::flowstudy::flow_study(&opts, &say)?;
    print_outcome(&m.acceptance, m.seconds, &page);
    Ok(())
}

fn toy(a: ToyArgs) -> Result<()> {
    let n = match a.n {
        Some(n) => usize::try_from(n).map_err(|_| invalid(format!("--n {n} is too large")))?,
        None => a.case.default_events(),
    };
    // The output directory before the draw: a bad --out fails at once.
    crate::io::create_out_dir(&a.out)?;
    let bar = nn::progress::bar(2 * n as u64, &format!("toy {}", a.case));
    let toy = generator::generate(a.case, n, a.seed, &bar)?;
    bar.finish_and_clear();
    let files = generator::write(&a.out, &toy)?;
    let (t, g) = (&toy.truth_log_w, &toy.generated_log_w);
    let id = metrics::normalisation_identities(t, g)?;
    let show = |i: &metrics::Identity, exact: f64| match (i.estimate, i.error) {
        (Some(m), Some(e)) => format!("{m:.5} ± {e:.5} (exact {exact:.5})"),
        _ => format!("undefined (exact {exact:.5})"),
    };
    println!(
        "{} ({}): {} truth and {} generated events\n  {}\n  {}\n  {}\n  exact weight: {}\n  with the exact \
         weights: AUC {:.5}, BCE {:.5}, E_gen[w] = {}, E_truth[1/w] = {}",
        a.case,
        toy.info.description,
        toy.truth.len(),
        toy.generated.len(),
        files.truth.display(),
        files.generated.display(),
        files.info.display(),
        toy.info.exact_weight,
        metrics::auc(t, g)?,
        metrics::bce(t, g)?,
        show(&id.gen_mean_w, toy.info.expected_gen_mean_w),
        show(&id.truth_mean_inverse_w, toy.info.expected_truth_mean_inverse_w)
    );
    Ok(())
}

fn inspect(a: InspectArgs) -> Result<()> {
    let sample = read_sample(&a.file, &ReadOptions { kind: a.kind, ..Default::default() })?;
    println!("{}: {}", a.file.display(), sample.describe());
    if let crate::io::Sample::Events(e) = &sample {
        if e.dropped_non_finite > 0 {
            println!("  {} rows with non-finite values dropped", e.dropped_non_finite);
        }
    }
    let inputs = features::classifier_inputs(&sample, &FeatureOptions::default())?;
    let names: Vec<String> = inputs.columns.iter().map(|c| c.label()).collect();
    println!("  classifier inputs ({}): {}", names.len(), names.join(", "));
    Ok(())
}
