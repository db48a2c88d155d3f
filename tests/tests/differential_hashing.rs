//! Differential tests: every engine's SHA-256 digests, Merkle roots and hash chains against
//! independent models on sha2's `Digest` API (`vera_tests::reference`, and the proof models
//! here), and RFC 6962 / Bitcoin proofs against the RFC's own recursive definitions.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use vera_engine::hash_chains::{MAX_BATCH_HASHES, MAX_CHAIN_HASHES};
use vera_engine::merkle::{
    bitcoin_branch, bitcoin_root_from_branch, rfc6962_consistency_proof, rfc6962_inclusion_proof,
    rfc6962_verify_consistency, rfc6962_verify_inclusion,
};
use vera_engine::proofs::inclusion_sides;
use vera_engine::{
    Engine, Error, HashChain, MerkleScheme, MessageBuf, Messages, ProofError, ProofVerdict,
    ProofsBuf,
};
use vera_tests::engines;
use vera_tests::reference::{
    bitcoin_root, chain_end, leaf_hash, mth, node_hash, sha256, solana_next_hash, split, Hash,
};

// ---------------------------------------------------------------------------------------------
// Models
// ---------------------------------------------------------------------------------------------

/// RFC 6962 §2.1.1 PATH(m, D[n]).
fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    let n = d.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

/// RFC 6962 §2.1.2 PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
fn consistency(m: usize, d: &[Hash]) -> Vec<Hash> {
    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { Vec::new() } else { vec![mth(d)] };
        }
        let k = split(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }
    subproof(m, d, true)
}

fn bitcoin_node(l: &Hash, r: &Hash) -> Hash {
    sha256(&[&sha256(&[l, r])])
}

