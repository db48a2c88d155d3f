//! `vera bench`: throughput and latency against batch size, vera beside the reference crates
//! called directly, measured in the same run on the same inputs.
//!
//! Every row is timed the same way: one warm-up call, then calls until the time budget is spent
//! (at least three); the figure is the median call. Items per second is batch size / median.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use ed25519_dalek::{Signer, SigningKey, Verifier as _};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;
use sha2::{Digest, Sha256};
use vera_engine::{
    BackendChoice, Engine, HashChain, MerkleScheme, MessageBuf, ProofsBuf, Rule, SignatureBatchBuf,
};

use super::info::CpuInfo;
use super::{engine, flush, write_err, CliError};

/// Options of `vera bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to measure (comma-separated): ed25519, sha256, merkle, proofs (inclusion proofs 20
    /// levels deep), poh (Solana proof-of-history ticks of 12,500 hashes, the batch size
    /// counting entries; not in the default set), and load (the in-process
    /// accelerator, then `vera serve` on loopback, under a steady stream and bursts of
    /// single-signature requests).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "ed25519,sha256,merkle,proofs"
    )]
    ops: Vec<Op>,
    /// Ed25519 rules to measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "strict,zip215,dalek", value_parser = super::parse_with::<Rule>)]
    rules: Vec<Rule>,
    /// Batch sizes (comma-separated) instead of each operation's default ladder.
    #[arg(long, value_delimiter = ',')]
    sizes: Option<Vec<usize>>,
    /// Fewer sizes and a shorter time per row (about 15 s in all on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Time budget per row, in milliseconds.
    #[arg(long, value_name = "MS")]
    time_ms: Option<u64>,
    /// The backend vera's rows run on.
    #[arg(long, default_value = "auto", value_parser = super::parse_with::<BackendChoice>)]
    backend: BackendChoice,
    /// CPU worker threads for vera's multi-core rows (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Measure a software GPU adapter (lavapipe) too when there is no hardware GPU.
    #[arg(long)]
    allow_software_gpu: bool,
    /// Also time Ed25519 on the GPU's u32-only field path (20 limbs of 13 bits) beside the
    /// default 64-bit-product path, where the GPU has SHADER_INT64.
    #[arg(long)]
    gpu_u32_field: bool,
    /// Also time Ed25519 on the GPU with each of these verify kernels (comma-separated:
    /// single = one invocation per signature, coop = two cooperating, lanes = eight, four per
    /// point, through subgroup shuffles) beside the default row, which picks by batch size.
    #[arg(long, value_delimiter = ',', value_name = "KERNELS")]
    gpu_kernels: Vec<GpuKernel>,
    /// Time every GPU kernel with timestamp queries and print the times after the table: what
    /// each GPU row's batch time is made of (the rest is transfers and the host). Adds to every
    /// GPU row's batch time (the timestamps' resolve and readback: about 0.13 ms on lavapipe), so
    /// compare end-to-end figures from a run without it.
    #[arg(long)]
    gpu_profile: bool,
    /// The accelerator's largest batch for `--ops load` (default: the library's default).
    #[arg(long, value_name = "ITEMS")]
    max_batch: Option<usize>,
    /// The accelerator's longest wait for a batch to fill, in microseconds, for `--ops load`
    /// (default: the library's default).
    #[arg(long, value_name = "MICROSECONDS")]
    max_delay_us: Option<u64>,
    /// Also write the results as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also draw the results as an SVG chart in FILE: for each operation, throughput and batch
    /// time against batch size, a line per implementation, log axes.
    #[arg(long, value_name = "FILE")]
    chart: Option<PathBuf>,
}

/// A verify kernel `--gpu-kernels` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum GpuKernel {
    Single,
    Coop,
    Lanes,
}

impl GpuKernel {
    fn kernel(self) -> vera_engine::backend::gpu::VerifyKernel {
        use vera_engine::backend::gpu::VerifyKernel;
        match self {
            GpuKernel::Single => VerifyKernel::Single,
            GpuKernel::Coop => VerifyKernel::Coop,
            GpuKernel::Lanes => VerifyKernel::Lanes,
        }
    }

