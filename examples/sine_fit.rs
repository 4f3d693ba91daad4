//! Fits y = sin(x) + noise with a small MLP written directly with autodiff tensors: parameters
//! are `Var`s, the model is matmul + bias + tanh, the loss is the mean squared error, and the
//! optimizer is plain minibatch SGD through the backend's fused `sgd_step`.
//!
//! A model that has learned the sine exactly still makes an error of the noise's size on
//! fresh data, so the test MSE should come down to the noise variance (and not below).
//!
//!     cargo run --release --example sine_fit

use sigmagrad::{cpu, no_grad, DType, Device, Gradients, Rng, Tensor, Var};
use std::time::Instant;

const TRAIN: usize = 1024;
const TEST: usize = 1024;
const NOISE_STD: f64 = 0.1;
const HIDDEN: usize = 32;
const BATCH: usize = 64;
const EPOCHS: usize = 300;
const LR: f64 = 0.1;
/// The learning rate drops tenfold for the last third of the epochs, to settle in the minimum.
const DECAY_AT: usize = 200;
const PRINT_EVERY: usize = 25;

/// One dense layer: y = x W + b.
struct Dense {
    w: Var,
    b: Var,
}

impl Dense {
    /// Glorot-style init: N(0, 1 / fan_in) weights, zero biases.
    fn new(fan_in: usize, fan_out: usize, rng: &mut Rng, dev: &Device) -> sigmagrad::Result<Dense> {
        let w = rng.normal(&[fan_in, fan_out], DType::F32, dev)?.mul_scalar((1.0 / fan_in as f64).sqrt())?;
        let b = Tensor::zeros(&[fan_out], DType::F32, dev)?;
        Ok(Dense { w: Var::new(&w)?, b: Var::new(&b)? })
    }

    fn forward(&self, x: &Tensor) -> sigmagrad::Result<Tensor> {
        x.matmul(&self.w.tensor())?.add(&self.b.tensor())
    }
}

struct Mlp {
    layers: Vec<Dense>,
}

impl Mlp {
    fn forward(&self, x: &Tensor) -> sigmagrad::Result<Tensor> {
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i + 1 < self.layers.len() {
                h = h.tanh()?;
            }
        }
        Ok(h)
    }

    fn params(&self) -> Vec<&Var> {
        self.layers.iter().flat_map(|l| [&l.w, &l.b]).collect()
    }

    /// p -= lr * dL/dp, in place (the graph that held the old values is gone by now).
    fn sgd_step(&self, grads: &Gradients, lr: f64) -> sigmagrad::Result<()> {
        for p in self.params() {
            if let Some(g) = grads.get_id(p.id()) {
                let g = g.contiguous()?;
                let dev = g.device().clone();
                p.update_storage(|s| dev.backend().sgd_step(s, g.storage(), None, lr, 0.0, 0.0))?;
            }
        }
        Ok(())
    }
}

fn mse(pred: &Tensor, target: &Tensor) -> sigmagrad::Result<Tensor> {
    pred.sub(target)?.square()?.mean_all()
}

/// `n` points with x uniform on [-pi, pi]: (x, sin x + noise, sin x), each of shape [n, 1].
fn sine_data(n: usize, rng: &mut Rng, dev: &Device) -> sigmagrad::Result<(Tensor, Tensor, Tensor)> {
    let pi = std::f64::consts::PI;
    let x = rng.uniform(-pi, pi, &[n, 1], DType::F32, dev)?;
    let clean: Vec<f32> = x.to_vec::<f32>()?.iter().map(|v| v.sin()).collect();
    let clean = Tensor::from_vec(clean, &[n, 1], dev)?;
    let noisy = clean.add(&rng.normal(&[n, 1], DType::F32, dev)?.mul_scalar(NOISE_STD)?)?;
    Ok((x, noisy, clean))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dev = cpu();
    let rng = Rng::new(2024);
    let (x_train, y_train, _) = sine_data(TRAIN, &mut rng.fork(1), &dev)?;
    let (x_test, y_test, clean_test) = sine_data(TEST, &mut rng.fork(2), &dev)?;

    let mut init = rng.fork(3);
    let model = Mlp {
        layers: vec![
            Dense::new(1, HIDDEN, &mut init, &dev)?,
            Dense::new(HIDDEN, HIDDEN, &mut init, &dev)?,
            Dense::new(HIDDEN, 1, &mut init, &dev)?,
        ],
    };
    println!(
        "sine fit: {TRAIN} noisy points (noise std {NOISE_STD}), MLP 1-{HIDDEN}-{HIDDEN}-1 (tanh), \
         SGD lr {LR} (x0.1 from epoch {DECAY_AT}), batch {BATCH}, {EPOCHS} epochs"
    );

    let mut shuffle = rng.fork(4);
    let start = Instant::now();
    for epoch in 1..=EPOCHS {
        let order = shuffle.permutation(TRAIN);
        let mut total = 0.0;
        for batch in order.chunks(BATCH) {
            let xb = x_train.index_select(0, batch)?;
            let yb = y_train.index_select(0, batch)?;
            // The graph lives only inside this block, so the update below works in place.
            let grads = {
                let loss = mse(&model.forward(&xb)?, &yb)?;
                total += loss.to_scalar()? * batch.len() as f64;
                loss.backward()?
            };
            model.sgd_step(&grads, if epoch > DECAY_AT { LR / 10.0 } else { LR })?;
        }
        if epoch == 1 || epoch % PRINT_EVERY == 0 {
            println!("epoch {epoch:4}  train MSE {:.5}", total / TRAIN as f64);
        }
    }
    let elapsed = start.elapsed().as_secs_f64();

    let (test_mse, clean_mse) = no_grad(|| -> sigmagrad::Result<(f64, f64)> {
        let pred = model.forward(&x_test)?;
        Ok((mse(&pred, &y_test)?.to_scalar()?, mse(&pred, &clean_test)?.to_scalar()?))
    })?;
    let noise_var = NOISE_STD * NOISE_STD;
    println!(
        "trained in {elapsed:.2} s; test MSE {test_mse:.5} vs noise variance {noise_var:.5} \
         (ratio {:.2}; MSE against the noiseless sine {clean_mse:.5})",
        test_mse / noise_var
    );
    Ok(())
}
