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
// The models whose checkpoints are damaged.

/// The real checkpoints the damage starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fx {
    /// A deterministic MLP after two epochs of the trainer: Adam state, trainer state, a
    /// standardizer with log and cube-root transforms and target scaling (`last.h5`).
    MlpLast,
    /// The same run's `best.h5`: no optimizer group.
    MlpBest,
    /// A trained MLP saved with an Adam that has not stepped: an empty `/optimizer` group (the
    /// file of an ordinary resume before the first step, where the old loader aborted).
    MlpFreshOpt,
    /// A variational network (BNN) with Adam state and its random streams, no standardizer.
    Bnn,
    /// A 4-member ensemble in f64 with a standardizer and no optimizer state.
    Ensemble,
}

const FIXTURES: [Fx; 5] = [Fx::MlpLast, Fx::MlpBest, Fx::MlpFreshOpt, Fx::Bnn, Fx::Ensemble];

impl Fx {
    fn name(self) -> &'static str {
        match self {
            Fx::MlpLast => "mlp-last",
            Fx::MlpBest => "mlp-best",
            Fx::MlpFreshOpt => "mlp-fresh-opt",
            Fx::Bnn => "bnn",
            Fx::Ensemble => "ensemble",
        }
    }

    fn parse(s: &str) -> Fx {
        *FIXTURES.iter().find(|f| f.name() == s).unwrap_or_else(|| panic!("unknown fixture {s}"))
    }

    fn spec(self) -> ModelSpec {
        let mlp = MlpSpec::new(3, &[8, 8], 2).activation(Activation::Tanh);
        match self {
            Fx::MlpLast | Fx::MlpBest | Fx::MlpFreshOpt => ModelSpec::deterministic(mlp, Head::Gaussian),
            Fx::Bnn => ModelSpec::variational(
                MlpSpec::new(3, &[6], 2).activation(Activation::Tanh).init(Init::NormalFanIn),
                VariationalConfig::default(),
                Head::Gaussian,
            ),
            Fx::Ensemble => {
                ModelSpec::ensemble(MlpSpec::new(3, &[5], 2).activation(Activation::Tanh), 4, Head::Gaussian)
            }
        }
    }

    fn dtype(self) -> DType {
        if self == Fx::Ensemble {
            DType::F64
        } else {
            DType::F32
        }
    }

    fn path(self) -> PathBuf {
        root().join("fixtures").join(format!("{}.h5", self.name()))
    }

    /// How a damaged copy is loaded first: the way its owner would.
    fn primary(self) -> LoadMode {
        match self {
            Fx::MlpLast | Fx::Bnn => LoadMode::SteppedOpt,
            Fx::MlpFreshOpt => LoadMode::FreshOpt,
            Fx::MlpBest | Fx::Ensemble => LoadMode::NoOpt,
        }
    }
}

fn toy(n: usize, seed: u64) -> Dataset {
    let mut rng = Rng::new(seed);
    let x = rng.uniform(0.1, 2.0, &[n, 3], DType::F64, &dev()).unwrap().to_vec_f64().unwrap();
    let y = x.chunks(3).map(|r| r[0] * r[1] - 0.3 * r[2]).collect();
    Dataset::new(x, 3, y, 1).unwrap()
}

fn gaussian() -> Objective {
    Objective::new(Likelihood::Gaussian, Regulariser::None)
}

/// Takes `n` Adam steps on a fixed batch (used to give a model and optimizer a state of their
/// own that a failed load must leave alone, and to train the fixtures).
fn step(model: &dyn Module, opt: &mut dyn Optimizer, n: usize, seed: u64) {
    let data = toy(16, seed);
    let batch = data.to_batch(model.params()[0].var.tensor().dtype(), &dev()).unwrap();
    for _ in 0..n {
        let grads = gaussian().loss(model, &batch, 16).unwrap().backward().unwrap();
        opt.step(&grads).unwrap();
    }
}

fn make_fixtures() {
    let dir = root().join("fixtures");
    std::fs::create_dir_all(&dir).unwrap();
    // The MLP: two epochs of the trainer, which writes last.h5 and best.h5.
    let run = dir.join("run");
    let data = toy(96, 1);
    let std = Standardizer::fit(&data, &[Transform::Log, Transform::CubeRoot, Transform::None])
        .unwrap()
        .with_target_scaling(&data)
        .unwrap();
    let model = Fx::MlpLast.spec().build(DType::F32, &dev(), 5).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 32,
        progress: false,
        dir: Some(run.clone()),
        standardizer: Some(std.clone()),
        meta: BTreeMap::from([("study".to_string(), "damage".to_string())]),
        ..TrainConfig::default()
    };
    let train = std.apply(&data).unwrap();
    Trainer::new(cfg, &dev())
        .fit(model.as_ref(), &mut opt, &train, Some(&train), &gaussian(), |_| Control::Continue)
        .unwrap();
    std::fs::copy(run.join(LAST), Fx::MlpLast.path()).unwrap();
    std::fs::copy(run.join(BEST), Fx::MlpBest.path()).unwrap();

    // A trained MLP saved with an optimizer that has not stepped.
    let model = Fx::MlpFreshOpt.spec().build(DType::F32, &dev(), 6).unwrap();
    step(model.as_ref(), &mut Adam::new(model.params(), 1e-2), 3, 2);
    let fresh = Adam::new(model.params(), 1e-3);
    let ckpt = Checkpoint { meta: BTreeMap::from([("note".into(), "fresh".into())]), ..Checkpoint::default() };
    ckpt.save(Fx::MlpFreshOpt.path(), model.as_ref(), Some(&fresh)).unwrap();

    // A BNN with Adam state after three steps.
    let model = Fx::Bnn.spec().build(DType::F32, &dev(), 7).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    step(model.as_ref(), &mut opt, 3, 3);
    Checkpoint { epoch: 3, ..Checkpoint::default() }.save(Fx::Bnn.path(), model.as_ref(), Some(&opt)).unwrap();

    // An f64 ensemble with a standardizer, saved without its optimizer.
    let model = Fx::Ensemble.spec().build(DType::F64, &dev(), 8).unwrap();
    step(model.as_ref(), &mut Adam::new(model.params(), 1e-2), 3, 4);
    let std = Standardizer::fit(&toy(50, 5), &[Transform::None, Transform::Log, Transform::None]).unwrap();
    Checkpoint { epoch: 1, standardizer: Some(std), ..Checkpoint::default() }
        .save(Fx::Ensemble.path(), model.as_ref(), None)
        .unwrap();
}

// ---------------------------------------------------------------------------------------------
// Cases: a file, how it is loaded, and what must happen.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LoadMode {
    /// `Checkpoint::load` into a model, no optimizer.
    NoOpt,
    /// With an Adam that has not stepped (a resume).
    FreshOpt,
    /// With an Adam that holds state of its own (which a failed load must keep).
    SteppedOpt,
    /// `Checkpoint::load_model`: the model rebuilt from the file alone.
    LoadModel,
    /// `Checkpoint::read_header`.
    Header,
}

