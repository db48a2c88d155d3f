//! SHA-256 and double SHA-256 batches on the GPU: `sha256_batch.wgsl`, one invocation per
//! message.

use std::ops::Range;

use super::{GpuBackend, Kernel};
use crate::batch::Messages;
use crate::error::Result;

/// Invocations per workgroup in `sha256_batch.wgsl`.
const WORKGROUP: u32 = 64;

/// The longest message one invocation hashes on a software adapter, in bytes. llvmpipe stops
/// every loop of an invocation after 65,535 iterations in all (`LP_MAX_TGSI_LOOP_ITERATIONS`)
/// and silently returns what it has; the kernel takes 18 per 64-byte block, so a message of
/// 233,016 bytes or more came back wrong. Longer messages take the CPU path there.
const SOFTWARE_MAX_MESSAGE: u64 = 128 * 1024;

/// What differs between the batch hash kernels that share this host code (`sha256_batch.wgsl`
/// and `sha512_batch.wgsl` have the same bindings and parameters).
pub(super) struct BatchHash {
    /// Digest bytes per message.
    pub(super) digest_len: u64,
    /// The longest message one invocation hashes on a software adapter, in bytes.
    pub(super) software_max_message: u64,
    /// Labels of the message and offset buffers and of the dispatch.
    pub(super) labels: [&'static str; 3],
}

/// SHA-256 through `sha256_batch.wgsl`.
pub(super) const SHA256_BATCH: BatchHash = BatchHash {
    digest_len: 32,
    software_max_message: SOFTWARE_MAX_MESSAGE,
    labels: [
        "vera sha256 messages",
        "vera sha256 offsets",
        "vera sha256_batch",
    ],
};

/// The longest message the GPU hashes on any adapter, in bytes. One invocation hashes a message
/// block after block, at a small fraction of a CPU core's speed (SHA-NI: ≈ 2 GB/s), and holds its
/// whole batch back meanwhile: a long message, or an attacker's, is better hashed on the host.
pub(super) const GPU_MAX_MESSAGE: u64 = 64 * 1024;

/// The longest message the GPU hashes; longer ones are hashed on the CPU with the same result.
pub(super) fn max_message(gpu: &GpuBackend, hash: &BatchHash) -> u64 {
    let bind = (gpu.max_binding - 4).min(GPU_MAX_MESSAGE);
    if gpu.report.software {
        bind.min(hash.software_max_message)
    } else {
        bind
    }
}

/// [`next_run_of`] for SHA-256.
pub(super) fn next_run(gpu: &GpuBackend, msgs: Messages<'_>, start: usize) -> Range<usize> {
    next_run_of(gpu, &SHA256_BATCH, msgs, start)
}

/// The next run of messages from `start` that fits every binding: message bytes, `n + 1`
/// offsets and `n` digests each within the binding limit, and no message longer than
/// [`max_message`]. Returns an empty range when message `start` itself is too long.
pub(super) fn next_run_of(
    gpu: &GpuBackend,
    hash: &BatchHash,
    msgs: Messages<'_>,
    start: usize,
) -> Range<usize> {
    let max_items = (gpu.max_binding / hash.digest_len) as usize - 1;
    let longest = max_message(gpu, hash);
    let offsets = msgs.offsets();
    let base = offsets[start] as u64;
    let mut end = start;
    while end < msgs.len()
        && end - start < max_items
        && offsets[end + 1] as u64 - base + 4 <= gpu.max_binding
        && u64::from(offsets[end + 1] - offsets[end]) <= longest
    {
        end += 1;
    }
    start..end
}

/// What a batch hash kernel computes of each message `m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Framing {
    /// H(m).
    Plain,
    /// H(b ‖ m) for the byte b: RFC 6962 leaf hashes with b = 0, without copying the leaves.
    Prefixed(u8),
    /// SHA-256(SHA-256(m)), Bitcoin's txids and block hashes (`sha256_batch.wgsl` only).
    Double,
}

impl Framing {
    /// `Params.flags` and `Params.prefix` of the batch kernels.
    fn params(self) -> (u32, u32) {
        match self {
            Framing::Plain => (0, 0),
            Framing::Prefixed(b) => (1, u32::from(b)),
            Framing::Double => (2, 0),
        }
    }
}

/// [`record_of`] for SHA-256; a run of 64-byte messages hashed plainly, or of 32-byte leaves
/// with the 0x00 prefix, goes to a specialised kernel of `sha256_fixed.wgsl`.
pub(super) fn record(
    gpu: &GpuBackend,
    encoder: &mut super::profile::Recording,
    msgs: Messages<'_>,
    run: Range<usize>,
    framing: Framing,
    digests: &wgpu::Buffer,
) -> Vec<wgpu::Buffer> {
    let offsets = &msgs.offsets()[run.start..=run.end];
    let all = |len: u32| offsets.windows(2).all(|w| w[1] - w[0] == len);
    match framing {
        Framing::Plain if all(64) => return record_fixed(gpu, encoder, msgs, run, 64, digests),
        Framing::Prefixed(0) if all(32) => {
            return record_fixed(gpu, encoder, msgs, run, 32, digests)
        }
        _ => {}
    }
    record_of(
        gpu,
        &gpu.sha256,
        &SHA256_BATCH,
        encoder,
        msgs,
        run,
        framing,
        digests,
    )
}

