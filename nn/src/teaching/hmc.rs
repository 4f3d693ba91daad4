//! Hamiltonian Monte Carlo: draws from the exact posterior of a (small) network, so that the
//! approximations this crate trains on (mean-field variational inference, repulsive ensembles)
//! can be judged against the thing they approximate (docs/bnn-loss.md, section 18).
//!
//! The sampler works on a flat parameter vector θ and a log density ln π(θ) with its gradient.
//! [`autodiff_target`] provides both from the library's own reverse-mode gradients of any scalar
//! graph built from a model's parameters, and [`log_posterior`] builds that graph for a network:
//! ln p(D | θ) + ln p(θ) with the per-event likelihood of
//! [`Objective::per_event`](crate::objective::Objective::per_event) and a Gaussian prior
//! N(0, σ_p²) per parameter, the same two terms the repulsive ensemble's loss uses (eq. 13 with
//! β = 0, times N). Those two live in [`super::posterior`], with the rest of the network side.
//!
//! Each iteration draws a momentum p ~ N(0, M), follows the Hamiltonian
//! H(θ, p) = −ln π(θ) + ½ pᵀ M⁻¹ p with `leapfrog_steps` leapfrog steps of size ε, and accepts
//! the end point with probability min(1, exp(H_start − H_end)) (Metropolis). The leapfrog map is
//! volume-preserving and reversible, so this correction makes π the exact stationary
//! distribution whatever ε is; ε only decides how often a proposal is accepted. During warm-up ε
//! is tuned by dual averaging towards a target acceptance (Hoffman and Gelman 2014,
//! arXiv:1111.4246) and, optionally, the diagonal mass M is set to the inverse of the draws'
//! variance, so that every direction moves by about one posterior width per trajectory.
//!
//! Everything is seeded: the same configuration and start give the same chain.

use autodiff::rng::{derive_seed, normal_f64, unit_f64, words};
use autodiff::{Error, Result};

pub use super::posterior::{assign, autodiff_target, data_tensors, flatten, log_posterior, member, predict};

/// How a chain runs.
#[derive(Debug, Clone, PartialEq)]
pub struct HmcConfig {
    /// The leapfrog step size ε: the start of the adaptation, or the fixed value without it.
    pub step_size: f64,
    /// Leapfrog steps per trajectory: the trajectory's length in time is this times ε.
    pub leapfrog_steps: usize,
    /// Iterations before the kept ones, spent adapting ε (and the mass); their draws are dropped.
    pub warmup: usize,
    /// Draws kept after warm-up.
    pub samples: usize,
    /// Keep every `thin`-th iteration after warm-up (1 keeps all).
    pub thin: usize,
    /// The mean acceptance probability that the step-size adaptation aims at.
    pub target_accept: f64,
    /// Tune ε during warm-up (dual averaging); otherwise `step_size` is used throughout.
    pub adapt_step_size: bool,
    /// Set the diagonal mass from the draws of the middle half of warm-up.
    pub adapt_mass: bool,
    /// Each trajectory's ε is drawn uniformly from ε (1 ± jitter), so that no trajectory length
    /// sits on a period of the dynamics (which would make successive draws anti-correlated).
    pub jitter: f64,
    /// Seeds the momenta, the jitter and the accept decisions.
    pub seed: u64,
}

impl Default for HmcConfig {
    fn default() -> Self {
        HmcConfig {
            step_size: 0.1,
            leapfrog_steps: 20,
            warmup: 500,
            samples: 1000,
            thin: 1,
            target_accept: 0.8,
            adapt_step_size: true,
            adapt_mass: true,
            jitter: 0.1,
            seed: 0,
        }
    }
}

impl HmcConfig {
    pub fn validate(&self) -> Result<()> {
        let ok = self.step_size > 0.0
            && self.step_size.is_finite()
            && self.leapfrog_steps > 0
            && self.thin > 0
            && self.target_accept > 0.0
            && self.target_accept < 1.0
            && (0.0..1.0).contains(&self.jitter);
        if !ok {
            return Err(Error::Invalid { op: "HmcConfig", msg: format!("bad configuration {self:?}") });
        }
        Ok(())
    }
}

