//! Activations as values, so an architecture can be stored, compared and printed.

use autodiff::{ActivationFn, DenseActivation, Result, Tensor};
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

/// The largest parameter (slope or scale) an activation may have. Real networks use slopes of
/// 0.01 to 1 and scales of a few; beyond this a stored architecture is damage, and its outputs
/// would overflow f32 after a layer or two.
pub const MAX_PARAMETER: f64 = 1e6;

impl Activation {
    /// The activation's parameter (a slope or a scale), when it has one.
    pub fn parameter(&self) -> Option<f64> {
        match *self {
            Activation::LeakyRelu(s) | Activation::ScaledSwish(s) | Activation::TanhPlusOne(s) => Some(s),
            _ => None,
        }
    }

    /// Refuses a parameter that is not finite or larger than [`MAX_PARAMETER`] in size.
    pub fn validate(&self) -> std::result::Result<(), String> {
        match self.parameter() {
            Some(p) if !(p.is_finite() && p.abs() <= MAX_PARAMETER) => {
                Err(format!("its parameter must be finite and at most {MAX_PARAMETER:e} in size"))
            }
            _ => Ok(()),
        }
    }

    /// The same function as the output pass of a dense op ([`Tensor::dense`]): one op whose
    /// value and gradient are the bits [`Activation::apply`] computes after a separate product.
    pub fn dense(&self) -> DenseActivation {
        match *self {
            Activation::Identity => DenseActivation::IDENTITY,
            Activation::Relu => DenseActivation::new(ActivationFn::Relu),
            Activation::LeakyRelu(s) => DenseActivation::new(ActivationFn::LeakyRelu(s)),
            Activation::Tanh => DenseActivation::new(ActivationFn::Tanh),
            Activation::Sigmoid => DenseActivation::new(ActivationFn::Sigmoid),
            Activation::Silu => DenseActivation::new(ActivationFn::Silu),
            Activation::ScaledSwish(s) => DenseActivation::with_affine(ActivationFn::Silu, s, 0.0),
            Activation::Softplus => DenseActivation::new(ActivationFn::Softplus),
            Activation::TanhPlusOne(s) => DenseActivation::with_affine(ActivationFn::Tanh, s, s),
        }
    }

    /// The activation as separate ops (the reference the fused dense op is tested against).
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
