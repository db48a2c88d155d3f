//! The JSON-lines subcommands: `verify`, `hash`, `merkle`, `proof`, `block`, `tx`, `poh`.
//!
//! Every input line gets exactly one output line, in order (`merkle` answers the whole input with
//! one line). Input is streamed in chunks, so memory stays bounded however long the input is.

use std::io::{BufRead, Write};

use serde::Deserialize;
use vera_engine::{
    Engine, HashChain, MerkleScheme, MessageBuf, ProofsBuf, Rule, SignatureBatchBuf,
};

use super::{flush, write_err, CliError};
use crate::hexfmt::hex_array;
use crate::lines::{Line, LineBuf};
use crate::replies;

/// Items handed to the engine per call: large enough to fill the GPU or every core, small enough
/// that output starts promptly and memory stays bounded.
const CHUNK_ITEMS: usize = 16 * 1024;
/// Message bytes per engine call, whatever the item count.
const CHUNK_BYTES: usize = 64 << 20;
/// The longest input line accepted; a longer one is answered with an error in its place.
const MAX_LINE: usize = 256 << 20;

/// Reads the input line by line (without the newline and a trailing '\r'), numbering from 1.
struct Lines<R> {
    input: R,
    number: u64,
    max: usize,
}

impl<R: BufRead> Lines<R> {
    fn new(input: R) -> Self {
        Lines {
            input,
            number: 0,
            max: MAX_LINE,
        }
    }

    fn next_line(&mut self) -> Result<Option<(u64, Line)>, CliError> {
        let mut line = LineBuf::new(self.max);
        loop {
            let chunk = self
                .input
                .fill_buf()
                .map_err(|e| CliError::Io("cannot read input".into(), e))?;
            if chunk.is_empty() {
                if line.is_empty() {
                    return Ok(None);
                }
                break;
            }
            let (take, done) = line.feed(chunk);
            self.input.consume(take);
            if done {
                break;
            }
        }
        self.number += 1;
        Ok(Some((self.number, line.finish())))
    }
}

fn too_long() -> String {
    format!("line is longer than {MAX_LINE} bytes")
}

/// Writes `{"error":…,"line":N}`.
fn write_error(out: &mut impl Write, line: u64, msg: &str) -> Result<(), CliError> {
    let msg = serde_json::to_string(msg).unwrap_or_else(|_| "\"error\"".into());
    writeln!(out, "{{\"error\":{msg},\"line\":{line}}}").map_err(write_err)
}

fn hex_line(line: &[u8]) -> Result<Vec<u8>, String> {
    let text = line.trim_ascii();
    hex::decode(text).map_err(|e| format!("invalid hex: {e}"))
}

#[derive(Deserialize)]
struct VerifyRequest<'a> {
    #[serde(borrow)]
    pk: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    msg: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    sig: std::borrow::Cow<'a, str>,
}

type Item = ([u8; 32], Vec<u8>, [u8; 64]);

