//! Predictions as a ROOT TTree (`predict --out FILE.root[:TreeName]`), so that an analysis reads
//! them beside its ntuple as a friend tree: one entry per input row, in input order, with the
//! branches
//!
//! | branch | type | meaning |
//! |---|---|---|
//! | `R_pred` | double | predicted response (1 where the cuts removed the cluster) |
//! | `sigma_syst`, `sigma_stat`, `sigma_tot` | double | its uncertainties (NaN where removed) |
//! | `E_calib`, `sigma_E` | double | calibrated energy and its uncertainty, GeV |
//! | `input_index` | ULong64_t | the entry of the cluster in the input tree |
//! | `selected` | UChar_t | 1 where the cluster passed the cuts, else 0 |
//!
//! The writer is `oxyroot`'s (pure Rust), the reader it is checked with is the app's own
//! (`io::root`) and uproot (`tests/fixtures/read_predictions_root.py`). The file is written to a
//! temporary name and renamed into place, as every output of the app is.

use super::predictions::Predictions;
use super::root::guarded;
use crate::error::{Error, Result};
use nn::io::write_atomically;
use oxyroot::{RootFile, WriterTree};
use std::path::{Path, PathBuf};

/// The tree name when `--out` gives none.
pub const DEFAULT_TREE: &str = "predictions";

/// Where `predict --out` writes: an HDF5 prediction file, or a ROOT file and its tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PredictionOutput {
    Hdf5(PathBuf),
    Root { path: PathBuf, tree: String },
}

impl PredictionOutput {
    /// `FILE.root` or `FILE.root:TreeName` is a ROOT output (the extension decides, since the
    /// file does not exist yet); anything else is HDF5.
    pub fn parse(arg: &Path) -> Result<PredictionOutput> {
        let text = arg.to_string_lossy();
        let is_root = |name: &str| name.to_ascii_lowercase().ends_with(".root");
        if let Some((file, tree)) = text.rsplit_once(':') {
            if is_root(file) {
                if tree.is_empty() || tree.contains('/') {
                    return Err(Error::invalid(format!(
                        "--out {text}: '{tree}' is not a tree name; write {file}:TreeName, or {file} for the tree \
                         '{DEFAULT_TREE}'"
                    )));
                }
                return Ok(PredictionOutput::Root { path: file.into(), tree: tree.to_string() });
            }
        }
        if is_root(&text) {
            return Ok(PredictionOutput::Root { path: arg.to_path_buf(), tree: DEFAULT_TREE.into() });
        }
        Ok(PredictionOutput::Hdf5(arg.to_path_buf()))
    }

    /// The file written.
    pub fn path(&self) -> &Path {
        match self {
            PredictionOutput::Hdf5(p) | PredictionOutput::Root { path: p, .. } => p,
        }
    }

    /// Writes `p` (validated first).
    pub fn write(&self, p: &Predictions) -> Result<()> {
        match self {
            PredictionOutput::Hdf5(path) => p.write(path),
            PredictionOutput::Root { path, tree } => write_tree(p, path, tree),
        }
    }
}

/// Writes the predictions as the TTree `tree` of a new ROOT file at `path`.
pub fn write_tree(p: &Predictions, path: &Path, tree: &str) -> Result<()> {
    p.validate(path)?;
    let selected = p.selected.clone().unwrap_or_else(|| vec![1; p.len()]);
    guarded(path, "writing the tree", || {
        write_atomically(path, |tmp| {
            let mut file = RootFile::create(tmp).map_err(|e| format!("cannot create a ROOT file: {e}"))?;
            let mut writer = WriterTree::new(tree);
            for (name, values) in p.columns() {
                // The writer takes an iterator that owns its values ('static): a copy per branch.
                let owned: Vec<f64> = values.to_vec();
                writer.new_branch(name, owned.into_iter());
            }
            writer.new_branch("input_index", p.input_index.clone().into_iter());
            writer.new_branch("selected", selected.into_iter());
            writer.write(&mut file).map_err(|e| format!("tree '{tree}': {e}"))?;
            file.close().map_err(|e| format!("cannot close the ROOT file: {e}"))
        })
    })
}
