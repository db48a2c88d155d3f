//! # vera-engine
//!
//! Batch verification work for blockchain nodes — SHA-256, Merkle roots and proofs, Ed25519
//! signatures — with per-item results in input order, identical on every backend.
//!
//! ```
//! use vera_engine::{Engine, Messages, Rule, SignatureBatch};
//! # let (pks, sigs, bytes, offsets) = (vec![[0u8; 32]], vec![[0u8; 64]], b"m".to_vec(), vec![0u32, 1]);
//! let engine = Engine::auto();
//! let batch = SignatureBatch::new(&pks, &sigs, Messages::new(&bytes, &offsets)?)?;
//! for verdict in engine.verify(Rule::Zip215, batch)? {
//!     println!("{verdict:?}");
//! }
//! # Ok::<(), vera_engine::Error>(())
//! ```
//!
//! # Layout
//! - [`batch`]: columnar batch types (the layout GPU buffers take), validated once.
//! - [`ed25519`]: verification [`Rule`]s, [`Verdict`]s and their reasons.
//! - [`hash_chains`]: iterated SHA-256 ([`HashChain`]s), as Solana's proof-of-history entries.
//! - [`merkle`]: [`MerkleScheme`]s, roots, RFC 6962 inclusion and consistency proofs, Bitcoin
//!   branches.
//! - [`backend`]: the backends, each with the same operations under the same names;
//!   [`backend::cpu`] is the exact, SIMD and multi-core CPU path.
//!   [`backend::gpu`] runs the WGSL shaders of `vera-shaders` through wgpu.
//! - [`Engine`]: the handle callers hold; it picks a backend once and forwards to it, the GPU
//!   taking the batches it is faster for (`route.rs` holds that policy, from the costs
//!   [`calibrate`] measures on this machine).
//! - [`Error`]: what goes wrong with a *request* (a bad signature is a verdict, not an error).

#![warn(missing_docs)]

pub mod backend;
pub mod batch;
pub mod calibrate;
pub mod ed25519;
mod engine;
pub mod error;
pub mod hash_chains;
mod health;
pub mod merkle;
pub mod proofs;
mod route;

pub use backend::{BackendChoice, BackendKind};
pub use batch::{MessageBuf, Messages, SignatureBatch, SignatureBatchBuf};
pub use calibrate::{Calibration, CalibrationMode};
pub use ed25519::{Reason, Rule, Verdict};
pub use engine::{Engine, EngineBuilder};
pub use error::{Error, Result};
pub use hash_chains::HashChain;
pub use health::{BackendLoad, EngineStats, LATENCY_BOUNDS};
pub use merkle::{MerkleRoot, MerkleScheme, ProofError};
pub use proofs::{ProofVerdict, Proofs, ProofsBuf};
