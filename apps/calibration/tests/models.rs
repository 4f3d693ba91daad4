//! The networks end to end at CI size: every method trains, predicts in the prediction layout and
//! is evaluated; an interrupted run resumes to the same weights as an uninterrupted one; the model
//! directory carries everything `predict` needs; bad inputs are clear errors.

mod common;

use calibration::io::DataSource;
use calibration::model::predict::{predict, PredictArgs};
use calibration::model::train::train;
use calibration::model::{Method, ModelConfig, Preset};
use common::{generated, quiet, temp_dir, train_options};
use std::path::{Path, PathBuf};

fn sample(dir: &Path, name: &str, n: usize, seed: u64) -> PathBuf {
    generated(dir, name, n, seed, |_| {})
}

fn small(method: Method, epochs: usize) -> ModelConfig {
    let mut c = ModelConfig::preset(method, Preset::Default);
    c.network.hidden = vec![16, 16];
    c.training.epochs = epochs;
    c.training.batch_size = 256;
    c.training.lr = 3e-3;
    c.ensemble.members = 4;
    c.bnn.draws = 10;
    c
}

fn predict_args(model: &Path, data: &Path) -> PredictArgs {
    PredictArgs {
        model: model.to_path_buf(),
        data: DataSource::file(data),
        draws: None,
        batch_size: 333,
        device: sigmagrad::cpu(),
        progress: false,
        keep_all: false,
    }
}

#[test]
fn every_method_trains_predicts_and_is_evaluated() {
    let dir = temp_dir("methods");
    let data = sample(&dir, "train.h5", 6000, 1);
    let test = sample(&dir, "test.h5", 2000, 2);
    let mut preds = Vec::new();
    for method in [Method::Dnn, Method::DnnLgk, Method::Bnn, Method::Re] {
        let out = dir.join(method.name());
        let summary = train(&train_options(&data, &out, small(method, 2)), &quiet).unwrap();
        assert_eq!(summary.method, method.name());
        assert!(summary.n_train > 3000 && summary.n_val > 800, "{summary:?}");
        for f in ["best.h5", "last.h5", "history.csv", "config.toml", "train.json", "standardizer.json"] {
            assert!(out.join(f).is_file(), "{method:?}: {f} missing");
        }
        if method == Method::DnnLgk {
            assert!(out.join("step1/best.h5").is_file(), "the first LGK step has its own checkpoints");
        }
        let (p, s) = predict(&predict_args(&out, &test), &quiet).unwrap();
        assert!(p.len() > 1000 && p.len() == s.clusters);
        assert!(p.r_pred.iter().all(|&r| r > 0.0) && p.e_calib.iter().all(|e| e.is_finite()));
        let expected_draws = match method {
            Method::Bnn => 10,
            Method::Re => 4,
            _ => 1,
        };
        assert_eq!(s.draws, expected_draws, "{method:?}");
        let has_stat = p.sigma_stat.iter().all(|&v| v > 0.0);
        let has_syst = p.sigma_syst.iter().all(|&v| v > 0.0);
        assert_eq!(
            (has_stat, has_syst),
            (expected_draws > 1, matches!(method, Method::Bnn | Method::Re)),
            "{method:?}"
        );
        let path = dir.join(format!("{}.h5", method.name()));
        p.write(&path).unwrap();
        preds.push((method.name().to_string(), path));
    }
    let options = calibration::evaluate::EvaluateOptions {
        data: DataSource::file(&test),
        predictions: preds,
        lcw: None,
        binning: calibration::metrics::Binning::default(),
        weight_column: None,
    };
    std::fs::create_dir_all(dir.join("eval")).unwrap();
    let report = calibration::evaluate::evaluate(&options, &dir.join("eval")).unwrap();
    let names: Vec<&str> = report.methods.iter().map(|m| m.name.as_str()).collect();
    for m in ["dnn", "dnn-lgk", "bnn", "re"] {
        assert!(names.contains(&m), "{names:?}");
    }
    assert!(dir.join("eval/metrics.json").is_file());
}

fn weights(path: &Path) -> Vec<Vec<f64>> {
    let loaded = nn::Checkpoint::load_model(path, &sigmagrad::cpu()).unwrap();
    loaded.model.params().iter().map(|p| p.var.tensor().to_vec_f64().unwrap()).collect()
}

#[test]
fn an_interrupted_run_resumes_to_the_uninterrupted_weights() {
    let dir = temp_dir("resume");
    let data = sample(&dir, "train.h5", 3000, 3);
    for method in [Method::Bnn, Method::DnnLgk] {
        let straight = dir.join(format!("{}-straight", method.name()));
        train(&train_options(&data, &straight, small(method, 3)), &quiet).unwrap();
        let broken = dir.join(format!("{}-broken", method.name()));
        let mut opts = train_options(&data, &broken, small(method, 3));
        opts.interrupt_after = Some(1);
        let e = train(&opts, &quiet).unwrap_err();
        assert!(e.to_string().contains("interrupted"), "{e}");
        // Without --resume the directory is refused, not overwritten.
        let e = train(&train_options(&data, &broken, small(method, 3)), &quiet).unwrap_err();
        assert!(e.to_string().contains("--resume"), "{e}");
        // With another configuration it is refused too.
        let mut other = train_options(&data, &broken, small(method, 4));
        other.resume = true;
        assert!(train(&other, &quiet).unwrap_err().to_string().contains("another configuration"));
        let mut again = train_options(&data, &broken, small(method, 3));
        again.resume = true;
        train(&again, &quiet).unwrap();
        assert_eq!(weights(&broken.join("last.h5")), weights(&straight.join("last.h5")), "{method:?}");
        assert_eq!(weights(&broken.join("best.h5")), weights(&straight.join("best.h5")), "{method:?}");
    }
}

