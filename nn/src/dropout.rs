//! Dropout: active in train mode only, seeded, inverted scaling (survivors are divided by
//! 1 - p so evaluation needs no rescaling). Its random stream is a [`NoiseStream`], so a
//! checkpoint stores its position and a resumed run drops the units an uninterrupted one would.

use crate::module::{Mode, Module, NoiseStream, Param};
use autodiff::{Error, Result, Rng, Tensor};
use std::sync::Mutex;

pub struct Dropout {
    p: f64,
    stream: NoiseStream,
    mode: Mutex<Mode>,
}

impl Dropout {
    pub fn new(p: f64, seed: u64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::Invalid { op: "Dropout", msg: format!("drop probability {p} is not in [0, 1)") });
        }
        Ok(Dropout { p, stream: NoiseStream::new("dropout", Rng::new(seed)), mode: Mutex::new(Mode::Train) })
    }

    pub fn stream(&self) -> &NoiseStream {
        &self.stream
    }

    /// Drops units of `x` whatever the mode (the caller decides that this is a training pass).
    pub fn apply(&self, x: &Tensor) -> Result<Tensor> {
        if self.p == 0.0 {
            return Ok(x.clone());
        }
        let u = self.stream.take(x.numel()).uniform(0.0, 1.0, x.shape(), x.dtype(), x.device())?;
        let keep = u.ge_scalar(self.p)?.mul_scalar(1.0 / (1.0 - self.p))?;
        x.mul(&keep)
    }
}

impl Module for Dropout {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.mode().is_train() {
            self.apply(x)
        } else {
            Ok(x.clone())
        }
    }

    fn params(&self) -> Vec<Param> {
        Vec::new()
    }

    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap_or_else(|e| e.into_inner()) = mode;
    }

    fn noise_streams(&self) -> Vec<NoiseStream> {
        vec![self.stream.clone()]
    }
}
