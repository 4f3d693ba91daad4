//! The counter-based random generator shared by every backend: Philox4x32-10 (Salmon et al.,
//! "Parallel random numbers: as easy as 1, 2, 3", SC 2011). Element i of a draw depends only on
//! (seed, counter + i), so a CPU run and a GPU run draw the same noise, in any order, on any
//! number of threads. Backends call these functions (or port them) for their random fills.

mod boxmuller;
pub use boxmuller::ln_f64_coefficients;
mod fill;

use crate::backend::Distribution;
use boxmuller::{ln_f32, ln_f64, sin_cos_turns, sin_cos_turns_f64};

const M0: u32 = 0xD251_1F53;
const M1: u32 = 0xCD9E_8D57;
const W0: u32 = 0x9E37_79B9;
const W1: u32 = 0xBB67_AE85;

fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

/// Ten Philox rounds of a 128-bit counter under a 64-bit key.
pub fn philox4x32(counter: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (mut c, mut k) = (counter, key);
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The four random words of element `index` of the stream `seed`.
pub fn words(seed: u64, index: u64) -> [u32; 4] {
    philox4x32([index as u32, (index >> 32) as u32, 0, 0], [seed as u32, (seed >> 32) as u32])
}

/// Uniform on (0, 1) from 23 bits, as a GPU computes it in f32. (With 24 bits the largest
/// value, (2^24 - 0.5) / 2^24, is not representable in f32 and rounds up to 1.0.)
pub fn unit_f32(w: u32) -> f32 {
    ((w >> 9) as f32 + 0.5) * (1.0 / 8_388_608.0)
}

/// Uniform on (0, 1) from 52 bits (one fewer than the mantissa, for the same reason as f32).
pub fn unit_f64(hi: u32, lo: u32) -> f64 {
    let bits = (u64::from(hi) << 20) | u64::from(lo >> 12);
    (bits as f64 + 0.5) * (1.0 / 4_503_599_627_370_496.0)
}

/// A standard normal by Box-Muller, in f32 arithmetic (what the GPU does).
pub fn normal_f32(w: [u32; 4]) -> f32 {
    let (u1, u2) = (unit_f32(w[0]), unit_f32(w[1]));
    (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
}

/// A standard normal by Box-Muller, in f64.
pub fn normal_f64(w: [u32; 4]) -> f64 {
    let (u1, u2) = (unit_f64(w[0], w[1]), unit_f64(w[2], w[3]));
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Four f32 draws of `dist` from one Philox block.
///
/// The element mapping every backend follows: element `a` of stream `seed` comes from block
/// `a / 4`, lane `a % 4`. Uniforms use word `lane`; Rademacher signs use its top bit; normals
/// come in Box-Muller pairs, lanes 0 and 1 from words (0, 1) as r cos t and r sin t, lanes 2
/// and 3 from words (2, 3). One block thus serves four elements with two logarithms.
pub fn block_f32(dist: Distribution, w: [u32; 4]) -> [f32; 4] {
    match dist {
        Distribution::Uniform { lo, hi } => {
            let (lo, span) = (lo as f32, (hi - lo) as f32);
            w.map(|x| lo + span * unit_f32(x))
        }
        Distribution::Rademacher => w.map(|x| if x >> 31 == 1 { 1.0 } else { -1.0 }),
        Distribution::Normal { mean, std } => {
            let (mean, std) = (mean as f32, std as f32);
            let pair = |a: u32, b: u32| {
                let r = (-2.0 * ln_f32(unit_f32(a))).sqrt();
                let (s, c) = sin_cos_turns(unit_f32(b));
                (mean + std * r * c, mean + std * r * s)
            };
            let ((z0, z1), (z2, z3)) = (pair(w[0], w[1]), pair(w[2], w[3]));
            [z0, z1, z2, z3]
        }
    }
}

/// The same four draws as [`block_f32`], computed in f64 from 32-bit uniforms (w + 0.5) / 2^32,
/// so f64 and f32 tensors drawn from one stream agree to f32 precision (a gradient check in f64
/// sees the noise that training in f32 sees). ln and (sin, cos) are the branch-free f64
/// functions of `boxmuller.rs` (within 2 ulp and 2e-16 of libm), so that fills vectorise.
pub fn block_f64(dist: Distribution, w: [u32; 4]) -> [f64; 4] {
    let unit = |x: u32| (f64::from(x) + 0.5) * (1.0 / 4_294_967_296.0);
    match dist {
        Distribution::Uniform { lo, hi } => w.map(|x| lo + (hi - lo) * unit(x)),
        Distribution::Rademacher => w.map(|x| if x >> 31 == 1 { 1.0 } else { -1.0 }),
        Distribution::Normal { mean, std } => {
            let pair = |a: u32, b: u32| {
                let r = (-2.0 * ln_f64(unit(a))).sqrt();
                let (s, c) = sin_cos_turns_f64(unit(b));
                (mean + std * r * c, mean + std * r * s)
            };
            let ((z0, z1), (z2, z3)) = (pair(w[0], w[1]), pair(w[2], w[3]));
            [z0, z1, z2, z3]
        }
    }
}

/// Fills `out` with elements `counter..counter + out.len()` of stream `seed`: the values of
/// [`block_f32`], element a from block a / 4, lane a % 4, however a caller splits the range.
/// Computed sixteen blocks at a time at the CPU's vector width, chosen at run time (fill.rs).
pub fn fill_f32(dist: Distribution, seed: u64, counter: u64, out: &mut [f32]) {
    fill::fill_f32(dist, seed, counter, out);
}

/// The f64 counterpart of [`fill_f32`], with the values of [`block_f64`].
pub fn fill_f64(dist: Distribution, seed: u64, counter: u64, out: &mut [f64]) {
    fill::fill_f64(dist, seed, counter, out);
}

/// Mixes a seed and a stream number into an independent seed (SplitMix64's finaliser).
pub fn derive_seed(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(0x6A09_E667_F3BC_C909);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The grouped, vectorised fills give exactly the block-at-a-time definition, for every
    /// distribution, both types, ranges that start and end inside groups, and counters across
    /// the 2^32 carry.
    #[test]
    fn fills_equal_the_block_at_a_time_definition() {
        let dists = [
            Distribution::Normal { mean: 0.5, std: 2.0 },
            Distribution::Uniform { lo: -1.0, hi: 3.0 },
            Distribution::Rademacher,
        ];
        for dist in dists {
            for (seed, counter, len) in [(3u64, 13u64, 75usize), (7, 0, 64), (9, u64::from(u32::MAX) * 4 - 70, 300)] {
                let mut v = vec![0f32; len];
                fill_f32(dist, seed, counter, &mut v);
                let mut d = vec![0f64; len];
                fill_f64(dist, seed, counter, &mut d);
                for i in 0..len {
                    let a = counter + i as u64;
                    let (block, lane) = (words(seed, a / 4), (a % 4) as usize);
                    assert_eq!(v[i].to_bits(), block_f32(dist, block)[lane].to_bits(), "{dist:?} f32 element {a}");
                    assert_eq!(d[i].to_bits(), block_f64(dist, block)[lane].to_bits(), "{dist:?} f64 element {a}");
                }
            }
        }
    }

    #[test]
    fn philox_known_answer() {
        // Known-answer vectors from the Random123 distribution (kat_vectors, philox4x32_10).
        assert_eq!(philox4x32([0, 0, 0, 0], [0, 0]), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
        assert_eq!(philox4x32([u32::MAX; 4], [u32::MAX; 2]), [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]);
        assert_eq!(
            philox4x32([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0]),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn fills_do_not_depend_on_how_the_range_is_split() {
        let normal = Distribution::Normal { mean: 0.0, std: 1.0 };
        let mut whole = vec![0f32; 23];
        fill_f32(normal, 9, 5, &mut whole);
        let mut parts = vec![0f32; 23];
        let (a, b) = parts.split_at_mut(6);
        fill_f32(normal, 9, 5, a);
        fill_f32(normal, 9, 11, b);
        assert_eq!(whole, parts);
        let mut whole = vec![0f64; 9];
        fill_f64(normal, 9, 3, &mut whole);
        let mut tail = vec![0f64; 4];
        fill_f64(normal, 9, 8, &mut tail);
        assert_eq!(&whole[5..], &tail[..]);
        // f32 and f64 draws of one stream agree to f32 precision.
        let mut single = vec![0f32; 9];
        fill_f32(normal, 9, 3, &mut single);
        assert!(whole.iter().zip(&single).all(|(d, &s)| (d - f64::from(s)).abs() < 1e-5 * (1.0 + d.abs())));
    }

    #[test]
    fn draws_have_the_right_moments() {
        let n = 200_000;
        let mut z = vec![0f32; n];
        fill_f32(Distribution::Normal { mean: 1.0, std: 2.0 }, 1, 0, &mut z);
        let mean = z.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
        let var = z.iter().map(|&x| (f64::from(x) - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((mean - 1.0).abs() < 0.02 && (var.sqrt() - 2.0).abs() < 0.02, "{mean} {var}");
        // Neighbouring lanes share a Box-Muller pair: they must still be uncorrelated.
        let c = z.chunks(2).map(|p| f64::from(p[0] - 1.0) * f64::from(p[1] - 1.0)).sum::<f64>() / (n / 2) as f64;
        assert!(c.abs() < 0.05, "lane correlation {c}");
        let mut s = vec![0f32; n];
        fill_f32(Distribution::Rademacher, 2, 0, &mut s);
        assert!(s.iter().all(|&x| x == 1.0 || x == -1.0));
        assert!(s.iter().map(|&x| f64::from(x)).sum::<f64>().abs() < 2000.0);
    }

    #[test]
    fn uniforms_are_inside_the_open_interval() {
        assert!(unit_f32(0) > 0.0 && unit_f32(u32::MAX) < 1.0);
        assert!(unit_f64(0, 0) > 0.0 && unit_f64(u32::MAX, u32::MAX) < 1.0);
    }
}
