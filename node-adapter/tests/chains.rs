//! Chain adapters against real chain data: the Bitcoin Merkle check on mainnet blocks (genesis,
//! 1, 170 … 100014, 277647 with 213 transactions), on every engine; tampered and mutated blocks
//! (CVE-2012-2459); segwit serialization; and hostile bytes, which must be errors, never panics.

use rand::{rngs::StdRng, Rng, SeedableRng};
use vera_engine::Engine;
use vera_node_adapter::chains::bitcoin::{check_block, BlockError};
use vera_tests::reference::{bitcoin_root, sha256, Hash};
use vera_tests::{engines, field_str, load_vectors, unhex, unhex_n, vector_array};

/// A mainnet block from the vectors.
struct RealBlock {
    name: String,
    raw: Vec<u8>,
    txids: Vec<Hash>,
    root: Hash,
    /// The block hash in display order.
    hash: String,
}

/// The real blocks that come with their raw bytes.
fn blocks() -> Vec<RealBlock> {
    let file = load_vectors("merkle/bitcoin_merkle.json");
    vector_array(&file, "cases")
        .iter()
        .filter_map(|c| {
            let raw = c.get("raw_block_hex")?.as_str()?;
            let txids = c["leaves"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| unhex_n::<32>(l.as_str().unwrap()))
                .collect();
            Some(RealBlock {
                name: field_str(c, "name").to_string(),
                raw: unhex(raw),
                txids,
                root: unhex_n::<32>(field_str(c, "root")),
                hash: field_str(c, "block_hash_display").to_string(),
            })
        })
        .collect()
}

#[test]
fn real_blocks_pass_the_merkle_check_on_every_engine() {
    let blocks = blocks();
    assert_eq!(blocks.len(), 12, "every block with raw bytes");
    for (engine_name, engine) in engines() {
        for RealBlock {
            name,
            raw,
            txids,
            root,
            hash,
        } in &blocks
        {
            let c =
                check_block(&engine, raw).unwrap_or_else(|e| panic!("{engine_name} {name}: {e}"));
            assert_eq!(&c.txids, txids, "{engine_name} {name}");
            assert_eq!(&c.merkle_root, root, "{engine_name} {name}");
            assert_eq!(c.header_merkle_root, *root, "{engine_name} {name}");
            let mut display = c.block_hash;
            display.reverse();
            assert_eq!(&hex::encode(display), hash, "{engine_name} {name}");
            assert!(c.merkle_ok() && !c.mutated, "{engine_name} {name}");
            assert_eq!(c.segwit_txs, 0);
        }
    }
}

/// Block 100014: 7 transactions, the odd count that CVE-2012-2459 is about.
fn block_100014() -> (Vec<u8>, Vec<Hash>) {
    blocks()
        .into_iter()
        .find(|b| b.name.starts_with("block 100014"))
        .map(|b| (b.raw, b.txids))
        .expect("block 100014 is in the vectors")
}

#[test]
fn tampered_and_mutated_blocks_fail_the_check() {
    let engine = Engine::cpu();
    let (raw, txids) = block_100014();
    assert_eq!(raw[80], 7, "one-byte transaction count");

    // A byte changed inside the last transaction's locktime: its txid changes, so the root.
    let mut tampered = raw.clone();
    let n = tampered.len();
    tampered[n - 2] ^= 1;
    let c = check_block(&engine, &tampered).unwrap();
    assert!(!c.merkle_ok() && !c.mutated);
    assert_ne!(c.txids[6], txids[6]);
    assert_eq!(c.txids[..6], txids[..6]);
    assert_eq!(c.merkle_root, bitcoin_root(&c.txids).0);

    // The last transaction twice (8 transactions): the root equals the header's, as the odd
    // last one was paired with itself, but the tree is mutated and the block must fail.
    let last_start =
        raw.len() - check_len_of_last_tx(&raw, &txids[6]).expect("the last transaction is found");
    let mut doubled = raw.clone();
    doubled.extend_from_slice(&raw[last_start..]);
    doubled[80] = 8;
    let c = check_block(&engine, &doubled).unwrap();
    assert_eq!(c.merkle_root, c.header_merkle_root);
    assert!(c.mutated && !c.merkle_ok());
}

/// The length of the block's last transaction: the shortest suffix whose double SHA-256 is its
/// txid (legacy serialization).
fn check_len_of_last_tx(raw: &[u8], txid: &Hash) -> Option<usize> {
    (10..raw.len() - 81).find(|&len| sha256(&[&sha256(&[&raw[raw.len() - len..]])]) == *txid)
}

