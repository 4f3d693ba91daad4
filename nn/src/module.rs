//! The module API: forward, named parameters, train/eval mode, and the KL term that Bayesian
//! layers add (zero for deterministic ones).

use autodiff::{Device, Result, Tensor, Var};

/// A parameter with its stable, dotted name (`layers.0.weight`): the key in checkpoints.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub var: Var,
}

impl Param {
    pub fn new(name: impl Into<String>, var: &Var) -> Self {
        Param { name: name.into(), var: var.clone() }
    }
}

/// Something with parameters that maps a batch to a batch.
///
/// Mode switches take `&self` (layers keep the flag in an atomic) so a model can be shared
/// between the training loop, an evaluation thread and ensemble members.
pub trait Module: Send + Sync {
    fn forward(&self, x: &Tensor) -> Result<Tensor>;

    /// Every parameter, in a fixed order, with stable names.
    fn params(&self) -> Vec<Param>;

    /// Train mode (dropout active, Bayesian layers sample per batch) or eval mode.
    fn set_training(&self, _on: bool) {}

    /// Draws a new weight sample for evaluation (Bayesian layers keep one sample fixed in
    /// eval mode, so that each draw is one coherent network). No-op for deterministic modules.
    fn resample(&self) {}

    /// MAP mode: Bayesian layers use their weight means instead of samples.
    fn set_map(&self, _on: bool) {}

    /// The KL divergence of the variational posterior from the prior, summed over the
    /// module's weights; `None` for deterministic modules.
    fn kl(&self) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// A description of the architecture, stored in checkpoints and compared on load.
    fn architecture(&self) -> String {
        let shapes: Vec<String> = self.params().iter().map(|p| format!("{}{:?}", p.name, p.var.shape())).collect();
        shapes.join(";")
    }

    fn num_params(&self) -> usize {
        self.params().iter().map(|p| p.var.shape().iter().product::<usize>()).sum()
    }

    /// Moves every parameter to `device`.
    fn to_device(&self, device: &Device) -> Result<()> {
        self.params().iter().try_for_each(|p| p.var.to_device(device))
    }
}

/// Prefixes the names of a child's parameters: `prefix.name`.
pub fn prefixed(prefix: &str, params: Vec<Param>) -> Vec<Param> {
    params.into_iter().map(|p| Param { name: format!("{prefix}.{}", p.name), var: p.var }).collect()
}

impl<M: Module + ?Sized> Module for Box<M> {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        (**self).forward(x)
    }
    fn params(&self) -> Vec<Param> {
        (**self).params()
    }
    fn set_training(&self, on: bool) {
        (**self).set_training(on)
    }
    fn kl(&self) -> Result<Option<Tensor>> {
        (**self).kl()
    }
    fn resample(&self) {
        (**self).resample()
    }
    fn set_map(&self, on: bool) {
        (**self).set_map(on)
    }
    fn architecture(&self) -> String {
        (**self).architecture()
    }
}
