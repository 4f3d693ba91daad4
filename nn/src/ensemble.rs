//! Deep and repulsive ensembles as one batched computation: every parameter carries a leading
//! member axis, so M members are M-batched matmuls, not M training loops, and the repulsion
//! term sees all members at once.
//!
//! Repulsive ensembles (D'Angelo and Fortuin, arXiv:2106.11642; calibration-study.md section 5)
//! add to the members' likelihoods the kernel term
//!
//!   beta * sum_i [ sum_j k(f_i, sg f_j) / sg(sum_j k(f_i, f_j)) - 1 ] / N
//!
//! whose gradient with respect to member i is beta/N * sum_j grad k(f_i, f_j) / sum_j k(f_i, f_j):
//! exactly the kernel-density estimate of grad log rho in the Wasserstein-gradient-flow update
//! theta_i <- theta_i + eps [grad log pi(theta_i) - grad log rho(theta_i)]. With beta = 0 it is a
//! plain deep ensemble.

use crate::linear::Init;
use crate::loss::{gaussian_nll_terms, split_mean_logvar};
use crate::mlp::MlpSpec;
use crate::module::{Module, Param};
use autodiff::{DType, Device, Error, Result, Rng, Tensor, Var};
use serde::{Deserialize, Serialize};

/// M MLPs of one architecture, stacked: weight i of layer l has shape [M, in, out].
pub struct EnsembleMlp {
    pub spec: MlpSpec,
    pub members: usize,
    pub weights: Vec<Var>,
    pub biases: Vec<Var>,
}

impl EnsembleMlp {
    /// Member m is initialised from `Rng::new(seed).fork(m)`, with the spec's init per member.
    pub fn new(spec: &MlpSpec, members: usize, dtype: DType, dev: &Device, seed: u64) -> Result<Self> {
        if members == 0 {
            return Err(Error::Invalid { op: "EnsembleMlp", msg: "an ensemble needs at least one member".into() });
        }
        let widths: Vec<usize> =
            std::iter::once(spec.inputs).chain(spec.hidden.iter().copied()).chain([spec.outputs]).collect();
        let (mut weights, mut biases) = (Vec::new(), Vec::new());
        for (l, w) in widths.windows(2).enumerate() {
            let (mut ws, mut bs) = (Vec::new(), Vec::new());
            for m in 0..members {
                let mut rng = Rng::new(seed).fork(m as u64).fork(l as u64);
                ws.push(spec.init.weight(w[0], w[1], dtype, dev, &mut rng)?);
                bs.push(match spec.init {
                    Init::KaimingUniform => {
                        let a = 1.0 / (w[0] as f64).sqrt();
                        rng.uniform(-a, a, &[1, w[1]], dtype, dev)?
                    }
                    _ => Tensor::zeros(&[1, w[1]], dtype, dev)?,
                });
            }
            weights.push(Var::new(&Tensor::stack(&ws.iter().collect::<Vec<_>>(), 0)?)?);
            biases.push(Var::new(&Tensor::stack(&bs.iter().collect::<Vec<_>>(), 0)?)?);
        }
        Ok(EnsembleMlp { spec: spec.clone(), members, weights, biases })
    }

    /// Every member's parameters flattened into one row: [M, P] (the weight-space particles).
    pub fn flat_params(&self) -> Result<Tensor> {
        let m = self.members;
        let rows = self
            .weights
            .iter()
            .chain(&self.biases)
            .map(|v| {
                let t = v.tensor();
                let per = t.numel() / m;
                t.reshape(&[m, per])
            })
            .collect::<Result<Vec<_>>>()?;
        Tensor::concat(&rows.iter().collect::<Vec<_>>(), 1)
    }
}

impl Module for EnsembleMlp {
    /// x [B, in] (shared by all members) or [M, B, in] -> [M, B, out].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let last = self.weights.len() - 1;
        let mut h = x.clone();
        for (i, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            h = h.matmul_add(&w.tensor(), &b.tensor())?;
            h = if i < last { self.spec.activation.apply(&h)? } else { self.spec.output_activation.apply(&h)? };
        }
        Ok(h)
    }

    fn params(&self) -> Vec<Param> {
        let mut p = Vec::new();
        for (i, (w, b)) in self.weights.iter().zip(&self.biases).enumerate() {
            p.push(Param::new(format!("layers.{i}.weight"), w));
            p.push(Param::new(format!("layers.{i}.bias"), b));
        }
        p
    }

    fn architecture(&self) -> String {
        format!("ensemble of {} {}", self.members, serde_json::to_string(&self.spec).unwrap_or_default())
    }
}

