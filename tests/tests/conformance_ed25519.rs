//! Ed25519 conformance: RFC 8032 §7.1, the SUPERCOP `sign.input` file and the project's derived
//! negatives, under every rule, on every engine of the harness; and the reference crates of the
//! rules (ed25519-dalek 2 `verify_strict` / `verify`, ed25519-consensus `verify`) held to the same
//! flags, so that a mistake in a vector file shows up as a reference disagreement.
//!
//! Vectors: `tests/vectors/ed25519/` (see `tests/vectors/README.md`). Every positive case is valid
//! under all three rules and every derived negative is invalid under all three, so the expected
//! verdict is the file's `valid` flag whatever the rule.

use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, Verifier};
use vera_engine::{Reason, Rule, SignatureBatchBuf, Verdict};
use vera_tests::{engines, field_bool, field_hex, field_str, load_vectors, unhex_n, vector_array};

struct SigCase {
    /// `name` where present, else `comment`: what a failure message names.
    label: String,
    comment: String,
    sk: Option<[u8; 32]>,
    pk: [u8; 32],
    msg: Vec<u8>,
    sig: [u8; 64],
    valid: bool,
}

fn load(path: &str, expected_cases: usize) -> Vec<SigCase> {
    let file = load_vectors(path);
    let cases: Vec<SigCase> = vector_array(&file, "cases")
        .iter()
        .map(|c| {
            let comment = field_str(c, "comment").to_string();
            SigCase {
                label: c
                    .get("name")
                    .and_then(|n| n.as_str())
                    .map_or_else(|| comment.clone(), str::to_string),
                comment,
                sk: c.get("sk").map(|_| unhex_n::<32>(field_str(c, "sk"))),
                pk: unhex_n(field_str(c, "pk")),
                msg: field_hex(c, "msg"),
                sig: unhex_n(field_str(c, "sig")),
                valid: field_bool(c, "valid"),
            }
        })
        .collect();
    assert_eq!(cases.len(), expected_cases, "{path}: number of cases");
    cases
}

/// The reference crates agree with every case's flag, and a positive case's seed re-derives its
/// public key and (Ed25519 signing being deterministic) its signature.
fn check_references(path: &str, cases: &[SigCase]) {
    for c in cases {
        let label = format!("{path}: {}", c.label);
        let sig = ed25519_dalek::Signature::from_bytes(&c.sig);
        let (strict, dalek) = match ed25519_dalek::VerifyingKey::from_bytes(&c.pk) {
            Ok(vk) => (
                vk.verify_strict(&c.msg, &sig).is_ok(),
                vk.verify(&c.msg, &sig).is_ok(),
            ),
            Err(_) => (false, false),
        };
        let consensus = ed25519_consensus::VerificationKey::try_from(c.pk)
            .and_then(|vk| vk.verify(&ed25519_consensus::Signature::from(c.sig), &c.msg))
            .is_ok();
        assert_eq!(strict, c.valid, "{label}: ed25519-dalek verify_strict");
        assert_eq!(dalek, c.valid, "{label}: ed25519-dalek verify");
        assert_eq!(consensus, c.valid, "{label}: ed25519-consensus verify");
        if let Some(sk) = c.sk {
            let signing = ed25519_dalek::SigningKey::from_bytes(&sk);
            assert_eq!(
                signing.verifying_key().to_bytes(),
                c.pk,
                "{label}: pk from sk"
            );
            assert_eq!(
                signing.sign(&c.msg).to_bytes(),
                c.sig,
                "{label}: sig re-signed"
            );
        }
    }
}

/// The reason a rule must give for a derived negative, from the kind of mutation named in its
/// comment and the documented order of checks (S < L; A decodes; strict: A not small order;
/// R decodes; strict: R not small order; then the equation). The original RFC vector passes every
/// check, so only the mutated part can fail.
fn expected_reason(rule: Rule, c: &SigCase) -> Reason {
    let decodes = |bytes: &[u8]| CompressedEdwardsY::from_slice(bytes).unwrap().decompress();
    let s_canonical = |sig: &[u8; 64]| {
        let s: [u8; 32] = sig[32..].try_into().unwrap();
        bool::from(Scalar::from_canonical_bytes(s).is_some())
    };
    let comment = &c.comment;
    if comment.contains("S + L") {
        // Unambiguous: the first check fails.
        assert!(!s_canonical(&c.sig), "{comment}: S + L must be >= L");
        Reason::NonCanonicalS
    } else if comment.contains("message") {
        // Keys and signature are those of a valid case: only the equation can fail.
        Reason::Equation
    } else if comment.contains("S bit") {
        if s_canonical(&c.sig) {
            Reason::Equation
        } else {
            Reason::NonCanonicalS
        }
    } else if comment.contains("public key bit") {
        match decodes(&c.pk) {
            None => Reason::InvalidPublicKey,
            Some(a) if rule == Rule::Strict && a.is_small_order() => Reason::SmallOrderPublicKey,
            Some(_) => Reason::Equation,
        }
    } else if comment.contains("R bit") {
        match decodes(&c.sig[..32]) {
            None => Reason::InvalidR,
            Some(r) if rule == Rule::Strict && r.is_small_order() => Reason::SmallOrderR,
            Some(_) => Reason::Equation,
        }
    } else {
        panic!("unknown derived mutation {comment:?}: extend expected_reason");
    }
}

