//! Start-up calibration: what each operation costs on this machine's CPU and GPU, measured once
//! and cached to a file, so that `auto` routing follows this machine rather than guesses.
//!
//! For each operation the CPU is modelled as a cost per item on all cores and the GPU as a
//! fixed cost per batch (upload, dispatch, readback) plus a cost per item. From those the router
//! plans each batch ([`Costs::plan`]): the CPU alone, the GPU alone, or both at once, the GPU
//! taking the first part of the batch and the CPU the rest, sized so that both finish together
//! and their throughputs add. The GPU is only chosen when the model predicts it at most
//! [`MARGIN`] of the CPU's time: an error in the model then costs little, and a node is never
//! made slower than the CPU path alone by a close call.
//!
//! Measuring takes well under a second on a hardware GPU (the Ed25519 pipelines, built anyway,
//! take longer). The result is kept in `calibration.json` under vera's cache folder, keyed by
//! vera's version, the adapter and driver, and the CPU thread count; a different machine or
//! driver measures again. `vera calibrate` (or [`CalibrationMode::Refresh`]) measures anew.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use ed25519_dalek::{Signer, SigningKey};
use serde::{Deserialize, Serialize};

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::{GpuBackend, KernelLimits, VerifyKernel};
use crate::batch::{MessageBuf, SignatureBatchBuf};
use crate::ed25519::Rule;
use crate::error::Result;
use crate::proofs::ProofsBuf;

/// The GPU (or a split) is chosen only when predicted to take at most this share of the CPU's
/// time alone.
pub const MARGIN: f64 = 0.75;

/// The smallest share of a batch worth sending to the GPU in a split.
const MIN_GPU_ITEMS: usize = 64;

/// The smallest batch of inclusion proofs the calibration times on the GPU. The GPU runs one
/// invocation per proof, so smaller batches lack the parallelism the measured cost per hash
/// assumes: the router keeps them on the CPU.
pub(crate) const PROOFS_MEASURED_FROM: usize = 1024;

/// The environment variable naming the calibration file instead of the default location.
pub const CALIBRATION_FILE_ENV: &str = "VERA_CALIBRATION_FILE";

/// How an `auto` engine gets its calibration.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CalibrationMode {
    /// Use the cached calibration for this machine, or measure and cache one. On a software
    /// adapter (allowed explicitly) nothing is measured: the provisional thresholds apply.
    #[default]
    Cached,
    /// Measure now and replace the cached calibration, whatever the adapter.
    Refresh,
    /// Measure nothing: route by the provisional thresholds of `route.rs`.
    Off,
}

/// One operation's costs on this machine, in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Costs {
    /// Per item on the CPU, on all of the engine's threads.
    pub cpu_ns_per_item: f64,
    /// Per batch on the GPU, whatever its size.
    pub gpu_fixed_ns: f64,
    /// Per item on the GPU.
    pub gpu_ns_per_item: f64,
}

/// Where a batch runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// On the CPU alone.
    Cpu,
    /// On the GPU alone.
    Gpu,
    /// The first `n` items on the GPU, the rest on the CPU at the same time.
    Split(usize),
}

impl Costs {
    /// Predicted CPU time for `n` items.
    pub fn cpu_ns(&self, n: usize) -> f64 {
        self.cpu_ns_per_item * n as f64
    }

    /// Predicted GPU time for `n` items.
    pub fn gpu_ns(&self, n: usize) -> f64 {
        self.gpu_fixed_ns + self.gpu_ns_per_item * n as f64
    }

