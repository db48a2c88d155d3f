//! Tests of the GPU backend itself: what the conformance and differential suites (which hold every
//! engine, the GPU ones included, to the same vectors and models) do not reach.
//!
//! - The GPU must be there when `VERA_REQUIRE_GPU=1`, and a forced GPU engine must fail cleanly
//!   when there is none.
//! - SHA-256 against sha2 called directly, on the host code's seams: messages at unaligned starts
//!   inside a shared buffer, runs cut by the binding limit (by item count, or earlier when the
//!   message bytes fill the binding), messages too large to bind (hashed on the CPU by design),
//!   and the 2-D dispatch grid.
//! - Merkle roots against the CPU engine (itself held to independent models elsewhere) at the
//!   kernel's chunk boundaries (256 nodes per workgroup), at the super-chunk boundaries of capped
//!   bindings, for levels bound in pieces, and Bitcoin's `mutated` flag where the kernel's
//!   chunking could lose or invent it.
//! - Routing of `auto` engines, and adapter reports.
//!
//! Lavapipe is a CPU rasteriser: sizes are chosen so that the whole file runs in about a minute in
//! a debug build on two cores (see each test for what it chose and why).

use std::sync::OnceLock;
use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use vera_engine::backend::gpu::{list_adapters, ALLOW_SOFTWARE_ENV};
use vera_engine::{
    BackendChoice, BackendKind, Engine, Error, MerkleRoot, MerkleScheme, MessageBuf, Messages,
};
use vera_tests::{gpu_engines, gpu_required, rand_bytes, Laid};

type Hash = [u8; 32];

/// Nodes one workgroup of the Merkle kernel reduces (`vera_shaders::MERKLE_CHUNK`).
const CHUNK: usize = 256;

/// The largest message the 64 KiB-capped engine binds: message bytes + 4 must fit the binding.
const MAX_BOUND_64K: usize = 64 * 1024 - 4;

// ---------------------------------------------------------------------------------------------
// Engines
// ---------------------------------------------------------------------------------------------

/// The reference for Merkle roots.
fn cpu() -> &'static Engine {
    static CPU: OnceLock<Engine> = OnceLock::new();
    CPU.get_or_init(Engine::cpu)
}

fn harness_engine(name: &str) -> Option<(String, Engine)> {
    gpu_engines().iter().find(|(n, _)| n == name).cloned()
}

/// The harness's uncapped GPU engine (the adapter's own limits: 128 MiB bindings on lavapipe).
fn gpu() -> Option<(String, Engine)> {
    harness_engine("gpu")
}

/// The harness's GPU engine with bindings capped at 64 KiB (2048 nodes: a super-chunk of 8
/// chunks; runs of at most 2047 messages).
fn gpu_64k() -> Option<(String, Engine)> {
    harness_engine("gpu-64KiB-bindings-u32-field")
}

/// A GPU engine with bindings capped at 128 KiB (4096 nodes per super-chunk), built here.
fn gpu_128k() -> Option<(String, Engine)> {
    static E: OnceLock<Option<Engine>> = OnceLock::new();
    E.get_or_init(|| {
        (!gpu_engines().is_empty()).then(|| {
            Engine::builder()
                .backend(BackendChoice::Gpu)
                .gpu_max_binding(128 * 1024)
                .build()
                .expect("a GPU engine with 128 KiB bindings")
        })
    })
    .clone()
    .map(|e| ("gpu-128KiB-bindings".to_string(), e))
}

/// Every GPU engine of this file: uncapped, 64 KiB and 128 KiB bindings.
fn all_gpus() -> Vec<(String, Engine)> {
    [gpu(), gpu_64k(), gpu_128k()]
        .into_iter()
        .flatten()
        .collect()
}

/// The capped engines only.
fn capped_gpus() -> Vec<(String, Engine)> {
    [gpu_64k(), gpu_128k()].into_iter().flatten().collect()
}

/// Prints why a test does nothing, and says whether it should stop (no GPU, not required: the
/// harness has already failed otherwise).
fn skip(test: &str) -> bool {
    if gpu_engines().is_empty() {
        eprintln!("{test}: skipped, no GPU adapter (set VERA_REQUIRE_GPU=1 to require one)");
        return true;
    }
    false
}

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

fn rand_hashes(rng: &mut StdRng, n: usize) -> Vec<Hash> {
    let mut v = vec![[0u8; 32]; n];
    rng.fill_bytes(v.as_flattened_mut());
    v
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// SHA-256 of a message of at most 119 bytes (two blocks), padded here and compressed by sha2.
fn sha256_short(msg: &[u8]) -> Hash {
    assert!(msg.len() <= 119);
    let mut blocks = [[0u8; 64]; 2];
    let used = if msg.len() <= 55 { 1 } else { 2 };
    let flat = blocks.as_flattened_mut();
    flat[..msg.len()].copy_from_slice(msg);
    flat[msg.len()] = 0x80;
    flat[used * 64 - 8..used * 64].copy_from_slice(&(msg.len() as u64 * 8).to_be_bytes());
    let mut state: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    for b in &blocks[..used] {
        let block = sha2::digest::generic_array::GenericArray::from_slice(b);
        sha2::compress256(&mut state, std::slice::from_ref(block));
    }
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

fn sha2_digests(view: Messages<'_>) -> Vec<Hash> {
    view.iter().map(|m| Sha256::digest(m).into()).collect()
}

/// Every engine's digests of `view` equal `want` (sha2's).
fn check_digests(engines: &[(String, Engine)], label: &str, view: Messages<'_>, want: &[Hash]) {
    assert_eq!(view.len(), want.len());
    for (name, engine) in engines {
        let got = engine
            .sha256(view)
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
                 got {}, sha2 says {}",
                want.len(),
                hex::encode(got[i]),
                hex::encode(want[i])
            );
        }
    }
}

fn check_sha256(engines: &[(String, Engine)], label: &str, view: Messages<'_>) {
    check_digests(engines, label, view, &sha2_digests(view));
}

fn show(r: &MerkleRoot) -> (String, u64, Option<bool>) {
    (hex::encode(r.root), r.leaves, r.mutated)
}

/// Every engine's root over `hashes` equals the CPU engine's; returns the CPU's.
fn check_root(
    engines: &[(String, Engine)],
    label: &str,
    scheme: MerkleScheme,
    hashes: &[Hash],
) -> MerkleRoot {
    let want = cpu()
        .merkle_root_from_hashes(scheme, hashes)
        .expect("the CPU engine");
    for (name, engine) in engines {
        let got = engine
            .merkle_root_from_hashes(scheme, hashes)
            .unwrap_or_else(|e| panic!("{label}: engine {name}: {e}"));
        assert_eq!(
            show(&got),
            show(&want),
            "{label}: engine {name}: {scheme} root from {} hashes (left: GPU, right: CPU)",
            hashes.len()
        );
    }
    want
}

/// Every engine's RFC 6962 root over leaf data equals the CPU engine's; returns the CPU's.
fn check_rfc6962_data(
    engines: &[(String, Engine)],
    label: &str,
    leaves: Messages<'_>,
) -> MerkleRoot {
    let want = cpu()
        .merkle_root(MerkleScheme::Rfc6962, leaves)
        .expect("the CPU engine");
    for (name, engine) in engines {
        let got = engine
            .merkle_root(MerkleScheme::Rfc6962, leaves)
            .unwrap_or_else(|e| panic!("{label}: engine {name}: {e}"));
        assert_eq!(
            show(&got),
            show(&want),
            "{label}: engine {name}: rfc6962 root over {} data leaves (left: GPU, right: CPU)",
            leaves.len()
        );
    }
    want
}

