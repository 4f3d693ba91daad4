//! The kernels of `autodiff::Backend` for the CPU.

use crate::dense::{dense_grad_kernel, dense_kernel};
use crate::matmul::plain_matmul;
use crate::storage::{alloc, alloc_filled, cpu, slice, slice_mut, wrap, CpuStorage, Float};
use crate::strided::{fill, fill_rows, gather, map, materialize, zip};
use crate::{err, simd, CpuBackend, PAR_THRESHOLD};
use autodiff::rng::{fill_f32, fill_f64};
use autodiff::{
    AdamParams, Backend, BinaryOp, DType, DenseActivation, Distribution, HostData, Layout, ReduceOp, Result, Storage,
    UnaryOp,
};
use rayon::prelude::*;
use std::sync::Arc;

/// Runs `$body` with `$T` bound to the Rust type of `$dtype`.
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

fn check_bounds(op: &str, s: &Storage, l: &Layout) -> Result<()> {
    if l.max_index_bound() > s.len() {
        return Err(err(format!("{op}: layout {:?} reaches past a buffer of {} elements", l.shape(), s.len())));
    }
    Ok(())
}

/// Runs `$body` (an expression of `x`) over the input, with the element function known at
/// compile time: one monomorphised, vectorisable loop per op instead of a call per element.
macro_rules! unary_dispatch {
    ($op:expr, $T:ty, $func:path, $($arg:expr),*) => {{
        let c = <$T as Float>::of;
        let (zero, one) = (<$T>::zero(), <$T>::one());
        match $op {
            UnaryOp::Neg => $func($($arg,)* |x: $T| -x),
            UnaryOp::Exp => $func($($arg,)* |x: $T| x.vexp()),
            UnaryOp::Log => $func($($arg,)* |x: $T| x.vln()),
            UnaryOp::Sqrt => $func($($arg,)* |x: $T| x.sqrt()),
            UnaryOp::Abs => $func($($arg,)* |x: $T| x.abs()),
            UnaryOp::Square => $func($($arg,)* |x: $T| x * x),
            UnaryOp::Recip => $func($($arg,)* move |x: $T| one / x),
            UnaryOp::Tanh => $func($($arg,)* |x: $T| x.vtanh()),
            // The vector kernels of `simd`: see there for how they avoid overflow.
            UnaryOp::Sigmoid => $func($($arg,)* |x: $T| x.vsigmoid()),
            UnaryOp::Relu => $func($($arg,)* move |x: $T| if x > zero { x } else { zero }),
            UnaryOp::Softplus => $func($($arg,)* |x: $T| x.vsoftplus()),
            UnaryOp::Step => $func($($arg,)* move |x: $T| if x > zero { one } else { zero }),
            UnaryOp::Sign => $func($($arg,)* move |x: $T| if x > zero { one } else if x < zero { -one } else { zero }),
            UnaryOp::Powf(p) => {
                let p = c(p);
                $func($($arg,)* move |x: $T| x.powf(p))
            }
            UnaryOp::Affine { mul, add } => {
                let (m, a) = (c(mul), c(add));
                $func($($arg,)* move |x: $T| x * m + a)
            }
            UnaryOp::Clamp { lo, hi } => {
                let (lo, hi) = (c(lo), c(hi));
                $func($($arg,)* move |x: $T| x.max(lo).min(hi))
            }
            UnaryOp::LeakyRelu(s) => {
                let s = c(s);
                $func($($arg,)* move |x: $T| if x > zero { x } else { x * s })
            }
        }
    }};
}