    /// The plan for a batch of `n` items: the CPU unless the GPU alone or a split is predicted
    /// to take at most [`MARGIN`] of the CPU's time; a split (where `can_split`) when it beats
    /// the GPU alone. With m items on the GPU both finish together when
    /// `fixed + g·m = c·(n − m)`, i.e. `m = (c·n − fixed) / (g + c)`.
    pub fn plan(&self, n: usize, can_split: bool) -> Plan {
        let cpu = self.cpu_ns(n);
        // A cache file edited by hand (or damaged) must not route work anywhere odd.
        let sane = [
            self.cpu_ns_per_item,
            self.gpu_fixed_ns,
            self.gpu_ns_per_item,
        ]
        .iter()
        .all(|x| x.is_finite() && *x >= 0.0);
        if n == 0 || !sane || cpu <= 0.0 {
            return Plan::Cpu;
        }
        let gpu = self.gpu_ns(n);
        let (c, g) = (self.cpu_ns_per_item, self.gpu_ns_per_item);
        let m = ((c * n as f64 - self.gpu_fixed_ns) / (g + c)).floor();
        if can_split && m >= MIN_GPU_ITEMS as f64 && (m as usize) + MIN_GPU_ITEMS <= n {
            let m = m as usize;
            let split = self.gpu_ns(m).max(self.cpu_ns(n - m));
            if split <= MARGIN * cpu && split < gpu {
                return Plan::Split(m);
            }
        }
        if gpu <= MARGIN * cpu {
            Plan::Gpu
        } else {
            Plan::Cpu
        }
    }

    /// The costs of `gpus` identical GPUs sharing the work: the same fixed cost (they run at
    /// once), the per-item cost divided among them.
    pub fn on_gpus(&self, gpus: usize) -> Costs {
        Costs {
            gpu_ns_per_item: self.gpu_ns_per_item / gpus.max(1) as f64,
            ..*self
        }
    }

    /// The smallest batch size the GPU takes part in (alone or in a split), searched up to
    /// `limit`; `None` when it never does.
    pub fn crossover(&self, can_split: bool, limit: usize) -> Option<usize> {
        let (mut lo, mut hi) = (1usize, limit);
        if self.plan(hi, can_split) == Plan::Cpu {
            return None;
        }
        // The GPU's share grows with n, so the first n where it takes part is found by bisection.
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.plan(mid, can_split) == Plan::Cpu {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    }
}

/// The measured costs of every operation on one machine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// Ed25519 verification per signature (32-byte messages), by rule: strict, zip215, dalek.
    pub verify: [Costs; 3],
    /// SHA-256 per unit of work: a message's bytes plus 64 per message.
    pub sha256: Costs,
    /// Merkle roots per leaf (RFC 6962 over 32-byte leaves).
    pub merkle: Costs,
    /// Inclusion proofs per unit of work: a path hash, plus one per proof (RFC 6962 proofs of
    /// 20 hashes). Absent from calibrations made before vera measured it: proofs are then
    /// costed as Merkle leaves.
    #[serde(default)]
    pub proofs: Option<Costs>,
    /// Up to which batch sizes each Ed25519 verify kernel is the fastest on this GPU (absent
    /// from calibrations made before vera measured it: the provisional limits apply then).
    #[serde(default)]
    pub kernels: Option<KernelLimits>,
}

impl Calibration {
    /// The costs of verifying under `rule`.
    pub fn verify_costs(&self, rule: Rule) -> &Costs {
        &self.verify[rule_index(rule)]
    }

    /// The costs of inclusion proofs per unit of work: measured, or (in a calibration made
    /// before proofs were measured) those of Merkle leaves, a path hash being a node hash.
    pub fn proof_costs(&self) -> Costs {
        self.proofs.unwrap_or(self.merkle)
    }

    /// Whether it holds everything this version measures (a cached calibration that does not
    /// is measured again).
    pub fn is_complete(&self) -> bool {
        self.proofs.is_some() && self.kernels.is_some()
    }
}

fn rule_index(rule: Rule) -> usize {
    match rule {
        Rule::Strict => 0,
        Rule::Zip215 => 1,
        Rule::Dalek => 2,
    }
}

/// What a cached calibration is valid for.
pub(crate) fn machine_key(cpu: &CpuBackend, gpu: &GpuBackend) -> String {
    let a = gpu.adapter();
    // The field path too: the Ed25519 costs and kernel limits differ between them.
    format!(
        "vera {}; {} ({}, {}); {} CPU threads{}",
        env!("CARGO_PKG_VERSION"),
        a.name,
        a.backend,
        a.driver,
        cpu.threads(),
        if gpu.int64_field() { "" } else { "; u32 field" }
    )
}

/// vera's cache folder: `$XDG_CACHE_HOME/vera`, `~/.cache/vera`, or `%LOCALAPPDATA%\vera` on
/// Windows (the calibration and the GPU pipeline cache live there).
pub fn cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("LOCALAPPDATA").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("vera"))
}