/// The mass-adaptation windows [start, end) of a warm-up of `warmup` iterations: after a 15%
/// buffer, windows of 25 iterations or more that double in length, the last one stretched to end
/// where the final 20% buffer begins. None when the warm-up is too short to leave 20 draws.
fn mass_windows(warmup: usize) -> Vec<(usize, usize)> {
    let (first, last) = (warmup * 15 / 100, warmup - warmup / 5);
    if last < first + 20 {
        return Vec::new();
    }
    let mut windows = Vec::new();
    let (mut start, mut len) = (first, 25.max((last - first) / 15));
    while start < last {
        let end = if start + 3 * len > last { last } else { start + len };
        windows.push((start, end));
        start = end;
        len *= 2;
    }
    windows
}

/// The kept draws of one chain and what the chain did to get them.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// Draw k is the flat parameter vector θ_k (in the order of the target's parameters).
    pub draws: Vec<Vec<f64>>,
    /// ln π(θ_k) of every kept draw.
    pub log_density: Vec<f64>,
    /// The mean Metropolis acceptance probability over the kept iterations.
    pub accept_rate: f64,
    /// The step size after warm-up.
    pub step_size: f64,
    /// The diagonal of M⁻¹ after warm-up (all ones without mass adaptation).
    pub inverse_mass: Vec<f64>,
    /// Trajectories abandoned because the energy error exceeded [`DIVERGENCE`] (kept iterations).
    pub divergences: usize,
    /// Evaluations of ln π and its gradient, warm-up included: the chain's cost.
    pub gradient_evaluations: usize,
}

impl Chain {
    /// Parameter `k` across the kept draws.
    pub fn column(&self, k: usize) -> Vec<f64> {
        self.draws.iter().map(|d| d[k]).collect()
    }
}

/// An energy error above this ends a trajectory as divergent (it is rejected).
pub const DIVERGENCE: f64 = 1000.0;

/// A host-side Philox stream: one counter per draw, so the chain is reproducible anywhere.
struct Stream {
    seed: u64,
    counter: u64,
}

impl Stream {
    fn next(&mut self) -> [u32; 4] {
        self.counter += 1;
        words(self.seed, self.counter)
    }
    fn normal(&mut self) -> f64 {
        normal_f64(self.next())
    }
    fn uniform(&mut self) -> f64 {
        let w = self.next();
        unit_f64(w[0], w[1])
    }
}

/// ln π and its gradient at a point, counted.
struct Density<F> {
    f: F,
    evaluations: usize,
}

impl<F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>> Density<F> {
    fn eval(&mut self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        self.evaluations += 1;
        let (lp, g) = (self.f)(theta)?;
        if g.len() != theta.len() {
            return Err(Error::Shape {
                op: "hmc",
                msg: format!("the gradient has {} entries for {} parameters", g.len(), theta.len()),
            });
        }
        Ok((lp, g))
    }
}

/// Where a trajectory ended: position, log density, gradient, and the acceptance probability.
struct Proposal {
    theta: Vec<f64>,
    lp: f64,
    grad: Vec<f64>,
    accept: f64,
    divergent: bool,
}

