//! Merkle conformance: RFC 6962 roots, inclusion and consistency proofs and the transparency-dev
//! verifier probes; Bitcoin roots of 14 mainnet blocks (txids recomputed from the raw blocks),
//! CVE-2012-2459 mutations, and branches. Roots run on every engine of the harness; proofs are
//! free functions of `vera_engine::merkle`.
//!
//! Vectors: `tests/vectors/merkle/` (see `tests/vectors/README.md`).

use serde_json::Value;
use sha2::{Digest, Sha256};
use vera_engine::backend::cpu::merkle::rfc6962_leaf;
use vera_engine::merkle::{
    bitcoin_branch, bitcoin_root_from_branch, rfc6962_consistency_proof, rfc6962_inclusion_proof,
    rfc6962_verify_consistency, rfc6962_verify_inclusion,
};
use vera_engine::{Engine, MerkleRoot, MerkleScheme, MessageBuf, ProofError, ProofsBuf};
use vera_tests::{
    engines, field_bool, field_hex, field_hex_list, field_str, field_u64, load_vectors, unhex,
    unhex_n, vector_array,
};

fn to_hashes(list: &[Vec<u8>]) -> Vec<[u8; 32]> {
    list.iter()
        .map(|h| {
            h.as_slice()
                .try_into()
                .unwrap_or_else(|_| panic!("expected a 32-byte hash, got {}", hex::encode(h)))
        })
        .collect()
}

fn flip(h: &[u8; 32], byte: usize, bit: u8) -> [u8; 32] {
    let mut t = *h;
    t[byte % 32] ^= 1 << (bit % 8);
    t
}

// ---------------------------------------------------------------------------------------------
// RFC 6962
// ---------------------------------------------------------------------------------------------

struct Rfc6962Tree {
    tree_size: u64,
    leaves: Vec<Vec<u8>>,
    leaf_hashes: Vec<[u8; 32]>,
    root: [u8; 32],
}

/// The 9 trees (sizes 0..=8) over the standard 8 leaf inputs.
fn rfc6962_trees() -> Vec<Rfc6962Tree> {
    let file = load_vectors("merkle/rfc6962_roots.json");
    let trees: Vec<Rfc6962Tree> = vector_array(&file, "cases")
        .iter()
        .map(|c| {
            assert_eq!(field_str(c, "scheme"), "rfc6962");
            Rfc6962Tree {
                tree_size: field_u64(c, "tree_size"),
                leaves: field_hex_list(c, "leaves"),
                leaf_hashes: to_hashes(&field_hex_list(c, "leaf_hashes")),
                root: unhex_n(field_str(c, "root")),
            }
        })
        .collect();
    assert_eq!(trees.len(), 9, "rfc6962_roots.json: number of cases");
    let all_leaves = &trees[8].leaves;
    for (n, t) in trees.iter().enumerate() {
        assert_eq!(t.tree_size, n as u64, "trees are listed by size");
        assert_eq!(t.leaf_hashes.len(), n);
        // Each tree's leaves are a prefix of the 8-leaf tree's.
        assert_eq!(t.leaves[..], all_leaves[..n], "size {n}: leaves");
    }
    trees
}

#[test]
fn rfc6962_roots() {
    let trees = rfc6962_trees();
    for t in &trees {
        let n = t.tree_size;
        for (leaf, lh) in t.leaves.iter().zip(&t.leaf_hashes) {
            assert_eq!(
                rfc6962_leaf(leaf),
                *lh,
                "size {n}: leaf hash of {}",
                hex::encode(leaf)
            );
        }
        let msgs = MessageBuf::from_slices(&t.leaves).unwrap();
        let want = MerkleRoot {
            root: t.root,
            leaves: n,
            mutated: None,
        };
        for (name, engine) in engines() {
            let from_data = engine
                .merkle_root(MerkleScheme::Rfc6962, msgs.as_messages())
                .unwrap();
            assert_eq!(
                from_data, want,
                "{name}: merkle_root over the inputs, size {n}"
            );
            let from_hashes = engine
                .merkle_root_from_hashes(MerkleScheme::Rfc6962, &t.leaf_hashes)
                .unwrap();
            assert_eq!(
                from_hashes, want,
                "{name}: merkle_root_from_hashes, size {n}"
            );
        }
    }
    // The empty tree's root is SHA-256("").
    assert_eq!(trees[0].root, <[u8; 32]>::from(Sha256::digest(b"")));
}

