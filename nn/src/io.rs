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
//!   library) is covered by the seal, a checksum of everything but the checked data in the
//!   file's user block ([`seal`]), which [`H5File::open`] verifies before HDF5 reads a byte.
//! - **Writes are atomic and durable.** [`write_atomically`] writes to a unique temporary name in
//!   the target's directory, fsyncs it, renames it into place and fsyncs the directory, so a
//!   reader sees the old file or the new one, never a part; a failed write removes its temporary
//!   file, two writers never delete each other's, and [`remove_stale_temporaries`] clears those
//!   that killed processes left behind.
//!
//! Every error is a [`FileError`] that names the file and, where one is involved, the dataset,
//! column or attribute.

use hdf5::types::{FixedAscii, FixedUnicode, FloatSize, TypeDescriptor, VarLenAscii, VarLenUnicode};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// A file that cannot be read or written as asked, with the item (dataset, column, attribute or
/// group) involved where there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct FileError {
    pub path: PathBuf,
    /// What inside the file, e.g. `dataset 'clusterE'` or `attribute 'version'`.
    pub item: Option<String>,
    pub msg: String,
}

impl FileError {
    pub fn new(path: &Path, msg: impl Into<String>) -> Self {
        FileError { path: path.to_path_buf(), item: None, msg: msg.into() }
    }

    /// An error about one item of the file (`what` reads like "dataset 'x'").
    pub fn item(path: &Path, what: impl Into<String>, msg: impl Into<String>) -> Self {
        FileError { path: path.to_path_buf(), item: Some(what.into()), msg: msg.into() }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.item {
            Some(item) => write!(f, "{}: {item}: {}", self.path.display(), self.msg),
            None => write!(f, "{}: {}", self.path.display(), self.msg),
        }
    }
}

impl std::error::Error for FileError {}

pub type FileResult<T> = std::result::Result<T, FileError>;

/// Checks that `path` is a readable regular file (symbolic links are followed) and returns its
/// size in bytes. Refuses directories, named pipes, sockets and devices without opening them.
pub fn check_regular_file(path: &Path) -> FileResult<u64> {
    let meta = std::fs::metadata(path).map_err(|e| FileError::new(path, describe_io(&e)))?;
    if !meta.is_file() {
        return Err(FileError::new(path, format!("is {}, not a regular file", file_kind(&meta))));
    }
    // Opening a regular file never blocks; it reports a permission problem as such.
    std::fs::File::open(path).map_err(|e| FileError::new(path, describe_io(&e)))?;
    Ok(meta.len())
}

fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => format!("permission denied ({e})"),
        _ => e.to_string(),
    }
}

fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    "not a regular file"
}

/// A dataset may claim at most this many bytes per byte the file holds. Compressed float data
/// rarely shrinks below a tenth; 1000 leaves room for long runs of zeros while still refusing a
/// shape whose product a bit flip has multiplied by 2^k.
const MAX_EXPANSION: u64 = 1000;

/// The element type of a floating-point dataset as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatKind {
    F32,
    F64,
}

impl FloatKind {
    pub fn bytes(self) -> u64 {
        match self {
            FloatKind::F32 => 4,
            FloatKind::F64 => 8,
        }
    }
}

/// The element type of a numeric dataset as stored: a float kind, or an integer of so many bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberKind {
    Float(FloatKind),
    Integer(usize),
}

impl NumberKind {
    pub fn bytes(self) -> u64 {
        match self {
            NumberKind::Float(k) => k.bytes(),
            NumberKind::Integer(b) => b as u64,
        }
    }
}

/// An HDF5 file opened for reading under the rules above.
pub struct H5File {
    pub path: PathBuf,
    pub file: hdf5::File,
    size: u64,
}

impl H5File {
    /// Opens `path` read-only: a regular file that HDF5 recognises.
    pub fn open(path: impl AsRef<Path>) -> FileResult<H5File> {
        let path = path.as_ref();
        let size = check_regular_file(path)?;
        // A sealed file is checked before HDF5 parses any of it: HDF5 trusts its own metadata
        // and can crash on a damaged byte (a flipped global-heap header kills the process).
        verify_seal(path, size)?;
        hdf5::silence_errors(true);
        let file = hdf5::File::with_options().with_fapl(|p| p.file_locking(false)).open(path).map_err(|e| {
            FileError::new(path, format!("not a readable HDF5 file (truncated, damaged or another format): {e}"))
        })?;
        Ok(H5File { path: path.to_path_buf(), file, size })
    }

    /// The file's size on disk in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The names of the objects in the root group (or in `group`), sorted.
    pub fn members(&self, group: &str) -> FileResult<Vec<String>> {
        let g = self.group(group)?;
        let mut names = g.member_names().map_err(|e| FileError::item(&self.path, group_name(group), e.to_string()))?;
        names.sort();
        Ok(names)
    }

    /// Whether `name` (a path such as `params/layers.0.weight`) exists.
    pub fn exists(&self, name: &str) -> bool {
        self.file.link_exists(name)
    }

    pub fn group(&self, name: &str) -> FileResult<hdf5::Group> {
        if name.is_empty() || name == "/" {
            return self.file.group("/").map_err(|e| FileError::new(&self.path, e.to_string()));
        }
        if !self.file.link_exists(name) {
            return Err(FileError::item(&self.path, group_name(name), "is missing"));
        }
        self.file.group(name).map_err(|_| FileError::item(&self.path, group_name(name), "is not a group"))
    }

