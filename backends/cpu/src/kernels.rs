//! The kernels of `autodiff::Backend` for the CPU.

use crate::storage::{cpu, slice, slice_mut, wrap, CpuStorage, Float};
use crate::strided::{fill, gather, map, zip};
use crate::{err, CpuBackend, PAR_THRESHOLD};
use autodiff::rng::{normal_f32, normal_f64, unit_f32, unit_f64, words};
use autodiff::{
    AdamParams, Backend, BinaryOp, DType, Distribution, HostData, Layout, ReduceOp, Result, Storage, UnaryOp,
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

fn unary_fn<T: Float>(op: UnaryOp) -> Box<dyn Fn(T) -> T + Sync + Send> {
    let c = T::of;
    let (zero, one) = (T::zero(), T::one());
    match op {
        UnaryOp::Neg => Box::new(|x: T| -x),
        UnaryOp::Exp => Box::new(|x: T| x.exp()),
        UnaryOp::Log => Box::new(|x: T| x.ln()),
        UnaryOp::Sqrt => Box::new(|x: T| x.sqrt()),
        UnaryOp::Abs => Box::new(|x: T| x.abs()),
        UnaryOp::Square => Box::new(|x: T| x * x),
        UnaryOp::Recip => Box::new(move |x: T| one / x),
        UnaryOp::Tanh => Box::new(|x: T| x.tanh()),
        // Two branches so that exp never overflows.
        UnaryOp::Sigmoid => Box::new(move |x: T| {
            if x >= zero {
                one / (one + (-x).exp())
            } else {
                let e = x.exp();
                e / (one + e)
            }
        }),
        UnaryOp::Relu => Box::new(move |x: T| if x > zero { x } else { zero }),
        // max(x, 0) + log1p(exp(-|x|)): exact for large |x|, no overflow.
        UnaryOp::Softplus => Box::new(move |x: T| x.max(zero) + (-x.abs()).exp().ln_1p()),
        UnaryOp::Step => Box::new(move |x: T| if x > zero { one } else { zero }),
        UnaryOp::Sign => Box::new(move |x: T| {
            if x > zero {
                one
            } else if x < zero {
                -one
            } else {
                zero
            }
        }),
        UnaryOp::Powf(p) => {
            let p = c(p);
            Box::new(move |x: T| x.powf(p))
        }
        UnaryOp::Affine { mul, add } => {
            let (m, a) = (c(mul), c(add));
            Box::new(move |x: T| x * m + a)
        }
        UnaryOp::Clamp { lo, hi } => {
            let (lo, hi) = (c(lo), c(hi));
            Box::new(move |x: T| x.max(lo).min(hi))
        }
        UnaryOp::LeakyRelu(s) => {
            let s = c(s);
            Box::new(move |x: T| if x > zero { x } else { x * s })
        }
    }
}

fn binary_fn<T: Float>(op: BinaryOp) -> fn(T, T) -> T {
    fn mask<T: Float>(b: bool) -> T {
        if b {
            T::one()
        } else {
            T::zero()
        }
    }
    match op {
        BinaryOp::Add => |a, b| a + b,
        BinaryOp::Sub => |a, b| a - b,
        BinaryOp::Mul => |a, b| a * b,
        BinaryOp::Div => |a, b| a / b,
        BinaryOp::Maximum => |a, b| if a >= b { a } else { b },
        BinaryOp::Minimum => |a, b| if a <= b { a } else { b },
        BinaryOp::Eq => |a, b| mask(a == b),
        BinaryOp::Gt => |a, b| mask(a > b),
        BinaryOp::Ge => |a, b| mask(a >= b),
        BinaryOp::Lt => |a, b| mask(a < b),
        BinaryOp::Le => |a, b| mask(a <= b),
    }
}

fn unary_kernel<T: Float>(op: UnaryOp, x: &Storage, l: &Layout) -> Result<Storage> {
    let data = slice::<T>(x)?;
    let f = unary_fn::<T>(op);
    if l.is_contiguous() {
        return Ok(wrap(map(&data[l.offset()..l.offset() + l.numel()], f)));
    }
    let mut out = vec![T::zero(); l.numel()];
    fill(&mut out, l.shape(), [l.strides()], [l.offset()], &|[o]| f(data[o]));
    Ok(wrap(out))
}

fn binary_kernel<T: Float>(op: BinaryOp, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
    let (da, db) = (slice::<T>(a)?, slice::<T>(b)?);
    let f = binary_fn::<T>(op);
    let n = la.numel();
    if la.is_contiguous() && lb.is_contiguous() {
        return Ok(wrap(zip(&da[la.offset()..la.offset() + n], &db[lb.offset()..lb.offset() + n], f)));
    }
    // A tensor against a scalar (all strides 0): the common `x * 0.5` shape.
    if la.is_contiguous() && lb.strides().iter().all(|&s| s == 0) {
        let y = db[lb.offset()];
        return Ok(wrap(map(&da[la.offset()..la.offset() + n], move |x| f(x, y))));
    }
    let mut out = vec![T::zero(); n];
    fill(&mut out, la.shape(), [la.strides(), lb.strides()], [la.offset(), lb.offset()], &|[i, j]| f(da[i], db[j]));
    Ok(wrap(out))
}

fn select_kernel<T: Float>(ls: [(&Storage, &Layout); 3]) -> Result<Storage> {
    let (m, a, b) = (slice::<T>(ls[0].0)?, slice::<T>(ls[1].0)?, slice::<T>(ls[2].0)?);
    let l = ls[0].1;
    let mut out = vec![T::zero(); l.numel()];
    let strides = [ls[0].1.strides(), ls[1].1.strides(), ls[2].1.strides()];
    let offsets = [ls[0].1.offset(), ls[1].1.offset(), ls[2].1.offset()];
    fill(&mut out, l.shape(), strides, offsets, &|[i, j, k]| if m[i] != T::zero() { a[j] } else { b[k] });
    Ok(wrap(out))
}

fn reduce_kernel<T: Float>(op: ReduceOp, x: &Storage, l: &Layout, axes: &[usize]) -> Result<Storage> {
    let data = slice::<T>(x)?;
    let rank = l.rank();
    let combine: fn(T, T) -> T = match op {
        ReduceOp::Sum => |a, b| a + b,
        ReduceOp::Max => |a, b| if b > a || b.is_nan() { b } else { a },
        ReduceOp::Min => |a, b| if b < a || b.is_nan() { b } else { a },
    };
    let init = match op {
        ReduceOp::Sum => T::zero(),
        ReduceOp::Max => T::neg_infinity(),
        ReduceOp::Min => T::infinity(),
    };
    let kept: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
    let out_len: usize = kept.iter().map(|&a| l.shape()[a]).product();
    let red_len: usize = axes.iter().map(|&a| l.shape()[a]).product();
    // Leading axes of a contiguous tensor (the bias gradient): accumulate whole rows, in order.
    let leading = axes.iter().enumerate().all(|(i, &a)| i == a);
    if l.is_contiguous() && leading && red_len * out_len >= 1 {
        let src = &data[l.offset()..l.offset() + l.numel()];
        let mut out = vec![init; out_len];
        for row in src.chunks(out_len.max(1)) {
            for (o, &v) in out.iter_mut().zip(row) {
                *o = combine(*o, v);
            }
        }
        return Ok(wrap(out));
    }
    // General case: view the input as [kept.., reduced..] and fold each output's inner block.
    let perm: Vec<usize> = kept.iter().chain(axes).copied().collect();
    let p = l.permute(&perm);
    let (kept_shape, red_shape) = p.shape().split_at(kept.len());
    let (kept_strides, red_strides) = p.strides().split_at(kept.len());
    let inner = Layout::new(red_shape.to_vec(), red_strides.to_vec(), 0);
    let mut out = vec![init; out_len];
    fill(&mut out, kept_shape, [kept_strides], [p.offset()], &|[base]| {
        let mut acc = init;
        autodiff::layout::for_each_offset(&inner, |o| acc = combine(acc, data[base + o]));
        acc
    });
    Ok(wrap(out))
}

/// One matrix product per batch entry through matrixmultiply, strides passed straight through.
fn matmul_kernel<T: Float>(a: &Storage, la: &Layout, b: &Storage, lb: &Layout, gemm: Gemm<T>) -> Result<Storage> {
    check_bounds("matmul", a, la)?;
    check_bounds("matmul", b, lb)?;
    let (da, db) = (slice::<T>(a)?, slice::<T>(b)?);
    let r = la.rank();
    let (m, k, n) = (la.shape()[r - 2], la.shape()[r - 1], lb.shape()[r - 1]);
    let batch_shape = &la.shape()[..r - 2];
    let batch: usize = batch_shape.iter().product();
    let mut out = vec![T::zero(); batch * m * n];
    if m == 0 || n == 0 || k == 0 {
        return Ok(wrap(out));
    }
    // Storage offsets of every batch entry of both operands.
    let offsets = |l: &Layout| {
        let mut v = Vec::with_capacity(batch);
        let bl = Layout::new(batch_shape.to_vec(), l.strides()[..r - 2].to_vec(), l.offset());
        autodiff::layout::for_each_offset(&bl, |o| v.push(o));
        v
    };
    let (oa, ob) = (offsets(la), offsets(lb));
    let (sa, sb) = (&la.strides()[r - 2..], &lb.strides()[r - 2..]);
    for (i, c) in out.chunks_mut(m * n).enumerate() {
        // SAFETY: matrixmultiply reads A at oa[i] + p*sa[0] + q*sa[1] for p < m, q < k, which is
        // at most la.max_index_bound() - 1 < da.len() (checked above); likewise for B. C is a
        // distinct, exclusively borrowed chunk of m*n elements written with strides (n, 1).
        unsafe {
            gemm(
                m,
                k,
                n,
                T::one(),
                da.as_ptr().add(oa[i]),
                sa[0] as isize,
                sa[1] as isize,
                db.as_ptr().add(ob[i]),
                sb[0] as isize,
                sb[1] as isize,
                T::zero(),
                c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
    }
    Ok(wrap(out))
}

type Gemm<T> =
    unsafe fn(usize, usize, usize, T, *const T, isize, isize, *const T, isize, isize, T, *mut T, isize, isize);

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

fn index_add_kernel<T: Float>(src: &Storage, l: &Layout, axis: usize, idx: &[usize], shape: &[usize]) -> Result<Storage> {
    let g = gather(slice::<T>(src)?, l);
    let (outer, len, inner) = split(shape, axis);
    let mut out = vec![T::zero(); outer * len * inner];
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

fn random_kernel<T: Float>(dist: Distribution, seed: u64, counter: u64, len: usize, f32_math: bool) -> Storage {
    let draw = move |i: usize| -> T {
        let w = words(seed, counter.wrapping_add(i as u64));
        let (unit, normal) = if f32_math {
            (f64::from(unit_f32(w[0])), f64::from(normal_f32(w)))
        } else {
            (unit_f64(w[0], w[1]), normal_f64(w))
        };
        T::of(match dist {
            Distribution::Uniform { lo, hi } => lo + (hi - lo) * unit,
            Distribution::Normal { mean, std } => mean + std * normal,
            Distribution::Rademacher => {
                if w[3] & 1 == 1 {
                    1.0
                } else {
                    -1.0
                }
            }
        })
    };
    let v: Vec<T> = if len >= PAR_THRESHOLD {
        (0..len).into_par_iter().with_min_len(4096).map(draw).collect()
    } else {
        (0..len).map(draw).collect()
    };
    wrap(v)
}

fn adam_kernel<T: Float>(p: &mut Storage, g: &Storage, m: &mut Storage, v: &mut Storage, hp: &AdamParams) -> Result<()> {
    let g = slice::<T>(g)?;
    let (p, m, v) = (slice_mut::<T>(p)?, slice_mut::<T>(m)?, slice_mut::<T>(v)?);
    if p.len() != g.len() || m.len() != g.len() || v.len() != g.len() {
        return Err(err("adam_step: parameter, gradient and moments differ in length"));
    }
    let t = hp.step.max(1) as i32;
    let c = T::of;
    let (b1, b2, eps) = (c(hp.beta1), c(hp.beta2), c(hp.eps));
    let bc1 = c(1.0 - hp.beta1.powi(t));
    let bc2_sqrt = c((1.0 - hp.beta2.powi(t)).sqrt());
    let step = c(hp.lr) / bc1;
    let decay = c(1.0 - hp.lr * hp.weight_decay);
    let one = T::one();
    for i in 0..p.len() {
        let gi = g[i];
        m[i] = b1 * m[i] + (one - b1) * gi;
        v[i] = b2 * v[i] + (one - b2) * gi * gi;
        // AdamW: decoupled decay first, then the bias-corrected Adam step (PyTorch's order).
        p[i] = p[i] * decay - step * m[i] / (v[i].sqrt() / bc2_sqrt + eps);
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
        Ok(with_dtype!(dtype, T => wrap(vec![T::of(value); len])))
    }

    fn copy(&self, s: &Storage, l: &Layout) -> Result<Storage> {
        check_bounds("copy", s, l)?;
        with_dtype!(s.dtype(), T => Ok(wrap(gather(slice::<T>(s)?, l).into_owned())))
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
            DType::F32 => matmul_kernel::<f32>(a, la, b, lb, matrixmultiply::sgemm),
            DType::F64 => matmul_kernel::<f64>(a, la, b, lb, matrixmultiply::dgemm),
        }
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
        Ok(with_dtype!(dtype, T => random_kernel::<T>(dist, seed, counter, len, dtype == DType::F32)))
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
