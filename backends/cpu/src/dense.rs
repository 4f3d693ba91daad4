//! The dense layer's two kernels: the activation applied to each block of the product's output
//! right after sgemm wrote it (`dense`), and dL/dz from dL/dy in one pass (`dense_grad`).
//!
//! The element functions are the ones the unfused kernels run (kernels.rs) and the derivative
//! formulas are those of autodiff's backward rules, operation for operation (autodiff's
//! activation.rs), so a fused layer computes the same bits as the written-out composition.

use crate::matmul::{matmul_kernel, Gemm};
use crate::simd;
use crate::storage::{alloc, slice, wrap, Float};
use crate::strided::{map, zip};
use crate::{err, Result};
use autodiff::{ActivationFn, DenseActivation, Layout, Saved, Storage};

/// Runs `$body` with `$f` bound to the activation's element function for `$T`, known at compile
/// time so that every loop over it vectorises.
macro_rules! with_activation {
    ($act:expr, $T:ty, $f:ident => $body:expr) => {{
        let zero = <$T>::zero();
        match $act {
            ActivationFn::Identity => {
                let $f = |x: $T| x;
                $body
            }
            ActivationFn::Relu => {
                let $f = move |x: $T| if x > zero { x } else { zero };
                $body
            }
            ActivationFn::LeakyRelu(s) => {
                let s = <$T as Float>::of(s);
                let $f = move |x: $T| if x > zero { x } else { x * s };
                $body
            }
            ActivationFn::Tanh => {
                let $f = |x: $T| x.vtanh();
                $body
            }
            ActivationFn::Sigmoid => {
                let $f = |x: $T| x.vsigmoid();
                $body
            }
            ActivationFn::Silu => {
                let $f = |x: $T| x * x.vsigmoid();
                $body
            }
            ActivationFn::Softplus => {
                let $f = |x: $T| x.vsoftplus();
                $body
            }
        }
    }};
}

/// The output pass over one block: `c` holds z and receives y; `extra` receives what the
/// backward reads when that is not y (f(z) or z).
fn output_pass<T: Float>(
    f: impl Fn(T) -> T + Copy + Sync,
    act: DenseActivation,
    saved: Saved,
    c: &mut [T],
    extra: &mut [T],
) {
    let affine = act.affine.map(|(m, a)| (T::of(m), T::of(a)));
    match (saved, affine) {
        (Saved::Value, Some((m, a))) => {
            simd::map_into(c, extra, f);
            simd::map_into(extra, c, move |v| v * m + a);
        }
        (_, affine) => {
            if saved == Saved::PreActivation {
                extra.copy_from_slice(c);
            }
            match affine {
                Some((m, a)) => simd::map_in_place(c, move |x| f(x) * m + a),
                None if act.f == ActivationFn::Identity => {}
                None => simd::map_in_place(c, f),
            }
        }
    }
}

/// A bias that is one row per batch entry (a layer's bias broadcast over the rows, an ensemble
/// member's): its data and where each entry's row starts.
struct BiasRows<'a, T> {
    data: &'a [T],
    starts: Vec<usize>,
}

impl<'a, T: Float> BiasRows<'a, T> {
    /// Some when `lc` (broadcast to the product's shape) repeats one contiguous row down the rows
    /// of each batch entry.
    fn of(c: &'a Storage, lc: &Layout) -> Result<Option<Self>> {
        let r = lc.rank();
        let n = lc.shape()[r - 1];
        if lc.strides()[r - 2] != 0 || (n > 1 && lc.strides()[r - 1] != 1) {
            return Ok(None);
        }
        if lc.max_index_bound() > c.len() {
            return Err(err(format!("dense: bias layout {:?} reaches past its buffer", lc.shape())));
        }
        let batch = Layout::new(lc.shape()[..r - 2].to_vec(), lc.strides()[..r - 2].to_vec(), lc.offset());
        let mut starts = Vec::new();
        autodiff::layout::for_each_offset(&batch, |o| starts.push(o));
        Ok(Some(BiasRows { data: slice::<T>(c)?, starts }))
    }

    fn row(&self, entry: usize, n: usize) -> &[T] {
        &self.data[self.starts[entry]..self.starts[entry] + n]
    }
}