    fn label(self) -> &'static str {
        match self {
            GpuKernel::Single => "1 invocation/sig",
            GpuKernel::Coop => "2 invocations/sig",
            GpuKernel::Lanes => "8 lanes/sig",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
enum Op {
    Ed25519,
    Sha256,
    Merkle,
    /// Merkle inclusion proofs, 20 levels deep.
    Proofs,
    /// Proof-of-history entries (hash chains), ticks of 12,500 hashes.
    Poh,
    /// The accelerator under load, in process and through the server (not in the default set).
    Load,
}

/// One measured row.
#[derive(Debug, Clone, Serialize)]
struct Row {
    op: &'static str,
    variant: String,
    size: usize,
    implementation: String,
    /// CPU threads (0 for a GPU row).
    threads: usize,
    /// Whether this implementation gives the rule's exact verdicts (reference rows that are not
    /// exact for the rule are shown for comparison only).
    exact: bool,
    median_us: f64,
    items_per_s: f64,
    /// Items/s relative to the row marked as the reference for this op, variant and size.
    vs_reference: Option<f64>,
    reference: bool,
}

#[derive(Serialize)]
struct Report {
    vera_version: &'static str,
    cpu: CpuInfo,
    /// The GPU adapter measured, if any.
    gpu: Option<String>,
    rows: Vec<Row>,
    /// The accelerator under load (`--ops load`).
    load: Vec<super::load::LoadRow>,
    /// Kernel times on the GPU (`--gpu-profile`).
    kernel_times: Vec<KernelRow>,
}

/// One kernel's dispatches of one size, on one of the benchmark's GPU engines.
#[derive(Debug, Clone, Serialize)]
struct KernelRow {
    engine: String,
    kernel: &'static str,
    workgroups: u64,
    dispatches: u64,
    mean_us: f64,
    min_us: f64,
}

/// The kernel times each GPU engine recorded, in engine order.
fn kernel_times_of(engines: &[(&Engine, &str)]) -> Vec<KernelRow> {
    let mut rows = Vec::new();
    for &(e, label) in engines {
        for g in e.gpu_backends() {
            for t in g.kernel_times().unwrap_or_default() {
                rows.push(KernelRow {
                    engine: label.to_string(),
                    kernel: t.kernel.trim_start_matches("vera "),
                    workgroups: t.workgroups,
                    dispatches: t.dispatches,
                    mean_us: t.mean().as_secs_f64() * 1e6,
                    min_us: t.min.as_secs_f64() * 1e6,
                });
            }
        }
    }
    rows
}

fn write_kernel_table(rows: &[KernelRow], out: &mut impl Write) -> Result<(), CliError> {
    let w = rows
        .iter()
        .map(|r| r.engine.chars().count())
        .max()
        .unwrap_or(0);
    writeln!(
        out,
        "\nGPU kernel times (timestamp queries), per dispatch\n{:<w$}  {:<28} {:>10} {:>10} {:>11} {:>11}",
        "engine", "kernel", "workgroups", "dispatches", "mean", "shortest"
    )
    .map_err(write_err)?;
    for r in rows {
        writeln!(
            out,
            "{:<w$}  {:<28} {:>10} {:>10} {:>11} {:>11}",
            r.engine,
            r.kernel,
            r.workgroups,
            r.dispatches,
            duration(r.mean_us),
            duration(r.min_us)
        )
        .map_err(write_err)?;
    }
    Ok(())
}

struct Bench {
    budget: Duration,
    rows: Vec<Row>,
    progress: bool,
    started: Instant,
}

/// One implementation to time: a call processes one whole batch.
struct Candidate<'a> {
    name: String,
    threads: usize,
    exact: bool,
    reference: bool,
    call: Box<dyn FnMut() + 'a>,
}

/// The implementations compared at one (op, variant, size), timed together.
struct Group<'b, 'a> {
    bench: &'b mut Bench,
    op: &'static str,
    variant: String,
    size: usize,
    candidates: Vec<Candidate<'a>>,
}

impl Bench {
    fn group<'b, 'a>(&'b mut self, op: &'static str, variant: &str, size: usize) -> Group<'b, 'a> {
        Group {
            bench: self,
            op,
            variant: variant.to_string(),
            size,
            candidates: Vec::new(),
        }
    }
}

impl<'a> Group<'_, 'a> {
    /// Adds an implementation. `exact`: it gives the rule's exact verdicts; `reference`: the
    /// other rows' ratios are relative to this one.
    fn add(
        &mut self,
        name: impl Into<String>,
        threads: usize,
        exact: bool,
        reference: bool,
        call: impl FnMut() + 'a,
    ) -> &mut Self {
        self.candidates.push(Candidate {
            name: name.into(),
            threads,
            exact,
            reference,
            call: Box::new(call),
        });
        self
    }

