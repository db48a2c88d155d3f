//! Request pieces the command line and the server read alike.

use std::borrow::Cow;

use serde::Deserialize;

use vera_engine::hash_chains::MAX_CHAIN_HASHES;
use vera_engine::HashChain;

use crate::accelerator::ProofItem;

use crate::hexfmt::hex_array;

/// One inclusion proof as JSON: `{"leaf":hex,"index":n,"size":n,"path":[hex,…],"root":hex}`,
/// hashes of 32 bytes (RFC 6962 leaf hashes or Bitcoin txids, internal byte order).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WireProof<'a> {
    #[serde(borrow)]
    pub(crate) leaf: Cow<'a, str>,
    pub(crate) index: u64,
    pub(crate) size: u64,
    #[serde(borrow)]
    pub(crate) path: Vec<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) root: Cow<'a, str>,
}

impl WireProof<'_> {
    /// The proof, its hashes decoded.
    pub(crate) fn decode(&self) -> Result<ProofItem, String> {
        let leaf = hex_array::<32>("leaf", &self.leaf)?;
        let root = hex_array::<32>("root", &self.root)?;
        let path = self
            .path
            .iter()
            .enumerate()
            .map(|(i, h)| hex_array::<32>(&format!("path[{i}]"), h))
            .collect::<Result<Vec<_>, _>>()?;
        Ok((leaf, self.index, self.size, path, root))
    }
}

/// One Solana proof-of-history entry as JSON: `{"num_hashes":n,"hash":hex}`, plus, for an entry
/// of transactions, `"mixin":hex` (the hash of its transactions) or `"signatures":[hex,…]`
/// (every signature of its transactions, in order, from which vera computes that hash), and
/// optionally `"start":hex`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WirePohEntry<'a> {
    pub(crate) num_hashes: u64,
    #[serde(borrow)]
    pub(crate) hash: Cow<'a, str>,
    #[serde(borrow, default)]
    pub(crate) mixin: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub(crate) signatures: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    pub(crate) start: Option<Cow<'a, str>>,
}

/// A proof-of-history entry to check: its chain and the hash it claims.
pub type PohItem = (HashChain, [u8; 32]);

impl WirePohEntry<'_> {
    /// The entry's chain, from its own `start` or else `prev` (the hash before it), and the
    /// hash it claims.
    pub(crate) fn decode(&self, prev: Option<[u8; 32]>) -> Result<PohItem, String> {
        if self.num_hashes > MAX_CHAIN_HASHES {
            return Err(format!(
                "num_hashes is {}; at most {MAX_CHAIN_HASHES} are checked",
                self.num_hashes
            ));
        }
        let hash = hex_array::<32>("hash", &self.hash)?;
        let mixin = match (&self.mixin, &self.signatures) {
            (Some(m), None) => Some(hex_array::<32>("mixin", m)?),
            (None, Some(sigs)) if sigs.is_empty() => None,
            (None, Some(sigs)) => {
                let sigs = sigs
                    .iter()
                    .enumerate()
                    .map(|(i, s)| hex_array::<64>("", s).map_err(|e| format!("signatures[{i}]{e}")))
                    .collect::<Result<Vec<_>, _>>()?;
                Some(crate::chains::solana::entry_mixin(&sigs))
            }
            (None, None) => None,
            (Some(_), Some(_)) => {
                return Err("give \"mixin\" or \"signatures\", not both".into());
            }
        };
        let start = match &self.start {
            Some(s) => hex_array::<32>("start", s)?,
            None => prev.ok_or("no hash to start from: give \"start\"")?,
        };
        Ok((HashChain::solana_entry(start, self.num_hashes, mixin), hash))
    }
}
