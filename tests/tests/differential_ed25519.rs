//! Differential tests: every engine's Ed25519 verdicts against the reference crates, item by item.
//!
//! The references, called directly:
//! - `strict`: ed25519-dalek 2 `VerifyingKey::from_bytes` then `verify_strict`;
//! - `dalek`: ed25519-dalek 2 `VerifyingKey::from_bytes` then `Verifier::verify`;
//! - `zip215`: ed25519-consensus `VerificationKey::try_from` then `verify`.
//!
//! `strict` is held to a second reference as well: libsodium's `crypto_sign_verify_detached`
//! (the system library, through [`vera_tests::libsodium`]), Cardano's check.
//!
//! The hostile families are built here from first principles (the eight torsion points, the
//! non-canonical encodings, signatures constructed by hand so that they satisfy the cofactored
//! and/or the cofactorless equation), and mixed into seeded random batches of honest signatures.
//! Every check runs against every engine of [`vera_tests::engines`] and every rule.

use curve25519_dalek::constants::EIGHT_TORSION;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, IsIdentity};
use ed25519_dalek::{Signer, SigningKey};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use sha2::{Digest, Sha512};
use vera_engine::BackendChoice;
use vera_engine::{Engine, Reason, Rule, SignatureBatch, SignatureBatchBuf, Verdict};
use vera_tests::reference;

/// Every engine of [`vera_tests::engines`], plus a CPU engine on an odd thread count (zip215
/// sub-batch boundaries depend on the thread count, so a third split of every batch is
/// checked) and, where there is a GPU, more pairings of verify kernel and field path: the
/// cooperative and one-invocation kernels on the 64-bit path (the latter takes large batches on
/// hardware GPUs), and the lane-parallel one on the u32-only path (what adapters without
/// SHADER_INT64, Apple's among them, run for small batches). With the harness's lane-parallel
/// u64 and one-invocation u32 engines, every kernel on both paths meets every hostile family.
/// (gpu_ed25519.rs crosses all six pairings on random signatures.)
fn engines() -> Vec<(String, Engine)> {
    use vera_engine::backend::gpu::VerifyKernel;
    static CROSSED: std::sync::OnceLock<Vec<(String, Engine)>> = std::sync::OnceLock::new();
    let mut v = vera_tests::engines();
    v.push((
        "cpu-5-threads".to_string(),
        Engine::builder()
            .backend(BackendChoice::Cpu)
            .threads(5)
            .build()
            .expect("a CPU engine always builds"),
    ));
    let crossed = CROSSED.get_or_init(|| {
        vera_tests::crossed_gpu_engines(&[
            ("gpu-u64-single", false, VerifyKernel::Single),
            ("gpu-u64-coop", false, VerifyKernel::Coop),
            ("gpu-u32-lanes", true, VerifyKernel::Lanes),
        ])
    });
    v.extend(crossed.iter().cloned());
    v
}

// ---------------------------------------------------------------------------------------------
// References and the comparison helper
// ---------------------------------------------------------------------------------------------

/// Index of a rule in [`Rule::ALL`] (the order of [`Refs`]).
fn ri(rule: Rule) -> usize {
    Rule::ALL
        .iter()
        .position(|r| *r == rule)
        .expect("every rule is in Rule::ALL")
}
const STRICT: usize = 0;
const ZIP215: usize = 1;
const DALEK: usize = 2;

/// One signature to check.
#[derive(Clone, Debug)]
struct Item {
    family: &'static str,
    pk: [u8; 32],
    msg: Vec<u8>,
    sig: [u8; 64],
}

fn item(family: &'static str, pk: [u8; 32], msg: &[u8], sig: [u8; 64]) -> Item {
    Item {
        family,
        pk,
        msg: msg.to_vec(),
        sig,
    }
}

impl Item {
    fn describe(&self) -> String {
        let msg = if self.msg.len() > 160 {
            format!(
                "{}… ({} bytes)",
                hex::encode(&self.msg[..160]),
                self.msg.len()
            )
        } else {
            hex::encode(&self.msg)
        };
        format!(
            "[{}] pk={} msg={} sig={}",
            self.family,
            hex::encode(self.pk),
            msg,
            hex::encode(self.sig)
        )
    }
}

/// Reference verdicts, indexed like [`Rule::ALL`], then by item.
type Refs = [Vec<bool>; 3];

fn references(items: &[Item]) -> Refs {
    let refs = Rule::ALL.map(|rule| {
        items
            .iter()
            .map(|it| reference::verdict(rule, &it.pk, &it.msg, &it.sig))
            .collect::<Vec<_>>()
    });
    // The rules are nested: strict ⊆ dalek ⊆ zip215 (dalek's R must be the canonical encoding of
    // [s]B − [k]A, which then satisfies the cofactored equation too). A violation would mean the
    // reference helper itself is wired wrong.
    for (i, it) in items.iter().enumerate() {
        assert!(
            !refs[STRICT][i] || refs[DALEK][i],
            "reference: strict accepts what dalek rejects: {}",
            it.describe()
        );
        assert!(
            !refs[DALEK][i] || refs[ZIP215][i],
            "reference: dalek accepts what zip215 rejects: {}",
            it.describe()
        );
    }
    refs
}

/// little-endian 256-bit `a < b`.
fn lt(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().rev().lt(b.iter().rev())
}

/// The documented diagnosis (`Reason`'s doc: the first failed check in declaration order),
/// modelled independently of the engine.
fn expected_reason(rule: Rule, pk: &[u8; 32], sig: &[u8; 64]) -> Reason {
    let s: [u8; 32] = sig[32..].try_into().expect("32 bytes");
    if !lt(&s, &L) {
        return Reason::NonCanonicalS;
    }
    let Some(a) = CompressedEdwardsY(*pk).decompress() else {
        return Reason::InvalidPublicKey;
    };
    if rule == Rule::Strict && a.mul_by_cofactor().is_identity() {
        return Reason::SmallOrderPublicKey;
    }
    let r_bytes: [u8; 32] = sig[..32].try_into().expect("32 bytes");
    let Some(r) = CompressedEdwardsY(r_bytes).decompress() else {
        return Reason::InvalidR;
    };
    if rule == Rule::Strict && r.mul_by_cofactor().is_identity() {
        return Reason::SmallOrderR;
    }
    Reason::Equation
}

/// Runs `items` as one batch through every engine under every rule and asserts that each verdict
/// equals the reference's, and that each rejection carries the documented reason. Returns the
/// reference verdicts.
fn check(engines: &[(String, Engine)], label: &str, items: &[Item]) -> Refs {
    let refs = references(items);
    let mut buf = SignatureBatchBuf::new();
    for it in items {
        buf.push(&it.pk, &it.msg, &it.sig).expect("small batch");
    }
    check_view(engines, label, items, buf.as_batch(), &refs);
    refs
}