/// A one-input, one-output legacy transaction; `salt` makes it unique.
fn legacy_tx(salt: u8) -> Vec<u8> {
    let mut tx = vec![1, 0, 0, 0, 1];
    tx.extend_from_slice(&[salt; 32]); // previous txid
    tx.extend_from_slice(&[0, 0, 0, 0]); // output index
    tx.extend_from_slice(&[2, 0x51, 0x51]); // script
    tx.extend_from_slice(&[0xff; 4]); // sequence
    tx.push(1);
    tx.extend_from_slice(&5_000_000_000u64.to_le_bytes());
    tx.push(25);
    tx.extend_from_slice(&[0x76, 0xa9, 0x14]);
    tx.extend_from_slice(&[salt ^ 0x55; 20]);
    tx.extend_from_slice(&[0x88, 0xac]);
    tx.extend_from_slice(&[0, 0, 0, 0]); // locktime
    tx
}

/// The same transaction with a witness: marker and flag after the version, one witness stack
/// (a 71-byte signature and a 33-byte key) before the locktime.
fn with_witness(legacy: &[u8], stack: &[usize]) -> Vec<u8> {
    let mut tx = legacy[..4].to_vec();
    tx.extend_from_slice(&[0, 1]);
    tx.extend_from_slice(&legacy[4..legacy.len() - 4]);
    tx.push(stack.len() as u8);
    for &len in stack {
        tx.push(len as u8);
        tx.extend(std::iter::repeat_n(0x30, len));
    }
    tx.extend_from_slice(&legacy[legacy.len() - 4..]);
    tx
}

/// A block of `txs` whose header commits to `root`.
fn block(root: &Hash, txs: &[Vec<u8>]) -> Vec<u8> {
    let mut b = vec![0u8; 80];
    b[36..68].copy_from_slice(root);
    b.push(txs.len() as u8);
    for tx in txs {
        b.extend_from_slice(tx);
    }
    b
}

#[test]
fn segwit_transactions_are_hashed_without_their_witness() {
    let txs = [legacy_tx(1), legacy_tx(2), legacy_tx(3)];
    let txids: Vec<Hash> = txs.iter().map(|t| sha256(&[&sha256(&[t])])).collect();
    let (root, _) = bitcoin_root(&txids);
    let segwit = [
        txs[0].clone(),
        with_witness(&txs[1], &[71, 33]),
        with_witness(&txs[2], &[0]),
    ];
    for engine in [Engine::cpu()]
        .into_iter()
        .chain(engines().into_iter().map(|(_, e)| e))
    {
        for (body, segwit_txs) in [(&txs, 0), (&segwit, 2)] {
            let c = check_block(&engine, &block(&root, body)).unwrap();
            assert_eq!(c.txids, txids);
            assert!(c.merkle_ok());
            assert_eq!(c.segwit_txs, segwit_txs);
        }
    }
    // A witness flag with every stack empty, and an unknown flag, are what Bitcoin Core
    // refuses to deserialize.
    let engine = Engine::cpu();
    let empty = with_witness(&txs[1], &[]);
    let err = check_block(&engine, &block(&root, &[empty])).unwrap_err();
    assert!(err.to_string().contains("superfluous witness"), "{err}");
    let mut flag2 = with_witness(&txs[1], &[71]);
    flag2[5] = 3;
    let err = check_block(&engine, &block(&root, &[flag2])).unwrap_err();
    assert!(
        err.to_string()
            .contains("unknown transaction optional data"),
        "{err}"
    );
}

#[test]
fn hostile_bytes_are_errors_never_panics() {
    let engine = Engine::cpu();
    let (raw, _) = block_100014();
    // Every truncation.
    for len in 0..raw.len() {
        match check_block(&engine, &raw[..len]) {
            Err(BlockError::Malformed(_)) => {}
            other => panic!("a block cut at {len} bytes gave {other:?}"),
        }
    }
    // Trailing bytes, no transactions, absurd counts.
    let mut trailing = raw.clone();
    trailing.push(0);
    assert!(check_block(&engine, &trailing)
        .unwrap_err()
        .to_string()
        .contains("1 bytes after the last transaction"));
    let mut none = raw[..80].to_vec();
    none.push(0);
    assert!(check_block(&engine, &none).is_err());
    let mut huge = raw[..80].to_vec();
    huge.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    assert!(check_block(&engine, &huge).is_err());
    // Random damage anywhere: an answer or an error, never a panic; the header's root only
    // matches when no transaction byte changed.
    let mut rng = StdRng::seed_from_u64(2459);
    for _ in 0..3000 {
        let mut b = raw.clone();
        for _ in 0..rng.gen_range(1..4) {
            let i = rng.gen_range(81..b.len());
            b[i] = rng.gen();
        }
        if let Ok(c) = check_block(&engine, &b) {
            assert_eq!(c.merkle_ok(), b == raw);
        }
    }
}
