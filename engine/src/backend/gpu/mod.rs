//! The GPU backend: WGSL compute shaders (from `vera-shaders`) through wgpu, on Vulkan, Metal or
//! DX12. The same operations under the same names as [`cpu`](super::cpu), with identical results.
//!
//! Set-up (adapter, device, pipelines) happens once in [`GpuBackend::new`] (or
//! [`GpuBackend::open_all`], one backend per identical GPU of a multi-GPU host); pipelines go
//! through the driver's pipeline cache, kept on disk where the adapter has one, and the large
//! Ed25519 pipelines are built on first use or by [`GpuBackend::prepare_ed25519`]. Each
//! operation then records its uploads and dispatches, submits, and waits for its results with a
//! bounded wait: a lost device, a failed map or a timeout is an [`Error::Gpu`], never a panic or
//! a hang. Inputs larger than the adapter's storage-binding limit are split into chunks.
//!
//! Operations: SHA-256 (`sha256.rs`: any lengths, plus kernels for 64-byte messages and 32-byte
//! RFC 6962 leaves), Merkle roots (`merkle.rs`), SHA-512 (`sha512.rs`), and Ed25519
//! verification under every rule (`ed25519.rs`: k = SHA-512(R ‖ A ‖ M) mod L, then decoding,
//! checks and \[S\]B − \[k\]A, on 64-bit or u32-only field arithmetic by adapter, with one of
//! three kernels by batch size — see [`VerifyKernel`] and [`KernelLimits`], which calibration
//! measures per device). The self-test kernels of `field.rs`, `edwards.rs` and `ed25519.rs` exist
//! for the tests.
//!
//! Kernel times on the GPU itself (timestamp queries) are available with
//! [`GpuOptions::profile`] or `VERA_GPU_PROFILE=1`: [`GpuBackend::kernel_times`].

mod base_table;
mod chains;
pub mod context;
mod ed25519;
mod edwards;
mod field;
mod merkle;
mod profile;
mod proofs;
mod sha256;
mod sha512;

use std::collections::HashMap;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use wgpu::util::DeviceExt;

pub use context::{list_adapters, AdapterReport};
pub(crate) use ed25519::kernels_available;
#[doc(hidden)]
pub use ed25519::ScalarSelftest;
pub use ed25519::{KernelLimits, VerifyKernel, COOP_MAX, LANES_MAX, VERIFY_KERNEL_ENV};
#[doc(hidden)]
pub use field::{FieldPath, FieldSelftest};
pub use profile::{KernelTime, PROFILE_ENV};
use profile::{Profiler, Recording};

use crate::batch::Messages;
use crate::error::{Error, Result};
use crate::merkle::{MerkleRoot, MerkleScheme};
use crate::BackendKind;

/// How long one submission may take before the operation fails instead of hanging.
const WAIT_LIMIT: Duration = Duration::from_secs(120);

/// Options for [`GpuBackend::new`].
#[derive(Debug, Clone, Default)]
pub struct GpuOptions {
    /// Accept a software adapter (lavapipe, WARP) when there is no hardware GPU. They are slower
    /// than the CPU path, so only tests and explicit requests want them.
    pub allow_software: bool,
    /// Cap the storage-binding size below the adapter's limit, in bytes (tests use this to force
    /// chunking on small inputs). Rounded down to a multiple of 64 KiB; at least 64 KiB.
    pub max_binding: Option<u64>,
    /// Use the u32-only field path even where SHADER_INT64 is present (see
    /// [`GpuBackend::int64_field`]); tests use it to cover both paths on one adapter.
    pub u32_field: bool,
    /// Which Ed25519 verify kernel runs a batch (default: by batch size and adapter;
    /// `VERA_GPU_VERIFY_KERNEL` overrides it).
    pub verify_kernel: ed25519::VerifyKernel,
    /// How many devices [`GpuBackend::open_all`] opens: by default one per adapter identical to
    /// the best one; more than there are such adapters opens several devices on the same
    /// adapters (tests use it to exercise sharding on one adapter).
    pub devices: Option<usize>,
    /// Test hook: the lane-parallel Ed25519 kernel takes its subgroup layout for wrong (and the
    /// batch fails), so that tests reach that error path on adapters where the layout is right.
    #[doc(hidden)]
    pub simulate_layout_fault: bool,
    /// Time every kernel on the GPU with timestamp queries, where the adapter has them (see
    /// [`GpuBackend::kernel_times`]; `VERA_GPU_PROFILE=1` turns it on too). Costs a little per
    /// submission.
    pub profile: bool,
}

