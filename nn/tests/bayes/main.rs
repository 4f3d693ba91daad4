//! The Bayesian-network loss, checked equation by equation (docs/bnn-loss.md cites each test
//! by name), plus the gradient checks and the behaviour of the variational layers, the
//! predictive moments and the repulsive ensembles.
//!
//! Statistical tests compare a Monte-Carlo estimate with the exact value within a few standard
//! errors that the test estimates from its own draws, and also check that the standard error
//! is small enough for the comparison to mean something. Seeds are fixed, so a pass is
//! reproducible; the tolerances are what make it a fair test rather than a tuned one.

//!
//! The tests are grouped by topic, one file each: `derivation` (the equations of
//! docs/bnn-loss.md), `gradients` (finite-difference checks), `behaviour` (the layers, the
//! predictive moments and the ensembles), `sigma_syst` (where the learned noise settles and the
//! pulls that follow, section 7) and `statements` (claims of the text that are not equations);
//! the helpers they share are here.

mod behaviour;
mod derivation;
mod gradients;
mod sigma_syst;
mod statements;

use autodiff::check::{check_grads, CheckOptions};
use autodiff::{no_grad, DType, Device, Result, Rng, Tensor, TensorId, Var};
use nn::ensemble::{rbf_repulsion, EnsembleMlp, RepulsionSpace};
use nn::loss::{gaussian_nll, gaussian_nll_terms, split_mean_logvar};
use nn::mlp::MlpSpec;
use nn::predictive::{predict, Prediction};
use nn::teaching::toy;
use nn::variational::{elbo_loss, Estimator, VariationalConfig, VariationalLinear, VariationalMlp};
use nn::{Activation, Batch, Head, Init, Likelihood, Mode, ModelSpec, Module, Objective, Regulariser, Sampling};

const F64: DType = DType::F64;
const ESTIMATORS: [Estimator; 3] =
    [Estimator::LocalReparameterization, Estimator::Reparameterization, Estimator::Flipout];

fn dev() -> Device {
    backend_cpu::device()
}

fn t(v: &[f64], shape: &[usize]) -> Tensor {
    Tensor::from_f64s(v, shape, F64, &dev()).unwrap()
}

fn host(x: &Tensor) -> Vec<f64> {
    x.to_vec_f64().unwrap()
}

fn normals(seed: u64, n: usize) -> Vec<f64> {
    host(&Rng::new(seed).normal(&[n], F64, &dev()).unwrap())
}

fn uniforms(seed: u64, lo: f64, hi: f64, n: usize) -> Vec<f64> {
    host(&Rng::new(seed).uniform(lo, hi, &[n], F64, &dev()).unwrap())
}

fn mean_and_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

fn assert_close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + x.abs().max(y.abs())), "{what}[{i}]: {x} vs {y}");
    }
}

/// The BNN of these tests: the papers' N(0, 1/fan_in) means, a Gaussian head.
fn bnn(spec: &MlpSpec, cfg: VariationalConfig, seed: u64) -> VariationalMlp {
    let spec = ModelSpec::variational(spec.clone().init(Init::NormalFanIn), cfg, Head::Gaussian);
    VariationalMlp::new(&spec, F64, &dev(), seed).unwrap()
}

fn ensemble(spec: &MlpSpec, members: usize, seed: u64) -> EnsembleMlp {
    EnsembleMlp::new(&ModelSpec::ensemble(spec.clone(), members, Head::Gaussian), F64, &dev(), seed).unwrap()
}

fn members_of(model: &EnsembleMlp) -> usize {
    match model.sampling() {
        Sampling::Members(m) => m,
        other => panic!("not an ensemble: {other:?}"),
    }
}

/// The repulsive-ensemble loss through the trainer's objective: Gaussian NLL summed over members,
/// beta times the kernel term / N, and the weight prior.
fn re_loss(
    model: &EnsembleMlp,
    x: &Tensor,
    y: &Tensor,
    beta: f64,
    space: RepulsionSpace,
    prior_sigma: Option<f64>,
    n: usize,
) -> Result<Tensor> {
    let objective = Objective::new(Likelihood::Gaussian, Regulariser::Repulsion { beta, space, prior_sigma });
    objective.loss(model, &Batch { x: x.clone(), y: y.clone(), w: None }, n)
}