    pub fn dataset(&self, name: &str) -> FileResult<hdf5::Dataset> {
        if !self.file.link_exists(name) {
            return Err(FileError::item(&self.path, dataset_name(name), "is missing"));
        }
        self.file.dataset(name).map_err(|_| FileError::item(&self.path, dataset_name(name), "is not a dataset"))
    }

    /// The shape and float kind of dataset `name`; an error unless it holds f32 or f64.
    pub fn float_shape(&self, name: &str) -> FileResult<(Vec<usize>, FloatKind)> {
        match self.numeric_shape(name)? {
            (shape, NumberKind::Float(kind)) => Ok((shape, kind)),
            (_, NumberKind::Integer(bytes)) => Err(FileError::item(
                &self.path,
                dataset_name(name),
                format!("holds {}-bit integers, expected float32 or float64", 8 * bytes),
            )),
        }
    }

    /// [`float_shape`](Self::float_shape), after checking that the file stores the bytes the
    /// shape claims: a shape that can be trusted to size an allocation.
    pub fn stored_float_shape(&self, name: &str) -> FileResult<(Vec<usize>, FloatKind)> {
        let (shape, kind) = self.float_shape(name)?;
        self.check_stored_size(&self.dataset(name)?, &shape, kind.bytes(), &dataset_name(name))?;
        Ok((shape, kind))
    }

