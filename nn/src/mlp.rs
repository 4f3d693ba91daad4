//! The widths and activations of a multi-layer perceptron, the workhorse of both studies, and
//! the deterministic MLP built from them.

use crate::linear::Linear;
use crate::spec::{Head, ModelKind, ModelSpec};
use crate::stack::Stack;
use autodiff::{DType, Device, Result};

pub use crate::spec::MlpSpec;

impl MlpSpec {
    /// Builds the deterministic network with weights drawn from `seed`; two outputs are read as
    /// a (mean, log variance) head, any other number as point predictions.
    pub fn build(&self, dtype: DType, dev: &Device, seed: u64) -> Result<Mlp> {
        let spec = ModelSpec::new(self.clone(), ModelKind::Deterministic, Head::infer(self.outputs));
        Mlp::new(&spec, dtype, dev, seed)
    }
}

/// A deterministic MLP.
pub type Mlp = Stack<Linear>;
