//! The model API the study apps build on: specifications, predictions in batches for every model
//! kind, objectives (weights, classifiers), modes, and the trainer's guards.

use autodiff::{DType, Device, Rng, Tensor};
use nn::train::{Control, TrainConfig, TrainError, Trainer, BEST, LAST};
use nn::{
    predict_rows, with_mode, Activation, Adam, Batch, Dataset, Head, Init, Likelihood, MlpSpec, Mode, ModelSpec,
    Module, Moments, Objective, PerDraw, PredictOptions, Regulariser, RepulsionSpace, TwoSample, VariationalConfig,
};
use std::path::PathBuf;

fn dev() -> Device {
    backend_cpu::device()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sigmagrad-api-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn specs() -> Vec<ModelSpec> {
    let mlp = MlpSpec::new(3, &[6], 2).activation(Activation::Tanh);
    let wide = VariationalConfig { logsig2_init: -3.0, ..VariationalConfig::default() };
    vec![
        ModelSpec::deterministic(mlp.clone(), Head::Gaussian),
        ModelSpec::variational(mlp.clone().init(Init::NormalFanIn), wide, Head::Gaussian),
        ModelSpec::ensemble(mlp, 4, Head::Gaussian),
    ]
}

fn rows(n: usize, d: usize, seed: u64) -> Vec<f64> {
    Rng::new(seed).normal(&[n * d], DType::F64, &dev()).unwrap().to_vec_f64().unwrap()
}

#[test]
fn predictions_in_batches_equal_one_batch_for_every_model_kind() {
    let x = rows(37, 3, 1);
    for spec in specs() {
        let model = spec.build(DType::F64, &dev(), 3).unwrap();
        let run = |batch: usize| {
            let opts = PredictOptions { draws: 9, batch_size: batch, progress: false };
            let mut m = Moments::for_model(model.as_ref());
            predict_rows(model.as_ref(), &x, 3, &opts, &dev(), &mut m).unwrap();
            let mut d = PerDraw::default();
            predict_rows(model.as_ref(), &x, 3, &opts, &dev(), &mut d).unwrap();
            (m.finish().unwrap(), d)
        };
        let (whole, draws_whole) = run(37);
        let (chunked, draws_chunked) = run(5);
        let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * (1.0 + x.abs()));
        assert!(close(&whole.mean, &chunked.mean), "{}", spec.describe());
        assert!(close(&whole.sigma_stat2, &chunked.sigma_stat2), "{}", spec.describe());
        assert!(close(&whole.sigma_syst2, &chunked.sigma_syst2), "{}", spec.describe());
        // Draw k is the same network in every batch: the per-draw outputs agree exactly.
        assert_eq!(draws_whole.values, draws_chunked.values, "{}", spec.describe());
        let expected_draws = match spec.kind {
            nn::ModelKind::Deterministic => 1,
            nn::ModelKind::Variational(_) => 9,
            nn::ModelKind::Ensemble { members } => members,
            nn::ModelKind::Flow(c) => {
                if c.variational.is_some() {
                    9
                } else {
                    1
                }
            }
        };
        assert_eq!(whole.draws, expected_draws);
        let stat_positive = whole.sigma_stat2.iter().all(|&s| s > 0.0);
        assert_eq!(stat_positive, expected_draws > 1, "{}", spec.describe());
        // Predicting leaves the model in the mode it had.
        assert_eq!(model.mode(), Mode::Train);
    }
}

#[test]
fn a_point_head_has_no_systematic_width_and_a_logit_head_no_moments() {
    let x = rows(4, 3, 2);
    let point = ModelSpec::ensemble(MlpSpec::new(3, &[4], 1), 3, Head::Point).build(DType::F64, &dev(), 1).unwrap();
    let mut m = Moments::for_model(point.as_ref());
    predict_rows(point.as_ref(), &x, 3, &PredictOptions::default(), &dev(), &mut m).unwrap();
    let p = m.finish().unwrap();
    assert!(p.sigma_syst2.iter().all(|&s| s == 0.0) && p.sigma_stat2.iter().all(|&s| s > 0.0));
    let logit = ModelSpec::deterministic(MlpSpec::new(3, &[4], 1), Head::Logit).build(DType::F64, &dev(), 1).unwrap();
    let mut m = Moments::for_model(logit.as_ref());
    assert!(predict_rows(logit.as_ref(), &x, 3, &PredictOptions::default(), &dev(), &mut m).is_err());
}