    /// The shape and element kind of dataset `name`; an error unless it holds numbers (floats
    /// or integers; bools, strings and compounds are refused).
    pub fn numeric_shape(&self, name: &str) -> FileResult<(Vec<usize>, NumberKind)> {
        let ds = self.dataset(name)?;
        let what = dataset_name(name);
        let desc = ds
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| FileError::item(&self.path, &what, format!("has an unreadable type ({e})")))?;
        let kind = match desc {
            TypeDescriptor::Float(FloatSize::U4) => NumberKind::Float(FloatKind::F32),
            TypeDescriptor::Float(FloatSize::U8) => NumberKind::Float(FloatKind::F64),
            TypeDescriptor::Integer(s) | TypeDescriptor::Unsigned(s) => NumberKind::Integer(s as usize),
            other => return Err(FileError::item(&self.path, what, format!("holds {other}, expected numbers"))),
        };
        Ok((ds.shape(), kind))
    }

    /// Like [`read_f64`](Self::read_f64) but also accepts integer datasets (a vertex count
    /// written as int32, say), converted exactly up to 2^53.
    pub fn read_numeric_f64(&self, name: &str, expected: Option<&[usize]>) -> FileResult<(Vec<f64>, Vec<usize>)> {
        let (shape, kind) = self.numeric_shape(name)?;
        let what = dataset_name(name);
        if let Some(e) = expected {
            if shape != e {
                return Err(FileError::item(&self.path, what, format!("has shape {shape:?}, expected {e:?}")));
            }
        }
        let ds = self.dataset(name)?;
        self.check_stored_size(&ds, &shape, kind.bytes(), &what)?;
        let values = match kind {
            NumberKind::Float(_) => ds.read_raw::<f64>(),
            NumberKind::Integer(_) => ds.read_raw::<i64>().map(|v| v.into_iter().map(|x| x as f64).collect()),
        }
        .map_err(|e| FileError::item(&self.path, &what, format!("cannot be read (damaged data?): {e}")))?;
        Ok((values, shape))
    }

    /// Reads dataset `name` as f64 (f32 is widened), after checking that it holds floats, that
    /// its shape equals `expected` when one is given, and that the file really stores the bytes
    /// the shape claims. Returns the values in row-major order and the shape.
    pub fn read_f64(&self, name: &str, expected: Option<&[usize]>) -> FileResult<(Vec<f64>, Vec<usize>)> {
        let (shape, kind) = self.float_shape(name)?;
        let what = dataset_name(name);
        if let Some(e) = expected {
            if shape != e {
                return Err(FileError::item(&self.path, what, format!("has shape {shape:?}, expected {e:?}")));
            }
        }
        let ds = self.dataset(name)?;
        self.check_stored_size(&ds, &shape, kind.bytes(), &what)?;
        let values = ds
            .read_raw::<f64>()
            .map_err(|e| FileError::item(&self.path, &what, format!("cannot be read (damaged data?): {e}")))?;
        Ok((values, shape))
    }

    /// [`read_f64`](Self::read_f64), and then an error if any value is NaN or infinite, with the
    /// count and the first offending index.
    pub fn read_finite_f64(&self, name: &str, expected: Option<&[usize]>) -> FileResult<(Vec<f64>, Vec<usize>)> {
        let (values, shape) = self.read_f64(name, expected)?;
        if let Some(first) = values.iter().position(|v| !v.is_finite()) {
            let bad = values.iter().filter(|v| !v.is_finite()).count();
            return Err(FileError::item(
                &self.path,
                dataset_name(name),
                format!(
                    "{bad} of {} values are not finite (the first, at flat index {first}, is {})",
                    values.len(),
                    values[first]
                ),
            ));
        }
        Ok((values, shape))
    }

    /// Reads a 1-D dataset of strings (fixed- or variable-length, ASCII or UTF-8: pandas writes
    /// its column labels as fixed-length byte strings, h5py writes variable-length ones), after
    /// the same stored-size check as the numeric reads. Trailing NUL padding is removed.
    pub fn read_strings(&self, name: &str) -> FileResult<Vec<String>> {
        let ds = self.dataset(name)?;
        let what = dataset_name(name);
        let desc = ds
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| FileError::item(&self.path, &what, format!("has an unreadable type ({e})")))?;
        let shape = ds.shape();
        if shape.len() != 1 {
            return Err(FileError::item(
                &self.path,
                what,
                format!("has shape {shape:?}, expected one axis of strings"),
            ));
        }
        let read_err =
            |e: hdf5::Error| FileError::item(&self.path, &what, format!("cannot be read (damaged data?): {e}"));
        let bytes: Vec<Vec<u8>> = match desc {
            TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n) if n > 4096 => {
                return Err(FileError::item(
                    &self.path,
                    what,
                    format!("holds strings of {n} bytes, more than the 4096 read"),
                ));
            }
            TypeDescriptor::FixedAscii(n) | TypeDescriptor::FixedUnicode(n) => {
                self.check_stored_size(&ds, &shape, n as u64, &what)?;
                // Memory strings only as wide as needed, so a long list of short labels stays small.
                match n {
                    0..=64 => read_fixed::<64>(&ds, &desc),
                    65..=512 => read_fixed::<512>(&ds, &desc),
                    _ => read_fixed::<4096>(&ds, &desc),
                }
                .map_err(read_err)?
            }
            TypeDescriptor::VarLenAscii => {
                self.check_stored_size(&ds, &shape, 16, &what)?;
                ds.read_raw::<VarLenAscii>().map_err(read_err)?.iter().map(|s| s.as_bytes().to_vec()).collect()
            }
            TypeDescriptor::VarLenUnicode => {
                self.check_stored_size(&ds, &shape, 16, &what)?;
                ds.read_raw::<VarLenUnicode>().map_err(read_err)?.iter().map(|s| s.as_bytes().to_vec()).collect()
            }
            other => return Err(FileError::item(&self.path, what, format!("holds {other}, expected strings"))),
        };
        bytes
            .into_iter()
            .enumerate()
            .map(|(i, b)| text(b).map_err(|e| FileError::item(&self.path, &what, format!("string {i} {e}"))))
            .collect()
    }

    /// Refuses a dataset whose shape claims more data than it stores: the check that keeps a
    /// damaged shape from turning into an allocation the process cannot survive.
    fn check_stored_size(&self, ds: &hdf5::Dataset, shape: &[usize], elem: u64, what: &str) -> FileResult<()> {
        let claimed = shape
            .iter()
            .try_fold(elem, |acc, &d| acc.checked_mul(d as u64))
            .ok_or_else(|| FileError::item(&self.path, what, format!("has an impossible shape {shape:?}")))?;
        if claimed == 0 {
            return Ok(());
        }
        let stored = ds.storage_size();
        if stored == 0 {
            return Err(FileError::item(&self.path, what, "was created but never written"));
        }
        let filtered = ds.is_chunked() && !ds.filters().is_empty();
        let too_big = claimed > self.size.max(1).saturating_mul(MAX_EXPANSION);
        // Without filters the stored bytes are the claimed bytes (chunked storage may round up
        // to whole chunks); with filters only the expansion bound applies.
        if too_big || (!filtered && stored < claimed) {
            return Err(FileError::item(
                &self.path,
                what,
                format!(
                    "its shape {shape:?} claims {claimed} bytes but it stores {stored} (file size {}): the file is damaged",
                    self.size
                ),
            ));
        }
        Ok(())
    }

    /// A string attribute of `object` ("" for the root), stored as a variable- or fixed-length,
    /// ASCII or UTF-8 string (h5py, pandas and PyTables write all four).
    pub fn attr_string(&self, object: &str, name: &str) -> FileResult<String> {
        let attr = self.attr(object, name)?;
        let what = attr_name(object, name);
        let desc = attr
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| FileError::item(&self.path, &what, format!("has an unreadable type ({e})")))?;
        let read_err = |e: hdf5::Error| FileError::item(&self.path, &what, format!("cannot be read: {e}"));
        if !attr.is_scalar() {
            return Err(FileError::item(&self.path, &what, format!("has shape {:?}, expected a scalar", attr.shape())));
        }
        let bytes = match desc {
            TypeDescriptor::VarLenUnicode => attr.read_scalar::<VarLenUnicode>().map(|s| s.as_bytes().to_vec()),
            TypeDescriptor::VarLenAscii => attr.read_scalar::<VarLenAscii>().map(|s| s.as_bytes().to_vec()),
            TypeDescriptor::FixedAscii(n) if n <= 4096 => {
                attr.read_scalar::<FixedAscii<4096>>().map(|s| s.as_bytes().to_vec())
            }
            TypeDescriptor::FixedUnicode(n) if n <= 4096 => {
                attr.read_scalar::<FixedUnicode<4096>>().map(|s| s.as_bytes().to_vec())
            }
            other => return Err(FileError::item(&self.path, what, format!("holds {other}, expected a string"))),
        }
        .map_err(read_err)?;
        text(bytes).map_err(|e| FileError::item(&self.path, &what, e))
    }

    /// A non-negative integer attribute: any integer type whose value fits, never a float (2.7
    /// is not an epoch count) and never a negative number.
    pub fn attr_u64(&self, object: &str, name: &str) -> FileResult<u64> {
        let attr = self.attr(object, name)?;
        let what = attr_name(object, name);
        let desc = attr
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| FileError::item(&self.path, &what, format!("has an unreadable type ({e})")))?;
        if !attr.is_scalar() {
            return Err(FileError::item(&self.path, &what, format!("has shape {:?}, expected a scalar", attr.shape())));
        }
        let read_err = |e: hdf5::Error| FileError::item(&self.path, &what, format!("cannot be read: {e}"));
        match desc {
            TypeDescriptor::Unsigned(_) => attr.read_scalar::<u64>().map_err(read_err),
            TypeDescriptor::Integer(_) => {
                let v = attr.read_scalar::<i64>().map_err(read_err)?;
                u64::try_from(v).map_err(|_| FileError::item(&self.path, &what, format!("is {v}, expected >= 0")))
            }
            other => Err(FileError::item(&self.path, what, format!("holds {other}, expected an unsigned integer"))),
        }
    }

    /// A finite floating-point (or integer) scalar attribute.
    pub fn attr_f64(&self, object: &str, name: &str) -> FileResult<f64> {
        let attr = self.attr(object, name)?;
        let what = attr_name(object, name);
        let desc = attr
            .dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| FileError::item(&self.path, &what, format!("has an unreadable type ({e})")))?;
        if !attr.is_scalar() {
            return Err(FileError::item(&self.path, &what, format!("has shape {:?}, expected a scalar", attr.shape())));
        }
        let v = match desc {
            TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => attr
                .read_scalar::<f64>()
                .map_err(|e| FileError::item(&self.path, &what, format!("cannot be read: {e}")))?,
            other => return Err(FileError::item(&self.path, what, format!("holds {other}, expected a number"))),
        };
        if !v.is_finite() {
            return Err(FileError::item(&self.path, what, format!("is {v}, expected a finite number")));
        }
        Ok(v)
    }

    /// Whether `object` ("" for the root) has attribute `name`.
    pub fn has_attr(&self, object: &str, name: &str) -> bool {
        self.location(object).ok().and_then(|l| l.attr_names().ok()).is_some_and(|n| n.iter().any(|a| a == name))
    }

    fn location(&self, object: &str) -> FileResult<hdf5::Location> {
        if object.is_empty() || object == "/" {
            let root: &hdf5::Location = &self.file;
            return Ok(root.clone());
        }
        if !self.file.link_exists(object) {
            return Err(FileError::item(&self.path, format!("'{object}'"), "is missing"));
        }
        if let Ok(d) = self.file.dataset(object) {
            let loc: &hdf5::Location = &d;
            return Ok(loc.clone());
        }
        let g = self.file.group(object).map_err(|e| FileError::item(&self.path, object, e.to_string()))?;
        let loc: &hdf5::Location = &g;
        Ok(loc.clone())
    }

    fn attr(&self, object: &str, name: &str) -> FileResult<hdf5::Attribute> {
        let loc = self.location(object)?;
        if !self.has_attr(object, name) {
            return Err(FileError::item(&self.path, attr_name(object, name), "is missing"));
        }
        loc.attr(name).map_err(|e| FileError::item(&self.path, attr_name(object, name), e.to_string()))
    }
}

