//! In-memory datasets with optional per-event weights, seeded splits, the standardizer (with the
//! log and cube-root pre-transforms of the calibration study, target scaling and inverses), and
//! reproducible minibatches, from one sample or from two (a classifier's truth and generated
//! samples, in equal numbers per batch).
//!
//! Values are kept on the host in f64 (preprocessing wants the precision) and converted to the
//! training dtype one minibatch at a time. A `Dataset` can only be built through constructors
//! that check it, so a NaN can never reach a training step unannounced.

use autodiff::{DType, Device, Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

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

fn invalid(op: &'static str, msg: String) -> Error {
    Error::Invalid { op, msg }
}

/// The first non-finite value of a row-major table, as (row, column, value).
fn first_non_finite(v: &[f64], cols: usize) -> Option<(usize, usize, f64)> {
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

/// Affine scaling of the targets, (y - mean) / std per target column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetScaling {
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
}

/// Fitted on the training split only and stored with the model, so that prediction on another
/// file applies exactly the training transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    pub transforms: Vec<Transform>,
    pub shifts: Vec<f64>,
    pub mean: Vec<f64>,
    pub std: Vec<f64>,
    /// Target scaling, when the targets are standardized too.
    #[serde(default)]
    pub targets: Option<TargetScaling>,
}

const LOG_EPS: f64 = 1e-10;

fn mean_std(col: impl Iterator<Item = f64> + Clone) -> (f64, f64) {
    let n = col.clone().count().max(1) as f64;
    let mean = col.clone().sum::<f64>() / n;
    let var = col.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    // A constant column stays constant (scaled by 1) instead of dividing by zero.
    (mean, if var > 0.0 { var.sqrt() } else { 1.0 })
}

impl Standardizer {
    /// Fits the feature transforms on `data` (targets untouched).
    pub fn fit(data: &Dataset, transforms: &[Transform]) -> Result<Self> {
        Standardizer::fit_rows(&data.x, data.features, transforms)
    }

    /// Fits on raw feature rows (row-major, `features` columns).
    pub fn fit_rows(x: &[f64], features: usize, transforms: &[Transform]) -> Result<Self> {
        if features == 0 || transforms.len() != features || !x.len().is_multiple_of(features) {
            return Err(invalid(
                "Standardizer::fit",
                format!("{} transforms for {features} feature columns ({} values)", transforms.len(), x.len()),
            ));
        }
        if x.is_empty() {
            return Err(invalid("Standardizer::fit", "cannot fit on an empty dataset".into()));
        }
        if let Some((r, c, v)) = first_non_finite(x, features) {
            return Err(invalid("Standardizer::fit", format!("value {v} at row {r}, column {c} is not finite")));
        }
        let column = |j: usize| x.iter().skip(j).step_by(features).copied();
        let mut s = Standardizer {
            transforms: transforms.to_vec(),
            shifts: vec![0.0; features],
            mean: vec![],
            std: vec![],
            targets: None,
        };
        for (j, t) in transforms.iter().enumerate() {
            if *t == Transform::Log {
                let min = column(j).fold(f64::INFINITY, f64::min);
                s.shifts[j] = if min <= 0.0 { -min + LOG_EPS } else { 0.0 };
            }
        }
        for j in 0..features {
            let (mean, std) = mean_std(column(j).map(|v| s.pre(j, v)));
            s.mean.push(mean);
            s.std.push(std);
        }
        Ok(s)
    }

    /// Also standardizes the targets of `data` (an affine map, so a Gaussian head's mean and
    /// width map back exactly with [`Standardizer::unscale_targets`] and
    /// [`Standardizer::unscale_sigma`]).
    pub fn with_target_scaling(mut self, data: &Dataset) -> Result<Self> {
        let t = data.targets;
        let cols: Vec<(f64, f64)> = (0..t).map(|j| mean_std(data.y.iter().skip(j).step_by(t).copied())).collect();
        self.targets =
            Some(TargetScaling { mean: cols.iter().map(|c| c.0).collect(), std: cols.iter().map(|c| c.1).collect() });
        Ok(self)
    }

    pub fn features(&self) -> usize {
        self.mean.len()
    }

