//! `vera info`: what this machine offers and which backend `auto` picks.

use std::io::Write;

use serde::Serialize;
use vera_engine::backend::gpu::list_adapters;
use vera_engine::Engine;

use super::{flush, write_err, CliError};

/// Facts about the host CPU that decide how fast the CPU path is.
#[derive(Debug, Clone, Serialize)]
pub struct CpuInfo {
    /// The model name, where the OS tells it.
    pub model: String,
    /// Hardware threads available to this process.
    pub threads: usize,
    /// SHA extensions (sha2 uses them for SHA-256 when present).
    pub sha_ni: bool,
    /// AVX2 (curve25519-dalek's vector backend, picked at run time).
    pub avx2: bool,
    /// AVX-512 IFMA (used by curve25519-dalek only in builds for the native CPU on nightly).
    pub avx512ifma: bool,
}

impl CpuInfo {
    /// Reads the running machine.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        let (sha_ni, avx2, avx512ifma) = (
            std::arch::is_x86_feature_detected!("sha"),
            std::arch::is_x86_feature_detected!("avx2"),
            std::arch::is_x86_feature_detected!("avx512ifma"),
        );
        #[cfg(not(target_arch = "x86_64"))]
        let (sha_ni, avx2, avx512ifma) = (false, false, false);
        let model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        CpuInfo {
            model,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            sha_ni,
            avx2,
            avx512ifma,
        }
    }

    /// The SHA-256 implementation sha2 runs here.
    pub fn sha256_impl(&self) -> &'static str {
        if self.sha_ni {
            "sha2 with SHA-NI"
        } else {
            "sha2, portable"
        }
    }

    /// The curve25519-dalek backend picked at run time here.
    pub fn curve_impl(&self) -> &'static str {
        if self.avx2 {
            "curve25519-dalek AVX2 backend"
        } else {
            "curve25519-dalek serial 64-bit backend"
        }
    }
}

#[derive(Serialize)]
struct Adapter {
    name: String,
    backend: String,
    device_type: String,
    driver: String,
    software: bool,
    shader_int64: bool,
    subgroup: bool,
    /// Narrowest and widest subgroup.
    subgroup_sizes: (u32, u32),
    timestamp_query: bool,
    max_storage_binding: u64,
    max_workgroup_storage: u32,
}

#[derive(Serialize)]
struct Info {
    version: &'static str,
    cpu: CpuInfo,
    sha256: &'static str,
    ed25519: &'static str,
    cpu_threads: usize,
    adapters: Vec<Adapter>,
    /// The backend `auto` picks.
    auto: String,
    /// The adapter `auto` uses, and how long opening it and building every pipeline took.
    gpu: Option<String>,
    gpu_setup_ms: Option<f64>,
    /// How many identical GPUs `auto` shards work across.
    gpu_devices: usize,
    /// How long building the Ed25519 pipelines took (they are built on first use otherwise).
    ed25519_pipelines_ms: Option<f64>,
    /// Which Ed25519 verify kernel runs which batch sizes.
    ed25519_kernels: Option<String>,
    /// Whether compiled pipelines are cached on disk between runs.
    pipeline_cache: bool,
    /// Why `auto` uses no GPU.
    gpu_unavailable: Option<String>,
}

