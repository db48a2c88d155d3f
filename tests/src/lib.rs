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

/// The array `key` of a vector file (`cases`, `checkpoints`, `inclusion`, ...), panicking when it
/// is missing or not an array (test data only).
pub fn vector_array<'a>(file: &'a serde_json::Value, key: &str) -> &'a [serde_json::Value] {
    file.get(key)
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_else(|| panic!("vector file has no array {key:?}"))
}

/// The string field `key` of a vector case, panicking when it is missing or not a string.
pub fn field_str<'a>(case: &'a serde_json::Value, key: &str) -> &'a str {
    case.get(key)
        .and_then(serde_json::Value::as_str)
        .unwrap_or_else(|| panic!("case has no string field {key:?}: {case}"))
}

/// The unsigned integer field `key` of a vector case, panicking when it is missing.
pub fn field_u64(case: &serde_json::Value, key: &str) -> u64 {
    case.get(key)
        .and_then(serde_json::Value::as_u64)
        .unwrap_or_else(|| panic!("case has no unsigned integer field {key:?}: {case}"))
}

/// The boolean field `key` of a vector case, panicking when it is missing.
pub fn field_bool(case: &serde_json::Value, key: &str) -> bool {
    case.get(key)
        .and_then(serde_json::Value::as_bool)
        .unwrap_or_else(|| panic!("case has no boolean field {key:?}: {case}"))
}

/// The hex field `key` of a vector case, decoded.
pub fn field_hex(case: &serde_json::Value, key: &str) -> Vec<u8> {
    unhex(field_str(case, key))
}

/// The field `key` of a vector case as a list of hex strings, decoded.
pub fn field_hex_list(case: &serde_json::Value, key: &str) -> Vec<Vec<u8>> {
    case.get(key)
        .and_then(serde_json::Value::as_array)
        .unwrap_or_else(|| panic!("case has no array field {key:?}: {case}"))
        .iter()
        .map(|v| {
            unhex(
                v.as_str()
                    .unwrap_or_else(|| panic!("{key:?} holds a non-string: {v}")),
            )
        })
        .collect()
}
