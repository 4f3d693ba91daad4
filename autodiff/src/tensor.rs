//! The tensor: a cheap handle (`Arc`) to an immutable node holding the storage an op produced,
//! its layout, and, when it takes part in a graph, the inputs and the rule that sends a
//! gradient back to them.

use crate::backend::Storage;
use crate::device::Device;
use crate::dtype::{DType, Element, HostData};
use crate::error::{shape_err, Error, Result};
use crate::grad_mode::is_grad_enabled;
use crate::layout::{checked_numel, Layout};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Identifies a tensor in a graph; gradients are keyed by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

impl TensorId {
    pub(crate) fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TensorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// A backward rule: given the op's output, the gradient flowing into it and which inputs need
/// a gradient, returns one gradient per input (None where not needed). Gradients may have the
/// output's broadcast shape: `backprop` sums them down to each input's shape.
pub(crate) type BackwardFn = dyn Fn(&Tensor, &Tensor, &[bool]) -> Result<Vec<Option<Tensor>>> + Send + Sync;

pub(crate) struct Node {
    pub(crate) op: &'static str,
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) backward: Box<BackwardFn>,
}

pub(crate) struct Inner {
    pub(crate) id: TensorId,
    pub(crate) storage: Storage,
    pub(crate) layout: Layout,
    pub(crate) dtype: DType,
    pub(crate) device: Device,
    /// The op that made this tensor, when it was recorded.
    pub(crate) node: Option<Node>,
    /// Leaves only: the user asked for this tensor's gradient.
    pub(crate) is_param: bool,
}

#[derive(Clone)]
pub struct Tensor(pub(crate) Arc<Inner>);

impl Tensor {
    // ----- construction ------------------------------------------------------------------

