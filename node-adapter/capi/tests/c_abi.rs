//! libvera from C: compiles tests/c/abi_test.c against include/vera.h and the freshly built
//! shared library, runs it on a batch of honest, corrupted and hostile signatures, and holds its
//! output to the reference crates (verdicts), sha2 (digests) and the trees' definitions (roots).
//! The C program checks the error paths and concurrent use itself. Runs on the CPU backend, and
//! on the GPU backend where there is an adapter (lavapipe in CI; required with
//! VERA_REQUIRE_GPU=1).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use ed25519_dalek::{Signer, SigningKey};
use rand::{rngs::StdRng, Rng, SeedableRng};
use sha2::{Digest, Sha256};
use vera::verdict_code;
use vera_engine::{BackendChoice, Engine, Rule, SignatureBatchBuf};
use vera_tests::reference;

/// Compiles the C program (as C11, warnings as errors) and checks the header also compiles as
/// C++; returns the program's path.
fn compile(out_dir: &Path) -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib_dir = common::build_libvera();
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let exe = out_dir.join("abi_test");
    let status = Command::new(&cc)
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-O1",
        ])
        .arg("-I")
        .arg(manifest.join("include"))
        .arg(manifest.join("tests/c/abi_test.c"))
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-lvera", "-lpthread", "-o"])
        .arg(&exe)
        .status()
        .unwrap_or_else(|e| panic!("cannot run the C compiler {cc:?}: {e}"));
    assert!(status.success(), "compiling abi_test.c failed");
    let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
    let status = Command::new(&cxx)
        .args([
            "-x",
            "c++",
            "-std=c++17",
            "-Wall",
            "-Werror",
            "-fsyntax-only",
        ])
        .arg("-I")
        .arg(manifest.join("include"))
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(
                b"#include \"vera.h\"\nint main() { return vera_version() == nullptr; }\n",
            )?;
            c.wait()
        })
        .unwrap_or_else(|e| panic!("cannot run the C++ compiler {cxx:?}: {e}"));
    assert!(status.success(), "vera.h does not compile as C++");
    exe
}

type Item = ([u8; 32], Vec<u8>, [u8; 64]);

