//! One layer stack for every network: the deterministic MLP, the variational MLP and the
//! ensemble differ only in their layer type, so the widths, the layer loop, the activations,
//! dropout and the mode live here once.

use crate::activation::Activation;
use crate::dropout::Dropout;
use crate::module::{prefixed, Mode, Module, NoiseStream, Param, Sampling};
use crate::spec::ModelSpec;
use autodiff::{DType, Device, Result, Rng, Tensor};
use std::sync::Mutex;

/// A dense layer kind the stack can be built from.
pub trait Layer: Send + Sync + Sized {
    /// Checks that `spec` asks for this layer kind with settings it supports, so that no field
    /// of a specification is silently ignored.
    fn check(spec: &ModelSpec) -> Result<()>;

    /// Builds layer `index` (fan_in -> fan_out) of a network seeded by `root`.
    fn build(
        index: usize,
        fan_in: usize,
        fan_out: usize,
        spec: &ModelSpec,
        dtype: DType,
        dev: &Device,
        root: &Rng,
    ) -> Result<Self>;

    fn forward(&self, x: &Tensor, mode: Mode) -> Result<Tensor>;

    /// `act(forward(x))`. Layers that can apply the activation in their product's output pass
    /// (one op, one backward: `Tensor::dense`) override this; the values are the same bits.
    fn forward_activated(&self, x: &Tensor, mode: Mode, act: Activation) -> Result<Tensor> {
        act.apply(&self.forward(x, mode)?)
    }

    fn params(&self) -> Vec<Param>;

    fn kl(&self) -> Result<Option<Tensor>> {
        Ok(None)
    }

    fn noise(&self) -> Option<&NoiseStream> {
        None
    }

    fn sampling(spec: &ModelSpec) -> Sampling;
}

/// A network of `L` layers: `x -> L -> act -> [dropout] -> ... -> L -> output_act`.
pub struct Stack<L: Layer> {
    spec: ModelSpec,
    pub layers: Vec<L>,
    dropout: Option<Dropout>,
    mode: Mutex<Mode>,
}

impl<L: Layer> Stack<L> {
    /// Builds the network described by `spec`, with initial weights and noise seeded by `seed`.
    pub fn new(spec: &ModelSpec, dtype: DType, dev: &Device, seed: u64) -> Result<Self> {
        spec.validate()?;
        L::check(spec)?;
        let root = Rng::new(seed);
        let widths = spec.mlp.widths();
        let layers = widths
            .windows(2)
            .enumerate()
            .map(|(i, w)| L::build(i, w[0], w[1], spec, dtype, dev, &root))
            .collect::<Result<Vec<_>>>()?;
        let dropout = if spec.mlp.dropout > 0.0 { Some(Dropout::new(spec.mlp.dropout, seed ^ 0xD0D0)?) } else { None };
        Ok(Stack { spec: spec.clone(), layers, dropout, mode: Mutex::new(Mode::Train) })
    }

    pub fn model_spec(&self) -> &ModelSpec {
        &self.spec
    }
}

impl<L: Layer> Module for Stack<L> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mode = self.mode();
        let last = self.layers.len() - 1;
        let mut h = x.clone();
        for (i, layer) in self.layers.iter().enumerate() {
            let act = if i < last { self.spec.mlp.activation } else { self.spec.mlp.output_activation };
            h = layer.forward_activated(&h, mode, act)?;
            if let (Some(d), true, true) = (&self.dropout, i < last, mode.is_train()) {
                h = d.forward(&h)?;
            }
        }
        Ok(h)
    }

    fn params(&self) -> Vec<Param> {
        self.layers.iter().enumerate().flat_map(|(i, l)| prefixed(&format!("layers.{i}"), l.params())).collect()
    }

    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    fn sampling(&self) -> Sampling {
        L::sampling(&self.spec)
    }

    fn kl(&self) -> Result<Option<Tensor>> {
        let mut total: Option<Tensor> = None;
        for l in &self.layers {
            if let Some(k) = l.kl()? {
                total = Some(match total {
                    Some(t) => t.add(&k)?,
                    None => k,
                });
            }
        }
        Ok(total)
    }

    fn noise_streams(&self) -> Vec<NoiseStream> {
        let layers = self.layers.iter().filter_map(|l| l.noise().cloned());
        layers.chain(self.dropout.as_ref().map(|d| d.stream().clone())).collect()
    }

    fn spec(&self) -> Option<&ModelSpec> {
        Some(&self.spec)
    }
}
