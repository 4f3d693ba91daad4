//! One run at a time per output directory: a run holds `DIR/.lock`, created with `create_new`
//! (so of two runs that start together exactly one gets it) and holding the holder's process id
//! and start time; a second run fails at once and names the holder. The lock is released when
//! the [`RunLock`] is dropped. A lock whose process is gone (a run that was killed) is taken
//! over where the system can tell (Linux's /proc); elsewhere the message says to remove it.

use nn::io::FileError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file's name inside the directory it locks.
pub const LOCK_FILE: &str = ".lock";

/// A held lock on a directory; dropping it releases the lock.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
}

/// Whether process `pid` is known to be gone (false where the system cannot tell).
pub(crate) fn process_gone(pid: u32) -> bool {
    Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
}

/// Whether the process of a lock's text is known to be gone.
fn holder_gone(text: &str) -> bool {
    text.split_whitespace().nth(1).and_then(|p| p.parse::<u32>().ok()).is_some_and(process_gone)
}

impl RunLock {
    /// Locks `dir` (which must exist) for this process, or fails naming the run that holds it.
    pub fn acquire(dir: &Path) -> Result<RunLock, FileError> {
        let path = dir.join(LOCK_FILE);
        for _ in 0..2 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let since =
                        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                    writeln!(f, "pid {} since {since} (seconds since 1970)", std::process::id())
                        .map_err(|e| FileError::new(&path, format!("cannot write the lock: {e}")))?;
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let holder = std::fs::read_to_string(&path).unwrap_or_default();
                    if holder_gone(&holder) {
                        // Its run was killed: the lock protects nothing now.
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    return Err(FileError::new(
                        &path,
                        format!(
                            "{} is in use by another run ({}): wait for it to finish, use another output \
                             directory, or remove this file if that run is gone",
                            dir.display(),
                            holder.trim()
                        ),
                    ));
                }
                Err(e) => return Err(FileError::new(&path, format!("cannot create the lock: {e}"))),
            }
        }
        Err(FileError::new(&path, "cannot take over the lock of a run that is gone: remove this file"))
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_naming_the_holder_until_the_first_is_dropped() {
        let d = std::env::temp_dir().join(format!("rundir-lock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let first = RunLock::acquire(&d).unwrap();
        let e = RunLock::acquire(&d).unwrap_err();
        let pid = std::process::id().to_string();
        assert!(e.to_string().contains("in use") && e.to_string().contains(&pid), "{e}");
        drop(first);
        assert!(!d.join(LOCK_FILE).exists(), "dropping releases the lock");
        let _again = RunLock::acquire(&d).unwrap();
    }

    #[test]
    fn the_lock_of_a_process_that_is_gone_is_taken_over_where_the_system_tells() {
        let d = std::env::temp_dir().join(format!("rundir-lock-stale-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        // Process ids stay below 2^22 on Linux: this one cannot be running.
        std::fs::write(d.join(LOCK_FILE), "pid 4294967 since 0\n").unwrap();
        let taken = RunLock::acquire(&d);
        if Path::new("/proc/self").exists() {
            assert!(taken.is_ok(), "{:?}", taken.err());
        } else {
            assert!(taken.unwrap_err().to_string().contains("remove this file"));
        }
    }
}