/// Bitcoin branch for leaf `i`: at each level the sibling, or the node itself when it is an odd
/// last node (paired with itself).
fn bitcoin_branch_model(txids: &[Hash], mut i: usize) -> Vec<Hash> {
    let mut level = txids.to_vec();
    let mut out = Vec::new();
    while level.len() > 1 {
        out.push(*level.get(i ^ 1).unwrap_or(&level[i]));
        if level.len() % 2 == 1 {
            let last = *level.last().expect("non-empty");
            level.push(last);
        }
        level = level
            .chunks(2)
            .map(|p| bitcoin_node(&p[0], &p[1]))
            .collect();
        i /= 2;
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn rand_bytes(rng: &mut StdRng, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    rng.fill_bytes(&mut v);
    v
}

fn rand_hashes(rng: &mut StdRng, n: usize) -> Vec<Hash> {
    (0..n)
        .map(|_| {
            let mut h = [0u8; 32];
            rng.fill_bytes(&mut h);
            h
        })
        .collect()
}

fn buf_of<M: AsRef<[u8]>>(msgs: &[M]) -> MessageBuf {
    MessageBuf::from_slices(msgs).expect("small")
}

/// Every engine's digests of `msgs` equal sha2's, item by item: SHA-256, and double SHA-256
/// (sha2 applied twice).
fn check_sha256(engines: &[(String, Engine)], label: &str, msgs: &[Vec<u8>]) {
    let buf = buf_of(msgs);
    check_sha256_view(engines, label, msgs, buf.as_messages());
}

fn check_sha256_view(
    engines: &[(String, Engine)],
    label: &str,
    msgs: &[Vec<u8>],
    view: Messages<'_>,
) {
    assert_eq!(view.len(), msgs.len());
    let once: Vec<Hash> = msgs.iter().map(|m| Sha256::digest(m).into()).collect();
    let twice: Vec<Hash> = once.iter().map(|d| Sha256::digest(d).into()).collect();
    for (name, engine) in engines {
        for (op, want) in [("sha256", &once), ("sha256d", &twice)] {
            let got = if op == "sha256" {
                engine.sha256(view)
            } else {
                engine.sha256d(view)
            }
            .unwrap_or_else(|e| panic!("{label}: engine {name}: {op}: {e}"));
            assert_eq!(got.len(), msgs.len(), "{label}: engine {name}: {op}: count");
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert_eq!(
                    hex::encode(g),
                    hex::encode(w),
                    "{label}: engine {name}: {op}: message {i} ({} bytes, starts {})",
                    msgs[i].len(),
                    hex::encode(&msgs[i][..msgs[i].len().min(32)])
                );
            }
        }
    }
}

/// Every engine's RFC 6962 root over leaf data (and over the leaf hashes) equals the model's.
fn check_rfc6962(engines: &[(String, Engine)], label: &str, data: &[Vec<u8>]) -> Hash {
    let hashes: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
    let want = mth(&hashes);
    let buf = buf_of(data);
    for (name, engine) in engines {
        let got = engine
            .merkle_root(MerkleScheme::Rfc6962, buf.as_messages())
            .unwrap_or_else(|e| panic!("{label}: engine {name}: {e}"));
        assert_eq!(
            (hex::encode(got.root), got.leaves, got.mutated),
            (hex::encode(want), data.len() as u64, None),
            "{label}: engine {name}: rfc6962 root over {} leaves",
            data.len()
        );
        let got = engine
            .merkle_root_from_hashes(MerkleScheme::Rfc6962, &hashes)
            .unwrap_or_else(|e| panic!("{label}: engine {name}: {e}"));
        assert_eq!(
            (hex::encode(got.root), got.leaves, got.mutated),
            (hex::encode(want), data.len() as u64, None),
            "{label}: engine {name}: rfc6962 root from {} hashes",
            data.len()
        );
    }
    want
}

/// Every engine's Bitcoin root and `mutated` flag (from txids as messages and as hashes) equal
/// Bitcoin Core's. Returns the model's (root, mutated).
fn check_bitcoin(engines: &[(String, Engine)], label: &str, txids: &[Hash]) -> (Hash, bool) {
    let want = bitcoin_root(txids);
    let buf = buf_of(txids);
    for (name, engine) in engines {
        for (how, got) in [
            (
                "messages",
                engine.merkle_root(MerkleScheme::Bitcoin, buf.as_messages()),
            ),
            (
                "hashes",
                engine.merkle_root_from_hashes(MerkleScheme::Bitcoin, txids),
            ),
        ] {
            let got = got.unwrap_or_else(|e| panic!("{label}: engine {name}: {e}"));
            assert_eq!(
                (hex::encode(got.root), got.leaves, got.mutated),
                (hex::encode(want.0), txids.len() as u64, Some(want.1)),
                "{label}: engine {name}: bitcoin root from {how}, {} txids",
                txids.len()
            );
        }
    }
    want
}

/// 0, 1, 2, 3, and 2^k − 1, 2^k, 2^k + 1 for k up to 16.
fn leaf_counts() -> Vec<usize> {
    let mut v = vec![0, 1, 2, 3];
    for k in 2..=16 {
        v.extend([(1 << k) - 1, 1 << k, (1 << k) + 1]);
    }
    v.sort();
    v.dedup();
    v
}

// ---------------------------------------------------------------------------------------------
// SHA-256
// ---------------------------------------------------------------------------------------------

#[test]
fn sha256_every_length_to_300() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(1);
    let msgs: Vec<Vec<u8>> = (0..=300).map(|n| rand_bytes(&mut rng, n)).collect();
    // Each length alone.
    for m in &msgs {
        check_sha256(
            &engines,
            &format!("length {} alone", m.len()),
            std::slice::from_ref(m),
        );
    }
    // All in one batch, in order (≈ 64 KiB of work: the parallel path).
    check_sha256(&engines, "lengths 0..=300 in order", &msgs);
    // Shuffled into batches of mixed lengths and sizes (some serial, some parallel).
    let mut shuffled = msgs.clone();
    for round in 0..3 {
        shuffled.shuffle(&mut rng);
        let mut rest = &shuffled[..];
        for size in [1, 2, 3, 7, 33, 64, 100] {
            let (now, later) = rest.split_at(size.min(rest.len()));
            check_sha256(
                &engines,
                &format!("round {round}: mixed batch of {size}"),
                now,
            );
            rest = later;
        }
        check_sha256(
            &engines,
            &format!("round {round}: the remaining {}", rest.len()),
            rest,
        );
    }
    // All-zero and all-ones contents (padding bytes look like message bytes).
    for fill in [0u8, 0x80, 0xff] {
        let msgs: Vec<Vec<u8>> = (0..=300).map(|n| vec![fill; n]).collect();
        check_sha256(
            &engines,
            &format!("lengths 0..=300 filled with {fill:#x}"),
            &msgs,
        );
    }
}

#[test]
fn sha256_random_lengths_to_64_kib() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(2);
    let msgs: Vec<Vec<u8>> = (0..48)
        .map(|_| {
            let n = rng.gen_range(0..=65536);
            rand_bytes(&mut rng, n)
        })
        .collect();
    check_sha256(&engines, "48 random lengths up to 64 KiB", &msgs);
    for m in msgs.iter().take(8) {
        check_sha256(
            &engines,
            &format!("{} bytes alone", m.len()),
            std::slice::from_ref(m),
        );
    }
    let exact: Vec<Vec<u8>> = [65535, 65536, 65537, 32 * 1024 - 1, 32 * 1024]
        .iter()
        .map(|&n| rand_bytes(&mut rng, n))
        .collect();
    check_sha256(&engines, "around 32 and 64 KiB", &exact);
}

