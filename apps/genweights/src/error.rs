//! The crate's error: a file problem (from `nn::io`, naming the file and the dataset), a pair of
//! files that cannot be compared, or an argument that makes no sense.

use nn::io::FileError;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// A file that cannot be read or written as asked.
    File(FileError),
    /// Truth and generated samples that cannot be compared (different kinds or shapes).
    Mismatch(String),
    /// An argument or input outside what the computation accepts.
    Invalid(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::File(e) => write!(f, "{e}"),
            Error::Mismatch(m) | Error::Invalid(m) => write!(f, "{m}"),
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

/// An [`Error::Invalid`] from anything printable.
pub fn invalid(msg: impl Into<String>) -> Error {
    Error::Invalid(msg.into())
}
