//! Ed25519 on the CPU, on curve25519-dalek (whose AVX2 backend is picked at run time).
//!
//! - `strict` and `dalek` are cofactorless. A random-coefficient batch equation is not sound for
//!   them (a torsion difference survives with probability up to 1/2), so every signature is checked
//!   on its own by ed25519-dalek's `verify_strict` / `verify` themselves: the verdicts are the
//!   reference's by construction. What vera adds is the decompressed-key cache and all cores.
//! - `zip215` is cofactored, where the batch equation
//!   `[8]([−Σ zᵢsᵢ]B + Σ [zᵢ]Rᵢ + Σ [zᵢkᵢ]Aᵢ) = 0` with random 128-bit `zᵢ` is sound: it holds for
//!   every batch of valid signatures, and for a batch holding an invalid one only with probability
//!   2⁻¹²⁸. A failed batch is resolved item by item with the single-signature equation, so the
//!   verdicts are exactly ed25519-consensus's. This is ed25519-zebra's algorithm, written here so
//!   that public keys come from the cache instead of being decompressed again for every batch.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha512};

use super::{KeyCache, Workers};
use crate::batch::SignatureBatch;
use crate::ed25519::{diagnose, Reason, Rule, Verdict};

/// Largest zip215 sub-batch one task verifies with one equation. Batch gains flatten out between
/// 256 and 1,024 signatures, and smaller sub-batches keep every core busy and bound the re-check
/// cost when a batch holds an invalid signature.
const MAX_SUB_BATCH: usize = 256;
/// Below this a sub-batch is not worth an equation of its own: items are checked one by one.
const MIN_SUB_BATCH: usize = 4;
/// Smallest part for the per-signature rules (≈ 30 µs each): two signatures outweigh the
/// hand-off to a worker many times over.
const PER_ITEM_PART: usize = 2;

/// Verifies every signature of `batch` under `rule` into `out` (same length), in order.
pub fn verify_batch(
    workers: &Workers<'_>,
    keys: &KeyCaches,
    rule: Rule,
    batch: SignatureBatch<'_>,
    out: &mut [Verdict],
) {
    debug_assert_eq!(batch.len(), out.len());
    let n = batch.len();
    let part_len = match rule {
        Rule::Strict | Rule::Dalek => workers.part_len(n, PER_ITEM_PART, 4),
        // One sub-batch equation per part.
        Rule::Zip215 => workers.part_len(n, 1, 1).min(MAX_SUB_BATCH),
    };
    workers.for_each_part(out, part_len, |start, part| {
        // In range: `part` is a piece of a slice as long as the batch.
        let Some(sub) = batch.slice(start..start + part.len()) else {
            return;
        };
        match rule {
            Rule::Strict | Rule::Dalek => cofactorless_each(keys, rule, sub, part),
            Rule::Zip215 => zip215_batch(keys, sub, part),
        }
    });
}

/// Decompressed public keys, kept between batches: a node sees the same keys again and again,
/// and decompression is ≈ 3.3 µs, a quarter of a batched verification.
#[derive(Default)]
pub struct KeyCaches {
    dalek: KeyCache<Option<VerifyingKey>>,
    zip215: KeyCache<Option<EdwardsPoint>>,
}

impl KeyCaches {
    /// Forgets every cached key.
    pub fn clear(&self) {
        self.dalek.clear();
        self.zip215.clear();
    }
}

fn cofactorless_each(keys: &KeyCaches, rule: Rule, batch: SignatureBatch<'_>, out: &mut [Verdict]) {
    for (i, o) in out.iter_mut().enumerate() {
        let Some((pk, msg, sig)) = batch.get(i) else {
            continue;
        };
        // `from_bytes` keeps the bytes as given, so k hashes a non-canonical A as received.
        let vk = keys
            .dalek
            .get_or_insert(pk, || VerifyingKey::from_bytes(pk).ok());
        let signature = Signature::from_bytes(sig);
        let ok = match (vk, rule) {
            (None, _) => false,
            (Some(vk), Rule::Strict) => vk.verify_strict(msg, &signature).is_ok(),
            (Some(vk), _) => vk.verify(msg, &signature).is_ok(),
        };
        *o = verdict(ok, rule, pk, sig);
    }
}