fn vars_of(m: &dyn Module) -> Vec<Var> {
    m.params().into_iter().map(|p| p.var).collect()
}

/// A custom op whose value is `value` and whose backward is the reverse pass of `graph` to the
/// leaves `ids`, one per input. With `graph` computed from the inputs (or from parameters that
/// hold their values) at the point the checker differentiates at, this lets `autodiff::check`
/// compare autodiff's gradient of `graph` with finite differences of `value`.
fn with_gradient_of(value: &Tensor, graph: &Tensor, ids: Vec<TensorId>, xs: &[Tensor]) -> Result<Tensor> {
    let graph = graph.clone();
    let inputs: Vec<&Tensor> = xs.iter().collect();
    Tensor::custom_op("with_gradient_of", value, &inputs, move |ins, _, g| {
        let grads = graph.backward_with(&g.reshape(graph.shape())?)?;
        ids.iter()
            .zip(ins)
            .map(|(id, x)| match grads.get_id(*id) {
                Some(g) => Ok(g.clone()),
                None => x.zeros_like(),
            })
            .collect()
    })
}

/// `f()` as a function of the inputs `xs`, with parameter `vars[i]` holding `xs[i]`: the
/// gradient the checker sees is autodiff's gradient with respect to the module's parameters.
fn through_params(vars: &[Var], xs: &[Tensor], f: impl FnOnce() -> Result<Tensor>) -> Result<Tensor> {
    for (v, x) in vars.iter().zip(xs) {
        v.set(&x.detach())?;
    }
    let out = f()?;
    with_gradient_of(&out.detach(), &out, vars.iter().map(|v| v.id()).collect(), xs)
}

fn assert_passes(report: autodiff::Result<autodiff::check::GradReport>) {
    let report = report.expect("the check ran");
    assert!(report.passed(), "{report}");
}

/// A 3 -> 2 layer with spread-out means, widths (log sigma^2 in [-2.5, 0]) and biases.
fn layer(estimator: Estimator, prior_sigma: f64, noise_seed: u64) -> VariationalLinear {
    let cfg = VariationalConfig { estimator, prior_sigma, ..VariationalConfig::default() };
    let l = VariationalLinear::new(3, 2, cfg, F64, &dev(), &mut Rng::new(1), Rng::new(noise_seed)).unwrap();
    l.mu.set(&t(&normals(10, 6), &[3, 2])).unwrap();
    l.logsig2.set(&t(&uniforms(11, -2.5, 0.0, 6), &[3, 2])).unwrap();
    l.bias.set(&t(&[0.3, -0.2], &[2])).unwrap();
    l
}

/// x mu + b and x^2 sigma^2 by hand, for x [b, 3] and the layer's parameters.
fn layer_moments(x: &[f64], l: &VariationalLinear) -> (Vec<f64>, Vec<f64>) {
    let (mu, ls, b) = (host(&l.mu.tensor()), host(&l.logsig2.tensor()), host(&l.bias.tensor()));
    let rows = x.len() / 3;
    let (mut mean, mut var) = (vec![0.0; rows * 2], vec![0.0; rows * 2]);
    for r in 0..rows {
        for j in 0..2 {
            mean[r * 2 + j] = b[j] + (0..3).map(|i| x[r * 3 + i] * mu[i * 2 + j]).sum::<f64>();
            var[r * 2 + j] = (0..3).map(|i| x[r * 3 + i].powi(2) * ls[i * 2 + j].exp()).sum::<f64>();
        }
    }
    (mean, var)
}

/// The repulsion's bandwidth h = median_ij |f_i - f_j|^2 / (2 ln(M + 1)) of particles f [M, d].
fn median_h(f: &[f64], d: usize) -> f64 {
    let m = f.len() / d;
    let mut all: Vec<f64> = (0..m)
        .flat_map(|i| (0..m).map(move |j| (0..d).map(|c| (f[i * d + c] - f[j * d + c]).powi(2)).sum::<f64>()))
        .collect();
    all.sort_by(f64::total_cmp);
    let k = all.len();
    let med = if k % 2 == 1 { all[k / 2] } else { 0.5 * (all[k / 2 - 1] + all[k / 2]) };
    med / (2.0 * ((m + 1) as f64).ln())
}