impl LoadMode {
    fn name(self) -> &'static str {
        match self {
            LoadMode::NoOpt => "load",
            LoadMode::FreshOpt => "load+fresh-adam",
            LoadMode::SteppedOpt => "load+stepped-adam",
            LoadMode::LoadModel => "load_model",
            LoadMode::Header => "read_header",
        }
    }

    fn parse(s: &str) -> LoadMode {
        [LoadMode::NoOpt, LoadMode::FreshOpt, LoadMode::SteppedOpt, LoadMode::LoadModel, LoadMode::Header]
            .into_iter()
            .find(|m| m.name() == s)
            .unwrap_or_else(|| panic!("unknown mode {s}"))
    }

    fn reads_optimizer(self) -> bool {
        matches!(self, LoadMode::FreshOpt | LoadMode::SteppedOpt)
    }

    fn reads_params(self) -> bool {
        self != LoadMode::Header
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// An error that names the file and every item in `names`.
    Error,
    /// Either such an error or a load whose every value equals the undamaged file's.
    ErrorOrIdentical,
    /// A load whose every value equals the undamaged file's (a harmless difference).
    Identical,
}

impl Expect {
    fn name(self) -> &'static str {
        match self {
            Expect::Error => "error",
            Expect::ErrorOrIdentical => "error-or-identical",
            Expect::Identical => "identical",
        }
    }
    fn parse(s: &str) -> Expect {
        [Expect::Error, Expect::ErrorOrIdentical, Expect::Identical]
            .into_iter()
            .find(|e| e.name() == s)
            .unwrap_or_else(|| panic!("unknown expectation {s}"))
    }
}

#[derive(Debug, Clone)]
struct Case {
    kind: String,
    what: String,
    fx: Fx,
    mode: LoadMode,
    expect: Expect,
    path: PathBuf,
    /// Items (dataset paths, attribute or group names) the error message must name.
    names: Vec<String>,
}

impl Case {
    fn line(&self) -> String {
        let clean = |s: &str| s.replace(['\t', '\n'], " ");
        format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            clean(&self.kind),
            clean(&self.what),
            self.fx.name(),
            self.mode.name(),
            self.expect.name(),
            self.path.display(),
            self.names.join("|")
        )
    }

    fn parse(line: &str) -> Case {
        let f: Vec<&str> = line.split('\t').collect();
        assert_eq!(f.len(), 7, "bad manifest line {line}");
        Case {
            kind: f[0].into(),
            what: f[1].into(),
            fx: Fx::parse(f[2]),
            mode: LoadMode::parse(f[3]),
            expect: Expect::parse(f[4]),
            path: PathBuf::from(f[5]),
            names: f[6].split('|').filter(|s| !s.is_empty()).map(String::from).collect(),
        }
    }
}

/// Collects cases; each damaged file gets a unique name under `root()/cases`.
struct Cases {
    list: Vec<Case>,
    dir: PathBuf,
}

impl Cases {
    fn file(&self, stem: &str) -> PathBuf {
        self.dir.join(format!("{:04}-{stem}.h5", self.list.len()))
    }

    #[allow(clippy::too_many_arguments)]
    fn push(&mut self, kind: &str, what: &str, fx: Fx, mode: LoadMode, expect: Expect, path: &Path, names: &[&str]) {
        self.list.push(Case {
            kind: kind.into(),
            what: what.into(),
            fx,
            mode,
            expect,
            path: path.to_path_buf(),
            names: names.iter().map(|s| s.to_string()).collect(),
        });
    }

    /// A copy of `fx`'s checkpoint changed by `edit` (through the HDF5 library, so the result
    /// is a well-formed HDF5 file holding a bad checkpoint), loaded in each of `modes`.
    #[allow(clippy::too_many_arguments)]
    fn edited(
        &mut self,
        kind: &str,
        what: &str,
        fx: Fx,
        modes: &[LoadMode],
        expect: Expect,
        names: &[&str],
        edit: impl FnOnce(&hdf5::File) -> hdf5::Result<()>,
    ) {
        // Edited through nn::io::open_rw_h5, which unseals it: a hand-made checkpoint, which the
        // loader's own checks must judge.
        let path = self.edit_copy(what, fx, true, edit);
        for &m in modes {
            self.push(kind, what, fx, m, expect, &path, names);
        }
    }

    /// Like [`Cases::edited`] but the seal is kept: a sealed checkpoint changed after saving.
    fn edited_sealed(
        &mut self,
        kind: &str,
        what: &str,
        fx: Fx,
        modes: &[LoadMode],
        edit: impl FnOnce(&hdf5::File) -> hdf5::Result<()>,
    ) {
        let path = self.edit_copy(what, fx, false, edit);
        for &m in modes {
            self.push(kind, what, fx, m, Expect::Error, &path, &[]);
        }
    }

    /// A copy of `fx`'s file changed by `edit`: through nn::io::open_rw_h5 (which unseals it)
    /// when `unseal`, else through the HDF5 library directly, as another program would.
    fn edit_copy(
        &self,
        what: &str,
        fx: Fx,
        unseal: bool,
        edit: impl FnOnce(&hdf5::File) -> hdf5::Result<()>,
    ) -> PathBuf {
        let path = self.file(&slug(what));
        std::fs::copy(fx.path(), &path).unwrap();
        let file = if unseal {
            nn::io::open_rw_h5(&path).unwrap()
        } else {
            hdf5::File::with_options().with_fapl(|p| p.file_locking(false)).open_rw(&path).unwrap()
        };
        edit(&file).unwrap_or_else(|e| panic!("cannot make case {what}: {e}"));
        file.close().unwrap();
        path
    }

    /// A file with the given bytes.
    #[allow(clippy::too_many_arguments)]
    fn bytes(&mut self, kind: &str, what: &str, fx: Fx, modes: &[LoadMode], expect: Expect, names: &[&str], b: &[u8]) {
        let path = self.file(&slug(what));
        std::fs::write(&path, b).unwrap();
        for &m in modes {
            self.push(kind, what, fx, m, expect, &path, names);
        }
    }
}

fn slug(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '-' }).take(60).collect();
    out.truncate(60);
    out
}

// ---------------------------------------------------------------------------------------------
// Building the damaged files.

/// Where each dataset's values lie in a fixture file: (dataset path, byte range). Found by
/// searching the file for the values' stored bytes (the datasets are small and unique).
fn data_ranges(path: &Path) -> Vec<(String, std::ops::Range<usize>)> {
    let bytes = std::fs::read(path).unwrap();
    let f = nn::io::H5File::open(path).unwrap();
    let mut out = Vec::new();
    for group in ["params", "optimizer"] {
        if !f.exists(group) {
            continue;
        }
        for name in f.members(group).unwrap() {
            let full = format!("{group}/{name}");
            let ds = f.dataset(&full).unwrap();
            let (_, kind) = f.float_shape(&full).unwrap();
            let raw: Vec<u8> = match kind {
                nn::io::FloatKind::F32 => ds.read_raw::<f32>().unwrap().iter().flat_map(|v| v.to_le_bytes()).collect(),
                nn::io::FloatKind::F64 => ds.read_raw::<f64>().unwrap().iter().flat_map(|v| v.to_le_bytes()).collect(),
            };
            let hits: Vec<usize> =
                bytes.windows(raw.len()).enumerate().filter(|(_, w)| *w == raw).map(|(i, _)| i).collect();
            assert_eq!(hits.len(), 1, "{full} of {} found {} times", path.display(), hits.len());
            // The Fletcher32 checksum follows the chunk's data.
            out.push((full, hits[0]..hits[0] + raw.len() + 4));
        }
    }
    out
}

/// A small deterministic generator for offsets and bits (splitmix64).
struct Mix(u64);
impl Mix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

const TRUNCATIONS: usize = 36;
const DATA_FLIPS: usize = 32;
const META_FLIPS: usize = 120;

