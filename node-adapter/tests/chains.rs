//! Chain adapters against real chain data: the Bitcoin block check on mainnet blocks (genesis,
//! 1, 170 … 100014, 277647 with 213 transactions) and on two real segwit blocks with their
//! witness commitments, on every engine; tampered and mutated blocks (CVE-2012-2459, witness
//! malleation, every bit flip of the segwit blocks, each of Bitcoin Core's `IsBlockMutated`
//! reasons); segwit serialization; and hostile bytes, which must be errors, never panics.

use rand::{rngs::StdRng, Rng, SeedableRng};
use vera_engine::Engine;
use vera_node_adapter::chains::bitcoin::{check_block, BlockError, Mutation, WitnessCommitment};
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
            // Before segwit and after, with no commitment and no witness, nothing is mutated.
            assert!(c.coinbase, "{engine_name} {name}");
            assert_eq!(c.witness, WitnessCommitment::Absent, "{engine_name} {name}");
            assert_eq!(c.mutation(true), None, "{engine_name} {name}");
            assert_eq!(c.mutation(false), None, "{engine_name} {name}");
        }
    }
}

/// A real segwit block from `bitcoin/segwit_blocks.json`.
struct SegwitBlock {
    name: String,
    raw: Vec<u8>,
    txids: Vec<Hash>,
    segwit_txs: usize,
    hash: String,
    output: usize,
    commitment: Hash,
    witness_root: Hash,
}

