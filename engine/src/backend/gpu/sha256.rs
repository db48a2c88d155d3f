//! SHA-256 batches on the GPU: `sha256_batch.wgsl`, one invocation per message.

use std::ops::Range;

use super::GpuBackend;
use crate::batch::Messages;
use crate::error::Result;

/// Invocations per workgroup in `sha256_batch.wgsl`.
const WORKGROUP: u32 = 64;

/// The next run of messages from `start` that fits every binding: message bytes, `n + 1`
/// offsets and `n` digests each within `max_binding`, and `n` a multiple of 8 unless it is the
/// last run (so a run's digests start on a 256-byte boundary of a larger buffer). Returns an
/// empty range when message `start` alone is too large to bind.
pub(super) fn next_run(msgs: Messages<'_>, start: usize, max_binding: u64) -> Range<usize> {
    let max_items = (max_binding / 32) as usize - 1;
    let offsets = msgs.offsets();
    let base = offsets[start] as u64;
    let mut end = start;
    while end < msgs.len()
        && end - start < max_items
        && offsets[end + 1] as u64 - base + 4 <= max_binding
    {
        end += 1;
    }
    if end < msgs.len() && end - start >= 8 {
        end -= (end - start) % 8;
    }
    start..end
}

/// Records the hashing of messages `run` (with an optional one-byte prefix) into `digests` at
/// byte offset `out_offset`. Returns the buffers to recycle once the work is submitted.
pub(super) fn record(
    gpu: &GpuBackend,
    encoder: &mut wgpu::CommandEncoder,
    msgs: Messages<'_>,
    run: Range<usize>,
    prefix: Option<u8>,
    digests: &wgpu::Buffer,
    out_offset: u64,
) -> Vec<wgpu::Buffer> {
    let offsets = msgs.offsets();
    let base = offsets[run.start];
    let bytes = &msgs.bytes()[base as usize..offsets[run.end] as usize];
    let rebased: Vec<u8> = offsets[run.start..=run.end]
        .iter()
        .flat_map(|o| (o - base).to_le_bytes())
        .collect();
    let count = run.len() as u32;
    let data = gpu.storage("vera sha256 messages", bytes.len() as u64 + 4);
    let offs = gpu.storage("vera sha256 offsets", rebased.len() as u64);
    gpu.upload(&data, 0, bytes);
    gpu.upload(&offs, 0, &rebased);
    let grid = gpu.grid(count.div_ceil(WORKGROUP));
    let params = gpu.uniform([
        count,
        u32::from(prefix.is_some()),
        u32::from(prefix.unwrap_or(0)),
        grid.0 * WORKGROUP,
    ]);
    let out_size = u64::from(count) * 32;
    gpu.dispatch(
        encoder,
        &gpu.sha256,
        "vera sha256_batch",
        &[
            params.as_entire_binding(),
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &data,
                offset: 0,
                size: wgpu::BufferSize::new((bytes.len() as u64 + 4) / 4 * 4),
            }),
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: &offs,
                offset: 0,
                size: wgpu::BufferSize::new(rebased.len() as u64),
            }),
            wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: digests,
                offset: out_offset,
                size: wgpu::BufferSize::new(out_size),
            }),
        ],
        grid,
    );
    vec![data, offs]
}

/// SHA-256 of every message, in order. A message too large to bind at all is hashed on the CPU
/// (the result is the same; only a message over the adapter's binding limit takes that path).
pub(super) fn sha256(gpu: &GpuBackend, msgs: Messages<'_>) -> Result<Vec<[u8; 32]>> {
    gpu.check()?;
    let mut out = vec![[0u8; 32]; msgs.len()];
    let mut start = 0;
    while start < msgs.len() {
        let run = next_run(msgs, start, gpu.max_binding);
        if run.is_empty() {
            out[start] = crate::backend::cpu::sha256::sha256(msgs.get(start).unwrap_or_default());
            start += 1;
            continue;
        }
        let size = run.len() as u64 * 32;
        let digests = gpu.storage("vera sha256 digests", size);
        let mut encoder = gpu.encoder("vera sha256");
        let temps = record(gpu, &mut encoder, msgs, run.clone(), None, &digests, 0);
        let bytes = gpu.submit_and_read(encoder, &[(&digests, 0, size)])?;
        for (o, d) in out[run.clone()].iter_mut().zip(bytes.chunks_exact(32)) {
            o.copy_from_slice(d);
        }
        gpu.recycle(temps.into_iter().chain([digests]));
        start = run.end;
    }
    Ok(out)
}
