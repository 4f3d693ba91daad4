//! The `calibration` binary under hostile input: every case must end with a non-zero exit, no
//! panic, a message that names the file and the column or setting at fault, and its inputs
//! unchanged. Each command runs under a memory cap (ulimit -v) and a time limit, so a case that
//! would allocate without bound or hang fails instead of taking the machine with it.

mod common;

use common::temp_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Virtual memory cap of each command, in KiB (ulimit -v).
const MEMORY_KIB: u64 = 4_000_000;
/// Wall-clock limit of each command.
const TIME_LIMIT: Duration = Duration::from_secs(60);

/// The exit code and stderr of `calibration args...` under the caps.
fn run(args: &[&str]) -> (Option<i32>, String) {
    let script = format!("ulimit -v {MEMORY_KIB}; exec \"$0\" \"$@\"");
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_calibration"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut s).ok();
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIME_LIMIT {
            child.kill().ok();
            child.wait().ok();
            panic!("{args:?} ran longer than {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), reader.join().unwrap())
}

/// Runs a command that must succeed.
fn ok(args: &[&str]) {
    let (code, err) = run(args);
    assert_eq!(code, Some(0), "{args:?} failed: {err}");
}

/// Runs a command that must fail cleanly; returns its message.
fn refused(args: &[&str]) -> String {
    let (code, err) = run(args);
    assert!(code.is_some(), "{args:?} was killed (memory or time cap): {err}");
    assert_ne!(code, Some(0), "{args:?} should fail");
    assert_ne!(code, Some(101), "{args:?} panicked: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    err
}

/// A hash of the bytes of every file under `path` (a file or a directory), by relative name.
fn fingerprint(path: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            // The run directory's lock file is bookkeeping, not content: a refused command may take it.
            stack.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()).filter(|q| !q.ends_with(".lock")));
        } else if let Ok(bytes) = std::fs::read(&p) {
            let mut h = stats::Fnv1a::new();
            h.update(&bytes);
            out.push((p.strip_prefix(path).unwrap_or(&p).to_path_buf(), u64::from_str_radix(&h.hex(), 16).unwrap()));
        }
    }
    out.sort();
    out
}

/// Runs a command that must fail, and checks that none of `inputs` changed; returns its message.
fn refused_keeping(args: &[&str], inputs: &[&Path]) -> String {
    let before: Vec<_> = inputs.iter().map(|p| fingerprint(p)).collect();
    let err = refused(args);
    for (p, b) in inputs.iter().zip(before) {
        assert_eq!(fingerprint(p), b, "{args:?} changed {}", p.display());
    }
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A small generated sample and a DNN trained on it for one epoch, made once for all cases.
struct Shared {
    data: PathBuf,
    pu0: PathBuf,
    model: PathBuf,
}

fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let d = temp_dir("hostile-shared");
        let (data, pu0, model) = (d.join("data.h5"), d.join("pu0.h5"), d.join("dnn"));
        ok(&["generate", "--quiet", "--out", s(&data), "--n", "3000", "--seed", "5"]);
        ok(&["generate", "--quiet", "--out", s(&pu0), "--n", "3000", "--seed", "6", "--pu0"]);
        ok(&["train", "--quiet", "--model", "dnn", "--data", s(&data), "--out", s(&model), "--epochs", "1"]);
        Shared { data, pu0, model }
    })
}

/// A copy of `file` in `dir`, so that a case may try to damage it.
fn copy_into(file: &Path, dir: &Path) -> PathBuf {
    let to = dir.join(file.file_name().unwrap());
    std::fs::copy(file, &to).unwrap();
    to
}

