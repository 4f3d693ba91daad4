//! HDF5 checkpoints that h5py can read and a killed process cannot corrupt.
//!
//! File layout (format "sigmagrad-checkpoint", version 1):
//!
//! ```text
//! /                       attributes: format (str), version (u32), architecture (str),
//!                         epoch (u64), optimizer_steps (u64), standardizer (JSON str, optional),
//!                         meta (JSON object of strings: anything the caller wants to keep)
//! /params/<name>          one dataset per parameter, named as Module::params names it
//!                         (e.g. "layers.0.weight"), in the parameter's shape and dtype
//! /optimizer/<name>       optimizer state (e.g. "adam.m.layers.0.weight"), same shapes
//! ```
//!
//! Files are written to `<path>.tmp` and renamed into place, so a reader only ever sees a
//! complete file. Loading checks the architecture string and every dataset's presence and
//! shape before touching the model.

use crate::data::Standardizer;
use crate::module::Module;
use crate::optim::{NamedState, Optimizer};
use autodiff::{DType, HostData, Tensor};
use hdf5::types::VarLenUnicode;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

const FORMAT: &str = "sigmagrad-checkpoint";
const VERSION: u32 = 1;

#[derive(Debug)]
pub enum CheckpointError {
    /// The file is missing, truncated, not HDF5, or not a sigmagrad checkpoint.
    Unreadable {
        path: PathBuf,
        msg: String,
    },
    /// The file holds a different network.
    Architecture {
        path: PathBuf,
        expected: String,
        found: String,
    },
    /// A parameter or state dataset is absent or has the wrong shape.
    Dataset {
        path: PathBuf,
        name: String,
        msg: String,
    },
    Write {
        path: PathBuf,
        msg: String,
    },
    Tensor(autodiff::Error),
}

impl fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckpointError::Unreadable { path, msg } => write!(f, "cannot read checkpoint {}: {msg}", path.display()),
            CheckpointError::Architecture { path, expected, found } => write!(
                f,
                "checkpoint {} holds a different architecture:\n  file:  {found}\n  model: {expected}",
                path.display()
            ),
            CheckpointError::Dataset { path, name, msg } => {
                write!(f, "checkpoint {}: dataset {name}: {msg}", path.display())
            }
            CheckpointError::Write { path, msg } => write!(f, "cannot write checkpoint {}: {msg}", path.display()),
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

/// What a checkpoint holds besides the parameters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Checkpoint {
    pub architecture: String,
    pub epoch: u64,
    pub optimizer_steps: u64,
    pub standardizer: Option<Standardizer>,
    pub meta: BTreeMap<String, String>,
}

fn str_attr(s: &str) -> Result<VarLenUnicode, String> {
    s.parse::<VarLenUnicode>().map_err(|e| e.to_string())
}

fn write_tensor(group: &hdf5::Group, name: &str, t: &Tensor) -> Result<(), String> {
    let shape = t.shape().to_vec();
    match t.to_host().map_err(|e| e.to_string())? {
        HostData::F32(v) => group.new_dataset::<f32>().shape(shape).create(name).and_then(|d| d.write_raw(&v[..])),
        HostData::F64(v) => group.new_dataset::<f64>().shape(shape).create(name).and_then(|d| d.write_raw(&v[..])),
    }
    .map_err(|e| format!("dataset {name}: {e}"))
}