/// Both schemes from hashes.
fn check_both_schemes(engines: &[(String, Engine)], label: &str, hashes: &[Hash]) {
    for scheme in MerkleScheme::ALL {
        check_root(engines, label, scheme, hashes);
    }
}

/// Bitcoin root on every engine; asserts the `mutated` flag is `mutated` (and equal to the CPU's).
fn check_bitcoin(engines: &[(String, Engine)], label: &str, txids: &[Hash], mutated: bool) -> Hash {
    let want = check_root(engines, label, MerkleScheme::Bitcoin, txids);
    assert_eq!(
        want.mutated,
        Some(mutated),
        "{label}: the CPU engine's mutated flag over {} txids (test premise)",
        txids.len()
    );
    want.root
}

fn timed<T>(label: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    eprintln!("{label}: {:.2?}", t.elapsed());
    out
}

// ---------------------------------------------------------------------------------------------
// Presence, adapters
// ---------------------------------------------------------------------------------------------

/// With `VERA_REQUIRE_GPU=1` a missing GPU fails here (not skipped); without it and without an
/// adapter, a forced GPU engine is an error that says so.
#[test]
fn gpu_is_present_when_required() {
    let built = Engine::builder().backend(BackendChoice::Gpu).build();
    if gpu_required() {
        assert!(
            !gpu_engines().is_empty(),
            "VERA_REQUIRE_GPU=1 but the harness has no GPU engines"
        );
        let engine = built.unwrap_or_else(|e| {
            panic!("VERA_REQUIRE_GPU=1 but Engine::builder().backend(Gpu).build() failed: {e}")
        });
        assert_eq!(engine.backend(), BackendKind::Gpu);
        let gpu = engine
            .gpu_backend()
            .expect("a GPU engine has a GPU backend");
        assert!(
            !gpu.adapter().name.trim().is_empty(),
            "adapter without a name"
        );
        eprintln!(
            "GPU engine on {} (set-up {:.2?})",
            gpu.adapter(),
            gpu.setup_time()
        );
    } else if list_adapters().is_empty() {
        let err = match built {
            Ok(_) => panic!("a forced GPU engine was built without any adapter"),
            Err(e) => e,
        };
        assert!(
            matches!(err, Error::BackendUnavailable(BackendKind::Gpu, _)),
            "unexpected error kind: {err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.to_lowercase().contains("no gpu adapter"),
            "the error should say no adapter was found: {msg}"
        );
        assert!(gpu_engines().is_empty());
    } else {
        // An adapter exists (software or not): a forced GPU engine accepts it.
        let engine =
            built.unwrap_or_else(|e| panic!("an adapter exists but the build failed: {e}"));
        assert_eq!(engine.backend(), BackendKind::Gpu);
        assert!(!gpu_engines().is_empty());
    }
}

