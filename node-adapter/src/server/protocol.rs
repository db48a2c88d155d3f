//! The server's wire format: one JSON object per line each way, hex in lowercase.
//!
//! Parsing and encoding are plain functions of bytes, with no I/O, so every rule of the format
//! is tested here without a socket. See the [server docs](super) for the format itself.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use vera_engine::{MerkleRoot, MerkleScheme, Rule, Verdict};

use crate::accelerator::SignatureItem;
use crate::hexfmt::hex_array;
use crate::replies;

/// One parsed request.
#[derive(Debug, PartialEq)]
pub enum Request {
    /// `{"op":"verify","rule":…,"pk":…,"msg":…,"sig":…}`
    Verify(Rule, SignatureItem),
    /// `{"op":"verify","rule":…,"items":[{"pk":…,"msg":…,"sig":…},…]}`
    VerifyBatch(Rule, Vec<SignatureItem>),
    /// `{"op":"sha256","msg":…}`; with `"double":true`, double SHA-256 (the flag).
    Sha256(Vec<u8>, bool),
    /// `{"op":"sha256","msgs":[…]}`; with `"double":true`, double SHA-256 (the flag).
    Sha256Batch(Vec<Vec<u8>>, bool),
    /// `{"op":"merkle","scheme":…,"leaves":[…]}`
    Merkle(MerkleScheme, Vec<Vec<u8>>),
    /// `{"op":"block","chain":"bitcoin","block":hex}`; `"segwit":false` for a block from before
    /// segwit's activation (the flag: segwit active, true by default).
    Block(Vec<u8>, bool),
    /// `{"op":"proof","scheme":…,"leaf":…,"index":n,"size":n,"path":[…],"root":…}` (the flag
    /// set: one proof, answered as one verdict) or `{"op":"proof","scheme":…,"proofs":[{…},…]}`.
    Proofs(MerkleScheme, Vec<crate::accelerator::ProofItem>, bool),
    /// `{"op":"tx","chain":"solana","tx":hex}`
    SolanaTx(Vec<u8>),
    /// `{"op":"poh","chain":"solana","start":hex,"entries":[{"num_hashes":n,"hash":hex},…]}`
    Poh(Vec<crate::wire::PohItem>),
    /// `{"op":"ping"}`
    Ping,
}

/// Reads an `id` as its raw JSON text, `null` included (serde would make `null` a `None`).
fn raw_id<'de: 'a, 'a, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<&'a RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<'a> {
    #[serde(borrow, default, deserialize_with = "raw_id")]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    op: Cow<'a, str>,
    #[serde(borrow, default)]
    rule: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    scheme: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pk: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    msg: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sig: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    items: Option<Vec<WireItem<'a>>>,
    #[serde(borrow, default)]
    msgs: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    leaves: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    chain: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    block: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tx: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    leaf: Option<Cow<'a, str>>,
    #[serde(default)]
    index: Option<u64>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(borrow, default)]
    path: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    root: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    proofs: Option<Vec<crate::wire::WireProof<'a>>>,
    #[serde(default)]
    double: Option<bool>,
    #[serde(default)]
    segwit: Option<bool>,
    #[serde(borrow, default)]
    start: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    entries: Option<Vec<crate::wire::WirePohEntry<'a>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireItem<'a> {
    #[serde(borrow)]
    pk: Cow<'a, str>,
    #[serde(borrow)]
    msg: Cow<'a, str>,
    #[serde(borrow)]
    sig: Cow<'a, str>,
}

/// Just the id, to answer a request that fails to parse under the id it gave.
#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow, default, deserialize_with = "raw_id")]
    id: Option<&'a RawValue>,
}

/// A request line, parsed: its id (the raw JSON text, echoed verbatim) and the request or why
/// it is malformed.
pub struct Parsed {
    /// The request's `id`, as the client wrote it.
    pub id: Option<Box<RawValue>>,
    /// The request, or the error to answer in its place.
    pub request: Result<Request, String>,
}