/// The environment variable that lets `auto` use a software adapter.
pub const ALLOW_SOFTWARE_ENV: &str = "VERA_ALLOW_SOFTWARE_GPU";

/// A compute pipeline and its bind-group layout, built once.
struct Kernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

impl Kernel {
    fn build(
        device: &wgpu::Device,
        cache: Option<&wgpu::PipelineCache>,
        shader: &vera_shaders::Shader,
    ) -> Kernel {
        Kernel::build_with(device, cache, shader, &[])
    }

    /// [`Kernel::build`] with values for the shader's pipeline-overridable constants.
    fn build_with(
        device: &wgpu::Device,
        cache: Option<&wgpu::PipelineCache>,
        shader: &vera_shaders::Shader,
        constants: &[(&str, f64)],
    ) -> Kernel {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(shader.name),
            source: wgpu::ShaderSource::Wgsl(shader.source().into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(shader.name),
            layout: None,
            module: &module,
            entry_point: Some(shader.entry_point),
            compilation_options: wgpu::PipelineCompilationOptions {
                constants,
                ..Default::default()
            },
            cache,
        });
        let layout = pipeline.get_bind_group_layout(0);
        Kernel { pipeline, layout }
    }
}

/// The driver's pipeline cache (Vulkan), kept on disk between runs, so that a restarted node
/// does not compile the large Ed25519 kernels again. Off with `VERA_PIPELINE_CACHE=0`.
struct DiskPipelineCache {
    cache: wgpu::PipelineCache,
    path: std::path::PathBuf,
}

/// The environment variable that switches the on-disk pipeline cache off (`0`).
pub const PIPELINE_CACHE_ENV: &str = "VERA_PIPELINE_CACHE";

impl DiskPipelineCache {
    fn open(device: &wgpu::Device, info: &wgpu::AdapterInfo) -> Option<Self> {
        if !device.features().contains(wgpu::Features::PIPELINE_CACHE)
            || std::env::var(PIPELINE_CACHE_ENV).is_ok_and(|v| v == "0")
        {
            return None;
        }
        let key = wgpu::util::pipeline_cache_key(info)?;
        let path = crate::calibrate::cache_dir()?.join(format!("{key}.bin"));
        let data = std::fs::read(&path).ok();
        // SAFETY: the data is what `PipelineCache::get_data` returned on an adapter with the same
        // `pipeline_cache_key` (the file is named after it and written only by `save`); wgpu and
        // the driver check its header (vendor, device, driver version) and, with `fallback`,
        // start an empty cache when it does not match.
        let cache = unsafe {
            device.create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                label: Some("vera pipelines"),
                data: data.as_deref(),
                fallback: true,
            })
        };
        Some(DiskPipelineCache { cache, path })
    }

    /// Writes the cache out (see `write_whole`); failures are only logged.
    fn save(&self) {
        let Some(data) = self.cache.get_data() else {
            return;
        };
        if let Err(e) = crate::calibrate::write_whole(&self.path, &data) {
            tracing::warn!(
                "cannot save the pipeline cache to {}: {e}",
                self.path.display()
            );
        }
    }
}

/// Uploads from this size on are copied into staging memory by several threads.
const PARALLEL_UPLOAD: usize = 8 << 20;