/// `Backend::dense` on the CPU: the product of matmul.rs with the bias and the activation as its
/// output pass. A row bias is added there instead of starting C from a filled copy of it (one
/// write of the whole output fewer, and sgemm need not read C); with k <= 256, one block of
/// sgemm, that is the same single rounding of ab + bias.
pub(crate) fn dense_kernel<T: Float>(
    a: &Storage,
    la: &Layout,
    b: &Storage,
    lb: &Layout,
    bias: Option<(&Storage, &Layout)>,
    act: DenseActivation,
    gemm: Gemm<T>,
) -> Result<(Storage, Option<Storage>)> {
    let r = la.rank();
    let n = lb.shape()[r - 1];
    let len = la.shape()[..r - 1].iter().product::<usize>() * n;
    let saved = act.saved();
    let mut extra = match saved {
        Saved::Value | Saved::PreActivation => alloc::<T>(len),
        Saved::Nothing | Saved::Output => Vec::new(),
    };
    let rows = bias.map(|(c, lc)| BiasRows::<T>::of(c, lc)).transpose()?.flatten();
    let init = if rows.is_some() { None } else { bias };
    let y = with_activation!(act.f, T, f => {
        let pass = |entry: usize, _row: usize, c: &mut [T], e: &mut [T]| {
            if let Some(rows) = &rows {
                let b = rows.row(entry, n);
                c.chunks_mut(n.max(1)).for_each(|row| simd::zip_in_place(row, b, |x, b| x + b));
            }
            output_pass(f, act, saved, c, e)
        };
        matmul_kernel(a, la, b, lb, init, gemm, &mut extra, &pass)?
    });
    let keeps_extra = matches!(saved, Saved::Value | Saved::PreActivation);
    Ok((wrap(y), keeps_extra.then(|| wrap(extra))))
}

/// `Backend::dense_grad` on the CPU: g' = mul * g (when an affine follows f), then g' f'(.) from
/// the saved tensor, in one pass over both.
pub(crate) fn dense_grad_kernel<T: Float>(
    act: DenseActivation,
    g: &Storage,
    saved: Option<&Storage>,
    shape: &[usize],
) -> Result<Storage> {
    let n: usize = shape.iter().product();
    let g = slice::<T>(g)?.get(..n).ok_or_else(|| err("dense_grad: the gradient is shorter than its shape"))?;
    let c = T::of;
    let (zero, one) = (T::zero(), T::one());
    // The affine's backward, as `g.mul_scalar(mul)` runs it: g * mul + 0.
    let scale = act.affine.map(|(m, _)| c(m));
    let outer = move |g: T| match scale {
        Some(m) => g * m + zero,
        None => g,
    };
    if act.f == ActivationFn::Identity {
        return Ok(wrap(map(g, outer)));
    }
    let s = saved.ok_or_else(|| err(format!("dense_grad: {:?} needs its saved tensor", act.f)))?;
    let s = slice::<T>(s)?.get(..n).ok_or_else(|| err("dense_grad: the saved tensor is shorter than its shape"))?;
    // 1 - x as `affine(-1, 1)` computes it.
    let minus_one = c(-1.0);
    let one_minus = move |x: T| x * minus_one + one;
    Ok(wrap(match act.f {
        ActivationFn::Identity => map(g, outer),
        ActivationFn::Relu => zip(g, s, move |g, s| if s > zero { outer(g) } else { zero }),
        ActivationFn::LeakyRelu(slope) => {
            let (m, a) = (c(1.0 - slope), c(slope));
            zip(g, s, move |g, s| outer(g) * ((if s > zero { one } else { zero }) * m + a))
        }
        ActivationFn::Tanh => zip(g, s, move |g, s| outer(g) * one_minus(s * s)),
        ActivationFn::Sigmoid => zip(g, s, move |g, s| outer(g) * (s * one_minus(s))),
        ActivationFn::Softplus => zip(g, s, move |g, z| outer(g) * z.vsigmoid()),
        ActivationFn::Silu => zip(g, s, move |g, z| {
            let (g, sig) = (outer(g), z.vsigmoid());
            g * sig + (g * z) * (sig * one_minus(sig))
        }),
    }))
}
