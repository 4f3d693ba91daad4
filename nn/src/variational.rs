//! Mean-field Gaussian (Bayesian) layers.
//!
//! Each weight has its own Gaussian q(w) = N(mu, sigma^2), trained as (mu, log sigma^2); the
//! bias is deterministic; the prior is N(0, sigma_p^2). Training samples through one of three
//! estimators; evaluation draws one weight matrix and keeps it until `resample`, so each draw is
//! one coherent network (the papers' `VBLinear`). See docs/bnn-loss.md for the derivation.

use crate::activation::Activation;
use crate::init::Init;
use crate::module::{Mode, Module, NoiseStream, Param, Sampling};
pub use crate::spec::{Estimator, VariationalConfig};
use crate::spec::{Head, MlpSpec, ModelKind, ModelSpec};
use crate::stack::{Layer, Stack};
use autodiff::{no_grad, DType, DenseActivation, Device, Error, Result, Rng, Tensor, Var};
use std::sync::Mutex;

/// Added to the local-reparameterization variance before the square root: its gradient
/// 1/(2 sqrt(v)) is infinite at v = 0.
const VAR_EPS: f64 = 1e-8;

/// act(mean + sqrt(var) eps), recorded as one op. Composed from separate ops, the graph would
/// keep sqrt(var), the product and the pre-activation alive until backward as well: more
/// [batch, out] tensors per layer, which put the BNN's peak heap above twice what a step must
/// hold. The backward rule takes the activation's derivative in one pass
/// (`Tensor::activation_grad`, from the output for tanh and relu) and recomputes sqrt(var):
/// d/dmean = g', d/dvar = g' eps / (2 sqrt(var)), with g' = act'(.) g. The values and gradients
/// are the bits of the composition.
fn sample_activated(mean: &Tensor, var: &Tensor, eps: Tensor, act: DenseActivation) -> Result<Tensor> {
    let identity = act == DenseActivation::IDENTITY;
    let pre = no_grad(|| mean.add(&var.sqrt()?.mul(&eps)?))?;
    let (value, saved) = if identity { (pre, None) } else { no_grad(|| pre.activation_parts(act))? };
    Tensor::custom_op("local_reparameterization", &value, &[mean, var], move |ins, y, g| {
        let dpre = if identity { g.clone() } else { Tensor::activation_grad(g, y, saved.as_ref(), act)? };
        let dvar = dpre.mul(&eps)?.div(&ins[1].sqrt()?)?.mul_scalar(0.5)?;
        Ok(vec![dpre, dvar])
    })
}

/// The stream that evaluation draws derive from: draw k of a layer uses
/// `Rng::new(noise seed).fork(EVAL_STREAM).fork(k)`, so it never advances the training noise.
const EVAL_STREAM: u64 = 0xE7A1;

/// The weight sample of the last evaluation draw, with the parameter versions it came from.
struct CachedDraw {
    draw: u64,
    versions: (u64, u64),
    weight: Tensor,
}

