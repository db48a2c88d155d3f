//! Bitcoin blocks: the checks a node runs on every block it receives before it looks at a
//! single script: is this the block the header commits to, or a mutated copy of it?
//!
//! [`check_block`] parses a serialized block and hashes, in one engine batch (double SHA-256),
//! every transaction without its witness (txids) and, when the coinbase carries a BIP141
//! witness commitment and a 32-byte reserved value, every segwit transaction with it (wtxids). From these it builds:
//! - the Merkle root of the txids, with Bitcoin Core's `mutated` flag (CVE-2012-2459), against
//!   the root in the header (`CheckMerkleRoot`);
//! - the witness root of the wtxids (the coinbase's counted as zero), hashed with the coinbase's
//!   witness reserved value, against the commitment (`CheckWitnessMalleation`).
//!
//! [`BlockCheck::mutation`] then answers as Bitcoin Core's `IsBlockMutated` does, with Core's
//! reject reasons. The rest of block validation (proof of work, scripts, amounts, weight) is
//! the node's.
//!
//! The parser is hand-written rather than taken from rust-bitcoin: it needs only transaction
//! boundaries and the witness layout, and rust-bitcoin would bring libsecp256k1's C build into
//! vera's tree. It follows Bitcoin Core's deserializer (`UnserializeTransaction`, canonical
//! `CompactSize`), checks every length against the bytes that remain before using it, and
//! allocates nothing sized by an unchecked count.

use std::fmt;

use vera_engine::backend::cpu::merkle::bitcoin_node;
use vera_engine::backend::cpu::sha256::sha256d;
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

/// The BIP141 witness commitment of a block, as its coinbase holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WitnessCommitment {
    /// No output of the first transaction holds a commitment (a script of at least 38 bytes
    /// starting `6a24aa21a9ed`).
    Absent,
    /// Output `output` holds one, but the first input's witness is not one 32-byte item, the
    /// witness reserved value.
    BadReservedValue {
        /// Index of the commitment's output (the last one that holds a commitment).
        output: usize,
    },
    /// Output `output` commits to `committed`; the block gives `computed`.
    Found {
        /// Index of the commitment's output (the last one that holds a commitment).
        output: usize,
        /// The 32 bytes the output commits to.
        committed: [u8; 32],
        /// The Merkle root of the wtxids, the coinbase's taken as zero (internal byte order).
        witness_root: [u8; 32],
        /// Double SHA-256 of the witness root and the reserved value: must equal `committed`.
        computed: [u8; 32],
    },
}

/// How a block fails Bitcoin Core's `IsBlockMutated`: it is not the block its header commits
/// to, so a node must drop it without marking the header invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mutation {
    /// The txids' root is not the header's.
    MerkleRoot,
    /// Identical siblings were hashed together (CVE-2012-2459).
    DuplicateTxs,
    /// The first transaction is not a coinbase, and a transaction is 64 bytes long without its
    /// witness, so that it could pass for an inner node of the tree.
    SixtyFourByteTx,
    /// A commitment, but the coinbase's witness is not one 32-byte reserved value.
    WitnessReservedValue,
    /// The witness commitment does not match the block's wtxids.
    WitnessMerkleRoot,
    /// Witness data in a block that does not commit to it (or before segwit).
    UnexpectedWitness,
}

impl Mutation {
    /// Bitcoin Core's reject reason (`bad-txnmrklroot`, …); Core gives the 64-byte case none,
    /// and vera calls it `64-byte-transaction`.
    pub fn reason(self) -> &'static str {
        match self {
            Mutation::MerkleRoot => "bad-txnmrklroot",
            Mutation::DuplicateTxs => "bad-txns-duplicate",
            Mutation::SixtyFourByteTx => "64-byte-transaction",
            Mutation::WitnessReservedValue => "bad-witness-nonce-size",
            Mutation::WitnessMerkleRoot => "bad-witness-merkle-match",
            Mutation::UnexpectedWitness => "unexpected-witness",
        }
    }
}

impl fmt::Display for Mutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

/// What the block check found.
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
    /// The first transaction is a coinbase: one input, spending the null outpoint.
    pub coinbase: bool,
    /// Some transaction is exactly 64 bytes long without its witness.
    pub has_64_byte_tx: bool,
    /// The witness commitment and what the block's wtxids give.
    pub witness: WitnessCommitment,
}

impl BlockCheck {
    /// Whether the block passes the Merkle check: the computed root is the header's, and the
    /// tree is not mutated.
    pub fn merkle_ok(&self) -> bool {
        self.merkle_root == self.header_merkle_root && !self.mutated
    }

