//! The fixed mixing of the coordinates before each coupling: a seeded permutation, or a seeded
//! rotation. Both are volume-preserving (|det| = 1, so they add nothing to ln|det J|) and
//! rebuilt exactly from the description's seed, so a checkpoint stores neither.
//!
//! The rotation is the Q of a Gaussian matrix's QR decomposition, computed by Gram-Schmidt in
//! f64 (each column orthogonalised twice, which brings it to machine precision) from the
//! counter-based normal stream: the same seed gives the same matrix on every backend. With the
//! diagonal of R positive, Q is Haar-distributed, a uniformly random rotation or reflection.

use crate::spec::Mixing;
use autodiff::rng::{normal_f64, words};
use autodiff::{DType, Device, Result, Rng, Tensor};

/// The permutation of block `index`: a Fisher-Yates shuffle of the seeded stream, so the
/// description (the seed) rebuilds it exactly; nn/tests/flow pins the result.
pub fn block_permutation(seed: u64, index: usize, dims: usize) -> Vec<usize> {
    Rng::new(seed).fork(index as u64).permutation(dims)
}

/// The stream of block `index`'s rotation, apart from its permutation's.
const ROTATION_STREAM: u64 = 0x0507;

/// The rotation of block `index`, row-major [dims, dims] with orthonormal columns: a block
/// maps its input x to x Q. nn/tests/flow checks QᵀQ = 1 and pins an element.
pub fn block_rotation(seed: u64, index: usize, dims: usize) -> Vec<f64> {
    let stream = Rng::new(seed).fork(index as u64).fork(ROTATION_STREAM).seed();
    let gaussian = |i: usize, j: usize| normal_f64(words(stream, (i * dims + j) as u64));
    let mut columns: Vec<Vec<f64>> = (0..dims).map(|j| (0..dims).map(|i| gaussian(i, j)).collect()).collect();
    for j in 0..dims {
        for _ in 0..2 {
            for k in 0..j {
                let dot: f64 = columns[j].iter().zip(&columns[k]).map(|(a, b)| a * b).sum();
                let previous = columns[k].clone();
                columns[j].iter_mut().zip(&previous).for_each(|(a, b)| *a -= dot * b);
            }
        }
        let norm = columns[j].iter().map(|a| a * a).sum::<f64>().sqrt();
        columns[j].iter_mut().for_each(|a| *a /= norm);
    }
    (0..dims).flat_map(|i| columns.iter().map(move |c| c[i]).collect::<Vec<_>>()).collect()
}

/// One block's mixing, ready to apply.
pub(super) enum BlockMixing {
    /// Column j of the mixed input is column `forward[j]` of the block's input.
    Permute { forward: Vec<usize>, inverse: Vec<usize> },
    /// x -> x Q and back by Qᵀ, with Q as `host` holds it (f64, row-major).
    Rotate { q: Tensor, q_t: Tensor, host: Vec<f64> },
}

impl BlockMixing {
    pub(super) fn new(
        mixing: Mixing,
        seed: u64,
        index: usize,
        dims: usize,
        dtype: DType,
        dev: &Device,
    ) -> Result<Self> {
        Ok(match mixing {
            Mixing::Permutation => {
                let forward = block_permutation(seed, index, dims);
                let mut inverse = vec![0; dims];
                for (j, &p) in forward.iter().enumerate() {
                    inverse[p] = j;
                }
                BlockMixing::Permute { forward, inverse }
            }
            Mixing::Rotation => {
                let host = block_rotation(seed, index, dims);
                let q = Tensor::from_f64s(&host, &[dims, dims], dtype, dev)?;
                let transposed: Vec<f64> = (0..dims * dims).map(|e| host[(e % dims) * dims + e / dims]).collect();
                let q_t = Tensor::from_f64s(&transposed, &[dims, dims], dtype, dev)?;
                BlockMixing::Rotate { q, q_t, host }
            }
        })
    }

    pub(super) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            BlockMixing::Permute { forward, .. } => x.index_select(1, forward),
            BlockMixing::Rotate { q, .. } => x.matmul(q),
        }
    }

    pub(super) fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        match self {
            BlockMixing::Permute { inverse, .. } => y.index_select(1, inverse),
            BlockMixing::Rotate { q_t, .. } => y.matmul(q_t),
        }
    }

    /// The matrix M [dims, dims] (row-major) of the mixing x -> x M: a permutation matrix or Q.
    pub(super) fn matrix(&self) -> Vec<f64> {
        match self {
            BlockMixing::Permute { forward, .. } => {
                let dims = forward.len();
                let mut m = vec![0.0; dims * dims];
                for (j, &p) in forward.iter().enumerate() {
                    m[p * dims + j] = 1.0;
                }
                m
            }
            BlockMixing::Rotate { host, .. } => host.clone(),
        }
    }

    /// The permutation, for a permuting block.
    pub(super) fn permutation(&self) -> Option<&[usize]> {
        match self {
            BlockMixing::Permute { forward, .. } => Some(forward),
            BlockMixing::Rotate { .. } => None,
        }
    }
}