    /// Adds vera's rows, each calling `run` on its engine: the GPU where there is one, the CPU
    /// on every core, the CPU on one thread.
    fn add_vera(
        &mut self,
        gpu: GpuRow<'a>,
        all: &'a Engine,
        one: &'a Engine,
        run: impl Fn(&Engine) + Copy + 'a,
    ) -> &mut Self {
        if let Some((e, label)) = gpu {
            self.add(label, 0, true, false, move || run(e));
        }
        self.add("vera cpu", all.cpu_threads(), true, false, move || run(all));
        self.add("vera cpu", 1, true, false, move || run(one))
    }

    /// Times every candidate round-robin — one call each per round, so that clock-speed drift
    /// and noise from the rest of the machine fall on all of them alike — until the budget is
    /// spent (at least three rounds), and records the median call of each.
    fn run(mut self) {
        let b = &mut *self.bench;
        let elapsed = b.started.elapsed().as_secs_f64();
        let label = format!("{} {} n={}", self.op, self.variant, self.size);
        if b.progress {
            eprint!("\r\x1b[2K[{elapsed:>5.1}s] {label} …");
        } else {
            eprintln!("[{elapsed:>5.1}s] {label}");
        }
        for c in &mut self.candidates {
            (c.call)(); // warm-up: caches, pools, page faults
        }
        let mut times = vec![Vec::new(); self.candidates.len()];
        let budget = b.budget * self.candidates.len() as u32;
        let start = Instant::now();
        let mut rounds = 0;
        while rounds < 3 || (start.elapsed() < budget && rounds < 100_000) {
            for (c, t) in self.candidates.iter_mut().zip(&mut times) {
                let at = Instant::now();
                (c.call)();
                t.push(at.elapsed());
            }
            rounds += 1;
        }
        for (c, mut t) in self.candidates.into_iter().zip(times) {
            t.sort();
            let median = t[t.len() / 2].as_secs_f64();
            b.rows.push(Row {
                op: self.op,
                variant: self.variant.clone(),
                size: self.size,
                implementation: c.name,
                threads: c.threads,
                exact: c.exact,
                median_us: median * 1e6,
                items_per_s: self.size as f64 / median,
                vs_reference: None,
                reference: c.reference,
            });
        }
    }
}

/// A forced-GPU engine for the benchmark's GPU rows, `with` its options.
fn gpu_engine(
    args: &BenchArgs,
    with: impl FnOnce(vera_engine::EngineBuilder) -> vera_engine::EngineBuilder,
) -> Result<Engine, CliError> {
    let mut b = Engine::builder()
        .backend(BackendChoice::Gpu)
        .gpu_profile(args.gpu_profile);
    if let Some(t) = args.threads {
        b = b.threads(t);
    }
    with(b).build().map_err(|e| CliError::Usage(e.to_string()))
}

