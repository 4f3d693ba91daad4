//! The standard normal distribution function Φ, its tails and its inverse, and erf/erfc, in f64
//! and accurate to about 1e-14 relative in both tails. The calibration generator's exact truth
//! (a log-normal truncated by the selection cuts) is a ratio of differences of Φ, and a
//! selection probability of 1e-30 must still come out with its digits; the genweights toys'
//! exact weights take logarithms of such tails. So the tails are computed directly rather than
//! as 1 − Φ.

use std::f64::consts::{PI, SQRT_2};

/// erfc(x) for x >= 0. Below 2 through the everywhere-positive series
/// erf(x) = (2/√π) e^{-x²} Σ_n 2^n x^{2n+1} / (2n+1)!!, whose terms never cancel; from 2 on
/// through the continued fraction erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))),
/// evaluated with the modified Lentz method, which converges quickly there and keeps the
/// relative accuracy however small erfc gets.
fn erfc_nonnegative(x: f64) -> f64 {
    debug_assert!(x >= 0.0);
    if x < 2.0 {
        return 1.0 - erf_series(x);
    }
    // f = x + a1/(x + a2/(x + ...)) with a_k = k/2.
    let tiny = 1e-300;
    let mut f = x;
    let (mut c, mut d) = (x, 0.0);
    for k in 1..500 {
        let a = k as f64 / 2.0;
        d = x + a * d;
        d = if d.abs() < tiny { tiny } else { d };
        c = x + a / c;
        c = if c.abs() < tiny { tiny } else { c };
        d = 1.0 / d;
        let delta = c * d;
        f *= delta;
        if (delta - 1.0).abs() < 1e-16 {
            break;
        }
    }
    (-x * x).exp() / (PI.sqrt() * f)
}

/// erfc(x) = 1 − erf(x), with full relative accuracy in the far upper tail (erfc(10) ≈ 2e-45).
pub fn erfc(x: f64) -> f64 {
    if x.is_nan() {
        f64::NAN
    } else if x >= 0.0 {
        erfc_nonnegative(x)
    } else {
        2.0 - erfc_nonnegative(-x)
    }
}

/// erf(x), odd in x. Near 0 from the series itself (so erf(1e-10) keeps its digits), elsewhere
/// as 1 − erfc.
pub fn erf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    let a = x.abs();
    let value = if a < 0.5 { erf_series(a) } else { 1.0 - erfc_nonnegative(a) };
    value.copysign(x)
}

/// erf(x) = (2/√π) e^{-x²} Σ_n 2^n x^{2n+1} / (2n+1)!! for x ≥ 0: positive terms, no cancellation.
fn erf_series(x: f64) -> f64 {
    let x2 = x * x;
    let (mut term, mut sum) = (x, x);
    for n in 1..200 {
        term *= 2.0 * x2 / (2 * n + 1) as f64;
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    2.0 / PI.sqrt() * (-x2).exp() * sum
}

/// ln of the normal density N(x; mean, sd²).
pub fn ln_normal_pdf(x: f64, mean: f64, sd: f64) -> f64 {
    let u = (x - mean) / sd;
    -0.5 * u * u - sd.ln() - 0.5 * (2.0 * PI).ln()
}

/// Φ(z) = P(Z ≤ z) for a standard normal Z. Relative accuracy ~1e-14 for z < 0 down to the
/// smallest normal f64 (z ≈ −37.5), absolute accuracy ~1e-16 for z > 0.
pub fn phi(z: f64) -> f64 {
    if z.is_nan() {
        return f64::NAN;
    }
    if z < 0.0 {
        0.5 * erfc_nonnegative(-z / SQRT_2)
    } else {
        1.0 - 0.5 * erfc_nonnegative(z / SQRT_2)
    }
}

/// The upper tail 1 − Φ(z) = Φ(−z), with full relative accuracy for large z.
pub fn phi_upper(z: f64) -> f64 {
    phi(-z)
}

/// Φ(hi) − Φ(lo) for lo ≤ hi, computed in whichever tail keeps the digits: an interval far out
/// in the upper tail is a difference of two upper-tail probabilities, not of two numbers near 1.
pub fn normal_interval(lo: f64, hi: f64) -> f64 {
    if hi <= lo {
        return 0.0;
    }
    if lo >= 0.0 {
        phi_upper(lo) - phi_upper(hi)
    } else if hi <= 0.0 {
        phi(hi) - phi(lo)
    } else {
        1.0 - phi(lo) - phi_upper(hi)
    }
}

/// The standard normal density.
pub fn normal_pdf(z: f64) -> f64 {
    (-0.5 * z * z).exp() / (2.0 * PI).sqrt()
}

/// Φ⁻¹(p): the z with Φ(z) = p, for 0 < p < 1 (−∞ at 0, +∞ at 1, NaN outside). Accurate to
/// ~1e-14 relative; for p near 1 use [`inverse_phi_upper`] with 1 − p computed without
/// cancellation, since p itself has already lost the digits.
///
/// A rational first guess good to 5e-4 (Abramowitz & Stegun 26.2.23) is polished by two Halley
/// steps on Φ(z) − p, each of which triples the correct digits.
pub fn inverse_phi(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p > 0.5 {
        return -inverse_lower_tail(1.0 - p);
    }
    inverse_lower_tail(p)
}

/// The z with 1 − Φ(z) = q, i.e. −Φ⁻¹(q), for an upper-tail probability q known accurately.
pub fn inverse_phi_upper(q: f64) -> f64 {
    -inverse_phi(q)
}

/// Φ⁻¹(p) for 0 < p ≤ 1/2.
fn inverse_lower_tail(p: f64) -> f64 {
    // Below the smallest normal f64 the density underflows in the Halley step.
    let p = p.max(f64::MIN_POSITIVE);
    let t = (-2.0 * p.ln()).sqrt();
    let mut z =
        -(t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308))));
    // Two Halley steps: 5e-4 → ~1e-10 → below the f64 resolution.
    for _ in 0..2 {
        let density = normal_pdf(z);
        if density <= 0.0 {
            break;
        }
        let u = (phi(z) - p) / density;
        z -= u / (1.0 + 0.5 * z * u);
    }
    z
}

