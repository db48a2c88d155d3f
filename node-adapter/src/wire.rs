//! Request pieces the command line and the server read alike.

use std::borrow::Cow;

use serde::Deserialize;

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
