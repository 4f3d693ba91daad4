//! Predictions with uncertainties for any model, over any number of rows, in bounded memory.
//!
//! A model says how it is sampled ([`Sampling`]): one fixed network, weight draws of a Bayesian
//! network (draw k is the same network in every batch), or the members of an ensemble.
//! [`predict_rows`] runs the M draws over the rows in batches and hands each batch of outputs to
//! a [`Reducer`], which keeps only what it needs: [`Moments`] keeps three numbers per row and
//! gives the Gaussian split below; [`PerDraw`] keeps one output per row and draw (a
//! classifier's logits, whose spread over draws is the weight's uncertainty).
//!
//! - the prediction      mean      = <mu>            (average over draws),
//! - sigma_syst^2 = <sigma^2>      (aleatoric: the data's own noise, from the likelihood head),
//! - sigma_stat^2 = Var(mu)        (epistemic: limited training data, the spread of the draws),
//! - sigma_tot^2  = sigma_syst^2 + sigma_stat^2  (the law of total variance of the mixture).
//!
//! Var(mu) is the population variance (divided by M), which makes sigma_tot^2 exactly the
//! variance of the predictive mixture (1/M) sum_m N(mu_m, sigma_m^2). The papers' BNN code uses
//! the sample variance (M - 1): at M = 50 the two differ by 2%.

use crate::loss::{LOGVAR_MAX, LOGVAR_MIN};
use crate::module::{with_mode, Mode, Module, Sampling};
use crate::progress;
use crate::spec::Head;
use autodiff::{no_grad, DType, Device, Error, Result, Tensor};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub mean: Vec<f64>,
    pub sigma_syst2: Vec<f64>,
    pub sigma_stat2: Vec<f64>,
    pub sigma_tot2: Vec<f64>,
    pub draws: usize,
}

impl Prediction {
    /// Moments from per-draw means and log variances (`means[m][i]`: draw m, input i).
    pub fn from_draws(means: &[Vec<f64>], logvars: &[Vec<f64>]) -> Result<Prediction> {
        let m = means.len();
        if m == 0 || logvars.len() != m || means.iter().chain(logvars).any(|d| d.len() != means[0].len()) {
            return Err(Error::Invalid {
                op: "Prediction::from_draws",
                msg: "need M >= 1 draws of equal length".into(),
            });
        }
        let mut r = Moments::new(Head::Gaussian);
        r.start(means[0].len(), m, 2)?;
        for (k, (mu, lv)) in means.iter().zip(logvars).enumerate() {
            let rows: Vec<f64> = mu.iter().zip(lv).flat_map(|(&a, &b)| [a, b]).collect();
            r.add(k, 0, &rows)?;
        }
        r.finish()
    }

    pub fn sigma_tot(&self) -> Vec<f64> {
        self.sigma_tot2.iter().map(|v| v.sqrt()).collect()
    }
    pub fn sigma_stat(&self) -> Vec<f64> {
        self.sigma_stat2.iter().map(|v| v.sqrt()).collect()
    }
    pub fn sigma_syst(&self) -> Vec<f64> {
        self.sigma_syst2.iter().map(|v| v.sqrt()).collect()
    }
    pub fn len(&self) -> usize {
        self.mean.len()
    }
    pub fn is_empty(&self) -> bool {
        self.mean.is_empty()
    }
}

/// Default number of weight draws for a BNN prediction (the papers' n_monte).
pub const DEFAULT_DRAWS: usize = 50;

/// Turns the outputs of every draw into what the caller keeps.
pub trait Reducer {
    /// Called once before any output: `rows` inputs, `draws` draws of `outputs` values each.
    fn start(&mut self, rows: usize, draws: usize, outputs: usize) -> Result<()>;
    /// The outputs of draw `draw` for rows `first..first + values.len() / outputs`, row-major.
    fn add(&mut self, draw: usize, first: usize, values: &[f64]) -> Result<()>;
}

/// Per-row moments over draws, kept as running sums (three numbers per row): the mean, sigma_stat
/// and, for a Gaussian head, sigma_syst. A point head has sigma_syst = 0.
pub struct Moments {
    /// None: decided by the number of outputs (2 is a Gaussian head, others point predictions).
    head: Option<Head>,
    outputs: usize,
    draws: usize,
    /// Per row: the running mean of mu, the sum of squared deviations (Welford), and the sum
    /// of sigma^2.
    mean: Vec<f64>,
    m2: Vec<f64>,
    syst: Vec<f64>,
    seen: Vec<u32>,
}