#[test]
fn specifications_refuse_what_they_cannot_build() {
    let bad = [
        ModelSpec::deterministic(MlpSpec::new(3, &[4], 3), Head::Gaussian),
        ModelSpec::deterministic(MlpSpec::new(3, &[0], 2), Head::Gaussian),
        ModelSpec::deterministic(MlpSpec::new(3, &[4], 2).dropout(1.0), Head::Gaussian),
        ModelSpec::ensemble(MlpSpec::new(3, &[4], 2), 0, Head::Gaussian),
        ModelSpec::variational(
            MlpSpec::new(3, &[4], 2),
            VariationalConfig { prior_sigma: -1.0, ..VariationalConfig::default() },
            Head::Gaussian,
        ),
    ];
    for spec in bad {
        assert!(spec.build(DType::F32, &dev(), 0).is_err(), "{spec:?}");
    }
    // A stack built from a specification of another kind is refused, not reinterpreted.
    let ens = ModelSpec::ensemble(MlpSpec::new(3, &[4], 2), 2, Head::Gaussian);
    assert!(nn::Mlp::new(&ens, DType::F32, &dev(), 0).is_err());
    assert!(nn::VariationalMlp::new(&ens, DType::F32, &dev(), 0).is_err());
    // Specifications survive JSON (they are what checkpoints store).
    for spec in specs() {
        let back: ModelSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
    }
}

#[test]
fn the_mode_guard_restores_the_previous_mode() {
    let model = specs()[1].build(DType::F64, &dev(), 1).unwrap();
    model.set_mode(Mode::Map);
    {
        let _g = with_mode(model.as_ref(), Mode::Eval { draw: 4 });
        assert_eq!(model.mode(), Mode::Eval { draw: 4 });
    }
    assert_eq!(model.mode(), Mode::Map);
}

#[test]
fn objectives_check_that_they_fit_the_model() {
    let [mlp, bnn, ens] = <[ModelSpec; 3]>::try_from(specs()).unwrap();
    let (mlp, bnn, ens) = (
        mlp.build(DType::F64, &dev(), 1).unwrap(),
        bnn.build(DType::F64, &dev(), 1).unwrap(),
        ens.build(DType::F64, &dev(), 1).unwrap(),
    );
    let kl = Objective::new(Likelihood::Gaussian, Regulariser::Kl);
    let rep = Objective::new(
        Likelihood::Gaussian,
        Regulariser::Repulsion { beta: 1.0, space: RepulsionSpace::Predictions, prior_sigma: Some(1.0) },
    );
    assert!(kl.check(mlp.as_ref()).is_err() && kl.check(bnn.as_ref()).is_ok());
    assert!(rep.check(bnn.as_ref()).is_err() && rep.check(ens.as_ref()).is_ok());
    let bce = Objective::new(Likelihood::BinaryCrossEntropy, Regulariser::None);
    let x = Tensor::from_f64s(&rows(5, 3, 3), &[5, 3], DType::F64, &dev()).unwrap();
    let y = Tensor::zeros(&[5], DType::F64, &dev()).unwrap();
    let e = bce.loss(mlp.as_ref(), &Batch { x, y, w: None }, 10).unwrap_err();
    assert!(e.to_string().contains("one output"), "{e}");
}

#[test]
fn a_weight_of_two_counts_as_the_row_twice() {
    let model = specs()[0].build(DType::F64, &dev(), 2).unwrap();
    let x = rows(3, 3, 4);
    let y = vec![0.3, -0.2, 0.9];
    let once = Dataset::new(x.clone(), 3, y.clone(), 1).unwrap().with_weights(vec![1.0, 2.0, 1.0]).unwrap();
    let mut x2 = x.clone();
    x2.extend_from_slice(&x[3..6]);
    let mut y2 = y.clone();
    y2.push(y[1]);
    let twice = Dataset::new(x2, 3, y2, 1).unwrap();
    let obj = Objective::new(Likelihood::Gaussian, Regulariser::None);
    let a = obj.loss(model.as_ref(), &once.to_batch(DType::F64, &dev()).unwrap(), 10).unwrap();
    let b = obj.loss(model.as_ref(), &twice.to_batch(DType::F64, &dev()).unwrap(), 10).unwrap();
    assert!((a.to_scalar().unwrap() - b.to_scalar().unwrap()).abs() < 1e-12);
}

