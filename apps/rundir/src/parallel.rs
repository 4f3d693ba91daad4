//! Independent steps run side by side. A study trains several networks that do not read one
//! another; each training step splits its products over the cores, but at the studies' sizes
//! (batches of 256-1024, layers of 64) a second core gains little inside one step: the hand-off
//! between threads costs about as much as the work it shares (on 2 cores, the quick study's
//! BNN trains faster on one thread than on two; benches/README.md). Giving each training its own
//! cores instead keeps every core busy with whole steps.
//!
//! The results do not depend on how the cores are shared: every kernel splits its work so that
//! each output element is computed by the same operations in the same order on any number of
//! threads (the test `training_is_bit_identical_on_any_number_of_threads` in nn's tests), so a
//! study run with lanes gives the numbers of a run without them.

use crate::steps::{write_record, StepReport, Steps};
use nn::io::FileError;
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

/// One step for [`Steps::run_each`]: what [`Steps::run`] takes, with work that may run on
/// another thread, and its expected cost, so that the longest start first.
pub struct Job<'a, T, E> {
    pub name: String,
    pub what: String,
    pub key: String,
    pub outputs: Vec<PathBuf>,
    /// Any number proportional to the expected run time (only the order matters).
    pub cost: f64,
    pub work: Box<dyn FnOnce() -> Result<T, E> + Send + 'a>,
}

/// How many steps run at once and how many threads each gets: `lanes` (at most the jobs and
/// the threads) lanes of `threads / lanes` threads.
pub fn lane_plan(jobs: usize, threads: usize, lanes: Option<usize>) -> (usize, usize) {
    let threads = threads.max(1);
    let lanes = lanes.unwrap_or(threads).clamp(1, threads).min(jobs.max(1));
    (lanes, threads / lanes)
}

impl Steps {
    /// Runs every job that [`Steps::run`] would run, `lanes` at a time, each on its own rayon
    /// pool of `threads` threads; the longest (by `cost`) start first. Returns the results in
    /// the jobs' order. Each finished step is recorded at once, so an interrupted run keeps the
    /// ones that finished. After a failure no further job starts; the first error is returned
    /// once the running ones end.
    pub fn run_each<'a, T, E>(
        &mut self,
        jobs: Vec<Job<'a, T, E>>,
        (lanes, threads): (usize, usize),
    ) -> Result<Vec<T>, E>
    where
        T: Serialize + DeserializeOwned + Send,
        E: From<FileError> + Send,
    {
        let mut results: Vec<Option<T>> = Vec::with_capacity(jobs.len());
        let mut queue = Vec::new();
        for (i, job) in jobs.into_iter().enumerate() {
            let reused = self.reuse(&job.name, &job.what, &job.key, &job.outputs);
            if reused.is_none() {
                let (done, total) = self.counts();
                queue.push((i, format!("[{done}/{total}]"), job));
            }
            results.push(reused);
        }
        // Longest first; `pop` takes from the end.
        queue.sort_by(|a, b| a.2.cost.total_cmp(&b.2.cost));
        let lanes = lanes.clamp(1, queue.len().max(1));
        let shared = Shared { queue: Mutex::new(queue), finished: Mutex::new(Vec::new()), failed: Mutex::new(None) };
        let dir = self.dir().to_path_buf();
        let quiet = self.is_quiet();
        std::thread::scope(|scope| {
            for _ in 0..lanes {
                scope.spawn(|| shared.lane(&dir, threads, lanes > 1, quiet));
            }
        });
        if let Some(e) = shared.failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(e);
        }
        for (i, report, result) in shared.finished.into_inner().unwrap_or_else(|e| e.into_inner()) {
            self.reports.push(report);
            results[i] = Some(result);
        }
        // Every job was either reused or finished: a lane stops early only after a failure.
        Ok(results.into_iter().flatten().collect())
    }
}

type Queued<'a, T, E> = (usize, String, Job<'a, T, E>);

struct Shared<'a, T, E> {
    queue: Mutex<Vec<Queued<'a, T, E>>>,
    finished: Mutex<Vec<(usize, StepReport, T)>>,
    failed: Mutex<Option<E>>,
}

