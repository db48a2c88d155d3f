//! The in-process accelerator: an async handle that turns a stream of individual requests into
//! engine-sized batches.
//!
//! Each operation (verification per rule, SHA-256 and double SHA-256, inclusion proofs per
//! scheme, Merkle roots) has a lane: a bounded queue and
//! a task that gathers requests until a batch is full (`max_batch` items) or the oldest request
//! has waited `max_delay`, then runs the batch on the engine off the async workers (`spawn_blocking`; the engine's CPU work runs on its own named
//! thread pool) and sends every caller its own results, in input order. A full queue makes
//! `verify` wait and `try_verify` fail with [`AcceleratorError::Busy`]. A caller that gives up
//! (drops its future) loses nothing for anyone else: its results are dropped on delivery.
//!
//! ```
//! use vera_engine::{Engine, Rule};
//! use vera_node_adapter::accelerator::{Accelerator, Config};
//!
//! # let rt = tokio::runtime::Runtime::new().unwrap();
//! # rt.block_on(async {
//! let acc = Accelerator::new(Engine::auto(), Config::default());
//! // All-zero A and R are points of order 4: `strict` rejects them (`zip215` would accept).
//! let verdict = acc.verify(Rule::Strict, [0; 32], b"msg".to_vec(), [0; 64]).await?;
//! assert!(!verdict.is_valid());
//! let digest = acc.sha256(b"abc".to_vec()).await?;
//! assert_eq!(digest[0], 0xba);
//! # Ok::<(), vera_node_adapter::accelerator::AcceleratorError>(())
//! # }).unwrap();
//! ```

mod lane;
mod metrics;

use std::fmt;
use std::time::Duration;

use vera_engine::{
    Engine, HashChain, MerkleRoot, MerkleScheme, ProofVerdict, ProofsBuf, Rule, Verdict,
};

use lane::{Lane, Work};

/// Batching settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Most items in one engine call. Default 4,096: enough to fill every core (and to give
    /// the GPU batches worth its round trip) while a batch still takes only milliseconds on 16
    /// cores; in the load benchmark above, 256 cut burst throughput by a fifth and 1,024 and
    /// 4,096 did alike.
    pub max_batch: usize,
    /// Longest a request waits for others to join its batch. Requests that queued while the
    /// previous batch ran join the next one at once; only a request arriving at an idle lane
    /// waits, up to this long. Default 100 µs, from `vera bench --ops load --max-delay-us`
    /// (zip215, CPU engine, 2-core VM, two runs each): 100 µs gave 33.1–33.3 k requests/s for 64
    /// steady callers and 130–138 k/s in bursts of 2,048, against 29.2–29.5 k and 108–112 k at
    /// 200 µs, 31.8–33.1 k and 111–120 k at 50 µs, and 19–21 k steady at 1 ms. Capped at one
    /// hour.
    pub max_delay: Duration,
    /// Items queued per lane before `verify` waits and `try_verify` fails; a single request
    /// with more items than this is [`AcceleratorError::Invalid`]. Default 65,536.
    pub queue_items: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_batch: 4096,
            max_delay: Duration::from_micros(100),
            queue_items: 65_536,
        }
    }
}

/// Why a request was not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcceleratorError {
    /// The queue is full (only from the `try_` calls).
    Busy,
    /// The accelerator has shut down.
    Closed,
    /// The request itself is malformed (e.g. messages too large for one batch).
    Invalid(String),
    /// The engine failed to carry out the batch holding this request.
    Engine(String),
}

impl fmt::Display for AcceleratorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcceleratorError::Busy => f.write_str("accelerator busy: the queue is full"),
            AcceleratorError::Closed => f.write_str("accelerator closed"),
            AcceleratorError::Invalid(m) => write!(f, "invalid request: {m}"),
            AcceleratorError::Engine(m) => write!(f, "engine failed: {m}"),
        }
    }
}

impl std::error::Error for AcceleratorError {}

/// One signature to verify: public key, message, signature (`R ‖ S`).
pub type SignatureItem = ([u8; 32], Vec<u8>, [u8; 64]);

