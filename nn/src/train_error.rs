//! [`TrainError`]: why a training run stopped, with the epoch and batch where it did. Every
//! stop leaves the model at the weights of the previous good epoch and the checkpoints on disk
//! as they were, which each message says.

use crate::checkpoint::CheckpointError;
use std::fmt;

/// Why training stopped. `epoch` and `batch` are 0-based indices; the messages count epochs
/// from 1, as the progress lines do, and give the batch's index (nn/tests/training.rs pins
/// both).
#[derive(Debug)]
pub enum TrainError {
    /// A batch loss became NaN or infinite. The model holds the weights of the end of the
    /// previous epoch; the checkpoints on disk are as they were.
    NonFinite {
        epoch: usize,
        batch: usize,
        loss: f64,
    },
    /// A training batch cannot be used: its source failed to make it, or it holds a NaN or an
    /// infinity (a custom [`BatchSource`](crate::data::BatchSource) whose file holds one, or an
    /// f64 value beyond the range of an f32 run). Caught before the step, so nothing has changed.
    Batch {
        epoch: usize,
        batch: usize,
        reason: String,
    },
    /// The validation loss is not a number (a NaN in the validation data, or a broken model).
    NonFiniteValidation {
        epoch: usize,
        loss: f64,
    },
    /// The validation data hold a NaN or an infinity (in validation batch `batch`, counted
    /// from 0), though the validation loss came out finite (a saturating activation hides one).
    ValidationBatch {
        epoch: usize,
        batch: usize,
        reason: String,
    },
    /// The run exploded (see `train::Guard`); `batch` is None when found at the end of the epoch.
    Diverged {
        epoch: usize,
        batch: Option<usize>,
        reason: String,
    },
    Tensor(autodiff::Error),
    Checkpoint(CheckpointError),
}

impl fmt::Display for TrainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kept = "the model holds the weights of the previous epoch and the checkpoints on disk are unchanged";
        match self {
            TrainError::NonFinite { epoch, batch, loss } => write!(
                f,
                "training stopped: the loss is {loss} at epoch {}, batch {batch}; {kept}. Try a smaller learning rate, \
                 check the inputs for outliers, or clamp the head.",
                epoch + 1
            ),
            TrainError::Batch { epoch, batch, reason } => write!(
                f,
                "training stopped at epoch {}, batch {batch}: {reason}; {kept}. Check the data source.",
                epoch + 1
            ),
            TrainError::NonFiniteValidation { epoch, loss } => write!(
                f,
                "training stopped: the validation loss is {loss} after epoch {}; {kept}. Check the validation data \
                 for NaN or infinite values.",
                epoch + 1
            ),
            TrainError::ValidationBatch { epoch, batch, reason } => write!(
                f,
                "training stopped after epoch {}: validation batch {batch}: {reason}; {kept}. Check the validation data.",
                epoch + 1
            ),
            TrainError::Diverged { epoch, batch, reason } => {
                let at = batch.map_or(String::new(), |b| format!(", batch {b}"));
                write!(f, "training stopped: the run diverged at epoch {}{at}: {reason}; {kept}. Try a smaller learning rate.", epoch + 1)
            }
            TrainError::Tensor(e) => write!(f, "training failed: {e}"),
            TrainError::Checkpoint(e) => write!(f, "training failed: {e}"),
        }
    }
}

impl std::error::Error for TrainError {}

impl From<autodiff::Error> for TrainError {
    fn from(e: autodiff::Error) -> Self {
        TrainError::Tensor(e)
    }
}

impl From<CheckpointError> for TrainError {
    fn from(e: CheckpointError) -> Self {
        TrainError::Checkpoint(e)
    }
}
