//! Mean-field Gaussian (Bayesian) layers.
//!
//! Each weight has its own Gaussian q(w) = N(mu, sigma^2), trained as (mu, log sigma^2); the
//! bias is deterministic; the prior is N(0, sigma_p^2). Training samples through one of three
//! estimators; evaluation draws one weight matrix and keeps it until `resample`, so each draw is
//! one coherent network (the papers' `VBLinear`). See docs/bnn-loss.md for the derivation.

use crate::activation::Activation;
use crate::mlp::MlpSpec;
use crate::module::{prefixed, Module, Param};
use autodiff::{no_grad, DType, Device, Error, Result, Rng, Tensor, Var};
use serde::{Deserialize, Serialize};
use std::sync::Mutex;

/// How a training forward pass turns the weight distribution into outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Estimator {
    /// One weight draw W = mu + sigma * xi per batch, shared by all samples in it.
    Reparameterization,
    /// Kingma et al. 2015: sample the pre-activations, mean x mu + b and variance
    /// x^2 sigma^2 + 1e-8, independently per sample. Lower variance, one extra matmul.
    /// The training default.
    LocalReparameterization,
    /// Wen et al. 2018: one perturbation dW per batch, decorrelated across samples by random
    /// signs: x mu + ((x * s_in) dW) * s_out.
    Flipout,
}

/// Settings shared by the variational layers of a network.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VariationalConfig {
    /// Prior width sigma_p (the papers use 1).
    pub prior_sigma: f64,
    pub estimator: Estimator,
    /// log sigma^2 is clamped to this range in the forward pass and the KL (the calibration
    /// code uses [-20, 11], the generator-weights code [-11, 11]).
    pub logsig2_range: (f64, f64),
    /// Initial log sigma^2 ~ N(logsig2_init, 0.001^2): -9 starts the network nearly deterministic.
    pub logsig2_init: f64,
}

impl Default for VariationalConfig {
    fn default() -> Self {
        VariationalConfig {
            prior_sigma: 1.0,
            estimator: Estimator::LocalReparameterization,
            logsig2_range: (-20.0, 11.0),
            logsig2_init: -9.0,
        }
    }
}

/// Added to the local-reparameterization variance before the square root: its gradient
/// 1/(2 sqrt(v)) is infinite at v = 0.
const VAR_EPS: f64 = 1e-8;

/// mean + sqrt(var) eps, recorded as one op. Composed from three ops, the graph would keep
/// sqrt(var) and the product alive until backward as well: two more [batch, out] tensors per
/// layer, which put the BNN's peak heap above twice what a step must hold. The backward rule
/// recomputes sqrt(var) instead: d/dmean = g, d/dvar = g eps / (2 sqrt(var)).
fn sample_pre_activation(mean: &Tensor, var: &Tensor, eps: Tensor) -> Result<Tensor> {
    let value = no_grad(|| mean.add(&var.sqrt()?.mul(&eps)?))?;
    Tensor::custom_op("local_reparameterization", &value, &[mean, var], move |ins, _, g| {
        let dvar = g.mul(&eps)?.div(&ins[1].sqrt()?)?.mul_scalar(0.5)?;
        Ok(vec![g.clone(), dvar])
    })
}

struct Sampling {
    training: bool,
    map: bool,
    /// The evaluation weight sample, drawn on first use after `resample`.
    cached: Option<Tensor>,
    rng: Rng,
}

pub struct VariationalLinear {
    pub mu: Var,
    pub logsig2: Var,
    pub bias: Var,
    pub config: VariationalConfig,
    state: Mutex<Sampling>,
}