fn parse_verify(line: &[u8]) -> Result<Item, String> {
    if line.trim_ascii().is_empty() {
        return Err("empty line; expected {\"pk\":hex,\"msg\":hex,\"sig\":hex}".into());
    }
    let req: VerifyRequest<'_> =
        serde_json::from_slice(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let pk = hex_array::<32>("pk", &req.pk)?;
    let sig = hex_array::<64>("sig", &req.sig)?;
    if !req.msg.len().is_multiple_of(2) {
        return Err("msg: odd number of hex characters".into());
    }
    let msg = hex::decode(req.msg.as_bytes()).map_err(|e| format!("msg: {e}"))?;
    Ok((pk, msg, sig))
}

/// What goes in one output line's place (its line number): an item sent to the engine, or an
/// error.
enum Slot {
    Item(u64),
    Error(u64, String),
}

/// One item's answer: its JSON object, or why it has none (answered like a line's error).
type Answer = Result<String, String>;

/// A streaming subcommand's batch: lines go in, and it runs on the engine when full.
trait Chunk {
    /// Parses one line into the batch; an error is answered in the line's place.
    fn push(&mut self, line: &[u8]) -> Result<(), String>;
    /// Whether the batch should run now, with `waiting` output lines held back.
    fn full(&self, waiting: usize) -> bool;
    /// Runs the batch and empties it: one answer per item, in order.
    fn run(&mut self) -> Result<Vec<Answer>, CliError>;
}

/// Reads `input` line by line into `chunk`, runs it whenever it is full and at the end, and
/// writes one line per input line, in order: the item's answer or the line's error.
fn stream(
    input: impl BufRead,
    out: &mut impl Write,
    chunk: &mut impl Chunk,
) -> Result<(), CliError> {
    let mut lines = Lines::new(input);
    let mut slots = Vec::new();
    loop {
        let next = lines.next_line()?;
        let end = next.is_none();
        if let Some((n, line)) = next {
            let parsed = match line {
                Line::TooLong => Err(too_long()),
                Line::Text(t) => chunk.push(&t),
            };
            slots.push(match parsed {
                Ok(()) => Slot::Item(n),
                Err(e) => Slot::Error(n, e),
            });
        }
        if end || chunk.full(slots.len()) {
            let mut answers = chunk.run()?.into_iter();
            for slot in slots.drain(..) {
                match slot {
                    Slot::Error(n, e) => write_error(out, n, &e)?,
                    Slot::Item(n) => match answers.next().expect("one answer per item") {
                        Ok(answer) => writeln!(out, "{answer}").map_err(write_err)?,
                        Err(e) => write_error(out, n, &e)?,
                    },
                }
            }
            flush(out)?;
        }
        if end {
            return Ok(());
        }
    }
}

fn engine_err(e: vera_engine::Error) -> CliError {
    CliError::Usage(e.to_string())
}

/// `vera verify`.
pub fn verify(
    engine: &Engine,
    rule: Rule,
    input: impl BufRead,
    out: &mut impl Write,
) -> Result<(), CliError> {
    struct Verify<'a> {
        engine: &'a Engine,
        rule: Rule,
        batch: SignatureBatchBuf,
        bytes: usize,
    }
    impl Chunk for Verify<'_> {
        fn push(&mut self, line: &[u8]) -> Result<(), String> {
            let (pk, msg, sig) = parse_verify(line)?;
            self.batch
                .push(&pk, &msg, &sig)
                .map_err(|e| e.to_string())?;
            self.bytes += msg.len();
            Ok(())
        }
        fn full(&self, waiting: usize) -> bool {
            self.batch.len() >= CHUNK_ITEMS
                || self.bytes >= CHUNK_BYTES
                || waiting >= 4 * CHUNK_ITEMS
        }
        fn run(&mut self) -> Result<Vec<Answer>, CliError> {
            let verdicts = self
                .engine
                .verify(self.rule, self.batch.as_batch())
                .map_err(engine_err)?;
            self.batch.clear();
            self.bytes = 0;
            Ok(verdicts
                .into_iter()
                .map(|v| Ok(replies::object(|o| replies::verdict_fields(o, v))))
                .collect())
        }
    }
    let mut chunk = Verify {
        engine,
        rule,
        batch: SignatureBatchBuf::new(),
        bytes: 0,
    };
    stream(input, out, &mut chunk)
}

/// Path hashes per engine call, whatever the proof count.
const CHUNK_PATH_HASHES: usize = 1 << 20;

fn parse_proof(line: &[u8], batch: &mut ProofsBuf) -> Result<(), String> {
    if line.trim_ascii().is_empty() {
        return Err(
            "empty line; expected {\"leaf\":hex,\"index\":n,\"size\":n,\"path\":[hex,…],\"root\":hex}"
                .into(),
        );
    }
    let proof: crate::wire::WireProof<'_> =
        serde_json::from_slice(line).map_err(|e| format!("invalid JSON: {e}"))?;
    let (leaf, index, size, path, root) = proof.decode()?;
    batch
        .push(&leaf, index, size, &path, &root)
        .map_err(|e| e.to_string())
}

