//! Routing: which backend carries out each batch when the engine has a GPU.
//!
//! With `--backend gpu` (a forced GPU engine) every hash and Merkle batch goes to the GPU. Under
//! `auto`, a batch goes to the GPU only above a size where the GPU's fixed cost (upload, dispatch,
//! readback: tens of microseconds on a discrete GPU) is paid back; below it the CPU answers.
//! Ed25519 batches go to the GPU under `auto` from [`GPU_MIN_VERIFY`] signatures.
//!
//! The thresholds below are provisional: they come from the H200 probe in DESIGN.md (a dispatch
//! and readback round trip of 57 µs; SHA-256 on all host cores ≈ 2 GB/s per core), not yet from
//! `vera bench` on a GPU machine. Revisit them with its GPU rows.

use crate::batch::Messages;

/// How the engine splits work between its backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Every hash and Merkle batch on the GPU.
    Gpu,
    /// By batch size.
    Auto,
}

/// Bytes of SHA-256 work (message bytes plus a block per message) from which the GPU is used:
/// 16 cores hash 1 MiB in about 30 µs, less than a GPU round trip.
const GPU_MIN_HASH_BYTES: usize = 4 << 20;
/// Merkle leaves from which the GPU is used: 2^16 leaves take 16 CPU cores about 1 ms.
const GPU_MIN_MERKLE_LEAVES: usize = 1 << 16;

/// Signatures from which `auto` verifies on the GPU. Provisional and deliberately high until
/// `vera bench` has measured the GPU kernels against all host cores on a GPU machine: 16 cores
/// verify ≈ 0.5 M signatures/s, so 4,096 take them ≈ 8 ms.
const GPU_MIN_VERIFY: usize = 4096;

impl Route {
    /// Whether a SHA-256 batch (or RFC 6962 leaf hashing) goes to the GPU.
    pub(crate) fn hash_on_gpu(self, msgs: Messages<'_>) -> bool {
        self == Route::Gpu || msgs.total_len() + 64 * msgs.len() >= GPU_MIN_HASH_BYTES
    }

    /// Whether a batch of `n` signatures is verified on the GPU.
    pub(crate) fn verify_on_gpu(self, n: usize) -> bool {
        self == Route::Gpu || n >= GPU_MIN_VERIFY
    }

    /// Whether a Merkle tree of `leaves` leaves goes to the GPU.
    pub(crate) fn merkle_on_gpu(self, leaves: usize) -> bool {
        self == Route::Gpu || leaves >= GPU_MIN_MERKLE_LEAVES
    }
}
