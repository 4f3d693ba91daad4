//! Creating HDF5 files without locks, and atomic, durable writes through temporary files.

use super::error::{FileError, FileResult};
use super::seal::unseal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Creates (truncating) an HDF5 file for writing, without HDF5's file locks, as every writer in
/// sigmagrad should (readers open without them too). The locks add nothing to the write-then-rename
/// protocol (no reader ever sees a file being written), and they break as soon as a process is
/// spawned while a file is open: HDF5 opens files without close-on-exec, the child inherits the
/// descriptor and with it the lock, and every open of that file fails with "unable to lock
/// file" until the child exits.
///
/// HDF5 refuses to open one file twice with different locking settings, so every HDF5 file in
/// the project is created, opened and modified through [`create_h5`],
/// [`H5File::open`](super::H5File::open) and [`open_rw_h5`].
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

/// The longest text [`write_text_attr`] writes. HDF5 keeps an attribute of more than 64 KiB
/// in dense attribute storage as a "huge object" that no checksum covers (smaller ones are
/// checksummed with their object header or their fractal-heap block): longer text belongs in
/// a Fletcher32-checked dataset ([`write_checked`](super::write_checked)).
pub const MAX_TEXT_ATTRIBUTE: usize = 60 * 1024;

/// Writes `value` as attribute `name` of `loc`: its UTF-8 bytes as a 1-D array of u8, not as an
/// HDF5 string. A variable-length string lives in HDF5's global heap, which has no checksum and
/// whose damaged length fields crash or hang the library; an array attribute of at most
/// [`MAX_TEXT_ATTRIBUTE`] bytes lives where HDF5's 1.10 format checksums it (the object header,
/// or a block of dense attribute storage). The empty string is an array of length 0. Read back
/// with [`H5File::attr_string`](super::H5File::attr_string).
pub fn write_text_attr(loc: &hdf5::Location, name: &str, value: &str) -> Result<(), String> {
    let bytes = value.as_bytes();
    if bytes.len() > MAX_TEXT_ATTRIBUTE {
        return Err(format!(
            "attribute {name}: {} bytes of text, more than the {MAX_TEXT_ATTRIBUTE} an attribute holds under a checksum",
            bytes.len()
        ));
    }
    loc.new_attr::<u8>()
        .shape([bytes.len()])
        .create(name)
        .and_then(|a| a.write_raw(bytes))
        .map_err(|e| format!("attribute {name}: {e}"))
}
