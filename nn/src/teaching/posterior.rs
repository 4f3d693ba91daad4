//! The network side of [`super::hmc`]: a model's parameters as the flat vector θ the sampler
//! moves, the log posterior of a network as a target with its autodiff gradient, and the
//! predictive moments over posterior draws. The sampler itself knows only θ and a density.

use crate::data::Dataset;
use crate::loss::split_mean_logvar;
use crate::module::Module;
use crate::objective::{Likelihood, Objective, Regulariser};
use crate::predictive::Prediction;
use autodiff::{no_grad, DType, Error, Result, Tensor, Var};

/// The values of `vars`, flattened in order: the θ the sampler moves.
pub fn flatten(vars: &[Var]) -> Result<Vec<f64>> {
    let mut theta = Vec::new();
    for v in vars {
        theta.extend(v.tensor().to_vec_f64()?);
    }
    Ok(theta)
}

/// Writes the flat vector `theta` into `vars` (the inverse of [`flatten`]).
pub fn assign(vars: &[Var], theta: &[f64]) -> Result<()> {
    let want: usize = vars.iter().map(|v| v.shape().iter().product::<usize>()).sum();
    if want != theta.len() {
        return Err(Error::Shape { op: "hmc::assign", msg: format!("{} values for {want} parameters", theta.len()) });
    }
    let mut at = 0;
    for v in vars {
        let t = v.tensor();
        let n = t.numel();
        v.set(&Tensor::from_f64s(&theta[at..at + n], t.shape(), t.dtype(), t.device())?)?;
        at += n;
    }
    Ok(())
}

/// Member `m`'s parameters of an ensemble whose parameters all carry a leading member axis of
/// size `members` ([`crate::EnsembleMlp`]), flattened in the order of the same network built as
/// one plain MLP: a deep ensemble's members are the starting points of HMC chains in distinct
/// modes of the posterior.
pub fn member(model: &dyn Module, members: usize, m: usize) -> Result<Vec<f64>> {
    let mut theta = Vec::new();
    for p in model.params() {
        let t = p.var.tensor();
        if t.rank() == 0 || t.shape()[0] != members || m >= members {
            return Err(Error::Shape {
                op: "hmc::member",
                msg: format!("parameter {} {:?} has no member {m} of {members}", p.name, t.shape()),
            });
        }
        let v = t.to_vec_f64()?;
        let per = v.len() / members;
        theta.extend_from_slice(&v[m * per..(m + 1) * per]);
    }
    Ok(theta)
}

/// The target θ ↦ (ln π(θ), ∇ ln π(θ)) for a log density written as a graph: θ is written into
/// `vars`, `log_density()` builds the scalar ln π from them, and one reverse pass of the
/// library's autodiff gives the gradient. A parameter the graph does not reach gets gradient 0.
///
/// Use f64 parameters for anything but a toy: the Metropolis test compares energies of the size
/// of N, and f32 rounding of such a sum is already of order one.
pub fn autodiff_target<'a>(
    vars: &'a [Var],
    log_density: impl Fn() -> Result<Tensor> + 'a,
) -> impl FnMut(&[f64]) -> Result<(f64, Vec<f64>)> + 'a {
    move |theta: &[f64]| {
        assign(vars, theta)?;
        let lp = log_density()?;
        let value = lp.to_scalar()?;
        let grads = lp.backward()?;
        let mut g = Vec::with_capacity(theta.len());
        for v in vars {
            match grads.get_id(v.id()) {
                Some(t) => g.extend(t.to_vec_f64()?),
                None => g.extend(std::iter::repeat_n(0.0, v.shape().iter().product::<usize>())),
            }
        }
        Ok((value, g))
    }
}

/// ln p(D | θ) + ln p(θ) of a network, up to a constant: −Σ_n ℓ_n(θ) − |θ|² / (2 σ_p²), with ℓ_n
/// the per-event loss of `likelihood` on the rows of `x` against `y` (for `Likelihood::Gaussian`
/// the heteroscedastic NLL of eq. 6 without ½ ln 2π) and a prior N(0, σ_p²) on every parameter,
/// biases included. This is −N times the repulsive ensemble's loss (13) with β = 0 for one
/// member: the density a plain deep ensemble climbs, and the one HMC samples.
pub fn log_posterior(
    model: &dyn Module,
    likelihood: Likelihood,
    x: &Tensor,
    y: &Tensor,
    prior_sigma: f64,
) -> Result<Tensor> {
    if !(prior_sigma > 0.0 && prior_sigma.is_finite()) {
        return Err(Error::Invalid { op: "log_posterior", msg: format!("prior width {prior_sigma}") });
    }
    let out = model.forward(x)?;
    let nll = Objective::new(likelihood, Regulariser::None).per_event(&out, y)?.sum_all()?;
    let mut lp = nll.neg()?;
    for p in model.params() {
        let sq = p.var.tensor().square()?.sum_all()?;
        lp = lp.sub(&sq.mul_scalar(0.5 / (prior_sigma * prior_sigma))?)?;
    }
    Ok(lp)
}

/// The tensors of a data set for [`log_posterior`]: x [N, features] and y [N] (one target).
pub fn data_tensors(data: &Dataset, dtype: DType, dev: &autodiff::Device) -> Result<(Tensor, Tensor)> {
    let (x, y) = data.tensors(dtype, dev)?;
    let n = data.len();
    Ok((x, if data.targets() == 1 { y.reshape(&[n])? } else { y }))
}

/// The predictive moments of a (mean, log variance) network over posterior draws: draw k's
/// parameters are written into `model`, its outputs on `x` are draw k of the mixture (8), and
/// the moments are those of eq. (9), as for a BNN's weight draws. The model's parameters are
/// restored afterwards.
pub fn predict(model: &dyn Module, draws: &[Vec<f64>], x: &Tensor) -> Result<Prediction> {
    let vars: Vec<Var> = model.params().into_iter().map(|p| p.var).collect();
    let saved = flatten(&vars)?;
    let run = || -> Result<Prediction> {
        let (mut means, mut logvars) = (Vec::with_capacity(draws.len()), Vec::with_capacity(draws.len()));
        for d in draws {
            assign(&vars, d)?;
            let (mu, lv) = no_grad(|| split_mean_logvar(&model.forward(x)?))?;
            means.push(mu.to_vec_f64()?);
            logvars.push(lv.to_vec_f64()?);
        }
        Prediction::from_draws(&means, &logvars)
    };
    let result = run();
    assign(&vars, &saved)?;
    result
}
