//! Bitcoin blocks: the Merkle check a node runs on every block it receives.
//!
//! [`check_block`] parses a serialized block, hashes every transaction without its witness on
//! the engine (double SHA-256, batched), builds the Merkle root from those txids (with Bitcoin
//! Core's `mutated` flag, CVE-2012-2459) and compares it with the root in the header. That is
//! `CheckMerkleRoot` of Bitcoin Core's `CheckBlock`; the rest of block validation (scripts,
//! amounts, the segwit witness commitment) is the node's.
//!
//! The parser is hand-written rather than taken from rust-bitcoin: it needs only transaction
//! boundaries and the witness layout, and rust-bitcoin would bring libsecp256k1's C build into
//! vera's tree. It follows Bitcoin Core's deserializer (`UnserializeTransaction`, canonical
//! `CompactSize`), checks every length against the bytes that remain before using it, and
//! allocates nothing sized by an unchecked count.

use std::fmt;

use sha2::{Digest, Sha256};
use vera_engine::{Engine, MerkleScheme, MessageBuf};

/// Why a block could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockError {
    /// The bytes are not a block: truncated, a malformed field, trailing bytes.
    Malformed(String),
    /// The engine failed (a GPU failure with no CPU to fall back on, a batch too large).
    Engine(String),
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockError::Malformed(m) => write!(f, "malformed block: {m}"),
            BlockError::Engine(m) => write!(f, "engine failed: {m}"),
        }
    }
}

impl std::error::Error for BlockError {}

/// What the Merkle check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockCheck {
    /// The block hash, double SHA-256 of the header, in internal byte order (explorers show it
    /// reversed).
    pub block_hash: [u8; 32],
    /// Every transaction's txid, in block order and internal byte order.
    pub txids: Vec<[u8; 32]>,
    /// How many transactions carry witness data.
    pub segwit_txs: usize,
    /// The Merkle root of the txids, internal byte order.
    pub merkle_root: [u8; 32],
    /// The Merkle root the header commits to.
    pub header_merkle_root: [u8; 32],
    /// Two identical siblings were hashed together somewhere in the tree: Bitcoin Core rejects
    /// such a block (`bad-txns-duplicate`) whatever its root.
    pub mutated: bool,
}

impl BlockCheck {
    /// Whether the block passes the Merkle check: the computed root is the header's, and the
    /// tree is not mutated.
    pub fn merkle_ok(&self) -> bool {
        self.merkle_root == self.header_merkle_root && !self.mutated
    }
}

/// Largest `CompactSize` Bitcoin Core accepts (`MAX_SIZE`).
const MAX_SIZE: u64 = 0x0200_0000;

/// A cursor over the block's bytes; every read is bounds-checked.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], BlockError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                BlockError::Malformed(format!("truncated in {what} at byte {}", self.at))
            })?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn byte(&mut self, what: &str) -> Result<u8, BlockError> {
        Ok(self.take(1, what)?[0])
    }

    /// A `CompactSize`, canonical and at most `MAX_SIZE`, as Bitcoin Core reads it.
    fn compact_size(&mut self, what: &str) -> Result<u64, BlockError> {
        let first = self.byte(what)?;
        let (n, min) = match first {
            0xfd => (
                u64::from(u16::from_le_bytes(
                    self.take(2, what)?.try_into().expect("2 bytes"),
                )),
                0xfd,
            ),
            0xfe => (
                u64::from(u32::from_le_bytes(
                    self.take(4, what)?.try_into().expect("4 bytes"),
                )),
                0x1_0000,
            ),
            0xff => (
                u64::from_le_bytes(self.take(8, what)?.try_into().expect("8 bytes")),
                0x1_0000_0000,
            ),
            b => return Ok(u64::from(b)),
        };
        if n < min {
            return Err(BlockError::Malformed(format!(
                "non-canonical size in {what} at byte {}",
                self.at
            )));
        }
        if n > MAX_SIZE {
            return Err(BlockError::Malformed(format!(
                "size {n} in {what} is over {MAX_SIZE}"
            )));
        }
        Ok(n)
    }

    /// A count of items each at least `min_item` bytes long: checked against what remains, so
    /// that it can size an allocation.
    fn count(&mut self, min_item: usize, what: &str) -> Result<usize, BlockError> {
        let n = self.compact_size(what)? as usize;
        let room = (self.bytes.len() - self.at) / min_item.max(1);
        if n > room {
            return Err(BlockError::Malformed(format!(
                "{n} {what} cannot fit in the {} bytes left",
                self.bytes.len() - self.at
            )));
        }
        Ok(n)
    }

    /// Skips a length-prefixed byte string.
    fn skip_bytes(&mut self, what: &str) -> Result<(), BlockError> {
        let n = self.compact_size(what)? as usize;
        self.take(n, what).map(|_| ())
    }
}

/// One transaction's bytes without its witness: `version ‖ inputs and outputs ‖ locktime` for a
/// segwit transaction (two ranges around the marker, flag and witnesses), or the whole
/// transaction.
struct Stripped {
    /// Byte ranges of the block, in order, that make up the serialization without witness.
    parts: [std::ops::Range<usize>; 3],
    segwit: bool,
}

/// Reads `count` inputs.
fn inputs(r: &mut Reader<'_>, count: usize) -> Result<(), BlockError> {
    for _ in 0..count {
        r.take(36, "an input's outpoint")?;
        r.skip_bytes("an input's script")?;
        r.take(4, "an input's sequence")?;
    }
    Ok(())
}

