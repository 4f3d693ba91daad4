//! The dense layer y = x W + b, with W stored as [in, out] so the forward product needs no
//! transpose and the weight gradient x^T g comes out contiguous.

use crate::module::{Module, Param};
use autodiff::{DType, Device, Result, Rng, Tensor, Var};
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
    /// A [fan_in, fan_out] weight matrix.
    pub fn weight(&self, fan_in: usize, fan_out: usize, dtype: DType, dev: &Device, rng: &mut Rng) -> Result<Tensor> {
        let shape = [fan_in, fan_out];
        let fi = fan_in.max(1) as f64;
        match self {
            Init::KaimingUniform => {
                let a = 1.0 / fi.sqrt();
                rng.uniform(-a, a, &shape, dtype, dev)
            }
            Init::KaimingNormal => rng.normal(&shape, dtype, dev)?.mul_scalar((2.0 / fi).sqrt()),
            Init::XavierUniform => {
                let a = (6.0 / (fi + fan_out as f64)).sqrt();
                rng.uniform(-a, a, &shape, dtype, dev)
            }
            Init::NormalFanIn => rng.normal(&shape, dtype, dev)?.mul_scalar(1.0 / fi.sqrt()),
        }
    }
}

pub struct Linear {
    pub weight: Var,
    pub bias: Option<Var>,
}

impl Linear {
    /// A layer with seeded weights; the bias follows PyTorch (uniform for Kaiming-uniform,
    /// zero otherwise).
    pub fn new(fan_in: usize, fan_out: usize, init: Init, dtype: DType, dev: &Device, rng: &mut Rng) -> Result<Self> {
        let weight = Var::new(&init.weight(fan_in, fan_out, dtype, dev, rng)?)?;
        let bias = match init {
            Init::KaimingUniform => {
                let a = 1.0 / (fan_in.max(1) as f64).sqrt();
                rng.uniform(-a, a, &[fan_out], dtype, dev)?
            }
            _ => Tensor::zeros(&[fan_out], dtype, dev)?,
        };
        Ok(Linear { weight, bias: Some(Var::new(&bias)?) })
    }

    pub fn without_bias(mut self) -> Self {
        self.bias = None;
        self
    }

    pub fn fan_in(&self) -> usize {
        self.weight.shape()[0]
    }

    pub fn fan_out(&self) -> usize {
        self.weight.shape()[1]
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.bias {
            Some(b) => x.matmul_add(&self.weight.tensor(), &b.tensor()),
            None => x.matmul(&self.weight.tensor()),
        }
    }

    fn params(&self) -> Vec<Param> {
        let mut p = vec![Param::new("weight", &self.weight)];
        if let Some(b) = &self.bias {
            p.push(Param::new("bias", b));
        }
        p
    }
}
