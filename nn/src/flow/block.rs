//! One coupling block: a fixed mixing of the coordinates (a permutation or a rotation), then a
//! coupling that transforms the second half given the first, x = (x1, x2) -> (x1, c(x2; net(x1))).
//! The coupling's Jacobian is triangular and the mixing's |det| is 1, so log|det J| is the
//! coupling's own.

use super::mixing::BlockMixing;
use super::{affine, spline};
use crate::linear::Linear;
use crate::module::{Module, NoiseStream};
use crate::spec::{Coupling, FlowConfig, Head, MlpSpec, ModelSpec};
use crate::stack::Stack;
use crate::variational::VariationalLinear;
use autodiff::{DType, Device, Result, Rng, Tensor};

pub(super) struct Block {
    pub(super) mixing: BlockMixing,
    /// The conditioning coordinates (the first `conditioned` after mixing).
    conditioned: usize,
    pub(super) net: Box<dyn Module>,
    coupling: Coupling,
}

impl Block {
    /// Block `index` of a flow on `spec.mlp.inputs` coordinates.
    pub(super) fn new(
        index: usize,
        spec: &ModelSpec,
        config: &FlowConfig,
        dtype: DType,
        dev: &Device,
        seed: u64,
    ) -> Result<Block> {
        let dims = spec.mlp.inputs;
        let conditioned = dims / 2;
        let outputs = (dims - conditioned) * config.coupling.params_per_dim();
        let mlp = MlpSpec { inputs: conditioned, outputs, ..spec.mlp.clone() };
        let net_seed = Rng::new(seed).fork(index as u64).seed();
        // Built from the layer stacks directly (not `ModelSpec::build`, which builds flows too).
        let net: Box<dyn Module> = match config.variational {
            Some(c) => Box::new(Stack::<VariationalLinear>::new(
                &ModelSpec::variational(mlp, c, Head::Point),
                dtype,
                dev,
                net_seed,
            )?),
            None => Box::new(Stack::<Linear>::new(&ModelSpec::deterministic(mlp, Head::Point), dtype, dev, net_seed)?),
        };
        start_as_identity(net.as_ref())?;
        let mixing = BlockMixing::new(config.mixing, config.permutation_seed, index, dims, dtype, dev)?;
        Ok(Block { mixing, conditioned, net, coupling: config.coupling })
    }

    /// Its subnetwork's random streams, named after the block so that a checkpoint tells the
    /// blocks' streams apart.
    pub(super) fn noise_streams(&self, prefix: &str) -> Vec<NoiseStream> {
        self.net.noise_streams().iter().map(|s| s.renamed(format!("{prefix}.{}", s.name()))).collect()
    }

    /// x -> y and each row's log|det dy/dx| ([B]).
    pub(super) fn forward(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let dims = x.shape()[1];
        let x = self.mixing.forward(x)?;
        let (x1, x2) = (x.narrow(1, 0, self.conditioned)?, x.narrow(1, self.conditioned, dims - self.conditioned)?);
        let h = self.net.forward(&x1)?;
        let (y2, log_det) = match self.coupling {
            Coupling::Affine { clamp } => affine::forward(&x2, &h, clamp)?,
            Coupling::Spline { bins, bound } => spline::forward(&x2, &h, bins, bound)?,
        };
        Ok((Tensor::concat(&[&x1, &y2], 1)?, log_det))
    }

    /// y -> x, the exact inverse of [`Block::forward`].
    pub(super) fn inverse(&self, y: &Tensor) -> Result<Tensor> {
        let dims = y.shape()[1];
        let (y1, y2) = (y.narrow(1, 0, self.conditioned)?, y.narrow(1, self.conditioned, dims - self.conditioned)?);
        let h = self.net.forward(&y1)?;
        let x2 = match self.coupling {
            Coupling::Affine { clamp } => affine::inverse(&y2, &h, clamp)?,
            Coupling::Spline { bins, bound } => spline::inverse(&y2, &h, bins, bound)?,
        };
        self.mixing.inverse(&Tensor::concat(&[&y1, &x2], 1)?)
    }
}

/// Zeroes the subnetwork's last layer (its weights or weight means, and its bias): every block
/// then starts as the identity (s = t = 0, uniform spline bins with unit slopes), the usual
/// start of a deep flow, which otherwise composes many random maps into an extreme one.
fn start_as_identity(net: &dyn Module) -> Result<()> {
    let params = net.params();
    let Some(last) = params.last().and_then(|p| p.name.split('.').nth(1)).map(str::to_string) else {
        return Ok(());
    };
    for p in params.iter().filter(|p| p.name.split('.').nth(1) == Some(last.as_str())) {
        if !p.name.ends_with("logsig2") {
            p.var.set(&p.var.tensor().zeros_like()?)?;
        }
    }
    Ok(())
}