/// The calibration file: `VERA_CALIBRATION_FILE`, else `calibration.json` in [`cache_dir`].
pub fn calibration_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(CALIBRATION_FILE_ENV) {
        return Some(PathBuf::from(p));
    }
    Some(cache_dir()?.join("calibration.json"))
}

type CacheFile = BTreeMap<String, Calibration>;

fn read_cache() -> CacheFile {
    calibration_file()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

/// The cached calibration for `key`, if any.
pub(crate) fn load(key: &str) -> Option<Calibration> {
    read_cache().get(key).copied()
}

/// Stores `cal` under `key`, keeping other machines' entries; failures are logged, not fatal
/// (the engine works without a cache, measuring again next time).
pub(crate) fn store(key: &str, cal: &Calibration) {
    let Some(path) = calibration_file() else {
        tracing::warn!("no cache folder (HOME unset): calibration not saved");
        return;
    };
    let mut all = read_cache();
    all.insert(key.to_string(), *cal);
    let write = || -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&all).map_err(std::io::Error::other)?;
        write_whole(&path, text.as_bytes())
    };
    if let Err(e) = write() {
        tracing::warn!("cannot save calibration to {}: {e}", path.display());
    }
}

/// Writes `bytes` to a temporary file beside `path` (unique to this process and call), then
/// renames it over `path`: a reader, or another engine writing at the same time, never sees half
/// a file.
pub(crate) fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp.{}.{seq}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// The best of `reps` timings of `f`, in nanoseconds, after one untimed run.
fn best_ns(reps: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        f()?;
        best = best.min(t.elapsed().as_nanos() as f64);
    }
    Ok(best)
}

/// GPU costs from timings at two batch sizes: the slope per item and the intercept.
fn fit(n1: usize, t1: f64, n2: usize, t2: f64, cpu_ns_per_item: f64) -> Costs {
    let per = ((t2 - t1) / (n2 - n1) as f64).max(0.0);
    Costs {
        cpu_ns_per_item,
        gpu_fixed_ns: (t1 - per * n1 as f64).max(0.0),
        gpu_ns_per_item: per,
    }
}