#[test]
fn list_adapters_reports_each_adapter() {
    let adapters = list_adapters();
    if gpu_required() {
        assert!(
            !adapters.is_empty(),
            "VERA_REQUIRE_GPU=1 but no adapter is listed"
        );
    }
    for a in &adapters {
        eprintln!("adapter: {a}");
        assert!(!a.name.trim().is_empty(), "adapter without a name: {a:?}");
        assert!(
            !a.backend.trim().is_empty(),
            "adapter without a backend: {a:?}"
        );
        assert!(
            !a.device_type.is_empty(),
            "adapter without a device type: {a:?}"
        );
        assert_eq!(a.software, a.device_type == "Cpu", "{a:?}");
        assert!(a.max_storage_binding > 0 && a.max_buffer > 0, "{a:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// SHA-256 against sha2
// ---------------------------------------------------------------------------------------------

/// Every length 0..=300 in one batch, the batch starting at several offsets into a shared buffer
/// (so each message starts at every alignment and the fast unaligned-load path meets every
/// shift), in order and reversed.
#[test]
fn sha256_every_length_to_300_at_unaligned_offsets() {
    if skip("sha256_every_length_to_300_at_unaligned_offsets") {
        return;
    }
    let engines = all_gpus();
    let mut rng = StdRng::seed_from_u64(0x5a1);
    let msgs: Vec<Vec<u8>> = (0..=300).map(|n| rand_bytes(&mut rng, n)).collect();
    let reversed: Vec<Vec<u8>> = msgs.iter().rev().cloned().collect();
    for lead in [0, 1, 2, 3, 5, 63, 64, 65] {
        let laid = Laid::new(&mut rng, lead, &msgs);
        check_sha256(
            &engines,
            &format!("lengths 0..=300 after {lead} bytes"),
            laid.view(),
        );
        let laid = Laid::new(&mut rng, lead, &reversed);
        check_sha256(
            &engines,
            &format!("lengths 300..=0 after {lead} bytes"),
            laid.view(),
        );
    }
    // A window in the middle of a larger batch: offsets neither start at 0 nor end at the end.
    let laid = Laid::new(&mut rng, 3, &msgs);
    for (from, to) in [(1, 300), (7, 8), (33, 290), (150, 151), (299, 301)] {
        let view = laid.view().slice(from..to).expect("valid");
        check_sha256(&engines, &format!("messages {from}..{to} of 0..=300"), view);
    }
}

/// A few dozen random lengths up to 64 KiB (the capped engine hashes those over 65,532 bytes on
/// the CPU), at an odd start.
#[test]
fn sha256_random_lengths_to_64_kib() {
    if skip("sha256_random_lengths_to_64_kib") {
        return;
    }
    let engines = all_gpus();
    let mut rng = StdRng::seed_from_u64(0x5a2);
    let msgs: Vec<Vec<u8>> = (0..36)
        .map(|_| {
            let n = rng.gen_range(0..=64 * 1024);
            rand_bytes(&mut rng, n)
        })
        .collect();
    let laid = Laid::new(&mut rng, 1, &msgs);
    check_sha256(&engines, "36 random lengths up to 64 KiB", laid.view());
    let laid = Laid::new(&mut rng, 6, &msgs[..5]);
    check_sha256(&engines, "5 random lengths up to 64 KiB", laid.view());
}

/// Messages too large for one binding of the capped engines (which hash them on the CPU, the
/// documented path), at the start, the end, between small messages and back to back; lengths
/// on both sides of the largest bindable message.
#[test]
fn sha256_messages_larger_than_a_binding() {
    if skip("sha256_messages_larger_than_a_binding") {
        return;
    }
    let engines = all_gpus();
    let mut rng = StdRng::seed_from_u64(0x5a3);
    let big = |rng: &mut StdRng, n: usize| rand_bytes(rng, n);
    let edge = [
        MAX_BOUND_64K - 1,
        MAX_BOUND_64K,
        MAX_BOUND_64K + 1,
        64 * 1024,
        70_000,
        128 * 1024 - 5,
        128 * 1024 - 4,
        128 * 1024 - 3,
        200_003,
    ];
    for (i, &n) in edge.iter().enumerate() {
        let one = big(&mut rng, n);
        let laid = Laid::new(&mut rng, i % 4, std::slice::from_ref(&one));
        check_sha256(&engines, &format!("one message of {n} bytes"), laid.view());
    }
    let small = |rng: &mut StdRng, k: usize| -> Vec<Vec<u8>> {
        (0..k)
            .map(|_| {
                let n = rng.gen_range(0..200);
                rand_bytes(rng, n)
            })
            .collect()
    };
    let mut layouts: Vec<(&str, Vec<Vec<u8>>)> = Vec::new();
    let mut v = vec![big(&mut rng, 70_000)];
    v.extend(small(&mut rng, 20));
    layouts.push(("large first", v));
    let mut v = small(&mut rng, 21);
    v.push(big(&mut rng, 70_001));
    layouts.push(("large last", v));
    let mut v = small(&mut rng, 3);
    v.push(big(&mut rng, MAX_BOUND_64K + 1));
    v.extend(small(&mut rng, 13));
    v.push(big(&mut rng, MAX_BOUND_64K));
    v.extend(small(&mut rng, 9));
    layouts.push(("large between small ones", v));
    let mut v = small(&mut rng, 8);
    for n in [70_000, 65_533, 200_003, 131_069] {
        v.push(big(&mut rng, n));
    }
    v.extend(small(&mut rng, 8));
    layouts.push(("large back to back", v));
    // A run that the byte limit stops short of 8 messages, then a large one.
    let mut v: Vec<Vec<u8>> = (0..5).map(|_| big(&mut rng, 13_000)).collect();
    v.push(big(&mut rng, 90_000));
    v.extend((0..11).map(|_| big(&mut rng, 9_000)));
    layouts.push(("short runs then large", v));
    for (label, msgs) in &layouts {
        for lead in [0, 3] {
            let laid = Laid::new(&mut rng, lead, msgs);
            check_sha256(
                &engines,
                &format!("{label}, after {lead} bytes"),
                laid.view(),
            );
        }
    }
}

/// Long messages on the uncapped engine, which binds them whole. llvmpipe ends every loop of a
/// shader invocation after 65,535 iterations in all (`LP_MAX_TGSI_LOOP_ITERATIONS` in Mesa's
/// gallivm, "shared between every loop") and silently returns what it has; `sha256_batch.wgsl`
/// spends 18 per block, so before the engine learnt to hash messages over 128 KiB on the CPU on
/// software adapters, a message of 233,016 bytes or more (one byte less for RFC 6962 leaves,
/// which hash a prefix byte first) came back wrong, with no error. This pins that down.
#[test]
fn sha256_messages_past_the_software_loop_limit() {
    if skip("sha256_messages_past_the_software_loop_limit") {
        return;
    }
    let Some((name, engine)) = gpu() else {
        return;
    };
    let auto = Engine::builder()
        .allow_software_gpu(true)
        .build()
        .expect("auto always builds");
    // Every case is run and reported; the test fails at the end if any was wrong.
    let mut failures = Vec::new();
    let mut digests = |label: String, engine: &Engine, view: Messages<'_>| {
        let want = sha2_digests(view);
        match engine.sha256(view) {
            Ok(got) if got == want => eprintln!("ok:    {label}"),
            Ok(got) => {
                let i = (0..want.len()).find(|&i| got[i] != want[i]).unwrap_or(0);
                let line = format!(
                    "wrong: {label}: message {i}: got {}, sha2 says {}",
                    hex::encode(got[i]),
                    hex::encode(want[i])
                );
                eprintln!("{line}");
                failures.push(line);
            }
            Err(e) => failures.push(format!("error: {label}: {e}")),
        }
    };
    // 233,015 zero bytes pass; 233,016 give f878d998… where sha2 gives 2cf75c87….
    for n in [233_015, 233_016, 233_080, 300_000, 1 << 20] {
        let zeros = vec![0u8; n];
        let offsets = [0, n as u32];
        let view = Messages::new(&zeros, &offsets).expect("valid");
        digests(format!("{name}: {n} zero bytes"), &engine, view);
    }
    let mut rng = StdRng::seed_from_u64(0x5a6);
    let mut msgs: Vec<Vec<u8>> = (0..10).map(|i| rand_bytes(&mut rng, i * 7)).collect();
    msgs.push(rand_bytes(&mut rng, 250_000));
    let laid = Laid::new(&mut rng, 1, &msgs);
    digests(
        format!("{name}: a 250,000-byte message after 10 small ones"),
        &engine,
        laid.view(),
    );
    // Through an `auto` engine allowed to use lavapipe: one message of 4 MiB − 64 bytes is
    // 4 MiB of work, the GPU's side of the routing threshold.
    let n = (4 << 20) - 64;
    let laid = Laid::random(&mut rng, 3, 1, |_| n);
    digests(
        format!("auto, software allowed: one message of {n} bytes"),
        &auto,
        laid.view(),
    );
    // The same limit through RFC 6962 leaf hashing (0x00 prefix: 233,015 data bytes suffice).
    for n in [233_014, 233_015, 300_000] {
        let zeros = vec![0u8; n];
        let offsets = [0, n as u32, n as u32];
        let view = Messages::new(&zeros, &offsets).expect("valid");
        let want = cpu().merkle_root(MerkleScheme::Rfc6962, view).expect("cpu");
        let got = engine.merkle_root(MerkleScheme::Rfc6962, view);
        let label = format!("{name}: rfc6962 root over a leaf of {n} zero bytes and an empty one");
        match got {
            Ok(got) if got == want => eprintln!("ok:    {label}"),
            Ok(got) => {
                let line = format!(
                    "wrong: {label}: got {}, the CPU engine says {}",
                    hex::encode(got.root),
                    hex::encode(want.root)
                );
                eprintln!("{line}");
                failures.push(line);
            }
            Err(e) => failures.push(format!("error: {label}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Batches the capped engines split into many runs: counts around the 2047-message limit of a
/// 64 KiB binding, counts that are not multiples of 8, and
/// runs that the byte limit ends at 64, 8, 7 or 5 messages.
#[test]
fn sha256_runs_split_by_the_binding_limit() {
    if skip("sha256_runs_split_by_the_binding_limit") {
        return;
    }
    let engines = all_gpus();
    let mut rng = StdRng::seed_from_u64(0x5a4);
    for n in [2039, 2040, 2041, 2047, 2048, 2049, 4081, 4095, 4097, 6125] {
        let laid = Laid::random(&mut rng, n % 5, n, |i| (i * 7) % 4);
        check_sha256(
            &engines,
            &format!("{n} messages of 0..3 bytes"),
            laid.view(),
        );
    }
    // Runs ended by bytes. 64 KiB: 65 × 1000 B fit, 8 × 8191 B fit, 7 × 8192 B,
    // 7 × 9000 B and 5 × 13,000 B.
    for (n, len) in [
        (203, 1000),
        (27, 8191),
        (23, 8192),
        (19, 9000),
        (17, 13_000),
        (9, 60_000),
    ] {
        let laid = Laid::random(&mut rng, 1, n, |_| len);
        check_sha256(
            &engines,
            &format!("{n} messages of {len} bytes"),
            laid.view(),
        );
        let laid = Laid::random(&mut rng, 2, n, |i| len + i % 3);
        check_sha256(
            &engines,
            &format!("{n} messages of {len}..{} bytes", len + 2),
            laid.view(),
        );
    }
    // Many runs of mixed lengths: ≈ 1.2 MB, about 20 runs on the 64 KiB engine.
    let n = 24_003;
    let lens: Vec<usize> = (0..n)
        .map(|_| match rng.gen_range(0..100) {
            0 => rng.gen_range(1000..5000),
            _ => rng.gen_range(0..64),
        })
        .collect();
    let laid = Laid::random(&mut rng, 3, n, |i| lens[i]);
    check_sha256(
        &engines,
        &format!("{n} messages of mixed lengths"),
        laid.view(),
    );
}

/// The 2-D dispatch grid: more than 65,535 workgroups of 64 invocations in one run. Only the
/// uncapped engine can bind a run that long, and only where one binding holds more than
/// 65,535 × 64 digests: lavapipe's 128 MiB holds 4,194,303, just enough. The Merkle kernel's
/// 2-D grid needs more than 65,535 × 256 nodes in one binding (512 MiB), out of lavapipe's reach,
/// so it is not tested here.
/// Runs of 64-byte messages laid end to end take the specialised `hash64` kernel (and RFC 6962
/// trees over 32-byte leaves the `leaf32` one, see `sha256_fixed.wgsl`): every
/// count around the workgroup size and the 64 KiB binding (1,023 messages per run there), a
/// run starting at an unaligned offset, and runs broken by one message of another length
/// (which take the general kernel) all give sha2's digests.
#[test]
fn sha256_of_64_byte_messages() {
    if skip("sha256_of_64_byte_messages") {
        return;
    }
    let engines = all_gpus();
    let mut rng = StdRng::seed_from_u64(0x64);
    for n in [1usize, 2, 63, 64, 65, 1023, 1024, 1025, 3000, 100_000] {
        for lead in [0usize, 1, 4] {
            let msgs: Vec<Vec<u8>> = (0..n).map(|_| rand_bytes(&mut rng, 64)).collect();
            let laid = Laid::new(&mut rng, lead, &msgs);
            check_sha256(&engines, &format!("{n} x 64 B after {lead}"), laid.view());
        }
    }
    // RFC 6962 trees over 32-byte leaf data take the `leaf32` kernel for their leaf hashes;
    // one leaf of another length sends its run to the general kernel.
    for n in [2usize, 3, 63, 64, 65, 2047, 2048, 2049, 5000] {
        let leaves: Vec<Vec<u8>> = (0..n).map(|_| rand_bytes(&mut rng, 32)).collect();
        let laid = Laid::new(&mut rng, n % 3, &leaves);
        check_rfc6962_data(&engines, &format!("{n} x 32 B leaves"), laid.view());
    }
    let mut leaves: Vec<Vec<u8>> = (0..300).map(|_| rand_bytes(&mut rng, 32)).collect();
    leaves[100] = rand_bytes(&mut rng, 31);
    let laid = Laid::new(&mut rng, 0, &leaves);
    check_rfc6962_data(&engines, "32 B leaves with one of 31", laid.view());
    // One 63- or 65-byte message among 64-byte ones.
    for odd in [63usize, 65] {
        let mut msgs: Vec<Vec<u8>> = (0..500).map(|_| rand_bytes(&mut rng, 64)).collect();
        msgs[250] = rand_bytes(&mut rng, odd);
        let laid = Laid::new(&mut rng, 0, &msgs);
        check_sha256(&engines, &format!("64 B with one of {odd}"), laid.view());
    }
}

#[test]
fn sha256_two_dimensional_grid() {
    if skip("sha256_two_dimensional_grid") {
        return;
    }
    let Some((name, engine)) = gpu() else {
        return;
    };
    let gpu = engine.gpu_backend().expect("a GPU engine");
    // 65,535 workgroups in a row (the usual per-dimension limit), 64 invocations each.
    let row = 65_535usize * 64;
    let n = row + 61;
    let binding = gpu
        .adapter()
        .max_storage_binding
        .min(gpu.adapter().max_buffer);
    if (n as u64 + 1) * 32 > binding {
        eprintln!(
            "sha256_two_dimensional_grid: skipped, {} binds {binding} bytes, too few for {n} digests",
            gpu.adapter().name
        );
        return;
    }
    let mut rng = StdRng::seed_from_u64(0x5a5);
    // Each message is its 4-byte index (distinct digests, so a misplaced row shows), after an odd
    // lead; a few are longer.
    let lead = 1;
    let mut bytes = rand_bytes(&mut rng, lead);
    let mut offsets = Vec::with_capacity(n + 1);
    offsets.push(lead as u32);
    for i in 0..n {
        bytes.extend_from_slice(&(i as u32).to_le_bytes());
        if i % 4099 == 0 {
            bytes.extend_from_slice(&[0xa5; 61]);
        }
        offsets.push(bytes.len() as u32);
    }
    let view = Messages::new(&bytes, &offsets).expect("valid");
    // sha2's compression function on hand-padded blocks: sha2's `Digest` API runs unoptimised
    // in this debug build (its generic parts are compiled here) and takes several seconds.
    let want = timed("2-D grid: sha2 reference", || {
        let w: Vec<Hash> = view.iter().map(sha256_short).collect();
        for i in (0..n).step_by(65_537).chain([n - 1]) {
            let m = view.get(i).expect("in range");
            assert_eq!(w[i], <Hash>::from(Sha256::digest(m)), "sha256_short({m:?})");
        }
        w
    });
    timed(&format!("2-D grid: {n} messages on {name}"), || {
        check_digests(&[(name.clone(), engine.clone())], "2-D grid", view, &want)
    });
}

// ---------------------------------------------------------------------------------------------
// Merkle roots against the CPU engine
// ---------------------------------------------------------------------------------------------

/// Leaf counts at the kernel's chunk boundaries, and 2^k − 1, 2^k, 2^k + 1 for k ≤ `max_k`.
fn boundary_counts(max_k: u32) -> Vec<usize> {
    let mut v = vec![
        0, 1, 2, 3, 255, 256, 257, 511, 512, 513, 2047, 2048, 2049, 65535, 65536, 65537,
    ];
    for k in 1..=max_k {
        v.extend([(1 << k) - 1, 1 << k, (1 << k) + 1]);
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// RFC 6962 interior node through sha2's compression function.
fn rfc6962_node(l: &Hash, r: &Hash) -> Hash {
    let mut m = [0u8; 65];
    m[0] = 1;
    m[1..33].copy_from_slice(l);
    m[33..].copy_from_slice(r);
    sha256_short(&m)
}

/// Bitcoin interior node through sha2's compression function.
fn bitcoin_node(l: &Hash, r: &Hash) -> Hash {
    let mut m = [0u8; 64];
    m[..32].copy_from_slice(l);
    m[32..].copy_from_slice(r);
    sha256_short(&sha256_short(&m))
}

/// The roots of every prefix of a pool of leaves, for the large trees where the CPU engine in a
/// debug build would take most of this file's time: the complete subtrees (level `j`, node `i`
/// covers leaves `[i 2^j, (i + 1) 2^j)`) are hashed once, and the root of the first `n` leaves
/// needs only the nodes along its right edge. Checked against the CPU engine on every count up to
/// 2^16 + 1 before it is trusted with larger ones.
struct PrefixRoots {
    scheme: MerkleScheme,
    levels: Vec<Vec<Hash>>,
}

impl PrefixRoots {
    fn new(scheme: MerkleScheme, leaves: &[Hash]) -> PrefixRoots {
        let node = match scheme {
            MerkleScheme::Rfc6962 => rfc6962_node,
            MerkleScheme::Bitcoin => bitcoin_node,
        };
        let mut levels = vec![leaves.to_vec()];
        while let Some(last) = levels.last().filter(|l| l.len() > 1) {
            // Bitcoin: random txids have no identical siblings anywhere, so `mutated` can only
            // come from the right edge.
            assert!(
                scheme == MerkleScheme::Rfc6962 || last.chunks_exact(2).all(|p| p[0] != p[1]),
                "pool has identical siblings"
            );
            let next = last.chunks_exact(2).map(|p| node(&p[0], &p[1])).collect();
            levels.push(next);
        }
        PrefixRoots { scheme, levels }
    }

    /// The root of leaves `[start, n)`, `start` a multiple of the largest power of two below
    /// `n - start` (RFC 6962's split).
    fn rfc6962(&self, start: usize, n: usize) -> Hash {
        let len = n - start;
        if len.is_power_of_two() {
            let j = len.trailing_zeros() as usize;
            return self.levels[j][start >> j];
        }
        let j = (usize::BITS - 1 - (len - 1).leading_zeros()) as usize;
        rfc6962_node(
            &self.levels[j][start >> j],
            &self.rfc6962(start + (1 << j), n),
        )
    }

    /// Bitcoin's root of the first `n` leaves and its `mutated` flag: the last node of each level
    /// is rebuilt (paired with itself when the level's count is odd).
    fn bitcoin(&self, n: usize) -> (Hash, bool) {
        let mut edge = self.levels[0][n - 1];
        let mut count = n;
        let mut mutated = false;
        let mut j = 0;
        while count > 1 {
            edge = if count % 2 == 1 {
                bitcoin_node(&edge, &edge)
            } else {
                let left = self.levels[j][count - 2];
                mutated |= left == edge;
                bitcoin_node(&left, &edge)
            };
            count = count.div_ceil(2);
            j += 1;
        }
        (edge, mutated)
    }

    fn root(&self, n: usize) -> MerkleRoot {
        let (root, mutated) = match (self.scheme, n) {
            (MerkleScheme::Rfc6962, 0) => (<Hash>::from(Sha256::digest(b"")), None),
            (MerkleScheme::Rfc6962, _) => (self.rfc6962(0, n), None),
            (MerkleScheme::Bitcoin, 0) => ([0; 32], Some(false)),
            (MerkleScheme::Bitcoin, _) => {
                let (r, m) = self.bitcoin(n);
                (r, Some(m))
            }
        };
        MerkleRoot {
            root,
            leaves: n as u64,
            mutated,
        }
    }
}

/// Every engine's root equals `want`.
fn check_against(
    engines: &[(String, Engine)],
    label: &str,
    want: &MerkleRoot,
    run: impl Fn(&Engine) -> vera_engine::Result<MerkleRoot>,
) {
    for (name, engine) in engines {
        let got = run(engine).unwrap_or_else(|e| panic!("{label}: engine {name}: {e}"));
        assert_eq!(
            show(&got),
            show(want),
            "{label}: engine {name} (left: GPU, right: model)"
        );
    }
}

/// Counts larger than 2^16 + 1: the uncapped engine on every 2^k − 1, 2^k, 2^k + 1 up to
/// 2^20 + 1; the capped engines (a submission per super-chunk, ≈ 1.5× slower) on 2^17 ± 1 only.
fn large_counts() -> Vec<(usize, bool)> {
    boundary_counts(20)
        .into_iter()
        .filter(|&n| n > 65_537)
        .map(|n| (n, n <= (1 << 17) + 1))
        .collect()
}

/// Leaf counts up to 2^16 + 1 (the chunk boundaries, every 2^k ± 1) on every GPU engine against
/// the CPU engine; then up to 2^20 + 1 against the prefix model; a few random sizes.
#[test]
fn merkle_from_hashes_at_chunk_boundaries() {
    if skip("merkle_from_hashes_at_chunk_boundaries") {
        return;
    }
    let all = all_gpus();
    let uncapped: Vec<_> = gpu().into_iter().collect();
    let mut rng = StdRng::seed_from_u64(0x3e1);
    let pool = rand_hashes(&mut rng, (1 << 20) + 1);
    for scheme in MerkleScheme::ALL {
        let model = timed(
            &format!("{scheme}: prefix model over 2^20 + 1 hashes"),
            || PrefixRoots::new(scheme, &pool),
        );
        timed(
            &format!("{scheme} from hashes, ≤ 2^16 + 1 leaves"),
            || {
                for n in boundary_counts(16) {
                    let want = check_root(&all, &format!("{n} leaves"), scheme, &pool[..n]);
                    assert_eq!(
                        show(&model.root(n)),
                        show(&want),
                        "{scheme}: model vs CPU, {n} leaves"
                    );
                }
            },
        );
        timed(
            &format!("{scheme} from hashes, 2^17 − 1 ..= 2^20 + 1 leaves"),
            || {
                for (n, capped_too) in large_counts() {
                    let engines = if capped_too { &all } else { &uncapped };
                    check_against(
                        engines,
                        &format!("{scheme}, {n} leaves"),
                        &model.root(n),
                        |e| e.merkle_root_from_hashes(scheme, &pool[..n]),
                    );
                }
            },
        );
    }
    timed("merkle from hashes, random counts", || {
        for _ in 0..3 {
            let n = rng.gen_range(4..70_000);
            check_both_schemes(&all, &format!("{n} leaves (random count)"), &pool[..n]);
        }
    });
}

/// RFC 6962 roots over leaf data of 0..=100 bytes, so the prefixed leaf hashing meets every
/// alignment; the data after an odd lead. Counts as in `merkle_from_hashes_at_chunk_boundaries`.
#[test]
fn rfc6962_from_data_at_chunk_boundaries() {
    if skip("rfc6962_from_data_at_chunk_boundaries") {
        return;
    }
    let all = all_gpus();
    let uncapped: Vec<_> = gpu().into_iter().collect();
    let mut rng = StdRng::seed_from_u64(0x3e2);
    let lens: Vec<usize> = (0..=1 << 20).map(|_| rng.gen_range(0..=100)).collect();
    let laid = Laid::random(&mut rng, 3, lens.len(), |i| lens[i]);
    let model = timed("rfc6962: prefix model over 2^20 + 1 data leaves", || {
        let hashes: Vec<Hash> = laid
            .view()
            .iter()
            .map(|d| {
                let mut m = [0u8; 101];
                m[1..=d.len()].copy_from_slice(d);
                sha256_short(&m[..=d.len()])
            })
            .collect();
        PrefixRoots::new(MerkleScheme::Rfc6962, &hashes)
    });
    timed("rfc6962 from data, ≤ 2^16 + 1 leaves", || {
        for n in boundary_counts(16) {
            let want = check_rfc6962_data(&all, &format!("{n} data leaves"), laid.prefix(n));
            assert_eq!(
                show(&model.root(n)),
                show(&want),
                "model vs CPU, {n} data leaves"
            );
        }
    });
    timed("rfc6962 from data, 2^17 − 1 ..= 2^20 + 1 leaves", || {
        for (n, capped_too) in large_counts() {
            let engines = if capped_too { &all } else { &uncapped };
            check_against(engines, &format!("{n} data leaves"), &model.root(n), |e| {
                e.merkle_root(MerkleScheme::Rfc6962, laid.prefix(n))
            });
        }
    });
    // Small counts starting at leaves 1 and 3 (other alignments of the first leaf).
    timed("rfc6962 from data, small windows", || {
        let counts = (0..=40).chain((41..=300).step_by(9)).chain([255, 256, 257]);
        let engines: Vec<_> = [gpu(), gpu_64k()].into_iter().flatten().collect();
        for n in counts {
            for from in [1, 3] {
                let view = laid.view().slice(from..from + n).expect("ok");
                check_rfc6962_data(&engines, &format!("{n} data leaves from leaf {from}"), view);
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Bitcoin's mutated flag across the kernel's chunks
// ---------------------------------------------------------------------------------------------

fn distinct_txids(seed: u64, n: usize) -> Vec<Hash> {
    rand_hashes(&mut StdRng::seed_from_u64(seed), n)
}

/// Identical sibling txids at level 0 on either side of a 256-node chunk boundary (mutated), and
/// identical neighbours that are not siblings across it (not mutated).
#[test]
fn bitcoin_identical_siblings_near_chunk_boundaries() {
    if skip("bitcoin_identical_siblings_near_chunk_boundaries") {
        return;
    }
    let engines = all_gpus();
    let base = distinct_txids(0xb1, 600);
    check_bitcoin(&engines, "600 distinct txids", &base, false);
    for (copy_to, copy_from, mutated) in [
        (255, 254, true),  // last pair of chunk 0
        (257, 256, true),  // first pair of chunk 1
        (256, 255, false), // neighbours across the boundary, not siblings
        (511, 510, true),  // last pair of chunk 1
        (512, 511, false), // across the next boundary
        (513, 512, true),  // first pair of the last, partial chunk
        (599, 598, true),  // last pair of the partial chunk
        (598, 597, false), // neighbours, not siblings
        (0, 599, false),   // far apart
    ] {
        let mut t = base.clone();
        t[copy_to] = t[copy_from];
        check_bitcoin(
            &engines,
            &format!("600 txids, txid {copy_to} = txid {copy_from}"),
            &t,
            mutated,
        );
    }
}

/// Identical subtrees that make identical siblings at height 7 (inside one chunk), 8 (the first
/// nodes of the second pass) and 11 (super-chunks of the 64 KiB engine); identical nodes that are
/// not siblings are not a mutation.
#[test]
fn bitcoin_identical_subtrees() {
    if skip("bitcoin_identical_subtrees") {
        return;
    }
    let engines = all_gpus();
    let copy = |n: usize, from: usize, to: usize, len: usize| {
        let mut t = distinct_txids(0xb2 + n as u64, n);
        t.copy_within(from..from + len, to);
        t
    };
    // Height 8: leaves [256, 512) = [0, 256).
    for n in [512, 700, 1024, 1500] {
        check_bitcoin(
            &engines,
            &format!("{n} txids, [256, 512) = [0, 256)"),
            &copy(n, 0, 256, 256),
            true,
        );
    }
    // Height 7, inside chunk 0: [128, 256) = [0, 128).
    check_bitcoin(
        &engines,
        "700 txids, [128, 256) = [0, 128)",
        &copy(700, 0, 128, 128),
        true,
    );
    // Height 8, the last pair of a level: [512, 768) = [768, 1024) of 1024 and of 1100 leaves.
    for n in [1024, 1100] {
        check_bitcoin(
            &engines,
            &format!("{n} txids, [768, 1024) = [512, 768)"),
            &copy(n, 512, 768, 256),
            true,
        );
    }
    // Identical height-8 nodes that are not siblings: nodes 1 and 2 of 3 (the third is paired
    // with itself), and nodes 0 and 2.
    check_bitcoin(
        &engines,
        "768 txids, [512, 768) = [256, 512)",
        &copy(768, 256, 512, 256),
        false,
    );
    check_bitcoin(
        &engines,
        "768 txids, [512, 768) = [0, 256)",
        &copy(768, 0, 512, 256),
        false,
    );
    // Height 11: two identical super-chunks of the 64 KiB engine, siblings in the final pass.
    check_bitcoin(
        &engines,
        "4096 txids, [2048, 4096) = [0, 2048)",
        &copy(4096, 0, 2048, 2048),
        true,
    );
    check_bitcoin(
        &engines,
        "4200 txids, [2048, 4096) = [0, 2048)",
        &copy(4200, 0, 2048, 2048),
        true,
    );
    // Height 12 with the 128 KiB engine's super-chunks of 4096.
    check_bitcoin(
        &engines,
        "8200 txids, [4096, 8192) = [0, 4096)",
        &copy(8200, 0, 4096, 4096),
        true,
    );
}

/// An odd count lifted inside the last, partial chunk (or super-chunk): distinct txids are never
/// mutated, and appending a copy of the last txid (or subtree) gives the same root, mutated —
/// the CVE-2012-2459 pair, so the lifted path equals the explicit duplicate.
#[test]
fn bitcoin_odd_nodes_lifted_in_partial_chunks() {
    if skip("bitcoin_odd_nodes_lifted_in_partial_chunks") {
        return;
    }
    let engines = all_gpus();
    for n in [
        3, 5, 255, 257, 259, 385, 513, 600, 769, 2049, 2305, 4097, 6149, 65_537,
    ] {
        let t = distinct_txids(0xb3 + n as u64, n);
        let root = check_bitcoin(&engines, &format!("{n} distinct txids"), &t, false);
        if n % 2 == 1 {
            let mut dup = t.clone();
            dup.push(t[n - 1]);
            let r = check_bitcoin(
                &engines,
                &format!("{n} distinct txids + a copy of the last"),
                &dup,
                true,
            );
            assert_eq!(hex::encode(r), hex::encode(root), "{n}: CVE-2012-2459 pair");
        }
    }
    // Whole chunks duplicated: 768 leaves (3 nodes at height 8, the third paired with itself) and
    // 1024 leaves whose last chunk repeats the third. Likewise 3 super-chunks of the 64 KiB engine.
    for (n, k) in [(768, 256), (3 * 2048, 2048), (3 * 4096, 4096)] {
        let t = distinct_txids(0xb4 + n as u64, n);
        let root = check_bitcoin(&engines, &format!("{n} distinct txids"), &t, false);
        let mut dup = t.clone();
        dup.extend_from_within(n - k..n);
        let r = check_bitcoin(
            &engines,
            &format!("{n} txids + a copy of the last {k}"),
            &dup,
            true,
        );
        assert_eq!(
            hex::encode(r),
            hex::encode(root),
            "{n} + {k}: CVE-2012-2459 pair"
        );
    }
}

/// The flag does not leak from one tree to the next (the flags buffer is pooled and reused).
#[test]
fn bitcoin_mutated_flag_is_reset_between_trees() {
    if skip("bitcoin_mutated_flag_is_reset_between_trees") {
        return;
    }
    let engines = all_gpus();
    let clean = distinct_txids(0xb5, 3000);
    let mut dirty = clean.clone();
    dirty[2999] = dirty[2998];
    let small_clean = distinct_txids(0xb6, 5);
    let small_dirty = vec![[7u8; 32]; 2];
    for round in 0..3 {
        check_bitcoin(&engines, &format!("round {round}: dirty"), &dirty, true);
        check_bitcoin(&engines, &format!("round {round}: clean"), &clean, false);
        check_bitcoin(
            &engines,
            &format!("round {round}: 2 equal"),
            &small_dirty,
            true,
        );
        check_bitcoin(
            &engines,
            &format!("round {round}: 5 distinct"),
            &small_clean,
            false,
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Chunking forced by small bindings
// ---------------------------------------------------------------------------------------------

/// Trees of several super-chunks: 2048 × 3 + 5 leaves with 64 KiB bindings, 4096 × 3 + 5 with
/// 128 KiB, and counts around multiples of both, from hashes and (RFC 6962) from data.
#[test]
fn small_bindings_split_trees_into_super_chunks() {
    if skip("small_bindings_split_trees_into_super_chunks") {
        return;
    }
    let engines = capped_gpus();
    let mut rng = StdRng::seed_from_u64(0xc1);
    let max = 4096 * 4 + 1;
    let pool = rand_hashes(&mut rng, max);
    let laid = Laid::random(&mut rng, 1, max, |i| (i * 37) % 101);
    let mut counts = vec![2048 * 3 + 5, 4096 * 3 + 5];
    for m in [2048, 4096, 6144, 8192, 12288, 16384] {
        counts.extend([m - 1, m, m + 1]);
    }
    counts.extend([2048 + 256, 2048 + 257, 4096 + 255]);
    for n in counts {
        check_both_schemes(&engines, &format!("{n} leaves"), &pool[..n]);
        check_rfc6962_data(&engines, &format!("{n} data leaves"), laid.prefix(n));
    }
}

/// RFC 6962 leaf data that the capped engines cannot bind in whole runs of 8: leaves of
/// 9,000 and 13,000 bytes (runs of 7 and 5 leaves on 64 KiB), and leaves over a binding
/// (hashed on the CPU by design) at the start, in the middle, at the end and at a super-chunk
/// boundary.
#[test]
fn rfc6962_large_leaves_with_small_bindings() {
    if skip("rfc6962_large_leaves_with_small_bindings") {
        return;
    }
    let engines = all_gpus();
    let mut rng = StdRng::seed_from_u64(0xc2);
    for (n, len) in [(20, 13_000), (30, 9_000), (17, 8_192), (12, 60_000)] {
        let laid = Laid::random(&mut rng, 1, n, |_| len);
        check_rfc6962_data(&engines, &format!("{n} leaves of {len} bytes"), laid.view());
    }
    // Leaves too large to bind among small ones.
    for big_at in [
        vec![0],
        vec![5],
        vec![2099],
        vec![2, 3],
        vec![2047, 2048],
        vec![4095, 4096],
    ] {
        let n = if big_at.iter().any(|&i| i >= 4095) {
            4200
        } else {
            2100
        };
        let laid = Laid::random(&mut rng, 3, n, |i| {
            if big_at.contains(&i) {
                70_000 + i
            } else {
                i % 50
            }
        });
        check_rfc6962_data(
            &engines,
            &format!("{n} data leaves, leaves {big_at:?} of 70 KB"),
            laid.view(),
        );
    }
}

/// A tree whose height-8 level exceeds one binding, so the final passes bind it in pieces: with
/// 64 KiB bindings (2048 nodes) that needs more than 524,288 leaves; 600,000 leaves give 2344
/// nodes at height 8, bound as 2048 + 296. Bitcoin's identical siblings at height 8 across the
/// pieces (nodes 2048 and 2049) must be reported too.
#[test]
fn final_passes_bound_in_pieces() {
    if skip("final_passes_bound_in_pieces") {
        return;
    }
    let Some(capped) = gpu_64k() else {
        return;
    };
    let engines = [capped];
    let n = 600_000;
    let mut rng = StdRng::seed_from_u64(0xc3);
    let pool = rand_hashes(&mut rng, n);
    timed(
        "600,000 leaves from hashes, 64 KiB bindings, both schemes",
        || {
            check_both_schemes(&engines, "600,000 leaves", &pool);
        },
    );
    let mut t = pool.clone();
    t.copy_within(2048 * CHUNK..2049 * CHUNK, 2049 * CHUNK);
    timed(
        "600,000 txids, mutated at height 8 in the second piece",
        || {
            check_bitcoin(
                &engines,
                "600,000 txids, height-8 nodes 2048 and 2049 equal",
                &t,
                true,
            );
        },
    );
    let mut t = pool.clone();
    t.copy_within(2046 * CHUNK..2047 * CHUNK, 2047 * CHUNK);
    check_bitcoin(
        &engines,
        "600,000 txids, height-8 nodes 2046 and 2047 equal",
        &t,
        true,
    );
    let mut t = pool;
    t.copy_within(2047 * CHUNK..2048 * CHUNK, 2048 * CHUNK);
    check_bitcoin(
        &engines,
        "600,000 txids, height-8 nodes 2047 and 2048 equal (not siblings)",
        &t,
        false,
    );
}

// ---------------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------------

/// An `auto` engine allowed to use a software adapter answers like the CPU on both sides of the
/// thresholds in engine/src/route.rs: SHA-256 batches go to the GPU from 4 MiB of work (message
/// bytes + 64 per message), Merkle trees from 65,536 leaves.
#[test]
fn auto_engine_with_software_gpu_matches_the_cpu() {
    if skip("auto_engine_with_software_gpu_matches_the_cpu") {
        return;
    }
    let auto = Engine::builder()
        .backend(BackendChoice::Auto)
        .allow_software_gpu(true)
        .build()
        .expect("auto always builds");
    assert_eq!(
        auto.backend(),
        BackendKind::Gpu,
        "auto with software allowed should take the adapter ({:?})",
        auto.gpu_unavailable_reason()
    );
    assert!(auto.gpu_unavailable_reason().is_none());
    let engines = [("auto-software".to_string(), auto)];
    let mut rng = StdRng::seed_from_u64(0xd1);
    const HASH_THRESHOLD: usize = 4 << 20;
    // Empty messages: 64 bytes of work each; 65,535 fall short of 4 MiB, 65,536 reach it.
    for n in [1, 100, 65_535, 65_536, 70_000] {
        let laid = Laid::random(&mut rng, 1, n, |_| 0);
        check_sha256(&engines, &format!("{n} empty messages"), laid.view());
    }
    // 100-byte messages: 164 bytes of work each.
    let at = HASH_THRESHOLD.div_ceil(164);
    for n in [at - 1, at] {
        let laid = Laid::random(&mut rng, 2, n, |_| 100);
        check_sha256(&engines, &format!("{n} messages of 100 bytes"), laid.view());
    }
    // One message just under the threshold (the CPU's). One at or over it goes to the GPU and
    // meets lavapipe's loop limit: see `sha256_messages_past_the_software_loop_limit`.
    let len = HASH_THRESHOLD - 65;
    let laid = Laid::random(&mut rng, 3, 1, |_| len);
    check_sha256(
        &engines,
        &format!("one message of {len} bytes"),
        laid.view(),
    );
    let pool = rand_hashes(&mut rng, 70_000);
    let laid = Laid::random(&mut rng, 1, 70_000, |i| i % 40);
    for n in [0, 1, 2, 3, 1000, 65_535, 65_536, 65_537, 70_000] {
        check_both_schemes(&engines, &format!("{n} leaves"), &pool[..n]);
        check_rfc6962_data(&engines, &format!("{n} data leaves"), laid.prefix(n));
        // Bitcoin through `merkle_root` (txids as messages) as well.
        let buf = MessageBuf::from_slices(&pool[..n]).expect("small");
        let got = engines[0]
            .1
            .merkle_root(MerkleScheme::Bitcoin, buf.as_messages())
            .expect("bitcoin root");
        let want = cpu()
            .merkle_root_from_hashes(MerkleScheme::Bitcoin, &pool[..n])
            .expect("cpu");
        assert_eq!(show(&got), show(&want), "{n} txids as messages");
    }
}

/// Without permission, `auto` never takes a software adapter: where every adapter is software
/// (lavapipe here), it runs on the CPU and says why.
#[test]
fn auto_engine_refuses_software_adapters() {
    if std::env::var(ALLOW_SOFTWARE_ENV).is_ok_and(|v| v == "1") {
        eprintln!("auto_engine_refuses_software_adapters: skipped, {ALLOW_SOFTWARE_ENV}=1 is set");
        return;
    }
    let adapters = list_adapters();
    let auto = Engine::builder()
        .backend(BackendChoice::Auto)
        .allow_software_gpu(false)
        .build()
        .expect("auto always builds");
    if adapters.is_empty() {
        assert_eq!(auto.backend(), BackendKind::Cpu);
        let why = auto.gpu_unavailable_reason().expect("a reason");
        assert!(why.to_lowercase().contains("no gpu adapter"), "{why}");
    } else if adapters.iter().all(|a| a.software) {
        assert_eq!(
            auto.backend(),
            BackendKind::Cpu,
            "auto took a software adapter without permission"
        );
        assert!(auto.gpu_backend().is_none());
        let why = auto
            .gpu_unavailable_reason()
            .expect("auto should say why it has no GPU");
        assert!(
            why.contains("software adapters"),
            "the reason should mention software adapters: {why}"
        );
        assert!(
            why.contains(ALLOW_SOFTWARE_ENV),
            "the reason should name the switch: {why}"
        );
        // `Engine::auto()` too, and it still answers.
        let plain = Engine::auto();
        assert_eq!(plain.backend(), BackendKind::Cpu);
        let d = plain
            .sha256(Messages::new(b"abc", &[0, 3]).expect("ok"))
            .expect("cpu");
        assert_eq!(d[0], <[u8; 32]>::from(Sha256::digest(b"abc")));
    } else {
        assert_eq!(
            auto.backend(),
            BackendKind::Gpu,
            "a hardware adapter exists"
        );
        assert!(!auto.gpu_backend().expect("gpu").adapter().software);
    }
}

// ---------------------------------------------------------------------------------------------
// Sharing
// ---------------------------------------------------------------------------------------------

/// One GPU engine used from several threads at once (shared buffer pool, shared queue and
/// polling) gives every caller its own right answers.
#[test]
fn gpu_engines_are_shared_across_threads() {
    if skip("gpu_engines_are_shared_across_threads") {
        return;
    }
    for (name, engine) in [gpu(), gpu_64k()].into_iter().flatten() {
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let engine = &engine;
                let name = &name;
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(0xe0 + t);
                    for round in 0..6 {
                        let label = format!("{name}: thread {t}, round {round}");
                        let n = rng.gen_range(1..5000);
                        let laid = Laid::random(&mut rng, t as usize, n, |i| (i * 13 + 7) % 150);
                        check_sha256(&[(name.clone(), engine.clone())], &label, laid.view());
                        let hashes = rand_hashes(&mut rng, n);
                        let mut txids = hashes.clone();
                        let mutated = round % 2 == 1 && n >= 2;
                        if mutated {
                            // The last real pair (an odd last node is paired with itself).
                            let p = if n % 2 == 0 { n - 2 } else { n - 3 };
                            txids[p + 1] = txids[p];
                        }
                        let ours = [(name.clone(), engine.clone())];
                        check_root(&ours, &label, MerkleScheme::Rfc6962, &hashes);
                        let r = check_root(&ours, &label, MerkleScheme::Bitcoin, &txids);
                        assert_eq!(r.mutated, Some(mutated), "{label}: premise");
                        check_rfc6962_data(&ours, &label, laid.view());
                    }
                });
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Kernel timing
// ---------------------------------------------------------------------------------------------

/// With kernel timing on, every kernel a call dispatched is timed, once per dispatch, by size;
/// the answers are unchanged; the GPU time of the calls fits within their wall time; and an
/// engine without timing reports none.
#[test]
fn kernel_times_cover_every_dispatch() {
    if skip("kernel_times_cover_every_dispatch") {
        return;
    }
    let Some((_, plain)) = gpu() else { return };
    assert!(
        plain.gpu_backend().expect("GPU").kernel_times().is_none(),
        "kernel times without profiling"
    );
    let engine = Engine::builder()
        .backend(BackendChoice::Gpu)
        .gpu_profile(true)
        .build()
        .expect("a GPU engine");
    let gpu = engine.gpu_backend().expect("GPU");
    if !gpu.adapter().timestamp_query {
        assert!(gpu.kernel_times().is_none());
        eprintln!("kernel_times_cover_every_dispatch: no timestamp queries on this adapter");
        return;
    }
    gpu.prepare_ed25519();
    let mut rng = StdRng::seed_from_u64(0x71e);
    let laid = Laid::random(&mut rng, 0, 300, |i| i % 100);
    let hashes = rand_hashes(&mut rng, 1000);
    gpu.reset_kernel_times();
    let started = Instant::now();
    check_sha256(
        &[("profiled".into(), engine.clone())],
        "profiled",
        laid.view(),
    );
    check_root(
        &[("profiled".into(), engine.clone())],
        "profiled",
        MerkleScheme::Rfc6962,
        &hashes,
    );
    let mut batch = vera_engine::SignatureBatchBuf::new();
    for i in 0..3u8 {
        use ed25519_dalek::Signer;
        let key = ed25519_dalek::SigningKey::from_bytes(&[i + 1; 32]);
        let msg = [i; 40];
        batch
            .push(
                &key.verifying_key().to_bytes(),
                &msg,
                &key.sign(&msg).to_bytes(),
            )
            .expect("fits");
    }
    let verdicts = engine
        .verify(vera_engine::Rule::Zip215, batch.as_batch())
        .expect("GPU verifies");
    assert!(verdicts.iter().all(|v| v.is_valid()), "{verdicts:?}");
    let wall = started.elapsed();
    let times = gpu.kernel_times().expect("profiling is on");
    let find = |kernel: &str| {
        times
            .iter()
            .filter(|t| t.kernel.ends_with(kernel))
            .collect::<Vec<_>>()
    };
    // 300 messages: one SHA-256 dispatch; 1,000 hashes: one reduction of 4 chunks, then one of
    // the 4 chunk roots.
    let sha = find("sha256_batch");
    assert_eq!(sha.len(), 1, "{times:?}");
    assert_eq!((sha[0].dispatches, sha[0].workgroups), (1, 5), "{times:?}");
    let merkle = find("merkle_reduce");
    let mut shapes: Vec<(u64, u64)> = merkle
        .iter()
        .map(|t| (t.workgroups, t.dispatches))
        .collect();
    shapes.sort();
    assert_eq!(shapes, [(1, 1), (4, 1)], "{times:?}");
    // Three signatures: k, then one verify kernel (whichever the engine picks for them).
    assert_eq!(find("ed25519_k").len(), 1, "{times:?}");
    assert_eq!(find("ed25519_k")[0].dispatches, 1, "{times:?}");
    let verify: Vec<_> = times
        .iter()
        .filter(|t| t.kernel.contains("ed25519_verify"))
        .collect();
    assert_eq!(verify.len(), 1, "{times:?}");
    assert_eq!(verify[0].dispatches, 1, "{times:?}");
    assert_eq!(times.len(), 5, "no other kernel ran: {times:?}");
    let gpu_total: std::time::Duration = times.iter().map(|t| t.total).sum();
    for t in &times {
        assert!(t.min <= t.mean() && t.mean() <= t.total, "{t:?}");
    }
    assert!(
        gpu_total > std::time::Duration::ZERO && gpu_total <= wall,
        "kernels took {gpu_total:?} of {wall:?}"
    );
    gpu.reset_kernel_times();
    assert_eq!(gpu.kernel_times(), Some(Vec::new()));
}
