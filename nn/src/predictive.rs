//! Predictions with uncertainties: M draws of a network (weight samples of a BNN, members of an
//! ensemble, or one deterministic network) give per input
//!
//! - the prediction      mean      = <mu>            (average over draws),
//! - sigma_syst^2 = <sigma^2>      (aleatoric: the data's own noise, from the likelihood head),
//! - sigma_stat^2 = Var(mu)        (epistemic: limited training data, the spread of the draws),
//! - sigma_tot^2  = sigma_syst^2 + sigma_stat^2  (the law of total variance of the mixture).
//!
//! Var(mu) is the population variance (divided by M), which makes sigma_tot^2 exactly the
//! variance of the predictive mixture (1/M) sum_m N(mu_m, sigma_m^2). The papers' BNN code uses
//! the sample variance (M - 1): at M = 50 the two differ by 2%.

use crate::loss::{split_mean_logvar, LOGVAR_MAX, LOGVAR_MIN};
use crate::module::Module;
use autodiff::{no_grad, Error, Result, Tensor};
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
        let n = means[0].len();
        let mut p = Prediction {
            mean: vec![0.0; n],
            sigma_syst2: vec![0.0; n],
            sigma_stat2: vec![0.0; n],
            sigma_tot2: vec![0.0; n],
            draws: m,
        };
        for i in 0..n {
            let mean = means.iter().map(|d| d[i]).sum::<f64>() / m as f64;
            let stat = means.iter().map(|d| (d[i] - mean).powi(2)).sum::<f64>() / m as f64;
            let syst = logvars.iter().map(|d| d[i].clamp(LOGVAR_MIN, LOGVAR_MAX).exp()).sum::<f64>() / m as f64;
            p.mean[i] = mean;
            p.sigma_stat2[i] = stat;
            p.sigma_syst2[i] = syst;
            p.sigma_tot2[i] = stat + syst;
        }
        Ok(p)
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

/// Predicts with `draws` weight samples of a model with a (mean, log variance) head. Each draw is
/// one coherent network (eval mode, one weight sample per draw). A deterministic model gives
/// sigma_stat = 0 whatever `draws` is. The model is left in eval mode.
pub fn predict(model: &dyn Module, x: &Tensor, draws: usize) -> Result<Prediction> {
    model.set_training(false);
    no_grad(|| {
        model.resample();
        let first = model.forward(x)?;
        if first.rank() == 3 {
            // An ensemble: its forward pass already returns every member.
            return predict_stacked(&first);
        }
        let draws = if model.kl()?.is_some() { draws.max(1) } else { 1 };
        let (mut means, mut logvars) = (Vec::with_capacity(draws), Vec::with_capacity(draws));
        let mut out = first;
        for draw in 0..draws {
            if draw > 0 {
                model.resample();
                out = model.forward(x)?;
            }
            let (mu, lv) = split_mean_logvar(&out)?;
            means.push(mu.to_vec_f64()?);
            logvars.push(lv.to_vec_f64()?);
        }
        Prediction::from_draws(&means, &logvars)
    })
}

/// Moments of a stack of draws: `out` of shape [M, B, 2] (an ensemble's forward output).
pub fn predict_stacked(out: &Tensor) -> Result<Prediction> {
    if out.rank() != 3 {
        return Err(Error::Shape {
            op: "predict_stacked",
            msg: format!("expected [members, batch, 2], got {:?}", out.shape()),
        });
    }
    let (mu, lv) = split_mean_logvar(out)?;
    let (m, b) = (out.shape()[0], out.shape()[1]);
    let (mu, lv) = (mu.to_vec_f64()?, lv.to_vec_f64()?);
    let split = |v: Vec<f64>| v.chunks(b.max(1)).map(|c| c.to_vec()).collect::<Vec<_>>();
    let (means, logvars) = (split(mu), split(lv));
    if means.len() != m {
        return Err(Error::Invalid { op: "predict_stacked", msg: "empty batch".into() });
    }
    Prediction::from_draws(&means, &logvars)
}
