//! The activations a dense op applies in its output pass (`Tensor::dense`), as values a backend
//! can dispatch on, and the composition of existing kernels that every backend gets by default.
//!
//! Why the derivative reads what it reads: relu, leaky relu (slope >= 0), tanh and sigmoid have
//! derivatives that are functions of their value f(z), so the op keeps f(z), which is the layer's
//! output itself when no affine follows; silu and softplus need z. Every formula here is the
//! exact sequence of operations the unfused ops' backward rules run (elementwise.rs), in the
//! same order, so the fused layer computes the same bits as `act(x W + b)` written out.

use crate::backend::{Backend, BinaryOp, Storage, UnaryOp};
use crate::error::Result;
use crate::layout::Layout;

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

fn unary<B: Backend + ?Sized>(b: &B, op: UnaryOp, x: &Storage, shape: &[usize]) -> Result<Storage> {
    b.unary(op, x, &Layout::contiguous(shape))
}

fn binary<B: Backend + ?Sized>(b: &B, op: BinaryOp, x: &Storage, y: &Storage, shape: &[usize]) -> Result<Storage> {
    let l = Layout::contiguous(shape);
    b.binary(op, x, &l, y, &l)
}

/// f(z) from existing kernels; `z` is contiguous over `shape`.
fn value<B: Backend + ?Sized>(b: &B, f: ActivationFn, z: &Storage, shape: &[usize]) -> Result<Storage> {
    match f {
        ActivationFn::Identity => Ok(z.clone()),
        ActivationFn::Relu => unary(b, UnaryOp::Relu, z, shape),
        ActivationFn::LeakyRelu(s) => unary(b, UnaryOp::LeakyRelu(s), z, shape),
        ActivationFn::Tanh => unary(b, UnaryOp::Tanh, z, shape),
        ActivationFn::Sigmoid => unary(b, UnaryOp::Sigmoid, z, shape),
        ActivationFn::Softplus => unary(b, UnaryOp::Softplus, z, shape),
        ActivationFn::Silu => binary(b, BinaryOp::Mul, z, &unary(b, UnaryOp::Sigmoid, z, shape)?, shape),
    }
}

/// `Backend::dense` as a product followed by element-wise kernels: (y, the saved tensor when it
/// is not y).
#[allow(clippy::too_many_arguments)]
pub(crate) fn compose_dense<B: Backend + ?Sized>(
    b: &B,
    x: &Storage,
    lx: &Layout,
    w: &Storage,
    lw: &Layout,
    bias: Option<(&Storage, &Layout)>,
    act: DenseActivation,
    shape: &[usize],
) -> Result<(Storage, Option<Storage>)> {
    let z = match bias {
        Some((c, lc)) => b.matmul_add(x, lx, w, lw, c, lc)?,
        None => b.matmul(x, lx, w, lw)?,
    };
    compose_activation(b, act, z, shape)
}

/// act(z) from existing kernels, `z` contiguous over `shape`: (y, the saved tensor when it is
/// not y).
pub(crate) fn compose_activation<B: Backend + ?Sized>(
    b: &B,
    act: DenseActivation,
    z: Storage,
    shape: &[usize],
) -> Result<(Storage, Option<Storage>)> {
    let v = value(b, act.f, &z, shape)?;
    let y = match act.affine {
        Some((mul, add)) => unary(b, UnaryOp::Affine { mul, add }, &v, shape)?,
        None => v.clone(),
    };
    Ok(match act.saved() {
        Saved::Nothing | Saved::Output => (y, None),
        Saved::Value => (y, Some(v)),
        Saved::PreActivation => (y, Some(z)),
    })
}

/// `Backend::dense_grad` from existing kernels: dL/dz from dL/dy `g` and the saved tensor `s`
/// (both contiguous over `shape`).
pub(crate) fn compose_dense_grad<B: Backend + ?Sized>(
    b: &B,
    act: DenseActivation,
    g: &Storage,
    s: Option<&Storage>,
    shape: &[usize],
) -> Result<Storage> {
    let g = match act.affine {
        Some((mul, _)) => unary(b, UnaryOp::Affine { mul, add: 0.0 }, g, shape)?,
        None => g.clone(),
    };
    let s = match (act.f, s) {
        (ActivationFn::Identity, _) => return Ok(g),
        (_, Some(s)) => s,
        (f, None) => return Err(crate::Error::Backend(format!("dense_grad: {f:?} needs its saved tensor"))),
    };
    let mul = |x: &Storage, y: &Storage| binary(b, BinaryOp::Mul, x, y, shape);
    let affine = |x: &Storage, m: f64, a: f64| unary(b, UnaryOp::Affine { mul: m, add: a }, x, shape);
    match act.f {
        ActivationFn::Identity => Ok(g),
        ActivationFn::Relu => binary(b, BinaryOp::WherePositive, &g, s, shape),
        ActivationFn::LeakyRelu(slope) => mul(&g, &affine(&unary(b, UnaryOp::Step, s, shape)?, 1.0 - slope, slope)?),
        ActivationFn::Tanh => mul(&g, &affine(&unary(b, UnaryOp::Square, s, shape)?, -1.0, 1.0)?),
        ActivationFn::Sigmoid => mul(&g, &mul(s, &affine(s, -1.0, 1.0)?)?),
        ActivationFn::Softplus => mul(&g, &unary(b, UnaryOp::Sigmoid, s, shape)?),
        ActivationFn::Silu => {
            let sig = unary(b, UnaryOp::Sigmoid, s, shape)?;
            let direct = mul(&g, &sig)?;
            let through_sigmoid = mul(&mul(&g, s)?, &mul(&sig, &affine(&sig, -1.0, 1.0)?)?)?;
            binary(b, BinaryOp::Add, &direct, &through_sigmoid, shape)
        }
    }
}
