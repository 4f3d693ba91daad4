//! Random fills sixteen Philox blocks (64 elements) at a time, compiled by `multiversion` for
//! AVX-512, AVX2 and the x86-64 baseline (and NEON on aarch64) and chosen at run time.
//!
//! Why sixteen blocks: Philox's rounds are 32 x 32 -> 64-bit multiplies, which AVX2 does four
//! (`vpmuludq`, ymm) and AVX-512 eight at a time; written lane by lane over arrays of 16
//! counters, LLVM turns them into those instructions in the AVX2 and AVX-512 clones, and the
//! Box-Muller transform (boxmuller.rs) into 8 or 16 f32 lanes. The SSE2 baseline has only a
//! two-lane multiply that LLVM does not use here; its clone keeps the multiplies scalar.
//! The values are those of `block_f32` / `block_f64`, element for element (tests in mod.rs).

use super::boxmuller::{ln_f32, ln_f64, sin_cos_turns, sin_cos_turns_f64};
use super::{unit_f32, Distribution, M0, M1, W0, W1};
use multiversion::multiversion;

/// Blocks per group, and the elements they make.
const BLOCKS: usize = 16;
const PER_GROUP: usize = 4 * BLOCKS;

/// The four words of blocks `first .. first + 16`, word-major: `w[l][j]` is word l of block
/// first + j, exactly as `philox4x32` computes it.
#[inline(always)]
fn philox_group(seed: u64, first: u64) -> [[u32; BLOCKS]; 4] {
    let index = |j: usize| first.wrapping_add(j as u64);
    let mut c: [[u32; BLOCKS]; 4] =
        [std::array::from_fn(|j| index(j) as u32), std::array::from_fn(|j| (index(j) >> 32) as u32), [0; 16], [0; 16]];
    let mut k = [seed as u32, (seed >> 32) as u32];
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let mut next = [[0u32; BLOCKS]; 4];
        for j in 0..BLOCKS {
            let p0 = u64::from(M0) * u64::from(c[0][j]);
            let p1 = u64::from(M1) * u64::from(c[2][j]);
            next[0][j] = (p1 >> 32) as u32 ^ c[1][j] ^ k[0];
            next[1][j] = p1 as u32;
            next[2][j] = (p0 >> 32) as u32 ^ c[3][j] ^ k[1];
            next[3][j] = p0 as u32;
        }
        c = next;
    }
    c
}

/// What a group needs of its element type: the uniform and the Box-Muller functions of that
/// precision (boxmuller.rs), so that one body below serves f32 and f64.
trait Lane: Copy + Default + std::ops::Add<Output = Self> + std::ops::Mul<Output = Self> {
    const ONE: Self;
    fn from_f64(x: f64) -> Self;
    /// A uniform on (0, 1) from one 32-bit word, as `block_f32` / `block_f64` make it.
    fn unit(w: u32) -> Self;
    /// sqrt(-2 ln u): the Box-Muller radius.
    fn radius(u: Self) -> Self;
    fn sin_cos_turns(u: Self) -> (Self, Self);
}

impl Lane for f32 {
    const ONE: f32 = 1.0;
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    #[inline(always)]
    fn unit(w: u32) -> f32 {
        unit_f32(w)
    }
    #[inline(always)]
    fn radius(u: f32) -> f32 {
        (-2.0 * ln_f32(u)).sqrt()
    }
    #[inline(always)]
    fn sin_cos_turns(u: f32) -> (f32, f32) {
        sin_cos_turns(u)
    }
}

/// f64 draws use 32-bit uniforms (w + 0.5) / 2^32, as in `block_f64`.
impl Lane for f64 {
    const ONE: f64 = 1.0;
    fn from_f64(x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn unit(w: u32) -> f64 {
        (f64::from(w) + 0.5) * (1.0 / 4_294_967_296.0)
    }
    #[inline(always)]
    fn radius(u: f64) -> f64 {
        (-2.0 * ln_f64(u)).sqrt()
    }
    #[inline(always)]
    fn sin_cos_turns(u: f64) -> (f64, f64) {
        sin_cos_turns_f64(u)
    }
}

/// The 64 draws of group `g` (blocks 16 g ..), in element order: block j gives elements
/// 4 j .. 4 j + 4, as in `block_f32` / `block_f64`.
#[inline(always)]
fn group<T: Lane>(dist: Distribution, seed: u64, g: u64) -> [T; PER_GROUP] {
    let w = philox_group(seed, g.wrapping_mul(BLOCKS as u64));
    let mut out = [T::default(); PER_GROUP];
    match dist {
        Distribution::Uniform { lo, hi } => {
            let (lo, span) = (T::from_f64(lo), T::from_f64(hi - lo));
            for (i, o) in out.iter_mut().enumerate() {
                *o = lo + span * T::unit(w[i % 4][i / 4]);
            }
        }
        Distribution::Rademacher => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = if w[i % 4][i / 4] >> 31 == 1 { T::ONE } else { T::from_f64(-1.0) };
            }
        }
        Distribution::Normal { mean, std } => {
            let (mean, std) = (T::from_f64(mean), T::from_f64(std));
            // Pair h of block j uses words (2h, 2h + 1) and gives elements 4j + 2h, 4j + 2h + 1.
            for h in 0..2 {
                let (mut zc, mut zs) = ([T::default(); BLOCKS], [T::default(); BLOCKS]);
                for j in 0..BLOCKS {
                    let r = T::radius(T::unit(w[2 * h][j]));
                    let (s, c) = T::sin_cos_turns(T::unit(w[2 * h + 1][j]));
                    zc[j] = mean + std * r * c;
                    zs[j] = mean + std * r * s;
                }
                for j in 0..BLOCKS {
                    out[4 * j + 2 * h] = zc[j];
                    out[4 * j + 2 * h + 1] = zs[j];
                }
            }
        }
    }
    out
}

/// Writes elements `counter ..` of the stream into `out`, group by group; the first and last
/// groups may be partial. Inlined into each clone below, with `group` in it.
#[inline(always)]
fn fill_groups<T: Copy>(out: &mut [T], counter: u64, group: impl Fn(u64) -> [T; PER_GROUP]) {
    let (mut a, mut i) = (counter, 0);
    while i < out.len() {
        let lane = (a % PER_GROUP as u64) as usize;
        let values = group(a / PER_GROUP as u64);
        let take = (PER_GROUP - lane).min(out.len() - i);
        out[i..i + take].copy_from_slice(&values[lane..lane + take]);
        i += take;
        a = a.wrapping_add(take as u64);
    }
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx512bw+avx512dq+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
pub(super) fn fill_f32(dist: Distribution, seed: u64, counter: u64, out: &mut [f32]) {
    fill_groups(out, counter, |g| group::<f32>(dist, seed, g));
}

#[multiversion(targets("x86_64+avx512f+avx512vl+avx512bw+avx512dq+avx2+fma", "x86_64+avx2+fma", "aarch64+neon"))]
pub(super) fn fill_f64(dist: Distribution, seed: u64, counter: u64, out: &mut [f64]) {
    fill_groups(out, counter, |g| group::<f64>(dist, seed, g));
}