/// A copy of a run directory (its files, not its subdirectories) in `dir`.
fn copy_run(run: &Path, dir: &Path, name: &str) -> PathBuf {
    let to = dir.join(name);
    std::fs::create_dir_all(&to).unwrap();
    for e in std::fs::read_dir(run).unwrap().flatten().filter(|e| e.path().is_file()) {
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
    to
}

// ----- a. no command writes over one of its inputs -----

#[test]
fn predict_refuses_to_write_over_its_data_or_its_model() {
    let sh = shared();
    let d = temp_dir("hostile-overwrite-predict");
    let data = copy_into(&sh.data, &d);
    let model = copy_run(&sh.model, &d, "dnn");
    let best = model.join("best.h5");
    let err = refused_keeping(
        &["predict", "--quiet", "--model", s(&model), "--data", s(&data), "--out", s(&data)],
        &[&data, &model],
    );
    assert!(err.contains("data.h5") && err.contains("also an output"), "{err}");
    let err = refused_keeping(
        &["predict", "--quiet", "--model", s(&model), "--data", s(&data), "--out", s(&best)],
        &[&data, &model],
    );
    assert!(err.contains("best.h5") && err.contains("also an output"), "{err}");
    // The same file under another name.
    let other = d.join(".").join("dnn").join("..").join("data.h5");
    let err = refused_keeping(
        &["predict", "--quiet", "--model", s(&model), "--data", s(&data), "--out", s(&other)],
        &[&data],
    );
    assert!(err.contains("also an output"), "{err}");
}

#[test]
fn lcw_convert_and_evaluate_refuse_to_write_over_their_inputs() {
    let sh = shared();
    let d = temp_dir("hostile-overwrite-others");
    let pu0 = copy_into(&sh.pu0, &d);
    let err = refused_keeping(&["lcw", "--quiet", "--pu0", s(&pu0), "--out", s(&pu0)], &[&pu0]);
    assert!(err.contains("pu0.h5") && err.contains("also an output"), "{err}");
    let err = refused_keeping(&["convert", "--quiet", "--data", s(&pu0), "--out", s(&pu0)], &[&pu0]);
    assert!(err.contains("pu0.h5") && err.contains("also an output"), "{err}");
    let eval = d.join("eval");
    std::fs::create_dir_all(&eval).unwrap();
    let metrics = copy_into(&pu0, &eval);
    let metrics_json = eval.join("metrics.json");
    std::fs::rename(&metrics, &metrics_json).unwrap();
    let err = refused_keeping(
        &["evaluate", "--quiet", "--data", s(&pu0), "--lcw", s(&metrics_json), "--out", s(&eval)],
        &[&pu0, &metrics_json],
    );
    assert!(err.contains("metrics.json") && err.contains("also an output"), "{err}");
}

// ----- b. --resume is strict -----

/// A copy of the shared run that looks interrupted: train.json, written last, removed.
fn interrupted_run(d: &Path) -> PathBuf {
    let run = copy_run(&shared().model, d, "run");
    std::fs::remove_file(run.join("train.json")).unwrap();
    run
}

fn train_args<'a>(data: &'a Path, out: &'a Path, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["train", "--quiet", "--model", "dnn", "--data", s(data), "--out", s(out), "--epochs", "1"];
    args.extend_from_slice(extra);
    args
}

#[test]
fn resume_refuses_a_damaged_missing_or_foreign_last_checkpoint() {
    let sh = shared();
    let d = temp_dir("hostile-resume-damaged");
    // Cut in half, as a crash in the middle of writing it would (were it not written atomically).
    let run = interrupted_run(&d);
    let last = run.join("last.h5");
    let bytes = std::fs::read(&last).unwrap();
    std::fs::write(&last, &bytes[..bytes.len() / 2]).unwrap();
    let err = refused_keeping(&train_args(&sh.data, &run, &["--resume"]), &[&run, &sh.data]);
    assert!(err.contains("last.h5") && err.contains("damaged"), "{err}");
    // Missing.
    std::fs::remove_file(&last).unwrap();
    let err = refused_keeping(&train_args(&sh.data, &run, &["--resume"]), &[&run]);
    assert!(err.contains("last.h5") && err.contains("missing"), "{err}");
    // Foreign: an HDF5 file that is no checkpoint, and the last checkpoint of another method.
    std::fs::copy(&sh.data, &last).unwrap();
    let err = refused_keeping(&train_args(&sh.data, &run, &["--resume"]), &[&run]);
    assert!(err.contains("last.h5") && err.contains("not a checkpoint"), "{err}");
    let bnn = d.join("bnn");
    let mut args = train_args(&sh.data, &bnn, &[]);
    args[3] = "bnn";
    ok(&args);
    std::fs::copy(bnn.join("last.h5"), &last).unwrap();
    let err = refused_keeping(&train_args(&sh.data, &run, &["--resume"]), &[&run]);
    assert!(err.contains("last.h5") && err.contains("--model bnn"), "{err}");
}

