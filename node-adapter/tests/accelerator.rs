//! The in-process accelerator: deadlines and full batches (with tokio's paused clock), order and
//! exactness under concurrent load (against the engine called directly), backpressure and
//! cancellation.

use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use rand::{rngs::StdRng, Rng, SeedableRng};
use vera_engine::{Engine, Rule, SignatureBatchBuf, Verdict};
use vera_node_adapter::accelerator::{Accelerator, AcceleratorError, Config, SignatureItem};

/// Honest signatures with every `every`-th one corrupted (S's low byte flipped).
fn items(n: usize, every: usize, seed: u64) -> Vec<SignatureItem> {
    let mut rng = StdRng::seed_from_u64(seed);
    let keys: Vec<SigningKey> = (0..8).map(|_| SigningKey::from_bytes(&rng.gen())).collect();
    (0..n)
        .map(|i| {
            let k = &keys[i % keys.len()];
            let msg: Vec<u8> = (0..rng.gen_range(0..80)).map(|_| rng.gen()).collect();
            let mut sig = k.sign(&msg).to_bytes();
            if every > 0 && i % every == 0 {
                sig[32] ^= 1;
            }
            (k.verifying_key().to_bytes(), msg, sig)
        })
        .collect()
}

/// The engine called directly, one batch: the reference for the accelerator.
fn direct(rule: Rule, items: &[SignatureItem]) -> Vec<Verdict> {
    let mut b = SignatureBatchBuf::new();
    for (pk, msg, sig) in items {
        b.push(pk, msg, sig).unwrap();
    }
    Engine::cpu().verify(rule, b.as_batch()).unwrap()
}

fn config(max_batch: usize, max_delay: Duration, queue_items: usize) -> Config {
    Config {
        max_batch,
        max_delay,
        queue_items,
    }
}

#[tokio::test(start_paused = true)]
async fn a_lone_request_waits_for_the_deadline_and_no_longer() {
    let acc = Accelerator::new(Engine::cpu(), config(64, Duration::from_secs(10), 1024));
    let item = items(1, 0, 1).remove(0);
    let expected = direct(Rule::Strict, std::slice::from_ref(&item))[0];
    let a = acc.clone();
    let pending = tokio::spawn(async move { a.verify(Rule::Strict, item.0, item.1, item.2).await });
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        !pending.is_finished(),
        "answered before the deadline with a batch of one"
    );
    let verdict = tokio::time::timeout(Duration::from_secs(60), pending)
        .await
        .expect("answered after the deadline")
        .unwrap()
        .unwrap();
    assert_eq!(verdict, expected);
    assert!(verdict.is_valid());
}

