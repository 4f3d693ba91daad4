//! One end-to-end harness for the papers' networks: the deterministic MLP, the BNN
//! with the local reparameterization trick, and a 16-member repulsive ensemble, at widths 64
//! and 128 and batches 256, 1024 and 4096. Each step is forward + backward + Adam, exactly the
//! configurations of benches/torch_reference.py, so the two can share a table.
//!
//! Reported per configuration: steps/s, samples/s, the share of the step spent in matmul
//! kernels (timed by a backend wrapper), and the peak heap during steps against the bytes the
//! step must hold (parameters, gradients, Adam moments, activations kept for backward).
//!
//! `--activation relu|tanh|silu` sets the hidden layers' activation (ReLU by default, as in
//! the first benches). `--activation tanh --quick` is the calibration study's network: 15 inputs,
//! 3 x 64 tanh, the BNN with local reparameterization, batch 1024 (and the tanh MLP and
//! ensemble beside it).
//!
//! Two more modes, each timing two steps in alternating repetitions so a shared machine's load
//! hits both alike: `--threads A,B` runs every step on rayon pools of A and B threads and reports
//! the speed-up (thread scaling); `--relu-vs-tanh` runs the ReLU and the tanh network and
//! reports relu / tanh, the row that shows a regression on the ReLU path.
//!
//!     cargo bench --bench train_step -- [--quick] [--json FILE] [--only mlp|bnn|re16] [--activation tanh]
//!     cargo bench --bench train_step -- --threads 1,2 [--quick] [--only ..] [--activation ..]
//!     cargo bench --bench train_step -- --relu-vs-tanh [--quick] [--only ..]
//!     cargo bench --bench train_step -- --ops [--quick] [--only ..] [--batch B] [--activation ..]
//!
//! `--ops` times every backend op of the step, by op and shapes (see `per_op`).

mod common;

use common::timed::Timed;
use common::{machine, measure, measure_pair, utc_now, BenchResult, Options, Report};
use sigmagrad::nn::mlp::MlpSpec;
use sigmagrad::nn::{
    Activation, Adam, Batch, Head, Init, Likelihood, ModelSpec, Module, Objective, Optimizer, Regulariser,
    RepulsionSpace, VariationalConfig,
};
use sigmagrad::{DType, Device, Result, Rng, Tensor};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

const N_TRAIN: usize = 600_000;

#[global_allocator]
static ALLOC: common::heap::Counting = common::heap::Counting;

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
    setup_widths(kind, &[width; 3], batch, activation, dev)
}

