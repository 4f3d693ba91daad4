//! A one-dimensional regression toy whose answer is known, for checking uncertainties: the
//! `bnn_toy` example and the uncertainty tests train on it.
//!
//! - x is uniform on [-3, 3] with the gap (1, 2) cut out of the training data;
//! - y = sin x + sigma(x) z, z ~ N(0, 1), with a noise width that grows away from 0:
//!   sigma(x) = 0.1 + 0.2 |x| / 3, from 0.1 at x = 0 to 0.3 at the edges.
//!
//! A well-calibrated network should report sigma_syst(x) ~ sigma(x) wherever it saw data, a
//! sigma_stat that is small where data are dense and large in the gap, and sigma_stat shrinking
//! as the training set grows. The draws use the host Philox stream of `autodiff::rng` directly,
//! so the data are the same on every machine and need no device.

use super::hmc::{self, Chain, HmcConfig};
use crate::activation::Activation;
use crate::data::Dataset;
use crate::ensemble::{EnsembleMlp, RepulsionSpace};
use crate::init::Init;
use crate::module::Module;
use crate::objective::{Likelihood, Objective, Regulariser};
use crate::optim::Adam;
use crate::predictive::{predict, Prediction};
use crate::schedule::Schedule;
use crate::spec::VariationalConfig;
use crate::spec::{Head, MlpSpec, ModelSpec};
use crate::train::{Control, History, TrainConfig, TrainError, Trainer};
use crate::variational::VariationalMlp;
use autodiff::rng::{derive_seed, normal_f64, unit_f64, words};
use autodiff::{DType, Device, Result, Tensor};

/// The range the inputs are drawn from.
pub const X_RANGE: (f64, f64) = (-3.0, 3.0);
/// The interval missing from the training data.
pub const GAP: (f64, f64) = (1.0, 2.0);

/// The true conditional mean E[y | x].
pub fn true_mean(x: f64) -> f64 {
    x.sin()
}

/// The true noise width sigma(x) = sqrt(Var[y | x]).
pub fn true_sigma(x: f64) -> f64 {
    0.1 + 0.2 * x.abs() / 3.0
}

/// Whether x lies in the gap of the training data.
pub fn in_gap(x: f64) -> bool {
    x > GAP.0 && x < GAP.1
}

/// `n` training points: x uniform on [-3, 3] without the gap, y = sin x + sigma(x) z.
pub fn heteroscedastic_gap(n: usize, seed: u64) -> Dataset {
    draw(n, seed, true)
}

/// `n` points on the whole range, gap included: held-out data to probe the gap with.
pub fn heteroscedastic(n: usize, seed: u64) -> Dataset {
    draw(n, seed, false)
}

fn draw(n: usize, seed: u64, skip_gap: bool) -> Dataset {
    let (lo, hi) = X_RANGE;
    let removed = if skip_gap { GAP.1 - GAP.0 } else { 0.0 };
    let (xs, zs) = (derive_seed(seed, 0), derive_seed(seed, 1));
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let w = words(xs, i);
        // Uniform on a range of length (hi - lo - removed), then the part above the gap's
        // lower edge is shifted past it: uniform on [-3, 1] u [2, 3], exactly n points.
        let mut xi = lo + (hi - lo - removed) * unit_f64(w[0], w[1]);
        if skip_gap && xi > GAP.0 {
            xi += removed;
        }
        x.push(xi);
        y.push(true_mean(xi) + true_sigma(xi) * normal_f64(words(zs, i)));
    }
    Dataset::new(x, 1, y, 1).expect("finite toy data").with_names(&["x"]).expect("one column")
}

/// How to train a network on the toy: the recipe the `bnn_toy` example and the uncertainty
/// tests share. The length is given in optimizer updates, so that training sets of 10^3 and
/// 10^5 points get the same amount of optimisation (many epochs of a small set, a few of a
/// large one).
#[derive(Debug, Clone)]
pub struct Recipe {
    pub hidden: Vec<usize>,
    /// Optimizer updates in total (rounded up to whole epochs).
    pub steps: usize,
    pub batch_size: usize,
    /// Adam's initial learning rate; a cosine schedule takes it down to 1/100 of that.
    pub lr: f64,
    /// Seeds the initial weights, the sampling noise and the shuffling.
    pub seed: u64,
    /// Show the training loop's progress bar and per-epoch lines.
    pub progress: bool,
    /// The BNN's layer settings (prior, estimator, initial width).
    pub variational: VariationalConfig,
}

impl Default for Recipe {
    fn default() -> Self {
        Recipe {
            hidden: vec![32, 32],
            steps: 6000,
            batch_size: 256,
            lr: 3e-3,
            seed: 0,
            progress: false,
            variational: VariationalConfig::default(),
        }
    }
}

