//! `autodiff::Backend` for wgpu: host-side planning (shape collapsing, grid sizes, parameter
//! blocks) for the WGSL kernels in `shaders`.

use crate::context::{device_name, err, Context, WORKGROUP};
use crate::shaders;
use crate::storage::{gpu, WgpuStorage};
use autodiff::{
    AdamParams, Backend, BinaryOp, DType, Distribution, Error, HostData, Layout, ReduceOp, Result, Storage, UnaryOp,
};
use std::sync::Arc;

/// Highest rank a kernel accepts after size-1 axes are dropped and mergeable axes fused.
pub const MAX_RANK: usize = 16;

#[derive(Debug)]
pub(crate) struct WgpuBackend {
    ctx: Arc<Context>,
    name: String,
}

impl WgpuBackend {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        WgpuBackend { name: device_name(&ctx), ctx }
    }
}

fn f32_only(op: &str, dtype: DType) -> Result<()> {
    if dtype == DType::F32 {
        Ok(())
    } else {
        Err(Error::DType { op: "wgpu", msg: format!("{op}: the wgpu backend holds f32 only, not {dtype}") })
    }
}

fn check_bounds(op: &str, s: &WgpuStorage, l: &Layout) -> Result<()> {
    use autodiff::BackendStorage;
    if l.max_index_bound() > s.len() {
        return Err(err(format!("{op}: layout {:?} reaches past a buffer of {} elements", l.shape(), s.len())));
    }
    Ok(())
}

fn u32s(v: &[usize]) -> impl Iterator<Item = u32> + '_ {
    // Every value here is an index below a storage length, which `alloc` keeps below 2^32.
    v.iter().map(|&x| x as u32)
}

/// Drops size-1 axes and fuses neighbouring axes that every operand walks as one (the outer
/// stride equals inner stride times inner size), so a contiguous or row-broadcast view becomes
/// a rank-1 or rank-2 walk. Returns the shape and each operand's strides.
fn collapse(shape: &[usize], strides: &[&[usize]]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut out_shape: Vec<usize> = Vec::with_capacity(shape.len());
    let mut out_strides: Vec<Vec<usize>> = vec![Vec::with_capacity(shape.len()); strides.len()];
    for (ax, &d) in shape.iter().enumerate() {
        if d == 1 {
            continue;
        }
        let fuse = match out_shape.last() {
            Some(_) => strides.iter().zip(&out_strides).all(|(s, o)| o.last() == Some(&(s[ax] * d))),
            None => false,
        };
        if fuse {
            if let Some(last) = out_shape.last_mut() {
                *last *= d;
            }
            for (s, o) in strides.iter().zip(out_strides.iter_mut()) {
                if let Some(last) = o.last_mut() {
                    *last = s[ax];
                }
            }
        } else {
            out_shape.push(d);
            for (s, o) in strides.iter().zip(out_strides.iter_mut()) {
                o.push(s[ax]);
            }
        }
    }
    (out_shape, out_strides)
}

