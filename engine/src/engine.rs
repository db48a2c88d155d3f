//! The [`Engine`]: one handle, one backend chosen at construction, batch operations.

use std::sync::Arc;

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::{GpuBackend, GpuOptions, ALLOW_SOFTWARE_ENV};
use crate::backend::{BackendChoice, BackendKind};
use crate::batch::{Messages, SignatureBatch};
use crate::calibrate::{self, Calibration, CalibrationMode, Plan};
use crate::ed25519::{Reason, Rule, Verdict};
use crate::error::{Error, Result};
use crate::health::{EngineStats, Health, Side};
use crate::merkle::{MerkleRoot, MerkleScheme};
use crate::route::Route;

/// The batch verification engine. `Send + Sync` and cheap to clone (an `Arc` inside): build one
/// at start-up and share it.
///
/// ```
/// use vera_engine::{Engine, MerkleScheme, Messages, Rule, SignatureBatchBuf};
///
/// let engine = Engine::cpu();
/// let digests = engine.sha256(Messages::new(b"abc", &[0, 3])?)?;
/// assert_eq!(digests[0][..4], [0xba, 0x78, 0x16, 0xbf]);
///
/// let leaves = Messages::new(b"", &[0, 0])?; // one empty leaf
/// let root = engine.merkle_root(MerkleScheme::Rfc6962, leaves)?;
/// assert_eq!(root.leaves, 1);
///
/// let mut batch = SignatureBatchBuf::new();
/// batch.push(&[0; 32], b"msg", &[0; 64])?;
/// let verdicts = engine.verify(Rule::Strict, batch.as_batch())?;
/// assert!(!verdicts[0].is_valid());
/// # Ok::<(), vera_engine::Error>(())
/// ```
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    cpu: CpuBackend,
    gpu: Option<(GpuBackend, Route)>,
    /// Further GPUs identical to the first (multi-GPU hosts): GPU work is sharded across all.
    more_gpus: Vec<GpuBackend>,
    /// Why an `auto` engine has no GPU (for `vera info` and logs).
    no_gpu: Option<String>,
    health: Health,
}

/// Options for building an [`Engine`].
#[derive(Debug, Clone, Default)]
pub struct EngineBuilder {
    backend: BackendChoice,
    threads: Option<usize>,
    gpu: GpuOptions,
    cross_check_every: u64,
    calibration: CalibrationMode,
    given_costs: Option<Calibration>,
}

impl EngineBuilder {
    /// Which backend to use (default: [`BackendChoice::Auto`]).
    pub fn backend(mut self, backend: BackendChoice) -> Self {
        self.backend = backend;
        self
    }

