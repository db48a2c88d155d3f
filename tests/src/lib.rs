//! Shared harness for vera's conformance and differential tests.
//!
//! Every test runs against every engine returned by [`engines`], so each backend is held to the
//! same vectors and references: the CPU backend, and — where a GPU adapter exists (lavapipe in
//! CI) — the GPU backend, once as it is (Ed25519 on the u64 field path where the adapter has
//! SHADER_INT64, eight invocations per signature exchanging operands by subgroup shuffles) and
//! once with its bindings capped at 64 KiB, so
//! that every chunking path runs on small inputs, and with Ed25519 on the u32-only field path,
//! one invocation per signature.
//!
//! With `VERA_REQUIRE_GPU=1` (as `scripts/test-all` sets after installing lavapipe) a missing
//! GPU adapter fails the tests instead of skipping the GPU engines.

pub mod libsodium;
pub mod reference;

use std::sync::OnceLock;

use vera_engine::backend::gpu::VerifyKernel;
use vera_engine::{BackendChoice, Engine};

/// The environment variable that makes a missing GPU adapter a test failure.
pub const REQUIRE_GPU_ENV: &str = "VERA_REQUIRE_GPU";

/// Whether the GPU backend must be tested (`VERA_REQUIRE_GPU=1`).
pub fn gpu_required() -> bool {
    std::env::var(REQUIRE_GPU_ENV).is_ok_and(|v| v == "1")
}

/// The GPU engines (forced GPU, software adapters allowed), built once per test binary: pipeline
/// builds take a second or more on lavapipe. Empty when there is no adapter and the GPU is not
/// required; panics when it is required and missing.
pub fn gpu_engines() -> &'static [(String, Engine)] {
    static GPU: OnceLock<Vec<(String, Engine)>> = OnceLock::new();
    GPU.get_or_init(|| {
        // The uncapped engine verifies with the lane-parallel kernel (eight invocations per
        // signature) on the 64-bit field path; the capped one with one invocation per signature
        // on the u32-only field path: both field paths and the two kernels furthest apart meet
        // every vector and differential test (gpu_ed25519.rs runs every pairing, the
        // cooperative kernel included).
        let build = |cap: Option<u64>| {
            let mut b = Engine::builder().backend(BackendChoice::Gpu);
            b = match cap {
                Some(cap) => b
                    .gpu_max_binding(cap)
                    .gpu_u32_field(true)
                    .gpu_verify_kernel(VerifyKernel::Single),
                None => b.gpu_verify_kernel(VerifyKernel::Lanes),
            };
            b.build()
        };
        // On an adapter that cannot run the lane-parallel kernel the uncapped engine runs the
        // cooperative one instead.
        let uncapped = build(None).map(|e| {
            if e.gpu_backend().is_some_and(|g| g.runs_lanes_kernel()) {
                e
            } else {
                Engine::builder()
                    .backend(BackendChoice::Gpu)
                    .gpu_verify_kernel(VerifyKernel::Coop)
                    .build()
                    .expect("a second device on the same adapter")
            }
        });
        match uncapped {
            Ok(gpu) => {
                // Where the adapter has SHADER_INT64 the uncapped engine must run the u64 field
                // path, or that path would go untested.
                let backend = gpu.gpu_backend().expect("a GPU engine has a GPU backend");
                assert!(
                    backend.int64_field() || !backend.adapter().shader_int64,
                    "the adapter has SHADER_INT64 but the GPU engine does not use it"
                );
                let capped = build(Some(64 * 1024)).expect("a second device on the same adapter");
                vec![
                    ("gpu".to_string(), gpu),
                    ("gpu-64KiB-bindings-u32-field".to_string(), capped),
                ]
            }
            Err(e) if gpu_required() => {
                panic!("{REQUIRE_GPU_ENV}=1 but the GPU backend is unavailable: {e}")
            }
            Err(e) => {
                eprintln!(
                    "note: GPU engines skipped ({e}); set {REQUIRE_GPU_ENV}=1 to require them"
                );
                Vec::new()
            }
        }
    })
}

