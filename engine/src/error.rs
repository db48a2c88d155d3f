//! The one error type of the engine.
//!
//! A signature that fails to verify is *not* an error: it is a [`Verdict`](crate::Verdict).
//! An `Err` means the request itself could not be carried out — malformed input, or a backend
//! that is not available.

use std::fmt;

/// Why the engine could not carry out a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The columns of a batch disagree in length (e.g. 10 public keys but 9 signatures).
    #[error("batch columns disagree: {column} has {found} items, expected {expected}")]
    ColumnLength {
        /// Which column is off.
        column: &'static str,
        /// How many items that column has.
        found: usize,
        /// How many items the batch has.
        expected: usize,
    },
    /// Message offsets are not a non-decreasing sequence inside the message buffer.
    #[error("message offsets are invalid: {0}")]
    Offsets(OffsetError),
    /// A batch is larger than the engine accepts (offsets are 32-bit so GPU buffers can index them).
    #[error("batch too large: {what} is {found}, the limit is {limit}")]
    TooLarge {
        /// What exceeded the limit.
        what: &'static str,
        /// The size found.
        found: u64,
        /// The largest size accepted.
        limit: u64,
    },
    /// A Merkle leaf has the wrong length for its scheme (Bitcoin leaves are 32-byte txids).
    #[error("leaf {index} is {found} bytes; the {scheme} scheme takes {expected}-byte leaves")]
    LeafLength {
        /// The scheme's name.
        scheme: &'static str,
        /// The index of the offending leaf.
        index: usize,
        /// Its length.
        found: usize,
        /// The length the scheme takes.
        expected: usize,
    },
    /// A proof was asked for a leaf or tree size that does not exist.
    #[error("no such proof: {0}")]
    ProofRequest(String),
    /// The requested backend is not available on this machine or in this build.
    #[error("{0} backend unavailable: {1}")]
    BackendUnavailable(crate::BackendKind, String),
    /// The GPU failed while carrying out a request: device lost, a failed buffer map, a timeout.
    /// The request can be retried on the CPU backend.
    #[error("GPU failure: {0}")]
    Gpu(String),
    /// A worker thread pool could not be started.
    #[error("could not start the CPU thread pool: {0}")]
    ThreadPool(String),
}

/// What is wrong with a set of message offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetError {
    /// `offsets` must hold one more entry than there are messages (it may not be empty).
    Empty,
    /// `offsets[index] > offsets[index + 1]`.
    Decreasing {
        /// The position of the first offending offset.
        index: usize,
    },
    /// The last offset points past the end of the message buffer.
    PastEnd {
        /// The last offset.
        end: u32,
        /// The buffer's length.
        len: usize,
    },
}

impl fmt::Display for OffsetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OffsetError::Empty => write!(f, "need n + 1 offsets for n messages, got none"),
            OffsetError::Decreasing { index } => {
                write!(f, "offset {} is greater than offset {}", index, index + 1)
            }
            OffsetError::PastEnd { end, len } => {
                write!(
                    f,
                    "last offset {end} is past the end of a {len}-byte buffer"
                )
            }
        }
    }
}

/// Shorthand for results of engine calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
