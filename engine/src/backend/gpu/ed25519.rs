//! Ed25519 verification on the GPU: per-signature verdicts under `strict`, `zip215` and
//! `dalek`, identical to the reference crates'.
//!
//! Two kernels per run of signatures, recorded into one submission:
//! 1. `ed25519_k.wgsl`: k = SHA-512(R ‖ A ‖ M) mod L for each signature, reading R, A and M
//!    from where they were uploaded (no host-side concatenation);
//! 2. a verify kernel: decoding, the rule's checks and the equation, one flags word per
//!    signature; `ed25519_verify.wgsl` (one invocation per signature, the least work),
//!    `ed25519_verify_coop.wgsl` (two) or `ed25519_verify_lanes.wgsl` (eight, the shortest
//!    chain of dependent work: for small batches), chosen per batch ([`VerifyKernel`]).
//!
//! The GPU answers valid or invalid; the reason for a rejection is diagnosed on the host
//! ([`crate::ed25519::diagnose`]) by the engine, as the CPU path does.
//!
//! The pipelines are built on first use: Ed25519 kernels are large, and compiling them is the
//! slowest part of setting up a device (see [`GpuBackend::prepare_ed25519`]).

use std::ops::Range;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

use super::base_table::{BASE_TABLE, COMB_TABLE};
use super::{bind, GpuBackend, Kernel};
use crate::batch::SignatureBatch;
use crate::ed25519::Rule;
use crate::error::{Error, Result};

/// Invocations per workgroup in every kernel.
const WORKGROUP: u32 = 64;
/// Signatures per workgroup of the cooperative verify kernel.
const COOP_PER_WORKGROUP: u32 = 32;
/// Signatures per workgroup of the lane-parallel verify kernel (eight invocations each).
const LANES_PER_WORKGROUP: u32 = 8;
/// The flag the lane-parallel kernel answers where the adapter's subgroups are not laid out as
/// it needs (four consecutive lanes per point): an error, not a verdict.
const LAYOUT_FAULT: u32 = 128;

/// The longest message `ed25519_k.wgsl` hashes on a software adapter, in bytes. llvmpipe stops
/// an invocation after 65,535 loop iterations in all (see `sha512.rs`); the kernel takes 17 per
/// 128-byte block plus ≈ 3,400 for the reduction mod L, so 192 KiB (≈ 26,000 iterations) leaves
/// a wide margin. The host computes k for longer messages there; the verdict is still the GPU's.
const SOFTWARE_MAX_MESSAGE: u64 = 192 * 1024;

/// Signatures per run at most, so that per-signature buffers stay small and one run's latency
/// bounded (the whole batch is still one call).
const MAX_RUN: usize = 1 << 16;

/// The Ed25519 pipelines, each built on first use.
#[derive(Default)]
pub(super) struct Kernels {
    k: OnceLock<Kernel>,
    /// The verify kernels, each on the u32 field path (0) and the u64 one (1).
    single: [OnceLock<Kernel>; 2],
    coop: [OnceLock<Kernel>; 2],
    /// `None` where the driver rejected the kernel (it uses subgroup operations, which the
    /// others do not): the device then runs the others, and stays healthy.
    lanes: [OnceLock<Option<Kernel>>; 2],
    /// Set when the lane-parallel kernel failed on this device (it did not build, or found the
    /// subgroups laid out otherwise than it needs): [`VerifyKernel::Auto`] stops choosing it.
    lanes_failed: std::sync::atomic::AtomicBool,
    /// [`COMB_TABLE`] on the device, uploaded once.
    comb_table: OnceLock<wgpu::Buffer>,
    scalar_selftest: OnceLock<Kernel>,
    /// [`BASE_TABLE`] on the device, uploaded once.
    base_table: OnceLock<wgpu::Buffer>,
    /// How long the first [`GpuBackend::prepare_ed25519`] took.
    build_time: OnceLock<Duration>,
}

