//! Per-op overhead: element-wise ops on 64-element f32 tensors, where the arithmetic is a few
//! nanoseconds and everything else (dispatch, allocation, the tensor handle, the graph node)
//! shows; a small forward+backward chain; and the same ops on 1M elements, where throughput
//! counts and the CPU backend splits work over rayon (at and above `PAR_THRESHOLD` elements).
//!
//! Each sigmagrad figure is measured in alternation with a plain Rust loop that computes the
//! same values into a fresh `Vec` on one thread, with libm (what the CPU kernels ran before
//! issue 14): the difference is sigmagrad's overhead at 64 elements, and at 1M the gain of
//! rayon and of the vector kernels together. The normal fill is timed per normal against the
//! block-at-a-time definition (`rng::block_f32`) on one thread.
//!
//! With `--torch FILE` (JSON lines from `benches/torch_reference.py --elementwise`), the 1M
//! table adds PyTorch's throughput for the same ops and sigmagrad's ratio to it.
//!
//!     cargo bench --bench overhead [-- --json FILE] [-- --quick] [-- --torch FILE]

mod common;

use backend_cpu::PAR_THRESHOLD;
use common::{cpu_utilisation, fmt_time, measure, measure_pair, BenchResult, Options, Report};
use sigmagrad::{cpu, rng, DType, Device, Rng, Tensor};

type TensorOp = fn(&Tensor, &Tensor) -> sigmagrad::Result<Tensor>;
type LoopOp = fn(&[f32], &[f32]) -> Vec<f32>;

/// The ops, each with its single-threaded plain-loop equivalent.
/// `a` is standard normal, `b` uniform on (0.1, 4) (positive, for log).
const OPS: [(&str, TensorOp, LoopOp); 8] = [
    ("add", |a, b| a.add(b), |a, b| a.iter().zip(b).map(|(x, y)| x + y).collect()),
    ("mul", |a, b| a.mul(b), |a, b| a.iter().zip(b).map(|(x, y)| x * y).collect()),
    ("exp", |a, _| a.exp(), |a, _| a.iter().map(|x| x.exp()).collect()),
    ("tanh", |a, _| a.tanh(), |a, _| a.iter().map(|x| x.tanh()).collect()),
    ("relu", |a, _| a.relu(), |a, _| a.iter().map(|&x| if x > 0.0 { x } else { 0.0 }).collect()),
    ("sigmoid", |a, _| a.sigmoid(), |a, _| a.iter().map(|&x| 1.0 / (1.0 + (-x).exp())).collect()),
    ("softplus", |a, _| a.softplus(), |a, _| a.iter().map(|&x| x.max(0.0) + (-x.abs()).exp().ln_1p()).collect()),
    ("log", |_, b| b.log(), |_, b| b.iter().map(|x| x.ln()).collect()),
];

/// PyTorch's throughput (Gelem/s) by op at 1M elements, from torch_reference.py's JSON lines.
fn torch_figures(opts: &[String]) -> BenchResult<Vec<(String, f64)>> {
    let Some(path) = opts.iter().position(|a| a == "--torch").map(|i| opts.get(i + 1)) else { return Ok(vec![]) };
    let path = path.ok_or("--torch needs a file name")?;
    let mut out = Vec::new();
    for line in std::fs::read_to_string(path)?.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        if let (Some(op), Some(1_048_576), Some(g)) =
            (v["op"].as_str(), v["elements"].as_u64(), v["gelem_per_s_best"].as_f64())
        {
            out.push((op.to_string(), g));
        }
    }
    Ok(out)
}

fn inputs(n: usize, rng: &mut Rng, dev: &Device) -> BenchResult<(Tensor, Tensor, Vec<f32>, Vec<f32>)> {
    let a = rng.normal(&[n], DType::F32, dev)?;
    let b = rng.uniform(0.1, 4.0, &[n], DType::F32, dev)?;
    let (va, vb) = (a.to_vec::<f32>()?, b.to_vec::<f32>()?);
    Ok((a, b, va, vb))
}

fn main() -> BenchResult {
    let opts = Options::from_args()?;
    let args: Vec<String> = std::env::args().collect();
    let torch = torch_figures(&args)?;
    let dev = cpu();
    let mut rng = Rng::new(11);
    overhead_table(&opts, &mut rng, &dev)?;
    throughput_table(&opts, &torch, &mut rng, &dev)?;
    println!(
        "speed-up = sigmagrad / single-threaded loop. CPU/wall = cores busy while sigmagrad runs the op \
         (about 1 on the calling thread; more once rayon splits the work, even when other load eats the speed-up)."
    );
    Ok(())
}

