//! GPU failover and cross-checks, with faults injected through the engine's test hook: under
//! `auto` a failed GPU batch is answered by the CPU with the same result, counted, and the GPU is
//! left alone for a back-off; a forced GPU engine reports the failure; sampled cross-checks count.

use std::time::Duration;

use vera_engine::{BackendChoice, Engine, Error, MerkleScheme};
use vera_tests::gpu_required;

/// An `auto` engine that uses the GPU (software adapters allowed), or `None` when there is none.
fn auto_gpu(cross_check_every: u64) -> Option<Engine> {
    let e = Engine::builder()
        .allow_software_gpu(true)
        .cross_check_every(cross_check_every)
        .build()
        .unwrap();
    match e.gpu_backend() {
        Some(_) => Some(e),
        None if gpu_required() => panic!("GPU required but auto found none"),
        None => None,
    }
}

/// Enough leaves for `auto` to send the tree to the GPU (see engine/src/route.rs).
fn big_tree() -> Vec<[u8; 32]> {
    (0..70_000u32)
        .map(|i| {
            let mut h = [0u8; 32];
            h[..4].copy_from_slice(&i.to_le_bytes());
            h
        })
        .collect()
}

#[test]
fn a_failed_gpu_batch_is_answered_by_the_cpu_then_the_gpu_rests() {
    let Some(engine) = auto_gpu(0) else { return };
    let leaves = big_tree();
    let expected = Engine::cpu()
        .merkle_root_from_hashes(MerkleScheme::Bitcoin, &leaves)
        .unwrap();

    let before = engine.stats();
    engine.inject_gpu_faults(1);
    let got = engine
        .merkle_root_from_hashes(MerkleScheme::Bitcoin, &leaves)
        .unwrap();
    assert_eq!(got, expected);
    let s = engine.stats();
    assert_eq!(s.gpu_failures, before.gpu_failures + 1);
    assert_eq!(s.fallbacks, before.fallbacks + 1);
    assert_eq!(s.cpu_batches, before.cpu_batches + 1);

    // Inside the back-off the GPU is not tried.
    let got = engine
        .merkle_root_from_hashes(MerkleScheme::Rfc6962, &leaves)
        .unwrap();
    assert_eq!(
        got,
        Engine::cpu()
            .merkle_root_from_hashes(MerkleScheme::Rfc6962, &leaves)
            .unwrap()
    );
    let t = engine.stats();
    assert_eq!(t.gpu_batches, s.gpu_batches);
    assert_eq!(t.cpu_batches, s.cpu_batches + 1);

    // After it, the GPU answers again.
    std::thread::sleep(Duration::from_millis(1100));
    let got = engine
        .merkle_root_from_hashes(MerkleScheme::Bitcoin, &leaves)
        .unwrap();
    assert_eq!(got, expected);
    assert_eq!(engine.stats().gpu_batches, t.gpu_batches + 1);
}

#[test]
fn a_forced_gpu_engine_reports_the_failure() {
    let engine = match Engine::builder().backend(BackendChoice::Gpu).build() {
        Ok(e) => e,
        Err(e) if gpu_required() => panic!("GPU required: {e}"),
        Err(_) => return,
    };
    engine.inject_gpu_faults(1);
    let leaves = big_tree();
    let err = engine
        .merkle_root_from_hashes(MerkleScheme::Bitcoin, &leaves[..10])
        .unwrap_err();
    assert!(matches!(err, Error::Gpu(_)), "{err}");
    // The next batch is answered by the GPU again.
    assert!(engine
        .merkle_root_from_hashes(MerkleScheme::Bitcoin, &leaves[..10])
        .is_ok());
    assert_eq!(engine.stats().fallbacks, 0);
}

#[test]
fn sampled_cross_checks_are_counted() {
    let Some(engine) = auto_gpu(2) else { return };
    let leaves = big_tree();
    for _ in 0..4 {
        engine
            .merkle_root_from_hashes(MerkleScheme::Rfc6962, &leaves)
            .unwrap();
    }
    let s = engine.stats();
    assert_eq!(s.gpu_batches, 4);
    assert_eq!(s.cross_checks, 2, "one GPU batch in two");
    assert_eq!(s.cross_check_mismatches, 0);
}

#[test]
fn faults_under_concurrent_load_lose_and_change_nothing() {
    let Some(engine) = auto_gpu(0) else { return };
    let leaves = big_tree();
    let expected = Engine::cpu()
        .merkle_root_from_hashes(MerkleScheme::Rfc6962, &leaves)
        .unwrap();
    engine.inject_gpu_faults(3);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..3 {
                    let got = engine
                        .merkle_root_from_hashes(MerkleScheme::Rfc6962, &leaves)
                        .unwrap();
                    assert_eq!(got, expected);
                }
            });
        }
    });
    let s = engine.stats();
    assert!(s.gpu_failures >= 1, "an injected fault was seen");
    assert_eq!(
        s.gpu_batches + s.cpu_batches,
        12,
        "every batch answered once"
    );
}

