//! Trains a small MLP on a synthetic regression with the same model code on either device:
//!
//! ```text
//! cargo run --release -p backend-wgpu --example train_mlp -- --device wgpu
//! cargo run --release -p backend-wgpu --example train_mlp -- --device cpu --steps 300
//! ```
//!
//! The model is written with raw autodiff ops, `Var` parameters and the backend's fused Adam
//! kernel; only the `Device` value differs between the two runs.

use autodiff::{AdamParams, DType, Device, Result, Rng, Tensor, Var};
use std::time::Instant;

struct Mlp {
    layers: Vec<(Var, Var)>,
}

impl Mlp {
    fn new(dims: &[usize], rng: &mut Rng, dev: &Device) -> Result<Mlp> {
        let mut layers = Vec::new();
        for w in dims.windows(2) {
            let scale = (1.0 / w[0] as f64).sqrt();
            let weight = rng.normal(&[w[0], w[1]], DType::F32, dev)?.mul_scalar(scale)?;
            layers.push((Var::new(&weight)?, Var::new(&Tensor::zeros(&[w[1]], DType::F32, dev)?)?));
        }
        Ok(Mlp { layers })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for (i, (w, b)) in self.layers.iter().enumerate() {
            h = h.matmul(&w.tensor())?.add(&b.tensor())?;
            if i + 1 < self.layers.len() {
                h = h.tanh()?;
            }
        }
        Ok(h)
    }

    fn params(&self) -> Vec<&Var> {
        self.layers.iter().flat_map(|(w, b)| [w, b]).collect()
    }
}

/// Adam through the backend's fused kernel, one (m, v) pair per parameter.
struct Adam {
    moments: Vec<(autodiff::Storage, autodiff::Storage)>,
    step: u64,
    lr: f64,
}

impl Adam {
    fn new(params: &[&Var], lr: f64, dev: &Device) -> Result<Adam> {
        let moments = params
            .iter()
            .map(|p| {
                let n = p.tensor().numel();
                Ok((dev.backend().full(0.0, n, DType::F32)?, dev.backend().full(0.0, n, DType::F32)?))
            })
            .collect::<Result<_>>()?;
        Ok(Adam { moments, step: 0, lr })
    }

    fn update(&mut self, params: &[&Var], loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step += 1;
        let hp = AdamParams { lr: self.lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, step: self.step };
        for (p, (m, v)) in params.iter().zip(self.moments.iter_mut()) {
            let Some(g) = grads.get(&p.tensor()) else { continue };
            // The fused kernel wants a dense buffer of exactly the parameter's length.
            let g = if g.layout().is_contiguous() && g.layout().offset() == 0 && g.storage().len() == g.numel() {
                g.clone()
            } else {
                g.affine(1.0, 0.0)?
            };
            let dev = g.device().clone();
            p.update_storage(|s| dev.backend().adam_step(s, g.storage(), m, v, &hp))?;
        }
        Ok(())
    }
}

fn run(dev: &Device, steps: usize, batch: usize) -> Result<()> {
    println!("device: {dev}");
    let mut rng = Rng::new(2024);
    // Synthetic regression with a known smooth target: y = 1.5 tanh(x.u) + 0.5 tanh(x.v) + noise.
    let n = batch * 8;
    let x = rng.normal(&[n, 15], DType::F32, dev)?;
    let u = rng.normal(&[15, 1], DType::F32, dev)?.mul_scalar(0.3)?;
    let v = rng.normal(&[15, 1], DType::F32, dev)?.mul_scalar(0.3)?;
    let noise = rng.normal(&[n, 1], DType::F32, dev)?.mul_scalar(0.05)?;
    let y = x.matmul(&u)?.tanh()?.mul_scalar(1.5)?.add(&x.matmul(&v)?.tanh()?.mul_scalar(0.5)?)?.add(&noise)?;
    let model = Mlp::new(&[15, 64, 64, 1], &mut rng, dev)?;
    let mut adam = Adam::new(&model.params(), 3e-3, dev)?;
    let start = Instant::now();
    for step in 0..steps {
        let rows: Vec<usize> = rng.permutation(n)[..batch].to_vec();
        let (xb, yb) = (x.index_select(0, &rows)?, y.index_select(0, &rows)?);
        let loss = model.forward(&xb)?.sub(&yb)?.square()?.mean_all()?;
        adam.update(&model.params(), &loss)?;
        if step % 50 == 0 || step + 1 == steps {
            // Reading the loss is the only wait for the GPU.
            println!("step {step:4}  loss {:.5}", loss.to_scalar()?);
        }
    }
    let full = model.forward(&x)?.sub(&y)?.square()?.mean_all()?.to_scalar()?;
    println!("final loss on all {n} points: {full:.5}  ({:.2} s for {steps} steps)", start.elapsed().as_secs_f64());
    Ok(())
}

fn main() {
    let mut device = "wgpu".to_string();
    let mut steps = 200;
    let mut batch = 256;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--device" => device = args.next().unwrap_or_default(),
            "--steps" => steps = args.next().and_then(|s| s.parse().ok()).unwrap_or(steps),
            "--batch" => batch = args.next().and_then(|s| s.parse().ok()).unwrap_or(batch),
            other => {
                eprintln!("unknown argument {other}; usage: train_mlp [--device cpu|wgpu] [--steps N] [--batch B]");
                std::process::exit(2);
            }
        }
    }
    let dev = match device.as_str() {
        "cpu" => Ok(backend_cpu::device()),
        "wgpu" => backend_wgpu::device(),
        other => {
            eprintln!("unknown device {other}: use cpu or wgpu");
            std::process::exit(2);
        }
    };
    if let Err(e) = dev.and_then(|d| run(&d, steps, batch)) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