/// One inclusion proof to check: the leaf (RFC 6962 leaf hash or txid), its index, the tree's
/// size, the path from the leaf up, and the root (see [`vera_engine::proofs`]).
pub type ProofItem = ([u8; 32], u64, u64, Vec<[u8; 32]>, [u8; 32]);

/// One Merkle tree to compute: the scheme and its leaves (leaf data for `rfc6962`, 32-byte txids
/// for `bitcoin`).
pub type MerkleTree = (MerkleScheme, Vec<Vec<u8>>);

/// The async accelerator handle. Cheap to clone; every clone feeds the same lanes. Must be
/// created inside a tokio runtime.
#[derive(Clone)]
pub struct Accelerator {
    verify: [Lane<SignatureItem, Verdict>; 3],
    sha256: Lane<Vec<u8>, [u8; 32]>,
    sha256d: Lane<Vec<u8>, [u8; 32]>,
    /// By scheme: RFC 6962, Bitcoin.
    proofs: [Lane<ProofItem, ProofVerdict>; 2],
    merkle: Lane<MerkleTree, Result<MerkleRoot, AcceleratorError>>,
    poh: Lane<HashChain, [u8; 32]>,
    metrics: std::sync::Arc<metrics::Metrics>,
    engine: Engine,
}

fn scheme_index(scheme: MerkleScheme) -> usize {
    match scheme {
        MerkleScheme::Rfc6962 => 0,
        MerkleScheme::Bitcoin => 1,
    }
}

fn lane_index(rule: Rule) -> usize {
    match rule {
        Rule::Strict => 0,
        Rule::Zip215 => 1,
        Rule::Dalek => 2,
    }
}

impl Accelerator {
    /// Starts the lanes on the current tokio runtime.
    pub fn new(engine: Engine, config: Config) -> Self {
        let metrics = std::sync::Arc::new(metrics::Metrics::new(engine.clone()));
        let verify = Rule::ALL.map(|rule| {
            let engine = engine.clone();
            let work: Work<SignatureItem, Verdict> = std::sync::Arc::new(move |items| {
                let mut batch = vera_engine::SignatureBatchBuf::new();
                for (pk, msg, sig) in &items {
                    batch.push(pk, msg, sig).map_err(|e| e.to_string())?;
                }
                engine
                    .verify(rule, batch.as_batch())
                    .map_err(|e| e.to_string())
            });
            Lane::start(format!("verify-{rule}"), &config, work, &metrics)
        });
        let hash_lane = |double: bool| {
            let e = engine.clone();
            let work: Work<Vec<u8>, [u8; 32]> = std::sync::Arc::new(move |msgs| {
                let buf = vera_engine::MessageBuf::from_slices(&msgs).map_err(|e| e.to_string())?;
                let msgs = buf.as_messages();
                if double {
                    e.sha256d(msgs)
                } else {
                    e.sha256(msgs)
                }
                .map_err(|e| e.to_string())
            });
            let name = if double { "sha256d" } else { "sha256" };
            Lane::start(name.into(), &config, work, &metrics)
        };
        let sha256 = hash_lane(false);
        let sha256d = hash_lane(true);
        let proofs = MerkleScheme::ALL.map(|scheme| {
            let e = engine.clone();
            let work: Work<ProofItem, ProofVerdict> = std::sync::Arc::new(move |items| {
                let mut batch = ProofsBuf::new();
                for (leaf, index, size, path, root) in &items {
                    batch
                        .push(leaf, *index, *size, path, root)
                        .map_err(|e| e.to_string())?;
                }
                e.verify_inclusion(scheme, batch.as_proofs())
                    .map_err(|e| e.to_string())
            });
            Lane::start(format!("proofs-{}", scheme.name()), &config, work, &metrics)
        });
        // Trees are not merged: a gathered batch computes each tree in turn, and a bad tree is
        // an error for its caller alone.
        let e = engine.clone();
        let merkle: Work<MerkleTree, Result<MerkleRoot, AcceleratorError>> =
            std::sync::Arc::new(move |trees| {
                Ok(trees
                    .into_iter()
                    .map(|(scheme, leaves)| {
                        let buf = vera_engine::MessageBuf::from_slices(&leaves)
                            .map_err(|e| AcceleratorError::Invalid(e.to_string()))?;
                        e.merkle_root(scheme, buf.as_messages())
                            .map_err(|err| match err {
                                vera_engine::Error::Gpu(_)
                                | vera_engine::Error::BackendUnavailable(..) => {
                                    AcceleratorError::Engine(err.to_string())
                                }
                                _ => AcceleratorError::Invalid(err.to_string()),
                            })
                    })
                    .collect())
            });
        let merkle = Lane::start("merkle".into(), &config, merkle, &metrics);
        // Chains from every caller share engine batches; a gathered batch is cut where the
        // engine's limit on hashes per call would be passed.
        let e = engine.clone();
        let poh: Work<HashChain, [u8; 32]> = std::sync::Arc::new(move |chains| {
            let mut ends = Vec::with_capacity(chains.len());
            let mut start = 0;
            while start < chains.len() {
                let mut end = start;
                let mut steps = 0u64;
                while let Some(c) = chains.get(end) {
                    let more = steps.saturating_add(c.hashes);
                    if end > start && more > vera_engine::hash_chains::MAX_BATCH_HASHES {
                        break;
                    }
                    steps = more;
                    end += 1;
                }
                ends.extend(
                    e.hash_chains(&chains[start..end])
                        .map_err(|e| e.to_string())?,
                );
                start = end;
            }
            Ok(ends)
        });
        let poh = Lane::start("poh".into(), &config, poh, &metrics);
        Accelerator {
            verify,
            sha256,
            sha256d,
            proofs,
            merkle,
            poh,
            metrics,
            engine,
        }
    }

