//! `genweights flow sample`: n events drawn from a trained flow, in the file's units, with the
//! flow's exact ln p of each. A Bayesian INN draws each event from one of its K weight draws,
//! chosen uniformly, so the sample follows the mixture whose density `log_p` is, and
//! `log_p_draws` holds every draw's ln p of every event.

use super::density::{log_density, FlowModel, LogDensity};
use crate::error::{invalid, Result};
use nn::Mode;
use sigmagrad::{DType, Device, Rng, Tensor};

/// Drawn rows (row-major, the model's columns) and their densities.
pub struct Sampled {
    pub n: usize,
    pub values: Vec<f64>,
    pub density: LogDensity,
}

/// Rows per inverse pass: bounds the memory a large sample needs.
const CHUNK: usize = 32_768;

/// Draws `n` events from `model`, seeded by `seed`.
pub fn sample(model: &FlowModel, n: usize, seed: u64, device: &Device) -> Result<Sampled> {
    let d = model.flow.dims();
    let fail = |e: sigmagrad::Error| invalid(format!("sampling the flow: {e}"));
    let root = Rng::new(seed);
    // Which weight draw each event comes from (all 0 for a plain flow).
    let k = if model.is_bayesian() { model.draws } else { 1 };
    let pick = root.fork(1).seed();
    let which: Vec<usize> =
        (0..n).map(|i| (u64::from(sigmagrad::rng::words(pick, i as u64)[0]) % k as u64) as usize).collect();
    let mut z_std = vec![0.0; n * d];
    for draw in 0..k {
        let rows: Vec<usize> = (0..n).filter(|&i| which[i] == draw).collect();
        let _mode = nn::with_mode(&model.flow, Mode::Eval { draw: draw as u64 });
        let mut latent = root.fork(2).fork(draw as u64);
        for chunk in rows.chunks(CHUNK) {
            let z = latent.normal(&[chunk.len(), d], DType::F32, device).map_err(fail)?;
            let x: Tensor = sigmagrad::no_grad(|| model.flow.from_latent(&z)).map_err(fail)?;
            let x = x.to_vec_f64().map_err(fail)?;
            for (r, &i) in chunk.iter().enumerate() {
                z_std[i * d..(i + 1) * d].copy_from_slice(&x[r * d..(r + 1) * d]);
            }
        }
    }
    let values = model.standardizer.inverse_rows(&z_std).map_err(|e| invalid(format!("unstandardizing: {e}")))?;
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(invalid(format!(
            "the flow drew a non-finite value in event {}, column {}",
            i / d,
            model.columns[i % d]
        )));
    }
    let density = log_density(model, &values, device)?;
    Ok(Sampled { n, values, density })
}