macro_rules! binary_dispatch {
    ($op:expr, $T:ty, $func:path, $($arg:expr),*) => {{
        let mask = |b: bool| if b { <$T>::one() } else { <$T>::zero() };
        match $op {
            BinaryOp::Add => $func($($arg,)* |a: $T, b: $T| a + b),
            BinaryOp::Sub => $func($($arg,)* |a: $T, b: $T| a - b),
            BinaryOp::Mul => $func($($arg,)* |a: $T, b: $T| a * b),
            BinaryOp::Div => $func($($arg,)* |a: $T, b: $T| a / b),
            BinaryOp::Maximum => $func($($arg,)* |a: $T, b: $T| if a >= b { a } else { b }),
            BinaryOp::Minimum => $func($($arg,)* |a: $T, b: $T| if a <= b { a } else { b }),
            BinaryOp::Eq => $func($($arg,)* move |a: $T, b: $T| mask(a == b)),
            BinaryOp::Gt => $func($($arg,)* move |a: $T, b: $T| mask(a > b)),
            BinaryOp::WherePositive => $func($($arg,)* move |a: $T, b: $T| if b > <$T>::zero() { a } else { <$T>::zero() }),
            BinaryOp::Ge => $func($($arg,)* move |a: $T, b: $T| mask(a >= b)),
            BinaryOp::Lt => $func($($arg,)* move |a: $T, b: $T| mask(a < b)),
            BinaryOp::Le => $func($($arg,)* move |a: $T, b: $T| mask(a <= b)),
        }
    }};
}

fn unary_with<T: Float>(data: &[T], l: &Layout, f: impl Fn(T) -> T + Sync + Send + Copy) -> Storage {
    if l.is_contiguous() {
        return wrap(map(&data[l.offset()..l.offset() + l.numel()], f));
    }
    // Row by row; a strided row is gathered first, so that `f` still runs as a vector loop.
    wrap(fill_rows(l.shape(), [l.strides()], [l.offset()], &|out: &mut [T], [o]: [usize; 1], [s]: [usize; 1]| {
        if s == 1 {
            simd::map_into(&data[o..o + out.len()], out, f);
        } else {
            for (k, slot) in out.iter_mut().enumerate() {
                *slot = data[o + k * s];
            }
            simd::map_in_place(out, f);
        }
    }))
}

fn unary_kernel<T: Float>(op: UnaryOp, x: &Storage, l: &Layout) -> Result<Storage> {
    let data = slice::<T>(x)?;
    Ok(unary_dispatch!(op, T, unary_with, data, l))
}

fn binary_with<T: Float>(
    da: &[T],
    la: &Layout,
    db: &[T],
    lb: &Layout,
    f: impl Fn(T, T) -> T + Sync + Send + Copy,
) -> Storage {
    let n = la.numel();
    if la.is_contiguous() && lb.is_contiguous() {
        return wrap(zip(&da[la.offset()..la.offset() + n], &db[lb.offset()..lb.offset() + n], f));
    }
    // A tensor against a scalar (all strides 0): the common `x * 0.5` shape.
    if la.is_contiguous() && lb.strides().iter().all(|&s| s == 0) {
        let y = db[lb.offset()];
        return wrap(map(&da[la.offset()..la.offset() + n], move |x| f(x, y)));
    }
    // Everything else row by row; rows with unit or zero inner strides (a bias row, a column
    // broadcast) run as plain slice loops.
    wrap(fill_rows(
        la.shape(),
        [la.strides(), lb.strides()],
        [la.offset(), lb.offset()],
        &|out: &mut [T], [i, j]: [usize; 2], [si, sj]: [usize; 2]| {
            let len = out.len();
            match (si, sj) {
                (1, 1) => simd::zip_into(&da[i..i + len], &db[j..j + len], out, f),
                (1, 0) => {
                    let b = db[j];
                    simd::map_into(&da[i..i + len], out, move |a| f(a, b))
                }
                (0, 1) => {
                    let a = da[i];
                    simd::map_into(&db[j..j + len], out, move |b| f(a, b))
                }
                _ => out.iter_mut().enumerate().for_each(|(k, o)| *o = f(da[i + k * si], db[j + k * sj])),
            }
        },
    ))
}

fn binary_kernel<T: Float>(op: BinaryOp, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
    let (da, db) = (slice::<T>(a)?, slice::<T>(b)?);
    Ok(binary_dispatch!(op, T, binary_with, da, la, db, lb))
}

