//! Solana transactions: the signature check of a validator's sigverify stage.
//!
//! A serialized transaction is a compact-u16 count of 64-byte signatures, the signatures, then
//! the message: an optional version byte (high bit set; only version 0 exists), a three-byte
//! header whose first byte is the number of required signatures, a compact-u16 count of 32-byte
//! account keys, a recent blockhash, a compact-u16 count of instructions and the rest. Signature
//! `i` signs the whole message (every byte after the signatures) with account key `i`, under
//! ed25519-dalek's `verify_strict` — vera's `strict` rule. Which transactions reach verification
//! at all follows Agave's `do_get_packet_offsets` check by check: the fee payer must be
//! writable (more required signatures than read-only signers), the count of signatures must
//! equal the required count, there must be at least as many keys, a blockhash, and at most 64
//! instructions (SIMD-0160) followed by at least one byte.
//!
//! [`verify_transactions`] checks many transactions with one engine batch holding all their
//! signatures, so a stream of transactions fills the GPU the way a validator's packet batches
//! do. Only what sigverify reads is parsed (the rest of the message is the runtime's), and, as
//! for a validator, a transaction is at most one packet ([`MAX_TX_BYTES`]).
//!
//! Proof-of-history entries are hash chains ([`vera_engine::HashChain::solana_entry`]); an
//! entry of transactions mixes in [`entry_mixin`] of their signatures.

use std::fmt;

use vera_engine::backend::cpu::merkle::{rfc6962_leaf, rfc6962_node};
use vera_engine::{Engine, Rule, SignatureBatchBuf, Verdict};

/// Why a transaction could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TxError {
    /// The bytes are not a transaction sigverify accepts: truncated, a non-canonical length,
    /// an unsupported version, counts that do not match.
    Malformed(String),
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxError::Malformed(m) => write!(f, "malformed transaction: {m}"),
        }
    }
}

impl std::error::Error for TxError {}

/// A transaction's signatures, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxCheck {
    /// One verdict per signature, in order.
    pub verdicts: Vec<Verdict>,
}

impl TxCheck {
    /// Whether every signature is valid (there is at least one).
    pub fn valid(&self) -> bool {
        !self.verdicts.is_empty() && self.verdicts.iter().all(|v| v.is_valid())
    }
}

/// Where a transaction's signed parts lie.
struct Layout<'a> {
    signatures: Vec<[u8; 64]>,
    keys: Vec<[u8; 32]>,
    message: &'a [u8],
}

/// Reads a compact-u16 ("short vec" length) at `at`: 1 to 3 bytes of 7 bits, low first;
/// Agave refuses an alias (a longer encoding than needed) and values over u16::MAX.
fn short_u16(bytes: &[u8], at: &mut usize, what: &str) -> Result<usize, TxError> {
    let mut value = 0usize;
    for i in 0..3 {
        let b = *bytes
            .get(*at)
            .ok_or_else(|| TxError::Malformed(format!("truncated in the {what} count")))?;
        *at += 1;
        value |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if b == 0 && i > 0 {
                return Err(TxError::Malformed(format!("non-canonical {what} count")));
            }
            if value > usize::from(u16::MAX) {
                return Err(TxError::Malformed(format!("{what} count over 65,535")));
            }
            return Ok(value);
        }
    }
    Err(TxError::Malformed(format!(
        "{what} count longer than 3 bytes"
    )))
}

/// Takes `n` items of `N` bytes at `at`, checked against what remains.
fn items<const N: usize>(
    bytes: &[u8],
    at: &mut usize,
    n: usize,
    what: &str,
) -> Result<Vec<[u8; N]>, TxError> {
    let end = n
        .checked_mul(N)
        .and_then(|len| at.checked_add(len))
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| TxError::Malformed(format!("truncated in the {what}")))?;
    let out = bytes[*at..end].as_chunks::<N>().0.to_vec();
    *at = end;
    Ok(out)
}

/// The largest transaction a validator takes: one network packet (`PACKET_DATA_SIZE`). It also
/// bounds what one transaction adds to a batch (each signature carries the whole message).
pub const MAX_TX_BYTES: usize = 1232;

