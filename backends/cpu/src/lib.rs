//! sigmagrad's CPU backend: storage and kernels for `autodiff::Backend`, nothing else.
//!
//! - matmul goes through matrixmultiply's sgemm/dgemm with explicit strides, so transposed and
//!   broadcast operands cost no copy;
//! - element-wise work runs on the calling thread below [`PAR_THRESHOLD`] elements and on rayon
//!   above it: small ops are where other frameworks lose to thread overhead;
//! - large matmuls split over rayon too, so there is one thread pool, and the main thread is
//!   one of its workers ([`enlist_main_thread`]);
//! - element-wise loops and the transcendental functions in them run at the vector width of
//!   the CPU found at run time ([`simd`]).

mod dense;
mod kernels;
mod matmul;
mod pool;
pub mod simd;
mod storage;
mod strided;

pub use storage::CpuStorage;

use autodiff::Device;
use std::sync::{Arc, OnceLock};

/// Element count above which element-wise kernels split work over rayon's pool.
/// Below it a thread hand-off costs more than the arithmetic (see benches/README.md).
pub const PAR_THRESHOLD: usize = 1 << 15;

/// Elements per parallel piece of an element-wise kernel over `len` elements: about four
/// pieces per thread, so that the work balances when a core is busy elsewhere, but no piece
/// above `PAR_THRESHOLD / 4` (the size that fills two cores) and none below 2048 elements
/// (where the hand-off would cost more than the work). With a fixed piece of 8192, a layer
/// of 1024 x 64 made 8 pieces: half of a 16-core machine stayed idle.
pub(crate) fn par_piece(len: usize) -> usize {
    (len / (4 * rayon::current_num_threads())).clamp(2048, PAR_THRESHOLD / 4)
}

#[derive(Debug, Default)]
pub struct CpuBackend;

/// The process-wide CPU device. The first call from the main thread enlists it in rayon's pool
/// ([`enlist_main_thread`]).
pub fn device() -> Device {
    static DEVICE: OnceLock<Device> = OnceLock::new();
    enlist_main_thread();
    DEVICE.get_or_init(|| Device::new(Arc::new(CpuBackend))).clone()
}

/// Makes the main thread one of rayon's workers, if called from it before anything else built
/// rayon's global pool; returns whether it did.
///
/// Why: a training loop runs on the main thread and hands each large op to the pool. Outside
/// the pool, the main thread sleeps while the op runs and then competes for the cores with the
/// workers, which spin on `sched_yield` before they sleep: three threads on two cores. As a
/// worker it does its share of each op instead, and one worker fewer spins. Alternating runs on
/// 2 cores: MLP step 563-629 -> 701-765 steps/s, BNN 138-155 -> 189-204 (benches/README.md).
///
/// The cost: jobs that other threads inject into the pool run on the remaining workers only,
/// as the main thread takes work only while it is inside a rayon call itself.
pub fn enlist_main_thread() -> bool {
    static ONCE: OnceLock<bool> = OnceLock::new();
    if std::thread::current().name() != Some("main") {
        return false;
    }
    // build_global fails when the pool exists already (the user configured it, or rayon was
    // used first): then the pool stays as it is.
    *ONCE.get_or_init(|| rayon::ThreadPoolBuilder::new().use_current_thread().build_global().is_ok())
}

/// Frees the buffers the CPU backend keeps for reuse (they are otherwise kept for the next
/// op of the same size; call this after a large job to hand the memory back).
pub fn release_pooled_buffers() {
    pool::POOL_F32.clear();
    pool::POOL_F64.clear();
}

pub(crate) use autodiff::Result;

pub(crate) fn err(msg: impl Into<String>) -> autodiff::Error {
    autodiff::Error::Backend(msg.into())
}
