//! What the tests that use libvera from another language share.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Builds libvera (cargo builds only the rlib for tests, not the shared library a C program
/// links) with the cargo running this test, same profile, and returns the shared library's
/// folder, as cargo reports it.
pub fn build_libvera() -> PathBuf {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "-p", "vera-capi", "--lib", "--message-format=json"]);
    if !cfg!(debug_assertions) {
        cmd.arg("--release");
    }
    let out = cmd.output().expect("cargo runs");
    assert!(
        out.status.success(),
        "cargo build -p vera-capi failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let suffix = std::env::consts::DLL_SUFFIX;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "vera")
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(PathBuf::from))
        .find(|f| f.to_string_lossy().ends_with(suffix))
        .and_then(|f| f.parent().map(Path::to_path_buf))
        .expect("cargo reports libvera's shared library")
}
