//! tanh x, branch-free, for f32 and f64: both of two forms are computed and one selected.
//!
//! - |x| < 0.5625: x + x^3 P(x^2), P a Chebyshev interpolant of (tanh x - x) / x^3 in x^2
//!   (scripts/simd_coefficients.py); exact for tiny and subnormal x.
//! - otherwise: 1 - 2 / (e^(2|x|) + 1) with the sign of x. From |x| = 0.5625 on, tanh >= 0.51,
//!   so the subtraction loses under one bit, and 2 / (e + 1) has only the rounding errors of
//!   one exp, an add and a divide. e^(2|x|) = +inf for large |x| gives exactly +-1, and NaN
//!   propagates through it.
//! - the sign of x is copied onto either, which keeps tanh(-0) = -0 (the polynomial form
//!   alone would return +0 there).

use super::exp::{exp_f32, exp_f64, horner32, horner64};

/// Below this |x| the polynomial form is used.
const SMALL: f32 = 0.5625;

/// P(u) on u <= 0.5625^2: relative error of tanh below 5.1e-9.
const P32: [f32; 5] = [-0.333_333_3, 0.133_330_74, -0.053_901_753, 0.021_263_354, -0.006_525_572];

/// P(u) on u <= 0.5625^2: relative error of tanh below 3.9e-18.
const P64: [f64; 11] = [
    -0.333_333_333_333_333_3,
    0.133_333_333_333_323_9,
    -0.053_968_253_967_059_4,
    0.021_869_488_476_962_56,
    -0.008_863_234_021_529_514,
    0.003_592_105_532_132_769,
    -0.001_455_623_977_419_267_8,
    0.000_588_753_711_183_480_4,
    -0.000_234_105_569_366_727_98,
    0.000_084_265_222_039_580_66,
    -0.000_020_026_740_085_317_685,
];

#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let a = x.abs();
    let u = x * x;
    let small = x + x * u * horner32(u, &P32);
    let large = 1.0 - 2.0 / (exp_f32(a + a) + 1.0);
    (if a < SMALL { small } else { large }).copysign(x)
}

#[inline(always)]
pub fn tanh_f64(x: f64) -> f64 {
    let a = x.abs();
    let u = x * x;
    let small = x + x * u * horner64(u, &P64);
    let large = 1.0 - 2.0 / (exp_f64(a + a) + 1.0);
    (if a < f64::from(SMALL) { small } else { large }).copysign(x)
}