/// Reads fixed-length strings into `N`-byte memory strings (HDF5 converts the width), as bytes.
fn read_fixed<const N: usize>(ds: &hdf5::Dataset, desc: &TypeDescriptor) -> hdf5::Result<Vec<Vec<u8>>> {
    Ok(match desc {
        TypeDescriptor::FixedUnicode(_) => {
            ds.read_raw::<FixedUnicode<N>>()?.iter().map(|s| s.as_bytes().to_vec()).collect()
        }
        _ => ds.read_raw::<FixedAscii<N>>()?.iter().map(|s| s.as_bytes().to_vec()).collect(),
    })
}

/// A string read from a file, as text. The hdf5 crate's `as_str` trusts the file to hold UTF-8
/// (it calls `from_utf8_unchecked`), so a damaged byte would make an invalid `str`, which is
/// undefined behaviour; every string is checked here instead. Trailing NUL padding (fixed-length
/// strings from h5py and pandas) is removed.
fn text(mut bytes: Vec<u8>) -> Result<String, String> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    String::from_utf8(bytes).map_err(|e| {
        format!("is not valid UTF-8 text (byte {} is damaged or in another encoding)", e.utf8_error().valid_up_to())
    })
}

fn dataset_name(name: &str) -> String {
    format!("dataset '{}'", name.trim_start_matches('/'))
}

fn group_name(name: &str) -> String {
    format!("group '/{}'", name.trim_start_matches('/'))
}

fn attr_name(object: &str, name: &str) -> String {
    match object.trim_start_matches('/') {
        "" => format!("attribute '{name}'"),
        o => format!("attribute '{name}' of '{o}'"),
    }
}

/// Creates (truncating) an HDF5 file for writing, without HDF5's file locks, as every writer in
/// sigmagrad should (readers open without them too). The locks add nothing to the write-then-rename
/// protocol (no reader ever sees a file being written), and they break as soon as a process is
/// spawned while a file is open: HDF5 opens files without close-on-exec, the child inherits the
/// descriptor and with it the lock, and every open of that file fails with "unable to lock
/// file" until the child exits.
///
/// HDF5 refuses to open one file twice with different locking settings, so every HDF5 file in
/// the project is created, opened and modified through [`create_h5`], [`H5File::open`] and
/// [`open_rw_h5`].
pub fn create_h5(path: impl AsRef<Path>) -> Result<hdf5::File, String> {
    hdf5::File::with_options()
        .with_fapl(|p| p.file_locking(false).libver_v110())
        .create(path.as_ref())
        .map_err(|e| e.to_string())
}

