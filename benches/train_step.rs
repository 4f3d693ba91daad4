//! One end-to-end harness for the papers' networks (issue 6): the deterministic MLP, the BNN
//! with the local reparameterization trick, and a 16-member repulsive ensemble, at widths 64
//! and 128 and batches 256, 1024 and 4096. Each step is forward + backward + Adam, exactly the
//! configurations of benches/torch_reference.py, so the two can share a table.
//!
//! Reported per configuration: steps/s, samples/s, the share of the step spent in matmul
//! kernels (timed by a backend wrapper), and the peak heap during steps against the bytes the
//! step must hold (parameters, gradients, Adam moments, activations kept for backward).
//!
//! `--activation relu|tanh|silu` sets the hidden layers' activation (ReLU by default, as in
//! issue 6). `--activation tanh --quick` is the calibration study's network: 15 inputs,
//! 3 x 64 tanh, the BNN with local reparameterization, batch 1024 (and the tanh MLP and
//! ensemble beside it).
//!
//!     cargo bench --bench train_step -- [--quick] [--json FILE] [--only mlp|bnn|re16] [--activation tanh]

mod common;

use common::{machine, measure, utc_now, BenchResult, Options, Report};
use sigmagrad::nn::mlp::MlpSpec;
use sigmagrad::nn::{
    Activation, Adam, Batch, Head, Init, Likelihood, ModelSpec, Module, Objective, Optimizer, Regulariser,
    RepulsionSpace, VariationalConfig,
};
use sigmagrad::{
    AdamParams, Backend, BinaryOp, DType, Device, Distribution, HostData, Layout, ReduceOp, Result, Rng, Storage,
    UnaryOp,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

const N_TRAIN: usize = 600_000;

#[global_allocator]
static ALLOC: common::heap::Counting = common::heap::Counting;

// ----- matmul share: a timing wrapper around the CPU backend ---------------------------------

#[derive(Debug)]
struct Timed {
    inner: backend_cpu::CpuBackend,
    matmul_ns: AtomicU64,
}

macro_rules! forward {
    ($self:ident . $m:ident ( $($a:expr),* )) => { $self.inner.$m($($a),*) };
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
        forward!(self.unary(op, s, l))
    }
    fn binary(&self, op: BinaryOp, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        forward!(self.binary(op, a, la, b, lb))
    }
    fn select(&self, m: &Storage, lm: &Layout, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        forward!(self.select(m, lm, a, la, b, lb))
    }
    fn reduce(&self, op: ReduceOp, s: &Storage, l: &Layout, axes: &[usize]) -> Result<Storage> {
        forward!(self.reduce(op, s, l, axes))
    }
    fn matmul(&self, a: &Storage, la: &Layout, b: &Storage, lb: &Layout) -> Result<Storage> {
        let t = Instant::now();
        let r = forward!(self.matmul(a, la, b, lb));
        self.matmul_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        r
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
        let t = Instant::now();
        let r = forward!(self.matmul_add(a, la, b, lb, c, lc));
        self.matmul_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        r
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

// ----- the three networks --------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Mlp,
    Bnn,
    Re16,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Mlp => "mlp",
            Kind::Bnn => "bnn",
            Kind::Re16 => "re16",
        }
    }
}

/// A model and its loss on a fixed batch, behind one object-safe step.
struct Setup {
    model: Box<dyn Module>,
    objective: Objective,
    /// Parameters per member times members (what Adam keeps three more copies of).
    params: usize,
    /// Elements of activations a step keeps for backward, roughly: every layer's output and
    /// its activation (twice that for the BNN's mean and variance paths).
    activations: usize,
}

fn setup(kind: Kind, width: usize, batch: usize, activation: Activation, dev: &Device) -> Result<Setup> {
    // The same activation as torch_reference.py's --activation (ReLU by default).
    let mlp = MlpSpec::new(15, &[width; 3], 2).activation(activation);
    let per_layer = batch * (3 * width + 2);
    let (spec, regulariser, activations) = match kind {
        Kind::Mlp => (ModelSpec::deterministic(mlp, Head::Gaussian), Regulariser::None, 2 * per_layer),
        Kind::Bnn => (
            ModelSpec::variational(mlp.init(Init::NormalFanIn), VariationalConfig::default(), Head::Gaussian),
            Regulariser::Kl,
            5 * per_layer,
        ),
        Kind::Re16 => (
            ModelSpec::ensemble(mlp, 16, Head::Gaussian),
            Regulariser::Repulsion { beta: 1.0, space: RepulsionSpace::Predictions, prior_sigma: None },
            16 * 2 * per_layer,
        ),
    };
    let model = spec.build(DType::F32, dev, 0)?;
    let params = model.num_params();
    Ok(Setup { model, objective: Objective::new(Likelihood::Gaussian, regulariser), params, activations })
}

