//! The dense layer y = x W + b, with W stored as [in, out] so the forward product needs no
//! transpose and the weight gradient x^T g comes out contiguous.

use crate::model::{ModelKind, ModelSpec};
use crate::module::{Mode, Module, Param, Sampling};
use crate::stack::Layer;
use autodiff::{DType, Device, Error, Result, Rng, Tensor, Var};
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

pub struct Linear {
    pub weight: Var,
    pub bias: Option<Var>,
}

impl Linear {
    /// A layer with seeded weights; the bias follows [`Init::bias`].
    pub fn new(fan_in: usize, fan_out: usize, init: Init, dtype: DType, dev: &Device, rng: &mut Rng) -> Result<Self> {
        let weight = Var::new(&init.weight(fan_in, fan_out, dtype, dev, rng)?)?;
        let bias = init.bias(fan_in, &[fan_out], dtype, dev, rng)?;
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

impl Layer for Linear {
    fn check(spec: &ModelSpec) -> Result<()> {
        match spec.kind {
            ModelKind::Deterministic => Ok(()),
            other => {
                Err(Error::Invalid { op: "Mlp", msg: format!("a deterministic MLP cannot be built as {other:?}") })
            }
        }
    }

    fn build(
        index: usize,
        fan_in: usize,
        fan_out: usize,
        spec: &ModelSpec,
        dtype: DType,
        dev: &Device,
        root: &Rng,
    ) -> Result<Self> {
        Linear::new(fan_in, fan_out, spec.mlp.init, dtype, dev, &mut root.fork(index as u64))
    }

    fn forward(&self, x: &Tensor, _mode: Mode) -> Result<Tensor> {
        Module::forward(self, x)
    }

    fn params(&self) -> Vec<Param> {
        Module::params(self)
    }

    fn sampling(_spec: &ModelSpec) -> Sampling {
        Sampling::Fixed
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