fn segwit_blocks() -> Vec<SegwitBlock> {
    let file = load_vectors("bitcoin/segwit_blocks.json");
    vector_array(&file, "cases")
        .iter()
        .map(|c| SegwitBlock {
            name: field_str(c, "name").to_string(),
            raw: unhex(field_str(c, "raw_block_hex")),
            txids: c["txids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| unhex_n::<32>(t.as_str().unwrap()))
                .collect(),
            segwit_txs: c["segwit_txs"].as_u64().unwrap() as usize,
            hash: field_str(c, "block_hash_display").to_string(),
            output: c["commitment_output"].as_u64().unwrap() as usize,
            commitment: unhex_n::<32>(field_str(c, "witness_commitment")),
            witness_root: unhex_n::<32>(field_str(c, "witness_root")),
        })
        .collect()
}

#[test]
fn real_segwit_blocks_pass_the_witness_commitment_check_on_every_engine() {
    let blocks = segwit_blocks();
    assert_eq!(blocks.len(), 2);
    for (engine_name, engine) in engines() {
        for b in &blocks {
            let name = format!("{engine_name} {}", b.name);
            let c = check_block(&engine, &b.raw).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(c.txids, b.txids, "{name}");
            assert!(c.merkle_ok(), "{name}");
            assert_eq!(bitcoin_root(&c.txids).0, c.merkle_root, "{name}");
            let mut display = c.block_hash;
            display.reverse();
            assert_eq!(hex::encode(display), b.hash, "{name}");
            assert_eq!(c.segwit_txs, b.segwit_txs, "{name}");
            assert!(c.coinbase, "{name}");
            assert_eq!(
                c.witness,
                WitnessCommitment::Found {
                    output: b.output,
                    committed: b.commitment,
                    witness_root: b.witness_root,
                    computed: b.commitment,
                },
                "{name}"
            );
            assert_eq!(c.mutation(true), None, "{name}");
            // The same block where segwit is not active: witness data it may not carry.
            assert_eq!(
                c.mutation(false),
                Some(Mutation::UnexpectedWitness),
                "{name}"
            );
        }
    }
}

/// Every single-bit flip of the real segwit blocks: a flip in the header's root, or anywhere in
/// the transactions, witnesses included, makes the block malformed or mutated; one elsewhere
/// in the header (version, previous hash, time, bits, nonce) changes nothing this check sees.
#[test]
fn every_bit_flip_of_a_segwit_block_is_caught() {
    let engine = Engine::cpu();
    for b in segwit_blocks() {
        let (mut malformed, mut by_reason) = (0, std::collections::BTreeMap::new());
        for i in 0..b.raw.len() {
            for bit in 0..8 {
                let mut flipped = b.raw.clone();
                flipped[i] ^= 1 << bit;
                let at = format!("{}: byte {i} bit {bit}", b.name);
                match check_block(&engine, &flipped) {
                    Err(BlockError::Malformed(_)) => malformed += 1,
                    Err(e) => panic!("{at}: {e}"),
                    Ok(c) if (36..68).contains(&i) || i >= 80 => {
                        let m = c
                            .mutation(true)
                            .unwrap_or_else(|| panic!("{at}: not caught"));
                        *by_reason.entry(m.reason()).or_insert(0) += 1;
                    }
                    Ok(c) => assert_eq!(c.mutation(true), None, "{at}"),
                }
            }
        }
        // Both ways of failing occur, and the witness ones among the mutations.
        assert!(malformed > 0, "{}: {by_reason:?}", b.name);
        assert!(
            by_reason.contains_key("bad-txnmrklroot")
                && by_reason.contains_key("bad-witness-merkle-match"),
            "{}: {by_reason:?}",
            b.name
        );
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
    // An empty input list with a zero flag byte: Bitcoin Core reads no inputs and no outputs,
    // and the txid is over the bytes as they stand.
    let bare = vec![1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let bare_id = sha256(&[&sha256(&[&bare])]);
    let c = check_block(&Engine::cpu(), &block(&bare_id, &[bare])).unwrap();
    assert_eq!(c.txids, [bare_id]);
    assert!(c.merkle_ok());
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

/// A coinbase: one input spending the null outpoint, the given output scripts, and (when
/// `witness` is given) marker, flag and that witness stack for its input.
fn coinbase(scripts: &[Vec<u8>], witness: Option<&[Vec<u8>]>) -> Vec<u8> {
    let mut tx = vec![2, 0, 0, 0];
    if witness.is_some() {
        tx.extend_from_slice(&[0, 1]);
    }
    tx.push(1);
    tx.extend_from_slice(&[0; 32]);
    tx.extend_from_slice(&[0xff; 4]);
    tx.extend_from_slice(&[4, 3, 0x42, 0x42, 0x08]); // script: the height push
    tx.extend_from_slice(&[0xff; 4]);
    tx.push(scripts.len() as u8);
    for script in scripts {
        tx.extend_from_slice(&625_000_000u64.to_le_bytes());
        tx.push(script.len() as u8);
        tx.extend_from_slice(script);
    }
    if let Some(stack) = witness {
        tx.push(stack.len() as u8);
        for item in stack {
            tx.push(item.len() as u8);
            tx.extend_from_slice(item);
        }
    }
    tx.extend_from_slice(&[0, 0, 0, 0]);
    tx
}

/// A BIP141 commitment output's script: `6a24aa21a9ed` and the hash, then `extra` bytes.
fn commitment_script(hash: &Hash, extra: usize) -> Vec<u8> {
    let mut s = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
    s.extend_from_slice(hash);
    s.extend(std::iter::repeat_n(0x00, extra));
    s
}

fn sha256d(data: &[u8]) -> Hash {
    sha256(&[&sha256(&[data])])
}

/// The serialization without witness of a transaction built by `coinbase` or `with_witness`.
fn stripped(tx: &[u8]) -> Vec<u8> {
    if tx[4..6] != [0, 1] {
        return tx.to_vec();
    }
    // Walk the body (inputs and outputs) as the builders lay it out to find the witness.
    let mut at = 6;
    let inputs = tx[at] as usize;
    at += 1;
    for _ in 0..inputs {
        at += 36;
        at += 1 + tx[at] as usize + 4;
    }
    let outputs = tx[at] as usize;
    at += 1;
    for _ in 0..outputs {
        at += 8;
        at += 1 + tx[at] as usize;
    }
    let mut s = tx[..4].to_vec();
    s.extend_from_slice(&tx[6..at]);
    s.extend_from_slice(&tx[tx.len() - 4..]);
    s
}

/// The commitment of Bitcoin Core's definition for `txs` (first one a coinbase) and a reserved
/// value, computed here from sha2: wtxids with the first as zero, their root, then SHA256d.
fn reference_commitment(txs: &[Vec<u8>], reserved: &[u8]) -> Hash {
    let mut wtxids: Vec<Hash> = txs.iter().map(|t| sha256d(t)).collect();
    wtxids[0] = [0; 32];
    let (root, _) = bitcoin_root(&wtxids);
    sha256d(&[&root[..], reserved].concat())
}

/// A block of `txs` whose header commits to the root of their txids.
fn block_of(txs: &[Vec<u8>]) -> Vec<u8> {
    let txids: Vec<Hash> = txs.iter().map(|t| sha256d(&stripped(t))).collect();
    block(&bitcoin_root(&txids).0, txs)
}

/// Each of Bitcoin Core's `IsBlockMutated` outcomes on constructed segwit blocks, the commitment
/// computed independently with sha2. Above all witness malleation: a witness changed or
/// stripped keeps every txid, and so the header's root, and only the commitment catches it.
#[test]
fn witness_malleation_and_each_mutation_reason() {
    let reserved = vec![0x5a; 32];
    let payout = vec![0x51];
    let spend = with_witness(&legacy_tx(3), &[71, 33]);
    let plain = legacy_tx(2);
    // The honest block: the commitment over the wtxids of [coinbase, plain, spend].
    let body = |cb: Vec<u8>, spend: &[u8]| vec![cb, plain.clone(), spend.to_vec()];
    let probe = body(
        coinbase(
            std::slice::from_ref(&payout),
            Some(std::slice::from_ref(&reserved)),
        ),
        &spend,
    );
    let good = reference_commitment(&probe, &reserved);
    let cb = |scripts: Vec<Vec<u8>>, witness: Option<&[Vec<u8>]>| coinbase(&scripts, witness);
    let honest_cb = cb(
        vec![payout.clone(), commitment_script(&good, 0)],
        Some(std::slice::from_ref(&reserved)),
    );
    // Every engine gives the same check of each block (the CPU's is returned).
    let engines = engines();
    let check = |txs: &[Vec<u8>]| {
        let raw = block_of(txs);
        let c = check_block(&Engine::cpu(), &raw).unwrap();
        for (name, engine) in &engines {
            assert_eq!(check_block(engine, &raw).unwrap(), c, "{name}");
        }
        c
    };

    for (engine_name, engine) in &engines {
        let c = check_block(engine, &block_of(&body(honest_cb.clone(), &spend))).unwrap();
        assert!(c.coinbase && c.merkle_ok(), "{engine_name}");
        assert_eq!(c.segwit_txs, 2, "{engine_name}");
        match c.witness {
            WitnessCommitment::Found {
                output,
                committed,
                computed,
                ..
            } => assert_eq!(
                (output, committed, computed),
                (1, good, good),
                "{engine_name}"
            ),
            other => panic!("{engine_name}: {other:?}"),
        }
        assert_eq!(c.mutation(true), None, "{engine_name}");
    }

    // The spend's witness changed, or stripped: same txids, so the header still matches.
    let mut forged = spend.clone();
    let n = forged.len();
    forged[n - 10] ^= 1; // inside the 33-byte witness item
    for malleated in [forged, legacy_tx(3)] {
        let c = check(&body(honest_cb.clone(), &malleated));
        assert!(c.merkle_ok());
        assert_eq!(c.mutation(true), Some(Mutation::WitnessMerkleRoot));
    }
    // Another reserved value, or a commitment to anything else.
    let other_reserved = cb(
        vec![payout.clone(), commitment_script(&good, 0)],
        Some(&[vec![0x5b; 32]]),
    );
    let other_commitment = cb(
        vec![payout.clone(), commitment_script(&[7; 32], 0)],
        Some(std::slice::from_ref(&reserved)),
    );
    for bad in [other_reserved, other_commitment] {
        let c = check(&body(bad, &spend));
        assert_eq!(c.mutation(true), Some(Mutation::WitnessMerkleRoot));
    }
    // The last commitment output counts, and a longer script is still one.
    let last_counts = cb(
        vec![
            commitment_script(&[7; 32], 0),
            payout.clone(),
            commitment_script(&good, 2),
        ],
        Some(std::slice::from_ref(&reserved)),
    );
    let c = check(&body(last_counts, &spend));
    assert!(matches!(
        c.witness,
        WitnessCommitment::Found { output: 2, .. }
    ));
    assert_eq!(c.mutation(true), None);
    let first_only = cb(
        vec![commitment_script(&good, 0), commitment_script(&[7; 32], 0)],
        Some(std::slice::from_ref(&reserved)),
    );
    assert_eq!(
        check(&body(first_only, &spend)).mutation(true),
        Some(Mutation::WitnessMerkleRoot)
    );
    // A 37-byte script is not a commitment: with witness data present, that is unexpected.
    let short = cb(
        vec![commitment_script(&good, 0)[..37].to_vec()],
        Some(std::slice::from_ref(&reserved)),
    );
    let c = check(&body(short, &spend));
    assert_eq!(c.witness, WitnessCommitment::Absent);
    assert_eq!(c.mutation(true), Some(Mutation::UnexpectedWitness));
    // The reserved value must be one 32-byte item.
    for stack in [
        None,
        Some(vec![vec![0x5a; 31]]),
        Some(vec![vec![0x5a; 33]]),
        Some(vec![reserved.clone(), reserved.clone()]),
    ] {
        let c = check(&body(
            cb(vec![commitment_script(&good, 0)], stack.as_deref()),
            &spend,
        ));
        assert_eq!(c.witness, WitnessCommitment::BadReservedValue { output: 0 });
        assert_eq!(c.mutation(true), Some(Mutation::WitnessReservedValue));
        // Before segwit the commitment is not looked at; the spend's witness is unexpected.
        assert_eq!(c.mutation(false), Some(Mutation::UnexpectedWitness));
    }
    // No commitment and no witness anywhere: not mutated, whether segwit is active or not.
    let c = check(&[cb(vec![payout.clone()], None), plain.clone()]);
    assert_eq!((c.mutation(true), c.mutation(false)), (None, None));

    // The first transaction not a coinbase: Core looks only for a 64-byte transaction.
    let mut sixty_four = legacy_tx(9);
    sixty_four.truncate(4 + 1 + 36);
    sixty_four.extend_from_slice(&[4, 0x51, 0x51, 0x51, 0x51]);
    sixty_four.extend_from_slice(&[0xff; 4]);
    sixty_four.push(1);
    sixty_four.extend_from_slice(&[0; 8]);
    sixty_four.push(0);
    sixty_four.extend_from_slice(&[0; 4]);
    assert_eq!(sixty_four.len(), 64);
    let c = check(&[plain.clone(), sixty_four.clone()]);
    assert!(!c.coinbase && c.has_64_byte_tx && c.merkle_ok());
    assert_eq!(c.mutation(true), Some(Mutation::SixtyFourByteTx));
    // Without one, such a block is not "mutated" (it is invalid for other reasons), even with
    // witness data and no commitment.
    let c = check(&[plain.clone(), spend.clone()]);
    assert!(!c.coinbase && !c.has_64_byte_tx);
    assert_eq!(c.mutation(true), None);
    // With a coinbase first, a 64-byte transaction is left alone (Core: 224 bits of work).
    let c = check(&[cb(vec![payout.clone()], None), sixty_four]);
    assert!(c.coinbase && c.has_64_byte_tx);
    assert_eq!(c.mutation(true), None);

    // The header's root wrong, and a duplicated transaction (CVE-2012-2459), come first.
    let mut wrong_root = block_of(&body(honest_cb.clone(), &spend));
    wrong_root[40] ^= 1;
    let c = check_block(&Engine::cpu(), &wrong_root).unwrap();
    assert_eq!(c.mutation(true), Some(Mutation::MerkleRoot));
    let triple = body(honest_cb.clone(), &spend);
    let txids: Vec<Hash> = triple.iter().map(|t| sha256d(&stripped(t))).collect();
    let mut doubled = triple.clone();
    doubled.push(spend.clone());
    let c = check_block(&Engine::cpu(), &block(&bitcoin_root(&txids).0, &doubled)).unwrap();
    assert_eq!(c.mutation(true), Some(Mutation::DuplicateTxs));
}

// ---------------------------------------------------------------------------------------------
// Solana
// ---------------------------------------------------------------------------------------------

use ed25519_dalek::{Signer, SigningKey};
use vera_engine::{Reason, Rule, Verdict};
use vera_node_adapter::chains::solana::{verify_transactions, TxError, MAX_TX_BYTES};

/// Two real Solana transactions, as serialized on the wire: an spl-token transfer (signature
/// 3vZ67C…, on the explorer) and an spl-token create-account (3doYbP…). Bytes as given, base58,
/// in the Solana tests of trustwallet/wallet-core (Apache-2.0); public chain data. Their
/// signatures were checked with OpenSSL (pyca/cryptography) when they were added here.
const SOLANA_TXS: [&str; 2] = [
    "0192375e20c0095d2a5a4b5b5900e4c8149876abd749340646f5698aa28116214dd3ddc8eb94a231842dc0ca5bf3ead79714afc38d657dc0525f5b52b49d845e030100020594c3890fa8d4bc04ab2a676d2cafea5cdc899ecd95a9cbe593e9df258759685ac45358bf73b2c596739d02afc1f9cd1da7b8755f91fc4a7a860a0810c04794e22544558bb05c2698f88852a7925c5c0ee5ea8711ddb3fe1262150283eee81163068310861a98327d0550574d84418aa6e10c3352ddaa7fd7f58152cceeb2388706ddf6e1d765a193d9cbe146ceeb79ac1cb485ed5f5b37913a8cf5857eff00a9a8f76432ee9bf7af1063ea2d8b7e5a3eec2a5a01cd67aba11a5978c1a403b065010404010302000a0ca00f00000000000006",
    "0183c564efe55cbb2ff6ff726cb819c889dde60fd397a87c9a66d6f0c97c89d59bb560acebb1a371ffc9948520f0b3d238671058e462c21295ecad0fab491e09010100050794c3890fa8d4bc04ab2a676d2cafea5cdc899ecd95a9cbe593e9df258759685ac45358bf73b2c596739d02afc1f9cd1da7b8755f91fc4a7a860a0810c04794e2068310861a98327d0550574d84418aa6e10c3352ddaa7fd7f58152cceeb23887000000000000000000000000000000000000000000000000000000000000000006ddf6e1d765a193d9cbe146ceeb79ac1cb485ed5f5b37913a8cf5857eff00a906a7d517192c5c51218cc94c3d4af17f58daee089ba1fd44e3dbd98a000000008c97258f4e2489f1bb3d1029148e0d830b5a1399daff1084048e7bd8dbe9f8598193cbe9f9d41c335fd905f6eacf5ef44032f1e0472df58cb57ed207b239b5ba0106070001000203040500",
];

/// A transaction signed by `keys` (the first `keys.len()` account keys), with `extra` more
/// account keys; `v0` adds the version byte and an address-table lookup.
fn solana_tx(keys: &[SigningKey], extra: usize, v0: bool, salt: u8) -> Vec<u8> {
    let mut msg = Vec::new();
    if v0 {
        msg.push(0x80);
    }
    msg.extend_from_slice(&[keys.len() as u8, 0, 1]);
    msg.push((keys.len() + extra) as u8);
    for k in keys {
        msg.extend_from_slice(&k.verifying_key().to_bytes());
    }
    for i in 0..extra {
        msg.extend_from_slice(&[salt ^ i as u8; 32]);
    }
    msg.extend_from_slice(&[salt; 32]); // recent blockhash
    msg.extend_from_slice(&[1, 0, 1, 0, 3, 2, 0, 0]); // one instruction
    if v0 {
        msg.push(1);
        msg.extend_from_slice(&[0x42; 32]);
        msg.extend_from_slice(&[1, 0, 1, 1]);
    }
    let mut tx = vec![keys.len() as u8];
    for k in keys {
        tx.extend_from_slice(&k.sign(&msg).to_bytes());
    }
    tx.extend_from_slice(&msg);
    tx
}

#[test]
fn real_solana_transactions_verify_on_every_engine() {
    let txs: Vec<Vec<u8>> = SOLANA_TXS.iter().map(|t| unhex(t)).collect();
    let views: Vec<&[u8]> = txs.iter().map(Vec::as_slice).collect();
    for (name, engine) in engines() {
        let checks = verify_transactions(&engine, &views).unwrap();
        for c in checks {
            let c = c.unwrap();
            assert!(c.valid(), "{name}: {c:?}");
            assert_eq!(c.verdicts, [Verdict::Valid]);
        }
    }
    // Any bit flipped in the signature or the message makes the one signature fail (or, in the
    // header and key count, the layout); it never passes.
    let engine = Engine::cpu();
    let tx = &txs[0];
    let damaged: Vec<Vec<u8>> = (1..tx.len())
        .map(|i| {
            let mut d = tx.clone();
            d[i] ^= 1 << (i % 8);
            d
        })
        .collect();
    let views: Vec<&[u8]> = damaged.iter().map(Vec::as_slice).collect();
    for (i, r) in verify_transactions(&engine, &views)
        .unwrap()
        .iter()
        .enumerate()
    {
        if let Ok(c) = r {
            assert!(!c.valid(), "byte {} flipped still valid", i + 1);
        }
    }
}

#[test]
fn solana_signatures_follow_the_strict_rule_signer_by_signer() {
    let mut rng = StdRng::seed_from_u64(1232);
    let mut txs = Vec::new();
    let mut want: Vec<Vec<bool>> = Vec::new();
    for i in 0..300 {
        let keys: Vec<SigningKey> = (0..rng.gen_range(1..5))
            .map(|_| SigningKey::from_bytes(&rng.gen()))
            .collect();
        let mut tx = solana_tx(&keys, rng.gen_range(0..6), i % 2 == 0, i as u8);
        // A third of them damaged: a signature's R or S, or the message.
        if i % 3 == 1 {
            let at = match rng.gen_range(0..3) {
                0 => 1 + 64 * rng.gen_range(0..keys.len()) + rng.gen_range(0..32),
                1 => 1 + 64 * rng.gen_range(0..keys.len()) + 32 + rng.gen_range(0..31),
                _ => tx.len() - 1,
            };
            tx[at] ^= 4;
        }
        // The reference: each signature over the message with its key, verify_strict.
        let n = keys.len();
        let message = &tx[1 + 64 * n..];
        let start = 1 + 4 + usize::from(message[0] & 0x80 != 0);
        want.push(
            (0..n)
                .map(|s| {
                    let key: [u8; 32] = message[start - 1 + 32 * s..][..32].try_into().unwrap();
                    let sig: [u8; 64] = tx[1 + 64 * s..][..64].try_into().unwrap();
                    vera_tests::reference::verdict(Rule::Strict, &key, message, &sig)
                })
                .collect(),
        );
        txs.push(tx);
    }
    // A signer whose key is the all-zero encoding (a point of order 4) with an all-zero
    // signature: zip215 would accept it, Solana's strict rule refuses.
    let mut small = vec![1u8];
    small.extend_from_slice(&[0; 64]);
    small.extend_from_slice(&[1, 0, 0, 1]);
    small.extend_from_slice(&[0; 32]);
    small.extend_from_slice(&[7; 32]);
    small.extend_from_slice(&[1, 0, 0, 0]); // one instruction: program 0, no accounts, no data
    txs.push(small);
    want.push(vec![false]);

    let views: Vec<&[u8]> = txs.iter().map(Vec::as_slice).collect();
    for (name, engine) in engines() {
        let checks = verify_transactions(&engine, &views).unwrap();
        for (i, (c, w)) in checks.iter().zip(&want).enumerate() {
            let c = c.as_ref().unwrap();
            let got: Vec<bool> = c.verdicts.iter().map(|v| v.is_valid()).collect();
            assert_eq!(&got, w, "{name}: transaction {i}");
            assert_eq!(c.valid(), w.iter().all(|&v| v));
        }
        assert_eq!(
            checks.last().unwrap().as_ref().unwrap().verdicts,
            [Verdict::Invalid(Reason::SmallOrderPublicKey)]
        );
    }
}

#[test]
fn malformed_solana_transactions_are_errors_for_themselves() {
    let mut rng = StdRng::seed_from_u64(7);
    let keys: Vec<SigningKey> = (0..2).map(|_| SigningKey::from_bytes(&rng.gen())).collect();
    let good = solana_tx(&keys, 1, false, 9);
    let mut wrong_count = good.clone();
    wrong_count[1 + 128] = 1; // the header asks for one signature; two are given
    let mut few_keys = good.clone();
    few_keys[1 + 128 + 3] = 1; // one account key for two signatures
    let mut v1 = solana_tx(&keys, 1, true, 9);
    v1[1 + 128] = 0x81;
    let mut alias = vec![0x82, 0x00]; // signature count 2, written in two bytes
    alias.extend_from_slice(&good[1..]);
    let huge = solana_tx(&keys, 40, false, 9);
    assert!(huge.len() > MAX_TX_BYTES);
    let mut unsigned = vec![0u8, 0, 0, 0, 1];
    unsigned.extend_from_slice(&[5; 96]);
    // The fee payer signs but is read-only: Agave's sigverify drops it.
    let mut readonly_payer = good.clone();
    readonly_payer[1 + 128 + 1] = 2;
    // 65 instructions (SIMD-0160 allows 64), and a message that ends at its instruction count.
    let mut many = good[..good.len() - 8].to_vec();
    many.push(65);
    many.extend_from_slice(&[0; 65 * 3]);
    let ends_at_count = solana_tx(&keys, 1, false, 9);
    let ends_at_count = [&ends_at_count[..ends_at_count.len() - 8], &[0]].concat();
    let no_blockhash = &good[..1 + 128 + 4 + 3 * 32 + 10];
    let cases: [(&[u8], &str); 12] = [
        (&unsigned, "PayerNotWritable"),
        (&readonly_payer, "the fee payer is not writable"),
        (&many, "65 instructions, over 64"),
        (&ends_at_count, "nothing after the instruction count"),
        (no_blockhash, "truncated before the instruction count"),
        (&[], "shorter than one signature"),
        (&good[..100], "no message after the signatures"),
        (&wrong_count, "2 signatures for 1 required"),
        (&few_keys, "1 account keys for 2 signatures"),
        (&v1, "unsupported message version 1"),
        (&alias, "non-canonical signature count"),
        (&huge, "over the 1232-byte packet"),
    ];
    let mut views: Vec<&[u8]> = cases.iter().map(|c| c.0).collect();
    views.push(&good);
    let checks = verify_transactions(&Engine::cpu(), &views).unwrap();
    for ((bytes, what), r) in cases.iter().zip(&checks) {
        match r {
            Err(TxError::Malformed(m)) => assert!(m.contains(what), "{m:?} lacks {what:?}"),
            other => panic!("{} bytes gave {other:?}", bytes.len()),
        }
    }
    // The good one after them still gets its own, right, verdicts.
    assert!(checks.last().unwrap().as_ref().unwrap().valid());
    // Every truncation of a real transaction: an error or an invalid signature, never a panic.
    let real = unhex(SOLANA_TXS[1]);
    let cuts: Vec<&[u8]> = (0..real.len()).map(|n| &real[..n]).collect();
    for r in verify_transactions(&Engine::cpu(), &cuts).unwrap() {
        assert!(r.map_or(true, |c| !c.valid()));
    }
}
