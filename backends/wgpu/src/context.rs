//! The wgpu device and the machinery around it: adapter choice, the buffer pool, the pipeline
//! cache and the batch of recorded dispatches.
//!
//! Ordering argument, which the pool relies on: every write into a pooled buffer (kernel
//! outputs, uploads, in-place optimizer updates) is recorded in the one shared command encoder,
//! and the encoder's commands run in recording order. So a buffer freed by one tensor and handed
//! to the next is never written before the commands that read its old contents. The only
//! `queue.write_buffer` goes to the parameter arena, which no pooled tensor shares.

use crate::{DeviceOptions, Tuning};
use autodiff::{Error, Result};
use std::collections::{HashMap, VecDeque};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};

/// Threads per workgroup of the element-wise kernels; WebGPU guarantees 256.
pub(crate) const WORKGROUP: u32 = 256;
/// Bytes of kernel parameters one submission can carry.
const ARENA_BYTES: u64 = 256 * 1024;
/// Smallest pooled buffer: a scalar still gets a bindable, 4-aligned buffer.
const MIN_CLASS: u64 = 64;
/// Submissions allowed in flight before recording waits for the oldest, so a loop that never
/// reads back cannot queue unbounded work.
const MAX_IN_FLIGHT: usize = 8;

pub(crate) fn err(msg: impl Into<String>) -> Error {
    Error::Backend(msg.into())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these locks leaves plain data behind (no invariant spans
    // the unlock), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Idle buffers by size class.
#[derive(Default)]
struct Pool {
    free: HashMap<u64, Vec<wgpu::Buffer>>,
    idle_bytes: u64,
}

/// Dispatches recorded but not yet submitted.
#[derive(Default)]
struct Batch {
    encoder: Option<wgpu::CommandEncoder>,
    dispatches: usize,
    /// Host copy of the parameter arena, written to the GPU right before the submission.
    params: Vec<u8>,
    in_flight: VecDeque<wgpu::SubmissionIndex>,
}

/// A compiled kernel and the layout of its bind group 0.
pub(crate) struct Kernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// A buffer bound to a kernel, with the bytes the kernel may touch.
pub(crate) struct Bind<'a> {
    pub buffer: &'a wgpu::Buffer,
    pub bytes: u64,
}

pub(crate) struct Context {
    pub device: wgpu::Device,
    queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    /// Whether to use the kernel variants for software adapters (see `Tuning`).
    pub cpu_tuning: bool,
    arena: wgpu::Buffer,
    arena_align: usize,
    dispatches_per_submit: usize,
    pool_limit: u64,
    pool: Mutex<Pool>,
    batch: Mutex<Batch>,
    kernels: Mutex<HashMap<String, Arc<Kernel>>>,
    /// Errors wgpu reported outside an error scope (validation, device loss); the next kernel
    /// call returns them.
    errors: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Context({})", self.info.name)
    }
}

fn api_name(b: wgpu::Backend) -> &'static str {
    match b {
        wgpu::Backend::Vulkan => "vulkan",
        wgpu::Backend::Metal => "metal",
        wgpu::Backend::Dx12 => "dx12",
        wgpu::Backend::Gl => "gl",
        wgpu::Backend::BrowserWebGpu => "webgpu",
        _ => "other",
    }
}

fn type_name(t: wgpu::DeviceType) -> &'static str {
    match t {
        wgpu::DeviceType::DiscreteGpu => "discrete",
        wgpu::DeviceType::IntegratedGpu => "integrated",
        wgpu::DeviceType::VirtualGpu => "virtual",
        wgpu::DeviceType::Cpu => "cpu",
        wgpu::DeviceType::Other => "other",
    }
}

/// Lower is better: real GPUs before virtual ones before software rasterisers.
fn rank(t: wgpu::DeviceType) -> u8 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Other => 3,
        wgpu::DeviceType::Cpu => 4,
    }
}

pub(crate) fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} [{}, {}]", info.name, api_name(info.backend), type_name(info.device_type))
}

fn instance(backends: wgpu::Backends) -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    // wgpu turns on API validation layers in debug builds; the tests run with debug assertions
    // on, and validation layers there would only slow lavapipe down. WGPU_DEBUG and friends
    // still switch them on.
    desc.flags = wgpu::InstanceFlags::VALIDATION_INDIRECT_CALL.with_env();
    wgpu::Instance::new(desc)
}

fn enumerate(backends: wgpu::Backends) -> Vec<wgpu::Adapter> {
    pollster::block_on(instance(backends).enumerate_adapters(backends))
}

pub(crate) fn describe_adapters(backends: wgpu::Backends) -> Vec<String> {
    enumerate(backends).iter().map(|a| describe(&a.get_info())).collect()
}