#[test]
fn resume_names_the_setting_that_differs() {
    let sh = shared();
    let d = temp_dir("hostile-resume-setting");
    let run = interrupted_run(&d);
    let mut args = train_args(&sh.data, &run, &["--resume"]);
    args[3] = "bnn";
    let err = refused_keeping(&args, &[&run]);
    assert!(err.contains("--model dnn") && err.contains("--model bnn"), "{err}");
    let err = refused_keeping(&train_args(&sh.data, &run, &["--resume", "--seed", "99"]), &[&run]);
    assert!(err.contains("training.seed"), "{err}");
}

#[test]
fn resume_of_a_finished_or_missing_run_changes_nothing() {
    let sh = shared();
    let d = temp_dir("hostile-resume-finished");
    let run = copy_run(&sh.model, &d, "run");
    let err = refused_keeping(&train_args(&sh.data, &run, &["--resume"]), &[&run]);
    assert!(err.contains("finished") && err.contains("train.json"), "{err}");
    let missing = d.join("no-such-run");
    let err = refused(&train_args(&sh.data, &missing, &["--resume"]));
    assert!(err.contains("no-such-run") && err.contains("no such run directory"), "{err}");
    assert!(!missing.exists(), "--resume created {}", missing.display());
}

#[test]
fn a_directory_holding_a_run_is_not_trained_into_without_resume_or_restart() {
    let sh = shared();
    let d = temp_dir("hostile-holds-run");
    let run = copy_run(&sh.model, &d, "run");
    let err = refused_keeping(&train_args(&sh.data, &run, &[]), &[&run]);
    assert!(err.contains("already holds a training run") && err.contains("--restart"), "{err}");
    let err = refused_keeping(&train_args(&sh.data, &run, &["--resume", "--restart"]), &[&run]);
    assert!(err.contains("--restart"), "{err}");
}

// ----- c. two runs into one directory -----

#[test]
fn a_second_run_into_a_locked_directory_fails_at_once_naming_the_holder() {
    let sh = shared();
    let d = temp_dir("hostile-lock");
    let run = d.join("run");
    std::fs::create_dir_all(&run).unwrap();
    let lock = rundir::RunLock::acquire(&run).unwrap();
    let start = Instant::now();
    let err = refused(&train_args(&sh.data, &run, &[]));
    assert!(start.elapsed() < Duration::from_secs(10), "the second run waited");
    assert!(err.contains("another run") && err.contains(&format!("pid {}", std::process::id())), "{err}");
    assert!(!run.join("config.toml").exists(), "the refused run wrote config.toml");
    drop(lock);
    ok(&train_args(&sh.data, &run, &[]));
}

#[test]
fn two_concurrent_runs_leave_one_consistent_run() {
    let sh = shared();
    let d = temp_dir("hostile-concurrent");
    let run = d.join("run");
    let spawn = |seed: &str| {
        Command::new(env!("CARGO_BIN_EXE_calibration"))
            .args(train_args(&sh.data, &run, &["--seed", seed]))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn("1"), spawn("2"));
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    let failed: Vec<String> = [&a, &b]
        .iter()
        .filter(|o| !o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stderr).to_string())
        .collect();
    assert_eq!(failed.len(), 1, "exactly one run must fail: {failed:?}");
    assert!(failed[0].contains("another run") || failed[0].contains("already holds a training run"), "{}", failed[0]);
    assert!(!failed[0].contains("panicked"), "{}", failed[0]);
    // The files are one run's: config.toml is the configuration both checkpoints were written with.
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    for file in ["best.h5", "last.h5"] {
        let head = nn::Checkpoint::read_header(run.join(file)).unwrap();
        assert_eq!(head.meta.get("config"), Some(&config), "{file} belongs to the other run");
    }
    assert!(run.join("train.json").is_file());
}