impl Kernels {
    fn k(&self, gpu: &GpuBackend) -> &Kernel {
        self.k
            .get_or_init(|| gpu.build_kernel(&vera_shaders::ED25519_K))
    }

    /// The verify kernel of `kind` on the device's field path: 64-bit products where the device
    /// has SHADER_INT64 (unless told otherwise), u32 only elsewhere.
    fn of(&self, gpu: &GpuBackend, kind: Kind) -> Result<&Kernel> {
        use vera_shaders as s;
        let path = usize::from(gpu.int64_field());
        let (cells, shaders) = match kind {
            Kind::Single => (&self.single, [&s::ED25519_VERIFY, &s::ED25519_VERIFY_U64]),
            Kind::Coop => (
                &self.coop,
                [&s::ED25519_VERIFY_COOP, &s::ED25519_VERIFY_COOP_U64],
            ),
            Kind::Lanes => {
                let shaders = [&s::ED25519_VERIFY_LANES, &s::ED25519_VERIFY_LANES_U64];
                let built = self.lanes[path].get_or_init(|| {
                    gpu.try_build_kernel(shaders[path])
                        .inspect_err(|e| {
                            self.lanes_failed
                                .store(true, std::sync::atomic::Ordering::Relaxed);
                            tracing::warn!(
                                "{}: the lane-parallel Ed25519 kernel does not build ({e}); \
                                 the other kernels take its batches",
                                gpu.report.name
                            );
                        })
                        .ok()
                });
                return built.as_ref().ok_or_else(|| {
                    Error::Gpu(format!(
                        "the lane-parallel Ed25519 kernel does not build on {}",
                        gpu.report.name
                    ))
                });
            }
        };
        Ok(cells[path].get_or_init(|| gpu.build_kernel(shaders[path])))
    }
}

/// Which verify kernel runs a batch (see [`GpuOptions::verify_kernel`](super::GpuOptions)).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum VerifyKernel {
    /// By batch size, from the device's [`KernelLimits`]: the lane-parallel kernel for small
    /// batches, then the cooperative one, then one invocation per signature. The limits are
    /// measured by calibration on the device; before that, [`LANES_MAX`] and [`COOP_MAX`]
    /// where the adapter suits each kernel (see [`KernelLimits`]).
    #[default]
    Auto,
    /// One invocation per signature, always.
    Single,
    /// Two cooperating invocations per signature, always.
    Coop,
    /// Eight invocations per signature, four per point, exchanging operands by subgroup
    /// shuffles; always (an error on adapters without subgroup operations on subgroups 4 to
    /// 64 wide).
    Lanes,
}

/// The environment variable that picks the verify kernel: `single`, `coop`, `lanes` or `auto`.
pub const VERIFY_KERNEL_ENV: &str = "VERA_GPU_VERIFY_KERNEL";

/// Batches up to this size take the cooperative kernel under [`VerifyKernel::Auto`] until the
/// device's calibration measures where it stops paying: below it a large GPU is far from full
/// with one invocation per signature, so the second invocation costs nothing but shortens each
/// verification.
pub const COOP_MAX: usize = 32_768;

impl VerifyKernel {
    /// The choice in `VERA_GPU_VERIFY_KERNEL`, if it names one.
    pub fn from_env() -> Option<VerifyKernel> {
        match std::env::var(VERIFY_KERNEL_ENV).ok()?.as_str() {
            "single" => Some(VerifyKernel::Single),
            "coop" => Some(VerifyKernel::Coop),
            "lanes" => Some(VerifyKernel::Lanes),
            "auto" => Some(VerifyKernel::Auto),
            _ => None,
        }
    }
}

/// Batches up to this size take the lane-parallel kernel under [`VerifyKernel::Auto`] where the
/// adapter runs it, until the device's calibration measures where it stops paying: eight
/// invocations per signature shorten the latency-bound small batches; past a few thousand
/// signatures the GPU fills up and the kernel doing less work in all wins.
pub const LANES_MAX: usize = 8_192;