/// Parses one request line (without its newline).
pub fn parse(line: &[u8]) -> Parsed {
    if line.trim_ascii().is_empty() {
        return Parsed {
            id: None,
            request: Err("empty line; expected a JSON object with an \"op\"".into()),
        };
    }
    let parsed = match serde_json::from_slice::<Wire<'_>>(line) {
        Ok(wire) => Parsed {
            id: wire.id.map(RawValue::to_owned),
            request: request(wire),
        },
        Err(e) => Parsed {
            // A request with a well-formed id but a bad body is still answered under its id.
            id: serde_json::from_slice::<IdOnly<'_>>(line)
                .ok()
                .and_then(|w| w.id.map(RawValue::to_owned)),
            request: Err(format!("invalid request: {e}")),
        },
    };
    match parsed.id {
        // Replies echo the id: a huge one would make every reply huge.
        Some(id) if id.get().len() > super::MAX_ID => Parsed {
            id: None,
            request: Err(format!("id is longer than {} bytes", super::MAX_ID)),
        },
        _ => parsed,
    }
}

fn request(w: Wire<'_>) -> Result<Request, String> {
    let op = w.op.as_ref();
    // Every op names the fields it takes; any other field present is a client's mistake worth
    // reporting (a misspelt field would otherwise be silently ignored).
    let present = [
        ("rule", w.rule.is_some()),
        ("scheme", w.scheme.is_some()),
        ("pk", w.pk.is_some()),
        ("msg", w.msg.is_some()),
        ("sig", w.sig.is_some()),
        ("items", w.items.is_some()),
        ("msgs", w.msgs.is_some()),
        ("leaves", w.leaves.is_some()),
        ("chain", w.chain.is_some()),
        ("block", w.block.is_some()),
        ("tx", w.tx.is_some()),
        ("leaf", w.leaf.is_some()),
        ("index", w.index.is_some()),
        ("size", w.size.is_some()),
        ("path", w.path.is_some()),
        ("root", w.root.is_some()),
        ("proofs", w.proofs.is_some()),
        ("double", w.double.is_some()),
        ("segwit", w.segwit.is_some()),
        ("start", w.start.is_some()),
        ("entries", w.entries.is_some()),
    ];
    let allow = |fields: &[&str]| -> Result<(), String> {
        match present
            .iter()
            .find(|(name, here)| *here && !fields.contains(name))
        {
            Some((name, _)) => Err(format!("op {op:?} takes no field {name:?}")),
            None => Ok(()),
        }
    };
    match op {
        "verify" => {
            let rule: Rule = w
                .rule
                .as_deref()
                .ok_or("verify needs a \"rule\": strict, zip215 or dalek")?
                .parse()?;
            if let Some(items) = w.items {
                allow(&["rule", "items"])?;
                let items = items
                    .iter()
                    .enumerate()
                    .map(|(i, it)| {
                        signature(&it.pk, &it.msg, &it.sig).map_err(|e| format!("items[{i}].{e}"))
                    })
                    .collect::<Result<_, _>>()?;
                Ok(Request::VerifyBatch(rule, items))
            } else {
                allow(&["rule", "pk", "msg", "sig"])?;
                let (Some(pk), Some(msg), Some(sig)) = (w.pk, w.msg, w.sig) else {
                    return Err(
                        "verify needs \"pk\", \"msg\" and \"sig\", or \"items\" for a batch".into(),
                    );
                };
                Ok(Request::Verify(rule, signature(&pk, &msg, &sig)?))
            }
        }
        "sha256" => match (w.msg, w.msgs) {
            (Some(msg), None) => {
                allow(&["msg", "double"])?;
                let double = w.double.unwrap_or(false);
                Ok(Request::Sha256(hex_bytes("msg", &msg)?, double))
            }
            (None, Some(msgs)) => {
                allow(&["msgs", "double"])?;
                let double = w.double.unwrap_or(false);
                Ok(Request::Sha256Batch(hex_list("msgs", &msgs)?, double))
            }
            _ => Err("sha256 needs either \"msg\" or \"msgs\"".into()),
        },
        "proof" => {
            let scheme: MerkleScheme = w
                .scheme
                .as_deref()
                .ok_or("proof needs a \"scheme\": rfc6962 or bitcoin")?
                .parse()?;
            match (w.proofs, w.leaf, w.index, w.size, w.path, w.root) {
                (Some(proofs), None, None, None, None, None) => {
                    allow(&["scheme", "proofs"])?;
                    let items = proofs
                        .iter()
                        .enumerate()
                        .map(|(i, p)| p.decode().map_err(|e| format!("proofs[{i}].{e}")))
                        .collect::<Result<_, _>>()?;
                    Ok(Request::Proofs(scheme, items, false))
                }
                (None, Some(leaf), Some(index), Some(size), Some(path), Some(root)) => {
                    allow(&["scheme", "leaf", "index", "size", "path", "root"])?;
                    let proof = crate::wire::WireProof {
                        leaf,
                        index,
                        size,
                        path,
                        root,
                    };
                    Ok(Request::Proofs(scheme, vec![proof.decode()?], true))
                }
                _ => Err(
                    "proof needs either \"leaf\", \"index\", \"size\", \"path\" and \
                          \"root\", or \"proofs\""
                        .into(),
                ),
            }
        }
        "merkle" => {
            allow(&["scheme", "leaves"])?;
            let scheme: MerkleScheme = w
                .scheme
                .as_deref()
                .ok_or("merkle needs a \"scheme\": rfc6962 or bitcoin")?
                .parse()?;
            let leaves = w
                .leaves
                .ok_or("merkle needs \"leaves\" (a list of hex strings)")?;
            let leaves = match scheme {
                MerkleScheme::Rfc6962 => hex_list("leaves", &leaves)?,
                MerkleScheme::Bitcoin => leaves
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        hex_array::<32>("", l)
                            .map(Vec::from)
                            .map_err(|e| format!("leaves[{i}]{e}"))
                    })
                    .collect::<Result<_, _>>()?,
            };
            Ok(Request::Merkle(scheme, leaves))
        }
        "block" => {
            allow(&["chain", "block", "segwit"])?;
            chain(op, w.chain.as_deref(), "bitcoin")?;
            let block = w
                .block
                .ok_or("block needs \"block\" (the serialized block, hex)")?;
            let segwit = w.segwit.unwrap_or(true);
            Ok(Request::Block(hex_bytes("block", &block)?, segwit))
        }
        "tx" => {
            allow(&["chain", "tx"])?;
            chain(op, w.chain.as_deref(), "solana")?;
            let tx =
                w.tx.ok_or("tx needs \"tx\" (the serialized transaction, hex)")?;
            Ok(Request::SolanaTx(hex_bytes("tx", &tx)?))
        }
        "poh" => {
            allow(&["chain", "start", "entries"])?;
            chain(op, w.chain.as_deref(), "solana")?;
            let entries = w
                .entries
                .ok_or("poh needs \"entries\" (a list of {\"num_hashes\":n,\"hash\":hex})")?;
            let mut prev = w.start.map(|s| hex_array::<32>("start", &s)).transpose()?;
            let mut steps = 0u64;
            let mut items = Vec::with_capacity(entries.len());
            for (i, e) in entries.iter().enumerate() {
                let item = e.decode(prev).map_err(|e| format!("entries[{i}]: {e}"))?;
                steps += item.0.hashes;
                if steps > MAX_POH_HASHES {
                    return Err(format!(
                        "the entries ask for more than {MAX_POH_HASHES} hashes in all"
                    ));
                }
                prev = Some(item.1);
                items.push(item);
            }
            Ok(Request::Poh(items))
        }
        "ping" => {
            allow(&[])?;
            Ok(Request::Ping)
        }
        other => Err(format!(
            "unknown op {other:?}; expected verify, sha256, merkle, proof, block, tx, poh or ping"
        )),
    }
}

