//! HDF5 checkpoints: round trip, exact resume, and clear errors for bad files.

use autodiff::{DType, Rng, Tensor};
use nn::loss::gaussian_nll;
use nn::mlp::MlpSpec;
use nn::optim::Adam;
use nn::train::{Control, TrainConfig, Trainer};
use nn::{Checkpoint, CheckpointError, Dataset, Module, Standardizer, Transform};
use std::path::PathBuf;

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigmagrad-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn toy(n: usize) -> Dataset {
    let dev = backend_cpu::device();
    let mut rng = Rng::new(3);
    let x = rng.uniform(-2.0, 2.0, &[n, 2], DType::F64, &dev).unwrap().to_vec_f64().unwrap();
    let y = x.chunks(2).map(|r| r[0] * r[1] + 0.1 * r[0]).collect();
    Dataset::new(x, 2, y, 1).unwrap()
}

fn loss(m: &nn::Mlp, x: &Tensor, y: &Tensor) -> autodiff::Result<Tensor> {
    gaussian_nll(&m.forward(x)?, &y.reshape(&[y.shape()[0]])?)
}

fn weights(m: &nn::Mlp) -> Vec<Vec<f32>> {
    m.params().iter().map(|p| p.var.tensor().to_vec::<f32>().unwrap()).collect()
}

fn config(epochs: usize, start: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        start_epoch: start,
        batch_size: 32,
        seed: 11,
        progress: false,
        keep_best: false,
        ..TrainConfig::default()
    }
}

#[test]
fn round_trip_gives_identical_predictions() {
    let dev = backend_cpu::device();
    let spec = MlpSpec::new(2, &[8, 8], 2);
    let a = spec.build(DType::F32, &dev, 1).unwrap();
    let b = spec.build(DType::F32, &dev, 2).unwrap();
    let data = toy(64);
    let std = Standardizer::fit(&data, &[Transform::Log, Transform::CubeRoot]).unwrap();
    let path = tmp("roundtrip.h5");
    let ckpt = Checkpoint { epoch: 7, standardizer: Some(std.clone()), ..Checkpoint::default() };
    ckpt.save(&path, &a, None).unwrap();
    let head = Checkpoint::load(&path, &b, None).unwrap();
    assert_eq!(head.epoch, 7);
    assert_eq!(head.standardizer, Some(std));
    let (x, _) = data.tensors(DType::F32, &dev).unwrap();
    assert_eq!(a.forward(&x).unwrap().to_vec::<f32>().unwrap(), b.forward(&x).unwrap().to_vec::<f32>().unwrap());
    assert!(!path.with_extension("h5.tmp").exists(), "the temporary file was renamed away");
}

#[test]
fn resuming_gives_the_same_weights_as_an_uninterrupted_run() {
    let dev = backend_cpu::device();
    let data = toy(200);
    let spec = MlpSpec::new(2, &[8], 2);

    let straight = spec.build(DType::F32, &dev, 5).unwrap();
    let mut opt = Adam::new(straight.params(), 1e-2);
    Trainer::new(config(4, 0), &dev).fit(&straight, &mut opt, &data, None, loss, |_| Control::Continue).unwrap();

    let first = spec.build(DType::F32, &dev, 5).unwrap();
    let mut opt = Adam::new(first.params(), 1e-2);
    Trainer::new(config(2, 0), &dev).fit(&first, &mut opt, &data, None, loss, |_| Control::Continue).unwrap();
    let path = tmp("resume.h5");
    Checkpoint { epoch: 2, ..Checkpoint::default() }.save(&path, &first, Some(&opt)).unwrap();
    drop((first, opt));

    // A fresh process: new model (other seed), new optimizer, everything from the file.
    let resumed = spec.build(DType::F32, &dev, 99).unwrap();
    let mut opt = Adam::new(resumed.params(), 1e-2);
    let head = Checkpoint::load(&path, &resumed, Some(&mut opt)).unwrap();
    assert_eq!(head.epoch, 2);
    Trainer::new(config(4, head.epoch as usize), &dev)
        .fit(&resumed, &mut opt, &data, None, loss, |_| Control::Continue)
        .unwrap();
    assert_eq!(weights(&resumed), weights(&straight));
}

#[test]
fn bad_files_are_errors_not_panics() {
    let dev = backend_cpu::device();
    let model = MlpSpec::new(2, &[8], 2).build(DType::F32, &dev, 1).unwrap();
    let good = tmp("good.h5");
    Checkpoint::default().save(&good, &model, None).unwrap();

    let missing = Checkpoint::load(tmp("nope.h5"), &model, None).unwrap_err();
    assert!(matches!(missing, CheckpointError::Unreadable { .. }), "{missing}");

    let text = tmp("text.h5");
    std::fs::write(&text, "this is not HDF5").unwrap();
    let e = Checkpoint::load(&text, &model, None).unwrap_err();
    assert!(matches!(e, CheckpointError::Unreadable { .. }) && e.to_string().contains("HDF5"), "{e}");

    let bytes = std::fs::read(&good).unwrap();
    let truncated = tmp("truncated.h5");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let before = weights(&model);
    assert!(Checkpoint::load(&truncated, &model, None).is_err());
    assert_eq!(weights(&model), before, "a failed load leaves the model untouched");

    let other = MlpSpec::new(2, &[9], 2).build(DType::F32, &dev, 1).unwrap();
    let e = Checkpoint::load(&good, &other, None).unwrap_err();
    assert!(matches!(e, CheckpointError::Architecture { .. }), "{e}");

    // Same architecture string, but a parameter dataset removed by hand.
    let gutted = tmp("gutted.h5");
    std::fs::copy(&good, &gutted).unwrap();
    {
        let f = hdf5::File::open_rw(&gutted).unwrap();
        f.group("params").unwrap().unlink("layers.1.bias").unwrap();
    }
    let e = Checkpoint::load(&gutted, &model, None).unwrap_err();
    assert!(matches!(&e, CheckpointError::Dataset { name, .. } if name == "layers.1.bias"), "{e}");
}
