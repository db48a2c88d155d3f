//! The CPU backend: sha2 (SHA-NI where present), curve25519-dalek (AVX2 where present), and
//! rayon across all cores on a pool of its own.

pub mod ed25519;
pub mod merkle;
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

    /// Runs `f(true)` on the worker pool when the work is worth spreading over several threads,
    /// else `f(false)` right here: handing work to a pool costs ~10 µs, more than small batches.
    fn run<R: Send>(&self, worth_parallel: bool, f: impl FnOnce(bool) -> R + Send) -> R {
        if !worth_parallel || self.threads == 1 {
            return f(false);
        }
        match &self.pool {
            Some(pool) => pool.install(|| f(true)),
            None => f(true),
        }
    }

    /// SHA-256 of every message, in order.
    pub fn sha256(&self, msgs: Messages<'_>) -> Vec<[u8; 32]> {
        let mut out = vec![[0u8; 32]; msgs.len()];
        self.run(sha256::worth_parallel(msgs), |par| {
            sha256::sha256_batch(msgs, &mut out, par)
        });
        out
    }

    /// The RFC 6962 root over leaf data (each leaf hashed with the 0x00 prefix).
    pub fn rfc6962_root(&self, leaves: Messages<'_>) -> MerkleRoot {
        self.run(merkle::worth_parallel(leaves.len()), |par| {
            let hashes = merkle::rfc6962_leaf_hashes(leaves, par);
            merkle::root_from_hashes(MerkleScheme::Rfc6962, &hashes, par)
        })
    }

    /// The root over already-hashed leaves.
    pub fn merkle_root_from_hashes(&self, scheme: MerkleScheme, hashes: &[[u8; 32]]) -> MerkleRoot {
        self.run(merkle::worth_parallel(hashes.len()), |par| {
            merkle::root_from_hashes(scheme, hashes, par)
        })
    }

    /// Forgets every cached public key.
    pub fn clear_key_cache(&self) {
        self.keys.clear();
    }

    /// One verdict per signature, in order.
    pub fn verify(&self, rule: Rule, batch: SignatureBatch<'_>) -> Vec<Verdict> {
        let mut out = vec![Verdict::Valid; batch.len()];
        self.run(batch.len() > 1, |par| {
            ed25519::verify_batch(&self.keys, self.threads, rule, batch, &mut out, par)
        });
        out
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
