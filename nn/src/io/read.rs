//! [`H5File`]: an HDF5 file opened for reading, with typed reads that check shapes, element
//! types and stored sizes before they allocate.

use super::error::{check_regular_file, FileError, FileResult};
use super::seal::verify_seal;
use hdf5::types::{FixedAscii, FixedUnicode, FloatSize, IntSize, TypeDescriptor, VarLenAscii, VarLenUnicode};
use std::path::{Path, PathBuf};

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
        let desc = self.descriptor(&ds, &what)?;
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
        self.read_numbers(name, shape, kind, expected)
    }

    /// Reads dataset `name` as f64 (f32 is widened), after checking that it holds floats, that
    /// its shape equals `expected` when one is given, and that the file really stores the bytes
    /// the shape claims. Returns the values in row-major order and the shape.
    pub fn read_f64(&self, name: &str, expected: Option<&[usize]>) -> FileResult<(Vec<f64>, Vec<usize>)> {
        let (shape, kind) = self.float_shape(name)?;
        self.read_numbers(name, shape, NumberKind::Float(kind), expected)
    }

    /// The checks and the read that [`read_f64`](Self::read_f64) and
    /// [`read_numeric_f64`](Self::read_numeric_f64) share, once the element kind is accepted.
    fn read_numbers(
        &self,
        name: &str,
        shape: Vec<usize>,
        kind: NumberKind,
        expected: Option<&[usize]>,
    ) -> FileResult<(Vec<f64>, Vec<usize>)> {
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
        let desc = self.descriptor(&ds, &what)?;
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

    /// Reads a 1-D u8 dataset as UTF-8 text (checkpoint text too long for an attribute), after
    /// the stored-size check; HDF5 verifies a Fletcher32 checksum as it reads.
    pub fn read_text(&self, name: &str) -> FileResult<String> {
        let ds = self.dataset(name)?;
        let what = dataset_name(name);
        let desc = self.descriptor(&ds, &what)?;
        if desc != TypeDescriptor::Unsigned(IntSize::U1) {
            return Err(FileError::item(&self.path, what, format!("holds {desc}, expected UTF-8 bytes (uint8)")));
        }
        let shape = ds.shape();
        if shape.len() != 1 {
            return Err(FileError::item(&self.path, what, format!("has shape {shape:?}, expected one axis of bytes")));
        }
        self.check_stored_size(&ds, &shape, 1, &what)?;
        let bytes = ds
            .read_raw::<u8>()
            .map_err(|e| FileError::item(&self.path, &what, format!("cannot be read (damaged data?): {e}")))?;
        utf8(bytes).map_err(|e| FileError::item(&self.path, what, e))
    }

    /// The element type of a dataset or attribute; an error naming `what` if HDF5 cannot say.
    fn descriptor(&self, item: &hdf5::Container, what: &str) -> FileResult<TypeDescriptor> {
        item.dtype()
            .and_then(|t| t.to_descriptor())
            .map_err(|e| FileError::item(&self.path, what, format!("has an unreadable type ({e})")))
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

    /// A string attribute of `object` ("" for the root): a 1-D u8 array of UTF-8 bytes (what
    /// sigmagrad writes, [`write_text_attr`](super::write_text_attr)) or a scalar variable- or
    /// fixed-length, ASCII or UTF-8 string (h5py, pandas and PyTables write all four).
    pub fn attr_string(&self, object: &str, name: &str) -> FileResult<String> {
        self.attr_text(object, name, true)
    }

    /// [`attr_string`](Self::attr_string) for files that never store text in HDF5's global heap
    /// (checkpoints of format version 4): a variable-length string is refused by its datatype,
    /// read from the checksummed object header, before its value is read. The value sits in the
    /// global heap, which has no checksum, and a damaged length there crashes or hangs HDF5.
    pub fn attr_string_outside_heap(&self, object: &str, name: &str) -> FileResult<String> {
        self.attr_text(object, name, false)
    }

    fn attr_text(&self, object: &str, name: &str, heap_allowed: bool) -> FileResult<String> {
        let attr = self.attr(object, name)?;
        let what = attr_name(object, name);
        let desc = self.descriptor(&attr, &what)?;
        let read_err = |e: hdf5::Error| FileError::item(&self.path, &what, format!("cannot be read: {e}"));
        if let TypeDescriptor::Unsigned(IntSize::U1) = desc {
            return self.attr_utf8_bytes(&attr, &what);
        }
        let variable = matches!(desc, TypeDescriptor::VarLenUnicode | TypeDescriptor::VarLenAscii);
        if variable && !heap_allowed {
            return Err(FileError::item(
                &self.path,
                what,
                "is a variable-length string, which this file's format never stores (its value would be read \
                 from HDF5's global heap, which has no checksum): damaged or edited by another program, not read",
            ));
        }
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

    /// Text stored as a 1-D u8 array: its length is checked against the file's size before the
    /// bytes are read, and the bytes must be UTF-8 (taken as they are, NULs included).
    fn attr_utf8_bytes(&self, attr: &hdf5::Attribute, what: &str) -> FileResult<String> {
        let shape = attr.shape();
        if shape.len() != 1 {
            return Err(FileError::item(&self.path, what, format!("has shape {shape:?}, expected one axis of bytes")));
        }
        if shape[0] as u64 > self.size {
            return Err(FileError::item(
                &self.path,
                what,
                format!(
                    "claims {} bytes of text, more than the file's {} bytes: the file is damaged",
                    shape[0], self.size
                ),
            ));
        }
        let bytes =
            attr.read_raw::<u8>().map_err(|e| FileError::item(&self.path, what, format!("cannot be read: {e}")))?;
        utf8(bytes).map_err(|e| FileError::item(&self.path, what, e))
    }

    /// A non-negative integer attribute: any integer type whose value fits, never a float (2.7
    /// is not an epoch count) and never a negative number.
    pub fn attr_u64(&self, object: &str, name: &str) -> FileResult<u64> {
        let attr = self.attr(object, name)?;
        let what = attr_name(object, name);
        let desc = self.descriptor(&attr, &what)?;
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
        let desc = self.descriptor(&attr, &what)?;
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
    utf8(bytes)
}

fn utf8(bytes: Vec<u8>) -> Result<String, String> {
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
