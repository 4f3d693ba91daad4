//! In-memory datasets, seeded splits, the standardizer (with the log and cube-root
//! pre-transforms of the calibration study), and reproducible shuffled minibatches.
//!
//! Values are kept on the host in f64 (preprocessing wants the precision) and converted to the
//! training dtype one minibatch at a time.

use autodiff::{DType, Device, Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// Features `x` (n rows of d columns) and targets `y` (n rows of t columns), row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub features: usize,
    pub targets: usize,
    pub feature_names: Vec<String>,
}

impl Dataset {
    /// Checks that the lengths fit and that every value is finite (a NaN in the input is an
    /// error that names its row and column, not a NaN loss three hours later).
    pub fn new(x: Vec<f64>, features: usize, y: Vec<f64>, targets: usize) -> Result<Self> {
        let bad = |msg: String| Error::Invalid { op: "Dataset::new", msg };
        if features == 0 || targets == 0 {
            return Err(bad("need at least one feature and one target column".into()));
        }
        if !x.len().is_multiple_of(features)
            || !y.len().is_multiple_of(targets)
            || x.len() / features != y.len() / targets
        {
            return Err(bad(format!(
                "{} feature values in rows of {features} and {} targets in rows of {targets} do not make the same number of rows",
                x.len(),
                y.len()
            )));
        }
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("feature value at row {}, column {} is {}", i / features, i % features, x[i])));
        }
        if let Some(i) = y.iter().position(|v| !v.is_finite()) {
            return Err(bad(format!("target value at row {}, column {} is {}", i / targets, i % targets, y[i])));
        }
        let feature_names = (0..features).map(|j| format!("x{j}")).collect();
        Ok(Dataset { x, y, features, targets, feature_names })
    }

    pub fn with_names(mut self, names: &[&str]) -> Result<Self> {
        if names.len() != self.features {
            return Err(Error::Invalid {
                op: "Dataset::with_names",
                msg: format!("{} names for {} feature columns", names.len(), self.features),
            });
        }
        self.feature_names = names.iter().map(|s| s.to_string()).collect();
        Ok(self)
    }

    pub fn len(&self) -> usize {
        self.y.len() / self.targets
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn column(&self, j: usize) -> Vec<f64> {
        self.x.iter().skip(j).step_by(self.features).copied().collect()
    }

    /// The rows `idx`, in that order.
    pub fn subset(&self, idx: &[usize]) -> Dataset {
        let (d, t) = (self.features, self.targets);
        Dataset {
            x: idx.iter().flat_map(|&i| self.x[i * d..(i + 1) * d].iter().copied()).collect(),
            y: idx.iter().flat_map(|&i| self.y[i * t..(i + 1) * t].iter().copied()).collect(),
            features: d,
            targets: t,
            feature_names: self.feature_names.clone(),
        }
    }

    /// Splits into (train, validation, test) by a seeded permutation; fractions of train and
    /// validation are given, the test set takes the rest.
    pub fn split(&self, train: f64, val: f64, seed: u64) -> Result<(Dataset, Dataset, Dataset)> {
        if !(0.0..=1.0).contains(&train) || !(0.0..=1.0).contains(&val) || train + val > 1.0 {
            return Err(Error::Invalid { op: "Dataset::split", msg: format!("fractions {train} + {val} exceed 1") });
        }
        let perm = Rng::new(seed).permutation(self.len());
        let n_train = (train * self.len() as f64).round() as usize;
        let n_val = ((val * self.len() as f64).round() as usize).min(self.len() - n_train);
        Ok((
            self.subset(&perm[..n_train]),
            self.subset(&perm[n_train..n_train + n_val]),
            self.subset(&perm[n_train + n_val..]),
        ))
    }

    /// Minibatches of `batch` rows as (x [b, d], y [b, t]) tensors. With `shuffle` the order is
    /// a permutation drawn from it; the last short batch is kept unless `drop_last`.
    pub fn batches(
        &self,
        batch: usize,
        shuffle: Option<&mut Rng>,
        drop_last: bool,
        dtype: DType,
        device: &Device,
    ) -> Batches<'_> {
        let order = match shuffle {
            Some(rng) => rng.permutation(self.len()),
            None => (0..self.len()).collect(),
        };
        Batches { data: self, order, pos: 0, batch: batch.max(1), drop_last, dtype, device: device.clone() }
    }

    /// All rows as one (x, y) pair of tensors.
    pub fn tensors(&self, dtype: DType, device: &Device) -> Result<(Tensor, Tensor)> {
        let x = Tensor::from_f64s(&self.x, &[self.len(), self.features], dtype, device)?;
        let y = Tensor::from_f64s(&self.y, &[self.len(), self.targets], dtype, device)?;
        Ok((x, y))
    }
}

