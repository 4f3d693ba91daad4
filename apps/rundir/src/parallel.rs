//! Independent steps run side by side. A study trains several networks that do not read one
//! another; each training step splits its products over the cores, but at the studies' sizes
//! (batches of 256-1024, layers of 64) a second core gains little inside one step: the hand-off
//! between threads costs about as much as the work it shares (on 2 cores, the quick study's
//! BNN trains no faster on two threads than on one; benches/README.md). Giving each training its own
//! cores instead keeps every core busy with whole steps. A step that reads another's outputs (a
//! prediction reads its network) names it in `after` and starts once it has finished, so the
//! lanes that are not running the longest training do the rest of the study meanwhile.
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
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// One step for [`Steps::run_each`]: what [`Steps::run`] takes, with work that may run on
/// another thread, its expected cost, so that the longest start first, and the earlier jobs
/// whose outputs it reads.
pub struct Job<'a, T, E> {
    pub name: String,
    pub what: String,
    pub key: String,
    pub outputs: Vec<PathBuf>,
    /// Any number proportional to the expected run time (only the order matters).
    pub cost: f64,
    /// Indices of earlier jobs of the same call that must finish before this one starts.
    pub after: Vec<usize>,
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

/// One piece of work for [`side_by_side`], with its expected cost and the earlier tasks it
/// waits for.
pub struct Task<'a, T, E> {
    /// Any number proportional to the expected run time (only the order matters).
    pub cost: f64,
    /// Indices of earlier tasks (smaller than this task's own) that must finish first; naming
    /// only earlier ones is what makes a cycle, and so a lane waiting forever, impossible.
    pub after: Vec<usize>,
    pub work: Box<dyn FnOnce() -> Result<T, E> + Send + 'a>,
}

impl<'a, T, E> Task<'a, T, E> {
    /// A task that waits for nothing.
    pub fn new(cost: f64, work: impl FnOnce() -> Result<T, E> + Send + 'a) -> Self {
        Task { cost, after: Vec::new(), work: Box::new(work) }
    }
}

/// Runs every task, `lanes` at a time, each lane on its own rayon pool of `threads` threads:
/// a free lane takes the costliest task whose `after` tasks have finished, or waits for one to
/// finish. Returns the results in the tasks' order. After a failure no further task starts,
/// and the first error is returned once the running ones end.
///
/// # Panics
/// When a task names itself or a later task in `after` (a bug in the caller's plan).
pub fn side_by_side<'a, T: Send, E: Send>(
    tasks: Vec<Task<'a, T, E>>,
    (lanes, threads): (usize, usize),
) -> Result<Vec<T>, E> {
    let n = tasks.len();
    for (i, task) in tasks.iter().enumerate() {
        assert!(task.after.iter().all(|&j| j < i), "task {i} waits for a task that is not before it");
    }
    let state = State {
        waiting: tasks.into_iter().enumerate().map(|(i, t)| Some((i, t))).collect(),
        done: vec![false; n],
        finished: Vec::new(),
        failed: None,
        panicked: false,
    };
    let shared = Shared { state: Mutex::new(state), changed: Condvar::new() };
    std::thread::scope(|scope| {
        for _ in 0..lanes.clamp(1, n.max(1)) {
            scope.spawn(|| shared.lane(threads));
        }
    });
    let state = shared.state.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(e) = state.failed {
        return Err(e);
    }
    let mut finished = state.finished;
    finished.sort_by_key(|(i, _)| *i);
    // Every task finished: a lane stops early only after a failure.
    Ok(finished.into_iter().map(|(_, r)| r).collect())
}

/// The tasks not started yet (by index; None once taken), which have finished, the results,
/// the first failure, and whether a task panicked.
struct State<'a, T, E> {
    waiting: Vec<Option<(usize, Task<'a, T, E>)>>,
    done: Vec<bool>,
    finished: Vec<(usize, T)>,
    failed: Option<E>,
    panicked: bool,
}