    /// The engine the lanes run their batches on, for work that is one big item rather than
    /// many small ones (a block, a tree): call it off the async workers.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Adds a metric to the accelerator's registry (named `vera_<name>`), so that
    /// [`metrics_text`](Self::metrics_text) includes it: how the server publishes its own.
    pub fn register_metric(
        &self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.metrics.register(name, help, metric);
    }

    /// Every metric in the Prometheus / OpenMetrics text format, for a `/metrics` endpoint:
    /// per lane items, batch sizes, batch and request latencies, pending items; from the engine,
    /// batches per backend, GPU failures and fallbacks, cross-checks and mismatches.
    pub fn metrics_text(&self) -> String {
        self.metrics.encode()
    }

    /// Verifies one signature under `rule`.
    pub async fn verify(
        &self,
        rule: Rule,
        pk: [u8; 32],
        msg: Vec<u8>,
        sig: [u8; 64],
    ) -> Result<Verdict, AcceleratorError> {
        let mut v = self.verify[lane_index(rule)]
            .submit(vec![(pk, msg, sig)])
            .await?;
        v.pop().ok_or(AcceleratorError::Closed)
    }

    /// Verifies signatures under `rule`; one verdict per item, in order.
    pub async fn verify_batch(
        &self,
        rule: Rule,
        items: Vec<SignatureItem>,
    ) -> Result<Vec<Verdict>, AcceleratorError> {
        self.verify[lane_index(rule)].submit(items).await
    }

    /// Like [`verify`](Self::verify), but fails with [`AcceleratorError::Busy`] at once when the
    /// queue is full instead of waiting for room.
    pub async fn try_verify(
        &self,
        rule: Rule,
        pk: [u8; 32],
        msg: Vec<u8>,
        sig: [u8; 64],
    ) -> Result<Verdict, AcceleratorError> {
        let mut v = self.verify[lane_index(rule)]
            .try_submit(vec![(pk, msg, sig)])?
            .await?;
        v.pop().ok_or(AcceleratorError::Closed)
    }

