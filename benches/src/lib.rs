//! Criterion benchmarks for vera: each group puts vera's backends beside the reference crates
//! called directly, on the same inputs. Run with `cargo bench -p vera-benches`.
//! `vera bench` gives the same comparison as a table without criterion's statistics.

use vera_engine::{BackendChoice, Engine};

/// vera's engines for the benchmarks: the CPU on every core and on one thread, and — where there
/// is a hardware GPU, or any adapter with `VERA_ALLOW_SOFTWARE_GPU=1` — the GPU for every batch.
pub fn engines() -> Vec<(&'static str, Engine)> {
    let one = Engine::builder()
        .backend(BackendChoice::Cpu)
        .threads(1)
        .build()
        .expect("a CPU engine always builds");
    let mut v = vec![("vera-all-cores", Engine::cpu()), ("vera-1-thread", one)];
    let software_ok =
        std::env::var(vera_engine::backend::gpu::ALLOW_SOFTWARE_ENV).is_ok_and(|v| v == "1");
    match Engine::builder().backend(BackendChoice::Gpu).build() {
        Ok(gpu) => {
            let g = gpu.gpu_backend().expect("a GPU engine has a GPU backend");
            if software_ok || !g.adapter().software {
                // Compiled before anything is timed.
                g.prepare_ed25519();
                v.push(("vera-gpu", gpu));
            } else {
                eprintln!(
                    "note: no GPU rows ({} is a software adapter; set {}=1 to time it)",
                    g.adapter().name,
                    vera_engine::backend::gpu::ALLOW_SOFTWARE_ENV
                );
            }
        }
        Err(e) => eprintln!("note: no GPU rows ({e})"),
    }
    v
}
