//! Ops that move data around without arithmetic. Most are views: only the layout changes.

use crate::error::{shape_err, Error, Result};
use crate::layout::{checked_numel, resolve_axis, resolve_new_axis, Layout};
use crate::ops::elementwise::when;
use crate::tensor::Tensor;

impl Tensor {
    /// A new tensor sharing storage with a different layout; `back` maps the gradient back.
    fn view(
        &self,
        name: &'static str,
        layout: Layout,
        back: impl Fn(&Tensor) -> Result<Tensor> + Send + Sync + 'static,
    ) -> Tensor {
        Tensor::from_op(name, self.storage().clone(), layout, self, &[self], move |_, g, _| Ok(vec![Some(back(g)?)]))
    }

    /// A row-major copy when the layout is strided; the tensor itself when it is not.
    pub fn contiguous(&self) -> Result<Tensor> {
        if self.layout().is_contiguous() {
            return Ok(self.clone());
        }
        let storage = self.device().backend().copy(self.storage(), self.layout())?;
        Ok(Tensor::from_op("contiguous", storage, Layout::contiguous(self.shape()), self, &[self], |_, g, _| {
            Ok(vec![Some(g.clone())])
        }))
    }

    /// Same elements, new shape (copies only when the strides cannot express it). One axis may
    /// be -1, inferred from the others as in NumPy and PyTorch: `x.reshape(&[-1, 3])`.
    pub fn reshape(&self, shape: impl IntoShape) -> Result<Tensor> {
        let shape = shape.resolve("reshape", self.shape())?;
        let shape = shape.as_slice();
        if checked_numel("reshape", shape)? != self.numel() {
            return Err(shape_err("reshape", format!("cannot reshape {:?} into {shape:?}", self.shape())));
        }
        if shape == self.shape() {
            return Ok(self.clone());
        }
        let src = match self.layout().reshape_view(shape) {
            Some(_) => self.clone(),
            None => self.contiguous()?,
        };
        let layout = src.layout().reshape_view(shape).ok_or_else(|| shape_err("reshape", "internal: no view"))?;
        let back_shape = self.shape().to_vec();
        Ok(src.view("reshape", layout, move |g| g.reshape(&back_shape)))
    }

    /// Axes `start..=end` merged into one (negative axes count from the end), as PyTorch's
    /// `flatten`: `x.flatten(1, -1)` turns `[b, c, h, w]` into `[b, c * h * w]`. A rank-0
    /// tensor becomes `[1]`.
    pub fn flatten(&self, start: isize, end: isize) -> Result<Tensor> {
        if self.rank() == 0 {
            return self.reshape(&[1usize]);
        }
        let s = resolve_axis("flatten", start, self.shape())?;
        let e = resolve_axis("flatten", end, self.shape())?;
        if s > e {
            return Err(shape_err("flatten", format!("start axis {start} comes after end axis {end}")));
        }
        let merged: usize = self.shape()[s..=e].iter().product();
        let shape: Vec<usize> = [&self.shape()[..s], &[merged], &self.shape()[e + 1..]].concat();
        self.reshape(&shape)
    }