    /// How many CPU worker threads to use (default: one per core).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads.max(1));
        self
    }

    /// Lets `auto` use a software GPU adapter (lavapipe, WARP) when there is no hardware GPU;
    /// also switched on by the environment variable `VERA_ALLOW_SOFTWARE_GPU=1`. A forced GPU
    /// engine ([`BackendChoice::Gpu`]) always accepts one.
    pub fn allow_software_gpu(mut self, allow: bool) -> Self {
        self.gpu.allow_software = allow;
        self
    }

    /// Caps the GPU storage-binding size, in bytes, so that inputs are split into more chunks
    /// (for tests of the chunking paths).
    pub fn gpu_max_binding(mut self, bytes: u64) -> Self {
        self.gpu.max_binding = Some(bytes);
        self
    }

    /// Runs the GPU's Ed25519 field arithmetic in u32 only even where the adapter has
    /// SHADER_INT64 (whose 64-bit products are about twice as fast); for tests of both paths.
    #[doc(hidden)]
    pub fn gpu_u32_field(mut self, u32_only: bool) -> Self {
        self.gpu.u32_field = u32_only;
        self
    }

    /// Recomputes one GPU batch in `every` on the CPU and compares (0, the default: never). A
    /// mismatch is logged, counted in [`EngineStats`], and the CPU's answer is returned.
    pub fn cross_check_every(mut self, every: u64) -> Self {
        self.cross_check_every = every;
        self
    }

    /// How an `auto` engine with a GPU learns where the CPU/GPU crossover lies (default:
    /// [`CalibrationMode::Cached`], measuring once per machine).
    pub fn calibration(mut self, mode: CalibrationMode) -> Self {
        self.calibration = mode;
        self
    }

    /// Which Ed25519 verify kernel the GPU runs (default: [`VerifyKernel::Auto`](crate::backend::gpu::VerifyKernel)).
    pub fn gpu_verify_kernel(mut self, kernel: crate::backend::gpu::VerifyKernel) -> Self {
        self.gpu.verify_kernel = kernel;
        self
    }

    /// Times every GPU kernel with timestamp queries where the adapter has them (default: off,
    /// or `VERA_GPU_PROFILE=1`); read them from
    /// [`GpuBackend::kernel_times`](crate::backend::gpu::GpuBackend::kernel_times).
    pub fn gpu_profile(mut self, on: bool) -> Self {
        self.gpu.profile = on;
        self
    }

    /// Test hook: the GPU's lane-parallel Ed25519 kernel reports a wrong subgroup layout, which
    /// fails its batches (see [`GpuOptions`](crate::backend::gpu::GpuOptions)).
    #[doc(hidden)]
    pub fn gpu_simulate_layout_fault(mut self, on: bool) -> Self {
        self.gpu.simulate_layout_fault = on;
        self
    }

    /// Opens this many GPU devices (default: one per GPU identical to the best one), several on
    /// one adapter if need be: tests use it to exercise multi-GPU sharding on one adapter.
    #[doc(hidden)]
    pub fn gpu_devices(mut self, n: usize) -> Self {
        self.gpu.devices = Some(n.max(1));
        self
    }

    /// Routes `auto` by these costs instead of measured ones (tests use it to force each plan).
    #[doc(hidden)]
    pub fn calibration_costs(mut self, costs: Calibration) -> Self {
        self.given_costs = Some(costs);
        self
    }

    /// Builds the engine. Fails only when the GPU backend is required and not available.
    pub fn build(self) -> Result<Engine> {
        let cpu = CpuBackend::new(self.threads);
        // The first GPU and the others.
        let split = |mut all: Vec<GpuBackend>| {
            let rest = all.split_off(1.min(all.len()));
            (all.pop(), rest)
        };
        let mut more_gpus = Vec::new();
        let (gpu, no_gpu) = match self.backend {
            BackendChoice::Cpu => (None, None),
            BackendChoice::Gpu => {
                let opts = GpuOptions {
                    allow_software: true,
                    ..self.gpu
                };
                let (first, rest) = split(GpuBackend::open_all(&opts)?);
                // Every batch goes to the GPU, but which kernel takes it follows this machine's
                // calibration where one is cached (nothing is measured here).
                let cached = first.as_ref().and_then(|g| {
                    let cal = self.given_costs.or_else(|| {
                        (self.calibration != CalibrationMode::Off)
                            .then(|| calibrate::load(&calibrate::machine_key(&cpu, g)))
                            .flatten()
                    });
                    cal?.kernels
                });
                if let Some(limits) = cached {
                    for g in first.iter().chain(&rest) {
                        g.set_kernel_limits(limits);
                    }
                }
                more_gpus = rest;
                (first.map(|g| (g, Route::Gpu)), None)
            }
            BackendChoice::Auto => {
                let env = std::env::var(ALLOW_SOFTWARE_ENV).is_ok_and(|v| v == "1");
                let opts = GpuOptions {
                    allow_software: self.gpu.allow_software || env,
                    ..self.gpu
                };
                match GpuBackend::open_all(&opts).map(split) {
                    Ok((Some(gpu), rest)) => {
                        // Measured on one GPU; the others are identical (see `open_all`).
                        let cal = self
                            .given_costs
                            .or_else(|| calibration(&cpu, &gpu, self.calibration));
                        // The kernel limits measured on one device hold for its twins.
                        if let Some(limits) = cal.and_then(|c| c.kernels) {
                            for g in std::iter::once(&gpu).chain(&rest) {
                                g.set_kernel_limits(limits);
                            }
                        }
                        more_gpus = rest;
                        (Some((gpu, Route::Auto(cal))), None)
                    }
                    Ok((None, _)) => (None, Some("no GPU device opened".to_string())),
                    Err(e) => (None, Some(e.to_string())),
                }
            }
        };
        let engine = Engine {
            inner: Arc::new(Inner {
                cpu,
                gpu,
                more_gpus,
                no_gpu,
                health: Health::new(self.cross_check_every),
            }),
        };
        engine.warm_up_ed25519();
        Ok(engine)
    }
}

