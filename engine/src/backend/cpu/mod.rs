//! The CPU backend: sha2 (SHA-NI where present), curve25519-dalek (AVX2 where present), and
//! rayon across all cores on a pool of its own.

pub mod ed25519;
pub mod merkle;
mod parts;
pub mod sha256;

use std::collections::HashMap;
use std::sync::RwLock;

use crate::batch::{Messages, SignatureBatch};
use crate::ed25519::{Rule, Verdict};
use crate::merkle::{MerkleRoot, MerkleScheme};

/// The CPU backend. Cheap to call from many threads at once.
pub struct CpuBackend {
    /// `None` only if the dedicated pool could not be started; work then runs on rayon's
    /// global pool rather than failing.
    pool: Option<rayon::ThreadPool>,
    threads: usize,
    keys: ed25519::KeyCaches,
}

impl CpuBackend {
    /// A backend running on `threads` worker threads (all cores when `None`), named `vera-cpu-N`.
    pub fn new(threads: Option<usize>) -> Self {
        let threads = threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .max(1);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("vera-cpu-{i}"))
            .build()
            .ok();
        CpuBackend {
            pool,
            threads,
            keys: ed25519::KeyCaches::default(),
        }
    }

    /// The number of worker threads.
    pub fn threads(&self) -> usize {
        self.threads
    }

    fn workers(&self) -> Workers<'_> {
        Workers {
            pool: self.pool.as_ref(),
            threads: self.threads,
        }
    }

    /// SHA-256 of every message, in order.
    pub fn sha256(&self, msgs: Messages<'_>) -> Vec<[u8; 32]> {
        let mut out = vec![[0u8; 32]; msgs.len()];
        sha256::sha256_batch(&self.workers(), msgs, false, &mut out);
        out
    }

    /// Double SHA-256 of every message, in order.
    pub fn sha256d(&self, msgs: Messages<'_>) -> Vec<[u8; 32]> {
        let mut out = vec![[0u8; 32]; msgs.len()];
        sha256::sha256_batch(&self.workers(), msgs, true, &mut out);
        out
    }

    /// Every hash chain's end, in order (see [`crate::hash_chains`]), or
    /// [`crate::Error::TooLarge`] past the limits.
    pub fn hash_chains(
        &self,
        chains: &[crate::hash_chains::HashChain],
    ) -> crate::Result<Vec<[u8; 32]>> {
        crate::hash_chains::check(chains)?;
        Ok(self.hash_chains_checked(chains))
    }

    /// [`hash_chains`](Self::hash_chains) of chains already checked.
    pub(crate) fn hash_chains_checked(
        &self,
        chains: &[crate::hash_chains::HashChain],
    ) -> Vec<[u8; 32]> {
        let mut out = vec![[0u8; 32]; chains.len()];
        sha256::chain_ends(&self.workers(), chains, &mut out);
        out
    }

    /// Every inclusion proof's verdict, in order.
    pub fn verify_inclusion(
        &self,
        scheme: crate::MerkleScheme,
        proofs: crate::proofs::Proofs<'_>,
    ) -> Vec<crate::proofs::ProofVerdict> {
        let mut out = vec![Ok(()); proofs.len()];
        crate::proofs::verify_batch(&self.workers(), scheme, proofs, &mut out);
        out
    }

    /// The RFC 6962 root over leaf data (each leaf hashed with the 0x00 prefix).
    pub fn rfc6962_root(&self, leaves: Messages<'_>) -> MerkleRoot {
        let w = self.workers();
        let hashes = merkle::rfc6962_leaf_hashes(&w, leaves);
        merkle::root_from_hashes(&w, MerkleScheme::Rfc6962, &hashes)
    }

    /// The root over already-hashed leaves.
    pub fn merkle_root_from_hashes(&self, scheme: MerkleScheme, hashes: &[[u8; 32]]) -> MerkleRoot {
        merkle::root_from_hashes(&self.workers(), scheme, hashes)
    }

    /// Forgets every cached public key.
    pub fn clear_key_cache(&self) {
        self.keys.clear();
    }

    /// Replaces every rejection in `verdicts` (one per signature of `batch`, as another backend
    /// decided them) by its diagnosis under `rule`, on every core: a batch full of forgeries must
    /// not make the host the bottleneck (a diagnosis costs up to two decompressions).
    pub fn diagnose_rejections(
        &self,
        rule: Rule,
        batch: SignatureBatch<'_>,
        verdicts: &mut [Verdict],
    ) {
        let rejected = verdicts.iter().filter(|v| !v.is_valid()).count();
        if rejected == 0 {
            return;
        }
        let workers = if rejected < 64 {
            Workers::serial()
        } else {
            self.workers()
        };
        let part_len = workers.part_len(verdicts.len(), 256, 4);
        workers.for_each_part(verdicts, part_len, |start, part| {
            for (j, v) in part.iter_mut().enumerate() {
                if let (Verdict::Invalid(_), Some((pk, _, sig))) = (*v, batch.get(start + j)) {
                    *v = Verdict::Invalid(crate::ed25519::diagnose(rule, pk, sig));
                }
            }
        });
    }

    /// One verdict per signature, in order.
    pub fn verify(&self, rule: Rule, batch: SignatureBatch<'_>) -> Vec<Verdict> {
        let mut out = vec![Verdict::Valid; batch.len()];
        ed25519::verify_batch(&self.workers(), &self.keys, rule, batch, &mut out);
        out
    }
}

