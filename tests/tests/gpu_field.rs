//! Field arithmetic modulo p = 2^255 − 19 on the GPU, the foundation of GPU Ed25519, on both
//! field paths: u32 only (`field_u32.wgsl`: 20 limbs of 13 bits) and with 64-bit products
//! (`field_u64.wgsl`: 10 limbs of 26/25 bits, radix 2^25.5; where the device has SHADER_INT64,
//! which lavapipe does). `GpuBackend::field_selftest` runs `field_selftest.wgsl` on either,
//! which computes for each pair (a, b) a + b, a − b, −a, a·b, a², a^((p−5)/8), a^(p−2), a's
//! canonical encoding, 121666·a, a 50-step chain of mixed operations, the predicates is_zero,
//! is_negative and eq, and products, a difference and an encoding of elements at the limb bounds
//! each path's shader documents (which no decoding produces); every output is compared with an
//! exact model on `num-bigint`.
//!
//! Inputs: edge values (0, 1, 2, 19, p − 1, p, p + 1, 2^255 − 20, 2^255 − 1 and others ≥ p,
//! 2^254, every limb at its maximum, alternating limbs — for both limb layouts: 13-bit limbs,
//! and 26/25-bit limbs with 2^k − 1 and 2^k at every limb boundary k —, values with bit 255
//! set, which decoding ignores), every pair of them, and 10,000 random pairs (a quarter of them
//! at or above p) on the adapter as it is; the edge pairs and 1,000 random ones on the engine
//! whose bindings are capped at 64 KiB (many runs of 186 pairs). Every non-canonical encoding
//! p..2^255 − 1, with and without bit 255, is checked for its reduction. All of it on each path.
//!
//! Without an adapter the tests return early, unless `VERA_REQUIRE_GPU=1`, when the harness
//! fails them; it also fails them when lavapipe has no SHADER_INT64 (`field_paths`).

use std::time::Instant;

use num_bigint::BigUint;
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use vera_engine::backend::gpu::{FieldPath, FieldSelftest, GpuBackend};
use vera_tests::{field_p, field_paths, le32};

/// Bit offsets of the limbs of `path`'s layout: 20 of 13 bits, or 10 of 26/25 bits (⌈25.5 i⌉).
fn offsets(path: FieldPath) -> Vec<u32> {
    match path {
        FieldPath::U32 => (0..20).map(|i| 13 * i).collect(),
        FieldPath::U64 => (0..10).map(|i: u32| (51 * i).div_ceil(2)).collect(),
    }
}

/// The elements at `path`'s limb bounds that `field_selftest_{u32,u64}.wgsl` define, as values:
/// W (the largest normal form), V (fe_mul's input bound), U (fe_to_bytes's input bound).
fn bound_elements(path: FieldPath) -> (BigUint, BigUint, BigUint) {
    let value = |limb: &dyn Fn(usize) -> u64| {
        offsets(path)
            .iter()
            .enumerate()
            .fold(BigUint::from(0u8), |acc, (i, &o)| {
                acc + (BigUint::from(limb(i)) << o)
            })
    };
    let u = value(&|_| 0x7fff_ffff);
    match path {
        FieldPath::U32 => (
            value(&|i| if i == 0 { 8799 } else { 8191 }),
            value(&|_| 13_000),
            u,
        ),
        FieldPath::U64 => (
            value(&|i| {
                if i % 2 == 0 {
                    (1 << 27) - 1
                } else {
                    (1 << 26) - 1
                }
            }),
            value(&|_| (1 << 27) - 1),
            u,
        ),
    }
}

/// Ed25519's decoding of a field element: bit 255 ignored, the rest reduced mod p.
fn dec(b: &[u8; 32]) -> BigUint {
    let mut b = *b;
    b[31] &= 0x7f;
    BigUint::from_bytes_le(&b) % field_p()
}