    /// Wraps a backend storage as a leaf. Backends and optimizers use this; users build
    /// tensors with `from_vec`, `zeros` and friends.
    pub fn from_storage(storage: Storage, layout: Layout, device: &Device) -> Result<Tensor> {
        if layout.max_index_bound() > storage.len() {
            return Err(shape_err(
                "from_storage",
                format!("layout {:?} reaches past a storage of {} elements", layout.shape(), storage.len()),
            ));
        }
        let dtype = storage.dtype();
        Ok(Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            storage,
            layout,
            dtype,
            device: device.clone(),
            node: None,
            is_param: false,
        })))
    }

    /// A tensor from host data in row-major order.
    pub fn from_vec<E: Element>(data: Vec<E>, shape: &[usize], device: &Device) -> Result<Tensor> {
        Self::from_host(E::to_host(data), shape, device)
    }

    /// A tensor of `dtype` from f64 values (rounded for f32).
    pub fn from_f64s(data: &[f64], shape: &[usize], dtype: DType, device: &Device) -> Result<Tensor> {
        let host = match dtype {
            DType::F64 => HostData::F64(data.to_vec()),
            DType::F32 => HostData::F32(data.iter().map(|&x| x as f32).collect()),
        };
        Self::from_host(host, shape, device)
    }

    pub fn from_host(data: HostData, shape: &[usize], device: &Device) -> Result<Tensor> {
        let n = checked_numel("from_vec", shape)?;
        if data.len() != n {
            return Err(shape_err(
                "from_vec",
                format!("{} values cannot fill shape {shape:?} ({n} elements)", data.len()),
            ));
        }
        check_dtype_supported("from_vec", data.dtype(), device)?;
        let storage = device.backend().upload(&data)?;
        Tensor::from_storage(storage, Layout::contiguous(shape), device)
    }

    pub fn scalar(value: f64, dtype: DType, device: &Device) -> Result<Tensor> {
        Self::full(value, &[], dtype, device)
    }

    pub fn full(value: f64, shape: &[usize], dtype: DType, device: &Device) -> Result<Tensor> {
        check_dtype_supported("full", dtype, device)?;
        let storage = device.backend().full(value, checked_numel("full", shape)?, dtype)?;
        Tensor::from_storage(storage, Layout::contiguous(shape), device)
    }

    pub fn zeros(shape: &[usize], dtype: DType, device: &Device) -> Result<Tensor> {
        Self::full(0.0, shape, dtype, device)
    }

    pub fn ones(shape: &[usize], dtype: DType, device: &Device) -> Result<Tensor> {
        Self::full(1.0, shape, dtype, device)
    }

    pub fn zeros_like(&self) -> Result<Tensor> {
        Self::zeros(self.shape(), self.dtype(), self.device())
    }

    pub fn ones_like(&self) -> Result<Tensor> {
        Self::ones(self.shape(), self.dtype(), self.device())
    }

    pub fn full_like(&self, value: f64) -> Result<Tensor> {
        Self::full(value, self.shape(), self.dtype(), self.device())
    }

    /// The result of an op: records the graph node when gradients are enabled and some input
    /// takes part in a graph, and stays a plain leaf otherwise (no-grad scopes cost nothing).
    pub(crate) fn from_op(
        op: &'static str,
        storage: Storage,
        layout: Layout,
        like: &Tensor,
        inputs: &[&Tensor],
        backward: impl Fn(&Tensor, &Tensor, &[bool]) -> Result<Vec<Option<Tensor>>> + Send + Sync + 'static,
    ) -> Tensor {
        let record = is_grad_enabled() && inputs.iter().any(|t| t.tracks_grad());
        let node = record.then(|| Node {
            op,
            inputs: inputs.iter().map(|&t| t.clone()).collect(),
            backward: Box::new(backward),
        });
        Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            dtype: storage.dtype(),
            storage,
            layout,
            device: like.device().clone(),
            node,
            is_param: false,
        }))
    }

    // ----- graph -------------------------------------------------------------------------

    /// A leaf that asks for its gradient, sharing this tensor's storage. It returns a new
    /// tensor and leaves `self` as it was: `let x = x.requires_grad();`.
    #[must_use = "requires_grad returns a new tensor; the original still takes no gradient"]
    pub fn requires_grad(&self) -> Tensor {
        self.leaf_with(TensorId::fresh(), true)
    }

    /// A leaf with a chosen id: what a `Var` hands out, so its gradient keeps one key across steps.
    pub(crate) fn leaf_with(&self, id: TensorId, is_param: bool) -> Tensor {
        Tensor(Arc::new(Inner {
            id,
            storage: self.0.storage.clone(),
            layout: self.0.layout.clone(),
            dtype: self.0.dtype,
            device: self.0.device.clone(),
            node: None,
            is_param,
        }))
    }

    /// The same values, cut off from the graph: no gradient flows through the result.
    #[must_use = "detach returns a new tensor; the original is still in the graph"]
    pub fn detach(&self) -> Tensor {
        self.leaf_with(TensorId::fresh(), false)
    }

    /// Whether a gradient can flow back through this tensor.
    pub fn tracks_grad(&self) -> bool {
        self.0.is_param || self.0.node.is_some()
    }

    /// Whether this tensor is a leaf whose gradient `backward` reports.
    pub fn is_param(&self) -> bool {
        self.0.is_param
    }

    pub fn id(&self) -> TensorId {
        self.0.id
    }

    /// The name of the op that made this tensor, when it was recorded.
    pub fn op_name(&self) -> Option<&'static str> {
        self.0.node.as_ref().map(|n| n.op)
    }

    // ----- accessors ---------------------------------------------------------------------

    pub fn shape(&self) -> &[usize] {
        self.0.layout.shape()
    }
    pub fn rank(&self) -> usize {
        self.0.layout.rank()
    }
    pub fn numel(&self) -> usize {
        self.0.layout.numel()
    }
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }
    pub fn device(&self) -> &Device {
        &self.0.device
    }
    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }
    pub fn storage(&self) -> &Storage {
        &self.0.storage
    }

    /// Size of one axis (negative counts from the end).
    pub fn dim(&self, axis: isize) -> Result<usize> {
        let a = crate::layout::resolve_axis("dim", axis, self.shape())?;
        Ok(self.shape()[a])
    }

    // ----- reading values back -------------------------------------------------------------

    pub fn to_host(&self) -> Result<HostData> {
        self.device().backend().to_host(self.storage(), self.layout())
    }

    /// The values in row-major order, converted to `E`.
    pub fn to_vec<E: Element>(&self) -> Result<Vec<E>> {
        Ok(E::from_host(self.to_host()?))
    }

    pub fn to_vec_f64(&self) -> Result<Vec<f64>> {
        self.to_vec::<f64>()
    }

    /// The single value of a one-element tensor.
    pub fn to_scalar(&self) -> Result<f64> {
        if self.numel() != 1 {
            return Err(shape_err("to_scalar", format!("tensor of shape {:?} is not a scalar", self.shape())));
        }
        Ok(self.to_vec_f64()?[0])
    }

    /// A copy on another device (and a way to move data between backends).
    pub fn to_device(&self, device: &Device) -> Result<Tensor> {
        if self.device().same(device) {
            return Ok(self.clone());
        }
        Tensor::from_host(self.to_host()?, self.shape(), device)
    }

    // ----- checks shared by the ops ------------------------------------------------------

    pub(crate) fn same_device_dtype(&self, op: &'static str, other: &Tensor) -> Result<()> {
        if !self.device().same(other.device()) {
            return Err(Error::Device {
                op,
                lhs: format!("{} {:?}", self.device().name(), self.shape()),
                rhs: format!("{} {:?}", other.device().name(), other.shape()),
            });
        }
        if self.dtype() != other.dtype() {
            return Err(Error::DType {
                op,
                msg: format!(
                    "operands have dtypes {} {:?} and {} {:?}; convert one with to_dtype",
                    self.dtype(),
                    self.shape(),
                    other.dtype(),
                    other.shape()
                ),
            });
        }
        Ok(())
    }
}