/// Prints the report as text or JSON.
pub fn run(json: bool, allow_software_gpu: bool, out: &mut impl Write) -> Result<(), CliError> {
    let cpu = CpuInfo::detect();
    let auto = Engine::builder()
        .allow_software_gpu(allow_software_gpu)
        .build()
        .unwrap_or_else(|_| Engine::cpu());
    let adapters = list_adapters()
        .into_iter()
        .map(|a| Adapter {
            name: a.name,
            backend: a.backend,
            device_type: a.device_type,
            driver: a.driver,
            software: a.software,
            shader_int64: a.shader_int64,
            subgroup: a.subgroup,
            subgroup_sizes: a.subgroup_sizes,
            timestamp_query: a.timestamp_query,
            max_storage_binding: a.max_storage_binding,
            max_workgroup_storage: a.max_workgroup_storage,
        })
        .collect();
    let info = Info {
        version: env!("CARGO_PKG_VERSION"),
        sha256: cpu.sha256_impl(),
        ed25519: cpu.curve_impl(),
        cpu_threads: auto.cpu_threads(),
        adapters,
        auto: auto.backend().to_string(),
        gpu: auto.gpu_backend().map(|g| g.adapter().to_string()),
        gpu_devices: auto.gpu_backends().len(),
        gpu_setup_ms: auto
            .gpu_backend()
            .map(|g| g.setup_time().as_secs_f64() * 1e3),
        ed25519_pipelines_ms: auto
            .gpu_backend()
            .map(|g| g.prepare_ed25519().as_secs_f64() * 1e3),
        ed25519_kernels: auto.gpu_backend().map(|g| g.verify_kernels()),
        pipeline_cache: auto.gpu_backend().is_some_and(|g| g.has_pipeline_cache()),
        gpu_unavailable: auto.gpu_unavailable_reason().map(str::to_string),
        cpu,
    };
    if json {
        let text =
            serde_json::to_string_pretty(&info).map_err(|e| CliError::Usage(e.to_string()))?;
        writeln!(out, "{text}").map_err(write_err)?;
        return flush(out);
    }
    let yes = |b: bool| if b { "yes" } else { "no" };
    let mut text = format!(
        "vera {}\n\nCPU      {} ({} threads; vera uses {})\n         SHA-NI {}, AVX2 {}, AVX-512 IFMA {}\nSHA-256  {}\nEd25519  {}\n\nGPU adapters\n",
        info.version,
        info.cpu.model,
        info.cpu.threads,
        info.cpu_threads,
        yes(info.cpu.sha_ni),
        yes(info.cpu.avx2),
        yes(info.cpu.avx512ifma),
        info.sha256,
        info.ed25519,
    );
    if info.adapters.is_empty() {
        text += "  none found (no Vulkan, Metal or DX12 driver)\n";
    }
    for a in &info.adapters {
        text += &format!(
            "  {}\n    {} {}{}, driver {}\n    int64 {}, subgroups {} ({}–{} wide), timestamps {}; storage binding {} MiB, workgroup memory {} KiB\n",
            a.name,
            a.backend,
            a.device_type,
            if a.software { " (software)" } else { "" },
            a.driver,
            yes(a.shader_int64),
            yes(a.subgroup),
            a.subgroup_sizes.0,
            a.subgroup_sizes.1,
            yes(a.timestamp_query),
            a.max_storage_binding >> 20,
            a.max_workgroup_storage >> 10,
        );
    }
    text += &format!("\nauto     → {}", info.auto);
    match (&info.gpu, info.gpu_setup_ms, &info.gpu_unavailable) {
        (Some(g), Some(ms), _) => {
            let n = info.gpu_devices;
            let devices = if n > 1 {
                format!(" ×{n}, work sharded across them")
            } else {
                String::new()
            };
            text += &format!(
                " on {g}{devices}\n         device and hashing pipelines ready in {ms:.0} ms\n"
            );
            if let Some(ed) = info.ed25519_pipelines_ms {
                text += &format!(
                    "         Ed25519 pipelines built in {ed:.0} ms ({})\n",
                    if info.pipeline_cache {
                        "cached on disk for later starts, where the driver keeps them"
                    } else {
                        "no pipeline cache on this adapter"
                    }
                );
            }
            if let Some(k) = &info.ed25519_kernels {
                text += &format!("         Ed25519 verify kernels: {k}\n");
            }
        }
        (_, _, Some(why)) => text += &format!("\n         no GPU: {why}\n"),
        _ => text += "\n",
    }
    out.write_all(text.as_bytes()).map_err(write_err)?;
    flush(out)
}
