//! Independent steps run side by side. A study trains several networks that do not read one
//! another; each training step splits its products over the cores, but at the studies' sizes
//! (batches of 256-1024, layers of 64) a second core gains little inside one step: the hand-off
//! between threads costs about as much as the work it shares (on 2 cores, the quick study's
//! BNN trains no faster on two threads than on one; benches/README.md). Giving each training its own
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

/// How many of `jobs` run at once and how many threads each gets, from the current rayon
/// pool's threads: `lanes` (by default one per thread; at most the jobs and the threads) lanes
/// of `threads / lanes` threads.
pub fn lane_plan(jobs: usize, lanes: Option<usize>) -> (usize, usize) {
    plan(jobs, rayon::current_num_threads(), lanes)
}

fn plan(jobs: usize, threads: usize, lanes: Option<usize>) -> (usize, usize) {
    let threads = threads.max(1);
    let lanes = lanes.unwrap_or(threads).clamp(1, threads).min(jobs.max(1));
    (lanes, threads / lanes)
}

/// One piece of independent work for [`side_by_side`], with its expected cost.
pub struct Task<'a, T, E> {
    /// Any number proportional to the expected run time (only the order matters).
    pub cost: f64,
    pub work: Box<dyn FnOnce() -> Result<T, E> + Send + 'a>,
}

/// Runs every task, `lanes` at a time, each on its own rayon pool of `threads` threads, the
/// costliest first; returns the results in the tasks' order. After a failure no further task
/// starts, and the first error is returned once the running ones end.
pub fn side_by_side<'a, T: Send, E: Send>(
    tasks: Vec<Task<'a, T, E>>,
    (lanes, threads): (usize, usize),
) -> Result<Vec<T>, E> {
    let n = tasks.len();
    let mut queue: Vec<(usize, Task<'a, T, E>)> = tasks.into_iter().enumerate().collect();
    // Costliest first; `pop` takes from the end.
    queue.sort_by(|a, b| a.1.cost.total_cmp(&b.1.cost));
    let shared = Shared { queue: Mutex::new(queue), finished: Mutex::new(Vec::new()), failed: Mutex::new(None) };
    std::thread::scope(|scope| {
        for _ in 0..lanes.clamp(1, n.max(1)) {
            scope.spawn(|| shared.lane(threads));
        }
    });
    if let Some(e) = shared.failed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(e);
    }
    let mut finished = shared.finished.into_inner().unwrap_or_else(|e| e.into_inner());
    finished.sort_by_key(|(i, _)| *i);
    // Every task finished: a lane stops early only after a failure.
    Ok(finished.into_iter().map(|(_, r)| r).collect())
}

struct Shared<'a, T, E> {
    queue: Mutex<Vec<(usize, Task<'a, T, E>)>>,
    finished: Mutex<Vec<(usize, T)>>,
    failed: Mutex<Option<E>>,
}

impl<T: Send, E: Send> Shared<'_, T, E> {
    /// Takes tasks until none is left or one failed.
    fn lane(&self, threads: usize) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
        loop {
            if lock(&self.failed).is_some() {
                return;
            }
            let Some((i, task)) = lock(&self.queue).pop() else { return };
            let outcome = match &pool {
                Ok(pool) => pool.install(task.work),
                // No pool (the system refused a thread): the work runs on this lane's thread,
                // splitting its products over the global pool.
                Err(_) => (task.work)(),
            };
            match outcome {
                Ok(result) => lock(&self.finished).push((i, result)),
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

impl Steps {
    /// Runs every job that [`Steps::run`] would run, side by side ([`side_by_side`]): `lanes`
    /// at a time on `threads` threads each, the longest first. Returns the results in the jobs'
    /// order. Each finished step is recorded at once, so an interrupted run keeps the ones that
    /// finished.
    pub fn run_each<'a, T, E>(&mut self, jobs: Vec<Job<'a, T, E>>, lanes: (usize, usize)) -> Result<Vec<T>, E>
    where
        T: Serialize + DeserializeOwned + Send + 'a,
        E: From<FileError> + Send + 'a,
    {
        let mut results: Vec<Option<T>> = Vec::with_capacity(jobs.len());
        let (dir, quiet, side) = (self.dir().to_path_buf(), self.is_quiet(), lanes.0 > 1);
        let mut tasks = Vec::new();
        let mut ran = Vec::new();
        for (i, job) in jobs.into_iter().enumerate() {
            let reused = self.reuse(&job.name, &job.what, &job.key, &job.outputs);
            if reused.is_none() {
                let (done, total) = self.counts();
                let count = format!("[{done}/{total}]");
                let (name, key, dir) = (job.name.clone(), job.key.clone(), dir.clone());
                ran.push((i, job.name.clone(), job.key.clone()));
                let on = if side { format!(" (alongside others, {} thread(s))", lanes.1) } else { String::new() };
                let what = job.what;
                let work = job.work;
                tasks.push(Task {
                    cost: job.cost,
                    work: Box::new(move || {
                        if !quiet {
                            nn::progress::println(&format!("{count} {what}{on}"));
                        }
                        let start = Instant::now();
                        let result = work()?;
                        let seconds = start.elapsed().as_secs_f64();
                        write_record(&dir, &name, &key, seconds, &result)?;
                        if !quiet {
                            nn::progress::println(&format!("      {count} {name} done in {seconds:.1} s"));
                        }
                        Ok::<_, E>((result, seconds))
                    }),
                });
            }
            results.push(reused);
        }
        for ((i, name, key), (result, seconds)) in ran.into_iter().zip(side_by_side(tasks, lanes)?) {
            self.reports.push(StepReport { name, key, seconds, reused: false });
            results[i] = Some(result);
        }
        Ok(results.into_iter().flatten().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_never_exceed_the_jobs_or_the_threads() {
        assert_eq!(plan(8, 2, None), (2, 1));
        assert_eq!(plan(1, 16, None), (1, 16));
        assert_eq!(plan(4, 16, None), (4, 4));
        assert_eq!(plan(8, 16, Some(1)), (1, 16));
        assert_eq!(plan(0, 0, Some(5)), (1, 1));
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