impl<T: Serialize + Send, E: From<FileError> + Send> Shared<'_, T, E> {
    /// Takes jobs until none is left or one failed.
    fn lane(&self, dir: &std::path::Path, threads: usize, side_by_side: bool, quiet: bool) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
        loop {
            if lock(&self.failed).is_some() {
                return;
            }
            let Some((i, count, job)) = lock(&self.queue).pop() else { return };
            let on = if side_by_side { format!(" (alongside others, {threads} thread(s))") } else { String::new() };
            if !quiet {
                eprintln!("{count} {}{on}", job.what);
            }
            let start = Instant::now();
            let outcome = match &pool {
                Ok(pool) => pool.install(job.work),
                // No pool (the system refused a thread): the work runs on this lane's thread,
                // splitting its products over the global pool.
                Err(_) => (job.work)(),
            };
            let seconds = start.elapsed().as_secs_f64();
            let outcome =
                outcome.and_then(|r| write_record(dir, &job.name, &job.key, seconds, &r).map(|()| r).map_err(E::from));
            match outcome {
                Ok(result) => {
                    if !quiet {
                        eprintln!("      {count} {} done in {seconds:.1} s", job.name);
                    }
                    let report = StepReport { name: job.name, key: job.key, seconds, reused: false };
                    lock(&self.finished).push((i, report, result));
                }
                Err(e) => {
                    lock(&self.failed).get_or_insert(e);
                    return;
                }
            }
        }
    }
}

/// A poisoned lock only means another lane panicked, which the scope re-raises anyway.
fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_never_exceed_the_jobs_or_the_threads() {
        assert_eq!(lane_plan(8, 2, None), (2, 1));
        assert_eq!(lane_plan(1, 16, None), (1, 16));
        assert_eq!(lane_plan(4, 16, None), (4, 4));
        assert_eq!(lane_plan(8, 16, Some(1)), (1, 16));
        assert_eq!(lane_plan(0, 0, Some(5)), (1, 1));
    }

    fn job<'a>(
        name: &str,
        cost: f64,
        work: impl FnOnce() -> Result<u32, FileError> + Send + 'a,
    ) -> Job<'a, u32, FileError> {
        Job {
            name: name.into(),
            what: name.into(),
            key: format!("key-{name}"),
            outputs: Vec::new(),
            cost,
            work: Box::new(work),
        }
    }

    #[test]
    fn every_job_runs_once_and_results_keep_the_jobs_order() {
        let dir = std::env::temp_dir().join(format!("rundir-lanes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut steps = Steps::new(&dir, false, 4, true).unwrap();
        let started = Mutex::new(Vec::new());
        let jobs = (0..4u32)
            .map(|i| {
                let started = &started;
                job(&format!("j{i}"), f64::from(i), move || {
                    started.lock().unwrap().push(i);
                    Ok(10 * i)
                })
            })
            .collect();
        let out = steps.run_each(jobs, (2, 1)).unwrap();
        assert_eq!(out, vec![0, 10, 20, 30]);
        assert_eq!(steps.reports.len(), 4);
        let mut started = started.into_inner().unwrap();
        assert_eq!(started.first(), Some(&3), "the costliest starts first");
        started.sort();
        assert_eq!(started, vec![0, 1, 2, 3]);
        assert!(dir.join("steps/j2.json").exists(), "each finished job is recorded");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failure_stops_new_jobs_and_keeps_the_finished_ones() {
        let dir = std::env::temp_dir().join(format!("rundir-lanes-fail-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut steps = Steps::new(&dir, false, 3, true).unwrap();
        let ran = Mutex::new(0);
        let jobs = vec![
            job("cheap", 0.0, || {
                *ran.lock().unwrap() += 1;
                Ok(1)
            }),
            job("fails", 2.0, || Err(FileError::new(std::path::Path::new("x.h5"), "broken"))),
            job("first", 3.0, || Ok(3)),
        ];
        let err = steps.run_each(jobs, (1, 1)).unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
        assert_eq!(*ran.lock().unwrap(), 0, "no job starts after a failure");
        assert!(dir.join("steps/first.json").exists(), "the finished job keeps its record");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