/// Records the hashing of the messages `run`, all `len` bytes and laid end to end, into the
/// start of `digests` with `sha256_fixed.wgsl`: 64-byte messages as they are, 32-byte ones as
/// RFC 6962 leaves (with the 0x00 prefix).
fn record_fixed(
    gpu: &GpuBackend,
    encoder: &mut super::profile::Recording,
    msgs: Messages<'_>,
    run: Range<usize>,
    len: usize,
    digests: &wgpu::Buffer,
) -> Vec<wgpu::Buffer> {
    let (cell, shader) = if len == 64 {
        (&gpu.sha256_fixed64, &vera_shaders::SHA256_FIXED64)
    } else {
        (&gpu.sha256_leaf32, &vera_shaders::SHA256_LEAF32)
    };
    let kernel = cell.get_or_init(|| gpu.build_kernel(shader));
    let base = msgs.offsets()[run.start] as usize;
    let bytes = &msgs.bytes()[base..base + len * run.len()];
    let count = run.len() as u32;
    let data = gpu.storage("vera sha256 messages", bytes.len() as u64);
    gpu.upload(&data, 0, bytes);
    let grid = gpu.grid(count.div_ceil(WORKGROUP));
    let params = gpu.uniform([count, grid.0 * WORKGROUP, 0, 0]);
    let binding = |buffer, size| super::bind(buffer, 0, size);
    gpu.dispatch(
        encoder,
        kernel,
        shader.name,
        &[
            params.as_entire_binding(),
            binding(&data, bytes.len() as u64),
            binding(digests, u64::from(count) * 32),
        ],
        grid,
    );
    vec![data]
}

/// Records the hashing of messages `run`, framed as `framing` says, by `kernel` into the start
/// of `digests`. Returns the buffers to recycle once the work is submitted.
#[allow(clippy::too_many_arguments)]
pub(super) fn record_of(
    gpu: &GpuBackend,
    kernel: &Kernel,
    hash: &BatchHash,
    encoder: &mut super::profile::Recording,
    msgs: Messages<'_>,
    run: Range<usize>,
    framing: Framing,
    digests: &wgpu::Buffer,
) -> Vec<wgpu::Buffer> {
    // Only the SHA-256 kernel reads the double flag; SHA-512's would take it for a prefix
    // length and give wrong digests, so this is a hard stop (no caller can reach it: SHA-512's
    // one call site passes `Plain`).
    assert!(
        framing != Framing::Double || hash.digest_len == 32,
        "double SHA-256 framing on a kernel that does not take it"
    );
    let offsets = msgs.offsets();
    let base = offsets[run.start];
    let bytes = &msgs.bytes()[base as usize..offsets[run.end] as usize];
    let rebased: Vec<u8> = offsets[run.start..=run.end]
        .iter()
        .flat_map(|o| (o - base).to_le_bytes())
        .collect();
    let count = run.len() as u32;
    let data = gpu.storage(hash.labels[0], bytes.len() as u64 + 4);
    let offs = gpu.storage(hash.labels[1], rebased.len() as u64);
    gpu.upload(&data, 0, bytes);
    gpu.upload(&offs, 0, &rebased);
    let grid = gpu.grid(count.div_ceil(WORKGROUP));
    let (flags, prefix) = framing.params();
    let params = gpu.uniform([count, flags, prefix, grid.0 * WORKGROUP]);
    let out_size = u64::from(count) * hash.digest_len;
    gpu.dispatch(
        encoder,
        kernel,
        hash.labels[2],
        &[
            params.as_entire_binding(),
            super::bind(&data, 0, (bytes.len() as u64 + 4) / 4 * 4),
            super::bind(&offs, 0, rebased.len() as u64),
            super::bind(digests, 0, out_size),
        ],
        grid,
    );
    vec![data, offs]
}

/// SHA-256 of every message, or double SHA-256 when `double`, in order. A message longer than
/// [`max_message`] is hashed on the CPU, with the same result.
pub(super) fn sha256(gpu: &GpuBackend, msgs: Messages<'_>, double: bool) -> Result<Vec<[u8; 32]>> {
    gpu.check()?;
    let framing = if double {
        Framing::Double
    } else {
        Framing::Plain
    };
    let mut out = vec![[0u8; 32]; msgs.len()];
    let mut start = 0;
    while start < msgs.len() {
        let run = next_run(gpu, msgs, start);
        if run.is_empty() {
            let msg = msgs.get(start).unwrap_or_default();
            out[start] = if double {
                crate::backend::cpu::sha256::sha256d(msg)
            } else {
                crate::backend::cpu::sha256::sha256(msg)
            };
            start += 1;
            continue;
        }
        let size = run.len() as u64 * 32;
        let digests = gpu.storage("vera sha256 digests", size);
        let mut encoder = gpu.encoder("vera sha256");
        let temps = record(gpu, &mut encoder, msgs, run.clone(), framing, &digests);
        let bytes = gpu.submit_and_read(encoder, &[(&digests, 0, size)])?;
        for (o, d) in out[run.clone()].iter_mut().zip(bytes.chunks_exact(32)) {
            o.copy_from_slice(d);
        }
        gpu.recycle(temps.into_iter().chain([digests]));
        start = run.end;
    }
    Ok(out)
}