const NO_ADAPTER_HELP: &str = "install a GPU driver with Vulkan support, or Mesa's software \
Vulkan driver (lavapipe) with `apt-get install mesa-vulkan-drivers`";

fn choose_adapter(options: &DeviceOptions) -> Result<wgpu::Adapter> {
    let tiers: Vec<wgpu::Backends> = if options.apis.is_empty() {
        vec![wgpu::Backends::PRIMARY, wgpu::Backends::GL]
    } else {
        vec![options.apis.iter().fold(wgpu::Backends::empty(), |acc, a| acc | a.flag())]
    };
    let mut seen = Vec::new();
    for tier in tiers {
        let mut adapters = enumerate(tier);
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
        for adapter in adapters {
            let info = adapter.get_info();
            seen.push(describe(&info));
            let wanted = match &options.adapter {
                Some(sub) => info.name.to_lowercase().contains(&sub.to_lowercase()),
                None => true,
            };
            if wanted && adapter.get_downlevel_capabilities().flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS) {
                return Ok(adapter);
            }
        }
    }
    let apis = if options.apis.is_empty() {
        "any API".to_string()
    } else {
        options.apis.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ")
    };
    Err(err(match (&options.adapter, seen.is_empty()) {
        (_, true) => format!("no wgpu adapter found for {apis}: {NO_ADAPTER_HELP}"),
        (Some(sub), false) => format!(
            "no wgpu adapter with compute shaders whose name contains {sub:?} (SIGMAGRAD_WGPU_ADAPTER); \
             adapters seen: {}",
            seen.join("; ")
        ),
        (None, false) => format!(
            "no wgpu adapter with compute shaders for {apis}; adapters seen: {}; {NO_ADAPTER_HELP}",
            seen.join("; ")
        ),
    }))
}

