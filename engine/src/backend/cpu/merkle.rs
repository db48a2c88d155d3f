//! Merkle roots on the CPU, level by level, each large level split across cores.

use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use super::sha256::{compress_blocks, Block};
use super::Workers;
use crate::batch::Messages;
use crate::merkle::{MerkleRoot, MerkleScheme};

/// Output nodes per part when a level is spread across threads: a node costs 0.1-0.2 µs, so a
/// part is worth 100-200 µs, several times the hand-off to a sleeping worker. Levels with fewer
/// nodes are hashed on the calling thread.
const NODES_PER_PART: usize = 1024;

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ data).
pub fn rfc6962_leaf(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// RFC 6962 interior node: SHA-256(0x01 ‖ left ‖ right), a 65-byte message in two blocks.
#[inline]
pub fn rfc6962_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut b = [Block::default(); 2];
    b[0][0] = 0x01;
    b[0][1..33].copy_from_slice(left);
    b[0][33..64].copy_from_slice(&right[..31]);
    b[1][0] = right[31];
    b[1][1] = 0x80;
    b[1][62..64].copy_from_slice(&(65u16 * 8).to_be_bytes());
    compress_blocks(&b)
}

/// Bitcoin interior node: SHA-256(SHA-256(left ‖ right)). The second block of the inner hash and
/// the padding of the outer hash are constants.
#[inline]
pub fn bitcoin_node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut b = [Block::default(); 2];
    b[0][..32].copy_from_slice(left);
    b[0][32..].copy_from_slice(right);
    b[1][0] = 0x80;
    b[1][62..64].copy_from_slice(&(64u16 * 8).to_be_bytes());
    let inner = compress_blocks(&b);
    let mut o = [Block::default()];
    o[0][..32].copy_from_slice(&inner);
    o[0][32] = 0x80;
    o[0][62..64].copy_from_slice(&(32u16 * 8).to_be_bytes());
    compress_blocks(&o)
}

/// The root of an empty tree: SHA-256("") for RFC 6962, 32 zero bytes for Bitcoin (what Bitcoin
/// Core's `ComputeMerkleRoot` returns).
pub fn empty_root(scheme: MerkleScheme) -> [u8; 32] {
    match scheme {
        MerkleScheme::Rfc6962 => super::sha256::sha256(b""),
        MerkleScheme::Bitcoin => [0; 32],
    }
}

/// Hashes one level into the next. RFC 6962 carries an odd last node up unchanged; Bitcoin pairs
/// it with itself. Returns whether two distinct positions held identical siblings (Bitcoin's
/// CVE-2012-2459 `mutated` condition; the self-pairing of an odd last node does not count).
pub(crate) fn next_level(
    workers: &Workers<'_>,
    scheme: MerkleScheme,
    level: &[[u8; 32]],
    out: &mut Vec<[u8; 32]>,
) -> bool {
    let mutated = AtomicBool::new(false);
    out.clear();
    out.resize(level.len().div_ceil(2), [0; 32]);
    let part_len = workers.part_len(out.len(), NODES_PER_PART, 4);
    workers.for_each_part(out, part_len, |start, part| {
        for (j, node) in part.iter_mut().enumerate() {
            let i = 2 * (start + j);
            *node = match (scheme, &level[i..level.len().min(i + 2)]) {
                (MerkleScheme::Rfc6962, [l, r]) => rfc6962_node(l, r),
                (MerkleScheme::Rfc6962, [l]) => *l,
                (MerkleScheme::Bitcoin, [l, r]) => {
                    if l == r {
                        mutated.store(true, Ordering::Relaxed);
                    }
                    bitcoin_node(l, r)
                }
                (MerkleScheme::Bitcoin, [l]) => bitcoin_node(l, l),
                _ => unreachable!("node {} of a level of {}", start + j, level.len()),
            };
        }
    });
    mutated.into_inner()
}

/// The root over already-hashed leaves (RFC 6962 leaf hashes, or Bitcoin txids).
pub fn root_from_hashes(
    workers: &Workers<'_>,
    scheme: MerkleScheme,
    hashes: &[[u8; 32]],
) -> MerkleRoot {
    let leaves = hashes.len() as u64;
    let (root, mutated) = match hashes {
        [] => (empty_root(scheme), false),
        [only] => (*only, false),
        _ => {
            let mut mutated = false;
            let mut cur = Vec::with_capacity(hashes.len().div_ceil(2));
            let mut next = Vec::with_capacity(hashes.len().div_ceil(4));
            mutated |= next_level(workers, scheme, hashes, &mut cur);
            while cur.len() > 1 {
                mutated |= next_level(workers, scheme, &cur, &mut next);
                std::mem::swap(&mut cur, &mut next);
            }
            (cur[0], mutated)
        }
    };
    MerkleRoot {
        root,
        leaves,
        mutated: (scheme == MerkleScheme::Bitcoin).then_some(mutated),
    }
}

/// RFC 6962 leaf hashes of every message, in order.
pub fn rfc6962_leaf_hashes(workers: &Workers<'_>, leaves: Messages<'_>) -> Vec<[u8; 32]> {
    let mut out = vec![[0u8; 32]; leaves.len()];
    workers.for_each_part(&mut out, super::sha256::part_len(leaves), |start, part| {
        let mine = leaves
            .slice(start..start + part.len())
            .unwrap_or(Messages::empty());
        for (o, m) in part.iter_mut().zip(mine.iter()) {
            *o = rfc6962_leaf(m);
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_api(parts: &[&[u8]], double: bool) -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        let once: [u8; 32] = h.finalize().into();
        if double {
            Sha256::digest(once).into()
        } else {
            once
        }
    }

    #[test]
    fn hand_padded_nodes_equal_the_digest_api() {
        let l = [0xa5u8; 32];
        let r: [u8; 32] = std::array::from_fn(|i| i as u8);
        assert_eq!(rfc6962_node(&l, &r), digest_api(&[&[1], &l, &r], false));
        assert_eq!(bitcoin_node(&l, &r), digest_api(&[&l, &r], true));
    }
}