/// The calibration an `auto` engine routes by (see [`crate::calibrate`]).
fn calibration(cpu: &CpuBackend, gpu: &GpuBackend, mode: CalibrationMode) -> Option<Calibration> {
    let key = calibrate::machine_key(cpu, gpu);
    match mode {
        CalibrationMode::Off => return None,
        CalibrationMode::Cached if gpu.adapter().software => return None,
        CalibrationMode::Cached => {
            // One cached before this version measured everything is measured again.
            if let Some(cal) = calibrate::load(&key).filter(Calibration::is_complete) {
                return Some(cal);
            }
        }
        CalibrationMode::Refresh => {}
    }
    match calibrate::measure(cpu, gpu) {
        Ok(cal) => {
            calibrate::store(&key, &cal);
            Some(cal)
        }
        Err(e) => {
            tracing::warn!("calibration failed ({e}); routing by the default thresholds");
            None
        }
    }
}

impl Engine {
    /// Options for a new engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// The CPU backend on every core.
    pub fn cpu() -> Engine {
        Engine {
            inner: Arc::new(Inner {
                cpu: CpuBackend::new(None),
                gpu: None,
                more_gpus: Vec::new(),
                no_gpu: None,
                health: Health::default(),
            }),
        }
    }

    /// The GPU backend, or an error saying why there is none.
    pub fn gpu() -> Result<Engine> {
        Engine::builder().backend(BackendChoice::Gpu).build()
    }

    /// The best backend present; never fails (the CPU is always there).
    pub fn auto() -> Engine {
        Engine::builder().build().unwrap_or_else(|_| Engine::cpu())
    }

    /// The backend this engine runs on: [`BackendKind::Gpu`] when it has a GPU (which then takes
    /// the batches it is faster for; the CPU takes the rest).
    pub fn backend(&self) -> BackendKind {
        match self.inner.gpu {
            Some(_) => BackendKind::Gpu,
            None => BackendKind::Cpu,
        }
    }

    /// The GPU backend, when the engine has one.
    pub fn gpu_backend(&self) -> Option<&GpuBackend> {
        self.inner.gpu.as_ref().map(|(g, _)| g)
    }

    /// Every GPU the engine uses (the first is [`gpu_backend`](Self::gpu_backend)); GPU work is
    /// sharded across them.
    pub fn gpu_backends(&self) -> Vec<&GpuBackend> {
        self.gpu_backend()
            .into_iter()
            .chain(self.inner.more_gpus.iter())
            .collect()
    }

    /// Why an `auto` engine found no usable GPU, if it did not.
    pub fn gpu_unavailable_reason(&self) -> Option<&str> {
        self.inner.no_gpu.as_deref()
    }

    /// The measured costs an `auto` engine routes by, if it has a GPU and a calibration.
    pub fn calibration(&self) -> Option<Calibration> {
        match &self.inner.gpu {
            Some((_, Route::Auto(cal))) => *cal,
            _ => None,
        }
    }