#[test]
fn rfc6962_inclusion_proofs() {
    let trees = rfc6962_trees();
    let all = &trees[8].leaf_hashes;
    let file = load_vectors("merkle/rfc6962_inclusion_proofs.json");
    let cases = vector_array(&file, "cases");
    assert_eq!(cases.len(), 36, "every (index, size) with size 1..=8");
    let mut published = 0;
    for c in cases {
        let (index, size) = (field_u64(c, "leaf_index"), field_u64(c, "tree_size"));
        let label = format!("inclusion leaf {index} of {size}");
        let leaf_hash: [u8; 32] = unhex_n(field_str(c, "leaf_hash"));
        let root: [u8; 32] = unhex_n(field_str(c, "root"));
        let proof = to_hashes(&field_hex_list(c, "proof"));
        published += usize::from(field_bool(c, "published"));
        // The case agrees with the roots file.
        assert_eq!(
            field_hex(c, "leaf"),
            trees[8].leaves[index as usize],
            "{label}"
        );
        assert_eq!(leaf_hash, all[index as usize], "{label}: leaf hash");
        assert_eq!(root, trees[size as usize].root, "{label}: root");

        let tree = &all[..size as usize];
        let produced = rfc6962_inclusion_proof(tree, index).unwrap();
        assert_eq!(produced, proof, "{label}: produced proof");
        assert_eq!(
            rfc6962_verify_inclusion(&leaf_hash, index, size, &proof, &root),
            Ok(()),
            "{label}: verify"
        );

        // Tampering: one bit flipped in one hash, in each position; a wrong leaf or root; a
        // truncated or extended proof.
        for j in 0..proof.len() {
            let mut bad = proof.clone();
            bad[j] = flip(&bad[j], j * 7, j as u8);
            assert!(
                rfc6962_verify_inclusion(&leaf_hash, index, size, &bad, &root).is_err(),
                "{label}: proof hash {j} flipped"
            );
        }
        let flipped_leaf = flip(&leaf_hash, 31, 7);
        assert!(rfc6962_verify_inclusion(&flipped_leaf, index, size, &proof, &root).is_err());
        assert!(
            rfc6962_verify_inclusion(&leaf_hash, index, size, &proof, &flip(&root, 0, 0)).is_err()
        );
        if let Some((_, shorter)) = proof.split_last() {
            assert!(
                rfc6962_verify_inclusion(&leaf_hash, index, size, shorter, &root).is_err(),
                "{label}: truncated"
            );
        }
        let mut longer = proof.clone();
        longer.push(root);
        assert!(
            rfc6962_verify_inclusion(&leaf_hash, index, size, &longer, &root).is_err(),
            "{label}: extended"
        );
        assert!(
            rfc6962_inclusion_proof(tree, size).is_err(),
            "{label}: index past the end"
        );
    }
    assert_eq!(published, 5, "published cases");
}