/// A device with vera's pipelines built.
pub struct GpuBackend {
    device: wgpu::Device,
    queue: wgpu::Queue,
    report: AdapterReport,
    /// The largest storage binding used, in bytes.
    max_binding: u64,
    /// The largest buffer the adapter allows, in bytes.
    max_buffer: u64,
    max_workgroups: u32,
    /// Offset alignments of storage and uniform bindings (at most 256 by the WebGPU rules).
    storage_align: u64,
    uniform_align: u64,
    /// The device was opened with SUBGROUP (the adapter has it).
    has_subgroups: bool,
    /// Which Ed25519 verify kernel runs a batch.
    verify_kernel: ed25519::VerifyKernel,
    /// [`GpuOptions::simulate_layout_fault`].
    simulate_layout_fault: bool,
    /// Where [`VerifyKernel::Auto`] switches kernels, once measured (provisional until then).
    kernel_limits: Mutex<Option<ed25519::KernelLimits>>,
    sha256: Kernel,
    /// `merkle_reduce.wgsl` for RFC 6962 and for Bitcoin (its SCHEME constant).
    merkle: [Kernel; 2],
    sha512: Kernel,
    /// Built on first use.
    sha256_fixed64: std::sync::OnceLock<Kernel>,
    /// Built on first use.
    sha256_leaf32: std::sync::OnceLock<Kernel>,
    /// Built on first use: `merkle_proofs.wgsl` for RFC 6962 and for Bitcoin.
    merkle_proofs: [std::sync::OnceLock<Kernel>; 2],
    /// Built on first use: `sha256_chains.wgsl`.
    sha256_chains: std::sync::OnceLock<Kernel>,
    /// Built on first use: only tests run it.
    field_selftest: field::PerPath,
    /// Built on first use: only tests run it.
    decompress_selftest: field::PerPath,
    /// The device was opened with SHADER_INT64 (the adapter has it).
    has_int64: bool,
    /// [`GpuOptions::u32_field`].
    u32_field: bool,
    /// Ed25519 pipelines, built on first use.
    ed25519: ed25519::Kernels,
    /// Kernel timing, when asked for and the adapter has timestamp queries.
    profiler: Option<Profiler>,
    setup_time: Duration,
    /// The on-disk pipeline cache, where the adapter has one.
    pipeline_cache: Option<DiskPipelineCache>,
    /// The first uncaptured wgpu error or device-loss message; once set, every operation fails.
    fault: Arc<Mutex<Option<String>>>,
    /// Submissions so far (for metrics, and tests of multi-GPU sharding).
    submissions: std::sync::atomic::AtomicU64,
    /// Reusable buffers by (usage, size class).
    pool: Mutex<HashMap<(u32, u64), Vec<wgpu::Buffer>>>,
}

/// `size` bytes of `buffer` from `offset`, as a binding: a kernel sees only what it is given.
fn bind(buffer: &wgpu::Buffer, offset: u64, size: u64) -> wgpu::BindingResource<'_> {
    wgpu::BindingResource::Buffer(wgpu::BufferBinding {
        buffer,
        offset,
        size: wgpu::BufferSize::new(size),
    })
}

fn unavailable(msg: impl Into<String>) -> Error {
    Error::BackendUnavailable(BackendKind::Gpu, msg.into())
}

/// The adapters to use, best first: the best one (a hardware GPU; a software one only if `opts`
/// allows), then every other adapter identical to it on another PCI bus (the GPUs of a
/// multi-GPU server; an adapter whose bus is unknown is not taken twice).
fn select(opts: &GpuOptions) -> Result<Vec<wgpu::Adapter>> {
    let instance = context::instance();
    let adapters = context::adapters(&instance);
    let found: Vec<String> = adapters
        .iter()
        .map(|a| AdapterReport::of(a).to_string())
        .collect();
    let usable = |a: &wgpu::Adapter| {
        opts.allow_software || a.get_info().device_type != wgpu::DeviceType::Cpu
    };
    let Some(best) = adapters.iter().position(usable) else {
        return Err(if found.is_empty() {
            unavailable(
                "no GPU adapter found (no Vulkan, Metal or DX12 driver; on Linux install \
                 your GPU's Vulkan driver, or Mesa's mesa-vulkan-drivers for lavapipe)",
            )
        } else {
            unavailable(format!(
                "only software adapters found ({}), which are slower than the CPU path; \
                 use --backend gpu or set {ALLOW_SOFTWARE_ENV}=1 to use them anyway",
                found.join("; ")
            ))
        });
    };
    let first = adapters[best].get_info();
    let mut buses = vec![first.device_pci_bus_id.clone()];
    let mut chosen = vec![adapters[best].clone()];
    for a in &adapters[best + 1..] {
        let info = a.get_info();
        let same = info.name == first.name
            && info.backend == first.backend
            && info.device_type == first.device_type;
        if same && !info.device_pci_bus_id.is_empty() && !buses.contains(&info.device_pci_bus_id) {
            buses.push(info.device_pci_bus_id.clone());
            chosen.push(a.clone());
        }
    }
    // Without bus ids, identical adapters may be one GPU listed twice: use one.
    if first.device_pci_bus_id.is_empty() {
        chosen.truncate(1);
    }
    Ok(chosen)
}