/// The staging directories left in `dir` (hidden siblings of the run directories).
fn staging_dirs(dir: &Path) -> Vec<String> {
    common::files_starting_with(dir, ".").into_iter().filter(|n| n.contains("staging")).collect()
}

#[test]
fn a_failed_restart_leaves_the_good_run_as_it_was() {
    let sh = shared();
    let d = temp_dir("hostile-failed-restart");
    let run = copy_run(&sh.model, &d, "run");
    // The new run fails after it has started: no row of its data passes the cuts.
    let (no_rows, _) = with_extreme(&d, "cluster_ENG_CALIB_TOT", 0.1, |_| true);
    let err = refused_keeping(&train_args(&no_rows, &run, &["--restart", "--seed", "7"]), &[&run]);
    assert!(err.contains("cluster_ENG_CALIB_TOT.h5") && err.contains("too few to train on"), "{err}");
    assert!(staging_dirs(&d).is_empty(), "the failed restart left its staging directory");
    // A restart that succeeds replaces the run as a whole.
    ok(&train_args(&sh.data, &run, &["--restart", "--seed", "7"]));
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("seed = 7"), "{config}");
    assert_eq!(nn::Checkpoint::read_header(run.join("best.h5")).unwrap().meta.get("config"), Some(&config));
    assert!(staging_dirs(&d).is_empty());
}

// ----- d. arguments and cheap preconditions before the first expensive step -----

#[test]
fn a_missing_input_is_named_before_anything_is_read_or_written() {
    let sh = shared();
    let d = temp_dir("hostile-preconditions");
    let missing = d.join("missing.h5");
    // evaluate would read the clusters first: the missing prediction file is named before, and
    // the output directory is not created.
    let eval = d.join("eval");
    let pred = format!("bnn={}", s(&missing));
    let err = refused(&["evaluate", "--quiet", "--data", s(&sh.data), "--pred", &pred, "--out", s(&eval)]);
    assert!(err.contains("missing.h5") && err.contains("no such file"), "{err}");
    assert!(!eval.exists(), "evaluate created its output directory before checking its inputs");
    // lcw would read the EM sample first.
    let out = d.join("lcw.h5");
    let err = refused(&["lcw", "--quiet", "--pu0-em", s(&sh.pu0), "--pu0-had", s(&missing), "--out", s(&out)]);
    assert!(err.contains("missing.h5") && err.contains("no such file"), "{err}");
    // train would create its run directory.
    let run = d.join("run");
    let err = refused(&train_args(&missing, &run, &[]));
    assert!(err.contains("missing.h5") && err.contains("no such file"), "{err}");
    assert!(!run.exists(), "train created its run directory before checking its data");
    // predict would load the model: a directory without best.h5 is named.
    let empty = d.join("empty-run");
    std::fs::create_dir_all(&empty).unwrap();
    let err = refused(&["predict", "--quiet", "--model", s(&empty), "--data", s(&sh.data), "--out", s(&out)]);
    assert!(err.contains("best.h5") && err.contains("no such file"), "{err}");
    assert!(!out.exists());
}

// ----- e. values that overflow on the way to f32 -----

/// A copy of the shared sample with `column` set to `value` in the selected rows `rows` picks
/// (by position among the rows that pass the cuts); returns the file and the first input row.
fn with_extreme(d: &Path, column: &str, value: f64, rows: impl Fn(usize) -> bool) -> (PathBuf, u64) {
    use calibration::io::{ClusterTable, DataSource, Schema, TargetPolicy};
    let source = DataSource::file(&shared().data);
    let (selected, _) = calibration::cuts::read_selected(&source, TargetPolicy::Required).unwrap();
    let picked: Vec<u64> = selected.input_index.iter().enumerate().filter(|(i, _)| rows(*i)).map(|(_, &r)| r).collect();
    let mut table = ClusterTable::read(&source, &Schema::clusters(TargetPolicy::IfPresent)).unwrap();
    let mut values = table.column(column).unwrap().to_vec();
    picked.iter().for_each(|&r| values[r as usize] = value);
    table.insert(column, values).unwrap();
    let path = d.join(format!("{column}.h5"));
    table.write_hdf5(&path).unwrap();
    (path, picked[0])
}

