//! What the engine does when the GPU fails, and the counters it keeps.
//!
//! Under `auto` routing a failed GPU batch (device lost, timeout, failed map) is re-run on the
//! CPU, so the caller gets the same answer and nothing is lost; the failure is logged and counted,
//! and the GPU is left alone for a back-off period (1 s, doubling to 60 s while failures go on)
//! before it is tried again. A forced GPU engine (`--backend gpu`) reports the error instead: the
//! caller asked for the GPU, and tests of the GPU must see its failures.
//!
//! A sampled cross-check (a fraction of GPU batches recomputed on the CPU) catches a GPU that
//! answers wrongly rather than not at all: a mismatch is logged loudly, counted, and the CPU's
//! answer is returned.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Upper bounds of the batch-latency buckets of [`BackendLoad`], in seconds: 10 µs · 4^k for
/// k = 0..12 (to 42 s); a last bucket takes the rest.
pub const LATENCY_BOUNDS: [f64; 12] = [
    1e-5, 4e-5, 1.6e-4, 6.4e-4, 2.56e-3, 1.024e-2, 4.096e-2, 0.16384, 0.65536, 2.62144, 10.48576,
    41.94304,
];

/// What one backend has done: items, time, and batch latencies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BackendLoad {
    /// Items answered (signatures, messages, leaves).
    pub items: u64,
    /// Batches answered.
    pub batches: u64,
    /// Time spent on them, in nanoseconds.
    pub nanos: u64,
    /// Batches by latency: `latency[k]` counts those above `LATENCY_BOUNDS[k - 1]` and at most
    /// `LATENCY_BOUNDS[k]` (the last: above every bound). Not cumulative.
    pub latency: [u64; 13],
}

#[derive(Default)]
struct LoadCounters {
    items: AtomicU64,
    batches: AtomicU64,
    nanos: AtomicU64,
    latency: [AtomicU64; 13],
}

impl LoadCounters {
    fn record(&self, items: usize, elapsed: Duration) {
        self.items.fetch_add(items as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        let k = LATENCY_BOUNDS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.latency[k].fetch_add(1, Ordering::Relaxed);
    }

    fn read(&self) -> BackendLoad {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        BackendLoad {
            items: l(&self.items),
            batches: l(&self.batches),
            nanos: l(&self.nanos),
            latency: std::array::from_fn(|k| l(&self.latency[k])),
        }
    }
}

/// Which backend a piece of work ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Cpu,
    Gpu,
}

/// Counters of an engine's work, for metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Batches answered by the GPU.
    pub gpu_batches: u64,
    /// Batches answered by the CPU (including fallbacks).
    pub cpu_batches: u64,
    /// GPU batches that failed.
    pub gpu_failures: u64,
    /// Failed GPU batches re-run on the CPU.
    pub fallbacks: u64,
    /// GPU batches recomputed on the CPU by the sampled cross-check.
    pub cross_checks: u64,
    /// Cross-checks where the GPU's answer differed from the CPU's.
    pub cross_check_mismatches: u64,
    /// Work the CPU backend answered (fallbacks and the CPU part of split batches included).
    pub cpu: BackendLoad,
    /// Work the GPU backend answered.
    pub gpu: BackendLoad,
}

#[derive(Default)]
pub(crate) struct Health {
    gpu_batches: AtomicU64,
    cpu_batches: AtomicU64,
    gpu_failures: AtomicU64,
    fallbacks: AtomicU64,
    cross_checks: AtomicU64,
    mismatches: AtomicU64,
    /// When the GPU may be tried again, and the back-off that set it.
    down: Mutex<Option<(Instant, Duration)>>,
    /// Items, time and latencies per backend: CPU, GPU.
    loads: [LoadCounters; 2],
    /// Test hook: GPU calls still to fail on purpose.
    injected: AtomicU32,
    /// Cross-check one GPU batch in `cross_check_every` (0: never).
    pub(crate) cross_check_every: u64,
}

impl Health {
    pub(crate) fn new(cross_check_every: u64) -> Self {
        Health {
            cross_check_every,
            ..Health::default()
        }
    }

    pub(crate) fn stats(&self) -> EngineStats {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        EngineStats {
            gpu_batches: l(&self.gpu_batches),
            cpu_batches: l(&self.cpu_batches),
            gpu_failures: l(&self.gpu_failures),
            fallbacks: l(&self.fallbacks),
            cross_checks: l(&self.cross_checks),
            cross_check_mismatches: l(&self.mismatches),
            cpu: self.loads[0].read(),
            gpu: self.loads[1].read(),
        }
    }

    /// Whether the GPU may be used now (not inside a back-off period).
    pub(crate) fn gpu_usable(&self) -> bool {
        match *self.down.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((until, _)) => Instant::now() >= until,
            None => true,
        }
    }

    pub(crate) fn inject(&self, n: u32) {
        self.injected.store(n, Ordering::Relaxed);
    }

    /// Consumes one injected fault, if any is pending.
    pub(crate) fn take_injected(&self) -> bool {
        self.injected
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok()
    }

    pub(crate) fn cpu_batch(&self) {
        self.cpu_batches.fetch_add(1, Ordering::Relaxed);
    }

    /// Records `items` answered by `side` in `elapsed`.
    pub(crate) fn record(&self, side: Side, items: usize, elapsed: Duration) {
        self.loads[usize::from(side == Side::Gpu)].record(items, elapsed);
    }

    /// Records a GPU success; returns whether this batch is to be cross-checked.
    pub(crate) fn gpu_ok(&self) -> bool {
        let n = self.gpu_batches.fetch_add(1, Ordering::Relaxed);
        *self.down.lock().unwrap_or_else(|p| p.into_inner()) = None;
        self.cross_check_every > 0 && n.is_multiple_of(self.cross_check_every)
    }

    /// Records a GPU failure and starts (or lengthens) the back-off.
    pub(crate) fn gpu_failed(&self, what: &str, err: &crate::Error) {
        self.gpu_failures.fetch_add(1, Ordering::Relaxed);
        self.fallbacks.fetch_add(1, Ordering::Relaxed);
        let mut down = self.down.lock().unwrap_or_else(|p| p.into_inner());
        let backoff = match *down {
            Some((_, last)) => (last * 2).min(MAX_BACKOFF),
            None => FIRST_BACKOFF,
        };
        *down = Some((Instant::now() + backoff, backoff));
        tracing::warn!(
            batch = what,
            error = %err,
            retry_in_s = backoff.as_secs(),
            "GPU failed; batch answered on the CPU"
        );
    }

    /// Records a cross-check and whether it matched.
    pub(crate) fn cross_checked(&self, what: &str, matched: bool) {
        self.cross_checks.fetch_add(1, Ordering::Relaxed);
        if !matched {
            self.mismatches.fetch_add(1, Ordering::Relaxed);
            tracing::error!(
                batch = what,
                "CROSS-CHECK MISMATCH: the GPU's answer differs from the CPU's; the CPU's answer \
                 was used"
            );
        }
    }
}
