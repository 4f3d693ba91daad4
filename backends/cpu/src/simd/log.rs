//! ln x, and log1p y on [0, 1] for softplus, branch-free, for f32 and f64.
//!
//! Method (the reduction of Tang, "Table-driven implementation of the logarithm function in
//! IEEE floating-point arithmetic", ACM TOMS 16, 1990, without the table, and the atanh form
//! with the f - f^2/2 split of Sun's fdlibm documentation): x = 2^e m with m in
//! [sqrt(1/2), sqrt(2)), found by subtracting the bits of sqrt(1/2) from x's bits, so e is
//! the exponent field and m its mantissa with sqrt(1/2)'s bits added back. With f = m - 1
//! (exact) and s = f / (2 + f), ln m = 2 atanh s = f - (f^2/2 - s (f^2/2 + s^2 h(s^2))), an
//! identity that keeps the exact f as the leading term; h is a Chebyshev interpolant
//! (scripts/simd_coefficients.py). Then ln x = e ln2_hi + (ln m + e ln2_lo).
//!
//! Subnormal inputs are scaled by 2^23 (2^54) first; zero, negative, infinite and NaN inputs
//! are patched by selects at the end. Integer exponents reach floating point without an
//! int-to-float conversion in f64 (SSE2 and AVX2 have none for 64-bit integers): the biased
//! exponent is written into the mantissa of 2^52 and 2^52 subtracted.

use super::exp::{horner32, horner64};

mod c32 {
    /// The bits of sqrt(1/2) rounded down.
    pub const SQRT_HALF_BITS: u32 = 0x3f35_04f3;
    pub const LN2_HI: f32 = 355.0 / 512.0;
    pub const LN2_LO: f32 = -2.121_944_4e-4;
    /// h(z) on z <= 0.0295 (|s| <= 0.1716): relative error of ln m below 3e-9.
    pub const H: [f32; 3] = [0.666_666_87, 0.399_887_8, 0.295_799_5];
}

mod c64 {
    /// The reduction's constants and h(z) are the RNG's (autodiff defines both lns).
    pub use autodiff::rng::ln_f64_coefficients::{H, LN2_HI, LN2_LO, SQRT_HALF_BITS};
    /// 2^52, whose mantissa takes a small integer exactly.
    pub const TWO52: f64 = 4_503_599_627_370_496.0;
}

/// ln of a positive normal f32 as (e, ln m), before the exponent is added.
#[inline(always)]
fn reduce32(x: f32) -> (f32, f32) {
    use c32::*;
    let ix = x.to_bits().wrapping_sub(SQRT_HALF_BITS);
    let e = ((ix as i32) >> 23) as f32;
    let m = f32::from_bits((ix & 0x007f_ffff) + SQRT_HALF_BITS);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let hfsq = 0.5 * f * f;
    (e, f - (hfsq - s * (hfsq + z * horner32(z, &H))))
}

#[inline(always)]
fn reduce64(x: f64) -> (f64, f64) {
    use c64::*;
    let ix = x.to_bits().wrapping_sub(SQRT_HALF_BITS);
    // e + 1024 is in [2, 2048] for positive normal x: a non-negative 12-bit field.
    let biased = ix.wrapping_add(1024 << 52) >> 52;
    let e = f64::from_bits(TWO52.to_bits() | biased) - (TWO52 + 1024.0);
    let m = f64::from_bits((ix & 0x000f_ffff_ffff_ffff) + SQRT_HALF_BITS);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    let hfsq = 0.5 * f * f;
    (e, f - (hfsq - s * (hfsq + z * horner64(z, &H))))
}

/// ln x in f32. ln(+-0) = -inf, ln(x < 0) = NaN, ln(+inf) = +inf, ln(NaN) = NaN; subnormal
/// inputs are exact to the same bound as normal ones.
#[inline(always)]
pub fn ln_f32(x: f32) -> f32 {
    use c32::*;
    let tiny = x < f32::MIN_POSITIVE;
    let (e, lnm) = reduce32(if tiny { x * 8_388_608.0 } else { x });
    let e = if tiny { e - 23.0 } else { e };
    let y = e * LN2_HI + (lnm + e * LN2_LO);
    special32(x, y)
}

#[inline(always)]
fn special32(x: f32, y: f32) -> f32 {
    let y = if x == 0.0 { f32::NEG_INFINITY } else { y };
    let y = if x < 0.0 { f32::NAN } else { y };
    // +inf and NaN return themselves.
    if x < f32::INFINITY {
        y
    } else {
        x
    }
}

/// ln x in f64, as [`ln_f32`].
#[inline(always)]
pub fn ln_f64(x: f64) -> f64 {
    use c64::*;
    let tiny = x < f64::MIN_POSITIVE;
    let (e, lnm) = reduce64(if tiny { x * 18_014_398_509_481_984.0 } else { x });
    let e = if tiny { e - 54.0 } else { e };
    let y = e * LN2_HI + (lnm + e * LN2_LO);
    let y = if x == 0.0 { f64::NEG_INFINITY } else { y };
    let y = if x < 0.0 { f64::NAN } else { y };
    if x < f64::INFINITY {
        y
    } else {
        x
    }
}

/// ln(1 + y) for y in [0, 1] (and NaN, which it returns): u = 1 + y rounds, and
/// (y - (u - 1)) / u, exact to first order, puts back what the rounding lost (Goldberg,
/// "What every computer scientist should know about floating-point arithmetic", 1991, thm 4).
#[inline(always)]
pub(super) fn ln_1p_unit_f32(y: f32) -> f32 {
    use c32::*;
    let u = 1.0 + y;
    let (e, lnm) = reduce32(u);
    e * LN2_HI + (lnm + (e * LN2_LO + (y - (u - 1.0)) / u))
}

#[inline(always)]
pub(super) fn ln_1p_unit_f64(y: f64) -> f64 {
    use c64::*;
    let u = 1.0 + y;
    let (e, lnm) = reduce64(u);
    e * LN2_HI + (lnm + (e * LN2_LO + (y - (u - 1.0)) / u))
}
