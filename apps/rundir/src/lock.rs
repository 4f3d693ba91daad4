//! One run at a time per run directory. Two commands writing one directory would interleave
//! their files into a set that belongs to neither, so each takes an exclusive lock on
//! `DIR/.lock` first, and the second fails at once with a message that names the holder.
//!
//! The lock is the operating system's advisory file lock (`File::try_lock`, flock on Linux), not
//! the mere existence of the file. It goes with the process that holds it, so a run that was
//! killed leaves no stale lock, and there is no take-over of a dead holder's lock, whose check
//! and removal two new runs could interleave into both holding it. The file stays (removing it
//! would let a third process lock a new file while a second still waits on the old one); it
//! holds the last holder's process id and start time, for the message.

use nn::io::FileError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// The name of the lock file inside a run directory.
pub const LOCK_FILE: &str = ".lock";

/// An exclusive lock on a run directory, released when dropped (or when the process ends).
#[derive(Debug)]
pub struct RunLock {
    /// Held open: closing the file would release the lock.
    _file: File,
    path: PathBuf,
}

impl RunLock {
    /// Locks `dir` (which must exist) for this process, or fails at once naming the run that
    /// holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock, FileError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| FileError::new(&path, format!("cannot open the run directory's lock file: {e}")))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                file.read_to_string(&mut holder).ok();
                let holder = holder.trim();
                let holder = if holder.is_empty() { "its process is unknown" } else { holder };
                return Err(FileError::new(
                    &path,
                    format!(
                        "{} is in use by another run ({holder}): wait for it to finish, or use another output \
                         directory",
                        dir.display()
                    ),
                ));
            }
            Err(TryLockError::Error(e)) => {
                return Err(FileError::new(&path, format!("cannot lock the run directory: {e}")));
            }
        }
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let holder = format!("pid {} since {since} (seconds since 1970, UTC)\n", std::process::id());
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(holder.as_bytes()))
            .map_err(|e| FileError::new(&path, format!("cannot write the lock's holder: {e}")))?;
        Ok(RunLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_at_once_naming_the_holder_and_a_dropped_one_is_free() {
        let dir = std::env::temp_dir().join(format!("rundir-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let first = RunLock::acquire(&dir).unwrap();
        assert_eq!(first.path(), dir.join(LOCK_FILE));
        let start = std::time::Instant::now();
        let e = RunLock::acquire(&dir).unwrap_err().to_string();
        assert!(start.elapsed().as_secs_f64() < 1.0, "the second lock waited");
        assert!(e.contains("in use by another run") && e.contains(&format!("pid {}", std::process::id())), "{e}");
        drop(first);
        let again = RunLock::acquire(&dir).unwrap();
        drop(again);
        assert!(RunLock::acquire(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lock_file_left_by_a_killed_run_does_not_block() {
        let dir = std::env::temp_dir().join(format!("rundir-lock-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // What a killed holder leaves: the file with its text, but no lock (the OS released it).
        std::fs::write(dir.join(LOCK_FILE), "pid 4194303 since 0\n").unwrap();
        let taken = RunLock::acquire(&dir);
        assert!(taken.is_ok(), "{:?}", taken.err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