/// Opens an existing HDF5 file for modification, without file locks (see [`create_h5`]). A
/// sealed file is unsealed first ([`unseal`]): once modified it is no longer what was sealed,
/// and its readers judge it by its contents alone.
pub fn open_rw_h5(path: impl AsRef<Path>) -> Result<hdf5::File, String> {
    let path = path.as_ref();
    unseal(path)?;
    hdf5::File::with_options().with_fapl(|p| p.file_locking(false)).open_rw(path).map_err(|e| e.to_string())
}

/// Temporary files are named `.<file name>.<pid>.<sequence>.tmp` beside their target: unique
/// per writer (the pid) and per write (the sequence), so concurrent writers never collide.
fn temporary_name(path: &Path) -> FileResult<PathBuf> {
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| FileError::new(path, "the path has no usable file name"))?;
    let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
    Ok(path.with_file_name(format!(".{name}.{}.{seq}.tmp", std::process::id())))
}

/// Writes `path` atomically: `write` fills a temporary file beside it (its path is passed in),
/// which is then flushed to disk, renamed over `path`, and the directory entry made durable. On
/// any error the temporary file is removed and `path` is left as it was.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<(), String>) -> FileResult<()> {
    let tmp = temporary_name(path)?;
    let result = write(&tmp).and_then(|()| sync_file(&tmp)).and_then(|()| {
        std::fs::rename(&tmp, path).map_err(|e| format!("cannot rename the temporary file into place: {e}"))
    });
    if let Err(msg) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(FileError::new(path, format!("cannot write: {msg}")));
    }
    sync_dir(path);
    Ok(())
}

fn sync_file(path: &Path) -> Result<(), String> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot flush the temporary file to disk: {e}"))
}

/// Makes a rename durable. Best effort: some file systems cannot fsync a directory, and the
/// rename itself has already happened atomically.
fn sync_dir(path: &Path) {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Removes the temporary files that writes of `path` by processes no longer running left behind
/// (a write killed mid-way). Returns how many were removed. A temporary file of a live process
/// is left alone, so this is safe while another process is writing.
pub fn remove_stale_temporaries(path: &Path) -> usize {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else { return 0 };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        let Some(rest) = file.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tmp")) else { continue };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !process_alive(pid) && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.is_dir() {
        proc.join(pid.to_string()).exists()
    } else {
        // Without /proc nothing tells a dead writer from a live one: keep the file.
        true
    }
}

/// Writes a floating-point dataset with HDF5's Fletcher32 checksum, so that a flipped byte in
/// its data is an error on reading rather than a silently different number. The checksum needs
/// chunked storage; the chunk is the whole dataset up to about 4 MiB, then split along the first
/// axis. Empty datasets are stored plainly (HDF5 cannot chunk a zero-length axis).
pub fn write_checked<T: hdf5::H5Type>(
    group: &hdf5::Group,
    name: &str,
    shape: &[usize],
    data: &[T],
) -> Result<(), String> {
    let numel: usize = shape.iter().product();
    if numel != data.len() {
        return Err(format!("dataset {name}: {} values for shape {shape:?}", data.len()));
    }
    let builder = group.new_dataset::<T>().shape(shape);
    let result = match checked_chunk(shape, std::mem::size_of::<T>()) {
        Some(chunk) => builder.chunk(chunk).fletcher32().create(name).and_then(|d| d.write_raw(data)),
        // Empty and scalar datasets cannot be chunked: stored plainly (the seal covers them).
        None => builder.create(name).and_then(|d| d.write_raw(data)),
    };
    result.map_err(|e| format!("dataset {name}: {e}"))
}

/// The chunk [`write_checked`] gives a dataset: the whole dataset up to about 4 MiB, then split
/// along the first axis; None for empty and scalar datasets.
fn checked_chunk(shape: &[usize], elem: usize) -> Option<Vec<usize>> {
    if shape.is_empty() || shape.contains(&0) {
        return None;
    }
    let row: usize = shape.iter().skip(1).product::<usize>().max(1);
    let max_rows = ((1usize << 22) / (row * elem).max(1)).max(1);
    let mut chunk = shape.to_vec();
    chunk[0] = chunk[0].clamp(1, max_rows);
    Some(chunk)
}

/// How many chunks [`write_checked`] writes for a dataset of `shape` with `elem`-byte values:
/// what [`create_sealable_h5`] needs to size its seal.
pub fn checked_chunks(shape: &[usize], elem: usize) -> usize {
    checked_chunk(shape, elem).map_or(0, |c| shape[0].div_ceil(c[0]))
}

// ---------------------------------------------------------------------------------------------
// The seal: a checksum of a file's metadata, kept in the HDF5 user block.
//
// HDF5 checks the data of a Fletcher32 dataset, and (in the 1.10 format) most of its own
// structures, but not all: the global heap that holds variable-length strings has no checksum,
// so a flipped bit there silently changes an attribute's text or, in a length field, crashes
// the library (SIGSEGV) before any error can be returned. A sealed file carries, in the first
// bytes of its user block (which HDF5 reserves for the application and never reads), a 64-bit
// FNV-1a hash of every byte of the file except the Fletcher32-checked data chunks (those are
// checked by HDF5 as they are read, and named in the error), with the list of those chunks and
// the file's length. `H5File::open` verifies the seal before HDF5 sees the file.
//
// Layout (little-endian): magic `sigmagrad-seal\n\0` (16 bytes), seal version u32 (1), chunk
// count u32, file length u64, hash u64, then per chunk (offset u64, length u64), sorted. The
// hash covers the whole file in order with the hash field read as zeros, skipping the chunks.

const SEAL_MAGIC: &[u8; 16] = b"sigmagrad-seal\n\0";
const SEAL_VERSION: u32 = 1;
const SEAL_HEADER: usize = 40;
const HASH_FIELD: std::ops::Range<u64> = 32..40;