/// Honest signatures over 32-byte messages by 64 keys, as a node's traffic looks.
fn signatures(n: usize) -> SignatureBatchBuf {
    let keys: Vec<SigningKey> = (0..64u8)
        .map(|i| SigningKey::from_bytes(&[i.wrapping_mul(37).wrapping_add(1); 32]))
        .collect();
    let mut batch = SignatureBatchBuf::new();
    for i in 0..n {
        let key = &keys[i % keys.len()];
        let mut msg = [0u8; 32];
        msg[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let sig = key.sign(&msg).to_bytes();
        // 32-byte messages always fit.
        let _ = batch.push(&key.verifying_key().to_bytes(), &msg, &sig);
    }
    batch
}

/// `n` distinct 32-byte messages (or leaves).
fn messages(n: usize, len: usize) -> MessageBuf {
    let mut buf = MessageBuf::with_capacity(n, n * len);
    let mut m = vec![0u8; len];
    for i in 0..n {
        m[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let _ = buf.push(&m);
    }
    buf
}

/// Batch sizes at which the verify kernels are timed side by side, while a batch takes at most
/// [`KERNEL_BUDGET_NS`] (a slow GPU stops early).
const KERNEL_LADDER: [usize; 6] = [64, 256, 1024, 4096, 16_384, 65_536];
const KERNEL_BUDGET_NS: f64 = 40e6;

/// Times each verify kernel the device runs at each size of [`KERNEL_LADDER`] (zip215, 32-byte
/// messages; `sigs` repeated to fill the larger batches: the GPU caches nothing) and returns
/// the limits that pick the fastest. A kernel that fails, or answers anything but "valid" for
/// these honest signatures, is left out of the comparison (and logged).
fn measure_kernels(gpu: &GpuBackend, sigs: &SignatureBatchBuf) -> Result<KernelLimits> {
    let mut kernels = crate::backend::gpu::kernels_available(gpu);
    let one = sigs.as_batch();
    let mut big = SignatureBatchBuf::new();
    let mut ladder = Vec::new();
    for n in KERNEL_LADDER {
        while big.len() < n {
            let Some((pk, msg, sig)) = one.get(big.len() % one.len()) else {
                break;
            };
            big.push(pk, msg, sig)?;
        }
        let Some(batch) = big.as_batch().slice(0..n) else {
            break;
        };
        let mut times = Vec::new();
        let mut failed = Vec::new();
        for &k in &kernels {
            let run = || match gpu.verify_with(k, Rule::Zip215, batch) {
                Ok(v) if v.iter().all(|&ok| ok) => Ok(()),
                Ok(_) => Err(crate::Error::Gpu(format!(
                    "the {k:?} kernel rejected honest signatures"
                ))),
                Err(e) => Err(e),
            };
            match best_ns(2, run) {
                Ok(t) => times.push((k, t)),
                Err(e) => {
                    tracing::warn!("calibration leaves the {k:?} Ed25519 kernel out: {e}");
                    failed.push(k);
                }
            }
        }
        kernels.retain(|k| !failed.contains(k));
        if times.is_empty() {
            return Err(crate::Error::Gpu("no Ed25519 verify kernel ran".into()));
        }
        let fastest = times.iter().map(|t| t.1).fold(f64::INFINITY, f64::min);
        ladder.push((n, times));
        if fastest > KERNEL_BUDGET_NS {
            break;
        }
    }
    Ok(limits_from(&ladder))
}

/// Measures which verify kernel is the fastest at which batch size on `gpu` (the first step of
/// a calibration), without setting anything; for tests.
#[doc(hidden)]
pub fn measure_kernel_limits(gpu: &GpuBackend) -> Result<KernelLimits> {
    measure_kernels(gpu, &signatures(1024))
}

/// Kernel limits from timings per batch size (ascending): the lane-parallel kernel up to where
/// it stops being the fastest, counting from the smallest size; then the cooperative kernel up
/// to where the one-invocation kernel overtakes it. A limit falls halfway (geometrically)
/// between the last size a kernel won and the next; one still winning at the largest size
/// measured extends to twice it.
fn limits_from(ladder: &[(usize, Vec<(VerifyKernel, f64)>)]) -> KernelLimits {
    let winner = |times: &[(VerifyKernel, f64)]| {
        times.iter().min_by(|a, b| a.1.total_cmp(&b.1)).map(|t| t.0)
    };
    let limit = |i: usize| match (ladder.get(i.wrapping_sub(1)), ladder.get(i)) {
        (None, _) => 0,
        (Some(last), Some(next)) => ((last.0 as f64) * (next.0 as f64)).sqrt() as usize,
        (Some(last), None) => last.0 * 2,
    };
    let mut i = 0;
    while i < ladder.len() && winner(&ladder[i].1) == Some(VerifyKernel::Lanes) {
        i += 1;
    }
    let lanes_max = limit(i);
    let start = i;
    // Past the lane-parallel kernel's range, the cooperative one against one invocation.
    let coop_beats_single = |times: &[(VerifyKernel, f64)]| {
        let of = |k| times.iter().find(|t| t.0 == k).map(|t| t.1);
        matches!(
            (of(VerifyKernel::Coop), of(VerifyKernel::Single)),
            (Some(c), Some(s)) if c < s
        )
    };
    while i < ladder.len() && coop_beats_single(&ladder[i].1) {
        i += 1;
    }
    let coop_max = if i == start { lanes_max } else { limit(i) };
    KernelLimits {
        lanes_max,
        coop_max,
    }
}

/// Measures every operation on `cpu` and `gpu`.
pub(crate) fn measure(cpu: &CpuBackend, gpu: &GpuBackend) -> Result<Calibration> {
    let started = Instant::now();
    // Ed25519: the CPU on 1,024 signatures (batch gains level off there; the key cache is warm
    // after the untimed run, as a node's is), the GPU at 64 and 4,096. Both GPU sizes run the
    // small-batch kernel (lane-parallel or cooperative, where the adapter takes one); larger
    // batches run kernels doing less work per item, so the model errs towards the CPU.
    let (cpu_n, g1, g2) = (1024, 64, 4096);
    let sigs = signatures(g2);
    // First which kernel each batch size takes, so that the costs below are the chosen ones'.
    let kernels = measure_kernels(gpu, &sigs)?;
    gpu.set_kernel_limits(kernels);
    let all = sigs.as_batch();
    let (cpu_batch, small) = match (all.slice(0..cpu_n), all.slice(0..g1)) {
        (Some(c), Some(s)) => (c, s),
        _ => unreachable!("the batch holds 4,096 signatures"),
    };
    let mut verify = [Costs {
        cpu_ns_per_item: 0.0,
        gpu_fixed_ns: 0.0,
        gpu_ns_per_item: 0.0,
    }; 3];
    for rule in Rule::ALL {
        let c = best_ns(3, || {
            cpu.verify(rule, cpu_batch);
            Ok(())
        })? / cpu_n as f64;
        let t1 = best_ns(3, || gpu.verify(rule, small).map(drop))?;
        let t2 = best_ns(2, || gpu.verify(rule, all).map(drop))?;
        verify[rule_index(rule)] = fit(g1, t1, g2, t2, c);
    }

    // SHA-256 of 64-byte messages: 128 units each (bytes plus 64).
    let msgs = messages(1 << 18, 64);
    let m = msgs.as_messages();
    let unit = 128.0;
    let (h1, h2) = (1024usize, 1usize << 18);
    let part = |n: usize| m.slice(0..n).unwrap_or(m);
    let c = best_ns(3, || {
        cpu.sha256(part(1 << 14));
        Ok(())
    })? / ((1 << 14) as f64 * unit);
    let t1 = best_ns(3, || gpu.sha256(part(h1)).map(drop))?;
    let t2 = best_ns(2, || gpu.sha256(part(h2)).map(drop))?;
    let sha256 = fit(
        (h1 as f64 * unit) as usize,
        t1,
        (h2 as f64 * unit) as usize,
        t2,
        c,
    );

    // Merkle roots over 32-byte leaves.
    let leaves = messages(1 << 20, 32);
    let l = leaves.as_messages();
    let lpart = |n: usize| l.slice(0..n).unwrap_or(l);
    let (l1, l2) = (4096usize, 1usize << 20);
    let c = best_ns(3, || {
        cpu.rfc6962_root(lpart(1 << 16));
        Ok(())
    })? / (1 << 16) as f64;
    let t1 = best_ns(3, || gpu.rfc6962_root(lpart(l1)).map(drop))?;
    let t2 = best_ns(2, || gpu.rfc6962_root(lpart(l2)).map(drop))?;
    let merkle = fit(l1, t1, l2, t2, c);

    // Inclusion proofs of 20 hashes each (a tree of a million leaves), one unit per hash plus
    // one per proof. Whether a proof holds does not change its cost: every path is folded in
    // full, so random paths do.
    let depth = 20usize;
    let (p1, p2) = (PROOFS_MEASURED_FROM, 1usize << 16);
    let proofs = proof_batch(p2, depth)?;
    let all = proofs.as_proofs();
    let ppart = |n: usize| all.slice(0..n).unwrap_or(all);
    let units = |n: usize| n * (depth + 1);
    let scheme = crate::merkle::MerkleScheme::Rfc6962;
    let c = best_ns(3, || {
        cpu.verify_inclusion(scheme, ppart(1 << 12));
        Ok(())
    })? / units(1 << 12) as f64;
    let t1 = best_ns(3, || gpu.verify_inclusion(scheme, ppart(p1)).map(drop))?;
    let t2 = best_ns(2, || gpu.verify_inclusion(scheme, ppart(p2)).map(drop))?;
    let proofs = fit(units(p1), t1, units(p2), t2, c);

    tracing::info!(
        "calibrated CPU and GPU costs in {} ms",
        started.elapsed().as_millis()
    );
    Ok(Calibration {
        verify,
        sha256,
        merkle,
        proofs: Some(proofs),
        kernels: Some(kernels),
    })
}

/// `n` RFC 6962 inclusion proofs of `depth` pseudo-random hashes each, at distinct indexes of a
/// tree of 2^`depth` leaves.
fn proof_batch(n: usize, depth: usize) -> Result<ProofsBuf> {
    let mut buf = ProofsBuf::new();
    let mut path = vec![[0u8; 32]; depth];
    for i in 0..n {
        for (j, h) in path.iter_mut().enumerate() {
            h[..8].copy_from_slice(&(i as u64).to_le_bytes());
            h[8..16].copy_from_slice(&(j as u64).to_le_bytes());
        }
        let mut leaf = [0u8; 32];
        leaf[..8].copy_from_slice(&(i as u64).to_le_bytes());
        buf.push(&leaf, i as u64, 1 << depth, &path, &[7; 32])?;
    }
    Ok(buf)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn costs(cpu: f64, fixed: f64, per: f64) -> Costs {
        Costs {
            cpu_ns_per_item: cpu,
            gpu_fixed_ns: fixed,
            gpu_ns_per_item: per,
        }
    }

    #[test]
    fn small_batches_stay_on_the_cpu() {
        // CPU 2 µs per item; GPU 100 µs fixed, 0.2 µs per item.
        let c = costs(2000.0, 100_000.0, 200.0);
        assert_eq!(c.plan(0, true), Plan::Cpu);
        assert_eq!(c.plan(1, true), Plan::Cpu);
        assert_eq!(c.plan(50, true), Plan::Cpu);
        // Large batches are split, the GPU taking most of them.
        match c.plan(100_000, true) {
            Plan::Split(m) => assert!(m > 80_000 && m < 100_000, "{m}"),
            p => panic!("{p:?}"),
        }
        // Without splitting, the GPU alone.
        assert_eq!(c.plan(100_000, false), Plan::Gpu);
    }

    #[test]
    fn the_plan_is_never_predicted_slower_than_the_cpu() {
        for (cpu, fixed, per) in [
            (2000.0, 100_000.0, 200.0),
            (100.0, 50_000.0, 150.0), // a GPU slower per item than the CPU
            (30_000.0, 60_000.0, 100.0),
            (5.0, 0.0, 1.0),
        ] {
            let c = costs(cpu, fixed, per);
            for n in [1usize, 2, 63, 64, 65, 100, 1000, 4096, 65_536, 1 << 20] {
                for split in [false, true] {
                    let t = match c.plan(n, split) {
                        Plan::Cpu => c.cpu_ns(n),
                        Plan::Gpu => c.gpu_ns(n),
                        Plan::Split(m) => {
                            assert!(split && m >= MIN_GPU_ITEMS && m < n);
                            c.gpu_ns(m).max(c.cpu_ns(n - m))
                        }
                    };
                    assert!(t <= c.cpu_ns(n), "{c:?} n={n}: {t} > {}", c.cpu_ns(n));
                }
            }
        }
        // Nonsense costs keep everything on the CPU.
        for bad in [f64::NAN, f64::INFINITY, -1.0] {
            assert_eq!(costs(bad, 1.0, 1.0).plan(1 << 20, true), Plan::Cpu);
            assert_eq!(costs(1000.0, bad, 1.0).plan(1 << 20, true), Plan::Cpu);
            assert_eq!(costs(1000.0, 1.0, bad).plan(1 << 20, true), Plan::Cpu);
        }
        // A GPU slower per item than the CPU never takes a batch alone, but adds its throughput
        // to the CPU's in a split of a large batch.
        let slow = costs(100.0, 50_000.0, 150.0);
        assert_eq!(slow.crossover(false, 1 << 24), None);
        assert!(matches!(slow.plan(1 << 20, true), Plan::Split(_)));
    }

    #[test]
    fn crossover_is_the_first_size_the_gpu_takes() {
        let c = costs(2000.0, 100_000.0, 200.0);
        let x = c
            .crossover(true, 1 << 24)
            .expect("the GPU takes large batches");
        assert_eq!(c.plan(x - 1, true), Plan::Cpu);
        assert_ne!(c.plan(x, true), Plan::Cpu);
        // 100 µs + 0.2 µs·n ≤ 0.75 · 2 µs·n ⇔ n ≥ 77.
        assert_eq!(c.crossover(false, 1 << 24), Some(77));
    }

    #[test]
    fn cache_round_trips_through_json() {
        let cal = Calibration {
            verify: [
                costs(1.0, 2.0, 3.0),
                costs(4.0, 5.0, 6.0),
                costs(7.0, 8.0, 9.0),
            ],
            sha256: costs(0.5, 10.0, 0.1),
            merkle: costs(20.0, 30.0, 1.0),
            proofs: Some(costs(25.0, 40.0, 2.0)),
            kernels: Some(KernelLimits {
                lanes_max: 2048,
                coop_max: 8192,
            }),
        };
        let mut file = CacheFile::new();
        file.insert("k".into(), cal);
        let text = serde_json::to_string(&file).expect("serializes");
        let back: CacheFile = serde_json::from_str(&text).expect("parses");
        assert_eq!(back["k"], cal);
        // A file written before kernel limits were measured still loads, without them.
        let old = text.replace(",\"kernels\":{\"lanes_max\":2048,\"coop_max\":8192}", "");
        assert!(!old.contains("kernels"), "{old}");
        let back: CacheFile = serde_json::from_str(&old).expect("parses");
        assert_eq!(back["k"].kernels, None);
        assert_eq!(back["k"].verify, cal.verify);
        // One written before proofs were measured costs them as Merkle leaves.
        assert_eq!(cal.proof_costs(), costs(25.0, 40.0, 2.0));
        let old = text.replace(
            ",\"proofs\":{\"cpu_ns_per_item\":25.0,\"gpu_fixed_ns\":40.0,\"gpu_ns_per_item\":2.0}",
            "",
        );
        assert!(!old.contains("proofs"), "{old}");
        let back: CacheFile = serde_json::from_str(&old).expect("parses");
        assert_eq!(back["k"].proofs, None);
        assert_eq!(back["k"].proof_costs(), cal.merkle);
        assert!(cal.is_complete() && !back["k"].is_complete());
    }

    /// Timings per size of (lanes, coop, single) in µs → the limits.
    fn limits(rows: &[(usize, [f64; 3])]) -> KernelLimits {
        let ladder: Vec<(usize, Vec<(VerifyKernel, f64)>)> = rows
            .iter()
            .map(|&(n, [l, c, s])| {
                (
                    n,
                    vec![
                        (VerifyKernel::Lanes, l),
                        (VerifyKernel::Coop, c),
                        (VerifyKernel::Single, s),
                    ],
                )
            })
            .collect();
        limits_from(&ladder)
    }

    #[test]
    fn kernel_limits_follow_the_fastest_kernel() {
        // Lanes fastest to 1,024, coop at 4,096, single from 16,384: limits halfway between.
        let k = limits(&[
            (64, [300.0, 900.0, 1000.0]),
            (256, [310.0, 910.0, 1000.0]),
            (1024, [400.0, 950.0, 1100.0]),
            (4096, [2000.0, 1500.0, 1600.0]),
            (16_384, [8000.0, 5000.0, 4000.0]),
        ]);
        assert_eq!(
            k,
            KernelLimits {
                lanes_max: 2048,
                coop_max: 8192
            }
        );
        // Lanes never fastest, coop never better than single: one invocation everywhere.
        let k = limits(&[(64, [9.0, 8.0, 7.0]), (256, [9.0, 8.0, 7.0])]);
        assert_eq!(
            k,
            KernelLimits {
                lanes_max: 0,
                coop_max: 0
            }
        );
        // Lanes fastest at every size measured (the ladder stopped at 4,096): twice that.
        let k = limits(&[(1024, [1.0, 2.0, 3.0]), (4096, [1.0, 2.0, 3.0])]);
        assert_eq!(k.lanes_max, 8192);
        assert_eq!(k.coop_max, 8192);
        // Where lanes stops winning, a later win (noise) is not taken: ranges are contiguous.
        let k = limits(&[
            (64, [1.0, 2.0, 3.0]),
            (256, [5.0, 2.0, 3.0]),
            (1024, [1.0, 2.0, 3.0]),
        ]);
        assert_eq!(k.lanes_max, 128);
        assert_eq!(k.coop_max, 2048);
        // A device without the lane-parallel kernel: coop then single.
        let ladder = vec![
            (
                64usize,
                vec![(VerifyKernel::Coop, 1.0), (VerifyKernel::Single, 2.0)],
            ),
            (
                256,
                vec![(VerifyKernel::Coop, 3.0), (VerifyKernel::Single, 2.0)],
            ),
        ];
        assert_eq!(
            limits_from(&ladder),
            KernelLimits {
                lanes_max: 0,
                coop_max: 128
            }
        );
        assert_eq!(
            limits_from(&[]),
            KernelLimits {
                lanes_max: 0,
                coop_max: 0
            }
        );
    }
}