/// A verify kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Single,
    Coop,
    Lanes,
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Single => "1 invocation per signature",
            Kind::Coop => "2 cooperating invocations per signature",
            Kind::Lanes => "8 invocations per signature, 4 per point (subgroup shuffles)",
        }
    }

    /// The label of its dispatches (and kernel times).
    fn label(self) -> &'static str {
        match self {
            Kind::Single => "vera ed25519_verify",
            Kind::Coop => "vera ed25519_verify_coop",
            Kind::Lanes => "vera ed25519_verify_lanes",
        }
    }

    /// Signatures per workgroup.
    fn per_workgroup(self) -> u32 {
        match self {
            Kind::Single => WORKGROUP,
            Kind::Coop => COOP_PER_WORKGROUP,
            Kind::Lanes => LANES_PER_WORKGROUP,
        }
    }
}

/// Whether the device runs the lane-parallel kernel: it was opened with subgroups, every
/// subgroup it may run is at least 4 wide (a point's four invocations in one), and no wider
/// than a workgroup.
fn lanes_supported(gpu: &GpuBackend) -> bool {
    let (min, max) = gpu.report.subgroup_sizes;
    gpu.has_subgroups && min >= 4 && max <= WORKGROUP
}

/// Whether [`VerifyKernel::Auto`] may choose the lane-parallel kernel: supported, and it has not
/// failed on this device.
fn lanes_usable(gpu: &GpuBackend) -> bool {
    lanes_supported(gpu)
        && !gpu
            .ed25519
            .lanes_failed
            .load(std::sync::atomic::Ordering::Relaxed)
}

/// Up to which batch sizes [`VerifyKernel::Auto`] takes the lane-parallel kernel, then the
/// cooperative one (past both, the one-invocation kernel). Each device starts with provisional
/// limits — the lane-parallel kernel up to [`LANES_MAX`] on hardware adapters with subgroups 4
/// to 64 wide, the cooperative one up to [`COOP_MAX`] where subgroups are at most 32 wide — and
/// a calibration measures the kernels side by side on the device and replaces them
/// ([`GpuBackend::set_kernel_limits`]; a forced-GPU engine takes them from the cached
/// calibration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KernelLimits {
    /// Batches of up to this many signatures take the lane-parallel kernel (0: none).
    pub lanes_max: usize,
    /// Then batches of up to this many take the cooperative kernel.
    pub coop_max: usize,
}

impl KernelLimits {
    /// The limits before measurement: the lane-parallel kernel up to [`LANES_MAX`] on hardware
    /// adapters with subgroups 4 to 64 wide (on a software adapter, which runs on the CPU's
    /// cores, the kernel doing the least work wins); the cooperative one up to [`COOP_MAX`]
    /// where subgroups are at most 32 wide (so that its two roles do not share a subgroup).
    fn provisional(gpu: &GpuBackend) -> KernelLimits {
        KernelLimits {
            lanes_max: if !gpu.report.software && lanes_supported(gpu) {
                LANES_MAX
            } else {
                0
            },
            coop_max: if gpu.report.subgroup_sizes.1 <= 32 {
                COOP_MAX
            } else {
                0
            },
        }
    }
}

/// The kernels this device can run, for measuring them side by side.
pub(crate) fn kernels_available(gpu: &GpuBackend) -> Vec<VerifyKernel> {
    let mut k = Vec::new();
    if lanes_supported(gpu) {
        k.push(VerifyKernel::Lanes);
    }
    k.extend([VerifyKernel::Coop, VerifyKernel::Single]);
    k
}

/// The kernel that runs a batch of `n` signatures.
fn kind_for(gpu: &GpuBackend, n: usize) -> Result<Kind> {
    kind_of(gpu, gpu.verify_kernel, n)
}