/// One trajectory of `steps` leapfrog steps of size `eps` from (θ, ln π, ∇ ln π), with momentum
/// `p` drawn from N(0, M) by the caller.
fn trajectory<F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>>(
    density: &mut Density<F>,
    start: (&[f64], f64, &[f64]),
    mut p: Vec<f64>,
    inverse_mass: &[f64],
    eps: f64,
    steps: usize,
) -> Result<Proposal> {
    let (theta0, lp0, grad0) = start;
    let kinetic = |p: &[f64]| 0.5 * p.iter().zip(inverse_mass).map(|(p, m)| p * p * m).sum::<f64>();
    let h0 = -lp0 + kinetic(&p);
    let (mut theta, mut lp, mut grad) = (theta0.to_vec(), lp0, grad0.to_vec());
    for _ in 0..steps {
        p.iter_mut().zip(&grad).for_each(|(p, g)| *p += 0.5 * eps * g);
        theta.iter_mut().zip(&p).zip(inverse_mass).for_each(|((t, p), m)| *t += eps * m * p);
        (lp, grad) = density.eval(&theta)?;
        p.iter_mut().zip(&grad).for_each(|(p, g)| *p += 0.5 * eps * g);
        let error = -lp + kinetic(&p) - h0;
        if !error.is_finite() || error > DIVERGENCE {
            return Ok(Proposal { theta, lp, grad, accept: 0.0, divergent: true });
        }
    }
    let error = -lp + kinetic(&p) - h0;
    let accept = if error.is_finite() { (-error).exp().min(1.0) } else { 0.0 };
    Ok(Proposal { theta, lp, grad, accept, divergent: false })
}

/// Dual averaging of ln ε towards a target acceptance (Hoffman and Gelman 2014, section 3.2):
/// the running mean of (target − acceptance) moves ln ε away from a shrinkage point μ, and the
/// weighted average of the iterates is the step size used after warm-up.
struct DualAveraging {
    mu: f64,
    h_bar: f64,
    log_eps_bar: f64,
    t: f64,
    target: f64,
}

impl DualAveraging {
    const GAMMA: f64 = 0.05;
    const T0: f64 = 10.0;
    const KAPPA: f64 = 0.75;

    fn new(eps: f64, target: f64) -> Self {
        DualAveraging { mu: (10.0 * eps).ln(), h_bar: 0.0, log_eps_bar: eps.ln(), t: 0.0, target }
    }

    /// The next ε after an iteration with acceptance probability `accept`.
    fn update(&mut self, accept: f64) -> f64 {
        self.t += 1.0;
        let w = 1.0 / (self.t + Self::T0);
        self.h_bar = (1.0 - w) * self.h_bar + w * (self.target - accept);
        let log_eps = self.mu - self.t.sqrt() / Self::GAMMA * self.h_bar;
        let eta = self.t.powf(-Self::KAPPA);
        self.log_eps_bar = eta * log_eps + (1.0 - eta) * self.log_eps_bar;
        log_eps.exp()
    }

    fn final_step_size(&self) -> f64 {
        self.log_eps_bar.exp()
    }
}

/// A first step size for which one leapfrog step is accepted with probability near 1/2:
/// doubled or halved from `eps` until the acceptance crosses 1/2 (Hoffman and Gelman 2014,
/// algorithm 4). Dual averaging then refines it; starting orders of magnitude off would waste
/// most of the warm-up.
fn initial_step_size<F: FnMut(&[f64]) -> Result<(f64, Vec<f64>)>>(
    density: &mut Density<F>,
    start: (&[f64], f64, &[f64]),
    inverse_mass: &[f64],
    mut eps: f64,
    rng: &mut Stream,
) -> Result<f64> {
    let momentum = |rng: &mut Stream| -> Vec<f64> { inverse_mass.iter().map(|m| rng.normal() / m.sqrt()).collect() };
    let accept = |density: &mut Density<F>, eps: f64, p: Vec<f64>| -> Result<f64> {
        Ok(trajectory(density, start, p, inverse_mass, eps, 1)?.accept)
    };
    let p = momentum(rng);
    let up = accept(density, eps, p.clone())? > 0.5;
    for _ in 0..60 {
        let next = if up { eps * 2.0 } else { eps / 2.0 };
        let a = accept(density, next, p.clone())?;
        if (up && a <= 0.5) || (!up && a > 0.5) {
            return Ok(if up { eps } else { next });
        }
        eps = next;
    }
    Ok(eps)
}

