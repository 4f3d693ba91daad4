//! The exact ground truth after the selection: R ~ LogNormal(ln m, s_ln) truncated to
//! a < R < b, with a = 0.1 (R^EM > 0.1) and b = E^EM / 0.3 GeV (E_dep > 0.3 GeV). In terms of
//! z_a = (ln a − ln m)/s_ln, z_b likewise and Z = Φ(z_b) − Φ(z_a) (docs/calibration-generator.md §8):
//!
//! - P_sel = Z
//! - E[R | sel] = m e^{s²/2} [Φ(z_b − s) − Φ(z_a − s)] / Z
//! - E[R² | sel] = m² e^{2s²} [Φ(z_b − 2s) − Φ(z_a − 2s)] / Z
//! - median* = m exp(s Φ⁻¹(Φ(z_a) + Z/2))

use stats::{inverse_phi, inverse_phi_upper, normal_interval, phi, phi_upper};

/// The selected distribution's probability, mean, standard deviation and median.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectedTruth {
    pub p_sel: f64,
    pub mean: f64,
    pub sd: f64,
    pub median: f64,
}

/// The truth of R ~ LogNormal(ln `median`, `s_ln`) truncated to (`a`, `b`).
///
/// A cluster that cannot pass the selection at all (b ≤ a, i.e. E^EM ≤ 0.03 GeV, or a selection
/// probability below 1e-290 that no f64 ratio survives) gets P_sel = 0 and the untruncated
/// moments, so that every stored value is finite; the cuts remove such clusters anyway.
pub fn truncated_lognormal(median: f64, s_ln: f64, a: f64, b: f64) -> SelectedTruth {
    let untruncated = || {
        let v = s_ln * s_ln;
        SelectedTruth {
            p_sel: 0.0,
            mean: median * (v / 2.0).exp(),
            sd: median * (v / 2.0).exp() * v.exp_m1().sqrt(),
            median,
        }
    };
    // (Written so that NaN inputs also take this branch.)
    if b.partial_cmp(&a) != Some(std::cmp::Ordering::Greater)
        || s_ln.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
    {
        return untruncated();
    }
    let z_a = (a.ln() - median.ln()) / s_ln;
    let z_b = (b.ln() - median.ln()) / s_ln;
    let z = normal_interval(z_a, z_b);
    if z.partial_cmp(&1e-290) != Some(std::cmp::Ordering::Greater) {
        return untruncated();
    }
    let s = s_ln;
    let mean = median * (s * s / 2.0).exp() * normal_interval(z_a - s, z_b - s) / z;
    let second = median * median * (2.0 * s * s).exp() * normal_interval(z_a - 2.0 * s, z_b - 2.0 * s) / z;
    let sd = (second - mean * mean).max(0.0).sqrt();
    // The median's lower-tail probability Φ(z_a) + Z/2, or its upper tail Φc(z_b) + Z/2 when
    // that is the smaller: the small one is known to full relative precision.
    let lower = phi(z_a) + z / 2.0;
    let z_median = if lower <= 0.5 { inverse_phi(lower) } else { inverse_phi_upper(phi_upper(z_b) + z / 2.0) };
    SelectedTruth { p_sel: z.min(1.0), mean, sd, median: median * (s * z_median).exp() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;

    #[test]
    fn a_wide_window_gives_the_untruncated_log_normal() {
        let t = truncated_lognormal(1.2, 0.3, 1e-9, 1e9);
        let v: f64 = 0.09;
        assert!((t.p_sel - 1.0).abs() < 1e-15);
        assert!((t.mean - 1.2 * (v / 2.0).exp()).abs() < 1e-13);
        assert!((t.sd - 1.2 * (v / 2.0).exp() * v.exp_m1().sqrt()).abs() < 1e-13);
        assert!((t.median - 1.2).abs() < 1e-13);
    }

    #[test]
    fn the_truncated_moments_match_a_monte_carlo_of_the_same_cut() {
        let (m, s, a, b) = (0.8, 0.6, 0.1, 1.0);
        let t = truncated_lognormal(m, s, a, b);
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let draws: Vec<f64> = (0..400_000).map(|_| m * (s * rng.sample::<f64, _>(StandardNormal)).exp()).collect();
        let kept: Vec<f64> = draws.iter().copied().filter(|&r| r > a && r < b).collect();
        let n = kept.len() as f64;
        let mean = kept.iter().sum::<f64>() / n;
        let sd = (kept.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
        let below = kept.iter().filter(|&&r| r < t.median).count() as f64 / n;
        assert!((n / draws.len() as f64 - t.p_sel).abs() < 0.003, "P_sel {} vs {}", t.p_sel, n / draws.len() as f64);
        assert!((mean - t.mean).abs() < 0.002, "mean {} vs {mean}", t.mean);
        assert!((sd - t.sd).abs() < 0.002, "sd {} vs {sd}", t.sd);
        // 4 binomial standard deviations of the ~260000 kept draws.
        assert!((below - 0.5).abs() < 0.004, "{below} below the median");
    }

    #[test]
    fn clusters_that_cannot_pass_get_finite_truth_and_zero_probability() {
        let t = truncated_lognormal(1.0, 0.3, 0.1, 0.05);
        assert_eq!(t.p_sel, 0.0);
        assert!(t.mean.is_finite() && t.sd.is_finite() && t.median.is_finite());
        let far = truncated_lognormal(1.0, 0.05, 0.1, 0.2);
        assert!(far.p_sel < 1e-200 && far.mean.is_finite() && far.mean <= 0.2 && far.mean > 0.1);
    }
}
