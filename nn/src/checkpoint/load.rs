//! Loading a checkpoint into a model: checked against the model, every tensor read and checked,
//! and only then assigned, so that a load succeeds completely or changes nothing.

use super::contents::{Checkpoint, CheckpointError, CkResult};
use super::header::check_standardizer_fits;
use crate::io::{FileError, H5File};
use crate::module::{Module, NoiseStream, Param};
use crate::optim::{NamedState, Optimizer};
use autodiff::{DType, Tensor};
use std::path::Path;

/// The model-independent half of loading: check against `model`, read every tensor, then assign.
pub(super) fn load_into<M: Module + ?Sized>(
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
