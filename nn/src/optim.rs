//! Optimizers as fused per-parameter updates ([`Var::adam_step`], [`Var::sgd_step`]: one kernel
//! per parameter per step, not a chain of recorded tensor ops). They use only the public
//! autodiff API, so a new optimizer is written here alone.

use crate::module::Param;
use autodiff::{AdamParams, Error, Gradients, Result, StateBuffer, Tensor};

/// Optimizer state as named tensors (for checkpoints), e.g. `adam.m.layers.0.weight`.
pub type NamedState = Vec<(String, Tensor)>;

/// One state tensor an optimizer may hold, for checking a checkpoint before loading it.
#[derive(Debug, Clone, PartialEq)]
pub struct StateSpec {
    pub name: String,
    pub shape: Vec<usize>,
    /// The values must be >= 0 (Adam's second moment): a negative one would make the next
    /// update NaN.
    pub nonnegative: bool,
}

pub trait Optimizer: Send {
    /// Applies one update from `grads` to every parameter that received a gradient.
    fn step(&mut self, grads: &Gradients) -> Result<()>;
    fn learning_rate(&self) -> f64;
    fn set_learning_rate(&mut self, lr: f64);
    /// Updates taken so far.
    fn steps(&self) -> u64;
    /// The state held now (empty before the first step).
    fn state(&self) -> Result<NamedState>;
    /// Every state tensor this optimizer holds once it has stepped.
    fn state_spec(&self) -> Vec<StateSpec>;
    /// Replaces the state: `state` must hold every tensor of [`Optimizer::state_spec`] (or none,
    /// for an optimizer that had not stepped), with the right shapes; checked before anything
    /// changes.
    fn load_state(&mut self, state: &NamedState, steps: u64) -> Result<()>;
}

fn specs(params: &[Param], prefixes: &[(&str, bool)]) -> Vec<StateSpec> {
    prefixes
        .iter()
        .flat_map(|(prefix, nonnegative)| {
            params.iter().map(move |p| StateSpec {
                name: format!("{prefix}.{}", p.name),
                shape: p.var.shape(),
                nonnegative: *nonnegative,
            })
        })
        .collect()
}

fn save_slots(slots: &[StateBuffer], params: &[Param], prefix: &str, out: &mut NamedState) -> Result<()> {
    for (slot, p) in slots.iter().zip(params) {
        if let Some(t) = slot.tensor()? {
            out.push((format!("{prefix}.{}", p.name), t));
        }
    }
    Ok(())
}

