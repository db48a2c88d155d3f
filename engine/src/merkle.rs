//! Merkle schemes, roots and proofs.
//!
//! Two schemes, always named by the caller (there is no default):
//! - [`MerkleScheme::Rfc6962`] (Certificate Transparency, CometBFT): leaf = SHA-256(0x00 ‖ d),
//!   node = SHA-256(0x01 ‖ left ‖ right), an odd last node carried up unchanged.
//! - [`MerkleScheme::Bitcoin`]: leaves are txids in internal byte order, node =
//!   SHA-256(SHA-256(left ‖ right)), an odd last node paired with itself; identical siblings are
//!   reported as `mutated` (CVE-2012-2459), as Bitcoin Core does.
//!
//! Roots are computed by the [`Engine`](crate::Engine)'s backend; the proof functions here run on
//! the CPU (producing a proof needs the whole tree's hashes; checking one is a few dozen hashes).

use std::fmt;
use std::str::FromStr;

use crate::backend::cpu::merkle::{bitcoin_node, next_level, rfc6962_node, root_from_hashes};
use crate::backend::cpu::Workers;
use crate::error::{Error, Result};

/// A Merkle tree construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MerkleScheme {
    /// RFC 6962 (Certificate Transparency) trees.
    Rfc6962,
    /// Bitcoin's transaction trees (double SHA-256, odd nodes duplicated).
    Bitcoin,
}

impl MerkleScheme {
    /// Both schemes.
    pub const ALL: [MerkleScheme; 2] = [MerkleScheme::Rfc6962, MerkleScheme::Bitcoin];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            MerkleScheme::Rfc6962 => "rfc6962",
            MerkleScheme::Bitcoin => "bitcoin",
        }
    }
}

impl fmt::Display for MerkleScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MerkleScheme {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        MerkleScheme::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| format!("unknown Merkle scheme {s:?}; expected rfc6962 or bitcoin"))
    }
}

/// A computed root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MerkleRoot {
    /// The root hash (for Bitcoin, in internal byte order).
    pub root: [u8; 32],
    /// The number of leaves.
    pub leaves: u64,
    /// For Bitcoin: whether two identical siblings were hashed together somewhere in the tree
    /// (a block with this flag set must be rejected). `None` for RFC 6962.
    pub mutated: Option<bool>,
}

/// Why a proof did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not below the tree size.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The index claimed.
        index: u64,
        /// The tree size claimed.
        size: u64,
    },
    /// The tree sizes cannot be consistent (old size 0, or old size past new size).
    #[error("no consistency proof exists from size {old} to size {new}")]
    Sizes {
        /// The old tree size.
        old: u64,
        /// The new tree size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for the sizes claimed.
    #[error("proof has the wrong length for the tree sizes")]
    Length,
    /// The proof leads to a different root.
    #[error("proof does not lead to the expected root")]
    RootMismatch,
}

impl ProofError {
    /// A short name for JSON answers: `index-out-of-range`, `sizes`, `length`, `root-mismatch`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ProofError::IndexOutOfRange { .. } => "index-out-of-range",
            ProofError::Sizes { .. } => "sizes",
            ProofError::Length => "length",
            ProofError::RootMismatch => "root-mismatch",
        }
    }
}

/// RFC 6962 §2.1.1 audit path for `leaf_hashes[index]`, ordered from the leaf up.
///
/// ```
/// # use vera_engine::merkle::*;
/// # use vera_engine::backend::cpu::merkle::rfc6962_leaf;
/// let leaves: Vec<[u8; 32]> = (0..5u8).map(|i| rfc6962_leaf(&[i])).collect();
/// let root = vera_engine::Engine::cpu().merkle_root_from_hashes(MerkleScheme::Rfc6962, &leaves).unwrap();
/// let proof = rfc6962_inclusion_proof(&leaves, 3).unwrap();
/// assert!(rfc6962_verify_inclusion(&leaves[3], 3, 5, &proof, &root.root).is_ok());
/// ```
pub fn rfc6962_inclusion_proof(leaf_hashes: &[[u8; 32]], index: u64) -> Result<Vec<[u8; 32]>> {
    sibling_path(MerkleScheme::Rfc6962, leaf_hashes, index)
}