#[test]
fn rfc6962_consistency_proofs() {
    let trees = rfc6962_trees();
    let all = &trees[8].leaf_hashes;
    let file = load_vectors("merkle/rfc6962_consistency_proofs.json");
    let cases = vector_array(&file, "cases");
    assert_eq!(
        cases.len(),
        36,
        "every (size1, size2) with 1 <= size1 <= size2 <= 8"
    );
    let mut published = 0;
    for c in cases {
        let (size1, size2) = (field_u64(c, "size1"), field_u64(c, "size2"));
        let label = format!("consistency {size1} -> {size2}");
        let root1: [u8; 32] = unhex_n(field_str(c, "root1"));
        let root2: [u8; 32] = unhex_n(field_str(c, "root2"));
        let proof = to_hashes(&field_hex_list(c, "proof"));
        published += usize::from(field_bool(c, "published"));
        assert_eq!(root1, trees[size1 as usize].root, "{label}: root1");
        assert_eq!(root2, trees[size2 as usize].root, "{label}: root2");
        assert_eq!(
            proof.is_empty(),
            size1 == size2,
            "{label}: empty iff equal sizes"
        );

        let produced = rfc6962_consistency_proof(&all[..size2 as usize], size1).unwrap();
        assert_eq!(produced, proof, "{label}: produced proof");
        assert_eq!(
            rfc6962_verify_consistency(size1, size2, &root1, &root2, &proof),
            Ok(()),
            "{label}: verify"
        );

        for j in 0..proof.len() {
            let mut bad = proof.clone();
            bad[j] = flip(&bad[j], j * 5 + 3, j as u8 + 1);
            assert!(
                rfc6962_verify_consistency(size1, size2, &root1, &root2, &bad).is_err(),
                "{label}: proof hash {j} flipped"
            );
        }
        assert!(
            rfc6962_verify_consistency(size1, size2, &flip(&root1, 9, 2), &root2, &proof).is_err(),
            "{label}: root1 flipped"
        );
        assert!(
            rfc6962_verify_consistency(size1, size2, &root1, &flip(&root2, 20, 4), &proof).is_err(),
            "{label}: root2 flipped"
        );
        if let Some((_, shorter)) = proof.split_last() {
            assert!(
                rfc6962_verify_consistency(size1, size2, &root1, &root2, shorter).is_err(),
                "{label}: truncated"
            );
        }
        let mut longer = proof.clone();
        longer.push(root2);
        assert!(
            rfc6962_verify_consistency(size1, size2, &root1, &root2, &longer).is_err(),
            "{label}: extended"
        );
    }
    assert_eq!(published, 5, "published cases");
}

/// A probe field as a 32-byte hash, or `None` when it is null or has another length (our typed
/// API cannot take it).
fn probe_hash(p: &Value, key: &str) -> Option<[u8; 32]> {
    p.get(key)?.as_str().and_then(|s| unhex(s).try_into().ok())
}

fn probe_proof(p: &Value) -> Option<Vec<[u8; 32]>> {
    p.get("proof")?
        .as_array()?
        .iter()
        .map(|h| h.as_str().and_then(|s| unhex(s).try_into().ok()))
        .collect()
}

/// The one transparency-dev probe that is valid although it cannot be typed: both roots are the
/// same 12 bytes ("don't care 2"), the sizes are equal and the proof is empty; transparency-dev
/// only compares the two roots' bytes there.
const UNTYPED_VALID_PROBE: &str =
    "testdata/consistency/additional/sizes-are-equal-one-and-proof-is-empty.json";

