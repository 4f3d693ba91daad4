//! Hostile input: the built `genweights` binary run as a user would run it, under a memory cap
//! (`ulimit -v`) and a time limit, on inputs chosen to break it. Each test asserts that the
//! command fails where it must (or succeeds within the limits where it may), never panics,
//! names the file it complains about, and leaves its inputs as they were.

mod common;
use genweights::io::{write_sample, Precision, Sample, Table};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The address space a run may use: a run that sizes an allocation by a data range fails
/// against it instead of taking the machine down.
const MEMORY_KB: u64 = 4_000_000;
/// Every case here runs on a few hundred events for an epoch or two.
const TIME_LIMIT: Duration = Duration::from_secs(60);
/// A classifier small and short enough for these tiny inputs.
const TINY: [&str; 10] = ["--epochs", "1", "--hidden", "4", "--members", "1", "--batch-size", "16", "--seed", "1"];

/// What a run of the binary did.
struct Outcome {
    code: Option<i32>,
    stderr: String,
}

impl Outcome {
    fn failed(&self) -> bool {
        self.code != Some(0)
    }
}

/// Runs `genweights ARGS` under the memory cap; kills it and fails the test past the limit.
fn genweights(dir: &Path, args: &[&str]) -> Outcome {
    let (out_path, err_path) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_KB}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_genweights"))
        .args(args)
        .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("genweights {args:?} ran past {TIME_LIMIT:?}: {}", read(&err_path));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let o = Outcome { code: status.code(), stderr: read(&err_path) };
    assert!(o.code.is_some(), "genweights {args:?} was killed by a signal ({status}): {}", o.stderr);
    assert!(o.code != Some(101) && !o.stderr.contains("panicked"), "genweights {args:?} panicked: {}", o.stderr);
    o
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `run --truth T --generated G --out OUT` with the tiny classifier and `extra`.
fn run_args<'a>(t: &'a Path, g: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["run", "--truth", s(t), "--generated", s(g), "--out", s(out)];
    a.extend(TINY);
    a.extend(extra);
    a
}

/// A table of `n` rows whose value in column j of row i is `value(i, j)`.
fn table(path: &Path, n: usize, columns: usize, value: impl Fn(usize, usize) -> f64) -> PathBuf {
    let values = (0..n * columns).map(|k| value(k / columns, k % columns)).collect();
    let t = Table { n, columns: (0..columns).map(|j| format!("x{j}")).collect(), values };
    write_sample(path, &Sample::Table(t), None, Precision::F64).unwrap();
    path.to_path_buf()
}

/// The bytes of each file, to show that a command left them alone.
fn snapshot(paths: &[&Path]) -> Vec<(PathBuf, Vec<u8>)> {
    paths.iter().map(|p| (p.to_path_buf(), std::fs::read(p).unwrap())).collect()
}

fn unchanged(before: &[(PathBuf, Vec<u8>)]) {
    for (p, bytes) in before {
        assert!(std::fs::read(p).ok().as_ref() == Some(bytes), "{} was changed", p.display());
    }
}

/// Truth and generated files whose rows are all the same give every event the same ln w (to
/// 1e-14): no histogram, tick or quantile grid may size itself by that range. The run may
/// succeed or refuse, but within the memory cap and the time limit, and without a panic.
#[test]
fn identical_rows_stay_within_memory_and_time() {
    let d = common::dir("hostile-identical");
    let t = table(&d.join("t.h5"), 400, 2, |_, j| 0.25 + j as f64);
    let g = table(&d.join("g.h5"), 400, 2, |_, j| 0.25 + j as f64);
    let before = snapshot(&[&t, &g]);
    let out = d.join("out");
    let o = genweights(&d, &run_args(&t, &g, &out, &[]));
    if o.failed() {
        assert!(o.stderr.contains("t.h5") || o.stderr.contains("g.h5"), "{}", o.stderr);
    } else {
        assert!(out.join("index.html").is_file() && out.join("weights.h5").is_file(), "{}", o.stderr);
    }
    unchanged(&before);
}