#[test]
fn predict_needs_only_the_run_directory_and_the_features() {
    let dir = temp_dir("predict-only");
    let data = sample(&dir, "train.h5", 3000, 4);
    let out = dir.join("dnn");
    train(&train_options(&data, &out, small(Method::Dnn, 1)), &quiet).unwrap();
    // A file with the 15 features and nothing else: no target, no truth.
    let (table, _) =
        calibration::cuts::read_selected(&DataSource::file(&data), calibration::io::TargetPolicy::Required).unwrap();
    let mut features_only = calibration::io::ClusterTable::new("features-only");
    for name in calibration::columns::FEATURES {
        features_only.insert(name, table.column(name).unwrap().to_vec()).unwrap();
    }
    let bare = dir.join("bare.h5");
    features_only.write_hdf5(&bare).unwrap();
    let (p, _) = predict(&predict_args(&out, &bare), &quiet).unwrap();
    assert_eq!(p.len(), table.len());
    // The checkpoint file itself works as --model too.
    assert!(predict(&predict_args(&out.join("best.h5"), &bare), &quiet).is_ok());
}

#[test]
fn bad_inputs_are_errors_that_say_what_to_do() {
    let dir = temp_dir("bad");
    let data = sample(&dir, "train.h5", 500, 5);
    // A checkpoint of another application.
    let other = dir.join("other.h5");
    let mlp = nn::MlpSpec::new(15, &[4], 1).build(sigmagrad::DType::F32, &sigmagrad::cpu(), 0).unwrap();
    nn::Checkpoint::default().save(&other, &mlp, None).unwrap();
    let e = predict(&predict_args(&other, &data), &quiet).unwrap_err();
    assert!(e.to_string().contains("calibration train"), "{e}");
    let e = predict(&predict_args(&dir.join("missing"), &data), &quiet).unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
    // Too few clusters for a validation split.
    let tiny = sample(&dir, "tiny.h5", 8, 6);
    let e = train(&train_options(&tiny, &dir.join("tiny"), small(Method::Bnn, 1)), &quiet).unwrap_err();
    assert!(e.to_string().contains("too few"), "{e}");
    // --out is a file.
    let e = train(&train_options(&data, &data, small(Method::Bnn, 1)), &quiet).unwrap_err();
    assert!(e.to_string().contains("is a file"), "{e}");
}

/// `--device wgpu` is the same computation as the CPU's: every method trained on both devices
/// reaches the same validation loss, and the two checkpoints predict the same R_pred and σ.
#[test]
fn every_method_trains_alike_on_wgpu_and_on_the_cpu() {
    let Some(gpu) = sigmagrad::wgpu_or_skip() else { return };
    let dir = temp_dir("devices");
    let data = sample(&dir, "train.h5", 3000, 4);
    let test = sample(&dir, "test.h5", 1000, 5);
    for method in [Method::Dnn, Method::DnnLgk, Method::Bnn, Method::Re] {
        let mut results = Vec::new();
        for (name, device) in [("cpu", sigmagrad::cpu()), ("wgpu", gpu.clone())] {
            let out = dir.join(format!("{}-{name}", method.name()));
            let mut opts = train_options(&data, &out, small(method, 2));
            opts.device = device;
            let summary = train(&opts, &quiet).unwrap();
            assert!(summary.device.contains(name), "{method:?} trained on {}, not {name}", summary.device);
            let (p, _) = predict(&predict_args(&out, &test), &quiet).unwrap();
            results.push((summary.best_val_loss.unwrap(), p));
        }
        let ((cpu_loss, cpu), (gpu_loss, wgpu)) = (&results[0], &results[1]);
        assert!(
            (cpu_loss - gpu_loss).abs() <= 1e-4 * (1.0 + cpu_loss.abs()),
            "{method:?}: validation loss {cpu_loss} on the CPU, {gpu_loss} on wgpu"
        );
        let worst = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(worst(&cpu.r_pred, &wgpu.r_pred) < 1e-4, "{method:?}: R_pred {}", worst(&cpu.r_pred, &wgpu.r_pred));
        assert!(
            worst(&cpu.sigma_tot, &wgpu.sigma_tot) < 1e-4,
            "{method:?}: σ_tot {}",
            worst(&cpu.sigma_tot, &wgpu.sigma_tot)
        );
    }
}
