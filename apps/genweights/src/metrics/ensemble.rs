//! Combining ensemble members' log weights (docs/genweights-method.md §1.3, §5.5): the paper
//! averages the members' D and takes
//! w = D̄/(1 − D̄); the per-event spread of ln w over members is its uncertainty.

use super::check_log_w;
use crate::error::{invalid, Result};
use crate::special::{log_sum_exp, softplus};
use serde::{Deserialize, Serialize};
use stats::quantile;

/// ln w from a logit trained on N_model and N_data events without rebalancing (docs/genweights-method.md §1.1):
/// w = (N_model/N_data) D/(1 − D).
pub fn log_w_from_logit(logit: f64, n_model: usize, n_data: usize) -> f64 {
    logit + (n_model as f64 / n_data as f64).ln()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CombinedLogW {
    /// ln(D̄/(1 − D̄)) with D̄ the members' mean D, computed as
    /// ln Σ σ(f_k) − ln Σ σ(−f_k) in log space (no 1 − D̄ underflow).
    pub log_w: Vec<f64>,
    /// The members' mean ln w (the alternative combination).
    pub mean_log_w: Vec<f64>,
    /// The members' standard deviation of ln w (0 for one member).
    pub std_log_w: Vec<f64>,
    pub q16_log_w: Vec<f64>,
    pub q84_log_w: Vec<f64>,
}

/// Combines `members[k][i]`, member k's ln w of event i.
pub fn combine_members(members: &[Vec<f64>]) -> Result<CombinedLogW> {
    let m = members.len();
    let n = members.first().map_or(0, Vec::len);
    if m == 0 || members.iter().any(|v| v.len() != n) {
        return Err(invalid("members must be at least one, all of the same length"));
    }
    for (k, v) in members.iter().enumerate() {
        check_log_w(&format!("member {k}"), v)?;
    }
    let mut out = CombinedLogW {
        log_w: Vec::with_capacity(n),
        mean_log_w: Vec::with_capacity(n),
        std_log_w: Vec::with_capacity(n),
        q16_log_w: Vec::with_capacity(n),
        q84_log_w: Vec::with_capacity(n),
    };
    let mut col = vec![0.0; m];
    let (mut log_d, mut log_1md) = (vec![0.0; m], vec![0.0; m]);
    for i in 0..n {
        for (k, member) in members.iter().enumerate() {
            let f = member[i];
            col[k] = f;
            log_d[k] = -softplus(-f);
            log_1md[k] = -softplus(f);
        }
        out.log_w.push(log_sum_exp(&log_d) - log_sum_exp(&log_1md));
        let mean = col.iter().sum::<f64>() / m as f64;
        let var = if m > 1 { col.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (m - 1) as f64 } else { 0.0 };
        out.mean_log_w.push(mean);
        out.std_log_w.push(if var.is_finite() { var.sqrt() } else { f64::INFINITY });
        out.q16_log_w.push(quantile(&col, 0.159).unwrap_or(mean));
        out.q84_log_w.push(quantile(&col, 0.841).unwrap_or(mean));
    }
    Ok(out)
}
