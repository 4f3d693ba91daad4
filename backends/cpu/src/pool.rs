//! Buffer reuse. A training step allocates the same shapes every time; returning each freed
//! buffer to a pool keyed by its exact length means the next step's op finds one waiting,
//! instead of paying the allocator, the page faults and the zeroing of fresh pages (a fifth of
//! an MLP step before the pool existed; benches/README.md).
//!
//! Buffers come back initialised with stale values: every kernel writes all of its output, and
//! kernels that need zeros fill them explicitly.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Small buffers are cheap to allocate; pooling them would only add lock traffic.
const MIN_POOLED: usize = 4096;
/// Free buffers kept per length: enough for one step's temporaries of a shape.
const MAX_PER_LENGTH: usize = 32;
/// Bytes the pool may hold in all, so a job that walks through many sizes (a sweep over batch
/// sizes) does not keep every one of them alive.
const MAX_POOLED_BYTES: usize = 1 << 30;

pub(crate) struct Pool<T> {
    free: OnceLock<Mutex<Free<T>>>,
}

struct Free<T> {
    by_len: HashMap<usize, Vec<Vec<T>>>,
    elements: usize,
}

impl<T: Copy + Default> Pool<T> {
    pub(crate) const fn new() -> Self {
        Pool { free: OnceLock::new() }
    }

    fn free(&self) -> std::sync::MutexGuard<'_, Free<T>> {
        // A poisoned lock only means another thread panicked mid-push; the lists stay valid.
        self.free
            .get_or_init(|| Mutex::new(Free { by_len: HashMap::new(), elements: 0 }))
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// A buffer of exactly `len` initialised elements with unspecified values.
    pub(crate) fn take(&self, len: usize) -> Vec<T> {
        if len >= MIN_POOLED {
            let mut free = self.free();
            if let Some(v) = free.by_len.get_mut(&len).and_then(|list| list.pop()) {
                free.elements -= len;
                return v;
            }
        }
        vec![T::default(); len]
    }

    pub(crate) fn put(&self, v: Vec<T>) {
        if v.len() >= MIN_POOLED && v.len() == v.capacity() {
            let mut free = self.free();
            let len = v.len();
            if (free.elements + len) * std::mem::size_of::<T>() > MAX_POOLED_BYTES {
                return;
            }
            let list = free.by_len.entry(len).or_default();
            if list.len() < MAX_PER_LENGTH {
                list.push(v);
                free.elements += len;
            }
        }
    }

    /// Frees every pooled buffer (after a large job, to hand the memory back).
    pub(crate) fn clear(&self) {
        let mut free = self.free();
        free.by_len.clear();
        free.elements = 0;
    }
}

pub(crate) static POOL_F32: Pool<f32> = Pool::new();
pub(crate) static POOL_F64: Pool<f64> = Pool::new();

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_freed_buffer_of_the_same_length_is_handed_out_again() {
        let pool = Pool::<f32>::new();
        let v = pool.take(MIN_POOLED);
        let ptr = v.as_ptr();
        pool.put(v);
        assert_eq!(pool.take(MIN_POOLED + 1).len(), MIN_POOLED + 1);
        let again = pool.take(MIN_POOLED);
        assert_eq!(again.as_ptr(), ptr);
    }

    #[test]
    fn small_buffers_and_overflow_are_not_kept() {
        let pool = Pool::<f64>::new();
        pool.put(vec![0.0; MIN_POOLED - 1]);
        assert_eq!(pool.free().elements, 0);
        let big = MAX_POOLED_BYTES / std::mem::size_of::<f64>() / 2 + 1;
        pool.put(vec![0.0; big]);
        pool.put(vec![0.0; big]);
        assert_eq!(pool.free().elements, big, "the second buffer would pass the byte cap");
        pool.clear();
        assert_eq!(pool.free().elements, 0);
    }
}
