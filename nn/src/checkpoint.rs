//! Self-describing HDF5 checkpoints: a checkpoint rebuilds its model, h5py can read it, a killed
//! process cannot corrupt it, and a damaged or foreign file is refused before anything changes.
//! The format, its guarantees and the damaged-file suite that tests them
//! (`nn/tests/checkpoint_damage/`, with its counts) are described in the repository's
//! `docs/checkpoint-format.md`.
//!
//! File layout (format "sigmagrad-checkpoint", version 3):
//!
//! ```text
//! user block          the seal (crate::io): a checksum of every byte but the checked data
//!                     chunks, verified before HDF5 parses the file
//! /                   attributes (all scalars):
//!                       format           str   "sigmagrad-checkpoint"
//!                       version          u64   3
//!                       fingerprint      str   parameter names and shapes, "name[shape];..."
//!                       model            str   JSON ModelSpec (absent for hand-built modules)
//!                       standardizer     str   JSON Standardizer (optional)
//!                       meta             str   JSON object of strings (anything the caller keeps)
//!                       epoch            u64   epochs completed
//!                       optimizer_steps  u64   updates taken
//!                       streams          str   JSON [{name, seed, counter}]: every random stream
//!                       trainer          str   JSON TrainerState (optional: best loss, patience,
//!                                              scheduler, history), for exact resume
//! /params/<name>      one dataset per parameter, named as Module::params names it
//!                     ("layers.0.weight"), in the parameter's shape and dtype, Fletcher32-checked
//! /optimizer/<name>   optimizer state ("adam.m.layers.0.weight"), likewise; present whenever the
//!                     checkpoint was saved with an optimizer (empty before its first step)
//! ```
//!
//! Writing goes through [`crate::io::write_atomically`] (unique temporary name, fsync, rename)
//! and ends with [`crate::io::seal`]; reading follows [`crate::io`]'s rules (the seal first,
//! regular files only, sizes checked before allocation, typed attributes, valid UTF-8). Loading
//! reads and checks everything (every attribute, every dataset's presence, type, shape and
//! finiteness in the model's dtype, the optimizer state's completeness and sign, the
//! standardizer's consistency, a model description no larger than the stored weights) before
//! it assigns anything: a load either succeeds completely or leaves model and optimizer exactly
//! as they were.

use crate::io::{
    checked_chunks, create_sealable_h5, remove_stale_temporaries, seal, write_atomically, write_checked, FileError,
    FloatKind, H5File,
};
use crate::module::{Module, NoiseStream, Param, StreamState};
use crate::optim::{NamedState, Optimizer};
use crate::spec::ModelSpec;
use crate::standardizer::Standardizer;
use crate::trainer_state::TrainerState;
use autodiff::{DType, Device, HostData, Tensor};
use hdf5::types::VarLenUnicode;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub const FORMAT: &str = "sigmagrad-checkpoint";
/// 3: sealed files (a checksum of the metadata in the HDF5 user block) in HDF5's 1.10 format.
/// 2: the model description, random streams and trainer state. 1: weights only.
pub const VERSION: u64 = 3;

#[derive(Debug)]
pub enum CheckpointError {
    /// The file cannot be used: missing, not a regular file, not HDF5, not a sigmagrad
    /// checkpoint, of another format version, or damaged; the message names the file and the
    /// dataset or attribute.
    File(FileError),
    /// The file is a sound checkpoint of another network than the one to load it into.
    Mismatch {
        path: PathBuf,
        msg: String,
    },
    Tensor(autodiff::Error),
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::File(e) => write!(f, "checkpoint {e}"),
            CheckpointError::Mismatch { path, msg } => write!(f, "checkpoint {}: {msg}", path.display()),
            CheckpointError::Tensor(e) => write!(f, "checkpoint: {e}"),
        }
    }
}

impl std::error::Error for CheckpointError {}

impl From<autodiff::Error> for CheckpointError {
    fn from(e: autodiff::Error) -> Self {
        CheckpointError::Tensor(e)
    }
}

impl From<FileError> for CheckpointError {
    fn from(e: FileError) -> Self {
        CheckpointError::File(e)
    }
}

type CkResult<T> = std::result::Result<T, CheckpointError>;

