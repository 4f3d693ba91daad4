//! KL(truth ‖ q) = E_truth[ln p_truth − ln q] by Monte Carlo, and the yardstick a flow's KL is
//! judged by: one Gaussian with the mean and covariance of the flow's own training events.

use super::summary::{Estimate, KlEstimates};

/// ln N(x; mean, cov) of the Gaussian fitted to `rows` (row-major, `d` columns), through the
/// Cholesky factor of its covariance; None where the covariance is singular.
pub fn fitted_gaussian(rows: &[f64], d: usize) -> Option<impl Fn(&[f64]) -> f64> {
    let n = (rows.len() / d) as f64;
    let mean: Vec<f64> = (0..d).map(|j| rows.iter().skip(j).step_by(d).sum::<f64>() / n).collect();
    let mut cov = vec![0.0; d * d];
    for r in rows.chunks(d) {
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] += (r[i] - mean[i]) * (r[j] - mean[j]) / n;
            }
        }
    }
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s = cov[i * d + j] - (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum::<f64>();
            l[i * d + j] = if i == j { s.sqrt() } else { s / l[j * d + j] };
        }
    }
    if (0..d).any(|i| !(l[i * d + i] > 0.0 && l[i * d + i].is_finite())) {
        return None;
    }
    let log_det: f64 = (0..d).map(|i| l[i * d + i].ln()).sum();
    Some(move |x: &[f64]| {
        let mut y = vec![0.0; d];
        for i in 0..d {
            y[i] = (x[i] - mean[i] - (0..i).map(|k| l[i * d + k] * y[k]).sum::<f64>()) / l[i * d + i];
        }
        -0.5 * y.iter().map(|v| v * v).sum::<f64>() - log_det - 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln()
    })
}

/// The KL of the flow and of one fitted Gaussian from truth, estimated on the truth events
/// `truth` (row-major, `d` columns) with their exact ln p and the flow's ln p; the Gaussian is
/// fitted to `training` (the flow's training events).
pub fn kl_estimates(
    truth: &[f64],
    d: usize,
    truth_log_p: &[f64],
    flow_log_p: &[f64],
    training: &[f64],
) -> Option<KlEstimates> {
    let gauss = fitted_gaussian(training, d)?;
    let flow: Vec<f64> = truth_log_p.iter().zip(flow_log_p).map(|(t, f)| t - f).collect();
    let gaussian: Vec<f64> = truth.chunks(d).zip(truth_log_p).map(|(x, t)| t - gauss(x)).collect();
    Some(KlEstimates { flow: Estimate::of(&flow)?, gaussian: Estimate::of(&gaussian)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A correlated 2-D Gaussian's fit returns its own density: ln N at the mean is
    /// −ln(2π) − ln det(L), and the KL of a sample from its own fit is about 0.
    #[test]
    fn the_fitted_gaussian_is_the_samples_own() {
        let rows: Vec<f64> =
            (0..4000).flat_map(|i| [(i % 40) as f64 / 10.0, (i / 40) as f64 / 25.0 + (i % 40) as f64 / 20.0]).collect();
        let g = fitted_gaussian(&rows, 2).unwrap();
        let ln_p: Vec<f64> = rows.chunks(2).map(&g).collect();
        // E[ln N] under the fitted moments is −(d/2)(1 + ln 2π) − ln det L, whatever the sample.
        let mean = ln_p.iter().sum::<f64>() / ln_p.len() as f64;
        let (v0, v1, c) = {
            let n = 4000.0;
            let m0 = rows.iter().step_by(2).sum::<f64>() / n;
            let m1 = rows.iter().skip(1).step_by(2).sum::<f64>() / n;
            let v0 = rows.chunks(2).map(|r| (r[0] - m0).powi(2)).sum::<f64>() / n;
            let v1 = rows.chunks(2).map(|r| (r[1] - m1).powi(2)).sum::<f64>() / n;
            let c = rows.chunks(2).map(|r| (r[0] - m0) * (r[1] - m1)).sum::<f64>() / n;
            (v0, v1, c)
        };
        let want = -(1.0 + (2.0 * std::f64::consts::PI).ln()) - 0.5 * (v0 * v1 - c * c).ln();
        assert!((mean - want).abs() < 1e-9, "{mean} vs {want}");
        assert!(fitted_gaussian(&[1.0, 2.0, 1.0, 2.0], 2).is_none(), "a singular covariance is refused");
    }
}
