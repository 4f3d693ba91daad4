//! The boundary between the graph and the kernels. A backend owns storage and kernels and
//! nothing else: it never sees the graph, so every backward rule is written once, in this
//! crate, and runs on every device unchanged.
//!
//! Conventions every kernel follows:
//! - inputs come as (storage, layout); layouts may be strided, broadcast (stride 0) or offset;
//! - outputs are new contiguous storages in row-major order of the output shape;
//! - no kernel reads values back to the host (only `to_host` does), so a GPU backend can queue
//!   a whole training step before it waits.

use crate::activation::{ActivationFn, DenseActivation, Saved};
use crate::dtype::{DType, HostData};
use crate::error::Result;
use crate::layout::Layout;
use std::any::Any;
use std::fmt::Debug;
use std::sync::Arc;

/// A backend's buffer. Backends downcast it to their own type through `as_any`.
pub trait BackendStorage: Any + Send + Sync + Debug {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn dtype(&self) -> DType;
    /// Number of elements held (not bytes).
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A shared, immutable handle to a backend buffer.
pub type Storage = Arc<dyn BackendStorage>;

/// Element-wise functions of one tensor. Parameters ride along in the variant so that a
/// scalar never needs a tensor of its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Abs,
    Square,
    Recip,
    Tanh,
    Sigmoid,
    Relu,
    /// Numerically stable log(1 + e^x).
    Softplus,
    /// 1 where x > 0, else 0 (relu's derivative, a mask).
    Step,
    /// sign(x), with sign(0) = 0.
    Sign,
    /// x^p.
    Powf(f64),
    /// a*x + b.
    Affine {
        mul: f64,
        add: f64,
    },
    /// max(x, lo) then min(., hi).
    Clamp {
        lo: f64,
        hi: f64,
    },
    /// x where x > 0, slope*x otherwise.
    LeakyRelu(f64),
}

/// Element-wise functions of two tensors of one shape (broadcasting is resolved before the call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    /// Comparisons produce masks: 1.0 where true, 0.0 where false, in the operands' dtype.
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
    /// a where b > 0, else 0: relu's backward (the gradient passed where the input was
    /// positive) in one pass instead of a mask and a product.
    WherePositive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Max,
    Min,
}

/// Distributions for the counter-based random generator (see `rng`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distribution {
    /// Uniform on [lo, hi).
    Uniform { lo: f64, hi: f64 },
    /// Normal with this mean and standard deviation.
    Normal { mean: f64, std: f64 },
    /// +1 or -1 with equal probability.
    Rademacher,
}

/// Hyper-parameters of one fused Adam/AdamW update.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamParams {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Decoupled (AdamW) weight decay; 0 for plain Adam.
    pub weight_decay: f64,
    /// 1-based step count, for bias correction.
    pub step: u64,
}

impl AdamParams {
    /// The bias corrections (1 − β₁ᵗ, √(1 − β₂ᵗ)) at this step (0 counts as 1), in f64, so every
    /// backend rounds the same numbers. A u64 step count goes to `powi` only while it fits an
    /// i32: cast blindly, 2³¹ steps became a negative exponent, βᵗ infinite, and every weight
    /// NaN; beyond that `powf` (βᵗ is 0 there long before f64 loses the count).
    pub fn bias_corrections(&self) -> (f64, f64) {
        let t = self.step.max(1);
        let power = |beta: f64| match i32::try_from(t) {
            Ok(t) => beta.powi(t),
            Err(_) => beta.powf(t as f64),
        };
        (1.0 - power(self.beta1), (1.0 - power(self.beta2)).sqrt())
    }
}

/// Storage and kernels for one kind of device. Object safe: a `Device` holds `Arc<dyn Backend>`.
pub trait Backend: Send + Sync + Debug {
    /// A short name for messages ("cpu", "wgpu:NVIDIA H100").
    fn name(&self) -> String;
    /// Whether this backend can hold tensors of `dtype`.
    fn supports(&self, dtype: DType) -> bool;

    fn upload(&self, data: &HostData) -> Result<Storage>;
    /// Reads a tensor back in logical row-major order. The only kernel that waits.
    fn to_host(&self, storage: &Storage, layout: &Layout) -> Result<HostData>;
    fn full(&self, value: f64, len: usize, dtype: DType) -> Result<Storage>;
    /// A contiguous copy of a strided view.
    fn copy(&self, storage: &Storage, layout: &Layout) -> Result<Storage>;
    fn cast(&self, storage: &Storage, layout: &Layout, dtype: DType) -> Result<Storage>;

