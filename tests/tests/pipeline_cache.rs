//! The on-disk pipeline cache: where the adapter supports one (Vulkan drivers, lavapipe
//! included), building a GPU engine writes it under vera's cache folder, and a second engine
//! starts from it and still computes correctly. (Its point is start-up time, which benchmarks,
//! not tests, measure; `vera info` reports it.)

use ed25519_dalek::{Signer, SigningKey};
use vera_engine::{BackendChoice, Engine, Rule, SignatureBatchBuf};
use vera_tests::gpu_required;

#[test]
fn pipelines_are_cached_on_disk_and_reused() {
    let dir = std::env::temp_dir().join(format!("vera-pipeline-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // SAFETY: this test binary has this one test, which sets the variable before any other
    // thread exists.
    unsafe { std::env::set_var("XDG_CACHE_HOME", &dir) };
    let build = || Engine::builder().backend(BackendChoice::Gpu).build();
    let first = match build() {
        Ok(e) => e,
        Err(e) if gpu_required() => panic!("GPU required: {e}"),
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let gpu = first.gpu_backend().expect("GPU engine");
    if !gpu.has_pipeline_cache() {
        assert!(
            !gpu_required() || gpu.adapter().backend != "Vulkan",
            "a Vulkan adapter without the pipeline cache"
        );
        eprintln!("skipped: {} has no pipeline cache", gpu.adapter().name);
        return;
    }
    gpu.prepare_ed25519();
    let files: Vec<_> = std::fs::read_dir(dir.join("vera"))
        .expect("the cache folder exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".bin"))
        .collect();
    assert_eq!(files.len(), 1, "one pipeline cache file");
    let size = files[0].metadata().expect("metadata").len();
    assert!(size > 0, "the pipeline cache file is empty");

    // A second engine loads it; its kernels still give the right answers.
    let second = build().expect("a second GPU engine");
    let key = SigningKey::from_bytes(&[9; 32]);
    let mut batch = SignatureBatchBuf::new();
    for i in 0..8u8 {
        let msg = [i; 40];
        let mut sig = key.sign(&msg).to_bytes();
        if i % 2 == 1 {
            sig[0] ^= 1;
        }
        batch
            .push(&key.verifying_key().to_bytes(), &msg, &sig)
            .expect("fits");
    }
    let got = second
        .verify(Rule::Strict, batch.as_batch())
        .expect("verify");
    let want = Engine::cpu()
        .verify(Rule::Strict, batch.as_batch())
        .expect("verify");
    assert_eq!(got, want);
    assert_eq!(got.iter().filter(|v| v.is_valid()).count(), 4);
    let _ = std::fs::remove_dir_all(&dir);
}