#[cfg(test)]
// The reference values keep the digits mpmath printed.
#[allow(clippy::excessive_precision)]
mod tests {
    use super::*;

    /// Reference values from mpmath at 40 digits.
    const PHI: [(f64, f64); 15] = [
        (0.0, 0.5),
        (0.5, 0.69146246127401310364),
        (-0.5, 0.30853753872598689636),
        (1.0, 0.84134474606854294859),
        (-1.0, 0.15865525393145705141),
        (-2.0, 0.0227501319481792072),
        (2.5, 0.99379033467422386483),
        (-3.0, 0.0013498980316300945267),
        (-5.0, 2.8665157187919391167e-7),
        (-8.0, 6.2209605742717841235e-16),
        (-10.0, 7.619853024160526066e-24),
        (-20.0, 2.7536241186062336951e-89),
        (-30.0, 4.9067139271481870595e-198),
        (5.0, 0.99999971334842812081),
        (-37.5, 4.6053530095819548438e-308),
    ];

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn phi_matches_reference_values_to_1e_12_relative() {
        for (z, want) in PHI {
            assert!(rel(phi(z), want) < 1e-12, "Phi({z}) = {:e}, want {want:e}", phi(z));
        }
        assert!(rel(phi_upper(8.0), 6.2209605742717841235e-16) < 1e-12);
        // Across the series / continued-fraction switch (x = 2, z = 2.83) nothing jumps.
        let z0 = -2.0 * SQRT_2;
        assert!(rel(phi(z0 - 1e-12), phi(z0 + 1e-12)) < 1e-11);
    }

    #[test]
    fn inverse_phi_matches_reference_values_and_inverts_phi() {
        let reference = [
            (1e-20, -9.2623400897984075737),
            (1e-10, -6.3613409024040562047),
            (0.001, -3.0902323061678135415),
            (0.025, -1.9599639845400542355),
            (0.1, -1.281551565544600467),
            (0.3, -0.52440051270804078404),
            (0.7, 0.52440051270804078404),
            (0.975, 1.9599639845400542355),
        ];
        for (p, want) in reference {
            assert!(rel(inverse_phi(p), want) < 1e-12, "inverse_phi({p}) = {}, want {want}", inverse_phi(p));
        }
        assert!(inverse_phi(0.5).abs() < 1e-15);
        assert!(rel(inverse_phi_upper(1e-10), 6.3613409024040562047) < 1e-12);
        for z in [-37.0, -25.0, -12.5, -4.0, -0.1, 0.3, 3.0] {
            assert!((inverse_phi(phi(z)) - z).abs() < 1e-10 * z.abs().max(1.0), "z = {z}");
        }
        assert!(inverse_phi(0.0).is_infinite() && inverse_phi(1.5).is_nan());
    }

    #[test]
    fn erf_matches_tabulated_values() {
        assert!(rel(erf(1.0), 0.842_700_792_949_714_9) < 1e-14);
        assert!(rel(erf(0.1), 0.112_462_916_018_284_9) < 1e-14);
        assert!(rel(erf(-0.1), -0.112_462_916_018_284_9) < 1e-14);
        assert!(rel(erf(1e-10), 1.128_379_167_095_512_6e-10) < 1e-14);
        assert!(rel(erfc(3.0), 2.209_049_699_858_544e-5) < 1e-13);
        assert!(rel(erfc(10.0), 2.088_487_583_762_545e-45) < 1e-12);
        assert!(rel(erfc(-1.0), 1.842_700_792_949_714_9) < 1e-14);
        assert!(rel(phi(-1.959_963_984_540_054), 0.025) < 1e-13);
        assert!(erf(f64::NAN).is_nan() && erfc(f64::NAN).is_nan());
    }

    #[test]
    fn intervals_keep_their_digits_in_both_tails() {
        let far = normal_interval(9.0, 10.0);
        let want = 1.1285122074235990425e-19; // mpmath
        assert!(rel(far, want) < 1e-10, "{far:e}");
        assert!(rel(normal_interval(-1.0, 1.0), 0.68268949213708589717) < 1e-13);
        assert_eq!(normal_interval(1.0, 1.0), 0.0);
    }
}