    /// The number of CPU worker threads.
    pub fn cpu_threads(&self) -> usize {
        self.inner.cpu.threads()
    }

    /// Forgets the decompressed public keys kept between batches (for benchmarks of the cold
    /// path, or to release their memory: at most 64 Ki keys per rule family, ≈ 13 MiB).
    pub fn clear_key_cache(&self) {
        self.inner.cpu.clear_key_cache();
    }

    /// SHA-256 of every message, in order.
    pub fn sha256(&self, msgs: Messages<'_>) -> Result<Vec<[u8; 32]>> {
        self.hash(msgs, false)
    }

    /// Double SHA-256, SHA-256(SHA-256(m)), of every message, in order: Bitcoin's txids, wtxids
    /// and block hashes. Routed like [`sha256`](Self::sha256); on the GPU both hashes run in one
    /// pass, so the digests never make a second round trip.
    pub fn sha256d(&self, msgs: Messages<'_>) -> Result<Vec<[u8; 32]>> {
        self.hash(msgs, true)
    }

    /// [`sha256`](Self::sha256), or [`sha256d`](Self::sha256d) when `double`.
    fn hash(&self, msgs: Messages<'_>, double: bool) -> Result<Vec<[u8; 32]>> {
        let cpu = |m: Messages<'_>| {
            if double {
                self.inner.cpu.sha256d(m)
            } else {
                self.inner.cpu.sha256(m)
            }
        };
        let Some((gpu, route)) = &self.inner.gpu else {
            return Ok(self.on_cpu(msgs.len(), || cpu(msgs)));
        };
        let what = if double { "sha256d" } else { "sha256" };
        let on_gpu = |m: Messages<'_>| {
            let sharded = || {
                self.sharded(gpu, m.len(), MIN_HASH_SHARD, |g, r| {
                    let part = shard(m, r)?;
                    if double {
                        g.sha256d(part)
                    } else {
                        g.sha256(part)
                    }
                })
            };
            self.on_gpu(what, m.len(), *route, sharded, || cpu(m))
        };
        // The second hash adds one compression per message on either side, so the SHA-256
        // plan (costed by message bytes plus a block per message) stands for it too.
        self.run_plan(route.hash_plan(msgs, self.gpu_count()), msgs, on_gpu, cpu)
    }

    /// Counters of the work done and of GPU failures, fallbacks and cross-checks.
    pub fn stats(&self) -> EngineStats {
        self.inner.health.stats()
    }

    /// Test hook: makes the next `n` GPU batches fail as a lost device would, so that failover
    /// can be tested without breaking a GPU.
    #[doc(hidden)]
    pub fn inject_gpu_faults(&self, n: u32) {
        self.inner.health.inject(n);
    }

    /// Runs `cpu` (a batch of `items`) on the CPU, counted and timed.
    fn on_cpu<T>(&self, items: usize, cpu: impl FnOnce() -> T) -> T {
        self.inner.health.cpu_batch();
        let started = std::time::Instant::now();
        let answer = cpu();
        self.inner
            .health
            .record(Side::Cpu, items, started.elapsed());
        answer
    }

    /// Runs a batch on the GPU under the failover and cross-check policy (see `health.rs`).
    fn on_gpu<T: PartialEq>(
        &self,
        what: &str,
        items: usize,
        route: Route,
        gpu: impl FnOnce() -> Result<T>,
        cpu: impl FnOnce() -> T,
    ) -> Result<T> {
        let health = &self.inner.health;
        if route.is_auto() && !health.gpu_usable() {
            return Ok(self.on_cpu(items, cpu));
        }
        let started = std::time::Instant::now();
        let result = if health.take_injected() {
            Err(Error::Gpu("injected fault (test hook)".into()))
        } else {
            gpu()
        };
        match result {
            Ok(answer) => {
                health.record(Side::Gpu, items, started.elapsed());
                if health.gpu_ok() {
                    let reference = cpu();
                    let matched = reference == answer;
                    health.cross_checked(what, matched);
                    if !matched {
                        return Ok(reference);
                    }
                }
                Ok(answer)
            }
            Err(e @ Error::Gpu(_)) if route.is_auto() => {
                health.gpu_failed(what, &e);
                Ok(self.on_cpu(items, cpu))
            }
            Err(e) => Err(e),
        }
    }

    /// The Merkle root over `leaves`. For [`MerkleScheme::Rfc6962`] each leaf is data, hashed
    /// with the 0x00 prefix; for [`MerkleScheme::Bitcoin`] each leaf must be a 32-byte txid in
    /// internal byte order.
    pub fn merkle_root(&self, scheme: MerkleScheme, leaves: Messages<'_>) -> Result<MerkleRoot> {
        match scheme {
            MerkleScheme::Rfc6962 => {
                let cpu = || self.inner.cpu.rfc6962_root(leaves);
                match &self.inner.gpu {
                    Some((gpu, route)) if route.merkle_on_gpu(leaves.len()) => {
                        let n = leaves.len();
                        self.on_gpu("merkle", n, *route, || gpu.rfc6962_root(leaves), cpu)
                    }
                    _ => Ok(self.on_cpu(leaves.len(), cpu)),
                }
            }
            MerkleScheme::Bitcoin => {
                if let Some(index) = leaves.iter().position(|l| l.len() != 32) {
                    return Err(Error::LeafLength {
                        scheme: scheme.name(),
                        index,
                        found: leaves.get(index).map_or(0, <[u8]>::len),
                        expected: 32,
                    });
                }
                // All leaves are 32 bytes, so the used part of the buffer is exactly 32 n bytes.
                let start = leaves.offsets()[0] as usize;
                let used = &leaves.bytes()[start..start + leaves.total_len()];
                let (txids, rest) = used.as_chunks::<32>();
                debug_assert!(rest.is_empty());
                self.merkle_root_from_hashes(scheme, txids)
            }
        }
    }

    /// The Merkle root over already-hashed leaves: RFC 6962 leaf hashes, or Bitcoin txids.
    pub fn merkle_root_from_hashes(
        &self,
        scheme: MerkleScheme,
        hashes: &[[u8; 32]],
    ) -> Result<MerkleRoot> {
        let cpu = || self.inner.cpu.merkle_root_from_hashes(scheme, hashes);
        match &self.inner.gpu {
            Some((gpu, route)) if route.merkle_on_gpu(hashes.len()) => self.on_gpu(
                "merkle",
                hashes.len(),
                *route,
                || gpu.merkle_root_from_hashes(scheme, hashes),
                cpu,
            ),
            _ => Ok(self.on_cpu(hashes.len(), cpu)),
        }
    }

    /// One verdict per Merkle inclusion proof under `scheme`, in input order: `Ok(())` when the
    /// path leads from the leaf to the root, else why not (see [`crate::proofs`]). A proof that
    /// fails is a verdict, not an error. Routed by the measured cost of a path hash (see
    /// [`Calibration::proof_costs`]); large batches are split between the GPU and the CPU.
    pub fn verify_inclusion(
        &self,
        scheme: MerkleScheme,
        proofs: crate::proofs::Proofs<'_>,
    ) -> Result<Vec<crate::proofs::ProofVerdict>> {
        let cpu = |p: crate::proofs::Proofs<'_>| self.inner.cpu.verify_inclusion(scheme, p);
        let Some((gpu, route)) = &self.inner.gpu else {
            return Ok(self.on_cpu(proofs.len(), || cpu(proofs)));
        };
        let on_gpu = |p: crate::proofs::Proofs<'_>| {
            let sharded = || {
                self.sharded(gpu, p.len(), MIN_HASH_SHARD, |g, r| {
                    g.verify_inclusion(scheme, shard(p, r)?)
                })
            };
            self.on_gpu("proofs", p.len(), *route, sharded, || cpu(p))
        };
        // The calibration measured RFC 6962 nodes, SHA-256 over 65 bytes: two compressions. A
        // Bitcoin node, double SHA-256 over 64 bytes, takes three.
        let hashes = proofs.total_path_len() + proofs.len();
        let work = match scheme {
            MerkleScheme::Rfc6962 => hashes,
            MerkleScheme::Bitcoin => hashes.saturating_add(hashes / 2),
        };
        let plan = route.proof_plan(proofs.len(), work, self.gpu_count());
        self.run_plan(plan, proofs, on_gpu, cpu)
    }

    /// The end of every hash chain, in input order (see [`crate::hash_chains`]; Solana's
    /// proof-of-history entries are chains). Fails with [`Error::TooLarge`] past
    /// [`MAX_CHAIN_HASHES`](crate::hash_chains::MAX_CHAIN_HASHES) steps in a chain or
    /// [`MAX_BATCH_HASHES`](crate::hash_chains::MAX_BATCH_HASHES) in the batch. The GPU runs one
    /// chain per thread, so only batches of many chains go to it (see `route.rs`).
    pub fn hash_chains(&self, chains: &[crate::hash_chains::HashChain]) -> Result<Vec<[u8; 32]>> {
        let total = crate::hash_chains::check(chains)?;
        let cpu = |c: &[crate::hash_chains::HashChain]| self.inner.cpu.hash_chains_checked(c);
        let Some((gpu, route)) = &self.inner.gpu else {
            return Ok(self.on_cpu(chains.len(), || cpu(chains)));
        };
        let longest = chains.iter().map(|c| c.hashes).max().unwrap_or(0);
        if !route.chains_on_gpu(
            chains.len(),
            total,
            longest,
            self.cpu_threads(),
            self.gpu_count(),
        ) {
            return Ok(self.on_cpu(chains.len(), || cpu(chains)));
        }
        let sharded = || {
            self.sharded(gpu, chains.len(), MIN_HASH_SHARD, |g, r| {
                g.hash_chains(shard(chains, r)?)
            })
        };
        self.on_gpu("chains", chains.len(), *route, sharded, || cpu(chains))
    }

    /// One [`Verdict`] per signature under `rule`, in input order. An invalid signature is a
    /// verdict, not an error.
    pub fn verify(&self, rule: Rule, batch: SignatureBatch<'_>) -> Result<Vec<Verdict>> {
        let cpu = |b: SignatureBatch<'_>| self.inner.cpu.verify(rule, b);
        let Some((gpu, route)) = &self.inner.gpu else {
            return Ok(self.on_cpu(batch.len(), || cpu(batch)));
        };
        let on_gpu = |b: SignatureBatch<'_>| {
            let sharded = || {
                self.sharded(gpu, b.len(), MIN_VERIFY_SHARD, |g, r| {
                    gpu_verdicts(g, &self.inner.cpu, rule, shard(b, r)?)
                })
            };
            self.on_gpu("verify", b.len(), *route, sharded, || cpu(b))
        };
        let plan = route.verify_plan(rule, batch.len(), self.gpu_count());
        self.run_plan(plan, batch, on_gpu, cpu)
    }

    /// Builds the Ed25519 pipelines of hardware GPUs on a background thread, so that neither
    /// start-up nor the first signature batch waits for the whole compilation (a batch arriving
    /// meanwhile waits only for the rest of it). Software adapters build them on first use, as
    /// tests that never verify should not pay for them.
    fn warm_up_ed25519(&self) {
        let hardware = self.gpu_backends().iter().any(|g| !g.adapter().software);
        if !hardware {
            return;
        }
        let inner = Arc::clone(&self.inner);
        let spawned = std::thread::Builder::new()
            .name("vera-gpu-warm-up".into())
            .spawn(move || {
                for g in inner.gpu.iter().map(|(g, _)| g).chain(&inner.more_gpus) {
                    let t = g.prepare_ed25519();
                    tracing::debug!("Ed25519 pipelines built in {} ms", t.as_millis());
                }
            });
        if let Err(e) = spawned {
            tracing::debug!("no warm-up thread ({e}): Ed25519 pipelines build on first use");
        }
    }

    /// How many GPUs the engine shards work across.
    fn gpu_count(&self) -> usize {
        usize::from(self.inner.gpu.is_some()) + self.inner.more_gpus.len()
    }

    /// Runs `run` over `0..n` on every GPU at once, in equal consecutive shards of at least
    /// `min_shard` items (the first GPU on this thread, the others on threads of their own),
    /// and joins the results in order. Any shard's error is the whole call's error (the caller
    /// then re-runs everything on the CPU under `auto`).
    fn sharded<T: Send>(
        &self,
        first: &GpuBackend,
        n: usize,
        min_shard: usize,
        run: impl Fn(&GpuBackend, std::ops::Range<usize>) -> Result<Vec<T>> + Sync,
    ) -> Result<Vec<T>> {
        let k = self.gpu_count().min(n / min_shard.max(1)).max(1);
        if k == 1 {
            return run(first, 0..n);
        }
        let per = n.div_ceil(k);
        let devices: Vec<&GpuBackend> = std::iter::once(first)
            .chain(self.inner.more_gpus.iter())
            .take(k)
            .collect();
        let run = &run;
        std::thread::scope(|s| {
            let others: Vec<_> = devices[1..]
                .iter()
                .enumerate()
                .map(|(i, g)| {
                    let range = (i + 1) * per..((i + 2) * per).min(n);
                    let spawned = std::thread::Builder::new()
                        .name("vera-gpu-shard".into())
                        .spawn_scoped(s, move || run(g, range.clone()));
                    (spawned, g, (i + 1) * per..((i + 2) * per).min(n))
                })
                .collect();
            let mut out = run(first, 0..per.min(n));
            for (spawned, g, range) in others {
                let part = match spawned {
                    Ok(h) => h
                        .join()
                        .unwrap_or_else(|_| Err(Error::Gpu("GPU shard thread panicked".into()))),
                    // No thread to be had: this one runs the shard.
                    Err(_) => run(g, range),
                };
                out = match (out, part) {
                    (Ok(mut o), Ok(p)) => {
                        o.extend(p);
                        Ok(o)
                    }
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
            }
            out
        })
    }

    /// Runs `gpu` (the head of a batch) on a thread of its own while this thread runs `cpu` (the
    /// tail) on the CPU pool, and joins the answers in order.
    /// Carries out a routing `plan` for `batch`: the CPU alone, the GPU alone (`on_gpu`, with
    /// its own fallback), or the first part on the GPU and the rest on the CPU at once.
    fn run_plan<B: Cut, T: Send>(
        &self,
        plan: Plan,
        batch: B,
        on_gpu: impl Fn(B) -> Result<Vec<T>> + Sync,
        cpu: impl Fn(B) -> Vec<T>,
    ) -> Result<Vec<T>> {
        let n = batch.items();
        match plan {
            Plan::Cpu => Ok(self.on_cpu(n, || cpu(batch))),
            Plan::Gpu => on_gpu(batch),
            Plan::Split(m) => match (batch.cut(0..m), batch.cut(m..n)) {
                (Some(head), Some(tail)) => self.split(
                    || on_gpu(head),
                    || Ok(self.on_cpu(tail.items(), || cpu(tail))),
                ),
                _ => Ok(self.on_cpu(n, || cpu(batch))),
            },
        }
    }

    fn split<T: Send>(
        &self,
        gpu: impl FnOnce() -> Result<Vec<T>> + Send,
        cpu: impl FnOnce() -> Result<Vec<T>>,
    ) -> Result<Vec<T>> {
        // The GPU part waits in a slot so that it can still run here if no thread is to be had.
        let slot = std::sync::Mutex::new(Some(gpu));
        let take = || slot.lock().ok().and_then(|mut g| g.take());
        std::thread::scope(|s| {
            let spawned = std::thread::Builder::new()
                .name("vera-gpu-submit".into())
                .spawn_scoped(s, || take().map(|g| g()));
            let tail = cpu();
            let head = match spawned {
                Ok(h) => h.join().unwrap_or(None),
                Err(_) => take().map(|g| g()),
            }
            .unwrap_or_else(|| {
                Err(Error::Gpu(
                    "the GPU part of a split batch did not run".into(),
                ))
            });
            let mut out = head?;
            out.extend(tail?);
            Ok(out)
        })
    }
}

