//! Edwards25519 point decompression on the GPU (`edwards.wgsl`'s `ge_decompress`, on both field
//! paths: `field_u32.wgsl`, and `field_u64.wgsl` where the device has SHADER_INT64), held
//! bit-exact to curve25519-dalek 4's `CompressedEdwardsY::decompress`, which ed25519-dalek 2
//! and ed25519-consensus decode A and R with: y from the low 255 bits without a check that
//! y < p, x from sqrt_ratio_i(y² − 1, d·y² + 1), failing where that is not a square, and the
//! sign bit negating x with no check that x ≠ 0.
//!
//! `GpuBackend::decompress_selftest` returns for each encoding whether it decodes and the
//! canonical affine (x, y). For every encoding the flag must equal dalek's; where both decode,
//! dalek's `compress()` must equal the GPU's (x, y) re-encoded, and (x, y) must lie on the curve
//! (which, with y and x's parity, pins x down exactly).
//!
//! Inputs: the small-order encodings (the 8 torsion points, and the non-canonical ones: y + p,
//! the sign bit on x = 0), every y in 0..64 and p..2^255 − 1 with both sign bits, 2,000 random
//! valid points (basepoint multiples, some plus a torsion point, either sign), 2,000 random
//! 32-byte strings (about half do not decode), all-ones, the RFC 8032 public keys and the 1,024
//! sign.input public keys and R values. About 6,300 encodings on each GPU engine (the adapter as
//! it is, and with bindings capped at 64 KiB: many runs) and each field path.
//!
//! Without an adapter the test returns early, unless `VERA_REQUIRE_GPU=1`, when the harness
//! fails it; it also fails it when lavapipe has no SHADER_INT64 (`field_paths`).

use std::time::Instant;

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use num_bigint::BigUint;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use vera_tests::{field_hex, field_p, field_paths, gpu_backends, le32, load_vectors, vector_array};

fn with_sign(mut e: [u8; 32], sign: bool) -> [u8; 32] {
    e[31] = (e[31] & 0x7f) | (u8::from(sign) << 7);
    e
}

/// The encodings under test, each with where it came from.
fn inputs() -> Vec<([u8; 32], String)> {
    let p = field_p();
    let mut v: Vec<([u8; 32], String)> = Vec::new();
    // Small order: the 8 torsion points, then the non-canonical encodings of the same points.
    for (k, t) in EIGHT_TORSION.iter().enumerate() {
        v.push((t.compress().to_bytes(), format!("torsion {k}")));
    }
    for y in [0u8, 1] {
        for s in [false, true] {
            v.push((
                with_sign(le32(&(&p + y)), s),
                format!("y = p + {y}, sign {s}"),
            ));
        }
    }
    for (y, name) in [(BigUint::from(1u8), "1"), (&p - 1u8, "p - 1")] {
        v.push((
            with_sign(le32(&y), true),
            format!("x = 0 (y = {name}), sign set"),
        ));
    }
    // Every small y and every y ≥ p, both signs.
    for y in 0u8..64 {
        for s in [false, true] {
            v.push((
                with_sign(le32(&BigUint::from(y)), s),
                format!("y = {y}, sign {s}"),
            ));
        }
    }
    for k in 0u8..19 {
        for s in [false, true] {
            v.push((
                with_sign(le32(&(&p + k)), s),
                format!("y = p + {k}, sign {s}"),
            ));
        }
    }
    let mut rng = StdRng::seed_from_u64(0xdec0_25519);
    for i in 0..2000 {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        let mut point = ED25519_BASEPOINT_POINT * Scalar::from_bytes_mod_order(b);
        if i % 4 == 1 {
            point += EIGHT_TORSION[rng.gen_range(0..8)];
        }
        if i % 8 == 3 {
            point = -point;
        }
        v.push((point.compress().to_bytes(), format!("random point {i}")));
    }
    for i in 0..2000 {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        v.push((b, format!("random bytes {i}")));
    }
    v.push(([0xff; 32], "all ones".into()));
    v.push((with_sign([0xff; 32], false), "all ones, sign clear".into()));
    for c in vector_array(&load_vectors("ed25519/rfc8032_ed25519.json"), "cases") {
        let pk: [u8; 32] = field_hex(c, "pk").try_into().expect("32-byte pk");
        v.push((pk, "RFC 8032 pk".into()));
    }
    for (i, c) in vector_array(&load_vectors("ed25519/sign_input_ed25519.json"), "cases")
        .iter()
        .enumerate()
    {
        let pk: [u8; 32] = field_hex(c, "pk").try_into().expect("32-byte pk");
        let r: [u8; 32] = field_hex(c, "sig")[..32].try_into().expect("64-byte sig");
        v.push((pk, format!("sign.input {i} pk")));
        v.push((r, format!("sign.input {i} R")));
    }
    v
}

#[test]
fn decompress_matches_curve25519_dalek() {
    let gpus = gpu_backends("decompress_matches_curve25519_dalek");
    if gpus.is_empty() {
        return;
    }
    let p = field_p();
    let d = {
        let k = BigUint::from(121_666u32);
        (&p - 121_665u32) * k.modpow(&(&p - 2u8), &p) % &p
    };
    let inputs = inputs();
    assert!(inputs.len() >= 5000, "{} inputs", inputs.len());
    let encodings: Vec<[u8; 32]> = inputs.iter().map(|(e, _)| *e).collect();
    let want: Vec<Option<[u8; 32]>> = encodings
        .iter()
        .map(|e| {
            CompressedEdwardsY(*e)
                .decompress()
                .map(|q| q.compress().to_bytes())
        })
        .collect();
    let decoded = want.iter().filter(|w| w.is_some()).count();
    // Both outcomes are well represented.
    assert!(
        decoded > 3000 && encodings.len() - decoded > 900,
        "{decoded} decode"
    );
    for (name, gpu, path) in gpus.iter().flat_map(|(name, gpu)| {
        field_paths("decompress_matches_curve25519_dalek", name, gpu)
            .into_iter()
            .map(move |path| (name, gpu, path))
    }) {
        let t = Instant::now();
        let got = gpu.decompress_selftest(path, &encodings).unwrap();
        eprintln!(
            "{name}: {path:?}: {} encodings ({decoded} decode) in {:.2?}",
            encodings.len(),
            t.elapsed()
        );
        assert_eq!(got.len(), encodings.len());
        for (i, ((ok, x, y), w)) in got.iter().zip(&want).enumerate() {
            let what = format!(
                "{name}: {path:?}: {} ({})",
                inputs[i].1,
                hex::encode(encodings[i])
            );
            assert_eq!(*ok, w.is_some(), "{what}: decodes");
            let Some(w) = w else { continue };
            let mut compressed = *y;
            compressed[31] |= (x[0] & 1) << 7;
            assert_eq!(
                hex::encode(compressed),
                hex::encode(w),
                "{what}: re-encoding of (x, y) = ({}, {})",
                hex::encode(x),
                hex::encode(y)
            );
            let (xb, yb) = (BigUint::from_bytes_le(x), BigUint::from_bytes_le(y));
            assert!(xb < p && yb < p, "{what}: x or y not canonical");
            let (xx, yy) = (&xb * &xb % &p, &yb * &yb % &p);
            assert_eq!(
                (&yy + &p - &xx) % &p,
                (BigUint::from(1u8) + &d * &xx % &p * &yy) % &p,
                "{what}: (x, y) = ({}, {}) is not on the curve",
                hex::encode(x),
                hex::encode(y)
            );
        }
    }
}
