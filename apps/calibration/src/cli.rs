//! The `calibration` command line. Each subcommand's work is a library function; this module
//! only parses, checks the arguments in the study's terms and prints. With no subcommand it runs
//! the quick study (`make demo`).

use crate::cuts::read_selected;
use crate::error::{Error, Result};
use crate::evaluate::{evaluate, summary_table, EvaluateOptions};
use crate::generator::{generate, ClassChoice, GeneratorConfig, Sample};
use crate::io::{ClusterTable, DataSource, PredictionOutput, Schema, TargetPolicy};
use crate::lcw::{build, Labelled};
use crate::metrics::Binning;
use crate::model::predict::{checkpoint_path, predict, PredictArgs as PredictJob};
use crate::model::run_dir::run_files;
use crate::model::train::{train, TrainOptions};
use crate::model::{Method, ModelConfig, Preset};
use crate::study::run::run_scan;
use crate::study::{run_study, StudyOptions, StudyPreset, StudyPresetName};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Debug, Parser)]
#[command(
    name = "calibration",
    version,
    about = "Calibrate calorimeter topo-clusters with uncertainties (ATLAS, arXiv:2412.04370), on synthetic data with exact truth or on real ntuples",
    long_about = None
)]
pub struct Cli {
    /// What to do; without one, `calibration study` with its defaults (the quick study).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Print no progress bars and no cut flow.
    #[arg(long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate synthetic topo-clusters with their exact truth (spec section 7) as HDF5.
    Generate(GenerateArgs),
    /// Build the LCW-like look-up tables from a sample without pile-up (spec section 1.5).
    Lcw(LcwArgs),
    /// Convert a ROOT ntuple (or an HDF5 file) into the HDF5 cluster layout, without cuts.
    Convert(ConvertArgs),
    /// Compare calibrations: linearity, resolution, closure, pulls; writes DIR/metrics.json.
    Evaluate(EvaluateArgs),
    /// Train a calibration network on a cluster file: writes DIR/best.h5 (model, standardizer),
    /// last.h5 (to resume), history.csv, config.toml and train.json.
    Train(TrainArgs),
    /// Predict the response R and its uncertainties with a trained network: writes the
    /// prediction layout (R_pred, sigma_syst, sigma_stat, sigma_tot, E_calib, sigma_E, input_index).
    Predict(PredictArgs),
    /// The whole study of arXiv:2412.04370 on generated data: samples, LCW-like tables, the four
    /// networks, predictions, evaluation, the training-size scan and the report DIR/index.html.
    /// Steps whose inputs did not change are reused.
    Study(StudyArgs),
    /// The training-size scan alone on any training and test files: BNNs on the first N
    /// training clusters; writes DIR/scan.json and DIR/index.html.
    Scan(ScanArgs),
    /// Where the network is unsure, without the truth: flags the clusters whose sigma_tot/R_pred
    /// is high for their energy and finds the feature ranges where they gather; writes
    /// DIR/findings.json, DIR/flags.h5 and DIR/index.html.
    Explain(ExplainArgs),
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The clusters the predictions were made for (HDF5 or ROOT, FILE[:TREE]); only the 15
    /// features are read, and the target where present for the selection cuts.
    #[arg(long, value_name = "FILE[:TREE]")]
    pub data: String,
    /// A prediction file of `calibration predict` on --data.
    #[arg(long, value_name = "PRED.h5")]
    pub pred: PathBuf,
    /// The output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Flag a cluster when its sigma_tot/R_pred is above this quantile of its clusterE bin.
    #[arg(long, value_name = "Q", default_value_t = crate::explain::DEFAULT_QUANTILE)]
    pub quantile: f64,
}

