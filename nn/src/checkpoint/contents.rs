//! What a checkpoint holds besides its tensors ([`Checkpoint`], and [`LoadedModel`] for a model
//! rebuilt from one), the format's name and version, and [`CheckpointError`].

use crate::io::FileError;
use crate::module::{Module, StreamState};
use crate::spec::ModelSpec;
use crate::standardizer::Standardizer;
use crate::trainer_state::TrainerState;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

pub const FORMAT: &str = "sigmagrad-checkpoint";
/// 4: text attributes as u8 arrays in the checksummed object header, out of HDF5's global heap.
/// 3: sealed files (a checksum of the metadata in the HDF5 user block) in HDF5's 1.10 format.
/// 2: the model description, random streams and trainer state. 1: weights only.
pub const VERSION: u64 = 4;
/// The oldest version still read: its text attributes are variable-length strings in HDF5's
/// global heap (trusted to the seal); saving such a checkpoint again makes it version 4.
pub const OLDEST_READ: u64 = 3;
/// The group that holds, as Fletcher32-checked u8 datasets, the texts of a version-4 checkpoint
/// too long for an attribute ([`crate::io::MAX_TEXT_ATTRIBUTE`]): a long training history, say.
pub const TEXT_GROUP: &str = "text";

#[derive(Debug)]
pub enum CheckpointError {
    /// The file cannot be used: missing, not a regular file, not HDF5, not a sigmagrad
    /// checkpoint, of another format version, or damaged; the message names the file and the
    /// dataset or attribute.
    File(FileError),
    /// The file is a sound checkpoint of another network than the one to load it into.
    Mismatch {
        path: PathBuf,
        msg: String,
    },
    Tensor(autodiff::Error),
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::File(e) => write!(f, "checkpoint {e}"),
            CheckpointError::Mismatch { path, msg } => write!(f, "checkpoint {}: {msg}", path.display()),
            CheckpointError::Tensor(e) => write!(f, "checkpoint: {e}"),
        }
    }
}

impl std::error::Error for CheckpointError {}

impl From<autodiff::Error> for CheckpointError {
    fn from(e: autodiff::Error) -> Self {
        CheckpointError::Tensor(e)
    }
}

impl From<FileError> for CheckpointError {
    fn from(e: FileError) -> Self {
        CheckpointError::File(e)
    }
}

pub(super) type CkResult<T> = std::result::Result<T, CheckpointError>;

/// What a checkpoint holds besides the tensors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpoint {
    /// The model's description; on save, the model's own [`Module::spec`] when this is None.
    pub spec: Option<ModelSpec>,
    pub standardizer: Option<Standardizer>,
    pub meta: BTreeMap<String, String>,
    pub epoch: u64,
    pub optimizer_steps: u64,
    /// The random streams' positions (filled from the model on save, from the file on load).
    pub streams: Vec<StreamState>,
    pub trainer: Option<TrainerState>,
}

/// A model rebuilt from its checkpoint, ready to predict.
pub struct LoadedModel {
    pub model: Box<dyn Module>,
    pub checkpoint: Checkpoint,
}

impl LoadedModel {
    pub fn spec(&self) -> Option<&ModelSpec> {
        self.checkpoint.spec.as_ref()
    }
}
