//! Routing under `auto` by calibrated costs: batches planned for the CPU, the GPU, or split
//! between both give exactly the CPU engine's answers, in input order, also when the GPU part
//! of a split fails (it is re-run on the CPU). Costs are given to the engine so that each plan
//! is forced at known sizes; the real GPU (lavapipe in CI) does the GPU part.

use ed25519_dalek::{Signer, SigningKey};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};
use vera_engine::backend::gpu::KernelLimits;
use vera_engine::calibrate::{Costs, Plan};
use vera_engine::merkle::{bitcoin_branch, rfc6962_inclusion_proof};
use vera_engine::{
    Calibration, Engine, MerkleScheme, MessageBuf, ProofsBuf, Rule, SignatureBatchBuf,
};
use vera_tests::gpu_required;

/// CPU 10 µs per item, GPU 50 µs per batch plus 1 µs per item: the GPU takes part from a few
/// items, and splits give it most of a large batch.
fn fast_gpu() -> Costs {
    Costs {
        cpu_ns_per_item: 10_000.0,
        gpu_fixed_ns: 50_000.0,
        gpu_ns_per_item: 1_000.0,
    }
}

fn calibration() -> Calibration {
    Calibration {
        verify: [fast_gpu(); 3],
        // Per unit of work (bytes + 64 per message).
        sha256: Costs {
            cpu_ns_per_item: 10.0,
            gpu_fixed_ns: 50_000.0,
            gpu_ns_per_item: 1.0,
        },
        merkle: fast_gpu(),
        proofs: Some(fast_gpu()),
        kernels: None,
    }
}

fn auto_engine() -> Option<Engine> {
    let e = Engine::builder()
        .allow_software_gpu(true)
        .calibration_costs(calibration())
        .build()
        .expect("auto always builds");
    match e.gpu_backend() {
        Some(_) => Some(e),
        None if gpu_required() => panic!("GPU required but auto found none"),
        None => {
            eprintln!("skipped: no GPU adapter");
            None
        }
    }
}

/// `n` signatures by 50 keys over random messages of up to 100 bytes; one in `every` has a bit
/// flipped somewhere in its signature.
fn signed_batch(seed: u64, n: usize, every: usize) -> SignatureBatchBuf {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys: Vec<SigningKey> = (0..50)
        .map(|_| SigningKey::from_bytes(&rng.gen()))
        .collect();
    let mut batch = SignatureBatchBuf::new();
    for i in 0..n {
        let key = &keys[i % keys.len()];
        let mut msg = vec![0u8; rng.gen_range(0..100)];
        rng.fill_bytes(&mut msg);
        let mut sig = key.sign(&msg).to_bytes();
        if i % every == every / 2 {
            sig[rng.gen_range(0..64)] ^= 1 << rng.gen_range(0..8);
        }
        batch
            .push(&key.verifying_key().to_bytes(), &msg, &sig)
            .expect("fits");
    }
    batch
}

/// A forced-GPU engine from `builder`, or `None` (a failure where the GPU is required).
fn forced_gpu(builder: vera_engine::EngineBuilder) -> Option<Engine> {
    match builder.backend(vera_engine::BackendChoice::Gpu).build() {
        Ok(e) => Some(e),
        Err(e) if gpu_required() => panic!("GPU required: {e}"),
        Err(e) => {
            eprintln!("skipped: {e}");
            None
        }
    }
}

#[test]
fn the_given_costs_plan_each_kind() {
    let c = fast_gpu();
    assert_eq!(c.plan(2, true), Plan::Cpu);
    assert_eq!(c.plan(100, true), Plan::Gpu);
    assert!(matches!(c.plan(3000, true), Plan::Split(m) if m > 2000 && m < 3000));
}

