//! wgpu throughput: matmul GFLOP/s for square and MLP-shaped products, and one MLP training
//! step (forward, backward, Adam) on the CPU and on wgpu in the same run, as a ratio.
//!
//!     cargo bench -p backend-wgpu --bench wgpu_matmul
//!
//! On a software adapter (lavapipe) the big cases are skipped: it runs at about a GFLOP/s.
//! A GPU run is timed to completion: each measurement ends with a one-element readback, which
//! waits for every queued dispatch.

use autodiff::{AdamParams, DType, Device, Result, Rng, Tensor, Var};
use std::time::{Duration, Instant};

/// Runs `f` until `budget` has passed (at least `min_reps` times) after one warm-up call, then
/// returns the mean time per call. `f` returns a tensor whose one element is read back at the
/// end of each timed batch, so queued GPU work is included.
fn time(budget: Duration, min_reps: usize, mut f: impl FnMut() -> Result<Tensor>) -> Result<Duration> {
    let sync = |t: &Tensor| -> Result<()> {
        let first = t.reshape(&[t.numel()])?.narrow(0, 0, 1)?;
        first.to_host().map(|_| ())
    };
    sync(&f()?)?;
    let start = Instant::now();
    let mut reps = 0;
    while reps < min_reps || start.elapsed() < budget {
        let t = f()?;
        reps += 1;
        if reps % 4 == 0 || start.elapsed() >= budget {
            sync(&t)?;
        }
    }
    Ok(start.elapsed() / reps as u32)
}

fn matmul_case(dev: &Device, m: usize, k: usize, n: usize, budget: Duration) -> Result<()> {
    let mut rng = Rng::new(1);
    let a = rng.normal(&[m, k], DType::F32, dev)?;
    let b = rng.normal(&[k, n], DType::F32, dev)?;
    let t = time(budget, 3, || a.matmul(&b))?;
    let gflops = 2.0 * (m * k * n) as f64 / t.as_secs_f64() / 1e9;
    println!("matmul {m:>5}x{k:<5} @ {k:>5}x{n:<5} {:>10.3} ms  {gflops:>8.2} GFLOP/s", t.as_secs_f64() * 1e3);
    Ok(())
}

struct Mlp {
    params: Vec<Var>,
    moments: Vec<(autodiff::Storage, autodiff::Storage)>,
    step: u64,
}

impl Mlp {
    fn new(widths: &[usize], dev: &Device) -> Result<Mlp> {
        let mut rng = Rng::new(7);
        let mut params = Vec::new();
        for w in widths.windows(2) {
            let weight = rng.normal(&[w[0], w[1]], DType::F32, dev)?.mul_scalar((1.0 / w[0] as f64).sqrt())?;
            params.push(Var::new(&weight)?);
            params.push(Var::new(&Tensor::zeros(&[w[1]], DType::F32, dev)?)?);
        }
        let moments = params
            .iter()
            .map(|p| {
                let n = p.tensor().numel();
                Ok((dev.backend().full(0.0, n, DType::F32)?, dev.backend().full(0.0, n, DType::F32)?))
            })
            .collect::<Result<_>>()?;
        Ok(Mlp { params, moments, step: 0 })
    }

    /// One step: forward, MSE loss, backward, Adam. Returns the loss (not read back).
    fn step(&mut self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        let layers = self.params.len() / 2;
        for (i, pair) in self.params.chunks(2).enumerate() {
            h = h.matmul(&pair[0].tensor())?.add(&pair[1].tensor())?;
            if i + 1 < layers {
                h = h.relu()?;
            }
        }
        let loss = h.sub(y)?.square()?.mean_all()?;
        let grads = loss.backward()?;
        self.step += 1;
        let hp = AdamParams { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, step: self.step };
        for (p, (m, v)) in self.params.iter().zip(self.moments.iter_mut()) {
            let Some(g) = grads.get(&p.tensor()) else { continue };
            let g = if g.layout().offset() == 0 && g.layout().is_contiguous() && g.storage().len() == g.numel() {
                g.clone()
            } else {
                g.affine(1.0, 0.0)?
            };
            let dev = g.device().clone();
            p.update_storage(|s| dev.backend().adam_step(s, g.storage(), m, v, &hp))?;
        }
        Ok(loss)
    }
}

fn step_time(dev: &Device, widths: &[usize], batch: usize, budget: Duration) -> Result<Duration> {
    let mut rng = Rng::new(3);
    let x = rng.normal(&[batch, widths[0]], DType::F32, dev)?;
    let y = rng.normal(&[batch, widths[widths.len() - 1]], DType::F32, dev)?;
    let mut mlp = Mlp::new(widths, dev)?;
    time(budget, 3, || mlp.step(&x, &y))
}

fn run() -> Result<()> {
    let gpu = backend_wgpu::device()?;
    let cpu = backend_cpu::device();
    let software = backend_wgpu::is_software(&gpu);
    let budget = Duration::from_millis(if software { 1500 } else { 1000 });
    println!("device: {gpu}{}", if software { " (software adapter: small cases only)" } else { "" });
    let mut squares = vec![1024];
    if !software {
        squares.push(4096);
    }
    for s in squares {
        matmul_case(&gpu, s, s, s, budget)?;
    }
    for (m, k, n) in [(1024, 64, 64), (1024, 15, 64), (1024, 64, 2)] {
        matmul_case(&gpu, m, k, n, budget)?;
    }
    let mut cases: Vec<(&[usize], usize)> = vec![(&[15, 64, 64, 64, 2], 1024)];
    if !software {
        cases.extend([
            (&[15, 64, 64, 64, 2][..], 16384),
            (&[15, 256, 256, 256, 2][..], 1024),
            (&[15, 256, 256, 256, 2][..], 16384),
        ]);
    }
    for (widths, batch) in cases {
        let c = step_time(&cpu, widths, batch, budget)?;
        let g = step_time(&gpu, widths, batch, budget)?;
        println!(
            "mlp step {widths:?} batch {batch:>5}: cpu {:>9.3} ms  wgpu {:>9.3} ms  wgpu/cpu time {:>6.2}",
            c.as_secs_f64() * 1e3,
            g.as_secs_f64() * 1e3,
            g.as_secs_f64() / c.as_secs_f64()
        );
    }
    Ok(())
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing else of interest.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Err(e) = run() {
        eprintln!("wgpu_matmul: {e}");
        if std::env::var("SIGMAGRAD_REQUIRE_WGPU").is_ok_and(|v| v == "1") {
            std::process::exit(1);
        }
    }
}
