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