    /// SHA-256 of one message.
    pub async fn sha256(&self, msg: Vec<u8>) -> Result<[u8; 32], AcceleratorError> {
        let mut v = self.sha256.submit(vec![msg]).await?;
        v.pop().ok_or(AcceleratorError::Closed)
    }

    /// SHA-256 of each message, in order.
    pub async fn sha256_batch(
        &self,
        msgs: Vec<Vec<u8>>,
    ) -> Result<Vec<[u8; 32]>, AcceleratorError> {
        self.sha256.submit(msgs).await
    }

    /// Double SHA-256, SHA-256(SHA-256(m)), of one message (Bitcoin's txids and block
    /// hashes); these requests share batches of their own.
    pub async fn sha256d(&self, msg: Vec<u8>) -> Result<[u8; 32], AcceleratorError> {
        let mut v = self.sha256d.submit(vec![msg]).await?;
        v.pop().ok_or(AcceleratorError::Closed)
    }

    /// Double SHA-256 of each message, in order.
    pub async fn sha256d_batch(
        &self,
        msgs: Vec<Vec<u8>>,
    ) -> Result<Vec<[u8; 32]>, AcceleratorError> {
        self.sha256d.submit(msgs).await
    }

    /// The end of each hash chain (proof-of-history entries), in order; chains from all
    /// callers share engine batches. Chains past the engine's limits are refused here, as the
    /// caller's error alone, before they can join anyone's batch.
    pub async fn hash_chains(
        &self,
        chains: Vec<HashChain>,
    ) -> Result<Vec<[u8; 32]>, AcceleratorError> {
        vera_engine::hash_chains::check(&chains)
            .map_err(|e| AcceleratorError::Invalid(e.to_string()))?;
        self.poh.submit(chains).await
    }

    /// Checks one inclusion proof under `scheme`; proofs from all callers share engine batches.
    pub async fn verify_inclusion(
        &self,
        scheme: MerkleScheme,
        proof: ProofItem,
    ) -> Result<ProofVerdict, AcceleratorError> {
        let mut v = self.proofs[scheme_index(scheme)]
            .submit(vec![proof])
            .await?;
        v.pop().ok_or(AcceleratorError::Closed)
    }

    /// Checks inclusion proofs under `scheme`; one verdict per proof, in order.
    pub async fn verify_inclusion_batch(
        &self,
        scheme: MerkleScheme,
        proofs: Vec<ProofItem>,
    ) -> Result<Vec<ProofVerdict>, AcceleratorError> {
        self.proofs[scheme_index(scheme)].submit(proofs).await
    }

    /// Like [`sha256`](Self::sha256), but fails with [`AcceleratorError::Busy`] at once when
    /// the queue is full.
    pub async fn try_sha256(&self, msg: Vec<u8>) -> Result<[u8; 32], AcceleratorError> {
        let mut v = self.sha256.try_submit(vec![msg])?.await?;
        v.pop().ok_or(AcceleratorError::Closed)
    }

    /// Like [`merkle_root`](Self::merkle_root), but fails with [`AcceleratorError::Busy`] at
    /// once when the queue is full.
    pub async fn try_merkle_root(
        &self,
        scheme: MerkleScheme,
        leaves: Vec<Vec<u8>>,
    ) -> Result<MerkleRoot, AcceleratorError> {
        self.merkle
            .try_submit(vec![(scheme, leaves)])?
            .await?
            .pop()
            .ok_or(AcceleratorError::Closed)?
    }

    /// The Merkle root of `leaves` under `scheme` (leaf data for `rfc6962`, 32-byte txids in
    /// internal byte order for `bitcoin`). A malformed tree (a bitcoin leaf that is not 32 bytes)
    /// is [`AcceleratorError::Invalid`].
    pub async fn merkle_root(
        &self,
        scheme: MerkleScheme,
        leaves: Vec<Vec<u8>>,
    ) -> Result<MerkleRoot, AcceleratorError> {
        self.merkle
            .submit(vec![(scheme, leaves)])
            .await?
            .pop()
            .ok_or(AcceleratorError::Closed)?
    }
}
