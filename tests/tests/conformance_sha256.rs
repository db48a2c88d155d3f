//! SHA-256 conformance: the NIST CAVP SHAVS byte-oriented vectors (ShortMsg, LongMsg, Monte Carlo)
//! through `Engine::sha256`, on every engine of the harness.
//!
//! Vectors: `tests/vectors/sha/` (see `tests/vectors/README.md`).

use vera_engine::{MessageBuf, Messages};
use vera_tests::{engines, field_hex, field_str, field_u64, load_vectors, unhex_n, vector_array};

/// One ShortMsg / LongMsg case.
struct MsgCase {
    len_bits: u64,
    msg: Vec<u8>,
    digest: [u8; 32],
}

fn load_msg_file(path: &str, expected_cases: usize) -> Vec<MsgCase> {
    let file = load_vectors(path);
    let cases: Vec<MsgCase> = vector_array(&file, "cases")
        .iter()
        .map(|c| MsgCase {
            len_bits: field_u64(c, "len_bits"),
            msg: field_hex(c, "msg"),
            digest: unhex_n::<32>(field_str(c, "digest")),
        })
        .collect();
    assert_eq!(cases.len(), expected_cases, "{path}: number of cases");
    for c in &cases {
        // The byte-oriented files hold whole bytes only; the empty message is "" (not "00").
        assert_eq!(c.msg.len() as u64 * 8, c.len_bits, "{path}: msg length");
    }
    cases
}

/// Every case in one batch, the same cases repeated so that the batch takes the parallel path,
/// a batch whose offsets start inside a larger buffer, and every case on its own.
fn check_msg_file(path: &str, expected_cases: usize) {
    let cases = load_msg_file(path, expected_cases);
    let batch = MessageBuf::from_slices(cases.iter().map(|c| &c.msg)).unwrap();

    // 16 copies: ≥ 1,000 items and ≥ 100 KiB of work, well past the CPU backend's serial threshold.
    const COPIES: usize = 16;
    let repeated =
        MessageBuf::from_slices((0..COPIES).flat_map(|_| cases.iter().map(|c| &c.msg))).unwrap();

    // The same messages behind 5 bytes of junk, addressed by shifted offsets.
    let mut shifted_bytes = vec![0xa5u8; 5];
    let mut shifted_offsets = vec![5u32];
    for c in &cases {
        shifted_bytes.extend_from_slice(&c.msg);
        shifted_offsets.push(shifted_bytes.len() as u32);
    }
    shifted_bytes.extend_from_slice(&[0x5a; 7]); // trailing junk, not part of any message
    let shifted = Messages::new(&shifted_bytes, &shifted_offsets).unwrap();

    for (name, engine) in engines() {
        let check = |what: &str, got: &[[u8; 32]], copies: usize| {
            assert_eq!(
                got.len(),
                cases.len() * copies,
                "{name} {path} {what}: count"
            );
            for (i, g) in got.iter().enumerate() {
                let c = &cases[i % cases.len()];
                assert_eq!(
                    hex::encode(g),
                    hex::encode(c.digest),
                    "{name} {path} {what}: item {i} (Len = {})",
                    c.len_bits
                );
            }
        };
        check("one batch", &engine.sha256(batch.as_messages()).unwrap(), 1);
        check(
            "repeated batch",
            &engine.sha256(repeated.as_messages()).unwrap(),
            COPIES,
        );
        check("shifted offsets", &engine.sha256(shifted).unwrap(), 1);
        for c in &cases {
            let offsets = [0, c.msg.len() as u32];
            let got = engine
                .sha256(Messages::new(&c.msg, &offsets).unwrap())
                .unwrap();
            assert_eq!(
                got,
                vec![c.digest],
                "{name} {path}: alone, Len = {}",
                c.len_bits
            );
        }
    }
}

#[test]
fn shavs_short_msg() {
    check_msg_file("sha/sha256_shortmsg.json", 65);
}

#[test]
fn shavs_long_msg() {
    check_msg_file("sha/sha256_longmsg.json", 64);
}

/// SHAVS 6.4 Monte Carlo: for each of the 100 checkpoints, MD0 = MD1 = MD2 = Seed,
/// MD_i = SHA-256(MD_{i-3} ‖ MD_{i-2} ‖ MD_{i-1}) for i = 3..1002, checkpoint = MD_1002, and the
/// next Seed is MD_1002. Every one of the 100,000 inner hashes is one `Engine::sha256` call with a
/// batch of one 96-byte message.
#[test]
fn shavs_monte_carlo() {
    let file = load_vectors("sha/sha256_monte.json");
    let seed: [u8; 32] = unhex_n(field_str(&file, "seed"));
    let checkpoints: Vec<(u64, [u8; 32])> = vector_array(&file, "checkpoints")
        .iter()
        .map(|c| (field_u64(c, "count"), unhex_n::<32>(field_str(c, "md"))))
        .collect();
    assert_eq!(checkpoints.len(), 100, "number of checkpoints");
    const OFFSETS: [u32; 2] = [0, 96];

    for (name, engine) in engines() {
        // The chain is 100,000 dependent one-message calls. On a GPU engine each is a full round
        // trip (a few hundred microseconds on lavapipe), so GPU engines run the first 10
        // checkpoints (10,000 calls); the CPU engines run all 100.
        let take = match engine.backend() {
            vera_engine::BackendKind::Gpu => 10,
            _ => checkpoints.len(),
        };
        let mut seed = seed;
        for (i, (count, expected)) in checkpoints.iter().take(take).enumerate() {
            assert_eq!(*count, i as u64, "checkpoints are in order");
            let mut md = [seed; 3];
            let mut msg = [0u8; 96];
            for _ in 3..=1002 {
                msg[..32].copy_from_slice(&md[0]);
                msg[32..64].copy_from_slice(&md[1]);
                msg[64..].copy_from_slice(&md[2]);
                let out = engine
                    .sha256(Messages::new(&msg, &OFFSETS).unwrap())
                    .unwrap();
                assert_eq!(out.len(), 1);
                md = [md[1], md[2], out[0]];
            }
            assert_eq!(
                hex::encode(md[2]),
                hex::encode(expected),
                "{name}: Monte Carlo checkpoint COUNT = {count}"
            );
            seed = md[2];
        }
    }
}
