//! One error type for the whole app, so that every command ends in a message a physicist can act
//! on: a file problem names the file and the column ([`FileError`]), anything else says which
//! argument or which inputs disagree.

use nn::io::FileError;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A file that cannot be read or written as asked; it names the file and the column.
    File(FileError),
    /// An argument or a combination of inputs that cannot work, said in the study's terms.
    Invalid(String),
}

impl Error {
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::Invalid(msg.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::File(e) => write!(f, "{e}"),
            Error::Invalid(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<FileError> for Error {
    fn from(e: FileError) -> Self {
        Error::File(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

impl From<nn::CheckpointError> for Error {
    fn from(e: nn::CheckpointError) -> Self {
        match e {
            nn::CheckpointError::File(f) => Error::File(f),
            other => Error::Invalid(other.to_string()),
        }
    }
}

impl From<nn::TrainError> for Error {
    fn from(e: nn::TrainError) -> Self {
        match e {
            nn::TrainError::Checkpoint(c) => c.into(),
            other => Error::Invalid(other.to_string()),
        }
    }
}

impl From<sigmagrad::Error> for Error {
    fn from(e: sigmagrad::Error) -> Self {
        Error::Invalid(e.to_string())
    }
}