pub struct VariationalLinear {
    pub mu: Var,
    pub logsig2: Var,
    pub bias: Var,
    pub config: VariationalConfig,
    noise: NoiseStream,
    mode: Mutex<Mode>,
    cache: Mutex<Option<CachedDraw>>,
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
        Self::with_init(fan_in, fan_out, config, Init::NormalFanIn, dtype, dev, init, NoiseStream::new("noise", noise))
    }

    /// A layer whose means and bias start as `weight_init` prescribes.
    #[allow(clippy::too_many_arguments)]
    pub fn with_init(
        fan_in: usize,
        fan_out: usize,
        config: VariationalConfig,
        weight_init: Init,
        dtype: DType,
        dev: &Device,
        init: &mut Rng,
        noise: NoiseStream,
    ) -> Result<Self> {
        config.validate()?;
        let mu = weight_init.weight(fan_in, fan_out, dtype, dev, init)?;
        let logsig2 = init.normal(&[fan_in, fan_out], dtype, dev)?.affine(1e-3, config.logsig2_init)?;
        let bias = weight_init.bias(fan_in, &[fan_out], dtype, dev, init)?;
        Ok(VariationalLinear {
            mu: Var::new(&mu)?,
            logsig2: Var::new(&logsig2)?,
            bias: Var::new(&bias)?,
            config,
            noise,
            mode: Mutex::new(Mode::Train),
            cache: Mutex::new(None),
        })
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

    /// The weights of evaluation draw `draw`: a fixed function of the layer's noise seed, the
    /// draw number and the current parameters, cached while those stay the same.
    fn draw_weight(&self, draw: u64) -> Result<Tensor> {
        let versions = (self.mu.version(), self.logsig2.version());
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = cache.as_ref().filter(|c| c.draw == draw && c.versions == versions) {
            return Ok(c.weight.clone());
        }
        let mut rng = Rng::new(self.noise.seed()).fork(EVAL_STREAM).fork(draw);
        let weight = no_grad(|| self.sample_weight(&mut rng))?.detach();
        *cache = Some(CachedDraw { draw, versions, weight: weight.clone() });
        Ok(weight)
    }

    /// KL[q || p] in closed form, summed over weights:
    /// 0.5 sum[(sigma^2 + mu^2) / sigma_p^2 - 1 - log sigma^2 + log sigma_p^2].
    pub fn kl_divergence(&self) -> Result<Tensor> {
        let prec = 1.0 / self.config.prior_sigma.powi(2);
        let ls = self.clamped_logsig2()?;
        let mu2 = self.mu.tensor().square()?;
        ls.exp()?.add(&mu2)?.mul_scalar(prec)?.sub(&ls)?.affine(0.5, -0.5 - 0.5 * prec.ln())?.sum_all()
    }

    /// act(forward pass in `mode`), the activation fused into the last op where one can take
    /// it; no lock is held while it computes.
    fn forward_in(&self, x: &Tensor, mode: Mode, act: Activation) -> Result<Tensor> {
        let b = self.bias.tensor();
        let dense = act.dense();
        let draw = match mode {
            Mode::Map => return x.dense(&self.mu.tensor(), Some(&b), dense),
            Mode::Eval { draw } => return x.dense(&self.draw_weight(draw)?, Some(&b), dense),
            Mode::Train => self.config.estimator,
        };
        let out_shape = [&x.shape()[..x.rank() - 1], &[self.mu.shape()[1]]].concat();
        let out_numel: usize = out_shape.iter().product();
        match draw {
            Estimator::Reparameterization => {
                let mut rng = self.noise.take(self.mu.tensor().numel());
                x.dense(&self.sample_weight(&mut rng)?, Some(&b), dense)
            }
            Estimator::LocalReparameterization => {
                let mean = x.matmul_add(&self.mu.tensor(), &b)?;
                let eps_var = Tensor::scalar(VAR_EPS, x.dtype(), x.device())?;
                let var = x.square()?.matmul_add(&self.clamped_logsig2()?.exp()?, &eps_var)?;
                let eps = self.noise.take(out_numel).normal(mean.shape(), mean.dtype(), mean.device())?;
                sample_activated(&mean, &var, eps, dense)
            }
            Estimator::Flipout => {
                let mu = self.mu.tensor();
                let mut rng = self.noise.take(mu.numel() + x.numel() + out_numel);
                let sigma = self.clamped_logsig2()?.mul_scalar(0.5)?.exp()?;
                let dw = sigma.mul(&rng.normal(mu.shape(), mu.dtype(), mu.device())?)?;
                let s_in = rng.rademacher(x.shape(), x.dtype(), x.device())?;
                let s_out = rng.rademacher(&out_shape, x.dtype(), x.device())?;
                let perturbation = x.mul(&s_in)?.matmul(&dw)?.mul(&s_out)?;
                act.apply(&x.matmul_add(&mu, &b)?.add(&perturbation)?)
            }
        }
    }
}

