//! How the weights and biases of a dense layer start: values of an enum, so that an architecture
//! that names its initialisation can be stored, compared and printed.

use autodiff::{DType, Device, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// Weight initialisations by fan-in/fan-out, all drawn from a seeded `Rng`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Init {
    /// U(-1/sqrt(fan_in), 1/sqrt(fan_in)): PyTorch's default for `nn.Linear` (Kaiming uniform
    /// with a = sqrt(5)), also used for the bias.
    KaimingUniform,
    /// N(0, 2/fan_in): He initialisation for ReLU networks.
    KaimingNormal,
    /// U(-a, a), a = sqrt(6/(fan_in + fan_out)): Glorot, for tanh and sigmoid networks.
    XavierUniform,
    /// N(0, 1/fan_in): the papers' `VBLinear` mean initialisation.
    NormalFanIn,
}

impl Init {
    /// A weight of `shape` (whose last two axes are [fan_in, fan_out]).
    pub fn weight_shaped(&self, shape: &[usize], dtype: DType, dev: &Device, rng: &mut Rng) -> Result<Tensor> {
        let r = shape.len();
        let (fan_in, fan_out) = (shape[r - 2], shape[r - 1]);
        let fi = fan_in.max(1) as f64;
        match self {
            Init::KaimingUniform => {
                let a = 1.0 / fi.sqrt();
                rng.uniform(-a, a, shape, dtype, dev)
            }
            Init::KaimingNormal => rng.normal(shape, dtype, dev)?.mul_scalar((2.0 / fi).sqrt()),
            Init::XavierUniform => {
                let a = (6.0 / (fi + fan_out as f64)).sqrt();
                rng.uniform(-a, a, shape, dtype, dev)
            }
            Init::NormalFanIn => rng.normal(shape, dtype, dev)?.mul_scalar(1.0 / fi.sqrt()),
        }
    }

    /// A [fan_in, fan_out] weight matrix.
    pub fn weight(&self, fan_in: usize, fan_out: usize, dtype: DType, dev: &Device, rng: &mut Rng) -> Result<Tensor> {
        self.weight_shaped(&[fan_in, fan_out], dtype, dev, rng)
    }

    /// The bias that goes with this initialisation: uniform like the weight for Kaiming
    /// uniform (PyTorch's `nn.Linear`), zero otherwise (the papers' layers).
    pub fn bias(&self, fan_in: usize, shape: &[usize], dtype: DType, dev: &Device, rng: &mut Rng) -> Result<Tensor> {
        match self {
            Init::KaimingUniform => {
                let a = 1.0 / (fan_in.max(1) as f64).sqrt();
                rng.uniform(-a, a, shape, dtype, dev)
            }
            _ => Tensor::zeros(shape, dtype, dev),
        }
    }
}
