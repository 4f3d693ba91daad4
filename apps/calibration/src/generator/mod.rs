//! The synthetic topo-cluster generator of docs/calibration-generator.md: realistic features from hidden physics
//! latents, and a target drawn from a known p(R | x), so that the truth (the selected mean,
//! width and median of R for every cluster) is exact.
//!
//! Cluster i of a sample is drawn from its own ChaCha8 stream, keyed by the seed and the sample
//! kind and numbered by i, so any n clusters are the first n of every larger sample with the same
//! seed (the training-size scan relies on it), and the result does not depend on the number of
//! threads.

pub mod cluster;
pub mod params;
pub mod response;
pub mod shapes;
pub mod truth;

use crate::columns::{FEATURES, TARGET};
use crate::error::Result;
use crate::io::ClusterTable;
use cluster::{draw_cluster, Cluster};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Which sample to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// Clusters in jets with Run-2-like pile-up (the nominal sample).
    PileUp,
    /// Single-particle-like: ⟨μ⟩ = 0, N_PV = 1, no pile-up noise, offset or out-of-time
    /// signals, log-uniform seed energies; the sample the LCW-like tables are built from.
    Pu0,
}

/// Which classes to draw: the mixture of the jet sample, or only one (a single-π⁰-like or a
/// single-π±-like file for the two-file LCW form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassChoice {
    Mixed,
    EmOnly,
    HadOnly,
}

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeneratorConfig {
    pub n: usize,
    pub seed: u64,
    pub sample: Sample,
    pub class: ClassChoice,
    /// Where the gap window sits in |η|: `params::GAP_WINDOW` for the study's samples; a
    /// variant moves it so that a test can check that `calibration explain` finds it there.
    pub gap_window: (f64, f64),
}

impl GeneratorConfig {
    pub fn new(n: usize, seed: u64, sample: Sample) -> Self {
        let gap_window = (params::GAP_WINDOW.0, params::GAP_WINDOW.1);
        GeneratorConfig { n, seed, sample, class: ClassChoice::Mixed, gap_window }
    }
}

/// The truth columns, after the 15 features and the target.
pub const TRUTH_COLUMNS: [&str; 16] = [
    "truth_R_mean",
    "truth_R_sd",
    "truth_R_median",
    "truth_P_sel",
    "truth_gap",
    "truth_oot",
    "truth_class",
    "truth_m",
    "truth_s",
    "truth_s_ln",
    "truth_phat",
    "truth_f",
    "truth_Es",
    "truth_n_int",
    "truth_J",
    "truth_tau",
];

impl Cluster {
    /// The truth values in the order of [`TRUTH_COLUMNS`].
    pub fn truth_row(&self) -> [f64; 16] {
        [
            self.truth.mean,
            self.truth.sd,
            self.truth.median,
            self.truth.p_sel,
            self.model.gap,
            self.model.oot,
            if self.is_em { 1.0 } else { 0.0 },
            self.model.median,
            self.model.rel_width,
            self.model.s_ln,
            self.model.p_hat,
            self.em_fraction,
            self.seed_energy,
            self.interactions,
            self.jet_density,
            self.oot_shift,
        ]
    }
}

/// The stream of cluster `index`: the key holds the seed and the sample kind (a PU0 sample and
/// a pile-up sample with the same seed are independent), the stream number is the index.
pub fn cluster_stream(seed: u64, sample: Sample, index: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(b"sgcalib1");
    key[16] = match sample {
        Sample::PileUp => 1,
        Sample::Pu0 => 2,
    };
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(index);
    rng
}

/// Cluster `index` of the sample `config` describes.
pub fn generate_cluster(config: &GeneratorConfig, index: u64) -> Cluster {
    draw_cluster(&mut cluster_stream(config.seed, config.sample, index), config)
}

/// Clusters `0..config.n`, drawn in parallel, in index order.
pub fn generate_clusters(config: &GeneratorConfig, show_progress: bool) -> Vec<Cluster> {
    const CHUNK: usize = 8192;
    let bar = nn::progress::bar_if(show_progress, config.n as u64, "generating clusters");
    let chunks: Vec<Vec<Cluster>> = (0..config.n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let range = c * CHUNK..((c + 1) * CHUNK).min(config.n);
            let len = range.len() as u64;
            let out: Vec<Cluster> = range.map(|i| generate_cluster(config, i as u64)).collect();
            bar.inc(len);
            out
        })
        .collect();
    bar.finish_and_clear();
    chunks.into_iter().flatten().collect()
}

/// About the most memory [`generate`] holds at once for `n` clusters: the clusters (twice, while
/// the parallel chunks are joined), the table's columns and the truth rows. None on overflow.
pub fn peak_bytes(n: usize) -> Option<usize> {
    let per_cluster = 2 * std::mem::size_of::<Cluster>() + (FEATURES.len() + 1 + TRUTH_COLUMNS.len() + 16) * 8;
    n.checked_mul(per_cluster)
}

/// The sample as a table in the file layout: the 15 features, the target, the truth columns.
pub fn generate(config: &GeneratorConfig, show_progress: bool) -> Result<ClusterTable> {
    let clusters = generate_clusters(config, show_progress);
    to_table(&clusters, &format!("generator (seed {}, {:?})", config.seed, config.sample))
}

/// Clusters as a table: one column per feature, the target and each truth value.
pub fn to_table(clusters: &[Cluster], source: &str) -> Result<ClusterTable> {
    let mut table = ClusterTable::new(source);
    for (j, name) in FEATURES.iter().enumerate() {
        table.insert(name, clusters.iter().map(|c| c.features[j]).collect())?;
    }
    table.insert(TARGET, clusters.iter().map(|c| c.e_dep).collect())?;
    let truth: Vec<[f64; 16]> = clusters.iter().map(Cluster::truth_row).collect();
    for (j, name) in TRUTH_COLUMNS.iter().enumerate() {
        table.insert(name, truth.iter().map(|t| t[j]).collect())?;
    }
    Ok(table)
}