/// The kernel `choice` means for a batch of `n` signatures.
fn kind_of(gpu: &GpuBackend, choice: VerifyKernel, n: usize) -> Result<Kind> {
    Ok(match choice {
        VerifyKernel::Single => Kind::Single,
        VerifyKernel::Coop => Kind::Coop,
        VerifyKernel::Lanes if lanes_supported(gpu) => Kind::Lanes,
        VerifyKernel::Lanes => {
            return Err(Error::Gpu(format!(
                "the lane-parallel Ed25519 kernel needs subgroup operations on subgroups 4 to 64 \
                 wide; {} has {} ({}–{} wide)",
                gpu.report.name,
                if gpu.has_subgroups { "them" } else { "none" },
                gpu.report.subgroup_sizes.0,
                gpu.report.subgroup_sizes.1
            )))
        }
        VerifyKernel::Auto => {
            let limits = gpu.kernel_limits();
            if n <= limits.lanes_max && lanes_usable(gpu) {
                Kind::Lanes
            } else if n <= limits.coop_max {
                Kind::Coop
            } else {
                Kind::Single
            }
        }
    })
}

/// A read-only storage buffer holding `table`, built once in `cell`.
fn table_buffer<'g>(
    gpu: &'g GpuBackend,
    cell: &'g OnceLock<wgpu::Buffer>,
    label: &'static str,
    table: &[[u32; 24]],
) -> &'g wgpu::Buffer {
    cell.get_or_init(|| {
        use wgpu::util::DeviceExt;
        let bytes: Vec<u8> = table
            .as_flattened()
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        gpu.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &bytes,
                usage: wgpu::BufferUsages::STORAGE,
            })
    })
}

/// The base-point table on the device (uploaded on first use, then kept).
fn base_table(gpu: &GpuBackend) -> &wgpu::Buffer {
    table_buffer(
        gpu,
        &gpu.ed25519.base_table,
        "vera ed25519 base table",
        &BASE_TABLE,
    )
}

/// The comb of the base point on the device (uploaded on first use, then kept).
fn comb_table(gpu: &GpuBackend) -> &wgpu::Buffer {
    table_buffer(
        gpu,
        &gpu.ed25519.comb_table,
        "vera ed25519 comb table",
        &COMB_TABLE,
    )
}

fn rule_code(rule: Rule) -> u32 {
    match rule {
        Rule::Strict => 0,
        Rule::Zip215 => 1,
        Rule::Dalek => 2,
    }
}

/// Bytes of the inputs buffer per signature besides its message: A (32), R ‖ S (64) and its
/// span (8).
const PER_SIGNATURE: u64 = 104;

/// The next run of signatures from `start`: at most [`MAX_RUN`], and all of its inputs — keys,
/// signatures, spans and the messages the GPU hashes (those up to `max_len` bytes), each section
/// aligned to `align` — within one binding (so within one buffer too).
fn next_run(
    batch: SignatureBatch<'_>,
    start: usize,
    max_len: u64,
    max_binding: u64,
    align: u64,
) -> Range<usize> {
    let msgs = batch.messages();
    // Room for the alignment padding of the four sections and the data's trailing word.
    let budget = max_binding.saturating_sub(4 * align + 4);
    let mut bytes = 0u64;
    let mut end = start;
    while end < batch.len() && end - start < MAX_RUN {
        let len = msgs.get(end).map_or(0, <[u8]>::len) as u64;
        let add = PER_SIGNATURE + if len > max_len { 0 } else { len };
        // The first signature always fits: `max_len` leaves room for it.
        if end > start && bytes + add > budget {
            break;
        }
        bytes += add;
        end += 1;
    }
    start..end
}

