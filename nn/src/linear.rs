//! The dense layer y = x W + b, with W stored as [in, out] so the forward product needs no
//! transpose and the weight gradient x^T g comes out contiguous.

use crate::activation::Activation;
pub use crate::init::Init;
use crate::module::{Mode, Module, Param, Sampling};
use crate::spec::{ModelKind, ModelSpec};
use crate::stack::Layer;
use autodiff::{DType, Device, Error, Result, Rng, Tensor, Var};

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

    fn forward_activated(&self, x: &Tensor, _mode: Mode, act: Activation) -> Result<Tensor> {
        x.dense(&self.weight.tensor(), self.bias.as_ref().map(|b| b.tensor()).as_ref(), act.dense())
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