/// The model of `field_selftest.wgsl`'s outputs on `path`.
fn model(path: FieldPath, a: &[u8; 32], b: &[u8; 32]) -> FieldSelftest {
    let p = field_p();
    let (a, b) = (dec(a), dec(b));
    let sub = |x: &BigUint, y: &BigUint| (x + &p - y) % &p;
    let k = BigUint::from(121_666u32);
    let mut x = a.clone();
    for _ in 0..50 {
        let y = sub(&(&x * &b % &p).modpow(&BigUint::from(2u8), &p), &a) * &b % &p;
        x = (y + sub(&BigUint::from(0u8), &x) * &k) % &p;
    }
    let zero = BigUint::from(0u8);
    let (w, v, u) = bound_elements(path);
    let (w, v, u) = (w % &p, v % &p, u % &p);
    FieldSelftest {
        max_normal_times_a: le32(&(&w * &a % &p)),
        a_minus_max_normal: le32(&sub(&a, &w)),
        max_mul_input_times_a: le32(&(&v * &a % &p)),
        max_mul_input_squared: le32(&(&v * &v % &p)),
        max_to_bytes_input: le32(&u),
        sum: le32(&((&a + &b) % &p)),
        difference: le32(&sub(&a, &b)),
        negation: le32(&sub(&zero, &a)),
        product: le32(&(&a * &b % &p)),
        square: le32(&(&a * &a % &p)),
        pow22523: le32(&a.modpow(&((&p - 5u8) >> 3), &p)),
        invert: le32(&a.modpow(&(&p - 2u8), &p)),
        canonical: le32(&a),
        mul_121666: le32(&(&a * &k % &p)),
        chain: le32(&x),
        a_is_zero: a == zero,
        a_is_negative: a.bit(0),
        a_eq_b: a == b,
        ab_eq_ba: true,
        b_is_zero: b == zero,
    }
}

/// Edge values as 32-byte encodings (some ≥ p or with bit 255 set).
fn edges() -> Vec<[u8; 32]> {
    let p = field_p();
    let one = BigUint::from(1u8);
    let two255 = &one << 255;
    let mut v: Vec<BigUint> = vec![
        BigUint::from(0u8),
        one.clone(),
        BigUint::from(2u8),
        BigUint::from(19u8),
        BigUint::from(121_666u32),
        &p - 1u8,
        &p - 2u8,
        p.clone(),
        &p + 1u8,
        &p + 18u8,      // 2^255 − 1: every limb at its maximum, non-canonical
        &two255 - 20u8, // = p − 1, written as in the list of edges
        &one << 254,
        (&one << 254) - 1u8,
        &one << 13,
        (&one << 13) - 1u8,
        &one << 247,
        (&one << 255) - (&one << 247),
    ];
    // Alternating limbs: 13 bits set, 13 clear, and the reverse; limbs all 8,191 below bit 247.
    let mut alt = BigUint::from(0u8);
    let mut alt2 = BigUint::from(0u8);
    for i in 0..20u64 {
        let limb = BigUint::from(8191u32) << (13 * i);
        if i % 2 == 0 {
            alt += &limb;
        } else {
            alt2 += &limb;
        }
    }
    let mask = &two255 - 1u8;
    v.push(&alt & &mask);
    v.push(&alt2 & &mask);
    v.push((&one << 247) - 1u8);
    // The 26/25-bit layout: 2^k − 1 and 2^k at every limb boundary k, and the even (26-bit) or
    // the odd (25-bit) limbs all set.
    let (mut even, mut odd) = (BigUint::from(0u8), BigUint::from(0u8));
    let o = offsets(FieldPath::U64);
    for (i, &k) in o.iter().enumerate() {
        let width = o.get(i + 1).copied().unwrap_or(255) - k;
        let limb = ((&one << width) - 1u8) << k;
        if i % 2 == 0 {
            even += limb;
        } else {
            odd += limb;
        }
        if k > 0 {
            v.push((&one << k) - 1u8);
            v.push(&one << k);
        }
    }
    v.push(even);
    v.push(odd);
    let mut out: Vec<[u8; 32]> = v.iter().map(le32).collect();
    // The same values with bit 255 set, which decoding ignores.
    for x in [0usize, 1, 5, 7, 9] {
        let mut e = out[x];
        e[31] |= 0x80;
        out.push(e);
    }
    out
}

/// `n` random pairs; one value in four is at or above p (p..2^255 − 1), and bit 255 is random.
fn random_pairs(rng: &mut StdRng, n: usize) -> (Vec<[u8; 32]>, Vec<[u8; 32]>) {
    let value = |rng: &mut StdRng| {
        let mut e = [0u8; 32];
        rng.fill_bytes(&mut e);
        if rng.gen_ratio(1, 4) {
            // p + 0..19, bit 255 random.
            let x = field_p() + BigUint::from(rng.gen_range(0u8..19));
            let top = e[31] & 0x80;
            e = le32(&x);
            e[31] |= top;
        }
        e
    };
    (0..n).map(|_| (value(rng), value(rng))).unzip()
}

