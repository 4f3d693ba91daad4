//! Synthetic truth/generated pairs with exact per-event weights (docs/genweights-method.md §4).
//!
//! Both samples come from one deterministic, injective map x = Φ(z) of latent variables and
//! differ only in the latents' density (or an acceptance), so the Jacobians cancel and the
//! exact weight is a ratio of latent densities, w(x) = q_T(z)/q_M(z). Each case writes
//! `truth.h5` and `generated.h5` in its layout with the exact `log_w_true` sidecar, and
//! `toy.json` with the constants and formulas. Where the generator misses part of the truth's
//! support the exact weight is +∞ (truth events only); where it produces events truth never
//! has, 0 (log w = −∞, generated events only).
//!
//! The normalisation identities then read E_gen[w] = 1 − P_truth(w = ∞) and
//! E_truth[1/w] = 1 − P_gen(w = 0); `ToyInfo` records both expectations.

pub mod calo;
pub mod events;
pub mod jets;

use crate::error::{invalid, Result};
use crate::io::{write_sample, Kind, Precision, Sample};
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The toy cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Case {
    /// Jets: the generator misses the log-normal mass tail above m_c.
    Tailcut,
    /// Jets: the mass smeared by a log-normal factor (τ = 0.25).
    Smeared,
    /// Jets: the mass shifted by 10 % with a 5 % spread.
    Shifted,
    /// Jets: truth against truth.
    Null,
    /// Showers (A): the last layer's Dirichlet parameter 15 % low.
    LayerFractions,
    /// Showers (B): truth's empty-last-layer mode is missing from the generator.
    MissingMode,
    /// Showers (C): the generator adds noise voxels outside the showers' support.
    Noise,
    /// Showers: truth against truth.
    NullCalo,
    /// Events: a Breit–Wigner M_μμ peak against one smeared by a 1 GeV Gaussian.
    Masspeak,
    /// Events: a Bayesian generator, a mixture of K Breit–Wigners, with its K log densities.
    Binn,
    /// Events: truth against truth.
    NullEvents,
}

impl Case {
    pub const ALL: [Case; 11] = [
        Case::Tailcut,
        Case::Smeared,
        Case::Shifted,
        Case::Null,
        Case::LayerFractions,
        Case::MissingMode,
        Case::Noise,
        Case::NullCalo,
        Case::Masspeak,
        Case::Binn,
        Case::NullEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Case::Tailcut => "tailcut",
            Case::Smeared => "smeared",
            Case::Shifted => "shifted",
            Case::Null => "null",
            Case::LayerFractions => "layer-fractions",
            Case::MissingMode => "missing-mode",
            Case::Noise => "noise",
            Case::NullCalo => "null-calo",
            Case::Masspeak => "masspeak",
            Case::Binn => "binn",
            Case::NullEvents => "null-events",
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            Case::Tailcut | Case::Smeared | Case::Shifted | Case::Null => Kind::Jets,
            Case::LayerFractions | Case::MissingMode | Case::Noise | Case::NullCalo => Kind::Calo,
            Case::Masspeak | Case::Binn | Case::NullEvents => Kind::Events,
        }
    }

    /// The most events per sample a toy generates: both samples are held in memory as f64
    /// (a shower is 504 voxels, a jet 120 numbers).
    pub fn max_events(self) -> usize {
        match self.kind() {
            Kind::Calo => 1_000_000,
            Kind::Jets => 4_000_000,
            _ => 20_000_000,
        }
    }

    /// Events per sample when none is asked for: showers are 504 voxels each, so fewer.
    pub fn default_events(self) -> usize {
        match self.kind() {
            Kind::Calo => 50_000,
            _ => 100_000,
        }
    }
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Case {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Case::ALL.into_iter().find(|c| c.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Case::ALL.iter().map(|c| c.name()).collect();
            format!("unknown toy case '{s}' (one of {})", names.join(", "))
        })
    }
}

/// What a toy is, for `toy.json` and the report: the formula of its exact weight, its
/// constants and the expectations of the identities.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToyInfo {
    pub case: Case,
    pub kind: Kind,
    pub events: usize,
    pub seed: u64,
    pub description: String,
    pub exact_weight: String,
    pub constants: BTreeMap<String, f64>,
    /// The exact E_gen[w] = 1 − P_truth(w = ∞).
    pub expected_gen_mean_w: f64,
    /// The exact E_truth[1/w] = 1 − P_gen(w = 0).
    pub expected_truth_mean_inverse_w: f64,
    /// The plotted observable the distortion is seen in (a column of `features::observables`).
    pub distorted_observable: String,
}

/// A generated toy: both samples and their exact log weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Toy {
    pub info: ToyInfo,
    pub truth: Sample,
    pub generated: Sample,
    pub truth_log_w: Vec<f64>,
    pub generated_log_w: Vec<f64>,
}

/// A reproducible random stream: one per (seed, purpose), so the truth, the generated sample
/// and a model's parameters never share draws.
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// Streams of [`rng`].
pub const TRUTH_STREAM: u64 = 1;
pub const GENERATED_STREAM: u64 = 2;
pub const MODEL_STREAM: u64 = 3;

/// Generates `case` with `events` per sample from `seed`; `progress` counts events of both.
pub fn generate(case: Case, events: usize, seed: u64, progress: &ProgressBar) -> Result<Toy> {
    if events < 2 {
        return Err(invalid(format!("a toy needs at least 2 events per sample, not {events}")));
    }
    if events > case.max_events() {
        return Err(invalid(format!(
            "{case} generates at most {} events per sample (memory), not {events}",
            case.max_events()
        )));
    }
    progress.set_length(2 * events as u64);
    match case.kind() {
        Kind::Jets => jets::generate(case, events, seed, progress),
        Kind::Calo => calo::generate(case, events, seed, progress),
        _ => events::generate(case, events, seed, progress),
    }
}

/// The files a toy is written to.
#[derive(Debug, Clone, PartialEq)]
pub struct ToyFiles {
    pub truth: PathBuf,
    pub generated: PathBuf,
    pub info: PathBuf,
}

/// Writes `DIR/truth.h5`, `DIR/generated.h5` (each with `log_w_true`) and `DIR/toy.json`.
pub fn write(dir: &Path, toy: &Toy) -> Result<ToyFiles> {
    std::fs::create_dir_all(dir)
        .map_err(|e| crate::Error::File(nn::io::FileError::new(dir, format!("cannot create the directory: {e}"))))?;
    let files =
        ToyFiles { truth: dir.join("truth.h5"), generated: dir.join("generated.h5"), info: dir.join("toy.json") };
    write_sample(&files.truth, &toy.truth, Some(&toy.truth_log_w), Precision::F32)?;
    write_sample(&files.generated, &toy.generated, Some(&toy.generated_log_w), Precision::F32)?;
    let json = serde_json::to_string_pretty(&toy.info).map_err(|e| invalid(format!("toy.json: {e}")))?;
    nn::io::write_atomically(&files.info, |tmp| std::fs::write(tmp, json + "\n").map_err(|e| e.to_string()))?;
    Ok(files)
}
