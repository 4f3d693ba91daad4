//! Prediction files, the output of `calibration predict` and an input of `evaluate`: one 1-D
//! dataset per quantity at the root, row-aligned with the input file after the cuts.
//!
//! | dataset | meaning |
//! |---|---|
//! | `R_pred` | predicted response R = E^EM / E_dep (> 0) |
//! | `sigma_syst`, `sigma_stat`, `sigma_tot` | uncertainties of R_pred; tot² = syst² + stat² |
//! | `E_calib` | calibrated energy clusterE / R_pred (GeV) |
//! | `sigma_E` | its uncertainty E_calib σ_tot / R_pred (GeV), to first order |
//! | `input_index` | the row of each cluster in the input file (uint64) |
//!
//! String attributes: `format` ("sigmagrad-calibration-predictions"), `method` (e.g. "bnn"),
//! `model` (the model directory or a description), `data` (the input file); `version` = 1.

use crate::error::{Error, Result};
use hdf5::types::VarLenUnicode;
use nn::io::{write_atomically, write_checked, FileError, H5File};
use std::collections::HashSet;
use std::path::Path;

pub const FORMAT: &str = "sigmagrad-calibration-predictions";
pub const VERSION: u64 = 1;

#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    pub r_pred: Vec<f64>,
    pub sigma_syst: Vec<f64>,
    pub sigma_stat: Vec<f64>,
    pub sigma_tot: Vec<f64>,
    pub e_calib: Vec<f64>,
    pub sigma_e: Vec<f64>,
    pub input_index: Vec<u64>,
    pub method: String,
    pub model: String,
    pub data: String,
}

impl Predictions {
    /// Predictions from the network's R_pred, σ_syst and σ_stat for clusters with EM-scale
    /// energies `cluster_e` (their input rows `input_index`): σ_tot, E_calib and σ_E follow.
    #[allow(clippy::too_many_arguments)]
    pub fn from_response(
        cluster_e: &[f64],
        input_index: Vec<u64>,
        r_pred: Vec<f64>,
        sigma_syst: Vec<f64>,
        sigma_stat: Vec<f64>,
        method: &str,
        model: &str,
        data: &str,
    ) -> Result<Predictions> {
        let n = r_pred.len();
        if [cluster_e.len(), input_index.len(), sigma_syst.len(), sigma_stat.len()].iter().any(|&l| l != n) {
            return Err(Error::invalid(format!(
                "predictions: {} energies, {} input rows, {n} responses, {} sigma_syst and {} sigma_stat; they must be equal",
                cluster_e.len(),
                input_index.len(),
                sigma_syst.len(),
                sigma_stat.len()
            )));
        }
        let sigma_tot: Vec<f64> = sigma_syst.iter().zip(&sigma_stat).map(|(a, b)| a.hypot(*b)).collect();
        let e_calib: Vec<f64> = cluster_e.iter().zip(&r_pred).map(|(e, r)| e / r).collect();
        let sigma_e: Vec<f64> = e_calib.iter().zip(&sigma_tot).zip(&r_pred).map(|((e, s), r)| e * s / r).collect();
        let p = Predictions {
            r_pred,
            sigma_syst,
            sigma_stat,
            sigma_tot,
            e_calib,
            sigma_e,
            input_index,
            method: method.into(),
            model: model.into(),
            data: data.into(),
        };
        p.validate(Path::new("(predictions in memory)"))?;
        Ok(p)
    }

    pub fn len(&self) -> usize {
        self.r_pred.len()
    }

    pub fn is_empty(&self) -> bool {
        self.r_pred.is_empty()
    }

