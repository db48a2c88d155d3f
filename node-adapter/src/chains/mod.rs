//! Chain adapters: a chain's own data formats in, the batch work on the engine, the chain's
//! verdict out.
//!
//! - [`bitcoin`]: Bitcoin Core's `IsBlockMutated` on a serialized block: the txids' root (with
//!   Core's `mutated` flag) against the header, and the wtxids' root against the BIP141
//!   witness commitment.
//! - [`solana`]: the signature check of serialized transactions, as a validator's sigverify
//!   stage does it (`strict`, one signature per required signer).

pub mod bitcoin;
pub mod solana;
