//! SHA-256 on the CPU: the sha2 crate, which uses the SHA-NI instructions where the CPU has them.

use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};

use super::Workers;
use crate::batch::Messages;
use crate::hash_chains::HashChain;

/// Work per part when a batch is spread across threads, in bytes (message bytes plus a 64-byte
/// block per message): handing a part to a sleeping worker costs tens of microseconds, about
/// what SHA-NI needs for 64 KiB, so smaller batches stay on the calling thread.
const PART_BYTES: usize = 64 * 1024;

/// The SHA-256 initial state (FIPS 180-4 §5.3.3).
pub(crate) const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// One SHA-256 digest.
pub fn sha256(msg: &[u8]) -> [u8; 32] {
    Sha256::digest(msg).into()
}

/// Double SHA-256, SHA-256(SHA-256(m)): the second hash is one compression of the digest laid
/// out with its padding (0x80, zeros, bit length 256).
pub fn sha256d(msg: &[u8]) -> [u8; 32] {
    let mut block = Block::default();
    block[..32].copy_from_slice(&sha256(msg));
    block[32] = 0x80;
    block[62] = 0x01; // 256 bits, big-endian in the last 8 bytes
    compress_blocks(&[block])
}

/// Items per part so that each part carries about [`PART_BYTES`] of hashing.
pub(crate) fn part_len(msgs: Messages<'_>) -> usize {
    let work = msgs.total_len() + 64 * msgs.len();
    (msgs.len() * PART_BYTES).div_ceil(work.max(1)).max(1)
}

/// Hashes every message into `out` (same length), in order, with double SHA-256 when `double`.
pub fn sha256_batch(workers: &Workers<'_>, msgs: Messages<'_>, double: bool, out: &mut [[u8; 32]]) {
    debug_assert_eq!(msgs.len(), out.len());
    let hash = if double { sha256d } else { sha256 };
    workers.for_each_part(out, part_len(msgs), |start, part| {
        let mine = msgs
            .slice(start..start + part.len())
            .unwrap_or(Messages::empty());
        for (o, m) in part.iter_mut().zip(mine.iter()) {
            *o = hash(m);
        }
    });
}

/// Plain steps per part when hash chains are spread across threads: about 60 µs of SHA-NI.
const PART_CHAIN_HASHES: u64 = 1024;

/// The end of one hash chain (see [`crate::hash_chains`]): each plain step hashes the 32-byte
/// state as one padded block, so it is one compression; the mixin step is two.
pub fn chain_end(chain: &HashChain) -> [u8; 32] {
    let mut block = Block::default();
    block[..32].copy_from_slice(&chain.start);
    block[32] = 0x80;
    block[62] = 0x01; // 256 bits
    for _ in 0..chain.hashes {
        let h = compress_blocks(std::slice::from_ref(&block));
        block[..32].copy_from_slice(&h);
    }
    let mut h = [0u8; 32];
    h.copy_from_slice(&block[..32]);
    let Some(mixin) = chain.mixin else {
        return h;
    };
    let mut two = [Block::default(), Block::default()];
    two[0][..32].copy_from_slice(&h);
    two[0][32..].copy_from_slice(&mixin);
    two[1][0] = 0x80;
    two[1][62] = 0x02; // 512 bits
    compress_blocks(&two)
}

/// Every chain's end into `out` (same length), in order; chains are spread across threads in
/// parts of about [`PART_CHAIN_HASHES`] steps.
pub fn chain_ends(workers: &Workers<'_>, chains: &[HashChain], out: &mut [[u8; 32]]) {
    debug_assert_eq!(chains.len(), out.len());
    let total = chains
        .iter()
        .fold(0u64, |t, c| t.saturating_add(c.hashes.saturating_add(1)));
    let mean = (total / chains.len().max(1) as u64).max(1);
    let min_part = PART_CHAIN_HASHES.div_ceil(mean) as usize;
    let part = workers.part_len(chains.len(), min_part, 4);
    workers.for_each_part(out, part, |start, part| {
        chain_ends_interleaved(&chains[start..start + part.len()], part);
    });
}

/// Chains one thread steps together.
const LANES: usize = 4;

/// The ends of `chains` on this thread, [`LANES`] at a time: a chain's steps depend on each
/// other, so one chain leaves the SHA unit waiting on each round's latency; the steps of
/// different chains do not, and the CPU overlaps them.
fn chain_ends_interleaved(chains: &[HashChain], out: &mut [[u8; 32]]) {
    for (group, ends) in chains.chunks(LANES).zip(out.chunks_mut(LANES)) {
        let common = group.iter().map(|c| c.hashes).min().unwrap_or(0);
        let mut blocks = [Block::default(); LANES];
        for (b, c) in blocks.iter_mut().zip(group) {
            b[..32].copy_from_slice(&c.start);
            b[32] = 0x80;
            b[62] = 0x01; // 256 bits
        }
        let lanes = &mut blocks[..group.len()];
        for _ in 0..common {
            for b in lanes.iter_mut() {
                let h = compress_blocks(std::slice::from_ref(b));
                b[..32].copy_from_slice(&h);
            }
        }
        for ((c, b), end) in group.iter().zip(lanes.iter()).zip(ends) {
            let mut h = [0u8; 32];
            h.copy_from_slice(&b[..32]);
            *end = chain_end(&HashChain {
                start: h,
                hashes: c.hashes - common,
                mixin: c.mixin,
            });
        }
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