fn check_dtype_supported(op: &'static str, dtype: DType, device: &Device) -> Result<()> {
    if device.backend().supports(dtype) {
        Ok(())
    } else {
        Err(Error::DType { op, msg: format!("device {} does not support {dtype}", device.name()) })
    }
}

/// Dropping the last handle to a long chain of ops (an unrolled sequence model, a long
/// training loop that keeps its loss) would recurse once per node and overflow the stack;
/// instead the chain is taken apart here with an explicit work list.
impl Drop for Inner {
    fn drop(&mut self) {
        let Some(node) = self.node.take() else { return };
        let mut work = node.into_inputs();
        while let Some(t) = work.pop() {
            // Only the last handle takes its node apart; others just let go of theirs.
            if let Ok(mut inner) = Arc::try_unwrap(t.0) {
                if let Some(node) = inner.node.take() {
                    work.extend(node.into_inputs());
                }
                // `inner` drops here without a node: no recursion.
            }
        }
    }
}

impl Node {
    /// The inputs, after dropping the backward rule first: the tensors it captured are
    /// clones of the inputs, and releasing them while the inputs are still held keeps the
    /// release from reaching zero (and recursing) inside the rule's destructor.
    fn into_inputs(self) -> Vec<Tensor> {
        let Node { inputs, backward, .. } = self;
        drop(backward);
        inputs
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor({:?}, {}, {}", self.shape(), self.dtype(), self.device())?;
        if let Some(op) = self.op_name() {
            write!(f, ", op={op}")?;
        }
        if self.numel() <= 16 {
            if let Ok(v) = self.to_vec_f64() {
                write!(f, ", {v:?}")?;
            }
        }
        write!(f, ")")
    }
}

// Tensors cross threads (ensemble members train in parallel): the compiler checks it here.
#[allow(dead_code)]
fn assert_send_sync() {
    fn is<T: Send + Sync>() {}
    is::<Tensor>();
}