    /// Checks a standardizer read from a file: consistent lengths, finite statistics, positive
    /// widths. Every transform of rows would otherwise index out of bounds or divide by zero.
    pub fn validate(&self) -> Result<()> {
        let d = self.mean.len();
        let bad = |msg: String| Err(invalid("Standardizer", msg));
        if d == 0 || self.transforms.len() != d || self.shifts.len() != d || self.std.len() != d {
            return bad(format!(
                "{} transforms, {} shifts, {} means and {} widths do not describe one set of columns",
                self.transforms.len(),
                self.shifts.len(),
                d,
                self.std.len()
            ));
        }
        let finite = self.shifts.iter().chain(&self.mean).all(|v| v.is_finite());
        if !finite || self.std.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return bad("its statistics must be finite and its widths positive".into());
        }
        if let Some(t) = &self.targets {
            if t.mean.len() != t.std.len()
                || t.mean.is_empty()
                || t.mean.iter().any(|v| !v.is_finite())
                || t.std.iter().any(|s| !(s.is_finite() && *s > 0.0))
            {
                return bad("its target scaling must have matching, finite means and positive widths".into());
            }
        }
        Ok(())
    }

    fn pre(&self, j: usize, v: f64) -> f64 {
        match self.transforms[j] {
            Transform::None => v,
            Transform::Log => (v + self.shifts[j]).max(LOG_EPS).ln(),
            Transform::CubeRoot => v.cbrt(),
        }
    }

    fn unpre(&self, j: usize, v: f64) -> f64 {
        match self.transforms[j] {
            Transform::None => v,
            Transform::Log => v.exp() - self.shifts[j],
            Transform::CubeRoot => v * v * v,
        }
    }

    /// Standardizes raw feature rows (row-major). A value that the transform cannot map to a
    /// finite number (an infinity, a NaN) is an error naming its row and column.
    pub fn transform_rows(&self, x: &[f64]) -> Result<Vec<f64>> {
        let d = self.features();
        if d == 0 || !x.len().is_multiple_of(d) {
            return Err(invalid(
                "Standardizer::transform_rows",
                format!("{} values are not rows of {d} features", x.len()),
            ));
        }
        let out: Vec<f64> =
            x.iter().enumerate().map(|(i, &v)| (self.pre(i % d, v) - self.mean[i % d]) / self.std[i % d]).collect();
        if let Some((r, c, v)) = first_non_finite(&out, d) {
            return Err(invalid(
                "Standardizer::transform_rows",
                format!("row {r}, column {c}: input {} gives {v}", x[r * d + c]),
            ));
        }
        Ok(out)
    }

    /// The raw feature rows that standardize to `z` (the inverse of `transform_rows`, up to the
    /// log's clamp at 1e-10).
    pub fn inverse_rows(&self, z: &[f64]) -> Result<Vec<f64>> {
        let d = self.features();
        if d == 0 || !z.len().is_multiple_of(d) {
            return Err(invalid(
                "Standardizer::inverse_rows",
                format!("{} values are not rows of {d} features", z.len()),
            ));
        }
        Ok(z.iter().enumerate().map(|(i, &v)| self.unpre(i % d, v * self.std[i % d] + self.mean[i % d])).collect())
    }

    fn target_scaling(&self, y: &[f64]) -> Result<&TargetScaling> {
        let t = self.targets.as_ref().ok_or_else(|| invalid("Standardizer", "no target scaling was fitted".into()))?;
        if !y.len().is_multiple_of(t.mean.len()) {
            return Err(invalid(
                "Standardizer",
                format!("{} values are not rows of {} targets", y.len(), t.mean.len()),
            ));
        }
        Ok(t)
    }

    /// Standardized targets (identity without target scaling).
    pub fn scale_targets(&self, y: &[f64]) -> Result<Vec<f64>> {
        if self.targets.is_none() {
            return Ok(y.to_vec());
        }
        let t = self.target_scaling(y)?;
        let k = t.mean.len();
        Ok(y.iter().enumerate().map(|(i, v)| (v - t.mean[i % k]) / t.std[i % k]).collect())
    }

    /// Targets in their original units (identity without target scaling).
    pub fn unscale_targets(&self, y: &[f64]) -> Result<Vec<f64>> {
        if self.targets.is_none() {
            return Ok(y.to_vec());
        }
        let t = self.target_scaling(y)?;
        let k = t.mean.len();
        Ok(y.iter().enumerate().map(|(i, v)| v * t.std[i % k] + t.mean[i % k]).collect())
    }

    /// Widths (standard deviations) of targets in their original units.
    pub fn unscale_sigma(&self, sigma: &[f64]) -> Result<Vec<f64>> {
        if self.targets.is_none() {
            return Ok(sigma.to_vec());
        }
        let t = self.target_scaling(sigma)?;
        let k = t.std.len();
        Ok(sigma.iter().enumerate().map(|(i, s)| s * t.std[i % k]).collect())
    }

    /// The standardized copy of `data` (its targets scaled too when target scaling is fitted).
    pub fn apply(&self, data: &Dataset) -> Result<Dataset> {
        if data.features != self.features() {
            return Err(invalid(
                "Standardizer::apply",
                format!("fitted on {} columns, given {}", self.features(), data.features),
            ));
        }
        let x = self.transform_rows(&data.x)?;
        let y = self.scale_targets(&data.y)?;
        Ok(Dataset { x, y, ..data.clone() })
    }
}
