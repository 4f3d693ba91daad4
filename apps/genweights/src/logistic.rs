//! A logistic-regression classifier in plain f64, fitted by Newton's method: the closed-form
//! check of the toys and the diagnostics before any network (docs/genweights-method.md §8). On the log-normal
//! smeared jets, log w is quadratic in ln m, so a logistic regression on (ln m, ln² m) can
//! represent it exactly and its logit must match the exact log w up to statistical noise.
//!
//! Classes are weighted 1/N each (balanced BCE), so the fitted logit is ln w directly.

use crate::error::{invalid, Result};
use crate::special::sigmoid;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticModel {
    /// Feature means and standard deviations used to standardise (fitted on both classes).
    pub means: Vec<f64>,
    pub scales: Vec<f64>,
    /// The intercept, then one coefficient per standardised feature.
    pub coefficients: Vec<f64>,
    pub iterations: usize,
}

impl LogisticModel {
    /// The logit (= ln w for balanced training) of one feature row.
    pub fn logit(&self, row: &[f64]) -> f64 {
        let mut z = self.coefficients[0];
        for (j, x) in row.iter().enumerate() {
            z += self.coefficients[j + 1] * (x - self.means[j]) / self.scales[j];
        }
        z
    }
}

/// Fits on truth rows (label 1) and generated rows (label 0), each `d` wide and row-major.
pub fn fit(truth: &[f64], generated: &[f64], d: usize) -> Result<LogisticModel> {
    if d == 0
        || !truth.len().is_multiple_of(d)
        || !generated.len().is_multiple_of(d)
        || truth.is_empty()
        || generated.is_empty()
    {
        return Err(invalid(format!("logistic fit: rows of width {d} needed in both samples")));
    }
    if truth.iter().chain(generated).any(|v| !v.is_finite()) {
        return Err(invalid("logistic fit: features must be finite"));
    }
    let (nt, ng) = (truth.len() / d, generated.len() / d);
    let rows = || {
        truth.chunks(d).map(|r| (r, 1.0, 0.5 / nt as f64)).chain(generated.chunks(d).map(|r| (r, 0.0, 0.5 / ng as f64)))
    };
    let n = (nt + ng) as f64;
    let mut means = vec![0.0; d];
    for (r, _, _) in rows() {
        for j in 0..d {
            means[j] += r[j] / n;
        }
    }
    let mut scales = vec![0.0; d];
    for (r, _, _) in rows() {
        for j in 0..d {
            scales[j] += (r[j] - means[j]).powi(2) / n;
        }
    }
    for s in &mut scales {
        *s = if *s > 0.0 { s.sqrt() } else { 1.0 };
    }
    let p = d + 1;
    let mut model = LogisticModel { means, scales, coefficients: vec![0.0; p], iterations: 0 };
    let mut x = vec![0.0; p];
    for it in 1..=100 {
        let mut grad = vec![0.0; p];
        let mut hess = vec![0.0; p * p];
        for (r, y, w) in rows() {
            x[0] = 1.0;
            for j in 0..d {
                x[j + 1] = (r[j] - model.means[j]) / model.scales[j];
            }
            let z: f64 = x.iter().zip(&model.coefficients).map(|(a, b)| a * b).sum();
            let q = sigmoid(z);
            for a in 0..p {
                grad[a] += w * (q - y) * x[a];
                for b in 0..p {
                    hess[a * p + b] += w * q * (1.0 - q) * x[a] * x[b];
                }
            }
        }
        let step = solve(&mut hess, &mut grad, p)
            .ok_or_else(|| invalid("logistic fit: singular Hessian (separable or constant features?)"))?;
        let mut size = 0.0f64;
        for (c, s) in model.coefficients.iter_mut().zip(&step) {
            *c -= s;
            size = size.max(s.abs());
        }
        model.iterations = it;
        if size < 1e-12 {
            break;
        }
    }
    Ok(model)
}

/// Solves A x = b (A p × p, row-major) by Gaussian elimination with partial pivoting.
fn solve(a: &mut [f64], b: &mut [f64], p: usize) -> Option<Vec<f64>> {
    for c in 0..p {
        let pivot = (c..p).max_by(|&i, &j| a[i * p + c].abs().total_cmp(&a[j * p + c].abs()))?;
        if a[pivot * p + c].abs() < 1e-300 {
            return None;
        }
        for k in 0..p {
            a.swap(c * p + k, pivot * p + k);
        }
        b.swap(c, pivot);
        for r in c + 1..p {
            let f = a[r * p + c] / a[c * p + c];
            for k in c..p {
                a[r * p + k] -= f * a[c * p + k];
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = vec![0.0; p];
    for c in (0..p).rev() {
        let s: f64 = (c + 1..p).map(|k| a[c * p + k] * x[k]).sum();
        x[c] = (b[c] - s) / a[c * p + c];
    }
    Some(x)
}