/// Honest signatures, each family of corruption, and the hostile classics.
fn batch(n: usize) -> Vec<Item> {
    let mut rng = StdRng::seed_from_u64(215);
    let mut items: Vec<Item> = (0..n)
        .map(|i| {
            let key = SigningKey::from_bytes(&rng.gen());
            let mut msg = vec![0u8; rng.gen_range(0..150)];
            rng.fill(&mut msg[..]);
            let mut sig = key.sign(&msg).to_bytes();
            let mut pk = key.verifying_key().to_bytes();
            match i % 6 {
                1 => sig[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                2 => sig[32 + rng.gen_range(0..31)] ^= 1 << rng.gen_range(0..8),
                3 => pk[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
                4 => msg.push(1),
                _ => {}
            }
            (pk, msg, sig)
        })
        .collect();
    // The all-zero key and signature (order-4 A and R, S = 0); S = L; y = p for R (non-canonical
    // encoding of a small-order point).
    items.push(([0; 32], vec![], [0; 64]));
    let l: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut s_is_l = items[0].2;
    s_is_l[32..].copy_from_slice(&l);
    items.push((items[0].0, items[0].1.clone(), s_is_l));
    let mut y_is_p = [0xff; 64];
    y_is_p[0] = 0xed;
    y_is_p[31] = 0x7f;
    y_is_p[32..].fill(0);
    items.push(([0; 32], b"m".to_vec(), y_is_p));
    items
}

fn run(backend: u32, items: &[Item], dir: &Path, exe: &Path) {
    let mut input = (items.len() as u32).to_le_bytes().to_vec();
    items.iter().for_each(|i| input.extend_from_slice(&i.0));
    items.iter().for_each(|i| input.extend_from_slice(&i.2));
    let mut off = 0u32;
    input.extend_from_slice(&off.to_le_bytes());
    for i in items {
        off += i.1.len() as u32;
        input.extend_from_slice(&off.to_le_bytes());
    }
    items.iter().for_each(|i| input.extend_from_slice(&i.1));
    let (inp, outp) = (dir.join("in.bin"), dir.join(format!("out-{backend}.bin")));
    std::fs::write(&inp, &input).unwrap();
    // Mainnet block 542213 (4 transactions, 2 with witness, a witness commitment), for the
    // block check.
    let file = vera_tests::load_vectors("bitcoin/segwit_blocks.json");
    let block = vera_tests::vector_array(&file, "cases")
        .iter()
        .find(|c| c["height"] == 542213)
        .expect("block 542213")
        .clone();
    let txids: Vec<[u8; 32]> = block["txids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| vera_tests::unhex_n(t.as_str().unwrap()))
        .collect();
    let blockp = dir.join("block.bin");
    std::fs::write(
        &blockp,
        vera_tests::unhex(block["raw_block_hex"].as_str().unwrap()),
    )
    .unwrap();
    // And mainnet block 277647 (213 transactions, before segwit: no commitment).
    let file = vera_tests::load_vectors("merkle/bitcoin_merkle.json");
    let legacy = vera_tests::vector_array(&file, "cases")
        .iter()
        .find(|c| c["tx_count"] == 213)
        .expect("block 277647")
        .clone();
    let legacyp = dir.join("block-277647.bin");
    std::fs::write(
        &legacyp,
        vera_tests::unhex(legacy["raw_block_hex"].as_str().unwrap()),
    )
    .unwrap();
    let o = Command::new(exe)
        .arg(backend.to_string())
        .arg(&inp)
        .arg(&outp)
        .arg(&blockp)
        .arg(&legacyp)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        o.status.success(),
        "abi_test (backend {backend}) failed:\n{log}"
    );
    eprint!("abi_test (backend {backend}):\n{log}");
    assert!(
        log.contains(&format!("libvera {}", env!("CARGO_PKG_VERSION"))),
        "{log}"
    );
    assert!(
        log.contains(&format!("has gpu: {}", u32::from(backend == 2))),
        "{log}"
    );

    // VERA_WITNESS_MATCH, VERA_MUTATION_NONE; before segwit, VERA_MUTATION_UNEXPECTED_WITNESS.
    let want = format!(
        "block: txs=4 segwit=2 merkle_ok=1 mutated=0 coinbase=1 witness=1 mutation=0 hash={} \
         root={} witness_root={}\nbefore segwit: mutation=6\n",
        block["block_hash_display"].as_str().unwrap(),
        reference::bitcoin_root(&txids)
            .0
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
        block["witness_root"].as_str().unwrap()
    );
    assert!(log.contains(&want), "{log}\nwanted {want}");
    // VERA_WITNESS_ABSENT, witness_root all zero, intact with segwit active or not.
    let want = format!(
        "block: txs=213 segwit=0 merkle_ok=1 mutated=0 coinbase=1 witness=0 mutation=0 hash={} \
         root={} witness_root={}\nbefore segwit: mutation=0\n",
        legacy["block_hash_display"].as_str().unwrap(),
        legacy["root"].as_str().unwrap(),
        "00".repeat(32)
    );
    assert!(log.contains(&want), "{log}\nwanted {want}");
    // Valid, valid, root mismatch, index out of range, length.
    assert!(log.contains("proofs: 0 0 3 1 2\n"), "{log}");

    let out = std::fs::read(&outp).unwrap();
    let n = items.len();
    assert_eq!(out.len(), 99 * n + 65);
    let cpu = Engine::cpu();
    let mut b = SignatureBatchBuf::new();
    for (pk, msg, sig) in items {
        b.push(pk, msg, sig).unwrap();
    }
    for (r, rule) in [Rule::Strict, Rule::Zip215, Rule::Dalek]
        .into_iter()
        .enumerate()
    {
        let codes = &out[r * n..(r + 1) * n];
        let reasons = cpu.verify(rule, b.as_batch()).unwrap();
        for (i, item) in items.iter().enumerate() {
            assert_eq!(
                codes[i] == 0,
                reference::verdict(rule, &item.0, &item.1, &item.2),
                "{rule} item {i}: verdict code {}",
                codes[i]
            );
            // The code names the CPU engine's reason (itself held to the references elsewhere).
            assert_eq!(codes[i], verdict_code(reasons[i]), "{rule} item {i}");
        }
    }
    let digests: Vec<[u8; 32]> = out[3 * n..35 * n]
        .chunks(32)
        .map(|c| c.try_into().unwrap())
        .collect();
    for (d, item) in digests.iter().zip(items) {
        assert_eq!(d[..], Sha256::digest(&item.1)[..]);
    }
    for (d, item) in out[35 * n..67 * n].chunks(32).zip(items) {
        assert_eq!(
            d[..],
            Sha256::digest(Sha256::digest(&item.1))[..],
            "sha256d"
        );
    }
    let msgs: Vec<&[u8]> = items.iter().map(|i| &i.1[..]).collect();
    assert_eq!(out[67 * n..67 * n + 32], reference::rfc6962_root(&msgs));
    let (root, mutated) = reference::bitcoin_root(&digests);
    assert!(mutated, "the batch ends in equal siblings");
    assert_eq!(out[67 * n + 32..67 * n + 64], root);
    assert_eq!(out[67 * n + 64], u8::from(mutated));
    // Hash chains from the digests: i % 5 hashes, odd ones mixing in the message's sha256d.
    let double: Vec<[u8; 32]> = out[35 * n..67 * n]
        .chunks(32)
        .map(|c| c.try_into().unwrap())
        .collect();
    for (i, end) in out[67 * n + 65..].chunks(32).enumerate() {
        let mixin = (i % 2 == 1).then_some(&double[i]);
        let want = reference::chain_end(&digests[i], (i % 5) as u64, mixin);
        assert_eq!(end, want, "chain {i}");
    }
}

#[test]
fn a_c_program_gets_the_references_answers() {
    let dir = std::env::temp_dir().join(format!("vera-capi-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let exe = compile(&dir);
    let mut items = batch(300);
    // The last item twice, as siblings: equal digests make the Bitcoin tree mutated (and the
    // reference's mutation check a real one).
    items.push(items.last().unwrap().clone());
    assert_eq!(items.len() % 2, 0);
    run(1, &items, &dir, &exe);
    let gpu = Engine::builder().backend(BackendChoice::Gpu).build();
    match gpu {
        Ok(_) => run(2, &items, &dir, &exe),
        Err(e) if !vera_tests::gpu_required() => eprintln!("no GPU, GPU run skipped: {e}"),
        Err(e) => panic!("VERA_REQUIRE_GPU=1 but no GPU engine: {e}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
