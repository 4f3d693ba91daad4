//! e^x, branch-free, for f32 and f64.
//!
//! Method (Cody and Waite, "Software Manual for the Elementary Functions", 1980, ch. 6):
//! x = k ln 2 + r with k = round(x / ln 2), so |r| <= ln 2 / 2 (a hair more, as k is rounded
//! from a rounded product), and r = x - k ln2_hi - k ln2_lo in two steps, the first exact
//! because ln2_hi has enough trailing zero bits for every k that occurs. e^r = 1 + r + r^2 g(r)
//! with g a Chebyshev interpolant (scripts/simd_coefficients.py); then e^x = e^r 2^k.
//!
//! Branch-free details:
//! - k is rounded by adding 1.5 * 2^23 (2^52 for f64): the sum's low mantissa bits are k, so
//!   the integer k comes from the float's bits without a float-to-int conversion (f64 has none
//!   below AVX-512) and without a rounding instruction (SSE2 has none).
//! - 2^k is applied as two factors 2^(k/2) 2^(k - k/2), each a normal number, so the result
//!   is right down into the subnormals (one rounding, in the last product) and overflows to
//!   +inf exactly when it should.
//! - x is clamped first (NaN passes through the comparisons), so k stays in that range.
//!
//! No fused multiply-add is used anywhere, so every instruction set computes the same bits
//! (see mod.rs).

/// 1.5 * 2^23: adding it rounds an f32 of magnitude below 2^22 to an integer.
const ROUND_F32: f32 = 12_582_912.0;
/// 1.5 * 2^52, the same for f64.
const ROUND_F64: f64 = 6_755_399_441_055_744.0;

mod c32 {
    pub const LOG2E: f32 = std::f32::consts::LOG2_E;
    /// 355/512: 9 significant bits, so k ln2_hi is exact for |k| < 2^15.
    pub const LN2_HI: f32 = 355.0 / 512.0;
    pub const LN2_LO: f32 = -2.121_944_4e-4;
    /// g(r) = (e^r - 1 - r) / r^2 on |r| <= 0.35: relative error of e^r below 1.1e-8.
    pub const G: [f32; 5] = [0.5, 0.166_665_73, 0.041_666_55, 0.008_363_774, 0.001_392_692_7];
    /// e^-110 is 0 in f32, e^90 is +inf: clamping there changes no result.
    pub const LO: f32 = -110.0;
    pub const HI: f32 = 90.0;
}

mod c64 {
    pub const LOG2E: f64 = std::f64::consts::LOG2_E;
    /// ln 2 truncated to 32 bits: k ln2_hi is exact for |k| < 2^21.
    pub const LN2_HI: f64 = 0.693_147_180_369_123_8;
    pub const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    /// g on |r| <= 0.35: relative error of e^r below 2e-17.
    pub const G: [f64; 10] = [
        0.500_000_000_000_000_1,
        0.166_666_666_666_666_68,
        0.041_666_666_666_620_64,
        0.008_333_333_333_329_793,
        0.001_388_888_891_893_916_8,
        0.000_198_412_698_643_805_13,
        0.000_024_801_518_641_395_994,
        2.755_726_641_861_230_4e-6,
        2.762_133_866_914_292_4e-7,
        2.510_134_692_835_034e-8,
    ];
    pub const LO: f64 = -760.0;
    pub const HI: f64 = 720.0;
}

/// Horner's rule, constant term first; no fused multiply-add. Starting from the highest
/// coefficient (not from 0) keeps 0 * inf out of the sum.
#[inline(always)]
pub(super) fn horner32<const N: usize>(x: f32, c: &[f32; N]) -> f32 {
    let mut acc = c[N - 1];
    for i in (0..N - 1).rev() {
        acc = acc * x + c[i];
    }
    acc
}

#[inline(always)]
pub(super) fn horner64<const N: usize>(x: f64, c: &[f64; N]) -> f64 {
    let mut acc = c[N - 1];
    for i in (0..N - 1).rev() {
        acc = acc * x + c[i];
    }
    acc
}

/// e^x in f32. Special values: e^NaN = NaN, e^+inf = +inf, e^-inf = +0, e^x = +inf from
/// x > 88.72, subnormal results from x < -87.34, 0 below -103.97.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    use c32::*;
    let x = if x < LO { LO } else { x };
    let x = if x > HI { HI } else { x };
    let t = x * LOG2E + ROUND_F32;
    let kf = t - ROUND_F32;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let p = 1.0 + (r + r * r * horner32(r, &G));
    // k and a half of it, as integers, from the rounded floats' bits.
    let k = t.to_bits().wrapping_sub(ROUND_F32.to_bits()) as i32;
    let k1 = (kf * 0.5 + ROUND_F32).to_bits().wrapping_sub(ROUND_F32.to_bits()) as i32;
    let pow2 = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    p * pow2(k1) * pow2(k - k1)
}

/// e^x in f64, as [`exp_f32`]: +inf from x > 709.78, subnormal results from x < -708.40.
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    use c64::*;
    let x = if x < LO { LO } else { x };
    let x = if x > HI { HI } else { x };
    let t = x * LOG2E + ROUND_F64;
    let kf = t - ROUND_F64;
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    let p = 1.0 + (r + r * r * horner64(r, &G));
    let k = t.to_bits().wrapping_sub(ROUND_F64.to_bits()) as i64;
    let k1 = (kf * 0.5 + ROUND_F64).to_bits().wrapping_sub(ROUND_F64.to_bits()) as i64;
    let pow2 = |k: i64| f64::from_bits(((k + 1023) as u64) << 52);
    p * pow2(k1) * pow2(k - k1)
}