fn main() -> BenchResult {
    // What `sigmagrad::cpu()` does on its first call; the timed device below bypasses it.
    backend_cpu::enlist_main_thread();
    let opts = Options::from_args()?;
    let args: Vec<String> = std::env::args().collect();
    let only = args.iter().position(|a| a == "--only").and_then(|i| args.get(i + 1)).cloned();
    let quick = args.iter().any(|a| a == "--quick");
    let act_name = args.iter().position(|a| a == "--activation").map(|i| args.get(i + 1));
    let act_name = match act_name {
        None => "relu",
        Some(name) => name.map(String::as_str).ok_or("--activation needs relu, tanh or silu")?,
    };
    let activation = match act_name {
        "relu" => Activation::Relu,
        "tanh" => Activation::Tanh,
        "silu" => Activation::Silu,
        other => return Err(format!("--activation {other}: expected relu, tanh or silu").into()),
    };
    let timed = Arc::new(Timed { inner: backend_cpu::CpuBackend, matmul_ns: AtomicU64::new(0) });
    let dev = Device::new(timed.clone());

    let mut report = Report::new(
        &format!(
            "Training step (forward + backward + Adam), {} hidden layers, {} threads, {}, {}",
            act_name,
            rayon::current_num_threads(),
            machine(),
            utc_now()
        ),
        &["model", "width", "batch", "steps/s", "samples/s", "matmul share", "peak heap", "held", "peak/held"],
    );
    let kinds = [Kind::Mlp, Kind::Bnn, Kind::Re16];
    let configs: Vec<(Kind, usize, usize)> = if quick {
        kinds.iter().map(|&k| (k, 64, 1024)).collect()
    } else {
        kinds
            .iter()
            .flat_map(|&k| [64, 128].into_iter().flat_map(move |w| [256, 1024, 4096].map(|b| (k, w, b))))
            .collect()
    };
    for (kind, width, batch) in configs {
        if only.as_deref().is_some_and(|o| o != kind.name()) {
            continue;
        }
        let s = setup(kind, width, batch, activation, &dev)?;
        let mut rng = Rng::new(0);
        let x = rng.normal(&[batch, 15], DType::F32, &dev)?;
        let y = rng.normal(&[batch], DType::F32, &dev)?;
        let mut opt = Adam::new(s.model.params(), 1e-3);
        let mut step = || -> Result<()> {
            let batch = Batch { x: x.clone(), y: y.clone(), w: None };
            let loss = s.objective.loss(s.model.as_ref(), &batch, N_TRAIN)?;
            let grads = loss.backward()?;
            opt.step(&grads)
        };
        for _ in 0..5 {
            step()?;
        }
        // Memory: the peak over a few steps, above what was live before them. The CPU backend's
        // buffer pool is emptied first, so the buffers it keeps for reuse count in the peak.
        backend_cpu::release_pooled_buffers();
        let (done, peak) = common::heap::peak_during(|| -> Result<()> {
            for _ in 0..3 {
                step()?;
            }
            Ok(())
        });
        done?;
        // Bytes the step must hold: weights' gradients + activations (parameters and Adam
        // moments were already live in `base`).
        let held = 4 * (s.params + s.activations);
        timed.matmul_ns.store(0, Ordering::Relaxed);
        let t0 = Instant::now();
        let timing = measure(&opts, &mut step)?;
        let share = timed.matmul_ns.load(Ordering::Relaxed) as f64 * 1e-9 / t0.elapsed().as_secs_f64();
        let rate = 1.0 / timing.median;
        // ReLU keeps issue 6's names, so old and new JSON files compare directly.
        let shape = match activation {
            Activation::Relu => format!("{}x{}x{}", kind.name(), width, batch),
            _ => format!("{}-{act_name}x{}x{}", kind.name(), width, batch),
        };
        report.row(vec![
            kind.name().into(),
            width.to_string(),
            batch.to_string(),
            format!("{rate:.1}"),
            format!("{:.0}", rate * batch as f64),
            format!("{:.0}%", 100.0 * share),
            format!("{:.1} MiB", peak as f64 / 1048576.0),
            format!("{:.1} MiB", held as f64 / 1048576.0),
            format!("{:.2}", peak as f64 / held as f64),
        ]);
        report.record("train_step", &shape, rate, "steps/s");
        report.record("train_step_matmul_share", &shape, share, "fraction");
        report.record("train_step_peak_over_held", &shape, peak as f64 / held as f64, "ratio");
    }
    report.finish(&opts)
}