/// Whether each signature of `batch` is valid under `rule`, in order.
pub(super) fn verify(
    gpu: &GpuBackend,
    choice: VerifyKernel,
    rule: Rule,
    batch: SignatureBatch<'_>,
) -> Result<Vec<bool>> {
    gpu.check()?;
    let mut out = Vec::with_capacity(batch.len());
    if batch.is_empty() {
        return Ok(out);
    }
    let kernels = &gpu.ed25519;
    let k_kernel = kernels.k(gpu);
    // Under Auto, a lane-parallel kernel that fails to build or finds the subgroups laid out
    // otherwise is given up on this device (once, logged) and the batch goes on with the others.
    let pick = || -> Result<(Kind, &Kernel)> {
        let kind = kind_of(gpu, choice, batch.len())?;
        match kernels.of(gpu, kind) {
            Ok(k) => Ok((kind, k)),
            Err(_) if choice == VerifyKernel::Auto => {
                let kind = kind_of(gpu, choice, batch.len())?;
                Ok((kind, kernels.of(gpu, kind)?))
            }
            Err(e) => Err(e),
        }
    };
    let (mut kind, mut verify_kernel) = pick()?;
    // A message the GPU hashes fits one binding with its signature's other inputs, and is no
    // longer than a GPU hashes well (longer ones, an attacker's included, are hashed here).
    let room = gpu
        .max_binding
        .saturating_sub(4 * gpu.storage_align + 4 + PER_SIGNATURE)
        .min(super::sha256::GPU_MAX_MESSAGE);
    let max_len = if gpu.report.software {
        SOFTWARE_MAX_MESSAGE.min(room)
    } else {
        room
    };
    let mut start = 0;
    while start < batch.len() {
        let run = next_run(batch, start, max_len, gpu.max_binding, gpu.storage_align);
        let Some(sub) = batch.slice(run.clone()) else {
            return Err(Error::Gpu("signature run out of range".into()));
        };
        match verify_run(gpu, k_kernel, (verify_kernel, kind), rule, sub, max_len)? {
            Some(flags) => out.extend(flags),
            None if choice == VerifyKernel::Auto => {
                kernels
                    .lanes_failed
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                tracing::warn!(
                    "{}: subgroups are not laid out as the lane-parallel Ed25519 kernel needs; \
                     the other kernels take its batches from now on",
                    gpu.report.name
                );
                (kind, verify_kernel) = pick()?;
                // The same run again, with another kernel.
                continue;
            }
            None => {
                return Err(Error::Gpu(format!(
                    "{}'s subgroups are not laid out as the lane-parallel Ed25519 kernel needs \
                     (four consecutive lanes per point); set {VERIFY_KERNEL_ENV}=coop or single",
                    gpu.report.name
                )))
            }
        }
        start = run.end;
    }
    Ok(out)
}

