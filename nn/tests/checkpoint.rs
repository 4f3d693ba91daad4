//! HDF5 checkpoints: round trip, models rebuilt from their checkpoints, exact resume for every
//! model kind (random streams included), atomic saves, clear errors for bad files, and settings
//! that are well-formed but not sane refused (issue 25). The damaged-file suite is in
//! checkpoint_damage/.

use autodiff::{DType, Rng};
use nn::io::H5File;
use nn::mlp::MlpSpec;
use nn::optim::{Adam, Optimizer};
use nn::train::{Control, TrainConfig, Trainer, BEST, LAST};
use nn::{
    Activation, Checkpoint, CheckpointError, Dataset, EnsembleMlp, Head, Init, Likelihood, ModelSpec, Module,
    Objective, Regulariser, RepulsionSpace, Standardizer, Transform, VariationalConfig, VariationalMlp,
};
use std::path::{Path, PathBuf};

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sigmagrad-ckpt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn fresh_dir(name: &str) -> PathBuf {
    let d = tmp(name);
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn toy(n: usize) -> Dataset {
    let dev = backend_cpu::device();
    let mut rng = Rng::new(3);
    let x = rng.uniform(-2.0, 2.0, &[n, 2], DType::F64, &dev).unwrap().to_vec_f64().unwrap();
    let y = x.chunks(2).map(|r| r[0] * r[1] + 0.1 * r[0]).collect();
    Dataset::new(x, 2, y, 1).unwrap()
}

fn weights(m: &dyn Module) -> Vec<Vec<f64>> {
    m.params().iter().map(|p| p.var.tensor().to_vec_f64().unwrap()).collect()
}

fn config(epochs: usize, dir: Option<PathBuf>) -> TrainConfig {
    TrainConfig { epochs, batch_size: 32, seed: 11, progress: false, keep_best: false, dir, ..TrainConfig::default() }
}

fn gaussian() -> Objective {
    Objective::new(Likelihood::Gaussian, Regulariser::None)
}

#[test]
fn round_trip_gives_identical_predictions_and_load_model_rebuilds_the_network() {
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
    assert_eq!(head.standardizer, Some(std.clone()));
    let (x, _) = data.tensors(DType::F32, &dev).unwrap();
    assert_eq!(a.forward(&x).unwrap().to_vec::<f32>().unwrap(), b.forward(&x).unwrap().to_vec::<f32>().unwrap());
    // No temporary files are left beside the checkpoint.
    let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".roundtrip.h5."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // The checkpoint knows its model: rebuilt with nothing but the path.
    let loaded = Checkpoint::load_model(&path, &dev).unwrap();
    assert_eq!(loaded.spec(), a.spec());
    assert_eq!(loaded.checkpoint.standardizer, Some(std));
    assert_eq!(
        loaded.model.forward(&x).unwrap().to_vec::<f32>().unwrap(),
        a.forward(&x).unwrap().to_vec::<f32>().unwrap()
    );
}

#[test]
fn load_model_rebuilds_every_model_kind() {
    let dev = backend_cpu::device();
    let mlp = MlpSpec::new(3, &[5], 2).activation(Activation::Tanh);
    let specs = [
        ModelSpec::deterministic(mlp.clone(), Head::Gaussian),
        ModelSpec::variational(mlp.clone().init(Init::NormalFanIn), VariationalConfig::default(), Head::Gaussian),
        ModelSpec::ensemble(mlp.clone(), 3, Head::Gaussian),
        ModelSpec::deterministic(MlpSpec::new(3, &[5], 1), Head::Logit),
    ];
    let x = Rng::new(1).normal(&[4, 3], DType::F64, &dev).unwrap();
    for spec in specs {
        let model = spec.build(DType::F64, &dev, 9).unwrap();
        let path = tmp("kinds.h5");
        Checkpoint::default().save(&path, model.as_ref(), None).unwrap();
        let loaded = Checkpoint::load_model(&path, &dev).unwrap();
        assert_eq!(loaded.spec(), Some(&spec));
        for m in [model.as_ref(), loaded.model.as_ref()] {
            m.set_mode(nn::Mode::Eval { draw: 2 });
        }
        assert_eq!(
            model.forward(&x).unwrap().to_vec_f64().unwrap(),
            loaded.model.forward(&x).unwrap().to_vec_f64().unwrap(),
            "{}",
            spec.describe()
        );
    }
}

/// Trains `epochs` epochs of a freshly built model, or resumes from `dir` when `resume`.
fn run(
    spec: &ModelSpec,
    objective: &Objective,
    epochs: usize,
    dir: &std::path::Path,
    resume: bool,
    stop_after: Option<usize>,
) -> Vec<Vec<f64>> {
    let dev = backend_cpu::device();
    let data = toy(200);
    let (train, val, _) = data.split(0.8, 0.2, 1).unwrap();
    // Another seed for the resumed model: everything that matters must come from the file.
    let model = spec.build(DType::F32, &dev, if resume { 99 } else { 5 }).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let trainer = Trainer::new(config(epochs, Some(dir.to_path_buf())), &dev);
    let hook = |r: &nn::EpochRecord| if Some(r.epoch + 1) == stop_after { Control::Stop } else { Control::Continue };
    if resume {
        trainer.resume(dir, model.as_ref(), &mut opt, &train, Some(&val), objective, hook).unwrap();
    } else {
        trainer.fit(model.as_ref(), &mut opt, &train, Some(&val), objective, hook).unwrap();
    }
    weights(model.as_ref())
}

fn assert_resume_is_exact(spec: &ModelSpec, objective: &Objective, name: &str) {
    let straight = run(spec, objective, 5, &fresh_dir(&format!("{name}-straight")), false, None);
    let dir = fresh_dir(&format!("{name}-interrupted"));
    let at_2 = run(spec, objective, 5, &dir, false, Some(2));
    assert_ne!(at_2, straight, "{name}: the interrupted run did not stop early");
    assert!(dir.join(LAST).is_file() && dir.join(BEST).is_file());
    let resumed = run(spec, objective, 5, &dir, true, None);
    assert_eq!(resumed, straight, "{name}: the resumed run differs from the uninterrupted one");
}

#[test]
fn resume_is_bit_identical_for_a_dropout_mlp_a_bnn_and_a_repulsive_ensemble() {
    let mlp = MlpSpec::new(2, &[8, 8], 2).activation(Activation::Tanh);
    assert_resume_is_exact(&ModelSpec::deterministic(mlp.clone().dropout(0.2), Head::Gaussian), &gaussian(), "dropout");
    let bnn = ModelSpec::variational(mlp.clone().init(Init::NormalFanIn), VariationalConfig::default(), Head::Gaussian);
    assert_resume_is_exact(&bnn, &Objective::new(Likelihood::Gaussian, Regulariser::Kl), "bnn");
    let re = ModelSpec::ensemble(mlp, 4, Head::Gaussian);
    let repulsion = Regulariser::Repulsion { beta: 1.0, space: RepulsionSpace::Losses, prior_sigma: Some(1.0) };
    assert_resume_is_exact(&re, &Objective::new(Likelihood::Gaussian, repulsion), "re4");
}

#[test]
fn the_best_checkpoint_survives_a_resume_and_a_worse_epoch() {
    let dev = backend_cpu::device();
    let data = toy(200);
    let spec = MlpSpec::new(2, &[8], 2);
    let dir = fresh_dir("best");
    let model = spec.build(DType::F32, &dev, 5).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let trainer = Trainer::new(config(3, Some(dir.clone())), &dev);
    let h = trainer.fit(&model, &mut opt, &data, Some(&data), &gaussian(), |_| Control::Continue).unwrap();
    let best_loss = h.best_val_loss.unwrap();
    let best_file = std::fs::read(dir.join(BEST)).unwrap();
    // Resume against validation data the model fits badly (targets shifted by 5): no epoch of
    // the resumed run reaches the first run's best, although its first epoch is the best it has
    // seen itself, so best.h5 must not change.
    let shifted: Vec<f64> = data.y().iter().map(|y| y + 5.0).collect();
    let worse = Dataset::new(data.x().to_vec(), 2, shifted, 1).unwrap();
    let model = spec.build(DType::F32, &dev, 5).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let h = Trainer::new(config(5, Some(dir.clone())), &dev)
        .resume(&dir, &model, &mut opt, &data, Some(&worse), &gaussian(), |_| Control::Continue)
        .unwrap();
    assert_eq!(h.best_val_loss, Some(best_loss));
    assert_eq!(h.epochs.len(), 5, "the history carries the first run's epochs");
    assert_eq!(std::fs::read(dir.join(BEST)).unwrap(), best_file);
    assert_eq!(Checkpoint::read_header(dir.join(LAST)).unwrap().epoch, 5);
}

/// Saving in a child process that is killed mid-write (the checkpoint is large enough that a
/// kill lands inside the write) must leave the previous checkpoint loadable.
#[test]
fn a_kill_during_a_save_leaves_the_previous_checkpoint_loadable() {
    let dev = backend_cpu::device();
    let path = tmp("killed.h5");
    if std::env::var("SIGMAGRAD_SAVE_FOREVER").is_ok() {
        let model = MlpSpec::new(2, &[1024, 1024, 1024], 2).build(DType::F32, &dev, 1).unwrap();
        loop {
            Checkpoint::default().save(&path, &model, None).unwrap();
        }
    }
    let model = MlpSpec::new(2, &[1024, 1024, 1024], 2).build(DType::F32, &dev, 1).unwrap();
    Checkpoint::default().save(&path, &model, None).unwrap();
    let want = weights(&model);
    let exe = std::env::current_exe().unwrap();
    for delay_ms in [30, 70, 110, 170] {
        let mut child = std::process::Command::new(&exe)
            .args(["--exact", "a_kill_during_a_save_leaves_the_previous_checkpoint_loadable", "--nocapture"])
            .env("SIGMAGRAD_SAVE_FOREVER", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().unwrap();
        child.wait().unwrap();
        let other = MlpSpec::new(2, &[1024, 1024, 1024], 2).build(DType::F32, &dev, 2).unwrap();
        Checkpoint::load(&path, &other, None).unwrap();
        assert_eq!(weights(&other), want, "after a kill at {delay_ms} ms");
    }
    // The killed writers' temporary files are cleared by the next save.
    Checkpoint::default().save(&path, &model, None).unwrap();
    let stale = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".killed.h5."))
        .count();
    assert_eq!(stale, 0);
}