/// The diagonal mass's estimate during warm-up. It is estimated in windows that double in
/// length between an initial buffer (15% of warm-up, for the chain to leave its start) and a
/// final one (20%, to tune ε for the last metric): each window's variance sets M⁻¹ for the next,
/// so that a metric estimated from a chain that barely moved is soon replaced by one from a
/// chain that moved in it.
struct MassAdaptation {
    windows: Vec<(usize, usize)>,
    /// Welford's running count, mean and sum of squared deviations of the window's draws.
    count: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
}

impl MassAdaptation {
    fn new(config: &HmcConfig, dim: usize) -> Self {
        let windows = if config.adapt_mass { mass_windows(config.warmup) } else { Vec::new() };
        MassAdaptation { windows, count: 0, mean: vec![0.0; dim], m2: vec![0.0; dim] }
    }

    /// M⁻¹ from the window that ends at iteration `it`, when one does and it holds more than two
    /// draws; the next window starts afresh.
    fn window_end(&mut self, it: usize) -> Option<Vec<f64>> {
        if self.count <= 2 || !self.windows.iter().any(|w| w.1 == it) {
            return None;
        }
        // Regularised towards a small constant, as a few dozen draws give a noisy variance.
        let n = self.count as f64;
        let inverse_mass = self.m2.iter().map(|v| (n / (n + 5.0)) * v / (n - 1.0) + 1e-3 * 5.0 / (n + 5.0)).collect();
        let dim = self.mean.len();
        (self.count, self.mean, self.m2) = (0, vec![0.0; dim], vec![0.0; dim]);
        Some(inverse_mass)
    }

    /// Adds the draw of warm-up iteration `it` when it falls in a window.
    fn observe(&mut self, it: usize, theta: &[f64]) {
        if !self.windows.iter().any(|w| (w.0..w.1).contains(&it)) {
            return;
        }
        self.count += 1;
        let n = self.count as f64;
        for ((x, mean), m2) in theta.iter().zip(&mut self.mean).zip(&mut self.m2) {
            let d = x - *mean;
            *mean += d / n;
            *m2 += d * (x - *mean);
        }
    }
}

/// Runs one chain from `theta0` on the log density `target` (θ ↦ (ln π(θ), ∇ ln π(θ))).
pub fn sample(
    theta0: &[f64],
    target: impl FnMut(&[f64]) -> Result<(f64, Vec<f64>)>,
    config: &HmcConfig,
) -> Result<Chain> {
    config.validate()?;
    let dim = theta0.len();
    let mut density = Density { f: target, evaluations: 0 };
    let mut rng = Stream { seed: derive_seed(config.seed, 0x4D43), counter: 0 };
    let mut theta = theta0.to_vec();
    let (mut lp, mut grad) = density.eval(&theta)?;
    if !lp.is_finite() {
        return Err(Error::Invalid { op: "hmc", msg: format!("the log density at the start is {lp}") });
    }
    let mut inverse_mass = vec![1.0; dim];
    let mut eps = config.step_size;
    if config.adapt_step_size && config.warmup > 0 {
        eps = initial_step_size(&mut density, (&theta, lp, &grad), &inverse_mass, eps, &mut rng)?;
    }
    let mut dual = DualAveraging::new(eps, config.target_accept);
    let mut mass = MassAdaptation::new(config, dim);

    let total = config.warmup + config.samples * config.thin;
    let mut chain = Chain {
        draws: Vec::with_capacity(config.samples),
        log_density: Vec::with_capacity(config.samples),
        accept_rate: 0.0,
        step_size: eps,
        inverse_mass: inverse_mass.clone(),
        divergences: 0,
        gradient_evaluations: 0,
    };
    let mut accept_sum = 0.0;
    for it in 0..total {
        let warming = it < config.warmup;
        let window_estimate = if warming { mass.window_end(it) } else { None };
        if let Some(estimate) = window_estimate {
            inverse_mass = estimate;
            if config.adapt_step_size {
                eps = initial_step_size(&mut density, (&theta, lp, &grad), &inverse_mass, eps, &mut rng)?;
                dual = DualAveraging::new(eps, config.target_accept);
            }
        }
        if it == config.warmup && config.adapt_step_size && config.warmup > 0 {
            eps = dual.final_step_size();
        }
        let jittered = eps * (1.0 + config.jitter * (2.0 * rng.uniform() - 1.0));
        let p: Vec<f64> = inverse_mass.iter().map(|m| rng.normal() / m.sqrt()).collect();
        let prop = trajectory(&mut density, (&theta, lp, &grad), p, &inverse_mass, jittered, config.leapfrog_steps)?;
        if rng.uniform() < prop.accept {
            (theta, lp, grad) = (prop.theta, prop.lp, prop.grad);
        }
        if warming {
            if config.adapt_step_size {
                eps = dual.update(prop.accept);
            }
            mass.observe(it, &theta);
            continue;
        }
        accept_sum += prop.accept;
        chain.divergences += usize::from(prop.divergent);
        if (it - config.warmup) % config.thin == config.thin - 1 {
            chain.draws.push(theta.clone());
            chain.log_density.push(lp);
        }
    }
    let kept = (total - config.warmup).max(1) as f64;
    chain.accept_rate = accept_sum / kept;
    chain.step_size = eps;
    chain.inverse_mass = inverse_mass;
    chain.gradient_evaluations = density.evaluations;
    Ok(chain)
}