/// An input that is one of the run's outputs, or lies inside its model directory, is refused
/// before anything is written, naming the input.
#[test]
fn no_run_writes_over_its_inputs() {
    let d = common::dir("hostile-overwrite");
    let out = d.join("out");
    std::fs::create_dir_all(out.join("model")).unwrap();
    let t = table(&out.join("weights.h5"), 300, 2, |i, j| (i * 7 + j) as f64 % 11.0);
    let inside = table(&out.join("model").join("best.h5"), 300, 2, |i, j| (i * 5 + j) as f64 % 13.0);
    let g = table(&d.join("g.h5"), 300, 2, |i, j| (i * 3 + j) as f64 % 7.0);
    let before = snapshot(&[&t, &inside, &g]);
    for (truth, generated, named) in [(&t, &g, "weights.h5"), (&g, &inside, "best.h5")] {
        let o = genweights(&d, &run_args(truth, generated, &out, &[]));
        assert!(o.failed() && o.stderr.contains(named) && o.stderr.contains("output"), "{}", o.stderr);
        unchanged(&before);
    }
    assert!(!out.join("metrics.json").exists() && !out.join("index.html").exists());
}

/// The files of a finished run's set, with their bytes.
fn run_set(out: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let files = [out.join("weights.h5"), out.join("metrics.json"), out.join("index.html")];
    snapshot(&files.iter().map(|p| p.as_path()).collect::<Vec<_>>())
}

/// A run killed while training leaves the previous run's set as it was (no new weights.h5
/// beside the old metrics.json); its lock and staging directory, whose process is gone, do not
/// block the next run, which clears them.
#[test]
fn a_killed_run_leaves_the_previous_set_and_no_lock() {
    let d = common::dir("hostile-killed");
    let t = table(&d.join("t.h5"), 400, 2, |i, j| ((i * 7 + j) % 11) as f64);
    let g = table(&d.join("g.h5"), 400, 2, |i, j| ((i * 3 + j) % 7) as f64);
    let out = d.join("out");
    assert!(!genweights(&d, &run_args(&t, &g, &out, &[])).failed());
    let before = run_set(&out);
    // The same run for as long as it may take, killed once it is training.
    let mut args = run_args(&t, &g, &out, &[]);
    args[8] = "10000"; // --epochs
    let mut child = Command::new(env!("CARGO_BIN_EXE_genweights")).args(&args).stderr(Stdio::null()).spawn().unwrap();
    let staging = d.join(format!(".out.staging-{}", child.id()));
    let start = Instant::now();
    while !staging.join("model").exists() && start.elapsed() < TIME_LIMIT {
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(start.elapsed() < TIME_LIMIT, "the run never started training");
    unchanged(&before);
    assert!(out.join("model").join("best.h5").is_file(), "the previous model stays");
    let o = genweights(&d, &run_args(&t, &g, &out, &["--lr", "0.01"]));
    assert!(!o.failed(), "the killed run's lock blocks the next one: {}", o.stderr);
    assert!(std::fs::read(out.join("weights.h5")).unwrap() != before[0].1, "the new run replaced the set");
    let left: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert!(left.iter().all(|f| !f.starts_with(".out.")), "the killed run's staging is cleared: {left:?}");
}

/// A second run into a directory that a live run holds fails at once, naming the holder, and
/// writes nothing.
#[test]
fn a_second_run_into_a_held_directory_fails_naming_the_holder() {
    let d = common::dir("hostile-locked");
    let t = table(&d.join("t.h5"), 300, 2, |i, j| ((i * 7 + j) % 11) as f64);
    let g = table(&d.join("g.h5"), 300, 2, |i, j| ((i * 3 + j) % 7) as f64);
    let out = d.join("out");
    std::fs::create_dir_all(&out).unwrap();
    // This test's own process is the live holder.
    let lock = rundir::RunLock::acquire(&out).unwrap();
    let holder = format!("pid {}", std::process::id());
    let o = genweights(&d, &run_args(&t, &g, &out, &[]));
    drop(lock);
    assert!(o.failed() && o.stderr.contains(&holder) && o.stderr.contains("in use"), "{}", o.stderr);
    assert!(!o.stderr.contains("trained"), "it failed before training: {}", o.stderr);
    let left: Vec<_> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from(".lock")], "nothing written");
}