#[test]
fn bad_files_are_errors_that_name_the_file_and_leave_the_model_untouched() {
    let dev = backend_cpu::device();
    let model = MlpSpec::new(2, &[8], 2).build(DType::F32, &dev, 1).unwrap();
    let good = tmp("good.h5");
    Checkpoint::default().save(&good, &model, None).unwrap();

    let missing = Checkpoint::load(tmp("nope.h5"), &model, None).unwrap_err();
    assert!(matches!(missing, CheckpointError::File(_)) && missing.to_string().contains("nope.h5"), "{missing}");

    let text = tmp("text.h5");
    std::fs::write(&text, "this is not HDF5").unwrap();
    let e = Checkpoint::load(&text, &model, None).unwrap_err();
    assert!(e.to_string().contains("HDF5") && e.to_string().contains("text.h5"), "{e}");

    let bytes = std::fs::read(&good).unwrap();
    let truncated = tmp("truncated.h5");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let before = weights(&model);
    assert!(Checkpoint::load(&truncated, &model, None).is_err());
    assert_eq!(weights(&model), before, "a failed load leaves the model untouched");

    let other = MlpSpec::new(2, &[9], 2).build(DType::F32, &dev, 1).unwrap();
    let e = Checkpoint::load(&good, &other, None).unwrap_err();
    assert!(matches!(e, CheckpointError::Mismatch { .. }), "{e}");

    let gutted = tmp("gutted.h5");
    std::fs::copy(&good, &gutted).unwrap();
    {
        let f = nn::io::open_rw_h5(&gutted).unwrap();
        f.group("params").unwrap().unlink("layers.1.bias").unwrap();
    }
    let e = Checkpoint::load(&gutted, &model, None).unwrap_err();
    assert!(e.to_string().contains("params/layers.1.bias") && e.to_string().contains("missing"), "{e}");

    // A checkpoint saved without an optimizer cannot silently start a resume from scratch.
    let mut opt = Adam::new(model.params(), 1e-3);
    let e = Checkpoint::load(&good, &model, Some(&mut opt)).unwrap_err();
    assert!(e.to_string().contains("/optimizer"), "{e}");
}