/// 64 elements: the overhead per op, recording or not, and a small forward+backward chain.
fn overhead_table(opts: &Options, rng: &mut Rng, dev: &Device) -> BenchResult {
    // ----- 64 elements: overhead per op ----------------------------------------------------
    let mut small = Report::new(
        &format!("per-op overhead, f32 [64], best of {} repetitions (target: <= 1 us per op)", opts.reps),
        &["op", "sigmagrad", "plain loop", "overhead", "sigmagrad median"],
    );
    let (a, b, va, vb) = inputs(64, rng, dev)?;
    for (name, op, plain) in OPS {
        let (ours, base) = measure_pair(
            opts,
            || -> BenchResult<Tensor> { Ok(op(&a, &b)?) },
            || -> BenchResult<Vec<f32>> { Ok(plain(&va, &vb)) },
        )?;
        small.row(vec![
            format!("{name} (no graph)"),
            fmt_time(ours.best),
            fmt_time(base.best),
            fmt_time(ours.best - base.best),
            fmt_time(ours.median),
        ]);
        small.record(&format!("overhead/{name}"), "64", ours.best * 1e6, "us/op");
    }
    // The same ops when an input takes part in a graph: the node (inputs, backward closure) is
    // recorded too.
    let (ag, bg) = (a.requires_grad(), b.requires_grad());
    for (name, op, _) in OPS.iter().filter(|o| o.0 == "add" || o.0 == "tanh") {
        let t = measure(opts, || op(&ag, &bg))?;
        small.row(vec![
            format!("{name} (recording)"),
            fmt_time(t.best),
            String::new(),
            String::new(),
            fmt_time(t.median),
        ]);
        small.record(&format!("overhead/{name}_recording"), "64", t.best * 1e6, "us/op");
    }
    // A small chain, forward and backward: sum(tanh(x * w + b)), gradients for x, w and b.
    let x = rng.normal(&[64], DType::F32, dev)?.requires_grad();
    let (w, bias) = (ag.clone(), bg.clone());
    const CHAIN_OPS: usize = 4; // mul, add, tanh, sum_all
    let fwd = measure(opts, || x.mul(&w)?.add(&bias)?.tanh()?.sum_all())?;
    let fwd_bwd = measure(opts, || x.mul(&w)?.add(&bias)?.tanh()?.sum_all()?.backward())?;
    for (label, t, key) in
        [("chain forward", fwd, "chain_forward"), ("chain forward+backward", fwd_bwd, "chain_fwd_bwd")]
    {
        small.row(vec![
            format!("{label} ({CHAIN_OPS} ops), per op"),
            fmt_time(t.best / CHAIN_OPS as f64),
            String::new(),
            String::new(),
            fmt_time(t.median / CHAIN_OPS as f64),
        ]);
        small.record(&format!("overhead/{key}_per_op"), "64", t.best * 1e6 / CHAIN_OPS as f64, "us/op");
    }
    small.row(vec![
        format!("chain forward+backward, whole"),
        fmt_time(fwd_bwd.best),
        String::new(),
        String::new(),
        fmt_time(fwd_bwd.median),
    ]);
    small.record("overhead/chain_fwd_bwd", "64", fwd_bwd.best * 1e6, "us");
    small.finish(opts)?;

    Ok(())
}