/// The effective sample size of one chain's values of a quantity: n / (1 + 2 Σ_t ρ_t), with the
/// autocorrelations ρ_t summed in pairs until a pair's sum turns negative (Geyer's initial
/// positive sequence), which cuts the sum before noise dominates. The Monte Carlo standard error
/// of the chain's mean is sd / sqrt(ESS).
pub fn effective_sample_size(x: &[f64]) -> f64 {
    let n = x.len();
    if n < 4 {
        return n as f64;
    }
    let mean = x.iter().sum::<f64>() / n as f64;
    let c0 = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n as f64;
    if c0 <= 0.0 {
        return n as f64;
    }
    let rho = |t: usize| (0..n - t).map(|i| (x[i] - mean) * (x[i + t] - mean)).sum::<f64>() / (n as f64 * c0);
    let mut sum = 0.0;
    let mut t = 1;
    while t + 1 < n {
        let pair = rho(t) + rho(t + 1);
        if pair < 0.0 {
            break;
        }
        sum += pair;
        t += 2;
    }
    // rho(0) = 1 is the first term of the first pair: tau = -1 + 2 (sum of pairs from 0).
    let tau = (1.0 + 2.0 * sum).max(1.0 / n as f64);
    (n as f64 / tau).min(n as f64 * (n as f64).log10().max(1.0))
}

