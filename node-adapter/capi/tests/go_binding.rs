//! libvera from Go: runs the Go binding's own tests (`node-adapter/capi/go`, package `vera`)
//! against the freshly built shared library, on the CPU engine and on the GPU engine where there
//! is an adapter (lavapipe in CI; required with VERA_REQUIRE_GPU=1). Their reference is Go's
//! standard library: crypto/ed25519 signs, crypto/sha256 hashes, and the Merkle trees and
//! proofs are built from their definitions; published vectors come from `tests/vectors`.
//!
//! Needs a Go toolchain of 1.19 or later (`go`, or the GO variable) with cgo. Without one the
//! test says so and passes, unless VERA_REQUIRE_GO=1 (`scripts/test-all` sets it and installs
//! Go), when it fails. The package's copy of vera.h must equal the header.

mod common;

use std::path::Path;
use std::process::Command;

use vera_engine::{BackendChoice, Engine};

fn go_required() -> bool {
    std::env::var("VERA_REQUIRE_GO").is_ok_and(|v| v == "1")
}

/// The (major, minor) of `go version`'s "go1.19.8".
fn go_version(go: &str) -> Option<(u32, u32)> {
    let out = Command::new(go).arg("version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v = text
        .split_whitespace()
        .find_map(|w| w.strip_prefix("go1."))?;
    let minor = v
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    out.status.success().then_some((1, minor))
}

#[test]
fn the_go_package_carries_the_header() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |p: &str| std::fs::read_to_string(manifest.join(p)).expect("readable");
    assert!(
        read("go/vera.h") == read("include/vera.h"),
        "node-adapter/capi/go/vera.h differs from include/vera.h: copy the header over"
    );
}

#[test]
fn the_go_binding_passes_its_tests() {
    let go = std::env::var("GO").unwrap_or_else(|_| "go".into());
    match go_version(&go) {
        Some(v) if v >= (1, 19) => eprintln!("go {}.{}", v.0, v.1),
        found if go_required() => {
            panic!("VERA_REQUIRE_GO=1 but there is no Go 1.19 or later ({go}: {found:?})")
        }
        found => {
            eprintln!("no Go 1.19 or later ({go}: {found:?}): the Go binding's tests were not run");
            return;
        }
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = common::build_libvera();
    let vectors = manifest.join("../../tests/vectors");
    let mut backends = vec!["cpu"];
    match Engine::builder().backend(BackendChoice::Gpu).build() {
        Ok(_) => backends.push("gpu"),
        Err(e) if !vera_tests::gpu_required() => eprintln!("no GPU, GPU run skipped: {e}"),
        Err(e) => panic!("VERA_REQUIRE_GPU=1 but no GPU engine: {e}"),
    }
    let library_path = match std::env::var("LD_LIBRARY_PATH") {
        Ok(old) if !old.is_empty() => format!("{}:{old}", lib.display()),
        _ => lib.display().to_string(),
    };
    for backend in backends {
        let out = Command::new(&go)
            .args(["test", "-count=1", "-v", "./..."])
            .current_dir(manifest.join("go"))
            .env("CGO_ENABLED", "1")
            .env("CGO_LDFLAGS", format!("-L{}", lib.display()))
            .env("LD_LIBRARY_PATH", &library_path)
            .env("DYLD_LIBRARY_PATH", lib.display().to_string())
            // The build cache with cargo's, and no toolchain download.
            .env(
                "GOCACHE",
                Path::new(env!("CARGO_TARGET_TMPDIR")).join("go-cache"),
            )
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-mod=readonly")
            .env("GOWORK", "off")
            .env("VERA_GO_BACKEND", backend)
            .env("VERA_VECTORS_DIR", &vectors)
            .output()
            .expect("go test runs");
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        eprint!("go test ({backend}):\n{log}");
        assert!(out.status.success(), "go test failed on {backend}:\n{log}");
        // Every test ran and passed: none skipped, none missing.
        for name in [
            "TestVersion",
            "TestRFC8032AndNegatives",
            "TestRulesDisagreeOnASmallOrderKey",
            "TestCryptoEd25519SignaturesAndCorruptions",
            "TestSha256AndSha256dAgainstCryptoSha256",
            "TestMerkleRootsAndProofs",
            "TestRealSegwitBlock",
            "TestBatcherAcrossGoroutines",
            "TestBatchVerifier",
            "TestSolanaTransactions",
            "TestErrors",
        ] {
            assert!(
                log.contains(&format!("--- PASS: {name} ")),
                "{name} did not pass on {backend}:\n{log}"
            );
        }
    }
}