impl GpuBackend {
    /// Picks the best adapter (a hardware GPU; a software one only if `opts` allows), opens a
    /// device with the adapter's own limits, and builds every pipeline.
    pub fn new(opts: &GpuOptions) -> Result<Self> {
        let adapters = select(opts)?;
        GpuBackend::open(&adapters[0], opts)
    }

    /// Opens every GPU of the best kind: one device per adapter identical to the best one (same
    /// name, API and type, on distinct PCI buses), or `opts.devices` of them; each with every
    /// pipeline built, in parallel.
    pub fn open_all(opts: &GpuOptions) -> Result<Vec<Self>> {
        let adapters = select(opts)?;
        let n = opts.devices.unwrap_or(adapters.len()).max(1);
        std::thread::scope(|s| {
            let opening: Vec<_> = (0..n)
                .map(|i| {
                    let adapter = &adapters[i % adapters.len()];
                    s.spawn(move || GpuBackend::open(adapter, opts))
                })
                .collect();
            // Keep every device that opened; fail only if none did.
            let mut opened = Vec::new();
            let mut first_error = None;
            for h in opening {
                match h
                    .join()
                    .unwrap_or_else(|_| Err(unavailable("opening a GPU device panicked")))
                {
                    Ok(g) => opened.push(g),
                    Err(e) => {
                        tracing::warn!("a GPU device did not open: {e}");
                        first_error.get_or_insert(e);
                    }
                }
            }
            match (opened.is_empty(), first_error) {
                (true, Some(e)) => Err(e),
                _ => Ok(opened),
            }
        })
    }

