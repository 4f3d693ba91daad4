//! The invertible networks of `nn::flow`, checked against what makes a flow a density:
//! `exactness` (the inverse, the log-determinant against a finite-difference Jacobian, the
//! density's integral, the spline's shape, the pinned permutations and rotations), `gradients` (the negative
//! log-likelihood against finite differences in f64) and `training` (the trainer fits a flow,
//! resumes it exactly, and a checkpoint rebuilds it). The helpers they share are here.

mod exactness;
mod gradients;
mod training;

use autodiff::{DType, Device, Rng, Tensor};
use nn::{flow_spec, Activation, Coupling, Flow, FlowConfig, Mixing, Module, VariationalConfig};

fn dev() -> Device {
    backend_cpu::device()
}

fn host(x: &Tensor) -> Vec<f64> {
    x.to_vec_f64().unwrap()
}

const AFFINE: Coupling = Coupling::Affine { clamp: 2.0 };
const SPLINE: Coupling = Coupling::Spline { bins: 6, bound: 3.0 };

fn config(coupling: Coupling, blocks: usize, bayesian: bool) -> FlowConfig {
    let variational = bayesian.then(|| VariationalConfig { logsig2_init: -4.0, ..VariationalConfig::default() });
    FlowConfig { blocks, coupling, permutation_seed: 7, variational, mixing: Mixing::Permutation }
}

/// The same blocks between random rotations instead of permutations.
fn rotated(config: FlowConfig) -> FlowConfig {
    FlowConfig { mixing: Mixing::Rotation, ..config }
}

/// A flow on `dims` coordinates whose parameters are all drawn N(0, scale²) (a freshly built flow
/// is the identity, which would check nothing); variational widths stay as built.
fn random_flow(dims: usize, config: FlowConfig, dtype: DType, scale: f64, seed: u64) -> Flow {
    let spec = flow_spec(dims, &[8, 8], Activation::Tanh, config);
    let flow = Flow::new(&spec, dtype, &dev(), seed).unwrap();
    randomise(&flow, scale, seed);
    flow
}

fn randomise(flow: &Flow, scale: f64, seed: u64) {
    let mut rng = Rng::new(seed ^ 0xF10);
    for p in flow.params().iter().filter(|p| !p.name.ends_with("logsig2")) {
        let t = p.var.tensor();
        p.var.set(&rng.normal(t.shape(), t.dtype(), t.device()).unwrap().mul_scalar(scale).unwrap()).unwrap();
    }
}

/// Rows [n, dims] drawn N(0, spread²).
fn rows(n: usize, dims: usize, spread: f64, dtype: DType, seed: u64) -> Tensor {
    Rng::new(seed).normal(&[n, dims], dtype, &dev()).unwrap().mul_scalar(spread).unwrap()
}
