//! The activations a dense op applies in its output pass (`Tensor::dense`), as values a backend
//! can dispatch on. The composition of existing kernels that every backend gets by default is
//! `backend::compose_dense`, beside the trait it serves.
//!
//! Why the derivative reads what it reads: relu, leaky relu (slope >= 0), tanh and sigmoid have
//! derivatives that are functions of their value f(z), so the op keeps f(z), which is the layer's
//! output itself when no affine follows; silu and softplus need z. Every formula here is the
//! exact sequence of operations the unfused ops' backward rules run (elementwise.rs), in the
//! same order, so the fused layer computes the same bits as `act(x W + b)` written out.

/// The element-wise function of a dense op.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ActivationFn {
    Identity,
    Relu,
    /// x where x > 0, slope * x otherwise.
    LeakyRelu(f64),
    Tanh,
    Sigmoid,
    /// x * sigmoid(x).
    Silu,
    Softplus,
}

/// y = f(z), or y = mul * f(z) + add when `affine` is set (a scaled swish, the papers' shifted
/// tanh): the affine is applied in the same pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DenseActivation {
    pub f: ActivationFn,
    pub affine: Option<(f64, f64)>,
}

/// Which tensor the backward of a dense op reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Nothing: the derivative is a constant (identity).
    Nothing,
    /// The op's output y, which equals f(z).
    Output,
    /// f(z), kept beside y because an affine follows it.
    Value,
    /// The pre-activation z.
    PreActivation,
}

impl DenseActivation {
    pub const IDENTITY: DenseActivation = DenseActivation { f: ActivationFn::Identity, affine: None };

    pub fn new(f: ActivationFn) -> Self {
        DenseActivation { f, affine: None }
    }

    /// mul * f(z) + add.
    pub fn with_affine(f: ActivationFn, mul: f64, add: f64) -> Self {
        DenseActivation { f, affine: Some((mul, add)) }
    }

    /// What the backward reads (see the module docs).
    pub fn saved(&self) -> Saved {
        let from_value = match self.f {
            ActivationFn::Identity => return Saved::Nothing,
            ActivationFn::Relu | ActivationFn::Tanh | ActivationFn::Sigmoid => true,
            // f(z) > 0 exactly where z > 0 only for a non-negative slope.
            ActivationFn::LeakyRelu(slope) => slope >= 0.0,
            ActivationFn::Silu | ActivationFn::Softplus => false,
        };
        match (from_value, self.affine) {
            (false, _) => Saved::PreActivation,
            (true, None) => Saved::Output,
            (true, Some(_)) => Saved::Value,
        }
    }
}
