//! The rational-quadratic spline coupling of Durkan et al. (2019), "Neural Spline Flows": each
//! transformed coordinate goes through a monotone spline of K bins on [-B, B], the identity
//! outside. Per coordinate the subnetwork gives K widths, K heights (each through a softmax, so
//! the knots increase and span [-B, B]) and K - 1 interior derivatives (through a softplus, so
//! they are positive); the derivative at both ends is 1, so the spline meets the identity tails
//! with a continuous slope. docs/genweights-method.md §11 gives the formulas.
//!
//! Everything is written with existing tensor ops, so the spline runs and differentiates on
//! every backend: the cumulative sums are a product with a triangular matrix of ones, and the
//! bin of each value is picked with a one-hot mask (a comparison, which carries no gradient)
//! multiplied into the per-bin quantities and summed. Inputs are clamped to [-B, B] before the
//! spline is evaluated and the identity is selected outside, so the unused branch never holds
//! an infinity whose zero gradient would turn into a NaN.

use autodiff::{DType, Device, Result, Tensor};

/// The smallest share of the interval a bin can have, and the smallest interior derivative:
/// they keep the spline's slopes within a few orders of magnitude of 1.
const MIN_BIN: f64 = 1e-3;
const MIN_DERIVATIVE: f64 = 1e-3;
/// softplus(ln(e - 1)) = 1: a subnetwork output of zero gives a derivative of 1, so a block whose
/// last layer starts at zero starts as the identity (uniform bins, unit slopes).
const UNIT_SLOPE_SHIFT: f64 = 0.541_324_854_612_918_1;

/// A spline per (row, coordinate): knots and derivatives, each [B, d, K + 1].
struct Knots {
    x: Tensor,
    y: Tensor,
    slope: Tensor,
    bins: usize,
    bound: f64,
}

/// [K, K + 1] with ones where i < j: `shares @ cumulative` prepends 0 to the cumulative sums.
fn cumulative(bins: usize, dtype: DType, dev: &Device) -> Result<Tensor> {
    let ones: Vec<f64> = (0..bins).flat_map(|i| (0..=bins).map(move |j| f64::from(u8::from(i < j)))).collect();
    Tensor::from_f64s(&ones, &[bins, bins + 1], dtype, dev)
}

/// Knot positions on [-B, B] from unnormalised shares [B, d, K].
fn knot_positions(raw: &Tensor, bound: f64, cum: &Tensor) -> Result<Tensor> {
    let bins = raw.shape()[2];
    let shares = raw.sub(&raw.logsumexp(&[-1], true)?)?.exp()?;
    let shares = shares.affine(1.0 - MIN_BIN * bins as f64, MIN_BIN)?;
    shares.matmul(cum)?.affine(2.0 * bound, -bound)
}

impl Knots {
    /// The splines of the subnetwork output `h` [B, d (3K - 1)] for d coordinates.
    fn new(h: &Tensor, d: usize, bins: usize, bound: f64) -> Result<Knots> {
        let rows = h.shape()[0];
        let p = h.reshape(&[rows, d, 3 * bins - 1])?;
        let cum = cumulative(bins, h.dtype(), h.device())?;
        let x = knot_positions(&p.narrow(2, 0, bins)?, bound, &cum)?;
        let y = knot_positions(&p.narrow(2, bins, bins)?, bound, &cum)?;
        let interior = p.narrow(2, 2 * bins, bins - 1)?.add_scalar(UNIT_SLOPE_SHIFT)?.softplus()?;
        let interior = interior.affine(1.0 - MIN_DERIVATIVE, MIN_DERIVATIVE)?;
        let end = Tensor::ones(&[rows, d, 1], h.dtype(), h.device())?;
        let slope = Tensor::concat(&[&end, &interior, &end], 2)?;
        Ok(Knots { x, y, slope, bins, bound })
    }

    /// A one-hot mask [B, d, K] of the bin each value of `v` [B, d] (clamped to the interval)
    /// falls in, by the knots `knots` [B, d, K + 1]: the number of interior knots at or below it.
    fn bin_of(&self, v: &Tensor, knots: &Tensor) -> Result<Tensor> {
        let interior = knots.narrow(2, 1, self.bins - 1)?.detach();
        let index = v.detach().unsqueeze(2)?.ge(&interior)?.sum(&[-1], true)?;
        let positions: Vec<f64> = (0..self.bins).map(|k| k as f64).collect();
        let positions = Tensor::from_f64s(&positions, &[self.bins], v.dtype(), v.device())?;
        index.eq_mask(&positions)
    }

