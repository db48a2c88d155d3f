//! # vera-node-adapter
//!
//! How a node reaches vera: the in-process async [`accelerator`] and the `vera` command line
//! ([`cli`]); the local server and the C ABI will build on the same pieces.
//!
//! # Layout
//! - [`accelerator`]: micro-batching of single requests into engine batches, with backpressure.
//! - [`cli`]: the `vera` binary's subcommands — `verify`, `merkle`, `hash` (JSON lines),
//!   `info`, `bench`.

pub mod accelerator;
pub mod cli;
mod hexfmt;
mod lines;
pub mod server;
