//! `--data FILE` as a physicist writes it: an HDF5 file, a ROOT file (`ntuple.root`, whose only
//! TTree is read), or a ROOT file and a tree (`ntuple.root:ClusterTree`). The format is told by
//! the file's first bytes, not its name.

use super::layout::Schema;
use super::{hdf5, root, ClusterTable};
use crate::error::{Error, Result};
use nn::io::{check_regular_file, FileError};
use std::io::Read;
use std::path::{Path, PathBuf};

/// A cluster file to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSource {
    pub path: PathBuf,
    /// The TTree of a ROOT file; None reads the only one.
    pub tree: Option<String>,
}

impl DataSource {
    pub fn file(path: impl Into<PathBuf>) -> Self {
        DataSource { path: path.into(), tree: None }
    }

    /// Parses `FILE` or `FILE:TREE`. The text after the last ':' is a tree name only when the
    /// whole argument is not itself an existing file and the text before it is.
    pub fn parse(arg: &str) -> Result<DataSource> {
        if arg.is_empty() {
            return Err(Error::invalid("--data needs a file name (clusters.h5, or ntuple.root[:TreeName])"));
        }
        if !Path::new(arg).exists() {
            if let Some((file, tree)) = arg.rsplit_once(':') {
                if !file.is_empty() && Path::new(file).exists() {
                    if tree.is_empty() {
                        return Err(Error::invalid(format!(
                            "'{arg}': nothing after ':'; write {file}:TreeName, or just {file} for its only tree"
                        )));
                    }
                    return Ok(DataSource { path: file.into(), tree: Some(tree.to_string()) });
                }
            }
        }
        Ok(DataSource::file(arg))
    }

    /// The source as the user wrote it.
    pub fn display(&self) -> String {
        match &self.tree {
            Some(t) => format!("{}:{t}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }
}

/// The formats a cluster file may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Hdf5,
    Root,
}

/// ROOT files start with "root"; anything else is handed to HDF5, whose error for a file that
/// is neither names the file.
pub fn sniff(path: &Path) -> Result<Format> {
    check_regular_file(path)?;
    let mut magic = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut magic))
        .map_err(|e| FileError::new(path, format!("cannot be read: {e}")))?;
    Ok(if n == 4 && &magic == b"root" { Format::Root } else { Format::Hdf5 })
}

pub fn read(source: &DataSource, schema: &Schema) -> Result<ClusterTable> {
    match (sniff(&source.path)?, &source.tree) {
        (Format::Root, tree) => root::read(&source.path, tree.as_deref(), schema),
        (Format::Hdf5, None) => hdf5::read(&source.path, schema),
        (Format::Hdf5, Some(tree)) => Err(FileError::new(
            &source.path,
            format!("is not a ROOT file, so it has no tree '{tree}'; give the file name alone for HDF5"),
        )
        .into()),
    }
}