#[test]
fn rfc6962_transparency_dev_probes() {
    let file = load_vectors("merkle/rfc6962_transparency_dev_probes.json");

    let inclusion = vector_array(&file, "inclusion");
    assert_eq!(inclusion.len(), 98);
    let (mut run, mut run_valid, mut untyped) = (0, 0, 0);
    // Every typed probe also goes into one batch for `Engine::verify_inclusion`.
    let mut batch = ProofsBuf::new();
    let mut single = Vec::new();
    for p in inclusion {
        let label = format!("{} ({})", field_str(p, "file"), field_str(p, "desc"));
        let valid = field_bool(p, "valid");
        let typed = (
            probe_hash(p, "leaf_hash"),
            probe_hash(p, "root"),
            probe_proof(p),
        );
        let (Some(leaf_hash), Some(root), Some(proof)) = typed else {
            assert!(
                !valid,
                "{label}: a probe our API cannot express must be invalid"
            );
            untyped += 1;
            continue;
        };
        let (index, size) = (field_u64(p, "leaf_index"), field_u64(p, "tree_size"));
        let got = rfc6962_verify_inclusion(&leaf_hash, index, size, &proof, &root);
        assert_eq!(got.is_ok(), valid, "{label}: verdict {got:?}");
        batch.push(&leaf_hash, index, size, &proof, &root).unwrap();
        single.push((label, got));
        run += 1;
        run_valid += usize::from(valid);
    }
    assert_eq!(
        (run, run_valid, untyped),
        (72, 6, 26),
        "inclusion probes run / valid / untyped"
    );
    for (engine_name, engine) in engines() {
        let verdicts = engine
            .verify_inclusion(MerkleScheme::Rfc6962, batch.as_proofs())
            .unwrap();
        assert_eq!(verdicts.len(), single.len());
        for ((label, want), got) in single.iter().zip(&verdicts) {
            assert_eq!(got, want, "{engine_name}: {label}: batch verdict");
        }
    }

    let consistency = vector_array(&file, "consistency");
    assert_eq!(consistency.len(), 98);
    let (mut run, mut run_valid, mut untyped) = (0, 0, 0);
    for p in consistency {
        let name = field_str(p, "file");
        let label = format!("{name} ({})", field_str(p, "desc"));
        let valid = field_bool(p, "valid");
        let (size1, size2) = (field_u64(p, "size1"), field_u64(p, "size2"));
        let typed = (
            probe_hash(p, "root1"),
            probe_hash(p, "root2"),
            probe_proof(p),
        );
        let (Some(root1), Some(root2), Some(proof)) = typed else {
            untyped += 1;
            if name == UNTYPED_VALID_PROBE {
                // Check the probe is what we think, then the same property with typed roots:
                // equal sizes, empty proof and equal roots are accepted without any hashing.
                assert!(valid, "{label}");
                assert_eq!(size1, size2);
                assert_eq!(field_str(p, "root1"), field_str(p, "root2"));
                assert!(probe_proof(p).is_some_and(|v| v.is_empty()));
                let stand_in: [u8; 32] = Sha256::digest(field_hex(p, "root1")).into();
                assert_eq!(
                    rfc6962_verify_consistency(size1, size2, &stand_in, &stand_in, &[]),
                    Ok(()),
                    "{label}: typed stand-in"
                );
            } else {
                assert!(
                    !valid,
                    "{label}: a probe our API cannot express must be invalid"
                );
            }
            continue;
        };
        let got = rfc6962_verify_consistency(size1, size2, &root1, &root2, &proof);
        assert_eq!(got.is_ok(), valid, "{label}: verdict {got:?}");
        run += 1;
        run_valid += usize::from(valid);
    }
    assert_eq!(
        (run, run_valid, untyped),
        (71, 5, 27),
        "consistency probes run / valid / untyped"
    );
}

// ---------------------------------------------------------------------------------------------
// Bitcoin
// ---------------------------------------------------------------------------------------------

struct Block {
    name: String,
    txids: Vec<[u8; 32]>,
    root: [u8; 32],
    header: [u8; 80],
    raw: Option<Vec<u8>>,
}

fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

fn reversed(h: &[u8]) -> Vec<u8> {
    h.iter().rev().copied().collect()
}

fn bitcoin_blocks() -> Vec<Block> {
    let file = load_vectors("merkle/bitcoin_merkle.json");
    let blocks: Vec<Block> = vector_array(&file, "cases")
        .iter()
        .map(|c| {
            assert_eq!(field_str(c, "scheme"), "bitcoin");
            let name = field_str(c, "name").to_string();
            let txids = to_hashes(&field_hex_list(c, "leaves"));
            let root: [u8; 32] = unhex_n(field_str(c, "root"));
            let header: [u8; 80] = unhex_n(field_str(c, "header_hex"));
            assert_eq!(
                txids.len() as u64,
                field_u64(c, "tx_count"),
                "{name}: tx_count"
            );
            // Display order is the byte reverse of internal order.
            let display = field_hex_list(c, "leaves_display");
            assert_eq!(display.len(), txids.len(), "{name}");
            for (t, d) in txids.iter().zip(&display) {
                assert_eq!(reversed(t), *d, "{name}: leaves_display");
            }
            assert_eq!(
                reversed(&root),
                field_hex(c, "root_display"),
                "{name}: root_display"
            );
            // The header carries the root; its double hash is the block hash.
            assert_eq!(header[36..68], root, "{name}: header bytes 36..68");
            assert_eq!(
                reversed(&sha256d(&header)),
                field_hex(c, "block_hash_display"),
                "{name}: block hash"
            );
            let raw = c
                .get("raw_block_hex")
                .map(|_| field_hex(c, "raw_block_hex"));
            assert_eq!(
                raw.is_none(),
                field_bool(c, "segwit"),
                "{name}: raw block iff pre-segwit"
            );
            Block {
                name,
                txids,
                root,
                header,
                raw,
            }
        })
        .collect();
    assert_eq!(blocks.len(), 14, "bitcoin_merkle.json: number of blocks");
    blocks
}