/// The most hashes one `poh` request may ask for: 2^24, about a second of one core, and a few
/// Solana slots. Work grows with the hashes asked for, not with the request's bytes, so the
/// server bounds it per request (and, with [`super::POH_INFLIGHT_HASHES`], in all).
pub const MAX_POH_HASHES: u64 = 1 << 24;

/// Checks that `op` names the one chain it serves.
fn chain(op: &str, given: Option<&str>, serves: &str) -> Result<(), String> {
    match given {
        Some(c) if c == serves => Ok(()),
        Some(other) => Err(format!("unknown chain {other:?}; expected {serves}")),
        None => Err(format!("{op} needs a \"chain\": {serves}")),
    }
}

fn signature(pk: &str, msg: &str, sig: &str) -> Result<SignatureItem, String> {
    Ok((
        hex_array::<32>("pk", pk)?,
        hex_bytes("msg", msg)?,
        hex_array::<64>("sig", sig)?,
    ))
}

fn hex_bytes(field: &str, s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("{field}: odd number of hex characters"));
    }
    hex::decode(s).map_err(|e| format!("{field}: {e}"))
}

fn hex_list(field: &str, list: &[Cow<'_, str>]) -> Result<Vec<Vec<u8>>, String> {
    list.iter()
        .enumerate()
        .map(|(i, s)| hex_bytes("", s).map_err(|e| format!("{field}[{i}]{e}")))
        .collect()
}

/// What a request produced, ready to encode.
#[derive(Debug)]
pub enum Answer {
    /// One verdict.
    Verdict(Verdict),
    /// A verdict per item, in order.
    Verdicts(Vec<Verdict>),
    /// One digest; the flag: double SHA-256 (answered as `sha256d`).
    Digest([u8; 32], bool),
    /// A digest per message, in order; the flag: double SHA-256.
    Digests(Vec<[u8; 32]>, bool),
    /// A Merkle root.
    Root(MerkleRoot),
    /// One inclusion proof's verdict.
    Proof(vera_engine::ProofVerdict),
    /// A verdict per proof, in order.
    Proofs(Vec<vera_engine::ProofVerdict>),
    /// A block's check; the flag: segwit active at its height.
    Block(Box<crate::chains::bitcoin::BlockCheck>, bool),
    /// A transaction's signatures, checked (a whole object of its own).
    Tx(crate::chains::solana::TxCheck),
    /// Proof-of-history entries: (computed, claimed) hashes, in order.
    Poh(Vec<([u8; 32], [u8; 32])>),
    /// The answer to `ping`.
    Pong,
    /// The request was not carried out, and why.
    Error(String),
}

/// The key a digest answer goes under, with its colon.
fn digest_key(double: bool) -> &'static str {
    if double {
        "\"sha256d\":"
    } else {
        "\"sha256\":"
    }
}

