//! The `genweights` command line: argument parsing (clap) and thin dispatch to the library.
//! The lead adds `run` and `study` to [`Command`].

use crate::diagnostics;
use crate::error::{invalid, Result};
use crate::features::{self, FeatureOptions};
use crate::io::{read_sample, Kind, ReadOptions};
use crate::toys::{self, Case};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "genweights",
    version,
    about = "Classifier weights that show where a generative network fails (arXiv:2305.16774)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a toy truth/generated pair with exact per-event weights (log_w_true in each file).
    Toy(ToyArgs),
    /// Detect a file's layout and print its events and feature columns.
    Inspect(InspectArgs),
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

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Toy(a) => toy(a),
        Command::Inspect(a) => inspect(a),
    }
}

fn toy(a: ToyArgs) -> Result<()> {
    let n = match a.n {
        Some(n) => usize::try_from(n).map_err(|_| invalid(format!("--n {n} is too large")))?,
        None => a.case.default_events(),
    };
    let bar = progress_bar(2 * n as u64, &format!("toy {}", a.case));
    let toy = toys::generate(a.case, n, a.seed, &bar)?;
    bar.finish_and_clear();
    let files = toys::write(&a.out, &toy)?;
    let (t, g) = (&toy.truth_log_w, &toy.generated_log_w);
    let id = diagnostics::normalisation_identities(t, g)?;
    let show = |i: &diagnostics::Identity, exact: f64| match (i.estimate, i.error) {
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
        diagnostics::auc(t, g)?,
        diagnostics::bce(t, g)?,
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
