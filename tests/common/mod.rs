//! Helpers shared by the gradient test files: building f64 tensors, host references for
//! forward values, strided views of a tensor, and the gradient assertion itself.
#![allow(dead_code)]

use autodiff::testing as strategies;
use proptest::prelude::*;
use sigmagrad::check::{check_grads, check_jacobian, check_vjp, CheckOptions, GradReport};
use sigmagrad::{cpu, DType, Device, Result, Tensor};

/// A shape and its values in row-major order.
pub type Data = (Vec<usize>, Vec<f64>);

pub fn dev() -> Device {
    cpu()
}

/// An f64 tensor from values and a shape.
pub fn t64(values: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_f64s(values, shape, DType::F64, &dev()).expect("valid test tensor")
}

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Tolerances for the f64 checks: central differences with eps 1e-6 are good to ~1e-9 on the
/// value scales these tests use, so 1e-6 absolute / 1e-5 relative leaves room without hiding
/// a wrong rule (a wrong rule is off by O(1)).
pub fn opts() -> CheckOptions {
    CheckOptions::default()
}

/// Full Jacobian for small problems, random projections (plus element-wise J^T c) otherwise.
pub fn grads_ok(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) -> std::result::Result<(), String> {
    let report: GradReport = check_grads(f, inputs, &opts()).map_err(|e| format!("check failed to run: {e}"))?;
    if report.passed() {
        Ok(())
    } else {
        Err(format!("{report}"))
    }
}

pub fn jacobian_ok(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) -> std::result::Result<(), String> {
    let report = check_jacobian(f, inputs, &opts()).map_err(|e| format!("check failed to run: {e}"))?;
    if report.passed() {
        Ok(())
    } else {
        Err(format!("{report}"))
    }
}

pub fn vjp_ok(f: impl Fn(&[Tensor]) -> Result<Tensor>, inputs: &[Tensor]) -> std::result::Result<(), String> {
    let report = check_vjp(f, inputs, &opts()).map_err(|e| format!("check failed to run: {e}"))?;
    if report.passed() {
        Ok(())
    } else {
        Err(format!("{report}"))
    }
}

/// Inside a proptest: fails the case with the report when the gradient check fails.
#[macro_export]
macro_rules! prop_grads {
    ($check:expr) => {
        if let Err(report) = $check {
            return Err(proptest::test_runner::TestCaseError::fail(report));
        }
    };
}

/// |a - b| <= atol + rtol * max(|a|, |b|), element by element, with NaN never close.
pub fn close(a: &[f64], b: &[f64], atol: f64, rtol: f64) -> std::result::Result<(), String> {
    if a.len() != b.len() {
        return Err(format!("lengths differ: {} vs {}", a.len(), b.len()));
    }
    for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
        let ok = (x == y) || (x - y).abs() <= atol + rtol * x.abs().max(y.abs());
        if !ok {
            return Err(format!("element {i}: {x} vs {y}\n  left:  {a:?}\n  right: {b:?}"));
        }
    }
    Ok(())
}

#[macro_export]
macro_rules! prop_close {
    ($a:expr, $b:expr) => {
        prop_close!($a, $b, 1e-12, 1e-12)
    };
    ($a:expr, $b:expr, $atol:expr, $rtol:expr) => {
        if let Err(msg) = $crate::common::close(&$a, &$b, $atol, $rtol) {
            return Err(proptest::test_runner::TestCaseError::fail(msg));
        }
    };
}

pub fn assert_close(a: &[f64], b: &[f64], tol: f64) {
    if let Err(msg) = close(a, b, tol, tol) {
        panic!("{msg}");
    }
}

// ----- host-side index arithmetic for references -------------------------------------------

pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![0; shape.len()];
    let mut acc = 1;
    for (st, &d) in s.iter_mut().zip(shape).rev() {
        *st = acc;
        acc *= d;
    }
    s
}

pub fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        idx[k] = i % d;
        i /= d;
    }
    idx
}

pub fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(strides(shape)).map(|(i, s)| i * s).sum()
}

/// Host reference of NumPy broadcasting: the value of `data` (of `shape`) at an index of the
/// broadcast shape `out`.
pub fn broadcast_get(data: &[f64], shape: &[usize], out_idx: &[usize]) -> f64 {
    let lead = out_idx.len() - shape.len();
    let idx: Vec<usize> = shape.iter().enumerate().map(|(i, &d)| if d == 1 { 0 } else { out_idx[lead + i] }).collect();
    data[ravel(&idx, shape)]
}

pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Vec<usize> {
    let rank = a.len().max(b.len());
    (0..rank)
        .map(|i| {
            let da = if i + a.len() < rank { 1 } else { a[i + a.len() - rank] };
            let db = if i + b.len() < rank { 1 } else { b[i + b.len() - rank] };
            da.max(db)
        })
        .collect()
}

/// Host reference of a broadcasting binary op.
pub fn broadcast_zip(a: &[f64], sa: &[usize], b: &[f64], sb: &[usize], f: impl Fn(f64, f64) -> f64) -> Data {
    let out = broadcast_shapes(sa, sb);
    let vals = (0..numel(&out))
        .map(|i| {
            let idx = unravel(i, &out);
            f(broadcast_get(a, sa, &idx), broadcast_get(b, sb, &idx))
        })
        .collect();
    (out, vals)
}

/// Host reference of a reduction over `axes`, keeping them with size 1.
pub fn reduce_ref(data: &[f64], shape: &[usize], axes: &[usize], init: f64, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
    let out_shape: Vec<usize> = shape.iter().enumerate().map(|(i, &d)| if axes.contains(&i) { 1 } else { d }).collect();
    let mut out = vec![init; numel(&out_shape)];
    for (i, &x) in data.iter().enumerate() {
        let mut idx = unravel(i, shape);
        for &a in axes {
            idx[a] = 0;
        }
        let o = ravel(&idx, &out_shape);
        out[o] = f(out[o], x);
    }
    out
}

// ----- strided views -------------------------------------------------------------------------

/// Ways to present the same values to an op through a different memory layout, so that both
/// the contiguous and the strided paths of the CPU kernels run. Every view is built from ops
/// that take part in the graph, so gradients flow through it back to the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The tensor as it is.
    Contiguous,
    /// Same values, column-major memory: `x.t().contiguous().t()` (needs rank >= 2).
    Transposed,
    /// Same values inside a larger buffer: padded on the last axis, then narrowed back.
    Narrowed,
    /// The tensor broadcast along a new leading axis of size 2 (a stride-0 axis). Changes
    /// the shape: [2, ..shape].
    Broadcast,
}

pub fn view_strategy() -> impl Strategy<Value = View> {
    prop_oneof![Just(View::Contiguous), Just(View::Transposed), Just(View::Narrowed), Just(View::Broadcast)]
}

/// Applies `view` to `x`. Transposed and Narrowed keep the logical values and shape (they fall
/// back to the plain tensor when the rank does not allow them); Broadcast adds an axis.
pub fn apply_view(x: &Tensor, view: View) -> Result<Tensor> {
    match view {
        View::Contiguous => Ok(x.clone()),
        View::Transposed if x.rank() >= 2 => x.t()?.contiguous()?.t(),
        View::Transposed => Ok(x.clone()),
        View::Narrowed if x.rank() >= 1 => {
            let mut pad_shape = x.shape().to_vec();
            let last = pad_shape.len() - 1;
            pad_shape[last] = 2;
            let pad = Tensor::full(7.0, &pad_shape, x.dtype(), x.device())?;
            let n = x.shape()[last];
            Tensor::concat(&[&pad, x, &pad], -1)?.narrow(-1, 2, n)
        }
        View::Narrowed => Ok(x.clone()),
        View::Broadcast => {
            let mut shape = vec![2];
            shape.extend_from_slice(x.shape());
            x.broadcast_to(&shape)
        }
    }
}

/// The shape `apply_view` produces.
pub fn view_shape(shape: &[usize], view: View) -> Vec<usize> {
    match view {
        View::Broadcast => [&[2], shape].concat(),
        _ => shape.to_vec(),
    }
}

/// Host values of a view: the input values repeated for Broadcast.
pub fn view_values(values: &[f64], view: View) -> Vec<f64> {
    match view {
        View::Broadcast => [values, values].concat(),
        _ => values.to_vec(),
    }
}

// ----- value strategies ----------------------------------------------------------------------

/// Shape (rank 0..=max_rank, axes 1..=max_dim) with values from `values(len)`.
pub fn shaped<S: Strategy<Value = Vec<f64>>>(
    max_rank: usize,
    max_dim: usize,
    values: impl Fn(usize) -> S + Clone,
) -> impl Strategy<Value = Data> {
    strategies::shape(0, max_rank, max_dim).prop_flat_map(move |s| {
        let n = numel(&s);
        (Just(s), values(n))
    })
}