impl WgpuBackend {
    fn gpu<'a>(&self, s: &'a Storage) -> Result<&'a WgpuStorage> {
        gpu(s, &self.ctx)
    }

    fn out(&self, len: usize, what: &str) -> Result<WgpuStorage> {
        WgpuStorage::alloc(&self.ctx, len, what)
    }

    /// Workgroups for a 1-D problem of `n` elements. The kernels loop with a grid stride, so
    /// this caps the count: a GPU still gets thousands of workgroups, a software adapter (where
    /// each workgroup is a task with a fixed cost) a few per core.
    fn grid(&self, n: usize) -> Result<[u32; 3]> {
        let cap = if self.ctx.cpu_tuning { 32 } else { 8192 };
        let max = self.ctx.limits.max_compute_workgroups_per_dimension as usize;
        Ok([n.div_ceil(WORKGROUP as usize).clamp(1, cap.min(max)) as u32, 1, 1])
    }

    /// Runs an element-wise kernel: `out` (with its own strides and offset) gets `op(inputs)`
    /// over `shape`.
    fn map(
        &self,
        key: &str,
        body: &str,
        scalars: [f32; 4],
        shape: &[usize],
        out: (&WgpuStorage, &[usize], usize),
        inputs: &[(&WgpuStorage, &Layout)],
    ) -> Result<()> {
        let n: usize = shape.iter().product();
        if n == 0 {
            return Ok(());
        }
        let mut all: Vec<&[usize]> = vec![out.1];
        all.extend(inputs.iter().map(|(_, l)| l.strides()));
        let (mut cshape, mut cstrides) = collapse(shape, &all);
        if cshape.is_empty() {
            // A single element: a rank-1 walk of length 1.
            cshape.push(1);
            cstrides.iter_mut().for_each(|s| s.push(0));
        }
        if cshape.len() > MAX_RANK {
            return Err(err(format!(
                "{key}: rank {} after merging axes exceeds the wgpu kernels' {MAX_RANK}",
                cshape.len()
            )));
        }
        let offsets: Vec<usize> = std::iter::once(out.2).chain(inputs.iter().map(|(_, l)| l.offset())).collect();
        let mut p: Vec<u32> = vec![n as u32, cshape.len() as u32];
        p.extend(scalars.iter().map(|x| x.to_bits()));
        p.extend(u32s(&cshape));
        for (off, strides) in offsets.iter().zip(&cstrides) {
            p.push(*off as u32);
            p.extend(u32s(strides));
        }
        let nin = inputs.len();
        let flat = cshape.len() == 1;
        let kernel = self.ctx.kernel(&format!("map{nin}:{key}:{}", if flat { "flat" } else { "strided" }), || {
            shaders::elementwise(nin, body, flat)
        })?;
        let mut binds = vec![out.0.bind()?];
        for (s, _) in inputs {
            binds.push(s.bind()?);
        }
        self.ctx.dispatch(&kernel, &p, &binds, self.grid(n)?)
    }

    /// A new contiguous tensor of `op(inputs)`.
    fn map_new(&self, key: &str, body: &str, scalars: [f32; 4], inputs: &[(&Storage, &Layout)]) -> Result<Storage> {
        let (_, first) = inputs.first().ok_or_else(|| err("internal: map without inputs"))?;
        let shape = first.shape();
        let mut gpus = Vec::with_capacity(inputs.len());
        for (s, l) in inputs {
            let g = self.gpu(s)?;
            check_bounds(key, g, l)?;
            if l.shape() != shape {
                return Err(err(format!("{key}: operand shapes {:?} and {shape:?} differ", l.shape())));
            }
            gpus.push((g, *l));
        }
        let n = first.numel();
        let out = self.out(n, key)?;
        let strides = autodiff::layout::contiguous_strides(shape);
        self.map(key, body, scalars, shape, (&out, &strides, 0), &gpus)?;
        Ok(Arc::new(out))
    }

    fn fill(&self, value: f32, len: usize) -> Result<WgpuStorage> {
        let out = self.out(len, "full")?;
        self.map("fill", "return s(0);", [value, 0.0, 0.0, 0.0], &[len], (&out, &[1], 0), &[])?;
        Ok(out)
    }

    /// Reduces `x` over the axes (`red_shape`, `red_strides`) for every position of the kept
    /// axes, writing a contiguous tensor over the kept shape.
    #[allow(clippy::too_many_arguments)]
    fn reduce_into(
        &self,
        op: ReduceOp,
        x: &WgpuStorage,
        offset: usize,
        kept: (&[usize], &[usize]),
        red: (&[usize], &[usize]),
        out: &WgpuStorage,
    ) -> Result<()> {
        let out_len: usize = kept.0.iter().product();
        let red_len: usize = red.0.iter().product();
        let init = match op {
            ReduceOp::Sum => 0.0f32,
            ReduceOp::Max => f32::NEG_INFINITY,
            ReduceOp::Min => f32::INFINITY,
        };
        if out_len == 0 {
            return Ok(());
        }
        if red_len == 0 {
            return self.map("fill", "return s(0);", [init, 0.0, 0.0, 0.0], &[out_len], (out, &[1], 0), &[]);
        }
        let (kshape, kstrides) = collapse(kept.0, &[kept.1]);
        let (mut rshape, mut rstrides) = collapse(red.0, &[red.1]);
        let mut rstrides = rstrides.pop().unwrap_or_default();
        if rshape.is_empty() {
            rshape.push(1);
            rstrides.push(0);
        }
        let kstrides = &kstrides[0];
        if kshape.len() > MAX_RANK || rshape.len() > MAX_RANK {
            return Err(err(format!("reduce: rank exceeds the wgpu kernels' {MAX_RANK}")));
        }
        let mut p = vec![
            out_len as u32,
            red_len as u32,
            kshape.len() as u32,
            rshape.len() as u32,
            offset as u32,
            init.to_bits(),
        ];
        p.extend(u32s(&kshape));
        p.extend(u32s(kstrides));
        p.extend(u32s(&rshape));
        p.extend(u32s(&rstrides));
        let name = match op {
            ReduceOp::Sum => "sum",
            ReduceOp::Max => "max",
            ReduceOp::Min => "min",
        };
        let binds = [out.bind()?, x.bind()?];
        // Long reductions get a workgroup each on a GPU; short ones, and all of them on a
        // software adapter (where a workgroup barrier suspends every thread), a thread each.
        if !self.ctx.cpu_tuning && (red_len >= 256 || (red_len >= 32 && out_len <= 4096)) {
            let kernel = self.ctx.kernel(&format!("reduce_group:{name}"), || shaders::reduce_group(op))?;
            let max = self.ctx.limits.max_compute_workgroups_per_dimension as usize;
            let x = out_len.min(max);
            self.ctx.dispatch(&kernel, &p, &binds, [x as u32, out_len.div_ceil(x) as u32, 1])
        } else {
            let kernel = self.ctx.kernel(&format!("reduce_thread:{name}"), || shaders::reduce_thread(op))?;
            self.ctx.dispatch(&kernel, &p, &binds, self.grid(out_len)?)
        }
    }

    /// Uploads host indices as a u32 buffer.
    fn upload_u32(&self, values: &[u32], what: &str) -> Result<WgpuStorage> {
        let buf = WgpuStorage::alloc_words(&self.ctx, values.len(), what)?;
        self.ctx.upload(values, buf.buffer()?)?;
        Ok(buf)
    }

    fn indices(&self, indices: &[usize], what: &str) -> Result<Vec<u32>> {
        indices
            .iter()
            .map(|&i| u32::try_from(i).map_err(|_| err(format!("{what}: index {i} does not fit in 32 bits"))))
            .collect()
    }

    /// Makes `s` safe to update in place: a shared buffer is copied first.
    fn make_unique(&self, s: &mut Storage) -> Result<()> {
        if Arc::get_mut(s).is_none() {
            let len = s.len();
            *s = self.copy(s, &Layout::contiguous(&[len]))?;
        }
        Ok(())
    }
}

