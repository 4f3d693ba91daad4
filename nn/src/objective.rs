//! What a model is trained to minimise, as data the trainer understands: a likelihood per
//! event, its (weighted) batch mean summed over ensemble members, and a regulariser whose 1/N
//! uses the training-set size that the trainer supplies.
//!
//! | model | likelihood | regulariser |
//! |---|---|---|
//! | DNN | `Mse` or `LeakyGaussianKernel` | `None` |
//! | BNN | `Gaussian` | `Kl` (KL / N_train, docs/bnn-loss.md eq. 3) |
//! | repulsive ensemble | `Gaussian` | `Repulsion` (kernel term / N and weight prior) |
//! | classifier | `BinaryCrossEntropy` (balanced by the two-sample batches) | `None`, or `Kl` |
//! | flow (INN) | `Density` (-ln p(x)) | `None`, or `Kl` for a Bayesian INN |

use crate::data::Batch;
use crate::ensemble::{member_params, rbf_repulsion, RepulsionSpace};
use crate::loss::{gaussian_nll_terms, split_mean_logvar};
use crate::module::{Module, Sampling};
use crate::spec::Head;
use crate::variational::elbo_loss;
use autodiff::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

/// The per-event negative log-likelihood (or loss).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Likelihood {
    /// Heteroscedastic Gaussian on a (mean, log variance) head: 0.5 (y - mu)^2 e^-l + 0.5 l.
    Gaussian,
    /// Squared error of point predictions (averaged over output columns).
    Mse,
    /// The leaky Gaussian kernel of the DNN calibration baseline (arXiv:1910.03773), which
    /// learns the mode; see [`crate::loss::leaky_gaussian_kernel`].
    LeakyGaussianKernel { h: f64, alpha: f64 },
    /// Binary cross-entropy on one logit, targets 1 (truth) and 0 (generated).
    BinaryCrossEntropy,
    /// The negative log-likelihood -ln p(x) of a density model (a flow), whose one output is
    /// ln p(x); the targets are ignored.
    Density,
}

/// What is added to the likelihood term.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Regulariser {
    None,
    /// KL[q || prior] / N_train, for variational models.
    Kl,
    /// For ensembles: beta * (RBF kernel term) / N in the chosen space, plus the Gaussian
    /// weight prior sum |theta|^2 / (2 N sigma_p^2) when `prior_sigma` is set. beta = 0 is a
    /// plain deep ensemble.
    Repulsion {
        beta: f64,
        space: RepulsionSpace,
        prior_sigma: Option<f64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    pub likelihood: Likelihood,
    pub regulariser: Regulariser,
}

impl Objective {
    pub fn new(likelihood: Likelihood, regulariser: Regulariser) -> Self {
        Objective { likelihood, regulariser }
    }

    /// Checks that the objective fits the model (a KL term needs a variational model, a
    /// repulsion term an ensemble, the density likelihood a density model and a density model
    /// the density likelihood), before any training starts.
    pub fn check<M: Module + ?Sized>(&self, model: &M) -> Result<()> {
        let bad = |msg: String| Err(Error::Invalid { op: "Objective", msg });
        self.check_density(model)?;
        match self.regulariser {
            Regulariser::Kl if model.kl()?.is_none() => {
                return bad("a KL regulariser needs a variational model; this one has no KL term".into())
            }
            Regulariser::Repulsion { beta, prior_sigma, .. } => {
                if !matches!(model.sampling(), Sampling::Members(_)) {
                    return bad("a repulsion regulariser needs an ensemble".into());
                }
                if !beta.is_finite() || beta < 0.0 || prior_sigma.is_some_and(|s| !(s > 0.0 && s.is_finite())) {
                    return bad(format!(
                        "repulsion needs beta >= 0 and a positive prior width, got {:?}",
                        self.regulariser
                    ));
                }
            }
            _ => {}
        }
        if let Likelihood::LeakyGaussianKernel { h, alpha } = self.likelihood {
            if !(h > 0.0 && h.is_finite() && alpha.is_finite()) {
                return bad(format!(
                    "the leaky Gaussian kernel needs h > 0 and a finite alpha, got h = {h}, alpha = {alpha}"
                ));
            }
        }
        Ok(())
    }

    /// The density likelihood −ln p(x) reads the output as a normalised log-density, which only a
    /// [`Head::Density`] model (a flow) gives: on any other output minimising it drives the
    /// output to +∞. And a density model's output is no prediction of the targets: any other
    /// likelihood would fit ln p(x) to them and destroy the normalisation.
    fn check_density<M: Module + ?Sized>(&self, model: &M) -> Result<()> {
        let head = model.spec().map(|s| s.head);
        let density = self.likelihood == Likelihood::Density;
        let msg = match head {
            Some(Head::Density) if !density => format!(
                "a density model (a flow, whose output is ln p(x)) trains on the Density likelihood (−ln p), \
                 not {:?}",
                self.likelihood
            ),
            Some(h) if density && h != Head::Density => format!(
                "the Density likelihood (−ln p) needs a model whose output is a normalised ln p(x) (a flow, \
                 Head::Density); this one has a {h:?} head"
            ),
            None if density => "the Density likelihood (−ln p) needs a model whose output is a normalised ln p(x) \
                 (a flow, Head::Density); this model carries no description to say so"
                .into(),
            _ => return Ok(()),
        };
        Err(Error::Invalid { op: "Objective", msg })
    }