#[test]
fn a_feature_beyond_f32_is_named_with_its_row_and_count_in_train_and_predict() {
    let sh = shared();
    let d = temp_dir("hostile-f32-feature");
    // avgMu = 1e300 on 1 % of the rows.
    let (file, row) = with_extreme(&d, "avgMu", 1e300, |i| i % 100 == 3);
    let err = refused_keeping(&train_args(&file, &d.join("run"), &[]), &[&file]);
    assert!(err.contains("avgMu.h5") && err.contains("'avgMu'") && err.contains(&format!("input row {row}")), "{err}");
    assert!(err.contains("32-bit float") && err.contains(" of "), "{err}");
    let out = d.join("pred.h5");
    let err = refused_keeping(
        &["predict", "--quiet", "--model", s(&sh.model), "--data", s(&file), "--out", s(&out)],
        &[&file, &sh.model],
    );
    assert!(err.contains("'avgMu'") && err.contains(&format!("input row {row}")), "{err}");
    assert!(!out.exists());
    // A single 1e39 in cluster_CENTER_MAG.
    let (file, row) = with_extreme(&d, "cluster_CENTER_MAG", 1e39, |i| i == 10);
    let err = refused_keeping(&train_args(&file, &d.join("run"), &[]), &[&file]);
    assert!(
        err.contains("'cluster_CENTER_MAG'") && err.contains("1 of") && err.contains(&format!("input row {row}")),
        "{err}"
    );
}

#[test]
fn a_response_beyond_f32_is_named_with_its_row() {
    let d = temp_dir("hostile-f32-response");
    let (file, row) = with_extreme(&d, "clusterE", 1e300, |i| i == 7);
    let err = refused_keeping(&train_args(&file, &d.join("run"), &[]), &[&file]);
    assert!(
        err.contains("clusterE.h5") && err.contains("response") && err.contains(&format!("input row {row}")),
        "{err}"
    );
}

// ----- f. messages that name the cause -----

#[test]
fn a_cluster_file_given_as_predictions_or_tables_says_so() {
    let sh = shared();
    let d = temp_dir("hostile-cluster-as-pred");
    let eval = d.join("eval");
    let pred = format!("bnn={}", s(&sh.data));
    let err = refused_keeping(
        &["evaluate", "--quiet", "--data", s(&sh.data), "--pred", &pred, "--out", s(&eval)],
        &[&sh.data],
    );
    assert!(err.contains("data.h5") && err.contains("this is a cluster file, not a prediction file"), "{err}");
    let err = refused_keeping(
        &["evaluate", "--quiet", "--data", s(&sh.data), "--lcw", s(&sh.pu0), "--out", s(&eval)],
        &[&sh.pu0],
    );
    assert!(err.contains("pu0.h5") && err.contains("this is a cluster file, not LCW tables"), "{err}");
}

#[test]
fn a_truncated_root_file_says_it_is_truncated() {
    let d = temp_dir("hostile-root-truncated");
    let bytes = std::fs::read(common::fixture("clusters_300.root")).unwrap();
    let file = d.join("cut.root");
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let err = refused_keeping(&["convert", "--quiet", "--data", s(&file), "--out", s(&d.join("out.h5"))], &[&file]);
    assert!(err.contains("cut.root") && err.contains("is truncated"), "{err}");
    assert!(!err.contains("UnexpectedEof"), "{err}");
}

