//! Batches of Merkle inclusion proofs: many (leaf, index, tree size, path, root) checked at once.
//!
//! A node checks inclusion proofs all day: a light client or an SPV wallet against block
//! headers, a Certificate Transparency monitor against signed tree heads, a CometBFT light
//! client against a header's data hash. [`Engine::verify_inclusion`](crate::Engine::verify_inclusion)
//! takes a whole batch in the columnar layout of [`Proofs`] and gives one verdict per proof, in
//! order, on every core or on the GPU.
//!
//! Which side each path hash goes on depends only on the index, the tree size and the path's
//! length, never on the hashes: [`inclusion_sides`] works it out (and refuses impossible
//! proofs) on the host, so both backends only fold hashes. The single-proof functions of
//! [`crate::merkle`] stay the independent reference the tests hold the batch path to.
//!
//! - [`MerkleScheme::Rfc6962`]: the RFC 9162 §2.1.3.2 algorithm; the leaf is the leaf hash
//!   SHA-256(0x00 ‖ data).
//! - [`MerkleScheme::Bitcoin`]: Bitcoin Core's `ComputeMerkleRootFromBranch` (bit `i` of the
//!   index puts the node at level `i` on the right), with the branch as long as the tree of
//!   `size` leaves is deep and the index below the size; the leaf is a txid, internal byte order.

use crate::backend::cpu::merkle::{bitcoin_node, rfc6962_node};
use crate::error::{Error, Result};
use crate::merkle::{MerkleScheme, ProofError};

/// One proof's verdict: `Ok(())` when the path leads from the leaf to the root.
pub type ProofVerdict = std::result::Result<(), ProofError>;

/// A borrowed, validated batch of inclusion proofs. Proof `i` is `leaves[i]`, `indexes[i]`,
/// `sizes[i]`, `roots[i]` and the path `path[offsets[i]..offsets[i + 1]]` (hashes ordered from
/// the leaf up).
#[derive(Debug, Clone, Copy)]
pub struct Proofs<'a> {
    leaves: &'a [[u8; 32]],
    indexes: &'a [u64],
    sizes: &'a [u64],
    roots: &'a [[u8; 32]],
    path: &'a [[u8; 32]],
    offsets: &'a [u32],
}

/// One proof of a [`Proofs`] batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof<'a> {
    /// The leaf hash (RFC 6962) or txid (Bitcoin).
    pub leaf: &'a [u8; 32],
    /// The leaf's index in the tree.
    pub index: u64,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The sibling hashes, from the leaf up.
    pub path: &'a [[u8; 32]],
    /// The root the path must lead to.
    pub root: &'a [u8; 32],
}

impl<'a> Proofs<'a> {
    /// Checks that the columns have one entry per proof and that `offsets` (n + 1 entries,
    /// non-decreasing, the last within `path`) are sound, and wraps them.
    pub fn new(
        leaves: &'a [[u8; 32]],
        indexes: &'a [u64],
        sizes: &'a [u64],
        roots: &'a [[u8; 32]],
        path: &'a [[u8; 32]],
        offsets: &'a [u32],
    ) -> Result<Self> {
        let n = leaves.len();
        for (column, found) in [
            ("indexes", indexes.len()),
            ("sizes", sizes.len()),
            ("roots", roots.len()),
            ("path offsets", offsets.len().wrapping_sub(1)),
        ] {
            if found != n {
                return Err(Error::ColumnLength {
                    column,
                    found,
                    expected: n,
                });
            }
        }
        crate::batch::check_offsets(offsets, path.len())?;
        Ok(Proofs {
            leaves,
            indexes,
            sizes,
            roots,
            path,
            offsets,
        })
    }