/// Signatures per GPU shard at least: below this one GPU takes the whole batch.
const MIN_VERIFY_SHARD: usize = 256;
/// Messages per GPU shard at least.
const MIN_HASH_SHARD: usize = 4096;

/// A batch the router can cut: messages, signatures, inclusion proofs, hash chains.
trait Cut: Copy + Send + Sync {
    fn items(&self) -> usize;
    fn cut(&self, range: std::ops::Range<usize>) -> Option<Self>;
}

impl Cut for Messages<'_> {
    fn items(&self) -> usize {
        self.len()
    }
    fn cut(&self, range: std::ops::Range<usize>) -> Option<Self> {
        self.slice(range)
    }
}

impl Cut for SignatureBatch<'_> {
    fn items(&self) -> usize {
        self.len()
    }
    fn cut(&self, range: std::ops::Range<usize>) -> Option<Self> {
        self.slice(range)
    }
}

impl Cut for crate::proofs::Proofs<'_> {
    fn items(&self) -> usize {
        self.len()
    }
    fn cut(&self, range: std::ops::Range<usize>) -> Option<Self> {
        self.slice(range)
    }
}

impl<T: Sync> Cut for &[T] {
    fn items(&self) -> usize {
        self.len()
    }
    fn cut(&self, range: std::ops::Range<usize>) -> Option<Self> {
        self.get(range)
    }
}

