//! GPU Ed25519 beyond the shared conformance and differential suites (which run on the GPU
//! engines too):
//! - the scalar arithmetic of `scalar.wgsl` (reduction of 512-bit digests mod L, S < L, signed
//!   radix-16 recoding) against curve25519-dalek on edge values and 10,000 random inputs;
//! - 12,000 random signatures, a quarter of them corrupted in R, S, A or the message, verified
//!   on every GPU engine — both field paths crossed with the three verify kernels (one
//!   invocation per signature, two cooperating, eight in lanes) — under every rule in batches
//!   of 1, 2, 63, 64, 65 and 3,000, with the verdicts (reasons included) equal to the CPU
//!   engine's;
//! - messages longer than the GPU hashes on a software adapter (the host supplies k), and runs
//!   split by the binding limit.
//!
//! Without an adapter the tests return early, unless `VERA_REQUIRE_GPU=1`, when the harness
//! fails them.

use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{Signer, SigningKey};
use num_bigint::BigUint;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use vera_engine::backend::gpu::VerifyKernel;
use vera_engine::{Engine, Rule, SignatureBatchBuf, Verdict};
use vera_tests::{gpu_backends, gpu_engines};

/// L, the order of the prime-order subgroup.
fn order() -> BigUint {
    (BigUint::from(1u8) << 252u32)
        + "27742317777372353535851937790883648493"
            .parse::<BigUint>()
            .expect("decimal")
}

fn le64(x: &BigUint) -> [u8; 64] {
    let mut out = [0u8; 64];
    let b = x.to_bytes_le();
    out[..b.len()].copy_from_slice(&b);
    out
}

#[test]
fn scalar_arithmetic_matches_dalek() {
    let l = order();
    let two = BigUint::from(2u8);
    let mut inputs: Vec<[u8; 64]> = Vec::new();
    // Edge values around 0, L and its multiples, powers of two and the 512-bit maximum.
    let max512 = (BigUint::from(1u8) << 512u32) - 1u8;
    let mut edges = vec![
        BigUint::from(0u8),
        BigUint::from(1u8),
        max512.clone(),
        BigUint::from(1u8) << 252u32,
        (BigUint::from(1u8) << 253u32) - 1u8,
        (BigUint::from(1u8) << 256u32) - 1u8,
        (BigUint::from(1u8) << 260u32) + 7u8,
    ];
    for k in [1u32, 2, 3, 15, 16, 255, 256, 257, 65_535, u32::MAX] {
        let m = &l * k;
        edges.push(m.clone() - 1u8);
        edges.push(m.clone());
        edges.push(m + 1u8);
    }
    // The largest multiple of L below 2^512, and its neighbours.
    let top = (&max512 / &l) * &l;
    edges.extend([top.clone() - 1u8, top.clone(), top + 1u8]);
    for k in 0..512u32 {
        edges.push(two.pow(k));
    }
    for e in &edges {
        if *e <= max512 {
            inputs.push(le64(e));
        }
    }
    // Low halves at S's edges (S < L is checked on the low 32 bytes): L − 1, L, L + 1, 2^255 …
    for s in [
        l.clone() - 1u8,
        l.clone(),
        l.clone() + 1u8,
        l.clone() + (BigUint::from(1u8) << 128u32),
        (BigUint::from(1u8) << 255u32) + 1u8,
        (BigUint::from(1u8) << 256u32) - 1u8,
    ] {
        inputs.push(le64(&s));
    }
    let mut rng = StdRng::seed_from_u64(0x5ca1);
    for _ in 0..10_000 {
        let mut h = [0u8; 64];
        rng.fill_bytes(&mut h);
        // Some with the low half just around L, to exercise the canonical check.
        if rng.gen_ratio(1, 8) {
            let s = l.clone() + rng.gen_range(0u32..3) - 1u8;
            h[..32].copy_from_slice(&le64(&s)[..32]);
        }
        inputs.push(h);
    }
    for (name, gpu) in gpu_backends("scalar_arithmetic_matches_dalek") {
        let got = gpu.scalar_selftest(&inputs).expect("scalar self-test runs");
        assert_eq!(got.len(), inputs.len(), "{name}");
        for (h, (k, digits, canonical)) in inputs.iter().zip(&got) {
            let want = Scalar::from_bytes_mod_order_wide(h);
            assert_eq!(*k, want.to_bytes(), "{name}: {} mod L", hex::encode(h));
            // The digits are in [−8, 8) (the top one at most 2) and sum back to k.
            let mut acc = Scalar::ZERO;
            for (i, d) in digits.iter().enumerate().rev() {
                assert!((-8..8).contains(d), "{name}: digit {i} = {d}");
                let m = Scalar::from(u64::from(d.unsigned_abs()));
                acc = acc * Scalar::from(16u8) + if *d < 0 { -m } else { m };
            }
            assert!(digits[63] <= 2, "{name}: top digit {}", digits[63]);
            assert_eq!(acc, want, "{name}: recoding of {}", hex::encode(k));
            let low: [u8; 32] = h[..32].try_into().expect("32 bytes");
            assert_eq!(
                *canonical,
                bool::from(Scalar::from_canonical_bytes(low).is_some()),
                "{name}: S < L for {}",
                hex::encode(low)
            );
        }
        assert!(
            got.iter().any(|g| g.2) && got.iter().any(|g| !g.2),
            "both canonical and non-canonical low halves were tested"
        );
    }
}