/// Runs the benchmark and prints the table (and the JSON file if asked).
pub fn run(args: BenchArgs, out: &mut impl Write) -> Result<(), CliError> {
    // vera's rows: the CPU backend on every core and on one, and the GPU backend forced (every
    // batch on the GPU) where there is one.
    let all = engine(BackendChoice::Cpu, args.threads, false)?;
    let one = engine(BackendChoice::Cpu, Some(1), false)?;
    let gpu = match args.backend {
        BackendChoice::Cpu => None,
        BackendChoice::Gpu => Some(gpu_engine(&args, |b| b)?),
        BackendChoice::Auto => {
            let auto = engine(BackendChoice::Auto, args.threads, args.allow_software_gpu)?;
            match auto.gpu_unavailable_reason() {
                None => Some(gpu_engine(&args, |b| b)?),
                Some(why) => {
                    eprintln!("vera bench: CPU only ({why})");
                    None
                }
            }
        }
    };
    let gpu_name = gpu
        .as_ref()
        .and_then(|g| g.gpu_backend())
        .map(|g| g.adapter().name.clone());
    let gpu_label = gpu_name.as_ref().map(|name| format!("vera gpu ({name})"));
    let budget = Duration::from_millis(args.time_ms.unwrap_or(if args.quick { 150 } else { 500 }));
    let mut b = Bench {
        budget,
        rows: Vec::new(),
        progress: std::io::stderr().is_terminal(),
        started: Instant::now(),
    };
    eprintln!(
        "vera bench: CPU with {} threads{}, against the reference crates on one core; {} ms per row",
        all.cpu_threads(),
        gpu_name
            .as_deref()
            .map(|name| format!(" and the GPU ({name})"))
            .unwrap_or_default(),
        budget.as_millis()
    );
    if let Some(g) = gpu.as_ref().and_then(Engine::gpu_backend) {
        if args.ops.contains(&Op::Ed25519) || args.ops.contains(&Op::Load) {
            // Built before any row is timed, and reported: on software adapters it takes a while.
            let t = g.prepare_ed25519();
            eprintln!(
                "vera bench: Ed25519 pipelines built in {} ms",
                t.as_millis()
            );
        }
    }
    let gpu_options = args.gpu_u32_field || !args.gpu_kernels.is_empty() || args.gpu_profile;
    if gpu.is_none() && gpu_options {
        eprintln!(
            "vera bench: no GPU rows, so --gpu-u32-field, --gpu-kernels and --gpu-profile do nothing"
        );
    }
    // The u32-only field path beside it, when asked for and different.
    let gpu_u32 = match gpu.as_ref().and_then(Engine::gpu_backend) {
        Some(g) if args.gpu_u32_field && g.int64_field() => {
            Some(gpu_engine(&args, |b| b.gpu_u32_field(true))?)
        }
        Some(_) if args.gpu_u32_field => {
            eprintln!("vera bench: the GPU runs the u32 field path already: no extra row");
            None
        }
        _ => None,
    };
    if let Some(g) = gpu_u32.as_ref().and_then(Engine::gpu_backend) {
        let t = g.prepare_ed25519();
        eprintln!(
            "vera bench: Ed25519 u32-field pipelines built in {} ms",
            t.as_millis()
        );
    }
    let u32_label = gpu_name
        .as_ref()
        .map(|name| format!("vera gpu ({name}), u32 field"));
    let gpu_u32 = gpu_u32.as_ref().zip(u32_label.as_deref());
    // One engine per kernel asked for (a kernel the adapter cannot run is an error here, not a
    // missing row).
    let mut kernel_rows = Vec::new();
    if let Some(name) = gpu_name.as_ref() {
        for &k in &args.gpu_kernels {
            let e = gpu_engine(&args, |b| b.gpu_verify_kernel(k.kernel()))?;
            if let Some(g) = e.gpu_backend() {
                g.prepare_ed25519();
            }
            kernel_rows.push((e, format!("vera gpu ({name}), {}", k.label())));
        }
    }
    let gpu = gpu.as_ref().zip(gpu_label.as_deref());
    let mut ed25519_rows: Vec<(&Engine, &str)> = gpu.into_iter().chain(gpu_u32).collect();
    ed25519_rows.extend(kernel_rows.iter().map(|(e, l)| (e, l.as_str())));
    let sizes = |default: &[usize], quick: &[usize]| -> Vec<usize> {
        args.sizes.clone().unwrap_or_else(|| {
            if args.quick {
                quick.to_vec()
            } else {
                default.to_vec()
            }
        })
    };
    let mut rng = StdRng::seed_from_u64(0x7e7a);
    let mut load_rows = Vec::new();
    for op in &args.ops {
        match op {
            Op::Ed25519 => {
                for n in sizes(&[64, 1024, 8192], &[64, 1024]) {
                    bench_ed25519(&mut b, &all, &one, &ed25519_rows, &args.rules, n, &mut rng);
                }
            }
            Op::Sha256 => {
                for n in sizes(&[64, 1024, 65536, 1 << 20], &[64, 4096, 65536]) {
                    bench_sha256(&mut b, &all, &one, gpu, n, &mut rng);
                }
            }
            Op::Merkle => {
                for n in sizes(&[1024, 65536, 1 << 20], &[1024, 65536]) {
                    bench_merkle(&mut b, &all, &one, gpu, n, &mut rng);
                }
            }
            Op::Proofs => {
                for n in sizes(&[64, 1024, 65536], &[64, 4096]) {
                    bench_proofs(&mut b, &all, &one, gpu, n, &mut rng);
                }
            }
            Op::Poh => {
                for n in sizes(&[64, 1024, 4096], &[64, 1024]) {
                    bench_poh(&mut b, &all, &one, gpu, n, &mut rng);
                }
            }
            Op::Load => {
                // The accelerator on the CPU engine, then on the forced-GPU engine where there
                // is one (every gathered batch on the GPU), side by side.
                let rule = args.rules.first().copied().unwrap_or(Rule::Zip215);
                eprintln!(
                    "load: {rule} rule, {} ms per scenario",
                    budget.as_millis() * 4
                );
                let mut load_config = crate::accelerator::Config::default();
                if let Some(n) = args.max_batch {
                    load_config.max_batch = n.max(1);
                }
                if let Some(us) = args.max_delay_us {
                    load_config.max_delay = Duration::from_micros(us);
                }
                eprintln!(
                    "load: max_batch {}, max_delay {} µs",
                    load_config.max_batch,
                    load_config.max_delay.as_micros()
                );
                // A node would run `auto`: it is measured too where there is a GPU.
                let auto = match gpu {
                    Some(_) => Some(engine(BackendChoice::Auto, args.threads, false)?),
                    None => None,
                };
                let engines = std::iter::once((&all, "cpu"))
                    .chain(gpu.map(|(e, _)| (e, "gpu, every batch")))
                    .chain(auto.as_ref().map(|e| (e, "auto")));
                for (engine, label) in engines {
                    load_rows.extend(
                        super::load::run(engine, label, &load_config, rule, budget * 4)
                            .map_err(|e| CliError::Io("cannot start the load runtime".into(), e))?,
                    );
                }
            }
        }
    }
    if b.progress {
        eprint!("\r\x1b[2K");
    }
    eprintln!("done in {:.1} s", b.started.elapsed().as_secs_f64());
    let mut rows = b.rows;
    add_ratios(&mut rows);
    write_table(&rows, out)?;
    let kernel_times = kernel_times_of(&ed25519_rows);
    if args.gpu_profile {
        if kernel_times.is_empty() {
            eprintln!("vera bench: no kernel times (no GPU row, or no timestamp queries on it)");
        } else {
            write_kernel_table(&kernel_times, out)?;
        }
    }
    if !load_rows.is_empty() {
        let w = load_rows
            .iter()
            .map(|r| r.scenario.chars().count())
            .max()
            .unwrap_or(0)
            .max(24);
        writeln!(
            out,
            "\n{:<w$} {:<16} {:>12} {:>11} {:>11} {:>11}",
            "load", "backend", "requests/s", "p50", "p99", "p99.9"
        )
        .map_err(write_err)?;
        for r in &load_rows {
            writeln!(
                out,
                "{:<w$} {:<16} {:>12} {:>11} {:>11} {:>11}",
                r.scenario,
                r.backend,
                si(r.items_per_s),
                duration(r.p50_us),
                duration(r.p99_us),
                duration(r.p999_us)
            )
            .map_err(write_err)?;
        }
    }
    if let Some(path) = &args.json {
        let report = Report {
            vera_version: env!("CARGO_PKG_VERSION"),
            cpu: CpuInfo::detect(),
            gpu: gpu_name.clone(),
            rows: rows.clone(),
            load: load_rows,
            kernel_times,
        };
        let text =
            serde_json::to_string_pretty(&report).map_err(|e| CliError::Usage(e.to_string()))?;
        std::fs::write(path, text + "\n")
            .map_err(|e| CliError::Io(format!("cannot write {}", path.display()), e))?;
        eprintln!("wrote {}", path.display());
    }
    if let Some(path) = &args.chart {
        let points: Vec<super::chart::Point> = rows
            .iter()
            .map(|r| super::chart::Point {
                panel: format!("{} {}", r.op, r.variant).trim().to_string(),
                series: match r.threads {
                    0 => r.implementation.clone(),
                    1 => format!("{} (1 thread)", r.implementation),
                    t => format!("{} ({t} threads)", r.implementation),
                },
                size: r.size,
                items_per_s: r.items_per_s,
            })
            .collect();
        let title = format!(
            "vera {} bench: {}{}",
            env!("CARGO_PKG_VERSION"),
            CpuInfo::detect().model,
            gpu_name
                .as_deref()
                .map(|g| format!(" + {g}"))
                .unwrap_or_default()
        );
        // After the JSON: a chart that cannot be drawn must not cost the measurements.
        match super::chart::write(path, &title, &points) {
            Ok(()) => eprintln!("wrote {}", path.display()),
            Err(e) => eprintln!("warning: no chart: {e}"),
        }
    }
    flush(out)
}

