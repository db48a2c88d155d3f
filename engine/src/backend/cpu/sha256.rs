//! SHA-256 on the CPU: the sha2 crate, which uses the SHA-NI instructions where the CPU has them.

use rayon::prelude::*;
use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};

use crate::batch::Messages;

/// Below this many bytes of work (message bytes plus a 64-byte block per message) hashing stays
/// on the calling thread: a rayon fork-join costs a few microseconds, about what SHA-NI needs for
/// 32 KiB. Measured with `vera bench` (hash rows at 64 and 256 items).
const PARALLEL_MIN_BYTES: usize = 32 * 1024;

/// The SHA-256 initial state (FIPS 180-4 §5.3.3).
pub(crate) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// One SHA-256 digest.
pub fn sha256(msg: &[u8]) -> [u8; 32] {
    Sha256::digest(msg).into()
}

/// Whether a batch is worth spreading across cores.
pub(crate) fn worth_parallel(msgs: Messages<'_>) -> bool {
    msgs.total_len() + 64 * msgs.len() >= PARALLEL_MIN_BYTES
}

/// Hashes every message into `out` (same length), in order; across the current rayon pool when
/// `parallel` is set and the batch is large.
pub fn sha256_batch(msgs: Messages<'_>, out: &mut [[u8; 32]], parallel: bool) {
    debug_assert_eq!(msgs.len(), out.len());
    let work = msgs.total_len() + 64 * msgs.len();
    if !parallel || work < PARALLEL_MIN_BYTES {
        for (o, m) in out.iter_mut().zip(msgs.iter()) {
            *o = sha256(m);
        }
    } else {
        // Items per task so that each task carries at least ~PARALLEL_MIN_BYTES / 4 of work.
        let min_len = (msgs.len() * PARALLEL_MIN_BYTES / 4 / work).max(1);
        out.par_iter_mut()
            .enumerate()
            .with_min_len(min_len)
            .for_each(|(i, o)| *o = sha256(msgs.get(i).unwrap_or_default()));
    }
}

/// One 64-byte SHA-256 input block, as sha2's compression function takes it.
pub(crate) type Block = GenericArray<u8, sha2::digest::consts::U64>;

/// Runs the compression function over whole blocks from the initial state and returns the
/// big-endian digest. Callers lay out the padding themselves; skipping `Digest`'s buffering is
/// worth 1.3x on Merkle nodes.
#[inline]
pub(crate) fn compress_blocks(blocks: &[Block]) -> [u8; 32] {
    let mut state = IV;
    sha2::compress256(&mut state, blocks);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}