/// Creates an HDF5 file like [`create_h5`], with a user block large enough for the seal of
/// `data_chunks` checked chunks (see [`checked_chunks`]); call [`seal`] once it is closed.
pub fn create_sealable_h5(path: impl AsRef<Path>, data_chunks: usize) -> Result<hdf5::File, String> {
    let userblock = (SEAL_HEADER + 16 * data_chunks).next_power_of_two().max(512) as u64;
    hdf5::File::with_options()
        .with_fapl(|p| p.file_locking(false).libver_v110())
        .with_fcpl(|p| p.userblock(userblock))
        .create(path.as_ref())
        .map_err(|e| e.to_string())
}

/// Seals a closed HDF5 file made by [`create_sealable_h5`] (see the section above).
pub fn seal(path: &Path) -> Result<(), String> {
    let (userblock, mut chunks) = {
        let f = hdf5::File::with_options()
            .with_fapl(|p| p.file_locking(false))
            .open(path)
            .map_err(|e| format!("cannot reopen to seal: {e}"))?;
        let userblock = f.userblock();
        let mut chunks = Vec::new();
        // Chunk addresses count from HDF5's base address, the end of the user block.
        checked_chunk_ranges(&f, userblock, &mut chunks).map_err(|e| format!("cannot list the data chunks: {e}"))?;
        f.close().map_err(|e| e.to_string())?;
        (userblock, chunks)
    };
    chunks.sort_unstable();
    let header_len = SEAL_HEADER + 16 * chunks.len();
    if header_len as u64 > userblock {
        return Err(format!("the seal needs {header_len} bytes, the user block holds {userblock}"));
    }
    let len = std::fs::metadata(path).map_err(|e| e.to_string())?.len();
    let mut header = Vec::with_capacity(header_len);
    header.extend_from_slice(SEAL_MAGIC);
    header.extend_from_slice(&SEAL_VERSION.to_le_bytes());
    header.extend_from_slice(&(chunks.len() as u32).to_le_bytes());
    header.extend_from_slice(&len.to_le_bytes());
    header.extend_from_slice(&0u64.to_le_bytes());
    for (at, n) in &chunks {
        header.extend_from_slice(&at.to_le_bytes());
        header.extend_from_slice(&n.to_le_bytes());
    }
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(|e| e.to_string())?;
    f.write_all(&header).map_err(|e| format!("cannot write the seal: {e}"))?;
    let hash = seal_hash(&mut f, len, &chunks).map_err(|e| format!("cannot hash the file: {e}"))?;
    f.seek(SeekFrom::Start(HASH_FIELD.start)).and_then(|_| f.write_all(&hash.to_le_bytes())).map_err(|e| e.to_string())
}

/// Removes the seal of `path`, if it has one (a file deliberately changed with another tool,
/// h5py say, is then read without the check); returns whether there was one.
pub fn unseal(path: &Path) -> Result<bool, String> {
    use std::io::{Read, Write};
    let mut f = std::fs::OpenOptions::new().read(true).write(true).open(path).map_err(|e| describe_io(&e))?;
    let mut magic = [0u8; 16];
    if f.read_exact(&mut magic).is_err() || &magic != SEAL_MAGIC {
        return Ok(false);
    }
    use std::io::Seek;
    f.seek(std::io::SeekFrom::Start(0))
        .and_then(|_| f.write_all(&[0u8; 16]))
        .and_then(|_| f.sync_all())
        .map_err(|e| format!("cannot remove the seal: {e}"))?;
    Ok(true)
}

/// The (file offset, length) of every stored chunk of every Fletcher32 dataset under `group`
/// whose filters were all applied; `base` is the offset of HDF5's address 0.
fn checked_chunk_ranges(group: &hdf5::Group, base: u64, out: &mut Vec<(u64, u64)>) -> hdf5::Result<()> {
    for ds in group.datasets()? {
        if !ds.is_chunked() || !ds.filters().iter().any(|f| matches!(f, hdf5::filters::Filter::Fletcher32)) {
            continue;
        }
        for i in 0..ds.num_chunks().unwrap_or(0) {
            if let Some(c) = ds.chunk_info(i) {
                if c.filter_mask == 0 && c.size > 0 {
                    out.push((c.addr + base, c.size));
                }
            }
        }
    }
    for g in group.groups()? {
        checked_chunk_ranges(&g, base, out)?;
    }
    Ok(())
}

/// FNV-1a (64-bit) of `file`'s first `len` bytes, with the hash field as zeros, without the
/// `skip` ranges (sorted, disjoint). A one-byte change always changes the hash: each step is a
/// bijection of the state for a given byte, and different bytes give different states.
fn seal_hash(file: &mut std::fs::File, len: u64, skip: &[(u64, u64)]) -> std::io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut buf = vec![0u8; 1 << 16];
    let mut at = 0u64;
    let mut next = skip.iter().peekable();
    while at < len {
        if let Some(&&(start, n)) = next.peek() {
            if at >= start {
                at = at.max(start + n);
                next.next();
                continue;
            }
        }
        let end = next.peek().map_or(len, |&&(start, _)| start.min(len));
        let want = ((end - at) as usize).min(buf.len());
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut buf[..want])?;
        for (i, b) in buf[..want].iter().enumerate() {
            let pos = at + i as u64;
            let b = if HASH_FIELD.contains(&pos) { 0 } else { *b };
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
        at += want as u64;
    }
    Ok(h)
}