pub struct Batches<'a> {
    data: &'a Dataset,
    order: Vec<usize>,
    pos: usize,
    batch: usize,
    drop_last: bool,
    dtype: DType,
    device: Device,
}

impl Batches<'_> {
    pub fn count(&self) -> usize {
        let n = self.order.len();
        if self.drop_last {
            n / self.batch
        } else {
            n.div_ceil(self.batch)
        }
    }
}

impl Iterator for Batches<'_> {
    type Item = Result<(Tensor, Tensor)>;

    fn next(&mut self) -> Option<Self::Item> {
        let end = (self.pos + self.batch).min(self.order.len());
        if self.pos >= end || (self.drop_last && end - self.pos < self.batch) {
            return None;
        }
        let rows = self.data.subset(&self.order[self.pos..end]);
        self.pos = end;
        Some(rows.tensors(self.dtype, &self.device))
    }
}

/// A per-column pre-transform applied before standardisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Transform {
    None,
    /// ln(x), or ln(x - min + 1e-10) when the training minimum is <= 0 (the study's
    /// `apply_log`). Values below the shift are clamped to 1e-10 before the log.
    Log,
    /// sign(x) |x|^(1/3): tames heavy tails that change sign (the cluster time).
    CubeRoot,
}

/// Fitted on the training split only and stored with the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    pub transforms: Vec<Transform>,
    pub shifts: Vec<f64>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

const LOG_EPS: f64 = 1e-10;

impl Standardizer {
    pub fn fit(data: &Dataset, transforms: &[Transform]) -> Result<Self> {
        if transforms.len() != data.features {
            return Err(Error::Invalid {
                op: "Standardizer::fit",
                msg: format!("{} transforms for {} feature columns", transforms.len(), data.features),
            });
        }
        if data.is_empty() {
            return Err(Error::Invalid { op: "Standardizer::fit", msg: "cannot fit on an empty dataset".into() });
        }
        let mut s = Standardizer {
            transforms: transforms.to_vec(),
            shifts: vec![0.0; data.features],
            mean: vec![],
            std: vec![],
        };
        for (j, t) in transforms.iter().enumerate() {
            if *t == Transform::Log {
                let min = data.column(j).into_iter().fold(f64::INFINITY, f64::min);
                s.shifts[j] = if min <= 0.0 { -min + LOG_EPS } else { 0.0 };
            }
        }
        for j in 0..data.features {
            let col: Vec<f64> = data.column(j).into_iter().map(|v| s.pre(j, v)).collect();
            let n = col.len() as f64;
            let mean = col.iter().sum::<f64>() / n;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            s.mean.push(mean);
            // A constant column stays constant (scaled by 1) instead of dividing by zero.
            s.std.push(if var > 0.0 { var.sqrt() } else { 1.0 });
        }
        Ok(s)
    }

    fn pre(&self, j: usize, v: f64) -> f64 {
        match self.transforms[j] {
            Transform::None => v,
            Transform::Log => (v + self.shifts[j]).max(LOG_EPS).ln(),
            Transform::CubeRoot => v.cbrt(),
        }
    }

    /// The standardized copy of `data` (targets untouched).
    pub fn apply(&self, data: &Dataset) -> Result<Dataset> {
        if data.features != self.mean.len() {
            return Err(Error::Invalid {
                op: "Standardizer::apply",
                msg: format!("fitted on {} columns, given {}", self.mean.len(), data.features),
            });
        }
        let d = data.features;
        let x = data
            .x
            .iter()
            .enumerate()
            .map(|(i, &v)| (self.pre(i % d, v) - self.mean[i % d]) / self.std[i % d])
            .collect();
        Ok(Dataset { x, ..data.clone() })
    }
}