fn batch_of<'a>(cases: impl IntoIterator<Item = &'a SigCase>) -> SignatureBatchBuf {
    let mut b = SignatureBatchBuf::new();
    for c in cases {
        b.push(&c.pk, &c.msg, &c.sig).unwrap();
    }
    b
}

fn check_verdict(engine_name: &str, rule: Rule, what: &str, c: &SigCase, got: Verdict) {
    let label = format!("{engine_name} {rule} {what}: {}", c.label);
    assert_eq!(got.is_valid(), c.valid, "{label}: verdict {got:?}");
    if !c.valid {
        let want = expected_reason(rule, c);
        assert_eq!(got, Verdict::Invalid(want), "{label}: reason");
    }
}

/// Every rule on every engine: all cases of the file in one batch, then each case alone (a batch
/// of one takes zip215's single-signature path instead of its batch equation).
fn check_engines(path: &str, cases: &[SigCase]) {
    let batch = batch_of(cases);
    for (name, engine) in engines() {
        for rule in Rule::ALL {
            let verdicts = engine.verify(rule, batch.as_batch()).unwrap();
            assert_eq!(verdicts.len(), cases.len(), "{name} {rule} {path}: count");
            for (c, v) in cases.iter().zip(verdicts) {
                check_verdict(&name, rule, &format!("{path} batch"), c, v);
            }
            for c in cases {
                let one = batch_of([c]);
                let v = engine.verify(rule, one.as_batch()).unwrap();
                assert_eq!(v.len(), 1);
                check_verdict(&name, rule, &format!("{path} alone"), c, v[0]);
            }
        }
    }
}

fn run_file(path: &str, expected_cases: usize, all_valid: bool) -> Vec<SigCase> {
    let cases = load(path, expected_cases);
    assert!(
        cases.iter().all(|c| c.valid == all_valid),
        "{path}: every case is expected to have valid = {all_valid}"
    );
    check_references(path, &cases);
    check_engines(path, &cases);
    cases
}

#[test]
fn rfc8032_section_7_1() {
    let cases = run_file("ed25519/rfc8032_ed25519.json", 5, true);
    let names: Vec<&str> = cases.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(
        names,
        ["TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"]
    );
}

#[test]
fn sign_input() {
    let cases = run_file("ed25519/sign_input_ed25519.json", 1024, true);
    // Line i holds an i - 1 byte message.
    for (i, c) in cases.iter().enumerate() {
        assert_eq!(c.msg.len(), i, "{}", c.comment);
    }
}

#[test]
fn rfc8032_derived_negatives() {
    let cases = run_file("ed25519/rfc8032_derived_negative.json", 29, false);
    let s_plus_l = cases.iter().filter(|c| c.comment.contains("S + L")).count();
    assert_eq!(s_plus_l, 5, "one S + L case per RFC vector");
}

/// Negatives interleaved with positives in one batch: zip215's batch equation fails for every
/// sub-batch holding a negative and must fall back to exact per-item verdicts.
#[test]
fn mixed_batch_keeps_per_item_verdicts() {
    let positives = load("ed25519/sign_input_ed25519.json", 1024);
    let negatives = load("ed25519/rfc8032_derived_negative.json", 29);
    let mut mixed: Vec<&SigCase> = Vec::with_capacity(positives.len() + negatives.len());
    let mut neg = negatives.iter();
    for (i, p) in positives.iter().enumerate() {
        mixed.push(p);
        if i % 35 == 17 {
            mixed.extend(neg.next());
        }
    }
    mixed.extend(neg);
    assert_eq!(mixed.len(), 1024 + 29);
    let batch = batch_of(mixed.iter().copied());
    for (name, engine) in engines() {
        for rule in Rule::ALL {
            let verdicts = engine.verify(rule, batch.as_batch()).unwrap();
            assert_eq!(verdicts.len(), mixed.len(), "{name} {rule}: count");
            for (c, v) in mixed.iter().zip(verdicts) {
                check_verdict(&name, rule, "mixed batch", c, v);
            }
        }
    }
}