    /// Bitcoin Core's `IsBlockMutated(block, segwit_active)`, step for step: `None` when the
    /// block is the one its header commits to. `segwit_active` says whether segwit is active
    /// at the block's height (mainnet: from 481,824); only then is the commitment checked,
    /// and without one (or before segwit) no transaction may carry a witness.
    pub fn mutation(&self, segwit_active: bool) -> Option<Mutation> {
        if self.merkle_root != self.header_merkle_root {
            return Some(Mutation::MerkleRoot);
        }
        if self.mutated {
            return Some(Mutation::DuplicateTxs);
        }
        if !self.coinbase {
            // Core stops here: such a block is invalid anyway, and only a 64-byte
            // transaction could make it a mutation of a valid one.
            return self.has_64_byte_tx.then_some(Mutation::SixtyFourByteTx);
        }
        if segwit_active {
            match self.witness {
                WitnessCommitment::Absent => {}
                WitnessCommitment::BadReservedValue { .. } => {
                    return Some(Mutation::WitnessReservedValue)
                }
                WitnessCommitment::Found {
                    committed,
                    computed,
                    ..
                } => {
                    return (committed != computed).then_some(Mutation::WitnessMerkleRoot);
                }
            }
        }
        (self.segwit_txs > 0).then_some(Mutation::UnexpectedWitness)
    }
}

/// Largest `CompactSize` Bitcoin Core accepts (`MAX_SIZE`).
const MAX_SIZE: u64 = 0x0200_0000;

/// How a BIP141 commitment output's script starts: OP_RETURN, a 36-byte push, `aa21a9ed`.
const COMMITMENT_PREFIX: [u8; 6] = [0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];

/// The outpoint of a coinbase input: no previous transaction, index 0xffffffff.
const NULL_OUTPOINT: [u8; 36] = {
    let mut o = [0u8; 36];
    let mut i = 32;
    while i < 36 {
        o[i] = 0xff;
        i += 1;
    }
    o
};

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

    /// A length-prefixed byte string.
    fn var_bytes(&mut self, what: &str) -> Result<&'a [u8], BlockError> {
        let n = self.compact_size(what)? as usize;
        self.take(n, what)
    }
}

/// One transaction's place in the block.
struct Tx {
    /// The whole transaction as serialized in the block, witness included.
    full: std::ops::Range<usize>,
    /// Byte ranges of the block, in order, that make up the serialization without witness:
    /// `version ‖ inputs and outputs ‖ locktime` around a segwit transaction's marker, flag
    /// and witnesses, or the whole transaction.
    stripped: [std::ops::Range<usize>; 3],
    segwit: bool,
    /// What the block check needs of the first transaction (read for that one only).
    first: First,
}

/// The first transaction's part in the checks.
#[derive(Default)]
struct First {
    /// One input, spending the null outpoint (Bitcoin Core's `IsCoinBase`).
    coinbase: bool,
    /// The last output holding a witness commitment: its index and the committed hash.
    commitment: Option<(usize, [u8; 32])>,
    /// The first input's witness, when it is one 32-byte item (the witness reserved value).
    reserved: Option<[u8; 32]>,
}

/// Reads `count` inputs; returns the first one's outpoint.
fn inputs<'a>(r: &mut Reader<'a>, count: usize) -> Result<Option<&'a [u8]>, BlockError> {
    let mut first = None;
    for _ in 0..count {
        let outpoint = r.take(36, "an input's outpoint")?;
        first = first.or(Some(outpoint));
        r.var_bytes("an input's script")?;
        r.take(4, "an input's sequence")?;
    }
    Ok(first)
}

/// Reads the outputs; returns the last one holding a witness commitment (index and hash).
fn outputs(r: &mut Reader<'_>) -> Result<Option<(usize, [u8; 32])>, BlockError> {
    // An output is at least 9 bytes: an 8-byte amount and an empty script.
    let count = r.count(9, "outputs")?;
    let mut commitment = None;
    for i in 0..count {
        r.take(8, "an output's amount")?;
        let script = r.var_bytes("an output's script")?;
        if script.len() >= 38 && script.starts_with(&COMMITMENT_PREFIX) {
            commitment = Some((i, script[6..38].try_into().expect("32 bytes")));
        }
    }
    Ok(commitment)
}