    /// The number of proofs.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether there are no proofs.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// Proof `i`, or `None` past the end.
    pub fn get(&self, i: usize) -> Option<Proof<'a>> {
        let start = *self.offsets.get(i)? as usize;
        let end = *self.offsets.get(i + 1)? as usize;
        Some(Proof {
            leaf: self.leaves.get(i)?,
            index: *self.indexes.get(i)?,
            size: *self.sizes.get(i)?,
            // Validated in `new`: start <= end <= path.len().
            path: &self.path[start..end],
            root: self.roots.get(i)?,
        })
    }

    /// The proofs `range`, sharing these columns; `None` when the range is out of bounds.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Option<Proofs<'a>> {
        Some(Proofs {
            leaves: self.leaves.get(range.clone())?,
            indexes: self.indexes.get(range.clone())?,
            sizes: self.sizes.get(range.clone())?,
            roots: self.roots.get(range.clone())?,
            path: self.path,
            offsets: self.offsets.get(range.start..range.end.checked_add(1)?)?,
        })
    }

    /// Path hashes in all, the measure of the batch's work.
    pub fn total_path_len(&self) -> usize {
        (self.offsets[self.len()] - self.offsets[0]) as usize
    }
}

/// An owned batch of proofs in the layout of [`Proofs`], built proof by proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofsBuf {
    leaves: Vec<[u8; 32]>,
    indexes: Vec<u64>,
    sizes: Vec<u64>,
    roots: Vec<[u8; 32]>,
    path: Vec<[u8; 32]>,
    offsets: Vec<u32>,
}

impl Default for ProofsBuf {
    fn default() -> Self {
        ProofsBuf::new()
    }
}

impl ProofsBuf {
    /// An empty batch.
    pub fn new() -> Self {
        ProofsBuf {
            leaves: Vec::new(),
            indexes: Vec::new(),
            sizes: Vec::new(),
            roots: Vec::new(),
            path: Vec::new(),
            offsets: vec![0],
        }
    }

    /// Appends a proof; fails only when the batch's path hashes would pass `u32::MAX`.
    pub fn push(
        &mut self,
        leaf: &[u8; 32],
        index: u64,
        size: u64,
        path: &[[u8; 32]],
        root: &[u8; 32],
    ) -> Result<()> {
        let end = u32::try_from(self.path.len() + path.len()).map_err(|_| Error::TooLarge {
            what: "path hashes in a proof batch",
            found: (self.path.len() + path.len()) as u64,
            limit: u64::from(u32::MAX),
        })?;
        self.leaves.push(*leaf);
        self.indexes.push(index);
        self.sizes.push(size);
        self.roots.push(*root);
        self.path.extend_from_slice(path);
        self.offsets.push(end);
        Ok(())
    }

    /// The number of proofs.
    pub fn len(&self) -> usize {
        self.leaves.len()
    }

    /// Whether there are no proofs.
    pub fn is_empty(&self) -> bool {
        self.leaves.is_empty()
    }

    /// Removes every proof, keeping the memory.
    pub fn clear(&mut self) {
        self.leaves.clear();
        self.indexes.clear();
        self.sizes.clear();
        self.roots.clear();
        self.path.clear();
        self.offsets.clear();
        self.offsets.push(0);
    }

    /// The batch, borrowed.
    pub fn as_proofs(&self) -> Proofs<'_> {
        Proofs {
            leaves: &self.leaves,
            indexes: &self.indexes,
            sizes: &self.sizes,
            roots: &self.roots,
            path: &self.path,
            offsets: &self.offsets,
        }
    }
}

