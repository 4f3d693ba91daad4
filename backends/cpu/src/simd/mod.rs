//! Element-wise kernels at the vector width of the CPU they run on, chosen at run time.
//!
//! Two halves:
//! - **The functions** (exp, ln, tanh, sigmoid, softplus in f32 and f64; modules below) are
//!   written per element, branch-free: every case is computed and chosen by a select, with no
//!   calls into libm and no table look-ups, so a loop over them vectorises.
//! - **The loops** ([`map_into`], [`map_in_place`], [`zip_into`]) are compiled several times
//!   by the `multiversion` crate, once per instruction set: AVX-512 (Ice Lake's set and later,
//!   16 f32 lanes), AVX2 + FMA (8 lanes), the x86-64 baseline SSE2 (4 lanes), and NEON on
//!   aarch64. The first call detects what the CPU has and every later call costs one atomic
//!   load and a direct call. The binary itself targets plain x86-64 and runs on any of them.
//!
//! No function uses a fused multiply-add, which SSE2 lacks: then every clone computes the same
//! bits for the same input, on every machine (LLVM does not contract a * b + c by itself), and
//! the scalar function is an exact reference for the vector loops (tests.rs). The cost is
//! about one instruction in three in the polynomials; see backends/cpu/README.md.

mod activations;
mod exp;
mod log;
mod tanh;
#[cfg(test)]
mod tests;

pub use activations::{sigmoid_f32, sigmoid_f64, softplus_f32, softplus_f64};
pub use exp::{exp_f32, exp_f64};
pub use log::{ln_f32, ln_f64};
pub use tanh::{tanh_f32, tanh_f64};

use multiversion::multiversion;

/// The vectorisable functions of one float type, for kernels generic over f32 and f64.
/// (Prefixed with v so they do not shadow `num_traits::Float`'s libm-backed methods.)
pub trait Math: Copy {
    fn vexp(self) -> Self;
    fn vln(self) -> Self;
    fn vtanh(self) -> Self;
    fn vsigmoid(self) -> Self;
    fn vsoftplus(self) -> Self;
}

macro_rules! math {
    ($t:ty, $exp:ident, $ln:ident, $tanh:ident, $sigmoid:ident, $softplus:ident) => {
        impl Math for $t {
            #[inline(always)]
            fn vexp(self) -> Self {
                $exp(self)
            }
            #[inline(always)]
            fn vln(self) -> Self {
                $ln(self)
            }
            #[inline(always)]
            fn vtanh(self) -> Self {
                $tanh(self)
            }
            #[inline(always)]
            fn vsigmoid(self) -> Self {
                $sigmoid(self)
            }
            #[inline(always)]
            fn vsoftplus(self) -> Self {
                $softplus(self)
            }
        }
    };
}
math!(f32, exp_f32, ln_f32, tanh_f32, sigmoid_f32, softplus_f32);
math!(f64, exp_f64, ln_f64, tanh_f64, sigmoid_f64, softplus_f64);

// The targets, best first. multiversion requires Ice Lake's AVX-512 extensions for the first
// (VBMI2 and others), so Skylake-SP, whose clock drops under 512-bit code, takes AVX2.
// NEON is the aarch64 baseline: there the "dispatch" is resolved at compile time.

/// dst[i] = f(src[i]) over the shorter of the two, at the CPU's vector width.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512bw+avx512dq+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
pub fn map_into<T: Copy, F: Fn(T) -> T>(src: &[T], dst: &mut [T], f: F) {
    for (o, &x) in dst.iter_mut().zip(src) {
        *o = f(x);
    }
}

/// x = f(x) for every element, at the CPU's vector width.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512bw+avx512dq+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
pub fn map_in_place<T: Copy, F: Fn(T) -> T>(buf: &mut [T], f: F) {
    for x in buf.iter_mut() {
        *x = f(*x);
    }
}

/// dst[i] = f(a[i], b[i]), at the CPU's vector width.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512bw+avx512dq+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
pub fn zip_into<T: Copy, F: Fn(T, T) -> T>(a: &[T], b: &[T], dst: &mut [T], f: F) {
    for ((o, &x), &y) in dst.iter_mut().zip(a).zip(b) {
        *o = f(x, y);
    }
}

/// a[i] = f(a[i], b[i]) over the shorter of the two, at the CPU's vector width.
#[multiversion(targets("x86_64+avx512f+avx512vl+avx512bw+avx512dq+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
pub fn zip_in_place<T: Copy, F: Fn(T, T) -> T>(a: &mut [T], b: &[T], f: F) {
    for (x, &y) in a.iter_mut().zip(b) {
        *x = f(*x, y);
    }
}