/// As [`check`], for a batch view already built (`batch` item i is `items[i]`).
fn check_view(
    engines: &[(String, Engine)],
    label: &str,
    items: &[Item],
    batch: SignatureBatch<'_>,
    refs: &Refs,
) {
    assert_eq!(batch.len(), items.len());
    let mut failures = Vec::new();
    let mut count = 0usize;
    for (name, engine) in engines {
        for rule in Rule::ALL {
            let want = &refs[ri(rule)];
            let got = engine
                .verify(rule, batch)
                .unwrap_or_else(|e| panic!("{label}: engine {name} rule {rule}: error {e}"));
            assert_eq!(
                got.len(),
                items.len(),
                "{label}: engine {name} rule {rule}: wrong verdict count"
            );
            for (i, (v, it)) in got.iter().zip(items).enumerate() {
                count += 1;
                if v.is_valid() != want[i] {
                    failures.push(format!(
                        "VERDICT rule={rule} engine={name} index={i}: expected {}, got {v:?} — {}",
                        if want[i] { "valid" } else { "invalid" },
                        it.describe()
                    ));
                } else if let Verdict::Invalid(reason) = v {
                    let expect = expected_reason(rule, &it.pk, &it.sig);
                    if *reason != expect {
                        failures.push(format!(
                            "REASON rule={rule} engine={name} index={i}: expected {expect:?}, \
                             got {reason:?} — {}",
                            it.describe()
                        ));
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{label}: {} of {count} verdicts differ from the references:\n{}",
        failures.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Counts of items per verdict pattern (strict, zip215, dalek).
fn pattern_count(refs: &Refs, strict: bool, zip215: bool, dalek: bool) -> usize {
    (0..refs[0].len())
        .filter(|&i| {
            refs[STRICT][i] == strict && refs[ZIP215][i] == zip215 && refs[DALEK][i] == dalek
        })
        .count()
}

fn summary(label: &str, refs: &Refs) {
    eprintln!(
        "{label}: {} items; valid under strict {}, zip215 {}, dalek {}; \
         zip215-only {}, zip215+dalek-only {}, all {}, none {}",
        refs[0].len(),
        refs[STRICT].iter().filter(|v| **v).count(),
        refs[ZIP215].iter().filter(|v| **v).count(),
        refs[DALEK].iter().filter(|v| **v).count(),
        pattern_count(refs, false, true, false),
        pattern_count(refs, false, true, true),
        pattern_count(refs, true, true, true),
        pattern_count(refs, false, false, false),
    );
}

// ---------------------------------------------------------------------------------------------
// Curve and integer helpers
// ---------------------------------------------------------------------------------------------

/// p = 2^255 − 19, little-endian.
const P: [u8; 32] = {
    let mut p = [0xff; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    p
};

/// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// little-endian 256-bit `a + b`, or `None` on overflow.
fn add(a: &[u8; 32], b: &[u8; 32]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let t = a[i] as u16 + b[i] as u16 + carry;
        out[i] = t as u8;
        carry = t >> 8;
    }
    (carry == 0).then_some(out)
}

/// little-endian 256-bit `a − b` for `a ≥ b`.
fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in 0..32 {
        let t = a[i] as i16 - b[i] as i16 - borrow;
        out[i] = t.rem_euclid(256) as u8;
        borrow = (t < 0) as i16;
    }
    assert_eq!(borrow, 0, "sub underflow");
    out
}

fn int(n: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[..8].copy_from_slice(&n.to_le_bytes());
    out
}

fn pow2(k: u32) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[(k / 8) as usize] = 1 << (k % 8);
    out
}

fn sig_of(r: &[u8; 32], s: &[u8; 32]) -> [u8; 64] {
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r);
    sig[32..].copy_from_slice(s);
    sig
}

fn r_of(sig: &[u8; 64]) -> [u8; 32] {
    sig[..32].try_into().expect("32 bytes")
}

fn s_of(sig: &[u8; 64]) -> [u8; 32] {
    sig[32..].try_into().expect("32 bytes")
}

/// A canonical scalar from its bytes (test data only).
fn canonical(bytes: &[u8; 32]) -> Scalar {
    Option::from(Scalar::from_canonical_bytes(*bytes)).expect("canonical scalar")
}

fn rand_scalar(rng: &mut StdRng) -> Scalar {
    let mut b = [0u8; 64];
    rng.fill_bytes(&mut b);
    Scalar::from_bytes_mod_order_wide(&b)
}

fn rand_bytes(rng: &mut StdRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

/// k = SHA-512(R ‖ A ‖ M) mod L over the bytes as given.
fn challenge(r: &[u8; 32], pk: &[u8; 32], msg: &[u8]) -> Scalar {
    let h = Sha512::new()
        .chain_update(r)
        .chain_update(pk)
        .chain_update(msg)
        .finalize();
    let mut wide = [0u8; 64];
    wide.copy_from_slice(&h);
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn enc(p: &EdwardsPoint) -> [u8; 32] {
    p.compress().to_bytes()
}

/// A key with a known secret scalar and an optional torsion component: A = [a]B + T.
#[derive(Clone, Copy)]
struct RawKey {
    a: Scalar,
    pk: [u8; 32],
}

impl RawKey {
    fn new(a: Scalar, torsion: EdwardsPoint) -> Self {
        RawKey {
            a,
            pk: enc(&(EdwardsPoint::mul_base(&a) + torsion)),
        }
    }

    /// R = [r]B + T', k = H(R ‖ A ‖ M), S = r + k·a: the cofactored equation always holds; the
    /// cofactorless one holds iff T' + [k]T = 0.
    fn sign(&self, r: &Scalar, r_torsion: &EdwardsPoint, msg: &[u8]) -> [u8; 64] {
        let r_bytes = enc(&(EdwardsPoint::mul_base(r) + r_torsion));
        self.sign_with_r(r, &r_bytes, msg)
    }

    /// S = r + k·a for R given as bytes (which may encode anything).
    fn sign_with_r(&self, r: &Scalar, r_bytes: &[u8; 32], msg: &[u8]) -> [u8; 64] {
        let k = challenge(r_bytes, &self.pk, msg);
        sig_of(r_bytes, &(r + k * self.a).to_bytes())
    }
}

/// Every 32-byte string that `CompressedEdwardsY::decompress` maps to a point of small order.
///
/// Exhaustive by construction: such a string's low 255 bits are some y ≡ y_T (mod p) for one of
/// the eight torsion points T, and below 2^255 the only such values are y_T and y_T + p (2p >
/// 2^255); the top bit is the sign of x. So the candidates are at most 8 × 2 × 2 strings, and
/// each one is kept when it decompresses to a small-order point.
fn small_order_encodings() -> Vec<[u8; 32]> {
    let mut found: Vec<[u8; 32]> = Vec::new();
    for t in EIGHT_TORSION {
        let mut y = enc(&t);
        y[31] &= 0x7f;
        let mut ys = vec![y];
        if let Some(yp) = add(&y, &P) {
            if yp[31] & 0x80 == 0 {
                ys.push(yp);
            }
        }
        for y in ys {
            for sign in [0u8, 0x80] {
                let mut e = y;
                e[31] |= sign;
                if let Some(pt) = CompressedEdwardsY(e).decompress() {
                    if pt.is_small_order() && !found.contains(&e) {
                        found.push(e);
                    }
                }
            }
        }
    }
    found.sort();
    found
}

/// Encodings y + p (y < 19, so y + p < 2^255) with both sign bits, and the sign-flipped canonical
/// encodings of every y < 19 point: each non-canonical encoding there is, whether it decodes or not.
fn non_canonical_encodings() -> Vec<[u8; 32]> {
    let mut out = Vec::new();
    for y in 0..19u64 {
        let yp = add(&int(y), &P).expect("no overflow");
        assert!(yp[31] & 0x80 == 0);
        for sign in [0u8, 0x80] {
            let mut e = yp;
            e[31] |= sign;
            out.push(e);
            // y itself with the sign bit set is non-canonical only where x = 0 (y = ±1).
            let mut c = int(y);
            c[31] |= sign;
            if let Some(pt) = CompressedEdwardsY(c).decompress() {
                if enc(&pt) != c {
                    out.push(c);
                }
            }
        }
    }
    out
}

/// A random 32-byte string that does not decompress (about half of all strings).
fn off_curve(rng: &mut StdRng) -> [u8; 32] {
    loop {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        if CompressedEdwardsY(b).decompress().is_none() {
            return b;
        }
    }
}

fn torsion(i: usize) -> EdwardsPoint {
    EIGHT_TORSION[i % 8]
}

// ---------------------------------------------------------------------------------------------
// Hostile families
// ---------------------------------------------------------------------------------------------

/// Small-order points as A, as R, and as both, with arbitrary and with constructed signatures.
fn small_order_family(rng: &mut StdRng) -> Vec<Item> {
    const F: &str = "small-order";
    let encs = small_order_encodings();
    let honest = RawKey::new(rand_scalar(rng), EdwardsPoint::identity());
    let mut items = Vec::new();
    for e in &encs {
        let a_point = CompressedEdwardsY(*e).decompress().expect("decodes");
        // As A, arbitrary R and S.
        let r = rand_scalar(rng);
        let s = rand_scalar(rng);
        items.push(item(
            F,
            *e,
            b"arbitrary",
            sig_of(&enc(&EdwardsPoint::mul_base(&r)), &s.to_bytes()),
        ));
        // As A with R = [r]B (+ T'), S = r: [s]B = R + [k]A holds iff [k]A = T' (cofactorless);
        // the cofactored equation always holds.
        for j in [0usize, 1, 2, 4] {
            for m in 0..4u8 {
                let msg = [b'A', m, j as u8];
                let r = rand_scalar(rng);
                let r_bytes = enc(&(EdwardsPoint::mul_base(&r) + torsion(j)));
                items.push(item(F, *e, &msg, sig_of(&r_bytes, &r.to_bytes())));
            }
            // And one where T' = −[k]A is forced by searching messages: valid cofactorless.
            for c in 0..64u32 {
                let msg = [b"Aforce".as_slice(), &c.to_le_bytes(), &[j as u8]].concat();
                let r = rand_scalar(rng);
                let r_bytes = enc(&(EdwardsPoint::mul_base(&r) + torsion(j)));
                let k = challenge(&r_bytes, e, &msg);
                if torsion(j) + k * a_point == EdwardsPoint::identity() {
                    items.push(item(F, *e, &msg, sig_of(&r_bytes, &r.to_bytes())));
                    break;
                }
            }
        }
        // As R under an honest key, S = k·a: [s]B − [k]A = 0, so the cofactored equation holds
        // for every small-order R, the cofactorless one only for R's canonical identity encoding.
        for m in 0..3u8 {
            let msg = [b'R', m];
            items.push(item(
                F,
                honest.pk,
                &msg,
                honest.sign_with_r(&Scalar::ZERO, e, &msg),
            ));
        }
        // As R with an arbitrary S.
        items.push(item(
            F,
            honest.pk,
            b"arbitrary R",
            sig_of(e, &rand_scalar(rng).to_bytes()),
        ));
        // As both A and R: S = 0 gives [8](R + [k]A) = 0 always; cofactorless iff R = −[k]A in
        // canonical encoding.
        for e2 in &encs {
            items.push(item(F, *e, b"both", sig_of(e2, &[0; 32])));
        }
        // As both, S = 1: never valid ([1]B is not small).
        items.push(item(F, *e, b"both", sig_of(e, &int(1))));
    }
    items
}

/// A = [a]B + T for every torsion point T, with R = [r]B + T' for every T', signed by hand.
fn torsion_family(rng: &mut StdRng) -> Vec<Item> {
    const F: &str = "torsion";
    let mut items = Vec::new();
    for ja in 0..8usize {
        let t = torsion(ja);
        let key = RawKey::new(rand_scalar(rng), t);
        for jr in 0..8usize {
            // A few arbitrary messages: cofactored always holds; cofactorless iff T' = −[k]T.
            for m in 0..3u8 {
                let msg = [b'T', ja as u8, jr as u8, m];
                items.push(item(
                    F,
                    key.pk,
                    &msg,
                    key.sign(&rand_scalar(rng), &torsion(jr), &msg),
                ));
            }
            // Search for a message where the cofactorless equation holds too (possible iff
            // T' ∈ ⟨T⟩), and one where it does not.
            let (mut both, mut only) = (false, false);
            for c in 0..96u32 {
                if both && only {
                    break;
                }
                let msg = [
                    b"Tsearch".as_slice(),
                    &c.to_le_bytes(),
                    &[ja as u8, jr as u8],
                ]
                .concat();
                let r = rand_scalar(rng);
                let r_bytes = enc(&(EdwardsPoint::mul_base(&r) + torsion(jr)));
                let k = challenge(&r_bytes, &key.pk, &msg);
                let cofactorless = torsion(jr) + k * t == EdwardsPoint::identity();
                if (cofactorless && !both) || (!cofactorless && !only) {
                    both |= cofactorless;
                    only |= !cofactorless;
                    items.push(item(F, key.pk, &msg, key.sign_with_r(&r, &r_bytes, &msg)));
                }
            }
            // A wrong S (off by one): invalid under every rule despite the torsion.
            let msg = [b'W', ja as u8, jr as u8];
            let mut sig = key.sign(&rand_scalar(rng), &torsion(jr), &msg);
            let s = canonical(&s_of(&sig)) + Scalar::ONE;
            sig[32..].copy_from_slice(&s.to_bytes());
            items.push(item(F, key.pk, &msg, sig));
        }
    }
    items
}

/// Non-canonical encodings of A and R: as A with constructed and arbitrary signatures, as R.
fn non_canonical_family(rng: &mut StdRng) -> Vec<Item> {
    const F: &str = "non-canonical";
    let honest = RawKey::new(rand_scalar(rng), EdwardsPoint::identity());
    let mut items = Vec::new();
    for e in non_canonical_encodings() {
        let point = CompressedEdwardsY(e).decompress();
        // As A: an arbitrary signature, and S = r with R = [r]B (valid where A is the identity,
        // or small order with [k]A = 0 under dalek, or any small order under zip215).
        let r = rand_scalar(rng);
        let r_bytes = enc(&EdwardsPoint::mul_base(&r));
        items.push(item(F, e, b"nc-A", sig_of(&r_bytes, &r.to_bytes())));
        items.push(item(
            F,
            e,
            b"nc-A arbitrary",
            sig_of(&r_bytes, &rand_scalar(rng).to_bytes()),
        ));
        // The same signature against the canonical encoding of the same point: k differs, so
        // at most one of the two can be valid, and only for a small-order point.
        if let Some(p) = point {
            items.push(item(F, enc(&p), b"nc-A", sig_of(&r_bytes, &r.to_bytes())));
        }
        // As R under an honest key, S = k·a (the equation with R's point being whatever it is).
        let msg = b"nc-R";
        items.push(item(
            F,
            honest.pk,
            msg,
            honest.sign_with_r(&Scalar::ZERO, &e, msg),
        ));
        items.push(item(
            F,
            honest.pk,
            msg,
            sig_of(&e, &rand_scalar(rng).to_bytes()),
        ));
        // R = [r]B + P' (P' the decoded point, R canonically encoded), S = r + k·a: valid
        // cofactorless where P' is the identity, cofactored where P' is small order.
        if let Some(p) = point {
            let r = rand_scalar(rng);
            let full = EdwardsPoint::mul_base(&r) + p;
            let k = challenge(&enc(&full), &honest.pk, msg);
            items.push(item(
                F,
                honest.pk,
                msg,
                sig_of(&enc(&full), &(r + k * honest.a).to_bytes()),
            ));
        }
        // As A and R at once.
        items.push(item(F, e, b"nc-both", sig_of(&e, &[0; 32])));
    }
    // Limits of what can be built: a non-canonical encoding has y < 19, so every such point that
    // is not small order has an unknown logarithm, and no valid signature exists for it as A or
    // as R. For a small-order A, [8][k]A = 0, so under zip215 no valid item can show whether k
    // hashed A's bytes as given or re-encoded; under the cofactorless rules it can (see
    // `small_order_points_as_a_and_r`), and for a non-canonical R it can under zip215 (k
    // changes S).
    items
}

/// S edge cases around L and the top bits, on an honest signature and on small-order ones.
fn scalar_family(rng: &mut StdRng) -> Vec<Item> {
    const F: &str = "scalar";
    let key = RawKey::new(rand_scalar(rng), EdwardsPoint::identity());
    let msg = b"scalar family";
    let honest = key.sign(&rand_scalar(rng), &EdwardsPoint::identity(), msg);
    let r = r_of(&honest);
    let s0 = s_of(&honest);
    let mut ss: Vec<[u8; 32]> = vec![s0];
    // S + jL: the same residue, never canonical.
    let mut s = s0;
    while let Some(next) = add(&s, &L) {
        ss.push(next);
        s = next;
    }
    let one = int(1);
    ss.extend([
        sub(&L, &one),
        L,
        add(&L, &one).expect("small"),
        add(&L, &L).expect("small"),
        pow2(252),
        add(&pow2(252), &one).expect("small"),
        pow2(253),
        pow2(254),
        pow2(255),
        [0xff; 32],
        [0; 32],
        one,
    ]);
    for bit in [253u32, 254, 255] {
        let mut t = s0;
        t[31] |= 1 << (bit - 248);
        ss.push(t);
    }
    let mut items: Vec<Item> = ss
        .iter()
        .map(|s| item(F, key.pk, msg, sig_of(&r, s)))
        .collect();
    // Small-order A (the identity, canonical): R = identity, S = 0 is valid under dalek and
    // zip215; S = L, 2L, ... are the same residue and must be rejected as non-canonical.
    let id = enc(&EdwardsPoint::identity());
    let mut s = [0u8; 32];
    loop {
        items.push(item(F, id, msg, sig_of(&id, &s)));
        match add(&s, &L) {
            Some(n) => s = n,
            None => break,
        }
    }
    // Identity A, R = [r]B, S = r + jL.
    let rr = rand_scalar(rng);
    let r_bytes = enc(&EdwardsPoint::mul_base(&rr));
    let mut s = rr.to_bytes();
    for _ in 0..4 {
        items.push(item(F, id, msg, sig_of(&r_bytes, &s)));
        s = add(&s, &L).expect("small");
    }
    items
}

/// Public keys and R values that are not curve points.
fn off_curve_family(rng: &mut StdRng) -> Vec<Item> {
    const F: &str = "off-curve";
    let key = RawKey::new(rand_scalar(rng), EdwardsPoint::identity());
    let mut items = Vec::new();
    for i in 0..16u8 {
        let bad = off_curve(rng);
        let msg = [b'o', i];
        let good = key.sign(&rand_scalar(rng), &EdwardsPoint::identity(), &msg);
        items.push(item(F, bad, &msg, good)); // off-curve A
        items.push(item(F, key.pk, &msg, sig_of(&bad, &s_of(&good)))); // off-curve R
        items.push(item(
            F,
            key.pk,
            &msg,
            key.sign_with_r(&rand_scalar(rng), &bad, &msg),
        ));
        items.push(item(F, bad, &msg, sig_of(&off_curve(rng), &s_of(&good)))); // both
        items.push(item(F, bad, &msg, sig_of(&bad, &L))); // S ≥ L first
    }
    // y = 2 and y = p + 2 (both off the curve), and the all-ones string.
    let mut y2 = int(2);
    items.push(item(F, y2, b"y2", sig_of(&key.pk, &int(1))));
    y2 = add(&y2, &P).expect("no overflow");
    items.push(item(F, y2, b"y2+p", sig_of(&key.pk, &int(1))));
    items.push(item(F, [0xff; 32], b"ones", sig_of(&[0xff; 32], &int(1))));
    items
}

/// An honest signature with every single bit of A, R, S and M flipped in turn.
fn bit_flip_family(rng: &mut StdRng) -> Vec<Item> {
    const F: &str = "bit-flip";
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let sk = SigningKey::from_bytes(&seed);
    let pk = sk.verifying_key().to_bytes();
    let msg = rand_bytes(rng, 24);
    let sig = sk.sign(&msg).to_bytes();
    let mut items = vec![item(F, pk, &msg, sig)];
    for bit in 0..256 {
        let mut p = pk;
        p[bit / 8] ^= 1 << (bit % 8);
        items.push(item(F, p, &msg, sig));
    }
    for bit in 0..512 {
        let mut s = sig;
        s[bit / 8] ^= 1 << (bit % 8);
        items.push(item(F, pk, &msg, s));
    }
    for bit in 0..msg.len() * 8 {
        let mut m = msg.clone();
        m[bit / 8] ^= 1 << (bit % 8);
        items.push(item(F, pk, &m, sig));
    }
    items
}

/// Message lengths at SHA-512 padding boundaries of R ‖ A ‖ M (64 + len bytes hashed; a block is
/// 128 bytes and the padding needs 17), valid and corrupted.
fn padding_family(rng: &mut StdRng) -> Vec<Item> {
    const F: &str = "padding";
    const LENGTHS: [usize; 23] = [
        0, 1, 47, 48, 63, 64, 111, 112, 113, 127, 128, 129, 175, 176, 191, 192, 239, 240, 256, 303,
        304, 319, 320,
    ];
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    let sk = SigningKey::from_bytes(&seed);
    let pk = sk.verifying_key().to_bytes();
    let mut items = Vec::new();
    for len in LENGTHS {
        let msg = rand_bytes(rng, len);
        let sig = sk.sign(&msg).to_bytes();
        items.push(item(F, pk, &msg, sig));
        let mut longer = msg.clone();
        longer.push(0);
        items.push(item(F, pk, &longer, sig));
        if let Some((last, init)) = msg.split_last() {
            items.push(item(F, pk, init, sig));
            let mut m = msg.clone();
            *m.last_mut().expect("non-empty") = last ^ 0x80;
            items.push(item(F, pk, &m, sig));
            let mut m = msg.clone();
            m[0] ^= 1;
            items.push(item(F, pk, &m, sig));
        }
    }
    items
}

fn all_families(seed: u64) -> Vec<(&'static str, Vec<Item>)> {
    let mut rng = StdRng::seed_from_u64(seed);
    vec![
        ("small-order", small_order_family(&mut rng)),
        ("torsion", torsion_family(&mut rng)),
        ("non-canonical", non_canonical_family(&mut rng)),
        ("scalar", scalar_family(&mut rng)),
        ("off-curve", off_curve_family(&mut rng)),
        ("bit-flip", bit_flip_family(&mut rng)),
        ("padding", padding_family(&mut rng)),
    ]
}

// ---------------------------------------------------------------------------------------------
// Tests of the families
// ---------------------------------------------------------------------------------------------

#[test]
fn there_are_fourteen_small_order_encodings() {
    let encs = small_order_encodings();
    let canonical: Vec<_> = EIGHT_TORSION.iter().map(enc).collect();
    assert_eq!(
        encs.len(),
        14,
        "DESIGN.md counts 14 small-order encodings; found {}: {:?}",
        encs.len(),
        encs.iter().map(hex::encode).collect::<Vec<_>>()
    );
    // The eight canonical ones are among them, all distinct; the other six are non-canonical.
    for c in &canonical {
        assert!(encs.contains(c), "canonical {} missing", hex::encode(c));
    }
    let mut distinct = canonical.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 8);
    let non_canonical: Vec<_> = encs.iter().filter(|e| !canonical.contains(e)).collect();
    assert_eq!(non_canonical.len(), 6);
    for e in non_canonical {
        let p = CompressedEdwardsY(*e).decompress().expect("decodes");
        assert_ne!(enc(&p), *e, "{} should not be canonical", hex::encode(e));
    }
    // And the reference crates treat them as keys: dalek and consensus both accept all 14.
    for e in &encs {
        assert!(ed25519_dalek::VerifyingKey::from_bytes(e).is_ok());
        assert!(ed25519_consensus::VerificationKey::try_from(*e).is_ok());
    }
}

#[test]
fn constructed_signatures_satisfy_the_intended_equations() {
    // Guards the hand-made signer: with no torsion it must produce signatures every reference
    // accepts, and a torsion R must split the rules.
    let mut rng = StdRng::seed_from_u64(1);
    for _ in 0..8 {
        let key = RawKey::new(rand_scalar(&mut rng), EdwardsPoint::identity());
        let sig = key.sign(&rand_scalar(&mut rng), &EdwardsPoint::identity(), b"m");
        for rule in Rule::ALL {
            assert!(reference::verdict(rule, &key.pk, b"m", &sig), "{rule}");
        }
        let sig = key.sign(&rand_scalar(&mut rng), &torsion(1), b"m");
        assert!(reference::verdict(Rule::Zip215, &key.pk, b"m", &sig));
        assert!(!reference::verdict(Rule::Dalek, &key.pk, b"m", &sig));
        assert!(!reference::verdict(Rule::Strict, &key.pk, b"m", &sig));
    }
    // And the SigningKey's scalar is what RawKey expects.
    let sk = SigningKey::from_bytes(&[7; 32]);
    let raw = RawKey::new(sk.to_scalar(), EdwardsPoint::identity());
    assert_eq!(raw.pk, sk.verifying_key().to_bytes());
}

#[test]
fn small_order_points_as_a_and_r() {
    let engines = engines();
    let items = small_order_family(&mut StdRng::seed_from_u64(10));
    let refs = check(&engines, "small-order", &items);
    summary("small-order", &refs);
    // Hostile enough: every split between the rules that small-order points cause is present.
    assert!(
        pattern_count(&refs, false, true, true) > 0,
        "no item valid under dalek and zip215 only"
    );
    assert!(
        pattern_count(&refs, false, true, false) > 0,
        "no item valid under zip215 only"
    );
    assert!(
        pattern_count(&refs, false, false, false) > 0,
        "no item invalid everywhere"
    );
    // k hashes A as given: some dalek-valid item has a non-canonical A (of a point other than
    // the identity) and turns invalid when A is re-encoded canonically.
    let canonical_torsion: Vec<[u8; 32]> = EIGHT_TORSION.iter().map(enc).collect();
    let distinguishing = items
        .iter()
        .zip(&refs[DALEK])
        .filter(|(it, valid)| {
            let Some(p) = CompressedEdwardsY(it.pk).decompress() else {
                return false;
            };
            **valid
                && !canonical_torsion.contains(&it.pk)
                && !p.is_identity()
                && !reference::verdict(Rule::Dalek, &enc(&p), &it.msg, &it.sig)
        })
        .count();
    assert!(
        distinguishing > 0,
        "no item shows that k hashes A's bytes as given"
    );
    // strict never accepts a small-order A or R.
    assert_eq!(refs[STRICT].iter().filter(|v| **v).count(), 0);
    // Every small-order encoding, as A with R = [r]B, S = r or as R under an honest key with
    // S = k·a, satisfies the cofactored equation: zip215 accepts each of those.
    let encs = small_order_encodings();
    for e in &encs {
        assert!(
            items
                .iter()
                .zip(&refs[ZIP215])
                .any(|(it, v)| it.pk == *e && *v),
            "no zip215-valid item with A = {}",
            hex::encode(e)
        );
        assert!(
            items
                .iter()
                .zip(&refs[ZIP215])
                .any(|(it, v)| r_of(&it.sig) == *e && it.pk != *e && *v),
            "no zip215-valid item with R = {}",
            hex::encode(e)
        );
    }
}

#[test]
fn torsion_components_split_the_rules() {
    let engines = engines();
    let items = torsion_family(&mut StdRng::seed_from_u64(11));
    let refs = check(&engines, "torsion", &items);
    summary("torsion", &refs);
    let mixed = |i: usize| {
        let a = CompressedEdwardsY(items[i].pk)
            .decompress()
            .expect("decodes");
        !a.is_torsion_free()
    };
    let n = items.len();
    // Cofactored-only: zip215 accepts, both cofactorless rules reject.
    assert!(
        (0..n).any(|i| mixed(i) && refs[ZIP215][i] && !refs[DALEK][i] && !refs[STRICT][i]),
        "no mixed-order key with a signature valid only under the cofactored equation"
    );
    // Both equations: every rule accepts a key with a torsion component (strict rejects only
    // small-order keys, not mixed-order ones).
    assert!(
        (0..n).any(|i| mixed(i) && refs[ZIP215][i] && refs[DALEK][i] && refs[STRICT][i]),
        "no mixed-order key with a signature valid under every rule"
    );
    // Torsion in R alone (torsion-free key) splits the rules too.
    assert!((0..n).any(|i| !mixed(i) && refs[ZIP215][i] && !refs[DALEK][i]));
    assert!(pattern_count(&refs, false, false, false) > 0);
}

#[test]
fn non_canonical_encodings_of_a_and_r() {
    let engines = engines();
    let encs = non_canonical_encodings();
    let decoding = encs
        .iter()
        .filter(|e| CompressedEdwardsY(**e).decompress().is_some())
        .count();
    eprintln!(
        "non-canonical encodings: {} ({decoding} decode)",
        encs.len()
    );
    // y + p for y in 0..19 with both signs (38), plus y = 1 with the sign bit (x = 0).
    assert_eq!(encs.len(), 39);
    let items = non_canonical_family(&mut StdRng::seed_from_u64(12));
    let refs = check(&engines, "non-canonical", &items);
    summary("non-canonical", &refs);
    // zip215 accepts some non-canonical A (the identity's y = 1 + p forms with S = r).
    assert!(
        (0..items.len()).any(|i| refs[ZIP215][i] && encs.contains(&items[i].pk)),
        "no non-canonical A accepted by zip215"
    );
    // dalek also accepts some non-canonical A (k hashes A's bytes as given, A = identity).
    assert!((0..items.len()).any(|i| refs[DALEK][i] && encs.contains(&items[i].pk)));
    // dalek and strict never accept a non-canonical R; zip215 does.
    for i in 0..items.len() {
        if encs.contains(&r_of(&items[i].sig)) {
            assert!(
                !refs[DALEK][i] && !refs[STRICT][i],
                "{}",
                items[i].describe()
            );
        }
    }
    assert!((0..items.len()).any(|i| refs[ZIP215][i] && encs.contains(&r_of(&items[i].sig))));
}

#[test]
fn scalar_edge_cases() {
    let engines = engines();
    let items = scalar_family(&mut StdRng::seed_from_u64(13));
    let refs = check(&engines, "scalar", &items);
    summary("scalar", &refs);
    for (i, it) in items.iter().enumerate() {
        if !lt(&s_of(&it.sig), &L) {
            for rule in Rule::ALL {
                assert!(
                    !refs[ri(rule)][i],
                    "reference accepts S ≥ L: {}",
                    it.describe()
                );
            }
        }
    }
    assert!(
        pattern_count(&refs, true, true, true) > 0,
        "the honest signature is missing"
    );
    assert!(
        pattern_count(&refs, false, true, true) > 0,
        "no S = 0 / small-order item valid"
    );
    // Reasons where unambiguous: S ≥ L is NonCanonicalS under every rule, on every engine.
    let mut buf = SignatureBatchBuf::new();
    for it in &items {
        buf.push(&it.pk, &it.msg, &it.sig).expect("small");
    }
    let high: Vec<usize> = (0..items.len())
        .filter(|&i| !lt(&s_of(&items[i].sig), &L))
        .collect();
    assert!(high.len() >= 20, "only {} items with S ≥ L", high.len());
    for (name, engine) in &engines {
        for rule in Rule::ALL {
            let v = engine.verify(rule, buf.as_batch()).expect("verify");
            for &i in &high {
                assert_eq!(
                    v[i],
                    Verdict::Invalid(Reason::NonCanonicalS),
                    "rule={rule} engine={name} index={i}: {}",
                    items[i].describe()
                );
            }
        }
    }
}

#[test]
fn off_curve_points() {
    let engines = engines();
    let items = off_curve_family(&mut StdRng::seed_from_u64(14));
    let refs = check(&engines, "off-curve", &items);
    summary("off-curve", &refs);
    assert_eq!(pattern_count(&refs, false, false, false), items.len());
}

#[test]
fn reasons_where_unambiguous() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(15);
    let key = RawKey::new(rand_scalar(&mut rng), EdwardsPoint::identity());
    let good = key.sign(&rand_scalar(&mut rng), &EdwardsPoint::identity(), b"r");
    let mut cases: Vec<(Item, [Option<Reason>; 3])> = Vec::new(); // expected per rule, in Rule::ALL order
                                                                  // Small-order A with canonical S: strict says SmallOrderPublicKey (the others decide by the
                                                                  // equation, so nothing is asserted for them here beyond the general model).
    for e in small_order_encodings() {
        let sig = sig_of(&r_of(&good), &int(12345));
        cases.push((
            item("reason", e, b"r", sig),
            [Some(Reason::SmallOrderPublicKey), None, None],
        ));
    }
    // Off-curve A with canonical S: InvalidPublicKey under every rule.
    for _ in 0..8 {
        let bad = off_curve(&mut rng);
        let r = Some(Reason::InvalidPublicKey);
        cases.push((item("reason", bad, b"r", good), [r, r, r]));
    }
    // S ≥ L, whatever else is wrong: NonCanonicalS under every rule.
    for s in [
        L,
        [0xff; 32],
        pow2(253),
        add(&s_of(&good), &L).expect("small"),
    ] {
        let r = Some(Reason::NonCanonicalS);
        cases.push((
            item("reason", key.pk, b"r", sig_of(&r_of(&good), &s)),
            [r, r, r],
        ));
        cases.push((
            item(
                "reason",
                off_curve(&mut rng),
                b"r",
                sig_of(&r_of(&good), &s),
            ),
            [r, r, r],
        ));
        let id = enc(&EdwardsPoint::identity());
        cases.push((item("reason", id, b"r", sig_of(&id, &s)), [r, r, r]));
    }
    // Off-curve R under a good key: InvalidR; small-order R under strict: SmallOrderR.
    let r = Some(Reason::InvalidR);
    cases.push((
        item(
            "reason",
            key.pk,
            b"r",
            sig_of(&off_curve(&mut rng), &s_of(&good)),
        ),
        [r, r, r],
    ));
    for e in small_order_encodings() {
        let sig = sig_of(&e, &int(99));
        cases.push((
            item("reason", key.pk, b"r", sig),
            [Some(Reason::SmallOrderR), None, None],
        ));
    }
    // A good encoding with a wrong S: Equation everywhere.
    let r = Some(Reason::Equation);
    let mut wrong = good;
    wrong[32] ^= 1;
    cases.push((item("reason", key.pk, b"r", wrong), [r, r, r]));

    let items: Vec<Item> = cases.iter().map(|(it, _)| it.clone()).collect();
    check(&engines, "reasons", &items);
    let mut buf = SignatureBatchBuf::new();
    for it in &items {
        buf.push(&it.pk, &it.msg, &it.sig).expect("small");
    }
    for (name, engine) in &engines {
        for rule in Rule::ALL {
            let v = engine.verify(rule, buf.as_batch()).expect("verify");
            for (i, (it, want)) in cases.iter().enumerate() {
                if let Some(want) = want[ri(rule)] {
                    assert_eq!(
                        v[i],
                        Verdict::Invalid(want),
                        "rule={rule} engine={name} index={i}: {}",
                        it.describe()
                    );
                }
            }
        }
    }
}

#[test]
fn single_bit_flips() {
    let engines = engines();
    let items = bit_flip_family(&mut StdRng::seed_from_u64(16));
    let refs = check(&engines, "bit-flip", &items);
    summary("bit-flip", &refs);
    // The unflipped signature verifies under every rule; no single flip of A, R, S or M does
    // (flips of S's top bits leave S ≥ L; any other flip changes k or the points).
    for rule in Rule::ALL {
        assert!(refs[ri(rule)][0], "{rule}: the honest signature");
        assert_eq!(
            refs[ri(rule)].iter().filter(|v| **v).count(),
            1,
            "{rule}: a flip verifies"
        );
    }
}

#[test]
fn sha512_padding_boundaries() {
    let engines = engines();
    let items = padding_family(&mut StdRng::seed_from_u64(17));
    let refs = check(&engines, "padding", &items);
    summary("padding", &refs);
    assert_eq!(pattern_count(&refs, true, true, true), 23);
}

// ---------------------------------------------------------------------------------------------
// Random batches
// ---------------------------------------------------------------------------------------------

/// Honest keys (some drawn far more often than others, as the engine groups by key) and a pool
/// of hostile items, some of which reuse the honest keys.
struct Pool {
    keys: Vec<SigningKey>,
    pks: Vec<[u8; 32]>,
    hostile: Vec<Item>,
}

impl Pool {
    fn new(rng: &mut StdRng) -> Self {
        let keys: Vec<SigningKey> = (0..24)
            .map(|_| {
                let mut seed = [0u8; 32];
                rng.fill_bytes(&mut seed);
                SigningKey::from_bytes(&seed)
            })
            .collect();
        let pks: Vec<[u8; 32]> = keys.iter().map(|k| k.verifying_key().to_bytes()).collect();
        let mut hostile: Vec<Item> = all_families(rng.gen())
            .into_iter()
            .flat_map(|(_, items)| items)
            .collect();
        // The honest keys in hostile items: cofactored-only signatures (zip215-valid), S + L,
        // another key's signature, a corrupted message, a small-order R.
        for (i, sk) in keys.iter().take(4).enumerate() {
            let raw = RawKey {
                a: sk.to_scalar(),
                pk: pks[i],
            };
            for j in 1..8 {
                let msg = [b"same-key".as_slice(), &[i as u8, j as u8]].concat();
                hostile.push(item(
                    "same-key",
                    pks[i],
                    &msg,
                    raw.sign(&rand_scalar(rng), &torsion(j), &msg),
                ));
            }
            let msg = b"same key, hostile";
            let sig = sk.sign(msg).to_bytes();
            let s_plus_l = add(&s_of(&sig), &L).expect("S < L");
            hostile.push(item(
                "same-key",
                pks[i],
                msg,
                sig_of(&r_of(&sig), &s_plus_l),
            ));
            hostile.push(item(
                "same-key",
                pks[i],
                msg,
                keys[i + 1].sign(msg).to_bytes(),
            ));
            hostile.push(item("same-key", pks[i], b"same key, hostilE", sig));
            for e in small_order_encodings() {
                hostile.push(item(
                    "same-key",
                    pks[i],
                    msg,
                    raw.sign_with_r(&Scalar::ZERO, &e, msg),
                ));
            }
        }
        Pool { keys, pks, hostile }
    }

    fn honest(&self, rng: &mut StdRng) -> Item {
        let k = match rng.gen_range(0..4) {
            0 | 1 => 0,
            2 => rng.gen_range(1..4),
            _ => rng.gen_range(0..self.keys.len()),
        };
        let len = rng.gen_range(0..=150);
        let msg = rand_bytes(rng, len);
        item(
            "honest",
            self.pks[k],
            &msg,
            self.keys[k].sign(&msg).to_bytes(),
        )
    }

    fn hostile(&self, rng: &mut StdRng) -> Item {
        self.hostile[rng.gen_range(0..self.hostile.len())].clone()
    }

    /// `n` items, each hostile with probability `rate`.
    fn batch(&self, rng: &mut StdRng, n: usize, rate: f64) -> Vec<Item> {
        (0..n)
            .map(|_| {
                if rng.gen_bool(rate) {
                    self.hostile(rng)
                } else {
                    self.honest(rng)
                }
            })
            .collect()
    }
}

const SIZES: [usize; 13] = [0, 1, 2, 3, 4, 5, 63, 64, 65, 255, 256, 257, 2000];

#[test]
fn random_mixed_batches() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(20);
    let pool = Pool::new(&mut rng);
    let mut total = 0;
    for n in SIZES {
        let items = pool.batch(&mut rng, n, 0.15);
        let refs = check(&engines, &format!("random batch of {n}"), &items);
        total += n;
        if n == 2000 {
            summary("random batch of 2000", &refs);
            // Windows into the same buffers (message offsets not starting at 0).
            let mut buf = SignatureBatchBuf::new();
            for it in &items {
                buf.push(&it.pk, &it.msg, &it.sig).expect("small");
            }
            for r in [1..1000, 7..263, 1999..2000, 500..500, 300..2000] {
                let view = buf.as_batch().slice(r.clone()).expect("in range");
                let sub_refs = [0, 1, 2].map(|k| refs[k][r.clone()].to_vec());
                check_view(
                    &engines,
                    &format!("slice {r:?} of 2000"),
                    &items[r.clone()],
                    view,
                    &sub_refs,
                );
                total += r.len();
            }
        }
    }
    // Mostly hostile batches, where nearly every sub-batch equation fails.
    for n in [5, 64, 257] {
        let items = pool.batch(&mut rng, n, 0.8);
        check(&engines, &format!("hostile batch of {n}"), &items);
        total += n;
    }
    eprintln!("random mixed batches: {total} items");
}

#[test]
fn all_valid_one_invalid_all_invalid() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(21);
    let pool = Pool::new(&mut rng);
    let mut total = 0;
    // All valid under every rule.
    for n in [1, 4, 5, 64, 256, 257, 600] {
        let items = pool.batch(&mut rng, n, 0.0);
        let refs = check(&engines, &format!("all valid, {n}"), &items);
        assert_eq!(pattern_count(&refs, true, true, true), n);
        total += n;
    }
    // Exactly one invalid (under every rule), at the start, in the middle and at the end; the
    // invalid kinds: a wrong S, S + L, an off-curve R, a corrupted message.
    let key = &pool.keys[0];
    let bad: Vec<Item> = {
        let msg = b"one invalid";
        let sig = key.sign(msg).to_bytes();
        let mut wrong_s = sig;
        wrong_s[40] ^= 4;
        vec![
            item("one-invalid", pool.pks[0], msg, wrong_s),
            item(
                "one-invalid",
                pool.pks[0],
                msg,
                sig_of(&r_of(&sig), &add(&s_of(&sig), &L).expect("small")),
            ),
            item(
                "one-invalid",
                pool.pks[0],
                msg,
                sig_of(&off_curve(&mut rng), &s_of(&sig)),
            ),
            item("one-invalid", pool.pks[0], b"one invalie", sig),
        ]
    };
    for n in [4, 5, 64, 256, 257, 600] {
        for (b, bad_item) in bad.iter().enumerate() {
            for pos in [0, n / 2, n - 1] {
                let mut items = pool.batch(&mut rng, n, 0.0);
                items[pos] = bad_item.clone();
                let refs = check(
                    &engines,
                    &format!("one invalid ({b}) at {pos} of {n}"),
                    &items,
                );
                assert_eq!(pattern_count(&refs, false, false, false), 1);
                total += n;
            }
        }
    }
    // All invalid under every rule.
    let invalid: Vec<Item> = {
        let refs = references(&pool.hostile);
        pool.hostile
            .iter()
            .enumerate()
            .filter(|(i, _)| !refs[STRICT][*i] && !refs[ZIP215][*i] && !refs[DALEK][*i])
            .map(|(_, it)| it.clone())
            .collect()
    };
    for n in [1, 4, 5, 64, 257, 600] {
        let items: Vec<Item> = (0..n)
            .map(|_| invalid[rng.gen_range(0..invalid.len())].clone())
            .collect();
        let refs = check(&engines, &format!("all invalid, {n}"), &items);
        assert_eq!(pattern_count(&refs, false, false, false), n);
        total += n;
    }
    eprintln!("all-valid / one-invalid / all-invalid batches: {total} items");
}

#[test]
fn zip215_batches_valid_only_under_the_cofactored_equation() {
    // Every item is zip215-valid, many only because of the cofactor: a batch equation that is
    // not multiplied by 8, or that merges keys wrongly, would reject (or resolve item by item
    // and still agree). A few of the same batches with one cofactorless-invalid, zip215-invalid
    // item appended check the fallback.
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(22);
    let pool = Pool::new(&mut rng);
    let refs = references(&pool.hostile);
    let zip_only: Vec<Item> = pool
        .hostile
        .iter()
        .enumerate()
        .filter(|(i, _)| refs[ZIP215][*i] && !refs[DALEK][*i])
        .map(|(_, it)| it.clone())
        .collect();
    assert!(
        zip_only.len() >= 50,
        "only {} zip215-only items",
        zip_only.len()
    );
    let mut total = 0;
    for n in [4, 5, 16, 255, 256, 257, 700] {
        let items: Vec<Item> = (0..n)
            .map(|_| {
                if rng.gen_bool(0.5) {
                    zip_only[rng.gen_range(0..zip_only.len())].clone()
                } else {
                    pool.honest(&mut rng)
                }
            })
            .collect();
        let r = check(&engines, &format!("zip215-valid batch of {n}"), &items);
        assert!(r[ZIP215].iter().all(|v| *v));
        total += n;
    }
    eprintln!("zip215 cofactored-only batches: {total} items");
}

/// libsodium's `crypto_sign_verify_detached` (Cardano's check, through cardano-crypto-class)
/// gives the `strict` verdict on every item of every hostile family, on honest signatures and on
/// the mixed hostile pool. The other tests hold every engine to `strict` on these families; here
/// the CPU engine is checked on this very corpus, and libsodium against the reference.
///
/// libsodium rejects S ≥ L, an A or R among the 14 small-order encodings (its blocklist ignores
/// the sign bit) and an A encoded with y ≥ p, then compares the re-encoded [S]B − [k]A with R's
/// bytes, k hashing A and R as given: verify_strict's checks, but for the last check on A. The
/// one input on which they could differ, a non-canonical A of a point that is not of small order,
/// has y < 19 and an unknown logarithm, so no one can build a signature that verify_strict
/// accepts for it (`non_canonical_family` has every such encoding, with arbitrary signatures).
/// Versions 1.0.18 (Debian 12's) to 1.0.22 share that verify code; others are not compared.
#[test]
fn libsodium_gives_the_strict_verdicts() {
    let cpu = Engine::builder()
        .backend(BackendChoice::Cpu)
        .build()
        .expect("a CPU engine always builds");
    let mut rng = StdRng::seed_from_u64(8032);
    let mut items: Vec<Item> = all_families(rng.gen())
        .into_iter()
        .flat_map(|(_, items)| items)
        .collect();
    let pool = Pool::new(&mut rng);
    items.extend(pool.hostile.iter().cloned());
    for (i, sk) in pool.keys.iter().enumerate() {
        let msg = rand_bytes(&mut rng, i * 7);
        let sig = sk.sign(&msg).to_bytes();
        items.push(item("honest", pool.pks[i], &msg, sig));
        let mut bad = msg.clone();
        bad.push(1);
        items.push(item("honest, other message", pool.pks[i], &bad, sig));
    }
    let refs = check(&[("cpu".to_string(), cpu)], "libsodium corpus", &items);
    let triples: Vec<_> = items
        .iter()
        .map(|it| (it.pk, it.msg.clone(), it.sig))
        .collect();
    let Some((version, sodium)) = vera_tests::libsodium::verify_detached(&triples) else {
        return;
    };
    let minor = version
        .strip_prefix("1.0.")
        .and_then(|m| m.parse::<u32>().ok());
    if !minor.is_some_and(|m| (18..=22).contains(&m)) {
        let why = format!(
            "libsodium {version} is not one of 1.0.18 to 1.0.22, whose verify code strict is \
             known to reproduce"
        );
        assert!(
            !vera_tests::libsodium::required(),
            "{why}; set VERA_REQUIRE_LIBSODIUM=0 to skip the comparison"
        );
        eprintln!("skipping the libsodium comparison: {why}");
        return;
    }
    let mismatches: Vec<String> = items
        .iter()
        .enumerate()
        .filter(|&(i, _)| sodium[i] != refs[STRICT][i])
        .map(|(i, it)| format!("libsodium {}: {}", sodium[i], it.describe()))
        .collect();
    assert!(
        mismatches.is_empty(),
        "libsodium {version} differs from strict on {} of {} items:\n{}",
        mismatches.len(),
        items.len(),
        mismatches.join("\n")
    );
    // The corpus splits the rules: valid and invalid items under strict, and items that only
    // the laxer rules accept (so libsodium is not merely agreeing with everything).
    let valid = sodium.iter().filter(|&&v| v).count();
    assert!(
        valid > 24 && valid < items.len(),
        "{valid} of {}",
        items.len()
    );
    assert!((0..items.len()).any(|i| !sodium[i] && refs[DALEK][i]));
    assert!((0..items.len()).any(|i| !sodium[i] && refs[ZIP215][i]));
    eprintln!(
        "libsodium {version}: {valid} of {} items valid, all equal to strict",
        items.len()
    );
}
