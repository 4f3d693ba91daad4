//! In-memory datasets with optional per-event weights, seeded splits, and reproducible
//! minibatches, from one sample or from two (a classifier's truth and generated
//! samples, in equal numbers per batch).
//!
//! Values are kept on the host in f64 (preprocessing wants the precision) and converted to the
//! training dtype one minibatch at a time. A `Dataset` can only be built through constructors
//! that check it, so a NaN can never reach a training step unannounced.

use autodiff::{DType, Device, Error, Result, Rng, Tensor};

/// Features `x` (n rows of d columns), targets `y` (n rows of t columns), row-major, and
/// optionally one non-negative weight per row.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    x: Vec<f64>,
    y: Vec<f64>,
    w: Option<Vec<f64>>,
    features: usize,
    targets: usize,
    feature_names: Vec<String>,
}

pub(crate) fn invalid(op: &'static str, msg: String) -> Error {
    Error::Invalid { op, msg }
}

/// The first non-finite value of a row-major table, as (row, column, value).
pub(crate) fn first_non_finite(v: &[f64], cols: usize) -> Option<(usize, usize, f64)> {
    v.iter().position(|x| !x.is_finite()).map(|i| (i / cols, i % cols, v[i]))
}

impl Dataset {
    /// Checks that the lengths fit and that every value is finite (a NaN in the input is an
    /// error that names its row and column, not a NaN loss three hours later).
    pub fn new(x: Vec<f64>, features: usize, y: Vec<f64>, targets: usize) -> Result<Self> {
        if features == 0 || targets == 0 {
            return Err(invalid("Dataset::new", "need at least one feature and one target column".into()));
        }
        if !x.len().is_multiple_of(features)
            || !y.len().is_multiple_of(targets)
            || x.len() / features != y.len() / targets
        {
            return Err(invalid(
                "Dataset::new",
                format!(
                    "{} feature values in rows of {features} and {} targets in rows of {targets} do not make the same number of rows",
                    x.len(),
                    y.len()
                ),
            ));
        }
        let count = |v: &[f64]| v.iter().filter(|x| !x.is_finite()).count();
        if let Some((r, c, v)) = first_non_finite(&x, features) {
            return Err(invalid(
                "Dataset::new",
                format!("{} feature values are not finite; the first is {v} at row {r}, column {c}", count(&x)),
            ));
        }
        if let Some((r, c, v)) = first_non_finite(&y, targets) {
            return Err(invalid(
                "Dataset::new",
                format!("{} target values are not finite; the first is {v} at row {r}, column {c}", count(&y)),
            ));
        }
        let feature_names = (0..features).map(|j| format!("x{j}")).collect();
        Ok(Dataset { x, y, w: None, features, targets, feature_names })
    }

