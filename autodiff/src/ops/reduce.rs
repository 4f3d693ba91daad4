//! Reductions over axes. The primitive keeps reduced axes with size 1; `keepdim = false`
//! is a reshape on top.

use crate::backend::ReduceOp;
use crate::error::{Error, Result};
use crate::layout::{resolve_axis, Layout};
use crate::tensor::Tensor;

impl Tensor {
    fn reduce_axes(&self, op: &'static str, axes: &[isize]) -> Result<Vec<usize>> {
        let mut out = axes.iter().map(|&a| resolve_axis(op, a, self.shape())).collect::<Result<Vec<_>>>()?;
        out.sort_unstable();
        if out.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::Invalid {
                op,
                msg: format!("axis listed twice in {axes:?} (shape {:?})", self.shape()),
            });
        }
        Ok(out)
    }

    fn reduced_shape(&self, axes: &[usize], keepdim: bool) -> Vec<usize> {
        let mut shape = Vec::with_capacity(self.rank());
        for (i, &d) in self.shape().iter().enumerate() {
            if !axes.contains(&i) {
                shape.push(d);
            } else if keepdim {
                shape.push(1);
            }
        }
        shape
    }

    fn raw_reduce(&self, op: ReduceOp, axes: &[usize]) -> Result<(crate::backend::Storage, Layout)> {
        let storage = self.device().backend().reduce(op, self.storage(), self.layout(), axes)?;
        Ok((storage, Layout::contiguous(&self.reduced_shape(axes, true))))
    }

    /// Sum over `axes` (sorted, distinct), keeping them with size 1.
    // d sum: every input element receives the gradient of its sum (a broadcast view).
    pub fn sum_keepdim(&self, axes: &[usize]) -> Result<Tensor> {
        if axes.is_empty() {
            return Ok(self.clone());
        }
        let (storage, layout) = self.raw_reduce(ReduceOp::Sum, axes)?;
        let shape = self.shape().to_vec();
        Ok(Tensor::from_op("sum", storage, layout, self, &[self], move |_, g, _| {
            Ok(vec![Some(g.broadcast_to(&shape)?)])
        }))
    }

    /// Sum over `axes` (negative axes count from the end).
    pub fn sum(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let axes = self.reduce_axes("sum", axes)?;
        let s = self.sum_keepdim(&axes)?;
        if keepdim {
            Ok(s)
        } else {
            s.reshape(&self.reduced_shape(&axes, false))
        }
    }

    pub fn sum_all(&self) -> Result<Tensor> {
        let axes: Vec<usize> = (0..self.rank()).collect();
        self.sum_keepdim(&axes)?.reshape(&[0usize; 0])
    }

    pub fn mean(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let resolved = self.reduce_axes("mean", axes)?;
        let count: usize = resolved.iter().map(|&a| self.shape()[a]).product();
        self.sum(axes, keepdim)?.div_scalar(count.max(1) as f64)
    }

    pub fn mean_all(&self) -> Result<Tensor> {
        self.sum_all()?.div_scalar(self.numel().max(1) as f64)
    }

    fn extremum(&self, op: ReduceOp, name: &'static str, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        let axes = self.reduce_axes(name, axes)?;
        if axes.iter().any(|&a| self.shape()[a] == 0) {
            return Err(Error::Invalid { op: name, msg: format!("cannot reduce an empty axis of {:?}", self.shape()) });
        }
        let (storage, layout) = self.raw_reduce(op, &axes)?;
        let x = self.clone();
        let axes2 = axes.clone();
        // d max: the gradient goes to the arg-max, shared equally among ties.
        let out = Tensor::from_op(name, storage, layout, self, &[self], move |y, g, _| {
            let hit = x.eq_mask(y)?;
            let count = hit.sum_keepdim(&axes2)?;
            Ok(vec![Some(hit.mul(&g.div(&count)?)?)])
        });
        if keepdim {
            Ok(out)
        } else {
            out.reshape(&self.reduced_shape(&axes, false))
        }
    }

    /// The maximum over `axes`. Its gradient goes to the maximal elements, split equally
    /// among ties (so max(x, x) passes half to each, and a finite-difference check at a tie
    /// agrees). [`Tensor::argmax`] gives the position.
    pub fn max(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.extremum(ReduceOp::Max, "max", axes, keepdim)
    }

    /// The minimum over `axes`; ties split the gradient like [`Tensor::max`].
    pub fn min(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        self.extremum(ReduceOp::Min, "min", axes, keepdim)
    }

    /// The index of the maximum along `axis` (the first one among ties, as NumPy's), as a
    /// tensor of this tensor's dtype that takes no part in gradients. Indices are exact up to
    /// 2^24 in f32.
    pub fn argmax(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        self.arg_extremum(axis, keepdim, true)
    }

    /// The index of the minimum along `axis` (the first among ties).
    pub fn argmin(&self, axis: isize, keepdim: bool) -> Result<Tensor> {
        self.arg_extremum(axis, keepdim, false)
    }

    fn arg_extremum(&self, axis: isize, keepdim: bool, largest: bool) -> Result<Tensor> {
        let name = if largest { "argmax" } else { "argmin" };
        let a = resolve_axis(name, axis, self.shape())?;
        let n = self.shape()[a];
        if n == 0 {
            return Err(Error::Invalid { op: name, msg: format!("cannot reduce an empty axis of {:?}", self.shape()) });
        }
        let x = self.detach();
        let best = if largest { x.max(&[a as isize], true)? } else { x.min(&[a as isize], true)? };
        let mut index_shape = vec![1; self.rank()];
        index_shape[a] = n;
        let positions: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let index = Tensor::from_f64s(&positions, &index_shape, self.dtype(), self.device())?;
        // The smallest position where the extremum is reached: others get n, above any index.
        let candidates = x.eq_mask(&best)?.where_cond(&index, &index.full_like(n as f64)?)?;
        candidates.min(&[a as isize], keepdim)
    }

    /// log(sum(exp(x))) over `axes`, shifted by the (detached) maximum so it never overflows.
    pub fn logsumexp(&self, axes: &[isize], keepdim: bool) -> Result<Tensor> {
        // Checked here, so that errors name logsumexp rather than the ops it is built from.
        let resolved = self.reduce_axes("logsumexp", axes)?;
        if resolved.iter().any(|&a| self.shape()[a] == 0) {
            return Err(Error::Invalid {
                op: "logsumexp",
                msg: format!("cannot reduce an empty axis of {:?}", self.shape()),
            });
        }
        let m = self.max(axes, true)?.detach();
        let lse = self.sub(&m)?.exp()?.sum(axes, true)?.log()?.add(&m)?;
        if keepdim {
            Ok(lse)
        } else {
            lse.reshape(&self.reduced_shape(&resolved, false))
        }
    }
}
