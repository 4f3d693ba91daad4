//! The counter-based random generator shared by every backend: Philox4x32-10 (Salmon et al.,
//! "Parallel random numbers: as easy as 1, 2, 3", SC 2011). Element i of a draw depends only on
//! (seed, counter + i), so a CPU run and a GPU run draw the same noise, in any order, on any
//! number of threads. Backends call these functions (or port them) for their random fills.

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

    #[test]
    fn philox_known_answer() {
        // Known-answer vectors from the Random123 distribution (kat_vectors, philox4x32_10).
        assert_eq!(philox4x32([0, 0, 0, 0], [0, 0]), [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]);
        assert_eq!(
            philox4x32([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32([0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344], [0xa409_3822, 0x299f_31d0]),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn uniforms_are_inside_the_open_interval() {
        assert!(unit_f32(0) > 0.0 && unit_f32(u32::MAX) < 1.0);
        assert!(unit_f64(0, 0) > 0.0 && unit_f64(u32::MAX, u32::MAX) < 1.0);
    }
}