/// What the repulsion kernel compares between members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RepulsionSpace {
    /// All parameters of a member (weight space, "WGD-KDE").
    Weights,
    /// The member's predicted means on the batch (function space, D'Angelo and Fortuin).
    Predictions,
    /// The member's per-sample losses on the batch (the Heidelberg reference code's choice).
    Losses,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RepulsiveConfig {
    /// Repulsion strength; 0 gives a plain deep ensemble.
    pub beta: f64,
    pub space: RepulsionSpace,
    /// Gaussian weight prior N(0, sigma_p^2), as the term sum_i |theta_i|^2 / (2 N sigma_p^2);
    /// None for no prior.
    pub prior_sigma: Option<f64>,
    /// The training-set size N (the repulsion and the prior are per-example, like KL / N).
    pub n_train: usize,
}

/// Median-heuristic RBF bandwidth: h = median(d^2) / (2 ln(M + 1)) over all pairs, a constant.
pub fn median_bandwidth(d2: &Tensor, members: usize) -> Result<f64> {
    let mut v = d2.to_vec_f64()?;
    v.sort_by(f64::total_cmp);
    let med = if v.is_empty() {
        0.0
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        0.5 * (v[v.len() / 2 - 1] + v[v.len() / 2])
    };
    // Identical members (d = 0 everywhere) would give h = 0: any positive width is then fine.
    Ok((med / (2.0 * ((members + 1) as f64).ln())).max(1e-12))
}

/// The repulsion term for particles `f` of shape [M, D] (see the module docs), with
/// k(a, b) = exp(-|a - b|^2 / (2h)) and h from the median heuristic.
pub fn rbf_repulsion(f: &Tensor, beta: f64, n_train: usize) -> Result<Tensor> {
    if f.rank() != 2 || n_train == 0 {
        return Err(Error::Invalid {
            op: "rbf_repulsion",
            msg: format!("need particles [M, D] and n_train > 0, got {:?}", f.shape()),
        });
    }
    let m = f.shape()[0];
    let d2 = f.unsqueeze(1)?.sub(&f.detach().unsqueeze(0)?)?.square()?.sum(&[-1], false)?;
    let h = median_bandwidth(&d2, m)?;
    let k = d2.mul_scalar(-0.5 / h)?.exp()?;
    let ksum = k.sum(&[1], false)?;
    ksum.div(&ksum.detach())?.sub_scalar(1.0)?.sum_all()?.mul_scalar(beta / n_train as f64)
}

/// The repulsive-ensemble loss on a batch: sum over members of the batch-mean heteroscedastic
/// NLL, plus the repulsion, plus the weight prior. `y` has shape [B] or [B, 1].
pub fn repulsive_loss(model: &EnsembleMlp, x: &Tensor, y: &Tensor, cfg: &RepulsiveConfig) -> Result<Tensor> {
    let out = model.forward(x)?;
    let (mu, logvar) = split_mean_logvar(&out)?;
    let target = y.reshape(&[y.numel()])?.broadcast_to(mu.shape())?;
    let terms = gaussian_nll_terms(&mu, &logvar, &target)?;
    let mut loss = terms.mean(&[1], false)?.sum_all()?;
    if cfg.beta != 0.0 {
        let particles = match cfg.space {
            RepulsionSpace::Weights => model.flat_params()?,
            RepulsionSpace::Predictions => mu,
            RepulsionSpace::Losses => terms,
        };
        loss = loss.add(&rbf_repulsion(&particles, cfg.beta, cfg.n_train)?)?;
    }
    if let Some(sp) = cfg.prior_sigma {
        let sq = model.params().iter().map(|p| p.var.tensor().square()?.sum_all()).collect::<Result<Vec<_>>>()?;
        let total = sq.iter().skip(1).try_fold(sq[0].clone(), |acc, t| acc.add(t))?;
        loss = loss.add(&total.mul_scalar(1.0 / (2.0 * cfg.n_train as f64 * sp * sp))?)?;
    }
    Ok(loss)
}