#[tokio::test(start_paused = true)]
async fn a_full_batch_goes_at_once() {
    let acc = Accelerator::new(Engine::cpu(), config(4, Duration::from_secs(3600), 1024));
    let all = items(4, 2, 2);
    let expected = direct(Rule::Zip215, &all);
    let start = tokio::time::Instant::now();
    let futures: Vec<_> = all
        .into_iter()
        .map(|(pk, msg, sig)| {
            let a = acc.clone();
            tokio::spawn(async move { a.verify(Rule::Zip215, pk, msg, sig).await })
        })
        .collect();
    let mut got = Vec::new();
    for f in futures {
        got.push(f.await.unwrap().unwrap());
    }
    assert_eq!(got, expected);
    assert!(
        start.elapsed() < Duration::from_secs(3600),
        "the batch waited for its deadline although it was full"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_callers_each_get_their_own_results_in_order() {
    let acc = Accelerator::new(
        Engine::cpu(),
        config(256, Duration::from_micros(200), 1 << 16),
    );
    let mut tasks = Vec::new();
    for t in 0..64u64 {
        let a = acc.clone();
        tasks.push(tokio::spawn(async move {
            let rule = Rule::ALL[t as usize % 3];
            // Some callers send singles, some batches of up to 40.
            let mine = items(1 + (t as usize * 7) % 40, 3, 100 + t);
            let expected = direct(rule, &mine);
            let got = if t % 2 == 0 {
                let mut v = Vec::new();
                for (pk, msg, sig) in mine {
                    v.push(a.verify(rule, pk, msg, sig).await.unwrap());
                }
                v
            } else {
                a.verify_batch(rule, mine).await.unwrap()
            };
            assert_eq!(got, expected, "caller {t}");
            got.len()
        }));
    }
    let mut answered = 0;
    for t in tasks {
        answered += t.await.unwrap();
    }
    assert!(answered > 1000);
    // SHA-256 through its own lane, concurrently.
    let msgs: Vec<Vec<u8>> = (0..300u32)
        .map(|i| i.to_le_bytes().repeat(i as usize % 9))
        .collect();
    let mut hs = Vec::new();
    for m in msgs.clone() {
        let a = acc.clone();
        hs.push(tokio::spawn(async move { a.sha256(m).await.unwrap() }));
    }
    for (h, m) in hs.into_iter().zip(&msgs) {
        let d = h.await.unwrap();
        let expected: [u8; 32] = <sha2::Sha256 as sha2::Digest>::digest(m).into();
        assert_eq!(d, expected);
    }
    assert_eq!(
        acc.sha256_batch(msgs.clone()).await.unwrap().len(),
        msgs.len()
    );
}

#[tokio::test(start_paused = true)]
async fn a_full_queue_is_busy_for_try_and_waits_for_the_rest() {
    let acc = Accelerator::new(Engine::cpu(), config(64, Duration::from_secs(10), 2));
    let mut two = items(3, 0, 3);
    let third = two.pop().unwrap();
    // Two items fill the queue until their batch runs, at the 10 s deadline.
    let a = acc.clone();
    let held = tokio::spawn(async move { a.verify_batch(Rule::Dalek, two).await });
    tokio::task::yield_now().await;
    let busy = acc
        .try_verify(Rule::Dalek, third.0, third.1.clone(), third.2)
        .await;
    assert_eq!(busy, Err(AcceleratorError::Busy));
    // Other lanes have room of their own.
    assert!(acc
        .try_verify(Rule::Strict, third.0, third.1.clone(), third.2)
        .await
        .is_ok());
    // The waiting form gets in once the first batch has run.
    let verdict = acc
        .verify(Rule::Dalek, third.0, third.1, third.2)
        .await
        .unwrap();
    assert!(verdict.is_valid());
    assert_eq!(held.await.unwrap().unwrap().len(), 2);
    // More items than the queue can ever hold: a clear error, not a hang.
    let err = acc
        .verify_batch(Rule::Dalek, items(3, 0, 4))
        .await
        .unwrap_err();
    assert!(matches!(err, AcceleratorError::Invalid(_)), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_request_costs_no_one_else_anything() {
    let acc = Accelerator::new(Engine::cpu(), config(64, Duration::from_secs(1), 1024));
    let all = items(6, 2, 5);
    let expected = direct(Rule::Strict, &all);
    let mut handles = Vec::new();
    for (pk, msg, sig) in all {
        let a = acc.clone();
        handles.push(tokio::spawn(async move {
            a.verify(Rule::Strict, pk, msg, sig).await
        }));
    }
    tokio::task::yield_now().await;
    handles[2].abort();
    handles[4].abort();
    for (i, h) in handles.into_iter().enumerate() {
        match h.await {
            Ok(v) => assert_eq!(v.unwrap(), expected[i], "request {i}"),
            Err(e) => assert!(e.is_cancelled() && (i == 2 || i == 4), "request {i}: {e}"),
        }
    }
    // The lane goes on serving.
    let one = items(1, 0, 6).remove(0);
    assert!(acc
        .verify(Rule::Strict, one.0, one.1, one.2)
        .await
        .unwrap()
        .is_valid());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_what_was_done() {
    let acc = Accelerator::new(Engine::cpu(), config(64, Duration::from_micros(100), 1024));
    let all = items(10, 0, 7);
    acc.verify_batch(Rule::Zip215, all).await.unwrap();
    acc.sha256(b"abc".to_vec()).await.unwrap();
    let text = acc.metrics_text();
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_string()
    };
    assert!(line("vera_items_total{lane=\"verify-zip215\"}").ends_with(" 10"));
    assert!(line("vera_items_total{lane=\"sha256\"}").ends_with(" 1"));
    assert!(line("vera_batch_size_count{lane=\"verify-zip215\"}").ends_with(" 1"));
    assert!(line("vera_request_seconds_count{lane=\"sha256\"}").ends_with(" 1"));
    assert!(line("vera_engine_batches_total{backend=\"cpu\"}").ends_with(" 2"));
    // Per backend: 11 items on the CPU, none on the GPU, two batches in the latency histogram.
    assert!(line("vera_engine_items_total{backend=\"cpu\"}").ends_with(" 11"));
    assert!(line("vera_engine_items_total{backend=\"gpu\"}").ends_with(" 0"));
    assert!(line("vera_engine_batch_seconds_count{backend=\"cpu\"}").ends_with(" 2"));
    assert!(line("vera_engine_batch_seconds_bucket{le=\"+Inf\",backend=\"cpu\"}").ends_with(" 2"));
    assert!(line("vera_gpu_fallbacks_total").ends_with(" 0"));
    assert!(line("vera_pending_items{lane=\"verify-strict\"}").ends_with(" 0"));
    assert!(text.trim_end().ends_with("# EOF"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merkle_trees_from_many_callers_each_get_their_root() {
    let acc = Accelerator::new(Engine::cpu(), config(64, Duration::from_micros(500), 1024));
    let cpu = Engine::cpu();
    let mut tasks = Vec::new();
    for t in 0..40usize {
        let acc = acc.clone();
        tasks.push(tokio::spawn(async move {
            let scheme = if t % 2 == 0 {
                vera_engine::MerkleScheme::Rfc6962
            } else {
                vera_engine::MerkleScheme::Bitcoin
            };
            let leaves: Vec<Vec<u8>> = (0..t * 7 + 1)
                .map(|i| {
                    let mut l = vec![0u8; 32];
                    l[..8].copy_from_slice(&((t * 1000 + i) as u64).to_le_bytes());
                    l
                })
                .collect();
            let got = acc.merkle_root(scheme, leaves.clone()).await;
            (scheme, leaves, got)
        }));
    }
    // A malformed tree among them is an error for its caller alone.
    let bad = acc
        .merkle_root(vera_engine::MerkleScheme::Bitcoin, vec![vec![0u8; 31]])
        .await;
    assert!(matches!(bad, Err(AcceleratorError::Invalid(_))), "{bad:?}");
    for t in tasks {
        let (scheme, leaves, got) = t.await.expect("task");
        let buf = vera_engine::MessageBuf::from_slices(&leaves).expect("fits");
        let want = cpu.merkle_root(scheme, buf.as_messages()).expect("root");
        assert_eq!(got.expect("root"), want);
    }
}

#[tokio::test(start_paused = true)]
async fn try_hashing_and_merkle_are_busy_when_their_queue_is_full() {
    let acc = Accelerator::new(Engine::cpu(), config(64, Duration::from_secs(10), 1));
    // One message fills the sha256 queue until its batch runs, at the 10 s deadline.
    let a = acc.clone();
    let held = tokio::spawn(async move { a.sha256(b"abc".to_vec()).await });
    tokio::task::yield_now().await;
    assert_eq!(
        acc.try_sha256(b"x".to_vec()).await,
        Err(AcceleratorError::Busy)
    );
    let b = acc.clone();
    let tree = vec![vec![1u8; 32], vec![2u8; 32]];
    let held_tree = tokio::spawn({
        let tree = tree.clone();
        async move {
            b.merkle_root(vera_engine::MerkleScheme::Bitcoin, tree)
                .await
        }
    });
    tokio::task::yield_now().await;
    assert!(matches!(
        acc.try_merkle_root(vera_engine::MerkleScheme::Bitcoin, tree.clone())
            .await,
        Err(AcceleratorError::Busy)
    ));
    // The held requests are answered, correctly, once their deadline passes.
    assert_eq!(held.await.unwrap().unwrap()[0], 0xba);
    let want = Engine::cpu()
        .merkle_root(
            vera_engine::MerkleScheme::Bitcoin,
            vera_engine::MessageBuf::from_slices(&tree)
                .unwrap()
                .as_messages(),
        )
        .unwrap();
    assert_eq!(held_tree.await.unwrap().unwrap(), want);
    // With room again, the try_ forms go through.
    assert!(acc.try_sha256(b"x".to_vec()).await.is_ok());
}

/// Inclusion proofs from 15 concurrent callers, one at a time and in pairs, both schemes: each
/// caller gets the verdicts of the single-proof references (`vera_engine::merkle`), reasons
/// included, and the proofs shared engine batches (fewer batches than proofs in each lane).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn inclusion_proofs_from_many_callers_each_get_their_verdicts() {
    use vera_engine::merkle::{
        bitcoin_branch, bitcoin_root_from_branch, rfc6962_inclusion_proof, rfc6962_verify_inclusion,
    };
    use vera_engine::MerkleScheme;
    use vera_node_adapter::accelerator::ProofItem;

    let acc = Accelerator::new(Engine::cpu(), config(256, Duration::from_millis(2), 4096));
    let cpu = Engine::cpu();
    let mut rng = StdRng::seed_from_u64(17);
    let leaves: Vec<[u8; 32]> = (0..37).map(|_| rng.gen()).collect();
    let mut expected = Vec::new();
    for scheme in MerkleScheme::ALL {
        let root = cpu.merkle_root_from_hashes(scheme, &leaves).unwrap().root;
        for i in 0..leaves.len() as u64 {
            let path = match scheme {
                MerkleScheme::Rfc6962 => rfc6962_inclusion_proof(&leaves, i).unwrap(),
                MerkleScheme::Bitcoin => bitcoin_branch(&leaves, i).unwrap(),
            };
            // Every third proof points at the wrong leaf.
            let leaf = leaves[((i + u64::from(i % 3 == 0)) % 37) as usize];
            let valid = match scheme {
                MerkleScheme::Rfc6962 => rfc6962_verify_inclusion(&leaf, i, 37, &path, &root),
                MerkleScheme::Bitcoin if bitcoin_root_from_branch(&leaf, &path, i) == root => {
                    Ok(())
                }
                MerkleScheme::Bitcoin => Err(vera_engine::ProofError::RootMismatch),
            };
            let item: ProofItem = (leaf, i, 37, path, root);
            expected.push((scheme, item, valid));
        }
    }
    let mut tasks = Vec::new();
    for (k, chunk) in expected.chunks(5).enumerate() {
        let acc = acc.clone();
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            if k % 2 == 0 {
                for (scheme, item, _) in &chunk {
                    got.push(acc.verify_inclusion(*scheme, item.clone()).await.unwrap());
                }
            } else {
                for (scheme, item, _) in &chunk {
                    let v = acc
                        .verify_inclusion_batch(*scheme, vec![item.clone(), item.clone()])
                        .await
                        .unwrap();
                    assert_eq!(v[0], v[1]);
                    got.push(v[0]);
                }
            }
            (chunk, got)
        }));
    }
    let mut valid = 0;
    for t in tasks {
        let (chunk, got) = t.await.expect("task");
        for ((_, item, want), got) in chunk.iter().zip(got) {
            assert_eq!(got, *want, "proof of leaf {}", item.1);
            valid += usize::from(want.is_ok());
        }
    }
    assert!(valid > 0 && valid < expected.len());
    let metrics = acc.metrics_text();
    let value = |name: &str, lane: &str| -> f64 {
        let key = format!("{name}{{lane=\"{lane}\"}} ");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&key))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{key} missing from:\n{metrics}"))
    };
    for lane in ["proofs-rfc6962", "proofs-bitcoin"] {
        let (items, batches) = (
            value("vera_items_total", lane),
            value("vera_batch_size_count", lane),
        );
        assert!(
            items >= 37.0 && batches < items,
            "{lane}: {batches} batches of {items} items"
        );
    }
}

/// A chain past the engine's limits is its caller's error alone: callers whose chains share the
/// batch get their ends, as the engine computes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_past_the_limits_fails_only_its_caller() {
    use vera_engine::hash_chains::MAX_CHAIN_HASHES;
    use vera_engine::HashChain;
    let engine = Engine::cpu();
    let acc = Accelerator::new(engine.clone(), config(64, Duration::from_millis(20), 1024));
    let good: Vec<HashChain> = (0..10u8)
        .map(|i| HashChain {
            start: [i; 32],
            hashes: u64::from(i) * 3,
            mixin: (i % 2 == 0).then_some([7; 32]),
        })
        .collect();
    let bad = vec![HashChain {
        start: [0; 32],
        hashes: MAX_CHAIN_HASHES + 1,
        mixin: None,
    }];
    let huge = vec![HashChain {
        hashes: u64::MAX,
        ..bad[0]
    }];
    let (g, b, h) = tokio::join!(
        acc.hash_chains(good.clone()),
        acc.hash_chains(bad),
        acc.hash_chains(huge)
    );
    assert_eq!(
        g.expect("the good caller's chains"),
        engine.hash_chains(&good).unwrap()
    );
    for r in [b, h] {
        assert!(matches!(r, Err(AcceleratorError::Invalid(_))), "{r:?}");
    }
}