#[test]
fn an_ensemble_and_a_bnn_checkpoint_are_not_interchangeable() {
    let dev = backend_cpu::device();
    let mlp = MlpSpec::new(2, &[4], 2);
    let bnn = VariationalMlp::new(
        &ModelSpec::variational(mlp.clone(), VariationalConfig::default(), Head::Gaussian),
        DType::F32,
        &dev,
        1,
    )
    .unwrap();
    let ens = EnsembleMlp::new(&ModelSpec::ensemble(mlp, 2, Head::Gaussian), DType::F32, &dev, 1).unwrap();
    let path = tmp("bnn.h5");
    Checkpoint::default().save(&path, &bnn, None).unwrap();
    let e = Checkpoint::load(&path, &ens, None).unwrap_err();
    assert!(matches!(e, CheckpointError::Mismatch { .. }) && e.to_string().contains("ensemble"), "{e}");
}

/// A `last.h5` saved outside a training run has no trainer state and cannot be resumed; finding
/// that out must leave the model (here also offered a `best.h5`) and the optimizer as they were.
#[test]
fn resuming_a_checkpoint_without_trainer_state_changes_neither_model_nor_optimizer() {
    let dev = backend_cpu::device();
    let data = toy(64);
    let spec = MlpSpec::new(2, &[8], 2);
    let dir = fresh_dir("no-trainer");
    std::fs::create_dir_all(&dir).unwrap();
    let saved = spec.build(DType::F32, &dev, 1).unwrap();
    let mut saved_opt = Adam::new(saved.params(), 1e-2);
    Trainer::new(config(1, None), &dev)
        .fit(&saved, &mut saved_opt, &data, None, &gaussian(), |_| Control::Continue)
        .unwrap();
    for file in [BEST, LAST] {
        Checkpoint::default().save(dir.join(file), &saved, Some(&saved_opt)).unwrap();
    }
    let model = spec.build(DType::F32, &dev, 2).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    Trainer::new(config(1, None), &dev).fit(&model, &mut opt, &data, None, &gaussian(), |_| Control::Continue).unwrap();
    let (before, state_before, steps_before) = (weights(&model), opt.state().unwrap(), opt.steps());
    let e = Trainer::new(config(3, Some(dir.clone())), &dev)
        .resume(&dir, &model, &mut opt, &data, None, &gaussian(), |_| Control::Continue)
        .unwrap_err();
    assert!(e.to_string().contains("last.h5") && e.to_string().contains("'trainer'"), "{e}");
    assert_eq!(weights(&model), before, "the model changed");
    assert_eq!(opt.steps(), steps_before, "the optimizer's step count changed");
    let state = opt.state().unwrap();
    let values = |s: &nn::optim::NamedState| -> Vec<(String, Vec<f64>)> {
        s.iter().map(|(n, t)| (n.clone(), t.to_vec_f64().unwrap())).collect()
    };
    assert_eq!(values(&state), values(&state_before), "the optimizer's state changed");
}

