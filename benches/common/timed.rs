//! A timing wrapper around the CPU backend, for `train_step`: the time spent in products (the
//! matmul share of a step) always, and with `--ops` the time of every op by name and shapes.

use sigmagrad::{
    AdamParams, Backend, BinaryOp, DType, DenseActivation, Distribution, HostData, Layout, ReduceOp, Result, Storage,
    UnaryOp,
};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

#[derive(Debug)]
pub struct Timed {
    inner: backend_cpu::CpuBackend,
    pub matmul_ns: AtomicU64,
    /// `--ops`: wall time and calls per op and shape, while Some (and `recording`, which the
    /// other modes read instead of the lock).
    pub ops: Mutex<Option<BTreeMap<String, (u64, u64)>>>,
    pub recording: AtomicBool,
}

impl Timed {
    pub fn new() -> Timed {
        Timed {
            inner: backend_cpu::CpuBackend,
            matmul_ns: AtomicU64::new(0),
            ops: Mutex::new(None),
            recording: AtomicBool::new(false),
        }
    }

    /// Runs `work`, adding its time to the op named by `name()` when ops are being recorded.
    fn op<R>(&self, name: impl FnOnce() -> String, work: impl FnOnce() -> R) -> R {
        if !self.recording.load(Ordering::Relaxed) {
            return work();
        }
        let t = Instant::now();
        let r = work();
        let ns = t.elapsed().as_nanos() as u64;
        if let Ok(mut guard) = self.ops.lock() {
            if let Some(ops) = guard.as_mut() {
                let e = ops.entry(name()).or_default();
                (e.0, e.1) = (e.0 + ns, e.1 + 1);
            }
        }
        r
    }

    /// Runs `work`, a product, adding its time to `matmul_ns`.
    fn product<R>(&self, work: impl FnOnce() -> R) -> R {
        let t = Instant::now();
        let r = work();
        self.matmul_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        r
    }
}

macro_rules! forward {
    ($self:ident . $m:ident ( $($a:expr),* )) => { $self.op(|| stringify!($m).to_string(), || $self.inner.$m($($a),*)) };
    ($self:ident . $m:ident ( $($a:expr),* ) as $name:expr) => { $self.op(|| $name, || $self.inner.$m($($a),*)) };
}

impl Backend for Timed {
    fn name(&self) -> String {
        "cpu (timed)".into()
    }
    fn supports(&self, d: DType) -> bool {
        forward!(self.supports(d))
    }
    fn upload(&self, d: &HostData) -> Result<Storage> {
        forward!(self.upload(d))
    }
    fn to_host(&self, s: &Storage, l: &Layout) -> Result<HostData> {
        forward!(self.to_host(s, l))
    }
    fn full(&self, v: f64, n: usize, d: DType) -> Result<Storage> {
        forward!(self.full(v, n, d))
    }
    fn copy(&self, s: &Storage, l: &Layout) -> Result<Storage> {
        forward!(self.copy(s, l))
    }
    fn cast(&self, s: &Storage, l: &Layout, d: DType) -> Result<Storage> {
        forward!(self.cast(s, l, d))
    }
    fn unary(&self, op: UnaryOp, s: &Storage, l: &Layout) -> Result<Storage> {
        forward!(self.unary(op, s, l) as format!("{op:?} {:?}", l.shape()))
    }
    fn binary(&self, op: BinaryOp, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        forward!(self.binary(op, a, la, b, lb) as format!("{op:?} {:?} {:?}", la.shape(), lb.shape()))
    }
    fn select(&self, m: &Storage, lm: &Layout, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        forward!(self.select(m, lm, a, la, b, lb))
    }
    fn reduce(&self, op: ReduceOp, s: &Storage, l: &Layout, axes: &[usize]) -> Result<Storage> {
        forward!(self.reduce(op, s, l, axes) as format!("reduce {op:?} {:?} over {axes:?}", l.shape()))
    }
    fn matmul(&self, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        self.product(|| forward!(self.matmul(a, la, b, lb) as format!("matmul {:?} x {:?}", la.shape(), lb.shape())))
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
        self.product(|| {
            forward!(self.matmul_add(a, la, b, lb, c, lc) as format!("matmul_add {:?} x {:?}", la.shape(), lb.shape()))
        })
    }
    // The fused dense layer counts as product time: its output pass (bias and activation) runs
    // on each block of C inside the product and cannot be timed apart.
    fn dense(
        &self,
        a: &Storage,
        la: &Layout,
        b: &Storage,
        lb: &Layout,
        bias: Option<(&Storage, &Layout)>,
        act: DenseActivation,
    ) -> Result<(Storage, Option<Storage>)> {
        self.product(|| {
            forward!(self.dense(a, la, b, lb, bias, act)
                as format!("dense {:?} x {:?} ({:?})", la.shape(), lb.shape(), act.f))
        })
    }
    fn dense_grad(
        &self,
        act: DenseActivation,
        g: &Storage,
        saved: Option<&Storage>,
        shape: &[usize],
    ) -> Result<Storage> {
        forward!(self.dense_grad(act, g, saved, shape) as format!("dense_grad {shape:?} ({:?})", act.f))
    }
    fn concat(&self, parts: &[(&Storage, &Layout)], axis: usize) -> Result<Storage> {
        forward!(self.concat(parts, axis))
    }
    fn index_select(&self, s: &Storage, l: &Layout, axis: usize, idx: &[usize]) -> Result<Storage> {
        forward!(self.index_select(s, l, axis, idx))
    }
    fn index_add(&self, s: &Storage, l: &Layout, axis: usize, idx: &[usize], shape: &[usize]) -> Result<Storage> {
        forward!(self.index_add(s, l, axis, idx, shape))
    }
    fn random(&self, d: Distribution, seed: u64, c: u64, n: usize, dt: DType) -> Result<Storage> {
        forward!(self.random(d, seed, c, n, dt))
    }
    fn adam_step(&self, p: &mut Storage, g: &Storage, m: &mut Storage, v: &mut Storage, hp: &AdamParams) -> Result<()> {
        forward!(self.adam_step(p, g, m, v, hp))
    }
    fn sgd_step(&self, p: &mut Storage, g: &Storage, v: Option<&mut Storage>, lr: f64, mo: f64, wd: f64) -> Result<()> {
        forward!(self.sgd_step(p, g, v, lr, mo, wd))
    }
}
