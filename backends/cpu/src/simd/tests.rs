//! Accuracy of the vector functions against f64 (for f32) and against the platform libm (for
//! f64), over the whole input range and at the special values; and bit-for-bit agreement of
//! the dispatched vector loops with the same functions evaluated one element at a time.

use super::*;
use rayon::prelude::*;
use std::hint::black_box;

/// |y - reference| in units of the f32 ulp at the reference's magnitude (subnormal ulp below
/// f32::MIN_POSITIVE). Infinite when y misses a NaN, an infinity or a zero sign that matters.
fn ulps_f32(y: f32, reference: f64) -> f64 {
    if reference.is_nan() {
        return if y.is_nan() { 0.0 } else { f64::INFINITY };
    }
    let rounded = reference as f32;
    if rounded.is_infinite() {
        return if y == rounded { 0.0 } else { f64::INFINITY };
    }
    let e = if reference == 0.0 { -126 } else { (reference.abs().log2().floor() as i32).max(-126) };
    (f64::from(y) - reference).abs() / 2f64.powi(e - 23)
}

/// 2^n for n >= -1074, subnormals included (`powi` underflows on the way there).
fn pow2(n: i32) -> f64 {
    if n >= -1022 {
        f64::from_bits(((n + 1023) as u64) << 52)
    } else {
        f64::from_bits(1u64 << (n + 1074))
    }
}

/// The same in f64 ulps, against a reference that is itself an f64.
fn ulps_f64(y: f64, reference: f64) -> f64 {
    if reference.is_nan() || reference.is_infinite() {
        return if y.to_bits() == reference.to_bits() || (y.is_nan() && reference.is_nan()) {
            0.0
        } else {
            f64::INFINITY
        };
    }
    let e = if reference == 0.0 { -1022 } else { (reference.abs().log2().floor() as i32).max(-1022) };
    (y - reference).abs() / pow2(e - 52)
}

struct Case32 {
    name: &'static str,
    f: fn(f32) -> f32,
    reference: fn(f64) -> f64,
    /// The bound asserted here, in ulps; backends/cpu/README.md gives the measured worst case.
    bound: f64,
}

fn sigmoid_ref(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        x.exp() / (1.0 + x.exp())
    }
}

fn softplus_ref(x: f64) -> f64 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

const CASES32: [Case32; 5] = [
    Case32 { name: "exp", f: exp_f32, reference: f64::exp, bound: 1.5 },
    Case32 { name: "ln", f: ln_f32, reference: f64::ln, bound: 1.5 },
    Case32 { name: "tanh", f: tanh_f32, reference: f64::tanh, bound: 2.0 },
    Case32 { name: "sigmoid", f: sigmoid_f32, reference: sigmoid_ref, bound: 2.0 },
    Case32 { name: "softplus", f: softplus_f32, reference: softplus_ref, bound: 2.0 },
];