impl Recipe {
    /// The network: 1 -> hidden -> (mean, log variance), tanh.
    pub fn spec(&self) -> MlpSpec {
        MlpSpec::new(1, &self.hidden, 2).activation(Activation::Tanh)
    }

    /// The training-loop settings for a training set of `n` points.
    pub fn train_config(&self, n: usize) -> TrainConfig {
        let per_epoch = n.div_ceil(self.batch_size.max(1)).max(1);
        let epochs = self.steps.div_ceil(per_epoch).max(1);
        TrainConfig {
            epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            keep_best: false,
            schedule: Schedule::Cosine { total: (epochs * per_epoch) as u64, min_lr: self.lr / 100.0 },
            dtype: DType::F32,
            progress: self.progress,
            ..TrainConfig::default()
        }
    }
}

/// Trains the BNN of the calibration study on `train`: mean-field variational layers with local
/// reparameterization, prior N(0, 1), the papers' N(0, 1/fan_in) mean initialisation, loss =
/// batch-mean heteroscedastic NLL + KL / N.
pub fn fit_bnn(
    train: &Dataset,
    recipe: &Recipe,
    dev: &Device,
) -> std::result::Result<(VariationalMlp, History), TrainError> {
    let spec = ModelSpec::variational(recipe.spec().init(Init::NormalFanIn), recipe.variational, Head::Gaussian);
    let model = VariationalMlp::new(&spec, DType::F32, dev, recipe.seed)?;
    let mut opt = Adam::new(model.params(), recipe.lr);
    let objective = Objective::new(Likelihood::Gaussian, Regulariser::Kl);
    let history =
        Trainer::new(recipe.train_config(train.len()), dev)
            .fit(&model, &mut opt, train, None, &objective, |_| Control::Continue)?;
    Ok((model, history))
}

/// Trains a repulsive ensemble of `members` (beta = 0: a plain deep ensemble), repelling in the
/// space of per-sample losses as the reference code does, with the Gaussian prior N(0, 1).
pub fn fit_repulsive(
    train: &Dataset,
    members: usize,
    beta: f64,
    recipe: &Recipe,
    dev: &Device,
) -> std::result::Result<(EnsembleMlp, History), TrainError> {
    let model =
        EnsembleMlp::new(&ModelSpec::ensemble(recipe.spec(), members, Head::Gaussian), DType::F32, dev, recipe.seed)?;
    let mut opt = Adam::new(model.params(), recipe.lr);
    let regulariser = Regulariser::Repulsion { beta, space: RepulsionSpace::Losses, prior_sigma: Some(1.0) };
    let objective = Objective::new(Likelihood::Gaussian, regulariser);
    let history =
        Trainer::new(recipe.train_config(train.len()), dev)
            .fit(&model, &mut opt, train, None, &objective, |_| Control::Continue)?;
    Ok((model, history))
}

/// Draws from the exact posterior of the toy's network (the recipe's MLP in f64, a Gaussian head,
/// the prior N(0, 1) on every weight and bias) with Hamiltonian Monte Carlo: the reference that
/// the BNN and the repulsive ensemble approximate. A deep ensemble of `chains` members (beta = 0,
/// the same recipe) is trained first; chain k starts from member k, a mode of the posterior, and
/// the chains run in parallel threads. The chains' seeds are derived from `config.seed`.
pub fn fit_hmc(
    train: &Dataset,
    chains: usize,
    recipe: &Recipe,
    config: &HmcConfig,
    dev: &Device,
) -> std::result::Result<Reference, TrainError> {
    let (modes, _) = fit_repulsive(train, chains, 0.0, recipe, dev)?;
    let spec = ModelSpec::deterministic(recipe.spec(), Head::Gaussian);
    let starts = (0..chains).map(|k| hmc::member(&modes, chains, k)).collect::<Result<Vec<_>>>()?;
    let run = |k: usize, start: &[f64]| -> Result<Chain> {
        let net = spec.build(DType::F64, dev, 0)?;
        let vars: Vec<_> = net.params().into_iter().map(|p| p.var).collect();
        let (x, y) = hmc::data_tensors(train, DType::F64, dev)?;
        let target =
            hmc::autodiff_target(&vars, || hmc::log_posterior(net.as_ref(), Likelihood::Gaussian, &x, &y, 1.0));
        hmc::sample(start, target, &HmcConfig { seed: derive_seed(config.seed, k as u64), ..config.clone() })
    };
    let chains = std::thread::scope(|scope| {
        let handles: Vec<_> = starts.iter().enumerate().map(|(k, s)| scope.spawn(move || run(k, s))).collect();
        handles.into_iter().map(|h| h.join().expect("an HMC chain panicked")).collect::<Result<Vec<_>>>()
    })?;
    Ok(Reference { net: spec.build(DType::F64, dev, 0)?, chains })
}

