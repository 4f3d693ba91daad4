//! Self-describing HDF5 checkpoints: a checkpoint rebuilds its model, h5py can read it, a killed
//! process cannot corrupt it, and a damaged or foreign file is refused before anything changes.
//! The format, its guarantees and the damaged-file suite that tests them
//! (`nn/tests/checkpoint_damage/`, with its counts) are described in the repository's
//! `docs/checkpoint-format.md`.
//!
//! File layout (format "sigmagrad-checkpoint", version 4):
//!
//! ```text
//! user block          the seal (crate::io): a checksum of every byte but the checked data
//!                     chunks, verified before HDF5 parses the file
//! /                   attributes (u64 scalars; text as 1-D u8 arrays of UTF-8, "str" below):
//!                       format           str   "sigmagrad-checkpoint"
//!                       version          u64   4
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
//! /text/<name>       a text longer than 60 KiB (crate::io::MAX_TEXT_ATTRIBUTE) instead of its
//!                     attribute: a 1-D u8 dataset, Fletcher32-checked (HDF5 keeps a larger
//!                     attribute where no checksum covers it)
//! ```
//!
//! Text is never a variable-length HDF5 string (those live in the global heap, which has no
//! checksum and whose damaged lengths crash or hang HDF5); version-3 files, which stored it so,
//! still load.
//!
//! Writing goes through [`crate::io::write_atomically`] (unique temporary name, fsync, rename)
//! and ends with [`crate::io::seal`]; reading follows [`crate::io`]'s rules (the seal first,
//! regular files only, sizes checked before allocation, typed attributes, valid UTF-8). Loading
//! reads and checks everything (every attribute, every dataset's presence, type, shape and
//! finiteness in the model's dtype, the optimizer state's completeness and sign, the
//! standardizer's consistency, a model description no larger than the stored weights) before
//! it assigns anything: a load either succeeds completely or leaves model and optimizer exactly
//! as they were.
//!
//! The code: `contents` (the types and the error), `header` (the attributes, read and checked),
//! `load` (into a model), and here saving and the public entry points.

mod contents;
mod header;
mod load;

pub use contents::{Checkpoint, CheckpointError, LoadedModel, FORMAT, TEXT_GROUP, VERSION};

use crate::io::{
    checked_chunks, create_sealable_h5, remove_stale_temporaries, seal, write_atomically, write_checked,
    write_text_attr, FileError, H5File, MAX_TEXT_ATTRIBUTE,
};
use crate::module::{Module, StreamState};
use crate::optim::Optimizer;
use crate::spec::ModelSpec;
use autodiff::{DType, Device, HostData, Tensor};
use contents::CkResult;
use header::{header, params_dtype};
use load::load_into;
use std::path::Path;

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
        let texts = self
            .texts(&model.fingerprint(), spec.as_ref(), &streams)
            .map_err(|e| FileError::new(path, format!("cannot describe the checkpoint: {e}")))?;
        let long_texts: usize = texts
            .iter()
            .filter(|(_, t)| t.len() > MAX_TEXT_ATTRIBUTE)
            .map(|(_, t)| checked_chunks(&[t.len()], 1))
            .sum();
        let elem = |t: &Tensor| if t.dtype() == DType::F32 { 4 } else { 8 };
        let chunks: usize = values
            .iter()
            .map(|(_, t)| t)
            .chain(state.iter().flatten().map(|(_, t)| t))
            .map(|t| checked_chunks(t.shape(), elem(t)))
            .sum::<usize>()
            + long_texts;
        remove_stale_temporaries(path);
        hdf5::silence_errors(true);
        write_atomically(path, |tmp| {
            let file = create_sealable_h5(tmp, chunks)?;
            self.write_attributes(&file, &texts, steps)?;
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

    /// The text items of a checkpoint (see the layout above), by name.
    fn texts(
        &self,
        fingerprint: &str,
        spec: Option<&ModelSpec>,
        streams: &[StreamState],
    ) -> Result<Vec<(&'static str, String)>, String> {
        let mut texts = vec![("format", FORMAT.to_string()), ("fingerprint", fingerprint.to_string())];
        if let Some(spec) = spec {
            texts.push(("model", json(spec)?));
        }
        if let Some(s) = &self.standardizer {
            texts.push(("standardizer", json(s)?));
        }
        texts.push(("meta", json(&self.meta)?));
        texts.push(("streams", json(&streams)?));
        if let Some(t) = &self.trainer {
            texts.push(("trainer", json(t)?));
        }
        Ok(texts)
    }

    /// Writes the attributes of a checkpoint, and its long texts as datasets (see the layout).
    fn write_attributes(&self, file: &hdf5::File, texts: &[(&str, String)], steps: u64) -> Result<(), String> {
        let attr_u64 = |name: &str, value: u64| -> Result<(), String> {
            file.new_attr::<u64>()
                .create(name)
                .and_then(|a| a.write_scalar(&value))
                .map_err(|e| format!("attribute {name}: {e}"))
        };
        attr_u64("version", VERSION)?;
        attr_u64("epoch", self.epoch)?;
        attr_u64("optimizer_steps", steps)?;
        // Text as u8 arrays where HDF5 checksums them, never in its global heap; beyond what an
        // attribute holds under a checksum, as a Fletcher32 dataset in /text.
        let mut long = None;
        for (name, text) in texts {
            if text.len() <= MAX_TEXT_ATTRIBUTE {
                write_text_attr(file, name, text)?;
            } else {
                if long.is_none() {
                    long = Some(file.create_group(TEXT_GROUP).map_err(|e| e.to_string())?);
                }
                let group = long.as_ref().expect("created above");
                write_checked(group, name, &[text.len()], text.as_bytes())?;
            }
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