#[test]
fn sha256_batches_across_the_parallel_threshold() {
    // engine/src/backend/cpu/sha256.rs goes parallel when message bytes + 64 per message reach
    // 32 KiB; these batches sit on either side of that line, and far past it.
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(3);
    let cases: Vec<(String, Vec<Vec<u8>>)> = vec![
        ("511 empty".into(), vec![Vec::new(); 511]),
        ("512 empty".into(), vec![Vec::new(); 512]),
        ("513 empty".into(), vec![Vec::new(); 513]),
        (
            "255 × 64 B".into(),
            (0..255).map(|_| rand_bytes(&mut rng, 64)).collect(),
        ),
        (
            "256 × 64 B".into(),
            (0..256).map(|_| rand_bytes(&mut rng, 64)).collect(),
        ),
        (
            "257 × 64 B".into(),
            (0..257).map(|_| rand_bytes(&mut rng, 64)).collect(),
        ),
        ("one of 32703 B".into(), vec![rand_bytes(&mut rng, 32703)]),
        ("one of 32704 B".into(), vec![rand_bytes(&mut rng, 32704)]),
        (
            "20000 random up to 100 B".into(),
            (0..20000)
                .map(|_| {
                    let n = rng.gen_range(0..=100);
                    rand_bytes(&mut rng, n)
                })
                .collect(),
        ),
        (
            "6000 of 55/56/63/64 B".into(),
            (0..6000)
                .map(|i| rand_bytes(&mut rng, [55, 56, 63, 64][i % 4]))
                .collect(),
        ),
        (
            "3 large + 3000 small".into(),
            (0..3003)
                .map(|i| {
                    let n = if i % 1000 == 0 {
                        40000
                    } else {
                        rng.gen_range(0..40)
                    };
                    rand_bytes(&mut rng, n)
                })
                .collect(),
        ),
        ("empty batch".into(), Vec::new()),
    ];
    for (label, msgs) in &cases {
        check_sha256(&engines, label, msgs);
    }
}