/// Split R̂ of a quantity over chains (Gelman et al., Bayesian Data Analysis, 3rd ed., 11.4):
/// every chain is cut in two halves and the between-half variance is compared with the
/// within-half variance. Values near 1 (below 1.1, say) mean the chains agree; a chain stuck in
/// its own mode shows up as a large R̂.
pub fn split_rhat(chains: &[Vec<f64>]) -> f64 {
    let halves: Vec<&[f64]> = chains
        .iter()
        .filter(|c| c.len() >= 4)
        .flat_map(|c| [&c[..c.len() / 2], &c[c.len() / 2..c.len() / 2 * 2]])
        .collect();
    let m = halves.len();
    if m < 2 {
        return f64::NAN;
    }
    let n = halves.iter().map(|h| h.len()).min().unwrap_or(0) as f64;
    let means: Vec<f64> = halves.iter().map(|h| h[..n as usize].iter().sum::<f64>() / n).collect();
    let grand = means.iter().sum::<f64>() / m as f64;
    let b = n / (m as f64 - 1.0) * means.iter().map(|v| (v - grand).powi(2)).sum::<f64>();
    let w = halves
        .iter()
        .zip(&means)
        .map(|(h, mu)| h[..n as usize].iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n - 1.0))
        .sum::<f64>()
        / m as f64;
    if w <= 0.0 {
        return f64::NAN;
    }
    (((n - 1.0) / n * w + b / n) / w).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A correlated 2-D Gaussian with very different widths: the exact answer is known, and the
    /// mass adaptation has something to do.
    #[test]
    fn samples_a_correlated_gaussian() {
        let (s1, s2, rho) = (3.0f64, 0.1f64, 0.5f64);
        let det = s1 * s1 * s2 * s2 * (1.0 - rho * rho);
        let (a, b, c) = (s2 * s2 / det, -rho * s1 * s2 / det, s1 * s1 / det); // the precision matrix
        let target = |t: &[f64]| -> Result<(f64, Vec<f64>)> {
            let (x, y) = (t[0] - 1.0, t[1] + 2.0);
            let lp = -0.5 * (a * x * x + 2.0 * b * x * y + c * y * y);
            Ok((lp, vec![-(a * x + b * y), -(b * x + c * y)]))
        };
        let cfg = HmcConfig { warmup: 400, samples: 2000, leapfrog_steps: 10, seed: 3, ..HmcConfig::default() };
        let chain = sample(&[0.0, 0.0], target, &cfg).unwrap();
        for (k, (mean, sd)) in [(1.0, s1), (-2.0, s2)].into_iter().enumerate() {
            let v = chain.column(k);
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt();
            let se = sd / effective_sample_size(&v).sqrt();
            assert!((m - mean).abs() < 4.0 * se, "parameter {k}: mean {m} vs {mean} (se {se})");
            assert!((s / sd - 1.0).abs() < 0.1, "parameter {k}: sd {s} vs {sd}");
        }
        assert!(chain.accept_rate > 0.6 && chain.divergences == 0, "{} {}", chain.accept_rate, chain.divergences);
        // The adapted M^-1 is the posterior variance, within the noise of a few hundred draws.
        assert!((chain.inverse_mass[0] / (s1 * s1) - 1.0).abs() < 0.4, "{:?}", chain.inverse_mass);
        assert!((chain.inverse_mass[1] / (s2 * s2) - 1.0).abs() < 0.4, "{:?}", chain.inverse_mass);
    }

    #[test]
    fn mass_windows_double_and_leave_the_buffers() {
        assert_eq!(mass_windows(300), vec![(45, 70), (70, 120), (120, 240)]);
        for warmup in [100, 1000, 5000] {
            let w = mass_windows(warmup);
            assert_eq!((w[0].0, w[w.len() - 1].1), (warmup * 15 / 100, warmup - warmup / 5), "{w:?}");
            assert!(w.windows(2).all(|p| p[0].1 == p[1].0), "contiguous: {w:?}");
            let lengths: Vec<usize> = w.iter().map(|(a, b)| b - a).collect();
            assert!(lengths.windows(2).rev().skip(1).all(|l| l[1] == 2 * l[0]), "doubling: {lengths:?}");
        }
        assert!(mass_windows(20).is_empty());
    }

    #[test]
    fn effective_sample_size_of_independent_and_of_correlated_draws() {
        let mut s = Stream { seed: 9, counter: 0 };
        let iid: Vec<f64> = (0..4000).map(|_| s.normal()).collect();
        let ess = effective_sample_size(&iid);
        assert!((ess / 4000.0 - 1.0).abs() < 0.15, "{ess}");
        // An AR(1) series with coefficient 0.9 has tau = (1 + 0.9) / (1 - 0.9) = 19.
        let mut ar = vec![0.0f64; 20_000];
        for i in 1..ar.len() {
            ar[i] = 0.9 * ar[i - 1] + s.normal();
        }
        let ess = effective_sample_size(&ar);
        assert!((20_000.0 / ess / 19.0 - 1.0).abs() < 0.25, "{ess}");
        let stuck = vec![vec![0.0, 0.1, -0.1, 0.05, 0.0, -0.05], vec![5.0, 5.1, 4.9, 5.05, 5.0, 4.95]];
        assert!(split_rhat(&stuck) > 3.0);
    }
}
