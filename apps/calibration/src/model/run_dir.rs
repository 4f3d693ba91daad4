//! The run directory of `calibration train`, and the three ways a training meets it:
//!
//! - a fresh run goes into a directory that holds no run (it is created when missing);
//! - `--resume` continues the interrupted run in a directory, in place, after checking that its
//!   last checkpoints are whole, are this app's, and were written for the same configuration;
//!   a missing directory, a missing or damaged last.h5, or a finished run is an error that names
//!   the file;
//! - `--restart` trains a directory's run again. The new run is written into a staging
//!   directory beside it ([`rundir::Staging`]) and its files replace the old ones, as one set,
//!   only when it has finished, so a failed or interrupted restart leaves the old run as it was
//!   (an interrupted restart is started again, not resumed).
//!
//! A directory that holds a run is never trained into without one of the two flags, and never
//! by two trainings at once: each holds the directory's lock (`DIR/.lock`) while it runs.

use super::{model_spec, steps, ModelConfig};
use crate::error::{Error, Result};
use nn::train::{BEST, LAST};
use nn::{Adam, Checkpoint, Module};
use rundir::{RunLock, Staging};
use sigmagrad::DType;
use std::path::{Path, PathBuf};

/// The summary a finished run writes last: its presence marks the run as finished.
pub const TRAIN_JSON: &str = "train.json";
/// The files of a run directory (and of each earlier step's subdirectory, `step1/`).
const RUN_FILES: [&str; 6] = [BEST, LAST, "history.csv", "config.toml", TRAIN_JSON, "standardizer.json"];
const STEP_FILES: [&str; 3] = [BEST, LAST, "history.csv"];
/// The entries of a run directory a restart replaces as one set.
const RUN_ENTRIES: [&str; 7] = [BEST, LAST, "history.csv", "config.toml", TRAIN_JSON, "standardizer.json", "step1"];

/// Every file `calibration train --out dir` may write.
pub fn run_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = RUN_FILES.iter().map(|f| dir.join(f)).collect();
    files.extend(STEP_FILES.iter().map(|f| dir.join("step1").join(f)));
    files
}

/// The directory step `step` (0-based) of a training writes into, below the run's `dir`.
pub fn step_dir(dir: &Path, step: usize, config: &ModelConfig) -> PathBuf {
    if step + 1 < steps(config) {
        dir.join(format!("step{}", step + 1))
    } else {
        dir.to_path_buf()
    }
}

/// How a training meets its run directory: `--resume`, `--restart`, or neither (a fresh run).
#[derive(Debug, Clone, Copy, Default)]
pub struct Start {
    pub resume: bool,
    pub restart: bool,
}

/// Where a training writes, and whether its files replace an existing run when it finishes.
/// It holds the run directory's lock (one run at a time); a restart that is dropped without
/// [`RunDir::publish`] (a failed run) removes its staging directory.
#[derive(Debug)]
pub struct RunDir {
    /// The directory the training writes into: the run directory, or the staging directory.
    pub dir: PathBuf,
    staging: Option<Staging>,
    _lock: RunLock,
}

impl RunDir {
    /// Checks the run directory `out` against `start` (see the module docs) and prepares the
    /// directory a training of `config` writes into, with its config.toml; nothing expensive
    /// has run yet.
    pub fn open(out: &Path, config: &ModelConfig, start: Start) -> Result<RunDir> {
        let Start { resume, restart } = start;
        if out.exists() && !out.is_dir() {
            return Err(Error::invalid(format!("--out {} is a file; give a directory for the run", out.display())));
        }
        if resume && restart {
            return Err(Error::invalid("--resume continues a run and --restart replaces it: give one of them"));
        }
        if resume && !out.is_dir() {
            return Err(Error::invalid(format!(
                "--out {}: no such run directory; --resume continues a run that exists (start one without --resume)",
                out.display()
            )));
        }
        std::fs::create_dir_all(out)
            .map_err(|e| Error::invalid(format!("--out {}: cannot create the directory: {e}", out.display())))?;
        let lock = RunLock::acquire(out)?;
        if resume {
            check_resumable(out, config)?;
            return Ok(RunDir { dir: out.to_path_buf(), staging: None, _lock: lock });
        }
        let holds_run = holds_run(out);
        if holds_run && !restart {
            return Err(Error::invalid(format!(
                "{} already holds a training run; pass --resume to continue it, --restart to train it again, \
                 or choose another --out",
                out.display()
            )));
        }
        let staging = if holds_run { Some(Staging::new(out)?) } else { None };
        let dir = staging.as_ref().map_or_else(|| out.to_path_buf(), |s| s.path(""));
        write_text(&dir.join("config.toml"), &config.to_toml()?)?;
        Ok(RunDir { dir, staging, _lock: lock })
    }

    /// Makes a finished run the directory's run: a restart's entries replace the old run's as
    /// one set (the old entries the new run did not write are removed).
    pub fn publish(self) -> Result<()> {
        match self.staging {
            Some(staging) => staging.commit(&RUN_ENTRIES).map_err(Error::from),
            None => Ok(()),
        }
    }
}

