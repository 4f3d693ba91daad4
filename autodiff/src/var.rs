//! Parameters. A `Var` is a tensor whose value the optimizer replaces between steps; it keeps
//! one id, so its gradient has one key across steps. Everything else is immutable.

use crate::backend::Storage;
use crate::error::{shape_err, Result};
use crate::layout::Layout;
use crate::tensor::{Tensor, TensorId};
use std::sync::{Arc, RwLock};

#[derive(Clone)]
pub struct Var {
    id: TensorId,
    cell: Arc<RwLock<Tensor>>,
}

impl Var {
    /// A parameter holding (a copy of) `value`.
    pub fn new(value: &Tensor) -> Result<Var> {
        let id = TensorId::fresh();
        let value = owned_copy(value)?;
        Ok(Var { id, cell: Arc::new(RwLock::new(value.leaf_with(id, true))) })
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
        Ok(())
    }

    /// Moves the value to another device, keeping the parameter's identity.
    pub fn to_device(&self, device: &crate::Device) -> Result<()> {
        let moved = self.tensor().to_device(device)?;
        *self.cell.write().unwrap_or_else(|e| e.into_inner()) = moved.leaf_with(self.id, true);
        Ok(())
    }

    /// Hands the storage to `f` for an in-place update (fused optimizer kernels). When no graph
    /// still holds the old value the buffer is updated where it is; otherwise it is copied first.
    pub fn update_storage(&self, f: impl FnOnce(&mut Storage) -> Result<()>) -> Result<()> {
        let mut guard = self.cell.write().unwrap_or_else(|e| e.into_inner());
        if Arc::get_mut(&mut guard.0).is_none() {
            *guard = guard.leaf_with(self.id, true);
        }
        match Arc::get_mut(&mut guard.0) {
            Some(inner) => f(&mut inner.storage),
            None => Err(shape_err("Var::update_storage", "internal: parameter is still shared")),
        }
    }
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
