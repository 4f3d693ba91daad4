//! CPU buffers: a plain `Vec` of f32 or f64.

use crate::err;
use crate::pool::{Pool, POOL_F32, POOL_F64};
use autodiff::{BackendStorage, DType, HostData, Result, Storage};
use std::any::Any;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub enum CpuStorage {
    F32(Vec<f32>),
    F64(Vec<f64>),
}

impl BackendStorage for CpuStorage {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn dtype(&self) -> DType {
        match self {
            CpuStorage::F32(_) => DType::F32,
            CpuStorage::F64(_) => DType::F64,
        }
    }
    fn len(&self) -> usize {
        match self {
            CpuStorage::F32(v) => v.len(),
            CpuStorage::F64(v) => v.len(),
        }
    }
}

impl Drop for CpuStorage {
    fn drop(&mut self) {
        match self {
            CpuStorage::F32(v) => POOL_F32.put(std::mem::take(v)),
            CpuStorage::F64(v) => POOL_F64.put(std::mem::take(v)),
        }
    }
}

impl CpuStorage {
    pub fn from_host(data: &HostData) -> Self {
        match data {
            HostData::F32(v) => CpuStorage::F32(v.clone()),
            HostData::F64(v) => CpuStorage::F64(v.clone()),
        }
    }
}

/// The float types the kernels are written for.
pub(crate) trait Float:
    num_traits::Float + crate::simd::Math + Default + Send + Sync + std::fmt::Debug + std::iter::Sum + 'static
{
    fn slice(s: &CpuStorage) -> Option<&[Self]>;
    fn slice_mut(s: &mut CpuStorage) -> Option<&mut Vec<Self>>;
    fn wrap(v: Vec<Self>) -> CpuStorage;
    fn of(x: f64) -> Self;
    fn pool() -> &'static Pool<Self>;
}

/// An output buffer of `len` elements with unspecified (but initialised) values: reused when
/// the pool has one of that length.
pub(crate) fn alloc<T: Float>(len: usize) -> Vec<T> {
    T::pool().take(len)
}

/// An output buffer filled with `value`.
pub(crate) fn alloc_filled<T: Float>(len: usize, value: T) -> Vec<T> {
    let mut v = alloc(len);
    v.fill(value);
    v
}

macro_rules! float {
    ($t:ty, $variant:ident, $pool:ident) => {
        impl Float for $t {
            fn slice(s: &CpuStorage) -> Option<&[Self]> {
                match s {
                    CpuStorage::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn slice_mut(s: &mut CpuStorage) -> Option<&mut Vec<Self>> {
                match s {
                    CpuStorage::$variant(v) => Some(v),
                    _ => None,
                }
            }
            fn wrap(v: Vec<Self>) -> CpuStorage {
                CpuStorage::$variant(v)
            }
            fn of(x: f64) -> Self {
                x as $t
            }
            fn pool() -> &'static Pool<Self> {
                &$pool
            }
        }
    };
}
float!(f32, F32, POOL_F32);
float!(f64, F64, POOL_F64);

/// The CPU buffer behind a storage handle, or an error if another backend made it.
pub(crate) fn cpu(s: &Storage) -> Result<&CpuStorage> {
    s.as_any().downcast_ref::<CpuStorage>().ok_or_else(|| err(format!("storage {s:?} is not a CPU buffer")))
}

pub(crate) fn slice<T: Float>(s: &Storage) -> Result<&[T]> {
    T::slice(cpu(s)?).ok_or_else(|| err("storage dtype differs from the kernel's"))
}

/// Mutable access for in-place optimizer updates: in place when the buffer is not shared,
/// after a copy when it is.
pub(crate) fn slice_mut<T: Float>(s: &mut Storage) -> Result<&mut Vec<T>> {
    if Arc::get_mut(s).is_none() {
        let copy = cpu(s)?.clone();
        *s = Arc::new(copy);
    }
    let unique = Arc::get_mut(s).ok_or_else(|| err("buffer still shared after copy"))?;
    let cpu = unique.as_any_mut().downcast_mut::<CpuStorage>().ok_or_else(|| err("not a CPU buffer"))?;
    T::slice_mut(cpu).ok_or_else(|| err("storage dtype differs from the kernel's"))
}

pub(crate) fn wrap<T: Float>(v: Vec<T>) -> Storage {
    Arc::new(T::wrap(v))
}