impl<'a, T, E> State<'a, T, E> {
    /// Takes the costliest task whose `after` tasks have all finished.
    fn take_ready(&mut self) -> Option<(usize, Task<'a, T, E>)> {
        let done = &self.done;
        let best = self
            .waiting
            .iter()
            .enumerate()
            .filter_map(|(slot, w)| w.as_ref().map(|(_, t)| (slot, t)))
            .filter(|(_, t)| t.after.iter().all(|&j| done[j]))
            .max_by(|a, b| a.1.cost.total_cmp(&b.1.cost).then(b.0.cmp(&a.0)))
            .map(|(slot, _)| slot)?;
        self.waiting[best].take()
    }

    fn all_taken(&self) -> bool {
        self.waiting.iter().all(Option::is_none)
    }
}

struct Shared<'a, T, E> {
    state: Mutex<State<'a, T, E>>,
    /// Signalled whenever a task ends, so that a waiting lane looks again.
    changed: Condvar,
}

impl<T: Send, E: Send> Shared<'_, T, E> {
    /// Takes ready tasks until none is left or one failed; waits while every remaining task
    /// waits for a running one.
    fn lane(&self, threads: usize) {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build();
        let mut state = lock(&self.state);
        loop {
            if state.failed.is_some() || state.panicked || state.all_taken() {
                return;
            }
            let Some((i, task)) = state.take_ready() else {
                // Tasks only wait for earlier ones, so one that is not ready waits for a task
                // that runs now, and its end will wake this lane.
                state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            };
            drop(state);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &pool {
                Ok(pool) => pool.install(task.work),
                // No pool (the system refused a thread): the work runs on this lane's thread,
                // splitting its products over the global pool.
                Err(_) => (task.work)(),
            }));
            state = lock(&self.state);
            match outcome {
                Ok(Ok(result)) => {
                    state.done[i] = true;
                    state.finished.push((i, result));
                }
                Ok(Err(e)) => {
                    state.failed.get_or_insert(e);
                }
                Err(panic) => {
                    // A lane waiting for this task would wait forever: every lane stops, and
                    // the scope raises the panic again in the caller.
                    state.panicked = true;
                    self.changed.notify_all();
                    drop(state);
                    std::panic::resume_unwind(panic);
                }
            }
            self.changed.notify_all();
        }
    }
}

