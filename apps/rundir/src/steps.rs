//! Steps that remember what they made. Each step has a key (a hash of everything its output
//! depends on: its configuration and the keys of the steps it reads) and records, in
//! `DIR/steps/<name>.json`, the key, its result and its wall time. A step whose record has the
//! same key and whose outputs all exist is not run again, so re-running a study after a crash,
//! or after changing only the report, takes seconds; `--fresh` runs everything.
//!
//! A step's work returns the app's own error type `E`; the bookkeeping's own failures (a record
//! that cannot be written) are [`FileError`]s, which every app error converts from.

use nn::io::FileError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A stable 64-bit FNV-1a hash, as 16 hex digits: the key of a configuration's JSON.
/// None when the configuration cannot be written as JSON (a map with non-string keys): a bug in
/// the caller, which should say which step it was keying.
pub fn key_of<T: Serialize>(parts: &T) -> Option<String> {
    let text = serde_json::to_string(parts).ok()?;
    let mut h = stats::Fnv1a::new();
    h.update(text.as_bytes());
    Some(h.hex())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record<T> {
    key: String,
    seconds: f64,
    result: T,
}

/// What happened to a step, for run.json.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub name: String,
    pub key: String,
    /// Wall time when it ran (the recorded time of the original run when it was reused).
    pub seconds: f64,
    pub reused: bool,
}

/// Runs steps in a study directory.
pub struct Steps {
    dir: PathBuf,
    fresh: bool,
    total: usize,
    done: usize,
    pub reports: Vec<StepReport>,
    quiet: bool,
}

impl Steps {
    pub fn new(dir: &Path, fresh: bool, total: usize, quiet: bool) -> Result<Steps, FileError> {
        let records = dir.join("steps");
        std::fs::create_dir_all(&records)
            .map_err(|e| FileError::new(&records, format!("cannot create the directory: {e}")))?;
        Ok(Steps { dir: dir.to_path_buf(), fresh, total, done: 0, reports: Vec::new(), quiet })
    }

    /// Runs `work` unless a record with `key` exists and every path of `outputs` exists; returns
    /// the (recorded or new) result and the step's key, for the keys of later steps.
    pub fn run<T: Serialize + DeserializeOwned, E: From<FileError>>(
        &mut self,
        name: &str,
        what: &str,
        key: &str,
        outputs: &[PathBuf],
        work: impl FnOnce() -> Result<T, E>,
    ) -> Result<T, E> {
        if let Some(result) = self.reuse(name, what, key, outputs) {
            return Ok(result);
        }
        self.say(&format!("[{}/{}] {what}\n", self.done, self.total));
        let start = Instant::now();
        let result = work()?;
        let seconds = start.elapsed().as_secs_f64();
        write_record(&self.dir, name, key, seconds, &result)?;
        self.say(&format!("      done in {seconds:.1} s\n"));
        self.reports.push(StepReport { name: name.into(), key: key.into(), seconds, reused: false });
        Ok(result)
    }

    /// Counts the step; returns its recorded result when the record has `key` and every output
    /// exists (and says so), None when it must run.
    pub(crate) fn reuse<T: DeserializeOwned>(
        &mut self,
        name: &str,
        what: &str,
        key: &str,
        outputs: &[PathBuf],
    ) -> Option<T> {
        self.done += 1;
        if self.fresh || !outputs.iter().all(|p| p.exists()) {
            return None;
        }
        let record = self.dir.join("steps").join(format!("{name}.json"));
        let r = std::fs::read_to_string(&record)
            .ok()
            .and_then(|t| serde_json::from_str::<Record<T>>(&t).ok())
            .filter(|r| r.key == key)?;
        self.say(&format!(
            "[{}/{}] {what}: unchanged, reused ({:.0} s when it ran)\n",
            self.done, self.total, r.seconds
        ));
        self.reports.push(StepReport { name: name.into(), key: key.into(), seconds: r.seconds, reused: true });
        Some(r.result)
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet
    }

    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.done, self.total)
    }

    pub(crate) fn say(&self, s: &str) {
        if !self.quiet {
            eprint!("{s}");
        }
    }
}

/// Writes `DIR/steps/<name>.json`, in one piece (a crash leaves the old record or the new one).
pub(crate) fn write_record<T: Serialize>(
    dir: &Path,
    name: &str,
    key: &str,
    seconds: f64,
    result: &T,
) -> Result<(), FileError> {
    let record = dir.join("steps").join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(&Record { key: key.to_string(), seconds, result })
        .map_err(|e| FileError::new(&record, format!("cannot record step {name}: {e}")))?;
    nn::io::write_atomically(&record, |tmp| std::fs::write(tmp, &text).map_err(|e| e.to_string()))
}

#[cfg(test)]
#[allow(clippy::cloned_ref_to_slice_refs)]
mod tests {
    use super::*;

    #[test]
    fn a_step_is_reused_only_with_the_same_key_and_its_outputs() {
        let dir = std::env::temp_dir().join(format!("calibration-steps-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let out = dir.join("out.txt");
        let runs = std::cell::Cell::new(0);
        let make = || -> Result<u32, FileError> {
            runs.set(runs.get() + 1);
            std::fs::write(&out, "x").unwrap();
            Ok(7)
        };
        let mut steps = Steps::new(&dir, false, 4, true).unwrap();
        assert_eq!(steps.run("a", "a", "k1", &[out.clone()], make).unwrap(), 7);
        assert_eq!(steps.run("a", "a", "k1", &[out.clone()], make).unwrap(), 7);
        assert_eq!(runs.get(), 1, "the same key reuses");
        steps.run("a", "a", "k2", &[out.clone()], make).unwrap();
        assert_eq!(runs.get(), 2, "another key reruns");
        std::fs::remove_file(&out).unwrap();
        steps.run("a", "a", "k2", &[out.clone()], make).unwrap();
        assert_eq!(runs.get(), 3, "a missing output reruns");
        let mut fresh = Steps::new(&dir, true, 1, true).unwrap();
        fresh.run("a", "a", "k2", &[out.clone()], make).unwrap();
        assert_eq!(runs.get(), 4, "--fresh reruns");
        assert_ne!(key_of(&(1, "a")).unwrap(), key_of(&(2, "a")).unwrap());
    }
}