/// `vera proof`: each line's inclusion proof, checked in engine batches.
pub fn proofs(
    engine: &Engine,
    scheme: MerkleScheme,
    input: impl BufRead,
    out: &mut impl Write,
) -> Result<(), CliError> {
    struct Proofs<'a> {
        engine: &'a Engine,
        scheme: MerkleScheme,
        batch: ProofsBuf,
    }
    impl Chunk for Proofs<'_> {
        fn push(&mut self, line: &[u8]) -> Result<(), String> {
            parse_proof(line, &mut self.batch)
        }
        fn full(&self, waiting: usize) -> bool {
            self.batch.len() >= CHUNK_ITEMS
                || self.batch.as_proofs().total_path_len() >= CHUNK_PATH_HASHES
                || waiting >= 4 * CHUNK_ITEMS
        }
        fn run(&mut self) -> Result<Vec<Answer>, CliError> {
            let verdicts = self
                .engine
                .verify_inclusion(self.scheme, self.batch.as_proofs())
                .map_err(engine_err)?;
            self.batch.clear();
            Ok(verdicts
                .iter()
                .map(|v| Ok(replies::object(|o| replies::proof_fields(o, v))))
                .collect())
        }
    }
    let mut chunk = Proofs {
        engine,
        scheme,
        batch: ProofsBuf::new(),
    };
    stream(input, out, &mut chunk)
}

/// `vera hash` (`--double`: double SHA-256, answered as `sha256d`).
pub fn hash(
    engine: &Engine,
    double: bool,
    input: impl BufRead,
    out: &mut impl Write,
) -> Result<(), CliError> {
    struct Hash<'a> {
        engine: &'a Engine,
        double: bool,
        msgs: MessageBuf,
        bytes: usize,
    }
    impl Chunk for Hash<'_> {
        fn push(&mut self, line: &[u8]) -> Result<(), String> {
            let m = hex_line(line)?;
            self.msgs.push(&m).map_err(|e| e.to_string())?;
            self.bytes += m.len();
            Ok(())
        }
        fn full(&self, waiting: usize) -> bool {
            self.msgs.len() >= 4 * CHUNK_ITEMS
                || self.bytes >= CHUNK_BYTES
                || waiting >= 8 * CHUNK_ITEMS
        }
        fn run(&mut self) -> Result<Vec<Answer>, CliError> {
            let msgs = self.msgs.as_messages();
            let digests = if self.double {
                self.engine.sha256d(msgs)
            } else {
                self.engine.sha256(msgs)
            }
            .map_err(engine_err)?;
            self.msgs.clear();
            self.bytes = 0;
            let key = if self.double { "sha256d" } else { "sha256" };
            Ok(digests
                .iter()
                .map(|d| Ok(format!("{{\"{key}\":\"{}\"}}", hex::encode(d))))
                .collect())
        }
    }
    let mut chunk = Hash {
        engine,
        double,
        msgs: MessageBuf::new(),
        bytes: 0,
    };
    stream(input, out, &mut chunk)
}