#[test]
fn sha256_messages_at_offsets_not_starting_at_zero() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(4);
    for (count, max_len) in [(1usize, 80usize), (10, 300), (700, 120)] {
        let msgs: Vec<Vec<u8>> = (0..count)
            .map(|_| {
                let n = rng.gen_range(0..=max_len);
                rand_bytes(&mut rng, n)
            })
            .collect();
        // Junk before the first message and after the last.
        for prefix in [1usize, 5, 64, 1000] {
            let mut bytes = rand_bytes(&mut rng, prefix);
            let mut offsets = vec![prefix as u32];
            for m in &msgs {
                bytes.extend_from_slice(m);
                offsets.push(bytes.len() as u32);
            }
            bytes.extend(rand_bytes(&mut rng, 37));
            let view = Messages::new(&bytes, &offsets).expect("valid offsets");
            check_sha256_view(
                &engines,
                &format!("{count} messages after {prefix} junk bytes"),
                &msgs,
                view,
            );
        }
        // Windows of a larger list: offsets[a..=b].
        let buf = buf_of(&msgs);
        let all = buf.as_messages();
        for (a, b) in [
            (0, count),
            (1.min(count), count),
            (count / 3, 2 * count / 3),
            (count, count),
        ] {
            let view = Messages::new(all.bytes(), &all.offsets()[a..=b]).expect("window");
            check_sha256_view(
                &engines,
                &format!("window {a}..{b} of {count}"),
                &msgs[a..b],
                view,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Merkle roots
// ---------------------------------------------------------------------------------------------

#[test]
fn rfc6962_roots_against_the_recursive_definition() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(5);
    let mut sizes = leaf_counts();
    sizes.extend((0..6).map(|_| rng.gen_range(4..5000)));
    for n in sizes {
        let data: Vec<Vec<u8>> = (0..n)
            .map(|_| {
                let len = rng.gen_range(0..=40);
                rand_bytes(&mut rng, len)
            })
            .collect();
        check_rfc6962(&engines, &format!("{n} leaves"), &data);
    }
    // Known answers that pin the model itself: the empty tree, and one empty leaf.
    assert_eq!(
        hex::encode(mth(&[])),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        hex::encode(mth(&[leaf_hash(b"")])),
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    );
    // Leaves given through offsets that do not start at 0.
    let data: Vec<Vec<u8>> = (0..100).map(|i| vec![i as u8; i % 7]).collect();
    let mut bytes = vec![0xee; 9];
    let mut offsets = vec![9u32];
    for d in &data {
        bytes.extend_from_slice(d);
        offsets.push(bytes.len() as u32);
    }
    bytes.extend([0xee; 9]);
    let want = mth(&data.iter().map(|d| leaf_hash(d)).collect::<Vec<_>>());
    for (name, engine) in &engines {
        let got = engine
            .merkle_root(
                MerkleScheme::Rfc6962,
                Messages::new(&bytes, &offsets).expect("valid"),
            )
            .expect("root");
        assert_eq!(got.root, want, "engine {name}: leaves at offset 9");
    }
}

#[test]
fn bitcoin_roots_against_bitcoin_core() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(6);
    let mut sizes = leaf_counts();
    sizes.extend((0..6).map(|_| rng.gen_range(4..5000)));
    for n in sizes {
        let txids = rand_hashes(&mut rng, n);
        let (_, mutated) = check_bitcoin(&engines, &format!("{n} txids"), &txids);
        // Random txids never collide, and an odd last node paired with itself is not a mutation.
        assert!(!mutated, "{n} random txids reported mutated");
    }
    assert_eq!(bitcoin_root(&[]), ([0; 32], false));
    // Txids given through offsets that do not start at 0, with junk after them.
    let txids = rand_hashes(&mut rng, 77);
    let mut bytes = vec![0x55; 5];
    let mut offsets = vec![5u32];
    for t in &txids {
        bytes.extend_from_slice(t);
        offsets.push(bytes.len() as u32);
    }
    bytes.extend([0x55; 40]);
    let want = bitcoin_root(&txids);
    for (name, engine) in &engines {
        let got = engine
            .merkle_root(
                MerkleScheme::Bitcoin,
                Messages::new(&bytes, &offsets).expect("valid"),
            )
            .expect("root");
        assert_eq!(
            (got.root, got.mutated),
            (want.0, Some(want.1)),
            "engine {name}: offset 5"
        );
        // A leaf that is not 32 bytes is an error, not a root.
        let mut bad = offsets.clone();
        bad[10] -= 1;
        let err = engine
            .merkle_root(
                MerkleScheme::Bitcoin,
                Messages::new(&bytes, &bad).expect("valid"),
            )
            .expect_err("a 31-byte txid");
        assert!(
            matches!(err, Error::LeafLength { index: 9, .. }),
            "engine {name}: {err}"
        );
    }
}

#[test]
fn bitcoin_mutated_trees() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(7);
    let t = rand_hashes(&mut rng, 16);
    let (a, b, c, d, e, f) = (t[0], t[1], t[2], t[3], t[4], t[5]);
    let expect = |label: &str, txids: &[Hash], mutated: bool| {
        let (root, m) = check_bitcoin(&engines, label, txids);
        assert_eq!(m, mutated, "{label}: the model's mutated flag");
        root
    };
    // Identical siblings at level 0.
    expect("[a, a]", &[a, a], true);
    expect("[a, b, c, c]", &[a, b, c, c], true);
    // Identical txids that are not siblings.
    expect("[a, b, b, c]", &[a, b, b, c], false);
    // CVE-2012-2459: [a, b, c] and [a, b, c, c] share a root; only the second is mutated.
    let r3 = expect("[a, b, c]", &[a, b, c], false);
    let r4 = expect("[a, b, c, c] again", &[a, b, c, c], true);
    assert_eq!(r3, r4);
    let r6 = expect("[a..f]", &[a, b, c, d, e, f], false);
    let r8 = expect("[a..f, e, f]", &[a, b, c, d, e, f, e, f], true);
    assert_eq!(r6, r8, "duplicating the last pair keeps the root");
    // An identical pair only at level 1: no identical txid siblings.
    expect("[a, b, a, b]", &[a, b, a, b], true);
    // Only at level 3: two identical 8-leaf subtrees.
    let eight = &t[..8];
    expect("two identical 8-subtrees", &[eight, eight].concat(), true);
    // A higher-level self-pairing of an odd last node is not a mutation (n = 5, 6, 9, 11).
    for n in [5, 6, 9, 11] {
        expect(&format!("{n} distinct"), &t[..n], false);
    }
    // Large trees (the parallel level path): a level-0 pair deep inside, an identical pair at
    // level 10 (two identical 1,024-leaf subtrees inside 4,100 leaves), and an odd last node.
    let mut big = rand_hashes(&mut rng, 5000);
    expect("5000 distinct", &big, false);
    big[4001] = big[4000];
    expect("5000, level-0 pair at 4000", &big, true);
    let mut big = rand_hashes(&mut rng, 4100);
    let (first, second) = big.split_at_mut(2048);
    second[..1024].copy_from_slice(&first[1024..2048]);
    expect(
        "4100, identical 1024-subtrees at 1024 and 2048",
        &big,
        false,
    );
    let mut big = rand_hashes(&mut rng, 4100);
    let (first, second) = big.split_at_mut(1024);
    second[..1024].copy_from_slice(&first[..1024]);
    expect("4100, identical sibling 1024-subtrees", &big, true);
    // Identical txids at level 0 that are adjacent but not siblings (odd positions).
    let mut big = rand_hashes(&mut rng, 3001);
    big[1002] = big[1001];
    expect("3001, adjacent non-siblings", &big, false);
}

// ---------------------------------------------------------------------------------------------
// Proofs
// ---------------------------------------------------------------------------------------------

fn tweak(h: &Hash, byte: usize) -> Hash {
    let mut t = *h;
    t[byte % 32] ^= 1 << (byte % 8);
    t
}