fn select_kernel<T: Float>(ls: [(&Storage, &Layout); 3]) -> Result<Storage> {
    let (m, a, b) = (slice::<T>(ls[0].0)?, slice::<T>(ls[1].0)?, slice::<T>(ls[2].0)?);
    let l = ls[0].1;
    let mut out = alloc::<T>(l.numel());
    let strides = [ls[0].1.strides(), ls[1].1.strides(), ls[2].1.strides()];
    let offsets = [ls[0].1.offset(), ls[1].1.offset(), ls[2].1.offset()];
    fill(&mut out, l.shape(), strides, offsets, &|[i, j, k]| if m[i] != T::zero() { a[j] } else { b[k] });
    Ok(wrap(out))
}

fn reduce_kernel<T: Float>(op: ReduceOp, x: &Storage, l: &Layout, axes: &[usize]) -> Result<Storage> {
    // One monomorphised copy per op, so `combine` inlines and the row loop vectorises (a
    // function pointer here made the bias gradient cost more than its matmul).
    match op {
        ReduceOp::Sum => reduce_with(x, l, axes, T::zero(), |a, b| a + b),
        ReduceOp::Max => reduce_with(x, l, axes, T::neg_infinity(), |a, b| if b > a || b.is_nan() { b } else { a }),
        ReduceOp::Min => reduce_with(x, l, axes, T::infinity(), |a, b| if b < a || b.is_nan() { b } else { a }),
    }
}

fn reduce_with<T: Float>(
    x: &Storage,
    l: &Layout,
    axes: &[usize],
    init: T,
    combine: impl Fn(T, T) -> T + Sync,
) -> Result<Storage> {
    let data = slice::<T>(x)?;
    let rank = l.rank();
    let kept: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
    let out_len: usize = kept.iter().map(|&a| l.shape()[a]).product();
    let red_len: usize = axes.iter().map(|&a| l.shape()[a]).product();
    // A contiguous tensor reduced over one run of adjacent axes, viewed as [outer, red, inner]:
    // the bias gradient (leading axes), a per-member bias gradient [M, batch, n] (a middle
    // axis), a row sum (trailing axes). Rows of `inner` accumulate in order, which vectorises.
    let mut sorted = axes.to_vec();
    sorted.sort_unstable();
    let adjacent = sorted.windows(2).all(|w| w[1] == w[0] + 1);
    if l.is_contiguous() && adjacent && !sorted.is_empty() && red_len * out_len >= 1 {
        let src = &data[l.offset()..l.offset() + l.numel()];
        let inner: usize = l.shape()[sorted[sorted.len() - 1] + 1..].iter().product();
        let mut out = alloc_filled(out_len, init);
        let block = |(o, x): (&mut [T], &[T])| {
            if inner == 1 {
                o[0] = fold_lanes(x, init, &combine);
            } else {
                for row in x.chunks(inner) {
                    for (o, &v) in o.iter_mut().zip(row) {
                        *o = combine(*o, v);
                    }
                }
            }
        };
        let outer = out_len / inner;
        if src.len() >= PAR_THRESHOLD && outer > 1 {
            out.par_chunks_mut(inner).zip(src.par_chunks(red_len * inner)).for_each(block);
        } else {
            out.chunks_mut(inner).zip(src.chunks(red_len * inner)).for_each(block);
        }
        return Ok(wrap(out));
    }
    // General case: view the input as [kept.., reduced..] and fold each output's inner block.
    let perm: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let p = l.permute(&perm);
    let (kept_shape, red_shape) = p.shape().split_at(kept.len());
    let (kept_strides, red_strides) = p.strides().split_at(kept.len());
    let inner = Layout::new(red_shape.to_vec(), red_strides.to_vec(), 0);
    let mut out = alloc_filled(out_len, init);
    fill(&mut out, kept_shape, [kept_strides], [p.offset()], &|[base]| {
        let mut acc = init;
        autodiff::layout::for_each_offset(&inner, |o| acc = combine(acc, data[base + o]));
        acc
    });
    Ok(wrap(out))
}

/// Folds a contiguous slice in eight interleaved lanes, combined at the end: independent
/// accumulators let the loop vectorise where one running total could not.
fn fold_lanes<T: Float>(x: &[T], init: T, combine: &impl Fn(T, T) -> T) -> T {
    let mut lanes = [init; 8];
    let mut chunks = x.chunks_exact(8);
    for c in &mut chunks {
        for (a, &v) in lanes.iter_mut().zip(c) {
            *a = combine(*a, v);
        }
    }
    let tail = chunks.remainder().iter().fold(init, |a, &v| combine(a, v));
    lanes.iter().fold(tail, |a, &v| combine(a, v))
}