/// A minimal reader for legacy (pre-segwit) block serialisation.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> &'a [u8] {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let end = end.unwrap_or_else(|| panic!("block truncated at byte {}", self.pos));
        let s = &self.data[self.pos..end];
        self.pos = end;
        s
    }

    fn byte(&mut self) -> u8 {
        self.take(1)[0]
    }

    fn compact_size(&mut self) -> u64 {
        match self.byte() {
            0xfd => u16::from_le_bytes(self.take(2).try_into().unwrap()).into(),
            0xfe => u32::from_le_bytes(self.take(4).try_into().unwrap()).into(),
            0xff => u64::from_le_bytes(self.take(8).try_into().unwrap()),
            n => n.into(),
        }
    }

    fn var_bytes(&mut self) {
        let n = self.compact_size();
        self.take(usize::try_from(n).unwrap());
    }

    /// One legacy transaction; returns its serialisation.
    fn transaction(&mut self) -> &'a [u8] {
        let start = self.pos;
        self.take(4); // version
        let inputs = self.compact_size();
        if inputs == 0 {
            // 0x00 0x01 here is BIP144's marker and flag: these blocks must not have any.
            panic!(
                "segwit marker (flag byte {:#04x}) at byte {start}: not a legacy transaction",
                self.byte()
            );
        }
        for _ in 0..inputs {
            self.take(36); // previous outpoint
            self.var_bytes(); // scriptSig
            self.take(4); // sequence
        }
        for _ in 0..self.compact_size() {
            self.take(8); // value
            self.var_bytes(); // scriptPubKey
        }
        self.take(4); // lock time
        &self.data[start..self.pos]
    }
}

/// The header and the transactions of a raw legacy block.
fn parse_block(raw: &[u8]) -> ([u8; 80], Vec<&[u8]>) {
    let mut r = Reader { data: raw, pos: 0 };
    let header: [u8; 80] = r.take(80).try_into().unwrap();
    let n = r.compact_size();
    let txs: Vec<&[u8]> = (0..n).map(|_| r.transaction()).collect();
    assert_eq!(r.pos, raw.len(), "trailing bytes after {n} transactions");
    (header, txs)
}

fn bitcoin_root(engine: &Engine, txids: &[[u8; 32]]) -> MerkleRoot {
    engine
        .merkle_root_from_hashes(MerkleScheme::Bitcoin, txids)
        .unwrap()
}

/// Both entry points agree (the Messages one takes txids as 32-byte messages).
fn bitcoin_root_both_ways(name: &str, engine: &Engine, txids: &[[u8; 32]]) -> MerkleRoot {
    let from_hashes = bitcoin_root(engine, txids);
    let msgs = MessageBuf::from_slices(txids).unwrap();
    let from_msgs = engine
        .merkle_root(MerkleScheme::Bitcoin, msgs.as_messages())
        .unwrap();
    assert_eq!(
        from_hashes, from_msgs,
        "{name}: merkle_root_from_hashes vs merkle_root"
    );
    from_hashes
}

#[test]
fn bitcoin_block_roots() {
    let blocks = bitcoin_blocks();
    for (engine_name, engine) in engines() {
        for b in &blocks {
            let name = format!("{engine_name} {}", b.name);
            let got = bitcoin_root_both_ways(&name, &engine, &b.txids);
            let want = MerkleRoot {
                root: b.root,
                leaves: b.txids.len() as u64,
                mutated: Some(false),
            };
            assert_eq!(got, want, "{name}: root");
        }
    }
    // The well-known genesis values, in display order.
    assert_eq!(
        hex::encode(reversed(&blocks[0].root)),
        "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
    );
    assert_eq!(blocks[0].txids, [blocks[0].root]);
}