impl Context {
    pub(crate) fn new(options: &DeviceOptions) -> Result<Context> {
        let adapter = choose_adapter(options)?;
        let info = adapter.get_info();
        let mut limits = adapter.limits();
        if let Some(cap) = options.max_storage_binding_bytes {
            limits.max_storage_buffer_binding_size = limits.max_storage_buffer_binding_size.min(cap.max(4));
        }
        // The kernels are written for WebGPU's guaranteed compute limits; GL ES adapters may
        // offer less.
        if limits.max_compute_invocations_per_workgroup < WORKGROUP
            || limits.max_compute_workgroup_size_x < WORKGROUP
            || limits.max_compute_workgroup_storage_size < 8704
            || limits.max_storage_buffers_per_shader_stage < 6
        {
            return Err(err(format!(
                "wgpu adapter {} lacks the compute limits the kernels need (256 invocations per \
                 workgroup, 8.5 KiB workgroup memory, 6 storage buffers per stage)",
                describe(&info)
            )));
        }
        let desc = wgpu::DeviceDescriptor {
            label: Some("sigmagrad"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| err(format!("wgpu adapter {} refused a device: {e}", describe(&info))))?;
        let errors: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| lock(&sink).push(e.to_string())));
        let sink = errors.clone();
        device.set_device_lost_callback(move |reason, msg| {
            lock(&sink).push(format!("wgpu device lost ({reason:?}): {msg}"));
        });
        let arena = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("sigmagrad params"),
            size: ARENA_BYTES,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let cpu_tuning = match options.tuning {
            Tuning::Auto => info.device_type == wgpu::DeviceType::Cpu,
            Tuning::Cpu => true,
            Tuning::Gpu => false,
        };
        Ok(Context {
            cpu_tuning,
            arena_align: limits.min_storage_buffer_offset_alignment.max(4) as usize,
            dispatches_per_submit: if options.dispatches_per_submit == 0 { 64 } else { options.dispatches_per_submit },
            pool_limit: options.pool_limit_bytes.unwrap_or(1 << 30),
            device,
            queue,
            info,
            limits,
            arena,
            pool: Mutex::default(),
            batch: Mutex::default(),
            kernels: Mutex::default(),
            errors,
        })
    }

    /// Returns (and clears) the errors wgpu reported since the last check.
    pub(crate) fn check_errors(&self) -> Result<()> {
        let mut errors = lock(&self.errors);
        if errors.is_empty() {
            return Ok(());
        }
        let msg = errors.join("; ");
        errors.clear();
        Err(err(format!("wgpu: {msg}")))
    }

    // ----- buffers ---------------------------------------------------------------------------

    /// The size class a request of `bytes` is served from.
    fn class_of(&self, bytes: u64) -> u64 {
        let class = bytes.max(MIN_CLASS).next_power_of_two();
        // Rounding up must not push a legal size over the device's buffer limit.
        if class > self.limits.max_buffer_size {
            bytes.max(MIN_CLASS).div_ceil(4) * 4
        } else {
            class
        }
    }

    /// A storage buffer of at least `bytes` bytes (its contents are whatever the last user
    /// left), and its size class.
    pub(crate) fn alloc(&self, bytes: u64, what: &str) -> Result<(wgpu::Buffer, u64)> {
        let max_bind = self.limits.max_storage_buffer_binding_size;
        if bytes > max_bind {
            return Err(err(format!(
                "{what}: a tensor of {bytes} bytes exceeds this adapter's max_storage_buffer_binding_size \
                 of {max_bind} bytes ({})",
                describe(&self.info)
            )));
        }
        let class = self.class_of(bytes);
        {
            let mut pool = lock(&self.pool);
            if let Some(buf) = pool.free.get_mut(&class).and_then(Vec::pop) {
                pool.idle_bytes -= class;
                return Ok((buf, class));
            }
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: class,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(err(format!("{what}: could not allocate {class} bytes on the GPU: {e}")));
        }
        Ok((buf, class))
    }

    /// Takes a buffer back into the pool (or frees it when the pool is full).
    pub(crate) fn release(&self, buf: wgpu::Buffer, class: u64) {
        let mut pool = lock(&self.pool);
        if pool.idle_bytes + class > self.pool_limit {
            drop(pool);
            buf.destroy();
            return;
        }
        pool.idle_bytes += class;
        pool.free.entry(class).or_default().push(buf);
    }

    // ----- kernels ---------------------------------------------------------------------------

    /// The compiled kernel for `key`, compiling `source()` the first time.
    pub(crate) fn kernel(&self, key: &str, source: impl FnOnce() -> String) -> Result<Arc<Kernel>> {
        if let Some(k) = lock(&self.kernels).get(key) {
            return Ok(k.clone());
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(key),
            source: wgpu::ShaderSource::Wgsl(source().into()),
        });
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(key),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        });
        let layout = pipeline.get_bind_group_layout(0);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(err(format!("wgpu could not compile kernel {key}: {e}")));
        }
        let kernel = Arc::new(Kernel { pipeline, layout });
        lock(&self.kernels).insert(key.to_string(), kernel.clone());
        Ok(kernel)
    }

    /// Records one dispatch: `params` go to binding 0, `binds` to bindings 1, 2, ...
    pub(crate) fn dispatch(&self, kernel: &Kernel, params: &[u32], binds: &[Bind<'_>], groups: [u32; 3]) -> Result<()> {
        if groups.contains(&0) {
            return Ok(());
        }
        let max = self.limits.max_compute_workgroups_per_dimension;
        if groups.iter().any(|&g| g > max) {
            return Err(err(format!(
                "a dispatch of {groups:?} workgroups exceeds the adapter's limit of {max} per dimension"
            )));
        }
        let words: &[u32] = if params.is_empty() { &[0] } else { params };
        let bytes: &[u8] = bytemuck::cast_slice(words);
        let mut batch = lock(&self.batch);
        let mut offset = batch.params.len().div_ceil(self.arena_align) * self.arena_align;
        if offset + bytes.len() > ARENA_BYTES as usize {
            self.submit(&mut batch)?;
            offset = 0;
        }
        batch.params.resize(offset, 0);
        batch.params.extend_from_slice(bytes);
        let mut entries = Vec::with_capacity(binds.len() + 1);
        entries.push(wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &self.arena,
                offset: offset as u64,
                size: wgpu::BufferSize::new(bytes.len() as u64),
            }),
        });
        for (i, b) in binds.iter().enumerate() {
            let size = b.bytes.max(4).div_ceil(4) * 4;
            entries.push(wgpu::BindGroupEntry {
                binding: i as u32 + 1,
                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: b.buffer,
                    offset: 0,
                    size: wgpu::BufferSize::new(size.min(b.buffer.size())),
                }),
            });
        }
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &kernel.layout,
            entries: &entries,
        });
        let encoder = self.encoder(&mut batch);
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(0, &group, &[]);
            pass.dispatch_workgroups(groups[0], groups[1], groups[2]);
        }
        batch.dispatches += 1;
        if batch.dispatches >= self.dispatches_per_submit {
            self.submit(&mut batch)?;
        }
        drop(batch);
        self.check_errors()
    }

    fn encoder<'b>(&self, batch: &'b mut Batch) -> &'b mut wgpu::CommandEncoder {
        batch
            .encoder
            .get_or_insert_with(|| self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default()))
    }

    /// Records a buffer-to-buffer copy in the shared encoder.
    pub(crate) fn copy(
        &self,
        src: &wgpu::Buffer,
        src_offset: u64,
        dst: &wgpu::Buffer,
        dst_offset: u64,
        bytes: u64,
    ) -> Result<()> {
        if bytes == 0 {
            return Ok(());
        }
        let mut batch = lock(&self.batch);
        self.encoder(&mut batch).copy_buffer_to_buffer(src, src_offset, dst, dst_offset, bytes);
        batch.dispatches += 1;
        drop(batch);
        self.check_errors()
    }

    /// Copies host words into `dst` in recording order (see the module note on ordering).
    pub(crate) fn upload(&self, words: &[u32], dst: &wgpu::Buffer) -> Result<()> {
        if words.is_empty() {
            return Ok(());
        }
        let staging = wgpu::util::DeviceExt::create_buffer_init(
            &self.device,
            &wgpu::util::BufferInitDescriptor {
                label: None,
                contents: bytemuck::cast_slice(words),
                usage: wgpu::BufferUsages::COPY_SRC,
            },
        );
        self.copy(&staging, 0, dst, 0, words.len() as u64 * 4)
    }

    /// Submits what was recorded. Called with the batch lock held.
    fn submit(&self, batch: &mut Batch) -> Result<Option<wgpu::SubmissionIndex>> {
        let Some(encoder) = batch.encoder.take() else { return Ok(None) };
        if !batch.params.is_empty() {
            self.queue.write_buffer(&self.arena, 0, &batch.params);
            batch.params.clear();
        }
        let index = self.queue.submit([encoder.finish()]);
        batch.dispatches = 0;
        batch.in_flight.push_back(index.clone());
        while batch.in_flight.len() > MAX_IN_FLIGHT {
            if let Some(old) = batch.in_flight.pop_front() {
                self.wait(old)?;
            }
        }
        // Lets wgpu free what finished submissions used, without blocking.
        self.device.poll(wgpu::PollType::Poll).map_err(|e| err(format!("wgpu poll failed: {e}")))?;
        Ok(Some(index))
    }

    fn wait(&self, index: wgpu::SubmissionIndex) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait { submission_index: Some(index), timeout: None })
            .map(|_| ())
            .map_err(|e| err(format!("waiting for the GPU failed: {e}")))
    }

    /// Submits everything recorded and waits until the GPU has run it.
    pub(crate) fn synchronize(&self) -> Result<()> {
        let index = {
            let mut batch = lock(&self.batch);
            let index = self.submit(&mut batch)?;
            batch.in_flight.clear();
            index
        };
        if let Some(index) = index {
            self.wait(index)?;
        }
        self.check_errors()
    }

    /// Reads `bytes` bytes at `offset` of `src` back to the host: the one place that waits.
    pub(crate) fn read(&self, src: &wgpu::Buffer, offset: u64, bytes: u64) -> Result<Vec<u8>> {
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let size = bytes.div_ceil(4) * 4;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("sigmagrad readback"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let index = {
            let mut batch = lock(&self.batch);
            self.encoder(&mut batch).copy_buffer_to_buffer(src, offset, &staging, 0, size);
            let index = self.submit(&mut batch)?;
            batch.in_flight.clear();
            index
        };
        self.check_errors()?;
        let (tx, rx) = mpsc::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |r| {
            // The receiver waits below; if it is gone there is nobody to tell.
            let _ = tx.send(r);
        });
        if let Some(index) = index {
            self.wait(index)?;
        }
        // The map callback runs during a poll; the wait above normally ran it already.
        let mapped = match rx.try_recv() {
            Ok(r) => r,
            Err(_) => {
                self.device
                    .poll(wgpu::PollType::wait_indefinitely())
                    .map_err(|e| err(format!("waiting for the GPU failed: {e}")))?;
                rx.recv().map_err(|_| err("wgpu dropped a readback before it completed"))?
            }
        };
        mapped.map_err(|e| err(format!("reading a buffer back from the GPU failed: {e}")))?;
        let out = {
            let view = staging
                .slice(..)
                .get_mapped_range()
                .map_err(|e| err(format!("reading a buffer back from the GPU failed: {e}")))?;
            view[..bytes as usize].to_vec()
        };
        staging.unmap();
        self.check_errors()?;
        Ok(out)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // Nothing to report to: errors here are dropped with the device.
        let _ = self.synchronize();
    }
}

/// Describes the adapter for a device name: "wgpu:NAME [api, type]".
pub(crate) fn device_name(ctx: &Context) -> String {
    format!("wgpu:{}", describe(&ctx.info))
}
