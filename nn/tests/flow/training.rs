//! A flow through the ordinary training loop: the negative log-likelihood objective fits a
//! curved 2-D density far better than a Gaussian, an interrupted run resumes exactly, and the
//! checkpoint rebuilds the flow (as a module and as a flow that samples).

use super::*;
use autodiff::no_grad;
use nn::train::{Control, TrainConfig, Trainer};
use nn::{Adam, Checkpoint, Dataset, Likelihood, Mode, Objective, Regulariser};
use std::path::PathBuf;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigmagrad-flow-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// A banana: x1 ~ N(0, 1), x2 = x1² / 2 - 0.5 + 0.25 N(0, 1), whose differential entropy is
/// that of the two normals, ln(2πe)/2 + ln(2πe · 0.25²)/2 (the shear has unit Jacobian).
fn banana(n: usize, seed: u64) -> (Dataset, f64) {
    let z = host(&Rng::new(seed).normal(&[n, 2], DType::F64, &dev()).unwrap());
    let x: Vec<f64> = z.chunks(2).flat_map(|r| [r[0], 0.5 * r[0] * r[0] - 0.5 + 0.25 * r[1]]).collect();
    let entropy = (2.0 * std::f64::consts::PI * std::f64::consts::E).ln() + 0.25f64.ln();
    (Dataset::new(x, 2, vec![0.0; n], 1).unwrap(), entropy)
}

/// The negative log-likelihood per event of the best single Gaussian (its own covariance).
fn gaussian_nll(data: &Dataset) -> f64 {
    let x = data.x();
    let n = data.len() as f64;
    let mean = |j: usize| x.iter().skip(j).step_by(2).sum::<f64>() / n;
    let (m0, m1) = (mean(0), mean(1));
    let cov = |a: usize, ma: f64, b: usize, mb: f64| x.chunks(2).map(|r| (r[a] - ma) * (r[b] - mb)).sum::<f64>() / n;
    let det = cov(0, m0, 0, m0) * cov(1, m1, 1, m1) - cov(0, m0, 1, m1).powi(2);
    (2.0 * std::f64::consts::PI * std::f64::consts::E).ln() + 0.5 * det.ln()
}

fn train(flow: &Flow, data: &Dataset, val: &Dataset, epochs: usize, dir: Option<PathBuf>, resume: bool) -> f64 {
    let cfg = TrainConfig { epochs, batch_size: 256, seed: 3, progress: false, dir: dir.clone(), ..Default::default() };
    let trainer = Trainer::new(cfg, &dev());
    let bayesian = flow.kl().unwrap().is_some();
    let objective = Objective::new(Likelihood::Density, if bayesian { Regulariser::Kl } else { Regulariser::None });
    let mut opt = Adam::new(flow.params(), 5e-3);
    let history = if resume {
        let dir = dir.expect("a run directory");
        trainer.resume(&dir, flow, &mut opt, data, Some(val), &objective, |_| Control::Continue)
    } else {
        trainer.fit(flow, &mut opt, data, Some(val), &objective, |_| Control::Continue)
    };
    history.unwrap().best_val_loss.unwrap()
}

#[test]
fn a_trained_flow_fits_a_banana_far_better_than_a_gaussian() {
    let (data, entropy) = banana(4000, 1);
    let (val, _) = banana(2000, 2);
    for coupling in [AFFINE, SPLINE] {
        let spec = flow_spec(2, &[32, 32], Activation::Tanh, config(coupling, 4, false));
        let flow = Flow::new(&spec, DType::F32, &dev(), 1).unwrap();
        let nll = train(&flow, &data, &val, 30, None, false);
        let gauss = gaussian_nll(&val);
        // The Gaussian is 0.5 nats above the entropy here; the flow must close most of the gap.
        assert!(
            nll < entropy + 0.15 && nll < gauss - 0.3,
            "{coupling:?}: NLL {nll}, Gaussian {gauss}, entropy {entropy}"
        );
    }
}

#[test]
fn an_interrupted_bayesian_flow_resumes_exactly() {
    let (data, _) = banana(600, 3);
    let (val, _) = banana(200, 4);
    let spec = flow_spec(2, &[8], Activation::Tanh, config(SPLINE, 2, true));
    let whole = Flow::new(&spec, DType::F32, &dev(), 5).unwrap();
    train(&whole, &data, &val, 4, Some(scratch("whole")), false);
    let dir = scratch("halves");
    let first = Flow::new(&spec, DType::F32, &dev(), 5).unwrap();
    train(&first, &data, &val, 2, Some(dir.clone()), false);
    let second = Flow::new(&spec, DType::F32, &dev(), 5).unwrap();
    train(&second, &data, &val, 4, Some(dir.clone()), true);
    for (a, b) in whole.params().iter().zip(second.params()) {
        assert_eq!(host(&a.var.tensor()), host(&b.var.tensor()), "{} differs after the resume", a.name);
    }
    let streams = |f: &Flow| f.noise_streams().iter().map(|s| s.state()).collect::<Vec<_>>();
    assert_eq!(streams(&whole), streams(&second));
    let names: Vec<String> = streams(&whole).into_iter().map(|s| s.name).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(names.len(), 4, "one stream per variational layer: {names:?}");
    assert_eq!(unique.len(), names.len(), "stream names must be distinct: {names:?}");
}