/// Posterior samples of the toy's network from [`fit_hmc`].
pub struct Reference {
    /// The network the draws are parameters of (its own parameters are restored after use).
    pub net: Box<dyn Module>,
    pub chains: Vec<Chain>,
}

impl Reference {
    /// Every chain's draws, pooled: each chain's mode gets the same weight.
    pub fn draws(&self) -> Vec<Vec<f64>> {
        self.chains.iter().flat_map(|c| c.draws.iter().cloned()).collect()
    }

    /// The predictive moments at the inputs `x` over the pooled draws.
    pub fn predict_at(&self, x: &[f64], dev: &Device) -> Result<Prediction> {
        let xt = Tensor::from_f64s(x, &[x.len(), 1], DType::F64, dev)?;
        hmc::predict(self.net.as_ref(), &self.draws(), &xt)
    }

    /// The network's mean output at `x` for every draw of every chain (`[chain][draw]`): the
    /// function values whose mixing [`hmc::split_rhat`] and [`hmc::effective_sample_size`] judge.
    pub fn function_values(&self, x: f64, dev: &Device) -> Result<Vec<Vec<f64>>> {
        let xt = Tensor::from_f64s(&[x], &[1, 1], DType::F64, dev)?;
        let single = |d: &Vec<f64>| -> Result<f64> {
            Ok(hmc::predict(self.net.as_ref(), std::slice::from_ref(d), &xt)?.mean[0])
        };
        self.chains.iter().map(|c| c.draws.iter().map(single).collect()).collect()
    }
}

/// Predictions with uncertainties at the inputs `x` (`draws` weight samples of a BNN; an
/// ensemble uses its members).
pub fn predict_at(model: &dyn Module, x: &[f64], draws: usize, dev: &Device) -> Result<Prediction> {
    let xt = Tensor::from_f64s(x, &[x.len(), 1], DType::F32, dev)?;
    predict(model, &xt, draws)
}

/// How well a model's uncertainties match the truth on held-out toy data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Median over held-out points outside the gap of sigma_syst(x) / sigma(x): 1 when the
    /// network has learned the noise.
    pub syst_over_true: f64,
    /// Median over the same points of sigma_syst(x) / sqrt(sigma(x)^2 + sigma_stat(x)^2 + b(x)^2)
    /// with b = <mu> - sin x the bias of the mean: 1 when sigma_syst sits where eq. (6b) of
    /// docs/bnn-loss.md (section 7) puts it, the optimum of the likelihood over the true
    /// distribution of y averaged over draws, rather than at the true noise.
    pub syst_over_expected: f64,
    /// Median over the same points of sigma_syst(x) / sqrt(sigma(x)^2 + b(x)^2): 1 when the
    /// draws' spread sigma_stat does not enter sigma_syst at all, as where sigma_stat is the
    /// mean's real error (eq. 6c of the same section). Against `syst_over_expected`, it tells
    /// the two hypotheses apart where sigma_stat is not small against the noise.
    pub syst_over_noise_and_bias: f64,
    /// Median sigma_stat in the gap and outside it ("the bulk").
    pub stat_gap: f64,
    pub stat_bulk: f64,
    /// Standard deviation of the pulls (y - mean) / sigma_tot on held-out points outside the gap
    /// (drawn like the training data): 1 when sigma_tot is right.
    pub pull_width: f64,
    /// The same from the pulls' median absolute deviation (1.4826 MAD): the width of the core,
    /// insensitive to a few outliers.
    pub pull_core_width: f64,
    /// Mean of the pulls (a biased mean shows up here).
    pub pull_mean: f64,
    /// Root mean square of the pulls, sqrt(mean^2 + width^2): what a pull's size really is when
    /// the mean is off, which the width (a standard deviation) subtracts.
    pub pull_rms: f64,
    /// The standard deviation of the pulls (y - mean) / sigma_tot on the held-out points in the
    /// gap, where no training data were: 1 when sigma_tot is right there too.
    pub gap_pull_width: f64,
    /// Mean and root mean square of the gap's pulls (see `pull_mean`, `pull_rms`).
    pub gap_pull_mean: f64,
    pub gap_pull_rms: f64,
    /// The root mean square over the gap's held-out points of (<mu> - sin x) / sigma_stat: the
    /// mean's actual error in units of the uncertainty claimed for it. Above 1 means sigma_stat
    /// is too small in the gap; below 1, too large.
    pub gap_mean_error: f64,
}