#[test]
fn predict_on_a_file_where_no_row_passes_the_cuts_is_an_error() {
    let sh = shared();
    let d = temp_dir("hostile-predict-no-rows");
    // Every deposit below the E_dep > 0.3 GeV cut.
    let (file, _) = with_extreme(&d, "cluster_ENG_CALIB_TOT", 0.1, |_| true);
    let out = d.join("pred.h5");
    let err = refused_keeping(
        &["predict", "--quiet", "--model", s(&sh.model), "--data", s(&file), "--out", s(&out)],
        &[&file],
    );
    assert!(err.contains("cluster_ENG_CALIB_TOT.h5") && err.contains("no cluster passes"), "{err}");
    assert!(!out.exists());
}

/// The shared sample with `column` stored as float16. The HDF5 library writes no float16
/// without a feature this build lacks, so the column is written as float32 with half the rows
/// and its type and dataspace messages are then rewritten in place to float16 with all the rows:
/// exactly the bytes of a float16 dataset of that length.
fn with_float16(d: &Path, column: &str) -> PathBuf {
    use calibration::io::{ClusterTable, DataSource, Schema, TargetPolicy};
    let table =
        ClusterTable::read(&DataSource::file(&shared().data), &Schema::clusters(TargetPolicy::IfPresent)).unwrap();
    let (n, half) = (table.len(), table.len() / 2);
    assert_eq!(n % 2, 0);
    let path = d.join("float16.h5");
    {
        // The default (earliest) file format: its header messages carry no checksum to update.
        let f = hdf5::File::create(&path).unwrap();
        for name in table.names() {
            let v = table.column(name).unwrap();
            if name == column {
                let v32: Vec<f32> = v[..half].iter().map(|&x| x as f32).collect();
                f.new_dataset::<f32>().shape([half]).create(name.as_str()).unwrap().write_raw(&v32).unwrap();
            } else {
                f.new_dataset::<f64>().shape([n]).create(name.as_str()).unwrap().write_raw(v).unwrap();
            }
        }
    }
    let f32_type = [0x11, 0x20, 0x1f, 0x00, 4, 0, 0, 0, 0, 0, 0x20, 0, 0x17, 0x08, 0, 0x17, 0x7f, 0, 0, 0];
    let f16_type = [0x11, 0x20, 0x0f, 0x00, 2, 0, 0, 0, 0, 0, 0x10, 0, 0x0a, 0x05, 0, 0x0a, 0x0f, 0, 0, 0];
    let space = |rows: usize| -> Vec<u8> {
        let mut m = vec![1, 1, 1, 0, 0, 0, 0, 0];
        m.extend((rows as u64).to_le_bytes());
        m.extend((rows as u64).to_le_bytes());
        m
    };
    let mut bytes = std::fs::read(&path).unwrap();
    for (from, to) in [(f32_type.to_vec(), f16_type.to_vec()), (space(half), space(n))] {
        let at: Vec<usize> = (0..bytes.len() - from.len()).filter(|&i| bytes[i..i + from.len()] == from[..]).collect();
        assert_eq!(at.len(), 1, "the float32 column's header message is not unique");
        bytes[at[0]..at[0] + to.len()].copy_from_slice(&to);
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_float16_column_says_to_convert_it_to_float32() {
    let d = temp_dir("hostile-float16");
    let file = with_float16(&d, "avgMu");
    let err = refused_keeping(&train_args(&file, &d.join("run"), &[]), &[&file]);
    assert!(
        err.contains("float16.h5") && err.contains("'avgMu'") && err.contains("convert the column to float32"),
        "{err}"
    );
    let err = refused_keeping(&["convert", "--quiet", "--data", s(&file), "--out", s(&d.join("out.h5"))], &[&file]);
    assert!(err.contains("'avgMu'") && err.contains("float16"), "{err}");
}

// ----- found on the way -----

#[test]
fn a_sample_beyond_the_memory_cap_is_refused_before_it_is_drawn() {
    let d = temp_dir("hostile-memory");
    let out = d.join("big.h5");
    // Under the 4 GB cap, 10^8 clusters would abort on an allocation without a message.
    let err = refused(&["generate", "--quiet", "--out", s(&out), "--n", "100000000", "--seed", "1"]);
    assert!(err.contains("--n 100000000") && err.contains("memory"), "{err}");
    assert!(!out.exists());
}
