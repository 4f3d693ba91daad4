//! Reading a checkpoint's attributes, each checked alone and against the others (format,
//! version, model description, standardizer, trainer state) before any model is touched.

use super::contents::{Checkpoint, CheckpointError, CkResult, FORMAT, OLDEST_READ, TEXT_GROUP, VERSION};
use crate::io::{FileError, FloatKind, H5File};
use crate::spec::ModelSpec;
use crate::standardizer::Standardizer;
use crate::trainer_state::TrainerState;
use autodiff::DType;
use std::path::Path;

pub(super) fn params_dtype(file: &H5File) -> CkResult<DType> {
    let names = file.members("params")?;
    let first = names.first().ok_or_else(|| FileError::item(&file.path, "group '/params'", "holds no parameters"))?;
    Ok(match file.float_shape(&format!("params/{first}"))?.1 {
        FloatKind::F32 => DType::F32,
        FloatKind::F64 => DType::F64,
    })
}

/// How a checkpoint's text items are read: a version-3 file stores them as variable-length
/// string attributes; every other version is read without touching HDF5's global heap, from a
/// u8 attribute or, for a long text, a u8 dataset in [`TEXT_GROUP`] (a version this build does
/// not know is refused after `format` is read, so nothing of it is trusted).
#[derive(Clone, Copy)]
struct Text(u64);

impl Text {
    fn dataset(name: &str) -> String {
        format!("{TEXT_GROUP}/{name}")
    }

    fn has(self, file: &H5File, name: &str) -> bool {
        file.has_attr("", name) || (self.0 != OLDEST_READ && file.exists(&Self::dataset(name)))
    }

    fn read(self, file: &H5File, name: &str) -> CkResult<String> {
        if self.0 == OLDEST_READ {
            return Ok(file.attr_string("", name)?);
        }
        let dataset = Self::dataset(name);
        match (file.has_attr("", name), file.exists(&dataset)) {
            (true, true) => Err(FileError::item(
                &file.path,
                format!("attribute '{name}'"),
                format!("is stored twice, also as dataset '{dataset}'"),
            )
            .into()),
            (false, true) => Ok(file.read_text(&dataset)?),
            _ => Ok(file.attr_string_outside_heap("", name)?),
        }
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(file: &H5File, text: Text, name: &str) -> CkResult<T> {
    let text = text.read(file, name)?;
    serde_json::from_str(&text).map_err(|e| {
        CheckpointError::File(FileError::item(&file.path, format!("attribute '{name}'"), format!("is not valid: {e}")))
    })
}

/// Refuses a model description that describes more weights than the file stores, before
/// anything is built from it: `load_model` would otherwise allocate whatever a damaged or
/// hostile `model` attribute claims (a hidden layer of 2e8 units, a flow of 1e9 blocks).
/// [`ModelSpec::min_parameter_values`] is a lower bound of every model kind's parameters, so a
/// sound file always passes; the stored count comes from shapes already checked against the
/// bytes the file holds.
fn check_model_size(file: &H5File, spec: &ModelSpec) -> CkResult<()> {
    let widths = spec.mlp.widths();
    // Checked: two widths near 2^64 make a product near 2^128, which a sum or the members overflow.
    let claimed = spec.min_parameter_values().ok_or_else(|| {
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
pub(super) fn header(file: &H5File) -> CkResult<(Checkpoint, String)> {
    let path = &file.path;
    if !file.has_attr("", "format") && !file.exists(&Text::dataset("format")) {
        return Err(
            FileError::new(path, "is an HDF5 file but not a sigmagrad checkpoint (no 'format' attribute)").into()
        );
    }
    // The version first: it says how the text attributes, `format` among them, may be read.
    // Without one, `format` is not read at all (it may be a string in the global heap).
    if !file.has_attr("", "version") {
        let msg = "is missing, so this is no sigmagrad checkpoint of a known version (another program's \
                   file with a 'format' attribute, or a damaged checkpoint); 'format' is not read";
        return Err(FileError::item(path, "attribute 'version'", msg).into());
    }
    let version = file.attr_u64("", "version")?;
    let text = Text(version);
    let format = text.read(file, "format")?;
    if format != FORMAT {
        return Err(FileError::item(path, "attribute 'format'", format!("is '{format}', expected '{FORMAT}'")).into());
    }
    if version != VERSION && version != OLDEST_READ {
        let msg = if version == 2 {
            "is 2: this checkpoint was written by a development build before checkpoints were sealed \
             (format version 2); load it with that build and save it again, or retrain"
                .to_string()
        } else if version == 1 {
            "is 1: this checkpoint was written before checkpoints described their model (format version 1) and \
             cannot be loaded; retrain the model"
                .to_string()
        } else {
            format!("is {version}, which this sigmagrad does not know (it reads versions {OLDEST_READ} and {VERSION}); is the file from a newer release?")
        };
        return Err(FileError::item(path, "attribute 'version'", msg).into());
    }
    let spec: Option<ModelSpec> = if text.has(file, "model") { Some(parse_json(file, text, "model")?) } else { None };
    let fingerprint = text.read(file, "fingerprint")?;
    check_listed_parameters(file, &fingerprint)?;
    if let Some(s) = &spec {
        s.validate().map_err(|e| FileError::item(path, "attribute 'model'", e.to_string()))?;
        check_model_size(file, s)?;
    }
    let standardizer: Option<Standardizer> =
        if text.has(file, "standardizer") { Some(parse_json(file, text, "standardizer")?) } else { None };
    if let Some(s) = &standardizer {
        s.validate().map_err(|e| FileError::item(path, "attribute 'standardizer'", e.to_string()))?;
        if let Some(spec) = &spec {
            check_standardizer_fits(path, s, spec)?;
        }
    }
    let trainer: Option<TrainerState> =
        if text.has(file, "trainer") { Some(parse_json(file, text, "trainer")?) } else { None };
    if let Some(t) = &trainer {
        t.validate().map_err(|e| FileError::item(path, "attribute 'trainer'", e))?;
    }
    let head = Checkpoint {
        spec,
        standardizer,
        meta: parse_json(file, text, "meta")?,
        epoch: file.attr_u64("", "epoch")?,
        optimizer_steps: file.attr_u64("", "optimizer_steps")?,
        streams: parse_json(file, text, "streams")?,
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
pub(super) fn check_standardizer_fits(path: &Path, s: &Standardizer, spec: &ModelSpec) -> CkResult<()> {
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
