//! Seeded random tensors. An `Rng` is a (seed, counter) pair: each draw takes the next block of
//! counters, so the same seed gives the same tensors on every backend and thread count.

use crate::backend::Distribution;
use crate::device::Device;
use crate::dtype::DType;
use crate::error::Result;
use crate::layout::{checked_numel, Layout};
use crate::rng::derive_seed;
use crate::tensor::Tensor;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rng {
    seed: u64,
    counter: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng { seed, counter: 0 }
    }

    /// An independent generator for a sub-task (layer i, ensemble member m), so adding draws
    /// in one place does not shift the numbers drawn in another.
    pub fn fork(&self, stream: u64) -> Rng {
        Rng::new(derive_seed(self.seed, stream))
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// How many values were drawn so far (checkpoints store it to resume exactly).
    pub fn counter(&self) -> u64 {
        self.counter
    }

    pub fn set_counter(&mut self, counter: u64) {
        self.counter = counter;
    }

    pub fn sample(&mut self, dist: Distribution, shape: &[usize], dtype: DType, device: &Device) -> Result<Tensor> {
        let n = checked_numel("Rng::sample", shape)?;
        let storage = device.backend().random(dist, self.seed, self.counter, n, dtype)?;
        self.counter = self.counter.wrapping_add(n as u64);
        Tensor::from_storage(storage, Layout::contiguous(shape), device)
    }

    pub fn normal(&mut self, shape: &[usize], dtype: DType, device: &Device) -> Result<Tensor> {
        self.sample(Distribution::Normal { mean: 0.0, std: 1.0 }, shape, dtype, device)
    }

    pub fn uniform(&mut self, lo: f64, hi: f64, shape: &[usize], dtype: DType, device: &Device) -> Result<Tensor> {
        self.sample(Distribution::Uniform { lo, hi }, shape, dtype, device)
    }

    pub fn rademacher(&mut self, shape: &[usize], dtype: DType, device: &Device) -> Result<Tensor> {
        self.sample(Distribution::Rademacher, shape, dtype, device)
    }

    /// A permutation of 0..n (Fisher-Yates driven by this stream), for shuffling minibatches.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let w = crate::rng::words(self.seed, self.counter);
            self.counter = self.counter.wrapping_add(1);
            let r = (u64::from(w[0]) << 32) | u64::from(w[1]);
            p.swap(i, (r % (i as u64 + 1)) as usize);
        }
        p
    }
}
