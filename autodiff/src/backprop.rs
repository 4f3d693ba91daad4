//! Reverse mode. `backward` sorts the graph once, walks it from the output back, and asks each
//! node's rule for its inputs' gradients. Accumulation and un-broadcasting happen in exactly one
//! place, `Gradients::accumulate`: no rule adds or sums over broadcast axes by itself (the
//! source of the dropped and overwritten gradients other frameworks have shipped).

use crate::error::{shape_err, Result};
use crate::grad_mode::NoGradGuard;
use crate::tensor::{Tensor, TensorId};
use std::collections::{HashMap, HashSet};

/// The gradients of the leaves that asked for them, keyed by tensor id.
#[derive(Default, Clone)]
pub struct Gradients {
    map: HashMap<TensorId, Tensor>,
}

impl Gradients {
    /// The gradient of `t`, if a gradient reached it.
    pub fn get(&self, t: &Tensor) -> Option<&Tensor> {
        self.map.get(&t.id())
    }

    pub fn get_id(&self, id: TensorId) -> Option<&Tensor> {
        self.map.get(&id)
    }

    /// The gradient of `t`, or zeros when `t` did not influence the output.
    pub fn get_or_zeros(&self, t: &Tensor) -> Result<Tensor> {
        match self.get(t) {
            Some(g) => Ok(g.clone()),
            None => t.zeros_like(),
        }
    }

    pub fn remove(&mut self, t: &Tensor) -> Option<Tensor> {
        self.map.remove(&t.id())
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&TensorId, &Tensor)> {
        self.map.iter()
    }

    /// Adds `grad` into the gradient of `target`, first summing it down to `target`'s shape:
    /// a gradient of the broadcast shape becomes one of the operand's shape.
    pub(crate) fn accumulate(&mut self, target: &Tensor, grad: Tensor) -> Result<()> {
        let grad = sum_to_shape(&grad, target.shape())?;
        let grad = if grad.dtype() != target.dtype() { grad.to_dtype(target.dtype())? } else { grad };
        match self.map.remove(&target.id()) {
            Some(prev) => self.map.insert(target.id(), prev.add(&grad)?),
            None => self.map.insert(target.id(), grad),
        };
        Ok(())
    }
}

/// Sums `g` over the axes along which `shape` was broadcast to produce `g.shape()`.
pub fn sum_to_shape(g: &Tensor, shape: &[usize]) -> Result<Tensor> {
    if g.shape() == shape {
        return Ok(g.clone());
    }
    let lead = g.rank().checked_sub(shape.len()).ok_or_else(|| {
        shape_err("backward", format!("gradient of shape {:?} cannot reduce to {shape:?}", g.shape()))
    })?;
    let mut axes: Vec<usize> = (0..lead).collect();
    for (i, &d) in shape.iter().enumerate() {
        let gd = g.shape()[lead + i];
        if d == 1 && gd != 1 {
            axes.push(lead + i);
        } else if d != gd {
            return Err(shape_err("backward", format!("gradient of shape {:?} cannot reduce to {shape:?}", g.shape())));
        }
    }
    g.sum_keepdim(&axes)?.reshape(shape)
}

impl Tensor {
    /// Gradients of this scalar with respect to every leaf that asked for one.
    pub fn backward(&self) -> Result<Gradients> {
        if self.numel() != 1 {
            return Err(shape_err(
                "backward",
                format!("output of shape {:?} is not a scalar; use backward_with(cotangent)", self.shape()),
            ));
        }
        self.backward_with(&self.ones_like()?)
    }

    /// The vector-Jacobian product: gradients of <self, cotangent> for a non-scalar output.
    pub fn backward_with(&self, cotangent: &Tensor) -> Result<Gradients> {
        if cotangent.shape() != self.shape() {
            return Err(shape_err(
                "backward_with",
                format!("cotangent shape {:?} differs from output shape {:?}", cotangent.shape(), self.shape()),
            ));
        }
        self.same_device_dtype("backward_with", cotangent)?;
        // Rules use tensor ops; recording them would only build a graph nobody differentiates.
        let _guard = NoGradGuard::new();
        let order = topological_order(self);
        let mut pending = Gradients::default();
        let mut result = Gradients::default();
        pending.map.insert(self.id(), cotangent.detach());
        for t in order.iter().rev() {
            let Some(g) = pending.map.remove(&t.id()) else { continue };
            let Some(node) = &t.0.node else {
                if t.is_param() {
                    result.map.insert(t.id(), g);
                }
                continue;
            };
            let needs: Vec<bool> = node.inputs.iter().map(|i| i.tracks_grad()).collect();
            let grads = (node.backward)(t, &g, &needs)?;
            for ((input, grad), need) in node.inputs.iter().zip(grads).zip(needs) {
                if let (Some(grad), true) = (grad, need) {
                    pending.accumulate(input, grad)?;
                }
            }
        }
        Ok(result)
    }
}

/// Tensors that take part in the graph below `root`, inputs before the ops that use them.
/// Iterative, so a deep graph cannot overflow the stack.
fn topological_order(root: &Tensor) -> Vec<Tensor> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(Tensor, bool)> = vec![(root.clone(), false)];
    while let Some((t, expanded)) = stack.pop() {
        if expanded {
            order.push(t);
            continue;
        }
        if !t.tracks_grad() || !seen.insert(t.id()) {
            continue;
        }
        stack.push((t.clone(), true));
        if let Some(node) = &t.0.node {
            for input in &node.inputs {
                if input.tracks_grad() && !seen.contains(&input.id()) {
                    stack.push((input.clone(), false));
                }
            }
        }
    }
    order
}