fn outputs(r: &mut Reader<'_>) -> Result<(), BlockError> {
    // An output is at least 9 bytes: an 8-byte amount and an empty script.
    let count = r.count(9, "outputs")?;
    for _ in 0..count {
        r.take(8, "an output's amount")?;
        r.skip_bytes("an output's script")?;
    }
    Ok(())
}

/// Reads one transaction the way Bitcoin Core's `UnserializeTransaction` does, noting where its
/// witness-free serialization lies.
fn transaction(r: &mut Reader<'_>) -> Result<Stripped, BlockError> {
    let start = r.at;
    r.take(4, "a transaction's version")?;
    let after_version = r.at;
    // An input is at least 41 bytes: outpoint, an empty script, sequence.
    let mut vin = r.count(41, "inputs")?;
    let mut flags = 0u8;
    let mut body_start = after_version;
    if vin == 0 {
        // An empty input list followed by a non-zero flag byte is the extended (segwit) format.
        flags = r.byte("the segwit flag")?;
        if flags != 0 {
            body_start = r.at;
            vin = r.count(41, "inputs")?;
            inputs(r, vin)?;
            outputs(r)?;
        }
        // flags == 0: no inputs and no outputs (Bitcoin Core reads none either).
    } else {
        inputs(r, vin)?;
        outputs(r)?;
    }
    let body_end = r.at;
    let segwit = flags & 1 != 0;
    if segwit {
        // Bitcoin Core refuses a witness flag when every input's witness stack is empty.
        let mut any = false;
        for _ in 0..vin {
            let items = r.count(1, "witness items")?;
            for _ in 0..items {
                r.skip_bytes("a witness item")?;
            }
            any |= items > 0;
        }
        if !any {
            return Err(BlockError::Malformed("superfluous witness record".into()));
        }
    }
    if flags & !1 != 0 {
        return Err(BlockError::Malformed(
            "unknown transaction optional data".into(),
        ));
    }
    let lock = r.at;
    r.take(4, "a transaction's locktime")?;
    let parts = if flags != 0 {
        [start..after_version, body_start..body_end, lock..r.at]
    } else {
        // No marker or witness: the transaction as it stands.
        [start..r.at, 0..0, 0..0]
    };
    Ok(Stripped { parts, segwit })
}

/// Runs the Merkle check on one serialized block (header, then transactions); see the module
/// docs. Transactions are hashed on `engine`, so a big block's hashing runs batched on the GPU
/// or every core, as the engine routes it.
pub fn check_block(engine: &Engine, raw: &[u8]) -> Result<BlockCheck, BlockError> {
    let mut r = Reader { bytes: raw, at: 0 };
    let header = r.take(80, "the header")?;
    // The smallest transaction is 10 bytes: version, two empty lists, locktime.
    let count = r.count(10, "transactions")?;
    if count == 0 {
        return Err(BlockError::Malformed(
            "a block has at least one transaction".into(),
        ));
    }
    let mut stripped = MessageBuf::new();
    let mut segwit_txs = 0;
    let mut tx = Vec::new();
    for _ in 0..count {
        let s = transaction(&mut r)?;
        segwit_txs += usize::from(s.segwit);
        tx.clear();
        for part in s.parts {
            tx.extend_from_slice(&raw[part]);
        }
        stripped
            .push(&tx)
            .map_err(|e| BlockError::Engine(e.to_string()))?;
    }
    if r.at != raw.len() {
        return Err(BlockError::Malformed(format!(
            "{} bytes after the last transaction",
            raw.len() - r.at
        )));
    }
    let engine_err = |e: vera_engine::Error| BlockError::Engine(e.to_string());
    let once = engine.sha256(stripped.as_messages()).map_err(engine_err)?;
    let digests = MessageBuf::from_slices(&once).map_err(engine_err)?;
    let txids = engine.sha256(digests.as_messages()).map_err(engine_err)?;
    let root = engine
        .merkle_root_from_hashes(MerkleScheme::Bitcoin, &txids)
        .map_err(engine_err)?;
    let block_hash = Sha256::digest(Sha256::digest(header)).into();
    Ok(BlockCheck {
        block_hash,
        txids,
        segwit_txs,
        merkle_root: root.root,
        header_merkle_root: header[36..68].try_into().expect("32 bytes"),
        mutated: root.mutated == Some(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(bytes: &[u8]) -> Reader<'_> {
        Reader { bytes, at: 0 }
    }

    #[test]
    fn compact_sizes_are_canonical_and_bounded() {
        assert_eq!(reader(&[0xfc]).compact_size("x"), Ok(0xfc));
        assert_eq!(reader(&[0xfd, 0xfd, 0x00]).compact_size("x"), Ok(0xfd));
        assert!(reader(&[0xfd, 0xfc, 0x00]).compact_size("x").is_err());
        assert_eq!(
            reader(&[0xfe, 0x00, 0x00, 0x01, 0x00]).compact_size("x"),
            Ok(0x1_0000)
        );
        assert!(reader(&[0xfe, 0xff, 0xff, 0x00, 0x00])
            .compact_size("x")
            .is_err());
        // Over MAX_SIZE, and a u64 that would overflow any allocation.
        assert!(reader(&[0xfe, 0x01, 0x00, 0x00, 0x02])
            .compact_size("x")
            .is_err());
        assert!(reader(&[0xff, 0, 0, 0, 0, 1, 0, 0, 0])
            .compact_size("x")
            .is_err());
        assert!(reader(&[0xfd, 0x00]).compact_size("x").is_err());
        // A count must fit in what is left.
        assert!(reader(&[0x05, 0, 0, 0, 0]).count(1, "x").is_err());
        assert_eq!(reader(&[0x04, 0, 0, 0, 0]).count(1, "x"), Ok(4));
    }
}