/// Encodes the reply line (with its newline) to the request numbered `line` on its
/// connection. The reply is one object: the request's `id` when it gave one, then the answer's
/// fields; an error also names the line.
pub fn encode(id: Option<&RawValue>, line: u64, answer: &Answer) -> String {
    let mut out = String::with_capacity(64);
    out.push('{');
    if let Some(id) = id {
        out.push_str("\"id\":");
        out.push_str(id.get());
        out.push(',');
    }
    match answer {
        Answer::Verdict(v) => replies::verdict_fields(&mut out, *v),
        Answer::Verdicts(vs) => replies::verdicts_field(&mut out, vs),
        Answer::Digest(d, double) => {
            out.push_str(digest_key(*double));
            out.push('"');
            out.push_str(&hex::encode(d));
            out.push('"');
        }
        Answer::Digests(ds, double) => {
            out.push_str(digest_key(*double));
            out.push('[');
            for (i, d) in ds.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('"');
                out.push_str(&hex::encode(d));
                out.push('"');
            }
            out.push(']');
        }
        Answer::Root(r) => replies::root_fields(&mut out, r),
        Answer::Proof(v) => replies::proof_fields(&mut out, v),
        Answer::Proofs(vs) => replies::proofs_field(&mut out, vs),
        Answer::Block(c, segwit) => replies::block_fields(&mut out, c, false, *segwit),
        Answer::Tx(c) => replies::tx_fields(&mut out, c),
        Answer::Poh(items) => replies::pohs_field(&mut out, items),
        Answer::Pong => out.push_str(&format!(
            "\"pong\":true,\"version\":\"{}\"",
            env!("CARGO_PKG_VERSION")
        )),
        Answer::Error(e) => {
            let msg = serde_json::to_string(e).unwrap_or_else(|_| "\"error\"".into());
            out.push_str(&format!("\"error\":{msg},\"line\":{line}"));
        }
    }
    out.push_str("}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use vera_engine::Reason;

    fn req(line: &str) -> Result<Request, String> {
        parse(line.as_bytes()).request
    }

    fn sig_fields() -> String {
        format!(
            "\"pk\":\"{}\",\"msg\":\"6162\",\"sig\":\"{}\"",
            "11".repeat(32),
            "22".repeat(64)
        )
    }

    #[test]
    fn every_op_parses() {
        let item = ([0x11; 32], b"ab".to_vec(), [0x22; 64]);
        assert_eq!(
            req(&format!(
                "{{\"op\":\"verify\",\"rule\":\"zip215\",{}}}",
                sig_fields()
            )),
            Ok(Request::Verify(Rule::Zip215, item.clone()))
        );
        assert_eq!(
            req(&format!(
                "{{\"op\":\"verify\",\"rule\":\"strict\",\"items\":[{{{0}}},{{{0}}}]}}",
                sig_fields()
            )),
            Ok(Request::VerifyBatch(Rule::Strict, vec![item.clone(), item]))
        );
        assert_eq!(
            req(r#"{"op":"sha256","msg":""}"#),
            Ok(Request::Sha256(vec![], false))
        );
        assert_eq!(
            req(r#"{"op":"sha256","msgs":["00","ABcd"]}"#),
            Ok(Request::Sha256Batch(vec![vec![0], vec![0xab, 0xcd]], false))
        );
        assert_eq!(
            req(r#"{"op":"sha256","msgs":["00"],"double":true}"#),
            Ok(Request::Sha256Batch(vec![vec![0]], true))
        );
        assert_eq!(
            req(r#"{"op":"sha256","msg":"01","double":false}"#),
            Ok(Request::Sha256(vec![1], false))
        );
        assert_eq!(
            req(r#"{"op":"block","chain":"bitcoin","block":"00"}"#),
            Ok(Request::Block(vec![0], true))
        );
        assert_eq!(
            req(r#"{"op":"block","chain":"bitcoin","block":"00","segwit":false}"#),
            Ok(Request::Block(vec![0], false))
        );
        assert_eq!(
            req(r#"{"op":"merkle","scheme":"rfc6962","leaves":[]}"#),
            Ok(Request::Merkle(MerkleScheme::Rfc6962, vec![]))
        );
        let h = "11".repeat(32);
        let one = vec![([0x11; 32], 3, 9, vec![[0x11; 32]; 4], [0x11; 32])];
        assert_eq!(
            req(&format!(
                r#"{{"op":"proof","scheme":"rfc6962","leaf":"{h}","index":3,"size":9,"path":["{h}","{h}","{h}","{h}"],"root":"{h}"}}"#
            )),
            Ok(Request::Proofs(MerkleScheme::Rfc6962, one.clone(), true))
        );
        assert_eq!(
            req(&format!(
                r#"{{"op":"proof","scheme":"bitcoin","proofs":[{{"leaf":"{h}","index":3,"size":9,"path":["{h}","{h}","{h}","{h}"],"root":"{h}"}}]}}"#
            )),
            Ok(Request::Proofs(MerkleScheme::Bitcoin, one, false))
        );
        assert_eq!(req(r#"{"op":"ping","id":7}"#), Ok(Request::Ping));
    }

    #[test]
    fn malformed_requests_say_what_is_wrong() {
        let cases = [
            ("", "empty line"),
            ("not json", "invalid request"),
            (r#"{"op":"sha256"}"#, "either \"msg\" or \"msgs\""),
            (r#"{"op":"sha256","msg":"0"}"#, "msg: odd number"),
            (r#"{"op":"sha256","msgs":["00","zz"]}"#, "msgs[1]:"),
            (
                r#"{"op":"sha256","msg":"","rule":"strict"}"#,
                "takes no field \"rule\"",
            ),
            (r#"{"op":"hash","msg":""}"#, "unknown op \"hash\""),
            (r#"{"op":"block","block":"00"}"#, "needs a \"chain\""),
            (
                r#"{"op":"block","chain":"eth","block":"00"}"#,
                "unknown chain \"eth\"",
            ),
            (r#"{"op":"block","chain":"bitcoin"}"#, "needs \"block\""),
            (
                r#"{"op":"block","chain":"bitcoin","block":"0"}"#,
                "block: odd number",
            ),
            (r#"{"op":"sha256","mgs":""}"#, "unknown field `mgs`"),
            (r#"{"op":"sha256","msg":"","double":1}"#, "invalid type"),
            (r#"{"op":"proof","leaf":"00"}"#, "needs a \"scheme\""),
            (
                r#"{"op":"proof","scheme":"rfc6962","leaf":"00","index":0,"size":1,"path":[],"root":"00"}"#,
                "leaf: expected 64 hex characters",
            ),
            (
                r#"{"op":"proof","scheme":"rfc6962","proofs":[],"index":1}"#,
                "proof needs either",
            ),
            (
                r#"{"op":"proof","scheme":"rfc6962","proofs":[{"leaf":"00"}]}"#,
                "missing field",
            ),
            (
                r#"{"op":"sha256","msg":"","index":1}"#,
                "takes no field \"index\"",
            ),
            (
                r#"{"op":"merkle","scheme":"bitcoin","leaves":[],"double":true}"#,
                "takes no field \"double\"",
            ),
            (
                r#"{"op":"sha256","msg":"","segwit":true}"#,
                "takes no field \"segwit\"",
            ),
            (r#"{"op":"verify","pk":"00"}"#, "needs a \"rule\""),
            (r#"{"op":"verify","rule":"ed25519"}"#, "unknown rule"),
            (
                r#"{"op":"verify","rule":"dalek","pk":"00"}"#,
                "needs \"pk\", \"msg\"",
            ),
            (
                r#"{"op":"verify","rule":"dalek","pk":"00","msg":"","sig":"00"}"#,
                "pk: expected 64 hex",
            ),
            (
                r#"{"op":"verify","rule":"dalek","items":[{"pk":"00","msg":"","sig":"00"}]}"#,
                "items[0].pk: expected",
            ),
            (r#"{"op":"merkle","leaves":[]}"#, "needs a \"scheme\""),
            (r#"{"op":"merkle","scheme":"bitcoin"}"#, "needs \"leaves\""),
            (
                r#"{"op":"merkle","scheme":"bitcoin","leaves":["00"]}"#,
                "leaves[0]: expected 64 hex",
            ),
            (r#"{"op":"ping","msg":""}"#, "takes no field \"msg\""),
        ];
        for (line, want) in cases {
            match req(line) {
                Err(e) => assert!(e.contains(want), "{line:?}: {e:?} lacks {want:?}"),
                Ok(r) => panic!("{line:?} parsed as {r:?}"),
            }
        }
    }

    #[test]
    fn damaged_requests_never_panic_and_answer_as_json() {
        use rand::{rngs::StdRng, Rng, SeedableRng};
        let valid = [
            format!(
                "{{\"op\":\"verify\",\"rule\":\"zip215\",{},\"id\":[1]}}",
                sig_fields()
            ),
            format!(
                "{{\"op\":\"verify\",\"rule\":\"dalek\",\"items\":[{{{}}}]}}",
                sig_fields()
            ),
            r#"{"op":"sha256","msgs":["00","abcd",""],"id":"x"}"#.to_string(),
            r#"{"op":"merkle","scheme":"bitcoin","leaves":[]}"#.to_string(),
            r#"{"op":"block","chain":"bitcoin","block":"0001"}"#.to_string(),
            r#"{"op":"tx","chain":"solana","tx":"01","id":null}"#.to_string(),
            r#"{"op":"sha256","msg":"00","double":true}"#.to_string(),
            format!(
                r#"{{"op":"proof","scheme":"rfc6962","leaf":"{0}","index":1,"size":2,"path":["{0}"],"root":"{0}"}}"#,
                "ab".repeat(32)
            ),
            format!(
                r#"{{"op":"proof","scheme":"bitcoin","proofs":[{{"leaf":"{0}","index":0,"size":1,"path":[],"root":"{0}"}}]}}"#,
                "cd".repeat(32)
            ),
        ];
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..20_000 {
            let mut line = valid[rng.gen_range(0..valid.len())].clone().into_bytes();
            for _ in 0..rng.gen_range(1..4) {
                match rng.gen_range(0..3) {
                    0 if !line.is_empty() => {
                        let i = rng.gen_range(0..line.len());
                        line[i] = rng.gen();
                    }
                    1 if !line.is_empty() => {
                        line.truncate(rng.gen_range(0..line.len()));
                    }
                    _ => {
                        let i = rng.gen_range(0..=line.len());
                        let tokens = b"{}[]\",:\\0";
                        line.insert(i, tokens[rng.gen_range(0..tokens.len())]);
                    }
                }
            }
            let p = parse(&line);
            let answer = match p.request {
                Ok(_) => Answer::Pong,
                Err(e) => Answer::Error(e),
            };
            let reply = encode(p.id.as_deref(), 1, &answer);
            serde_json::from_str::<serde_json::Value>(&reply)
                .unwrap_or_else(|e| panic!("{reply:?} is not JSON ({e}) for {line:?}"));
        }
    }

    #[test]
    fn the_id_is_echoed_verbatim_even_for_bad_requests() {
        let p = parse(br#"{"id":{"n":[1, 2.50]},"op":"nope"}"#);
        assert_eq!(
            p.id.as_deref().map(RawValue::get),
            Some(r#"{"n":[1, 2.50]}"#)
        );
        let line = encode(p.id.as_deref(), 3, &Answer::Error(p.request.unwrap_err()));
        assert_eq!(
            line,
            "{\"id\":{\"n\":[1, 2.50]},\"error\":\"unknown op \\\"nope\\\"; expected verify, \
             sha256, merkle, proof, block, tx, poh or ping\",\"line\":3}\n"
        );
        // null is an id like any other; an id over the limit is refused, not echoed.
        let p = parse(br#"{"id":null,"op":"ping"}"#);
        assert_eq!(p.id.as_deref().map(RawValue::get), Some("null"));
        let long = format!(
            r#"{{"id":"{}","op":"ping"}}"#,
            "x".repeat(super::super::MAX_ID)
        );
        let p = parse(long.as_bytes());
        assert!(p.id.is_none());
        assert!(p
            .request
            .unwrap_err()
            .contains("id is longer than 1024 bytes"));
        // A body that is not a valid request still gives its id back.
        let p = parse(br#"{"id":"x","op":"sha256","msg":12}"#);
        assert_eq!(p.id.as_deref().map(RawValue::get), Some("\"x\""));
        assert!(p.request.is_err());
    }

    #[test]
    fn answers_encode_as_json() {
        let root = MerkleRoot {
            root: [0xab; 32],
            leaves: 3,
            mutated: Some(true),
        };
        let bad = Verdict::Invalid(Reason::NonCanonicalS);
        let cases = [
            (
                Answer::Verdict(Verdict::Valid),
                r#"{"valid":true}"#.to_string(),
            ),
            (
                Answer::Verdicts(vec![Verdict::Valid, bad]),
                format!(
                    r#"{{"results":[{{"valid":true}},{{"valid":false,"reason":"{}"}}]}}"#,
                    Reason::NonCanonicalS
                ),
            ),
            (
                Answer::Digests(vec![[1; 32]], false),
                format!(r#"{{"sha256":["{}"]}}"#, "01".repeat(32)),
            ),
            (
                Answer::Digest([2; 32], true),
                format!(r#"{{"sha256d":"{}"}}"#, "02".repeat(32)),
            ),
            (
                Answer::Root(root),
                format!(
                    r#"{{"root":"{}","leaves":3,"mutated":true}}"#,
                    "ab".repeat(32)
                ),
            ),
        ];
        for (answer, want) in cases {
            let line = encode(None, 1, &answer);
            assert_eq!(line, format!("{want}\n"));
            serde_json::from_str::<serde_json::Value>(&line).expect("valid JSON");
        }
        let v: serde_json::Value = serde_json::from_str(&encode(
            Some(&RawValue::from_string("5".into()).unwrap()),
            1,
            &Answer::Pong,
        ))
        .unwrap();
        assert_eq!(v["id"], 5);
        assert_eq!(v["pong"], true);
    }
}
