//! SHA-512 batches on the GPU: `sha512_batch.wgsl`, one invocation per message, 64-bit words
//! emulated as pairs of `u32` (no SHADER_INT64 needed). The building block of GPU Ed25519:
//! k = SHA-512(R ‖ A ‖ M) over the bytes as received.
//!
//! The kernel has `sha256_batch.wgsl`'s bindings and parameters, so the host code is SHA-256's
//! ([`next_run_of`], [`record_of`]) with 64-byte digests.

use sha2::{Digest, Sha512};

use super::sha256::{next_run_of, record_of, BatchHash, Framing};
use super::GpuBackend;
use crate::batch::Messages;
use crate::error::Result;

/// The longest message one invocation hashes on a software adapter, in bytes. llvmpipe stops
/// every loop of an invocation after 65,535 iterations in all (`LP_MAX_TGSI_LOOP_ITERATIONS`)
/// and silently returns what it has (see `sha256.rs`). Like `sha256_batch.wgsl`, this kernel
/// takes 18 per block (its word loop runs 16 times per block, here two words at a time; the
/// byte-wise path at a message's edges has no loop), but its blocks are 128 bytes: on lavapipe
/// a message of 466,031 bytes (3,641 blocks) came back right and one of 466,032 (3,642 blocks)
/// wrong, with no error. 256 KiB (2,049 blocks, ≈ 37,000 iterations) leaves a wide margin.
/// Longer messages take the CPU path there.
const SOFTWARE_MAX_MESSAGE: u64 = 256 * 1024;

/// SHA-512 through `sha512_batch.wgsl`.
const SHA512_BATCH: BatchHash = BatchHash {
    digest_len: 64,
    software_max_message: SOFTWARE_MAX_MESSAGE,
    labels: [
        "vera sha512 messages",
        "vera sha512 offsets",
        "vera sha512_batch",
    ],
};

/// SHA-512 of every message, in order. A message longer than the GPU takes (one binding, or
/// [`SOFTWARE_MAX_MESSAGE`] on a software adapter) is hashed on the CPU, with the same result.
pub(super) fn sha512(gpu: &GpuBackend, msgs: Messages<'_>) -> Result<Vec<[u8; 64]>> {
    gpu.check()?;
    let mut out = vec![[0u8; 64]; msgs.len()];
    let mut start = 0;
    while start < msgs.len() {
        let run = next_run_of(gpu, &SHA512_BATCH, msgs, start);
        if run.is_empty() {
            out[start] = Sha512::digest(msgs.get(start).unwrap_or_default()).into();
            start += 1;
            continue;
        }
        let size = run.len() as u64 * 64;
        let digests = gpu.storage("vera sha512 digests", size);
        let mut encoder = gpu.encoder("vera sha512");
        let temps = record_of(
            gpu,
            &gpu.sha512,
            &SHA512_BATCH,
            &mut encoder,
            msgs,
            run.clone(),
            Framing::Plain,
            &digests,
        );
        let bytes = gpu.submit_and_read(encoder, &[(&digests, 0, size)])?;
        for (o, d) in out[run.clone()].iter_mut().zip(bytes.chunks_exact(64)) {
            o.copy_from_slice(d);
        }
        gpu.recycle(temps.into_iter().chain([digests]));
        start = run.end;
    }
    Ok(out)
}