impl VariationalLinear {
    /// mu ~ N(0, 1/fan_in), log sigma^2 ~ N(init, 0.001^2), bias 0 (calibration-study 3.1).
    /// `init` seeds the initial values, `noise` the sampling during training and evaluation.
    pub fn new(
        fan_in: usize,
        fan_out: usize,
        config: VariationalConfig,
        dtype: DType,
        dev: &Device,
        init: &mut Rng,
        noise: Rng,
    ) -> Result<Self> {
        if config.prior_sigma <= 0.0 || config.logsig2_range.0 >= config.logsig2_range.1 {
            return Err(Error::Invalid { op: "VariationalLinear", msg: format!("bad configuration {config:?}") });
        }
        let mu = init.normal(&[fan_in, fan_out], dtype, dev)?.mul_scalar(1.0 / (fan_in.max(1) as f64).sqrt())?;
        let logsig2 = init.normal(&[fan_in, fan_out], dtype, dev)?.affine(1e-3, config.logsig2_init)?;
        Ok(VariationalLinear {
            mu: Var::new(&mu)?,
            logsig2: Var::new(&logsig2)?,
            bias: Var::new(&Tensor::zeros(&[fan_out], dtype, dev)?)?,
            config,
            state: Mutex::new(Sampling { training: true, map: false, cached: None, rng: noise }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Sampling> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn clamped_logsig2(&self) -> Result<Tensor> {
        let (lo, hi) = self.config.logsig2_range;
        self.logsig2.tensor().clamp(lo, hi)
    }

    /// One weight matrix drawn from q: mu + sigma * xi.
    fn sample_weight(&self, rng: &mut Rng) -> Result<Tensor> {
        let mu = self.mu.tensor();
        let sigma = self.clamped_logsig2()?.mul_scalar(0.5)?.exp()?;
        let xi = rng.normal(mu.shape(), mu.dtype(), mu.device())?;
        mu.add(&sigma.mul(&xi)?)
    }

    /// KL[q || p] in closed form, summed over weights:
    /// 0.5 sum[(sigma^2 + mu^2) / sigma_p^2 - 1 - log sigma^2 + log sigma_p^2].
    pub fn kl_divergence(&self) -> Result<Tensor> {
        let prec = 1.0 / self.config.prior_sigma.powi(2);
        let ls = self.clamped_logsig2()?;
        let mu2 = self.mu.tensor().square()?;
        ls.exp()?.add(&mu2)?.mul_scalar(prec)?.sub(&ls)?.affine(0.5, -0.5 - 0.5 * prec.ln())?.sum_all()
    }
}

impl Module for VariationalLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut st = self.lock();
        let b = self.bias.tensor();
        if st.map {
            return x.matmul_add(&self.mu.tensor(), &b);
        }
        if !st.training {
            if st.cached.is_none() {
                let w = self.sample_weight(&mut st.rng)?.detach();
                st.cached = Some(w);
            }
            let w = st
                .cached
                .as_ref()
                .ok_or_else(|| Error::Invalid { op: "VariationalLinear", msg: "no sample".into() })?;
            return x.matmul_add(w, &b);
        }
        match self.config.estimator {
            Estimator::Reparameterization => x.matmul_add(&self.sample_weight(&mut st.rng)?, &b),
            Estimator::LocalReparameterization => {
                let mean = x.matmul_add(&self.mu.tensor(), &b)?;
                let eps_var = Tensor::scalar(VAR_EPS, x.dtype(), x.device())?;
                let var = x.square()?.matmul_add(&self.clamped_logsig2()?.exp()?, &eps_var)?;
                let eps = st.rng.normal(mean.shape(), mean.dtype(), mean.device())?;
                sample_pre_activation(&mean, &var, eps)
            }
            Estimator::Flipout => {
                let mu = self.mu.tensor();
                let sigma = self.clamped_logsig2()?.mul_scalar(0.5)?.exp()?;
                let dw = sigma.mul(&st.rng.normal(mu.shape(), mu.dtype(), mu.device())?)?;
                let rows = &x.shape()[..x.rank() - 1];
                let s_in = st.rng.rademacher(x.shape(), x.dtype(), x.device())?;
                let out_shape = [rows, &[mu.shape()[1]]].concat();
                let s_out = st.rng.rademacher(&out_shape, x.dtype(), x.device())?;
                let perturbation = x.mul(&s_in)?.matmul(&dw)?.mul(&s_out)?;
                x.matmul_add(&mu, &b)?.add(&perturbation)
            }
        }
    }

    fn params(&self) -> Vec<Param> {
        vec![Param::new("mu", &self.mu), Param::new("logsig2", &self.logsig2), Param::new("bias", &self.bias)]
    }

    fn set_training(&self, on: bool) {
        let mut st = self.lock();
        st.training = on;
        st.cached = None;
    }

    fn resample(&self) {
        self.lock().cached = None;
    }

    fn set_map(&self, on: bool) {
        self.lock().map = on;
    }

    fn kl(&self) -> Result<Option<Tensor>> {
        self.kl_divergence().map(Some)
    }
}

/// An MLP of variational layers: the BNN of the calibration study.
pub struct VariationalMlp {
    pub spec: MlpSpec,
    pub config: VariationalConfig,
    pub layers: Vec<VariationalLinear>,
}

impl VariationalMlp {
    /// Builds the network; `seed` fixes the initial values and the sampling noise.
    pub fn new(spec: &MlpSpec, config: VariationalConfig, dtype: DType, dev: &Device, seed: u64) -> Result<Self> {
        let root = Rng::new(seed);
        let widths: Vec<usize> =
            std::iter::once(spec.inputs).chain(spec.hidden.iter().copied()).chain([spec.outputs]).collect();
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                let mut init = root.fork(2 * i as u64);
                VariationalLinear::new(w[0], w[1], config, dtype, dev, &mut init, root.fork(2 * i as u64 + 1))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(VariationalMlp { spec: spec.clone(), config, layers })
    }

    /// The BNN of the calibration study's Rust default: 15 -> 64 -> 64 -> 64 -> 2, tanh.
    pub fn calibration_default(dev: &Device, seed: u64) -> Result<Self> {
        let spec = MlpSpec::new(15, &[64, 64, 64], 2).activation(Activation::Tanh);
        Self::new(&spec, VariationalConfig::default(), DType::F32, dev, seed)
    }
}

impl Module for VariationalMlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.forward(&h)?;
            h = if i < last { self.spec.activation.apply(&h)? } else { self.spec.output_activation.apply(&h)? };
        }
        Ok(h)
    }

    fn params(&self) -> Vec<Param> {
        self.layers.iter().enumerate().flat_map(|(i, l)| prefixed(&format!("layers.{i}"), l.params())).collect()
    }

    fn set_training(&self, on: bool) {
        self.layers.iter().for_each(|l| l.set_training(on));
    }

    fn resample(&self) {
        self.layers.iter().for_each(|l| l.resample());
    }

    fn set_map(&self, on: bool) {
        self.layers.iter().for_each(|l| l.set_map(on));
    }

    fn kl(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        for l in &self.layers {
            let k = l.kl_divergence()?;
            total = Some(match total {
                Some(t) => t.add(&k)?,
                None => k,
            });
        }
        Ok(total)
    }

    fn architecture(&self) -> String {
        let spec = serde_json::to_string(&self.spec).unwrap_or_default();
        let cfg = serde_json::to_string(&self.config).unwrap_or_default();
        format!("variational {spec} {cfg}")
    }
}

/// The loss a BNN trains on: the batch-mean negative log-likelihood plus KL / N_train.
///
/// `n_train` is the size of the whole training set, not of the batch: multiplying this loss by
/// N gives an unbiased estimate of the negative ELBO (docs/bnn-loss.md, eq. 3). Dividing the KL
/// by the batch size instead, or summing it per batch, over-regularises by N / B.
pub fn elbo_loss(batch_mean_nll: &Tensor, model: &dyn Module, n_train: usize) -> Result<Tensor> {
    if n_train == 0 {
        return Err(Error::Invalid { op: "elbo_loss", msg: "n_train must be the (positive) training-set size".into() });
    }
    match model.kl()? {
        Some(kl) => batch_mean_nll.add(&kl.div_scalar(n_train as f64)?),
        None => Ok(batch_mean_nll.clone()),
    }
}
