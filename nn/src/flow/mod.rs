//! Invertible networks (normalizing flows): a stack of coupling blocks f = f_B ∘ ... ∘ f_1 that
//! maps data x to a latent z with a standard-normal density, so that
//!
//!   ln p(x) = ln N(f(x); 0, 1) + ln|det ∂f/∂x| = -|z|²/2 - (D/2) ln 2π + Σ_b ln|det J_b|,
//!
//! exact and normalised, and samples are f⁻¹(z) for z ~ N(0, 1). Each block mixes the
//! coordinates with a fixed seeded permutation or rotation and transforms one half given the other with an
//! affine or a rational-quadratic spline coupling whose parameters come from an MLP of the
//! first half. With variational subnetworks the flow is a Bayesian INN: weight draw k
//! ([`Mode::Eval`]) is one flow, and its ln p per event is one column of the generator's own
//! uncertainty. docs/genweights-method.md §11 has the equations.
//!
//! A flow is a [`ModelSpec`] of kind [`ModelKind::Flow`] with a [`Head::Density`]:
//! [`Module::forward`] returns ln p(x) as one column, so the trainer fits it with
//! [`crate::Likelihood::Density`] (the negative log-likelihood) and checkpoints rebuild it like
//! every other model. [`Flow::load`] gives back the flow itself, which can also sample.
//!
//! - [`mod@affine`], [`mod@spline`]: the two couplings; [`mod@mixing`]: the permutations and
//!   rotations between them; `block`: mixing plus coupling.

mod affine;
mod block;
pub mod mixing;
mod spline;

pub use mixing::{block_permutation, block_rotation};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::module::{prefixed, Mode, Module, NoiseStream, Param, Sampling};
use crate::spec::{Head, ModelKind, ModelSpec};
use crate::standardizer::{Standardizer, Transform};
use autodiff::{no_grad, DType, Device, Error, Result, Rng, Tensor};
use block::Block;
use std::path::Path;
use std::sync::Mutex;

/// ln of the standard normal's normalisation per coordinate, (1/2) ln 2π.
const HALF_LN_2PI: f64 = 0.918_938_533_204_672_8;

pub struct Flow {
    spec: ModelSpec,
    blocks: Vec<Block>,
    mode: Mutex<Mode>,
}

impl Flow {
    /// Builds the flow `spec` describes, its subnetworks seeded by `seed` (the permutations by
    /// the spec's own seed). Every block starts as the identity.
    pub fn new(spec: &ModelSpec, dtype: DType, dev: &Device, seed: u64) -> Result<Flow> {
        spec.validate()?;
        let ModelKind::Flow(config) = spec.kind else {
            return Err(Error::Invalid { op: "Flow", msg: format!("{} is not a flow", spec.describe()) });
        };
        let blocks =
            (0..config.blocks).map(|i| Block::new(i, spec, &config, dtype, dev, seed)).collect::<Result<_>>()?;
        Ok(Flow { spec: spec.clone(), blocks, mode: Mutex::new(Mode::Train) })
    }

    /// Rebuilds the flow a checkpoint describes (f32 parameters, as training writes them) on
    /// `device`, with its weights and random streams; returns the checkpoint's header too.
    pub fn load(path: impl AsRef<Path>, device: &Device) -> std::result::Result<(Flow, Checkpoint), CheckpointError> {
        let path = path.as_ref();
        let head = Checkpoint::read_header(path)?;
        let Some(spec) = head.spec.as_ref().filter(|s| matches!(s.kind, ModelKind::Flow(_))) else {
            return Err(CheckpointError::Mismatch {
                path: path.to_path_buf(),
                msg: "it does not hold a flow (attribute 'model' describes another network or none)".into(),
            });
        };
        let flow = Flow::new(spec, DType::F32, device, 0)?;
        let head = Checkpoint::load(path, &flow, None)?;
        Ok((flow, head))
    }

    /// The number of coordinates D.
    pub fn dims(&self) -> usize {
        self.spec.mlp.inputs
    }

    /// The permutation of every block (column j of block b's permuted input is column
    /// `permutations()[b][j]` of its input); empty for a flow that rotates instead.
    pub fn permutations(&self) -> Vec<Vec<usize>> {
        self.blocks.iter().filter_map(|b| b.mixing.permutation().map(<[usize]>::to_vec)).collect()
    }

    /// Every block's mixing as a matrix M [D, D] (row-major, x -> x M): a permutation matrix,
    /// or the rotation's Q in f64.
    pub fn mixing_matrices(&self) -> Vec<Vec<f64>> {
        self.blocks.iter().map(|b| b.mixing.matrix()).collect()
    }