/// Loads named state into `groups` (one slot vector per prefix), all or nothing: every name is
/// looked up and checked first, so a bad state leaves the optimizer as it was.
fn load_slots(groups: &mut [(&str, &mut Vec<StateBuffer>)], params: &[Param], state: &NamedState) -> Result<()> {
    let bad = |msg: String| Err(Error::Invalid { op: "Optimizer::load_state", msg });
    let known: Vec<String> =
        groups.iter().flat_map(|(prefix, _)| params.iter().map(move |p| format!("{prefix}.{}", p.name))).collect();
    if let Some((name, _)) = state.iter().find(|(n, _)| !known.contains(n)) {
        return bad(format!("state {name} belongs to no parameter of this optimizer"));
    }
    if !state.is_empty() && state.len() != known.len() {
        let missing: Vec<&String> = known.iter().filter(|k| !state.iter().any(|(n, _)| n == *k)).collect();
        return bad(format!(
            "the state is incomplete: {} missing",
            missing.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    for (name, t) in state {
        let p = params.iter().find(|p| groups.iter().any(|(prefix, _)| *name == format!("{prefix}.{}", p.name)));
        if let Some(p) = p {
            if t.shape() != p.var.shape().as_slice() {
                return bad(format!("state {name} has shape {:?}, the parameter has {:?}", t.shape(), p.var.shape()));
            }
        }
    }
    let mut fresh: Vec<Vec<StateBuffer>> = Vec::new();
    for (prefix, _) in groups.iter() {
        let mut slots = vec![StateBuffer::default(); params.len()];
        for (slot, p) in slots.iter_mut().zip(params) {
            let key = format!("{prefix}.{}", p.name);
            if let Some((_, t)) = state.iter().find(|(n, _)| *n == key) {
                slot.set(&p.var, t)?;
            }
        }
        fresh.push(slots);
    }
    for ((_, slots), new) in groups.iter_mut().zip(fresh) {
        **slots = new;
    }
    Ok(())
}

/// Stochastic gradient descent with optional momentum and (coupled) L2 weight decay.
pub struct Sgd {
    params: Vec<Param>,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    velocity: Vec<StateBuffer>,
    steps: u64,
}

impl Sgd {
    pub fn new(params: Vec<Param>, lr: f64) -> Self {
        let n = params.len();
        Sgd { params, lr, momentum: 0.0, weight_decay: 0.0, velocity: vec![StateBuffer::default(); n], steps: 0 }
    }
    pub fn momentum(mut self, m: f64) -> Self {
        self.momentum = m;
        self
    }
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, grads: &Gradients) -> Result<()> {
        self.steps += 1;
        for (p, vel) in self.params.iter().zip(self.velocity.iter_mut()) {
            let Some(g) = grads.get_id(p.var.id()) else {
                if self.momentum > 0.0 {
                    vel.ensure_for(&p.var)?;
                }
                continue;
            };
            p.var.sgd_step(g, vel, self.lr, self.momentum, self.weight_decay)?;
        }
        Ok(())
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn steps(&self) -> u64 {
        self.steps
    }
    fn state(&self) -> Result<NamedState> {
        let mut out = Vec::new();
        save_slots(&self.velocity, &self.params, "sgd.velocity", &mut out)?;
        Ok(out)
    }
    fn state_spec(&self) -> Vec<StateSpec> {
        if self.momentum > 0.0 {
            specs(&self.params, &[("sgd.velocity", false)])
        } else {
            Vec::new()
        }
    }
    fn load_state(&mut self, state: &NamedState, steps: u64) -> Result<()> {
        load_slots(&mut [("sgd.velocity", &mut self.velocity)], &self.params, state)?;
        self.steps = steps;
        Ok(())
    }
}

/// Adam (Kingma and Ba) with bias correction; with `weight_decay > 0` it is AdamW
/// (Loshchilov and Hutter): the decay is decoupled from the gradient, p <- p (1 - lr wd).
pub struct Adam {
    params: Vec<Param>,
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    m: Vec<StateBuffer>,
    v: Vec<StateBuffer>,
    steps: u64,
}

impl Adam {
    pub fn new(params: Vec<Param>, lr: f64) -> Self {
        let n = params.len();
        Adam {
            params,
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            m: vec![StateBuffer::default(); n],
            v: vec![StateBuffer::default(); n],
            steps: 0,
        }
    }
    /// AdamW with PyTorch's default decay of 0.01.
    pub fn adamw(params: Vec<Param>, lr: f64) -> Self {
        Adam::new(params, lr).weight_decay(0.01)
    }
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }
    pub fn weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

impl Optimizer for Adam {
    fn step(&mut self, grads: &Gradients) -> Result<()> {
        self.steps += 1;
        let hp = AdamParams {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
            weight_decay: self.weight_decay,
            step: self.steps,
        };
        for ((p, m), v) in self.params.iter().zip(self.m.iter_mut()).zip(self.v.iter_mut()) {
            let Some(g) = grads.get_id(p.var.id()) else {
                // A parameter without a gradient this step still has (zero) moments, so the
                // state is complete and a checkpoint can insist on every tensor of it.
                m.ensure_for(&p.var)?;
                v.ensure_for(&p.var)?;
                continue;
            };
            p.var.adam_step(g, m, v, &hp)?;
        }
        Ok(())
    }
    fn learning_rate(&self) -> f64 {
        self.lr
    }
    fn set_learning_rate(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn steps(&self) -> u64 {
        self.steps
    }
    fn state(&self) -> Result<NamedState> {
        let mut out = Vec::new();
        save_slots(&self.m, &self.params, "adam.m", &mut out)?;
        save_slots(&self.v, &self.params, "adam.v", &mut out)?;
        Ok(out)
    }
    fn state_spec(&self) -> Vec<StateSpec> {
        specs(&self.params, &[("adam.m", false), ("adam.v", true)])
    }
    fn load_state(&mut self, state: &NamedState, steps: u64) -> Result<()> {
        load_slots(&mut [("adam.m", &mut self.m), ("adam.v", &mut self.v)], &self.params, state)?;
        self.steps = steps;
        Ok(())
    }
}