    /// The bin's quantities for every value, given its one-hot mask.
    fn pick(&self, onehot: &Tensor) -> Result<Bin> {
        let k = self.bins;
        let at = |t: &Tensor, start: usize| t.narrow(2, start, k)?.mul(onehot)?.sum(&[-1], false);
        let (x0, x1, y0, y1) = (at(&self.x, 0)?, at(&self.x, 1)?, at(&self.y, 0)?, at(&self.y, 1)?);
        let (width, height) = (x1.sub(&x0)?, y1.sub(&y0)?);
        let slope = height.div(&width)?;
        Ok(Bin { x0, y0, width, height, slope, d0: at(&self.slope, 0)?, d1: at(&self.slope, 1)? })
    }

    /// 1 inside [-B, B], 0 outside.
    fn inside(&self, v: &Tensor) -> Result<Tensor> {
        v.ge_scalar(-self.bound)?.mul(&v.le_scalar(self.bound)?)
    }
}

/// One bin of each value: its left knot, size, mean slope s = H / W and end derivatives.
struct Bin {
    x0: Tensor,
    y0: Tensor,
    width: Tensor,
    height: Tensor,
    slope: Tensor,
    d0: Tensor,
    d1: Tensor,
}

impl Bin {
    /// d0 + d1 - 2s, the curvature term shared by the forward and inverse formulas.
    fn bend(&self) -> Result<Tensor> {
        self.d0.add(&self.d1)?.sub(&self.slope.mul_scalar(2.0)?)
    }
}

/// x2 -> y2 and each row's log|det dy2/dx2| ([B]).
pub(super) fn forward(x2: &Tensor, h: &Tensor, bins: usize, bound: f64) -> Result<(Tensor, Tensor)> {
    let knots = Knots::new(h, x2.shape()[1], bins, bound)?;
    let xc = x2.clamp(-bound, bound)?;
    let bin = knots.pick(&knots.bin_of(&xc, &knots.x)?)?;
    let xi = xc.sub(&bin.x0)?.div(&bin.width)?;
    let one_minus = xi.neg()?.add_scalar(1.0)?;
    let mixed = xi.mul(&one_minus)?;
    let s = &bin.slope;
    let numerator = bin.height.mul(&s.mul(&xi.square()?)?.add(&bin.d0.mul(&mixed)?)?)?;
    let denominator = s.add(&bin.bend()?.mul(&mixed)?)?;
    let y = bin.y0.add(&numerator.div(&denominator)?)?;
    let slope_terms =
        bin.d1.mul(&xi.square()?)?.add(&s.mul(&mixed)?.mul_scalar(2.0)?)?.add(&bin.d0.mul(&one_minus.square()?)?)?;
    let log_slope = s.square()?.mul(&slope_terms)?.log()?.sub(&denominator.square()?.log()?)?;
    let inside = knots.inside(x2)?;
    let y2 = Tensor::select(&inside, &y, x2)?;
    let log_det = Tensor::select(&inside, &log_slope, &log_slope.zeros_like()?)?;
    Ok((y2, log_det.sum(&[-1], false)?))
}

/// y2 -> x2, the exact inverse of [`forward`]: the root in [0, 1] of the bin's quadratic.
pub(super) fn inverse(y2: &Tensor, h: &Tensor, bins: usize, bound: f64) -> Result<Tensor> {
    let knots = Knots::new(h, y2.shape()[1], bins, bound)?;
    let yc = y2.clamp(-bound, bound)?;
    let bin = knots.pick(&knots.bin_of(&yc, &knots.y)?)?;
    let r = yc.sub(&bin.y0)?;
    let rb = r.mul(&bin.bend()?)?;
    let a = bin.height.mul(&bin.slope.sub(&bin.d0)?)?.add(&rb)?;
    let b = bin.height.mul(&bin.d0)?.sub(&rb)?;
    let c = bin.slope.mul(&r)?.neg()?;
    let discriminant = b.square()?.sub(&a.mul(&c)?.mul_scalar(4.0)?)?.maximum_scalar(0.0)?;
    // 2c / (-b - sqrt(disc)) rather than the textbook root: no cancellation when a is small.
    let xi = c.mul_scalar(2.0)?.div(&b.neg()?.sub(&discriminant.sqrt()?)?)?;
    let x = bin.x0.add(&xi.mul(&bin.width)?)?;
    Tensor::select(&knots.inside(y2)?, &x, y2)
}
