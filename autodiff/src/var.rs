//! Parameters. A `Var` is a tensor whose value the optimizer replaces between steps; it keeps
//! one id, so its gradient has one key across steps. Everything else is immutable.

use crate::backend::{AdamParams, Storage};
use crate::error::{shape_err, Result};
use crate::layout::Layout;
use crate::tensor::{Tensor, TensorId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub struct Var {
    id: TensorId,
    cell: Arc<RwLock<Tensor>>,
    version: Arc<AtomicU64>,
}

impl Var {
    /// A parameter holding (a copy of) `value`.
    pub fn new(value: &Tensor) -> Result<Var> {
        let id = TensorId::fresh();
        let value = owned_copy(value)?;
        Ok(Var { id, cell: Arc::new(RwLock::new(value.leaf_with(id, true))), version: Arc::new(AtomicU64::new(0)) })
    }

    /// How many times the value was replaced or updated: anything derived from a parameter
    /// (a cached weight sample) is stale once this has moved.
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    fn bump(&self) {
        self.version.fetch_add(1, Ordering::AcqRel);
    }

    /// The current value, as a leaf that takes part in graphs.
    pub fn tensor(&self) -> Tensor {
        self.cell.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn id(&self) -> TensorId {
        self.id
    }

    pub fn shape(&self) -> Vec<usize> {
        self.tensor().shape().to_vec()
    }

    /// Replaces the value; shape, dtype and device must stay the same.
    pub fn set(&self, value: &Tensor) -> Result<()> {
        let current = self.tensor();
        if value.shape() != current.shape() {
            return Err(shape_err(
                "Var::set",
                format!("new value {:?} differs from {:?}", value.shape(), current.shape()),
            ));
        }
        current.same_device_dtype("Var::set", value)?;
        let value = owned_copy(value)?;
        *self.cell.write().unwrap_or_else(|e| e.into_inner()) = value.leaf_with(self.id, true);
        self.bump();
        Ok(())
    }

    /// Moves the value to another device, keeping the parameter's identity.
    pub fn to_device(&self, device: &crate::Device) -> Result<()> {
        let moved = self.tensor().to_device(device)?;
        *self.cell.write().unwrap_or_else(|e| e.into_inner()) = moved.leaf_with(self.id, true);
        self.bump();
        Ok(())
    }

    /// Hands the storage to `f` for an in-place update (fused optimizer kernels). When no graph
    /// still holds the old value the buffer is updated where it is; otherwise it is copied first.
    pub fn update_storage(&self, f: impl FnOnce(&mut Storage) -> Result<()>) -> Result<()> {
        let mut guard = self.cell.write().unwrap_or_else(|e| e.into_inner());
        if Arc::get_mut(&mut guard.0).is_none() {
            *guard = guard.leaf_with(self.id, true);
        }
        let result = match Arc::get_mut(&mut guard.0) {
            Some(inner) => f(&mut inner.storage),
            None => Err(shape_err("Var::update_storage", "internal: parameter is still shared")),
        };
        drop(guard);
        self.bump();
        result
    }
}

impl Var {
    /// One fused Adam/AdamW update (a single kernel, no recorded graph): the parameter and its
    /// moments `m` and `v` change in place. The moments are created, zero, on the first step.
    pub fn adam_step(&self, grad: &Tensor, m: &mut StateBuffer, v: &mut StateBuffer, hp: &AdamParams) -> Result<()> {
        let g = dense_storage(grad)?;
        let device = self.tensor().device().clone();
        m.ensure_for(self)?;
        v.ensure_for(self)?;
        let (Some(ms), Some(vs)) = (m.storage.as_mut(), v.storage.as_mut()) else {
            return Err(shape_err("Var::adam_step", "internal: moment buffers missing"));
        };
        self.update_storage(|s| device.backend().adam_step(s, &g, ms, vs, hp))
    }

    /// One fused SGD update; with `momentum > 0` the velocity buffer is created on the first
    /// step and updated in place.
    pub fn sgd_step(&self, grad: &Tensor, velocity: &mut StateBuffer, lr: f64, momentum: f64, wd: f64) -> Result<()> {
        let g = dense_storage(grad)?;
        let device = self.tensor().device().clone();
        if momentum > 0.0 {
            velocity.ensure_for(self)?;
        }
        let vel = if momentum > 0.0 { velocity.storage.as_mut() } else { None };
        self.update_storage(|s| device.backend().sgd_step(s, &g, vel, lr, momentum, wd))
    }
}

/// A per-parameter buffer that an optimizer keeps between steps (a momentum, Adam's moments),
/// updated in place by the fused kernels of [`Var::adam_step`] and [`Var::sgd_step`]. Empty until
/// the first step, so an optimizer that has not stepped holds no state.
#[derive(Debug, Clone, Default)]
pub struct StateBuffer {
    storage: Option<Storage>,
    shape: Vec<usize>,
    device: Option<crate::Device>,
}

impl StateBuffer {
    pub fn is_empty(&self) -> bool {
        self.storage.is_none()
    }

    /// The buffer as a tensor (for checkpoints), or None before the first step.
    pub fn tensor(&self) -> Result<Option<Tensor>> {
        match (&self.storage, &self.device) {
            (Some(s), Some(d)) => Tensor::from_storage(s.clone(), Layout::contiguous(&self.shape), d).map(Some),
            _ => Ok(None),
        }
    }

    /// Sets the buffer from a tensor of the parameter's shape (moved to its device and dtype).
    pub fn set(&mut self, var: &Var, value: &Tensor) -> Result<()> {
        let current = var.tensor();
        if value.shape() != current.shape() {
            return Err(shape_err(
                "StateBuffer::set",
                format!("state of shape {:?} for a parameter of shape {:?}", value.shape(), current.shape()),
            ));
        }
        let t = owned_copy(&value.to_device(current.device())?.to_dtype(current.dtype())?)?;
        // A private copy: the kernels update it in place, and no other tensor may see that.
        let storage = t.device().backend().copy(t.storage(), t.layout())?;
        self.storage = Some(storage);
        self.shape = current.shape().to_vec();
        self.device = Some(current.device().clone());
        Ok(())
    }

    /// Empties the buffer (an optimizer reset).
    pub fn clear(&mut self) {
        *self = StateBuffer::default();
    }

    /// Creates the buffer, zero, for `var` if it does not exist yet.
    pub fn ensure_for(&mut self, var: &Var) -> Result<()> {
        if self.storage.is_none() {
            let t = var.tensor();
            self.storage = Some(t.device().backend().full(0.0, t.numel(), t.dtype())?);
            self.shape = t.shape().to_vec();
            self.device = Some(t.device().clone());
        }
        Ok(())
    }
}

/// A gradient as a dense buffer of exactly its elements (what the fused kernels expect).
fn dense_storage(g: &Tensor) -> Result<Storage> {
    Ok(owned_copy(g)?.storage().clone())
}

/// `value` as a tensor whose storage holds exactly its elements in row-major order, from
/// offset 0: what fused optimizer kernels update in place. A contiguous view into a larger
/// buffer (a narrow, say) is copied, or the update would run over the wrong elements.
fn owned_copy(value: &Tensor) -> Result<Tensor> {
    let layout = value.layout();
    if layout.is_contiguous() && layout.offset() == 0 && value.storage().len() == value.numel() {
        return Ok(value.clone());
    }
    let storage = value.device().backend().copy(value.storage(), layout)?;
    Tensor::from_storage(storage, Layout::contiguous(value.shape()), value.device())
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var({:?})", self.tensor())
    }
}