/// Whether the tiled matmul can load its tiles as vec4: A contiguous along k and B along n,
/// every row and batch entry of both starting on a 16-byte boundary, k and n multiples of 4, and
/// buffers whose sizes are whole vec4s.
fn tiles_vec4(la: &Layout, lb: &Layout, ga: &WgpuStorage, gb: &WgpuStorage) -> Result<bool> {
    let r = la.rank();
    let aligned = |l: &Layout| l.offset().is_multiple_of(4) && l.strides()[..r - 1].iter().all(|s| s.is_multiple_of(4));
    Ok(la.strides()[r - 1] == 1
        && lb.strides()[r - 1] == 1
        && la.shape()[r - 1].is_multiple_of(4)
        && lb.shape()[r - 1].is_multiple_of(4)
        && aligned(la)
        && aligned(lb)
        && ga.buffer()?.size().is_multiple_of(16)
        && gb.buffer()?.size().is_multiple_of(16))
}

impl Backend for WgpuBackend {
    fn name(&self) -> String {
        self.name.clone()
    }

    fn supports(&self, dtype: DType) -> bool {
        dtype == DType::F32
    }

    fn upload(&self, data: &HostData) -> Result<Storage> {
        let HostData::F32(values) = data else {
            return Err(Error::DType {
                op: "upload",
                msg: format!("the wgpu backend holds f32 only, not {}", data.dtype()),
            });
        };
        let out = self.out(values.len(), "upload")?;
        self.ctx.upload(bytemuck::cast_slice(values), out.buffer()?)?;
        Ok(Arc::new(out))
    }

