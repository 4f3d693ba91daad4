//! A run's outputs written as one set: everything goes into a fresh sibling of the output
//! directory, and only when all of it is written are the entries moved in, each replacing the
//! entry of the same name. A run that fails (or is killed) before that leaves the output
//! directory as it was: never new weights beside old metrics.
//!
//! The move replaces entry by entry with renames on one file system: the old entries are first
//! moved aside, and moved back if a later rename fails. Entries of the directory that the run
//! does not write (its inputs, say) are left alone. A staging directory that a killed run left
//! behind is removed by the next run into the same directory.

use nn::io::FileError;
use std::path::{Path, PathBuf};

/// A staging directory beside `target`, removed on drop unless committed.
#[derive(Debug)]
pub struct Staging {
    target: PathBuf,
    dir: PathBuf,
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> FileError {
    FileError::new(path, format!("{what}: {e}"))
}

/// `<parent>/.<name>.<tag>-<pid>`: a hidden sibling of `target`.
fn sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target.file_name().map_or("out".into(), |n| n.to_string_lossy().into_owned());
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    parent.join(format!(".{name}.{tag}-{}", std::process::id()))
}

/// Whether process `pid` is known to be gone (false where the system cannot tell, so nothing of
/// a live run is ever removed).
fn process_gone(pid: u32) -> bool {
    Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the staging directories of `target` that killed runs left (their process is gone).
fn remove_abandoned(target: &Path) {
    let name = target.file_name().map_or("out".into(), |n| n.to_string_lossy().into_owned());
    let prefix = format!(".{name}.staging-");
    let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let pid = file_name.strip_prefix(&prefix).and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(process_gone) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Staging {
    /// An empty staging directory for the outputs that will replace entries of `target`.
    pub fn new(target: &Path) -> Result<Staging, FileError> {
        remove_abandoned(target);
        let dir = sibling(target, "staging");
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| io_error(&dir, "cannot clear the staging directory", e))?;
        }
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, "cannot create the staging directory", e))?;
        Ok(Staging { target: target.to_path_buf(), dir })
    }

    /// Where the output `name` is written before the commit.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Moves the staged entries `names` into the target directory, replacing its entries of
    /// those names (and removing those the staging lacks); all or, on failure, none.
    pub fn commit(self, names: &[&str]) -> Result<(), FileError> {
        std::fs::create_dir_all(&self.target).map_err(|e| io_error(&self.target, "cannot create the directory", e))?;
        let aside = sibling(&self.target, "previous");
        if aside.exists() {
            std::fs::remove_dir_all(&aside).map_err(|e| io_error(&aside, "cannot clear", e))?;
        }
        std::fs::create_dir_all(&aside).map_err(|e| io_error(&aside, "cannot create", e))?;
        let mut moved_aside = Vec::new();
        let mut moved_in = Vec::new();
        let result = (|| -> Result<(), FileError> {
            for name in names {
                let old = self.target.join(name);
                if old.symlink_metadata().is_ok() {
                    std::fs::rename(&old, aside.join(name)).map_err(|e| io_error(&old, "cannot move aside", e))?;
                    moved_aside.push(*name);
                }
            }
            for name in names {
                let new = self.dir.join(name);
                if new.symlink_metadata().is_ok() {
                    let dest = self.target.join(name);
                    std::fs::rename(&new, &dest).map_err(|e| io_error(&dest, "cannot move into place", e))?;
                    moved_in.push(*name);
                }
            }
            Ok(())
        })();
        if result.is_err() {
            // Back to the directory as it was: the new entries out, the old ones back.
            for name in &moved_in {
                let _ = std::fs::rename(self.target.join(name), self.dir.join(name));
            }
            for name in &moved_aside {
                let _ = std::fs::rename(aside.join(name), self.target.join(name));
            }
        }
        let _ = std::fs::remove_dir_all(&aside);
        result
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rundir-stage-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d.join("out")
    }

    #[test]
    fn a_committed_set_replaces_the_old_one_and_leaves_other_entries() {
        let out = dir("commit");
        std::fs::create_dir_all(out.join("model")).unwrap();
        std::fs::write(out.join("a.txt"), "old a").unwrap();
        std::fs::write(out.join("model/best.h5"), "old model").unwrap();
        std::fs::write(out.join("input.h5"), "input").unwrap();
        let s = Staging::new(&out).unwrap();
        std::fs::write(s.path("a.txt"), "new a").unwrap();
        std::fs::create_dir_all(s.path("model")).unwrap();
        std::fs::write(s.path("model/last.h5"), "new model").unwrap();
        s.commit(&["a.txt", "model"]).unwrap();
        assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "new a");
        assert!(!out.join("model/best.h5").exists(), "the old model directory is replaced whole");
        assert_eq!(std::fs::read_to_string(out.join("model/last.h5")).unwrap(), "new model");
        assert_eq!(std::fs::read_to_string(out.join("input.h5")).unwrap(), "input");
        let parent = out.parent().unwrap();
        let left: Vec<_> = std::fs::read_dir(parent).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, vec![std::ffi::OsString::from("out")], "no staging or aside directory left");
    }

    #[test]
    fn an_uncommitted_staging_leaves_the_target_as_it_was() {
        let out = dir("drop");
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("a.txt"), "old a").unwrap();
        {
            let s = Staging::new(&out).unwrap();
            std::fs::write(s.path("a.txt"), "new a").unwrap();
        }
        assert_eq!(std::fs::read_to_string(out.join("a.txt")).unwrap(), "old a");
        let left: Vec<_> = std::fs::read_dir(out.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 1, "the staging directory is removed: {left:?}");
    }
}