/// Signatures by a few keys, every fifth with a flipped bit.
fn some_signatures(n: usize) -> vera_engine::SignatureBatchBuf {
    use ed25519_dalek::Signer;
    let mut batch = vera_engine::SignatureBatchBuf::new();
    for i in 0..n {
        let key = ed25519_dalek::SigningKey::from_bytes(&[(i % 7) as u8 + 1; 32]);
        let msg = (i as u64).to_le_bytes();
        let mut sig = key.sign(&msg).to_bytes();
        if i % 5 == 2 {
            sig[i % 64] ^= 4;
        }
        batch
            .push(&key.verifying_key().to_bytes(), &msg, &sig)
            .unwrap();
    }
    batch
}

/// The lane-parallel kernel checks that the adapter lays subgroups out as it needs; where the
/// check fails (simulated here), the batch is an error on a forced GPU engine — never verdicts —
/// and under `auto` the CPU answers it.
#[test]
fn a_wrong_subgroup_layout_is_an_error_not_verdicts() {
    use vera_engine::backend::gpu::VerifyKernel;
    use vera_engine::calibrate::Costs;
    use vera_engine::{Calibration, Rule};
    let batch = some_signatures(100);
    let want = Engine::cpu()
        .verify(Rule::Zip215, batch.as_batch())
        .unwrap();
    let lanes = |fault: bool| {
        Engine::builder()
            .backend(BackendChoice::Gpu)
            .gpu_verify_kernel(VerifyKernel::Lanes)
            .gpu_simulate_layout_fault(fault)
            .build()
    };
    let Ok(healthy) = lanes(false) else {
        assert!(!gpu_required(), "GPU required but none found");
        return;
    };
    let g = healthy.gpu_backend().unwrap();
    if !g.runs_lanes_kernel() {
        eprintln!(
            "skipped: {} cannot run the lane-parallel kernel",
            g.adapter().name
        );
        return;
    }
    assert_eq!(
        healthy.verify(Rule::Zip215, batch.as_batch()).unwrap(),
        want
    );
    let faulty = lanes(true).unwrap();
    match faulty.verify(Rule::Zip215, batch.as_batch()) {
        Err(Error::Gpu(msg)) => assert!(msg.contains("not laid out"), "{msg}"),
        other => panic!("expected a GPU error, got {other:?}"),
    }

    // Costs that send every batch to the GPU, with the given kernel limits.
    let gpu_first = |kernels| {
        let c = Costs {
            cpu_ns_per_item: 10_000.0,
            gpu_fixed_ns: 1.0,
            gpu_ns_per_item: 1.0,
        };
        Calibration {
            verify: [c; 3],
            sha256: c,
            merkle: c,
            proofs: Some(c),
            kernels,
        }
    };
    // Under auto routing with the lane kernel forced, the CPU answers.
    let auto = Engine::builder()
        .allow_software_gpu(true)
        .gpu_verify_kernel(VerifyKernel::Lanes)
        .gpu_simulate_layout_fault(true)
        .calibration_costs(gpu_first(None))
        .build()
        .unwrap();
    let before = auto.stats();
    assert_eq!(auto.verify(Rule::Zip215, batch.as_batch()).unwrap(), want);
    let s = auto.stats();
    assert_eq!(s.gpu_failures, before.gpu_failures + 1);
    assert_eq!(s.fallbacks, before.fallbacks + 1);

    // With the kernel left to the engine, the GPU gives the lane-parallel kernel up on this
    // device and answers with another: no failure, the same verdicts, and lanes no more.
    let chosen = Engine::builder()
        .backend(BackendChoice::Gpu)
        .gpu_simulate_layout_fault(true)
        .calibration_costs(gpu_first(Some(vera_engine::backend::gpu::KernelLimits {
            lanes_max: 1000,
            coop_max: 1000,
        })))
        .build()
        .unwrap();
    let g = chosen.gpu_backend().unwrap();
    assert!(
        g.verify_kernels().starts_with("8 invocations"),
        "{}",
        g.verify_kernels()
    );
    assert_eq!(chosen.verify(Rule::Zip215, batch.as_batch()).unwrap(), want);
    assert!(
        g.verify_kernels().starts_with("2 cooperating"),
        "{}",
        g.verify_kernels()
    );
    assert_eq!(chosen.verify(Rule::Zip215, batch.as_batch()).unwrap(), want);
}
