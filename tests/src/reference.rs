//! The references every backend is held to, written straight from their definitions on the
//! reference crates: Ed25519 verdicts from ed25519-dalek and ed25519-consensus called directly,
//! SHA-256 from sha2's `Digest` API, Merkle roots from RFC 6962 §2.1 and Bitcoin Core's
//! `ComputeMerkleRoot`.

use sha2::{Digest, Sha256};
use vera_engine::Rule;

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The reference crate's verdict for one signature under `rule`: ed25519-dalek
/// `verify_strict` (strict) or `verify` (dalek), ed25519-consensus `verify` (zip215).
pub fn verdict(rule: Rule, pk: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    match rule {
        Rule::Strict | Rule::Dalek => {
            let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(pk) else {
                return false;
            };
            let sig = ed25519_dalek::Signature::from_bytes(sig);
            if rule == Rule::Strict {
                vk.verify_strict(msg, &sig).is_ok()
            } else {
                ed25519_dalek::Verifier::verify(&vk, msg, &sig).is_ok()
            }
        }
        Rule::Zip215 => match ed25519_consensus::VerificationKey::try_from(*pk) {
            Ok(vk) => vk
                .verify(&ed25519_consensus::Signature::from(*sig), msg)
                .is_ok(),
            Err(_) => false,
        },
    }
}

/// SHA-256 of the concatenation of `parts`.
pub fn sha256(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// A hash chain's end from its definition: `hashes` times h = SHA-256(h) from `start`, then
/// h = SHA-256(h ‖ mixin) when there is a mixin.
pub fn chain_end(start: &Hash, hashes: u64, mixin: Option<&Hash>) -> Hash {
    let mut h = *start;
    for _ in 0..hashes {
        h = sha256(&[&h]);
    }
    match mixin {
        Some(m) => sha256(&[&h, m]),
        None => h,
    }
}

/// Solana's `next_hash(start, num_hashes, transactions)`, written from its source: no hashes
/// and no transactions leave the hash; otherwise `num_hashes − 1` (saturating) hashes, then a
/// tick (one more hash) or, with transactions, a record of their hash (`mixin`).
pub fn solana_next_hash(start: &Hash, num_hashes: u64, mixin: Option<&Hash>) -> Hash {
    if num_hashes == 0 && mixin.is_none() {
        return *start;
    }
    let h = chain_end(start, num_hashes.saturating_sub(1), None);
    match mixin {
        Some(m) => sha256(&[&h, m]),
        None => sha256(&[&h]),
    }
}

/// RFC 6962 leaf hash: SHA-256(0x00 ‖ d).
pub fn leaf_hash(d: &[u8]) -> Hash {
    sha256(&[&[0u8], d])
}

/// RFC 6962 interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(l: &Hash, r: &Hash) -> Hash {
    sha256(&[&[1u8], l, r])
}

/// The largest power of two strictly below `n` (n > 1).
pub fn split(n: usize) -> usize {
    assert!(n > 1);
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// RFC 6962 §2.1 MTH over leaf hashes, literally: `MTH({}) = SHA-256()`, `MTH({d0})` = the leaf
/// hash, `MTH(D[n]) = node(MTH(D[0:k]), MTH(D[k:n]))` with k the largest power of two below n.
pub fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => sha256(&[]),
        1 => d[0],
        n => {
            let k = split(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// The RFC 6962 root of leaf data.
pub fn rfc6962_root<L: AsRef<[u8]>>(leaves: &[L]) -> Hash {
    let hashes: Vec<Hash> = leaves.iter().map(|l| leaf_hash(l.as_ref())).collect();
    mth(&hashes)
}

/// Bitcoin Core's `ComputeMerkleRoot`: check identical pairs, duplicate an odd last hash, hash
/// pairs with double SHA-256; the empty tree is 32 zero bytes. Returns the root and the
/// mutation flag.
pub fn bitcoin_root(txids: &[Hash]) -> (Hash, bool) {
    let mut hashes = txids.to_vec();
    let mut mutation = false;
    while hashes.len() > 1 {
        let mut pos = 0;
        while pos + 1 < hashes.len() {
            if hashes[pos] == hashes[pos + 1] {
                mutation = true;
            }
            pos += 2;
        }
        if hashes.len() & 1 == 1 {
            let last = *hashes.last().expect("non-empty");
            hashes.push(last);
        }
        hashes = hashes
            .chunks(2)
            .map(|p| {
                let once = sha256(&[&p[0], &p[1]]);
                sha256(&[&once])
            })
            .collect();
    }
    (hashes.first().copied().unwrap_or([0; 32]), mutation)
}
