//! The training loop on problems with known answers.

use autodiff::Tensor;
use autodiff::{no_grad, DType, Rng};
use nn::loss::{mse, split_mean_logvar};
use nn::mlp::MlpSpec;
use nn::optim::Adam;
use nn::train::{Control, TrainConfig, TrainError, Trainer};
use nn::{Activation, Batch, Dataset, Likelihood, Module, Objective, Regulariser, Schedule};

/// The true noise width of the toy: grows from 0.05 at x = -3 to 0.35 at x = 3.
fn true_sigma(x: f64) -> f64 {
    0.05 + 0.05 * (x + 3.0)
}

/// y = sin x + sigma(x) * noise, x uniform on [-3, 3].
fn toy(n: usize, seed: u64) -> Dataset {
    let dev = backend_cpu::device();
    let mut rng = Rng::new(seed);
    let x = rng.uniform(-3.0, 3.0, &[n], DType::F64, &dev).unwrap().to_vec_f64().unwrap();
    let z = rng.normal(&[n], DType::F64, &dev).unwrap().to_vec_f64().unwrap();
    let y = x.iter().zip(&z).map(|(&x, &z)| x.sin() + true_sigma(x) * z).collect();
    Dataset::new(x, 1, y, 1).unwrap()
}

fn nll() -> Objective {
    Objective::new(Likelihood::Gaussian, Regulariser::None)
}

fn mse_objective() -> Objective {
    Objective::new(Likelihood::Mse, Regulariser::None)
}

#[test]
fn heteroscedastic_fit_learns_the_noise_width() {
    let dev = backend_cpu::device();
    let data = toy(16_000, 1);
    let (train, val, _) = data.split(0.85, 0.15, 2).unwrap();
    let model = MlpSpec::new(1, &[48, 48], 2).activation(Activation::Tanh).build(DType::F32, &dev, 3).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let cfg = TrainConfig {
        epochs: 60,
        batch_size: 256,
        schedule: Schedule::Cosine { total: 60 * 54, min_lr: 1e-4 },
        progress: false,
        ..TrainConfig::default()
    };
    let history =
        Trainer::new(cfg, &dev).fit(&model, &mut opt, &train, Some(&val), &nll(), |_| Control::Continue).unwrap();
    assert!(history.best_val_loss.unwrap() < -0.5, "{:?}", history.best_val_loss);

    let grid: Vec<f64> = (0..11).map(|i| -2.5 + 0.5 * i as f64).collect();
    let x = Tensor::from_f64s(&grid, &[grid.len(), 1], DType::F32, &dev).unwrap();
    let (mu, logvar) = no_grad(|| split_mean_logvar(&model.forward(&x).unwrap())).unwrap();
    let sigma: Vec<f64> = logvar.to_vec_f64().unwrap().iter().map(|l| (0.5 * l).exp()).collect();
    let mu = mu.to_vec_f64().unwrap();
    for ((&x, &s), &m) in grid.iter().zip(&sigma).zip(&mu) {
        let ratio = s / true_sigma(x);
        assert!(
            (ratio - 1.0).abs() < 0.1,
            "at x = {x}: learned sigma {s:.4}, true {:.4} (ratio {ratio:.3})",
            true_sigma(x)
        );
        assert!((m - x.sin()).abs() < 0.05, "at x = {x}: mean {m:.3} vs sin x {:.3}", x.sin());
    }
}

fn small_run(seed: u64, epochs: usize) -> Vec<Vec<f32>> {
    let dev = backend_cpu::device();
    let data = toy(600, 7);
    let model = MlpSpec::new(1, &[16], 2).build(DType::F32, &dev, seed).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let cfg = TrainConfig { epochs, batch_size: 64, seed, progress: false, keep_best: false, ..TrainConfig::default() };
    Trainer::new(cfg, &dev).fit(&model, &mut opt, &data, None, &nll(), |_| Control::Continue).unwrap();
    model.params().iter().map(|p| p.var.tensor().to_vec::<f32>().unwrap()).collect()
}

#[test]
fn the_same_seed_gives_bit_identical_weights() {
    assert_eq!(small_run(5, 3), small_run(5, 3));
    assert_ne!(small_run(5, 3), small_run(6, 3));
}

#[test]
fn a_non_finite_loss_names_epoch_and_batch_and_keeps_good_weights() {
    let dev = backend_cpu::device();
    let data = toy(640, 7);
    let model = MlpSpec::new(1, &[8], 1).build(DType::F32, &dev, 1).unwrap();
    let mut opt = Adam::new(model.params(), 1e-3);
    let cfg = TrainConfig { epochs: 5, batch_size: 64, progress: false, ..TrainConfig::default() };
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let mut after_epoch0 = None;
    // The loss turns into NaN at the fourth batch of the second epoch (10 batches per epoch).
    let loss = |m: &nn::Mlp, b: &Batch, _n: usize| {
        let l = mse(&m.forward(&b.x)?.reshape(&[b.len()])?, &b.y)?;
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 13 {
            return l.mul_scalar(f64::NAN);
        }
        Ok(l)
    };
    let err = Trainer::new(cfg, &dev)
        .fit(&model, &mut opt, &data, None, &loss, |_| {
            after_epoch0.get_or_insert_with(|| {
                model.params().iter().map(|p| p.var.tensor().to_vec::<f32>().unwrap()).collect::<Vec<_>>()
            });
            Control::Continue
        })
        .unwrap_err();
    match err {
        TrainError::NonFinite { epoch, batch, loss } => {
            assert_eq!((epoch, batch), (1, 3));
            assert!(loss.is_nan());
        }
        other => panic!("expected NonFinite, got {other}"),
    }
    assert!(err_text_names_position());
    let now: Vec<Vec<f32>> = model.params().iter().map(|p| p.var.tensor().to_vec::<f32>().unwrap()).collect();
    assert_eq!(Some(now), after_epoch0, "the model holds the weights of the last good epoch");
}

fn err_text_names_position() -> bool {
    let e = TrainError::NonFinite { epoch: 4, batch: 17, loss: f64::INFINITY };
    let s = e.to_string();
    s.contains("epoch 5") && s.contains("batch 17") && s.contains("inf")
}

#[test]
fn early_stopping_and_the_epoch_hook() {
    let dev = backend_cpu::device();
    let data = toy(400, 7);
    let model = MlpSpec::new(1, &[8], 1).build(DType::F32, &dev, 1).unwrap();
    let mut opt = Adam::new(model.params(), 1e-3);
    let cfg = TrainConfig { epochs: 50, batch_size: 100, progress: false, ..TrainConfig::default() };
    let mut seen = 0;
    let h = Trainer::new(cfg.clone(), &dev)
        .fit(&model, &mut opt, &data, Some(&data), &mse_objective(), |r| {
            seen += 1;
            if r.epoch == 2 {
                Control::Stop
            } else {
                Control::Continue
            }
        })
        .unwrap();
    assert_eq!((seen, h.epochs.len()), (3, 3));
    assert!(h.stopped_early);
    assert!(h.to_csv().lines().count() == 4);
    // With a learning rate of zero nothing improves, so patience 2 stops after three epochs.
    let mut frozen = Adam::new(model.params(), 0.0);
    let cfg = TrainConfig { patience: Some(2), ..cfg };
    let h = Trainer::new(cfg, &dev)
        .fit(&model, &mut frozen, &data, Some(&data), &mse_objective(), |_| Control::Continue)
        .unwrap();
    assert_eq!(h.epochs.len(), 3);
}
