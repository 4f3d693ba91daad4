//! One error type for the whole framework. Every message names the op and the shapes
//! involved, because "shape mismatch" without them sends people to a debugger.

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// Shapes that the op cannot combine.
    Shape { op: &'static str, msg: String },
    /// An axis outside the tensor's rank. `rank` is the number of positions the axis could
    /// name (the tensor's rank, or one more where an axis is inserted).
    Axis { op: &'static str, axis: isize, rank: usize, shape: Vec<usize> },
    /// Two operands of different dtypes, or a dtype the op or device does not support.
    DType { op: &'static str, msg: String },
    /// Operands on different devices. We never copy silently.
    Device { op: &'static str, lhs: String, rhs: String },
    /// An index out of range (index_select, narrow).
    Index { op: &'static str, msg: String },
    /// The backend failed (out of memory, a driver error, no adapter).
    Backend(String),
    /// Anything the user passed that makes no sense (empty input list, bad argument).
    Invalid { op: &'static str, msg: String },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Shape { op, msg } => write!(f, "{op}: shape error: {msg}"),
            Error::Axis { op, axis, rank, shape } => {
                write!(f, "{op}: axis {axis} is out of range for a tensor of shape {shape:?}")?;
                match rank {
                    0 => write!(f, " (it has no axes)"),
                    r => write!(f, " (valid axes: -{r} to {})", r - 1),
                }
            }
            Error::DType { op, msg } => write!(f, "{op}: dtype error: {msg}"),
            Error::Device { op, lhs, rhs } => {
                write!(f, "{op}: operands live on different devices ({lhs} and {rhs}); move one with to_device")
            }
            Error::Index { op, msg } => write!(f, "{op}: index error: {msg}"),
            Error::Backend(msg) => write!(f, "backend error: {msg}"),
            Error::Invalid { op, msg } => write!(f, "{op}: {msg}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Builds a shape error with a formatted message: `shape_err("matmul", format!(...))`.
pub(crate) fn shape_err(op: &'static str, msg: impl Into<String>) -> Error {
    Error::Shape { op, msg: msg.into() }
}