/// Which side each path hash goes on, for a proof of `len` hashes of leaf `index` in a tree of
/// `size` leaves: bit `i` is set when hash `i` is the left sibling (the node so far on the
/// right). An error when no such proof exists: the index not below the size, or a path of the
/// wrong length.
pub fn inclusion_sides(
    scheme: MerkleScheme,
    index: u64,
    size: u64,
    len: usize,
) -> std::result::Result<u64, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    match scheme {
        MerkleScheme::Rfc6962 => {
            // RFC 9162 §2.1.3.2, the hashes left out: fn is the node's index at its level, sn
            // the last node's. Each shift of sn halves it, so a path of over 64 hashes meets
            // sn == 0 first.
            let (mut fnode, mut snode) = (index, size - 1);
            let mut sides = 0u64;
            for i in 0..len {
                if snode == 0 {
                    return Err(ProofError::Length);
                }
                if fnode & 1 == 1 || fnode == snode {
                    sides |= 1 << i;
                    while fnode & 1 == 0 && fnode != 0 {
                        fnode >>= 1;
                        snode >>= 1;
                    }
                }
                fnode >>= 1;
                snode >>= 1;
            }
            if snode != 0 {
                return Err(ProofError::Length);
            }
            Ok(sides)
        }
        MerkleScheme::Bitcoin => {
            // Every level up to the root has a sibling (an odd last node's is itself), so the
            // branch is as long as the tree is deep: ⌈log2 size⌉.
            let depth = (u64::BITS - (size - 1).leading_zeros()) as usize;
            if len != depth {
                return Err(ProofError::Length);
            }
            Ok(index)
        }
    }
}

/// Folds `path` into the leaf's root, each hash on the side `sides` gives it.
pub(crate) fn fold(
    scheme: MerkleScheme,
    leaf: &[u8; 32],
    path: &[[u8; 32]],
    sides: u64,
) -> [u8; 32] {
    let node = match scheme {
        MerkleScheme::Rfc6962 => rfc6962_node,
        MerkleScheme::Bitcoin => bitcoin_node,
    };
    let mut h = *leaf;
    for (i, p) in path.iter().enumerate() {
        h = if (sides >> i) & 1 == 1 {
            node(p, &h)
        } else {
            node(&h, p)
        };
    }
    h
}