impl Checkpoint {
    /// Saves `model` (and optionally the optimizer state) atomically to `path`.
    pub fn save<M: Module + ?Sized>(
        &self,
        path: impl AsRef<Path>,
        model: &M,
        optimizer: Option<&dyn Optimizer>,
    ) -> Result<(), CheckpointError> {
        let path = path.as_ref();
        let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("h5")));
        let werr = |msg: String| CheckpointError::Write { path: path.to_path_buf(), msg };
        hdf5::silence_errors(true);
        let result = (|| -> Result<(), String> {
            let file = hdf5::File::create(&tmp).map_err(|e| e.to_string())?;
            let attr_str = |name: &str, value: &str| -> Result<(), String> {
                file.new_attr::<VarLenUnicode>()
                    .create(name)
                    .and_then(|a| a.write_scalar(&str_attr(value)?))
                    .map_err(|e| format!("attribute {name}: {e}"))
            };
            attr_str("format", FORMAT)?;
            attr_str("architecture", &model.architecture())?;
            let meta = serde_json::to_string(&self.meta).map_err(|e| e.to_string())?;
            attr_str("meta", &meta)?;
            if let Some(s) = &self.standardizer {
                attr_str("standardizer", &serde_json::to_string(s).map_err(|e| e.to_string())?)?;
            }
            for (name, value) in
                [("epoch", self.epoch), ("optimizer_steps", optimizer.map_or(self.optimizer_steps, |o| o.steps()))]
            {
                file.new_attr::<u64>().create(name).and_then(|a| a.write_scalar(&value)).map_err(|e| e.to_string())?;
            }
            file.new_attr::<u32>()
                .create("version")
                .and_then(|a| a.write_scalar(&VERSION))
                .map_err(|e| e.to_string())?;
            let params = file.create_group("params").map_err(|e| e.to_string())?;
            for p in model.params() {
                write_tensor(&params, &p.name, &p.var.tensor())?;
            }
            if let Some(opt) = optimizer {
                let group = file.create_group("optimizer").map_err(|e| e.to_string())?;
                for (name, t) in opt.state().map_err(|e| e.to_string())? {
                    write_tensor(&group, &name, &t)?;
                }
            }
            file.flush().map_err(|e| e.to_string())?;
            Ok(())
        })();
        if let Err(msg) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(werr(msg));
        }
        std::fs::rename(&tmp, path).map_err(|e| werr(e.to_string()))
    }

    /// Reads the header of a checkpoint without touching any model.
    pub fn read_header(path: impl AsRef<Path>) -> Result<Checkpoint, CheckpointError> {
        let path = path.as_ref();
        let file = open(path)?;
        header(&file, path)
    }

    /// Loads parameters (and optionally optimizer state) into `model`, after checking that the
    /// file holds this architecture and every dataset has the right shape.
    pub fn load<M: Module + ?Sized>(
        path: impl AsRef<Path>,
        model: &M,
        optimizer: Option<&mut dyn Optimizer>,
    ) -> Result<Checkpoint, CheckpointError> {
        let path = path.as_ref();
        let file = open(path)?;
        let head = header(&file, path)?;
        if head.architecture != model.architecture() {
            return Err(CheckpointError::Architecture {
                path: path.to_path_buf(),
                expected: model.architecture(),
                found: head.architecture,
            });
        }
        let params = group(&file, "params", path)?;
        // Read and check everything first, then assign: a bad file leaves the model untouched.
        let mut values = Vec::new();
        for p in model.params() {
            let current = p.var.tensor();
            let t = read_tensor(&params, &p.name, current.shape(), current.dtype(), current.device(), path)?;
            values.push((p.var, t));
        }
        let mut state: NamedState = Vec::new();
        if let Some(opt) = &optimizer {
            if let Ok(g) = file.group("optimizer") {
                let names = g.member_names().map_err(|e| unreadable(path, e))?;
                let expected = opt.state()?;
                for name in names {
                    let like = expected.iter().find(|(n, _)| *n == name).map(|(_, t)| t.clone());
                    let dev = values.first().map(|(v, _)| v.tensor().device().clone());
                    let (Some(dev), shape) = (dev, like.map(|t| t.shape().to_vec())) else { continue };
                    let ds = g.dataset(&name).map_err(|e| unreadable(path, e))?;
                    let shape = shape.unwrap_or_else(|| ds.shape());
                    state.push((name.clone(), read_tensor(&g, &name, &shape, DType::F64, &dev, path)?));
                }
            }
        }
        for (var, t) in values {
            var.set(&t)?;
        }
        if let Some(opt) = optimizer {
            opt.load_state(&state, head.optimizer_steps)?;
        }
        Ok(head)
    }
}

fn unreadable(path: &Path, e: impl fmt::Display) -> CheckpointError {
    CheckpointError::Unreadable { path: path.to_path_buf(), msg: e.to_string() }
}

fn open(path: &Path) -> Result<hdf5::File, CheckpointError> {
    hdf5::silence_errors(true);
    if !path.exists() {
        return Err(unreadable(path, "no such file"));
    }
    hdf5::File::open(path).map_err(|e| unreadable(path, format!("not a readable HDF5 file ({e})")))
}

fn group(file: &hdf5::File, name: &str, path: &Path) -> Result<hdf5::Group, CheckpointError> {
    file.group(name).map_err(|_| CheckpointError::Dataset {
        path: path.to_path_buf(),
        name: format!("/{name}"),
        msg: "group is missing".into(),
    })
}

fn header(file: &hdf5::File, path: &Path) -> Result<Checkpoint, CheckpointError> {
    let s = |name: &str| -> Result<String, CheckpointError> {
        file.attr(name)
            .and_then(|a| a.read_scalar::<VarLenUnicode>())
            .map(|v| v.as_str().to_string())
            .map_err(|_| unreadable(path, format!("attribute '{name}' is missing: not a sigmagrad checkpoint")))
    };
    let format = s("format")?;
    if format != FORMAT {
        return Err(unreadable(path, format!("format is '{format}', expected '{FORMAT}'")));
    }
    let u = |name: &str| file.attr(name).and_then(|a| a.read_scalar::<u64>()).map_err(|e| unreadable(path, e));
    let standardizer = match file.attr("standardizer") {
        Ok(a) => {
            let json = a.read_scalar::<VarLenUnicode>().map_err(|e| unreadable(path, e))?;
            Some(serde_json::from_str(json.as_str()).map_err(|e| unreadable(path, format!("standardizer: {e}")))?)
        }
        Err(_) => None,
    };
    let meta = serde_json::from_str(&s("meta")?).map_err(|e| unreadable(path, format!("meta: {e}")))?;
    Ok(Checkpoint {
        architecture: s("architecture")?,
        epoch: u("epoch")?,
        optimizer_steps: u("optimizer_steps")?,
        standardizer,
        meta,
    })
}

fn read_tensor(
    group: &hdf5::Group,
    name: &str,
    shape: &[usize],
    dtype: DType,
    device: &autodiff::Device,
    path: &Path,
) -> Result<Tensor, CheckpointError> {
    let derr = |msg: String| CheckpointError::Dataset { path: path.to_path_buf(), name: name.to_string(), msg };
    let ds = group.dataset(name).map_err(|_| derr("is missing".into()))?;
    if ds.shape() != shape {
        return Err(derr(format!("has shape {:?}, the model expects {shape:?}", ds.shape())));
    }
    let data = ds.read_raw::<f64>().map_err(|e| derr(format!("cannot be read as floats ({e})")))?;
    Ok(Tensor::from_f64s(&data, shape, dtype, device)?)
}
