//! sigmagrad: neural networks with error bars.
//!
//! This facade re-exports the public API of the member crates, so one dependency gives you
//! the tensor, the devices and (as they land) the layers.

pub use autodiff::*;
pub use autodiff::{backend, check, layout, rng};

/// Layers, losses, optimizers, data handling, training, checkpoints and uncertainties.
pub use nn;

/// The CPU device (matrixmultiply for matmul, rayon above a size threshold).
pub fn cpu() -> Device {
    backend_cpu::device()
}

// The code blocks of README.md run as doctests (`cargo test --doc`), so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