/// One proof's verdict on this thread.
pub(crate) fn verify_one(scheme: MerkleScheme, p: Proof<'_>) -> ProofVerdict {
    let sides = inclusion_sides(scheme, p.index, p.size, p.path.len())?;
    if fold(scheme, p.leaf, p.path, sides) == *p.root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Path hashes per part when a batch is spread across threads: ≈ 30 µs of hashing with SHA-NI,
/// about what handing a part to a sleeping worker costs, so small batches stay on the calling
/// thread.
const PART_HASHES: usize = 1024;

/// Every proof's verdict into `out` (same length), in order, on the CPU workers.
pub(crate) fn verify_batch(
    workers: &crate::backend::cpu::Workers<'_>,
    scheme: MerkleScheme,
    proofs: Proofs<'_>,
    out: &mut [ProofVerdict],
) {
    debug_assert_eq!(proofs.len(), out.len());
    let work = proofs.total_path_len() + proofs.len();
    let part = (proofs.len() * PART_HASHES).div_ceil(work.max(1)).max(1);
    workers.for_each_part(out, part, |start, part| {
        for (i, o) in part.iter_mut().enumerate() {
            *o = match proofs.get(start + i) {
                Some(p) => verify_one(scheme, p),
                // Unreachable: `out` is as long as the batch.
                None => Err(ProofError::Length),
            };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu::merkle::rfc6962_leaf;
    use crate::merkle::{
        bitcoin_branch, bitcoin_root_from_branch, rfc6962_inclusion_proof, rfc6962_verify_inclusion,
    };
    use crate::Engine;

    #[test]
    fn sides_agree_with_the_single_proof_functions() {
        let cpu = Engine::cpu();
        for n in 1..40u64 {
            let leaves: Vec<[u8; 32]> = (0..n).map(|i| rfc6962_leaf(&i.to_le_bytes())).collect();
            let rfc = cpu
                .merkle_root_from_hashes(MerkleScheme::Rfc6962, &leaves)
                .unwrap()
                .root;
            let btc = cpu
                .merkle_root_from_hashes(MerkleScheme::Bitcoin, &leaves)
                .unwrap()
                .root;
            for i in 0..n {
                let path = rfc6962_inclusion_proof(&leaves, i).unwrap();
                let leaf = &leaves[i as usize];
                let p = Proof {
                    leaf,
                    index: i,
                    size: n,
                    path: &path,
                    root: &rfc,
                };
                assert_eq!(verify_one(MerkleScheme::Rfc6962, p), Ok(()), "n={n} i={i}");
                assert_eq!(
                    rfc6962_verify_inclusion(leaf, i, n, &path, &rfc),
                    Ok(()),
                    "n={n} i={i}"
                );
                let branch = bitcoin_branch(&leaves, i).unwrap();
                assert_eq!(bitcoin_root_from_branch(leaf, &branch, i), btc);
                let p = Proof {
                    leaf,
                    index: i,
                    size: n,
                    path: &branch,
                    root: &btc,
                };
                assert_eq!(verify_one(MerkleScheme::Bitcoin, p), Ok(()), "n={n} i={i}");
            }
        }
    }

    #[test]
    fn impossible_proofs_are_refused_before_hashing() {
        for scheme in MerkleScheme::ALL {
            assert_eq!(
                inclusion_sides(scheme, 5, 5, 3),
                Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
            );
            assert_eq!(
                inclusion_sides(scheme, 0, 0, 0),
                Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
            );
            assert_eq!(inclusion_sides(scheme, 0, 1, 0), Ok(0));
            assert_eq!(inclusion_sides(scheme, 0, 1, 1), Err(ProofError::Length));
            assert_eq!(inclusion_sides(scheme, 3, 8, 2), Err(ProofError::Length));
            assert_eq!(inclusion_sides(scheme, 3, 8, 4), Err(ProofError::Length));
            // The largest trees: a path of at most 64 hashes, and one exists.
            assert!(
                (0..=64).any(|len| inclusion_sides(scheme, u64::MAX - 1, u64::MAX, len).is_ok())
            );
            assert_eq!(
                inclusion_sides(scheme, 0, u64::MAX, 65),
                Err(ProofError::Length)
            );
            assert_eq!(
                inclusion_sides(scheme, 0, u64::MAX, 100_000),
                Err(ProofError::Length)
            );
        }
    }

    #[test]
    fn batches_are_checked_on_construction() {
        let h = [[0u8; 32]; 2];
        assert!(Proofs::new(&h, &[0, 0], &[1, 1], &h, &[], &[0, 0, 0]).is_ok());
        assert!(Proofs::new(&h, &[0], &[1, 1], &h, &[], &[0, 0, 0]).is_err());
        assert!(Proofs::new(&h, &[0, 0], &[1, 1], &h, &[], &[0, 0]).is_err());
        assert!(Proofs::new(&h, &[0, 0], &[1, 1], &h, &[], &[0, 1, 0]).is_err());
        assert!(Proofs::new(&h, &[0, 0], &[1, 1], &h, &h[..1], &[0, 1, 2]).is_err());
        assert!(Proofs::new(&[], &[], &[], &[], &[], &[]).is_err());
        let mut b = ProofsBuf::new();
        b.push(&h[0], 0, 2, &h, &h[1]).unwrap();
        b.push(&h[1], 0, 1, &[], &h[1]).unwrap();
        let p = b.as_proofs();
        assert_eq!(p.len(), 2);
        assert_eq!(p.get(0).unwrap().path.len(), 2);
        assert_eq!(p.get(1).unwrap().path.len(), 0);
        assert_eq!(p.slice(1..2).unwrap().get(0), p.get(1));
        assert!(p.get(2).is_none() && p.slice(1..3).is_none());
        assert_eq!(p.total_path_len(), 2);
        assert_eq!(ProofsBuf::default(), ProofsBuf::new());
        assert_eq!(ProofsBuf::default().as_proofs().len(), 0);
    }
}