#[test]
fn rfc6962_inclusion_proofs() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(8);
    let mut checked = 0usize;
    for n in [1usize, 2, 3, 5, 8, 127, 300, 513] {
        let data: Vec<Vec<u8>> = (0..n).map(|_| rand_bytes(&mut rng, 20)).collect();
        let root = check_rfc6962(&engines, &format!("{n} leaves"), &data);
        let hashes: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        for (name, engine) in &engines {
            assert_eq!(
                engine
                    .merkle_root_from_hashes(MerkleScheme::Rfc6962, &hashes)
                    .expect("root")
                    .root,
                root,
                "engine {name}"
            );
        }
        let nn = n as u64;
        for m in 0..n {
            let mi = m as u64;
            let proof = rfc6962_inclusion_proof(&hashes, mi).expect("in range");
            assert_eq!(proof, path(m, &hashes), "PATH({m}, D[{n}])");
            let leaf = &hashes[m];
            assert_eq!(
                rfc6962_verify_inclusion(leaf, mi, nn, &proof, &root),
                Ok(()),
                "{m} of {n}"
            );
            checked += 1;
            // Tampered: each element, the leaf, the root, the index, the length.
            for j in 0..proof.len() {
                let mut p = proof.clone();
                p[j] = tweak(&p[j], j * 7 + m);
                assert!(
                    rfc6962_verify_inclusion(leaf, mi, nn, &p, &root).is_err(),
                    "{m}/{n} el {j}"
                );
            }
            assert!(rfc6962_verify_inclusion(&tweak(leaf, m), mi, nn, &proof, &root).is_err());
            assert!(rfc6962_verify_inclusion(leaf, mi, nn, &proof, &tweak(&root, m)).is_err());
            if n > 1 {
                let other = (mi + 1) % nn;
                assert!(
                    rfc6962_verify_inclusion(leaf, other, nn, &proof, &root).is_err(),
                    "{m}/{n} index"
                );
            }
            assert!(rfc6962_verify_inclusion(leaf, nn, nn, &proof, &root).is_err());
            // (A different tree size is not asserted to fail: RFC 9162's algorithm may read a
            // proof element as a larger subtree, e.g. index 0 of 3 leaves verifies as size 4; the
            // root is what binds the proof.)
            if let Some((_, shorter)) = proof.split_last() {
                assert!(rfc6962_verify_inclusion(leaf, mi, nn, shorter, &root).is_err());
            }
            let mut longer = proof.clone();
            longer.push(root);
            assert!(rfc6962_verify_inclusion(leaf, mi, nn, &longer, &root).is_err());
        }
        assert!(rfc6962_inclusion_proof(&hashes, nn).is_err());
    }
    eprintln!("rfc6962 inclusion proofs checked: {checked}");
}

#[test]
fn rfc6962_consistency_proofs() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(9);
    let mut checked = 0usize;
    for n in [1usize, 2, 3, 7, 8, 9, 300, 385] {
        let data: Vec<Vec<u8>> = (0..n).map(|_| rand_bytes(&mut rng, 12)).collect();
        let new_root = check_rfc6962(&engines, &format!("{n} leaves"), &data);
        let hashes: Vec<Hash> = data.iter().map(|d| leaf_hash(d)).collect();
        let nn = n as u64;
        for m in 1..=n {
            let mi = m as u64;
            // The old root comes from the engines too.
            let old_root = check_rfc6962(&engines, &format!("{m} of {n} leaves"), &data[..m]);
            let proof = rfc6962_consistency_proof(&hashes, mi).expect("0 < m <= n");
            assert_eq!(proof, consistency(m, &hashes), "PROOF({m}, D[{n}])");
            assert_eq!(
                rfc6962_verify_consistency(mi, nn, &old_root, &new_root, &proof),
                Ok(()),
                "{m} -> {n}"
            );
            checked += 1;
            for j in 0..proof.len() {
                let mut p = proof.clone();
                p[j] = tweak(&p[j], j + m);
                assert!(
                    rfc6962_verify_consistency(mi, nn, &old_root, &new_root, &p).is_err(),
                    "{m} -> {n}: element {j} tampered"
                );
            }
            assert!(
                rfc6962_verify_consistency(mi, nn, &tweak(&old_root, m), &new_root, &proof)
                    .is_err()
            );
            assert!(
                rfc6962_verify_consistency(mi, nn, &old_root, &tweak(&new_root, m), &proof)
                    .is_err()
            );
            if m < n {
                assert!(rfc6962_verify_consistency(mi, nn, &new_root, &old_root, &proof).is_err());
                assert!(
                    rfc6962_verify_consistency(mi + 1, nn, &old_root, &new_root, &proof).is_err()
                );
                let mut longer = proof.clone();
                longer.push(new_root);
                assert!(rfc6962_verify_consistency(mi, nn, &old_root, &new_root, &longer).is_err());
                if let Some((_, shorter)) = proof.split_last() {
                    assert!(
                        rfc6962_verify_consistency(mi, nn, &old_root, &new_root, shorter).is_err()
                    );
                }
            }
        }
        assert!(rfc6962_verify_consistency(0, nn, &new_root, &new_root, &[]).is_err());
        assert!(rfc6962_verify_consistency(nn + 1, nn, &new_root, &new_root, &[]).is_err());
        assert!(rfc6962_consistency_proof(&hashes, 0).is_err());
        assert!(rfc6962_consistency_proof(&hashes, nn + 1).is_err());
    }
    eprintln!("rfc6962 consistency proofs checked: {checked}");
}