/// One run: one upload, both dispatches, one submission, the flags read back; `None` where the
/// lane-parallel kernel reported its subgroup layout wrong (no verdicts then).
///
/// Small batches are what a node sends most, and for them the fixed cost of a call counts: all
/// inputs (keys, signatures, spans, messages) travel in one buffer through one write, and both
/// kernels' parameters in one uniform buffer.
fn verify_run(
    gpu: &GpuBackend,
    k_kernel: &Kernel,
    (verify_kernel, kind): (&Kernel, Kind),
    rule: Rule,
    batch: SignatureBatch<'_>,
    max_len: u64,
) -> Result<Option<Vec<bool>>> {
    let n = batch.len() as u64;
    let count = batch.len() as u32;
    let msgs = batch.messages();

    // Messages the GPU hashes, packed; the others get their k from the host (on every core:
    // they are long).
    let packed: usize = msgs
        .iter()
        .map(<[u8]>::len)
        .filter(|&l| l as u64 <= max_len)
        .sum();

    // Inputs, assembled in place (each message copied once): keys | signatures | spans |
    // messages (+ a word for unaligned reads past the end), each section at `align`.
    let align = gpu.storage_align;
    let section = |len: u64| len.next_multiple_of(align);
    let sigs_at = section(n * 32);
    let spans_at = sigs_at + section(n * 64);
    let data_at = spans_at + section(n * 8);
    let data_len = (packed as u64 + 4).next_multiple_of(4);
    let mut inputs = Vec::with_capacity((data_at + data_len) as usize);
    inputs.extend_from_slice(batch.public_keys().as_flattened());
    inputs.resize(sigs_at as usize, 0);
    inputs.extend_from_slice(batch.signatures().as_flattened());
    inputs.resize(data_at as usize, 0);
    let mut long = Vec::new();
    for (i, msg) in msgs.iter().enumerate() {
        let len = msg.len() as u64;
        // (start in the messages section, length); a message hashed here has no start.
        let span = if len > max_len {
            long.push(i);
            (0, u32::try_from(len).unwrap_or(u32::MAX))
        } else {
            let start = inputs.len() as u64 - data_at;
            inputs.extend_from_slice(msg);
            (start as u32, len as u32)
        };
        let at = spans_at as usize + 8 * i;
        inputs[at..at + 4].copy_from_slice(&span.0.to_le_bytes());
        inputs[at + 4..at + 8].copy_from_slice(&span.1.to_le_bytes());
    }
    inputs.resize((data_at + data_len) as usize, 0);
    let host_k: Vec<(usize, [u8; 32])> = {
        use rayon::prelude::*;
        long.par_iter()
            .filter_map(|&i| {
                let (pk, msg, sig) = batch.get(i)?;
                let k = Scalar::from_hash(
                    Sha512::new()
                        .chain_update(&sig[..32])
                        .chain_update(pk)
                        .chain_update(msg),
                );
                Some((i, k.to_bytes()))
            })
            .collect()
    };
    // k and the flags in buffers of their own: the verify kernel reads one and writes the
    // other, and one buffer cannot be bound both ways in a dispatch.
    let in_buf = gpu.storage("vera ed25519 inputs", inputs.len() as u64);
    let ks = gpu.storage("vera ed25519 k", n * 32);
    let flags = gpu.storage("vera ed25519 flags", n * 4);
    gpu.upload(&in_buf, 0, &inputs);
    for (i, k) in &host_k {
        gpu.upload(&ks, *i as u64 * 32, k);
    }

    let grid = gpu.grid(count.div_ceil(WORKGROUP));
    let row = grid.0 * WORKGROUP;
    // The cooperative and lane-parallel kernels: several invocations per signature, their
    // row counted in workgroups.
    let (v_grid, v_row) = match kind {
        Kind::Single => (grid, row),
        Kind::Coop | Kind::Lanes => {
            let g = gpu.grid(count.div_ceil(kind.per_workgroup()));
            (g, g.0)
        }
    };
    // Both kernels' parameters in one buffer, the second at the uniform offset alignment.
    let ua = gpu.uniform_align as usize;
    let mut params = vec![0u8; 2 * ua];
    // (`max_len` is far below 2^32 − 64, so `len + 64` cannot wrap in the kernel.)
    let k_words = [count, row, max_len as u32, 0];
    let test_flags = u32::from(gpu.simulate_layout_fault && kind == Kind::Lanes);
    let v_words = [count, v_row, rule_code(rule), test_flags];
    for (at, words) in [(0, k_words), (ua, v_words)] {
        for (j, w) in words.iter().enumerate() {
            params[at + 4 * j..at + 4 * j + 4].copy_from_slice(&w.to_le_bytes());
        }
    }
    let params = gpu.uniform_bytes(&params);
    let mut encoder = gpu.encoder("vera ed25519");
    gpu.dispatch(
        &mut encoder,
        k_kernel,
        "vera ed25519_k",
        &[
            bind(&params, 0, 16),
            bind(&in_buf, 0, n * 32),
            bind(&in_buf, sigs_at, n * 64),
            bind(&in_buf, data_at, data_len),
            bind(&in_buf, spans_at, n * 8),
            bind(&ks, 0, n * 32),
        ],
        grid,
    );
    // Bindings 0-4 are common; the one-invocation kernel adds the base table (5), the others
    // the comb (6).
    let comb = kind != Kind::Single;
    let table = if comb {
        comb_table(gpu)
    } else {
        base_table(gpu)
    };
    gpu.dispatch_at(
        &mut encoder,
        verify_kernel,
        kind.label(),
        &[
            (0, bind(&params, ua as u64, 16)),
            (1, bind(&in_buf, 0, n * 32)),
            (2, bind(&in_buf, sigs_at, n * 64)),
            (3, bind(&ks, 0, n * 32)),
            (4, bind(&flags, 0, n * 4)),
            (if comb { 6 } else { 5 }, table.as_entire_binding()),
        ],
        v_grid,
    );
    let bytes = gpu.submit_and_read(encoder, &[(&flags, 0, n * 4)])?;
    gpu.recycle([in_buf, ks, flags]);
    if bytes
        .chunks_exact(4)
        .any(|w| w[0] & LAYOUT_FAULT as u8 != 0)
    {
        return Ok(None);
    }
    Ok(Some(bytes.chunks_exact(4).map(|w| w[0] & 1 == 1).collect()))
}

