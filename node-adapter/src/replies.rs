//! The JSON of vera's answers, written once for the command line and the server: each
//! function appends an object's fields (no braces) to a reply being built, so that the server
//! can put an `id` before them and `vera` can print them alone.

use vera_engine::{MerkleRoot, ProofVerdict, Verdict};

use crate::chains::bitcoin::{BlockCheck, WitnessCommitment};
use crate::chains::solana::TxCheck;

/// `{` + what `fields` writes + `}`.
pub(crate) fn object(fields: impl FnOnce(&mut String)) -> String {
    let mut out = String::from("{");
    fields(&mut out);
    out.push('}');
    out
}

/// `"valid":true`, or `"valid":false,"reason":"…"`.
pub(crate) fn verdict_fields(out: &mut String, v: Verdict) {
    match v {
        Verdict::Valid => out.push_str("\"valid\":true"),
        Verdict::Invalid(r) => {
            out.push_str("\"valid\":false,\"reason\":\"");
            out.push_str(r.as_str());
            out.push('"');
        }
    }
}

/// `"results":[{verdict},…]`.
pub(crate) fn verdicts_field(out: &mut String, vs: &[Verdict]) {
    results_field(out, vs, |o, v| verdict_fields(o, *v));
}

/// `"results":[{…},…]`, each object's fields written by `fields`.
fn results_field<T>(out: &mut String, items: &[T], fields: impl Fn(&mut String, &T)) {
    out.push_str("\"results\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        fields(out, item);
        out.push('}');
    }
    out.push(']');
}

/// `"valid":true`, or `"valid":false,"reason":"…"` for an inclusion proof.
pub(crate) fn proof_fields(out: &mut String, v: &ProofVerdict) {
    match v {
        Ok(()) => out.push_str("\"valid\":true"),
        Err(e) => {
            out.push_str("\"valid\":false,\"reason\":\"");
            out.push_str(e.as_str());
            out.push('"');
        }
    }
}

/// `"valid":true` when a proof-of-history entry's computed hash is the one it claims, else
/// `"valid":false,"computed":hex`.
pub(crate) fn poh_fields(out: &mut String, computed: &[u8; 32], claimed: &[u8; 32]) {
    if computed == claimed {
        out.push_str("\"valid\":true");
    } else {
        out.push_str("\"valid\":false,\"computed\":\"");
        out.push_str(&hex::encode(computed));
        out.push('"');
    }
}

/// `"results":[{poh verdict},…]`, for (computed, claimed) pairs.
pub(crate) fn pohs_field(out: &mut String, items: &[([u8; 32], [u8; 32])]) {
    results_field(out, items, |o, (c, h)| poh_fields(o, c, h));
}

/// `"results":[{proof verdict},…]`.
pub(crate) fn proofs_field(out: &mut String, vs: &[ProofVerdict]) {
    results_field(out, vs, proof_fields);
}

/// `"root":hex,"leaves":n`, plus `"mutated":bool` for Bitcoin.
pub(crate) fn root_fields(out: &mut String, r: &MerkleRoot) {
    out.push_str(&format!(
        "\"root\":\"{}\",\"leaves\":{}",
        hex::encode(r.root),
        r.leaves
    ));
    if let Some(m) = r.mutated {
        out.push_str(&format!(",\"mutated\":{m}"));
    }
}

/// A Solana transaction's check: `"valid":bool,"results":[…]`.
pub(crate) fn tx_fields(out: &mut String, c: &TxCheck) {
    out.push_str(&format!("\"valid\":{},", c.valid()));
    verdicts_field(out, &c.verdicts);
}

/// A block check's fields, judged with segwit active or not at its height. The header's root is
/// given when it differs from the computed one, the witness root when one was computed.
pub(crate) fn block_fields(out: &mut String, c: &BlockCheck, with_txids: bool, segwit: bool) {
    let mut hash = c.block_hash;
    hash.reverse();
    out.push_str(&format!(
        "\"block_hash\":\"{}\",\"txs\":{},\"segwit_txs\":{},\"merkle_root\":\"{}\",\
         \"merkle_ok\":{},\"mutated\":{}",
        hex::encode(hash),
        c.txids.len(),
        c.segwit_txs,
        hex::encode(c.merkle_root),
        c.merkle_ok(),
        c.mutated
    ));
    if c.merkle_root != c.header_merkle_root {
        out.push_str(&format!(
            ",\"header_merkle_root\":\"{}\"",
            hex::encode(c.header_merkle_root)
        ));
    }
    let commitment = match c.witness {
        WitnessCommitment::Absent => "absent",
        WitnessCommitment::BadReservedValue { .. } => "bad-reserved-value",
        WitnessCommitment::Found {
            committed,
            computed,
            witness_root,
            ..
        } => {
            out.push_str(&format!(
                ",\"witness_root\":\"{}\"",
                hex::encode(witness_root)
            ));
            if committed == computed {
                "match"
            } else {
                "mismatch"
            }
        }
    };
    let mutation = c.mutation(segwit);
    out.push_str(&format!(
        ",\"witness_commitment\":\"{commitment}\",\"coinbase\":{},\"ok\":{},\"mutation\":{}",
        c.coinbase,
        mutation.is_none(),
        mutation.map_or("null".to_string(), |m| format!("\"{m}\""))
    ));
    if with_txids {
        let ids: Vec<String> = c
            .txids
            .iter()
            .map(|t| format!("\"{}\"", hex::encode(t)))
            .collect();
        out.push_str(&format!(",\"txids\":[{}]", ids.join(",")));
    }
}