#[test]
fn bitcoin_branches() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(10);
    let mut checked = 0usize;
    for n in [1usize, 2, 3, 5, 6, 64, 257, 300] {
        let txids = rand_hashes(&mut rng, n);
        let (root, _) = check_bitcoin(&engines, &format!("{n} txids"), &txids);
        for i in 0..n {
            let branch = bitcoin_branch(&txids, i as u64).expect("in range");
            assert_eq!(branch, bitcoin_branch_model(&txids, i), "branch {i} of {n}");
            assert_eq!(bitcoin_root_from_branch(&txids[i], &branch, i as u64), root);
            checked += 1;
            for j in 0..branch.len() {
                let mut b = branch.clone();
                b[j] = tweak(&b[j], i + j);
                assert_ne!(
                    bitcoin_root_from_branch(&txids[i], &b, i as u64),
                    root,
                    "{i}/{n} el {j}"
                );
            }
            assert_ne!(
                bitcoin_root_from_branch(&tweak(&txids[i], i), &branch, i as u64),
                root
            );
            // Flipping a side bit changes the root wherever the sibling is not the node itself.
            for j in 0..branch.len() {
                let own = bitcoin_branch_model(&txids, i); // siblings
                let mut node = txids[i];
                let mut idx = i;
                for s in own.iter().take(j) {
                    node = if idx & 1 == 1 {
                        bitcoin_node(s, &node)
                    } else {
                        bitcoin_node(&node, s)
                    };
                    idx >>= 1;
                }
                if own[j] != node {
                    let flipped = (i as u64) ^ (1 << j);
                    assert_ne!(
                        bitcoin_root_from_branch(&txids[i], &branch, flipped),
                        root,
                        "{i}/{n} bit {j}"
                    );
                }
            }
        }
        assert!(bitcoin_branch(&txids, n as u64).is_err());
    }
    eprintln!("bitcoin branches checked: {checked}");
}

// ---------------------------------------------------------------------------------------------
// Batches of inclusion proofs
// ---------------------------------------------------------------------------------------------

/// The verdict for a Bitcoin branch, from the models here: the index below the size, a branch
/// as long as the tree is deep (levels counted by halving), and the fold of Bitcoin Core's
/// `ComputeMerkleRootFromBranch` equal to the root.
fn bitcoin_branch_verdict(
    leaf: &Hash,
    index: u64,
    size: u64,
    branch: &[Hash],
    root: &Hash,
) -> ProofVerdict {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut levels, mut width) = (0, size);
    while width > 1 {
        width = width.div_ceil(2);
        levels += 1;
    }
    if branch.len() != levels {
        return Err(ProofError::Length);
    }
    let mut node = *leaf;
    for (level, sibling) in branch.iter().enumerate() {
        node = if (index >> level) & 1 == 1 {
            bitcoin_node(sibling, &node)
        } else {
            bitcoin_node(&node, sibling)
        };
    }
    if node == *root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// A proof as the batch takes it.
struct Case {
    leaf: Hash,
    index: u64,
    size: u64,
    path: Vec<Hash>,
    root: Hash,
}

/// Damages a valid proof in one of the ways a hostile or buggy peer would, or leaves it as it is.
fn damage(rng: &mut StdRng, mut c: Case) -> Case {
    match rng.gen_range(0..12) {
        0 if !c.path.is_empty() => {
            let j = rng.gen_range(0..c.path.len());
            c.path[j][rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8);
        }
        1 => c.leaf[rng.gen_range(0..32)] ^= 1,
        2 => c.root[rng.gen_range(0..32)] ^= 0x80,
        3 => c.index = (c.index + 1) % c.size,
        4 => c.index = c.size + rng.gen_range(0..3),
        5 => c.size += 1,
        6 if c.size > c.index + 1 => c.size -= 1,
        7 => {
            c.path.pop();
        }
        8 => c.path.push(c.root),
        9 => c.path = vec![c.leaf; 65],
        10 => c.size = u64::MAX,
        11 if c.path.len() > 1 => c.path.swap(0, 1),
        _ => {}
    }
    c
}

