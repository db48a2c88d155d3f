//! The [`Engine`]: one handle, one backend chosen at construction, batch operations.

use std::sync::Arc;

use crate::backend::cpu::CpuBackend;
use crate::backend::{BackendChoice, BackendKind};
use crate::batch::{Messages, SignatureBatch};
use crate::ed25519::{Rule, Verdict};
use crate::error::{Error, Result};
use crate::merkle::{MerkleRoot, MerkleScheme};

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

enum Inner {
    Cpu(CpuBackend),
}

/// Options for building an [`Engine`].
#[derive(Debug, Clone, Default)]
pub struct EngineBuilder {
    backend: BackendChoice,
    threads: Option<usize>,
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

    /// Builds the engine. Fails when the GPU backend is required and not available.
    pub fn build(self) -> Result<Engine> {
        match self.backend {
            BackendChoice::Gpu => Err(Error::BackendUnavailable(
                BackendKind::Gpu,
                "this build of vera has no GPU backend yet".into(),
            )),
            BackendChoice::Auto | BackendChoice::Cpu => Ok(Engine {
                inner: Arc::new(Inner::Cpu(CpuBackend::new(self.threads))),
            }),
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
            inner: Arc::new(Inner::Cpu(CpuBackend::new(None))),
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

    /// The backend this engine runs on.
    pub fn backend(&self) -> BackendKind {
        match &*self.inner {
            Inner::Cpu(_) => BackendKind::Cpu,
        }
    }

    /// The number of CPU worker threads.
    pub fn cpu_threads(&self) -> usize {
        match &*self.inner {
            Inner::Cpu(cpu) => cpu.threads(),
        }
    }

    /// Forgets the decompressed public keys kept between batches (for benchmarks of the cold
    /// path, or to release their memory: at most 64 Ki keys per rule family, ≈ 13 MiB).
    pub fn clear_key_cache(&self) {
        match &*self.inner {
            Inner::Cpu(cpu) => cpu.clear_key_cache(),
        }
    }

    /// SHA-256 of every message, in order.
    pub fn sha256(&self, msgs: Messages<'_>) -> Result<Vec<[u8; 32]>> {
        match &*self.inner {
            Inner::Cpu(cpu) => Ok(cpu.sha256(msgs)),
        }
    }

    /// The Merkle root over `leaves`. For [`MerkleScheme::Rfc6962`] each leaf is data, hashed
    /// with the 0x00 prefix; for [`MerkleScheme::Bitcoin`] each leaf must be a 32-byte txid in
    /// internal byte order.
    pub fn merkle_root(&self, scheme: MerkleScheme, leaves: Messages<'_>) -> Result<MerkleRoot> {
        match scheme {
            MerkleScheme::Rfc6962 => match &*self.inner {
                Inner::Cpu(cpu) => Ok(cpu.rfc6962_root(leaves)),
            },
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
        match &*self.inner {
            Inner::Cpu(cpu) => Ok(cpu.merkle_root_from_hashes(scheme, hashes)),
        }
    }

    /// One [`Verdict`] per signature under `rule`, in input order. An invalid signature is a
    /// verdict, not an error.
    pub fn verify(&self, rule: Rule, batch: SignatureBatch<'_>) -> Result<Vec<Verdict>> {
        match &*self.inner {
            Inner::Cpu(cpu) => Ok(cpu.verify(rule, batch)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_is_send_sync_and_gpu_absence_is_an_error() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<Engine>();
        let err = Engine::gpu().err().expect("no GPU backend in this build");
        assert!(err.to_string().contains("gpu backend unavailable"), "{err}");
        assert_eq!(Engine::auto().backend(), BackendKind::Cpu);
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