    fn open(adapter: &wgpu::Adapter, opts: &GpuOptions) -> Result<Self> {
        let started = Instant::now();
        let report = AdapterReport::of(adapter);
        let limits = adapter.limits();
        // 64-bit integers where the adapter has them: the faster field path (field_u64.wgsl).
        // The pipeline cache where the adapter has one (Vulkan): start-up without recompiling.
        // Subgroup operations where it has them: the lane-parallel Ed25519 kernel.
        // Timestamp queries when kernel timing is asked for.
        let profile = opts.profile || std::env::var(PROFILE_ENV).is_ok_and(|v| v == "1");
        let mut wanted = wgpu::Features::SHADER_INT64
            | wgpu::Features::PIPELINE_CACHE
            | wgpu::Features::SUBGROUP;
        if profile {
            wanted |= wgpu::Features::TIMESTAMP_QUERY;
        }
        let features = adapter.features() & wanted;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("vera"),
            required_features: features,
            required_limits: limits.clone(),
            ..Default::default()
        }))
        .map_err(|e| unavailable(format!("cannot open {}: {e}", report.name)))?;

        let fault = Arc::new(Mutex::new(None));
        let f = Arc::clone(&fault);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = f.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| format!("wgpu error: {e}"));
        }));
        let f = Arc::clone(&fault);
        device.set_device_lost_callback(move |reason, msg| {
            let mut slot = f.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| format!("device lost ({reason:?}): {msg}"));
        });

        let pipeline_cache = DiskPipelineCache::open(&device, &adapter.get_info());
        let cache = pipeline_cache.as_ref().map(|c| &c.cache);
        let pipeline = |shader| Kernel::build(&device, cache, shader);
        let sha256 = pipeline(&vera_shaders::SHA256_BATCH);
        let merkle = [0.0, 1.0].map(|scheme| {
            Kernel::build_with(
                &device,
                cache,
                &vera_shaders::MERKLE_REDUCE,
                &[("SCHEME", scheme)],
            )
        });
        let sha512 = pipeline(&vera_shaders::SHA512_BATCH);
        if let Some(c) = &pipeline_cache {
            c.save();
        }

        let cap = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let max_binding =
            opts.max_binding.map_or(cap, |m| m.min(cap)).max(1 << 16) / (1 << 16) * (1 << 16);
        let profiler = features
            .contains(wgpu::Features::TIMESTAMP_QUERY)
            .then(|| Profiler::new(&queue));
        let backend = GpuBackend {
            device,
            queue,
            report,
            max_binding,
            max_workgroups: limits.max_compute_workgroups_per_dimension.max(1),
            max_buffer: limits.max_buffer_size,
            storage_align: u64::from(limits.min_storage_buffer_offset_alignment.max(4)),
            uniform_align: u64::from(limits.min_uniform_buffer_offset_alignment.max(16)),
            has_subgroups: features.contains(wgpu::Features::SUBGROUP),
            verify_kernel: ed25519::VerifyKernel::from_env().unwrap_or(opts.verify_kernel),
            kernel_limits: Mutex::new(None),
            simulate_layout_fault: opts.simulate_layout_fault,
            sha256,
            merkle,
            sha512,
            sha256_fixed64: Default::default(),
            sha256_leaf32: Default::default(),
            merkle_proofs: Default::default(),
            sha256_chains: Default::default(),
            field_selftest: Default::default(),
            decompress_selftest: Default::default(),
            has_int64: features.contains(wgpu::Features::SHADER_INT64),
            u32_field: opts.u32_field,
            ed25519: ed25519::Kernels::default(),
            profiler,
            setup_time: Duration::ZERO,
            pipeline_cache,
            fault,
            pool: Mutex::new(HashMap::new()),
            submissions: Default::default(),
        };
        backend.check()?;
        Ok(GpuBackend {
            setup_time: started.elapsed(),
            ..backend
        })
    }

    /// Builds a pipeline after set-up (kernels built on first use), through the pipeline cache,
    /// which is saved again.
    /// [`GpuBackend::build_kernel`] for a kernel the driver may reject (it uses features the
    /// others do not): errors are caught in an error scope and returned, rather than faulting
    /// the device.
    fn try_build_kernel(&self, shader: &vera_shaders::Shader) -> Result<Kernel> {
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let internal = self.device.push_error_scope(wgpu::ErrorFilter::Internal);
        let kernel = self.build_kernel(shader);
        let errors = [
            pollster::block_on(internal.pop()),
            pollster::block_on(validation.pop()),
        ];
        match errors.into_iter().flatten().next() {
            Some(e) => Err(Error::Gpu(format!("{}: {e}", shader.name))),
            None => Ok(kernel),
        }
    }

    fn build_kernel(&self, shader: &vera_shaders::Shader) -> Kernel {
        self.build_kernel_with(shader, &[])
    }

    /// [`GpuBackend::build_kernel`] with values for pipeline-overridable constants.
    fn build_kernel_with(
        &self,
        shader: &vera_shaders::Shader,
        constants: &[(&str, f64)],
    ) -> Kernel {
        let cache = self.pipeline_cache.as_ref();
        let kernel = Kernel::build_with(&self.device, cache.map(|c| &c.cache), shader, constants);
        if let Some(c) = cache {
            c.save();
        }
        kernel
    }

    /// How many batches of work (submissions) this device has run.
    pub fn submissions(&self) -> u64 {
        self.submissions.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether pipelines are cached on disk between runs.
    pub fn has_pipeline_cache(&self) -> bool {
        self.pipeline_cache.is_some()
    }

    /// The adapter in use.
    pub fn adapter(&self) -> &AdapterReport {
        &self.report
    }

    /// Whether the device has 64-bit integers in shaders (SHADER_INT64), so that kernels on the
    /// u64 field path ([`FieldPath::U64`]) can run.
    pub fn has_int64(&self) -> bool {
        self.has_int64
    }

    /// Whether the Ed25519 kernels use the u64 field path: the device has SHADER_INT64 and
    /// [`GpuOptions::u32_field`] is off. Otherwise they use the u32 path, which every adapter runs.
    pub fn int64_field(&self) -> bool {
        self.has_int64 && !self.u32_field
    }

    /// How long adapter selection, device creation and pipeline builds took.
    pub fn setup_time(&self) -> Duration {
        self.setup_time
    }

    /// Fails if the device reported an error or was lost.
    fn check(&self) -> Result<()> {
        match &*self.fault.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(msg) => Err(Error::Gpu(msg.clone())),
            None => Ok(()),
        }
    }

    /// SHA-256 of every message, in order.
    pub fn sha256(&self, msgs: Messages<'_>) -> Result<Vec<[u8; 32]>> {
        sha256::sha256(self, msgs, false)
    }

    /// Double SHA-256, SHA-256(SHA-256(m)), of every message, in order: both hashes in one
    /// pass of the batch kernel.
    pub fn sha256d(&self, msgs: Messages<'_>) -> Result<Vec<[u8; 32]>> {
        sha256::sha256(self, msgs, true)
    }

    /// SHA-512 of every message, in order, as 64-byte digests: the building block of GPU Ed25519
    /// verification, whose k = SHA-512(R ‖ A ‖ M) mod L hashes the bytes as received (`msgs`
    /// holding R ‖ A ‖ M per signature). Messages of any length: one longer than the GPU takes
    /// (one storage binding; 256 KiB on software adapters, whose loop limit would cut it short)
    /// is hashed on the CPU with the same result. 64-bit words are emulated with pairs of `u32`,
    /// so every adapter runs it, with or without SHADER_INT64.
    pub fn sha512(&self, msgs: Messages<'_>) -> Result<Vec<[u8; 64]>> {
        sha512::sha512(self, msgs)
    }

    /// Every inclusion proof's verdict, in order: the sides worked out on the host, the paths
    /// folded on the GPU.
    pub fn verify_inclusion(
        &self,
        scheme: MerkleScheme,
        proofs: crate::proofs::Proofs<'_>,
    ) -> Result<Vec<crate::proofs::ProofVerdict>> {
        proofs::verify_inclusion(self, scheme, proofs)
    }

    /// Every hash chain's end, in order (see [`crate::hash_chains`]).
    pub fn hash_chains(&self, chains: &[crate::hash_chains::HashChain]) -> Result<Vec<[u8; 32]>> {
        chains::hash_chains(self, chains)
    }

    /// The RFC 6962 root over leaf data.
    pub fn rfc6962_root(&self, leaves: Messages<'_>) -> Result<MerkleRoot> {
        merkle::rfc6962_root(self, leaves)
    }

    /// The root over already-hashed leaves.
    pub fn merkle_root_from_hashes(
        &self,
        scheme: MerkleScheme,
        hashes: &[[u8; 32]],
    ) -> Result<MerkleRoot> {
        merkle::root_from_hashes(self, scheme, hashes)
    }

    /// Runs a fixed-width self-test kernel — `[count, row, 0, 0]` at binding 0, `in_width` bytes
    /// per item at binding 1, `out_width` bytes per item at binding 2, 64 invocations per
    /// workgroup — over `input`, in runs that fit the binding limit; returns the output bytes.
    fn run_fixed_width(
        &self,
        kernel: &Kernel,
        label: &'static str,
        input: &[u8],
        in_width: usize,
        out_width: usize,
    ) -> Result<Vec<u8>> {
        const WORKGROUP: u32 = 64;
        self.check()?;
        let n = input.len() / in_width;
        let per_run = (self.max_binding as usize / in_width.max(out_width)).max(1);
        let mut out = Vec::with_capacity(n * out_width);
        let mut start = 0;
        while start < n {
            let end = n.min(start + per_run);
            let count = (end - start) as u32;
            let items = &input[start * in_width..end * in_width];
            let in_buf = self.storage(label, items.len() as u64);
            self.upload(&in_buf, 0, items);
            let out_size = u64::from(count) * out_width as u64;
            let out_buf = self.storage(label, out_size);
            let grid = self.grid(count.div_ceil(WORKGROUP));
            let params = self.uniform([count, grid.0 * WORKGROUP, 0, 0]);
            let mut encoder = self.encoder(label);
            let binding = |buffer, size| bind(buffer, 0, size);
            self.dispatch(
                &mut encoder,
                kernel,
                label,
                &[
                    params.as_entire_binding(),
                    binding(&in_buf, items.len() as u64),
                    binding(&out_buf, out_size),
                ],
                grid,
            );
            out.extend(self.submit_and_read(encoder, &[(&out_buf, 0, out_size)])?);
            self.recycle([in_buf, out_buf]);
            start = end;
        }
        Ok(out)
    }

    // ---- buffers -------------------------------------------------------------------------

    /// A buffer of at least `size` bytes from the pool (or a new one). Sizes are pooled by
    /// powers of two, except near the adapter's largest buffer, where the next power of two
    /// would not be allowed (wgpu caps many adapters at 2^31 − 1 bytes).
    fn buffer(&self, label: &'static str, usage: wgpu::BufferUsages, size: u64) -> wgpu::Buffer {
        let pow2 = size.max(256).next_power_of_two();
        let class = if pow2 <= self.max_buffer {
            pow2
        } else {
            size.next_multiple_of(256).min(self.max_buffer)
        };
        let key = (usage.bits(), class);
        let reused = self
            .pool
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&key)
            .and_then(Vec::pop);
        reused.unwrap_or_else(|| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: class,
                usage,
                mapped_at_creation: false,
            })
        })
    }

    /// Returns buffers to the pool (a few per class are kept).
    fn recycle(&self, buffers: impl IntoIterator<Item = wgpu::Buffer>) {
        let mut pool = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        for b in buffers {
            let list = pool.entry((b.usage().bits(), b.size())).or_default();
            if list.len() < 4 {
                list.push(b);
            }
        }
    }

    fn storage(&self, label: &'static str, size: u64) -> wgpu::Buffer {
        self.buffer(
            label,
            wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_DST
                | wgpu::BufferUsages::COPY_SRC,
            size,
        )
    }

    /// Queues `bytes` to be written at `offset` (any length: a ragged tail is zero-padded to
    /// the 4-byte copy alignment). Large uploads are copied into wgpu's staging memory by
    /// several threads at once: one core's memcpy, not PCIe, is what limits a big upload.
    fn upload(&self, buffer: &wgpu::Buffer, offset: u64, bytes: &[u8]) {
        let whole = bytes.len() / 4 * 4;
        if whole >= PARALLEL_UPLOAD {
            self.parallel_write(buffer, offset, &bytes[..whole]);
        } else if whole > 0 {
            self.queue.write_buffer(buffer, offset, &bytes[..whole]);
        }
        if whole < bytes.len() {
            let mut tail = [0u8; 4];
            tail[..bytes.len() - whole].copy_from_slice(&bytes[whole..]);
            self.queue
                .write_buffer(buffer, offset + whole as u64, &tail);
        }
    }

    /// `queue.write_buffer` of `bytes` (a multiple of 4 long) in pieces of at least 4 MiB from
    /// up to 8 threads at once, the calling one included: each piece is copied into staging
    /// memory by its own thread. Every piece is written before this returns, so the writes are
    /// ordered before the next submission as one `write_buffer` would be.
    fn parallel_write(&self, buffer: &wgpu::Buffer, offset: u64, bytes: &[u8]) {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .min(8)
            .min(bytes.len() / (4 << 20))
            .max(1);
        let piece = bytes.len().div_ceil(threads).next_multiple_of(4);
        let write = |i: usize| {
            let start = i * piece;
            if start < bytes.len() {
                let end = (start + piece).min(bytes.len());
                self.queue
                    .write_buffer(buffer, offset + start as u64, &bytes[start..end]);
            }
        };
        std::thread::scope(|s| {
            let others: Vec<_> = (1..threads)
                .map(|i| {
                    let spawned = std::thread::Builder::new()
                        .name("vera-upload".into())
                        .spawn_scoped(s, move || write(i));
                    (i, spawned.is_ok())
                })
                .collect();
            write(0);
            // A piece whose thread did not start is written here.
            for (i, started) in others {
                if !started {
                    write(i);
                }
            }
        });
    }

    fn uniform(&self, words: [u32; 4]) -> wgpu::Buffer {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.uniform_bytes(&bytes)
    }

    /// A uniform buffer holding `bytes` (several kernels' parameters at aligned offsets).
    fn uniform_bytes(&self, bytes: &[u8]) -> wgpu::Buffer {
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("vera params"),
                contents: bytes,
                usage: wgpu::BufferUsages::UNIFORM,
            })
    }

    /// Workgroup counts for `groups` workgroups as a 2-D grid within the per-dimension limit.
    fn grid(&self, groups: u32) -> (u32, u32) {
        let x = groups.clamp(1, self.max_workgroups);
        (x, groups.div_ceil(x))
    }

    /// Records one compute dispatch, the resources bound at 0, 1, 2, ….
    fn dispatch(
        &self,
        encoder: &mut Recording,
        kernel: &Kernel,
        label: &'static str,
        bindings: &[wgpu::BindingResource<'_>],
        grid: (u32, u32),
    ) {
        let numbered: Vec<(u32, wgpu::BindingResource<'_>)> = bindings
            .iter()
            .enumerate()
            .map(|(i, r)| (i as u32, r.clone()))
            .collect();
        self.dispatch_at(encoder, kernel, label, &numbered, grid);
    }

    /// Records one compute dispatch, each resource at the binding number given.
    fn dispatch_at(
        &self,
        encoder: &mut Recording,
        kernel: &Kernel,
        label: &'static str,
        bindings: &[(u32, wgpu::BindingResource<'_>)],
        grid: (u32, u32),
    ) {
        let entries: Vec<wgpu::BindGroupEntry<'_>> = bindings
            .iter()
            .map(|(i, r)| wgpu::BindGroupEntry {
                binding: *i,
                resource: r.clone(),
            })
            .collect();
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &kernel.layout,
            entries: &entries,
        });
        let mut pass = encoder.pass(label, u64::from(grid.0) * u64::from(grid.1));
        pass.set_pipeline(&kernel.pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(grid.0, grid.1, 1);
    }

    fn encoder(&self, label: &'static str) -> Recording {
        Recording::new(&self.device, label, self.profiler.as_ref())
    }

    /// Submits a recording (with its kernel timing, when profiling).
    fn submit(&self, recording: Recording) -> wgpu::SubmissionIndex {
        let (commands, after) = recording.finish(self.profiler.as_ref());
        let index = self.queue.submit([commands]);
        self.submissions
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(after) = after {
            after();
        }
        index
    }

    /// The time each kernel took on the GPU, per kernel and dispatch size, since the device
    /// was opened or [`GpuBackend::reset_kernel_times`]; `None` unless kernel timing is on
    /// ([`GpuOptions::profile`]) and the adapter has timestamp queries. Submissions still
    /// running are not counted yet.
    pub fn kernel_times(&self) -> Option<Vec<KernelTime>> {
        self.profiler.as_ref().map(Profiler::times)
    }

    /// Clears the kernel times.
    pub fn reset_kernel_times(&self) {
        if let Some(p) = &self.profiler {
            p.reset();
        }
    }

    /// Submits `encoder` after copying `ranges` of source buffers into one readback buffer, waits
    /// (bounded), and returns the bytes read, in range order.
    fn submit_and_read(
        &self,
        mut encoder: Recording,
        ranges: &[(&wgpu::Buffer, u64, u64)],
    ) -> Result<Vec<u8>> {
        let total: u64 = ranges.iter().map(|r| r.2).sum();
        let readback = self.buffer(
            "vera readback",
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            total,
        );
        let mut at = 0;
        for (src, offset, size) in ranges {
            encoder
                .encoder
                .copy_buffer_to_buffer(src, *offset, &readback, at, *size);
            at += size;
        }
        let index = self.submit(encoder);
        let (tx, rx) = mpsc::channel();
        readback
            .slice(..total.max(4))
            .map_async(wgpu::MapMode::Read, move |r| {
                let _ = tx.send(r);
            });
        self.wait(index)?;
        // The wait above ran the map callback; a missing answer means the device failed.
        rx.recv_timeout(Duration::from_secs(1))
            .map_err(|_| Error::Gpu("readback was never mapped".into()))?
            .map_err(|e| Error::Gpu(format!("cannot map readback buffer: {e}")))?;
        let bytes = {
            let view = readback
                .slice(..total.max(4))
                .get_mapped_range()
                .map_err(|e| Error::Gpu(format!("cannot read mapped buffer: {e}")))?;
            view[..total as usize].to_vec()
        };
        readback.unmap();
        self.recycle([readback]);
        self.check()?;
        Ok(bytes)
    }

    fn wait(&self, index: wgpu::SubmissionIndex) -> Result<()> {
        self.device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(index),
                timeout: Some(WAIT_LIMIT),
            })
            // A failed submission (a validation error) shows up here first; the recorded
            // wgpu error says what it was.
            .map_err(|e| match self.check() {
                Err(fault) => fault,
                Ok(()) => Error::Gpu(format!("waiting for the GPU: {e}")),
            })?;
        self.check()
    }
}
