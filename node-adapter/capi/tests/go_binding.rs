//! libvera from Go: runs the Go binding's own tests (`node-adapter/capi/go`, package `vera`)
//! against the freshly built shared library, on the CPU engine and on the GPU engine where there
//! is an adapter (lavapipe in CI; required with VERA_REQUIRE_GPU=1). Their reference is Go's
//! standard library: crypto/ed25519 signs, crypto/sha256 hashes, and the Merkle trees and
//! proofs are built from their definitions; published vectors come from `tests/vectors`.
//!
//! Needs a Go toolchain (`go`, or the GO variable) with cgo. Without one the test says so and
//! passes, unless VERA_REQUIRE_GO=1 (`scripts/test-all` sets it and installs Go), when it fails.

mod common;

use std::path::Path;
use std::process::Command;

use vera_engine::{BackendChoice, Engine};

fn go_required() -> bool {
    std::env::var("VERA_REQUIRE_GO").is_ok_and(|v| v == "1")
}

#[test]
fn the_go_binding_passes_its_tests() {
    let go = std::env::var("GO").unwrap_or_else(|_| "go".into());
    match Command::new(&go).arg("version").output() {
        Ok(o) if o.status.success() => {
            eprintln!("{}", String::from_utf8_lossy(&o.stdout).trim());
        }
        _ if go_required() => panic!("VERA_REQUIRE_GO=1 but `{go} version` does not run"),
        _ => {
            eprintln!("no Go toolchain ({go}): the Go binding's tests were not run");
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
            .env("GOFLAGS", "-mod=mod")
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
            "TestCryptoEd25519SignaturesAndCorruptions",
            "TestSha256AndSha256dAgainstCryptoSha256",
            "TestMerkleRootsAndProofs",
            "TestRealSegwitBlock",
            "TestBatcherAcrossGoroutines",
            "TestErrors",
        ] {
            assert!(
                log.contains(&format!("--- PASS: {name} ")),
                "{name} did not pass on {backend}:\n{log}"
            );
        }
    }
}