    fn check_rows(&self, x: &Tensor, op: &'static str) -> Result<()> {
        if x.rank() != 2 || x.shape()[1] != self.dims() {
            return Err(Error::Shape {
                op,
                msg: format!(
                    "a flow on {} coordinates takes [rows, {}], got {:?}",
                    self.dims(),
                    self.dims(),
                    x.shape()
                ),
            });
        }
        Ok(())
    }

    /// z = f(x) [B, D] and each row's ln|det ∂f/∂x| [B], in the current mode.
    pub fn to_latent(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        self.check_rows(x, "Flow::to_latent")?;
        let mut z = x.clone();
        let mut log_det: Option<Tensor> = None;
        for block in &self.blocks {
            let (next, ld) = block.forward(&z)?;
            z = next;
            log_det = Some(match log_det {
                Some(total) => total.add(&ld)?,
                None => ld,
            });
        }
        let log_det = match log_det {
            Some(ld) => ld,
            None => Tensor::zeros(&[x.shape()[0]], x.dtype(), x.device())?,
        };
        Ok((z, log_det))
    }

    /// x = f⁻¹(z) [B, D], in the current mode.
    pub fn from_latent(&self, z: &Tensor) -> Result<Tensor> {
        self.check_rows(z, "Flow::from_latent")?;
        self.blocks.iter().rev().try_fold(z.clone(), |y, block| block.inverse(&y))
    }

    /// ln p(x) per row [B]: exact and normalised over R^D.
    pub fn log_p(&self, x: &Tensor) -> Result<Tensor> {
        let (z, log_det) = self.to_latent(x)?;
        let constant = -HALF_LN_2PI * self.dims() as f64;
        z.square()?.sum(&[-1], false)?.affine(-0.5, constant)?.add(&log_det)
    }

    /// `n` samples [n, D] from the flow in the current mode, their latents drawn from `rng`.
    pub fn sample(&self, n: usize, rng: &mut Rng, dtype: DType, dev: &Device) -> Result<Tensor> {
        let z = rng.normal(&[n, self.dims()], dtype, dev)?;
        no_grad(|| self.from_latent(&z))
    }
}

/// ln|det| of the standardisation z = (x - mean) / std that a flow trained on standardized rows
/// sees: -Σ ln std, to be added to the flow's ln p(z) for the density of the raw rows. Only a
/// purely affine standardizer has a constant Jacobian, so any other transform is refused.
pub fn standardizer_log_det(s: &Standardizer) -> Result<f64> {
    if let Some(t) = s.transforms.iter().find(|t| **t != Transform::None) {
        return Err(Error::Invalid {
            op: "standardizer_log_det",
            msg: format!("a {t:?} pre-transform has no constant Jacobian; a flow's inputs must be standardized only"),
        });
    }
    Ok(-s.std.iter().map(|v| v.ln()).sum::<f64>())
}

impl Module for Flow {
    /// ln p(x) as one column, [B, 1].
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let rows = x.shape().first().copied().unwrap_or(0);
        self.log_p(x)?.reshape(&[rows, 1])
    }

    fn params(&self) -> Vec<Param> {
        let nets = self.blocks.iter().enumerate();
        nets.flat_map(|(i, b)| prefixed(&format!("blocks.{i}.net"), b.net.params())).collect()
    }

    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
        self.blocks.iter().for_each(|b| b.net.set_mode(mode));
    }

    fn sampling(&self) -> Sampling {
        match self.spec.kind {
            ModelKind::Flow(c) if c.variational.is_some() => Sampling::WeightDraws,
            _ => Sampling::Fixed,
        }
    }

    fn kl(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        for b in &self.blocks {
            if let Some(k) = b.net.kl()? {
                total = Some(match total {
                    Some(t) => t.add(&k)?,
                    None => k,
                });
            }
        }
        Ok(total)
    }

    fn noise_streams(&self) -> Vec<NoiseStream> {
        self.blocks.iter().enumerate().flat_map(|(i, b)| b.noise_streams(&format!("blocks.{i}.net"))).collect()
    }

    fn spec(&self) -> Option<&ModelSpec> {
        Some(&self.spec)
    }
}

/// A flow's description: `dims` coordinates, subnetworks with `hidden` widths and `activation`.
pub fn flow_spec(
    dims: usize,
    hidden: &[usize],
    activation: crate::Activation,
    config: crate::spec::FlowConfig,
) -> ModelSpec {
    let mlp = crate::spec::MlpSpec::new(dims, hidden, dims).activation(activation);
    ModelSpec::new(mlp, ModelKind::Flow(config), Head::Density)
}
