//! The flow measurement of apps/genweights/README.md: a flow trained on 2·10⁵ events of the 5-D
//! three-component Gaussian mixture with a 3 % narrow mode, then 2·10⁵ events sampled from it,
//! with the time of both and KL(truth ‖ flow) = E_truth[ln p_truth − ln p_flow] estimated on
//! 10⁵ fresh truth events, beside the KL of one Gaussian fitted to the same training events.
//!
//! cargo run --release -p genweights --example flow_mixture -- OUT_DIR [affine|spline] [EPOCHS]

use genweights::flow::mixture::Mixture;
use genweights::flow::{log_density, sample, train, FlowModel, FlowTrainConfig};
use genweights::io::table::{write, Table};
use std::time::Instant;

/// Mean and standard error.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    (m, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt())
}

/// ln N(x; mean, cov) of one Gaussian fitted to `rows`, through the Cholesky factor of cov.
fn gaussian_log_p(rows: &[f64], d: usize) -> impl Fn(&[f64]) -> f64 {
    let n = (rows.len() / d) as f64;
    let mean: Vec<f64> = (0..d).map(|j| rows.iter().skip(j).step_by(d).sum::<f64>() / n).collect();
    let mut cov = vec![0.0; d * d];
    for r in rows.chunks(d) {
        for i in 0..d {
            for j in 0..d {
                cov[i * d + j] += (r[i] - mean[i]) * (r[j] - mean[j]) / n;
            }
        }
    }
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let s = cov[i * d + j] - (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum::<f64>();
            l[i * d + j] = if i == j { s.sqrt() } else { s / l[j * d + j] };
        }
    }
    let log_det: f64 = (0..d).map(|i| l[i * d + i].ln()).sum();
    move |x: &[f64]| {
        let mut y = vec![0.0; d];
        for i in 0..d {
            y[i] = (x[i] - mean[i] - (0..i).map(|k| l[i * d + k] * y[k]).sum::<f64>()) / l[i * d + i];
        }
        -0.5 * y.iter().map(|v| v * v).sum::<f64>() - log_det - 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln()
    }
}

/// The share of rows within 0.2 (4 of its widths) of the narrow mode's centre in every coordinate.
fn narrow_share(rows: &[f64], centre: &[f64]) -> f64 {
    let d = centre.len();
    let inside = rows.chunks(d).filter(|r| r.iter().zip(centre).all(|(x, c)| (x - c).abs() < 0.2)).count();
    inside as f64 / (rows.len() / d) as f64
}

fn main() -> genweights::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let out = std::path::PathBuf::from(args.get(1).map_or("out/flow-mixture", String::as_str));
    let mut config = FlowTrainConfig::default();
    if args.get(2).map(String::as_str) == Some("spline") {
        config.coupling = FlowTrainConfig::SPLINE;
    }
    if let Some(e) = args.get(3).and_then(|e| e.parse().ok()) {
        config.epochs = e;
    }
    std::fs::create_dir_all(&out).map_err(|e| genweights::error::invalid(e.to_string()))?;
    let (mixture, n) = (Mixture::narrow_mode_5d(), 200_000);
    let columns: Vec<String> = (0..5).map(|j| format!("x{j}")).collect();
    let truth_rows = mixture.sample(n, 1);
    let truth = out.join("truth.h5");
    write(&truth, &Table { n, columns: columns.clone(), values: truth_rows.clone() }, None)?;
    let dev = sigmagrad::cpu();
    let start = Instant::now();
    let trained = train(&truth, None, &out.join("model"), &config, &dev)?;
    let train_s = start.elapsed().as_secs_f64();
    let model = FlowModel::load(&out.join("model"), &dev)?;
    let start = Instant::now();
    let drawn = sample(&model, n, 7, &dev)?;
    let sample_s = start.elapsed().as_secs_f64();
    let fresh = mixture.sample(100_000, 2);
    let flow_log_p = log_density(&model, &fresh, &dev)?.log_p;
    let gauss = gaussian_log_p(&truth_rows, 5);
    let truth_log_p: Vec<f64> = fresh.chunks(5).map(|r| mixture.log_p(r)).collect();
    let (kl_flow, se_flow) = mean_se(&truth_log_p.iter().zip(&flow_log_p).map(|(t, f)| t - f).collect::<Vec<_>>());
    let gap: Vec<f64> = fresh.chunks(5).zip(&truth_log_p).map(|(r, t)| t - gauss(r)).collect();
    let (kl_gauss, se_gauss) = mean_se(&gap);
    let centre = &mixture.components[2].mean;
    println!(
        "{}\n{} epochs (best {:?}), train {train_s:.1} s + sample {sample_s:.1} s = {:.1} s\n\
         KL(truth ‖ flow) = {kl_flow:.4} ± {se_flow:.4}, KL(truth ‖ one Gaussian) = {kl_gauss:.4} ± {se_gauss:.4}\n\
         share near the narrow mode: truth {:.4}, flow sample {:.4}",
        trained.model,
        trained.epochs_run,
        trained.best_epoch,
        train_s + sample_s,
        narrow_share(&truth_rows, centre),
        narrow_share(&drawn.values, centre)
    );
    Ok(())
}