/// Arguments and cheap preconditions are checked before the first expensive step: an unknown
/// observable to plot, a missing test split, a --out that is a file fail before any training or
/// drawing, name the setting, and leave no output behind.
#[test]
fn arguments_are_checked_before_training() {
    let d = common::dir("hostile-arguments");
    let t = table(&d.join("t.h5"), 300, 2, |i, j| ((i * 7 + j) % 11) as f64);
    let g = table(&d.join("g.h5"), 300, 2, |i, j| ((i * 3 + j) % 7) as f64);
    let out = d.join("out");
    for (extra, named) in
        [(&["--plot", "nosuchobs"][..], "nosuchobs"), (&["--test-fraction", "0"][..], "--test-fraction")]
    {
        let o = genweights(&d, &run_args(&t, &g, &out, extra));
        assert!(o.failed() && o.stderr.contains(named), "{}", o.stderr);
        assert!(
            !o.stderr.contains("classifier:") && !out.exists(),
            "{named}: checked after training began: {}",
            o.stderr
        );
    }
    let o = genweights(&d, &run_args(&t, &g, &out, &["--plot", "nosuchobs"]));
    assert!(o.stderr.contains("x0, x1"), "the message lists the observables: {}", o.stderr);
    let file = d.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let o = genweights(&d, &["toy", "--case", "null", "--n", "3000000", "--out", s(&file)]);
    assert!(o.failed() && o.stderr.contains("a-file") && !o.stderr.contains("toy null"), "{}", o.stderr);
    let o = genweights(&d, &["study", "--cases", "null", "--events", "200", "--out", s(&file)]);
    assert!(o.failed() && o.stderr.contains("a-file") && !o.stderr.contains("events per sample"), "{}", o.stderr);
}

/// Settings that run but are probably not meant are warned about, naming the files: pooled
/// training on samples of 70:1, and the same file as truth and generated.
#[test]
fn pooled_imbalance_and_one_file_as_both_samples_are_warned_about() {
    let d = common::dir("hostile-warnings");
    let t = table(&d.join("big.h5"), 5600, 2, |i, j| ((i * 7 + j) % 11) as f64);
    let g = table(&d.join("small.h5"), 80, 2, |i, j| ((i * 3 + j) % 7) as f64);
    let before = snapshot(&[&t, &g]);
    let o = genweights(&d, &run_args(&t, &g, &d.join("out"), &["--pooled"]));
    let warning = o.stderr.lines().find(|l| l.starts_with("warning: --pooled")).unwrap_or_default();
    assert!(warning.contains("big.h5") && warning.contains("small.h5") && warning.contains("70:1"), "{}", o.stderr);
    let o = genweights(&d, &run_args(&t, &t, &d.join("out-same"), &[]));
    let warning = o.stderr.lines().find(|l| l.contains("same file")).unwrap_or_default();
    assert!(warning.starts_with("warning:") && warning.contains("big.h5"), "{}", o.stderr);
    unchanged(&before);
}

/// Every refusal names the file and the column or setting, and says what to do: a file that
/// is not HDF5, a NaN in a column, too few events, a setting out of range.
#[test]
fn errors_name_the_file_and_the_setting_and_say_what_to_do() {
    let d = common::dir("hostile-errors");
    let t = table(&d.join("t.h5"), 300, 2, |i, j| ((i * 7 + j) % 11) as f64);
    let g = table(&d.join("g.h5"), 300, 2, |i, j| ((i * 3 + j) % 7) as f64);
    let garbage = d.join("garbage.h5");
    std::fs::write(&garbage, "not an HDF5 file").unwrap();
    let nan = table(&d.join("nan.h5"), 300, 2, |i, j| if i == 17 && j == 1 { f64::NAN } else { 1.0 });
    let tiny = table(&d.join("tiny.h5"), 12, 2, |i, j| (i + j) as f64);
    let before = snapshot(&[&t, &g, &garbage, &nan, &tiny]);
    let out = d.join("out");
    let cases: [(&Path, &Path, &[&str], &[&str]); 4] = [
        (&garbage, &g, &[], &["garbage.h5"]),
        (&t, &nan, &[], &["nan.h5", "features"]),
        (&tiny, &g, &[], &["tiny.h5", "g.h5", "too few", "--batch-size"]),
        (&t, &g, &["--dropout", "1.5"], &["--dropout", "e.g."]),
    ];
    for (truth, generated, extra, named) in cases {
        let o = genweights(&d, &run_args(truth, generated, &out, extra));
        assert!(o.failed(), "{named:?}: {}", o.stderr);
        for n in named {
            assert!(o.stderr.contains(n), "the message does not name '{n}': {}", o.stderr);
        }
    }
    unchanged(&before);
}