fn truncations_and_flips(cases: &mut Cases) {
    for fx in FIXTURES {
        let bytes = std::fs::read(fx.path()).unwrap();
        let n = bytes.len();
        let modes = [fx.primary(), LoadMode::LoadModel];
        // Truncations: the first bytes, the superblock's end, and evenly through the file.
        let mut cuts: Vec<usize> = vec![0, 1, 7, 8, 47, 95, n - 1];
        cuts.extend((1..=TRUNCATIONS).map(|i| i * n / (TRUNCATIONS + 1)));
        cuts.sort();
        cuts.dedup();
        for cut in cuts {
            cases.bytes(
                "truncation",
                &format!("{} cut at {cut} of {n}", fx.name()),
                fx,
                &modes,
                Expect::Error,
                &[],
                &bytes[..cut],
            );
        }
        // Bit flips: in each dataset's values (the checksum must catch them) and in the rest.
        let ranges = data_ranges(&fx.path());
        let data: Vec<(usize, &str)> =
            ranges.iter().flat_map(|(name, r)| r.clone().map(move |i| (i, name.as_str()))).collect();
        let meta: Vec<usize> = (0..n).filter(|i| !ranges.iter().any(|(_, r)| r.contains(i))).collect();
        let mut mix = Mix(fx as u64 + 17);
        for k in 0..DATA_FLIPS.min(data.len()) {
            let (at, name) = data[k * data.len() / DATA_FLIPS.min(data.len())];
            let bit = mix.next() % 8;
            let mut b = bytes.clone();
            b[at] ^= 1 << bit;
            let what = format!("{} bit {bit} of byte {at} ({name})", fx.name());
            let path = cases.file(&slug(&what));
            std::fs::write(&path, &b).unwrap();
            for m in modes {
                let read = if name.starts_with("optimizer/") { m.reads_optimizer() } else { m.reads_params() };
                if read {
                    cases.push("bit flip in data", &what, fx, m, Expect::Error, &path, &[name]);
                } else {
                    // load_model does not read the optimizer state: its damage does not matter.
                    cases.push("bit flip in unread optimizer data", &what, fx, m, Expect::ErrorOrIdentical, &path, &[]);
                }
            }
        }
        for k in 0..META_FLIPS {
            let stride = (meta.len() / META_FLIPS).max(1);
            let at = meta[(k * meta.len() / META_FLIPS + mix.next() as usize % stride) % meta.len()];
            let bit = mix.next() % 8;
            let mut b = bytes.clone();
            b[at] ^= 1 << bit;
            let what = format!("{} bit {bit} of byte {at} (metadata)", fx.name());
            cases.bytes("bit flip in metadata", &what, fx, &modes, Expect::ErrorOrIdentical, &[], &b);
        }
    }
}

/// A change made to a copy of a checkpoint.
type Edit = dyn Fn(&hdf5::File) -> hdf5::Result<()>;

/// Named tensors as the bits of their values.
type Bits = Vec<(String, Vec<u64>)>;

fn set_attr<T: hdf5::H5Type>(loc: &hdf5::Location, name: &str, value: &T) -> hdf5::Result<()> {
    if loc.attr_names()?.iter().any(|a| a == name) {
        loc.delete_attr(name)?;
    }
    loc.new_attr::<T>().create(name)?.write_scalar(value)
}

fn set_str(loc: &hdf5::Location, name: &str, value: &str) -> hdf5::Result<()> {
    set_attr(loc, name, &value.parse::<VarLenUnicode>().map_err(|e| hdf5::Error::from(e.to_string().as_str()))?)
}

fn read_str(path: &Path, name: &str) -> String {
    nn::io::H5File::open(path).unwrap().attr_string("", name).unwrap()
}

/// Replaces dataset `full` ("params/x") by `data` of `shape`, Fletcher32-checked when `checked`.
fn replace<T: hdf5::H5Type>(
    f: &hdf5::File,
    full: &str,
    shape: &[usize],
    data: &[T],
    checked: bool,
) -> hdf5::Result<()> {
    let (g, n) = full.split_once('/').expect("a group/name path");
    let group = f.group(g)?;
    if group.link_exists(n) {
        group.unlink(n)?;
    }
    if checked {
        nn::io::write_checked(&group, n, shape, data).map_err(|e| hdf5::Error::from(e.as_str()))
    } else {
        group.new_dataset::<T>().shape(shape).create(n)?.write_raw(data)
    }
}

/// The stored values and shape of a dataset of a fixture.
fn values(fx: Fx, full: &str) -> (Vec<f64>, Vec<usize>) {
    nn::io::H5File::open(fx.path()).unwrap().read_f64(full, None).unwrap()
}

fn members(fx: Fx, group: &str) -> Vec<String> {
    nn::io::H5File::open(fx.path())
        .unwrap()
        .members(group)
        .unwrap()
        .into_iter()
        .map(|n| format!("{group}/{n}"))
        .collect()
}

fn first_param(fx: Fx) -> String {
    members(fx, "params").remove(0)
}

/// The first parameter with two axes (a weight matrix).
fn weight_param(fx: Fx) -> String {
    members(fx, "params").into_iter().find(|n| values(fx, n).1.len() == 2).expect("a 2-D parameter")
}

