//! SHA-512 on the GPU: `GpuBackend::sha512` (`sha512_batch.wgsl`, 64-bit words emulated as pairs
//! of `u32`), the building block of GPU Ed25519's k = SHA-512(R ‖ A ‖ M). It has no `Engine`
//! operation yet, so these tests call the GPU backend of every GPU engine of the harness
//! (`vera_tests::gpu_engines()`: the adapter as it is, and with bindings capped at 64 KiB).
//!
//! - NIST CAVP SHAVS SHA-512 ShortMsg, LongMsg and Monte Carlo vectors (`tests/vectors/sha/`);
//!   Monte Carlo only for its first checkpoints (each of its steps is a GPU round trip).
//! - sha2::Sha512 called directly, on every length 0..=300, the lengths around the padding
//!   boundaries (112 bytes: the 0x80 byte and the 16-byte length field no longer fit in the
//!   block; 128: a whole block), random lengths up to 64 KiB, messages at unaligned starts inside a
//!   shared buffer, runs split by the 64 KiB binding cap (1,023 digests or 65,532 message bytes
//!   per run), messages too large for one binding, and messages past the software-adapter cap
//!   (256 KiB on lavapipe, hashed on the CPU by design).
//! - Messages shaped like Ed25519's R ‖ A ‖ M: the 1,024 signatures of `sign.input`, whose
//!   equation [S]B = R + [k]A must hold with k reduced from the GPU's digest.
//!
//! Without an adapter the tests return early, unless `VERA_REQUIRE_GPU=1`, when the harness
//! fails them. Sizes are chosen so that the file runs in well under a minute in a debug build on
//! two cores with lavapipe.

use std::time::Instant;

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha512};
use vera_engine::backend::gpu::GpuBackend;
use vera_engine::{MessageBuf, Messages};
use vera_tests::{
    field_hex, field_str, field_u64, load_vectors, rand_bytes, unhex, unhex_n, vector_array, Laid,
};

type Hash = [u8; 64];

/// The largest message the 64 KiB-capped engine binds: message bytes + 4 must fit the binding.
const MAX_BOUND_64K: usize = 64 * 1024 - 4;

/// Digests per run on the 64 KiB-capped engine: 65,536 / 64 − 1.
const RUN_64K: usize = 1023;

/// The longest message a software adapter hashes on the GPU (`SOFTWARE_MAX_MESSAGE` in
/// `engine/src/backend/gpu/sha512.rs`); longer ones go to the CPU.
const SOFTWARE_CAP: usize = 256 * 1024;

// ---------------------------------------------------------------------------------------------
// Engines and data
// ---------------------------------------------------------------------------------------------

fn sha2_digests(view: Messages<'_>) -> Vec<Hash> {
    view.iter().map(|m| Sha512::digest(m).into()).collect()
}

/// Every GPU's digests of `view` equal `want`; the first wrong one is reported with its place.
fn check_digests(gpus: &[(&str, &GpuBackend)], label: &str, view: Messages<'_>, want: &[Hash]) {
    assert_eq!(view.len(), want.len(), "{label}: premise");
    for (name, gpu) in gpus {
        let got = gpu
            .sha512(view)
            .unwrap_or_else(|e| panic!("{label}: engine {name}: {e}"));
        assert_eq!(
            got.len(),
            want.len(),
            "{label}: engine {name}: digest count"
        );
        if let Some(i) = (0..want.len()).find(|&i| got[i] != want[i]) {
            let start = view.offsets()[i];
            let len = view.offsets()[i + 1] - start;
            panic!(
                "{label}: engine {name}: message {i} of {} ({len} bytes at offset {start}): \
                 got {}, expected {}",
                want.len(),
                hex::encode(got[i]),
                hex::encode(want[i])
            );
        }
    }
}