/// `vera merkle`. A malformed leaf means there is no root to give: the answer is the error for
/// the first bad line.
pub fn merkle(
    engine: &Engine,
    scheme: MerkleScheme,
    input: impl BufRead,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let mut lines = Lines::new(input);
    let mut leaves = MessageBuf::new();
    let mut txids: Vec<[u8; 32]> = Vec::new();
    while let Some((n, line)) = lines.next_line()? {
        let parsed = match (line, scheme) {
            (Line::TooLong, _) => Err(too_long()),
            (Line::Text(t), MerkleScheme::Rfc6962) => {
                hex_line(&t).and_then(|leaf| leaves.push(&leaf).map_err(|e| e.to_string()))
            }
            (Line::Text(t), MerkleScheme::Bitcoin) => {
                let text = String::from_utf8_lossy(t.trim_ascii()).into_owned();
                hex_array::<32>("txid", &text).map(|id| txids.push(id))
            }
        };
        if let Err(e) = parsed {
            write_error(out, n, &e)?;
            return flush(out);
        }
    }
    let root = match scheme {
        MerkleScheme::Rfc6962 => engine.merkle_root(scheme, leaves.as_messages()),
        MerkleScheme::Bitcoin => engine.merkle_root_from_hashes(scheme, &txids),
    }
    .map_err(|e| CliError::Usage(e.to_string()))?;
    writeln!(
        out,
        "{}",
        replies::object(|o| replies::root_fields(o, &root))
    )
    .map_err(write_err)?;
    flush(out)
}

/// `vera tx --chain solana`: each transaction's signatures, one hex transaction per line; a
/// chunk of lines is one engine batch.
pub fn solana_txs(
    engine: &Engine,
    input: impl BufRead,
    out: &mut impl Write,
) -> Result<(), CliError> {
    struct Txs<'a> {
        engine: &'a Engine,
        txs: Vec<Vec<u8>>,
    }
    impl Chunk for Txs<'_> {
        fn push(&mut self, line: &[u8]) -> Result<(), String> {
            let max = crate::chains::solana::MAX_TX_BYTES;
            // Refused before decoding: a chunk holds at most 16,384 packets' bytes.
            if line.trim_ascii().len() > 2 * max {
                return Err(format!("malformed transaction: over the {max}-byte packet"));
            }
            self.txs.push(hex_line(line)?);
            Ok(())
        }
        fn full(&self, waiting: usize) -> bool {
            waiting >= CHUNK_ITEMS
        }
        fn run(&mut self) -> Result<Vec<Answer>, CliError> {
            let txs: Vec<&[u8]> = self.txs.iter().map(Vec::as_slice).collect();
            let checks = crate::chains::solana::verify_transactions(self.engine, &txs)
                .map_err(|e| CliError::Usage(e.to_string()))?;
            self.txs.clear();
            Ok(checks
                .into_iter()
                .map(|c| {
                    c.map(|c| replies::object(|o| replies::tx_fields(o, &c)))
                        .map_err(|e| e.to_string())
                })
                .collect())
        }
    }
    let mut chunk = Txs {
        engine,
        txs: Vec::new(),
    };
    stream(input, out, &mut chunk)
}

/// `vera block --chain bitcoin`: the check of each block, one hex block per line, with segwit
/// active at their height or not.
pub fn block(
    engine: &Engine,
    with_txids: bool,
    segwit: bool,
    input: impl BufRead,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let mut lines = Lines::new(input);
    while let Some((n, line)) = lines.next_line()? {
        let raw = match line {
            Line::TooLong => Err(too_long()),
            Line::Text(t) => hex_line(&t),
        };
        let checked = raw.and_then(|raw| {
            crate::chains::bitcoin::check_block(engine, &raw).map_err(|e| e.to_string())
        });
        match checked {
            Err(e) => write_error(out, n, &e)?,
            Ok(c) => writeln!(
                out,
                "{}",
                replies::object(|o| replies::block_fields(o, &c, with_txids, segwit))
            )
            .map_err(write_err)?,
        }
        flush(out)?;
    }
    Ok(())
}

/// Hash-chain steps per engine call, whatever the entry count (the engine takes 2^32).
const CHUNK_CHAIN_HASHES: u64 = 1 << 28;

