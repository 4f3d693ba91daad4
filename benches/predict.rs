//! Batched prediction (issue 9): 10^6 rows x 15 features, 50 weight draws of the calibration
//! study's 3 x 64 tanh BNN (local reparameterization, Gaussian head), reduced to the Gaussian
//! split by `Moments`. The same prediction in batches of 8192 and 65536 rows and in one batch of
//! every row: time, rows x draws per second, and the peak heap above the inputs (which are live
//! before it starts). Batching must cost no speed and bound the memory.
//!
//!     cargo bench --bench predict -- [--quick] [--json FILE]
//!
//! `--quick` predicts 10^5 rows (a smoke run). Each configuration runs once after a warm-up on
//! the first batch: one run is tens of seconds.

mod common;

use common::{heap, machine, Options, Report};
use sigmagrad::nn::mlp::MlpSpec;
use sigmagrad::nn::{predict_rows, Activation, Head, ModelSpec, Moments, PredictOptions, VariationalConfig};
use sigmagrad::{cpu, DType, Rng};
use std::time::Instant;

#[global_allocator]
static ALLOC: heap::Counting = heap::Counting;

const FEATURES: usize = 15;
const DRAWS: usize = 50;

fn main() -> common::BenchResult {
    let opts = Options::from_args()?;
    let quick = std::env::args().any(|a| a == "--quick");
    let rows = if quick { 100_000 } else { 1_000_000 };
    let dev = cpu();
    let mlp = MlpSpec::new(FEATURES, &[64, 64, 64], 2).activation(Activation::Tanh);
    let model = ModelSpec::variational(mlp, VariationalConfig::default(), Head::Gaussian).build(DType::F32, &dev, 1)?;
    let x = Rng::new(7).normal(&[rows, FEATURES], DType::F64, &dev)?.to_vec::<f64>()?;
    let mut report = Report::new(
        &format!(
            "predict_rows: {rows} rows x {FEATURES} features, {DRAWS} draws of a 3 x 64 tanh BNN (f32), {}",
            machine()
        ),
        &["batch", "seconds", "rows x draws / s", "peak heap", "vs one batch"],
    );
    let mut one_batch = None;
    let mut figures = Vec::new();
    for batch in [rows, 65_536, 8192] {
        let popts = PredictOptions { draws: DRAWS, batch_size: batch, progress: false };
        // Warm-up: the first batch's buffers and kernels.
        let warm = PredictOptions { draws: 2, batch_size: batch.min(8192), progress: false };
        predict_rows(model.as_ref(), &x[..8192 * FEATURES], FEATURES, &warm, &dev, &mut Moments::new(Head::Gaussian))?;
        backend_cpu::release_pooled_buffers();
        let t0 = Instant::now();
        let (done, peak) = heap::peak_during(|| {
            let mut moments = Moments::new(Head::Gaussian);
            predict_rows(model.as_ref(), &x, FEATURES, &popts, &dev, &mut moments).map(|_| moments)
        });
        let seconds = t0.elapsed().as_secs_f64();
        let moments = done?;
        common::black_box(&moments);
        let one = *one_batch.get_or_insert(seconds);
        figures.push((batch, seconds, peak));
        report.row(vec![
            if batch == rows { format!("{batch} (one batch)") } else { batch.to_string() },
            format!("{seconds:.2}"),
            format!("{:.3e}", (rows * DRAWS) as f64 / seconds),
            format!("{:.0} MiB", peak as f64 / (1 << 20) as f64),
            format!("{:.2}", one / seconds),
        ]);
        report.record("predict_rows", &format!("rows={rows},draws={DRAWS},batch={batch}"), seconds, "s");
        report.record(
            "predict_rows_peak_heap",
            &format!("rows={rows},draws={DRAWS},batch={batch}"),
            peak as f64,
            "bytes",
        );
    }
    report.finish(&opts)?;
    Ok(())
}