/// Every txid recomputed from the raw block: double SHA-256 of the legacy serialisation with the
/// sha2 crate, through `Engine::sha256` twice, and through `Engine::sha256d`.
#[test]
fn bitcoin_txids_from_raw_blocks() {
    let blocks = bitcoin_blocks();
    let engines = engines();
    let mut parsed = 0;
    let mut txs_checked = 0;
    for b in &blocks {
        let Some(raw) = &b.raw else { continue };
        let (header, txs) = parse_block(raw);
        assert_eq!(header, b.header, "{}: raw header", b.name);
        assert_eq!(header[36..68], b.root, "{}: header root", b.name);
        assert_eq!(txs.len(), b.txids.len(), "{}: tx count", b.name);
        let txids: Vec<[u8; 32]> = txs.iter().map(|t| sha256d(t)).collect();
        assert_eq!(txids, b.txids, "{}: txids (sha2)", b.name);
        for (engine_name, engine) in &engines {
            let once = engine
                .sha256(MessageBuf::from_slices(&txs).unwrap().as_messages())
                .unwrap();
            let twice = engine
                .sha256(MessageBuf::from_slices(&once).unwrap().as_messages())
                .unwrap();
            assert_eq!(twice, b.txids, "{engine_name} {}: txids (engine)", b.name);
            let double = engine
                .sha256d(MessageBuf::from_slices(&txs).unwrap().as_messages())
                .unwrap();
            assert_eq!(double, b.txids, "{engine_name} {}: txids (sha256d)", b.name);
        }
        parsed += 1;
        txs_checked += txs.len();
    }
    // All but the two segwit blocks: genesis and block 1 (1 tx each), seven 2-tx blocks, then
    // 4, 7 and 213 transactions.
    assert_eq!((parsed, txs_checked), (12, 1 + 1 + 7 * 2 + 4 + 7 + 213));
}

/// Block hashes: `Engine::sha256d` of the 14 headers, in one batch, equals each block's
/// published hash (display order is the byte reverse). 80-byte messages take two compressions
/// before the second hash, so both the multi-block and the double path are exercised.
#[test]
fn bitcoin_block_hashes_by_sha256d() {
    let file = load_vectors("merkle/bitcoin_merkle.json");
    let cases = vector_array(&file, "cases");
    let headers: Vec<Vec<u8>> = cases.iter().map(|c| field_hex(c, "header_hex")).collect();
    let want: Vec<Vec<u8>> = cases
        .iter()
        .map(|c| reversed(&field_hex(c, "block_hash_display")))
        .collect();
    assert_eq!(headers.len(), 14);
    let buf = MessageBuf::from_slices(&headers).unwrap();
    for (engine_name, engine) in engines() {
        let got = engine.sha256d(buf.as_messages()).unwrap();
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(
                g.as_slice(),
                w.as_slice(),
                "{engine_name}: {}: block hash",
                field_str(&cases[i], "name")
            );
        }
        assert_eq!(got.len(), want.len(), "{engine_name}: count");
    }
    // The genesis block's well-known hash.
    assert_eq!(
        hex::encode(reversed(&want[0])),
        "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
    );
}

/// `Engine::verify_inclusion` on published data: the 36 RFC 6962 proofs of the vectors, and a
/// branch for every transaction of 13 real blocks against their headers' roots, with each
/// proof also damaged once (a path hash, or the index). Every engine, one batch per scheme.
#[test]
fn batch_inclusion_on_published_proofs_and_real_blocks() {
    let file = load_vectors("merkle/rfc6962_inclusion_proofs.json");
    let mut rfc = ProofsBuf::new();
    let mut want = Vec::new();
    for c in vector_array(&file, "cases") {
        let (index, size) = (field_u64(c, "leaf_index"), field_u64(c, "tree_size"));
        let leaf: [u8; 32] = unhex_n(field_str(c, "leaf_hash"));
        let root: [u8; 32] = unhex_n(field_str(c, "root"));
        let proof = to_hashes(&field_hex_list(c, "proof"));
        rfc.push(&leaf, index, size, &proof, &root).unwrap();
        want.push(Ok(()));
        if let Some(first) = proof.first() {
            let mut bad = proof.clone();
            bad[0] = Sha256::digest(first).into();
            rfc.push(&leaf, index, size, &bad, &root).unwrap();
            want.push(Err(ProofError::RootMismatch));
        }
    }
    let mut btc = ProofsBuf::new();
    let mut btc_want = Vec::new();
    // Producing a branch rebuilds the tree, so the 3,315-transaction block is left out.
    for b in bitcoin_blocks()
        .into_iter()
        .filter(|b| b.txids.len() < 1000)
    {
        let n = b.txids.len() as u64;
        for (i, txid) in b.txids.iter().enumerate() {
            let branch = bitcoin_branch(&b.txids, i as u64).unwrap();
            btc.push(txid, i as u64, n, &branch, &b.root).unwrap();
            btc_want.push(Ok(()));
            // Another index: a different fold (unless the tree is one transaction), or past the end.
            let other = (i as u64 + 1) % n;
            btc.push(txid, other, n, &branch, &b.root).unwrap();
            btc_want.push(if n == 1 {
                Ok(())
            } else {
                Err(ProofError::RootMismatch)
            });
            btc.push(txid, n, n, &branch, &b.root).unwrap();
            btc_want.push(Err(ProofError::IndexOutOfRange { index: n, size: n }));
        }
    }
    assert_eq!(btc.len(), 3 * (1 + 1 + 7 * 2 + 4 + 7 + 213 + 230));
    for (engine_name, engine) in engines() {
        for (scheme, batch, want) in [
            (MerkleScheme::Rfc6962, &rfc, &want),
            (MerkleScheme::Bitcoin, &btc, &btc_want),
        ] {
            let got = engine.verify_inclusion(scheme, batch.as_proofs()).unwrap();
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(want.iter()).enumerate() {
                assert_eq!(g, w, "{engine_name} {scheme:?} proof {i}");
            }
        }
    }
}