/// A classifier between N(0, 1) (truth) and N(1, 1) (generated) learns the log density ratio
/// log w(x) = 0.5 - x as its logit, trained on balanced two-sample batches with BCE.
#[test]
fn a_classifier_on_two_samples_learns_the_log_density_ratio() {
    let n = 20_000;
    let draw = |seed: u64, shift: f64| {
        let v: Vec<f64> = rows(n, 1, seed).iter().map(|z| z + shift).collect();
        Dataset::new(v, 1, vec![0.0; n], 1).unwrap()
    };
    let two = TwoSample::new(draw(10, 0.0), draw(11, 1.0)).unwrap();
    let spec = ModelSpec::deterministic(MlpSpec::new(1, &[16], 1).activation(Activation::Tanh), Head::Logit);
    let model = spec.build(DType::F32, &dev(), 5).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let cfg = TrainConfig { epochs: 8, batch_size: 256, drop_last: true, progress: false, ..TrainConfig::default() };
    let objective = Objective::new(Likelihood::BinaryCrossEntropy, Regulariser::None);
    Trainer::new(cfg, &dev()).fit(model.as_ref(), &mut opt, &two, None, &objective, |_| Control::Continue).unwrap();
    let grid: Vec<f64> = (0..7).map(|i| -1.0 + 0.5 * i as f64).collect();
    let mut logits = PerDraw::default();
    predict_rows(model.as_ref(), &grid, 1, &PredictOptions::default(), &dev(), &mut logits).unwrap();
    for (x, l) in grid.iter().zip(logits.draw(0)) {
        assert!((l - (0.5 - x)).abs() < 0.15, "at x = {x}: logit {l:.3}, exact {:.3}", 0.5 - x);
    }
}

fn toy(n: usize) -> Dataset {
    let x = rows(n, 3, 7);
    let y = x.chunks(3).map(|r| r[0] - 0.5 * r[1]).collect();
    Dataset::new(x, 3, y, 1).unwrap()
}

fn files(dir: &std::path::Path) -> (Vec<u8>, Vec<u8>) {
    (std::fs::read(dir.join(BEST)).unwrap(), std::fs::read(dir.join(LAST)).unwrap())
}

/// A good run leaves its checkpoints; a second run into the same directory that goes wrong must
/// stop with an error naming the epoch, leave the files as they were, and the model at its last
/// good weights.
fn second_run_fails(lr: f64, val: &dyn nn::BatchSource, loss: &dyn Fn() -> Objective) -> (TrainError, bool) {
    let data = toy(300);
    let dir = tmp(&format!("guard-{lr}"));
    let spec = ModelSpec::deterministic(MlpSpec::new(3, &[8], 2), Head::Gaussian);
    let cfg =
        TrainConfig { epochs: 2, batch_size: 50, progress: false, dir: Some(dir.clone()), ..TrainConfig::default() };
    let good = spec.build(DType::F32, &dev(), 1).unwrap();
    let mut opt = Adam::new(good.params(), 1e-2);
    Trainer::new(cfg.clone(), &dev())
        .fit(good.as_ref(), &mut opt, &data, Some(&data), &loss(), |_| Control::Continue)
        .unwrap();
    let before = files(&dir);
    let model = spec.build(DType::F32, &dev(), 2).unwrap();
    let mut opt = Adam::new(model.params(), lr);
    let err = Trainer::new(cfg, &dev())
        .fit(model.as_ref(), &mut opt, &data, Some(val), &loss(), |_| Control::Continue)
        .unwrap_err();
    let unchanged = files(&dir) == before;
    let reloaded = spec.build(DType::F32, &dev(), 3).unwrap();
    nn::Checkpoint::load(dir.join(BEST), reloaded.as_ref(), None).unwrap();
    (err, unchanged)
}

#[test]
fn an_exploding_run_is_stopped_and_the_good_checkpoints_stay() {
    let data = toy(300);
    let (err, unchanged) = second_run_fails(1e6, &data, &|| Objective::new(Likelihood::Gaussian, Regulariser::None));
    assert!(matches!(err, TrainError::Diverged { epoch: 0, .. }), "{err}");
    assert!(err.to_string().contains("epoch 1"), "{err}");
    assert!(unchanged, "the previous good checkpoints were overwritten");
}

#[test]
fn a_validation_loss_that_is_not_a_number_stops_training() {
    // Targets of 1e200 square to infinity in f32: a finite training set, an infinite validation loss.
    let data = toy(300);
    let huge: Vec<f64> = data.y().iter().map(|_| 1e200).collect();
    let val = Dataset::new(data.x().to_vec(), 3, huge, 1).unwrap();
    let (err, unchanged) = second_run_fails(1e-2, &val, &|| Objective::new(Likelihood::Gaussian, Regulariser::None));
    assert!(matches!(err, TrainError::NonFiniteValidation { epoch: 0, .. }), "{err}");
    assert!(err.to_string().contains("validation"), "{err}");
    assert!(unchanged);
}