impl Moments {
    /// Moments for `model`'s head, or for the head its output count suggests when it has no spec.
    pub fn for_model(model: &dyn Module) -> Self {
        let mut m = Moments::new(Head::Point);
        m.head = model.spec().map(|s| s.head);
        m
    }

    pub fn new(head: Head) -> Self {
        Moments { head: Some(head), outputs: 0, draws: 0, mean: vec![], m2: vec![], syst: vec![], seen: vec![] }
    }

    /// The prediction, once every draw of every row was added.
    pub fn finish(self) -> Result<Prediction> {
        if let Some(i) = self.seen.iter().position(|&s| s as usize != self.draws) {
            return Err(Error::Invalid {
                op: "Moments",
                msg: format!("row {i} received {} of {} draws", self.seen[i], self.draws),
            });
        }
        let m = self.draws.max(1) as f64;
        let stat: Vec<f64> = self.m2.iter().map(|v| v / m).collect();
        let syst: Vec<f64> = self.syst.iter().map(|v| v / m).collect();
        let tot = stat.iter().zip(&syst).map(|(a, b)| a + b).collect();
        Ok(Prediction { mean: self.mean, sigma_syst2: syst, sigma_stat2: stat, sigma_tot2: tot, draws: self.draws })
    }
}

impl Reducer for Moments {
    fn start(&mut self, rows: usize, draws: usize, outputs: usize) -> Result<()> {
        let head = *self.head.get_or_insert(Head::infer(outputs));
        let ok = match head {
            Head::Gaussian => outputs == 2,
            Head::Point => outputs >= 1,
            Head::Density => outputs == 1,
            Head::Logit => false,
        };
        if !ok {
            return Err(Error::Invalid {
                op: "Moments",
                msg: format!("a {head:?} head with {outputs} outputs has no Gaussian moments"),
            });
        }
        self.outputs = outputs;
        self.draws = draws;
        self.mean = vec![0.0; rows];
        self.m2 = vec![0.0; rows];
        self.syst = vec![0.0; rows];
        self.seen = vec![0; rows];
        Ok(())
    }

    fn add(&mut self, _draw: usize, first: usize, values: &[f64]) -> Result<()> {
        for (r, out) in values.chunks(self.outputs).enumerate() {
            let i = first + r;
            let Some(n) = self.seen.get_mut(i) else {
                return Err(Error::Invalid {
                    op: "Moments",
                    msg: format!("row {i} is beyond the {} rows", self.mean.len()),
                });
            };
            *n += 1;
            let mu = out[0];
            let delta = mu - self.mean[i];
            self.mean[i] += delta / f64::from(*n);
            self.m2[i] += delta * (mu - self.mean[i]);
            if self.head == Some(Head::Gaussian) {
                self.syst[i] += out[1].clamp(LOGVAR_MIN, LOGVAR_MAX).exp();
            }
        }
        Ok(())
    }
}

/// The first output of every draw for every row, `values[row * draws + draw]`: a classifier's
/// logit per draw (or member).
#[derive(Debug, Clone, Default)]
pub struct PerDraw {
    pub rows: usize,
    pub draws: usize,
    outputs: usize,
    pub values: Vec<f64>,
}

impl PerDraw {
    /// Draw `k`'s values for every row.
    pub fn draw(&self, k: usize) -> Vec<f64> {
        (0..self.rows).map(|r| self.values[r * self.draws + k]).collect()
    }

    /// Row `r`'s values over draws.
    pub fn row(&self, r: usize) -> &[f64] {
        &self.values[r * self.draws..(r + 1) * self.draws]
    }
}

impl Reducer for PerDraw {
    fn start(&mut self, rows: usize, draws: usize, outputs: usize) -> Result<()> {
        let n =
            rows.checked_mul(draws).ok_or_else(|| Error::Invalid { op: "PerDraw", msg: "too many values".into() })?;
        *self = PerDraw { rows, draws, outputs, values: vec![0.0; n] };
        Ok(())
    }

    fn add(&mut self, draw: usize, first: usize, values: &[f64]) -> Result<()> {
        for (r, out) in values.chunks(self.outputs).enumerate() {
            let i = (first + r) * self.draws + draw;
            let slot = self.values.get_mut(i).ok_or_else(|| Error::Invalid {
                op: "PerDraw",
                msg: format!("row {} is beyond the {} rows", first + r, self.rows),
            })?;
            *slot = out[0];
        }
        Ok(())
    }
}