    fn columns(&self) -> [(&'static str, &[f64]); 6] {
        [
            ("R_pred", &self.r_pred),
            ("sigma_syst", &self.sigma_syst),
            ("sigma_stat", &self.sigma_stat),
            ("sigma_tot", &self.sigma_tot),
            ("E_calib", &self.e_calib),
            ("sigma_E", &self.sigma_e),
        ]
    }

    /// Equal lengths, finite values, R_pred > 0, sigmas ≥ 0, no input row twice; errors name
    /// `path`, the dataset and the count of bad rows.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let n = self.len();
        let item = |name: &str| format!("dataset '{name}'");
        for (name, v) in self.columns() {
            if v.len() != n {
                return Err(FileError::item(path, item(name), format!("has {} rows, R_pred {n}", v.len())).into());
            }
            let bad = v.iter().filter(|x| !x.is_finite()).count();
            if bad > 0 {
                return Err(FileError::item(path, item(name), format!("{bad} of {n} rows are not finite")).into());
            }
        }
        if self.input_index.len() != n {
            return Err(FileError::item(
                path,
                item("input_index"),
                format!("has {} rows, R_pred {n}", self.input_index.len()),
            )
            .into());
        }
        let bad = self.r_pred.iter().filter(|&&r| r <= 0.0).count();
        if bad > 0 {
            return Err(FileError::item(path, item("R_pred"), format!("{bad} of {n} rows are not positive")).into());
        }
        for (name, v) in [("sigma_syst", &self.sigma_syst), ("sigma_stat", &self.sigma_stat)] {
            let bad = v.iter().filter(|&&s| s < 0.0).count();
            if bad > 0 {
                return Err(FileError::item(path, item(name), format!("{bad} of {n} rows are negative")).into());
            }
        }
        let mut seen = HashSet::with_capacity(n);
        let repeated = self.input_index.iter().filter(|i| !seen.insert(**i)).count();
        if repeated > 0 {
            return Err(FileError::item(
                path,
                item("input_index"),
                format!("{repeated} of {n} rows repeat an input row"),
            )
            .into());
        }
        Ok(())
    }

    /// Writes the file atomically after validating.
    pub fn write(&self, path: &Path) -> Result<()> {
        self.validate(path)?;
        write_atomically(path, |tmp| {
            let f = nn::io::create_h5(tmp)?;
            for (name, value) in
                [("format", FORMAT), ("method", &self.method), ("model", &self.model), ("data", &self.data)]
            {
                let v: VarLenUnicode = value.parse().map_err(|e| format!("attribute {name}: {e:?}"))?;
                f.new_attr::<VarLenUnicode>()
                    .create(name)
                    .and_then(|a| a.write_scalar(&v))
                    .map_err(|e| format!("attribute {name}: {e}"))?;
            }
            f.new_attr::<u64>().create("version").and_then(|a| a.write_scalar(&VERSION)).map_err(|e| e.to_string())?;
            for (name, v) in self.columns() {
                write_checked(&f, name, &[v.len()], v)?;
            }
            write_checked(&f, "input_index", &[self.input_index.len()], &self.input_index)?;
            f.close().map_err(|e| e.to_string())
        })?;
        Ok(())
    }

    /// Checks that `path` is a prediction file, without reading its columns: what a command
    /// checks before its first expensive step.
    pub fn check(path: &Path) -> Result<()> {
        super::check_format(&H5File::open(path)?, path, FORMAT, "a prediction file")
    }

    /// Reads and validates a prediction file.
    pub fn read(path: &Path) -> Result<Predictions> {
        let f = H5File::open(path)?;
        super::check_format(&f, path, FORMAT, "a prediction file")?;
        let (r_pred, shape) = f.read_finite_f64("R_pred", None)?;
        if shape.len() != 1 {
            return Err(FileError::item(path, "dataset 'R_pred'", format!("has shape {shape:?}, expected 1-D")).into());
        }
        let read = |name: &str| f.read_finite_f64(name, None).map(|(v, _)| v);
        let (index, _) = f.read_numeric_f64("input_index", None)?;
        let bad = index.iter().filter(|&&i| !(i >= 0.0 && i.fract() == 0.0)).count();
        if bad > 0 {
            return Err(FileError::item(
                path,
                "dataset 'input_index'",
                format!("{bad} of {} rows are not row numbers", index.len()),
            )
            .into());
        }
        let p = Predictions {
            sigma_syst: read("sigma_syst")?,
            sigma_stat: read("sigma_stat")?,
            sigma_tot: read("sigma_tot")?,
            e_calib: read("E_calib")?,
            sigma_e: read("sigma_E")?,
            input_index: index.into_iter().map(|i| i as u64).collect(),
            method: f.attr_string("", "method")?,
            model: f.attr_string("", "model")?,
            data: f.attr_string("", "data")?,
            r_pred,
        };
        p.validate(path)?;
        Ok(p)
    }
}