    fn to_host(&self, storage: &Storage, layout: &Layout) -> Result<HostData> {
        let g = self.gpu(storage)?;
        check_bounds("to_host", g, layout)?;
        let n = layout.numel();
        let bytes = if layout.is_contiguous() {
            self.ctx.read(g.buffer()?, layout.offset() as u64 * 4, n as u64 * 4)?
        } else {
            let c = self.copy(storage, layout)?;
            let c = self.gpu(&c)?;
            self.ctx.read(c.buffer()?, 0, n as u64 * 4)?
        };
        Ok(HostData::F32(bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()))
    }

    fn full(&self, value: f64, len: usize, dtype: DType) -> Result<Storage> {
        f32_only("full", dtype)?;
        Ok(Arc::new(self.fill(value as f32, len)?))
    }

    fn copy(&self, storage: &Storage, layout: &Layout) -> Result<Storage> {
        self.map_new("copy", "return x0;", [0.0; 4], &[(storage, layout)])
    }

    fn cast(&self, storage: &Storage, layout: &Layout, dtype: DType) -> Result<Storage> {
        f32_only("cast", dtype)?;
        self.copy(storage, layout)
    }

    fn unary(&self, op: UnaryOp, x: &Storage, layout: &Layout) -> Result<Storage> {
        let (key, body) = shaders::unary_body(op);
        self.map_new(key, body, shaders::unary_scalars(op), &[(x, layout)])
    }

    fn binary(&self, op: BinaryOp, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        let (key, body) = shaders::binary_body(op);
        self.map_new(key, body, [0.0; 4], &[(a, la), (b, lb)])
    }

    fn select(
        &self,
        mask: &Storage,
        lm: &Layout,
        a: &Storage,
        la: &Layout,
        b: &Storage,
        lb: &Layout,
    ) -> Result<Storage> {
        self.map_new("select", "return select(x2, x1, x0 != 0.0);", [0.0; 4], &[(mask, lm), (a, la), (b, lb)])
    }

    fn reduce(&self, op: ReduceOp, x: &Storage, layout: &Layout, axes: &[usize]) -> Result<Storage> {
        let g = self.gpu(x)?;
        check_bounds("reduce", g, layout)?;
        if axes.iter().any(|&a| a >= layout.rank()) {
            return Err(err(format!("reduce: axes {axes:?} out of range for rank {}", layout.rank())));
        }
        let (shape, strides) = (layout.shape(), layout.strides());
        let pick = |keep: bool| -> (Vec<usize>, Vec<usize>) {
            (0..layout.rank()).filter(|a| axes.contains(a) != keep).map(|a| (shape[a], strides[a])).unzip()
        };
        let (kshape, kstrides) = pick(true);
        let (rshape, rstrides) = pick(false);
        let out = self.out(kshape.iter().product(), "reduce")?;
        self.reduce_into(op, g, layout.offset(), (&kshape, &kstrides), (&rshape, &rstrides), &out)?;
        Ok(Arc::new(out))
    }

