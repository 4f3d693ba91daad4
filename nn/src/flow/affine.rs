//! The affine coupling of RealNVP and Glow: y2 = x2 e^s + t, with (s_raw, t) from a subnetwork of
//! the other half x1 and the log-scale softly clamped, s = c tanh(s_raw / c). The clamp bounds
//! every block's scale to [e^-c, e^c] while keeping s smooth, so one bad batch cannot blow a
//! coordinate up by e^50; the Jacobian is triangular and log|det J| = sum_j s_j.

use autodiff::{Result, Tensor};

/// (s, t), each [B, d2], from the subnetwork's output [B, 2 d2].
fn scale_shift(h: &Tensor, d2: usize, clamp: f64) -> Result<(Tensor, Tensor)> {
    let s = h.narrow(1, 0, d2)?.mul_scalar(1.0 / clamp)?.tanh()?.mul_scalar(clamp)?;
    Ok((s, h.narrow(1, d2, d2)?))
}

/// x2 -> y2 and each row's log|det dy2/dx2| ([B]).
pub(super) fn forward(x2: &Tensor, h: &Tensor, clamp: f64) -> Result<(Tensor, Tensor)> {
    let (s, t) = scale_shift(h, x2.shape()[1], clamp)?;
    let y2 = x2.mul(&s.exp()?)?.add(&t)?;
    Ok((y2, s.sum(&[-1], false)?))
}

/// y2 -> x2, the exact inverse of [`forward`] for the same subnetwork output.
pub(super) fn inverse(y2: &Tensor, h: &Tensor, clamp: f64) -> Result<Tensor> {
    let (s, t) = scale_shift(h, y2.shape()[1], clamp)?;
    y2.sub(&t)?.mul(&s.neg()?.exp()?)
}