fn add_ratios(rows: &mut [Row]) {
    let refs: Vec<(String, String, usize, f64)> = rows
        .iter()
        .filter(|r| r.reference)
        .map(|r| (r.op.to_string(), r.variant.clone(), r.size, r.items_per_s))
        .collect();
    for r in rows.iter_mut() {
        r.vs_reference = refs
            .iter()
            .find(|(op, v, n, _)| op == r.op && *v == r.variant && *n == r.size)
            .map(|(.., ips)| r.items_per_s / ips);
    }
}

fn write_table(rows: &[Row], out: &mut impl Write) -> Result<(), CliError> {
    let name = |r: &Row| {
        if r.exact {
            r.implementation.clone()
        } else {
            format!("{} (not exact)", r.implementation)
        }
    };
    // The implementation column as wide as its longest name (GPU rows carry the adapter's).
    let w = rows
        .iter()
        .map(|r| name(r).chars().count())
        .max()
        .unwrap_or(0)
        .max(34);
    writeln!(
        out,
        "{:<8} {:<8} {:>8}  {:<w$} {:>7} {:>13} {:>12} {:>8}",
        "op", "variant", "batch", "implementation", "threads", "items/s", "batch time", "vs ref"
    )
    .map_err(write_err)?;
    let mut last = None;
    for r in rows {
        let key = (r.op, r.variant.as_str(), r.size);
        if last.is_some_and(|l| l != key) {
            writeln!(out).map_err(write_err)?;
        }
        last = Some(key);
        let ratio = match (r.reference, r.vs_reference) {
            (true, _) => "ref".to_string(),
            (false, Some(x)) => format!("{x:.2}x"),
            (false, None) => "-".to_string(),
        };
        writeln!(
            out,
            "{:<8} {:<8} {:>8}  {:<w$} {:>7} {:>13} {:>12} {:>8}",
            r.op,
            r.variant,
            r.size,
            name(r),
            if r.threads == 0 {
                "-".to_string()
            } else {
                r.threads.to_string()
            },
            si(r.items_per_s),
            duration(r.median_us),
            ratio
        )
        .map_err(write_err)?;
    }
    Ok(())
}