fn hand_made(cases: &mut Cases) {
    use LoadMode::*;
    let p = weight_param(Fx::MlpLast);
    let (w, shape) = values(Fx::MlpLast, &p);
    let w32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
    let numel = w.len();
    let mats: Vec<String> =
        members(Fx::MlpLast, "params").into_iter().filter(|n| values(Fx::MlpLast, n).1.len() == 2).collect();
    let opt_m = &mats[0].replace("params/", "optimizer/adam.m.");
    let opt_v = &mats[1].replace("params/", "optimizer/adam.v.");

    // Wrong dtypes where float data belongs.
    let k = "wrong dtype";
    let ints: Vec<i32> = (0..numel as i32).collect();
    cases.edited(k, "int32 weights", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[&p], |f| {
        replace(f, &p, &shape, &ints, true)
    });
    let longs: Vec<i64> = vec![1; numel];
    cases.edited(k, "int64 optimizer state", Fx::MlpLast, &[SteppedOpt, FreshOpt], Expect::Error, &[opt_m], |f| {
        replace(f, opt_m, &shape, &longs, false)
    });
    let bools: Vec<bool> = (0..numel).map(|i| i % 2 == 0).collect();
    cases.edited(k, "bool (an HDF5 enum) weights", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[&p], |f| {
        replace(f, &p, &shape, &bools, false)
    });
    let strs: Vec<VarLenUnicode> = (0..numel).map(|i| i.to_string().parse().unwrap()).collect();
    cases.edited(
        k,
        "variable-length strings as weights",
        Fx::MlpLast,
        &[NoOpt, LoadModel],
        Expect::Error,
        &[&p],
        |f| replace(f, &p, &shape, &strs, false),
    );
    let fixed: Vec<FixedAscii<8>> = (0..numel).map(|i| FixedAscii::from_ascii(&i.to_string()).unwrap()).collect();
    cases.edited(k, "fixed-length strings as weights", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[&p], |f| {
        replace(f, &p, &shape, &fixed, false)
    });
    let bnn_p = first_param(Fx::Bnn);
    let (bw, bshape) = values(Fx::Bnn, &bnn_p);
    let bu8: Vec<u8> = bw.iter().map(|_| 1).collect();
    cases.edited(k, "uint8 BNN weights", Fx::Bnn, &[SteppedOpt, LoadModel], Expect::Error, &[&bnn_p], |f| {
        replace(f, &bnn_p, &bshape, &bu8, true)
    });
    // Only the model's dtype decides: an f64 dataset of an f32 model whose values fit is a
    // conversion, not damage.
    cases.edited(k, "float64 weights in a float32 checkpoint", Fx::MlpLast, &[NoOpt], Expect::Identical, &[], |f| {
        replace(f, &p, &shape, &w, true)
    });

    // Wrong shapes.
    let k = "wrong shape";
    let t = [shape[1], shape[0]];
    cases.edited(k, "weights transposed", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[&p], |f| {
        replace(f, &p, &t, &w32, true)
    });
    cases.edited(k, "weights flattened", Fx::MlpLast, &[NoOpt], Expect::Error, &[&p], |f| {
        replace(f, &p, &[numel], &w32, true)
    });
    cases.edited(k, "weights with an extra axis", Fx::MlpLast, &[NoOpt], Expect::Error, &[&p], |f| {
        replace(f, &p, &[1, shape[0], shape[1]], &w32, true)
    });
    cases.edited(k, "a scalar where a vector belongs", Fx::Ensemble, &[NoOpt, LoadModel], Expect::Error, &[], |f| {
        let q = first_param(Fx::Ensemble);
        replace(f, &q, &[], &[1.0f64], false)
    });
    let (v, vshape) = values(Fx::MlpLast, opt_v);
    let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
    cases.edited(k, "optimizer state flattened", Fx::MlpLast, &[SteppedOpt, FreshOpt], Expect::Error, &[opt_v], |f| {
        replace(f, opt_v, &[v.len()], &v32, true)
    });
    cases.edited(
        k,
        "optimizer state of another parameter's shape",
        Fx::MlpLast,
        &[SteppedOpt],
        Expect::Error,
        &[opt_m],
        |f| replace(f, opt_m, &vshape, &v32, true),
    );

    // Shapes that claim far more than the file holds: a chunked dataset whose one written chunk
    // is all it stores. Reading it by its shape would allocate the claim.
    let k = "huge shape claim";
    // A resizable dataset written at its small size, then grown: it stores one chunk.
    let huge = |f: &hdf5::File, full: &str, small: &[usize], claim: &[usize]| -> hdf5::Result<()> {
        let (g, n) = full.split_once('/').unwrap();
        let group = f.group(g)?;
        if group.link_exists(n) {
            group.unlink(n)?;
        }
        let extents = hdf5::SimpleExtents::resizable(small.to_vec());
        let ds = group.new_dataset::<f32>().shape(extents).chunk(small.to_vec()).fletcher32().create(n)?;
        ds.write_raw(&vec![0.5f32; small.iter().product()])?;
        ds.resize(claim.to_vec())
    };
    let vec_p = members(Fx::MlpFreshOpt, "params").into_iter().find(|n| n.ends_with("bias")).unwrap();
    cases.edited(
        k,
        "a bias claiming 2^36 floats",
        Fx::MlpFreshOpt,
        &[FreshOpt, LoadModel],
        Expect::Error,
        &[&vec_p],
        |f| huge(f, &vec_p, &[8], &[1 << 36]),
    );
    let bias_m = vec_p.replace("params/", "optimizer/adam.m.");
    cases.edited(
        k,
        "optimizer state claiming 2^36 floats (fresh Adam)",
        Fx::MlpLast,
        &[FreshOpt, SteppedOpt],
        Expect::Error,
        &[&bias_m],
        |f| huge(f, &bias_m, &[8], &[1 << 36]),
    );
    cases.edited(
        k,
        "an extra optimizer dataset claiming 2^36 floats",
        Fx::MlpFreshOpt,
        &[FreshOpt],
        Expect::Error,
        &["optimizer/adam.m.extra"],
        |f| huge(f, "optimizer/adam.m.extra", &[64], &[1 << 36]),
    );
    cases.edited(k, "a 2-D weight claiming 2^20 x 2^20", Fx::MlpLast, &[NoOpt, LoadModel], Expect::Error, &[&p], |f| {
        huge(f, &p, &shape, &[1 << 20, 1 << 20])
    });
    // The model description claims a network far larger than the file stores.
    let spec = read_str(&Fx::MlpBest.path(), "model");
    let big = spec.replacen("[8,8]", "[200000000,8]", 1);
    assert_ne!(big, spec, "the model attribute changed its layout: {spec}");
    cases.edited(
        k,
        "model attribute claiming 2e9 weights",
        Fx::MlpBest,
        &[LoadModel, NoOpt, Header],
        Expect::Error,
        &["model"],
        |f| set_str(f, "model", &big),
    );

    // Missing and extra datasets.
    for fx in [Fx::MlpLast, Fx::Bnn] {
        let mut names = members(fx, "params");
        names.extend(members(fx, "optimizer"));
        for full in names {
            let kind = if full.starts_with("optimizer/adam.v.") { "missing adam.v.<param>" } else { "missing dataset" };
            let modes: &[LoadMode] =
                if full.starts_with("optimizer/") { &[SteppedOpt, FreshOpt] } else { &[SteppedOpt, LoadModel] };
            let (g, n) = full.split_once('/').unwrap();
            let (g, n) = (g.to_string(), n.to_string());
            cases.edited(kind, &format!("{} without {full}", fx.name()), fx, modes, Expect::Error, &[&full], |f| {
                f.group(&g)?.unlink(&n)
            });
        }
    }
    let k = "extra dataset";
    cases.edited(
        k,
        "an extra parameter",
        Fx::MlpLast,
        &[NoOpt, LoadModel],
        Expect::Error,
        &["params/layers.9.weight"],
        |f| replace(f, "params/layers.9.weight", &[2], &[1.0f32, 2.0], true),
    );
    cases.edited(k, "an extra optimizer tensor", Fx::Bnn, &[SteppedOpt], Expect::Error, &["optimizer/adam.w.x"], |f| {
        replace(f, "optimizer/adam.w.x", &[2], &[1.0f32, 2.0], true)
    });
    cases.edited(
        k,
        "one optimizer tensor in a group that should be empty",
        Fx::MlpFreshOpt,
        &[FreshOpt, SteppedOpt],
        Expect::Error,
        &[],
        |f| {
            let (m, s) = values(Fx::MlpLast, opt_m);
            let m32: Vec<f32> = m.iter().map(|&x| x as f32).collect();
            replace(f, opt_m, &s, &m32, true)
        },
    );
    cases.edited(
        k,
        "a dataset where /params belongs",
        Fx::MlpBest,
        &[NoOpt, LoadModel],
        Expect::Error,
        &["params"],
        |f| {
            f.unlink("params")?;
            f.new_dataset::<f32>().shape([3]).create("params")?.write_raw(&[1.0f32, 2.0, 3.0])
        },
    );
    cases.edited(k, "a group where a parameter belongs", Fx::MlpBest, &[NoOpt, LoadModel], Expect::Error, &[&p], |f| {
        let (g, n) = p.split_once('/').unwrap();
        f.group(g)?.unlink(n)?;
        f.group(g)?.create_group(n).map(|_| ())
    });
    cases.edited(k, "an empty /params group", Fx::MlpBest, &[NoOpt, LoadModel], Expect::Error, &[], |f| {
        f.unlink("params")?;
        f.create_group("params").map(|_| ())
    });
    // Annotations outside the checkpoint's layout (an h5py user's notes) change nothing.
    cases.edited(
        "extra group or attribute",
        "an extra root group",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel],
        Expect::Identical,
        &[],
        |f| f.create_group("notes")?.new_attr::<u32>().create("run")?.write_scalar(&3u32),
    );
    cases.edited(
        "extra group or attribute",
        "an extra root attribute",
        Fx::Bnn,
        &[SteppedOpt, LoadModel, Header],
        Expect::Identical,
        &[],
        |f| set_str(f, "comment", "trained on the cluster"),
    );

    // The optimizer group itself.
    let k = "optimizer group";
    cases.edited(
        k,
        "no /optimizer group, an optimizer passed",
        Fx::Bnn,
        &[SteppedOpt, FreshOpt],
        Expect::Error,
        &["/optimizer"],
        |f| f.unlink("optimizer"),
    );
    cases.push(
        k,
        "best.h5 (no optimizer) with an optimizer",
        Fx::MlpBest,
        SteppedOpt,
        Expect::Error,
        &Fx::MlpBest.path(),
        &["/optimizer"],
    );
    cases.edited(
        k,
        "an empty /optimizer group after steps were taken",
        Fx::MlpLast,
        &[SteppedOpt, FreshOpt],
        Expect::Error,
        &["optimizer/"],
        |f| {
            f.unlink("optimizer")?;
            f.create_group("optimizer").map(|_| ())
        },
    );

    // Missing attributes. A required one is named; an optional one (the model description,
    // the standardizer, the trainer state) may be absent from a hand-made file, so its loss
    // from a saved file is caught by the seal.
    let k = "missing attribute";
    for name in ["format", "version", "fingerprint", "meta", "epoch", "optimizer_steps", "streams"] {
        cases.edited(
            k,
            &format!("no '{name}'"),
            Fx::MlpLast,
            &[SteppedOpt, LoadModel, Header],
            Expect::Error,
            &[name],
            |f| f.delete_attr(name),
        );
    }
    cases.edited(k, "no 'model' (load_model needs it)", Fx::MlpLast, &[LoadModel], Expect::Error, &["model"], |f| {
        f.delete_attr("model")
    });
    for name in ["model", "standardizer", "trainer"] {
        cases.edited_sealed(
            k,
            &format!("no '{name}' in a sealed file"),
            Fx::MlpLast,
            &[SteppedOpt, LoadModel, Header],
            |f| f.delete_attr(name),
        );
    }
    let k = "sealed file changed after saving";
    cases.edited_sealed(k, "an attribute added with HDF5", Fx::Bnn, &[SteppedOpt, LoadModel, Header], |f| {
        set_str(f, "comment", "hello")
    });
    cases.edited_sealed(k, "the epoch rewritten", Fx::MlpLast, &[SteppedOpt, Header], |f| set_attr(f, "epoch", &7u64));
    cases.edited_sealed(k, "a weight rewritten", Fx::MlpBest, &[NoOpt, LoadModel], |f| {
        let (v, sh) = values(Fx::MlpBest, &weight_param(Fx::MlpBest));
        let v32: Vec<f32> = v.iter().map(|x| *x as f32 + 1.0).collect();
        replace(f, &weight_param(Fx::MlpBest), &sh, &v32, true)
    });

    // Attributes of the wrong type or value.
    let k = "attribute type or value";
    let bad: Vec<(&str, &str, Box<Edit>)> = vec![
        ("epoch", "epoch = 2.7", Box::new(|f| set_attr(f, "epoch", &2.7f64))),
        ("epoch", "epoch = -1 (int64)", Box::new(|f| set_attr(f, "epoch", &-1i64))),
        ("epoch", "epoch = NaN", Box::new(|f| set_attr(f, "epoch", &f64::NAN))),
        ("epoch", "epoch = '2' (a string)", Box::new(|f| set_str(f, "epoch", "2"))),
        ("epoch", "epoch = true", Box::new(|f| set_attr(f, "epoch", &true))),
        (
            "epoch",
            "epoch as [2, 2]",
            Box::new(|f| {
                f.delete_attr("epoch")?;
                f.new_attr::<u64>().shape([2]).create("epoch")?.write_raw(&[2u64, 2])
            }),
        ),
        ("version", "version = 999", Box::new(|f| set_attr(f, "version", &999u64))),
        ("version", "version = '2' (a string)", Box::new(|f| set_str(f, "version", "2"))),
        ("version", "version = NaN", Box::new(|f| set_attr(f, "version", &f64::NAN))),
        ("version", "version = 1", Box::new(|f| set_attr(f, "version", &1u64))),
        ("version", "version = 2.0 (a float)", Box::new(|f| set_attr(f, "version", &2.0f64))),
        ("optimizer_steps", "optimizer_steps = -5", Box::new(|f| set_attr(f, "optimizer_steps", &-5i32))),
        ("optimizer_steps", "optimizer_steps = 1.5", Box::new(|f| set_attr(f, "optimizer_steps", &1.5f32))),
        ("format", "format = 'other-checkpoint'", Box::new(|f| set_str(f, "format", "other-checkpoint"))),
        (
            "format",
            "format = 'sigmagrad-checkpoint ' (a space)",
            Box::new(|f| set_str(f, "format", "sigmagrad-checkpoint ")),
        ),
        ("format", "format = 7", Box::new(|f| set_attr(f, "format", &7u8))),
        ("fingerprint", "fingerprint = 3.5", Box::new(|f| set_attr(f, "fingerprint", &3.5f64))),
        ("model", "model = 'not json'", Box::new(|f| set_str(f, "model", "not json"))),
        ("model", "model = 5", Box::new(|f| set_attr(f, "model", &5i32))),
        ("meta", "meta = a JSON array", Box::new(|f| set_str(f, "meta", "[1, 2]"))),
        ("meta", "meta = 1.5", Box::new(|f| set_attr(f, "meta", &1.5f64))),
        ("streams", "streams = '{}'", Box::new(|f| set_str(f, "streams", "{}"))),
        ("trainer", "trainer = 'null'", Box::new(|f| set_str(f, "trainer", "null"))),
    ];
    for (name, what, edit) in bad {
        cases.edited(k, what, Fx::MlpLast, &[SteppedOpt, LoadModel, Header], Expect::Error, &[name], |f| edit(f));
    }
    // Values of the right type that contradict the rest of the file.
    let std_json = read_str(&Fx::MlpLast.path(), "standardizer");
    let mut s: serde_json::Value = serde_json::from_str(&std_json).unwrap();
    s["transforms"] = serde_json::json!(["None"]);
    s["mean"] = serde_json::json!([0.5, 0.25]);
    let two_means = s.to_string();
    cases.edited(
        k,
        "standardizer with 2 means and 1 transform",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel, Header],
        Expect::Error,
        &["standardizer"],
        |f| set_str(f, "standardizer", &two_means),
    );
    let mut s: serde_json::Value = serde_json::from_str(&std_json).unwrap();
    s["std"][1] = serde_json::json!(0.0);
    let zero_std = s.to_string();
    cases.edited(
        k,
        "standardizer with a zero width",
        Fx::MlpLast,
        &[LoadModel, Header],
        Expect::Error,
        &["standardizer"],
        |f| set_str(f, "standardizer", &zero_std),
    );
    let mut s: serde_json::Value = serde_json::from_str(&std_json).unwrap();
    s["mean"][0] = serde_json::json!("INF");
    let inf_mean = s.to_string().replace("\"INF\"", "1e999");
    cases.edited(
        k,
        "standardizer with a mean of 1e999",
        Fx::MlpLast,
        &[LoadModel, Header],
        Expect::Error,
        &["standardizer"],
        |f| set_str(f, "standardizer", &inf_mean),
    );
    let mut s: serde_json::Value = serde_json::from_str(&std_json).unwrap();
    for key in ["transforms", "shifts", "mean", "std"] {
        s[key].as_array_mut().unwrap().pop();
    }
    let two_features = s.to_string();
    cases.edited(
        k,
        "standardizer of 2 features for a 3-input model",
        Fx::MlpLast,
        &[LoadModel, Header],
        Expect::Error,
        &["standardizer"],
        |f| set_str(f, "standardizer", &two_features),
    );
    let streams = read_str(&Fx::Bnn.path(), "streams");
    let mut st: serde_json::Value = serde_json::from_str(&streams).unwrap();
    st.as_array_mut().unwrap().pop();
    let fewer = st.to_string();
    cases.edited(k, "BNN streams missing one", Fx::Bnn, &[SteppedOpt, LoadModel], Expect::Error, &["streams"], |f| {
        set_str(f, "streams", &fewer)
    });
    let renamed = streams.replacen("\"name\":\"", "\"name\":\"x", 1);
    cases.edited(k, "BNN stream renamed", Fx::Bnn, &[SteppedOpt, LoadModel], Expect::Error, &["streams"], |f| {
        set_str(f, "streams", &renamed)
    });
    let trainer = read_str(&Fx::MlpLast.path(), "trainer");
    let mut tr: serde_json::Value = serde_json::from_str(&trainer).unwrap();
    tr["epochs_done"] = serde_json::json!(0);
    let inconsistent = tr.to_string();
    cases.edited(
        k,
        "trainer state with more history than epochs",
        Fx::MlpLast,
        &[SteppedOpt, Header],
        Expect::Error,
        &["trainer"],
        |f| set_str(f, "trainer", &inconsistent),
    );
    let other_spec = read_str(&Fx::MlpBest.path(), "model").replacen("[8,8]", "[8,9]", 1);
    cases.edited(
        k,
        "model attribute of another network",
        Fx::MlpBest,
        &[NoOpt, LoadModel],
        Expect::Error,
        &["model"],
        |f| set_str(f, "model", &other_spec),
    );

    // Harmless type variants: the value is what counts.
    let k = "accepted type variant";
    cases.edited(
        k,
        "format as a fixed-length ASCII string",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel, Header],
        Expect::Identical,
        &[],
        |f| set_attr(f, "format", &FixedAscii::<20>::from_ascii("sigmagrad-checkpoint").unwrap()),
    );
    cases.edited(
        k,
        "format as a fixed-length UTF-8 string, NUL-padded",
        Fx::Bnn,
        &[SteppedOpt, LoadModel],
        Expect::Identical,
        &[],
        |f| set_attr(f, "format", &"sigmagrad-checkpoint".parse::<FixedUnicode<32>>().unwrap()),
    );
    let epoch = nn::io::H5File::open(Fx::MlpLast.path()).unwrap().attr_u64("", "epoch").unwrap();
    cases.edited(k, "epoch as uint8", Fx::MlpLast, &[SteppedOpt, Header], Expect::Identical, &[], |f| {
        set_attr(f, "epoch", &(epoch as u8))
    });
    cases.edited(k, "version as int32", Fx::MlpLast, &[SteppedOpt, Header], Expect::Identical, &[], |f| {
        set_attr(f, "version", &(nn::checkpoint::VERSION as i32))
    });
    cases.edited(
        k,
        "weights without the Fletcher32 filter",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel],
        Expect::Identical,
        &[],
        |f| replace(f, &p, &shape, &w32, false),
    );

    // Values no network should hold.
    let k = "non-finite or absurd values";
    for (what, v) in [("NaN", f32::NAN), ("+Inf", f32::INFINITY), ("-Inf", f32::NEG_INFINITY)] {
        let mut bad = w32.clone();
        bad[numel / 2] = v;
        cases.edited(
            k,
            &format!("a weight of {what}"),
            Fx::MlpLast,
            &[SteppedOpt, LoadModel],
            Expect::Error,
            &[&p],
            |f| replace(f, &p, &shape, &bad, true),
        );
    }
    let mut bad = w.clone();
    bad[1] = 1e300;
    cases.edited(
        k,
        "a weight of 1e300 (float64 data, float32 model)",
        Fx::MlpLast,
        &[NoOpt, LoadModel],
        Expect::Error,
        &[&p],
        |f| replace(f, &p, &shape, &bad, true),
    );
    let q = first_param(Fx::Ensemble);
    let (ew, eshape) = values(Fx::Ensemble, &q);
    let mut bad = ew.clone();
    bad[0] = 1e300;
    cases.edited(
        k,
        "a weight of 1e300 in a float64 model",
        Fx::Ensemble,
        &[NoOpt, LoadModel],
        Expect::Error,
        &[&q],
        |f| replace(f, &q, &eshape, &bad, true),
    );
    let mut bad = ew.clone();
    bad[2] = f64::NAN;
    cases.edited(k, "a NaN weight in a float64 model", Fx::Ensemble, &[NoOpt, LoadModel], Expect::Error, &[&q], |f| {
        replace(f, &q, &eshape, &bad, true)
    });
    let mut neg = v32.clone();
    neg[3] = -1e-3;
    cases.edited(k, "a negative adam.v", Fx::MlpLast, &[SteppedOpt, FreshOpt], Expect::Error, &[opt_v], |f| {
        replace(f, opt_v, &vshape, &neg, true)
    });
    let mut nan = v32.clone();
    nan[0] = f32::NAN;
    cases.edited(k, "a NaN in adam.v", Fx::MlpLast, &[SteppedOpt], Expect::Error, &[opt_v], |f| {
        replace(f, opt_v, &vshape, &nan, true)
    });
    let (m, mshape) = values(Fx::MlpLast, opt_m);
    let mut huge_m = m.clone();
    huge_m[0] = 1e300;
    cases.edited(
        k,
        "adam.m of 1e300 (float64 data, float32 model)",
        Fx::MlpLast,
        &[SteppedOpt],
        Expect::Error,
        &[opt_m],
        |f| replace(f, opt_m, &mshape, &huge_m, true),
    );

    // Datasets created but never written.
    let k = "never written";
    cases.edited(
        k,
        "weights created, never written",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel],
        Expect::Error,
        &[&p],
        |f| {
            let (g, n) = p.split_once('/').unwrap();
            f.group(g)?.unlink(n)?;
            f.group(g)?.new_dataset::<f32>().shape(shape.clone()).create(n).map(|_| ())
        },
    );
    cases.edited(
        k,
        "chunked weights created, never written",
        Fx::Bnn,
        &[SteppedOpt, LoadModel],
        Expect::Error,
        &[&bnn_p],
        |f| {
            let (g, n) = bnn_p.split_once('/').unwrap();
            f.group(g)?.unlink(n)?;
            f.group(g)?
                .new_dataset::<f32>()
                .shape(bshape.clone())
                .chunk(bshape.clone())
                .fletcher32()
                .create(n)
                .map(|_| ())
        },
    );
    cases.edited(
        k,
        "adam.m created, never written",
        Fx::MlpLast,
        &[SteppedOpt, FreshOpt],
        Expect::Error,
        &[opt_m],
        |f| {
            let (g, n) = opt_m.split_once('/').unwrap();
            f.group(g)?.unlink(n)?;
            f.group(g)?.new_dataset::<f32>().shape(mshape.clone()).create(n).map(|_| ())
        },
    );
}