/// What was done to a signature.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Corruption {
    None,
    R,
    S,
    A,
    Message,
    SPlusL,
}

/// `n` signatures over random messages of 0..300 bytes (some longer) by a pool of keys (so keys
/// repeat as in a node's traffic); a quarter corrupted.
fn random_batch(rng: &mut StdRng, n: usize) -> (SignatureBatchBuf, Vec<Corruption>) {
    let keys: Vec<SigningKey> = (0..300)
        .map(|_| SigningKey::from_bytes(&rng.gen()))
        .collect();
    let l = order();
    let mut batch = SignatureBatchBuf::new();
    let mut what = Vec::with_capacity(n);
    for _ in 0..n {
        let key = &keys[rng.gen_range(0..keys.len())];
        let len = if rng.gen_ratio(1, 50) {
            rng.gen_range(300..5000)
        } else {
            rng.gen_range(0..300)
        };
        let mut msg = vec![0u8; len];
        rng.fill_bytes(&mut msg);
        let mut sig = key.sign(&msg).to_bytes();
        let mut pk = key.verifying_key().to_bytes();
        let corruption = if rng.gen_ratio(1, 4) {
            match rng.gen_range(0..5) {
                0 => Corruption::R,
                1 => Corruption::S,
                2 => Corruption::A,
                3 if !msg.is_empty() => Corruption::Message,
                _ => Corruption::SPlusL,
            }
        } else {
            Corruption::None
        };
        let bit = |rng: &mut StdRng, bytes: &mut [u8]| {
            let i = rng.gen_range(0..bytes.len() * 8);
            bytes[i / 8] ^= 1 << (i % 8);
        };
        match corruption {
            Corruption::None => {}
            Corruption::R => bit(rng, &mut sig[..32]),
            Corruption::S => bit(rng, &mut sig[32..]),
            Corruption::A => bit(rng, &mut pk),
            Corruption::Message => bit(rng, &mut msg),
            Corruption::SPlusL => {
                // The same S plus L: equal mod L, so only the S < L check rejects it.
                let s = BigUint::from_bytes_le(&sig[32..]) + &l;
                let b = s.to_bytes_le();
                sig[32..].fill(0);
                sig[32..32 + b.len()].copy_from_slice(&b);
            }
        }
        batch.push(&pk, &msg, &sig).expect("fits");
        what.push(corruption);
    }
    (batch, what)
}