    fn matmul(&self, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        let (ga, gb) = (self.gpu(a)?, self.gpu(b)?);
        check_bounds("matmul", ga, la)?;
        check_bounds("matmul", gb, lb)?;
        let r = la.rank();
        if r < 2
            || lb.rank() != r
            || la.shape()[..r - 2] != lb.shape()[..r - 2]
            || la.shape()[r - 1] != lb.shape()[r - 2]
        {
            return Err(err(format!("matmul: layouts {:?} and {:?} do not multiply", la.shape(), lb.shape())));
        }
        let (m, k, n) = (la.shape()[r - 2], la.shape()[r - 1], lb.shape()[r - 1]);
        let batch_shape = &la.shape()[..r - 2];
        let batch: usize = batch_shape.iter().product();
        let out = self.out(batch * m * n, "matmul")?;
        if batch * m * n == 0 {
            return Ok(Arc::new(out));
        }
        if k == 0 {
            self.map("fill", "return s(0);", [0.0; 4], &[batch * m * n], (&out, &[1], 0), &[])?;
            return Ok(Arc::new(out));
        }
        let (bshape, bstrides) = collapse(batch_shape, &[&la.strides()[..r - 2], &lb.strides()[..r - 2]]);
        if bshape.len() > MAX_RANK {
            return Err(err(format!("matmul: batch rank exceeds the wgpu kernels' {MAX_RANK}")));
        }
        let skinny = n <= 4;
        let (gx, gy) = if skinny { (m.div_ceil(64), 1) } else { (n.div_ceil(64), m.div_ceil(64)) };
        // Too few tiles to fill a GPU and a long k: split k, then sum the partial products.
        let tiles = gx * gy * batch;
        let mut splits = if tiles < 32 && k >= 512 { (64 / tiles).clamp(1, k / 256) } else { 1 };
        let chunk = k.div_ceil(splits).div_ceil(16) * 16;
        splits = k.div_ceil(chunk);
        let partial = if splits > 1 { Some(self.out(splits * batch * m * n, "matmul")?) } else { None };
        let target = partial.as_ref().unwrap_or(&out);
        let (kernel, key) = if skinny {
            (self.ctx.kernel("matmul_skinny", shaders::matmul_skinny)?, "skinny")
        } else if self.ctx.cpu_tuning {
            (self.ctx.kernel("matmul_register", shaders::matmul_register)?, "register")
        } else if tiles_vec4(la, lb, ga, gb)? {
            (self.ctx.kernel("matmul_tiled_vec4", || shaders::matmul_tiled(true))?, "tiled_vec4")
        } else {
            (self.ctx.kernel("matmul_tiled", || shaders::matmul_tiled(false))?, "tiled")
        };
        let max = self.ctx.limits.max_compute_workgroups_per_dimension as usize;
        if gx > max || gy > max || splits > max {
            return Err(err(format!("matmul ({key}): {m}x{k} @ {k}x{n} needs more workgroups than a dispatch holds")));
        }
        let per_dispatch = (max / splits).max(1);
        let (sa, sb) = (la.strides(), lb.strides());
        let mut base = 0;
        while base < batch {
            let count = per_dispatch.min(batch - base);
            let mut p: Vec<u32> = vec![
                m as u32,
                n as u32,
                k as u32,
                la.offset() as u32,
                sa[r - 2] as u32,
                sa[r - 1] as u32,
                lb.offset() as u32,
                sb[r - 2] as u32,
                sb[r - 1] as u32,
                splits as u32,
                chunk as u32,
                batch as u32,
                base as u32,
                bshape.len() as u32,
            ];
            p.extend(u32s(&bshape));
            p.extend(u32s(&bstrides[0]));
            p.extend(u32s(&bstrides[1]));
            let (mut a_bind, mut b_bind) = (ga.bind()?, gb.bind()?);
            if key == "tiled_vec4" {
                // A vec4 array binds whole vec4s (the buffers' sizes were checked to allow it).
                a_bind.bytes = a_bind.bytes.div_ceil(16) * 16;
                b_bind.bytes = b_bind.bytes.div_ceil(16) * 16;
            }
            let binds = [target.bind()?, a_bind, b_bind];
            self.ctx.dispatch(&kernel, &p, &binds, [gx as u32, gy as u32, (count * splits) as u32])?;
            base += count;
        }
        if let Some(partial) = &partial {
            let len = batch * m * n;
            self.reduce_into(ReduceOp::Sum, partial, 0, (&[len], &[1]), (&[splits], &[len]), &out)?;
        }
        Ok(Arc::new(out))
    }

    fn concat(&self, parts: &[(&Storage, &Layout)], axis: usize) -> Result<Storage> {
        let (_, first) = parts.first().ok_or_else(|| err("concat of nothing"))?;
        let mut shape = first.shape().to_vec();
        if axis >= shape.len() {
            return Err(err(format!("concat: axis {axis} out of range for {shape:?}")));
        }
        let agree = |l: &Layout| {
            l.rank() == shape.len() && l.shape().iter().zip(&shape).enumerate().all(|(i, (a, b))| i == axis || a == b)
        };
        if let Some((_, bad)) = parts.iter().find(|(_, l)| !agree(l)) {
            return Err(err(format!("concat: part {:?} does not match {shape:?} off axis {axis}", bad.shape())));
        }
        shape[axis] = parts.iter().map(|(_, l)| l.shape()[axis]).sum();
        let out = self.out(shape.iter().product(), "concat")?;
        let strides = autodiff::layout::contiguous_strides(&shape);
        let mut start = 0;
        for (s, l) in parts {
            let g = self.gpu(s)?;
            check_bounds("concat", g, l)?;
            self.map("copy", "return x0;", [0.0; 4], l.shape(), (&out, &strides, start * strides[axis]), &[(g, l)])?;
            start += l.shape()[axis];
        }
        Ok(Arc::new(out))
    }