/// Splits output slices into contiguous parts and runs them on the calling thread and a pool.
///
/// Helper jobs are spawned into the pool's shared queue, which wakes sleeping workers at once
/// (rayon's adaptive splitting pushes sub-tasks onto the running worker's own deque instead, and
/// after an idle spell the other workers were measured to wake only when the first had finished).
/// The caller claims parts too and never waits for a helper that has not started, so spreading
/// work costs a small batch almost nothing even when waking a core is slow. A single part runs
/// on the calling thread alone.
pub struct Workers<'p> {
    /// `None`: rayon's global pool.
    pool: Option<&'p rayon::ThreadPool>,
    threads: usize,
}

impl Workers<'_> {
    /// Workers on rayon's global pool (for free functions that have no engine at hand).
    pub fn global() -> Workers<'static> {
        Workers {
            pool: None,
            threads: rayon::current_num_threads(),
        }
    }

    /// Runs everything on the calling thread.
    pub fn serial() -> Workers<'static> {
        Workers {
            pool: None,
            threads: 1,
        }
    }

    /// The number of threads work is spread over.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Calls `f(start, part)` for contiguous parts of `out` of `part_len` items (the last may be
    /// shorter), `start` being the part's offset in `out`; in parallel when there is more than one
    /// part and more than one thread, the calling thread working too. Returns when every part is
    /// done, never waiting for a worker still asleep (see `parts.rs`).
    pub fn for_each_part<T: Send + 'static>(
        &self,
        out: &mut [T],
        part_len: usize,
        f: impl Fn(usize, &mut [T]) + Sync,
    ) {
        let part_len = part_len.max(1);
        if self.threads <= 1 || out.len() <= part_len {
            for (i, part) in out.chunks_mut(part_len).enumerate() {
                f(i * part_len, part);
            }
            return;
        }
        let helpers = self.threads - 1;
        match self.pool {
            Some(pool) => parts::run(|job| pool.spawn(job), helpers, out, part_len, &f),
            None => parts::run(rayon::spawn, helpers, out, part_len, &f),
        }
    }

    /// The part length that spreads `n` items over every thread, with parts of at least
    /// `min_part` items and at most `per_thread` parts per thread (more parts even out uneven
    /// work; fewer cost less to hand out).
    pub fn part_len(&self, n: usize, min_part: usize, per_thread: usize) -> usize {
        n.div_ceil(self.threads * per_thread.max(1))
            .max(min_part)
            .max(1)
    }
}

/// A bounded map from public-key bytes to their decoded form (`None` for bytes that do not
/// decode, which are cached too). When full it is emptied: simple, bounded, and a node's working
/// set of keys refills it within one batch.
pub(crate) struct KeyCache<T> {
    map: RwLock<HashMap<[u8; 32], T>>,
    capacity: usize,
}

impl<T> Default for KeyCache<T> {
    fn default() -> Self {
        KeyCache {
            map: RwLock::new(HashMap::new()),
            capacity: 1 << 16,
        }
    }
}

impl<T: Clone> KeyCache<T> {
    /// Forgets every entry.
    pub(crate) fn clear(&self) {
        self.map.write().unwrap_or_else(|e| e.into_inner()).clear();
    }

    /// The cached value for `key`, computing and storing it on a miss.
    pub(crate) fn get_or_insert(&self, key: &[u8; 32], decode: impl FnOnce() -> T) -> T {
        // A poisoned lock only means another thread panicked mid-insert; the map is still valid.
        if let Some(v) = self.map.read().unwrap_or_else(|e| e.into_inner()).get(key) {
            return v.clone();
        }
        let v = decode();
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if map.len() >= self.capacity {
            map.clear();
        }
        map.insert(*key, v.clone());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicking_part_panics_the_caller_and_the_pool_survives() {
        let backend = CpuBackend::new(Some(4));
        for bad in [0usize, 7, 63] {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut out = vec![0u8; 64];
                backend.workers().for_each_part(&mut out, 1, |start, _| {
                    assert!(start != bad, "part {start} fails");
                });
            }));
            assert!(r.is_err(), "part {bad} panicked");
        }
        let mut out = vec![0u8; 64];
        backend
            .workers()
            .for_each_part(&mut out, 1, |_, p| p[0] = 1);
        assert!(out.iter().all(|&x| x == 1));
    }

    #[test]
    fn parts_cover_the_output_once_in_order() {
        let backend = CpuBackend::new(Some(3));
        for w in [backend.workers(), Workers::serial(), Workers::global()] {
            for n in [0usize, 1, 2, 7, 64, 1000] {
                for part_len in [1usize, 3, 64, 2000] {
                    let mut out = vec![usize::MAX; n];
                    w.for_each_part(&mut out, part_len, |start, part| {
                        for (j, o) in part.iter_mut().enumerate() {
                            assert_eq!(*o, usize::MAX, "written twice");
                            *o = start + j;
                        }
                    });
                    assert!(
                        out.iter().enumerate().all(|(i, &o)| i == o),
                        "n={n} part={part_len}"
                    );
                }
            }
        }
        // Many short calls: helpers wake while the caller finishes, or after it has returned.
        let w = backend.workers();
        for round in 0..3000usize {
            let mut out = vec![0usize; 1 + round % 97];
            w.for_each_part(&mut out, 1 + round % 5, |start, part| {
                for (j, o) in part.iter_mut().enumerate() {
                    *o = start + j + 1;
                }
            });
            assert!(
                out.iter().enumerate().all(|(i, &o)| o == i + 1),
                "round {round}"
            );
        }
        assert_eq!(backend.workers().part_len(1000, 10, 4), 84);
        assert_eq!(backend.workers().part_len(20, 10, 4), 10);
        assert_eq!(Workers::serial().part_len(0, 0, 0), 1);
    }
}