/// One GPU's shard of `batch` (the shards `sharded` hands out are always in range).
fn shard<B: Cut>(batch: B, range: std::ops::Range<usize>) -> Result<B> {
    batch
        .cut(range)
        .ok_or_else(|| Error::Gpu("shard out of range".into()))
}

/// The GPU's verdicts, with each rejection diagnosed on the host as the CPU path does (cheap
/// checks only, on every core).
fn gpu_verdicts(
    gpu: &GpuBackend,
    cpu: &CpuBackend,
    rule: Rule,
    batch: SignatureBatch<'_>,
) -> Result<Vec<Verdict>> {
    let mut verdicts: Vec<Verdict> = gpu
        .verify(rule, batch)?
        .into_iter()
        .map(|ok| {
            if ok {
                Verdict::Valid
            } else {
                Verdict::Invalid(Reason::Equation)
            }
        })
        .collect();
    cpu.diagnose_rejections(rule, batch, &mut verdicts);
    Ok(verdicts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_sync() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Engine>();
        assert_eq!(Engine::cpu().backend(), BackendKind::Cpu);
    }

    #[test]
    fn bitcoin_leaves_must_be_txids() {
        let e = Engine::cpu();
        let bytes = [7u8; 70];
        let ok = Messages::new(&bytes, &[3, 35, 67]).unwrap();
        let root = e.merkle_root(MerkleScheme::Bitcoin, ok).unwrap();
        assert_eq!(root.leaves, 2);
        assert_eq!(root.mutated, Some(true)); // two identical txids
        let bad = Messages::new(&bytes, &[0, 32, 63]).unwrap();
        assert!(matches!(
            e.merkle_root(MerkleScheme::Bitcoin, bad),
            Err(Error::LeafLength {
                index: 1,
                found: 31,
                ..
            })
        ));
    }
}
