//! sigmagrad's wgpu backend: every kernel of `autodiff::Backend` as a WGSL compute shader, so
//! the same model code that runs on the CPU runs on Vulkan, Metal, DX12 or GL.
//!
//! - f32 only: WGSL has no portable f64, so `supports(F64)` is false and autodiff refuses f64
//!   tensors on this device with a clear error;
//! - dispatches are recorded into one command encoder and submitted every
//!   [`DeviceOptions::dispatches_per_submit`] dispatches or when a value is read back, because on
//!   wgpu a submission costs far more than the small kernels of an MLP;
//! - buffers are pooled by power-of-two size class and return to the pool when their storage
//!   drops, so a training step allocates nothing after the first;
//! - only `to_host` waits for the GPU.
//!
//! ```no_run
//! let dev = backend_wgpu::device()?; // SIGMAGRAD_WGPU_BACKEND / SIGMAGRAD_WGPU_ADAPTER pin it
//! let x = autodiff::Tensor::from_vec(vec![1.0f32, 2.0], &[2], &dev)?;
//! assert_eq!(x.square()?.to_vec::<f32>()?, vec![1.0, 4.0]);
//! # Ok::<(), autodiff::Error>(())
//! ```

mod context;
mod kernels;
mod shaders;
mod storage;

pub use storage::WgpuStorage;

use autodiff::{Device, Error, Result};
use context::Context;
use std::sync::{Arc, OnceLock};

/// A graphics API wgpu can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GpuApi {
    Vulkan,
    Gl,
    Metal,
    Dx12,
}

impl GpuApi {
    /// Parses `vulkan`, `gl` (or `gles`, `opengl`), `metal` or `dx12`, ignoring case.
    pub fn parse(name: &str) -> Result<GpuApi> {
        match name.trim().to_ascii_lowercase().as_str() {
            "vulkan" | "vk" => Ok(GpuApi::Vulkan),
            "gl" | "gles" | "opengl" => Ok(GpuApi::Gl),
            "metal" | "mtl" => Ok(GpuApi::Metal),
            "dx12" | "d3d12" => Ok(GpuApi::Dx12),
            other => {
                Err(Error::Backend(format!("unknown wgpu backend {other:?}: expected one of vulkan, gl, metal, dx12")))
            }
        }
    }

    fn flag(self) -> wgpu::Backends {
        match self {
            GpuApi::Vulkan => wgpu::Backends::VULKAN,
            GpuApi::Gl => wgpu::Backends::GL,
            GpuApi::Metal => wgpu::Backends::METAL,
            GpuApi::Dx12 => wgpu::Backends::DX12,
        }
    }
}

/// Which kernel variants a device uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tuning {
    /// `Cpu` on software adapters (lavapipe and the like), `Gpu` elsewhere.
    #[default]
    Auto,
    /// Matmul tiles staged through workgroup memory, a workgroup per long reduction, and
    /// thousands of workgroups per dispatch.
    Gpu,
    /// Variants for adapters that run shaders on the CPU, where workgroup memory is plain
    /// memory behind barriers that suspend every thread and each workgroup is a task with a
    /// fixed cost: matmul reads straight from the buffers, reductions take a thread per
    /// output, and a dispatch has a few dozen workgroups.
    Cpu,
}

/// How to pick and drive the adapter. `Default` picks the best adapter of the first-tier APIs
/// (Vulkan, Metal, DX12), and falls back to GL only when none of those has one.
#[derive(Debug, Clone, Default)]
pub struct DeviceOptions {
    /// APIs to consider; empty means "first tier, then GL".
    pub apis: Vec<GpuApi>,
    /// Only adapters whose name contains this (case-insensitive).
    pub adapter: Option<String>,
    /// Dispatches recorded before a submission; 0 means the default (64).
    pub dispatches_per_submit: usize,
    /// Bytes of idle buffers the pool keeps before it frees them; None means 1 GiB.
    pub pool_limit_bytes: Option<u64>,
    /// Kernel variants; `Auto` picks by adapter type.
    pub tuning: Tuning,
    /// Requests a smaller `max_storage_buffer_binding_size` than the adapter offers (it never
    /// requests more), to check that a model fits a smaller device such as a browser's 128 MiB.
    pub max_storage_binding_bytes: Option<u64>,
}

impl DeviceOptions {
    /// Reads `SIGMAGRAD_WGPU_BACKEND` (comma-separated APIs) and `SIGMAGRAD_WGPU_ADAPTER`
    /// (substring of the adapter name).
    pub fn from_env() -> Result<DeviceOptions> {
        let mut opts = DeviceOptions::default();
        if let Ok(list) = std::env::var("SIGMAGRAD_WGPU_BACKEND") {
            for name in list.split(',').filter(|s| !s.trim().is_empty()) {
                opts.apis.push(GpuApi::parse(name)?);
            }
        }
        if let Ok(name) = std::env::var("SIGMAGRAD_WGPU_ADAPTER") {
            if !name.trim().is_empty() {
                opts.adapter = Some(name);
            }
        }
        Ok(opts)
    }

    pub fn api(mut self, api: GpuApi) -> Self {
        self.apis.push(api);
        self
    }

    pub fn adapter(mut self, substring: impl Into<String>) -> Self {
        self.adapter = Some(substring.into());
        self
    }

    pub fn tuning(mut self, tuning: Tuning) -> Self {
        self.tuning = tuning;
        self
    }

    pub fn dispatches_per_submit(mut self, n: usize) -> Self {
        self.dispatches_per_submit = n;
        self
    }
}

/// The process-wide wgpu device, chosen once from the environment (see
/// [`DeviceOptions::from_env`]). Every call hands out the same backend instance, so tensors
/// made from different calls can meet in one op. Fails, without panicking, when the machine has
/// no adapter.
pub fn device() -> Result<Device> {
    static DEVICE: OnceLock<Result<Device>> = OnceLock::new();
    DEVICE.get_or_init(|| device_with(&DeviceOptions::from_env()?)).clone()
}

/// A new wgpu device chosen by `options`. Each call makes a separate backend (tensors of two
/// such devices cannot be mixed): keep the `Device` and clone it.
pub fn device_with(options: &DeviceOptions) -> Result<Device> {
    let ctx = Context::new(options)?;
    Ok(Device::new(Arc::new(kernels::WgpuBackend::new(Arc::new(ctx)))))
}

/// Names of the adapters wgpu can see, as "name (api, type)": for error messages and for
/// choosing a value of `SIGMAGRAD_WGPU_ADAPTER`.
pub fn adapters() -> Vec<String> {
    context::describe_adapters(wgpu::Backends::all())
}

/// Whether `device` is a wgpu device on a CPU (software) adapter such as lavapipe, where
/// benchmarks should stay small.
pub fn is_software(device: &Device) -> bool {
    let name = device.name();
    name.starts_with("wgpu:") && name.ends_with(", cpu]")
}
