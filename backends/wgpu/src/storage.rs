//! GPU buffers behind `autodiff::Storage`. A storage owns one pooled buffer and hands it back
//! to the pool when it drops, so the next tensor of the same size class reuses it.

use crate::context::{err, Bind, Context};
use autodiff::{BackendStorage, DType, Result, Storage};
use std::any::Any;
use std::sync::Arc;

/// An f32 buffer on a wgpu device, `len` elements long (the buffer itself may be larger: it is
/// sized by power-of-two class).
pub struct WgpuStorage {
    /// Always `Some` until `drop` takes it back to the pool.
    buffer: Option<wgpu::Buffer>,
    class: u64,
    len: usize,
    pub(crate) ctx: Arc<Context>,
}

impl WgpuStorage {
    /// A buffer for `len` f32 values with unspecified contents.
    pub(crate) fn alloc(ctx: &Arc<Context>, len: usize, what: &str) -> Result<WgpuStorage> {
        Self::alloc_words(ctx, len, what)
    }

    /// A buffer of `len` 32-bit words (f32 values or u32 indices).
    pub(crate) fn alloc_words(ctx: &Arc<Context>, len: usize, what: &str) -> Result<WgpuStorage> {
        if len > u32::MAX as usize {
            return Err(err(format!("{what}: {len} elements exceed the 2^32 elements a wgpu kernel can index")));
        }
        let (buffer, class) = ctx.alloc(len as u64 * 4, what)?;
        Ok(WgpuStorage { buffer: Some(buffer), class, len, ctx: ctx.clone() })
    }

    pub(crate) fn buffer(&self) -> Result<&wgpu::Buffer> {
        self.buffer.as_ref().ok_or_else(|| err("internal: storage used after its buffer was released"))
    }

    /// This buffer as a kernel binding covering its `len` elements.
    pub(crate) fn bind(&self) -> Result<Bind<'_>> {
        Ok(Bind { buffer: self.buffer()?, bytes: self.len as u64 * 4 })
    }
}

impl std::fmt::Debug for WgpuStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WgpuStorage(f32 x {}, {} byte buffer)", self.len, self.class)
    }
}

impl Drop for WgpuStorage {
    fn drop(&mut self) {
        if let Some(buffer) = self.buffer.take() {
            self.ctx.release(buffer, self.class);
        }
    }
}

impl BackendStorage for WgpuStorage {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn dtype(&self) -> DType {
        DType::F32
    }
    fn len(&self) -> usize {
        self.len
    }
}

/// The wgpu buffer behind a storage handle, or an error if another backend (or another wgpu
/// device) made it.
pub(crate) fn gpu<'a>(s: &'a Storage, ctx: &Arc<Context>) -> Result<&'a WgpuStorage> {
    let g =
        s.as_any().downcast_ref::<WgpuStorage>().ok_or_else(|| err(format!("storage {s:?} is not a wgpu buffer")))?;
    if !Arc::ptr_eq(&g.ctx, ctx) {
        return Err(err("storage belongs to another wgpu device"));
    }
    Ok(g)
}