/// Every engine's `verify_inclusion` verdicts, proof by proof, equal the single-proof references
/// (`rfc6962_verify_inclusion`, itself held to RFC 6962's PATH and the transparency-dev probes;
/// the Bitcoin model above) on random trees with a third of the proofs damaged. Batch sizes 1, 2,
/// 63, 64, 65 and a few thousand; the engine with 64 KiB bindings runs those in many pieces.
#[test]
fn batch_inclusion_proofs_against_the_references() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(11);
    for scheme in MerkleScheme::ALL {
        let mut cases = Vec::new();
        for n in [1usize, 2, 3, 5, 8, 13, 64, 65, 127, 300, 1000, 4097] {
            let leaves = rand_hashes(&mut rng, n);
            let root = match scheme {
                MerkleScheme::Rfc6962 => mth(&leaves),
                MerkleScheme::Bitcoin => bitcoin_root(&leaves).0,
            };
            // Every leaf of the small trees, a sample of the large.
            let picks: Vec<usize> = if n <= 300 {
                (0..n).collect()
            } else {
                (0..150).map(|_| rng.gen_range(0..n)).collect()
            };
            for i in picks {
                let path = match scheme {
                    MerkleScheme::Rfc6962 => path(i, &leaves),
                    MerkleScheme::Bitcoin => bitcoin_branch_model(&leaves, i),
                };
                let c = Case {
                    leaf: leaves[i],
                    index: i as u64,
                    size: n as u64,
                    path,
                    root,
                };
                cases.push(if rng.gen_range(0..3) == 0 {
                    damage(&mut rng, c)
                } else {
                    c
                });
            }
        }
        // Trees of 2^33 to 2^64 − 1 leaves, too big to build: a random path with the root it
        // folds to. In full trees of 2^33 to 2^63 leaves each side is an index bit; in trees of
        // over 2^63 leaves (paths of up to 64 hashes, the top bit of the sides' high word on
        // the GPU) the length and sides come from `inclusion_sides`, whose wrong answer would
        // build a root the reference refuses, failing the test.
        for k in 0..80 {
            let (index, size, len, sides) = if k % 2 == 0 {
                let levels = rng.gen_range(33..64);
                let index = rng.gen_range(0..1u64 << levels);
                (index, 1u64 << levels, levels, index)
            } else {
                let size = rng.gen_range((1u64 << 63) + 1..=u64::MAX);
                let index = rng.gen_range(size / 2..size);
                let (len, sides) = (0..=64)
                    .find_map(|len| {
                        inclusion_sides(scheme, index, size, len)
                            .ok()
                            .map(|s| (len, s))
                    })
                    .expect("a proof length exists");
                (index, size, len, sides)
            };
            let path = rand_hashes(&mut rng, len);
            let leaf = rand_hashes(&mut rng, 1)[0];
            let mut root = leaf;
            for (level, sibling) in path.iter().enumerate() {
                let (l, r) = if (sides >> level) & 1 == 1 {
                    (sibling, &root)
                } else {
                    (&root, sibling)
                };
                root = match scheme {
                    MerkleScheme::Rfc6962 => node_hash(l, r),
                    MerkleScheme::Bitcoin => bitcoin_node(l, r),
                };
            }
            let c = Case {
                leaf,
                index,
                size,
                path,
                root,
            };
            cases.push(if rng.gen_range(0..3) == 0 {
                damage(&mut rng, c)
            } else {
                c
            });
        }
        let longest = cases.iter().map(|c| c.path.len()).max();
        assert!(longest >= Some(64), "{scheme:?}: longest path {longest:?}");
        cases.shuffle(&mut rng);
        let want: Vec<ProofVerdict> = cases
            .iter()
            .map(|c| match scheme {
                MerkleScheme::Rfc6962 => {
                    rfc6962_verify_inclusion(&c.leaf, c.index, c.size, &c.path, &c.root)
                }
                MerkleScheme::Bitcoin => {
                    bitcoin_branch_verdict(&c.leaf, c.index, c.size, &c.path, &c.root)
                }
            })
            .collect();
        let valid = want.iter().filter(|v| v.is_ok()).count();
        assert!(
            valid > cases.len() / 2 && valid < cases.len(),
            "{scheme:?}: {valid} valid"
        );
        let mut all = ProofsBuf::new();
        for c in &cases {
            all.push(&c.leaf, c.index, c.size, &c.path, &c.root)
                .unwrap();
        }
        let all = all.as_proofs();
        for (name, engine) in &engines {
            for len in [1usize, 2, 63, 64, 65, cases.len()] {
                let start = rng.gen_range(0..=cases.len() - len);
                let batch = all.slice(start..start + len).unwrap();
                let got = engine.verify_inclusion(scheme, batch).unwrap();
                assert_eq!(got.len(), len);
                for (k, (g, w)) in got.iter().zip(&want[start..start + len]).enumerate() {
                    assert_eq!(
                        g,
                        w,
                        "{name} {scheme:?}: batch of {len}, proof {}",
                        start + k
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hash chains (proof of history)
// ---------------------------------------------------------------------------------------------

fn check_chains(engines: &[(String, Engine)], label: &str, chains: &[HashChain]) {
    let want: Vec<Hash> = chains
        .iter()
        .map(|c| chain_end(&c.start, c.hashes, c.mixin.as_ref()))
        .collect();
    for (name, engine) in engines {
        let got = engine
            .hash_chains(chains)
            .unwrap_or_else(|e| panic!("{name} {label}: {e}"));
        assert_eq!(got.len(), chains.len(), "{name} {label}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{name} {label}: chain {i} {:?}", chains[i]);
        }
    }
}

fn rand_chain(rng: &mut StdRng, hashes: u64) -> HashChain {
    let mut start = [0u8; 32];
    rng.fill_bytes(&mut start);
    let mixin = rng.gen_bool(0.5).then(|| rng.gen());
    HashChain {
        start,
        hashes,
        mixin,
    }
}

/// Chains of every short length, with and without a mixin, at the batch sizes around the GPU's
/// workgroup, and across its rounds of 4,096 steps: every engine against the definition.
#[test]
fn hash_chains_against_the_definition() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(0xc4a1);
    let mut short: Vec<HashChain> = Vec::new();
    for hashes in 0..40 {
        for mixin in [None, Some(rng.gen())] {
            short.push(HashChain {
                start: rng.gen(),
                hashes,
                mixin,
            });
        }
    }
    check_chains(&engines, "every length to 39", &short);
    for n in [1usize, 2, 63, 64, 65, 300] {
        let chains: Vec<HashChain> = (0..n)
            .map(|_| {
                let hashes = rng.gen_range(0..200);
                rand_chain(&mut rng, hashes)
            })
            .collect();
        check_chains(&engines, &format!("{n} chains"), &chains);
    }
    // Across the GPU's rounds (4,096 steps per dispatch for few chains, 16 dispatches per
    // submission), each length with and without a mixin (the mixin step comes in the dispatch
    // that ends the plain steps), beside chains that finish in the first round.
    let mut long: Vec<HashChain> = Vec::new();
    for hashes in [4095u64, 4096, 4097, 8192, 8193, 65_536, 70_000] {
        for mixin in [None, Some(rng.gen())] {
            long.push(HashChain {
                start: rng.gen(),
                hashes,
                mixin,
            });
        }
    }
    long.extend((0..10).map(|i| rand_chain(&mut rng, i)));
    long.shuffle(&mut rng);
    check_chains(&engines, "across rounds", &long);
    // More chains than a 64 KiB binding holds (1,365 at 48 bytes each).
    let many: Vec<HashChain> = (0..3000).map(|i| rand_chain(&mut rng, i % 7)).collect();
    check_chains(&engines, "3,000 chains", &many);
    check_chains(&engines, "no chains", &[]);
}

/// Solana entries as chains give Solana's `next_hash`, ticks and entries of transactions alike,
/// and a slot's entries verify when each starts from the previous one's hash.
#[test]
fn solana_entries_are_chains() {
    let engines = engines();
    let mut rng = StdRng::seed_from_u64(0x5017);
    let mut prev: Hash = rng.gen();
    let mut chains = Vec::new();
    let mut claimed = Vec::new();
    for i in 0..200u64 {
        let num_hashes = match i % 5 {
            0 => 0,
            1 => 1,
            _ => rng.gen_range(2..300),
        };
        let mixin: Option<Hash> = (i % 3 != 0).then(|| rng.gen());
        let hash = solana_next_hash(&prev, num_hashes, mixin.as_ref());
        chains.push(HashChain::solana_entry(prev, num_hashes, mixin));
        claimed.push(hash);
        prev = hash;
    }
    for (name, engine) in &engines {
        assert_eq!(
            engine.hash_chains(&chains).expect("chains"),
            claimed,
            "{name}"
        );
    }
}

/// Chains past the limits are refused before any work, on every engine.
#[test]
fn hash_chains_past_the_limits_are_errors() {
    let engines = engines();
    let huge = HashChain {
        start: [0; 32],
        hashes: u64::MAX,
        mixin: None,
    };
    let long = HashChain {
        hashes: MAX_CHAIN_HASHES,
        ..huge
    };
    let too_many = vec![long; (MAX_BATCH_HASHES / MAX_CHAIN_HASHES) as usize + 1];
    let cpu = vera_engine::backend::cpu::CpuBackend::new(Some(2));
    for (name, engine) in &engines {
        for bad in [&[huge][..], &too_many] {
            assert!(
                matches!(engine.hash_chains(bad), Err(Error::TooLarge { .. })),
                "{name}"
            );
            // The backends called directly check too.
            assert!(matches!(cpu.hash_chains(bad), Err(Error::TooLarge { .. })));
            if let Some(gpu) = engine.gpu_backend() {
                assert!(matches!(gpu.hash_chains(bad), Err(Error::TooLarge { .. })));
            }
        }
    }
}