fn si(x: f64) -> String {
    match x {
        x if x >= 1e9 => format!("{:.2} G", x / 1e9),
        x if x >= 1e6 => format!("{:.2} M", x / 1e6),
        x if x >= 1e3 => format!("{:.1} k", x / 1e3),
        x => format!("{x:.0}"),
    }
}

fn duration(us: f64) -> String {
    match us {
        us if us >= 1e6 => format!("{:.2} s", us / 1e6),
        us if us >= 1e3 => format!("{:.2} ms", us / 1e3),
        us => format!("{us:.1} µs"),
    }
}

fn bench_ed25519(
    b: &mut Bench,
    all: &Engine,
    one: &Engine,
    gpus: &[(&Engine, &str)],
    rules: &[Rule],
    n: usize,
    rng: &mut StdRng,
) {
    // n distinct keys, one honest signature each, 32-byte messages (a transaction digest).
    let keys: Vec<SigningKey> = (0..n).map(|_| SigningKey::from_bytes(&rng.gen())).collect();
    let msgs: Vec<[u8; 32]> = (0..n).map(|_| rng.gen()).collect();
    let sigs: Vec<ed25519_dalek::Signature> =
        keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
    let mut batch = SignatureBatchBuf::new();
    for ((k, m), s) in keys.iter().zip(&msgs).zip(&sigs) {
        batch
            .push(&k.verifying_key().to_bytes(), m, &s.to_bytes())
            .expect("a small batch fits");
    }
    let batch = batch.as_batch();
    let pks: Vec<[u8; 32]> = keys.iter().map(|k| k.verifying_key().to_bytes()).collect();
    let check = |verdicts: Vec<vera_engine::Verdict>| {
        assert!(
            verdicts.iter().all(|v| v.is_valid()),
            "benchmark inputs are honest"
        );
    };
    for &rule in rules {
        let mut g = b.group("ed25519", rule.name(), n);
        for &(e, label) in gpus {
            g.add(label, 0, true, false, || {
                check(e.verify(rule, batch).expect("verify"))
            });
        }
        g.add("vera cpu", all.cpu_threads(), true, false, || {
            check(all.verify(rule, batch).expect("verify"))
        });
        g.add("vera cpu", 1, true, false, || {
            check(one.verify(rule, batch).expect("verify"))
        });
        g.add("vera cpu, key cache cold", 1, true, false, || {
            one.clear_key_cache();
            check(one.verify(rule, batch).expect("verify"))
        });
        match rule {
            Rule::Strict | Rule::Dalek => {
                let name = if rule == Rule::Strict {
                    "ed25519-dalek verify_strict"
                } else {
                    "ed25519-dalek verify"
                };
                g.add(name, 1, true, true, || {
                    for ((pk, m), s) in pks.iter().zip(&msgs).zip(&sigs) {
                        let vk = ed25519_dalek::VerifyingKey::from_bytes(pk).expect("honest key");
                        let ok = if rule == Rule::Strict {
                            vk.verify_strict(m, s).is_ok()
                        } else {
                            vk.verify(m, s).is_ok()
                        };
                        assert!(ok);
                    }
                });
                // Cofactorless with random coefficients: faster, but not exact for either rule.
                g.add("ed25519-dalek verify_batch", 1, false, false, || {
                    let vks: Vec<_> = pks
                        .iter()
                        .map(|pk| ed25519_dalek::VerifyingKey::from_bytes(pk).expect("honest key"))
                        .collect();
                    let m: Vec<&[u8]> = msgs.iter().map(|m| &m[..]).collect();
                    ed25519_dalek::verify_batch(&m, &sigs, &vks).expect("honest batch");
                });
            }
            Rule::Zip215 => {
                g.add("ed25519-consensus batch", 1, true, true, || {
                    let mut v = ed25519_consensus::batch::Verifier::new();
                    for ((pk, m), s) in pks.iter().zip(&msgs).zip(&sigs) {
                        let vkb = ed25519_consensus::VerificationKeyBytes::from(*pk);
                        let sig = ed25519_consensus::Signature::from(s.to_bytes());
                        v.queue((vkb, sig, &m[..]));
                    }
                    v.verify(rand::thread_rng()).expect("honest batch");
                });
                g.add("ed25519-consensus verify", 1, true, false, || {
                    for ((pk, m), s) in pks.iter().zip(&msgs).zip(&sigs) {
                        let vk =
                            ed25519_consensus::VerificationKey::try_from(*pk).expect("honest key");
                        let sig = ed25519_consensus::Signature::from(s.to_bytes());
                        vk.verify(&sig, m).expect("honest signature");
                    }
                });
            }
        }
        g.run();
    }
}