    /// Per-event weights (one per row, finite and non-negative, not all zero): losses become
    /// weighted means.
    pub fn with_weights(mut self, w: Vec<f64>) -> Result<Self> {
        if w.len() != self.len() {
            return Err(invalid("Dataset::with_weights", format!("{} weights for {} rows", w.len(), self.len())));
        }
        if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
            return Err(invalid(
                "Dataset::with_weights",
                format!("weight {} at row {i} is not a finite value >= 0", w[i]),
            ));
        }
        if !w.is_empty() && w.iter().all(|&v| v == 0.0) {
            return Err(invalid("Dataset::with_weights", "every weight is zero".into()));
        }
        self.w = Some(w);
        Ok(self)
    }

    pub fn with_names(mut self, names: &[&str]) -> Result<Self> {
        if names.len() != self.features {
            return Err(invalid(
                "Dataset::with_names",
                format!("{} names for {} feature columns", names.len(), self.features),
            ));
        }
        self.feature_names = names.iter().map(|s| s.to_string()).collect();
        Ok(self)
    }

    /// The same rows with their features and targets replaced by `x` and `y` of the same
    /// shapes (the standardizer's output), weights and names kept.
    pub(crate) fn with_values(&self, x: Vec<f64>, y: Vec<f64>) -> Dataset {
        Dataset { x, y, ..self.clone() }
    }

    pub fn x(&self) -> &[f64] {
        &self.x
    }
    pub fn y(&self) -> &[f64] {
        &self.y
    }
    pub fn weights(&self) -> Option<&[f64]> {
        self.w.as_deref()
    }
    pub fn features(&self) -> usize {
        self.features
    }
    pub fn targets(&self) -> usize {
        self.targets
    }
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
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
            w: self.w.as_ref().map(|w| idx.iter().map(|&i| w[i]).collect()),
            features: d,
            targets: t,
            feature_names: self.feature_names.clone(),
        }
    }

    /// Splits into (train, validation, test) by a seeded permutation; fractions of train and
    /// validation are given, the test set takes the rest.
    pub fn split(&self, train: f64, val: f64, seed: u64) -> Result<(Dataset, Dataset, Dataset)> {
        if !(0.0..=1.0).contains(&train) || !(0.0..=1.0).contains(&val) || train + val > 1.0 {
            return Err(invalid("Dataset::split", format!("fractions {train} + {val} exceed 1")));
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

    /// Minibatches of `batch` rows. With `shuffle` the order is a permutation drawn from it; the
    /// last short batch is kept unless `drop_last`.
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

    /// All rows as one batch.
    pub fn to_batch(&self, dtype: DType, device: &Device) -> Result<Batch> {
        let all: Vec<usize> = (0..self.len()).collect();
        self.batch_of(&all, dtype, device)
    }

    /// All rows as (x [n, d], y [n, t]) tensors.
    pub fn tensors(&self, dtype: DType, device: &Device) -> Result<(Tensor, Tensor)> {
        let x = Tensor::from_f64s(&self.x, &[self.len(), self.features], dtype, device)?;
        let y = Tensor::from_f64s(&self.y, &[self.len(), self.targets], dtype, device)?;
        Ok((x, y))
    }

    fn batch_of(&self, rows: &[usize], dtype: DType, device: &Device) -> Result<Batch> {
        let (d, t, b) = (self.features, self.targets, rows.len());
        let mut x = Vec::with_capacity(b * d);
        let mut y = Vec::with_capacity(b * t);
        for &i in rows {
            x.extend_from_slice(&self.x[i * d..(i + 1) * d]);
            y.extend_from_slice(&self.y[i * t..(i + 1) * t]);
        }
        let y_shape: Vec<usize> = if t == 1 { vec![b] } else { vec![b, t] };
        let w = match &self.w {
            Some(w) => {
                let ws: Vec<f64> = rows.iter().map(|&i| w[i]).collect();
                Some(Tensor::from_f64s(&ws, &[b], dtype, device)?)
            }
            None => None,
        };
        Ok(Batch {
            x: Tensor::from_f64s(&x, &[b, d], dtype, device)?,
            y: Tensor::from_f64s(&y, &y_shape, dtype, device)?,
            w,
        })
    }
}

/// One minibatch: features [b, d], targets [b] (one target column) or [b, t], and optional
/// per-event weights [b].
#[derive(Debug, Clone)]
pub struct Batch {
    pub x: Tensor,
    pub y: Tensor,
    pub w: Option<Tensor>,
}

impl Batch {
    pub fn len(&self) -> usize {
        self.x.shape()[0]
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        let end = (self.pos + self.batch).min(self.order.len());
        if self.pos >= end || (self.drop_last && end - self.pos < self.batch) {
            return None;
        }
        let rows = &self.order[self.pos..end];
        self.pos = end;
        Some(self.data.batch_of(rows, self.dtype, &self.device))
    }
}

/// What the training loop draws minibatches from: one dataset, or two samples in equal parts.
pub trait BatchSource: Send + Sync {
    /// The number of training examples, N in the KL / N and repulsion / N terms.
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many batches of `batch` an epoch has.
    fn steps(&self, batch: usize, drop_last: bool) -> usize;

    /// The epoch's batches, shuffled by `shuffle` when given.
    fn epoch<'a>(
        &'a self,
        batch: usize,
        shuffle: Option<&mut Rng>,
        drop_last: bool,
        dtype: DType,
        device: &Device,
    ) -> Box<dyn Iterator<Item = Result<Batch>> + 'a>;
}

impl BatchSource for Dataset {
    fn len(&self) -> usize {
        Dataset::len(self)
    }