/// `vera poh --chain solana`: each entry's hash recomputed from the one before it.
pub fn poh(
    engine: &Engine,
    start: Option<[u8; 32]>,
    input: impl BufRead,
    out: &mut impl Write,
) -> Result<(), CliError> {
    struct Poh<'a> {
        engine: &'a Engine,
        /// The hash the next entry starts from, unless it names its own: the last entry's
        /// claimed hash (`None` after a malformed line, whose hash is unknown).
        last: Option<[u8; 32]>,
        chains: Vec<HashChain>,
        claimed: Vec<[u8; 32]>,
        steps: u64,
    }
    impl Poh<'_> {
        fn parse(&self, line: &[u8]) -> Result<crate::wire::PohItem, String> {
            if line.trim_ascii().is_empty() {
                return Err("empty line; expected {\"num_hashes\":n,\"hash\":hex}".into());
            }
            let e: crate::wire::WirePohEntry<'_> =
                serde_json::from_slice(line).map_err(|e| format!("invalid JSON: {e}"))?;
            if e.start.is_none() && self.last.is_none() {
                return Err(
                    "no hash to start from: give \"start\" (or --start; the line \
                            before was malformed, or this is the first)"
                        .into(),
                );
            }
            e.decode(self.last)
        }
    }
    impl Chunk for Poh<'_> {
        fn push(&mut self, line: &[u8]) -> Result<(), String> {
            match self.parse(line) {
                Ok((chain, hash)) => {
                    self.steps += chain.hashes;
                    self.chains.push(chain);
                    self.claimed.push(hash);
                    self.last = Some(hash);
                    Ok(())
                }
                Err(e) => {
                    self.last = None;
                    Err(e)
                }
            }
        }
        fn full(&self, waiting: usize) -> bool {
            self.chains.len() >= CHUNK_ITEMS
                || self.steps >= CHUNK_CHAIN_HASHES
                || waiting >= 4 * CHUNK_ITEMS
        }
        fn run(&mut self) -> Result<Vec<Answer>, CliError> {
            let ends = self.engine.hash_chains(&self.chains).map_err(engine_err)?;
            let answers = ends
                .iter()
                .zip(&self.claimed)
                .map(|(end, claimed)| Ok(replies::object(|o| replies::poh_fields(o, end, claimed))))
                .collect();
            self.chains.clear();
            self.claimed.clear();
            self.steps = 0;
            Ok(answers)
        }
    }
    let mut chunk = Poh {
        engine,
        last: start,
        chains: Vec::new(),
        claimed: Vec::new(),
        steps: 0,
    };
    stream(input, out, &mut chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_verify(input: &str) -> String {
        let mut out = Vec::new();
        verify(&Engine::cpu(), Rule::Strict, input.as_bytes(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn malformed_lines_are_answered_in_place() {
        let zero_sig = "00".repeat(64);
        let pk = "00".repeat(32);
        let good = format!("{{\"pk\":\"{pk}\",\"msg\":\"\",\"sig\":\"{zero_sig}\"}}");
        let input = format!(
            "{good}\nnot json\n\n{{\"pk\":\"00\",\"msg\":\"\",\"sig\":\"{zero_sig}\"}}\r\n{good}"
        );
        let out = run_verify(&input);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 5, "{out}");
        assert!(
            lines[0].starts_with("{\"valid\":false,\"reason\":"),
            "{out}"
        );
        assert!(
            lines[1].starts_with("{\"error\":\"invalid JSON") && lines[1].ends_with(",\"line\":2}")
        );
        assert!(lines[2].contains("empty line") && lines[2].ends_with(",\"line\":3}"));
        assert!(lines[3].contains("pk: expected 64 hex characters") && lines[3].ends_with(":4}"));
        assert_eq!(lines[4], lines[0]);
    }

    #[test]
    fn over_long_lines_are_skipped_whole() {
        let mut lines = Lines::new(&b"ab\r\n0123456789\ncd"[..]);
        lines.max = 4;
        assert!(matches!(lines.next_line().unwrap(), Some((1, Line::Text(t))) if t == b"ab"));
        assert!(matches!(
            lines.next_line().unwrap(),
            Some((2, Line::TooLong))
        ));
        assert!(matches!(lines.next_line().unwrap(), Some((3, Line::Text(t))) if t == b"cd"));
        assert!(lines.next_line().unwrap().is_none());
    }
}
