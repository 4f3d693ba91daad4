//! The file rules every sigmagrad reader and writer follows: checkpoints, and the study apps'
//! data, table and prediction files.
//!
//! - **Only regular files are opened.** A named pipe given as a path would block `open` forever,
//!   and a directory or a device gives HDF5 errors that say nothing useful; each is refused with
//!   a message that says what the path is.
//! - **Nothing is allocated from a size the file claims until the file could hold it.** A bit
//!   flip in a dataset's shape turns a few kilobytes into a 256 GiB allocation, which aborts the
//!   process before any Rust error can be returned. [`H5File::read_f64`] compares the shape with
//!   the bytes the dataset really stores (and with the file's own size) first.
//! - **Values are checked as they are read**: only floating-point data is accepted as floats (a
//!   bool or integer dataset is an error, not silently 0/1), never-written datasets are errors,
//!   and [`H5File::read_finite_f64`] refuses NaN and infinities with the count and first index.
//!   Strings must be valid UTF-8 (the hdf5 crate's `as_str` assumes it, which on a damaged byte
//!   is undefined behaviour).
//! - **What HDF5 does not check, the seal does.** Files are written in HDF5's 1.10 format, whose
//!   structures carry checksums, and float datasets with Fletcher32 ([`write_checked`]); what
//!   is left (the global heap of variable-length strings, where a flipped length crashes the
//!   library; sigmagrad's own text goes to u8 arrays instead, [`write_text_attr`]) is covered by
//!   the seal, a checksum of everything but the checked data in the
//!   file's user block ([`seal`]), which [`H5File::open`] verifies before HDF5 reads a byte.
//! - **Writes are atomic and durable.** [`write_atomically`] writes to a unique temporary name in
//!   the target's directory, fsyncs it, renames it into place and fsyncs the directory, so a
//!   reader sees the old file or the new one, never a part; a failed write removes its temporary
//!   file, two writers never delete each other's, and [`remove_stale_temporaries`] clears those
//!   that killed processes left behind.
//!
//! Every error is a [`FileError`] that names the file and, where one is involved, the dataset,
//! column or attribute.
//!
//! The rules live in four files: [`FileError`] and the regular-file check (`error`), reading
//! ([`H5File`], `read`), atomic writes ([`write_atomically`], `write`) and the seal with the
//! checked datasets it works with ([`seal`], `seal`).

mod error;
mod read;
mod seal;
mod write;

pub use error::{check_regular_file, FileError, FileResult};
pub use read::{FloatKind, H5File, NumberKind};
pub use seal::{checked_chunks, create_sealable_h5, reseal, seal, unseal, write_checked};
pub use write::{
    create_h5, open_rw_h5, remove_stale_temporaries, write_atomically, write_text_attr, MAX_TEXT_ATTRIBUTE,
};

#[cfg(test)]
mod tests;
