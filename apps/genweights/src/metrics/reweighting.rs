//! Reweighted observables (docs/genweights-method.md §5.6): the histograms of Truth, Gen and Gen
//! reweighted with w, each
//! normalised to unit integral, the ratios Gen/Truth and Reweighted/Truth, and the bin-averaged
//! weight ⟨w⟩_bin = Σ_bin w / N_bin (Reweighted/Gen). With exact weights ⟨w⟩_bin equals
//! p_truth(bin)/p_gen(bin), so the reweighted curve reproduces Truth.

use super::{check_log_w, finite};
use crate::error::{invalid, Result};
use serde::{Deserialize, Serialize};
use stats::{Binning, Histogram};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReweightedObservable {
    pub edges: Vec<f64>,
    pub truth: Vec<f64>,
    pub truth_error: Vec<f64>,
    pub generated: Vec<f64>,
    pub generated_error: Vec<f64>,
    pub reweighted: Vec<f64>,
    pub reweighted_error: Vec<f64>,
    pub ratio_gen_truth: Vec<Option<f64>>,
    pub ratio_reweighted_truth: Vec<Option<f64>>,
    pub mean_weight: Vec<Option<f64>>,
    /// Generated events left out of the reweighted curve because their w is infinite.
    pub infinite_weights: usize,
}

pub fn reweighted_observable(
    obs_truth: &[f64],
    obs_gen: &[f64],
    gen_log_w: &[f64],
    binning: &Binning,
) -> Result<ReweightedObservable> {
    check_log_w("generated", gen_log_w)?;
    if obs_gen.len() != gen_log_w.len() {
        return Err(invalid(format!("{} generated observables for {} weights", obs_gen.len(), gen_log_w.len())));
    }
    let t = Histogram::fill(binning, obs_truth.iter().copied());
    let g = Histogram::fill(binning, obs_gen.iter().copied());
    let r = Histogram::fill_weighted(binning, obs_gen.iter().zip(gen_log_w).map(|(&o, l)| (o, l.exp())));
    let (td, gd, rd) = (t.density(), g.density(), r.density());
    let ratio = |a: &[f64], b: &[f64]| -> Vec<Option<f64>> {
        a.iter().zip(b).map(|(x, y)| if *y > 0.0 { finite(x / y) } else { None }).collect()
    };
    let mean_weight =
        r.sum_w.iter().zip(&g.entries).map(|(s, &n)| if n > 0 { finite(s / n as f64) } else { None }).collect();
    Ok(ReweightedObservable {
        edges: binning.edges.clone(),
        ratio_gen_truth: ratio(&gd, &td),
        ratio_reweighted_truth: ratio(&rd, &td),
        truth_error: t.density_errors(),
        generated_error: g.density_errors(),
        reweighted_error: r.density_errors(),
        truth: td,
        generated: gd,
        reweighted: rd,
        mean_weight,
        infinite_weights: gen_log_w.iter().filter(|l| **l == f64::INFINITY).count(),
    })
}