/// A valid PNG image (1 x 1, grey), made here: signature, IHDR, IDAT (a stored zlib block), IEND.
fn png() -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xffff_ffffu32;
        for &b in data {
            c ^= b as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend(crc32(&body).to_be_bytes());
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
    chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]);
    // Scanline: filter 0, pixel 0x80. zlib header, one stored block, Adler-32 of the scanline.
    let line = [0u8, 0x80];
    let (a, b) = line.iter().fold((1u32, 0u32), |(a, b), &x| ((a + x as u32) % 65521, (b + a + x as u32) % 65521));
    let mut z = vec![0x78, 0x01, 0x01, 0x02, 0x00, 0xfd, 0xff];
    z.extend_from_slice(&line);
    z.extend(((b << 16) | a).to_be_bytes());
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Files that are not checkpoints at all, and paths that are not regular files.
fn foreign(cases: &mut Cases, notes: &mut Vec<String>) {
    use LoadMode::*;
    let modes = [NoOpt, LoadModel, Header];
    let k = "foreign file";
    cases.bytes(k, "an empty file", Fx::MlpBest, &modes, Expect::Error, &[], b"");
    cases.bytes(k, "a text file", Fx::MlpBest, &modes, Expect::Error, &[], b"epoch,loss\n1,0.5\n");
    cases.bytes(k, "a PNG image", Fx::MlpBest, &modes, Expect::Error, &[], &png());
    cases.bytes(
        k,
        "the HDF5 signature and nothing else",
        Fx::MlpBest,
        &modes,
        Expect::Error,
        &[],
        b"\x89HDF\r\n\x1a\n",
    );
    // A valid HDF5 file of another program, written by the hdf5 crate.
    let path = cases.file("hdf5-crate-table");
    {
        let f = nn::io::create_h5(&path).unwrap();
        f.new_dataset::<f64>().shape([3]).create("clusterE").unwrap().write_raw(&[1.0, 2.0, 3.0]).unwrap();
        set_str(&f, "creator", "another program").unwrap();
        f.close().unwrap();
    }
    for m in modes {
        cases.push(k, "an HDF5 table written by the hdf5 crate", Fx::MlpBest, m, Expect::Error, &path, &["format"]);
    }
    // A valid HDF5 file written by h5py, where Python has it.
    let path = cases.file("h5py-file");
    let script = format!(
        "import h5py, numpy as np\nwith h5py.File({:?}, 'w') as f:\n    f['weights'] = np.arange(6.0).reshape(2, 3)\n    f.attrs['format'] = 'keras'\n",
        path.display().to_string()
    );
    let h5py = Command::new("python3").args(["-c", &script]).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
    if h5py {
        for m in modes {
            cases.push(
                k,
                "an HDF5 file written by h5py (format 'keras')",
                Fx::MlpBest,
                m,
                Expect::Error,
                &path,
                &["format"],
            );
        }
    } else {
        notes.push("h5py is not installed: the h5py-written foreign file was not tried".into());
    }
    // A checkpoint behind a 512-byte user block of junk: HDF5 finds the superblock there and
    // reads the checkpoint as it is, or refuses; never a changed value.
    let mut b = vec![0x5a; 512];
    b.extend(std::fs::read(Fx::MlpLast.path()).unwrap());
    cases.bytes(
        k,
        "a checkpoint behind 512 junk bytes",
        Fx::MlpLast,
        &[SteppedOpt, LoadModel],
        Expect::ErrorOrIdentical,
        &[],
        &b,
    );

    let k = "not a regular file";
    let fifo = cases.file("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());
    assert!(made, "mkfifo failed: the FIFO case cannot be made");
    for m in modes {
        cases.push(k, "a named pipe (FIFO)", Fx::MlpBest, m, Expect::Error, &fifo, &[]);
    }
    let dir = cases.file("directory");
    std::fs::create_dir_all(&dir).unwrap();
    for m in modes {
        cases.push(k, "a directory", Fx::MlpBest, m, Expect::Error, &dir, &[]);
    }
    if Path::new("/dev/zero").exists() {
        cases.push(k, "a character device (/dev/zero)", Fx::MlpBest, NoOpt, Expect::Error, Path::new("/dev/zero"), &[]);
    }
    let link = cases.file("link-to-fifo");
    std::os::unix::fs::symlink(&fifo, &link).unwrap();
    cases.push(k, "a symbolic link to the FIFO", Fx::MlpBest, NoOpt, Expect::Error, &link, &[]);
    let missing = cases.file("missing");
    cases.push(k, "a path that does not exist", Fx::MlpBest, NoOpt, Expect::Error, &missing, &[]);
}

// ---------------------------------------------------------------------------------------------
// The worker: loads cases in a child process and writes one result line per case.

/// Everything a load can change or return, compared bit for bit.
#[derive(Debug, Clone, PartialEq)]
struct State {
    weights: Bits,
    streams: Vec<StreamState>,
    optimizer: Option<(Bits, u64)>,
    header: Option<String>,
}

fn bits(state: &NamedState) -> Bits {
    state.iter().map(|(n, t)| (n.clone(), t.to_vec_f64().unwrap().iter().map(|v| v.to_bits()).collect())).collect()
}

fn state_of(model: Option<&dyn Module>, opt: Option<&dyn Optimizer>, header: Option<&Checkpoint>) -> State {
    let weights =
        model.map_or(vec![], |m| bits(&m.params().iter().map(|p| (p.name.clone(), p.var.tensor())).collect()));
    State {
        weights,
        streams: model.map_or(vec![], |m| m.noise_streams().iter().map(|s| s.state()).collect()),
        optimizer: opt.map(|o| (bits(&o.state().unwrap()), o.steps())),
        header: header.map(|h| format!("{h:?}")),
    }
}

/// The first difference between two states, for a message.
fn difference(a: &State, b: &State) -> String {
    for ((n, x), (_, y)) in a.weights.iter().zip(&b.weights) {
        if let Some(i) = x.iter().zip(y).position(|(p, q)| p != q) {
            return format!("weight {n}[{i}] is {} instead of {}", f64::from_bits(y[i]), f64::from_bits(x[i]));
        }
    }
    if a.streams != b.streams {
        return format!("random streams {:?} instead of {:?}", b.streams, a.streams);
    }
    if a.optimizer != b.optimizer {
        return "the optimizer state differs".into();
    }
    if let (Some(x), Some(y)) = (&a.header, &b.header) {
        if x != y {
            let at = x.bytes().zip(y.bytes()).position(|(p, q)| p != q).unwrap_or(x.len().min(y.len()));
            let around = |s: &str| s.chars().skip(at.saturating_sub(40)).take(80).collect::<String>();
            return format!("the header reads '...{}...' instead of '...{}...'", around(y), around(x));
        }
    }
    if a.weights.len() != b.weights.len() {
        return "a different set of parameters".into();
    }
    "no difference".into()
}

struct Target {
    model: Box<dyn Module>,
    opt: Option<Adam>,
}

/// The model and optimizer a case loads into, with a state of their own (another seed, and
/// steps taken when the mode says so).
fn target(fx: Fx, mode: LoadMode) -> Target {
    let model = fx.spec().build(fx.dtype(), &dev(), 99).unwrap();
    let opt = match mode {
        LoadMode::FreshOpt => Some(Adam::new(model.params(), 1e-3)),
        LoadMode::SteppedOpt => {
            let mut o = Adam::new(model.params(), 1e-3);
            step(model.as_ref(), &mut o, 2, 9);
            Some(o)
        }
        _ => None,
    };
    Target { model, opt }
}

/// Loads `path` as `mode` says; returns the state after a success, or the error's message.
fn load(path: &Path, mode: LoadMode, t: &mut Target) -> Result<State, String> {
    match mode {
        LoadMode::Header => {
            Checkpoint::read_header(path).map(|h| state_of(None, None, Some(&h))).map_err(|e| e.to_string())
        }
        LoadMode::LoadModel => {
            let loaded = Checkpoint::load_model(path, &dev()).map_err(|e| e.to_string())?;
            use_model(loaded.model.as_ref(), &loaded.checkpoint)?;
            Ok(state_of(Some(loaded.model.as_ref()), None, Some(&loaded.checkpoint)))
        }
        _ => {
            let opt = t.opt.as_mut().map(|o| o as &mut dyn Optimizer);
            let head = Checkpoint::load(path, t.model.as_ref(), opt).map_err(|e| e.to_string())?;
            use_model(t.model.as_ref(), &head)?;
            Ok(state_of(Some(t.model.as_ref()), t.opt.as_ref().map(|o| o as &dyn Optimizer), Some(&head)))
        }
    }
}

/// What a user does next with a loaded model: standardize a row, predict, take a step. A panic
/// here (the old standardizer bug) or a non-finite output counts against the load.
fn use_model(model: &dyn Module, head: &Checkpoint) -> Result<(), String> {
    let inputs = model.spec().map_or(3, |s| s.mlp.inputs);
    let raw: Vec<f64> = (0..inputs).map(|j| 0.5 + j as f64).collect();
    let x = match &head.standardizer {
        Some(s) => s.transform_rows(&raw).map_err(|e| format!("loaded, but the standardizer fails: {e}"))?,
        None => raw,
    };
    let dtype = model.params()[0].var.tensor().dtype();
    let xt = autodiff::Tensor::from_f64s(&x, &[1, inputs], dtype, &dev()).unwrap();
    let out = model.forward(&xt).map_err(|e| format!("loaded, but a forward pass fails: {e}"))?;
    if out.to_vec_f64().unwrap().iter().any(|v| !v.is_finite()) {
        return Err("SILENT: loaded, but the model predicts non-finite values".into());
    }
    Ok(())
}

fn run_case(case: &Case, references: &mut BTreeMap<(String, String), Result<State, String>>) -> (&'static str, String) {
    let mut t = target(case.fx, case.mode);
    let before = state_of(Some(t.model.as_ref()), t.opt.as_ref().map(|o| o as &dyn Optimizer), None);
    match load(&case.path, case.mode, &mut t) {
        Ok(after) => {
            // What the undamaged file gives in the same mode, loaded once per worker.
            let key = (case.fx.name().to_string(), case.mode.name().to_string());
            let reference = references.entry(key).or_insert_with(|| {
                let mut t = target(case.fx, case.mode);
                load(&case.fx.path(), case.mode, &mut t)
            });
            match reference {
                Err(e) => ("fail", format!("loaded although the undamaged file is refused ({e})")),
                Ok(r) if after != *r => {
                    ("fail", format!("SILENT CORRUPTION: loaded with changed values: {}", difference(r, &after)))
                }
                Ok(_) if case.expect == Expect::Error => ("fail", "loaded although it must be refused".into()),
                Ok(_) => ("identical", String::new()),
            }
        }
        Err(msg) if msg.starts_with("SILENT") => ("fail", msg),
        Err(msg) => {
            let now = state_of(Some(t.model.as_ref()), t.opt.as_ref().map(|o| o as &dyn Optimizer), None);
            let file = case.path.display().to_string();
            if case.expect == Expect::Identical {
                ("fail", format!("refused although it must load: {msg}"))
            } else if now != before {
                (
                    "fail",
                    format!("the failed load changed the model or optimizer ({}): {msg}", difference(&before, &now)),
                )
            } else if !msg.contains(&file) {
                ("fail", format!("the error does not name the file: {msg}"))
            } else if let Some(n) = case.names.iter().find(|n| !msg.contains(n.as_str())) {
                ("fail", format!("the error does not name '{n}': {msg}"))
            } else {
                ("error", msg)
            }
        }
    }
}

fn worker() {
    let root = root();
    let manifest = std::fs::read_to_string(root.join("manifest.tsv")).unwrap();
    let cases: Vec<Case> = manifest.lines().map(Case::parse).collect();
    let start: usize = std::env::var(WORKER_ENV).unwrap().parse().unwrap();
    let mut out = std::fs::OpenOptions::new().append(true).create(true).open(root.join("results.tsv")).unwrap();
    let mut references = BTreeMap::new();
    for (i, case) in cases.iter().enumerate().skip(start) {
        writeln!(out, "start\t{i}").unwrap();
        let t = Instant::now();
        let (verdict, msg) = match catch_unwind(AssertUnwindSafe(|| run_case(case, &mut references))) {
            Ok(r) => r,
            Err(p) => {
                let what =
                    p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                ("fail", format!("PANIC: {}", what.unwrap_or_default()))
            }
        };
        let (verdict, msg) = if t.elapsed() > SLOW_AFTER && verdict != "fail" {
            ("fail", format!("took {:.1} s (reading from a claimed size?): {msg}", t.elapsed().as_secs_f64()))
        } else {
            (verdict, msg)
        };
        writeln!(out, "done\t{i}\t{verdict}\t{}", msg.replace(['\n', '\t'], " ")).unwrap();
    }
}

/// Runs every case in worker processes, restarting after each abort or hang. Returns one
/// (verdict, message) per case.
fn run_workers(n: usize) -> Vec<(String, String)> {
    let root = root();
    let results = root.join("results.tsv");
    let _ = std::fs::remove_file(&results);
    let exe = std::env::current_exe().unwrap();
    let mut verdicts: Vec<Option<(String, String)>> = vec![None; n];
    let mut next = 0;
    let mut restarts = 0;
    while next < n {
        let stderr = std::fs::File::create(root.join("worker-stderr.txt")).unwrap();
        if next > 0 {
            eprintln!("worker restarted at case {next} of {n}");
        }
        // The address-space limit comes from the shell's ulimit (no libc in the dev-dependencies).
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -v {WORKER_MEMORY_KIB} && exec \"$0\" \"$@\""))
            .arg(&exe)
            .args(["--exact", "damaged_checkpoints_fail_cleanly", "--nocapture", "--test-threads=1"])
            .env(WORKER_ENV, next.to_string())
            .env("SIGMAGRAD_DAMAGE_ROOT", &root)
            .env("RAYON_NUM_THREADS", "1")
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut last_len = 0;
        let mut last_progress = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            let len = std::fs::metadata(&results).map_or(0, |m| m.len());
            if len != last_len {
                last_len = len;
                last_progress = Instant::now();
            } else if last_progress.elapsed() > HANG_AFTER {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // Lossy: a message may quote a damaged string.
        let text = String::from_utf8_lossy(&std::fs::read(&results).unwrap_or_default()).into_owned();
        let mut in_flight = None;
        for line in text.lines() {
            let f: Vec<&str> = line.splitn(4, '\t').collect();
            let i: usize = f[1].parse().unwrap();
            match f[0] {
                "start" => in_flight = Some(i),
                _ => {
                    verdicts[i] = Some((f[2].to_string(), f.get(3).unwrap_or(&"").to_string()));
                    in_flight = None;
                }
            }
        }
        let done = verdicts.iter().take_while(|v| v.is_some()).count();
        if let Some(i) = in_flight {
            let stderr = std::fs::read_to_string(root.join("worker-stderr.txt")).unwrap_or_default();
            let tail: String = stderr.lines().rev().take(3).collect::<Vec<_>>().join(" / ");
            let what = match status {
                None => format!("HANG: no result after {} s", HANG_AFTER.as_secs()),
                Some(s) => format!("ABORT: the worker died ({s}): {tail}"),
            };
            verdicts[i] = Some(("fail".into(), what));
            next = i + 1;
        } else if done < n {
            restarts += 1;
            assert!(
                restarts < 3,
                "the worker stops without a result: {:?}",
                std::fs::read_to_string(root.join("worker-stderr.txt"))
            );
            next = done;
        } else {
            next = n;
        }
    }
    verdicts.into_iter().map(|v| v.unwrap()).collect()
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