    fn index_select(&self, x: &Storage, layout: &Layout, axis: usize, indices: &[usize]) -> Result<Storage> {
        let g = self.gpu(x)?;
        check_bounds("index_select", g, layout)?;
        if axis >= layout.rank() || indices.iter().any(|&i| i >= layout.shape()[axis]) {
            return Err(err("index_select: index out of range"));
        }
        let mut shape = layout.shape().to_vec();
        shape[axis] = indices.len();
        let n: usize = shape.iter().product();
        let out = self.out(n, "index_select")?;
        if n == 0 {
            return Ok(Arc::new(out));
        }
        if shape.len() > MAX_RANK {
            return Err(err(format!("index_select: rank {} exceeds the wgpu kernels' {MAX_RANK}", shape.len())));
        }
        let idx = self.upload_u32(&self.indices(indices, "index_select")?, "index_select")?;
        let mut p = vec![n as u32, shape.len() as u32, axis as u32, layout.offset() as u32];
        p.extend(u32s(&shape));
        p.extend(u32s(layout.strides()));
        let kernel = self.ctx.kernel("index_select", shaders::index_select)?;
        self.ctx.dispatch(&kernel, &p, &[out.bind()?, g.bind()?, idx.bind()?], self.grid(n)?)?;
        Ok(Arc::new(out))
    }

    fn index_add(
        &self,
        src: &Storage,
        layout: &Layout,
        axis: usize,
        indices: &[usize],
        shape: &[usize],
    ) -> Result<Storage> {
        let g = self.gpu(src)?;
        check_bounds("index_add", g, layout)?;
        if axis >= shape.len()
            || layout.rank() != shape.len()
            || layout.shape()[axis] != indices.len()
            || indices.iter().any(|&i| i >= shape[axis])
        {
            return Err(err("index_add: indices do not match the shapes"));
        }
        if shape.len() > MAX_RANK {
            return Err(err(format!("index_add: rank {} exceeds the wgpu kernels' {MAX_RANK}", shape.len())));
        }
        let n: usize = shape.iter().product();
        let out = self.out(n, "index_add")?;
        if n == 0 {
            return Ok(Arc::new(out));
        }
        // Invert the index list (CSR, positions ascending) so each output sums its own sources.
        let mut starts = vec![0u32; shape[axis] + 1];
        for &i in indices {
            starts[i + 1] += 1;
        }
        for t in 0..shape[axis] {
            starts[t + 1] += starts[t];
        }
        let mut next = starts.clone();
        let mut js = vec![0u32; indices.len().max(1)];
        for (j, &i) in indices.iter().enumerate() {
            js[next[i] as usize] = j as u32;
            next[i] += 1;
        }
        let starts = self.upload_u32(&starts, "index_add")?;
        let js = self.upload_u32(&js, "index_add")?;
        let mut p = vec![n as u32, shape.len() as u32, axis as u32, layout.offset() as u32];
        p.extend(u32s(shape));
        p.extend(u32s(layout.strides()));
        let kernel = self.ctx.kernel("index_add", shaders::index_add)?;
        self.ctx.dispatch(&kernel, &p, &[out.bind()?, g.bind()?, starts.bind()?, js.bind()?], self.grid(n)?)?;
        Ok(Arc::new(out))
    }

