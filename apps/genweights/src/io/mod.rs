//! Reading and writing the four sample layouts of the paper's data (docs/genweights-method.md §3):
//! CaloGAN-style showers, JetNet-style jets, pandas DataFrames of events and a plain table. A
//! file's layout is detected from its content; `Kind` forces one. All file access goes through
//! `nn::io`, so every error names the file and the dataset, and every write is atomic.
//!
//! Each layout may carry the toys' exact weights as a root dataset `log_w_true` (N,) f64, row-
//! aligned with the file, ±∞ allowed. The readers of the samples never look at it: only
//! [`read_exact_log_w`] does, for evaluation against truth.

pub mod calo;
pub mod detect;
pub mod exact;
pub mod jets;
pub mod pandas;
pub mod table;
pub mod weights;

pub use calo::Showers;
pub use detect::{detect, Kind};
pub use exact::{read_exact_log_w, EXACT_LOG_W};
pub use jets::Jets;
pub use pandas::{Events, NonFinite};
pub use table::Table;
pub use weights::{write_text, write_weights, WeightColumns};

use crate::error::{Error, Result};
use nn::io::H5File;
use std::path::Path;

/// One sample, in the layout it was read from.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    Showers(Showers),
    Jets(Jets),
    Events(Events),
    Table(Table),
}

impl Sample {
    pub fn kind(&self) -> Kind {
        match self {
            Sample::Showers(_) => Kind::Calo,
            Sample::Jets(_) => Kind::Jets,
            Sample::Events(_) => Kind::Events,
            Sample::Table(_) => Kind::Table,
        }
    }

    /// The number of events (after any dropped rows).
    pub fn len(&self) -> usize {
        match self {
            Sample::Showers(s) => s.n,
            Sample::Jets(j) => j.n,
            Sample::Events(e) => e.n,
            Sample::Table(t) => t.n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// For each event, its row in the file (they differ only where rows were dropped).
    pub fn source_rows(&self) -> Vec<usize> {
        match self {
            Sample::Events(e) => e.source_rows.clone(),
            other => (0..other.len()).collect(),
        }
    }

    /// The per-event shape that truth and generated must share, e.g. `particle_features 30x4,
    /// jet_features 4` or `20 event columns`.
    pub fn event_shape(&self) -> String {
        match self {
            Sample::Showers(_) => "layer_0 3x96, layer_1 12x12, layer_2 12x6".to_string(),
            Sample::Jets(j) => format!("particle_features {}x4, jet_features 4", j.particles_per_jet),
            Sample::Events(_) => format!("{} event columns", pandas::EVENT_COLUMNS),
            Sample::Table(t) => format!("{} features", t.columns.len()),
        }
    }

    /// A one-line description for messages: kind, events and per-event shape.
    pub fn describe(&self) -> String {
        format!("{} with {} events ({})", self.kind(), self.len(), self.event_shape())
    }
}

/// How to read: which layout (None: detect it), and what to do with non-finite event rows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ReadOptions {
    pub kind: Option<Kind>,
    pub events_non_finite: NonFinite,
}

/// Reads one sample file in its detected (or forced) layout.
/// Creates the output directory `--out` names (and its parents), refusing a file there.
pub fn create_out_dir(out: &Path) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(crate::error::invalid(format!("--out {} is a file; give a directory", out.display())));
    }
    std::fs::create_dir_all(out)
        .map_err(|e| crate::error::invalid(format!("--out {}: cannot create the directory: {e}", out.display())))
}

pub fn read_sample(path: &Path, options: &ReadOptions) -> Result<Sample> {
    let file = H5File::open(path)?;
    let kind = match options.kind {
        Some(k) => k,
        None => detect(&file)?,
    };
    Ok(match kind {
        Kind::Calo => Sample::Showers(calo::read(&file)?),
        Kind::Jets => Sample::Jets(jets::read(&file)?),
        Kind::Events => Sample::Events(pandas::read_events(&file, options.events_non_finite)?),
        Kind::Table => Sample::Table(table::read(&file)?),
    })
}

/// Reads a truth file and a generated file and checks that they can be compared: the same
/// layout and the same per-event shape. The refusal names both files and both shapes.
pub fn read_pair(truth: &Path, generated: &Path, options: &ReadOptions) -> Result<(Sample, Sample)> {
    let t = read_sample(truth, options)?;
    let g = read_sample(generated, options)?;
    if t.kind() != g.kind() || t.event_shape() != g.event_shape() {
        return Err(Error::Mismatch(format!(
            "truth and generated samples differ: truth {} is {}, generated {} is {}; give two files of one layout \
             and event shape",
            truth.display(),
            t.describe(),
            generated.display(),
            g.describe()
        )));
    }
    Ok((t, g))
}

/// Writes a sample in its own layout (atomically), with the exact weights when given.
pub fn write_sample(path: &Path, sample: &Sample, exact_log_w: Option<&[f64]>, precision: Precision) -> Result<()> {
    if let Some(w) = exact_log_w {
        if w.len() != sample.len() {
            return Err(crate::error::invalid(format!("{} exact weights for {} events", w.len(), sample.len())));
        }
    }
    match sample {
        Sample::Showers(s) => calo::write(path, s, exact_log_w, precision),
        Sample::Jets(j) => jets::write(path, j, exact_log_w, precision),
        Sample::Events(e) => pandas::write_events(path, e, exact_log_w),
        Sample::Table(t) => table::write(path, t, exact_log_w),
    }
}

/// The float width of the bulk arrays a writer stores (voxels, particle features).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Precision {
    #[default]
    F32,
    F64,
}

/// Writes `values` (row-major, `shape`) with the checksum of `nn::io::write_checked`, as f32 or f64.
pub(crate) fn write_floats(
    group: &hdf5::Group,
    name: &str,
    shape: &[usize],
    values: &[f64],
    precision: Precision,
) -> std::result::Result<(), String> {
    match precision {
        Precision::F64 => nn::io::write_checked(group, name, shape, values),
        Precision::F32 => {
            let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
            nn::io::write_checked(group, name, shape, &v)
        }
    }
}
