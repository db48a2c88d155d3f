//! Routing: which backend carries out each batch when the engine has a GPU.
//!
//! With `--backend gpu` (a forced GPU engine) every batch goes to the GPU. Under `auto`, each
//! batch is planned from this machine's measured costs ([`crate::calibrate`]): the CPU alone,
//! the GPU alone, or — for signatures and hashes — both at once on two parts of the batch. A
//! batch goes to the GPU only where the GPU is predicted to be clearly faster, so routing never
//! makes a node slower than the CPU path alone.
//!
//! Without a calibration (switched off, or a software adapter) the provisional thresholds below
//! apply: they come from the H200 probe in DESIGN.md (a dispatch and readback round trip of
//! 57 µs; SHA-256 on all host cores ≈ 2 GB/s per core; batch verification on 16 cores
//! ≈ 0.5 M signatures/s), and are deliberately high.

use crate::batch::Messages;
use crate::calibrate::{Calibration, Plan, PROOFS_MEASURED_FROM};
use crate::ed25519::Rule;

/// How the engine splits work between its backends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Route {
    /// Every batch on the GPU.
    Gpu,
    /// By batch size: from measured costs where there are some, else by fixed thresholds.
    Auto(Option<Calibration>),
}

/// Bytes of SHA-256 work (message bytes plus a block per message) from which the GPU is used
/// without a calibration: 16 cores hash 1 MiB in about 30 µs, less than a GPU round trip.
const GPU_MIN_HASH_BYTES: usize = 4 << 20;
/// Merkle leaves from which the GPU is used without a calibration: 2^16 leaves take 16 CPU
/// cores about 1 ms.
const GPU_MIN_MERKLE_LEAVES: usize = 1 << 16;
/// Inclusion proofs from which the GPU checks them without a calibration (with enough path
/// hashes in all, as for a Merkle tree): one invocation per proof needs thousands to fill a GPU.
const GPU_MIN_PROOFS: usize = 4096;
/// Hash chains from which the GPU may take a batch: it runs one chain per thread, so a GPU
/// needs thousands of chains to be busy.
const GPU_MIN_CHAINS: usize = 1024;
/// A hash-chain step on one GPU thread, one SHA-256 compression after another, in
/// nanoseconds: a pessimistic guess for a hardware GPU (64 dependent rounds take about 1.5 µs
/// on an H200's clock), until the device measures it.
const CHAIN_GPU_NS_PER_STEP: f64 = 4000.0;
/// A GPU batch's fixed cost (upload, dispatches, readback), in nanoseconds: the H200 probe's
/// round trip, doubled.
const CHAIN_GPU_FIXED_NS: f64 = 120_000.0;
/// A hash-chain step on one CPU core with SHA-NI, in nanoseconds, where nothing is measured.
const CHAIN_CPU_NS_PER_STEP: f64 = 60.0;
/// Hash-chain steps on a whole GPU, in nanoseconds each, where nothing is measured: a
/// pessimistic throughput (a large GPU compresses tens of blocks per nanosecond).
const CHAIN_GPU_NS_PER_STEP_ALL: f64 = 1.0;
/// SHA-256 calibration units per chain step: the calibration hashes 64-byte messages, two
/// compressions per 128 units, and a step is one compression.
const UNITS_PER_STEP: f64 = 64.0;

/// Signatures from which the GPU verifies without a calibration: 16 cores verify 4,096 in
/// ≈ 8 ms.
const GPU_MIN_VERIFY: usize = 4096;

fn by_threshold(work: usize, threshold: usize) -> Plan {
    if work >= threshold {
        Plan::Gpu
    } else {
        Plan::Cpu
    }
}

/// A plan made in units of work, for a batch of `n` items and `work` units: a split at `units`
/// becomes a split at the same share of the items.
fn split_by_share(n: usize, work: usize, plan: Plan) -> Plan {
    match plan {
        Plan::Split(units) => {
            let m = (n as u128 * units as u128 / work.max(1) as u128) as usize;
            if m == 0 || m >= n {
                Plan::Cpu
            } else {
                Plan::Split(m)
            }
        }
        p => p,
    }
}

impl Route {
    pub(crate) fn is_auto(self) -> bool {
        matches!(self, Route::Auto(_))
    }

    /// The plan for a SHA-256 batch (or RFC 6962 leaf hashing) on `gpus` identical GPUs; a
    /// split is by messages.
    pub(crate) fn hash_plan(self, msgs: Messages<'_>, gpus: usize) -> Plan {
        let work = msgs.total_len() + 64 * msgs.len();
        match self {
            Route::Gpu => Plan::Gpu,
            Route::Auto(None) => by_threshold(work, GPU_MIN_HASH_BYTES),
            Route::Auto(Some(cal)) => {
                split_by_share(msgs.len(), work, cal.sha256.on_gpus(gpus).plan(work, true))
            }
        }
    }

    /// The plan for `n` inclusion proofs of `work` units (RFC 6962 path hashes plus one per
    /// proof, or their equivalent in compressions) on
    /// `gpus` identical GPUs, from the measured proof costs (see
    /// [`Calibration::proof_costs`]). Without a calibration they are costed as that many Merkle
    /// leaves: a path hash is a node hash, and a tree costs about one node hash per leaf.
    pub(crate) fn proof_plan(self, n: usize, work: usize, gpus: usize) -> Plan {
        match self {
            Route::Gpu => Plan::Gpu,
            // One GPU invocation per proof: a few long proofs are work for a few threads only.
            Route::Auto(None) if n < GPU_MIN_PROOFS => Plan::Cpu,
            Route::Auto(None) => by_threshold(work, GPU_MIN_MERKLE_LEAVES),
            Route::Auto(Some(_)) if n < PROOFS_MEASURED_FROM => Plan::Cpu,
            Route::Auto(Some(cal)) => {
                split_by_share(n, work, cal.proof_costs().on_gpus(gpus).plan(work, true))
            }
        }
    }