    fn unary(&self, op: UnaryOp, x: &Storage, layout: &Layout) -> Result<Storage>;
    /// Both layouts have the same shape (broadcast views already applied).
    fn binary(&self, op: BinaryOp, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage>;
    /// mask != 0 ? a : b. All three layouts have the same shape.
    fn select(
        &self,
        mask: &Storage,
        lm: &Layout,
        a: &Storage,
        la: &Layout,
        b: &Storage,
        lb: &Layout,
    ) -> Result<Storage>;
    /// Reduces over `axes` (sorted, distinct); the output keeps those axes with size 1.
    fn reduce(&self, op: ReduceOp, x: &Storage, layout: &Layout, axes: &[usize]) -> Result<Storage>;
    /// Batched matmul: `la` is [..batch, m, k], `lb` is [..batch, k, n] with equal batch shapes
    /// (broadcast batch axes have stride 0). Any strides are allowed, so transposes cost no copy.
    fn matmul(&self, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage>;
    /// `matmul` plus `c`, whose layout `lc` is already broadcast to the product's shape. The
    /// default adds in a second kernel; a backend whose gemm accumulates into C can start
    /// from `c` instead.
    fn matmul_add(
        &self,
        a: &Storage,
        la: &Layout,
        b: &Storage,
        lb: &Layout,
        c: &Storage,
        lc: &Layout,
    ) -> Result<Storage> {
        let product = self.matmul(a, la, b, lb)?;
        self.binary(BinaryOp::Add, &product, &Layout::contiguous(lc.shape()), c, lc)
    }
    /// A dense layer's output pass: y = act(a b [+ bias]) over the product's shape, returning y and,
    /// when `act.saved()` is `Value` or `PreActivation`, that tensor (contiguous, same shape).
    /// The default runs the product and then element-wise kernels; a backend can apply the bias
    /// and the activation while the product's output is still in cache.
    #[allow(clippy::too_many_arguments)]
    fn dense(
        &self,
        a: &Storage,
        la: &Layout,
        b: &Storage,
        lb: &Layout,
        bias: Option<(&Storage, &Layout)>,
        act: DenseActivation,
    ) -> Result<(Storage, Option<Storage>)> {
        let r = la.rank();
        let mut shape = la.shape().to_vec();
        shape[r - 1] = lb.shape()[r - 1];
        compose_dense(self, a, la, b, lb, bias, act, &shape)
    }
    /// dL/dz of a dense op from dL/dy `g` and the tensor `act.saved()` names (y itself for
    /// `Output`; None for `Nothing`), both contiguous over `shape`, in one pass where the backend
    /// can: the activation's derivative meets the incoming gradient before the two products.
    fn dense_grad(
        &self,
        act: DenseActivation,
        g: &Storage,
        saved: Option<&Storage>,
        shape: &[usize],
    ) -> Result<Storage> {
        compose_dense_grad(self, act, g, saved, shape)
    }
    /// Joins tensors along `axis`; all shapes agree elsewhere.
    fn concat(&self, parts: &[(&Storage, &Layout)], axis: usize) -> Result<Storage>;
    /// Picks entries `indices` along `axis`. Indices were checked against the axis length.
    fn index_select(&self, x: &Storage, layout: &Layout, axis: usize, indices: &[usize]) -> Result<Storage>;
    /// The adjoint of `index_select`: a zero tensor of `shape` with each slice of `src` added
    /// at its index along `axis` (repeated indices add up).
    fn index_add(
        &self,
        src: &Storage,
        layout: &Layout,
        axis: usize,
        indices: &[usize],
        shape: &[usize],
    ) -> Result<Storage>;
    /// `len` draws from `dist`, element i taken from the counter-based stream at (seed, counter + i).
    fn random(&self, dist: Distribution, seed: u64, counter: u64, len: usize, dtype: DType) -> Result<Storage>;
    /// One fused Adam/AdamW update of a parameter and its moments, in place where the buffers
    /// are not shared. All four are contiguous with the same length and dtype.
    fn adam_step(
        &self,
        param: &mut Storage,
        grad: &Storage,
        m: &mut Storage,
        v: &mut Storage,
        hp: &AdamParams,
    ) -> Result<()>;
    /// param -= lr * (grad + weight_decay * param), with momentum buffer `velocity` when
    /// `momentum > 0`: v = momentum * v + g; param -= lr * v.
    fn sgd_step(
        &self,
        param: &mut Storage,
        grad: &Storage,
        velocity: Option<&mut Storage>,
        lr: f64,
        momentum: f64,
        weight_decay: f64,
    ) -> Result<()>;
}

// The default `dense` and `dense_grad`: the product, then element-wise kernels, in the order of
// the unfused ops (see crate::activation for why the backward reads what it reads).

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
fn compose_dense<B: Backend + ?Sized>(
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
fn compose_dense_grad<B: Backend + ?Sized>(
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
