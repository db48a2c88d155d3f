//! Hash chains: SHA-256 iterated from a start hash, as proof-of-history entries are.
//!
//! A chain is `hashes` steps h ← SHA-256(h) from `start`, then, when it has a mixin, one step
//! h ← SHA-256(h ‖ mixin); its end is the final h. Solana's entries are such chains (see
//! [`HashChain::solana_entry`]): a validator replaying a slot recomputes every entry's end from
//! the previous entry's hash, all entries at once, and compares it with the hash the entry
//! claims. Each chain is sequential, so the parallelism is across chains: every core takes
//! chains, and the GPU runs one invocation per chain.

use crate::error::{Error, Result};

/// The most plain steps one chain may ask for: 2^24, hundreds of times a Solana tick (12,500
/// hashes by default), so that no input can keep a backend busy for long.
pub const MAX_CHAIN_HASHES: u64 = 1 << 24;

/// The most plain steps one batch may ask for in all: 2^32.
pub const MAX_BATCH_HASHES: u64 = 1 << 32;

/// One hash chain (see the [module](self) docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HashChain {
    /// The hash the chain starts from.
    pub start: [u8; 32],
    /// How many times h ← SHA-256(h) is applied.
    pub hashes: u64,
    /// The value of the last step h ← SHA-256(h ‖ mixin), if there is one.
    pub mixin: Option<[u8; 32]>,
}

impl HashChain {
    /// The chain of a Solana entry of `num_hashes` hashes, starting from the previous entry's
    /// hash: `mixin` is the hash of the entry's transactions (their signatures' Merkle root),
    /// `None` for a tick. As Solana's `next_hash`: no hashes and no transactions leave the hash
    /// as it was; otherwise `num_hashes − 1` plain steps, then a plain step (a tick) or the
    /// mixin step (transactions; an entry of transactions and no hashes still takes that step).
    pub fn solana_entry(start: [u8; 32], num_hashes: u64, mixin: Option<[u8; 32]>) -> HashChain {
        let hashes = match mixin {
            Some(_) => num_hashes.saturating_sub(1),
            None => num_hashes,
        };
        HashChain {
            start,
            hashes,
            mixin,
        }
    }
}

/// The plain steps of `chains` in all, or [`Error::TooLarge`] past [`MAX_CHAIN_HASHES`] in a
/// chain or [`MAX_BATCH_HASHES`] in all: what every backend checks before any work.
pub fn check(chains: &[HashChain]) -> Result<u64> {
    let mut total: u64 = 0;
    for c in chains {
        if c.hashes > MAX_CHAIN_HASHES {
            return Err(Error::TooLarge {
                what: "hashes in one chain",
                found: c.hashes,
                limit: MAX_CHAIN_HASHES,
            });
        }
        total += c.hashes;
        if total > MAX_BATCH_HASHES {
            return Err(Error::TooLarge {
                what: "hashes in a batch of chains",
                found: total,
                limit: MAX_BATCH_HASHES,
            });
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solana_entries_map_to_chains_as_next_hash_does() {
        let s = [3u8; 32];
        let m = Some([9u8; 32]);
        assert_eq!(HashChain::solana_entry(s, 0, None).hashes, 0);
        assert_eq!(HashChain::solana_entry(s, 5, None).hashes, 5);
        assert_eq!(HashChain::solana_entry(s, 5, m).hashes, 4);
        assert_eq!(HashChain::solana_entry(s, 0, m).hashes, 0);
        assert_eq!(HashChain::solana_entry(s, 0, m).mixin, m);
    }

    #[test]
    fn limits_are_checked_per_chain_and_per_batch() {
        let c = |hashes| HashChain {
            start: [0; 32],
            hashes,
            mixin: None,
        };
        assert_eq!(check(&[c(1), c(2)]), Ok(3));
        assert!(matches!(
            check(&[c(MAX_CHAIN_HASHES + 1)]),
            Err(Error::TooLarge { .. })
        ));
        let full = vec![c(MAX_CHAIN_HASHES); (MAX_BATCH_HASHES / MAX_CHAIN_HASHES) as usize];
        assert_eq!(check(&full), Ok(MAX_BATCH_HASHES));
        let mut over = full;
        over.push(c(1));
        assert!(matches!(check(&over), Err(Error::TooLarge { .. })));
    }
}
