//! The flow measurement of apps/genweights/README.md: a flow trained on 2·10⁵ events of the 5-D
//! three-component Gaussian mixture with a 3 % narrow mode, then 2·10⁵ events sampled from it,
//! with the time of both and KL(truth ‖ flow) = E_truth[ln p_truth − ln p_flow] estimated on
//! 10⁵ fresh truth events, beside the KL of one Gaussian fitted to the same training events.
//!
//! cargo run --release -p genweights --example flow_mixture -- OUT_DIR [affine|spline] [EPOCHS] [permutation|rotation]

use genweights::flow::mixture::Mixture;
use genweights::flow::{log_density, sample, train, FlowModel, FlowTrainConfig};
use genweights::flowstudy::kl::kl_estimates;
use genweights::io::table::{write, Table};
use std::time::Instant;

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
    if args.get(4).map(String::as_str) == Some("rotation") {
        config.mixing = nn::Mixing::Rotation;
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
    let truth_log_p: Vec<f64> = fresh.chunks(5).map(|r| mixture.log_p(r)).collect();
    let kl = kl_estimates(&fresh, 5, &truth_log_p, &flow_log_p, &truth_rows)
        .ok_or_else(|| genweights::error::invalid("the KL estimate failed"))?;
    let (kl_flow, se_flow, kl_gauss, se_gauss) = (kl.flow.mean, kl.flow.error, kl.gaussian.mean, kl.gaussian.error);
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