    /// Whether a batch of `n` hash chains of `total` steps, the longest `longest`, goes to the
    /// GPU (chains are not split). The GPU's time is its fixed cost plus the longer of the
    /// longest chain, step after step on one thread, and every step at the whole GPU's
    /// throughput (over `gpus` GPUs); the CPU's is every step spread over `threads` cores. Where
    /// there is a calibration, both throughputs come from the measured SHA-256 costs (a step is
    /// one compression). The GPU takes the batch when it is predicted to need at most
    /// [`crate::calibrate::MARGIN`] of the CPU's time.
    pub(crate) fn chains_on_gpu(
        self,
        n: usize,
        total: u64,
        longest: u64,
        threads: usize,
        gpus: usize,
    ) -> bool {
        let (cpu_step, gpu_step) = match self {
            Route::Gpu => return true,
            _ if n < GPU_MIN_CHAINS => return false,
            Route::Auto(Some(cal)) => {
                let c = cal.sha256.on_gpus(gpus);
                (
                    c.cpu_ns_per_item * UNITS_PER_STEP,
                    c.gpu_ns_per_item * UNITS_PER_STEP,
                )
            }
            Route::Auto(None) => (
                CHAIN_CPU_NS_PER_STEP / threads.max(1) as f64,
                CHAIN_GPU_NS_PER_STEP_ALL / gpus.max(1) as f64,
            ),
        };
        let cpu = total as f64 * cpu_step;
        let serial = longest as f64 * CHAIN_GPU_NS_PER_STEP;
        let gpu = CHAIN_GPU_FIXED_NS + serial.max(total as f64 * gpu_step);
        gpu.is_finite() && cpu.is_finite() && gpu <= crate::calibrate::MARGIN * cpu
    }

    /// Whether a Merkle tree of `leaves` leaves goes to the GPU (trees are not split).
    pub(crate) fn merkle_on_gpu(self, leaves: usize) -> bool {
        match self {
            Route::Gpu => true,
            Route::Auto(None) => leaves >= GPU_MIN_MERKLE_LEAVES,
            Route::Auto(Some(cal)) => cal.merkle.plan(leaves, false) == Plan::Gpu,
        }
    }

    /// The plan for verifying `n` signatures under `rule` on `gpus` identical GPUs.
    pub(crate) fn verify_plan(self, rule: Rule, n: usize, gpus: usize) -> Plan {
        match self {
            Route::Gpu => Plan::Gpu,
            Route::Auto(None) => by_threshold(n, GPU_MIN_VERIFY),
            Route::Auto(Some(cal)) => cal.verify_costs(rule).on_gpus(gpus).plan(n, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::tests::costs;

    #[test]
    fn hash_chains_go_to_the_gpu_only_when_many_and_long_enough() {
        let auto = Route::Auto(None);
        // Few chains stay on the CPU, however long.
        assert!(!auto.chains_on_gpu(100, 100 * 60_000, 60_000, 16, 1));
        // 4,096 ticks of 62,500 steps on 16 cores: 1 s of CPU against 0.26 s of GPU.
        assert!(auto.chains_on_gpu(4096, 4096 * 62_500, 62_500, 16, 1));
        // One long chain among short ones: the GPU would wait on it alone.
        assert!(!auto.chains_on_gpu(4096, 4095 + 1_000_000, 1_000_000, 16, 1));
        // Short chains: the GPU's fixed cost dominates.
        assert!(!auto.chains_on_gpu(2048, 2048 * 10, 10, 16, 1));
        // A GPU of low throughput beside many cores: measured costs keep the CPU.
        let c = costs(0.5, 60_000.0, 0.5);
        let cal = Calibration {
            verify: [c; 3],
            sha256: c,
            merkle: c,
            proofs: None,
            kernels: None,
        };
        // CPU 32 ns a step on all cores; the GPU 32 ns a step in all: never 75 % of the CPU.
        assert!(!Route::Auto(Some(cal)).chains_on_gpu(1 << 16, 1 << 30, 1 << 14, 64, 1));
        assert!(Route::Gpu.chains_on_gpu(1, 0, 0, 16, 1));
    }

    #[test]
    fn proofs_route_by_their_own_costs_where_measured() {
        // Merkle roots say the GPU is far faster; measured proofs say it is far slower.
        let fast = costs(100.0, 0.0, 1.0);
        let slow = costs(1.0, 1e9, 10.0);
        let mut cal = Calibration {
            verify: [fast; 3],
            sha256: fast,
            merkle: fast,
            proofs: Some(slow),
            kernels: None,
        };
        let (n, work) = (10_000, 210_000);
        assert_eq!(Route::Auto(Some(cal)).proof_plan(n, work, 1), Plan::Cpu);
        // A calibration made before proofs were measured costs them as Merkle leaves.
        cal.proofs = None;
        assert_ne!(Route::Auto(Some(cal)).proof_plan(n, work, 1), Plan::Cpu);
        // Few proofs stay on the CPU whatever their length, calibrated or not; a forced GPU
        // takes all.
        assert_eq!(
            Route::Auto(Some(cal)).proof_plan(100, 1 << 24, 1),
            Plan::Cpu
        );
        assert_eq!(Route::Auto(None).proof_plan(100, 1 << 24, 1), Plan::Cpu);
        assert_eq!(Route::Gpu.proof_plan(1, 2, 1), Plan::Gpu);
    }
}
