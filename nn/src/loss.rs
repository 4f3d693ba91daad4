//! Losses, written on autodiff ops so the same property tests check their gradients.
//!
//! Every loss insists that prediction and target shapes agree exactly: a [B, 1] prediction
//! against a [B] target would otherwise broadcast to [B, B] and train on nonsense, silently.

use autodiff::{Error, Result, Tensor};

/// The range the log variance of a heteroscedastic head is clamped to, as in the papers'
/// code: e^-20 ~ 2e-9 keeps 1/sigma^2 finite, e^11 ~ 6e4 caps the width. Outside it the
/// gradient is zero.
pub const LOGVAR_MIN: f64 = -20.0;
pub const LOGVAR_MAX: f64 = 11.0;

/// 0.5 ln(2 pi): the constant the Gaussian NLLs below leave out (it moves no gradient).
pub const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

fn same_shape(op: &'static str, pred: &Tensor, target: &Tensor) -> Result<()> {
    if pred.shape() != target.shape() {
        return Err(Error::Shape {
            op,
            msg: format!(
                "prediction {:?} and target {:?} differ; reshape one so they match exactly",
                pred.shape(),
                target.shape()
            ),
        });
    }
    Ok(())
}

/// Mean squared error.
pub fn mse(pred: &Tensor, target: &Tensor) -> Result<Tensor> {
    same_shape("mse", pred, target)?;
    pred.sub(target)?.square()?.mean_all()
}

/// Splits a [.., 2] (mean, log variance) head into two tensors of shape [..].
pub fn split_mean_logvar(out: &Tensor) -> Result<(Tensor, Tensor)> {
    if out.rank() == 0 || out.shape()[out.rank() - 1] != 2 {
        return Err(Error::Shape {
            op: "gaussian_nll",
            msg: format!("the head must end in 2 outputs (mean, log variance), got {:?}", out.shape()),
        });
    }
    let batch = &out.shape()[..out.rank() - 1];
    Ok((out.narrow(-1, 0, 1)?.reshape(batch)?, out.narrow(-1, 1, 1)?.reshape(batch)?))
}

/// Per-sample heteroscedastic Gaussian negative log-likelihood, without 0.5 ln 2 pi:
/// `0.5 (y - mu)^2 e^-l + 0.5 l`, with l clamped to [LOGVAR_MIN, LOGVAR_MAX].
pub fn gaussian_nll_terms(mean: &Tensor, logvar: &Tensor, target: &Tensor) -> Result<Tensor> {
    same_shape("gaussian_nll", mean, target)?;
    same_shape("gaussian_nll", logvar, target)?;
    let l = logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)?;
    let r2 = target.sub(mean)?.square()?;
    r2.mul(&l.neg()?.exp()?)?.add(&l)?.mul_scalar(0.5)
}

/// Batch-mean heteroscedastic Gaussian NLL of a (mean, log variance) head `out` of shape
/// [B, 2] against targets of shape [B].
pub fn gaussian_nll(out: &Tensor, target: &Tensor) -> Result<Tensor> {
    let (mean, logvar) = split_mean_logvar(out)?;
    gaussian_nll_terms(&mean, &logvar, target)?.mean_all()
}

/// Binary cross-entropy on logits, stable for any logit: softplus(x) - y x.
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    same_shape("bce_with_logits", logits, targets)?;
    logits.softplus()?.sub(&logits.mul(targets)?)?.mean_all()
}

/// The balanced two-sample form the generator-weights study trains with:
/// 0.5 [BCE(f(x_true), 1) + BCE(f(x_gen), 0)] = 0.5 [mean softplus(-f_true) + mean softplus(f_gen)].
/// At the optimum the logit is log p_true/p_gen, the log classifier weight.
pub fn balanced_bce(logits_true: &Tensor, logits_gen: &Tensor) -> Result<Tensor> {
    let t = logits_true.neg()?.softplus()?.mean_all()?;
    let g = logits_gen.softplus()?.mean_all()?;
    t.add(&g)?.mul_scalar(0.5)
}

/// The leaky Gaussian kernel loss of the DNN calibration baseline (arXiv:1910.03773), which
/// learns the mode of p(y|x): with r = pred/target - 1,
/// `-exp(-r^2 / (2 h^2)) / (h sqrt(2 pi)) + alpha |r|`, batch-averaged.
pub fn leaky_gaussian_kernel(pred: &Tensor, target: &Tensor, h: f64, alpha: f64) -> Result<Tensor> {
    same_shape("leaky_gaussian_kernel", pred, target)?;
    if h <= 0.0 {
        return Err(Error::Invalid {
            op: "leaky_gaussian_kernel",
            msg: format!("kernel width h = {h} must be positive"),
        });
    }
    let r = pred.div(target)?.sub_scalar(1.0)?;
    let norm = 1.0 / (h * (2.0 * std::f64::consts::PI).sqrt());
    let kernel = r.square()?.mul_scalar(-0.5 / (h * h))?.exp()?.mul_scalar(-norm)?;
    let leak = r.abs()?.mul_scalar(alpha)?;
    kernel.add(&leak)?.mean_all()
}
