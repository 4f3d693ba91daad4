//! Isotonic recalibration (docs/genweights-method.md §1.5): a monotone map from the classifier's score to a
//! calibrated D, fitted by pool-adjacent-violators on a validation split and applied to new
//! scores. The paper's committed version built its truth labels with `zeros_like` and so never
//! worked; this is the proper fit.
//!
//! The fit weights each truth event by 1/N_truth and each generated one by 1/N_gen, so the
//! calibrated D estimates p_T/(p_T + p_M) even when the validation classes differ in size, and
//! ln(D/(1 − D)) is then the calibrated log w. D is bounded to [1e-6, 1 − 1e-6] as in the
//! paper's `IsotonicRegression(y_min, y_max)`. Between fitted points the map interpolates
//! linearly (sklearn's rule); outside the fitted range it is constant.

use super::check_pair;
use crate::error::{invalid, Result};
use serde::{Deserialize, Serialize};

pub const D_MIN: f64 = 1e-6;
pub const D_MAX: f64 = 1.0 - 1e-6;

/// Pool-adjacent-violators: the non-decreasing sequence closest to `y` in weighted least
/// squares (weights `w` > 0), in the order given.
pub fn pav(y: &[f64], w: &[f64]) -> Vec<f64> {
    // Blocks of (mean, weight, length), merged while a block is below its predecessor.
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(y.len());
    for (&v, &wt) in y.iter().zip(w) {
        blocks.push((v, wt, 1));
        while blocks.len() > 1 {
            let n = blocks.len();
            let (m2, w2, l2) = blocks[n - 1];
            let (m1, w1, l1) = blocks[n - 2];
            if m1 <= m2 {
                break;
            }
            let wt = w1 + w2;
            blocks[n - 2] = ((m1 * w1 + m2 * w2) / wt, wt, l1 + l2);
            blocks.pop();
        }
    }
    blocks.iter().flat_map(|&(m, _, l)| std::iter::repeat_n(m, l)).collect()
}

/// A fitted isotonic map: knots (score, D), scores strictly increasing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsotonicCalibration {
    pub scores: Vec<f64>,
    pub d: Vec<f64>,
}

impl IsotonicCalibration {
    /// Fits on validation scores (log weights) of truth (label 1) and generated (label 0)
    /// events. Scores must be finite.
    pub fn fit(truth: &[f64], generated: &[f64]) -> Result<IsotonicCalibration> {
        check_pair(truth, generated)?;
        if truth.iter().chain(generated).any(|s| !s.is_finite()) {
            return Err(invalid("isotonic calibration needs finite scores"));
        }
        let (wt, wg) = (1.0 / truth.len() as f64, 1.0 / generated.len() as f64);
        let mut points: Vec<(f64, f64, f64)> =
            truth.iter().map(|&s| (s, 1.0, wt)).chain(generated.iter().map(|&s| (s, 0.0, wg))).collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Equal scores are one point with their weighted mean label, as sklearn pools ties.
        let mut xs: Vec<f64> = Vec::new();
        let (mut ys, mut ws): (Vec<f64>, Vec<f64>) = (Vec::new(), Vec::new());
        for (s, y, w) in points {
            if xs.last() == Some(&s) {
                let i = xs.len() - 1;
                ys[i] = (ys[i] * ws[i] + y * w) / (ws[i] + w);
                ws[i] += w;
            } else {
                xs.push(s);
                ys.push(y);
                ws.push(w);
            }
        }
        let fitted: Vec<f64> = pav(&ys, &ws).into_iter().map(|d| d.clamp(D_MIN, D_MAX)).collect();
        // Keep the first and last point of each constant run: the interpolation is unchanged.
        let (mut scores, mut d) = (Vec::new(), Vec::new());
        for i in 0..xs.len() {
            let same_prev = i > 0 && fitted[i - 1] == fitted[i];
            let same_next = i + 1 < xs.len() && fitted[i + 1] == fitted[i];
            if !(same_prev && same_next) {
                scores.push(xs[i]);
                d.push(fitted[i]);
            }
        }
        Ok(IsotonicCalibration { scores, d })
    }

    /// The calibrated D of a score (any score, ±∞ included).
    pub fn calibrated_d(&self, score: f64) -> f64 {
        let n = self.scores.len();
        if n == 0 || score.is_nan() {
            return 0.5;
        }
        if score <= self.scores[0] {
            return self.d[0];
        }
        if score >= self.scores[n - 1] {
            return self.d[n - 1];
        }
        let j = self.scores.partition_point(|&s| s <= score);
        let (x0, x1, y0, y1) = (self.scores[j - 1], self.scores[j], self.d[j - 1], self.d[j]);
        y0 + (y1 - y0) * (score - x0) / (x1 - x0)
    }

    /// The calibrated log w = ln(D/(1 − D)), finite since D is bounded.
    pub fn calibrated_log_w(&self, score: f64) -> f64 {
        let d = self.calibrated_d(score);
        d.ln() - (1.0 - d).ln()
    }

    pub fn apply(&self, scores: &[f64]) -> Vec<f64> {
        scores.iter().map(|&s| self.calibrated_log_w(s)).collect()
    }
}