#[test]
fn random_signatures_match_the_cpu_on_every_batch_size() {
    let gpus = gpu_engines();
    if gpus.is_empty() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    // The harness's engines (u64 field with the lane-parallel kernel, u32 field with one
    // invocation per signature) and the other pairings of field path and kernel.
    let crossed = vera_tests::crossed_gpu_engines(&[
        ("gpu-u64-single", false, VerifyKernel::Single),
        ("gpu-u64-coop", false, VerifyKernel::Coop),
        ("gpu-u32-coop", true, VerifyKernel::Coop),
        ("gpu-u32-lanes", true, VerifyKernel::Lanes),
    ]);
    let gpus: Vec<&(String, Engine)> = gpus.iter().chain(&crossed).collect();
    let mut rng = StdRng::seed_from_u64(0xed25519);
    let (batch, what) = random_batch(&mut rng, 12_000);
    let all = batch.as_batch();
    let cpu = Engine::cpu();
    let sizes = [1usize, 2, 63, 64, 65, 3000];
    for rule in Rule::ALL {
        let want = cpu.verify(rule, all).expect("CPU verifies");
        // Not vacuous: honest signatures pass and every kind of corruption is caught.
        for (w, c) in want.iter().zip(&what) {
            if *c == Corruption::None {
                assert!(w.is_valid(), "{rule}: an honest signature was rejected");
            }
        }
        for c in [
            Corruption::R,
            Corruption::S,
            Corruption::A,
            Corruption::Message,
            Corruption::SPlusL,
        ] {
            assert!(
                want.iter()
                    .zip(&what)
                    .any(|(w, x)| *x == c && !w.is_valid()),
                "{rule}: no rejected {c:?} corruption"
            );
        }
        for (name, engine) in gpus.iter() {
            let mut got: Vec<Verdict> = Vec::with_capacity(want.len());
            let mut start = 0;
            let mut calls = 0;
            while start < all.len() {
                let n = sizes[calls % sizes.len()].min(all.len() - start);
                let sub = all.slice(start..start + n).expect("in range");
                got.extend(engine.verify(rule, sub).expect("GPU verifies"));
                start += n;
                calls += 1;
            }
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(
                    g, w,
                    "{name}, {rule}: signature {i} ({:?}): GPU {g:?}, CPU {w:?}",
                    what[i]
                );
            }
            assert_eq!(got.len(), want.len());
        }
    }
}

#[test]
fn long_messages_and_split_runs() {
    let gpus = gpu_engines();
    if gpus.is_empty() {
        eprintln!("skipped: no GPU adapter");
        return;
    }
    let mut rng = StdRng::seed_from_u64(0x10);
    let key = SigningKey::from_bytes(&rng.gen());
    let mut batch = SignatureBatchBuf::new();
    // Longer than a software adapter hashes (192 KiB) and than a 64 KiB binding holds, between
    // short ones; one of each corrupted.
    for (i, len) in [10usize, 200_000, 65_532, 65_533, 70_000, 33, 300_000, 0]
        .into_iter()
        .enumerate()
    {
        let mut msg = vec![0u8; len];
        rng.fill_bytes(&mut msg);
        let mut sig = key.sign(&msg).to_bytes();
        if i % 2 == 1 {
            sig[40] ^= 4;
        }
        batch
            .push(&key.verifying_key().to_bytes(), &msg, &sig)
            .expect("fits");
    }
    let cpu = Engine::cpu();
    for rule in Rule::ALL {
        let want = cpu.verify(rule, batch.as_batch()).expect("CPU verifies");
        assert_eq!(
            want.iter().filter(|v| v.is_valid()).count(),
            4,
            "{rule}: the honest half is valid"
        );
        for (name, engine) in gpus {
            let got = engine.verify(rule, batch.as_batch()).expect("GPU verifies");
            assert_eq!(got, want, "{name}, {rule}");
        }
    }
}
