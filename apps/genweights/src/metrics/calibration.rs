//! Calibration of the weights (docs/genweights-method.md §5.4): the reliability curve of D = w/(1 + w), and the binned
//! weight calibration N_truth/N_gen in bins of w, which a calibrated classifier puts on the
//! diagonal (p_truth(w) = w p_gen(w), docs/genweights-method.md §1.1).

use super::{check_pair, finite};
use crate::error::Result;
use crate::special::sigmoid;
use serde::{Deserialize, Serialize};
use stats::Binning;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityBin {
    pub lo: f64,
    pub hi: f64,
    pub mean_predicted: f64,
    pub fraction_positive: f64,
    /// Binomial standard error √(p(1 − p)/n) of the fraction.
    pub error: f64,
    pub count: usize,
}

/// Non-empty bins only, as `sklearn.calibration.calibration_curve` returns them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReliabilityCurve {
    pub bins: Vec<ReliabilityBin>,
    /// Events per class after balancing.
    pub events_per_class: usize,
}

/// Fraction of truth events against the predicted D in `bins` equal bins of [0, 1], after
/// sklearn: bin i holds (i/n, (i+1)/n] (the first also 0). The classes are balanced first by
/// keeping the first min(N_truth, N_gen) events of each (the paper truncates truth to N_gen).
pub fn reliability_curve(truth: &[f64], generated: &[f64], bins: usize) -> Result<ReliabilityCurve> {
    check_pair(truth, generated)?;
    let n = truth.len().min(generated.len());
    let bins = bins.max(1);
    let (mut sum_d, mut pos, mut count) = (vec![0.0; bins], vec![0usize; bins], vec![0usize; bins]);
    for (lw, label) in truth[..n].iter().map(|&l| (l, true)).chain(generated[..n].iter().map(|&l| (l, false))) {
        let d = sigmoid(lw);
        // searchsorted(edges[1:-1], d, side="left"): the number of inner edges strictly below d.
        let i = ((d * bins as f64).ceil() as usize).saturating_sub(1).min(bins - 1);
        sum_d[i] += d;
        count[i] += 1;
        if label {
            pos[i] += 1;
        }
    }
    let out = (0..bins)
        .filter(|&i| count[i] > 0)
        .map(|i| {
            let c = count[i] as f64;
            let p = pos[i] as f64 / c;
            ReliabilityBin {
                lo: i as f64 / bins as f64,
                hi: (i + 1) as f64 / bins as f64,
                mean_predicted: sum_d[i] / c,
                fraction_positive: p,
                error: (p * (1.0 - p) / c).sqrt(),
                count: count[i],
            }
        })
        .collect();
    Ok(ReliabilityCurve { bins: out, events_per_class: n })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightCalibrationBin {
    pub lo: f64,
    pub hi: f64,
    /// √(lo · hi).
    pub centre: f64,
    pub n_truth: usize,
    pub n_gen: usize,
    /// (N_truth,bin/N_truth)/(N_gen,bin/N_gen); None without generated events in the bin.
    pub ratio: Option<f64>,
    /// ratio · √(1/N_truth,bin + 1/N_gen,bin) (Poisson).
    pub error: Option<f64>,
    /// The mean w of the generated events in the bin: what the ratio estimates exactly
    /// (∫_bin p_truth / ∫_bin p_gen), close to the centre for narrow bins.
    pub mean_gen_w: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightCalibration {
    pub bins: Vec<WeightCalibrationBin>,
}

impl WeightCalibration {
    /// The paper's bins: 30 log-spaced edges over [1e-2, 1e2].
    pub fn paper_binning() -> Binning {
        Binning::log(1e-2, 1e2, 29)
    }
}

/// N_truth/N_gen in bins of w, normalised by all events of each sample.
pub fn weight_calibration(truth: &[f64], generated: &[f64], binning: &Binning) -> Result<WeightCalibration> {
    check_pair(truth, generated)?;
    let k = binning.bins();
    let (mut nt, mut ng, mut sw) = (vec![0usize; k], vec![0usize; k], vec![0.0; k]);
    for &l in truth {
        if let Some(i) = binning.index(l.exp()) {
            nt[i] += 1;
        }
    }
    for &l in generated {
        let w = l.exp();
        if let Some(i) = binning.index(w) {
            ng[i] += 1;
            sw[i] += w;
        }
    }
    let (tt, tg) = (truth.len() as f64, generated.len() as f64);
    let bins = (0..k)
        .map(|i| {
            let (a, b) = (nt[i] as f64, ng[i] as f64);
            let ratio = (b > 0.0).then(|| (a / tt) / (b / tg));
            let error = ratio.filter(|_| a > 0.0).map(|r| r * (1.0 / a + 1.0 / b).sqrt());
            let (lo, hi) = (binning.edges[i], binning.edges[i + 1]);
            WeightCalibrationBin {
                lo,
                hi,
                centre: (lo * hi).sqrt(),
                n_truth: nt[i],
                n_gen: ng[i],
                ratio: ratio.and_then(finite),
                error: error.and_then(finite),
                mean_gen_w: (b > 0.0).then(|| sw[i] / b).and_then(finite),
            }
        })
        .collect();
    Ok(WeightCalibration { bins })
}