impl Calibration {
    /// sigma_stat in the gap over sigma_stat in the bulk.
    pub fn stat_gap_over_bulk(&self) -> f64 {
        self.stat_gap / self.stat_bulk
    }
}

/// The median of the finite values (NaN for none).
fn median(v: &[f64]) -> f64 {
    stats::median(v.iter().copied()).unwrap_or(f64::NAN)
}

fn std_dev(v: &[f64]) -> f64 {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    (v.iter().map(|q| (q - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

fn mean_of(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn rms(v: &[f64]) -> f64 {
    (v.iter().map(|q| q * q).sum::<f64>() / v.len() as f64).sqrt()
}

/// Measures `model` on held-out data `test` drawn over the whole range (see [`heteroscedastic`]).
pub fn calibration(model: &dyn Module, test: &Dataset, draws: usize, dev: &Device) -> Result<Calibration> {
    Ok(calibration_of(&predict_at(model, test.x(), draws, dev)?, test))
}

/// The same from a prediction `p` at the points of `test` (any method's: a BNN's weight draws,
/// an ensemble's members, posterior samples).
pub fn calibration_of(p: &Prediction, test: &Dataset) -> Calibration {
    let (syst, stat, tot) = (p.sigma_syst(), p.sigma_stat(), p.sigma_tot());
    let (mut ratio, mut expected, mut stat_bulk, mut stat_gap, mut pulls) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut gap_pulls, mut gap_errors, mut noise_and_bias) = (vec![], vec![], vec![]);
    for (i, &x) in test.x().iter().enumerate() {
        let bias = p.mean[i] - true_mean(x);
        if in_gap(x) {
            stat_gap.push(stat[i]);
            gap_pulls.push((test.y()[i] - p.mean[i]) / tot[i]);
            gap_errors.push((bias / stat[i]).powi(2));
        } else {
            ratio.push(syst[i] / true_sigma(x));
            expected.push(syst[i] / (true_sigma(x).powi(2) + p.sigma_stat2[i] + bias * bias).sqrt());
            noise_and_bias.push(syst[i] / (true_sigma(x).powi(2) + bias * bias).sqrt());
            stat_bulk.push(stat[i]);
            pulls.push((test.y()[i] - p.mean[i]) / tot[i]);
        }
    }
    let centre = median(&pulls);
    let dev_abs: Vec<f64> = pulls.iter().map(|q| (q - centre).abs()).collect();
    Calibration {
        syst_over_true: median(&ratio),
        syst_over_expected: median(&expected),
        syst_over_noise_and_bias: median(&noise_and_bias),
        stat_gap: median(&stat_gap),
        stat_bulk: median(&stat_bulk),
        pull_width: std_dev(&pulls),
        pull_core_width: 1.4826 * median(&dev_abs),
        pull_mean: mean_of(&pulls),
        pull_rms: rms(&pulls),
        gap_pull_width: std_dev(&gap_pulls),
        gap_pull_mean: mean_of(&gap_pulls),
        gap_pull_rms: rms(&gap_pulls),
        gap_mean_error: (gap_errors.iter().sum::<f64>() / gap_errors.len() as f64).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_data_avoid_the_gap_and_fill_the_rest() {
        let d = heteroscedastic_gap(20_000, 3);
        assert_eq!(d.len(), 20_000);
        assert!(d.x().iter().all(|&x| (X_RANGE.0..=X_RANGE.1).contains(&x) && !in_gap(x)));
        // Uniform on a support of length 5: [-3, 1] holds 4/5 of the points.
        let left = d.x().iter().filter(|&&x| x <= GAP.0).count() as f64 / d.len() as f64;
        assert!((left - 0.8).abs() < 0.01, "{left}");
        let full = heteroscedastic(20_000, 3);
        let inside = full.x().iter().filter(|&&x| in_gap(x)).count() as f64 / full.len() as f64;
        assert!((inside - 1.0 / 6.0).abs() < 0.01, "{inside}");
    }

    #[test]
    fn residuals_have_the_stated_width() {
        let d = heteroscedastic(50_000, 4);
        let pulls: Vec<f64> = d.x().iter().zip(d.y()).map(|(&x, &y)| (y - true_mean(x)) / true_sigma(x)).collect();
        let mean = pulls.iter().sum::<f64>() / pulls.len() as f64;
        let var = pulls.iter().map(|p| (p - mean).powi(2)).sum::<f64>() / pulls.len() as f64;
        assert!(mean.abs() < 0.02 && (var.sqrt() - 1.0).abs() < 0.02, "mean {mean}, std {}", var.sqrt());
    }
}
