//! One training step of the calibration-sized MLP, 15 -> 64 -> 64 -> 64 -> 2 with ReLU, batch
//! 1024, MSE loss and plain SGD, written with raw autodiff ops (no nn crate): steps per second
//! and the share of each phase (forward with the loss, backward, parameter update).
//!
//! For scale it also times the step's matrix products alone, through bare
//! `matrixmultiply::sgemm` with the same shapes and strides: the floor a step cannot go below
//! without a faster gemm. Everything above it is element-wise work and overhead.
//!
//!     cargo bench --bench mlp_step [-- --json FILE] [-- --quick]

mod common;

use common::{black_box, fmt_time, measure, BenchResult, Options, Report, Timing};
use sigmagrad::{cpu, DType, Device, Gradients, Rng, Tensor, Var};
use std::time::Instant;

const WIDTHS: [usize; 5] = [15, 64, 64, 64, 2];
const BATCH: usize = 1024;
const LR: f64 = 1e-3;

struct Mlp {
    /// (weight [in, out], bias [out]) per layer.
    layers: Vec<(Var, Var)>,
}

impl Mlp {
    fn new(rng: &mut Rng, dev: &Device) -> BenchResult<Mlp> {
        let mut layers = Vec::new();
        for w in WIDTHS.windows(2) {
            let weight = rng.normal(&[w[0], w[1]], DType::F32, dev)?.mul_scalar((2.0 / w[0] as f64).sqrt())?;
            let bias = Tensor::zeros(&[w[1]], DType::F32, dev)?;
            layers.push((Var::new(&weight)?, Var::new(&bias)?));
        }
        Ok(Mlp { layers })
    }

    fn loss(&self, x: &Tensor, y: &Tensor) -> sigmagrad::Result<Tensor> {
        let mut h = x.clone();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            h = h.matmul(&w.tensor())?.add(&b.tensor())?;
            if i + 1 < self.layers.len() {
                h = h.relu()?;
            }
        }
        h.sub(y)?.square()?.mean_all()
    }

    fn update(&self, grads: &Gradients) -> sigmagrad::Result<()> {
        for p in self.layers.iter().flat_map(|(w, b)| [w, b]) {
            if let Some(g) = grads.get_id(p.id()) {
                let g = g.contiguous()?;
                let dev = g.device().clone();
                p.update_storage(|s| dev.backend().sgd_step(s, g.storage(), None, LR, 0.0, 0.0))?;
            }
        }
        Ok(())
    }
}

/// C = op(A) op(B) through bare sgemm, where a transposed operand is read through its strides
/// exactly as sigmagrad passes `t()` views.
struct RawGemm {
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    a: Vec<f32>,
    b: Vec<f32>,
    c: Vec<f32>,
}

impl RawGemm {
    fn new(m: usize, k: usize, n: usize, ta: bool, tb: bool) -> RawGemm {
        let fill = |len: usize| (0..len).map(|i| ((i % 17) as f32 - 8.0) * 0.01).collect::<Vec<_>>();
        RawGemm { m, k, n, ta, tb, a: fill(m * k), b: fill(k * n), c: vec![0.0; m * n] }
    }

    fn run(&mut self) {
        let (m, k, n) = (self.m, self.k, self.n);
        // a stored [m, k] (or [k, m] when transposed); b stored [k, n] (or [n, k]).
        let (rsa, csa) = if self.ta { (1, m as isize) } else { (k as isize, 1) };
        let (rsb, csb) = if self.tb { (1, k as isize) } else { (n as isize, 1) };
        // SAFETY: a has m*k, b has k*n and c has m*n elements, and the strides address exactly
        // those (a matrix or its transpose, row-major).
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                n,
                1.0,
                self.a.as_ptr(),
                rsa,
                csa,
                self.b.as_ptr(),
                rsb,
                csb,
                0.0,
                self.c.as_mut_ptr(),
                n as isize,
                1,
            );
        }
        black_box(&mut self.c);
    }

    fn flops(&self) -> f64 {
        2.0 * (self.m * self.k * self.n) as f64
    }
}

/// The products of one step: per layer, forward X W; backward dW = X^T G and, except for the
/// first layer (whose input needs no gradient), dX = G W^T.
fn step_gemms() -> Vec<RawGemm> {
    let mut v = Vec::new();
    for (i, w) in WIDTHS.windows(2).enumerate() {
        let (fan_in, fan_out) = (w[0], w[1]);
        v.push(RawGemm::new(BATCH, fan_in, fan_out, false, false));
        v.push(RawGemm::new(fan_in, BATCH, fan_out, true, false));
        if i > 0 {
            v.push(RawGemm::new(BATCH, fan_out, fan_in, false, true));
        }
    }
    v
}

