//! Optimizers as fused per-parameter updates: one backend kernel per parameter per step, not a
//! chain of recorded tensor ops (which would allocate a graph's worth of temporaries per step).

use crate::module::Param;
use autodiff::{AdamParams, Error, Gradients, Layout, Result, Storage, Tensor};

/// A gradient as a dense buffer of exactly its elements (what the fused kernels expect).
fn dense(g: &Tensor) -> Result<Storage> {
    if g.layout().is_contiguous() && g.layout().offset() == 0 && g.storage().len() == g.numel() {
        return Ok(g.storage().clone());
    }
    g.device().backend().copy(g.storage(), g.layout())
}

fn zeros_like(p: &Param) -> Result<Storage> {
    let t = p.var.tensor();
    t.device().backend().full(0.0, t.numel(), t.dtype())
}

fn as_tensor(s: &Storage, p: &Param) -> Result<Tensor> {
    let t = p.var.tensor();
    Tensor::from_storage(s.clone(), Layout::contiguous(t.shape()), t.device())
}

/// Optimizer state as named tensors (for checkpoints), e.g. `adam.m.layers.0.weight`.
pub type NamedState = Vec<(String, Tensor)>;

pub trait Optimizer: Send {
    /// Applies one update from `grads` to every parameter that received a gradient.
    fn step(&mut self, grads: &Gradients) -> Result<()>;
    fn learning_rate(&self) -> f64;
    fn set_learning_rate(&mut self, lr: f64);
    /// Updates taken so far.
    fn steps(&self) -> u64;
    fn state(&self) -> Result<NamedState>;
    fn load_state(&mut self, state: &NamedState, steps: u64) -> Result<()>;
}

fn load_slot(slots: &mut [Option<Storage>], params: &[Param], prefix: &str, state: &NamedState) -> Result<()> {
    for (slot, p) in slots.iter_mut().zip(params) {
        let key = format!("{prefix}.{}", p.name);
        *slot = match state.iter().find(|(k, _)| *k == key) {
            Some((_, t)) => {
                if t.shape() != p.var.shape().as_slice() {
                    return Err(Error::Shape {
                        op: "Optimizer::load_state",
                        msg: format!("state {key} has shape {:?}, parameter has {:?}", t.shape(), p.var.shape()),
                    });
                }
                let t = t.to_device(p.var.tensor().device())?.to_dtype(p.var.tensor().dtype())?;
                Some(dense(&t)?)
            }
            None => None,
        };
    }
    Ok(())
}

fn save_slot(slots: &[Option<Storage>], params: &[Param], prefix: &str, out: &mut NamedState) -> Result<()> {
    for (slot, p) in slots.iter().zip(params) {
        if let Some(s) = slot {
            out.push((format!("{prefix}.{}", p.name), as_tensor(s, p)?));
        }
    }
    Ok(())
}

/// Stochastic gradient descent with optional momentum and (coupled) L2 weight decay.
pub struct Sgd {
    params: Vec<Param>,
    pub lr: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    velocity: Vec<Option<Storage>>,
    steps: u64,
}

impl Sgd {
    pub fn new(params: Vec<Param>, lr: f64) -> Self {
        let n = params.len();
        Sgd { params, lr, momentum: 0.0, weight_decay: 0.0, velocity: vec![None; n], steps: 0 }
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
            let Some(g) = grads.get_id(p.var.id()) else { continue };
            let g = dense(g)?;
            if self.momentum > 0.0 && vel.is_none() {
                *vel = Some(zeros_like(p)?);
            }
            let backend = p.var.tensor().device().clone();
            p.var.update_storage(|s| {
                backend.backend().sgd_step(s, &g, vel.as_mut(), self.lr, self.momentum, self.weight_decay)
            })?;
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
        save_slot(&self.velocity, &self.params, "sgd.velocity", &mut out)?;
        Ok(out)
    }
    fn load_state(&mut self, state: &NamedState, steps: u64) -> Result<()> {
        load_slot(&mut self.velocity, &self.params, "sgd.velocity", state)?;
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
    m: Vec<Option<Storage>>,
    v: Vec<Option<Storage>>,
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
            m: vec![None; n],
            v: vec![None; n],
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
            let Some(g) = grads.get_id(p.var.id()) else { continue };
            let g = dense(g)?;
            if m.is_none() {
                *m = Some(zeros_like(p)?);
                *v = Some(zeros_like(p)?);
            }
            let (Some(m), Some(v)) = (m.as_mut(), v.as_mut()) else { continue };
            let device = p.var.tensor().device().clone();
            p.var.update_storage(|s| device.backend().adam_step(s, &g, m, v, &hp))?;
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
        save_slot(&self.m, &self.params, "adam.m", &mut out)?;
        save_slot(&self.v, &self.params, "adam.v", &mut out)?;
        Ok(out)
    }
    fn load_state(&mut self, state: &NamedState, steps: u64) -> Result<()> {
        load_slot(&mut self.m, &self.params, "adam.m", state)?;
        load_slot(&mut self.v, &self.params, "adam.v", state)?;
        self.steps = steps;
        Ok(())
    }
}