impl Layer for VariationalLinear {
    fn check(spec: &ModelSpec) -> Result<()> {
        match spec.kind {
            ModelKind::Variational(c) => c.validate(),
            other => Err(Error::Invalid {
                op: "VariationalMlp",
                msg: format!("a variational MLP cannot be built as {other:?}"),
            }),
        }
    }

    fn build(
        index: usize,
        fan_in: usize,
        fan_out: usize,
        spec: &ModelSpec,
        dtype: DType,
        dev: &Device,
        root: &Rng,
    ) -> Result<Self> {
        let ModelKind::Variational(config) = spec.kind else {
            return Err(Error::Invalid { op: "VariationalMlp", msg: "not a variational specification".into() });
        };
        let mut init = root.fork(2 * index as u64);
        let noise = NoiseStream::new(format!("layers.{index}.noise"), root.fork(2 * index as u64 + 1));
        VariationalLinear::with_init(fan_in, fan_out, config, spec.mlp.init, dtype, dev, &mut init, noise)
    }

    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor> {
        self.forward_in(x, mode, Activation::Identity)
    }

    fn forward_activated(&self, x: &Tensor, mode: Mode, act: Activation) -> Result<Tensor> {
        self.forward_in(x, mode, act)
    }

    fn params(&self) -> Vec<Param> {
        Module::params(self)
    }

    fn kl(&self) -> Result<Option<Tensor>> {
        self.kl_divergence().map(Some)
    }

    fn noise(&self) -> Option<&NoiseStream> {
        Some(&self.noise)
    }

    fn sampling(_spec: &ModelSpec) -> Sampling {
        Sampling::WeightDraws
    }
}

impl Module for VariationalLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_in(x, self.mode(), Activation::Identity)
    }

    fn params(&self) -> Vec<Param> {
        vec![Param::new("mu", &self.mu), Param::new("logsig2", &self.logsig2), Param::new("bias", &self.bias)]
    }

    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    fn sampling(&self) -> Sampling {
        Sampling::WeightDraws
    }

    fn kl(&self) -> Result<Option<Tensor>> {
        self.kl_divergence().map(Some)
    }

    fn noise_streams(&self) -> Vec<NoiseStream> {
        vec![self.noise.clone()]
    }
}

/// An MLP of variational layers: the BNN of the calibration study.
pub type VariationalMlp = Stack<VariationalLinear>;

impl Stack<VariationalLinear> {
    /// The BNN of the calibration study's Rust default: 15 -> 64 -> 64 -> 64 -> 2, tanh, the
    /// papers' N(0, 1/fan_in) mean initialisation, a (mean, log variance) head.
    pub fn calibration_default(dev: &Device, seed: u64) -> Result<Self> {
        let mlp = MlpSpec::new(15, &[64, 64, 64], 2).activation(Activation::Tanh).init(Init::NormalFanIn);
        Self::new(&ModelSpec::variational(mlp, VariationalConfig::default(), Head::Gaussian), DType::F32, dev, seed)
    }
}

/// The loss a BNN trains on: the batch-mean negative log-likelihood plus KL / N_train.
///
/// `n_train` is the size of the whole training set, not of the batch: multiplying this loss by
/// N gives an unbiased estimate of the negative ELBO (docs/bnn-loss.md, eq. 3). Dividing the KL
/// by the batch size instead, or summing it per batch, over-regularises by N / B.
pub fn elbo_loss<M: Module + ?Sized>(batch_mean_nll: &Tensor, model: &M, n_train: usize) -> Result<Tensor> {
    if n_train == 0 {
        return Err(Error::Invalid { op: "elbo_loss", msg: "n_train must be the (positive) training-set size".into() });
    }
    match model.kl()? {
        Some(kl) => batch_mean_nll.add(&kl.div_scalar(n_train as f64)?),
        None => Ok(batch_mean_nll.clone()),
    }
}