/// More forced-GPU engines, one per (name, u32-only field path, verify kernel) — pairings the
/// harness's [`gpu_engines`] do not cover — skipping the lane-parallel kernel where the adapter
/// cannot run it. Empty without a GPU (see [`gpu_engines`] for when that fails instead).
pub fn crossed_gpu_engines(pairings: &[(&str, bool, VerifyKernel)]) -> Vec<(String, Engine)> {
    let Some(gpu) = gpu_engines().first().and_then(|(_, e)| e.gpu_backend()) else {
        return Vec::new();
    };
    pairings
        .iter()
        .filter(|&&(_, _, kernel)| kernel != VerifyKernel::Lanes || gpu.runs_lanes_kernel())
        .map(|&(name, u32_field, kernel)| {
            let e = Engine::builder()
                .backend(BackendChoice::Gpu)
                .gpu_u32_field(u32_field)
                .gpu_verify_kernel(kernel)
                .build()
                .expect("a GPU engine on the harness's adapter");
            (name.to_string(), e)
        })
        .collect()
}

/// Every engine configuration the tests hold to the references: the CPU backend on all cores and
/// on one thread (the serial paths differ from the parallel ones), then the GPU engines.
pub fn engines() -> Vec<(String, Engine)> {
    static CPU: OnceLock<Vec<(String, Engine)>> = OnceLock::new();
    let cpu = CPU.get_or_init(|| {
        vec![
            ("cpu".to_string(), Engine::cpu()),
            (
                "cpu-1-thread".to_string(),
                Engine::builder()
                    .backend(BackendChoice::Cpu)
                    .threads(1)
                    .build()
                    .expect("a CPU engine always builds"),
            ),
        ]
    });
    cpu.iter().chain(gpu_engines()).cloned().collect()
}

/// Decodes lowercase or uppercase hex, panicking with the offending text (test data only).
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// Decodes hex into a fixed-size array, panicking on a wrong length (test data only).
pub fn unhex_n<const N: usize>(s: &str) -> [u8; N] {
    unhex(s)
        .try_into()
        .unwrap_or_else(|v: Vec<u8>| panic!("expected {N} bytes, got {}", v.len()))
}

/// Reads `tests/vectors/<path>` as JSON. `VERA_VECTORS_DIR` overrides the folder, for test
/// binaries carried to another machine (see `scripts/gpu-session`).
pub fn load_vectors(path: &str) -> serde_json::Value {
    let dir = std::env::var_os("VERA_VECTORS_DIR").map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors"),
        std::path::PathBuf::from,
    );
    let full = dir.join(path);
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", full.display()))
}

/// The array `key` of a vector file (`cases`, `checkpoints`, `inclusion`, ...), panicking when it
/// is missing or not an array (test data only).
pub fn vector_array<'a>(file: &'a serde_json::Value, key: &str) -> &'a [serde_json::Value] {
    file.get(key)
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("vector file has no array {key:?}"))
}

/// The string field `key` of a vector case, panicking when it is missing or not a string.
pub fn field_str<'a>(case: &'a serde_json::Value, key: &str) -> &'a str {
    case.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("case has no string field {key:?}: {case}"))
}

/// The unsigned integer field `key` of a vector case, panicking when it is missing.
pub fn field_u64(case: &serde_json::Value, key: &str) -> u64 {
    case.get(key)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("case has no unsigned integer field {key:?}: {case}"))
}

/// The boolean field `key` of a vector case, panicking when it is missing.
pub fn field_bool(case: &serde_json::Value, key: &str) -> bool {
    case.get(key)
        .and_then(serde_json::Value::as_bool)
        .unwrap_or_else(|| panic!("case has no boolean field {key:?}: {case}"))
}

/// The hex field `key` of a vector case, decoded.
pub fn field_hex(case: &serde_json::Value, key: &str) -> Vec<u8> {
    unhex(field_str(case, key))
}

/// The field `key` of a vector case as a list of hex strings, decoded.
pub fn field_hex_list(case: &serde_json::Value, key: &str) -> Vec<Vec<u8>> {
    case.get(key)
        .and_then(serde_json::Value::as_array)
        .unwrap_or_else(|| panic!("case has no array field {key:?}: {case}"))
        .iter()
        .map(|v| {
            unhex(
                v.as_str()
                    .unwrap_or_else(|| panic!("{key:?} holds a non-string: {v}")),
            )
        })
        .collect()
}

