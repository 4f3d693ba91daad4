//! Dropout: active in train mode only, seeded, inverted scaling (survivors are divided by
//! 1 - p so evaluation needs no rescaling).

use crate::module::{Module, Param};
use autodiff::{Error, Result, Rng, Tensor};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

pub struct Dropout {
    p: f64,
    rng: Mutex<Rng>,
    training: AtomicBool,
}

impl Dropout {
    pub fn new(p: f64, seed: u64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::Invalid { op: "Dropout", msg: format!("drop probability {p} is not in [0, 1)") });
        }
        Ok(Dropout { p, rng: Mutex::new(Rng::new(seed)), training: AtomicBool::new(true) })
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if !self.training.load(Ordering::Relaxed) || self.p == 0.0 {
            return Ok(x.clone());
        }
        let u = {
            let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
            rng.uniform(0.0, 1.0, x.shape(), x.dtype(), x.device())?
        };
        let keep = u.ge_scalar(self.p)?.mul_scalar(1.0 / (1.0 - self.p))?;
        x.mul(&keep)
    }

    fn params(&self) -> Vec<Param> {
        Vec::new()
    }

    fn set_training(&self, on: bool) {
        self.training.store(on, Ordering::Relaxed);
    }
}
