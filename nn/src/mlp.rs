//! A multi-layer perceptron built from widths, the workhorse of both studies.

use crate::activation::Activation;
use crate::dropout::Dropout;
use crate::linear::{Init, Linear};
use crate::module::{prefixed, Module, Param};
use autodiff::{DType, Device, Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// Everything that defines an MLP's architecture; stored in checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MlpSpec {
    pub inputs: usize,
    pub hidden: Vec<usize>,
    pub outputs: usize,
    pub activation: Activation,
    /// Applied to the output layer (Identity for a regression head).
    pub output_activation: Activation,
    pub init: Init,
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

    /// Builds the network with weights drawn from `seed`.
    pub fn build(&self, dtype: DType, dev: &Device, seed: u64) -> Result<Mlp> {
        if self.inputs == 0 || self.outputs == 0 || self.hidden.contains(&0) {
            return Err(Error::Invalid { op: "Mlp", msg: format!("layer widths must be positive: {self:?}") });
        }
        let rng = Rng::new(seed);
        let widths: Vec<usize> =
            std::iter::once(self.inputs).chain(self.hidden.iter().copied()).chain([self.outputs]).collect();
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| Linear::new(w[0], w[1], self.init, dtype, dev, &mut rng.fork(i as u64)))
            .collect::<Result<Vec<_>>>()?;
        let dropout = if self.dropout > 0.0 { Some(Dropout::new(self.dropout, seed ^ 0xD0D0)?) } else { None };
        Ok(Mlp { spec: self.clone(), layers, dropout })
    }
}

pub struct Mlp {
    pub spec: MlpSpec,
    pub layers: Vec<Linear>,
    dropout: Option<Dropout>,
}

impl Mlp {
    /// Shorthand for `MlpSpec::new(..).activation(a).build(..)`.
    pub fn new(
        inputs: usize,
        hidden: &[usize],
        outputs: usize,
        activation: Activation,
        dev: &Device,
        seed: u64,
    ) -> Result<Mlp> {
        MlpSpec::new(inputs, hidden, outputs).activation(activation).build(DType::F32, dev, seed)
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i < last {
                h = self.spec.activation.apply(&h)?;
                if let Some(d) = &self.dropout {
                    h = d.forward(&h)?;
                }
            }
        }
        self.spec.output_activation.apply(&h)
    }

    fn params(&self) -> Vec<Param> {
        self.layers.iter().enumerate().flat_map(|(i, l)| prefixed(&format!("layers.{i}"), l.params())).collect()
    }

    fn set_training(&self, on: bool) {
        if let Some(d) = &self.dropout {
            d.set_training(on);
        }
    }

    fn architecture(&self) -> String {
        serde_json::to_string(&self.spec).unwrap_or_else(|_| format!("{:?}", self.spec))
    }
}