/// Every output for every pair equals the model's on `path`; the first difference is reported.
fn check(
    name: &str,
    path: FieldPath,
    gpu: &GpuBackend,
    label: &str,
    a: &[[u8; 32]],
    b: &[[u8; 32]],
) {
    let t = Instant::now();
    let got = gpu.field_selftest(path, a, b).unwrap();
    eprintln!(
        "{name}: {path:?}: {label}: {} pairs in {:.2?}",
        a.len(),
        t.elapsed()
    );
    assert_eq!(got.len(), a.len());
    for (i, g) in got.iter().enumerate() {
        let want = model(path, &a[i], &b[i]);
        assert!(
            *g == want,
            "{name}: {path:?}: {label}: pair {i}\n a = {}\n b = {}\n got  {g:?}\n want {want:?}",
            hex::encode(a[i]),
            hex::encode(b[i])
        );
    }
}

#[test]
fn field_edge_values_every_pair() {
    let gpus = vera_tests::gpu_backends("field_edge_values_every_pair");
    let e = edges();
    let (a, b): (Vec<_>, Vec<_>) = e
        .iter()
        .flat_map(|x| e.iter().map(move |y| (*x, *y)))
        .unzip();
    for (name, gpu) in &gpus {
        for path in field_paths("field_edge_values_every_pair", name, gpu) {
            check(name, path, gpu, "edge pairs", &a, &b);
        }
    }
}

#[test]
fn field_canonical_encoding_of_values_at_or_above_p() {
    let gpus = vera_tests::gpu_backends("field_canonical_encoding_of_values_at_or_above_p");
    let p = field_p();
    // Every non-canonical encoding p..2^255 − 1, with and without bit 255.
    let mut a: Vec<[u8; 32]> = (0u8..19).map(|k| le32(&(&p + k))).collect();
    a.extend(a.clone().into_iter().map(|mut e| {
        e[31] |= 0x80;
        e
    }));
    let b = vec![le32(&BigUint::from(1u8)); a.len()];
    for (name, gpu) in &gpus {
        for path in field_paths(
            "field_canonical_encoding_of_values_at_or_above_p",
            name,
            gpu,
        ) {
            let got = gpu.field_selftest(path, &a, &b).unwrap();
            assert_eq!(got.len(), a.len());
            for (i, g) in got.iter().enumerate() {
                let k = i % 19;
                let want = le32(&BigUint::from(k as u8));
                assert_eq!(g.canonical, want, "{name}: {path:?}: p + {k} not reduced");
                assert_eq!(g.a_is_zero, k == 0, "{name}: {path:?}: is_zero(p + {k})");
                assert_eq!(
                    g.a_is_negative,
                    k % 2 == 1,
                    "{name}: {path:?}: is_negative(p + {k})"
                );
                // p + k times 1, squared, negated: the reductions of every other operation.
                assert_eq!(g.product, want, "{name}: {path:?}: (p + {k}) · 1");
                let sq = le32(&BigUint::from((k * k) as u32));
                assert_eq!(g.square, sq, "{name}: {path:?}: (p + {k})²");
                let neg = le32(&((field_p() - k as u8) % field_p()));
                assert_eq!(g.negation, neg, "{name}: {path:?}: −(p + {k})");
            }
        }
    }
}

#[test]
fn field_random_pairs() {
    let gpus = vera_tests::gpu_backends("field_random_pairs");
    let mut rng = StdRng::seed_from_u64(0xfe25519);
    for (k, (name, gpu)) in gpus.iter().enumerate() {
        let n = if k == 0 { 10_000 } else { 1_000 };
        for path in field_paths("field_random_pairs", name, gpu) {
            let (a, b) = random_pairs(&mut rng, n);
            check(name, path, gpu, "random pairs", &a, &b);
        }
    }
}

#[test]
fn int64_field_follows_the_device_and_the_option() {
    use vera_engine::backend::gpu::GpuOptions;
    let gpus = vera_tests::gpu_backends("int64_field_follows_the_device_and_the_option");
    let Some((name, gpu)) = gpus.first() else {
        return;
    };
    // By default the engine's kernels take the u64 path exactly where the device has int64.
    assert_eq!(gpu.int64_field(), gpu.has_int64(), "{name}");
    let forced = GpuBackend::new(&GpuOptions {
        allow_software: true,
        u32_field: true,
        ..GpuOptions::default()
    })
    .expect("a second device on the same adapter");
    assert_eq!(forced.has_int64(), gpu.has_int64(), "{name}: same adapter");
    assert!(!forced.int64_field(), "{name}: u32_field ignored");
    // The option picks the engine's path, not what runs: the u64 self-test still runs there.
    if forced.has_int64() {
        let one = [le32(&BigUint::from(1u8))];
        let got = forced.field_selftest(FieldPath::U64, &one, &one).unwrap();
        assert_eq!(got[0].product, one[0], "{name}: 1 · 1 on the u64 path");
    }
}