/// What a checkpoint holds besides the tensors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpoint {
    /// The model's description; on save, the model's own [`Module::spec`] when this is None.
    pub spec: Option<ModelSpec>,
    pub standardizer: Option<Standardizer>,
    pub meta: BTreeMap<String, String>,
    pub epoch: u64,
    pub optimizer_steps: u64,
    /// The random streams' positions (filled from the model on save, from the file on load).
    pub streams: Vec<StreamState>,
    pub trainer: Option<TrainerState>,
}

/// A model rebuilt from its checkpoint, ready to predict.
pub struct LoadedModel {
    pub model: Box<dyn Module>,
    pub checkpoint: Checkpoint,
}

impl LoadedModel {
    pub fn spec(&self) -> Option<&ModelSpec> {
        self.checkpoint.spec.as_ref()
    }
}

fn host_f32(t: &Tensor) -> Result<Vec<f32>, String> {
    match t.to_host().map_err(|e| e.to_string())? {
        HostData::F32(v) => Ok(v),
        HostData::F64(v) => Ok(v.into_iter().map(|x| x as f32).collect()),
    }
}

fn write_tensor(group: &hdf5::Group, name: &str, t: &Tensor) -> Result<(), String> {
    match t.dtype() {
        DType::F32 => write_checked(group, name, t.shape(), &host_f32(t)?),
        DType::F64 => write_checked(group, name, t.shape(), &t.to_vec_f64().map_err(|e| e.to_string())?),
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_json::to_string(v).map_err(|e| e.to_string())
}

impl Checkpoint {
    /// Saves `model` (and optionally the optimizer state) atomically to `path`, refusing
    /// parameters that are not finite: a checkpoint never holds a broken network.
    pub fn save<M: Module + ?Sized>(
        &self,
        path: impl AsRef<Path>,
        model: &M,
        optimizer: Option<&dyn Optimizer>,
    ) -> CkResult<()> {
        let path = path.as_ref();
        let params = model.params();
        let mut values = Vec::with_capacity(params.len());
        for p in &params {
            let t = p.var.tensor();
            if t.to_vec_f64()?.iter().any(|v| !v.is_finite()) {
                return Err(CheckpointError::File(FileError::item(
                    path,
                    format!("parameter '{}'", p.name),
                    "has values that are not finite; the checkpoint was not written",
                )));
            }
            values.push((p.name.clone(), t));
        }
        let state = optimizer.map(|o| o.state()).transpose()?;
        let spec = self.spec.clone().or_else(|| model.spec().cloned());
        let streams: Vec<StreamState> = model.noise_streams().iter().map(|s| s.state()).collect();
        let steps = optimizer.map_or(self.optimizer_steps, |o| o.steps());
        let elem = |t: &Tensor| if t.dtype() == DType::F32 { 4 } else { 8 };
        let chunks: usize = values
            .iter()
            .map(|(_, t)| t)
            .chain(state.iter().flatten().map(|(_, t)| t))
            .map(|t| checked_chunks(t.shape(), elem(t)))
            .sum();
        remove_stale_temporaries(path);
        hdf5::silence_errors(true);
        write_atomically(path, |tmp| {
            let file = create_sealable_h5(tmp, chunks)?;
            self.write_attributes(&file, &model.fingerprint(), spec.as_ref(), steps, &streams)?;
            // The groups are dropped before the close: HDF5 finishes a file only when its last
            // handle goes, and the seal must see the finished file.
            {
                let group = file.create_group("params").map_err(|e| e.to_string())?;
                for (name, t) in &values {
                    write_tensor(&group, name, t)?;
                }
            }
            if let Some(state) = &state {
                let group = file.create_group("optimizer").map_err(|e| e.to_string())?;
                for (name, t) in state {
                    write_tensor(&group, name, t)?;
                }
            }
            file.flush().map_err(|e| e.to_string())?;
            file.close().map_err(|e| e.to_string())?;
            seal(tmp)
        })?;
        Ok(())
    }

    /// Writes the attributes of a checkpoint (see the layout above).
    fn write_attributes(
        &self,
        file: &hdf5::File,
        fingerprint: &str,
        spec: Option<&ModelSpec>,
        steps: u64,
        streams: &[StreamState],
    ) -> Result<(), String> {
        let attr_str = |name: &str, value: &str| -> Result<(), String> {
            let v: VarLenUnicode = value.parse().map_err(|e| format!("attribute {name}: {e}"))?;
            file.new_attr::<VarLenUnicode>()
                .create(name)
                .and_then(|a| a.write_scalar(&v))
                .map_err(|e| format!("attribute {name}: {e}"))
        };
        let attr_u64 = |name: &str, value: u64| -> Result<(), String> {
            file.new_attr::<u64>()
                .create(name)
                .and_then(|a| a.write_scalar(&value))
                .map_err(|e| format!("attribute {name}: {e}"))
        };
        attr_str("format", FORMAT)?;
        attr_u64("version", VERSION)?;
        attr_str("fingerprint", fingerprint)?;
        if let Some(spec) = spec {
            attr_str("model", &json(spec)?)?;
        }
        if let Some(s) = &self.standardizer {
            attr_str("standardizer", &json(s)?)?;
        }
        attr_str("meta", &json(&self.meta)?)?;
        attr_u64("epoch", self.epoch)?;
        attr_u64("optimizer_steps", steps)?;
        attr_str("streams", &json(&streams)?)?;
        if let Some(t) = &self.trainer {
            attr_str("trainer", &json(t)?)?;
        }
        Ok(())
    }

    /// Reads and checks the attributes of a checkpoint without touching any model.
    pub fn read_header(path: impl AsRef<Path>) -> CkResult<Checkpoint> {
        let file = H5File::open(path.as_ref())?;
        header(&file).map(|(c, _)| c)
    }

    /// Loads parameters, random-stream positions and (optionally) optimizer state into `model`,
    /// after checking everything; on any error `model` and `optimizer` are unchanged.
    pub fn load<M: Module + ?Sized>(
        path: impl AsRef<Path>,
        model: &M,
        optimizer: Option<&mut dyn Optimizer>,
    ) -> CkResult<Checkpoint> {
        let file = H5File::open(path.as_ref())?;
        let (head, fingerprint) = header(&file)?;
        load_into(&file, head, &fingerprint, model, optimizer)
    }

    /// Rebuilds the model a checkpoint describes on `device`, with its weights and
    /// standardizer: everything `predict` needs. A checkpoint without a model description
    /// (written for a hand-built module, or before format version 2) is an error that says so.
    pub fn load_model(path: impl AsRef<Path>, device: &Device) -> CkResult<LoadedModel> {
        let path = path.as_ref();
        let file = H5File::open(path)?;
        let (head, fingerprint) = header(&file)?;
        let spec = head.spec.clone().ok_or_else(|| {
            FileError::item(path, "attribute 'model'", "is missing: this checkpoint does not describe its model (a hand-built module); build the model in code and use Checkpoint::load")
        })?;
        let dtype = params_dtype(&file)?;
        let model = spec.build(dtype, device, 0)?;
        let checkpoint = load_into(&file, head, &fingerprint, model.as_ref(), None)?;
        Ok(LoadedModel { model, checkpoint })
    }
}

fn params_dtype(file: &H5File) -> CkResult<DType> {
    let names = file.members("params")?;
    let first = names.first().ok_or_else(|| FileError::item(&file.path, "group '/params'", "holds no parameters"))?;
    Ok(match file.float_shape(&format!("params/{first}"))?.1 {
        FloatKind::F32 => DType::F32,
        FloatKind::F64 => DType::F64,
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(file: &H5File, name: &str) -> CkResult<T> {
    let text = file.attr_string("", name)?;
    serde_json::from_str(&text).map_err(|e| {
        CheckpointError::File(FileError::item(&file.path, format!("attribute '{name}'"), format!("is not valid: {e}")))
    })
}

/// Refuses a model description that describes more weights than the file stores, before
/// anything is built from it: `load_model` would otherwise allocate whatever a damaged or
/// hostile `model` attribute claims (a hidden layer of 2e8 units). The count from the widths
/// (one weight per connection, times the members of an ensemble) is a lower bound of every
/// model kind's parameters, so a sound file always passes; the stored count comes from shapes
/// already checked against the bytes the file holds.
fn check_model_size(file: &H5File, spec: &ModelSpec) -> CkResult<()> {
    let widths = spec.mlp.widths();
    let copies = match spec.kind {
        crate::spec::ModelKind::Ensemble { members } => members as u128,
        _ => 1,
    };
    // Checked: two widths near 2^64 make a product near 2^128, which a sum or the members overflow.
    let claimed = widths
        .windows(2)
        .try_fold(0u128, |sum, w| sum.checked_add((w[0] as u128).checked_mul(w[1] as u128)?))
        .and_then(|per_member| per_member.checked_mul(copies))
        .ok_or_else(|| {
            FileError::item(
                &file.path,
                "attribute 'model'",
                format!("describes layer widths {widths:?} whose size overflows"),
            )
        })?;
    let mut stored: u128 = 0;
    if file.exists("params") {
        for name in file.members("params")? {
            let (shape, _) = file.stored_float_shape(&format!("params/{name}"))?;
            stored += shape.iter().map(|&d| d as u128).product::<u128>();
        }
    }
    if claimed > stored {
        return Err(FileError::item(
            &file.path,
            "attribute 'model'",
            format!("describes a network of at least {claimed} weights, but the file stores {stored} parameter values"),
        )
        .into());
    }
    Ok(())
}

/// Every attribute, read and checked; returns the header and the file's fingerprint.
fn header(file: &H5File) -> CkResult<(Checkpoint, String)> {
    let path = &file.path;
    if !file.has_attr("", "format") {
        return Err(
            FileError::new(path, "is an HDF5 file but not a sigmagrad checkpoint (no 'format' attribute)").into()
        );
    }
    let format = file.attr_string("", "format")?;
    if format != FORMAT {
        return Err(FileError::item(path, "attribute 'format'", format!("is '{format}', expected '{FORMAT}'")).into());
    }
    let version = file.attr_u64("", "version")?;
    if version != VERSION {
        let msg = if version == 2 {
            "is 2: this checkpoint was written by a development build before checkpoints were sealed \
             (format version 2); load it with that build and save it again, or retrain"
                .to_string()
        } else if version == 1 {
            "is 1: this checkpoint was written before checkpoints described their model (format version 1) and \
             cannot be loaded; retrain the model"
                .to_string()
        } else {
            format!("is {version}, which this sigmagrad does not know (it reads version {VERSION}); is the file from a newer release?")
        };
        return Err(FileError::item(path, "attribute 'version'", msg).into());
    }
    let spec: Option<ModelSpec> = if file.has_attr("", "model") { Some(parse_json(file, "model")?) } else { None };
    let fingerprint = file.attr_string("", "fingerprint")?;
    check_listed_parameters(file, &fingerprint)?;
    if let Some(s) = &spec {
        s.validate().map_err(|e| FileError::item(path, "attribute 'model'", e.to_string()))?;
        check_model_size(file, s)?;
    }
    let standardizer: Option<Standardizer> =
        if file.has_attr("", "standardizer") { Some(parse_json(file, "standardizer")?) } else { None };
    if let Some(s) = &standardizer {
        s.validate().map_err(|e| FileError::item(path, "attribute 'standardizer'", e.to_string()))?;
        if let Some(spec) = &spec {
            check_standardizer_fits(path, s, spec)?;
        }
    }
    let trainer: Option<TrainerState> =
        if file.has_attr("", "trainer") { Some(parse_json(file, "trainer")?) } else { None };
    if let Some(t) = &trainer {
        t.validate().map_err(|e| FileError::item(path, "attribute 'trainer'", e))?;
    }
    let head = Checkpoint {
        spec,
        standardizer,
        meta: parse_json(file, "meta")?,
        epoch: file.attr_u64("", "epoch")?,
        optimizer_steps: file.attr_u64("", "optimizer_steps")?,
        streams: parse_json(file, "streams")?,
        trainer,
    };
    if let Some(t) = head.trainer.as_ref().filter(|t| (t.epochs_done as u64) < head.epoch) {
        let msg = format!("records epochs_done = {}, behind the weights' epoch {}", t.epochs_done, head.epoch);
        return Err(FileError::item(path, "attribute 'trainer'", msg).into());
    }
    Ok((head, fingerprint))
}

/// A standardizer must fit the model it was saved with: one column per input, and no more
/// target columns than the head has outputs.
fn check_standardizer_fits(path: &Path, s: &Standardizer, spec: &ModelSpec) -> CkResult<()> {
    let refuse = |msg: String| Err(FileError::item(path, "attribute 'standardizer'", msg).into());
    if s.features() != spec.mlp.inputs {
        return refuse(format!("standardizes {} features, the model takes {}", s.features(), spec.mlp.inputs));
    }
    let targets = s.targets.as_ref().map_or(0, |t| t.mean.len());
    if targets > spec.mlp.outputs {
        return refuse(format!("scales {targets} target columns, the model's head has {} outputs", spec.mlp.outputs));
    }
    Ok(())
}

/// Every parameter the fingerprint lists ("name[shape];...") must be stored under /params, so
/// that a missing one is named as such before anything else is judged by the stored count.
fn check_listed_parameters(file: &H5File, fingerprint: &str) -> CkResult<()> {
    for entry in fingerprint.split(';').filter(|e| !e.is_empty()) {
        let name = entry.split('[').next().unwrap_or(entry);
        let full = format!("params/{name}");
        if file.exists("params") && !file.exists(&full) {
            return Err(FileError::item(
                &file.path,
                format!("dataset '{full}'"),
                "is missing (the fingerprint lists it)",
            )
            .into());
        }
    }
    Ok(())
}

/// The model-independent half of loading: check against `model`, read every tensor, then assign.
fn load_into<M: Module + ?Sized>(
    file: &H5File,
    head: Checkpoint,
    fingerprint: &str,
    model: &M,
    optimizer: Option<&mut dyn Optimizer>,
) -> CkResult<Checkpoint> {
    check_same_model(&file.path, &head, fingerprint, model)?;
    let params = model.params();
    let values = read_params(file, &params)?;
    let streams = model.noise_streams();
    check_streams(&file.path, &head, &streams)?;
    let state = match &optimizer {
        Some(opt) => read_optimizer_state(file, &head, &**opt, &params)?,
        None => Vec::new(),
    };
    // Everything is read and checked: assign.
    if let Some(opt) = optimizer {
        opt.load_state(&state, head.optimizer_steps)?;
    }
    for (p, t) in params.iter().zip(&values) {
        p.var.set(t)?;
    }
    for s in &streams {
        if let Some(h) = head.streams.iter().find(|h| h.name == s.name()) {
            s.set_state(h);
        }
    }
    Ok(head)
}

/// Refuses a file written for another model: another description, or other parameter names
/// and shapes.
fn check_same_model<M: Module + ?Sized>(path: &Path, head: &Checkpoint, fingerprint: &str, model: &M) -> CkResult<()> {
    let mismatch = |msg: String| CheckpointError::Mismatch { path: path.to_path_buf(), msg };
    if let (Some(file_spec), Some(model_spec)) = (&head.spec, model.spec()) {
        if file_spec != model_spec {
            return Err(mismatch(format!(
                "it holds a {}, the model is a {}",
                file_spec.describe(),
                model_spec.describe()
            )));
        }
    }
    if fingerprint != model.fingerprint() {
        return Err(mismatch(format!(
            "its parameters differ from the model's:\n  file:  {fingerprint}\n  model: {}",
            model.fingerprint()
        )));
    }
    // A file without a model description is held against the model's own.
    if let (None, Some(s), Some(model_spec)) = (&head.spec, &head.standardizer, model.spec()) {
        check_standardizer_fits(path, s, model_spec)?;
    }
    Ok(())
}

/// Reads the parameters: exactly the model's, each of its shape, finite and within its dtype.
fn read_params(file: &H5File, params: &[Param]) -> CkResult<Vec<Tensor>> {
    let path = &file.path;
    let names = file.members("params")?;
    if let Some(extra) = names.iter().find(|n| !params.iter().any(|p| &p.name == *n)) {
        return Err(
            FileError::item(path, format!("dataset 'params/{extra}'"), "is not a parameter of this model").into()
        );
    }
    let mut values = Vec::with_capacity(params.len());
    for p in params {
        let current = p.var.tensor();
        let what = format!("params/{}", p.name);
        let (data, _) = file.read_finite_f64(&what, Some(current.shape()))?;
        check_range(path, &what, &data, current.dtype(), true)?;
        values.push(Tensor::from_f64s(&data, current.shape(), current.dtype(), current.device())?);
    }
    Ok(values)
}

/// The random streams the file names must be exactly the model's.
fn check_streams(path: &Path, head: &Checkpoint, streams: &[NoiseStream]) -> CkResult<()> {
    if head.streams.len() != streams.len() || streams.iter().any(|s| !head.streams.iter().any(|h| h.name == s.name())) {
        let have: Vec<&str> = head.streams.iter().map(|s| s.name.as_str()).collect();
        let want: Vec<&str> = streams.iter().map(|s| s.name()).collect();
        let msg = format!("names streams {have:?}, the model draws from {want:?}");
        return Err(CheckpointError::File(FileError::item(path, "attribute 'streams'", msg)));
    }
    Ok(())
}

/// Reads the optimizer state: complete (or empty before the first step), shaped, finite,
/// within the dtype of the parameter it belongs to, and non-negative where it must be.
fn read_optimizer_state(
    file: &H5File,
    head: &Checkpoint,
    opt: &dyn Optimizer,
    params: &[Param],
) -> CkResult<NamedState> {
    let path = &file.path;
    let mut state: NamedState = Vec::new();
    if !file.exists("optimizer") {
        return Err(FileError::item(
            path,
            "group '/optimizer'",
            "is missing: the checkpoint holds no optimizer state (load it without an optimizer to start a fresh one)",
        )
        .into());
    }
    let spec = opt.state_spec();
    let names = file.members("optimizer")?;
    if let Some(extra) = names.iter().find(|n| !spec.iter().any(|s| &s.name == *n)) {
        return Err(
            FileError::item(path, format!("dataset 'optimizer/{extra}'"), "is not state of this optimizer").into()
        );
    }
    if names.is_empty() && head.optimizer_steps == 0 {
        return Ok(state);
    }
    let dev = params.first().map(|p| p.var.tensor().device().clone());
    for s in &spec {
        let what = format!("optimizer/{}", s.name);
        if !file.exists(&what) {
            return Err(FileError::item(
                path,
                format!("dataset '{what}'"),
                format!("is missing, though the optimizer took {} steps", head.optimizer_steps),
            )
            .into());
        }
        let (data, _) = file.read_finite_f64(&what, Some(&s.shape))?;
        let dtype = params
            .iter()
            .find(|p| s.name.ends_with(&format!(".{}", p.name)))
            .map_or(DType::F64, |p| p.var.tensor().dtype());
        check_range(path, &what, &data, dtype, false)?;
        if let Some((i, v)) = data.iter().enumerate().find(|(_, v)| v.abs() > MAX_OPTIMIZER_STATE) {
            let msg =
                format!("holds {v:e} at flat index {i}, beyond {MAX_OPTIMIZER_STATE:e}: no sound run has such state");
            return Err(FileError::item(path, format!("dataset '{what}'"), msg).into());
        }
        if s.nonnegative {
            if let Some(v) = data.iter().find(|v| **v < 0.0) {
                return Err(
                    FileError::item(path, format!("dataset '{what}'"), format!("holds {v}, but must be >= 0")).into()
                );
            }
        }
        let Some(dev) = &dev else { break };
        state.push((s.name.clone(), Tensor::from_f64s(&data, &s.shape, DType::F64, dev)?));
    }
    Ok(state)
}

/// The largest optimizer state a checkpoint may hold. Adam's second moment is a running mean of
/// squared gradients, so 1e30 means gradients of 1e15, and the first moment's bound is looser
/// still: a value beyond it is damage, and resuming from it would step the weights by nonsense.
const MAX_OPTIMIZER_STATE: f64 = 1e30;

/// Refuses values that are finite in the file but not in the model: an f64 value beyond f32's
/// range becomes infinite when loaded into an f32 model. For parameters (`square`) the bound is
/// the square root of the dtype's largest value: the KL, the weight prior and Adam's second
/// moment square the weights, so a weight of 1e300 gives infinities on the first use.
fn check_range(path: &Path, what: &str, data: &[f64], dtype: DType, square: bool) -> CkResult<()> {
    let max = match dtype {
        DType::F32 => f32::MAX as f64,
        DType::F64 => f64::MAX,
    };
    let limit = if square { max.sqrt() } else { max };
    if let Some((i, v)) = data.iter().enumerate().find(|(_, v)| v.abs() > limit) {
        let why = if square { "whose square" } else { "which" };
        return Err(FileError::item(
            path,
            format!("dataset '{what}'"),
            format!("holds {v:e} at flat index {i}, {why} does not fit in the model's {dtype:?} (limit {limit:e})"),
        )
        .into());
    }
    Ok(())
}
