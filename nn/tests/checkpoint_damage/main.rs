//! The damaged-checkpoint suite (issue 10): real checkpoints of several models, damaged in every
//! way the issue lists (truncations, bit flips in metadata and data, wrong dtypes and shapes,
//! shapes that claim huge sizes, missing and extra items, attributes of the wrong type,
//! non-finite and absurd values, foreign files, a FIFO, a directory, an unreadable directory),
//! each loaded in a child process under a memory limit and a timeout, so that an abort or a hang
//! is a reported failure of one case rather than a dead test run. For every case: no panic, no
//! abort, no hang, and either an error that names the file (and the dataset or attribute where
//! one is involved) with the model and optimizer exactly as they were, or, where the damage hit
//! bytes HDF5 does not use, a load whose every value is bit-identical to the undamaged file's.
//!
//! Then the training faults: each stops with an error naming the epoch (and batch), and the
//! previous good checkpoint still loads and equals what it was.
//!
//! `cargo test -p nn --test checkpoint_damage -- --nocapture` prints the counts that
//! docs/checkpoint-format.md records.
//!
//! The suite's files: `fixtures` (the real checkpoints), `cases` (a damaged file, how it is
//! loaded and what must happen), the damage itself (`flips`: truncations and bit flips;
//! `hand_made` and `attributes`: edits through HDF5, with the helpers of `edit`; `foreign`:
//! files and paths that are no checkpoint), `worker` (the child process that loads each case),
//! and here the tests.

mod attributes;
mod cases;
mod edit;
mod fixtures;
mod flips;
mod foreign;
mod hand_made;
mod resealed;
mod worker;

use attributes::*;
use cases::*;
use edit::*;
use fixtures::*;
use flips::*;
use foreign::*;
use hand_made::*;
use resealed::*;
use worker::*;

use autodiff::{DType, Device, Rng};
use hdf5::types::{FixedAscii, FixedUnicode, VarLenUnicode};
use nn::optim::{NamedState, Optimizer};
use nn::train::{Control, TrainConfig, TrainError, Trainer, BEST, LAST};
use nn::EpochRecord;
use nn::{
    Activation, Adam, Batch, BatchSource, Checkpoint, Dataset, Head, Init, Likelihood, MlpSpec, ModelSpec, Module,
    Objective, Regulariser, Standardizer, StreamState, Transform, VariationalConfig,
};
use std::collections::BTreeMap;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WORKER_ENV: &str = "SIGMAGRAD_DAMAGE_WORKER";
const SAVER_ENV: &str = "SIGMAGRAD_DAMAGE_SAVER";
/// A case that makes no progress for this long is a hang.
const HANG_AFTER: Duration = Duration::from_secs(10);
/// A case slower than this read far more than the file holds: a failure too.
const SLOW_AFTER: Duration = Duration::from_secs(3);
/// The worker's address-space limit (KiB): an allocation from a size a file claims fails at
/// once instead of swapping the machine, and the abort is seen as one.
const WORKER_MEMORY_KIB: u64 = 6 << 20;

fn dev() -> Device {
    backend_cpu::device()
}

fn root() -> PathBuf {
    match std::env::var("SIGMAGRAD_DAMAGE_ROOT") {
        Ok(r) => PathBuf::from(r),
        Err(_) => std::env::temp_dir().join(format!("sigmagrad-damage-{}", std::process::id())),
    }
}

// ---------------------------------------------------------------------------------------------
// The damage suite.