/// 1M elements (and either side of the rayon threshold): throughput against a one-thread loop
/// and, where given, PyTorch; then the Gaussian fill.
fn throughput_table(opts: &Options, torch: &[(String, f64)], rng: &mut Rng, dev: &Device) -> BenchResult {
    // ----- 1M elements: throughput, and rayon ---------------------------------------------------
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut large = Report::new(
        &format!(
            "throughput, f32, best of {} repetitions; parallel from {PAR_THRESHOLD} elements, {threads} threads",
            opts.reps
        ),
        &[
            "op",
            "elements",
            "sigmagrad",
            "Gelem/s",
            "1-thread libm loop",
            "Gelem/s",
            "speed-up",
            "CPU/wall",
            "PyTorch Gelem/s",
            "sigmagrad/PyTorch",
        ],
    );
    let mut sizes = vec![1 << 20];
    // Just below and at the threshold: the per-element time should drop once rayon takes over.
    sizes.extend([PAR_THRESHOLD - 1, PAR_THRESHOLD]);
    for &n in &sizes {
        let (a, b, va, vb) = inputs(n, rng, dev)?;
        let ops: Vec<_> =
            if n == 1 << 20 { OPS.to_vec() } else { OPS.iter().filter(|o| o.0 == "tanh").copied().collect() };
        for (name, op, plain) in ops {
            let data = (&a, &b, va.as_slice(), vb.as_slice());
            throughput_row(&mut large, opts, torch, (name, op, plain), n, data)?;
        }
    }
    // The Gaussian fill, per normal: sigmagrad's (rayon, vector Philox and Box-Muller) against
    // the block-at-a-time definition on one thread.
    let n = 1 << 20;
    let (ours, base) = measure_pair(
        opts,
        || -> BenchResult<Tensor> { Ok(rng.normal(&[n], DType::F32, dev)?) },
        || -> BenchResult<Vec<f32>> {
            let normal = sigmagrad::Distribution::Normal { mean: 0.0, std: 1.0 };
            Ok((0..n as u64 / 4).flat_map(|b| rng::block_f32(normal, rng::words(7, b))).collect())
        },
    )?;
    let busy = cpu_utilisation(opts.budget.as_secs_f64() / 2.0, || rng.normal(&[n], DType::F32, dev))?;
    let pytorch = torch.iter().find(|t| t.0 == "normal").map(|t| t.1);
    let (g_ours, g_base) = (n as f64 / ours.best / 1e9, n as f64 / base.best / 1e9);
    large.row(vec![
        "normal fill".into(),
        n.to_string(),
        format!("{:.2} ns/normal", ours.best * 1e9 / n as f64),
        format!("{g_ours:.2}"),
        format!("{:.2} ns/normal", base.best * 1e9 / n as f64),
        format!("{g_base:.2}"),
        format!("{:.2}", g_ours / g_base),
        busy.map_or("n/a".into(), |u| format!("{u:.2}")),
        pytorch.map_or(String::new(), |g| format!("{g:.2}")),
        pytorch.map_or(String::new(), |g| format!("{:.2}", g_ours / g)),
    ]);
    large.record("throughput/normal_fill", &n.to_string(), ours.best * 1e9 / n as f64, "ns/normal");
    large.finish(opts)?;
    Ok(())
}

/// One op's row of the throughput table.
fn throughput_row(
    large: &mut Report,
    opts: &Options,
    torch: &[(String, f64)],
    (name, op, plain): (&str, TensorOp, LoopOp),
    n: usize,
    (a, b, va, vb): (&Tensor, &Tensor, &[f32], &[f32]),
) -> BenchResult {
    let (ours, base) = measure_pair(
        opts,
        || -> BenchResult<Tensor> { Ok(op(a, b)?) },
        || -> BenchResult<Vec<f32>> { Ok(plain(va, vb)) },
    )?;
    let (g_ours, g_base) = (n as f64 / ours.best / 1e9, n as f64 / base.best / 1e9);
    // How many cores sigmagrad's op kept busy: about 1 on the calling thread, up to the
    // core count when rayon splits the work (whatever other load does to the wall time).
    let busy = cpu_utilisation(opts.budget.as_secs_f64() / 2.0, || op(a, b))?;
    let pytorch = torch.iter().find(|t| t.0 == name && n == 1 << 20).map(|t| t.1);
    large.row(vec![
        name.to_string(),
        n.to_string(),
        fmt_time(ours.best),
        format!("{g_ours:.2}"),
        fmt_time(base.best),
        format!("{g_base:.2}"),
        format!("{:.2}", g_ours / g_base),
        busy.map_or("n/a".into(), |u| format!("{u:.2}")),
        pytorch.map_or(String::new(), |g| format!("{g:.2}")),
        pytorch.map_or(String::new(), |g| format!("{:.2}", g_ours / g)),
    ]);
    if let Some(g) = pytorch {
        large.record(&format!("throughput/{name}_vs_pytorch"), &n.to_string(), g_ours / g, "ratio");
    }
    large.record(&format!("throughput/{name}"), &n.to_string(), g_ours, "Gelem/s");
    large.record(&format!("throughput/{name}_speedup_vs_1_thread"), &n.to_string(), g_ours / g_base, "ratio");
    if let Some(u) = busy {
        large.record(&format!("throughput/{name}_cpu_per_wall"), &n.to_string(), u, "ratio");
    }
    Ok(())
}