#[derive(Debug, Args)]
pub struct StudyArgs {
    /// The output directory (index.html, metrics.json, run.json, data, models, predictions).
    #[arg(long, value_name = "DIR", default_value = "out/calibration-study")]
    pub out: PathBuf,
    /// quick (minutes on 2 cores, the default), paper (paper-scale sizes and networks: hours,
    /// or a GPU) or tiny (seconds; checks that everything runs).
    #[arg(long, value_enum, default_value_t = StudyPresetName::Quick)]
    pub preset: StudyPresetName,
    /// The seed of every network (weights, noise, split, shuffling); the samples' seeds are fixed.
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// cpu, or wgpu for a GPU (Vulkan, Metal, DX12 or GL).
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
    /// Recompute every step, even those whose outputs exist with the same configuration.
    #[arg(long)]
    pub fresh: bool,
    /// How many trainings run at once, each on its share of the cores (default: one per core,
    /// as many as there are trainings). The networks do not depend on it: every kernel gives the
    /// same bits on any number of threads.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
}

impl Default for StudyArgs {
    fn default() -> Self {
        StudyArgs {
            out: PathBuf::from("out/calibration-study"),
            preset: StudyPresetName::Quick,
            seed: None,
            device: "cpu".into(),
            fresh: false,
            jobs: None,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The training clusters (HDF5 or ROOT, FILE[:TREE]); each point trains on the first N
    /// selected training clusters after the validation split.
    #[arg(long, value_name = "FILE[:TREE]")]
    pub data: String,
    /// The test clusters every point predicts.
    #[arg(long, value_name = "FILE[:TREE]")]
    pub test: String,
    /// The output directory.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The training-set sizes, comma-separated.
    #[arg(long, value_name = "N,N,...", value_delimiter = ',', default_values_t = vec![10_000usize, 30_000, 100_000, 300_000])]
    pub sizes: Vec<usize>,
    /// Optimizer steps per point (its epochs follow from N), so that small sets are not also
    /// under-trained ones.
    #[arg(long, value_name = "STEPS", default_value_t = 9_000)]
    pub steps: usize,
    /// At most this many epochs per point.
    #[arg(long, value_name = "E", default_value_t = 100)]
    pub max_epochs: usize,
    /// The BNN's starting configuration: default (3 x 64 tanh) or paper (256-128-64-8).
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    pub preset: Preset,
    /// A TOML file that changes any setting of the BNN (see the README for the keys).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// cpu, or wgpu for a GPU.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
    /// The column that says which event a cluster came from: the validation split keeps each
    /// event's clusters on one side (default: eventNumber, with runNumber, when the file has it;
    /// else the split is by row).
    #[arg(long, value_name = "NAME")]
    pub event_column: Option<String>,
    /// A column of per-cluster weights (MC event weights, finite and >= 0) that weight the loss.
    #[arg(long, value_name = "NAME")]
    pub weight_column: Option<String>,
    /// Recompute every point.
    #[arg(long)]
    pub fresh: bool,
    /// How many trainings run at once, each on its share of the cores (default: one per core,
    /// as many as there are trainings). The networks do not depend on it: every kernel gives the
    /// same bits on any number of threads.
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The training clusters (HDF5 or ROOT, FILE[:TREE]); it must hold the target
    /// cluster_ENG_CALIB_TOT. The selection cuts are applied, then a validation share is held out.
    #[arg(long, value_name = "FILE[:TREE]")]
    pub data: String,
    /// The method: dnn (mean squared error), dnn-lgk (two-step leaky Gaussian kernel, learns the
    /// mode), bnn (Bayesian network), re (repulsive ensemble).
    #[arg(long, value_enum)]
    pub model: Method,
    /// The run directory (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The starting configuration: default (3 x 64 tanh, 30 epochs) or paper (256-128-64-8, 100 epochs).
    #[arg(long, value_enum, default_value_t = Preset::Default)]
    pub preset: Preset,
    /// A TOML file that changes any setting of the preset (see the README for the keys).
    #[arg(long, value_name = "FILE.toml")]
    pub config: Option<PathBuf>,
    /// Epochs (overrides the configuration).
    #[arg(long, value_name = "E", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub epochs: Option<u64>,
    /// Seed of the initial weights, the noise, the split and the shuffling (overrides the configuration).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// cpu, or wgpu for a GPU (Vulkan, Metal, DX12 or GL).
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
    /// The column that says which event a cluster came from: the validation split keeps each
    /// event's clusters on one side (default: eventNumber, with runNumber, when the file has it;
    /// else the split is by row).
    #[arg(long, value_name = "NAME")]
    pub event_column: Option<String>,
    /// A column of per-cluster weights (MC event weights, finite and >= 0) that weight the loss.
    #[arg(long, value_name = "NAME")]
    pub weight_column: Option<String>,
    /// Continue the interrupted run in --out exactly where it stopped (same data, --model and
    /// configuration).
    #[arg(long, conflicts_with = "restart")]
    pub resume: bool,
    /// Train again into an --out that holds a run; the old run stays as it was until the new
    /// one has finished.
    #[arg(long)]
    pub restart: bool,
}

#[derive(Debug, Args)]
pub struct PredictArgs {
    /// A run directory of `calibration train` (its best.h5) or a checkpoint file.
    #[arg(long, value_name = "DIR")]
    pub model: PathBuf,
    /// The clusters to calibrate (HDF5 or ROOT, FILE[:TREE]): the 15 features are needed; the
    /// target, when present, takes part in the selection cuts.
    #[arg(long, value_name = "FILE[:TREE]")]
    pub data: String,
    /// Output prediction file: HDF5, or FILE.root[:TreeName] for a ROOT TTree (default tree
    /// 'predictions') with one entry per input row, to be a friend of the input tree.
    #[arg(long, value_name = "FILE.h5|FILE.root[:TREE]")]
    pub out: PathBuf,
    /// One output row per input row, with `selected` (1 passed the cuts, 0 not); the rows the
    /// cuts removed keep the EM scale (R_pred = 1) and NaN uncertainties. Always on for ROOT output.
    #[arg(long)]
    pub keep_all: bool,
    /// Weight draws of a BNN (default: the training configuration's, 50); ensembles use their
    /// members and a DNN one network.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub draws: Option<u64>,
    /// Clusters per forward pass: bounds the memory of a prediction.
    #[arg(long, value_name = "N", default_value_t = 8192, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub batch_size: u64,
    /// cpu, or wgpu for a GPU.
    #[arg(long, default_value = "cpu", value_name = "DEVICE")]
    pub device: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClassArg {
    /// Both classes, 30% EM (the jet-like mixture).
    Mixed,
    /// EM clusters only (a single-pi0-like sample).
    Em,
    /// Hadronic clusters only (a single-pi+-like sample).
    Had,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Output HDF5 file; replaced atomically if it exists.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Number of clusters to generate (all with E_EM > 0; about 3/4 pass the selection cuts).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub n: u64,
    /// Random seed. The first N clusters of a seed are the same for any larger N.
    #[arg(long, value_name = "S")]
    pub seed: u64,
    /// Generate the single-particle-like sample without pile-up (mu = 0, N_PV = 1, log-uniform
    /// energies) from which the LCW-like tables are built.
    #[arg(long)]
    pub pu0: bool,
    /// Which cluster classes to generate.
    #[arg(long, value_enum, default_value_t = ClassArg::Mixed)]
    pub class: ClassArg,
    /// Move the tile-gap-like window to LO:HI in |eta| (the study's is 1.4:1.6): a variant whose
    /// high-uncertainty region is elsewhere, on which `explain` is tested.
    #[arg(long, value_name = "LO:HI", value_parser = parse_window)]
    pub gap_window: Option<(f64, f64)>,
}

/// LO:HI with 0 <= LO < HI <= the generator's |eta| range.
fn parse_window(arg: &str) -> std::result::Result<(f64, f64), String> {
    let max = crate::generator::params::ETA_MAX;
    let parsed =
        arg.split_once(':').and_then(|(a, b)| Some((a.trim().parse::<f64>().ok()?, b.trim().parse::<f64>().ok()?)));
    match parsed {
        Some((lo, hi)) if 0.0 <= lo && lo < hi && hi <= max => Ok((lo, hi)),
        _ => Err(format!("'{arg}' is not LO:HI with 0 <= LO < HI <= {max} (for example --gap-window 2.2:2.4)")),
    }
}

#[derive(Debug, Args)]
pub struct LcwArgs {
    /// A PU0 cluster file holding both classes, labelled by --class-column.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["pu0_em", "pu0_had"], required_unless_present_all = ["pu0_em", "pu0_had"])]
    pub pu0: Option<String>,
    /// The column of --pu0 that labels each cluster: 1 EM (pi0-like), 0 hadronic (pi+-like).
    #[arg(long, value_name = "NAME", default_value = "truth_class", requires = "pu0")]
    pub class_column: String,
    /// A single-pi0-like PU0 file: all its clusters are EM (use with --pu0-had).
    #[arg(long, value_name = "FILE", requires = "pu0_had")]
    pub pu0_em: Option<String>,
    /// A single-pi+-like PU0 file: all its clusters are hadronic (use with --pu0-em).
    #[arg(long, value_name = "FILE", requires = "pu0_em")]
    pub pu0_had: Option<String>,
    /// Output HDF5 file for the tables.
    #[arg(long, value_name = "TABLES.h5")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Input: ntuple.root (its only TTree), ntuple.root:TreeName, or an HDF5 cluster file.
    #[arg(long, value_name = "FILE[:TREE]")]
    pub data: String,
    /// Output HDF5 file: one dataset per column, every row kept (cuts are applied on reading).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// The cluster file to evaluate on (HDF5 or ROOT, FILE[:TREE]); it must hold the target
    /// cluster_ENG_CALIB_TOT. The selection cuts are applied.
    #[arg(long, value_name = "FILE[:TREE]")]
    pub data: String,
    /// A prediction file of `calibration predict`, named for the report: NAME=FILE.h5.
    /// Repeat for several methods.
    #[arg(long = "pred", value_name = "NAME=FILE.h5", value_parser = parse_named_file)]
    pub predictions: Vec<(String, PathBuf)>,
    /// LCW-like tables of `calibration lcw`, to include the LCW-like baseline.
    #[arg(long, value_name = "TABLES.h5")]
    pub lcw: Option<PathBuf>,
    /// Output directory for metrics.json (created if needed).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// A column of per-cluster weights (MC event weights, finite and >= 0) that weight every
    /// median, quantile and coverage.
    #[arg(long, value_name = "NAME")]
    pub weight_column: Option<String>,
}

/// NAME=FILE with a non-empty name and file.
pub fn parse_named_file(arg: &str) -> std::result::Result<(String, PathBuf), String> {
    match arg.split_once('=') {
        Some((name, file)) if !name.trim().is_empty() && !file.is_empty() => {
            Ok((name.trim().to_string(), PathBuf::from(file)))
        }
        _ => Err(format!("'{arg}' is not NAME=FILE.h5 (for example --pred bnn=out/bnn/pred.h5)")),
    }
}

/// Refuses an output path whose directory does not exist, before any work is done.
pub fn check_output_file(path: &Path, flag: &str) -> Result<()> {
    if path.is_dir() {
        return Err(Error::invalid(format!("{flag} {} is a directory; give a file name", path.display())));
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() && !dir.is_dir() => {
            Err(Error::invalid(format!("{flag} {}: the directory {} does not exist", path.display(), dir.display())))
        }
        _ => Ok(()),
    }
}

/// The cheap checks of a command's files, made before its first expensive step: every input is
/// a readable regular file, and no output is one of the inputs (see [`rundir::refuse_overwrite`]).
fn check_files(inputs: &[&Path], outputs: &[&Path]) -> Result<()> {
    for input in inputs {
        nn::io::check_regular_file(input)?;
    }
    rundir::refuse_overwrite(inputs, outputs).map_err(Error::from)
}

/// Refuses a sample that cannot fit in the memory this process may allocate, before drawing
/// it (an allocation failure would abort the process without a message). The check reserves
/// the address space and gives it back at once.
fn require_memory(n: usize) -> Result<()> {
    let bytes = crate::generator::peak_bytes(n);
    let fits = bytes.is_some_and(|b| Vec::<u8>::new().try_reserve_exact(b).is_ok());
    if fits {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "--n {n}: generating needs about {:.1} GB of memory, more than this process may allocate; generate fewer \
         clusters (the first N clusters of a seed are the same for any larger N)",
        bytes.map_or(f64::INFINITY, |b| b as f64 / 1e9)
    )))
}

/// Where a command's messages go: stderr unless `--quiet`; progress bars only on a terminal.
struct Console {
    quiet: bool,
    /// Whether progress bars are drawn (not quiet, stderr a terminal).
    bars: bool,
}

impl Console {
    fn say(&self, s: &str) {
        if !self.quiet {
            eprint!("{s}");
        }
    }
}

/// Runs a parsed command line: one function per subcommand.
pub fn run(cli: Cli) -> Result<()> {
    let bars = !cli.quiet && std::io::stderr().is_terminal();
    nn::progress::set_enabled(bars);
    let console = Console { quiet: cli.quiet, bars };
    match cli.command.unwrap_or(Command::Study(StudyArgs::default())) {
        Command::Study(a) => study(a, &console),
        Command::Scan(a) => scan(a, &console),
        Command::Generate(a) => generate_clusters(a, &console),
        Command::Lcw(a) => lcw(a, &console),
        Command::Convert(a) => convert(a, &console),
        Command::Evaluate(a) => evaluate_predictions(a, &console),
        Command::Train(a) => train_network(a, &console),
        Command::Predict(a) => predict_response(a, &console),
        Command::Explain(a) => explain_uncertainty(a, &console),
    }
}

/// The compute device of `--device`.
fn device_of(name: &str) -> Result<sigmagrad::Device> {
    sigmagrad::device(name).map_err(|e| Error::invalid(format!("--device {name}: {e}")))
}

fn study(a: StudyArgs, console: &Console) -> Result<()> {
    let device = device_of(&a.device)?;
    let mut preset = StudyPreset::new(a.preset);
    if let Some(seed) = a.seed {
        preset = preset.with_network_seed(seed);
    }
    console.say(&format!("calibration study, preset {:?} (see --help), into {}\n", a.preset, a.out.display()));
    let opts = StudyOptions { out: a.out.clone(), preset, device, fresh: a.fresh, quiet: console.quiet, jobs: a.jobs };
    let (summary, page) = run_study(&opts)?;
    let passed = summary.acceptance.iter().filter(|t| t.passed == Some(true)).count();
    let failed: Vec<&str> =
        summary.acceptance.iter().filter(|t| t.passed == Some(false)).map(|t| t.what.as_str()).collect();
    console.say(&format!(
        "acceptance tests: {passed} passed, {} failed{}\n",
        failed.len(),
        if failed.is_empty() { String::new() } else { format!(" ({})", failed.join("; ")) }
    ));
    println!("the report: {}", page.display());
    Ok(())
}

fn scan(a: ScanArgs, console: &Console) -> Result<()> {
    if a.sizes.is_empty() || a.sizes.contains(&0) {
        return Err(Error::invalid("--sizes needs one or more sizes > 0, e.g. 10000,30000,100000"));
    }
    let device = device_of(&a.device)?;
    let mut bnn = ModelConfig::preset(Method::Bnn, a.preset);
    if let Some(path) = &a.config {
        bnn = bnn.with_file(path)?;
    }
    bnn.training.event_column = a.event_column.clone().or(bnn.training.event_column);
    bnn.training.weight_column = a.weight_column.clone().or(bnn.training.weight_column);
    let mut preset = StudyPreset::new(StudyPresetName::Quick);
    preset.bnn = bnn;
    preset.scan_sizes = a.sizes.clone();
    preset.scan_steps = a.steps.max(1);
    preset.scan_max_epochs = a.max_epochs.max(1);
    let opts = StudyOptions { out: a.out.clone(), preset, device, fresh: a.fresh, quiet: console.quiet, jobs: a.jobs };
    let (train, test) = (DataSource::parse(&a.data)?, DataSource::parse(&a.test)?);
    let mut inputs: Vec<&Path> = vec![&train.path, &test.path];
    inputs.extend(a.config.as_deref());
    check_files(&inputs, &[&a.out.join("scan.json"), &a.out.join("index.html")])?;
    let (scan, page) = run_scan(&opts, &train, &test)?;
    if let Some(slope) = scan.stat_slope {
        console.say(&format!("fitted slope of log <sigma_stat> against log N: {slope:.2}\n"));
    }
    println!("the scan: {}", page.display());
    Ok(())
}

fn generate_clusters(a: GenerateArgs, console: &Console) -> Result<()> {
    check_output_file(&a.out, "--out")?;
    let class = match a.class {
        ClassArg::Mixed => ClassChoice::Mixed,
        ClassArg::Em => ClassChoice::EmOnly,
        ClassArg::Had => ClassChoice::HadOnly,
    };
    let n = usize::try_from(a.n).map_err(|_| Error::invalid("--n is too large for this machine"))?;
    require_memory(n)?;
    let sample = if a.pu0 { Sample::Pu0 } else { Sample::PileUp };
    let mut config = GeneratorConfig { class, ..GeneratorConfig::new(n, a.seed, sample) };
    config.gap_window = a.gap_window.unwrap_or(config.gap_window);
    let start = std::time::Instant::now();
    let table = generate(&config, console.bars)?;
    console.say(&format!(
        "generated {n} clusters in {:.1} s; writing {}\n",
        start.elapsed().as_secs_f64(),
        a.out.display()
    ));
    table.write_hdf5(&a.out)
}

fn lcw(a: LcwArgs, console: &Console) -> Result<()> {
    check_output_file(&a.out, "--out")?;
    let read = |arg: &str| -> Result<ClusterTable> {
        let (table, cuts) = read_selected(&DataSource::parse(arg)?, TargetPolicy::Required)?;
        console.say(&cuts.summary());
        Ok(table)
    };
    let sources: Vec<DataSource> =
        [&a.pu0, &a.pu0_em, &a.pu0_had].into_iter().flatten().map(|f| DataSource::parse(f)).collect::<Result<_>>()?;
    check_files(&sources.iter().map(|d| d.path.as_path()).collect::<Vec<_>>(), &[&a.out])?;
    let tables = match (&a.pu0, &a.pu0_em, &a.pu0_had) {
        (Some(file), _, _) => {
            let t = read(file)?;
            build(&[Labelled::from_column(&t, &a.class_column)?], &format!("{file} (class from {})", a.class_column))?
        }
        (None, Some(em), Some(had)) => {
            let (e, h) = (read(em)?, read(had)?);
            build(&[Labelled::all(&e, true), Labelled::all(&h, false)], &format!("EM: {em}; HAD: {had}"))?
        }
        _ => return Err(Error::invalid("give --pu0 FILE, or both --pu0-em FILE and --pu0-had FILE")),
    };
    console.say(&format!(
        "LCW-like tables from {} EM and {} hadronic clusters -> {}\n",
        tables.n_em,
        tables.n_had,
        a.out.display()
    ));
    tables.write(&a.out)
}

fn convert(a: ConvertArgs, console: &Console) -> Result<()> {
    check_output_file(&a.out, "--out")?;
    let source = DataSource::parse(&a.data)?;
    check_files(&[&source.path], &[&a.out])?;
    let table = ClusterTable::read(&source, &Schema::clusters(TargetPolicy::IfPresent))?;
    for note in &table.notes {
        console.say(&format!("note: {note}\n"));
    }
    console.say(&format!(
        "{}: {} clusters, {} columns -> {}\n",
        source.display(),
        table.len(),
        table.names().len(),
        a.out.display()
    ));
    table.write_hdf5(&a.out)
}

fn evaluate_predictions(a: EvaluateArgs, console: &Console) -> Result<()> {
    if a.out.exists() && !a.out.is_dir() {
        return Err(Error::invalid(format!("--out {} is a file; give a directory for metrics.json", a.out.display())));
    }
    let data = DataSource::parse(&a.data)?;
    let mut inputs: Vec<&Path> = vec![&data.path];
    inputs.extend(a.predictions.iter().map(|(_, p)| p.as_path()));
    inputs.extend(a.lcw.as_deref());
    check_files(&inputs, &[&a.out.join("metrics.json")])?;
    std::fs::create_dir_all(&a.out)
        .map_err(|e| Error::invalid(format!("--out {}: cannot create the directory: {e}", a.out.display())))?;
    let options = EvaluateOptions {
        data,
        predictions: a.predictions,
        lcw: a.lcw,
        binning: Binning::default(),
        weight_column: a.weight_column,
    };
    let report = evaluate(&options, &a.out)?;
    console.say(&report.cuts.summary());
    println!("{}", summary_table(&report));
    console.say(&format!("wrote {}\n", a.out.join("metrics.json").display()));
    Ok(())
}

fn train_network(a: TrainArgs, console: &Console) -> Result<()> {
    let mut config = ModelConfig::preset(a.model, a.preset);
    if let Some(path) = &a.config {
        config = config.with_file(path)?;
        config.method = a.model;
    }
    if let Some(e) = a.epochs {
        config.training.epochs = e as usize;
    }
    if let Some(s) = a.seed {
        config.training.seed = s;
    }
    config.training.event_column = a.event_column.or(config.training.event_column);
    config.training.weight_column = a.weight_column.or(config.training.weight_column);
    let device = device_of(&a.device)?;
    let data = DataSource::parse(&a.data)?;
    let mut inputs: Vec<&Path> = vec![&data.path];
    inputs.extend(a.config.as_deref());
    let mut outputs = run_files(&a.out);
    if a.resume {
        // A resumed run keeps its configuration: config.toml is read, and written back unchanged.
        outputs.retain(|f| f != &a.out.join("config.toml"));
    }
    check_files(&inputs, &outputs.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    let opts = TrainOptions {
        data,
        out: a.out.clone(),
        config,
        device,
        resume: a.resume,
        restart: a.restart,
        progress: !console.quiet,
        interrupt_after: None,
    };
    let s = train(&opts, &|m| console.say(m))?;
    console.say(&format!(
        "trained {} in {:.1} s ({:.0} samples/s); best validation loss {} at epoch {}; wrote {}\n",
        s.model,
        s.seconds,
        s.samples_per_second,
        s.best_val_loss.map_or("-".into(), |v| format!("{v:.5}")),
        s.best_epoch.map_or(0, |e| e + 1),
        a.out.display()
    ));
    Ok(())
}

fn predict_response(a: PredictArgs, console: &Console) -> Result<()> {
    let output = PredictionOutput::parse(&a.out)?;
    check_output_file(output.path(), "--out")?;
    let device = device_of(&a.device)?;
    let data = DataSource::parse(&a.data)?;
    check_files(&[&checkpoint_path(&a.model), &data.path], &[output.path()])?;
    // A friend tree must have an entry for every entry of the tree it befriends.
    let keep_all = a.keep_all || matches!(output, PredictionOutput::Root { .. });
    let job = PredictJob {
        model: a.model.clone(),
        data,
        draws: a.draws.map(|d| d as usize),
        batch_size: a.batch_size as usize,
        device,
        progress: console.bars,
        keep_all,
    };
    let (p, s) = predict(&job, &|m| console.say(m))?;
    output.write(&p)?;
    console.say(&format!(
        "predicted {} clusters ({} draws) in {:.1} s -> {}{}\n",
        s.clusters,
        s.draws,
        s.seconds,
        output.path().display(),
        if keep_all { format!(" (every one of the {} input rows)", p.len()) } else { String::new() }
    ));
    Ok(())
}

fn explain_uncertainty(a: ExplainArgs, console: &Console) -> Result<()> {
    use crate::explain::{explain, output, ExplainOptions};
    let data = DataSource::parse(&a.data)?;
    let outputs = output::output_paths(&a.out);
    check_files(&[&data.path, &a.pred], &outputs.iter().map(PathBuf::as_path).collect::<Vec<_>>())?;
    crate::io::Predictions::check(&a.pred)?;
    let explanation = explain(&ExplainOptions { data, predictions: a.pred.clone(), quantile: a.quantile })?;
    output::write(&explanation, &a.out)?;
    console.say(&explanation.cuts.summary());
    println!("{}", explanation.findings.sentence());
    console.say(&format!("wrote {}\n", a.out.join("index.html").display()));
    Ok(())
}