fn concat_kernel<T: Float>(parts: &[(&Storage, &Layout)], axis: usize) -> Result<Storage> {
    let first = parts.first().ok_or_else(|| err("concat of nothing"))?.1;
    let outer: usize = first.shape()[..axis].iter().product();
    let gathered = parts
        .iter()
        .map(|(s, l)| Ok((gather(slice::<T>(s)?, l), l.shape()[axis..].iter().product::<usize>())))
        .collect::<Result<Vec<_>>>()?;
    let total: usize = gathered.iter().map(|(g, _)| g.len()).sum();
    let mut out = Vec::with_capacity(total);
    for o in 0..outer {
        for (g, block) in &gathered {
            out.extend_from_slice(&g[o * block..(o + 1) * block]);
        }
    }
    Ok(wrap(out))
}

/// (outer, axis length, inner) of a shape around `axis`.
fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    (shape[..axis].iter().product(), shape[axis], shape[axis + 1..].iter().product())
}

fn index_select_kernel<T: Float>(x: &Storage, l: &Layout, axis: usize, idx: &[usize]) -> Result<Storage> {
    let src = gather(slice::<T>(x)?, l);
    let (outer, len, inner) = split(l.shape(), axis);
    let mut out = Vec::with_capacity(outer * idx.len() * inner);
    for o in 0..outer {
        for &i in idx {
            let start = (o * len + i) * inner;
            out.extend_from_slice(&src[start..start + inner]);
        }
    }
    Ok(wrap(out))
}

fn index_add_kernel<T: Float>(
    src: &Storage,
    l: &Layout,
    axis: usize,
    idx: &[usize],
    shape: &[usize],
) -> Result<Storage> {
    let g = gather(slice::<T>(src)?, l);
    let (outer, len, inner) = split(shape, axis);
    let mut out = alloc_filled(outer * len * inner, T::zero());
    for o in 0..outer {
        for (j, &i) in idx.iter().enumerate() {
            let from = &g[(o * idx.len() + j) * inner..][..inner];
            let to = &mut out[(o * len + i) * inner..][..inner];
            for (t, &f) in to.iter_mut().zip(from) {
                *t = *t + f;
            }
        }
    }
    Ok(wrap(out))
}

/// Random fills through `autodiff::rng`'s block functions (four f32 or two f64 draws per Philox
/// block). Chunks start at their own counter, so the values do not depend on the thread count.
fn random_kernel<T: Float>(len: usize, fill: impl Fn(u64, &mut [T]) + Sync) -> Storage {
    let mut out = alloc::<T>(len);
    // A multiple of 1024, so every piece starts on a whole group of Philox blocks.
    let piece = crate::par_piece(len).next_multiple_of(1024);
    if len >= PAR_THRESHOLD {
        out.par_chunks_mut(piece).enumerate().for_each(|(c, chunk)| fill((c * piece) as u64, chunk));
    } else {
        fill(0, &mut out);
    }
    wrap(out)
}

fn adam_kernel<T: Float>(
    p: &mut Storage,
    g: &Storage,
    m: &mut Storage,
    v: &mut Storage,
    hp: &AdamParams,
) -> Result<()> {
    let g = slice::<T>(g)?;
    let (p, m, v) = (slice_mut::<T>(p)?, slice_mut::<T>(m)?, slice_mut::<T>(v)?);
    if p.len() != g.len() || m.len() != g.len() || v.len() != g.len() {
        return Err(err("adam_step: parameter, gradient and moments differ in length"));
    }
    let c = T::of;
    let (b1, b2, eps) = (c(hp.beta1), c(hp.beta2), c(hp.eps));
    let (bc1, bc2_sqrt) = hp.bias_corrections();
    let (bc1, bc2_sqrt) = (c(bc1), c(bc2_sqrt));
    let step = c(hp.lr) / bc1;
    let decay = c(1.0 - hp.lr * hp.weight_decay);
    let one = T::one();
    // Zipped slices rather than indices: with the lengths known equal there are no bounds
    // checks, and the loop vectorises (the update is a large share of a small network's step).
    for (((p, &g), m), v) in p.iter_mut().zip(g).zip(m.iter_mut()).zip(v.iter_mut()) {
        *m = b1 * *m + (one - b1) * g;
        *v = b2 * *v + (one - b2) * g * g;
        // AdamW: decoupled decay first, then the bias-corrected Adam step (PyTorch's order).
        *p = *p * decay - step * *m / (v.sqrt() / bc2_sqrt + eps);
    }
    Ok(())
}

