//! [`FileError`], the one error of every file rule, and the check that a path is a regular file.

use std::fmt;
use std::path::{Path, PathBuf};

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

pub(super) fn describe_io(e: &std::io::Error) -> String {
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