    fn random(&self, dist: Distribution, seed: u64, counter: u64, len: usize, dtype: DType) -> Result<Storage> {
        f32_only("random", dtype)?;
        let out = self.out(len, "random")?;
        if len == 0 {
            return Ok(Arc::new(out));
        }
        let (kind, a, b) = match dist {
            Distribution::Uniform { lo, hi } => (0u32, lo as f32, (hi - lo) as f32),
            Distribution::Normal { mean, std } => (1, mean as f32, std as f32),
            Distribution::Rademacher => (2, 0.0, 0.0),
        };
        let p = [
            len as u32,
            seed as u32,
            (seed >> 32) as u32,
            counter as u32,
            (counter >> 32) as u32,
            kind,
            a.to_bits(),
            b.to_bits(),
        ];
        let kernel = self.ctx.kernel("random", shaders::random)?;
        self.ctx.dispatch(&kernel, &p, &[out.bind()?], self.grid(len)?)?;
        Ok(Arc::new(out))
    }

    fn adam_step(
        &self,
        param: &mut Storage,
        grad: &Storage,
        m: &mut Storage,
        v: &mut Storage,
        hp: &AdamParams,
    ) -> Result<()> {
        let n = grad.len();
        if param.len() != n || m.len() != n || v.len() != n {
            return Err(err("adam_step: parameter, gradient and moments differ in length"));
        }
        self.make_unique(param)?;
        self.make_unique(m)?;
        self.make_unique(v)?;
        let (gp, gg, gm, gv) = (self.gpu(param)?, self.gpu(grad)?, self.gpu(m)?, self.gpu(v)?);
        // The same f64 -> f32 roundings as the CPU kernel.
        let (bc1, bc2_sqrt) = hp.bias_corrections();
        let bc1 = bc1 as f32;
        let p = [
            n as u32,
            (hp.beta1 as f32).to_bits(),
            (hp.beta2 as f32).to_bits(),
            (hp.eps as f32).to_bits(),
            (hp.lr as f32 / bc1).to_bits(),
            (bc2_sqrt as f32).to_bits(),
            ((1.0 - hp.lr * hp.weight_decay) as f32).to_bits(),
        ];
        let kernel = self.ctx.kernel("adam", shaders::adam)?;
        self.ctx.dispatch(&kernel, &p, &[gp.bind()?, gg.bind()?, gm.bind()?, gv.bind()?], self.grid(n)?)
    }

    fn sgd_step(
        &self,
        param: &mut Storage,
        grad: &Storage,
        velocity: Option<&mut Storage>,
        lr: f64,
        momentum: f64,
        weight_decay: f64,
    ) -> Result<()> {
        let n = grad.len();
        if param.len() != n || velocity.as_ref().is_some_and(|v| v.len() != n) {
            return Err(err("sgd_step: parameter, gradient and velocity differ in length"));
        }
        self.make_unique(param)?;
        let p = [n as u32, (lr as f32).to_bits(), (momentum as f32).to_bits(), (weight_decay as f32).to_bits()];
        let (gp, gg) = (self.gpu(param)?, self.gpu(grad)?);
        match velocity {
            Some(vel) => {
                self.make_unique(vel)?;
                let gv = self.gpu(vel)?;
                let kernel = self.ctx.kernel("sgd_momentum", || shaders::sgd(true))?;
                self.ctx.dispatch(&kernel, &p, &[gp.bind()?, gg.bind()?, gv.bind()?], self.grid(n)?)
            }
            None => {
                let kernel = self.ctx.kernel("sgd", || shaders::sgd(false))?;
                self.ctx.dispatch(&kernel, &p, &[gp.bind()?, gg.bind()?], self.grid(n)?)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::collapse;

    #[test]
    fn collapse_merges_contiguous_and_drops_unit_axes() {
        let (s, st) = collapse(&[2, 1, 3, 4], &[&[12, 12, 4, 1]]);
        assert_eq!((s, st), (vec![24], vec![vec![1]]));
        // A row broadcast stays two axes: the broadcast operand restarts every row.
        let (s, st) = collapse(&[5, 3], &[&[3, 1], &[0, 1]]);
        assert_eq!((s, st), (vec![5, 3], vec![vec![3, 1], vec![0, 1]]));
        // A transpose does not merge.
        let (s, _) = collapse(&[3, 2], &[&[1, 3]]);
        assert_eq!(s, vec![3, 2]);
        // A scalar broadcast to a matrix is one axis of stride 0.
        let (s, st) = collapse(&[4, 5], &[&[5, 1], &[0, 0]]);
        assert_eq!((s, st), (vec![20], vec![vec![1], vec![0]]));
    }
}