fn sgd_kernel<T: Float>(
    p: &mut Storage,
    g: &Storage,
    vel: Option<&mut Storage>,
    lr: f64,
    momentum: f64,
    wd: f64,
) -> Result<()> {
    let g = slice::<T>(g)?;
    let p = slice_mut::<T>(p)?;
    if p.len() != g.len() {
        return Err(err("sgd_step: parameter and gradient differ in length"));
    }
    let (lr, mu, wd) = (T::of(lr), T::of(momentum), T::of(wd));
    match vel {
        Some(vel) => {
            let vel = slice_mut::<T>(vel)?;
            for i in 0..p.len() {
                vel[i] = mu * vel[i] + g[i] + wd * p[i];
                p[i] = p[i] - lr * vel[i];
            }
        }
        None => {
            for i in 0..p.len() {
                p[i] = p[i] - lr * (g[i] + wd * p[i]);
            }
        }
    }
    Ok(())
}

impl Backend for CpuBackend {
    fn name(&self) -> String {
        "cpu".into()
    }

    fn supports(&self, _dtype: DType) -> bool {
        true
    }

    fn upload(&self, data: &HostData) -> Result<Storage> {
        Ok(Arc::new(CpuStorage::from_host(data)))
    }

    fn to_host(&self, s: &Storage, l: &Layout) -> Result<HostData> {
        check_bounds("to_host", s, l)?;
        Ok(match cpu(s)? {
            CpuStorage::F32(v) => HostData::F32(gather(v, l).into_owned()),
            CpuStorage::F64(v) => HostData::F64(gather(v, l).into_owned()),
        })
    }

    fn full(&self, value: f64, len: usize, dtype: DType) -> Result<Storage> {
        Ok(with_dtype!(dtype, T => wrap(alloc_filled(len, T::of(value)))))
    }

    fn copy(&self, s: &Storage, l: &Layout) -> Result<Storage> {
        check_bounds("copy", s, l)?;
        with_dtype!(s.dtype(), T => Ok(wrap(materialize(slice::<T>(s)?, l))))
    }

    fn cast(&self, s: &Storage, l: &Layout, dtype: DType) -> Result<Storage> {
        check_bounds("cast", s, l)?;
        Ok(match (cpu(s)?, dtype) {
            (CpuStorage::F32(v), DType::F64) => wrap(gather(v, l).iter().map(|&x| f64::from(x)).collect::<Vec<_>>()),
            (CpuStorage::F64(v), DType::F32) => wrap(gather(v, l).iter().map(|&x| x as f32).collect::<Vec<_>>()),
            _ => self.copy(s, l)?,
        })
    }

    fn unary(&self, op: UnaryOp, x: &Storage, l: &Layout) -> Result<Storage> {
        check_bounds("unary", x, l)?;
        with_dtype!(x.dtype(), T => unary_kernel::<T>(op, x, l))
    }

    fn binary(&self, op: BinaryOp, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        check_bounds("binary", a, la)?;
        check_bounds("binary", b, lb)?;
        with_dtype!(a.dtype(), T => binary_kernel::<T>(op, a, la, b, lb))
    }

    fn select(&self, m: &Storage, lm: &Layout, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        for (s, l) in [(m, lm), (a, la), (b, lb)] {
            check_bounds("select", s, l)?;
        }
        with_dtype!(a.dtype(), T => select_kernel::<T>([(m, lm), (a, la), (b, lb)]))
    }

    fn reduce(&self, op: ReduceOp, x: &Storage, l: &Layout, axes: &[usize]) -> Result<Storage> {
        check_bounds("reduce", x, l)?;
        with_dtype!(x.dtype(), T => reduce_kernel::<T>(op, x, l, axes))
    }