/// The worst error of `c` over the f32 bit patterns `bits`, and the input where it occurs.
fn worst32(c: &Case32, bits: impl IntoParallelIterator<Item = u32>) -> (f64, f32) {
    bits.into_par_iter()
        .map(|b| {
            let x = f32::from_bits(b);
            (ulps_f32((c.f)(x), (c.reference)(f64::from(x))), x)
        })
        .reduce(|| (0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
}

/// Every 509th f32 bit pattern (8.4 million of them, both signs, subnormals, infinities and
/// NaNs included), and every pattern near the places where the methods change: the
/// overflow and underflow thresholds, 0, tanh's switch between its two forms, and 1.
#[test]
fn f32_functions_are_within_their_ulp_bounds_over_the_whole_range() {
    let dense = |x: f32| {
        let b = x.to_bits();
        b.saturating_sub(1 << 16)..=b.saturating_add(1 << 16)
    };
    let around: Vec<u32> = [88.72f32, -87.33, -103.97, 0.5625, -0.5625, 1.0, 9.0, -9.0, f32::MIN_POSITIVE, 1e-30]
        .into_iter()
        .flat_map(dense)
        .chain(0..1 << 17) // the positive subnormals nearest 0
        .collect();
    for c in &CASES32 {
        let (sweep, at) = worst32(c, (0..u32::MAX / 509).into_par_iter().map(|i| i * 509 + (i % 7)));
        let (near, near_at) = worst32(c, around.clone());
        println!("{:>8}: sweep {sweep:.3} ulp at {at:e}, near thresholds {near:.3} at {near_at:e}", c.name);
        assert!(sweep <= c.bound, "{}: {sweep:.3} ulp at {at:e} (bound {})", c.name, c.bound);
        assert!(near <= c.bound, "{}: {near:.3} ulp at {near_at:e} (bound {})", c.name, c.bound);
    }
}

/// All 2^32 inputs of each f32 function: the figures in backends/cpu/README.md. About a minute
/// per function on two cores in release mode:
/// `cargo test --release -p backend-cpu exhaustive -- --ignored --nocapture`.
#[test]
#[ignore]
fn exhaustive_f32() {
    for c in &CASES32 {
        let (worst, at) = worst32(c, (0..=u32::MAX).into_par_iter());
        println!("{:>8}: worst {worst:.3} ulp at {at:e} ({:#010x})", c.name, at.to_bits());
        assert!(worst <= c.bound, "{}", c.name);
    }
}

#[test]
fn f32_special_values() {
    let inf = f32::INFINITY;
    let min_sub = f32::from_bits(1);
    for (name, f, cases) in [
        (
            "exp",
            exp_f32 as fn(f32) -> f32,
            vec![(0.0, 1.0), (-0.0, 1.0), (inf, inf), (-inf, 0.0), (89.0, inf), (-104.0, 0.0)],
        ),
        ("ln", ln_f32, vec![(0.0, -inf), (-0.0, -inf), (1.0, 0.0), (inf, inf), (-1.0, f32::NAN), (-inf, f32::NAN)]),
        ("tanh", tanh_f32, vec![(0.0, 0.0), (inf, 1.0), (-inf, -1.0), (20.0, 1.0), (min_sub, min_sub)]),
        ("sigmoid", sigmoid_f32, vec![(0.0, 0.5), (inf, 1.0), (-inf, 0.0), (-200.0, 0.0), (100.0, 1.0)]),
        ("softplus", softplus_f32, vec![(inf, inf), (-inf, 0.0), (200.0, 200.0), (-200.0, 0.0)]),
    ] {
        assert!(f(f32::NAN).is_nan() && f(-f32::NAN).is_nan(), "{name}(NaN)");
        for (x, want) in cases {
            let y = f(x);
            assert!(
                y.to_bits() == want.to_bits() || (y.is_nan() && want.is_nan()),
                "{name}({x:e}) = {y:e}, want {want:e}"
            );
        }
    }
    // Signs of zero: tanh is odd, exp of a tiny negative is 1.
    assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
    assert_eq!(tanh_f32(-min_sub), -min_sub);
    assert_eq!(exp_f32(-min_sub), 1.0);
    // Subnormal results: e^-100 and sigmoid(-100) are about 3.7e-44, softplus(-100) too.
    for y in [exp_f32(-100.0), sigmoid_f32(-100.0), softplus_f32(-100.0)] {
        assert!(y > 0.0 && y < f32::MIN_POSITIVE && ulps_f32(y, (-100f64).exp()) <= 1.0, "{y:e}");
    }
    // ln of subnormals, down to the smallest.
    assert!(ulps_f32(ln_f32(min_sub), f64::from(min_sub).ln()) <= 1.0);
    assert!(ulps_f32(ln_f32(f32::MAX), f64::from(f32::MAX).ln()) <= 1.0);
}

struct Case64 {
    name: &'static str,
    f: fn(f64) -> f64,
    reference: fn(f64) -> f64,
    bound: f64,
}

const CASES64: [Case64; 5] = [
    Case64 { name: "exp", f: exp_f64, reference: f64::exp, bound: 2.0 },
    Case64 { name: "ln", f: ln_f64, reference: f64::ln, bound: 2.0 },
    Case64 { name: "tanh", f: tanh_f64, reference: f64::tanh, bound: 3.0 },
    Case64 { name: "sigmoid", f: sigmoid_f64, reference: sigmoid_ref, bound: 3.0 },
    Case64 { name: "softplus", f: softplus_f64, reference: softplus_ref, bound: 3.0 },
];

/// f64 against libm (glibc's exp, log and tanh are within one ulp themselves; the sigmoid and
/// softplus references are compositions of them, a few roundings each): 4 million bit
/// patterns spread evenly over the whole range (a Weyl sequence), and 4 million values dense
/// in [-40, 40], where the activations are used.
#[test]
fn f64_functions_are_within_their_ulp_bounds() {
    for c in &CASES64 {
        let worst = |xs: Vec<f64>| {
            xs.into_par_iter()
                .map(|x| (ulps_f64((c.f)(x), (c.reference)(x)), x))
                .reduce(|| (0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a })
        };
        let spread = (0..1u64 << 22).map(|i| f64::from_bits(i.wrapping_mul(0x9E37_79B9_7F4A_7C15))).collect();
        let dense = (0..1u64 << 22).map(|i| -40.0 + 80.0 * (i as f64 + 0.37) / (1u64 << 22) as f64).collect();
        for (label, (e, at)) in [("spread", worst(spread)), ("dense", worst(dense))] {
            assert!(e <= c.bound, "{} ({label}): {e:.3} ulp at {at:e} (bound {})", c.name, c.bound);
        }
    }
    let inf = f64::INFINITY;
    assert_eq!((exp_f64(inf), exp_f64(-inf), exp_f64(710.0), exp_f64(-746.0)), (inf, 0.0, inf, 0.0));
    assert_eq!((ln_f64(0.0), ln_f64(inf), ln_f64(1.0)), (-inf, inf, 0.0));
    assert!(ln_f64(-1.0).is_nan() && exp_f64(f64::NAN).is_nan() && tanh_f64(f64::NAN).is_nan());
    assert_eq!((tanh_f64(inf), tanh_f64(-inf), tanh_f64(-0.0).to_bits()), (1.0, -1.0, (-0.0f64).to_bits()));
    assert_eq!((sigmoid_f64(-inf), sigmoid_f64(inf), softplus_f64(inf), softplus_f64(-inf)), (0.0, 1.0, inf, 0.0));
    assert!(sigmoid_f64(f64::NAN).is_nan() && softplus_f64(f64::NAN).is_nan());
    let tiny = f64::from_bits(1);
    assert!(ulps_f64(ln_f64(tiny), tiny.ln()) <= 1.0 && exp_f64(-740.0) > 0.0);
}

/// The dispatched loops (AVX-512, AVX2 or SSE2, whichever this CPU has) give exactly the bits
/// of the scalar functions, for every length around the vector widths and for special values.
#[test]
fn vector_loops_equal_the_scalar_functions_bit_for_bit() {
    let mut xs: Vec<f32> = (0..4099u32).map(|i| f32::from_bits(i.wrapping_mul(2_654_435_761))).collect();
    xs.extend([0.0, -0.0, f32::INFINITY, -f32::INFINITY, f32::NAN, f32::MIN_POSITIVE, 88.8, -104.0, 0.5625]);
    xs.extend((0..2000).map(|i| (i as f32 - 1000.0) * 0.013));
    let same = |a: f32, b: f32| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    for c in &CASES32 {
        for len in (0..70).chain([xs.len()]) {
            let mut out = vec![0f32; len];
            map_into(&xs[..len], &mut out, c.f);
            for (i, (&x, &y)) in xs.iter().zip(&out).enumerate() {
                // black_box keeps this one scalar.
                assert!(same(y, (c.f)(black_box(x))), "{} len {len} element {i}: {x:e}", c.name);
            }
            let mut inplace = xs[..len].to_vec();
            map_in_place(&mut inplace, c.f);
            assert!(inplace.iter().zip(&out).all(|(&a, &b)| same(a, b)), "{} in place, len {len}", c.name);
        }
    }
    let xd: Vec<f64> = xs.iter().map(|&x| f64::from(x) * 1.7).collect();
    for c in &CASES64 {
        let mut out = vec![0f64; xd.len()];
        map_into(&xd, &mut out, c.f);
        for (&x, &y) in xd.iter().zip(&out) {
            let s = (c.f)(black_box(x));
            assert!(y.to_bits() == s.to_bits() || (y.is_nan() && s.is_nan()), "{} at {x:e}", c.name);
        }
    }
    let mut sum = vec![0f32; 67];
    zip_into(&xs[..67], &xs[100..167], &mut sum, |a, b| a + b);
    assert!(sum.iter().zip(xs.iter().zip(&xs[100..])).all(|(&s, (&a, &b))| same(s, a + b)));
}