#[test]
fn damaged_checkpoints_fail_cleanly() {
    if std::env::var(WORKER_ENV).is_ok() {
        worker();
        return;
    }
    let t0 = Instant::now();
    let root = root();
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(root.join("cases")).unwrap();
    make_fixtures();
    let mut cases = Cases { list: Vec::new(), dir: root.join("cases") };
    let mut notes = Vec::new();
    truncations_and_flips(&mut cases);
    behind_a_valid_seal(&mut cases);
    hand_made(&mut cases);
    foreign(&mut cases, &mut notes);
    let manifest: String = cases.list.iter().map(|c| c.line() + "\n").collect();
    std::fs::write(root.join("manifest.tsv"), manifest).unwrap();
    let made = t0.elapsed();
    let verdicts = run_workers(cases.list.len());

    // Counts by kind.
    #[derive(Default)]
    struct Count {
        tried: usize,
        errors: usize,
        identical: usize,
        failed: usize,
        named_item: usize,
    }
    let mut by_kind: BTreeMap<String, Count> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut tolerated = Vec::new();
    let mut files = std::collections::BTreeSet::new();
    for (case, (verdict, msg)) in cases.list.iter().zip(&verdicts) {
        files.insert(case.path.clone());
        let c = by_kind.entry(case.kind.clone()).or_default();
        c.tried += 1;
        match verdict.as_str() {
            "error" => {
                c.errors += 1;
                if msg.contains("dataset '") || msg.contains("attribute '") || msg.contains("group '") {
                    c.named_item += 1;
                }
            }
            "identical" => {
                c.identical += 1;
                if case.kind == "bit flip in metadata" || case.kind == "foreign file" {
                    tolerated.push(format!("{} ({})", case.what, case.mode.name()));
                }
            }
            _ => {
                c.failed += 1;
                failures.push(format!("[{}] {} ({}): {msg}", case.kind, case.what, case.mode.name()));
            }
        }
    }
    let total = |f: fn(&Count) -> usize| by_kind.values().map(f).sum::<usize>();
    let count = |tag: &str| failures.iter().filter(|f| f.contains(tag)).count();
    println!(
        "\ndamaged checkpoints: {} loads of {} files ({:.1} s to make, {:.1} s in all)",
        cases.list.len(),
        files.len(),
        made.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    println!(
        "| kind | loads | errors | errors naming a dataset, attribute or group | loaded bit-identical | failures |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (kind, c) in &by_kind {
        println!("| {kind} | {} | {} | {} | {} | {} |", c.tried, c.errors, c.named_item, c.identical, c.failed);
    }
    println!(
        "| all | {} | {} | {} | {} | {} |",
        total(|c| c.tried),
        total(|c| c.errors),
        total(|c| c.named_item),
        total(|c| c.identical),
        total(|c| c.failed)
    );
    println!(
        "aborts {}, hangs {}, panics {}, silent corruptions {}, other failures {}",
        count("ABORT"),
        count("HANG"),
        count("PANIC"),
        count("SILENT"),
        failures.len() - count("ABORT") - count("HANG") - count("PANIC") - count("SILENT")
    );
    for t in &tolerated {
        println!("loaded bit-identical despite the damage: {t}");
    }
    for n in &notes {
        println!("note: {n}");
    }
    for f in &failures {
        println!("FAILED {f}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} damaged-checkpoint loads failed (listed above)",
        failures.len(),
        cases.list.len()
    );
    // SIGMAGRAD_DAMAGE_KEEP=dir keeps the undamaged checkpoints (docs/checkpoint-format.md opens
    // them with h5py).
    if let Ok(keep) = std::env::var("SIGMAGRAD_DAMAGE_KEEP") {
        std::fs::create_dir_all(&keep).unwrap();
        for fx in FIXTURES {
            std::fs::copy(fx.path(), Path::new(&keep).join(format!("{}.h5", fx.name()))).unwrap();
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}

// ---------------------------------------------------------------------------------------------
// A checkpoint in a directory its reader may not enter.

const LOCKED_ENV: &str = "SIGMAGRAD_DAMAGE_LOCKED";

/// Root may enter any directory, so as root the load runs in a child process as uid 65534
/// (nobody) when `setpriv` can drop to it; where neither works the test says so and checks
/// nothing rather than pretend.
#[test]
fn a_checkpoint_in_an_unreadable_directory_is_a_permission_error() {
    if let Ok(path) = std::env::var(LOCKED_ENV) {
        let model = Fx::MlpBest.spec().build(DType::F32, &dev(), 1).unwrap();
        match Checkpoint::load(&path, model.as_ref(), None) {
            Ok(_) => println!("LOADED"),
            Err(e) => println!("ERROR {e}"),
        }
        return;
    }
    let dir = std::env::temp_dir().join(format!("sigmagrad-locked-{}", std::process::id()));
    let locked = dir.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    let path = locked.join("model.h5");
    let model = Fx::MlpBest.spec().build(DType::F32, &dev(), 1).unwrap();
    Checkpoint::default().save(&path, model.as_ref(), None).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    let message = if std::fs::metadata(&path).is_err() {
        // Not root: the permission bits apply to this process.
        Some(
            Checkpoint::load(&path, model.as_ref(), None)
                .map(|_| "LOADED".to_string())
                .unwrap_or_else(|e| format!("ERROR {e}")),
        )
    } else {
        println!("running as root: the directory's permission bits do not apply to this process");
        let exe = std::env::current_exe().unwrap();
        let out = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&exe)
            .args([
                "--exact",
                "a_checkpoint_in_an_unreadable_directory_is_a_permission_error",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(LOCKED_ENV, &path)
            .output();
        match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
                .lines()
                .find_map(|l| l.find("LOADED").or_else(|| l.find("ERROR")).map(|i| l[i..].to_string())),
            Ok(o) => {
                println!("the load as uid 65534 failed: {}", String::from_utf8_lossy(&o.stderr));
                None
            }
            Err(e) => {
                println!("setpriv cannot run: {e}");
                None
            }
        }
    };
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    match message {
        None => {
            println!("NOT TRIED: running as root and cannot run a load as another user (setpriv missing or refused)")
        }
        Some(m) => {
            println!("unreadable directory: {m}");
            assert!(m.starts_with("ERROR") && m.contains("permission denied") && m.contains("model.h5"), "{m}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Training faults. Tests of the same guarantees elsewhere, not repeated here:
// nn/tests/model_api.rs an_exploding_run_is_stopped_and_the_good_checkpoints_stay (Adam,
// Gaussian NLL, lr 1e6) and a_validation_loss_that_is_not_a_number_stops_training (targets of
// 1e200: an infinite validation loss); nn/tests/checkpoint.rs
// the_best_checkpoint_survives_a_resume_and_a_worse_epoch (the best loss carried across a
// resume) and a_kill_during_a_save_leaves_the_previous_checkpoint_loadable (no temporary file
// after the next save).

#[test]
fn a_dataset_refuses_non_finite_values_naming_row_and_column() {
    let mut x = vec![0.5; 12];
    x[7] = f64::NAN; // row 2, column 1 of 3 columns
    let e = Dataset::new(x, 3, vec![0.0; 4], 1).unwrap_err().to_string();
    assert!(e.contains("NaN") && e.contains("row 2, column 1"), "{e}");
    let mut y = vec![0.0; 4];
    y[3] = f64::INFINITY;
    let e = Dataset::new(vec![0.5; 12], 3, y, 1).unwrap_err().to_string();
    assert!(e.contains("inf") && e.contains("row 3, column 0") && e.contains("target"), "{e}");
    let e = Dataset::new(vec![0.5; 12], 3, vec![0.0; 4], 1)
        .unwrap()
        .with_weights(vec![1.0, f64::NAN, 1.0, 1.0])
        .unwrap_err();
    assert!(e.to_string().contains("row 1"), "{e}");
}

/// A batch source as an app's file reader might be: it yields what the file holds, here a NaN
/// or an infinity in one batch of one epoch, which `Dataset::new` would have refused.
struct Poisoned {
    data: Dataset,
    epoch: std::sync::atomic::AtomicUsize,
    at: (usize, usize),
    value: f64,
    target: bool,
}

impl BatchSource for Poisoned {
    fn len(&self) -> usize {
        self.data.len()
    }
    fn steps(&self, batch: usize, drop_last: bool) -> usize {
        self.data.steps(batch, drop_last)
    }
    fn epoch<'a>(
        &'a self,
        batch: usize,
        shuffle: Option<&mut Rng>,
        drop_last: bool,
        dtype: DType,
        device: &Device,
    ) -> Box<dyn Iterator<Item = autodiff::Result<Batch>> + 'a> {
        let e = self.epoch.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let (at, value, target, device) = (self.at, self.value, self.target, device.clone());
        Box::new(self.data.epoch(batch, shuffle, drop_last, dtype, &device).enumerate().map(move |(b, batch)| {
            let batch = batch?;
            if (e, b) != at {
                return Ok(batch);
            }
            let t = if target { &batch.y } else { &batch.x };
            let mut v = t.to_vec_f64()?;
            v[1] = value;
            let poisoned = autodiff::Tensor::from_f64s(&v, t.shape(), dtype, &device)?;
            Ok(if target { Batch { y: poisoned, ..batch } } else { Batch { x: poisoned, ..batch } })
        }))
    }
}

fn weights_of(m: &dyn Module) -> Vec<Vec<f64>> {
    m.params().iter().map(|p| p.var.tensor().to_vec_f64().unwrap()).collect()
}

/// One good epoch into `dir`, then a resumed run whose epoch 2 meets `train` (or `val`) data
/// that the source poisons. Returns the error and checks that both checkpoints are
/// byte-for-byte what the good epoch wrote and load to the model's weights.
fn poisoned_run(
    name: &str,
    activation: Activation,
    train_poison: Option<(f64, bool)>,
    val_poison: Option<f64>,
) -> TrainError {
    let dir = std::env::temp_dir().join(format!("sigmagrad-poison-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let spec = ModelSpec::deterministic(MlpSpec::new(3, &[8], 2).activation(activation), Head::Gaussian);
    let data = toy(120, 3);
    let cfg = |epochs| TrainConfig {
        epochs,
        batch_size: 30,
        progress: false,
        dir: Some(dir.clone()),
        ..TrainConfig::default()
    };
    let model = spec.build(DType::F32, &dev(), 1).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    Trainer::new(cfg(1), &dev())
        .fit(model.as_ref(), &mut opt, &data, Some(&data), &gaussian(), |_| Control::Continue)
        .unwrap();
    let files = || (std::fs::read(dir.join(LAST)).unwrap(), std::fs::read(dir.join(BEST)).unwrap());
    let before = files();
    let good = weights_of(model.as_ref());
    // The poison waits for the resumed run's first epoch (the source's epoch 0), batch 2.
    let (value, target) = train_poison.unwrap_or((0.0, false));
    let train = Poisoned {
        data: data.clone(),
        epoch: Default::default(),
        at: if train_poison.is_some() { (0, 2) } else { (usize::MAX, 0) },
        value,
        target,
    };
    let val = Poisoned {
        data: data.clone(),
        epoch: Default::default(),
        at: if val_poison.is_some() { (0, 0) } else { (usize::MAX, 0) },
        value: val_poison.unwrap_or(0.0),
        target: false,
    };
    let model = spec.build(DType::F32, &dev(), 2).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let err = Trainer::new(cfg(3), &dev())
        .resume(&dir, model.as_ref(), &mut opt, &train, Some(&val), &gaussian(), |_: &EpochRecord| Control::Continue)
        .unwrap_err();
    assert!(files() == before, "{name}: the good checkpoints were overwritten ({err})");
    assert_eq!(weights_of(model.as_ref()), good, "{name}: the model does not hold the last good weights ({err})");
    for file in [LAST, BEST] {
        let reloaded = spec.build(DType::F32, &dev(), 3).unwrap();
        Checkpoint::load(dir.join(file), reloaded.as_ref(), None).unwrap();
        assert_eq!(weights_of(reloaded.as_ref()), good, "{name}: {file} does not hold the good weights");
    }
    let _ = std::fs::remove_dir_all(&dir);
    err
}

#[test]
fn a_nan_or_infinity_from_a_batch_source_stops_training_naming_epoch_and_batch() {
    for (name, act, poison) in [
        ("nan-feature-relu", Activation::Relu, (f64::NAN, false)),
        ("nan-feature-tanh", Activation::Tanh, (f64::NAN, false)),
        ("inf-feature-tanh", Activation::Tanh, (f64::INFINITY, false)),
        ("nan-target", Activation::Tanh, (f64::NAN, true)),
        ("inf-target", Activation::Tanh, (f64::NEG_INFINITY, true)),
    ] {
        let err = poisoned_run(name, act, Some(poison), None);
        let msg = err.to_string();
        println!("{name}: {msg}");
        // Epochs count from 1 in messages, batches by index: the third batch is "batch 2".
        assert!(msg.contains("epoch 2") && msg.contains("batch 2"), "{name}: {msg}");
    }
}

#[test]
fn a_nan_in_the_validation_data_stops_training_naming_the_epoch() {
    let err = poisoned_run("nan-validation", Activation::Tanh, None, Some(f64::NAN));
    assert!(matches!(err, TrainError::NonFiniteValidation { epoch: 1, .. }), "{err}");
    assert!(err.to_string().contains("epoch 2") && err.to_string().contains("validation"), "{err}");
}

/// +Inf in a feature of the validation data, which a tanh network saturates into a finite loss:
/// refused all the same, naming the epoch and the validation batch.
#[test]
fn an_infinity_in_the_validation_data_stops_training_naming_epoch_and_batch() {
    let err = poisoned_run("inf-validation", Activation::Tanh, None, Some(f64::INFINITY));
    assert!(matches!(err, TrainError::ValidationBatch { epoch: 1, batch: 0, .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("epoch 2") && msg.contains("validation batch 0") && msg.contains("inf"), "{msg}");
}

#[test]
fn the_last_checkpoint_holds_the_end_of_training() {
    let dir = std::env::temp_dir().join(format!("sigmagrad-final-{}", std::process::id()));
    for (epochs, stop_after) in [(3, None), (5, Some(2))] {
        let _ = std::fs::remove_dir_all(&dir);
        let spec = ModelSpec::deterministic(MlpSpec::new(3, &[8], 2), Head::Gaussian);
        let model = spec.build(DType::F32, &dev(), 1).unwrap();
        let mut opt = Adam::new(model.params(), 1e-2);
        let cfg = TrainConfig {
            epochs,
            batch_size: 40,
            progress: false,
            keep_best: false,
            dir: Some(dir.clone()),
            ..TrainConfig::default()
        };
        let data = toy(100, 4);
        let hook = |r: &EpochRecord| if Some(r.epoch + 1) == stop_after { Control::Stop } else { Control::Continue };
        let h = Trainer::new(cfg, &dev()).fit(model.as_ref(), &mut opt, &data, Some(&data), &gaussian(), hook).unwrap();
        let done = stop_after.unwrap_or(epochs);
        assert_eq!(h.epochs.len(), done);
        let other = spec.build(DType::F32, &dev(), 2).unwrap();
        let mut other_opt = Adam::new(other.params(), 1e-2);
        let head = Checkpoint::load(dir.join(LAST), other.as_ref(), Some(&mut other_opt)).unwrap();
        assert_eq!(head.epoch, done as u64);
        assert_eq!(weights_of(other.as_ref()), weights_of(model.as_ref()), "last.h5 is not the final model");
        assert_eq!(
            bits(&other_opt.state().unwrap()),
            bits(&opt.state().unwrap()),
            "last.h5 lacks the final optimizer state"
        );
        assert_eq!(other_opt.steps(), opt.steps());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two processes save different models to one path at once, again and again: every save
/// succeeds, and the file left is one of the two, whole.
#[test]
fn two_processes_saving_to_one_path_both_succeed() {
    let spec = ModelSpec::deterministic(MlpSpec::new(3, &[64, 64], 2), Head::Gaussian);
    if let Ok(v) = std::env::var(SAVER_ENV) {
        let (seed, path) = v.split_once(':').unwrap();
        let model = spec.build(DType::F32, &dev(), seed.parse().unwrap()).unwrap();
        for _ in 0..25 {
            Checkpoint::default().save(path, model.as_ref(), None).unwrap();
        }
        return;
    }
    let dir = std::env::temp_dir().join(format!("sigmagrad-concurrent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("shared.h5");
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = [1u64, 2]
        .iter()
        .map(|seed| {
            Command::new(&exe)
                .args(["--exact", "two_processes_saving_to_one_path_both_succeed", "--test-threads=1"])
                .env(SAVER_ENV, format!("{seed}:{}", path.display()))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    // Meanwhile, every read of the path gets a whole checkpoint of one of the two.
    let models: Vec<_> =
        [1u64, 2].iter().map(|&s| weights_of(spec.build(DType::F32, &dev(), s).unwrap().as_ref())).collect();
    let mut reads = 0;
    let check = |reads: &mut usize| {
        if path.exists() {
            let m = spec.build(DType::F32, &dev(), 9).unwrap();
            Checkpoint::load(&path, m.as_ref(), None).unwrap();
            assert!(models.contains(&weights_of(m.as_ref())), "a mixed checkpoint");
            *reads += 1;
        }
    };
    let mut outputs = Vec::new();
    for mut c in children {
        while c.try_wait().unwrap().is_none() {
            check(&mut reads);
        }
        outputs.push(c.wait_with_output().unwrap());
    }
    for o in &outputs {
        assert!(o.status.success(), "a concurrent save failed: {}", String::from_utf8_lossy(&o.stderr));
    }
    check(&mut reads);
    let leftovers: Vec<_> =
        std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).filter(|n| n != "shared.h5").collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    println!("two processes x 25 saves to one path: all succeeded; {reads} loads while they ran, all whole");
    // Threads of one process, likewise.
    std::thread::scope(|s| {
        for seed in [1u64, 2] {
            let (spec, path) = (&spec, &path);
            s.spawn(move || {
                let model = spec.build(DType::F32, &dev(), seed).unwrap();
                for _ in 0..10 {
                    Checkpoint::default().save(path, model.as_ref(), None).unwrap();
                }
            });
        }
    });
    check(&mut reads);
    let _ = std::fs::remove_dir_all(&dir);
}