#[test]
fn a_checkpoint_rebuilds_the_flow_that_samples_alike() {
    let (data, _) = banana(500, 5);
    let dir = scratch("rebuild");
    let spec = flow_spec(2, &[8], Activation::Tanh, config(AFFINE, 3, true));
    let flow = Flow::new(&spec, DType::F32, &dev(), 2).unwrap();
    train(&flow, &data, &data, 2, Some(dir.clone()), false);
    let x = rows(64, 2, 1.0, DType::F32, 6);
    let module = Checkpoint::load_model(dir.join("best.h5"), &dev()).unwrap().model;
    let (loaded, head) = Flow::load(dir.join("best.h5"), &dev()).unwrap();
    assert_eq!(head.spec.as_ref(), Some(&spec));
    for mode in [Mode::Map, Mode::Eval { draw: 4 }] {
        for m in [&flow as &dyn Module, module.as_ref(), &loaded] {
            m.set_mode(mode);
        }
        let want = host(&no_grad(|| flow.forward(&x)).unwrap());
        assert_eq!(want, host(&no_grad(|| module.forward(&x)).unwrap()), "{mode:?}: load_model differs");
        assert_eq!(want, host(&no_grad(|| loaded.forward(&x)).unwrap()), "{mode:?}: Flow::load differs");
        let sample = |f: &Flow| host(&f.sample(32, &mut Rng::new(9), DType::F32, &dev()).unwrap());
        assert_eq!(sample(&flow), sample(&loaded), "{mode:?}: samples differ");
    }
    flow.set_mode(Mode::Eval { draw: 0 });
    let a = host(&no_grad(|| flow.forward(&x)).unwrap());
    flow.set_mode(Mode::Eval { draw: 1 });
    assert_ne!(a, host(&no_grad(|| flow.forward(&x)).unwrap()), "two weight draws gave one density");
}

/// A rotated flow's checkpoint rebuilds its rotations from the seed (they are not stored) and
/// with them the same densities and samples.
#[test]
fn a_checkpoint_rebuilds_a_rotated_flow() {
    let (data, _) = banana(500, 7);
    let dir = scratch("rotated");
    let spec = flow_spec(2, &[8], Activation::Tanh, rotated(config(SPLINE, 3, false)));
    let flow = Flow::new(&spec, DType::F32, &dev(), 3).unwrap();
    train(&flow, &data, &data, 2, Some(dir.clone()), false);
    let (loaded, head) = Flow::load(dir.join("best.h5"), &dev()).unwrap();
    assert_eq!(head.spec.as_ref(), Some(&spec));
    assert_eq!(loaded.mixing_matrices(), flow.mixing_matrices());
    assert!(flow.mixing_matrices().iter().all(|q| q.iter().all(|v| v.abs() < 1.0 - 1e-6)), "not rotations");
    flow.set_mode(Mode::Map);
    loaded.set_mode(Mode::Map);
    let x = rows(64, 2, 1.0, DType::F32, 8);
    assert_eq!(host(&no_grad(|| flow.log_p(&x)).unwrap()), host(&no_grad(|| loaded.log_p(&x)).unwrap()));
    let sample = |f: &Flow| host(&f.sample(32, &mut Rng::new(9), DType::F32, &dev()).unwrap());
    assert_eq!(sample(&flow), sample(&loaded));
}

/// A checkpoint believes a description only up to the parameter values it stores; a flow's bound
/// counts its blocks' subnetworks (the plain MLP bound, D·h + h·D, would refuse this one-block
/// flow on 4 coordinates, whose subnetwork is 2-32-4).
#[test]
fn a_one_block_flow_checkpoint_loads() {
    let spec = flow_spec(4, &[32], Activation::Relu, config(AFFINE, 1, false));
    let flow = Flow::new(&spec, DType::F32, &dev(), 1).unwrap();
    let dir = scratch("one-block");
    std::fs::create_dir_all(&dir).unwrap();
    Checkpoint::default().save(dir.join("one.h5"), &flow, None).unwrap();
    let loaded = Checkpoint::load_model(dir.join("one.h5"), &dev()).unwrap();
    assert_eq!(loaded.spec(), Some(&spec));
    assert!(spec.min_parameter_values().unwrap() <= flow.num_params() as u128);
}

/// The density likelihood and a density model go together: a flow trained on any other
/// likelihood, or a regression network on −ln p, is refused before training starts, by
/// `Objective::check` and so by the trainer.
#[test]
fn density_likelihood_and_density_models_are_refused_apart() {
    let flow =
        Flow::new(&flow_spec(2, &[4], Activation::Tanh, config(AFFINE, 1, false)), DType::F32, &dev(), 1).unwrap();
    let mlp_spec = nn::ModelSpec::deterministic(nn::MlpSpec::new(2, &[4], 1), nn::Head::Point);
    let mlp = mlp_spec.build(DType::F32, &dev(), 1).unwrap();
    let density = Objective::new(Likelihood::Density, Regulariser::None);
    assert!(density.check(&flow).is_ok());
    for other in [Likelihood::Mse, Likelihood::Gaussian, Likelihood::BinaryCrossEntropy] {
        let err = Objective::new(other, Regulariser::None).check(&flow).unwrap_err().to_string();
        assert!(err.contains("density model") && err.contains(&format!("{other:?}")), "{other:?}: {err}");
    }
    let err = density.check(mlp.as_ref()).unwrap_err().to_string();
    assert!(err.contains("Density likelihood") && err.contains("Point head"), "{err}");
    assert!(Objective::new(Likelihood::Mse, Regulariser::None).check(mlp.as_ref()).is_ok());
    let (data, _) = banana(64, 1);
    let cfg = TrainConfig { epochs: 1, batch_size: 32, progress: false, ..Default::default() };
    let mut opt = Adam::new(flow.params(), 1e-3);
    let fit = Trainer::new(cfg, &dev()).fit(
        &flow,
        &mut opt,
        &data,
        None,
        &Objective::new(Likelihood::Mse, Regulariser::None),
        |_| Control::Continue,
    );
    assert!(fit.is_err_and(|e| e.to_string().contains("density model")), "the trainer trained a flow on MSE");
}