/// How [`predict_rows`] runs.
#[derive(Debug, Clone)]
pub struct PredictOptions {
    /// Weight draws of a Bayesian network (ignored for fixed networks and ensembles, whose draws
    /// are their members).
    pub draws: usize,
    /// Rows per forward pass: bounds the memory a prediction needs.
    pub batch_size: usize,
    pub progress: bool,
}

impl Default for PredictOptions {
    fn default() -> Self {
        PredictOptions { draws: DEFAULT_DRAWS, batch_size: 8192, progress: false }
    }
}

/// How many draws a prediction with `requested` weight draws makes of `model`.
pub fn draws_of(model: &dyn Module, requested: usize) -> usize {
    match model.sampling() {
        Sampling::Fixed => 1,
        Sampling::WeightDraws => requested.max(1),
        Sampling::Members(m) => m,
    }
}

/// Runs every draw of `model` over the (already standardized) rows `x` (row-major, `features`
/// columns) in batches and feeds the outputs to `reducer`. The model runs without a graph in
/// evaluation mode and is returned to its previous mode afterwards. Memory is one batch of
/// activations plus what the reducer keeps.
pub fn predict_rows(
    model: &dyn Module,
    x: &[f64],
    features: usize,
    opts: &PredictOptions,
    device: &Device,
    reducer: &mut dyn Reducer,
) -> Result<()> {
    if features == 0 || !x.len().is_multiple_of(features) {
        return Err(Error::Invalid {
            op: "predict_rows",
            msg: format!("{} values are not rows of {features}", x.len()),
        });
    }
    let rows = x.len() / features;
    let batch = opts.batch_size.max(1);
    let chunks = rows.div_ceil(batch);
    let sampling = model.sampling();
    let draws = draws_of(model, opts.draws);
    // Weight draws run draw by draw over all rows, so each draw's weights are made once.
    let passes = if sampling == Sampling::WeightDraws { draws } else { 1 };
    let bar = progress::bar_if(opts.progress, (passes * chunks) as u64, "predicting");
    // Inputs take the parameters' dtype (a model is all f32 or all f64).
    let dtype = model.params().first().map_or(DType::F32, |p| p.var.tensor().dtype());
    let _mode = with_mode(model, Mode::Eval { draw: 0 });
    let mut started = false;
    no_grad(|| {
        for pass in 0..passes {
            model.set_mode(Mode::Eval { draw: pass as u64 });
            for c in 0..chunks {
                let (lo, hi) = (c * batch, ((c + 1) * batch).min(rows));
                let xt = Tensor::from_f64s(&x[lo * features..hi * features], &[hi - lo, features], dtype, device)?;
                let out = model.forward(&xt)?;
                let outputs = out.shape().last().copied().unwrap_or(1);
                if !started {
                    reducer.start(rows, draws, outputs)?;
                    started = true;
                }
                let values = out.to_vec_f64()?;
                match sampling {
                    Sampling::Members(m) => {
                        if out.rank() != 3 || out.shape()[0] != m {
                            return Err(Error::Shape {
                                op: "predict_rows",
                                msg: format!(
                                    "an ensemble of {m} returned {:?}, expected [{m}, batch, out]",
                                    out.shape()
                                ),
                            });
                        }
                        let per = values.len() / m;
                        for (k, member) in values.chunks(per.max(1)).enumerate() {
                            reducer.add(k, lo, member)?;
                        }
                    }
                    _ => reducer.add(pass, lo, &values)?,
                }
                bar.inc(1);
            }
        }
        if !started {
            reducer.start(0, draws, 1)?;
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(())
}

/// Predicts with `draws` weight samples of a model with a (mean, log variance) head (or point
/// predictions), on the rows of `x` [rows, features] in one batch. A deterministic model gives
/// sigma_stat = 0 whatever `draws` is. The model's mode is restored afterwards.
pub fn predict(model: &dyn Module, x: &Tensor, draws: usize) -> Result<Prediction> {
    if x.rank() != 2 {
        return Err(Error::Shape {
            op: "predict",
            msg: format!("inputs must be [rows, features], got {:?}", x.shape()),
        });
    }
    let mut moments = Moments::for_model(model);
    let opts = PredictOptions { draws, batch_size: x.shape()[0].max(1), progress: false };
    predict_rows(model, &x.to_vec_f64()?, x.shape()[1], &opts, x.device(), &mut moments)?;
    moments.finish()
}
