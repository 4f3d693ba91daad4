//! Checkpoints whose settings are well-formed but not sane (issue 25): a trainer state with a
//! negative learning rate or loss scale or an epoch count the run or the weights contradict,
//! absurd optimizer moments, a standardizer that does not fit the head, an activation parameter
//! out of range, a model size that overflows. Each is refused with an error that names the file
//! and the setting, and a refused resume leaves the model as it was.

use autodiff::{DType, Rng};
use hdf5::types::VarLenUnicode;
use nn::io::H5File;
use nn::optim::Adam;
use nn::train::{Control, TrainConfig, Trainer, LAST};
use nn::{Checkpoint, Dataset, Likelihood, MlpSpec, Module, Objective, Regulariser, Standardizer, Transform};
use std::path::{Path, PathBuf};

fn spec() -> MlpSpec {
    MlpSpec::new(2, &[8], 2)
}

fn root() -> PathBuf {
    std::env::temp_dir().join(format!("sigmagrad-settings-{}", std::process::id()))
}

fn toy(n: usize) -> Dataset {
    let dev = backend_cpu::device();
    let mut rng = Rng::new(3);
    let x = rng.uniform(-2.0, 2.0, &[n, 2], DType::F64, &dev).unwrap().to_vec_f64().unwrap();
    let y = x.chunks(2).map(|r| r[0] * r[1] + 0.1 * r[0]).collect();
    Dataset::new(x, 2, y, 1).unwrap()
}

fn config(epochs: usize, dir: &Path) -> TrainConfig {
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

fn gaussian() -> Objective {
    Objective::new(Likelihood::Gaussian, Regulariser::None)
}

fn weights(m: &dyn Module) -> Vec<Vec<f64>> {
    m.params().iter().map(|p| p.var.tensor().to_vec_f64().unwrap()).collect()
}

/// A run of two epochs in `root()/name`, whose `last.h5` is then changed by `edit`.
fn edited_run(name: &str, edit: impl FnOnce(&hdf5::File)) -> PathBuf {
    let dev = backend_cpu::device();
    let dir = root().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    let model = spec().build(DType::F32, &dev, 1).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    Trainer::new(config(2, &dir), &dev)
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
    let v: VarLenUnicode = value.parse().unwrap();
    file.new_attr::<VarLenUnicode>().create(name).unwrap().write_scalar(&v).unwrap();
}

/// Rewrites the JSON attribute `name` of `file` through `change`.
fn edit_json(file: &hdf5::File, name: &str, change: impl FnOnce(&mut serde_json::Value)) {
    let text = file.attr(name).unwrap().read_scalar::<VarLenUnicode>().unwrap().to_string();
    let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
    change(&mut value);
    set_str(file, name, &value.to_string());
}

/// Resumes the run in `dir` for `epochs` epochs with a fresh model and optimizer, which must
/// fail and leave the model as it was; returns the error's message.
fn refused_resume(dir: &Path, epochs: usize) -> String {
    let dev = backend_cpu::device();
    let model = spec().build(DType::F32, &dev, 9).unwrap();
    let mut opt = Adam::new(model.params(), 1e-2);
    let before = weights(&model);
    let e = Trainer::new(config(epochs, dir), &dev)
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