/// Every GPU's digests of `view` equal sha2's.
fn check_sha512(gpus: &[(&str, &GpuBackend)], label: &str, view: Messages<'_>) {
    check_digests(gpus, label, view, &sha2_digests(view));
}

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    eprintln!("{label}: {:.2?}", t.elapsed());
    out
}

// ---------------------------------------------------------------------------------------------
// NIST CAVP vectors
// ---------------------------------------------------------------------------------------------

/// The messages and digests of a ShortMsg / LongMsg file.
fn load_msg_file(path: &str, expected_cases: usize) -> (Vec<Vec<u8>>, Vec<Hash>) {
    let file = load_vectors(path);
    let cases = vector_array(&file, "cases");
    assert_eq!(cases.len(), expected_cases, "{path}: number of cases");
    let mut msgs = Vec::new();
    let mut digests = Vec::new();
    for c in cases {
        let msg = field_hex(c, "msg");
        // Whole bytes only; the empty message is "" (not "00").
        assert_eq!(
            msg.len() as u64 * 8,
            field_u64(c, "len_bits"),
            "{path}: msg length"
        );
        msgs.push(msg);
        digests.push(unhex_n::<64>(field_str(c, "digest")));
    }
    (msgs, digests)
}

/// Every case in one batch, behind 3 junk bytes in a second batch, and the first and last few
/// on their own.
fn check_msg_file(test: &str, path: &str, expected_cases: usize) {
    let gpus = vera_tests::gpu_backends(test);
    let (msgs, want) = load_msg_file(path, expected_cases);
    // The vectors hold sha2 to the standard, so sha2 may stand in for them elsewhere here.
    assert_eq!(
        sha2_digests(MessageBuf::from_slices(&msgs).unwrap().as_messages()),
        want
    );
    if gpus.is_empty() {
        return;
    }
    let batch = MessageBuf::from_slices(&msgs).unwrap();
    check_digests(
        &gpus,
        &format!("{path}: one batch"),
        batch.as_messages(),
        &want,
    );
    let mut rng = StdRng::seed_from_u64(expected_cases as u64);
    let laid = Laid::new(&mut rng, 3, &msgs);
    check_digests(&gpus, &format!("{path}: after 3 bytes"), laid.view(), &want);
    let n = msgs.len();
    for i in (0..3).chain(n - 3..n) {
        let one = MessageBuf::from_slices([&msgs[i]]).unwrap();
        check_digests(
            &gpus,
            &format!("{path}: case {i} alone"),
            one.as_messages(),
            &want[i..=i],
        );
    }
}

/// 129 messages of 0..=128 bytes.
#[test]
fn nist_sha512_short_messages() {
    check_msg_file(
        "nist_sha512_short_messages",
        "sha/sha512_shortmsg.json",
        129,
    );
}

/// 128 messages of 227..=12,800 bytes.
#[test]
fn nist_sha512_long_messages() {
    check_msg_file("nist_sha512_long_messages", "sha/sha512_longmsg.json", 128);
}

