//! Shared harness for vera's conformance and differential tests.
//!
//! Every test runs against every engine returned by [`engines`], so a new backend is held to the
//! same vectors and references the moment it is added here.

use vera_engine::{BackendChoice, Engine};

/// Every engine configuration the tests hold to the references: the CPU backend on all cores and
/// on one thread (the serial paths differ from the parallel ones).
pub fn engines() -> Vec<(String, Engine)> {
    let mut v = vec![
        ("cpu".to_string(), Engine::cpu()),
        (
            "cpu-1-thread".to_string(),
            Engine::builder()
                .backend(BackendChoice::Cpu)
                .threads(1)
                .build()
                .expect("a CPU engine always builds"),
        ),
    ];
    v.shrink_to_fit();
    v
}

/// Decodes lowercase or uppercase hex, panicking with the offending text (test data only).
pub fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap_or_else(|e| panic!("bad hex {s:?}: {e}"))
}

/// Decodes hex into a fixed-size array, panicking on a wrong length (test data only).
pub fn unhex_n<const N: usize>(s: &str) -> [u8; N] {
    unhex(s)
        .try_into()
        .unwrap_or_else(|v: Vec<u8>| panic!("expected {N} bytes, got {}", v.len()))
}

/// Reads `tests/vectors/<path>` as JSON.
pub fn load_vectors(path: &str) -> serde_json::Value {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors")
        .join(path);
    let text = std::fs::read_to_string(&full)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad JSON in {}: {e}", full.display()))
}
