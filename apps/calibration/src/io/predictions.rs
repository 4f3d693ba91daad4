//! Prediction files, the output of `calibration predict` and an input of `evaluate`: one 1-D
//! dataset per quantity at the root, row-aligned with the input file after the cuts, or with
//! every input row (`predict --keep-all`, and every ROOT output).
//!
//! | dataset | meaning |
//! |---|---|
//! | `R_pred` | predicted response R = E^EM / E_dep (> 0) |
//! | `sigma_syst`, `sigma_stat`, `sigma_tot` | uncertainties of R_pred; tot² = syst² + stat² |
//! | `E_calib` | calibrated energy clusterE / R_pred (GeV) |
//! | `sigma_E` | its uncertainty E_calib σ_tot / R_pred (GeV), to first order |
//! | `input_index` | the row of each cluster in the input file (uint64) |
//! | `selected` | with every input row only: 1 where the cluster passed the cuts, else 0 (uint8) |
//!
//! A row the cuts removed stays at the EM scale: R_pred = 1, E_calib = clusterE, and NaN for
//! the three σ and σ_E (the network was not asked).
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
    /// With every input row: whether each row passed the cuts; None: every row did.
    pub selected: Option<Vec<u8>>,
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
            selected: None,
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

    /// Whether row `k` passed the cuts (and so holds the network's prediction).
    pub fn is_selected(&self, k: usize) -> bool {
        self.selected.as_ref().is_none_or(|s| s[k] != 0)
    }

    /// The predictions with one row per input row (`cluster_e`, the EM-scale energy of every
    /// row of the input file): the selected clusters where their input rows are, and the EM
    /// scale with NaN uncertainties in the rows the cuts removed, so that the file can stand
    /// beside the ntuple row for row (a friend tree).
    pub fn with_every_row(self, cluster_e: &[f64]) -> Result<Predictions> {
        let n = cluster_e.len();
        if let Some(&i) = self.input_index.iter().find(|&&i| i as usize >= n) {
            return Err(Error::invalid(format!("predictions: input row {i} is beyond the {n} rows of {}", self.data)));
        }
        let mut all = Predictions {
            r_pred: vec![1.0; n],
            sigma_syst: vec![f64::NAN; n],
            sigma_stat: vec![f64::NAN; n],
            sigma_tot: vec![f64::NAN; n],
            e_calib: cluster_e.to_vec(),
            sigma_e: vec![f64::NAN; n],
            input_index: (0..n as u64).collect(),
            selected: Some(vec![0; n]),
            method: self.method,
            model: self.model,
            data: self.data,
        };
        for (k, &i) in self.input_index.iter().enumerate() {
            let i = i as usize;
            all.r_pred[i] = self.r_pred[k];
            all.sigma_syst[i] = self.sigma_syst[k];
            all.sigma_stat[i] = self.sigma_stat[k];
            all.sigma_tot[i] = self.sigma_tot[k];
            all.e_calib[i] = self.e_calib[k];
            all.sigma_e[i] = self.sigma_e[k];
            if let Some(s) = all.selected.as_mut() {
                s[i] = 1;
            }
        }
        all.validate(Path::new("(predictions in memory)"))?;
        Ok(all)
    }

    pub(crate) fn columns(&self) -> [(&'static str, &[f64]); 6] {
        [
            ("R_pred", &self.r_pred),
            ("sigma_syst", &self.sigma_syst),
            ("sigma_stat", &self.sigma_stat),
            ("sigma_tot", &self.sigma_tot),
            ("E_calib", &self.e_calib),
            ("sigma_E", &self.sigma_e),
        ]
    }

    /// Equal lengths, finite values, R_pred > 0, sigmas ≥ 0, no input row twice; rows the cuts
    /// removed (`selected` = 0) must have R_pred = 1 and may hold NaN. Errors name `path`, the
    /// dataset and the count of bad rows.
    pub fn validate(&self, path: &Path) -> Result<()> {
        let n = self.len();
        let item = |name: &str| format!("dataset '{name}'");
        let fail = |name: &str, msg: String| -> Result<()> { Err(FileError::item(path, item(name), msg).into()) };
        if let Some(s) = &self.selected {
            if s.len() != n {
                return fail("selected", format!("has {} rows, R_pred {n}", s.len()));
            }
            let bad = s.iter().filter(|&&x| x > 1).count();
            if bad > 0 {
                return fail("selected", format!("{bad} of {n} rows are neither 0 nor 1"));
            }
        }
        let count = |bad: &dyn Fn(usize) -> bool| (0..n).filter(|&k| bad(k)).count();
        for (name, v) in self.columns() {
            if v.len() != n {
                return fail(name, format!("has {} rows, R_pred {n}", v.len()));
            }
            let bad = count(&|k| self.is_selected(k) && !v[k].is_finite());
            if bad > 0 {
                return fail(name, format!("{bad} of {n} rows are not finite"));
            }
        }
        if self.input_index.len() != n {
            return fail("input_index", format!("has {} rows, R_pred {n}", self.input_index.len()));
        }
        let bad = count(&|k| self.is_selected(k) && self.r_pred[k] <= 0.0);
        if bad > 0 {
            return fail("R_pred", format!("{bad} of {n} rows are not positive"));
        }
        let bad = count(&|k| !self.is_selected(k) && self.r_pred[k] != 1.0);
        if bad > 0 {
            return fail("R_pred", format!("{bad} of {n} rows that the cuts removed are not 1 (the EM scale)"));
        }
        for (name, v) in [("sigma_syst", &self.sigma_syst), ("sigma_stat", &self.sigma_stat)] {
            let bad = count(&|k| v[k] < 0.0);
            if bad > 0 {
                return fail(name, format!("{bad} of {n} rows are negative"));
            }
        }
        let mut seen = HashSet::with_capacity(n);
        let repeated = self.input_index.iter().filter(|i| !seen.insert(**i)).count();
        if repeated > 0 {
            return fail("input_index", format!("{repeated} of {n} rows repeat an input row"));
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
            if let Some(selected) = &self.selected {
                write_checked(&f, "selected", &[selected.len()], selected)?;
            }
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
        // A file with every input row holds NaN in the rows the cuts removed; validate() checks
        // that the selected rows are finite.
        let selected = match f.exists("selected") {
            true => Some(read_flags(&f, path)?),
            false => None,
        };
        let every_row = selected.is_some();
        let read = |name: &str| if every_row { f.read_f64(name, None) } else { f.read_finite_f64(name, None) };
        let (r_pred, shape) = read("R_pred")?;
        if shape.len() != 1 {
            return Err(FileError::item(path, "dataset 'R_pred'", format!("has shape {shape:?}, expected 1-D")).into());
        }
        let read = |name: &str| read(name).map(|(v, _)| v);
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
            selected,
            method: f.attr_string("", "method")?,
            model: f.attr_string("", "model")?,
            data: f.attr_string("", "data")?,
            r_pred,
        };
        p.validate(path)?;
        Ok(p)
    }
}

/// The `selected` dataset: 0 or 1 per row.
fn read_flags(f: &H5File, path: &Path) -> Result<Vec<u8>> {
    let (flags, _) = f.read_numeric_f64("selected", None)?;
    let bad = flags.iter().filter(|&&x| x != 0.0 && x != 1.0).count();
    if bad > 0 {
        return Err(FileError::item(
            path,
            "dataset 'selected'",
            format!("{bad} of {} rows are neither 0 nor 1", flags.len()),
        )
        .into());
    }
    Ok(flags.into_iter().map(|x| x as u8).collect())
}