#[test]
#[should_panic(expected = "segwit marker")]
fn raw_block_parser_rejects_segwit() {
    // Header, one transaction: version, then marker 0x00 and flag 0x01.
    let mut raw = vec![0u8; 80];
    raw.extend_from_slice(&[1, 2, 0, 0, 0, 0x00, 0x01, 1]);
    parse_block(&raw);
}

/// CVE-2012-2459: a level of odd width pairs its last node with itself, so appending a copy of
/// that node's leaves gives the same root; `mutated` must then be set.
#[test]
fn bitcoin_cve_2012_2459_mutations() {
    let blocks = bitcoin_blocks();
    let mut odd_blocks = 0;
    let mut natural_deep = 0;
    let mut prefix_deep = 0;
    for (engine_name, engine) in engines() {
        for b in &blocks {
            let n = b.txids.len();
            let name = format!("{engine_name} {} ({n} txs)", b.name);
            let mutated_root = MerkleRoot {
                root: b.root,
                leaves: 0, // set per case
                mutated: Some(true),
            };

            // Level 0: an odd count > 1 with its last txid appended.
            if n > 1 && n % 2 == 1 {
                let mut m = b.txids.clone();
                m.push(b.txids[n - 1]);
                let got = bitcoin_root_both_ways(&name, &engine, &m);
                let want = MerkleRoot {
                    leaves: n as u64 + 1,
                    ..mutated_root
                };
                assert_eq!(got, want, "{name}: last txid duplicated");
                odd_blocks += 1;
            }

            // Deeper, on the real tree: where n = 2^j * m with m odd > 1, level j has odd width
            // and its last node covers the last 2^j txids; appending a copy of them makes two
            // identical siblings at level j (and none below, the txids being distinct).
            for j in 1..usize::BITS {
                let span = 1usize << j;
                if !n.is_multiple_of(span) || (n / span).is_multiple_of(2) || n / span < 3 {
                    continue;
                }
                let mut m = b.txids.clone();
                m.extend_from_within(n - span..);
                assert!(m.chunks(2).all(|p| p[0] != p[1]), "{name}: no level-0 twin");
                let got = bitcoin_root_both_ways(&name, &engine, &m);
                let want = MerkleRoot {
                    leaves: m.len() as u64,
                    ..mutated_root
                };
                assert_eq!(got, want, "{name}: last {span} txids duplicated");
                natural_deep += 1;
            }

            // Deeper, on prefixes of the real txids: 3 * 2^j txids have widths 3 * 2^j, ...,
            // 3 (odd) at level j; appending the last 2^j txids duplicates that level's last node.
            for j in 1..usize::BITS {
                let span = 1usize << j;
                if 3 * span > n {
                    break;
                }
                let prefix = &b.txids[..3 * span];
                let plain = bitcoin_root(&engine, prefix);
                assert_eq!(
                    plain.mutated,
                    Some(false),
                    "{name}: prefix {}",
                    prefix.len()
                );
                let mut m = prefix.to_vec();
                m.extend_from_within(2 * span..);
                assert!(m.chunks(2).all(|p| p[0] != p[1]), "{name}: no level-0 twin");
                let got = bitcoin_root_both_ways(&name, &engine, &m);
                let want = MerkleRoot {
                    root: plain.root,
                    leaves: m.len() as u64,
                    mutated: Some(true),
                };
                assert_eq!(got, want, "{name}: prefix of {} + last {span}", 3 * span);
                prefix_deep += 1;
            }

            // For 7 txids the level widths are 7, 4, 2, 1: only level 0 is odd, so appending the
            // last two txids ([a..g, f, g]) is not a mutation; it is a different tree.
            if n == 7 {
                let mut m = b.txids.clone();
                m.extend_from_within(5..);
                let got = bitcoin_root(&engine, &m);
                assert_ne!(got.root, b.root, "{name}: [a..g, f, g] has another root");
                assert_eq!(got.mutated, Some(false), "{name}: [a..g, f, g]");
            }
        }
    }
    let e = engines().len();
    // Odd counts > 1: 7, 213 and 3315 txids. Natural level-1 case: the 230-tx block (2 * 115).
    assert_eq!(odd_blocks, 3 * e);
    assert_eq!(natural_deep, e);
    // j >= 1 with 3 * 2^j <= n: 7 txs: 1; 213: 6; 230: 6; 3315: 10 (none for 1, 2 or 4 txs).
    assert_eq!(prefix_deep, (1 + 6 + 6 + 10) * e);
}

