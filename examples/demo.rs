//! The demo: a network with error bars on a problem whose answer is known.
//!
//! y = sin(x) + sigma(x) * noise, with the noise width sigma(x) growing along x and no training
//! data in 1 < x < 2. A Bayesian network (variational layers, heteroscedastic Gaussian head,
//! loss = mean NLL + KL / N_train) learns the mean, the noise width (sigma_syst), and how unsure
//! it is where it saw no data (sigma_stat). It writes an HDF5 checkpoint that h5py can read,
//! the training history, a table of what it learned against the truth, and a plot of it.
//!
//!     cargo run --release --example demo [-- OUT_DIR]

use report::{Figure, Palette, Style};
use sigmagrad::nn::mlp::MlpSpec;
use sigmagrad::nn::train::{Control, TrainConfig, Trainer};
use sigmagrad::nn::{
    predict, Activation, Adam, Checkpoint, Dataset, Head, Init, Likelihood, ModelSpec, Module, Objective, Regulariser,
    Schedule, VariationalConfig, VariationalMlp,
};
use sigmagrad::{cpu, DType, Rng, Tensor};
use std::error::Error;
use std::path::{Path, PathBuf};

/// The look of each method on the demo's figure: the truth in the black slot of the style cycle.
fn style(method: &str) -> Style {
    Palette::new().slot("Truth", 6).style(method)
}

fn true_sigma(x: f64) -> f64 {
    0.05 + 0.05 * (x + 3.0)
}

fn in_gap(x: f64) -> bool {
    (1.0..2.0).contains(&x)
}

fn toy(n: usize, seed: u64) -> Result<Dataset, Box<dyn Error>> {
    let dev = cpu();
    let mut rng = Rng::new(seed);
    let xs = rng.uniform(-3.0, 3.0, &[n], DType::F64, &dev)?.to_vec_f64()?;
    let zs = rng.normal(&[n], DType::F64, &dev)?.to_vec_f64()?;
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for (&xi, &z) in xs.iter().zip(&zs) {
        if !in_gap(xi) {
            x.push(xi);
            y.push(xi.sin() + true_sigma(xi) * z);
        }
    }
    Ok(Dataset::new(x, 1, y, 1)?)
}

/// Two panels on a fine grid: the mean with its total band against sin x, and the three widths
/// against the true noise; the gap is marked in both.
fn plot(bnn: &VariationalMlp, out: &Path) -> Result<(), Box<dyn Error>> {
    let grid: Vec<f64> = (0..=120).map(|i| -3.0 + 0.05 * i as f64).collect();
    let x = Tensor::from_f64s(&grid, &[grid.len(), 1], DType::F32, &cpu())?;
    let p = predict(bnn, &x, 50)?;
    let (tot, syst, stat) = (p.sigma_tot(), p.sigma_syst(), p.sigma_stat());
    let lo: Vec<f64> = p.mean.iter().zip(&tot).map(|(m, s)| m - s).collect();
    let hi: Vec<f64> = p.mean.iter().zip(&tot).map(|(m, s)| m + s).collect();
    let sin: Vec<f64> = grid.iter().map(|x| x.sin()).collect();
    let truth: Vec<f64> = grid.iter().map(|&x| true_sigma(x)).collect();
    let mean = Figure::new("prediction")
        .x_label("x")
        .y_label("y")
        .band("mean +- sigma_tot", &grid, &lo, &hi)
        .line("mean", &grid, &p.mean)
        .dashed("sin x", &grid, &sin)
        .style(style("Truth"))
        .shade_x(1.0, 2.0, "no training data");
    let widths = Figure::new("uncertainties")
        .x_label("x")
        .y_label("sigma")
        .dashed("true noise", &grid, &truth)
        .style(style("Truth"))
        .line("sigma_syst", &grid, &syst)
        .line("sigma_stat", &grid, &stat)
        .shade_x(1.0, 2.0, "no training data");
    let svg = report::grid(&[mean, widths], 2);
    // Written only if the report crate's validator passes it: well-formed, data in both panels, no NaN.
    report::check::write_checked_svg(&out.join("bnn.svg"), &svg)?;
    println!("\nplot: {}", out.join("bnn.svg").display());
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "out/demo".into()));
    std::fs::create_dir_all(&out)?;
    let dev = cpu();
    let (train, val, _) = toy(24_000, 1)?.split(0.85, 0.15, 2)?;
    let n_train = train.len();
    println!("sigmagrad demo: a Bayesian network learns y = sin x + sigma(x) noise, with a gap at 1 < x < 2");
    println!("training on {n_train} points, validating on {}\n", val.len());

    let spec = MlpSpec::new(1, &[32, 32], 2).activation(Activation::Tanh);
    let spec = ModelSpec::variational(spec.init(Init::NormalFanIn), VariationalConfig::default(), Head::Gaussian);
    let bnn = VariationalMlp::new(&spec, DType::F32, &dev, 7)?;
    let mut opt = Adam::new(bnn.params(), 3e-3);
    let epochs = 40;
    let steps = (epochs * n_train.div_ceil(256)) as u64;
    let cfg = TrainConfig {
        epochs,
        batch_size: 256,
        schedule: Schedule::Cosine { total: steps, min_lr: 1e-4 },
        dir: Some(out.to_path_buf()),
        ..TrainConfig::default()
    };
    let objective = Objective::new(Likelihood::Gaussian, Regulariser::Kl);
    let history = Trainer::new(cfg, &dev).fit(&bnn, &mut opt, &train, Some(&val), &objective, |_| Control::Continue)?;

    let grid: Vec<f64> = (0..13).map(|i| -3.0 + 0.5 * i as f64).collect();
    let x = Tensor::from_f64s(&grid, &[grid.len(), 1], DType::F32, &dev)?;
    let p = predict(&bnn, &x, 50)?;
    println!("\n    x   mean   sin x | sigma_syst  true sigma | sigma_stat");
    for (i, &xi) in grid.iter().enumerate() {
        let mark = if in_gap(xi) { "  <- no training data here" } else { "" };
        println!(
            "{xi:5.1} {:6.3} {:7.3} | {:10.3} {:11.3} | {:10.4}{mark}",
            p.mean[i],
            xi.sin(),
            p.sigma_syst()[i],
            true_sigma(xi),
            p.sigma_stat()[i]
        );
    }
    plot(&bnn, &out)?;
    let head = Checkpoint::read_header(out.join("best.h5"))?;
    println!(
        "\nbest validation loss {:.4} at epoch {}",
        history.best_val_loss.unwrap_or(f64::NAN),
        history.best_epoch.map_or(0, |e| e + 1)
    );
    println!("checkpoint: {} (epoch {}, {} parameters)", out.join("best.h5").display(), head.epoch, bnn.num_params());
    println!(
        "inspect it: python3 -c \"import h5py; f = h5py.File('{}'); f.visit(print)\"",
        out.join("best.h5").display()
    );
    Ok(())
}
