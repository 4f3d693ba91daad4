//! The ln and (sin, cos) of the Box-Muller transform, on the only arguments it passes them
//! (uniforms in (0, 1]), branch-free and without libm, so that a fill loop over them runs on
//! vector registers at whatever width the dispatch in `fill.rs` compiled it for. No fused
//! multiply-add: every instruction set computes the same bits, and the f32 functions are the
//! definition the wgpu shader follows to within its parity tolerance.

/// ln x for x in (0, 1], to about one ulp. x = m 2^e with m in [sqrt(1/2), sqrt(2)), and
/// ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, by its odd series to s^9 (the next
/// term is below 1e-9 of the result).
#[inline(always)]
pub(super) fn ln_f32(x: f32) -> f32 {
    let bits = x.to_bits();
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    // Selects, not branches: the mantissas are random, so a branch would mispredict half the time.
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = ((bits >> 23) & 0xff) as i32 - 127 + i32::from(big);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))));
    e as f32 * std::f32::consts::LN_2 + series
}

/// (sin, cos) of 2 pi u for u in [0, 1). u is reduced to the nearest quarter turn q/4,
/// exactly (u has 23 bits), leaving |a| <= pi/4 for Taylor series to a^9 and a^10
/// (truncation below 2e-9); the quadrant then rotates (sin a, cos a).
#[inline(always)]
pub(super) fn sin_cos_turns(u: f32) -> (f32, f32) {
    // Truncation of a positive value is floor, and converts in one vector instruction where
    // `round` is a libm call without SSE4.1.
    let qi = (u * 4.0 + 0.5) as u32;
    let a = std::f32::consts::TAU * (u - 0.25 * qi as f32);
    let a2 = a * a;
    let f = |n: f32| a2 * (1.0 / n);
    let sin = a * (1.0 - f(6.0) * (1.0 - f(20.0) * (1.0 - f(42.0) * (1.0 - f(72.0)))));
    let cos = 1.0 - f(2.0) * (1.0 - f(12.0) * (1.0 - f(30.0) * (1.0 - f(56.0) * (1.0 - f(90.0)))));
    // Quadrant q: (sin, cos) of a + q pi/2, by a swap and two sign flips, all selects.
    let q = qi & 3;
    let (s, c) = if q & 1 == 1 { (cos, sin) } else { (sin, cos) };
    let flip_s = (q & 2) << 30;
    let flip_c = ((q + 1) & 2) << 30;
    (f32::from_bits(s.to_bits() ^ flip_s), f32::from_bits(c.to_bits() ^ flip_c))
}

/// 1.5 * 2^52: adding it rounds an f64 below 2^51 to an integer held in the low mantissa bits.
const ROUND_F64: f64 = 6_755_399_441_055_744.0;

/// The constants of the f64 ln, shared with backend-cpu's vector ln (its `simd/log.rs`), which
/// uses the same reduction: one table, so the two cannot drift apart.
pub mod ln_f64_coefficients {
    /// The bits of sqrt(1/2): subtracting them from x's bits splits x = 2^e m, m in [sqrt(1/2), sqrt(2)).
    pub const SQRT_HALF_BITS: u64 = 0x3fe6_a09e_667f_3bcd;
    /// ln 2 in two parts, the first with 32 significant bits, so e ln2_hi is exact.
    pub const LN2_HI: f64 = 0.693_147_180_369_123_8;
    pub const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    /// h(z) = (2 atanh(s) / s - 2) / z, a Chebyshev interpolant on z <= 0.0295
    /// (scripts/simd_coefficients.py): relative error of ln m below 5e-18.
    pub const H: [f64; 7] = [
        0.666_666_666_666_666_9,
        0.399_999_999_998_995_05,
        0.285_714_286_259_754_85,
        0.222_222_111_347_950_8,
        0.181_828_891_252_617_22,
        0.153_317_216_005_560_4,
        0.146_164_496_850_434_06,
    ];
}

/// ln x for x in (0, 1] in f64, within an ulp or so: the f32 method with the split of
/// Sun's fdlibm, ln m = f - (f^2/2 - s (f^2/2 + s^2 h(s^2))), f = m - 1 exact, which keeps
/// the rounding of s out of the leading term. The
/// exponent reaches f64 through the mantissa of 2^52 (no 64-bit int-to-float conversion
/// before AVX-512). Then ln x = e ln2_hi + (ln m + e ln2_lo).
#[inline(always)]
pub(super) fn ln_f64(x: f64) -> f64 {
    use ln_f64_coefficients::SQRT_HALF_BITS;
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let ix = x.to_bits().wrapping_sub(SQRT_HALF_BITS);
    // For x in (0, 1], e is in [-1074, 0]: e + 1024 stays a non-negative 12-bit field.
    let e = f64::from_bits(TWO52.to_bits() | (ix.wrapping_add(1024 << 52) >> 52)) - (TWO52 + 1024.0);
    let m = f64::from_bits((ix & 0x000f_ffff_ffff_ffff) + SQRT_HALF_BITS);
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let z = s * s;
    use ln_f64_coefficients::{H, LN2_HI, LN2_LO};
    let mut h = H[6];
    for c in H[..6].iter().rev() {
        h = h * z + c;
    }
    let hfsq = 0.5 * f * f;
    let lnm = f - (hfsq - s * (hfsq + z * h));
    e * LN2_HI + (lnm + e * LN2_LO)
}