fn verdict(ok: bool, rule: Rule, pk: &[u8; 32], sig: &[u8; 64]) -> Verdict {
    if ok {
        Verdict::Valid
    } else {
        Verdict::Invalid(diagnose(rule, pk, sig))
    }
}

/// A zip215 item with everything decoded.
struct Decoded {
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

/// Decodes one item, or says why it cannot be valid under ZIP-215.
fn decode_zip215(
    keys: &KeyCaches,
    pk: &[u8; 32],
    msg: &[u8],
    sig: &[u8; 64],
) -> Result<Decoded, Reason> {
    let (r_bytes, s_bytes) = sig.split_at(32);
    let s_bytes: [u8; 32] = s_bytes.try_into().map_err(|_| Reason::NonCanonicalS)?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes))
        .ok_or(Reason::NonCanonicalS)?;
    let a = keys
        .zip215
        .get_or_insert(pk, || CompressedEdwardsY(*pk).decompress())
        .ok_or(Reason::InvalidPublicKey)?;
    let r = CompressedEdwardsY::from_slice(r_bytes)
        .ok()
        .and_then(|c| c.decompress())
        .ok_or(Reason::InvalidR)?;
    // k = SHA-512(R ‖ A ‖ M) mod L, over the bytes as received.
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r_bytes)
            .chain_update(pk)
            .chain_update(msg),
    );
    Ok(Decoded { a, r, s, k })
}

/// The single-signature ZIP-215 equation: `[8](R − ([s]B − [k]A)) = 0`.
fn zip215_single(d: &Decoded) -> bool {
    let r_prime = EdwardsPoint::vartime_double_scalar_mul_basepoint(&d.k, &-d.a, &d.s);
    (d.r - r_prime).mul_by_cofactor().is_identity()
}

fn zip215_batch(keys: &KeyCaches, batch: SignatureBatch<'_>, out: &mut [Verdict]) {
    let mut decoded: Vec<(usize, Decoded)> = Vec::with_capacity(batch.len());
    for (i, o) in out.iter_mut().enumerate() {
        let Some((pk, msg, sig)) = batch.get(i) else {
            continue;
        };
        match decode_zip215(keys, pk, msg, sig) {
            Ok(d) => decoded.push((i, d)),
            Err(reason) => *o = Verdict::Invalid(reason),
        }
    }
    let all_valid =
        decoded.len() >= MIN_SUB_BATCH && zip215_equation(batch.public_keys(), &decoded);
    for (i, d) in &decoded {
        out[*i] = if all_valid || zip215_single(d) {
            Verdict::Valid
        } else {
            Verdict::Invalid(Reason::Equation)
        };
    }
}

/// The random-coefficient batch equation over decoded items; terms for the same key are merged.
fn zip215_equation(public_keys: &[[u8; 32]], items: &[(usize, Decoded)]) -> bool {
    let mut rng = rand::thread_rng();
    let mut b_coeff = Scalar::ZERO;
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    // Index into `scalars` of each distinct key's coefficient, so repeated keys share one term.
    let mut key_slot: std::collections::HashMap<&[u8; 32], usize> =
        std::collections::HashMap::with_capacity(items.len());
    scalars.push(Scalar::ZERO); // B's coefficient, filled in at the end
    points.push(ED25519_BASEPOINT_POINT);
    for (i, d) in items {
        let mut z = [0u8; 16];
        rng.fill_bytes(&mut z);
        let z = Scalar::from(u128::from_le_bytes(z));
        b_coeff -= z * d.s;
        scalars.push(z);
        points.push(d.r);
        let slot = *key_slot.entry(&public_keys[*i]).or_insert_with(|| {
            scalars.push(Scalar::ZERO);
            points.push(d.a);
            scalars.len() - 1
        });
        scalars[slot] += z * d.k;
    }
    scalars[0] = b_coeff;
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points)
        .mul_by_cofactor()
        .is_identity()
}
