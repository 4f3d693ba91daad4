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

/// The GPU device through wgpu (the default-on `wgpu` feature) (Vulkan, Metal, DX12 or GL), f32 only. Picks the best adapter
/// once per process, or the one `SIGMAGRAD_WGPU_BACKEND` / `SIGMAGRAD_WGPU_ADAPTER` pin; an
/// `Error::Backend` saying how to get one where the machine has none. See `backend_wgpu` for
/// choosing a device in code.
#[cfg(feature = "wgpu")]
pub fn wgpu() -> Result<Device> {
    backend_wgpu::device()
}

/// Without the `wgpu` feature there is no GPU device: this says how to get one.
#[cfg(not(feature = "wgpu"))]
pub fn wgpu() -> Result<Device> {
    Err(Error::Backend(
        "this build of sigmagrad has no GPU backend: build with the `wgpu` feature (on by default)".into(),
    ))
}

/// A device by name: `cpu` or `wgpu`, as command lines take it.
pub fn device(name: &str) -> Result<Device> {
    match name.trim().to_ascii_lowercase().as_str() {
        "cpu" => Ok(cpu()),
        "wgpu" | "gpu" => wgpu(),
        other => Err(Error::Backend(format!("unknown device {other:?}: expected cpu or wgpu"))),
    }
}

/// The wgpu device for a test that compares devices, or None (a skip, said and counted through
/// [`autodiff::skip`]) where this machine has no adapter. With SIGMAGRAD_REQUIRE_WGPU=1, as CI
/// sets it (lavapipe), a missing adapter panics instead, so a GPU test cannot skip silently there.
pub fn wgpu_or_skip() -> Option<Device> {
    match wgpu() {
        Ok(d) => Some(d),
        Err(e) if std::env::var("SIGMAGRAD_REQUIRE_WGPU").is_ok_and(|v| v == "1") => {
            panic!("SIGMAGRAD_REQUIRE_WGPU=1 but no wgpu device: {e}")
        }
        Err(e) => {
            autodiff::skip(&format!("no wgpu adapter ({e})"));
            None
        }
    }
}

// The code blocks of README.md run as doctests (`cargo test --doc`), so the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
