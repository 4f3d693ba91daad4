//! ROC and AUC from the weights (docs/genweights-method.md §5.2): the score is w, the truth sample is the signal
//! (true-positive rate ε_S) and the generated one the background (false-positive rate ε_B).

use super::check_pair;
use crate::error::Result;
use serde::{Deserialize, Serialize};

/// Scores of both samples, sorted ascending by score, labelled true for truth.
fn sorted(truth: &[f64], generated: &[f64]) -> Vec<(f64, bool)> {
    let mut all: Vec<(f64, bool)> =
        truth.iter().map(|&s| (s, true)).chain(generated.iter().map(|&s| (s, false))).collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    all
}

/// AUC = P(w_truth > w_gen) + ½ P(tie), by Mann–Whitney U with average ranks for ties:
/// (R_truth − n_t(n_t + 1)/2)/(n_t n_g). Scores are log weights; +∞ ranks above everything
/// finite and ties with itself, so exact weights of ∞ are the top rank.
pub fn auc(truth: &[f64], generated: &[f64]) -> Result<f64> {
    check_pair(truth, generated)?;
    let all = sorted(truth, generated);
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j share their average.
        let average = (i + 1 + j) as f64 / 2.0;
        let truths = all[i..j].iter().filter(|x| x.1).count() as f64;
        rank_sum += average * truths;
        i = j;
    }
    let (nt, ng) = (truth.len() as f64, generated.len() as f64);
    Ok((rank_sum - nt * (nt + 1.0) / 2.0) / (nt * ng))
}

/// ROC points from (0, 0) to (1, 1), one per distinct score (thinned to about `max_points`),
/// and the AUC by Mann–Whitney (which equals the trapezoid area of the full curve).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RocCurve {
    /// ε_B: the fraction of generated events with a score at or above each threshold.
    pub false_positive: Vec<f64>,
    /// ε_S: the same fraction of truth events.
    pub true_positive: Vec<f64>,
    pub auc: f64,
}

pub fn roc_curve(truth: &[f64], generated: &[f64], max_points: usize) -> Result<RocCurve> {
    let auc = auc(truth, generated)?;
    let all = sorted(truth, generated);
    let (nt, ng) = (truth.len() as f64, generated.len() as f64);
    let (mut fp, mut tp) = (vec![0.0], vec![0.0]);
    let (mut t, mut g) = (0usize, 0usize);
    let mut i = all.len();
    while i > 0 {
        let s = all[i - 1].0;
        while i > 0 && all[i - 1].0 == s {
            if all[i - 1].1 {
                t += 1;
            } else {
                g += 1;
            }
            i -= 1;
        }
        fp.push(g as f64 / ng);
        tp.push(t as f64 / nt);
    }
    let keep = max_points.max(2);
    if fp.len() > keep {
        let step = fp.len().div_ceil(keep);
        let last = fp.len() - 1;
        let idx: Vec<usize> = (0..fp.len()).filter(|i| i % step == 0 || *i == last).collect();
        fp = idx.iter().map(|&i| fp[i]).collect();
        tp = idx.iter().map(|&i| tp[i]).collect();
    }
    Ok(RocCurve { false_positive: fp, true_positive: tp, auc })
}

/// The area under (fpr, tpr) by the trapezoid rule (as `np.trapz(tpr, fpr)`).
pub fn trapezoid_area(curve: &RocCurve) -> f64 {
    curve
        .false_positive
        .windows(2)
        .zip(curve.true_positive.windows(2))
        .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
        .sum()
}