/// (sin, cos) of 2 pi u for u in [0, 1) in f64: the quarter-turn reduction of
/// [`sin_cos_turns`] (q rounded by adding 1.5 * 2^52, exact as u has at most 53 bits), then
/// Taylor series to a^17 and a^18 on |a| <= pi/4 (truncation below 1e-19).
#[inline(always)]
pub(super) fn sin_cos_turns_f64(u: f64) -> (f64, f64) {
    let t = u * 4.0 + ROUND_F64;
    let q = t.to_bits() & 3;
    let a = std::f64::consts::TAU * (u - 0.25 * (t - ROUND_F64));
    let a2 = a * a;
    // sin a = a (1 - a^2/(2 3) (1 - a^2/(4 5) (...))) to a^17, cos a = 1 - a^2/(1 2) (...) to
    // a^18; the reciprocals are constants once the loops unroll.
    let mut s = 1.0;
    for n in [16.0f64, 14.0, 12.0, 10.0, 8.0, 6.0, 4.0, 2.0] {
        s = 1.0 - a2 * (1.0 / (n * (n + 1.0))) * s;
    }
    let mut c = 1.0;
    for n in [18.0f64, 16.0, 14.0, 12.0, 10.0, 8.0, 6.0, 4.0, 2.0] {
        c = 1.0 - a2 * (1.0 / ((n - 1.0) * n)) * c;
    }
    let (sin, cos) = (a * s, c);
    let (s, c) = if q & 1 == 1 { (cos, sin) } else { (sin, cos) };
    let flip_s = (q & 2) << 62;
    let flip_c = ((q + 1) & 2) << 62;
    (f64::from_bits(s.to_bits() ^ flip_s), f64::from_bits(c.to_bits() ^ flip_c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{unit_f32, unit_f64};

    #[test]
    fn polynomial_ln_and_sincos_agree_with_f64() {
        let mut worst = (0f64, 0f64);
        for i in 0..200_000u32 {
            let u = unit_f32(i.wrapping_mul(2_654_435_761));
            let ln = f64::from(u).ln();
            worst.0 = worst.0.max((f64::from(ln_f32(u)) - ln).abs() / ln.abs().max(1e-3));
            let (s, c) = sin_cos_turns(u);
            let (s64, c64) = (std::f64::consts::TAU * f64::from(u)).sin_cos();
            worst.1 = worst.1.max((f64::from(s) - s64).abs().max((f64::from(c) - c64).abs()));
        }
        assert!(worst.0 < 3e-7, "ln: worst relative error {}", worst.0);
        assert!(worst.1 < 3e-7, "sin/cos: worst absolute error {}", worst.1);
        assert_eq!(ln_f32(1.0), 0.0);
        assert!((ln_f32(f32::MIN_POSITIVE) - f32::MIN_POSITIVE.ln()).abs() < 1e-4);
    }

    /// Against libm (itself within an ulp): ln within 2 ulp of its value, sin and cos within
    /// 2e-16 absolute (their values are at most 1) of libm's on the reduced argument, on the uniforms the fills draw and at the
    /// ends of (0, 1].
    #[test]
    fn f64_ln_and_sincos_agree_with_libm() {
        let (mut ln_ulps, mut trig) = (0f64, 0f64);
        let units = (0..400_000u64).map(|i| {
            let w = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            unit_f64((w >> 32) as u32, w as u32)
        });
        for u in units.chain([f64::MIN_POSITIVE, 1e-300, 2.3e-10, 0.5, 0.125, 0.875, 1.0 - 1e-16, 1.0]) {
            let (ours, libm) = (ln_f64(u), u.ln());
            let ulp = f64::EPSILON * libm.abs().max(f64::MIN_POSITIVE);
            ln_ulps = ln_ulps.max((ours - libm).abs() / ulp);
            if u < 1.0 {
                let (s, c) = sin_cos_turns_f64(u);
                // libm on the same exact quarter-turn reduction (2 pi u itself would round by
                // up to 4e-16 before libm saw it), rotated into the quadrant.
                let q = (4.0 * u).round();
                let (sr, cr) = (std::f64::consts::TAU * (u - 0.25 * q)).sin_cos();
                let (s64, c64) = match q as u32 % 4 {
                    0 => (sr, cr),
                    1 => (cr, -sr),
                    2 => (-sr, -cr),
                    _ => (-cr, sr),
                };
                trig = trig.max((s - s64).abs().max((c - c64).abs()));
            }
        }
        assert!(ln_ulps <= 2.0, "ln: {ln_ulps} ulp");
        assert!(trig <= 2e-16, "sin/cos: {trig:e}");
        assert_eq!(ln_f64(1.0), 0.0);
    }
}