#[test]
fn split_verification_equals_the_cpu() {
    let Some(engine) = auto_engine() else { return };
    assert_eq!(engine.calibration(), Some(calibration()));
    let batch = signed_batch(0x5917, 3000, 5);
    let cpu = Engine::cpu();
    for rule in Rule::ALL {
        for n in [2usize, 100, 3000] {
            let sub = batch.as_batch().slice(0..n).expect("in range");
            let want = cpu.verify(rule, sub).expect("CPU verifies");
            let before = engine.stats();
            let got = engine.verify(rule, sub).expect("auto verifies");
            assert_eq!(got, want, "{rule}, n = {n}");
            let s = engine.stats();
            let (gpu, cpu_batches) = (
                s.gpu_batches - before.gpu_batches,
                s.cpu_batches - before.cpu_batches,
            );
            // Planned as the costs say: CPU, GPU, then both.
            let expected = match n {
                2 => (0, 1),
                100 => (1, 0),
                _ => (1, 1),
            };
            assert_eq!(
                (gpu, cpu_batches),
                expected,
                "{rule}, n = {n}: batches by backend"
            );
            // Every item counted once, on the backend that answered it.
            let items = (s.gpu.items - before.gpu.items) + (s.cpu.items - before.cpu.items);
            assert_eq!(items, n as u64, "{rule}, n = {n}: items by backend");
        }
        // The GPU part of a split fails: the CPU answers it, nothing lost or reordered.
        let all = batch.as_batch();
        let want = cpu.verify(rule, all).expect("CPU verifies");
        let before = engine.stats();
        engine.inject_gpu_faults(1);
        assert_eq!(engine.verify(rule, all).expect("auto verifies"), want);
        assert_eq!(engine.stats().fallbacks, before.fallbacks + 1);
        // Let the back-off pass before the next rule uses the GPU again.
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
}

#[test]
fn split_hashing_equals_the_cpu() {
    let Some(engine) = auto_engine() else { return };
    let mut rng = StdRng::seed_from_u64(0x4a5);
    let mut msgs = MessageBuf::new();
    for _ in 0..5000 {
        let mut m = vec![0u8; rng.gen_range(0..200)];
        rng.fill_bytes(&mut m);
        msgs.push(&m).expect("fits");
    }
    let cpu = Engine::cpu();
    let want = cpu.sha256(msgs.as_messages()).expect("CPU hashes");
    let before = engine.stats();
    let got = engine.sha256(msgs.as_messages()).expect("auto hashes");
    assert_eq!(got, want);
    let s = engine.stats();
    assert_eq!(
        (
            s.gpu_batches - before.gpu_batches,
            s.cpu_batches - before.cpu_batches
        ),
        (1, 1),
        "a split batch"
    );
    // Merkle trees are never split: the GPU alone here.
    let leaves: Vec<[u8; 32]> = (0..1000u32)
        .map(|i| {
            let mut h = [0u8; 32];
            h[..4].copy_from_slice(&i.to_le_bytes());
            h
        })
        .collect();
    let root = engine
        .merkle_root_from_hashes(MerkleScheme::Rfc6962, &leaves)
        .expect("root");
    assert_eq!(
        root,
        cpu.merkle_root_from_hashes(MerkleScheme::Rfc6962, &leaves)
            .expect("root")
    );
}

/// A batch of inclusion proofs split between the GPU and the CPU: the verdicts of the CPU
/// engine, in order (a third of the proofs point at the wrong root). Calibrated routing sends
/// no fewer than 1,024 proofs to the GPU.
#[test]
fn split_proofs_equal_the_cpu() {
    let Some(engine) = auto_engine() else { return };
    let mut rng = StdRng::seed_from_u64(0x9f);
    let n = 1200u64;
    let leaves: Vec<[u8; 32]> = (0..n).map(|_| rng.gen()).collect();
    let cpu = Engine::cpu();
    for scheme in MerkleScheme::ALL {
        let root = cpu.merkle_root_from_hashes(scheme, &leaves).expect("root");
        let mut proofs = ProofsBuf::new();
        for i in 0..leaves.len() as u64 {
            let path = match scheme {
                MerkleScheme::Rfc6962 => rfc6962_inclusion_proof(&leaves, i),
                MerkleScheme::Bitcoin => bitcoin_branch(&leaves, i),
            }
            .expect("in range");
            let mut r = root.root;
            r[0] ^= u8::from(i % 3 == 0);
            proofs
                .push(&leaves[i as usize], i, n, &path, &r)
                .expect("fits");
        }
        let want = cpu
            .verify_inclusion(scheme, proofs.as_proofs())
            .expect("CPU");
        assert_eq!(want.iter().filter(|v| v.is_ok()).count(), 800);
        let before = engine.stats();
        let got = engine
            .verify_inclusion(scheme, proofs.as_proofs())
            .expect("auto");
        assert_eq!(got, want, "{scheme:?}");
        let s = engine.stats();
        assert_eq!(
            (
                s.gpu_batches - before.gpu_batches,
                s.cpu_batches - before.cpu_batches
            ),
            (1, 1),
            "{scheme:?}: a split batch"
        );
    }
}

#[test]
fn work_is_sharded_across_gpus() {
    // Two devices on the one adapter stand for a two-GPU host.
    let Some(engine) = forced_gpu(Engine::builder().gpu_devices(2)) else {
        return;
    };
    let gpus = engine.gpu_backends();
    assert_eq!(gpus.len(), 2);
    let batch = signed_batch(0x2690, 1500, 7);
    let cpu = Engine::cpu();
    let before: Vec<u64> = gpus.iter().map(|g| g.submissions()).collect();
    for rule in Rule::ALL {
        assert_eq!(
            engine.verify(rule, batch.as_batch()).expect("verify"),
            cpu.verify(rule, batch.as_batch()).expect("verify"),
            "{rule}"
        );
    }
    let mut msgs = MessageBuf::new();
    for i in 0..20_000u32 {
        msgs.push(&i.to_le_bytes().repeat(1 + i as usize % 20))
            .expect("fits");
    }
    assert_eq!(
        engine.sha256(msgs.as_messages()).expect("hash"),
        cpu.sha256(msgs.as_messages()).expect("hash")
    );
    for (i, g) in gpus.iter().enumerate() {
        assert!(
            g.submissions() >= before[i] + 4,
            "GPU {i} ran {} batches of the 4 sharded calls",
            g.submissions() - before[i]
        );
    }
    // A batch too small to shard runs on the first GPU alone.
    let before: Vec<u64> = gpus.iter().map(|g| g.submissions()).collect();
    let small = batch.as_batch().slice(0..10).expect("in range");
    engine.verify(Rule::Zip215, small).expect("verify");
    assert_eq!(gpus[0].submissions(), before[0] + 1);
    assert_eq!(gpus[1].submissions(), before[1]);
}

/// A small request is one GPU submission (one round trip): one hash, a 64-leaf tree, one
/// signature — what the "under 150 µs on a GPU" goal for single requests rests on.
#[test]
fn small_requests_are_one_submission() {
    let Some(engine) = forced_gpu(Engine::builder()) else {
        return;
    };
    let gpu = engine.gpu_backend().expect("GPU engine");
    let one = |what: &str, f: &dyn Fn()| {
        let before = gpu.submissions();
        f();
        assert_eq!(gpu.submissions(), before + 1, "{what}: submissions");
    };
    one("one hash", &|| {
        engine
            .sha256(vera_engine::Messages::new(b"abc", &[0, 3]).expect("valid"))
            .expect("hash");
    });
    let leaves: Vec<[u8; 32]> = (0..64u8).map(|i| [i; 32]).collect();
    let data = MessageBuf::from_slices(&leaves).expect("fits");
    for scheme in MerkleScheme::ALL {
        one(&format!("64-leaf {scheme} tree"), &|| {
            engine
                .merkle_root(scheme, data.as_messages())
                .expect("root");
        });
    }
    let key = SigningKey::from_bytes(&[3; 32]);
    let mut batch = SignatureBatchBuf::new();
    batch
        .push(
            &key.verifying_key().to_bytes(),
            b"m",
            &key.sign(b"m").to_bytes(),
        )
        .expect("fits");
    engine
        .verify(Rule::Zip215, batch.as_batch())
        .expect("warm-up");
    one("one signature", &|| {
        let v = engine
            .verify(Rule::Zip215, batch.as_batch())
            .expect("verify");
        assert!(v[0].is_valid());
    });
}

/// Kernel limits from a calibration reach every device of an `auto` engine and decide the
/// kernels; measured ones are ordered and bounded by the ladder.
#[test]
fn kernel_limits_are_measured_and_reach_every_device() {
    let given = KernelLimits {
        lanes_max: 100,
        coop_max: 1000,
    };
    let engine = Engine::builder()
        .allow_software_gpu(true)
        .gpu_devices(2)
        .calibration_costs(Calibration {
            kernels: Some(given),
            ..calibration()
        })
        .build()
        .expect("auto always builds");
    let gpus = engine.gpu_backends();
    if gpus.is_empty() {
        assert!(!gpu_required(), "GPU required but auto found none");
        return;
    }
    assert_eq!(gpus.len(), 2);
    for g in &gpus {
        assert_eq!(g.kernel_limits(), given);
        let plan = g.verify_kernels();
        assert!(
            plan.ends_with("1 invocation per signature") && plan.contains("up to 1000 signatures"),
            "{plan}"
        );
    }
    let measured = vera_engine::calibrate::measure_kernel_limits(gpus[0]).expect("measures");
    assert!(
        measured.lanes_max <= measured.coop_max && measured.coop_max <= 2 * 65_536,
        "{measured:?}"
    );
    // Measuring sets nothing by itself.
    assert_eq!(gpus[0].kernel_limits(), given);
}