/// SHAVS Monte Carlo: MD_i = SHA-512(MD_{i−3} ‖ MD_{i−2} ‖ MD_{i−1}), 1,000 steps per checkpoint.
/// Each step depends on the one before, so each is one GPU round trip of a single 192-byte
/// message; only the first checkpoints run on the GPU engines (the first five on the uncapped
/// one, the first two on the capped one: 7,000 round trips, about 3 s on lavapipe). The full
/// chain of 100 checkpoints per engine would take over a minute there, and tests no more of the
/// kernel than the differential tests below.
#[test]
fn nist_sha512_monte_carlo_first_checkpoints() {
    let gpus = vera_tests::gpu_backends("nist_sha512_monte_carlo_first_checkpoints");
    let file = load_vectors("sha/sha512_monte.json");
    let checkpoints = vector_array(&file, "checkpoints");
    assert_eq!(checkpoints.len(), 100);
    let seed = unhex(field_str(&file, "seed"));
    for (k, (name, gpu)) in gpus.iter().enumerate() {
        let count = if k == 0 { 5 } else { 2 };
        let mut seed = seed.clone();
        let t = Instant::now();
        for (j, cp) in checkpoints[..count].iter().enumerate() {
            assert_eq!(field_u64(cp, "count"), j as u64);
            let mut md = [seed.clone(), seed.clone(), seed.clone()];
            for _ in 3..1003 {
                let msg = [md[0].as_slice(), &md[1], &md[2]].concat();
                let offsets = [0, msg.len() as u32];
                let d = gpu
                    .sha512(Messages::new(&msg, &offsets).unwrap())
                    .unwrap_or_else(|e| panic!("{name}: checkpoint {j}: {e}"));
                md = [md[1].clone(), md[2].clone(), d[0].to_vec()];
            }
            assert_eq!(
                hex::encode(&md[2]),
                field_str(cp, "md"),
                "{name}: Monte Carlo checkpoint {j}"
            );
            seed = md[2].clone();
        }
        eprintln!(
            "{name}: {count} Monte Carlo checkpoints ({} round trips) in {:.2?}",
            count * 1000,
            t.elapsed()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Against sha2
// ---------------------------------------------------------------------------------------------

/// Every length 0..=300 (0, 1, 2 and 3 blocks; every position of the 0x80 byte and the length
/// field), forwards and backwards, at starts 0..3 bytes past a word boundary and further; and the
/// lengths around the padding boundaries (111/112/113: the padding no longer fits in the block;
/// 127/128/129 and 255/256: whole blocks; 239/240/241: the same, one block on) back to back.
#[test]
fn sha512_every_length_to_300_at_unaligned_offsets() {
    let gpus = vera_tests::gpu_backends("sha512_every_length_to_300_at_unaligned_offsets");
    if gpus.is_empty() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(0x5120);
    let msgs: Vec<Vec<u8>> = (0..=300).map(|n| rand_bytes(&mut rng, n)).collect();
    let reversed: Vec<Vec<u8>> = msgs.iter().rev().cloned().collect();
    for lead in [0, 1, 2, 3, 5, 127, 128, 129] {
        let laid = Laid::new(&mut rng, lead, &msgs);
        check_sha512(
            &gpus,
            &format!("lengths 0..=300 after {lead} bytes"),
            laid.view(),
        );
        let laid = Laid::new(&mut rng, lead, &reversed);
        check_sha512(
            &gpus,
            &format!("lengths 300..=0 after {lead} bytes"),
            laid.view(),
        );
    }
    let edges = [111, 112, 113, 127, 128, 129, 239, 240, 241, 255, 256];
    let msgs: Vec<Vec<u8>> = edges
        .iter()
        .flat_map(|&n| [rand_bytes(&mut rng, n), vec![0xff; n], vec![0; n]])
        .collect();
    for lead in 0..4 {
        let laid = Laid::new(&mut rng, lead, &msgs);
        check_sha512(
            &gpus,
            &format!("padding edges after {lead} bytes"),
            laid.view(),
        );
    }
}

/// A few dozen random lengths up to 64 KiB (the capped engine hashes those over 65,532 bytes on
/// the CPU), at an odd start.
#[test]
fn sha512_random_lengths_to_64_kib() {
    let gpus = vera_tests::gpu_backends("sha512_random_lengths_to_64_kib");
    if gpus.is_empty() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(0x5121);
    let msgs: Vec<Vec<u8>> = (0..32)
        .map(|_| {
            let n = rng.gen_range(0..=64 * 1024);
            rand_bytes(&mut rng, n)
        })
        .collect();
    let laid = Laid::new(&mut rng, 1, &msgs);
    check_sha512(&gpus, "32 random lengths up to 64 KiB", laid.view());
    let laid = Laid::new(&mut rng, 6, &msgs[..5]);
    check_sha512(&gpus, "5 random lengths up to 64 KiB", laid.view());
}

/// Runs split by the 64 KiB binding cap: by digests (1,023 per run), by message bytes, and by
/// messages too large for one binding (hashed on the CPU by that engine), between small ones.
#[test]
fn sha512_runs_split_by_the_binding_limit() {
    let gpus = vera_tests::gpu_backends("sha512_runs_split_by_the_binding_limit");
    if gpus.is_empty() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(0x5122);
    for n in [
        RUN_64K - 1,
        RUN_64K,
        RUN_64K + 1,
        2 * RUN_64K,
        2 * RUN_64K + 1,
        3001,
    ] {
        let laid = Laid::random(&mut rng, n % 4, n, |i| (i * 7) % 5);
        check_sha512(&gpus, &format!("{n} messages of 0..4 bytes"), laid.view());
    }
    // Runs ended by bytes: 8 × 8191 B fit in 65,532, 7 × 8192 B, 7 × 9000 B, 5 × 13,000 B.
    for (n, len) in [
        (17, 8191),
        (15, 8192),
        (15, 9000),
        (11, 13_000),
        (4, 60_000),
    ] {
        let laid = Laid::random(&mut rng, 1, n, |i| len + i % 3);
        check_sha512(
            &gpus,
            &format!("{n} messages of {len}..{} bytes", len + 2),
            laid.view(),
        );
    }
    // Single messages on both sides of the largest bindable one, then large ones between small.
    for (i, n) in [MAX_BOUND_64K - 1, MAX_BOUND_64K, MAX_BOUND_64K + 1, 70_001]
        .into_iter()
        .enumerate()
    {
        let laid = Laid::random(&mut rng, i, 1, |_| n);
        check_sha512(&gpus, &format!("one message of {n} bytes"), laid.view());
    }
    let small = |rng: &mut StdRng, k: usize| -> Vec<Vec<u8>> {
        (0..k)
            .map(|_| {
                let n = rng.gen_range(0..300);
                rand_bytes(rng, n)
            })
            .collect()
    };
    let mut msgs = small(&mut rng, 5);
    msgs.push(rand_bytes(&mut rng, MAX_BOUND_64K + 1));
    msgs.extend(small(&mut rng, 7));
    msgs.push(rand_bytes(&mut rng, MAX_BOUND_64K));
    msgs.push(rand_bytes(&mut rng, 70_000));
    msgs.extend(small(&mut rng, 3));
    for lead in [0, 3] {
        let laid = Laid::new(&mut rng, lead, &msgs);
        check_sha512(
            &gpus,
            &format!("large messages between small ones, after {lead} bytes"),
            laid.view(),
        );
    }
}

/// Messages around the software-adapter cap (256 KiB, where llvmpipe's loop limit is still far)
/// and past the length at which that limit cut the kernel short on lavapipe before the cap
/// (466,032 bytes: 3,642 blocks of 18 loop iterations): on lavapipe those over the cap are hashed
/// on the CPU, on hardware adapters on the GPU. Either way every
/// digest must be right. The capped engine hashes all of them on the CPU.
#[test]
fn sha512_messages_past_the_software_cap() {
    let gpus = vera_tests::gpu_backends("sha512_messages_past_the_software_cap");
    if gpus.is_empty() {
        return;
    }
    let mut rng = StdRng::seed_from_u64(0x5123);
    for n in [
        SOFTWARE_CAP - 1,
        SOFTWARE_CAP,
        SOFTWARE_CAP + 1,
        466_031,
        466_032,
        600_000,
    ] {
        let laid = Laid::random(&mut rng, n % 4, 1, |_| n);
        check_sha512(&gpus, &format!("one message of {n} bytes"), laid.view());
    }
    let zeros = vec![0u8; 1 << 20];
    let offsets = [0, 1 << 20];
    check_sha512(
        &gpus,
        "1 MiB of zeros",
        Messages::new(&zeros, &offsets).unwrap(),
    );
    let mut msgs: Vec<Vec<u8>> = (0..10).map(|i| rand_bytes(&mut rng, i * 13)).collect();
    msgs.insert(4, rand_bytes(&mut rng, SOFTWARE_CAP + 1));
    msgs.push(rand_bytes(&mut rng, SOFTWARE_CAP));
    let laid = Laid::new(&mut rng, 1, &msgs);
    check_sha512(
        &gpus,
        "messages at and past the cap among small ones",
        laid.view(),
    );
}

// ---------------------------------------------------------------------------------------------
// Ed25519's k = SHA-512(R ‖ A ‖ M)
// ---------------------------------------------------------------------------------------------

/// The 1,024 signatures of `sign.input` (messages of 0..1,023 bytes): the GPU hashes R ‖ A ‖ M,
/// the digest reduced mod L is k, and each signature's equation [S]B − [k]A = R holds with it.
/// Then random R ‖ A ‖ M of 64 + 0..=300 bytes at unaligned starts, against sha2.
#[test]
fn sha512_of_ed25519_r_a_m() {
    let gpus = vera_tests::gpu_backends("sha512_of_ed25519_r_a_m");
    if gpus.is_empty() {
        return;
    }
    let file = load_vectors("ed25519/sign_input_ed25519.json");
    let cases = vector_array(&file, "cases");
    assert_eq!(cases.len(), 1024);
    let mut ram = MessageBuf::new();
    let mut sigs = Vec::new();
    for c in cases {
        let pk = unhex_n::<32>(field_str(c, "pk"));
        let sig = unhex_n::<64>(field_str(c, "sig"));
        let msg = field_hex(c, "msg");
        ram.push(&[&sig[..32], &pk[..], &msg].concat()).unwrap();
        sigs.push((pk, sig));
    }
    for (name, gpu) in &gpus {
        let digests = timed(
            &format!("{name}: R ‖ A ‖ M of 1,024 signatures"),
            || gpu.sha512(ram.as_messages()).unwrap(),
        );
        for (i, ((pk, sig), d)) in sigs.iter().zip(&digests).enumerate() {
            let k = Scalar::from_bytes_mod_order_wide(d);
            let a = CompressedEdwardsY(*pk).decompress().expect("a valid key");
            let s =
                Option::<Scalar>::from(Scalar::from_canonical_bytes(sig[32..].try_into().unwrap()))
                    .expect("a canonical S");
            let r = EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s);
            assert_eq!(
                r.compress().to_bytes(),
                sig[..32],
                "{name}: sign.input line {}: [S]B − [k]A ≠ R with k from the GPU digest {}",
                i + 1,
                hex::encode(d)
            );
        }
    }
    let mut rng = StdRng::seed_from_u64(0x5124);
    let msgs: Vec<Vec<u8>> = (0..=300).map(|n| rand_bytes(&mut rng, 64 + n)).collect();
    for lead in [0, 1, 2, 3] {
        let laid = Laid::new(&mut rng, lead, &msgs);
        check_sha512(
            &gpus,
            &format!("R ‖ A ‖ M of 64..=364 bytes after {lead} bytes"),
            laid.view(),
        );
    }
    // A batch of the size Ed25519 verification would send: 16,384 signatures on 100-byte
    // messages (the throughput printed is informational).
    let n = 16_384;
    let laid = Laid::random(&mut rng, 0, n, |_| 164);
    let want = sha2_digests(laid.view());
    for (name, gpu) in &gpus {
        let t = Instant::now();
        let got = gpu.sha512(laid.view()).unwrap();
        let dt = t.elapsed();
        eprintln!(
            "{name}: {n} × SHA-512 of 164 bytes in {dt:.2?} ({:.2} M hashes/s)",
            n as f64 / dt.as_secs_f64() / 1e6
        );
        assert!(
            got == want,
            "{name}: 16,384 R ‖ A ‖ M digests differ from sha2's"
        );
    }
}
