//! The module API: forward, named parameters, the mode a model runs in, how it is sampled, the
//! KL term that Bayesian layers add, and the random streams a checkpoint must store.

use crate::spec::ModelSpec;
use autodiff::{Device, Result, Rng, Tensor, Var};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

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

/// How a forward pass treats randomness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// Training: dropout is active and Bayesian layers draw fresh noise for every batch.
    Train,
    /// Evaluation with weight draw number `draw`: a Bayesian layer's weights are a fixed
    /// function of (its seed, `draw`), so draw k is the same network in every batch and every
    /// call. Deterministic layers ignore the number.
    Eval { draw: u64 },
    /// Evaluation with the weight means of Bayesian layers (the maximum of q).
    Map,
}

impl Mode {
    pub fn is_train(self) -> bool {
        self == Mode::Train
    }
}

/// How predictions with uncertainties are drawn from a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sampling {
    /// One deterministic network: every draw is the same.
    Fixed,
    /// A distribution over weights: draw k is [`Mode::Eval`] with `draw: k`.
    WeightDraws,
    /// An ensemble whose forward pass returns all members at once, `[members, batch, out]`.
    Members(usize),
}

/// Something with parameters that maps a batch to a batch.
///
/// Mode switches take `&self` (models keep the mode behind a short lock) so a model can be
/// shared between the training loop and evaluation threads; no lock is held across a forward.
pub trait Module: Send + Sync {
    fn forward(&self, x: &Tensor) -> Result<Tensor>;

    /// Every parameter, in a fixed order, with stable names.
    fn params(&self) -> Vec<Param>;

    /// The mode the next forward pass runs in. Modules without randomness are always in
    /// whatever mode they are asked for, and report `Train`.
    fn mode(&self) -> Mode {
        Mode::Train
    }

    /// Sets the mode; prefer [`with_mode`], which restores the previous mode afterwards.
    fn set_mode(&self, _mode: Mode) {}

    fn sampling(&self) -> Sampling {
        Sampling::Fixed
    }

    /// The KL divergence of the variational posterior from the prior, summed over the
    /// module's weights; `None` for deterministic modules.
    fn kl(&self) -> Result<Option<Tensor>> {
        Ok(None)
    }

    /// The random streams the module draws from (dropout masks, Bayesian noise), whose
    /// positions a checkpoint stores so that a resumed run draws what an uninterrupted one would.
    fn noise_streams(&self) -> Vec<NoiseStream> {
        Vec::new()
    }

    /// The structured description the module was built from, when there is one (every model
    /// that [`ModelSpec::build`] makes). Checkpoints store it so that they rebuild their model.
    fn spec(&self) -> Option<&ModelSpec> {
        None
    }

    /// The parameter names and shapes: what a checkpoint compares before loading into a model.
    fn fingerprint(&self) -> String {
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
    fn mode(&self) -> Mode {
        (**self).mode()
    }
    fn set_mode(&self, mode: Mode) {
        (**self).set_mode(mode)
    }
    fn sampling(&self) -> Sampling {
        (**self).sampling()
    }
    fn kl(&self) -> Result<Option<Tensor>> {
        (**self).kl()
    }
    fn noise_streams(&self) -> Vec<NoiseStream> {
        (**self).noise_streams()
    }
    fn spec(&self) -> Option<&ModelSpec> {
        (**self).spec()
    }
    fn fingerprint(&self) -> String {
        (**self).fingerprint()
    }
}

/// Runs with `model` in `mode` until the guard drops, then restores the mode it had: a helper
/// that evaluates can never leave a model in the wrong mode, even on an early return.
pub struct ModeGuard<'a, M: Module + ?Sized> {
    model: &'a M,
    previous: Mode,
}

impl<M: Module + ?Sized> Drop for ModeGuard<'_, M> {
    fn drop(&mut self) {
        self.model.set_mode(self.previous);
    }
}

/// Switches `model` to `mode` for the lifetime of the returned guard.
pub fn with_mode<M: Module + ?Sized>(model: &M, mode: Mode) -> ModeGuard<'_, M> {
    let previous = model.mode();
    model.set_mode(mode);
    ModeGuard { model, previous }
}

/// A named random stream shared by a layer and the checkpoint code. A forward pass reserves the
/// draws it needs under a short lock ([`NoiseStream::take`]) and draws them without it.
#[derive(Clone, Debug)]
pub struct NoiseStream {
    name: String,
    rng: Arc<Mutex<Rng>>,
}

/// The position of a [`NoiseStream`], as a checkpoint stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    pub name: String,
    pub seed: u64,
    pub counter: u64,
}

impl NoiseStream {
    pub fn new(name: impl Into<String>, rng: Rng) -> Self {
        NoiseStream { name: name.into(), rng: Arc::new(Mutex::new(rng)) }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The same generator under another name: a model made of several networks (a flow's
    /// coupling blocks) prefixes its children's streams so that a checkpoint tells them apart.
    pub fn renamed(&self, name: impl Into<String>) -> NoiseStream {
        NoiseStream { name: name.into(), rng: Arc::clone(&self.rng) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rng> {
        self.rng.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A generator positioned at the next `n` draws, which this stream then skips: the caller
    /// draws exactly `n` values from it (in any number of calls).
    pub fn take(&self, n: usize) -> Rng {
        let mut rng = self.lock();
        let here = rng.clone();
        let next = rng.counter().wrapping_add(n as u64);
        rng.set_counter(next);
        here
    }

    /// The seed of the stream (evaluation draws are derived from it without advancing it).
    pub fn seed(&self) -> u64 {
        self.lock().seed()
    }

    pub fn state(&self) -> StreamState {
        let rng = self.lock();
        StreamState { name: self.name.clone(), seed: rng.seed(), counter: rng.counter() }
    }

    pub fn set_state(&self, state: &StreamState) {
        let mut rng = Rng::new(state.seed);
        rng.set_counter(state.counter);
        *self.lock() = rng;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_reserves_exactly_the_draws_it_hands_out() {
        let s = NoiseStream::new("n", Rng::new(5));
        let a = s.take(10);
        let b = s.take(3);
        assert_eq!((a.counter(), b.counter(), s.state().counter), (0, 10, 13));
        s.set_state(&StreamState { name: "n".into(), seed: 9, counter: 4 });
        assert_eq!((s.seed(), s.take(1).counter()), (9, 4));
    }
}
