//! The standardizer: per-column pre-transforms (the log and cube-root of the calibration study),
//! standardisation to zero mean and unit width, optional target scaling, and the inverses that
//! turn a network's outputs back into physical units. Fitted on a [`Dataset`] and stored in
//! checkpoints with the model it was trained with.

use crate::data::{first_non_finite, invalid, Dataset};
use autodiff::Result;
use serde::{Deserialize, Serialize};

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
        Standardizer::fit_rows(data.x(), data.features(), transforms)
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
        let t = data.targets();
        let cols: Vec<(f64, f64)> = (0..t).map(|j| mean_std(data.y().iter().skip(j).step_by(t).copied())).collect();
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
        if data.features() != self.features() {
            return Err(invalid(
                "Standardizer::apply",
                format!("fitted on {} columns, given {}", self.features(), data.features()),
            ));
        }
        let x = self.transform_rows(data.x())?;
        let y = self.scale_targets(data.y())?;
        Ok(data.with_values(x, y))
    }
}