/// What `scalar_selftest.wgsl` computed for one 64-byte input: h mod L, its signed radix-16
/// digits (decoded), and whether the low 32 bytes are below L.
pub type ScalarSelftest = ([u8; 32], [i8; 64], bool);

impl GpuBackend {
    /// Whether each signature is valid under `rule`, in order (the GPU's verdicts; the engine
    /// adds the diagnosis of rejections).
    pub fn verify(&self, rule: Rule, batch: SignatureBatch<'_>) -> Result<Vec<bool>> {
        verify(self, self.verify_kernel, rule, batch)
    }

    /// [`GpuBackend::verify`] with the given kernel choice rather than the device's (for
    /// measuring the kernels side by side).
    pub fn verify_with(
        &self,
        kernel: VerifyKernel,
        rule: Rule,
        batch: SignatureBatch<'_>,
    ) -> Result<Vec<bool>> {
        verify(self, kernel, rule, batch)
    }

    /// Whether this device can run the lane-parallel kernel ([`VerifyKernel::Lanes`]):
    /// subgroup operations on subgroups 4 to 64 wide.
    pub fn runs_lanes_kernel(&self) -> bool {
        lanes_supported(self)
    }

    /// Up to which batch sizes [`VerifyKernel::Auto`] takes which kernel on this device.
    pub fn kernel_limits(&self) -> KernelLimits {
        let set = *self.kernel_limits.lock().unwrap_or_else(|p| p.into_inner());
        set.unwrap_or_else(|| KernelLimits::provisional(self))
    }

    /// Replaces the kernel limits (calibration does, from measurements on this device).
    pub fn set_kernel_limits(&self, limits: KernelLimits) {
        *self.kernel_limits.lock().unwrap_or_else(|p| p.into_inner()) = Some(limits);
    }

    /// Which verify kernel runs which batch sizes on this device, in words (for `vera info`).
    pub fn verify_kernels(&self) -> String {
        let limits = self.kernel_limits();
        let lanes = limits.lanes_max;
        let coop = limits.coop_max.max(lanes);
        let mut spans: Vec<(Kind, usize)> = Vec::new();
        for (from, to) in [
            (1, lanes),
            (lanes.saturating_add(1), coop),
            (coop.saturating_add(1), usize::MAX),
        ] {
            if from > to {
                continue;
            }
            match kind_for(self, from) {
                Ok(k) => match spans.last_mut() {
                    Some((last, upto)) if *last == k => *upto = to,
                    _ => spans.push((k, to)),
                },
                Err(e) => return e.to_string(),
            }
        }
        let parts: Vec<String> = spans
            .iter()
            .map(|&(k, upto)| match upto {
                usize::MAX => k.describe().to_string(),
                n => format!("{} up to {n} signatures", k.describe()),
            })
            .collect();
        parts.join(", then ")
    }

    /// Builds the Ed25519 pipelines now rather than on the first batch, and returns how long
    /// that took (the first call's time; later calls return at once with the same figure).
    pub fn prepare_ed25519(&self) -> Duration {
        *self.ed25519.build_time.get_or_init(|| {
            let started = Instant::now();
            self.ed25519.k(self);
            // (A kernel the driver rejects shows up as the device's fault, or for the
            // lane-parallel one as its being given up, when used.)
            let _ = self.ed25519.of(self, Kind::Single);
            base_table(self);
            // The kernel small batches take too, if it is another.
            if let Ok(kind @ (Kind::Coop | Kind::Lanes)) = kind_for(self, 1) {
                let _ = self.ed25519.of(self, kind);
                comb_table(self);
            }
            started.elapsed()
        })
    }