    fn steps(&self, batch: usize, drop_last: bool) -> usize {
        let (n, b) = (Dataset::len(self), batch.max(1));
        if drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    fn epoch<'a>(
        &'a self,
        batch: usize,
        shuffle: Option<&mut Rng>,
        drop_last: bool,
        dtype: DType,
        device: &Device,
    ) -> Box<dyn Iterator<Item = Result<Batch>> + 'a> {
        Box::new(self.batches(batch, shuffle, drop_last, dtype, device))
    }
}

/// Two samples for a classifier, labelled 1 (`truth`) and 0 (`generated`). Every batch holds
/// `batch` events of each, as the generator-weight paper trains (its loaders are zipped), so
/// the batch-mean BCE is the balanced 0.5 [BCE(truth, 1) + BCE(generated, 0)]; an epoch ends
/// when the smaller sample is used up. Event weights, where the samples have them, are scaled
/// so that each half of a batch carries the same total weight.
pub struct TwoSample {
    pub truth: Dataset,
    pub generated: Dataset,
}

impl TwoSample {
    /// The samples' targets are ignored (the labels are the sample); their feature counts must
    /// agree.
    pub fn new(truth: Dataset, generated: Dataset) -> Result<Self> {
        if truth.features != generated.features {
            return Err(invalid(
                "TwoSample::new",
                format!("truth has {} features, generated {}", truth.features, generated.features),
            ));
        }
        Ok(TwoSample { truth, generated })
    }

    fn half_weights(d: &Dataset, rows: &[usize]) -> Vec<f64> {
        match &d.w {
            Some(w) => {
                let sum: f64 = rows.iter().map(|&i| w[i]).sum();
                let scale = if sum > 0.0 { rows.len() as f64 / sum } else { 0.0 };
                rows.iter().map(|&i| w[i] * scale).collect()
            }
            None => vec![1.0; rows.len()],
        }
    }

    fn batch_of(&self, t_rows: &[usize], g_rows: &[usize], dtype: DType, device: &Device) -> Result<Batch> {
        let d = self.truth.features;
        let b = t_rows.len() + g_rows.len();
        let mut x = Vec::with_capacity(b * d);
        for &i in t_rows {
            x.extend_from_slice(&self.truth.x[i * d..(i + 1) * d]);
        }
        for &i in g_rows {
            x.extend_from_slice(&self.generated.x[i * d..(i + 1) * d]);
        }
        let labels: Vec<f64> = t_rows.iter().map(|_| 1.0).chain(g_rows.iter().map(|_| 0.0)).collect();
        let w = if self.truth.w.is_some() || self.generated.w.is_some() {
            let mut w = Self::half_weights(&self.truth, t_rows);
            w.extend(Self::half_weights(&self.generated, g_rows));
            Some(Tensor::from_f64s(&w, &[b], dtype, device)?)
        } else {
            None
        };
        Ok(Batch {
            x: Tensor::from_f64s(&x, &[b, d], dtype, device)?,
            y: Tensor::from_f64s(&labels, &[b], dtype, device)?,
            w,
        })
    }
}

impl BatchSource for TwoSample {
    fn len(&self) -> usize {
        self.truth.len() + self.generated.len()
    }

    fn steps(&self, batch: usize, drop_last: bool) -> usize {
        let (n, b) = (self.truth.len().min(self.generated.len()), batch.max(1));
        if drop_last {
            n / b
        } else {
            n.div_ceil(b)
        }
    }

    fn epoch<'a>(
        &'a self,
        batch: usize,
        shuffle: Option<&mut Rng>,
        drop_last: bool,
        dtype: DType,
        device: &Device,
    ) -> Box<dyn Iterator<Item = Result<Batch>> + 'a> {
        let (t_order, g_order) = match shuffle {
            Some(rng) => (rng.permutation(self.truth.len()), rng.permutation(self.generated.len())),
            None => ((0..self.truth.len()).collect(), (0..self.generated.len()).collect()),
        };
        let steps = self.steps(batch, drop_last);
        let b = batch.max(1);
        let n = self.truth.len().min(self.generated.len());
        let device = device.clone();
        Box::new((0..steps).map(move |s| {
            let (lo, hi) = (s * b, ((s + 1) * b).min(n));
            self.batch_of(&t_order[lo..hi], &g_order[lo..hi], dtype, &device)
        }))
    }
}
