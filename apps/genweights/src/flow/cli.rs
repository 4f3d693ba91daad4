//! The arguments of `genweights flow train | sample | density`, and the three commands: thin
//! wrappers that read, call [`super::train`], [`super::sample`] or [`super::log_density`], and
//! write. The file formats are in docs/genweights-method.md §11.

use super::density::{log_density, FlowModel, LogDensity};
use super::train::{train, FlowTrainConfig};
use crate::error::{invalid, Result};
use crate::io::table::{write_with, Table};
use crate::io::{read_sample, Kind, ReadOptions, Sample};
use clap::{Subcommand, ValueEnum};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
pub struct FlowArgs {
    #[command(subcommand)]
    pub command: FlowCommand,
}

#[derive(Debug, Subcommand)]
pub enum FlowCommand {
    /// Train a flow on the features the classifier would see for a file: DIR/best.h5, flow.json.
    Train(TrainArgs),
    /// Draw events from a trained flow: a table file with `features`, `log_p` (and `log_p_draws`).
    Sample(SampleArgs),
    /// The flow's exact ln p of every event of a file: `log_p` (N,), row-aligned with the file.
    Density(DensityArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CouplingArg {
    /// x2 e^s + t with a soft clamp on s (RealNVP, Glow).
    Affine,
    /// Monotone rational-quadratic splines, 8 bins on ±4 standardized units (Durkan et al. 2019).
    Spline,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MixingArg {
    /// A fixed random permutation of the coordinates before each block.
    Permutation,
    /// A fixed random rotation before each block, so each coupling conditions on mixtures of
    /// all coordinates.
    Rotation,
}

impl CouplingArg {
    pub fn coupling(self) -> nn::Coupling {
        match self {
            CouplingArg::Affine => FlowTrainConfig::default().coupling,
            CouplingArg::Spline => FlowTrainConfig::SPLINE,
        }
    }
}

impl MixingArg {
    pub fn mixing(self) -> nn::Mixing {
        match self {
            MixingArg::Permutation => nn::Mixing::Permutation,
            MixingArg::Rotation => nn::Mixing::Rotation,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// The training file (any layout genweights reads).
    #[arg(long)]
    pub data: PathBuf,
    /// Read it in this layout instead of detecting it: calo, jets, events, table.
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<Kind>,
    /// The model directory (created if missing): best.h5, last.h5, history.csv, flow.json.
    #[arg(long)]
    pub out: PathBuf,
    /// Coupling blocks.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub blocks: u64,
    #[arg(long, value_enum, default_value_t = CouplingArg::Affine)]
    pub coupling: CouplingArg,
    /// What mixes the coordinates between blocks.
    #[arg(long, value_enum, default_value_t = MixingArg::Permutation)]
    pub mixing: MixingArg,
    /// Variational coupling subnetworks: a Bayesian INN whose weight draws give ln p per draw.
    #[arg(long)]
    pub bayesian: bool,
    /// Weight draws of a Bayesian INN, for its samples and densities.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100))]
    pub draws: u64,
    /// Training epochs (the best validation epoch is kept; early stopping after --patience).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub epochs: Option<u64>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub patience: Option<u64>,
    /// Hidden widths of each coupling subnetwork, comma-separated (default 64,64).
    #[arg(long, value_delimiter = ',')]
    pub hidden: Option<Vec<usize>>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub batch_size: Option<u64>,
    /// Adam's learning rate (decayed by cosine over the epochs).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Seed of the split, the permutations, the initial weights and the shuffling.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// cpu, or wgpu for a GPU.
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

#[derive(Debug, clap::Args)]
pub struct SampleArgs {
    /// The directory `flow train` wrote.
    #[arg(long)]
    pub model: PathBuf,
    /// Events to draw.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=50_000_000))]
    pub n: u64,
    /// The table file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the latent draws.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

#[derive(Debug, clap::Args)]
pub struct DensityArgs {
    /// The directory `flow train` wrote.
    #[arg(long)]
    pub model: PathBuf,
    /// A file in the layout the flow was trained on (or a table of its features).
    #[arg(long)]
    pub data: PathBuf,
    /// Read --data in this layout (default: the layout of the training file).
    #[arg(long, value_parser = parse_kind)]
    pub kind: Option<Kind>,
    /// The file to write `log_p` (and `log_p_draws`) to.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

fn parse_kind(s: &str) -> std::result::Result<Kind, String> {
    s.parse()
}

fn device(name: &str) -> Result<sigmagrad::Device> {
    sigmagrad::device(name).map_err(|e| invalid(format!("--device {name}: {e}")))
}

pub fn run(args: FlowArgs) -> Result<()> {
    match args.command {
        FlowCommand::Train(a) => train_command(a),
        FlowCommand::Sample(a) => sample_command(a),
        FlowCommand::Density(a) => density_command(a),
    }
}

fn train_command(a: TrainArgs) -> Result<()> {
    let base = FlowTrainConfig::default();
    let config = FlowTrainConfig {
        blocks: a.blocks as usize,
        coupling: a.coupling.coupling(),
        mixing: a.mixing.mixing(),
        hidden: a.hidden.unwrap_or(base.hidden.clone()),
        bayesian: a.bayesian,
        draws: a.draws as usize,
        epochs: a.epochs.map_or(base.epochs, |e| e as usize),
        patience: a.patience.map(|p| p as usize).or(base.patience),
        batch_size: a.batch_size.map_or(base.batch_size, |b| b as usize),
        lr: a.lr.unwrap_or(base.lr),
        seed: a.seed,
        ..base
    };
    if a.out.exists() && !a.out.is_dir() {
        return Err(invalid(format!("--out {} is a file; give a directory", a.out.display())));
    }
    let t = train(&a.data, a.kind, &a.out, &config, &device(&a.device)?)?;
    println!(
        "{}: {} on {} columns ({}), {} parameters; {} epochs in {:.1} s, best validation −ln p per event {}\n{}",
        a.data.display(),
        t.model,
        t.columns.len(),
        t.columns.join(", "),
        t.parameters,
        t.epochs_run,
        t.train_seconds,
        t.best_val_nll.map_or("n/a".into(), |v| format!("{v:.4}")),
        a.out.join(super::MODEL_FILE).display()
    );
    Ok(())
}

fn sample_command(a: SampleArgs) -> Result<()> {
    let dev = device(&a.device)?;
    let model = FlowModel::load(&a.model, &dev)?;
    let n = usize::try_from(a.n).map_err(|_| invalid(format!("--n {} is too large", a.n)))?;
    let start = std::time::Instant::now();
    let s = super::sample(&model, n, a.seed, &dev)?;
    let table = Table { n, columns: model.columns.clone(), values: s.values };
    write_with(&a.out, &table, None, &s.density.columns(n))?;
    println!("{n} events from {} in {:.1} s\n{}", model.path.display(), start.elapsed().as_secs_f64(), a.out.display());
    Ok(())
}

/// The number of rows of the file `sample` was read from (an events file may have dropped some).
fn file_rows(sample: &Sample) -> usize {
    match sample {
        Sample::Events(e) => e.n + e.dropped_non_finite,
        other => other.len(),
    }
}

fn density_command(a: DensityArgs) -> Result<()> {
    let dev = device(&a.device)?;
    let model = FlowModel::load(&a.model, &dev)?;
    let sample = read_sample(&a.data, &ReadOptions { kind: Some(a.kind.unwrap_or(model.kind)), ..Default::default() })?;
    let features = crate::features::classifier_inputs(&sample, &Default::default())?;
    let names: Vec<String> = features.columns.iter().map(|c| c.name.clone()).collect();
    if names != model.columns {
        return Err(crate::Error::Mismatch(format!(
            "{} has the features {} but the flow in {} was trained on {}",
            a.data.display(),
            names.join(", "),
            a.model.display(),
            model.columns.join(", ")
        )));
    }
    let density = log_density(&model, &features.values, &dev)?;
    // Row-aligned with the file: a row the reader dropped gets NaN.
    let (len, source) = (file_rows(&sample), sample.source_rows());
    let spread = |v: &[f64], k: usize| {
        let mut out = vec![f64::NAN; len * k];
        for (i, &row) in features.sample_rows.iter().enumerate() {
            let file_row = source[row];
            out[file_row * k..(file_row + 1) * k].copy_from_slice(&v[i * k..(i + 1) * k]);
        }
        out
    };
    let log_p = spread(&density.log_p, 1);
    let draws = density.draws.as_ref().map(|(k, d)| (*k, spread(d, *k)));
    write_density(&a.out, &LogDensity { log_p, draws }, len)?;
    let finite: Vec<f64> = density.log_p.iter().copied().filter(|v| v.is_finite()).collect();
    let mean = finite.iter().sum::<f64>() / finite.len().max(1) as f64;
    println!("{} events, mean ln p {mean:.4}\n{}", features.rows, a.out.display());
    Ok(())
}

/// Writes `log_p` (and `log_p_draws`) to a new HDF5 file, atomically.
fn write_density(path: &Path, d: &LogDensity, rows: usize) -> Result<()> {
    nn::io::write_atomically(path, |tmp| {
        let f = nn::io::create_h5(tmp)?;
        for (name, shape, values) in d.columns(rows) {
            nn::io::write_checked(&f, name, &shape, values)?;
        }
        f.close().map_err(|e| e.to_string())
    })?;
    Ok(())
}
