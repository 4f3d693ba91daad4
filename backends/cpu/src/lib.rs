//! sigmagrad's CPU backend: storage and kernels for `autodiff::Backend`, nothing else.
//!
//! - matmul goes through matrixmultiply's sgemm/dgemm with explicit strides, so transposed and
//!   broadcast operands cost no copy;
//! - element-wise work runs on the calling thread below [`PAR_THRESHOLD`] elements and on rayon
//!   above it: small ops are where other frameworks lose to thread overhead.

mod kernels;
mod pool;
mod storage;
mod strided;

pub use storage::CpuStorage;

use autodiff::Device;
use std::sync::{Arc, OnceLock};

/// Element count above which element-wise kernels split work over rayon's pool.
/// Below it a thread hand-off costs more than the arithmetic (see benches/README.md).
pub const PAR_THRESHOLD: usize = 1 << 15;

#[derive(Debug, Default)]
pub struct CpuBackend;

/// The process-wide CPU device.
pub fn device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    DEVICE.get_or_init(|| Device::new(Arc::new(CpuBackend))).clone()
}

/// Frees the buffers the CPU backend keeps for reuse (they are otherwise kept for the next
/// op of the same size; call this after a large job to hand the memory back).
pub fn release_pooled_buffers() {
    pool::POOL_F32.clear();
    pool::POOL_F64.clear();
}

pub(crate) fn err(msg: impl Into<String>) -> autodiff::Error {
    autodiff::Error::Backend(msg.into())
}
