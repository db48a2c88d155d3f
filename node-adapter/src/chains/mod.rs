//! Chain adapters: a chain's own data formats in, the batch work on the engine, the chain's
//! verdict out.
//!
//! - [`bitcoin`]: the Merkle check of a serialized block (txids without witness, the root with
//!   Bitcoin Core's `mutated` flag, against the header).
//! - [`solana`]: the signature check of serialized transactions, as a validator's sigverify
//!   stage does it (`strict`, one signature per required signer).

pub mod bitcoin;
pub mod solana;