/// Bitcoin Merkle branch for `txids[index]`: the sibling at each level from the leaf up (an odd
/// last node's sibling is itself). The index bits give the sides; see [`bitcoin_root_from_branch`].
pub fn bitcoin_branch(txids: &[[u8; 32]], index: u64) -> Result<Vec<[u8; 32]>> {
    sibling_path(MerkleScheme::Bitcoin, txids, index)
}

fn sibling_path(scheme: MerkleScheme, leaves: &[[u8; 32]], index: u64) -> Result<Vec<[u8; 32]>> {
    let n = leaves.len() as u64;
    if index >= n {
        return Err(Error::ProofRequest(format!(
            "leaf index {index} in a tree of {n} leaves"
        )));
    }
    let mut idx = index as usize;
    let mut path = Vec::with_capacity(64 - n.leading_zeros() as usize);
    let mut level = leaves.to_vec();
    let mut next = Vec::with_capacity(level.len().div_ceil(2));
    while level.len() > 1 {
        match (level.get(idx ^ 1), scheme) {
            (Some(s), _) => path.push(*s),
            (None, MerkleScheme::Bitcoin) => path.push(level[idx]),
            (None, MerkleScheme::Rfc6962) => {} // carried up: no sibling at this level
        }
        next_level(&Workers::global(), scheme, &level, &mut next);
        std::mem::swap(&mut level, &mut next);
        idx >>= 1;
    }
    Ok(path)
}

/// Folds a Bitcoin branch into a root, as Bitcoin Core's `ComputeMerkleRootFromBranch`: bit `i` of
/// `index` says whether the node at level `i` is a right child.
pub fn bitcoin_root_from_branch(leaf: &[u8; 32], branch: &[[u8; 32]], index: u64) -> [u8; 32] {
    let mut h = *leaf;
    for (level, sibling) in branch.iter().enumerate() {
        let right = level < 64 && (index >> level) & 1 == 1;
        h = if right {
            bitcoin_node(sibling, &h)
        } else {
            bitcoin_node(&h, sibling)
        };
    }
    h
}

/// RFC 6962 §2.1.2 consistency proof from the tree of the first `old_size` leaves to the tree of
/// all `leaf_hashes`. Defined for `0 < old_size <= n`; equal sizes give an empty proof.
pub fn rfc6962_consistency_proof(leaf_hashes: &[[u8; 32]], old_size: u64) -> Result<Vec<[u8; 32]>> {
    let n = leaf_hashes.len() as u64;
    if old_size == 0 || old_size > n {
        return Err(Error::ProofRequest(format!(
            "consistency from size {old_size} to size {n}"
        )));
    }
    let mut proof = Vec::new();
    subproof(old_size as usize, leaf_hashes, true, &mut proof);
    Ok(proof)
}

/// RFC 6962 SUBPROOF(m, D[n], b).
fn subproof(m: usize, leaves: &[[u8; 32]], complete: bool, out: &mut Vec<[u8; 32]>) {
    let n = leaves.len();
    let mth = |l: &[[u8; 32]]| root_from_hashes(&Workers::global(), MerkleScheme::Rfc6962, l).root;
    if m == n {
        if !complete {
            out.push(mth(leaves));
        }
        return;
    }
    let k = largest_power_of_two_below(n);
    if m <= k {
        subproof(m, &leaves[..k], complete, out);
        out.push(mth(&leaves[k..]));
    } else {
        subproof(m - k, &leaves[k..], false, out);
        out.push(mth(&leaves[..k]));
    }
}

