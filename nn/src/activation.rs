//! Activations as values, so an architecture can be stored, compared and printed.

use autodiff::{Result, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Activation {
    Identity,
    Relu,
    LeakyRelu(f64),
    Tanh,
    Sigmoid,
    /// x * sigmoid(x), also called swish.
    Silu,
    /// `scale * x * sigmoid(x)`: the DNN calibration baseline uses scale 2.
    ScaledSwish(f64),
    Softplus,
    /// `scale * (tanh(x) + 1)`, the shifted tanh of the papers' code: range (0, 2 scale).
    /// The BNN calibration uses scale 3 between layers, the DNN baseline scale 2 on its output.
    TanhPlusOne(f64),
}

impl Activation {
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        match *self {
            Activation::Identity => Ok(x.clone()),
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(s) => x.leaky_relu(s),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Silu => x.silu(),
            Activation::ScaledSwish(s) => x.silu()?.mul_scalar(s),
            Activation::Softplus => x.softplus(),
            Activation::TanhPlusOne(s) => x.tanh()?.affine(s, s),
        }
    }
}