/// The forced-GPU engine and its row label, where there is a GPU.
type GpuRow<'a> = Option<(&'a Engine, &'a str)>;

fn bench_sha256(
    b: &mut Bench,
    all: &Engine,
    one: &Engine,
    gpu: GpuRow<'_>,
    n: usize,
    rng: &mut StdRng,
) {
    // 64-byte messages (a Merkle node's size), all in one buffer.
    let mut msgs = MessageBuf::with_capacity(n, 64 * n);
    let mut m = [0u8; 64];
    for _ in 0..n {
        rng.fill(&mut m[..]);
        msgs.push(&m).expect("fits");
    }
    let msgs = msgs.as_messages();
    let mut g = b.group("sha256", "64 B", n);
    g.add_vera(gpu, all, one, |e: &Engine| {
        std::hint::black_box(e.sha256(msgs).expect("sha256"));
    });
    g.add("sha2 Sha256::digest", 1, true, true, || {
        let out: Vec<[u8; 32]> = msgs.iter().map(|m| Sha256::digest(m).into()).collect();
        std::hint::black_box(out);
    });
    g.run();
}

fn bench_merkle(
    b: &mut Bench,
    all: &Engine,
    one: &Engine,
    gpu: GpuRow<'_>,
    n: usize,
    rng: &mut StdRng,
) {
    let leaves: Vec<[u8; 32]> = (0..n).map(|_| rng.gen()).collect();
    let data = MessageBuf::from_slices(&leaves).expect("fits");
    let data = data.as_messages();
    for scheme in MerkleScheme::ALL {
        let mut g = b.group("merkle", scheme.name(), n);
        g.add_vera(gpu, all, one, |e: &Engine| {
            std::hint::black_box(e.merkle_root(scheme, data).expect("root"));
        });
        g.add("sha2 Digest, level by level", 1, true, true, || {
            std::hint::black_box(reference_root(scheme, &leaves));
        });
        g.run();
    }
}
/// Hashes per proof-of-history tick in `bench_poh`: Solana's default hashes per tick.
const POH_TICK: u64 = 12_500;

fn bench_poh(
    b: &mut Bench,
    all: &Engine,
    one: &Engine,
    gpu: GpuRow<'_>,
    n: usize,
    rng: &mut StdRng,
) {
    let chains: Vec<HashChain> = (0..n)
        .map(|_| HashChain::solana_entry(rng.gen(), POH_TICK, None))
        .collect();
    // The claimed hashes, from the CPU engine; every row must reproduce them.
    let want = all.hash_chains(&chains).expect("chains");
    let check = |got: Vec<[u8; 32]>| assert!(got == want, "a benchmark chain differs");
    let mut g = b.group("poh", "tick", n);
    g.add_vera(gpu, all, one, |e: &Engine| {
        check(e.hash_chains(&chains).expect("chains"))
    });
    g.add("sha2 Digest, entry by entry", 1, true, true, || {
        for (c, w) in chains.iter().zip(&want) {
            let mut h = c.start;
            for _ in 0..c.hashes {
                h = Sha256::digest(h).into();
            }
            assert!(&h == w, "a benchmark chain differs");
        }
    });
    g.run();
}