/// `bitcoin_branch` for every index (300 spread indices for the 3315-tx block) folds back to the
/// root; a flipped index bit changes the root exactly where the sibling differs from the node
/// (an odd last node is its own sibling), and a flipped branch byte or another leaf always does.
#[test]
fn bitcoin_branches() {
    let blocks = bitcoin_blocks();
    let mut checked = 0;
    for b in &blocks {
        let n = b.txids.len();
        let indices: Vec<usize> = if n <= 300 {
            (0..n).collect()
        } else {
            (0..300).map(|k| k * (n - 1) / 299).collect()
        };
        let depth = (usize::BITS - (n - 1).leading_zeros()) as usize; // ceil(log2 n)
        let mut index_flips_that_change = 0;
        for &i in &indices {
            let label = format!("{} ({n} txs) index {i}", b.name);
            let leaf = &b.txids[i];
            let branch = bitcoin_branch(&b.txids, i as u64).unwrap();
            assert_eq!(branch.len(), depth, "{label}: branch length");
            assert_eq!(
                bitcoin_root_from_branch(leaf, &branch, i as u64),
                b.root,
                "{label}"
            );

            // The node on the path at each level, to know where a side swap must show.
            let mut node = *leaf;
            for (level, sibling) in branch.iter().enumerate() {
                let swapped = bitcoin_root_from_branch(leaf, &branch, (i ^ (1 << level)) as u64);
                if *sibling == node {
                    assert_eq!(swapped, b.root, "{label}: self-paired level {level}");
                } else {
                    assert_ne!(swapped, b.root, "{label}: index bit {level} flipped");
                    index_flips_that_change += 1;
                }
                let mut bad = branch.clone();
                bad[level] = flip(&bad[level], level + i, (i + level) as u8);
                assert_ne!(
                    bitcoin_root_from_branch(leaf, &bad, i as u64),
                    b.root,
                    "{label}: branch hash {level} flipped"
                );
                node = bitcoin_root_from_branch(&node, &branch[level..=level], (i >> level) as u64);
            }
            assert_eq!(
                node, b.root,
                "{label}: the last node on the path is the root"
            );
            if n > 1 {
                let other = &b.txids[(i + 1) % n];
                assert_ne!(bitcoin_root_from_branch(other, &branch, i as u64), b.root);
            }
            checked += 1;
        }
        if n > 1 {
            assert!(
                index_flips_that_change > 0,
                "{}: no index flip mattered",
                b.name
            );
        }
        assert!(
            bitcoin_branch(&b.txids, n as u64).is_err(),
            "{}: index past the end",
            b.name
        );
    }
    // Every index of the 13 smaller blocks, 300 of the 3315-tx block.
    assert_eq!(checked, 1 + 1 + 7 * 2 + 4 + 7 + 213 + 300 + 230);
}