    /// Per-event losses of outputs `out` ([B, k] or, for ensembles, [M, B, k]) against targets
    /// `y` ([B] or [B, k]): shape [B] or [M, B].
    pub fn per_event(&self, out: &Tensor, y: &Tensor) -> Result<Tensor> {
        let batch = &out.shape()[..out.rank() - 1];
        let k = out.shape()[out.rank() - 1];
        let target = |cols: usize| -> Result<Tensor> {
            let t = if cols == 1 { y.reshape(&[y.shape()[0]])? } else { y.clone() };
            let want = if cols == 1 { batch.to_vec() } else { out.shape().to_vec() };
            t.broadcast_to(&want).map_err(|_| Error::Shape {
                op: "Objective",
                msg: format!("targets {:?} do not fit outputs {:?}", y.shape(), out.shape()),
            })
        };
        match self.likelihood {
            Likelihood::Gaussian => {
                let (mu, logvar) = split_mean_logvar(out)?;
                gaussian_nll_terms(&mu, &logvar, &target(1)?)
            }
            Likelihood::Mse => {
                let pred = if k == 1 { out.reshape(batch)? } else { out.clone() };
                let e = pred.sub(&target(k)?)?.square()?;
                if k == 1 {
                    Ok(e)
                } else {
                    e.mean(&[-1], false)
                }
            }
            Likelihood::LeakyGaussianKernel { h, alpha } => {
                let pred = one_output(out, "the leaky Gaussian kernel")?;
                let r = pred.div(&target(1)?)?.sub_scalar(1.0)?;
                let norm = 1.0 / (h * (2.0 * std::f64::consts::PI).sqrt());
                let kernel = r.square()?.mul_scalar(-0.5 / (h * h))?.exp()?.mul_scalar(-norm)?;
                kernel.add(&r.abs()?.mul_scalar(alpha)?)
            }
            Likelihood::BinaryCrossEntropy => {
                let logit = one_output(out, "binary cross-entropy")?;
                logit.softplus()?.sub(&logit.mul(&target(1)?)?)
            }
            Likelihood::Density => one_output(out, "a density's negative log-likelihood")?.neg(),
        }
    }

    /// The loss of one batch: the (weighted) batch mean of the per-event losses, summed over
    /// ensemble members, plus the regulariser with `n_train` the training-set size.
    pub fn loss<M: Module + ?Sized>(&self, model: &M, batch: &Batch, n_train: usize) -> Result<Tensor> {
        if n_train == 0 {
            return Err(Error::Invalid {
                op: "Objective",
                msg: "n_train must be the (positive) training-set size".into(),
            });
        }
        let out = model.forward(&batch.x)?;
        let terms = self.per_event(&out, &batch.y)?;
        let mean = match &batch.w {
            Some(w) => terms.mul(w)?.sum(&[-1], false)?.div(&w.sum_all()?)?,
            None => terms.mean(&[-1], false)?,
        };
        let likelihood = mean.sum_all()?;
        match self.regulariser {
            Regulariser::None => Ok(likelihood),
            Regulariser::Kl => elbo_loss(&likelihood, model, n_train),
            Regulariser::Repulsion { beta, space, prior_sigma } => {
                let Sampling::Members(m) = model.sampling() else {
                    return Err(Error::Invalid {
                        op: "Objective",
                        msg: "a repulsion regulariser needs an ensemble".into(),
                    });
                };
                let mut loss = likelihood;
                if beta != 0.0 {
                    let particles = match space {
                        RepulsionSpace::Weights => member_params(model, m)?,
                        RepulsionSpace::Predictions => out.narrow(-1, 0, 1)?.reshape(&[m, batch.len()])?,
                        RepulsionSpace::Losses => terms,
                    };
                    loss = loss.add(&rbf_repulsion(&particles, beta, n_train)?)?;
                }
                if let Some(sp) = prior_sigma {
                    let mut sq: Option<Tensor> = None;
                    for p in model.params() {
                        let s = p.var.tensor().square()?.sum_all()?;
                        sq = Some(match sq {
                            Some(t) => t.add(&s)?,
                            None => s,
                        });
                    }
                    if let Some(sq) = sq {
                        loss = loss.add(&sq.mul_scalar(1.0 / (2.0 * n_train as f64 * sp * sp))?)?;
                    }
                }
                Ok(loss)
            }
        }
    }
}

fn one_output(out: &Tensor, what: &str) -> Result<Tensor> {
    let r = out.rank();
    if out.shape()[r - 1] != 1 {
        return Err(Error::Shape {
            op: "Objective",
            msg: format!("{what} needs one output, the model has {:?}", out.shape()),
        });
    }
    out.reshape(&out.shape()[..r - 1])
}