fn layout(tx: &[u8]) -> Result<Layout<'_>, TxError> {
    let bad = |m: &str| Err(TxError::Malformed(m.to_string()));
    if tx.len() > MAX_TX_BYTES {
        return Err(TxError::Malformed(format!(
            "{} bytes, over the {MAX_TX_BYTES}-byte packet",
            tx.len()
        )));
    }
    // The checks and their order are Agave's `do_get_packet_offsets` (perf/src/sigverify.rs);
    // its error names are in brackets.
    if tx.len() < 1 + 64 {
        return bad("shorter than one signature [InvalidLen]");
    }
    let mut at = 0;
    let n = short_u16(tx, &mut at, "signature")?;
    let msg_start = n
        .checked_mul(64)
        .and_then(|len| len.checked_add(at))
        .filter(|&m| m < tx.len())
        .ok_or_else(|| {
            TxError::Malformed("no message after the signatures [InvalidSignatureLen]".into())
        })?;
    let signatures = items::<64>(tx, &mut at, n, "signatures")?;
    let message = &tx[msg_start..];
    let mut m = 0;
    if message[0] & 0x80 != 0 {
        let version = message[0] & 0x7f;
        if version != 0 {
            return Err(TxError::Malformed(format!(
                "unsupported message version {version} [UnsupportedVersion]"
            )));
        }
        m = 1;
    }
    // The header's three bytes and the key count's first byte.
    if m + 4 > message.len() {
        return bad("truncated in the message header [InvalidSignatureLen]");
    }
    let (required, readonly_signed) = (usize::from(message[m]), usize::from(message[m + 1]));
    if required <= readonly_signed {
        // The fee payer (the first signer) must be writable, so that it can be charged; with
        // no readonly signers this also refuses a transaction without signatures.
        return bad("the fee payer is not writable [PayerNotWritable]");
    }
    if n != required {
        return Err(TxError::Malformed(format!(
            "{n} signatures for {required} required [MismatchSignatureLen]"
        )));
    }
    m += 3;
    let key_count = short_u16(message, &mut m, "account key")?;
    let keys_end = key_count
        .checked_mul(32)
        .and_then(|len| len.checked_add(m))
        .filter(|&e| e <= message.len())
        .ok_or_else(|| {
            TxError::Malformed("truncated in the account keys [InvalidPubkeyLen]".into())
        })?;
    if key_count < n {
        return Err(TxError::Malformed(format!(
            "{key_count} account keys for {n} signatures [InvalidPubkeyLen]"
        )));
    }
    // Only the signers' keys are needed.
    let keys = items::<32>(message, &mut m, n, "account keys")?;
    // Then the recent blockhash, and an instruction count of at most 64 (SIMD-0160) with at
    // least one byte after it.
    let mut at = keys_end + 32;
    if at + 1 > message.len() {
        return bad("truncated before the instruction count [InvalidLen]");
    }
    let instructions = short_u16(message, &mut at, "instruction")?;
    if instructions > MAX_INSTRUCTIONS {
        return Err(TxError::Malformed(format!(
            "{instructions} instructions, over {MAX_INSTRUCTIONS} [InvalidNumberOfInstructions]"
        )));
    }
    if at + 1 > message.len() {
        return bad("nothing after the instruction count [InvalidLen]");
    }
    Ok(Layout {
        signatures,
        keys,
        message,
    })
}

/// The most top-level instructions a transaction may hold (SIMD-0160; Agave's
/// `MAX_INSTRUCTION_TRACE_LENGTH`).
pub const MAX_INSTRUCTIONS: usize = 64;

/// The signatures one transaction asks to verify, as (key, message, signature) items for the
/// strict rule, in signature order: what [`verify_transactions`] batches, for callers that batch
/// otherwise (the server's accelerator).
pub fn signed_items(tx: &[u8]) -> Result<Vec<crate::accelerator::SignatureItem>, TxError> {
    let l = layout(tx)?;
    Ok(l.keys
        .iter()
        .zip(&l.signatures)
        .map(|(k, s)| (*k, l.message.to_vec(), *s))
        .collect())
}

