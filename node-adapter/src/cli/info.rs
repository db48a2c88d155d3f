//! `vera info`: what this machine offers and which backend `auto` picks.

use std::io::Write;

use serde::Serialize;
use vera_engine::{BackendKind, Engine};

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
struct Backend {
    kind: String,
    available: bool,
    detail: String,
}

#[derive(Serialize)]
struct Info {
    version: &'static str,
    cpu: CpuInfo,
    sha256: &'static str,
    ed25519: &'static str,
    backends: Vec<Backend>,
    auto: String,
}

/// Prints the report as text or JSON.
pub fn run(json: bool, out: &mut impl Write) -> Result<(), CliError> {
    let cpu = CpuInfo::detect();
    let auto = Engine::auto();
    let gpu = match Engine::gpu() {
        Ok(_) => Backend {
            kind: BackendKind::Gpu.to_string(),
            available: true,
            detail: "available".into(),
        },
        Err(e) => Backend {
            kind: BackendKind::Gpu.to_string(),
            available: false,
            detail: e.to_string(),
        },
    };
    let info = Info {
        version: env!("CARGO_PKG_VERSION"),
        sha256: cpu.sha256_impl(),
        ed25519: cpu.curve_impl(),
        backends: vec![
            Backend {
                kind: BackendKind::Cpu.to_string(),
                available: true,
                detail: format!("{} worker threads", auto.cpu_threads()),
            },
            gpu,
        ],
        auto: auto.backend().to_string(),
        cpu,
    };
    if json {
        let text =
            serde_json::to_string_pretty(&info).map_err(|e| CliError::Usage(e.to_string()))?;
        writeln!(out, "{text}").map_err(write_err)?;
        return flush(out);
    }
    let yes = |b: bool| if b { "yes" } else { "no" };
    let text = format!(
        "vera {}\n\nCPU      {} ({} threads)\n         SHA-NI {}, AVX2 {}, AVX-512 IFMA {}\nSHA-256  {}\nEd25519  {}\n\nBackends\n{}\nauto     → {}\n",
        info.version,
        info.cpu.model,
        info.cpu.threads,
        yes(info.cpu.sha_ni),
        yes(info.cpu.avx2),
        yes(info.cpu.avx512ifma),
        info.sha256,
        info.ed25519,
        info.backends
            .iter()
            .map(|b| format!(
                "  {:<6} {}",
                b.kind,
                if b.available { b.detail.clone() } else { format!("unavailable: {}", b.detail) }
            ))
            .collect::<Vec<_>>()
            .join("\n"),
        info.auto
    );
    out.write_all(text.as_bytes()).map_err(write_err)?;
    flush(out)
}