/// Levels of the trees `bench_proofs` draws its proofs from (2^20 leaves).
const PROOF_DEPTH: usize = 20;

fn bench_proofs(
    b: &mut Bench,
    all: &Engine,
    one: &Engine,
    gpu: GpuRow<'_>,
    n: usize,
    rng: &mut StdRng,
) {
    for scheme in MerkleScheme::ALL {
        // Valid proofs in full trees of 2^20 leaves: each a random leaf and path, with the root
        // they fold to (every level full, so the sides are the index bits).
        let mut batch = ProofsBuf::new();
        for _ in 0..n {
            let index = rng.gen_range(0..1u64 << PROOF_DEPTH);
            let leaf: [u8; 32] = rng.gen();
            let path: Vec<[u8; 32]> = (0..PROOF_DEPTH).map(|_| rng.gen()).collect();
            let root = reference_fold(scheme, &leaf, &path, index);
            batch
                .push(&leaf, index, 1 << PROOF_DEPTH, &path, &root)
                .expect("fits");
        }
        let proofs = batch.as_proofs();
        let check = |v: Vec<vera_engine::ProofVerdict>| {
            assert!(v.iter().all(Result::is_ok), "a benchmark proof failed");
        };
        let mut g = b.group("proofs", scheme.name(), n);
        g.add_vera(gpu, all, one, |e: &Engine| {
            check(e.verify_inclusion(scheme, proofs).expect("proofs"))
        });
        g.add("sha2 Digest, proof by proof", 1, true, true, || {
            for i in 0..proofs.len() {
                let p = proofs.get(i).expect("in range");
                let root = reference_fold(scheme, p.leaf, p.path, p.index);
                assert!(&root == p.root, "a benchmark proof failed");
            }
        });
        g.run();
    }
}

/// A full tree's path folded with sha2's `Digest` API, each side an index bit: what a node
/// without vera does per proof.
fn reference_fold(
    scheme: MerkleScheme,
    leaf: &[u8; 32],
    path: &[[u8; 32]],
    index: u64,
) -> [u8; 32] {
    let node = |l: &[u8; 32], r: &[u8; 32]| -> [u8; 32] {
        match scheme {
            MerkleScheme::Rfc6962 => Sha256::new()
                .chain_update([1])
                .chain_update(l)
                .chain_update(r)
                .finalize()
                .into(),
            MerkleScheme::Bitcoin => {
                Sha256::digest(Sha256::new().chain_update(l).chain_update(r).finalize()).into()
            }
        }
    };
    let mut h = *leaf;
    for (level, sibling) in path.iter().enumerate() {
        h = if (index >> level) & 1 == 1 {
            node(sibling, &h)
        } else {
            node(&h, sibling)
        };
    }
    h
}

/// The textbook construction with sha2's `Digest` API: what a node without vera does.
fn reference_root(scheme: MerkleScheme, leaves: &[[u8; 32]]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = match scheme {
        MerkleScheme::Rfc6962 => leaves
            .iter()
            .map(|l| {
                Sha256::new()
                    .chain_update([0])
                    .chain_update(l)
                    .finalize()
                    .into()
            })
            .collect(),
        MerkleScheme::Bitcoin => leaves.to_vec(),
    };
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|p| match (scheme, p) {
                (MerkleScheme::Rfc6962, [l, r]) => Sha256::new()
                    .chain_update([1])
                    .chain_update(l)
                    .chain_update(r)
                    .finalize()
                    .into(),
                (MerkleScheme::Bitcoin, [l, r]) => {
                    Sha256::digest(Sha256::new().chain_update(l).chain_update(r).finalize()).into()
                }
                (MerkleScheme::Rfc6962, [l]) => *l,
                (MerkleScheme::Bitcoin, [l]) => {
                    Sha256::digest(Sha256::new().chain_update(l).chain_update(l).finalize()).into()
                }
                _ => unreachable!(),
            })
            .collect();
    }
    level.first().copied().unwrap_or_default()
}
