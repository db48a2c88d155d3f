//! The `vera` command line's public contract: JSON lines in, JSON lines out, one answer per input
//! line in order, malformed lines answered in place, exit status non-zero only for usage and I/O
//! errors.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use sha2::{Digest, Sha256};

fn vera(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vera"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vera starts");
    // vera may exit before reading (a usage error): a closed pipe is not a test failure.
    let written = child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(stdin.as_bytes());
    if let Err(e) = written {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "write stdin: {e}");
    }
    child.wait_with_output().expect("vera finishes")
}

fn stdout_lines(o: &Output) -> Vec<String> {
    assert!(
        o.status.success(),
        "vera failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone())
        .expect("UTF-8 output")
        .lines()
        .map(str::to_string)
        .collect()
}

// RFC 8032 §7.1 TEST 1 (empty message).
const PK: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const SIG: &str = "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";

fn request(pk: &str, msg: &str, sig: &str) -> String {
    format!("{{\"pk\":\"{pk}\",\"msg\":\"{msg}\",\"sig\":\"{sig}\"}}")
}

#[test]
fn verify_answers_every_line_in_order() {
    let mut bad_s = SIG.to_string();
    bad_s.replace_range(64..66, "ff"); // flips S's low byte: equation fails
    let mut huge_s = SIG.to_string();
    huge_s.replace_range(126..128, "ff"); // S >= L
    let input = [
        request(PK, "", SIG),
        "{\"pk\":1}".to_string(),
        request(PK, "00", SIG),
        request(PK, "", &huge_s),
        request(&PK.to_uppercase(), "", SIG),
        request(PK, "0", SIG),
        request(PK, "", &bad_s),
    ]
    .join("\n");
    for rule in ["strict", "zip215", "dalek"] {
        let out = stdout_lines(&vera(&["verify", "--rule", rule], &input));
        assert_eq!(out.len(), 7, "{rule}: {out:?}");
        assert_eq!(out[0], r#"{"valid":true}"#);
        assert!(
            out[1].starts_with(r#"{"error":"#) && out[1].ends_with(r#","line":2}"#),
            "{}",
            out[1]
        );
        assert_eq!(out[2], r#"{"valid":false,"reason":"equation"}"#);
        assert_eq!(out[3], r#"{"valid":false,"reason":"non-canonical-s"}"#);
        assert_eq!(
            out[4], r#"{"valid":true}"#,
            "upper-case hex is accepted on input"
        );
        assert!(
            out[5].contains("msg: odd number") && out[5].ends_with(r#""line":6}"#),
            "{}",
            out[5]
        );
        assert_eq!(out[6], r#"{"valid":false,"reason":"equation"}"#);
    }
}

#[test]
fn verify_reads_a_file_and_rejects_bad_usage() {
    let dir = std::env::temp_dir().join(format!("vera-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("in.jsonl");
    std::fs::write(&file, request(PK, "", SIG) + "\n").unwrap();
    let out = vera(
        &[
            "verify",
            "--rule",
            "strict",
            "--input",
            file.to_str().unwrap(),
        ],
        "",
    );
    assert_eq!(stdout_lines(&out), vec![r#"{"valid":true}"#]);

    // No rule: usage error, nothing on stdout.
    let out = vera(&["verify"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    // Unknown rule.
    let out = vera(&["verify", "--rule", "ed25519"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("strict, zip215 or dalek"));
    // Missing input file: I/O error.
    let out = vera(
        &["verify", "--rule", "strict", "--input", "/nonexistent/x"],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open /nonexistent/x"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn gpu_backend_answers_like_the_cpu_or_fails_clearly() {
    let info: serde_json::Value =
        serde_json::from_slice(&vera(&["info", "--json"], "").stdout).expect("info --json");
    let adapters = info["adapters"].as_array().expect("adapters list").len();
    let input = "616263\n\n00ff\n";
    let leaves = "00\n10\n2021\n3031\n40414243\n";
    let gpu_hash = vera(&["hash", "--backend", "gpu"], input);
    let gpu_root = vera(
        &["merkle", "--scheme", "rfc6962", "--backend", "gpu"],
        leaves,
    );
    if adapters == 0 {
        assert!(
            std::env::var("VERA_REQUIRE_GPU").as_deref() != Ok("1"),
            "VERA_REQUIRE_GPU=1 but vera info lists no GPU adapter"
        );
        for out in [gpu_hash, gpu_root] {
            assert_eq!(out.status.code(), Some(2));
            assert!(out.stdout.is_empty());
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains("gpu backend unavailable: no GPU adapter found"),
                "{err}"
            );
        }
    } else {
        // A software adapter counts when asked for by name (--backend gpu).
        assert_eq!(
            stdout_lines(&gpu_hash),
            stdout_lines(&vera(&["hash", "--backend", "cpu"], input))
        );
        assert_eq!(
            stdout_lines(&gpu_root),
            stdout_lines(&vera(
                &["merkle", "--scheme", "rfc6962", "--backend", "cpu"],
                leaves
            ))
        );
    }
}

#[test]
fn hash_gives_one_digest_per_line() {
    let out = stdout_lines(&vera(&["hash"], "616263\n\nxy\n00"));
    assert_eq!(
        out,
        vec![
            r#"{"sha256":"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}"#,
            r#"{"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}"#,
            r#"{"error":"invalid hex: Invalid character 'x' at position 0","line":3}"#,
            r#"{"sha256":"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"}"#,
        ]
    );
    assert!(stdout_lines(&vera(&["hash"], "")).is_empty());
}

#[test]
fn merkle_roots_for_both_schemes() {
    // The 8 standard CT leaves (transparency-dev testonly/constants.go).
    let leaves =
        "\n00\n10\n2021\n3031\n40414243\n5051525354555657\n606162636465666768696a6b6c6d6e6f\n";
    let out = stdout_lines(&vera(&["merkle", "--scheme", "rfc6962"], leaves));
    assert_eq!(
        out,
        vec![
            r#"{"root":"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328","leaves":8}"#
        ]
    );
    let out = stdout_lines(&vera(&["merkle", "--scheme", "rfc6962"], ""));
    assert_eq!(
        out,
        vec![
            r#"{"root":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","leaves":0}"#
        ]
    );

    // Bitcoin block 100000 (txids in internal order); its header's Merkle root in internal order.
    let txids = [
        "876dd0a3ef4a2816ffd1c12ab649825a958b0ff3bb3d6f3e1250f13ddbf0148c",
        "c40297f730dd7b5a99567eb8d27b78758f607507c52292d02d4031895b52f2ff",
        "c46e239ab7d28e2c019b6d66ad8fae98a56ef1f21aeecb94d1b1718186f05963",
        "1d0cb83721529a062d9675b98d6e5c587e4a770fc84ed00abc5a5de04568a6e9",
    ];
    let root = "6657a9252aacd5c0b2940996ecff952228c3067cc38d4885efb5a4ac4247e9f3";
    let out = stdout_lines(&vera(&["merkle", "--scheme", "bitcoin"], &txids.join("\n")));
    assert_eq!(
        out,
        vec![format!(r#"{{"root":"{root}","leaves":4,"mutated":false}}"#)]
    );
    // [a, b, c] and [a, b, c, c] share a root; the second is flagged (CVE-2012-2459).
    let three = txids[..3].join("\n");
    let four = format!("{three}\n{}", txids[2]);
    let r3 = stdout_lines(&vera(&["merkle", "--scheme", "bitcoin"], &three));
    let r4 = stdout_lines(&vera(&["merkle", "--scheme", "bitcoin"], &four));
    assert!(
        r3[0].ends_with(r#""leaves":3,"mutated":false}"#),
        "{}",
        r3[0]
    );
    assert!(
        r4[0].ends_with(r#""leaves":4,"mutated":true}"#),
        "{}",
        r4[0]
    );
    assert_eq!(r3[0][..75], r4[0][..75]);
    // A short txid: no root, the error for that line.
    let out = stdout_lines(&vera(
        &["merkle", "--scheme", "bitcoin"],
        &format!("{}\nabcd\n", txids[0]),
    ));
    assert_eq!(out.len(), 1);
    assert!(
        out[0].contains("txid: expected 64 hex characters") && out[0].ends_with(r#""line":2}"#)
    );
    // No scheme: usage error.
    assert_eq!(vera(&["merkle"], "").status.code(), Some(2));
}

#[test]
fn info_and_bench_report_json() {
    let out = vera(&["info", "--json"], "");
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).expect("info --json is JSON");
    assert!(info["cpu_threads"].as_u64().unwrap() >= 1);
    // `auto` uses a GPU only if it is a hardware one; otherwise it says why not.
    let hardware = info["adapters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["software"] == false);
    if !hardware {
        assert_eq!(info["auto"], "cpu");
        assert!(info["gpu_unavailable"]
            .as_str()
            .unwrap()
            .contains("adapter"));
    }

    let file = std::env::temp_dir().join(format!("vera-bench-{}.json", std::process::id()));
    let chart = std::env::temp_dir().join(format!("vera-bench-{}.svg", std::process::id()));
    let out = vera(
        &[
            "bench",
            "--ops",
            "sha256,merkle,proofs",
            "--sizes",
            "64",
            "--time-ms",
            "1",
            "--json",
            file.to_str().unwrap(),
            "--chart",
            chart.to_str().unwrap(),
        ],
        "",
    );
    let table = stdout_lines(&out);
    assert!(table[0].contains("items/s"));
    // The chart: a panel per operation and variant.
    let svg = std::fs::read_to_string(&chart).expect("the chart is written");
    for panel in ["sha256 64 B", "merkle rfc6962", "proofs bitcoin"] {
        assert!(svg.contains(panel), "{panel} missing from the chart");
    }
    std::fs::remove_file(&chart).ok();
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).expect("bench JSON");
    let rows = report["rows"].as_array().unwrap();
    // sha256: vera all cores, vera one thread, sha2; merkle and proofs: the same three for each
    // scheme.
    assert_eq!(rows.len(), 15);
    assert!(rows
        .iter()
        .all(|r| r["items_per_s"].as_f64().unwrap() > 0.0));
    assert_eq!(rows.iter().filter(|r| r["reference"] == true).count(), 5);
    assert_eq!(rows.iter().filter(|r| r["op"] == "proofs").count(), 6);
    std::fs::remove_file(&file).ok();
}

/// `vera calibrate` measures every operation on the GPU it finds (lavapipe here, when asked
/// for), prints the costs and crossovers, and stores them where `auto` engines read them.
#[test]
fn calibrate_measures_every_operation_and_stores_it() {
    let file = std::env::temp_dir().join(format!("vera-cal-{}.json", std::process::id()));
    std::fs::remove_file(&file).ok();
    let out = Command::new(env!("CARGO_BIN_EXE_vera"))
        .args(["calibrate", "--json", "--allow-software-gpu"])
        .env("VERA_CALIBRATION_FILE", &file)
        .stdin(Stdio::null())
        .output()
        .expect("vera runs");
    let info: serde_json::Value =
        serde_json::from_slice(&vera(&["info", "--json"], "").stdout).expect("info --json");
    if info["adapters"]
        .as_array()
        .expect("adapters list")
        .is_empty()
    {
        assert!(
            std::env::var("VERA_REQUIRE_GPU").as_deref() != Ok("1"),
            "VERA_REQUIRE_GPU=1 but vera info lists no GPU adapter"
        );
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("nothing to calibrate"), "{err}");
        return;
    }
    let report: serde_json::Value =
        serde_json::from_str(&stdout_lines(&out).join("\n")).expect("calibrate --json is JSON");
    let ops: Vec<&str> = report["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .map(|r| r["op"].as_str().expect("op"))
        .collect();
    assert_eq!(
        ops,
        [
            "verify strict",
            "verify zip215",
            "verify dalek",
            "sha256",
            "merkle",
            "proofs"
        ]
    );
    for row in report["operations"].as_array().unwrap() {
        let c = &row["costs"];
        let cpu = c["cpu_ns_per_item"].as_f64().expect("a number");
        assert!(cpu.is_finite() && cpu > 0.0, "{row}");
        for k in ["gpu_fixed_ns", "gpu_ns_per_item"] {
            let v = c[k].as_f64().expect("a number");
            assert!(v.is_finite() && v >= 0.0, "{row}");
        }
    }
    assert_eq!(report["file"], file.to_str().unwrap());
    // The file holds this machine's calibration, proofs included, as engines read it back.
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("the calibration is stored"))
            .expect("the calibration file is JSON");
    let machines = stored.as_object().expect("keyed by machine");
    assert_eq!(machines.len(), 1, "{stored}");
    let cal = machines.values().next().unwrap();
    assert_eq!(
        cal["proofs"], report["operations"][5]["costs"],
        "the stored proof costs are the printed ones"
    );
    assert!(cal["kernels"].is_object(), "{cal}");
    std::fs::remove_file(&file).ok();
}

#[test]
fn the_load_bench_runs_in_process_and_through_the_server() {
    let file = std::env::temp_dir().join(format!("vera-load-{}.json", std::process::id()));
    let out = vera(
        &[
            "bench",
            "--ops",
            "load",
            "--rules",
            "zip215",
            "--backend",
            "cpu",
            "--time-ms",
            "20",
            "--json",
            file.to_str().unwrap(),
        ],
        "",
    );
    let table = stdout_lines(&out).join("\n");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).expect("bench JSON");
    let rows = report["load"].as_array().unwrap();
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "steady, 64 callers",
            "bursts of 2048",
            "server: steady, 64 connections",
            "server: bursts of 2048"
        ],
        "{table}"
    );
    for r in rows {
        // Every request was answered valid (the bench asserts it) and measured.
        assert!(r["requests"].as_u64().unwrap() > 0, "{r}");
        assert!(
            r["p50_us"].as_f64().unwrap() <= r["p99_us"].as_f64().unwrap(),
            "{r}"
        );
        assert!(table.contains(r["scenario"].as_str().unwrap()), "{table}");
    }
    std::fs::remove_file(&file).ok();
}

#[test]
fn block_checks_each_line() {
    let file = vera_tests::load_vectors("merkle/bitcoin_merkle.json");
    let genesis = &vera_tests::vector_array(&file, "cases")[0];
    let raw = genesis["raw_block_hex"].as_str().unwrap();
    let mut bad_root = raw.to_string();
    bad_root.replace_range(72..74, "00"); // a byte of the header's Merkle root
    let input = format!("{raw}\nzz\n{bad_root}\n");
    let out = vera(&["block", "--chain", "bitcoin", "--txids"], &input);
    let lines = stdout_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let ok: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(ok["block_hash"], genesis["block_hash_display"]);
    assert_eq!(ok["merkle_root"], genesis["root"]);
    assert_eq!(ok["txids"], genesis["leaves"]);
    assert_eq!(
        (ok["txs"].as_u64(), ok["merkle_ok"].as_bool()),
        (Some(1), Some(true))
    );
    assert!(lines[1].contains("invalid hex") && lines[1].ends_with("\"line\":2}"));
    let bad: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    assert_eq!(bad["merkle_ok"], false);
    assert_eq!(bad["merkle_root"], genesis["root"]);
    assert_ne!(bad["header_merkle_root"], genesis["root"]);
    assert_eq!(
        (&bad["ok"], &bad["mutation"]),
        (&false.into(), &"bad-txnmrklroot".into())
    );
    assert_eq!(
        (&ok["ok"], &ok["mutation"]),
        (&true.into(), &serde_json::Value::Null)
    );
    assert_eq!(ok["witness_commitment"], "absent");
    assert_eq!(ok["coinbase"], true);
}

#[test]
fn block_checks_the_witness_commitment_of_a_segwit_block() {
    let file = vera_tests::load_vectors("bitcoin/segwit_blocks.json");
    let block = &vera_tests::vector_array(&file, "cases")[0];
    let raw = block["raw_block_hex"].as_str().unwrap();
    let wants = [
        (vec![], true, serde_json::Value::Null),
        (vec!["--before-segwit"], false, "unexpected-witness".into()),
    ];
    for (flags, ok, mutation) in wants {
        let mut args = vec!["block", "--chain", "bitcoin"];
        args.extend(flags);
        let lines = stdout_lines(&vera(&args, &format!("{raw}\n")));
        let c: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(c["block_hash"], block["block_hash_display"], "{args:?}");
        assert_eq!(c["segwit_txs"], block["segwit_txs"], "{args:?}");
        assert_eq!(c["witness_root"], block["witness_root"], "{args:?}");
        assert_eq!(c["witness_commitment"], "match", "{args:?}");
        assert_eq!(
            (&c["ok"], &c["mutation"]),
            (&ok.into(), &mutation),
            "{args:?}"
        );
    }
}

#[test]
fn hash_double_gives_block_hashes() {
    // The genesis header's double SHA-256 is the genesis block hash (reversed for display).
    let file = vera_tests::load_vectors("merkle/bitcoin_merkle.json");
    let genesis = &vera_tests::vector_array(&file, "cases")[0];
    let header = genesis["header_hex"].as_str().unwrap();
    let lines = stdout_lines(&vera(&["hash", "--double"], &format!("{header}\n\n")));
    let mut hash = vera_tests::unhex(genesis["block_hash_display"].as_str().unwrap());
    hash.reverse();
    let empty = Sha256::digest(Sha256::digest(b""));
    assert_eq!(
        lines,
        [
            format!("{{\"sha256d\":\"{}\"}}", hex::encode(hash)),
            format!("{{\"sha256d\":\"{}\"}}", hex::encode(empty)),
        ]
    );
}

#[test]
fn proof_checks_each_line() {
    // Published RFC 6962 proofs (tests/vectors), as they are and damaged, and malformed lines.
    let file = vera_tests::load_vectors("merkle/rfc6962_inclusion_proofs.json");
    let cases = vera_tests::vector_array(&file, "cases");
    let line = |c: &serde_json::Value, index: u64, root: &str| {
        serde_json::json!({
            "leaf": c["leaf_hash"],
            "index": index,
            "size": c["tree_size"],
            "path": c["proof"],
            "root": root,
        })
        .to_string()
    };
    let deep = cases
        .iter()
        .find(|c| c["tree_size"] == 8 && c["leaf_index"] == 5)
        .unwrap();
    let root = deep["root"].as_str().unwrap();
    let mut wrong_root = root.to_string();
    wrong_root.replace_range(0..2, if &root[..2] == "00" { "01" } else { "00" });
    let input = [
        line(deep, 5, root),
        line(deep, 4, root),
        line(deep, 8, root),
        line(deep, 5, &wrong_root),
        "{\"leaf\":\"00\"}".to_string(),
        String::new(),
    ]
    .join("\n");
    let lines = stdout_lines(&vera(
        &["proof", "--scheme", "rfc6962"],
        &format!("{input}\n"),
    ));
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(lines[0], "{\"valid\":true}");
    assert_eq!(lines[1], "{\"valid\":false,\"reason\":\"root-mismatch\"}");
    assert_eq!(
        lines[2],
        "{\"valid\":false,\"reason\":\"index-out-of-range\"}"
    );
    assert_eq!(lines[3], "{\"valid\":false,\"reason\":\"root-mismatch\"}");
    assert!(
        lines[4].contains("invalid JSON") && lines[4].ends_with("\"line\":5}"),
        "{}",
        lines[4]
    );
    assert!(
        lines[5].contains("empty line") && lines[5].ends_with("\"line\":6}"),
        "{}",
        lines[5]
    );
    // Every published proof is valid.
    let all: String = cases
        .iter()
        .map(|c| {
            line(
                c,
                c["leaf_index"].as_u64().unwrap(),
                c["root"].as_str().unwrap(),
            ) + "\n"
        })
        .collect();
    let lines = stdout_lines(&vera(&["proof", "--scheme", "rfc6962"], &all));
    assert_eq!(lines.len(), 36);
    assert!(lines.iter().all(|l| l == "{\"valid\":true}"), "{lines:?}");
}

#[test]
fn tx_checks_solana_transactions_line_by_line() {
    // An spl-token transfer from Solana mainnet (see tests/chains.rs for its provenance).
    let tx = "0192375e20c0095d2a5a4b5b5900e4c8149876abd749340646f5698aa28116214dd3ddc8eb94a231842dc0ca5bf3ead79714afc38d657dc0525f5b52b49d845e030100020594c3890fa8d4bc04ab2a676d2cafea5cdc899ecd95a9cbe593e9df258759685ac45358bf73b2c596739d02afc1f9cd1da7b8755f91fc4a7a860a0810c04794e22544558bb05c2698f88852a7925c5c0ee5ea8711ddb3fe1262150283eee81163068310861a98327d0550574d84418aa6e10c3352ddaa7fd7f58152cceeb2388706ddf6e1d765a193d9cbe146ceeb79ac1cb485ed5f5b37913a8cf5857eff00a9a8f76432ee9bf7af1063ea2d8b7e5a3eec2a5a01cd67aba11a5978c1a403b065010404010302000a0ca00f00000000000006";
    let mut tampered = tx.to_string();
    tampered.replace_range(tx.len() - 2.., "07"); // the instruction data's last byte
    let input = format!("{tx}\n{tampered}\n01\nxyz\n");
    let lines = stdout_lines(&vera(&["tx", "--chain", "solana"], &input));
    assert_eq!(lines.len(), 4, "{lines:?}");
    assert_eq!(lines[0], "{\"valid\":true,\"results\":[{\"valid\":true}]}");
    assert_eq!(
        lines[1],
        "{\"valid\":false,\"results\":[{\"valid\":false,\"reason\":\"equation\"}]}"
    );
    assert!(lines[2].contains("malformed transaction") && lines[2].ends_with("\"line\":3}"));
    assert!(lines[3].contains("invalid hex") && lines[3].ends_with("\"line\":4}"));
}

/// `vera poh`: Solana entries chained from --start, each line's "start", or the line before;
/// a wrong hash is answered with the computed one, a malformed line breaks the chain for the
/// line after it (whose start is unknown).
#[test]
fn poh_checks_entries_from_the_hash_before() {
    let sha = |parts: &[&[u8]]| -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    };
    let start = [0x11u8; 32];
    let mixin = [0x22u8; 32];
    // A tick of 3 hashes, then an entry of transactions with 2 hashes, then one with 0 hashes
    // and transactions, then an empty entry (no hashes, no transactions).
    let tick = sha(&[&sha(&[&sha(&[&start])])]);
    let txs = sha(&[&sha(&[&tick]), &mixin]);
    let txs0 = sha(&[&txs, &mixin]);
    let line = |n: u64, hash: &[u8; 32], extra: &str| {
        format!(
            "{{\"num_hashes\":{n},\"hash\":\"{}\"{extra}}}\n",
            hex::encode(hash)
        )
    };
    let mix = format!(",\"mixin\":\"{}\"", hex::encode(mixin));
    let own_start = format!(",\"start\":\"{}\"", hex::encode(tick));
    let input = [
        line(3, &tick, ""),
        line(2, &txs, &mix),
        line(0, &txs0, &mix),
        line(0, &txs0, ""),
        line(1, &txs0, ""),
        "{\"num_hashes\":1}\n".to_string(),
        line(1, &sha(&[&txs0]), ""),
        line(1, &sha(&[&tick]), &own_start),
        line(1 << 25, &tick, ""),
    ]
    .concat();
    let out = stdout_lines(&vera(
        &["poh", "--chain", "solana", "--start", &hex::encode(start)],
        &input,
    ));
    assert_eq!(out.len(), 9, "{out:?}");
    for (i, answer) in out[..4].iter().enumerate() {
        assert_eq!(answer, "{\"valid\":true}", "line {}", i + 1);
    }
    // One hash from txs0 is not txs0.
    assert_eq!(
        out[4],
        format!(
            "{{\"valid\":false,\"computed\":\"{}\"}}",
            hex::encode(sha(&[&txs0]))
        )
    );
    assert!(
        out[5].contains("\"line\":6") && out[5].contains("missing field `hash`"),
        "{}",
        out[5]
    );
    assert!(out[6].contains("no hash to start from"), "{}", out[6]);
    assert_eq!(out[7], "{\"valid\":true}");
    assert!(out[8].contains("at most 16777216"), "{}", out[8]);
    // Without --start the first line has nothing to start from.
    let out = stdout_lines(&vera(&["poh", "--chain", "solana"], &line(3, &tick, "")));
    assert!(out[0].contains("no hash to start from"), "{out:?}");
    // A bad --start is a usage error.
    let bad = vera(&["poh", "--chain", "solana", "--start", "00"], "");
    assert_eq!(bad.status.code(), Some(2));
}

/// An entry may give its transactions' signatures instead of their hash: vera computes the hash
/// as Agave's hash_transactions (solana-merkle-tree over the signatures), here rebuilt with sha2.
#[test]
fn poh_entries_may_give_their_signatures() {
    let sha = |parts: &[&[u8]]| -> [u8; 32] {
        let mut h = Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    };
    let sigs: Vec<[u8; 64]> = (0..5u8).map(|i| [i; 64]).collect();
    // Leaves 0x00 ‖ sig; levels of 5, 3 and 2 nodes, an odd level's last paired with itself.
    let l: Vec<[u8; 32]> = sigs.iter().map(|s| sha(&[&[0], s])).collect();
    let node = |a: &[u8; 32], b: &[u8; 32]| sha(&[&[1], a, b]);
    let (a, b, c) = (node(&l[0], &l[1]), node(&l[2], &l[3]), node(&l[4], &l[4]));
    let mixin = node(&node(&a, &b), &node(&c, &c));
    let start = [0x33u8; 32];
    let hash = sha(&[&sha(&[&start]), &mixin]);
    let hexes: Vec<String> = sigs
        .iter()
        .map(|s| format!("\"{}\"", hex::encode(s)))
        .collect();
    let input = format!(
        "{{\"num_hashes\":2,\"hash\":\"{0}\",\"signatures\":[{1}]}}\n\
         {{\"num_hashes\":1,\"hash\":\"{2}\",\"signatures\":[]}}\n\
         {{\"num_hashes\":1,\"hash\":\"{0}\",\"signatures\":[],\"mixin\":\"{0}\"}}\n",
        hex::encode(hash),
        hexes.join(","),
        hex::encode(sha(&[&hash])),
    );
    let out = stdout_lines(&vera(
        &["poh", "--chain", "solana", "--start", &hex::encode(start)],
        &input,
    ));
    assert_eq!(out[0], "{\"valid\":true}");
    // No signatures: a tick.
    assert_eq!(out[1], "{\"valid\":true}");
    assert!(out[2].contains("not both"), "{}", out[2]);
}