    fn matmul(&self, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        match a.dtype() {
            DType::F32 => plain_matmul::<f32>(a, la, b, lb, None, matrixmultiply::sgemm),
            DType::F64 => plain_matmul::<f64>(a, la, b, lb, None, matrixmultiply::dgemm),
        }
    }

    fn matmul_add(
        &self,
        a: &Storage,
        la: &Layout,
        b: &Storage,
        lb: &Layout,
        c: &Storage,
        lc: &Layout,
    ) -> Result<Storage> {
        match a.dtype() {
            DType::F32 => plain_matmul::<f32>(a, la, b, lb, Some((c, lc)), matrixmultiply::sgemm),
            DType::F64 => plain_matmul::<f64>(a, la, b, lb, Some((c, lc)), matrixmultiply::dgemm),
        }
    }

    fn dense(
        &self,
        a: &Storage,
        la: &Layout,
        b: &Storage,
        lb: &Layout,
        bias: Option<(&Storage, &Layout)>,
        act: DenseActivation,
    ) -> Result<(Storage, Option<Storage>)> {
        match a.dtype() {
            DType::F32 => dense_kernel::<f32>(a, la, b, lb, bias, act, matrixmultiply::sgemm),
            DType::F64 => dense_kernel::<f64>(a, la, b, lb, bias, act, matrixmultiply::dgemm),
        }
    }

    fn dense_grad(
        &self,
        act: DenseActivation,
        g: &Storage,
        saved: Option<&Storage>,
        shape: &[usize],
    ) -> Result<Storage> {
        with_dtype!(g.dtype(), T => dense_grad_kernel::<T>(act, g, saved, shape))
    }

    fn concat(&self, parts: &[(&Storage, &Layout)], axis: usize) -> Result<Storage> {
        for (s, l) in parts {
            check_bounds("concat", s, l)?;
        }
        let dtype = parts.first().map(|p| p.0.dtype()).ok_or_else(|| err("concat of nothing"))?;
        with_dtype!(dtype, T => concat_kernel::<T>(parts, axis))
    }

    fn index_select(&self, x: &Storage, l: &Layout, axis: usize, idx: &[usize]) -> Result<Storage> {
        check_bounds("index_select", x, l)?;
        if idx.iter().any(|&i| i >= l.shape()[axis]) {
            return Err(err("index_select: index out of range"));
        }
        with_dtype!(x.dtype(), T => index_select_kernel::<T>(x, l, axis, idx))
    }

    fn index_add(&self, src: &Storage, l: &Layout, axis: usize, idx: &[usize], shape: &[usize]) -> Result<Storage> {
        check_bounds("index_add", src, l)?;
        if idx.iter().any(|&i| i >= shape[axis]) || l.shape()[axis] != idx.len() {
            return Err(err("index_add: indices do not match the shapes"));
        }
        with_dtype!(src.dtype(), T => index_add_kernel::<T>(src, l, axis, idx, shape))
    }

    fn random(&self, dist: Distribution, seed: u64, counter: u64, len: usize, dtype: DType) -> Result<Storage> {
        let at = move |offset: u64| counter.wrapping_add(offset);
        Ok(match dtype {
            DType::F32 => random_kernel::<f32>(len, |o, out| fill_f32(dist, seed, at(o), out)),
            DType::F64 => random_kernel::<f64>(len, |o, out| fill_f64(dist, seed, at(o), out)),
        })
    }

    fn adam_step(&self, p: &mut Storage, g: &Storage, m: &mut Storage, v: &mut Storage, hp: &AdamParams) -> Result<()> {
        with_dtype!(g.dtype(), T => adam_kernel::<T>(p, g, m, v, hp))
    }

    fn sgd_step(
        &self,
        p: &mut Storage,
        g: &Storage,
        vel: Option<&mut Storage>,
        lr: f64,
        momentum: f64,
        wd: f64,
    ) -> Result<()> {
        with_dtype!(g.dtype(), T => sgd_kernel::<T>(p, g, vel, lr, momentum, wd))
    }
}