// ---------------------------------------------------------------------------------------------
// Settings that are well-formed but not sane (issue 25): a trainer state with a negative
// learning rate or loss scale or an epoch count the run or the weights contradict, absurd
// optimizer moments, a standardizer that does not fit the head, an activation parameter out of
// range, a model size that overflows. Each is refused with an error that names the file and the
// setting, and a refused resume leaves the model as it was.

fn config_with_standardizer(epochs: usize, dir: &Path) -> TrainConfig {
    let data = toy(64);
    let standardizer =
        Standardizer::fit(&data, &[Transform::None, Transform::None]).unwrap().with_target_scaling(&data).unwrap();
    TrainConfig {
        epochs,
        batch_size: 32,
        progress: false,
        dir: Some(dir.to_path_buf()),
        standardizer: Some(standardizer),
        ..TrainConfig::default()
    }
}

/// A run of two epochs in `fresh_dir(name)`, whose `last.h5` is then changed by `edit`.
fn edited_run(name: &str, edit: impl FnOnce(&hdf5::File)) -> PathBuf {
    let dev = backend_cpu::device();
    let dir = fresh_dir(name);
    let model = MlpSpec::new(2, &[8], 2).build(DType::F32, &dev, 1).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    Trainer::new(config_with_standardizer(2, &dir), &dev)
        .fit(&model, &mut opt, &toy(64), None, &gaussian(), |_| Control::Continue)
        .unwrap();
    let file = nn::io::open_rw_h5(dir.join(LAST)).unwrap();
    edit(&file);
    file.close().unwrap();
    dir
}

fn set_str(file: &hdf5::File, name: &str, value: &str) {
    if file.attr_names().unwrap().iter().any(|a| a == name) {
        file.delete_attr(name).unwrap();
    }
    nn::io::write_text_attr(file, name, value).unwrap();
}

/// Rewrites the JSON attribute `name` of `file` through `change`.
fn edit_json(file: &hdf5::File, name: &str, change: impl FnOnce(&mut serde_json::Value)) {
    let text = String::from_utf8(file.attr(name).unwrap().read_raw::<u8>().unwrap()).unwrap();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    change(&mut value);
    set_str(file, name, &value.to_string());
}