/// Whether `out` holds a run (finished or not) of any method.
fn holds_run(out: &Path) -> bool {
    [out.join(LAST), out.join("step1").join(LAST), out.join(BEST), out.join(TRAIN_JSON)].iter().any(|p| p.exists())
}

/// The checks of `--resume`: an unfinished run of this app and configuration, whose last
/// checkpoints are whole.
fn check_resumable(out: &Path, config: &ModelConfig) -> Result<()> {
    let finished = out.join(TRAIN_JSON);
    if finished.exists() {
        return Err(Error::invalid(format!(
            "{}: the run finished ({} is written), so there is nothing to resume and nothing was changed; \
             pass --restart to train it again",
            out.display(),
            finished.display()
        )));
    }
    let lasts: Vec<PathBuf> = (0..steps(config)).map(|s| step_dir(out, s, config).join(LAST)).collect();
    if !lasts.iter().any(|p| p.exists()) {
        return Err(Error::invalid(format!(
            "{}: is missing; --resume needs the last checkpoint of an interrupted run (start a new run without --resume)",
            lasts[0].display()
        )));
    }
    for last in lasts.iter().filter(|p| p.exists()) {
        check_last(last, config)?;
    }
    Ok(())
}

/// A last.h5 that can be resumed with `config`: readable, this app's, with a trainer state, and
/// written for the same method and settings.
fn check_last(path: &Path, config: &ModelConfig) -> Result<()> {
    let head = Checkpoint::read_header(path).map_err(|e| {
        Error::invalid(format!("{}: cannot be resumed from, it is damaged or not a checkpoint ({e})", path.display()))
    })?;
    let meta = |k: &str| head.meta.get(k).map_or("none", String::as_str);
    if meta("app") != "calibration" {
        return Err(Error::invalid(format!(
            "{}: is not a checkpoint of calibration train (its app is {}); --resume continues this app's runs",
            path.display(),
            meta("app")
        )));
    }
    if meta("method") != config.method.name() {
        return Err(Error::invalid(format!(
            "{}: the run trains --model {}, not --model {}; resume with --model {}, or pass --restart",
            path.display(),
            meta("method"),
            config.method.name(),
            meta("method")
        )));
    }
    if head.trainer.is_none() {
        return Err(Error::invalid(format!("{}: holds no training state; it cannot be resumed", path.display())));
    }
    let resolved = config.to_toml()?;
    if meta("config") != resolved {
        let differ = differing_settings(meta("config"), &resolved);
        return Err(Error::invalid(format!(
            "{} was trained with another configuration (settings that differ: {}); resume with the same one, \
             or choose another --out",
            path.display(),
            if differ.is_empty() { "unknown".to_string() } else { differ.join(", ") }
        )));
    }
    // The header can survive a file cut short: read every weight and optimizer moment too.
    let model = model_spec(config).build(DType::F32, &sigmagrad::cpu(), config.training.seed)?;
    let mut optimizer = Adam::new(model.params(), config.training.lr);
    Checkpoint::load(path, model.as_ref(), Some(&mut optimizer))
        .map_err(|e| Error::invalid(format!("{}: cannot be resumed from, it is damaged ({e})", path.display())))?;
    Ok(())
}

/// The dotted keys whose values differ between two TOML documents ("training.epochs").
fn differing_settings(a: &str, b: &str) -> Vec<String> {
    fn flatten(prefix: &str, v: &toml::Value, out: &mut Vec<(String, String)>) {
        match v {
            toml::Value::Table(t) => {
                for (k, v) in t {
                    let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    flatten(&key, v, out);
                }
            }
            other => out.push((prefix.to_string(), other.to_string())),
        }
    }
    let parse = |s: &str| {
        let mut out = Vec::new();
        if let Ok(v) = s.parse::<toml::Table>() {
            flatten("", &toml::Value::Table(v), &mut out);
        }
        out
    };
    let (a, b) = (parse(a), parse(b));
    let mut keys: Vec<String> = a.iter().chain(&b).map(|(k, _)| k.clone()).collect();
    keys.sort();
    keys.dedup();
    let value = |set: &[(String, String)], k: &str| set.iter().find(|(x, _)| x == k).map(|(_, v)| v.clone());
    keys.into_iter().filter(|k| value(&a, k) != value(&b, k)).collect()
}

pub(crate) fn write_text(path: &Path, text: &str) -> Result<()> {
    nn::io::write_atomically(path, |tmp| std::fs::write(tmp, text).map_err(|e| e.to_string())).map_err(Error::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differing_settings_are_named_by_their_dotted_keys() {
        let a = "method = \"bnn\"\n[training]\nepochs = 3\nlr = 0.001\n";
        let b = "method = \"bnn\"\n[training]\nepochs = 4\nlr = 0.001\n";
        assert_eq!(differing_settings(a, b), vec!["training.epochs".to_string()]);
        assert!(differing_settings(a, a).is_empty());
    }
}