    /// Reorders axes: `perm[i]` is the input axis that becomes output axis i.
    pub fn permute(&self, perm: &[usize]) -> Result<Tensor> {
        let mut seen = vec![false; self.rank()];
        if perm.len() != self.rank() || perm.iter().any(|&p| p >= self.rank() || std::mem::replace(&mut seen[p], true))
        {
            return Err(shape_err(
                "permute",
                format!("{perm:?} is not a permutation of the axes of {:?}", self.shape()),
            ));
        }
        let mut inverse = vec![0; perm.len()];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p] = i;
        }
        Ok(self.view("permute", self.layout().permute(perm), move |g| g.permute(&inverse)))
    }

    /// Swaps two axes.
    pub fn transpose(&self, a: isize, b: isize) -> Result<Tensor> {
        let (a, b) = (resolve_axis("transpose", a, self.shape())?, resolve_axis("transpose", b, self.shape())?);
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.permute(&perm)
    }

    /// Swaps the last two axes (the matrix transpose).
    pub fn t(&self) -> Result<Tensor> {
        if self.rank() < 2 {
            return Err(shape_err("t", format!("needs at least 2 axes, got {:?}", self.shape())));
        }
        self.transpose(-2, -1)
    }

    /// Stretches size-1 axes (and adds leading ones) to `shape`, without copying.
    pub fn broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if shape == self.shape() {
            return Ok(self.clone());
        }
        checked_numel("broadcast_to", shape)?;
        let layout = self.layout().broadcast_to("broadcast_to", shape)?;
        // The gradient has the broadcast shape; backprop sums it down.
        Ok(self.view("broadcast_to", layout, |g| Ok(g.clone())))
    }

    /// Inserts a size-1 axis at `axis` (which may equal the rank, or count from the end).
    pub fn unsqueeze(&self, axis: isize) -> Result<Tensor> {
        let a = resolve_new_axis("unsqueeze", axis, self.shape())?;
        let mut shape = self.shape().to_vec();
        shape.insert(a, 1);
        self.reshape(&shape)
    }

    /// Removes a size-1 axis.
    pub fn squeeze(&self, axis: isize) -> Result<Tensor> {
        let a = resolve_axis("squeeze", axis, self.shape())?;
        if self.shape()[a] != 1 {
            return Err(shape_err(
                "squeeze",
                format!("axis {a} of {:?} has size {}, not 1", self.shape(), self.shape()[a]),
            ));
        }
        let mut shape = self.shape().to_vec();
        shape.remove(a);
        self.reshape(&shape)
    }

    /// Entries `start..start+len` along `axis`, as a view.
    pub fn narrow(&self, axis: isize, start: usize, len: usize) -> Result<Tensor> {
        let a = resolve_axis("narrow", axis, self.shape())?;
        let size = self.shape()[a];
        if start.checked_add(len).is_none_or(|end| end > size) {
            return Err(Error::Index {
                op: "narrow",
                msg: format!("range {start}..{} exceeds axis {a} of {:?}", start.saturating_add(len), self.shape()),
            });
        }
        let full = self.shape().to_vec();
        // d narrow: the gradient padded with zeros back to the full axis.
        Ok(self.view("narrow", self.layout().narrow(a, start, len), move |g| {
            let mut parts = Vec::with_capacity(3);
            let zeros = |n: usize| {
                let mut s = full.clone();
                s[a] = n;
                Tensor::zeros(&s, g.dtype(), g.device())
            };
            if start > 0 {
                parts.push(zeros(start)?);
            }
            parts.push(g.clone());
            if start + len < size {
                parts.push(zeros(size - start - len)?);
            }
            Tensor::concat(&parts.iter().collect::<Vec<_>>(), a as isize)
        }))
    }

    /// Joins tensors along `axis`; their shapes must agree on every other axis.
    pub fn concat(tensors: &[&Tensor], axis: isize) -> Result<Tensor> {
        let first = *tensors.first().ok_or(Error::Invalid { op: "concat", msg: "no tensors to join".into() })?;
        let a = resolve_axis("concat", axis, first.shape())?;
        let mut shape = first.shape().to_vec();
        shape[a] = 0;
        for t in tensors {
            first.same_device_dtype("concat", t)?;
            let ok = t.rank() == first.rank()
                && t.shape().iter().zip(first.shape()).enumerate().all(|(i, (x, y))| i == a || x == y);
            if !ok {
                let shapes: Vec<_> = tensors.iter().map(|t| t.shape().to_vec()).collect();
                return Err(shape_err("concat", format!("shapes {shapes:?} differ off axis {a}")));
            }
            shape[a] += t.shape()[a];
        }
        let parts: Vec<_> = tensors.iter().map(|t| (t.storage(), t.layout())).collect();
        let storage = first.device().backend().concat(&parts, a)?;
        let sizes: Vec<usize> = tensors.iter().map(|t| t.shape()[a]).collect();
        // d concat: each input gets its slice of the gradient.
        Ok(Tensor::from_op("concat", storage, Layout::contiguous(&shape), first, tensors, move |_, g, need| {
            let mut start = 0;
            let mut grads = Vec::with_capacity(sizes.len());
            for (&len, &n) in sizes.iter().zip(need) {
                grads.push(when(n, || g.narrow(a as isize, start, len))?);
                start += len;
            }
            Ok(grads)
        }))
    }

    /// Stacks same-shape tensors along a new axis.
    pub fn stack(tensors: &[&Tensor], axis: isize) -> Result<Tensor> {
        let first = *tensors.first().ok_or(Error::Invalid { op: "stack", msg: "no tensors to stack".into() })?;
        let a = resolve_new_axis("stack", axis, first.shape())? as isize;
        for t in tensors {
            first.same_device_dtype("stack", t)?;
            if t.shape() != first.shape() {
                let shapes: Vec<_> = tensors.iter().map(|t| t.shape().to_vec()).collect();
                return Err(shape_err("stack", format!("shapes {shapes:?} differ; stack needs equal shapes")));
            }
        }
        let expanded = tensors.iter().map(|t| t.unsqueeze(a)).collect::<Result<Vec<_>>>()?;
        Tensor::concat(&expanded.iter().collect::<Vec<_>>(), a)
    }

    /// Picks entries along `axis` (rows of a minibatch, say); indices may repeat.
    pub fn index_select(&self, axis: isize, indices: &[usize]) -> Result<Tensor> {
        let a = resolve_axis("index_select", axis, self.shape())?;
        let size = self.shape()[a];
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            return Err(Error::Index {
                op: "index_select",
                msg: format!("index {bad} is out of range for axis {a} of {:?}", self.shape()),
            });
        }
        let storage = self.device().backend().index_select(self.storage(), self.layout(), a, indices)?;
        let mut shape = self.shape().to_vec();
        shape[a] = indices.len();
        let (idx, full) = (indices.to_vec(), self.shape().to_vec());
        // d index_select: scatter-add the gradient back to the picked entries.
        Ok(Tensor::from_op("index_select", storage, Layout::contiguous(&shape), self, &[self], move |_, g, _| {
            let s = g.device().backend().index_add(g.storage(), g.layout(), a, &idx, &full)?;
            Ok(vec![Some(Tensor::from_storage(s, Layout::contiguous(&full), g.device())?)])
        }))
    }
}