    /// Runs the scalar self-test kernel (`scalar_selftest.wgsl`) on 64-byte inputs; for tests of
    /// the GPU's arithmetic mod L against curve25519-dalek.
    #[doc(hidden)]
    pub fn scalar_selftest(&self, inputs: &[[u8; 64]]) -> Result<Vec<ScalarSelftest>> {
        let kernel = self
            .ed25519
            .scalar_selftest
            .get_or_init(|| self.build_kernel(&vera_shaders::SCALAR_SELFTEST));
        let width = vera_shaders::SCALAR_SELFTEST_WORDS as usize * 4;
        let bytes = self.run_fixed_width(
            kernel,
            "vera scalar_selftest",
            inputs.as_flattened(),
            64,
            width,
        )?;
        Ok(bytes
            .chunks_exact(width)
            .map(|r| {
                let mut k = [0u8; 32];
                k.copy_from_slice(&r[..32]);
                let mut digits = [0i8; 64];
                for (i, d) in digits.iter_mut().enumerate() {
                    let nibble = (r[32 + i / 2] >> (4 * (i % 2))) & 15;
                    *d = ((nibble << 4) as i8) >> 4;
                }
                (k, digits, r[64] != 0)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::{BASE_TABLE, COMB_TABLE};
    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::scalar::Scalar;
    use num_bigint::BigUint;

    fn int(words: &[u32]) -> BigUint {
        BigUint::from_slice(words)
    }

    /// `e` is (Y + X, Y − X, 2d·X·Y) of an affine point (x, y) on the curve whose compressed
    /// encoding is curve25519-dalek's for [scalar]B.
    fn check_entry(what: &str, e: &[u32; 24], scalar: Scalar) {
        let p = (BigUint::from(1u8) << 255u32) - 19u8;
        let inv = |x: &BigUint| x.modpow(&(&p - 2u8), &p);
        let d = (&p - 121_665u32) * inv(&BigUint::from(121_666u32)) % &p;
        let half = inv(&BigUint::from(2u8));
        let (ypx, ymx, t2d) = (int(&e[..8]), int(&e[8..16]), int(&e[16..]));
        assert!(ypx < p && ymx < p && t2d < p, "{what} not canonical");
        let y = (&ypx + &ymx) * &half % &p;
        let x = (&ypx + &p - &ymx) * &half % &p;
        assert_eq!(t2d, BigUint::from(2u8) * &d * &x * &y % &p, "{what}: 2dxy");
        let (xx, yy) = (&x * &x % &p, &y * &y % &p);
        assert_eq!(
            (&yy + &p - &xx) % &p,
            (BigUint::from(1u8) + &d * &xx * &yy) % &p,
            "{what} off the curve"
        );
        let mut enc = [0u8; 32];
        let yb = y.to_bytes_le();
        enc[..yb.len()].copy_from_slice(&yb);
        enc[31] |= u8::from(x.bit(0)) << 7;
        let want = (scalar * ED25519_BASEPOINT_POINT).compress();
        assert_eq!(
            enc,
            want.to_bytes(),
            "{what} is not the right multiple of B"
        );
    }

    #[test]
    fn base_table_holds_the_multiples_of_b() {
        for (j, e) in BASE_TABLE.iter().enumerate() {
            check_entry(&format!("BASE_TABLE[{j}]"), e, Scalar::from(j as u64));
        }
    }

    #[test]
    fn comb_table_holds_the_multiples_of_powers_of_16() {
        let mut power = Scalar::ONE;
        for i in 0..64 {
            for j in 0..9 {
                let e = &COMB_TABLE[9 * i + j];
                check_entry(
                    &format!("COMB_TABLE[{i}][{j}]"),
                    e,
                    Scalar::from(j as u64) * power,
                );
            }
            power *= Scalar::from(16u8);
        }
    }
}