/// Resumes the run in `dir` for `epochs` epochs with a fresh model and optimizer, which must
/// fail and leave the model as it was; returns the error's message.
fn refused_resume(dir: &Path, epochs: usize) -> String {
    let dev = backend_cpu::device();
    let model = MlpSpec::new(2, &[8], 2).build(DType::F32, &dev, 9).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let before = weights(&model);
    let e = Trainer::new(config_with_standardizer(epochs, dir), &dev)
        .resume(dir, &model, &mut opt, &toy(64), None, &gaussian(), |_| Control::Continue)
        .unwrap_err()
        .to_string();
    assert_eq!(weights(&model), before, "a refused resume changed the model ({e})");
    assert!(e.contains(LAST), "the error does not name the file: {e}");
    e
}

#[test]
fn a_negative_learning_rate_in_the_trainer_state_is_refused() {
    for (field, value) in [("base_lr", -0.1), ("plateau_lr", -1.0)] {
        let dir =
            edited_run(&format!("lr-{field}"), |f| edit_json(f, "trainer", |t| t["scheduler"][field] = value.into()));
        let e = refused_resume(&dir, 4);
        assert!(e.contains("'trainer'") && e.contains(field), "{e}");
    }
}

#[test]
fn a_negative_loss_scale_is_refused() {
    let dir = edited_run("loss-scale", |f| edit_json(f, "trainer", |t| t["loss_scale"] = (-2.0).into()));
    let e = refused_resume(&dir, 4);
    assert!(e.contains("'trainer'") && e.contains("loss scale"), "{e}");
}

#[test]
fn epochs_done_beyond_the_run_or_behind_the_weights_are_refused() {
    let dir = edited_run("beyond", |_| {});
    let e = refused_resume(&dir, 1);
    assert!(e.contains("'trainer'") && e.contains("epochs_done = 2") && e.contains("1 epochs"), "{e}");
    let dir = edited_run("behind", |f| {
        f.delete_attr("epoch").unwrap();
        f.new_attr::<u64>().create("epoch").unwrap().write_scalar(&5u64).unwrap();
    });
    let e = refused_resume(&dir, 8);
    assert!(e.contains("'trainer'") && e.contains("behind") && e.contains("epoch 5"), "{e}");
}

#[test]
fn absurd_adam_moments_are_refused() {
    let mut moment = String::new();
    let dir = edited_run("moments", |f| {
        let group = f.group("optimizer").unwrap();
        let name = group.member_names().unwrap().into_iter().find(|n| n.starts_with("adam.v.")).unwrap();
        let shape = group.dataset(&name).unwrap().shape();
        let huge = vec![1e31f64; shape.iter().product()];
        group.unlink(&name).unwrap();
        nn::io::write_checked(&group, &name, &shape, &huge).unwrap();
        moment = format!("optimizer/{name}");
    });
    let e = refused_resume(&dir, 4);
    assert!(e.contains(&moment) && e.contains("1e31"), "{e}");
}

#[test]
fn a_standardizer_with_more_target_columns_than_outputs_is_refused() {
    let dir = edited_run("targets", |f| {
        edit_json(f, "standardizer", |s| {
            s["targets"]["mean"] = serde_json::json!([0.0, 0.0, 0.0]);
            s["targets"]["std"] = serde_json::json!([1.0, 1.0, 1.0]);
        })
    });
    let e = refused_resume(&dir, 4);
    assert!(e.contains("'standardizer'") && e.contains("3 target columns"), "{e}");
}

#[test]
fn an_activation_parameter_out_of_range_is_refused() {
    let dir = edited_run("activation", |f| {
        edit_json(f, "model", |m| m["mlp"]["activation"] = serde_json::json!({"LeakyRelu": 1e7}))
    });
    let e = refused_resume(&dir, 4);
    assert!(e.contains("'model'") && e.contains("LeakyRelu"), "{e}");
}

#[test]
fn a_model_size_that_overflows_is_refused_not_a_panic() {
    let dir = edited_run("overflow", |f| {
        edit_json(f, "model", |m| m["mlp"]["hidden"] = serde_json::json!([u64::MAX, u64::MAX]))
    });
    let e = Checkpoint::read_header(dir.join(LAST)).unwrap_err().to_string();
    assert!(e.contains(LAST) && e.contains("'model'") && e.contains("overflows"), "{e}");
    let e = refused_resume(&dir, 4);
    assert!(e.contains("overflows"), "{e}");
    assert!(H5File::open(dir.join(LAST)).is_ok());
}
