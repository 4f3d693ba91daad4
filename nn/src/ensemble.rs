//! Deep and repulsive ensembles as one batched computation: every parameter carries a leading
//! member axis, so M members are M-batched matmuls, not M training loops, and the repulsion
//! term sees all members at once.
//!
//! Repulsive ensembles (D'Angelo and Fortuin, arXiv:2106.11642; docs/calibration-method.md §4.6)
//! add to the members' likelihoods the kernel term
//!
//!   beta * sum_i [ sum_j k(f_i, sg f_j) / sg(sum_j k(f_i, f_j)) - 1 ] / N
//!
//! whose gradient with respect to member i is beta/N * sum_j grad k(f_i, f_j) / sum_j k(f_i, f_j):
//! exactly the kernel-density estimate of grad log rho in the Wasserstein-gradient-flow update
//! theta_i <- theta_i + eps [grad log pi(theta_i) - grad log rho(theta_i)]. With beta = 0 it is a
//! plain deep ensemble.

use crate::activation::Activation;
use crate::module::{Mode, Module, Param, Sampling};
use crate::spec::{ModelKind, ModelSpec};
use crate::stack::{Layer, Stack};
use autodiff::{DType, Device, Error, Result, Rng, Tensor, Var};
use serde::{Deserialize, Serialize};

/// M dense layers of one shape, stacked: weight [M, in, out], bias [M, 1, out]. A batch
/// [B, in] (shared by all members) or [M, B, in] maps to [M, B, out].
pub struct EnsembleLinear {
    pub weight: Var,
    pub bias: Var,
}

impl Layer for EnsembleLinear {
    fn check(spec: &ModelSpec) -> Result<()> {
        match spec.kind {
            ModelKind::Ensemble { members } if members > 0 => Ok(()),
            other => {
                Err(Error::Invalid { op: "EnsembleMlp", msg: format!("an ensemble cannot be built as {other:?}") })
            }
        }
    }

    /// Member m's layer is initialised from `root.fork(m).fork(index)` with the model description's initialisation.
    fn build(
        index: usize,
        fan_in: usize,
        fan_out: usize,
        spec: &ModelSpec,
        dtype: DType,
        dev: &Device,
        root: &Rng,
    ) -> Result<Self> {
        let ModelKind::Ensemble { members } = spec.kind else {
            return Err(Error::Invalid { op: "EnsembleMlp", msg: "not an ensemble specification".into() });
        };
        let (mut ws, mut bs) = (Vec::new(), Vec::new());
        for m in 0..members {
            let mut rng = root.fork(m as u64).fork(index as u64);
            ws.push(spec.mlp.init.weight(fan_in, fan_out, dtype, dev, &mut rng)?);
            bs.push(spec.mlp.init.bias(fan_in, &[1, fan_out], dtype, dev, &mut rng)?);
        }
        Ok(EnsembleLinear {
            weight: Var::new(&Tensor::stack(&ws.iter().collect::<Vec<_>>(), 0)?)?,
            bias: Var::new(&Tensor::stack(&bs.iter().collect::<Vec<_>>(), 0)?)?,
        })
    }

    fn forward(&self, x: &Tensor, _mode: Mode) -> Result<Tensor> {
        x.matmul_add(&self.weight.tensor(), &self.bias.tensor())
    }

    fn forward_activated(&self, x: &Tensor, _mode: Mode, act: Activation) -> Result<Tensor> {
        x.dense(&self.weight.tensor(), Some(&self.bias.tensor()), act.dense())
    }

    fn params(&self) -> Vec<Param> {
        vec![Param::new("weight", &self.weight), Param::new("bias", &self.bias)]
    }

    fn sampling(spec: &ModelSpec) -> Sampling {
        match spec.kind {
            ModelKind::Ensemble { members } => Sampling::Members(members),
            _ => Sampling::Fixed,
        }
    }
}

/// M MLPs of one architecture as one network whose parameters carry a leading member axis.
pub type EnsembleMlp = Stack<EnsembleLinear>;

/// Every member's parameters flattened into one row: [M, P] (the weight-space particles). Works
/// for any module whose parameters all carry a leading member axis of size `members`.
pub fn member_params<M: Module + ?Sized>(model: &M, members: usize) -> Result<Tensor> {
    let rows = model
        .params()
        .iter()
        .map(|p| {
            let t = p.var.tensor();
            if t.rank() == 0 || t.shape()[0] != members {
                return Err(Error::Shape {
                    op: "member_params",
                    msg: format!(
                        "parameter {} has shape {:?}, not a leading axis of {members} members",
                        p.name,
                        t.shape()
                    ),
                });
            }
            t.reshape(&[members, t.numel() / members])
        })
        .collect::<Result<Vec<_>>>()?;
    Tensor::concat(&rows.iter().collect::<Vec<_>>(), 1)
}

/// What the repulsion kernel compares between members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RepulsionSpace {
    /// All parameters of a member (weight space, "WGD-KDE").
    Weights,
    /// The member's predicted means on the batch (function space, D'Angelo and Fortuin).
    Predictions,
    /// The member's per-sample losses on the batch (the calibration study's choice, docs/calibration-method.md §4.6).
    Losses,
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