fn main() -> BenchResult {
    let opts = Options::from_args()?;
    let dev = cpu();
    let mut rng = Rng::new(5);
    let model = Mlp::new(&mut rng, &dev)?;
    let x = rng.normal(&[BATCH, WIDTHS[0]], DType::F32, &dev)?;
    let y = rng.normal(&[BATCH, WIDTHS[4]], DType::F32, &dev)?;

    // Warm-up, then time each phase of every step for three budgets' worth of steps.
    let step = || -> BenchResult<[f64; 3]> {
        let t0 = Instant::now();
        let loss = model.loss(&x, &y)?;
        let t1 = Instant::now();
        let grads = loss.backward()?;
        drop(loss); // the graph holds the old parameters: free it so the update is in place
        let t2 = Instant::now();
        model.update(&grads)?;
        let t3 = Instant::now();
        Ok([t1 - t0, t2 - t1, t3 - t2].map(|d| d.as_secs_f64()))
    };
    let warm_until = Instant::now() + opts.budget / 5;
    while Instant::now() < warm_until {
        step()?;
    }
    let run_until = Instant::now() + opts.budget * 3;
    let mut phases: [Vec<f64>; 3] = Default::default();
    let mut totals = Vec::new();
    while Instant::now() < run_until || totals.len() < 5 {
        let t = step()?;
        for (p, v) in phases.iter_mut().zip(t) {
            p.push(v);
        }
        totals.push(t.iter().sum());
    }
    let steps = totals.len();
    let total = Timing::from_samples(&mut totals, 1);
    let phase: Vec<Timing> = phases.iter_mut().map(|p| Timing::from_samples(p, 1)).collect();

    let mut gemms = step_gemms();
    let flops: f64 = gemms.iter().map(RawGemm::flops).sum();
    let floor = measure(&opts, || -> BenchResult {
        gemms.iter_mut().for_each(RawGemm::run);
        Ok(())
    })?;

    let shape = format!("{} batch {BATCH}", WIDTHS.map(|w| w.to_string()).join("-"));
    let mut report = Report::new(
        &format!("MLP training step, f32, {shape}, ReLU, MSE, SGD ({steps} steps timed; medians)"),
        &["phase", "median", "share", "best"],
    );
    let phase_sum: f64 = phase.iter().map(|t| t.median).sum();
    for (name, t) in ["forward + loss", "backward", "update"].iter().zip(&phase) {
        report.row(vec![
            name.to_string(),
            fmt_time(t.median),
            format!("{:.0}%", 100.0 * t.median / phase_sum),
            fmt_time(t.best),
        ]);
        report.record(&format!("mlp_step/{}", name.replace(" + ", "_")), &shape, t.median * 1e3, "ms");
    }
    report.row(vec!["whole step".into(), fmt_time(total.median), "100%".into(), fmt_time(total.best)]);
    report.row(vec![
        format!("its {} matmuls in bare sgemm", gemms.len()),
        fmt_time(floor.median),
        format!("{:.0}%", 100.0 * floor.median / total.median),
        fmt_time(floor.best),
    ]);
    report.record("mlp_step/steps_per_s", &shape, 1.0 / total.median, "steps/s");
    report.record("mlp_step/gemm_floor", &shape, floor.median * 1e3, "ms");
    report.record("mlp_step/gemm_share", &shape, floor.median / total.median, "ratio");
    report.finish(&opts)?;
    println!(
        "{:.0} steps/s (median step {}); matmuls: {:.1} MFLOP per step, {:.1} GFLOP/s in bare sgemm, \
         {:.1} GFLOP/s of matmul work over the whole step",
        1.0 / total.median,
        fmt_time(total.median),
        flops / 1e6,
        flops / floor.median / 1e9,
        flops / total.median / 1e9
    );

    // Where the rest goes: the step's element-wise ops and reductions on one hidden layer's
    // activations, [BATCH, 64], each timed alone. Three hidden layers run each of them once.
    let h = rng.normal(&[BATCH, 64], DType::F32, &dev)?;
    let g = rng.normal(&[BATCH, 64], DType::F32, &dev)?;
    let bias = rng.normal(&[64], DType::F32, &dev)?;
    let mask = h.step()?;
    type Op<'a> = Box<dyn Fn() -> sigmagrad::Result<Tensor> + 'a>;
    let ops: Vec<(&str, Op)> = vec![
        ("bias add, h + b (broadcast)", Box::new(|| h.add(&bias))),
        ("relu(h)", Box::new(|| h.relu())),
        ("relu backward: step(h)", Box::new(|| h.step())),
        ("relu backward: g * mask", Box::new(|| g.mul(&mask))),
        ("bias gradient: sum over the batch", Box::new(|| g.sum_keepdim(&[0]))),
    ];
    let mut parts = Report::new(
        &format!("the step's element-wise work on one [{BATCH}, 64] activation (x3 hidden layers per step)"),
        &["op", "median", "x3 per step", "share of step"],
    );
    let mut sum = 0.0;
    for (name, op) in &ops {
        let t = measure(&opts, op)?;
        sum += 3.0 * t.median;
        parts.row(vec![
            name.to_string(),
            fmt_time(t.median),
            fmt_time(3.0 * t.median),
            format!("{:.0}%", 100.0 * 3.0 * t.median / total.median),
        ]);
        parts.record(&format!("mlp_step/part/{name}"), &format!("{BATCH}x64"), t.median * 1e6, "us");
    }
    parts.row(vec![
        "these five, x3".into(),
        String::new(),
        fmt_time(sum),
        format!("{:.0}%", 100.0 * sum / total.median),
    ]);
    parts.finish(&opts)?;
    Ok(())
}