/// Checks the seal of `path` (of `size` bytes) when it has one; a file without one is left to
/// HDF5 and the readers' own checks.
fn verify_seal(path: &Path, size: u64) -> FileResult<()> {
    use std::io::Read;
    let damaged = |msg: String| FileError::new(path, msg);
    let mut f = std::fs::File::open(path).map_err(|e| FileError::new(path, describe_io(&e)))?;
    let mut head = [0u8; SEAL_HEADER];
    if size < SEAL_HEADER as u64 || f.read_exact(&mut head).is_err() || &head[..16] != SEAL_MAGIC {
        return Ok(());
    }
    let u32_at = |i: usize| u32::from_le_bytes(head[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(head[i..i + 8].try_into().expect("8 bytes"));
    let (version, count, len, hash) = (u32_at(16), u32_at(20) as u64, u64_at(24), u64_at(32));
    if version != SEAL_VERSION {
        return Err(damaged(format!(
            "has a seal of version {version}, this sigmagrad knows {SEAL_VERSION}: damaged, or from a newer release"
        )));
    }
    if len != size {
        return Err(damaged(format!(
            "is {size} bytes but was {len} when it was written: {}, so it is not read further",
            if size < len {
                "truncated (an interrupted copy or download?) or changed after it was saved"
            } else {
                "something was appended, or it was changed after it was saved"
            }
        )));
    }
    let table_end = SEAL_HEADER as u64 + 16 * count;
    if table_end > size {
        return Err(damaged("has a damaged seal (it lists more chunks than the file can hold)".into()));
    }
    let mut table = vec![0u8; 16 * count as usize];
    f.read_exact(&mut table).map_err(|e| FileError::new(path, describe_io(&e)))?;
    let chunks: Vec<(u64, u64)> = table
        .chunks_exact(16)
        .map(|c| {
            let v = |i: usize| u64::from_le_bytes(c[i..i + 8].try_into().expect("8 bytes"));
            (v(0), v(8))
        })
        .collect();
    let mut end = table_end;
    for &(at, n) in &chunks {
        if at < end || at.checked_add(n).is_none_or(|e| e > size) {
            return Err(damaged("has a damaged seal (its list of data chunks is inconsistent)".into()));
        }
        end = at + n;
    }
    let actual = seal_hash(&mut f, size, &chunks).map_err(|e| FileError::new(path, describe_io(&e)))?;
    if actual != hash {
        return Err(damaged(
            "is damaged: its metadata (HDF5's structures and the attributes) does not match the checksum written \
             with it, so it is not read further. Restore it from a copy; if it was changed on purpose with \
             another tool, nn::io::unseal removes the seal."
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("sigmagrad-io-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let d = dir();
        let err = check_regular_file(&d).unwrap_err();
        assert!(err.msg.contains("directory"), "{err}");
        let err = check_regular_file(&d.join("absent.h5")).unwrap_err();
        assert!(err.msg.contains("no such file"), "{err}");
        #[cfg(unix)]
        {
            let fifo = d.join("pipe.h5");
            let _ = std::fs::remove_file(&fifo);
            let status = std::process::Command::new("mkfifo").arg(&fifo).status();
            if status.is_ok_and(|s| s.success()) {
                let err = H5File::open(&fifo).err().unwrap();
                assert!(err.msg.contains("named pipe"), "{err}");
            }
        }
    }

    #[test]
    fn an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary() {
        let d = dir();
        let path = d.join("atomic.txt");
        write_atomically(&path, |tmp| std::fs::write(tmp, "old").map_err(|e| e.to_string())).unwrap();
        let err = write_atomically(&path, |tmp| {
            std::fs::write(tmp, "half").map_err(|e| e.to_string())?;
            Err("disk full".into())
        })
        .unwrap_err();
        assert!(err.msg.contains("disk full"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        let leftovers = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(".atomic.txt."))
            .count();
        assert_eq!(leftovers, 0);
    }

    #[test]
    fn stale_temporaries_of_dead_writers_are_removed_and_live_ones_kept() {
        let d = dir();
        let path = d.join("stale.h5");
        // pid 4194304 is above Linux's pid_max limit, so no process can have it.
        let dead = d.join(".stale.h5.4194304.0.tmp");
        let mine = d.join(format!(".stale.h5.{}.7.tmp", std::process::id()));
        std::fs::write(&dead, "x").unwrap();
        std::fs::write(&mine, "x").unwrap();
        assert_eq!(remove_stale_temporaries(&path), 1);
        assert!(!dead.exists() && mine.exists());
        std::fs::remove_file(mine).unwrap();
    }

    #[test]
    fn checked_datasets_round_trip_and_typed_reads_refuse_other_types() {
        let d = dir();
        let path = d.join("typed.h5");
        let file = create_h5(&path).unwrap();
        write_checked(&file, "w", &[3, 2], &[1.0f64, 2.0, 3.0, 4.0, 5.0, f64::NAN]).unwrap();
        write_checked(&file, "v", &[4], &[1.0f32, 2.0, 3.0, 4.0]).unwrap();
        file.new_dataset::<i32>().shape([2]).create("ints").unwrap().write_raw(&[1, 2]).unwrap();
        file.new_dataset::<f64>().shape([5]).create("unwritten").unwrap();
        file.new_attr::<FixedAscii<8>>()
            .create("fixed")
            .unwrap()
            .write_scalar(&FixedAscii::<8>::from_ascii("abc").unwrap())
            .unwrap();
        file.new_attr::<f64>().create("epoch").unwrap().write_scalar(&2.7).unwrap();
        file.new_attr::<i64>().create("neg").unwrap().write_scalar(&-1).unwrap();
        // close(), not drop: HDF5 keeps a file open (and locked) while any handle into it lives.
        file.close().unwrap();
        let f = H5File::open(&path).unwrap();
        assert_eq!(f.read_f64("v", Some(&[4])).unwrap().0, vec![1.0, 2.0, 3.0, 4.0]);
        assert!(f.dataset("w").unwrap().filters().iter().any(|f| matches!(f, hdf5::filters::Filter::Fletcher32)));
        let e = f.read_finite_f64("w", None).unwrap_err();
        assert!(e.to_string().contains("dataset 'w'") && e.msg.contains("1 of 6"), "{e}");
        let e = f.read_f64("w", Some(&[2, 3])).unwrap_err();
        assert!(e.msg.contains("[3, 2]"), "{e}");
        assert!(f.read_f64("ints", None).unwrap_err().msg.contains("32-bit integers"));
        assert_eq!(f.read_numeric_f64("ints", Some(&[2])).unwrap().0, vec![1.0, 2.0]);
        assert!(f.read_f64("unwritten", None).unwrap_err().msg.contains("never written"));
        assert!(f.read_f64("nothing", None).unwrap_err().msg.contains("missing"));
        assert_eq!(f.attr_string("", "fixed").unwrap(), "abc");
        let e = f.attr_u64("", "epoch").unwrap_err();
        assert!(e.to_string().contains("attribute 'epoch'") && e.msg.contains("float64"), "{e}");
        assert!(f.attr_u64("", "neg").unwrap_err().msg.contains("-1"));
        assert!(f.attr_string("", "absent").unwrap_err().msg.contains("missing"));
    }

    #[test]
    fn a_sealed_file_is_verified_before_hdf5_reads_it() {
        let d = dir();
        let path = d.join("sealed.h5");
        let file = create_sealable_h5(&path, checked_chunks(&[4], 8)).unwrap();
        write_checked(&file, "checked", &[4], &[1.0f64, 2.0, 3.0, 4.0]).unwrap();
        // Contiguous data has no checksum of its own: the seal covers it.
        file.new_dataset::<f64>().shape([2]).create("plain").unwrap().write_raw(&[5.0, 6.0]).unwrap();
        file.close().unwrap();
        seal(&path).unwrap();
        assert_eq!(H5File::open(&path).unwrap().read_f64("plain", None).unwrap().0, vec![5.0, 6.0]);
        let good = std::fs::read(&path).unwrap();
        let plain = good.windows(16).position(|w| w == [5.0f64.to_le_bytes(), 6.0f64.to_le_bytes()].concat()).unwrap();
        let checked = good.windows(8).position(|w| w == 3.0f64.to_le_bytes()).unwrap();
        let flip = |at: usize| {
            let mut b = good.clone();
            b[at] ^= 0x10;
            std::fs::write(&path, b).unwrap();
        };
        flip(plain);
        let e = H5File::open(&path).err().unwrap();
        assert!(e.msg.contains("does not match the checksum"), "{e}");
        // A checked chunk passes the seal; its own checksum names the dataset.
        flip(checked);
        let e = H5File::open(&path).unwrap().read_f64("checked", None).unwrap_err();
        assert!(e.to_string().contains("dataset 'checked'"), "{e}");
        std::fs::write(&path, &good[..good.len() - 1]).unwrap();
        assert!(H5File::open(&path).err().unwrap().msg.contains("truncated"));
        // Unsealed, a changed file is judged by its contents.
        flip(plain);
        assert!(unseal(&path).unwrap());
        assert!(H5File::open(&path).is_ok());
        assert!(!unseal(&path).unwrap());
    }

    #[test]
    fn string_datasets_of_every_width_and_encoding_read_as_strings() {
        let d = dir();
        let path = d.join("strings.h5");
        let file = create_h5(&path).unwrap();
        let fixed: Vec<FixedAscii<6>> =
            ["E_mu1", "px", ""].iter().map(|s| FixedAscii::from_ascii(s).unwrap()).collect();
        file.new_dataset::<FixedAscii<6>>().shape([3]).create("fixed").unwrap().write_raw(&fixed).unwrap();
        let wide: Vec<FixedAscii<100>> = vec![FixedAscii::from_ascii(&"x".repeat(100)).unwrap()];
        file.new_dataset::<FixedAscii<100>>().shape([1]).create("wide").unwrap().write_raw(&wide).unwrap();
        let var: Vec<VarLenUnicode> = ["η_rel", "φ"].iter().map(|s| s.parse().unwrap()).collect();
        file.new_dataset::<VarLenUnicode>().shape([2]).create("var").unwrap().write_raw(&var).unwrap();
        file.new_dataset::<f64>().shape([2]).create("numbers").unwrap().write_raw(&[1.0, 2.0]).unwrap();
        drop(file);
        let f = H5File::open(&path).unwrap();
        assert_eq!(f.read_strings("fixed").unwrap(), vec!["E_mu1", "px", ""]);
        assert_eq!(f.read_strings("wide").unwrap(), vec!["x".repeat(100)]);
        assert_eq!(f.read_strings("var").unwrap(), vec!["η_rel", "φ"]);
        let e = f.read_strings("numbers").unwrap_err();
        assert!(e.to_string().contains("dataset 'numbers'") && e.msg.contains("expected strings"), "{e}");
        assert!(f.read_strings("absent").unwrap_err().msg.contains("missing"));
    }
}