fn largest_power_of_two_below(n: usize) -> usize {
    debug_assert!(n > 1);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Checks an RFC 6962 audit path (the RFC 9162 §2.1.3.2 algorithm).
pub fn rfc6962_verify_inclusion(
    leaf_hash: &[u8; 32],
    index: u64,
    tree_size: u64,
    proof: &[[u8; 32]],
    root: &[u8; 32],
) -> Result<(), ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange {
            index,
            size: tree_size,
        });
    }
    let (mut fnode, mut snode) = (index, tree_size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::Length);
        }
        if fnode & 1 == 1 || fnode == snode {
            r = rfc6962_node(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = rfc6962_node(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::Length);
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Checks an RFC 6962 consistency proof (the RFC 9162 §2.1.4.2 algorithm). A proof from an empty
/// tree is meaningless and rejected, as transparency-dev does.
pub fn rfc6962_verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &[u8; 32],
    new_root: &[u8; 32],
    proof: &[[u8; 32]],
) -> Result<(), ProofError> {
    if old_size == 0 || old_size > new_size {
        return Err(ProofError::Sizes {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::Length);
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        proof.split_first().ok_or(ProofError::Length)?
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err(ProofError::Length);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = rfc6962_node(c, &fr);
            sr = rfc6962_node(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = rfc6962_node(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::Length);
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::merkle::rfc6962_leaf;

    /// RFC 6962 §2.1's recursive definition, written out literally as an independent model.
    fn mth(d: &[[u8; 32]]) -> [u8; 32] {
        match d.len() {
            0 => crate::backend::cpu::sha256::sha256(b""),
            1 => d[0],
            n => {
                let k = largest_power_of_two_below(n);
                rfc6962_node(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    fn leaves(n: usize) -> Vec<[u8; 32]> {
        (0..n)
            .map(|i| rfc6962_leaf(&(i as u32).to_le_bytes()))
            .collect()
    }

    #[test]
    fn level_by_level_equals_recursive_definition() {
        for n in 0..70 {
            let l = leaves(n);
            assert_eq!(
                root_from_hashes(&Workers::serial(), MerkleScheme::Rfc6962, &l).root,
                mth(&l),
                "n={n}"
            );
        }
    }

    #[test]
    fn every_inclusion_and_consistency_proof_round_trips() {
        for n in 1..40u64 {
            let l = leaves(n as usize);
            let root = mth(&l);
            for i in 0..n {
                let p = rfc6962_inclusion_proof(&l, i).unwrap();
                assert_eq!(
                    rfc6962_verify_inclusion(&l[i as usize], i, n, &p, &root),
                    Ok(())
                );
                let wrong = [0u8; 32];
                assert!(rfc6962_verify_inclusion(&wrong, i, n, &p, &root).is_err());
                if !p.is_empty() {
                    assert!(
                        rfc6962_verify_inclusion(&l[i as usize], i, n, &p[1..], &root).is_err()
                    );
                }
            }
            for m in 1..=n {
                let old = mth(&l[..m as usize]);
                let p = rfc6962_consistency_proof(&l, m).unwrap();
                assert_eq!(
                    rfc6962_verify_consistency(m, n, &old, &root, &p),
                    Ok(()),
                    "{m}->{n}"
                );
                assert!(rfc6962_verify_consistency(m, n, &root, &old, &p).is_err() || old == root);
            }
        }
        assert!(rfc6962_inclusion_proof(&leaves(3), 3).is_err());
        assert!(rfc6962_consistency_proof(&leaves(3), 0).is_err());
        assert!(rfc6962_consistency_proof(&leaves(3), 4).is_err());
    }

    #[test]
    fn bitcoin_branches_fold_to_the_root() {
        for n in 1..40usize {
            let txids: Vec<[u8; 32]> = (0..n).map(|i| [i as u8; 32]).collect();
            let root = root_from_hashes(&Workers::serial(), MerkleScheme::Bitcoin, &txids).root;
            for i in 0..n as u64 {
                let b = bitcoin_branch(&txids, i).unwrap();
                assert_eq!(bitcoin_root_from_branch(&txids[i as usize], &b, i), root);
            }
        }
    }
}