/// A poisoned lock only means another lane panicked, which the scope re-raises anyway.
fn lock<X>(m: &Mutex<X>) -> std::sync::MutexGuard<'_, X> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Steps {
    /// Runs every job that [`Steps::run`] would run, side by side ([`side_by_side`]): `lanes`
    /// at a time on `threads` threads each, the longest first, each after the jobs it names in
    /// `after` (a reused one counts as finished). Returns the results in the jobs'
    /// order. Each finished step is recorded at once, so an interrupted run keeps the ones that
    /// finished.
    pub fn run_each<'a, T, E>(&mut self, jobs: Vec<Job<'a, T, E>>, lanes: (usize, usize)) -> Result<Vec<T>, E>
    where
        T: Serialize + DeserializeOwned + Send + 'a,
        E: From<FileError> + Send + 'a,
    {
        // Reused jobs first: their outputs exist, so nothing waits for them, and the lanes are
        // only as many as the jobs left to run.
        let mut results: Vec<Option<T>> = Vec::with_capacity(jobs.len());
        let mut counts = Vec::with_capacity(jobs.len());
        for job in &jobs {
            results.push(self.reuse(&job.name, &job.what, &job.key, &job.outputs));
            let (done, total) = self.counts();
            counts.push(format!("[{done}/{total}]"));
        }
        let to_run = results.iter().filter(|r| r.is_none()).count();
        let lanes = plan(to_run, lanes.0 * lanes.1, Some(lanes.0));
        let (dir, quiet) = (self.dir().to_path_buf(), self.is_quiet());
        let on = if lanes.0 > 1 { format!(" (alongside others, {} thread(s))", lanes.1) } else { String::new() };
        let mut tasks = Vec::new();
        let mut ran = Vec::new();
        // Each job's task, None for a reused job.
        let mut task_of: Vec<Option<usize>> = Vec::new();
        for (i, (job, count)) in jobs.into_iter().zip(counts).enumerate() {
            task_of.push(results[i].is_none().then_some(tasks.len()));
            if results[i].is_some() {
                continue;
            }
            let (name, key, dir, on) = (job.name.clone(), job.key.clone(), dir.clone(), on.clone());
            assert!(job.after.iter().all(|&j| j < i), "step {name} waits for a step that is not before it");
            ran.push((i, job.name, job.key));
            let (what, work) = (job.what, job.work);
            tasks.push(Task {
                cost: job.cost,
                after: job.after.iter().filter_map(|&j| task_of[j]).collect(),
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
            after: Vec::new(),
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
        started.sort();
        assert_eq!(started, vec![0, 1, 2, 3]);
        assert!(dir.join("steps/j2.json").exists(), "each finished job is recorded");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_costliest_ready_task_starts_first() {
        // One lane, so that the order of starts is the order of taking (with two, which of the
        // first two tasks notes its start first is up to the threads).
        let started = Mutex::new(Vec::new());
        let tasks = [1.0, 3.0, 0.5, 2.0]
            .into_iter()
            .enumerate()
            .map(|(i, cost)| {
                let started = &started;
                Task::new(cost, move || {
                    started.lock().unwrap().push(i);
                    Ok::<_, ()>(i)
                })
            })
            .collect();
        assert_eq!(side_by_side(tasks, (1, 1)), Ok(vec![0, 1, 2, 3]));
        assert_eq!(started.into_inner().unwrap(), vec![1, 3, 0, 2]);
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

    #[test]
    fn a_job_starts_only_after_the_jobs_it_waits_for() {
        let dir = std::env::temp_dir().join(format!("rundir-lanes-after-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut steps = Steps::new(&dir, false, 4, true).unwrap();
        // "reused" was made by an earlier run: its dependant does not wait for it.
        steps.run_each(vec![job("reused", 0.0, || Ok(5))], (1, 1)).unwrap();
        let log = Mutex::new(Vec::new());
        let note = |what: &'static str, result: u32| {
            log.lock().unwrap().push(what);
            Ok(result)
        };
        // "slow" ends only once "after-reused" has run beside it (or after 10 s, which fails).
        let (beside, ran_beside) = std::sync::mpsc::channel();
        let jobs = vec![
            job("slow", 1.0, move || {
                let waited = ran_beside.recv_timeout(std::time::Duration::from_secs(10));
                note(if waited.is_ok() { "slow ends" } else { "slow timed out" }, 1)
            }),
            job("reused", 0.0, || Ok(5)),
            Job { after: vec![0, 1], ..job("after-slow", 9.0, || note("after-slow runs", 2)) },
            Job {
                after: vec![1],
                ..job("after-reused", 0.5, move || {
                    let result = note("after-reused runs", 3);
                    beside.send(()).unwrap();
                    result
                })
            },
        ];
        let out = steps.run_each(jobs, (2, 1)).unwrap();
        assert_eq!(out, vec![1, 5, 2, 3]);
        // The other lane did not wait for "slow": the job after a reused one ran beside it;
        // "after-slow", the costliest, waited for "slow".
        assert_eq!(log.into_inner().unwrap(), ["after-reused runs", "slow ends", "after-slow runs"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_panicking_task_stops_the_lanes_that_wait_for_it_instead_of_hanging() {
        let (sent, outcome) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let run = std::panic::catch_unwind(|| {
                let tasks = vec![
                    Task::new(2.0, || -> Result<u32, ()> { panic!("a bug in a step") }),
                    Task { after: vec![0], ..Task::new(1.0, || Ok(1)) },
                    Task { after: vec![0], ..Task::new(1.0, || Ok(2)) },
                ];
                side_by_side(tasks, (2, 1))
            });
            let _ = sent.send(run.is_err());
        });
        let panicked = outcome.recv_timeout(std::time::Duration::from_secs(20));
        assert_eq!(panicked, Ok(true), "side_by_side should raise the task's panic, not wait");
    }

    #[test]
    #[should_panic(expected = "not before it")]
    fn a_task_that_waits_for_a_later_one_is_refused() {
        let tasks = vec![Task { after: vec![1], ..Task::new(1.0, || Ok::<_, ()>(0)) }, Task::new(1.0, || Ok(1))];
        let _ = side_by_side(tasks, (1, 1));
    }
}