/// Reads one transaction the way Bitcoin Core's `UnserializeTransaction` does, noting where its
/// witness-free serialization lies, and for the `first` transaction, its coinbase input,
/// commitment and witness reserved value.
fn transaction(r: &mut Reader<'_>, first: bool) -> Result<Tx, BlockError> {
    let start = r.at;
    r.take(4, "a transaction's version")?;
    let after_version = r.at;
    // An input is at least 41 bytes: outpoint, an empty script, sequence.
    let mut vin = r.count(41, "inputs")?;
    let mut flags = 0u8;
    let mut body_start = after_version;
    let mut seen = (None, None);
    if vin == 0 {
        // An empty input list followed by a non-zero flag byte is the extended (segwit) format.
        flags = r.byte("the segwit flag")?;
        if flags != 0 {
            body_start = r.at;
            vin = r.count(41, "inputs")?;
            seen = (inputs(r, vin)?, outputs(r)?);
        }
        // flags == 0: no inputs and no outputs (Bitcoin Core reads none either).
    } else {
        seen = (inputs(r, vin)?, outputs(r)?);
    }
    let body_end = r.at;
    let segwit = flags & 1 != 0;
    let mut reserved = None;
    if segwit {
        // Bitcoin Core refuses a witness flag when every input's witness stack is empty.
        let mut any = false;
        for i in 0..vin {
            let items = r.count(1, "witness items")?;
            for _ in 0..items {
                let item = r.var_bytes("a witness item")?;
                if i == 0 && items == 1 {
                    reserved = <[u8; 32]>::try_from(item).ok();
                }
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
    let stripped = if flags != 0 {
        [start..after_version, body_start..body_end, lock..r.at]
    } else {
        // No marker or witness: the transaction as it stands.
        [start..r.at, 0..0, 0..0]
    };
    let first = if first {
        First {
            coinbase: vin == 1 && seen.0 == Some(&NULL_OUTPOINT[..]),
            commitment: seen.1,
            reserved,
        }
    } else {
        First::default()
    };
    Ok(Tx {
        full: start..r.at,
        stripped,
        segwit,
        first,
    })
}

/// Runs the block check on one serialized block (header, then transactions); see the module
/// docs. Transactions are hashed on `engine` in one batch, so a big block's hashing runs on the
/// GPU or every core, as the engine routes it.
///
/// Two kinds of bytes Bitcoin Core reads are [`BlockError::Malformed`] here: bytes after the
/// last transaction (Core's network path ignores them) and a block of no transactions (Core
/// rejects it right after, `bad-blk-length`). Neither is a block a node could accept.
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
    // The serializations to hash: every transaction without its witness, then (when the
    // commitment is to be checked) every segwit transaction but the first with it.
    let mut hashed = MessageBuf::new();
    let mut with_witness = Vec::new();
    let mut segwit_txs = 0;
    let mut has_64_byte_tx = false;
    let mut first = First::default();
    let mut tx = Vec::new();
    for i in 0..count {
        let t = transaction(&mut r, i == 0)?;
        segwit_txs += usize::from(t.segwit);
        tx.clear();
        for part in t.stripped {
            tx.extend_from_slice(&raw[part]);
        }
        has_64_byte_tx |= tx.len() == 64;
        hashed
            .push(&tx)
            .map_err(|e| BlockError::Engine(e.to_string()))?;
        if i == 0 {
            first = t.first;
        } else if t.segwit {
            with_witness.push((i, t.full));
        }
    }
    if r.at != raw.len() {
        return Err(BlockError::Malformed(format!(
            "{} bytes after the last transaction",
            raw.len() - r.at
        )));
    }
    let commitment = first.commitment.map(|c| (c, first.reserved));
    let wtxids_needed = matches!(commitment, Some((_, Some(_))));
    if wtxids_needed {
        for (_, full) in &with_witness {
            hashed
                .push(&raw[full.clone()])
                .map_err(|e| BlockError::Engine(e.to_string()))?;
        }
    }
    let engine_err = |e: vera_engine::Error| BlockError::Engine(e.to_string());
    let mut digests = engine.sha256d(hashed.as_messages()).map_err(engine_err)?;
    let witness_hashes = digests.split_off(count);
    let txids = digests;
    let root = engine
        .merkle_root_from_hashes(MerkleScheme::Bitcoin, &txids)
        .map_err(engine_err)?;
    let witness = match commitment {
        None => WitnessCommitment::Absent,
        Some(((output, _), None)) => WitnessCommitment::BadReservedValue { output },
        Some(((output, committed), Some(reserved))) => {
            // Core's BlockWitnessMerkleRoot: the first leaf is zero, a transaction without
            // witness counts with its txid. (Its mutated flag is ignored, as Core does: the
            // txid tree already refuses duplicates.)
            let mut wtxids = txids.clone();
            wtxids[0] = [0; 32];
            for ((i, _), w) in with_witness.iter().zip(&witness_hashes) {
                wtxids[*i] = *w;
            }
            let witness_root = engine
                .merkle_root_from_hashes(MerkleScheme::Bitcoin, &wtxids)
                .map_err(engine_err)?
                .root;
            // SHA256d(root ‖ reserved value): a Bitcoin Merkle node's hash, on this thread.
            let computed = bitcoin_node(&witness_root, &reserved);
            WitnessCommitment::Found {
                output,
                committed,
                witness_root,
                computed,
            }
        }
    };
    Ok(BlockCheck {
        block_hash: sha256d(header),
        txids,
        segwit_txs,
        merkle_root: root.root,
        header_merkle_root: header[36..68].try_into().expect("32 bytes"),
        mutated: root.mutated == Some(true),
        coinbase: first.coinbase,
        has_64_byte_tx,
        witness,
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
