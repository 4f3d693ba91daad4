//! The dense layer y = act(x W + b) as one op with one backward rule.
//!
//! Written out as `x.matmul_add(w, b)?.tanh()`, a layer is two ops: the graph keeps the
//! pre-activation and the output, and the backward runs the activation's rule (one to five
//! element-wise kernels) before the products. Here the backend applies the bias and the
//! activation in the product's output pass (`Backend::dense`), the graph keeps only what the
//! derivative reads (the output itself for relu, tanh, sigmoid), and the backward turns dL/dy
//! into dL/dz in one pass (`Backend::dense_grad`) before the same two products as `matmul_add`.
//! The values and gradients are the same bits as the written-out composition (activation.rs).

use crate::activation::{DenseActivation, Saved};
use crate::backend::compose_activation;
use crate::backend::Storage;
use crate::error::Result;
use crate::layout::Layout;
use crate::ops::elementwise::when;
use crate::ops::matmul::{Folded, ProductLayouts};
use crate::tensor::Tensor;

impl Tensor {
    /// `act(self @ weight + bias)`: a dense layer in one op. Shapes as in [`Tensor::matmul_add`]
    /// (a stack of rows times one matrix, or batched products such as an ensemble's members,
    /// the bias broadcast to the product).
    pub fn dense(&self, weight: &Tensor, bias: Option<&Tensor>, act: DenseActivation) -> Result<Tensor> {
        if let Some(fold) = Folded::of(self, weight, bias)? {
            let flat = self.reshape(&[fold.rows, fold.k])?;
            return flat.dense(weight, fold.bias.as_ref(), act)?.reshape(&fold.out_shape);
        }
        let p = ProductLayouts::of("dense", self, weight, bias)?;
        let backend = self.device().backend();
        let bias_view = bias.zip(p.lc.as_ref()).map(|(c, lc)| (c.storage(), lc));
        let (y, saved) = backend.dense(self.storage(), &p.la, weight.storage(), &p.lb, bias_view, act)?;
        let mut inputs = vec![self, weight];
        inputs.extend(bias);
        let (a, b, shape) = (self.clone(), weight.clone(), p.out_shape.clone());
        // dz = act'(.) g in one kernel; then dA = dz W^T, dW = A^T dz, dbias = dz, exactly as
        // matmul_add's rule (broadcast axes are summed by backprop).
        Ok(Tensor::from_op("dense", y, Layout::contiguous(&p.out_shape), self, &inputs, move |y, g, need| {
            let dz = if act == DenseActivation::IDENTITY {
                g.clone()
            } else {
                let saved = match act.saved() {
                    Saved::Nothing => None,
                    Saved::Output => Some(y.storage()),
                    Saved::Value | Saved::PreActivation => saved.as_ref(),
                };
                let dz = y.device().backend().dense_grad(act, &packed(g)?, saved, &shape)?;
                Tensor::from_storage(dz, Layout::contiguous(&shape), y.device())?
            };
            let mut grads = vec![when(need[0], || dz.matmul(&b.t()?))?, when(need[1], || a.t()?.matmul(&dz))?];
            if need.len() > 2 {
                grads.push(need[2].then(|| dz.clone()));
            }
            Ok(grads)
        }))
    }
}

impl Tensor {
    /// `act(self)` computed without recording a graph: the output y and, when the derivative
    /// reads something else (`act.saved()` is `Value` or `PreActivation`), that tensor. For ops
    /// that end in an activation and record their own backward rule with
    /// [`Tensor::custom_op`] and [`Tensor::activation_grad`] (the BNN's local
    /// reparameterization), so the pre-activation need not stay in the graph.
    pub fn activation_parts(&self, act: DenseActivation) -> Result<(Tensor, Option<Tensor>)> {
        let z = packed(self)?;
        let (y, saved) = compose_activation(self.device().backend(), act, z, self.shape())?;
        let wrap = |s: Storage| Tensor::from_storage(s, Layout::contiguous(self.shape()), self.device());
        Ok((wrap(y)?, saved.map(wrap).transpose()?))
    }

    /// dL/dz of `y = act(z)` from dL/dy `g`, in one pass (`Backend::dense_grad`); `saved` is the
    /// second tensor of [`Tensor::activation_parts`].
    pub fn activation_grad(g: &Tensor, y: &Tensor, saved: Option<&Tensor>, act: DenseActivation) -> Result<Tensor> {
        let g_packed = packed(g)?;
        let s = match act.saved() {
            Saved::Nothing => None,
            Saved::Output => Some(packed(y)?),
            Saved::Value | Saved::PreActivation => saved.map(packed).transpose()?,
        };
        let dz = g.device().backend().dense_grad(act, &g_packed, s.as_ref(), g.shape())?;
        Tensor::from_storage(dz, Layout::contiguous(g.shape()), g.device())
    }
}

/// The tensor's elements as a contiguous storage from offset 0, copied only when needed.
fn packed(t: &Tensor) -> Result<Storage> {
    if t.layout().is_contiguous() && t.layout().offset() == 0 {
        Ok(t.storage().clone())
    } else {
        t.device().backend().copy(t.storage(), t.layout())
    }
}