/// The GPU backends of [`gpu_engines`], by engine name, for tests of GPU-only entry points;
/// empty (with a note naming `test`) when there is no adapter and none is required. With
/// `VERA_REQUIRE_GPU=1` and no adapter, [`gpu_engines`] panics, so every such test fails.
pub fn gpu_backends(
    test: &str,
) -> Vec<(&'static str, &'static vera_engine::backend::gpu::GpuBackend)> {
    let engines = gpu_engines();
    if engines.is_empty() {
        eprintln!("{test}: skipped, no GPU adapter (set {REQUIRE_GPU_ENV}=1 to require one)");
    }
    engines
        .iter()
        .map(|(name, engine)| {
            let gpu = engine
                .gpu_backend()
                .expect("a GPU engine has a GPU backend");
            (name.as_str(), gpu)
        })
        .collect()
}

/// `n` random bytes.
pub fn rand_bytes(rng: &mut impl rand::RngCore, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

/// Messages laid out in one buffer after `lead` junk bytes and before a few more, so that the
/// offsets start past 0 and the bytes around the messages are not theirs.
pub struct Laid {
    bytes: Vec<u8>,
    offsets: Vec<u32>,
}

impl Laid {
    /// `msgs`, after `lead` random bytes.
    pub fn new<M: AsRef<[u8]>>(rng: &mut impl rand::RngCore, lead: usize, msgs: &[M]) -> Laid {
        let total: usize = msgs.iter().map(|m| m.as_ref().len()).sum();
        let mut bytes = rand_bytes(rng, lead);
        bytes.reserve(total + 7);
        let mut offsets = Vec::with_capacity(msgs.len() + 1);
        offsets.push(lead as u32);
        for m in msgs {
            bytes.extend_from_slice(m.as_ref());
            offsets.push(bytes.len() as u32);
        }
        bytes.extend(rand_bytes(rng, 7));
        Laid { bytes, offsets }
    }

    /// `n` messages whose lengths `len(i)` gives, random contents, after `lead` junk bytes.
    pub fn random(
        rng: &mut impl rand::RngCore,
        lead: usize,
        n: usize,
        len: impl Fn(usize) -> usize,
    ) -> Laid {
        let mut offsets = Vec::with_capacity(n + 1);
        let mut at = lead;
        offsets.push(at as u32);
        for i in 0..n {
            at += len(i);
            offsets.push(at as u32);
        }
        Laid {
            bytes: rand_bytes(rng, at + 7),
            offsets,
        }
    }

    /// All the messages.
    pub fn view(&self) -> vera_engine::Messages<'_> {
        vera_engine::Messages::new(&self.bytes, &self.offsets).expect("valid offsets")
    }

    /// The first `n` messages.
    pub fn prefix(&self, n: usize) -> vera_engine::Messages<'_> {
        vera_engine::Messages::new(&self.bytes, &self.offsets[..=n]).expect("valid offsets")
    }
}

/// Ed25519's field prime, 2^255 − 19.
pub fn field_p() -> num_bigint::BigUint {
    (num_bigint::BigUint::from(1u8) << 255) - 19u8
}

/// The 32-byte little-endian encoding of `x` (< 2^256).
pub fn le32(x: &num_bigint::BigUint) -> [u8; 32] {
    let mut out = [0u8; 32];
    let b = x.to_bytes_le();
    assert!(b.len() <= 32);
    out[..b.len()].copy_from_slice(&b);
    out
}

/// The GPU field paths to test on `gpu` (engine `name`): the u32 path always, and the u64 path
/// where the device has SHADER_INT64. A device without it where the adapter offers it is a bug
/// (the feature was not requested) and fails; so does a software adapter without it under
/// `VERA_REQUIRE_GPU=1`, since lavapipe has shaderInt64. Other adapters without it (some
/// hardware lacks 64-bit integers) skip the u64 path with a note naming `test`.
pub fn field_paths(
    test: &str,
    name: &str,
    gpu: &vera_engine::backend::gpu::GpuBackend,
) -> Vec<vera_engine::backend::gpu::FieldPath> {
    use vera_engine::backend::gpu::FieldPath;
    let adapter = gpu.adapter();
    assert!(
        gpu.has_int64() || !adapter.shader_int64,
        "{test}: {name}: {} offers SHADER_INT64 but the device was opened without it",
        adapter.name
    );
    if gpu.has_int64() {
        return FieldPath::ALL.to_vec();
    }
    assert!(
        !(gpu_required() && adapter.software),
        "{test}: {name}: {REQUIRE_GPU_ENV}=1 and the software adapter {} has no SHADER_INT64 \
         (lavapipe has it): the u64 field path would go untested",
        adapter.name
    );
    eprintln!(
        "{test}: {name}: u64 field path skipped, {} has no SHADER_INT64",
        adapter.name
    );
    vec![FieldPath::U32]
}