fn setup_widths(kind: Kind, hidden: &[usize], batch: usize, activation: Activation, dev: &Device) -> Result<Setup> {
    // The same activation as benches/torch_reference.py's --activation (ReLU by default).
    let mlp = MlpSpec::new(15, hidden, 2).activation(activation);
    let per_layer = batch * (hidden.iter().sum::<usize>() + 2);
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

/// One network's training step on a fixed batch, ready to call again and again.
struct Stepper {
    s: Setup,
    x: Tensor,
    y: Tensor,
    opt: Adam,
}

impl Stepper {
    fn new(kind: Kind, width: usize, batch: usize, activation: Activation, dev: &Device) -> Result<Stepper> {
        Self::with_setup(setup(kind, width, batch, activation, dev)?, batch, dev)
    }

    fn with_setup(s: Setup, batch: usize, dev: &Device) -> Result<Stepper> {
        let mut rng = Rng::new(0);
        let x = rng.normal(&[batch, 15], DType::F32, dev)?;
        let y = rng.normal(&[batch], DType::F32, dev)?;
        let opt = Adam::new(s.model.params(), 1e-3);
        Ok(Stepper { s, x, y, opt })
    }

    fn step(&mut self) -> Result<()> {
        let batch = Batch { x: self.x.clone(), y: self.y.clone(), w: None };
        let loss = self.s.objective.loss(self.s.model.as_ref(), &batch, N_TRAIN)?;
        let grads = loss.backward()?;
        // As nn::train does: without the graph, Adam updates the parameters in place.
        drop(loss);
        self.opt.step(&grads)
    }
}

/// The flags of this bench beyond common::Options.
struct Flags {
    only: Option<String>,
    quick: bool,
    act_name: String,
    activation: Activation,
    /// `--threads A,B`: each step on rayon pools of A and B threads, alternating.
    threads: Option<(usize, usize)>,
    /// `--relu-vs-tanh`: the ReLU and the tanh step alternating.
    relu_vs_tanh: bool,
    /// `--team-epoch`: one epoch of the ATLAS team's network.
    team_epoch: bool,
    /// `--ops`: the step's time op by op.
    ops: bool,
    /// `--batch B`: this batch size only.
    batch: Option<usize>,
}

fn activation_named(name: &str) -> BenchResult<Activation> {
    match name {
        "relu" => Ok(Activation::Relu),
        "tanh" => Ok(Activation::Tanh),
        "silu" => Ok(Activation::Silu),
        other => Err(format!("--activation {other}: expected relu, tanh or silu").into()),
    }
}

impl Flags {
    fn from_args() -> BenchResult<Flags> {
        let args: Vec<String> = std::env::args().collect();
        let value = |flag: &str| args.iter().position(|a| a == flag).map(|i| args.get(i + 1).cloned());
        let act_name = match value("--activation") {
            None => "relu".to_string(),
            Some(name) => name.ok_or("--activation needs relu, tanh or silu")?,
        };
        let threads = match value("--threads") {
            None => None,
            Some(list) => {
                let list = list.ok_or("--threads needs two pool sizes, as in 1,2")?;
                let sizes: Vec<usize> = list.split(',').map(str::parse).collect::<std::result::Result<_, _>>()?;
                match sizes[..] {
                    [a, b] if a > 0 && b > 0 => Some((a, b)),
                    _ => return Err(format!("--threads {list}: expected two positive pool sizes, as in 1,2").into()),
                }
            }
        };
        Ok(Flags {
            only: value("--only").flatten(),
            quick: args.iter().any(|a| a == "--quick"),
            activation: activation_named(&act_name)?,
            act_name,
            threads,
            relu_vs_tanh: args.iter().any(|a| a == "--relu-vs-tanh"),
            team_epoch: args.iter().any(|a| a == "--team-epoch"),
            ops: args.iter().any(|a| a == "--ops"),
            batch: match value("--batch") {
                None => None,
                Some(b) => Some(b.ok_or("--batch needs a size")?.parse()?),
            },
        })
    }

    /// The (network, width, batch) configurations to run.
    fn configs(&self) -> Vec<(Kind, usize, usize)> {
        let kinds = [Kind::Mlp, Kind::Bnn, Kind::Re16];
        let all: Vec<(Kind, usize, usize)> = if self.quick {
            kinds.iter().map(|&k| (k, 64, 1024)).collect()
        } else {
            kinds
                .iter()
                .flat_map(|&k| [64, 128].into_iter().flat_map(move |w| [256, 1024, 4096].map(|b| (k, w, b))))
                .collect()
        };
        let mut all: Vec<(Kind, usize, usize)> =
            all.into_iter().filter(|(k, _, _)| self.only.as_deref().is_none_or(|o| o == k.name())).collect();
        if let Some(b) = self.batch {
            all.iter_mut().for_each(|c| c.2 = b);
            all.dedup();
        }
        all
    }
}

fn main() -> BenchResult {
    // What `sigmagrad::cpu()` does on its first call; the timed device below bypasses it.
    backend_cpu::enlist_main_thread();
    let opts = Options::from_args()?;
    let flags = Flags::from_args()?;
    let timed = Arc::new(Timed::new());
    let dev = Device::new(timed.clone());
    if let Some(pools) = flags.threads {
        return thread_scaling(&opts, &flags, pools, &dev);
    }
    if flags.relu_vs_tanh {
        return relu_against_tanh(&opts, &flags, &dev);
    }
    if flags.team_epoch {
        return team_epoch(&opts, &flags, &dev);
    }
    if flags.ops {
        return per_op(&opts, &flags, &timed, &dev);
    }
    let mut report = Report::new(
        &format!(
            "Training step (forward + backward + Adam), {} hidden layers, {} threads, {}, {}",
            flags.act_name,
            rayon::current_num_threads(),
            machine(),
            utc_now()
        ),
        &["model", "width", "batch", "steps/s", "samples/s", "matmul share", "peak heap", "held", "peak/held"],
    );
    for (kind, width, batch) in flags.configs() {
        let mut st = Stepper::new(kind, width, batch, flags.activation, &dev)?;
        for _ in 0..5 {
            st.step()?;
        }
        // Memory: the peak over a few steps, above what was live before them. The CPU backend's
        // buffer pool is emptied first, so the buffers it keeps for reuse count in the peak.
        backend_cpu::release_pooled_buffers();
        let (done, peak) = common::heap::peak_during(|| -> Result<()> {
            for _ in 0..3 {
                st.step()?;
            }
            Ok(())
        });
        done?;
        // Bytes the step must hold: weights' gradients + activations (parameters and Adam
        // moments were already live in `base`).
        let held = 4 * (st.s.params + st.s.activations);
        timed.matmul_ns.store(0, Ordering::Relaxed);
        let t0 = Instant::now();
        let timing = measure(&opts, || st.step())?;
        let share = timed.matmul_ns.load(Ordering::Relaxed) as f64 * 1e-9 / t0.elapsed().as_secs_f64();
        let rate = 1.0 / timing.median;
        let shape = shape_name(kind, flags.activation, &flags.act_name, width, batch);
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

/// ReLU keeps the first benches' names, so old and new JSON files compare directly.
fn shape_name(kind: Kind, activation: Activation, act_name: &str, width: usize, batch: usize) -> String {
    match activation {
        Activation::Relu => format!("{}x{}x{}", kind.name(), width, batch),
        _ => format!("{}-{act_name}x{}x{}", kind.name(), width, batch),
    }
}

/// `--threads A,B`: every configuration's step on a rayon pool of A threads and one of B,
/// alternating repetition by repetition (common::measure_pair), and the speed-up B over A. The
/// products split into row blocks per thread and the element-wise kernels into chunks, so the
/// same code should scale from 2 to 16 cores; this is the figure that says whether it does.
fn thread_scaling(opts: &Options, flags: &Flags, (a, b): (usize, usize), dev: &Device) -> BenchResult {
    let (head_a, head_b) = (format!("steps/s, {a} threads"), format!("steps/s, {b} threads"));
    let mut report = Report::new(
        &format!("Thread scaling of the training step, {} hidden layers, {}, {}", flags.act_name, machine(), utc_now()),
        &["model", "width", "batch", head_a.as_str(), head_b.as_str(), "speed-up"],
    );
    let pool = |n: usize| rayon::ThreadPoolBuilder::new().num_threads(n).build();
    let (pa, pb) = (pool(a)?, pool(b)?);
    for (kind, width, batch) in flags.configs() {
        let mut sa = Stepper::new(kind, width, batch, flags.activation, dev)?;
        let mut sb = Stepper::new(kind, width, batch, flags.activation, dev)?;
        // From a thread outside every pool: the main thread is a worker of the global pool,
        // and a worker that waits on another pool keeps looking for work in its own, taking a
        // core from the pool being measured.
        let measured = std::thread::scope(|scope| {
            let run = || measure_pair(opts, || pa.install(|| sa.step()), || pb.install(|| sb.step()));
            scope.spawn(run).join()
        });
        let (ta, tb) = measured.map_err(|_| "the measuring thread panicked")??;
        let (ra, rb) = (1.0 / ta.median, 1.0 / tb.median);
        let shape = shape_name(kind, flags.activation, &flags.act_name, width, batch);
        report.row(vec![
            kind.name().into(),
            width.to_string(),
            batch.to_string(),
            format!("{ra:.1}"),
            format!("{rb:.1}"),
            format!("{:.2}", rb / ra),
        ]);
        report.record("train_step_threads", &format!("{shape}@{a}"), ra, "steps/s");
        report.record("train_step_threads", &format!("{shape}@{b}"), rb, "steps/s");
        report.record("train_step_thread_speedup", &format!("{shape}@{b}/{a}"), rb / ra, "ratio");
    }
    report.finish(opts)
}

/// `--relu-vs-tanh`: each network with ReLU and with tanh hidden layers, alternating, and the
/// ratio of their steps/s. ReLU is the cheaper function both ways (a select forward, a select
/// backward, against a polynomial and a divide and a three-op derivative), so a ratio below
/// about 0.95 is a regression on the ReLU path (the ReLU BNN once ran at 0.73-0.79).
fn relu_against_tanh(opts: &Options, flags: &Flags, dev: &Device) -> BenchResult {
    let mut report = Report::new(
        &format!(
            "ReLU against tanh, training step, {} threads, {}, {}",
            rayon::current_num_threads(),
            machine(),
            utc_now()
        ),
        &["model", "width", "batch", "relu steps/s", "tanh steps/s", "relu / tanh"],
    );
    for (kind, width, batch) in flags.configs() {
        let mut relu = Stepper::new(kind, width, batch, Activation::Relu, dev)?;
        let mut tanh = Stepper::new(kind, width, batch, Activation::Tanh, dev)?;
        let (tr, tt) = measure_pair(opts, || relu.step(), || tanh.step())?;
        let (rr, rt) = (1.0 / tr.median, 1.0 / tt.median);
        report.row(vec![
            kind.name().into(),
            width.to_string(),
            batch.to_string(),
            format!("{rr:.1}"),
            format!("{rt:.1}"),
            format!("{:.2}", rr / rt),
        ]);
        report.record("train_step_relu_over_tanh", &format!("{}x{}x{}", kind.name(), width, batch), rr / rt, "ratio");
    }
    report.finish(opts)
}

/// `--ops`: where a step's time goes, op by op (forward, backward and optimizer kernels alike),
/// on the current rayon pool (`RAYON_NUM_THREADS=1` for one thread). Each op is named with its
/// shapes, so a product's row says which layer and which pass it is. The table lists the ops
/// over 1 % of the step, costliest first; "other" is the step's time outside every kernel
/// (graph, allocation, dispatch).
fn per_op(opts: &Options, flags: &Flags, timed: &Timed, dev: &Device) -> BenchResult {
    let threads = rayon::current_num_threads();
    for (kind, width, batch) in flags.configs() {
        let mut report = Report::new(
            &format!(
                "{} x{width}, batch {batch}, {} hidden layers, {threads} threads: the step op by op, {}, {}",
                kind.name(),
                flags.act_name,
                machine(),
                utc_now()
            ),
            &["op (shapes)", "calls / step", "us / step", "share"],
        );
        let mut st = Stepper::new(kind, width, batch, flags.activation, dev)?;
        for _ in 0..5 {
            st.step()?;
        }
        let steps = if flags.quick { 20 } else { 10 * opts.reps };
        *timed.ops.lock().map_err(|_| "the op table's lock is poisoned")? = Some(BTreeMap::new());
        timed.recording.store(true, Ordering::Relaxed);
        let t0 = Instant::now();
        for _ in 0..steps {
            st.step()?;
        }
        let step_us = t0.elapsed().as_secs_f64() * 1e6 / steps as f64;
        timed.recording.store(false, Ordering::Relaxed);
        let ops = timed.ops.lock().map_err(|_| "the op table's lock is poisoned")?.take().unwrap_or_default();
        let mut rows: Vec<(String, f64, f64)> = ops
            .into_iter()
            .map(|(name, (ns, calls))| (name, ns as f64 / 1e3 / steps as f64, calls as f64 / steps as f64))
            .collect();
        rows.sort_by(|a, b| b.1.total_cmp(&a.1));
        let in_ops: f64 = rows.iter().map(|r| r.1).sum();
        let shape = shape_name(kind, flags.activation, &flags.act_name, width, batch);
        for (name, us, calls) in rows.iter().filter(|r| r.1 >= 0.01 * step_us) {
            report.row(vec![
                name.clone(),
                format!("{calls:.0}"),
                format!("{us:.0}"),
                format!("{:.1}%", 100.0 * us / step_us),
            ]);
            report.record("train_step_op", &format!("{shape}@{threads}: {name}"), *us, "us/step");
        }
        let small: f64 = rows.iter().filter(|r| r.1 < 0.01 * step_us).map(|r| r.1).sum();
        report.row(vec![
            "ops under 1 % each".into(),
            String::new(),
            format!("{small:.0}"),
            format!("{:.1}%", 100.0 * small / step_us),
        ]);
        let other = step_us - in_ops;
        report.row(vec![
            "other".into(),
            String::new(),
            format!("{other:.0}"),
            format!("{:.1}%", 100.0 * other / step_us),
        ]);
        report.row(vec!["the step".into(), String::new(), format!("{step_us:.0}"), "100%".into()]);
        report.record("train_step_op", &format!("{shape}@{threads}: step"), step_us, "us/step");
        report.finish(opts)?;
    }
    Ok(())
}

/// The ATLAS team's BNN (docs/calibration-method.md §4.7: 15 inputs, hidden layers 256-168-64-8, the
/// shifted tanh 3 (tanh x + 1) between layers, batch 1024) and a 16-member repulsive ensemble
/// of the same size.
const TEAM_HIDDEN: [usize; 4] = [256, 168, 64, 8];
const TEAM_BATCH: usize = 1024;

/// `--team-epoch`: one epoch over N_TRAIN = 6e5 clusters (586 steps of 1024) of the team's
/// network, timed as a whole, and the 100-epoch run estimated from it. The steps cycle through
/// eight random batches, so the figure is the bare step (no shuffling or data loading; the
/// calibration app's data path once ran at 0.89 of the bare step). `--quick` times a tenth of
/// an epoch and scales it up.
fn team_epoch(opts: &Options, flags: &Flags, dev: &Device) -> BenchResult {
    let mut report = Report::new(
        &format!("One epoch of the team's 15-256-168-64-8-2 network, {}, {}", machine(), utc_now()),
        &["model", "steps", "seconds / epoch", "steps/s", "100 epochs (hours)"],
    );
    let steps = N_TRAIN.div_ceil(TEAM_BATCH);
    let timed_steps = if flags.quick { steps / 10 } else { steps };
    for kind in [Kind::Bnn, Kind::Re16] {
        if flags.only.as_deref().is_some_and(|o| o != kind.name()) {
            continue;
        }
        let setup = setup_widths(kind, &TEAM_HIDDEN, TEAM_BATCH, Activation::TanhPlusOne(3.0), dev)?;
        let mut st = Stepper::with_setup(setup, TEAM_BATCH, dev)?;
        let mut rng = Rng::new(1);
        let batches = (0..8)
            .map(|_| Ok((rng.normal(&[TEAM_BATCH, 15], DType::F32, dev)?, rng.normal(&[TEAM_BATCH], DType::F32, dev)?)))
            .collect::<Result<Vec<_>>>()?;
        st.step()?;
        let t0 = Instant::now();
        for i in 0..timed_steps {
            (st.x, st.y) = batches[i % batches.len()].clone();
            st.step()?;
        }
        let epoch = t0.elapsed().as_secs_f64() * steps as f64 / timed_steps as f64;
        report.row(vec![
            kind.name().into(),
            timed_steps.to_string(),
            format!("{epoch:.1}"),
            format!("{:.1}", steps as f64 / epoch),
            format!("{:.2}", 100.0 * epoch / 3600.0),
        ]);
        report.record("team_epoch", &format!("{}-256-168-64-8", kind.name()), epoch, "s");
    }
    report.finish(opts)
}
