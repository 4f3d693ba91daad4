//! The widths and activations of a multi-layer perceptron, the workhorse of both studies, and
//! the deterministic MLP built from them.

use crate::activation::Activation;
use crate::linear::{Init, Linear};
use crate::model::{Head, ModelKind, ModelSpec};
use crate::stack::Stack;
use autodiff::{DType, Device, Error, Result};
use serde::{Deserialize, Serialize};

/// The layer widths and functions of an MLP. Which kind of layer it is built from (plain,
/// variational, an ensemble) and what its outputs mean are the [`ModelSpec`]'s business.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpSpec {
    pub inputs: usize,
    pub hidden: Vec<usize>,
    pub outputs: usize,
    pub activation: Activation,
    /// Applied to the output layer (Identity for a regression head).
    pub output_activation: Activation,
    /// How weights (the means, for variational layers) and biases start.
    pub init: Init,
    /// Dropout after every hidden activation, in training only.
    pub dropout: f64,
}

impl MlpSpec {
    pub fn new(inputs: usize, hidden: &[usize], outputs: usize) -> Self {
        MlpSpec {
            inputs,
            hidden: hidden.to_vec(),
            outputs,
            activation: Activation::Relu,
            output_activation: Activation::Identity,
            init: Init::KaimingUniform,
            dropout: 0.0,
        }
    }
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }
    pub fn output_activation(mut self, a: Activation) -> Self {
        self.output_activation = a;
        self
    }
    pub fn init(mut self, init: Init) -> Self {
        self.init = init;
        self
    }
    pub fn dropout(mut self, p: f64) -> Self {
        self.dropout = p;
        self
    }

    /// inputs, hidden..., outputs.
    pub fn widths(&self) -> Vec<usize> {
        std::iter::once(self.inputs).chain(self.hidden.iter().copied()).chain([self.outputs]).collect()
    }

    pub fn validate(&self) -> Result<()> {
        if self.inputs == 0 || self.outputs == 0 || self.hidden.contains(&0) {
            return Err(Error::Invalid {
                op: "MlpSpec",
                msg: format!("layer widths must be positive: {:?}", self.widths()),
            });
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(Error::Invalid {
                op: "MlpSpec",
                msg: format!("dropout probability {} is not in [0, 1)", self.dropout),
            });
        }
        Ok(())
    }

    /// Builds the deterministic network with weights drawn from `seed`; two outputs are read as
    /// a (mean, log variance) head, any other number as point predictions.
    pub fn build(&self, dtype: DType, dev: &Device, seed: u64) -> Result<Mlp> {
        let spec = ModelSpec::new(self.clone(), ModelKind::Deterministic, Head::infer(self.outputs));
        Mlp::new(&spec, dtype, dev, seed)
    }
}

/// A deterministic MLP.
pub type Mlp = Stack<Linear>;