/// Checks every signature of each transaction (strict rule), all in one engine batch; one
/// result per transaction, in order. A malformed transaction is an error for itself alone.
pub fn verify_transactions(
    engine: &Engine,
    txs: &[&[u8]],
) -> Result<Vec<Result<TxCheck, TxError>>, vera_engine::Error> {
    let mut batch = SignatureBatchBuf::new();
    let mut layouts: Vec<Result<usize, TxError>> = Vec::with_capacity(txs.len());
    for tx in txs {
        layouts.push(match layout(tx) {
            Ok(l) => {
                for (key, sig) in l.keys.iter().zip(&l.signatures) {
                    // A failure here (a batch over 4 GiB) fails the whole call: verdicts must
                    // never shift onto the wrong transaction.
                    batch.push(key, l.message, sig)?;
                }
                Ok(l.signatures.len())
            }
            Err(e) => Err(e),
        });
    }
    let verdicts = engine.verify(Rule::Strict, batch.as_batch())?;
    if verdicts.len() != batch.len() {
        // Never hand a transaction someone else's verdicts.
        return Err(vera_engine::Error::ColumnLength {
            column: "verdicts",
            found: verdicts.len(),
            expected: batch.len(),
        });
    }
    let mut verdicts = verdicts.into_iter();
    Ok(layouts
        .into_iter()
        .map(|l| {
            l.map(|n| TxCheck {
                verdicts: verdicts.by_ref().take(n).collect(),
            })
        })
        .collect())
}

/// The hash an entry of transactions mixes into its proof-of-history chain, as Agave's
/// `hash_transactions`: the root of solana-merkle-tree over every signature of every
/// transaction, in order; zeros for none. Leaves are SHA-256(0x00 ‖ signature), nodes
/// SHA-256(0x01 ‖ left ‖ right), and a level of odd length pairs its last node with itself.
pub fn entry_mixin(signatures: &[[u8; 64]]) -> [u8; 32] {
    merkle_root(signatures)
}

/// solana-merkle-tree's root over `items` (zeros for none).
fn merkle_root<T: AsRef<[u8]>>(items: &[T]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = items.iter().map(|i| rfc6962_leaf(i.as_ref())).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| rfc6962_node(&pair[0], pair.get(1).unwrap_or(&pair[0])))
            .collect();
    }
    level.first().copied().unwrap_or([0; 32])
}

#[cfg(test)]
mod tests {
    #[test]
    fn entry_mixins_are_solana_merkle_roots() {
        // solana-merkle-tree's golden root (agave merkle-tree/src/merkle_tree.rs, test_tree_from_many).
        let words: [&[u8]; 11] = [
            b"my", b"very", b"eager", b"mother", b"just", b"served", b"us", b"nine", b"pizzas",
            b"make", b"prime",
        ];
        assert_eq!(
            hex::encode(super::merkle_root(&words)),
            "b40c847546fdceea166f927fc46c5ca33c3638236a36275c1346d3dffb84e1bc"
        );
        // One leaf is its leaf hash (test_tree_from_one); none is zeros (hash_signatures).
        assert_eq!(
            super::merkle_root(&[b"test"]),
            vera_engine::backend::cpu::merkle::rfc6962_leaf(b"test")
        );
        assert_eq!(super::entry_mixin(&[]), [0; 32]);
    }

    use super::*;

    #[test]
    fn short_u16_is_canonical() {
        let read = |b: &[u8]| short_u16(b, &mut 0, "x");
        assert_eq!(read(&[0x00]), Ok(0));
        assert_eq!(read(&[0x7f]), Ok(0x7f));
        assert_eq!(read(&[0x80, 0x01]), Ok(0x80));
        assert_eq!(read(&[0xff, 0xff, 0x03]), Ok(0xffff));
        assert!(read(&[0x80, 0x00]).is_err(), "alias of 0");
        assert!(read(&[0xff, 0x80, 0x00]).is_err(), "alias");
        assert!(read(&[0xff, 0xff, 0x04]).is_err(), "over u16");
        assert!(read(&[0x80, 0x80, 0x80, 0x01]).is_err(), "4 bytes");
        assert!(read(&[0x80]).is_err(), "truncated");
    }
}