/// A target shape for [`Tensor::reshape`]: sizes as `usize`, or as signed integers where one
/// entry may be -1 (inferred). Integer literals are `i32`, so `reshape(&[2, -1])` works too. Shapes
/// are always passed by reference, as slices, arrays or vectors.
pub trait IntoShape {
    fn resolve(self, op: &'static str, from: &[usize]) -> Result<Vec<usize>>;
}

impl IntoShape for &[usize] {
    fn resolve(self, _: &'static str, _: &[usize]) -> Result<Vec<usize>> {
        Ok(self.to_vec())
    }
}
impl IntoShape for &Vec<usize> {
    fn resolve(self, _: &'static str, _: &[usize]) -> Result<Vec<usize>> {
        Ok(self.clone())
    }
}
impl<const N: usize> IntoShape for &[usize; N] {
    fn resolve(self, _: &'static str, _: &[usize]) -> Result<Vec<usize>> {
        Ok(self.to_vec())
    }
}
impl IntoShape for &[isize] {
    fn resolve(self, op: &'static str, from: &[usize]) -> Result<Vec<usize>> {
        infer_axis(op, self.iter().map(|&d| d as i64), from)
    }
}
impl<const N: usize> IntoShape for &[isize; N] {
    fn resolve(self, op: &'static str, from: &[usize]) -> Result<Vec<usize>> {
        infer_axis(op, self.iter().map(|&d| d as i64), from)
    }
}
impl<const N: usize> IntoShape for &[i32; N] {
    fn resolve(self, op: &'static str, from: &[usize]) -> Result<Vec<usize>> {
        infer_axis(op, self.iter().map(|&d| i64::from(d)), from)
    }
}

/// Signed sizes with at most one -1, which takes whatever size makes the element counts agree.
fn infer_axis(op: &'static str, dims: impl Iterator<Item = i64>, from: &[usize]) -> Result<Vec<usize>> {
    let dims: Vec<i64> = dims.collect();
    let total: usize = from.iter().product();
    let unknown: Vec<usize> = dims.iter().enumerate().filter(|(_, &d)| d == -1).map(|(i, _)| i).collect();
    if unknown.len() > 1 || dims.iter().any(|&d| d < -1) {
        return Err(shape_err(op, format!("{dims:?}: sizes must be >= 0, with at most one -1 to infer")));
    }
    let known: usize = dims.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
    let mut shape: Vec<usize> = dims.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(&i) = unknown.first() {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(shape_err(op, format!("cannot infer the -1 in {dims:?} for {total} elements ({from:?})")));
        }
        shape[i] = total / known;
    }
    Ok(shape)
}
