//! # vera-node-adapter
//!
//! How a node reaches vera: the in-process async [`accelerator`], the local [`server`] for nodes
//! in other languages (`vera serve`), and the `vera` command line ([`cli`]). The C ABI, libvera,
//! is the sibling crate `vera-capi` (`node-adapter/capi/`).
//!
//! # Layout
//! - [`accelerator`]: micro-batching of single requests into engine batches, with backpressure.
//! - [`chains`]: chain adapters — Bitcoin blocks' mutation check (Merkle root and witness
//!   commitment), Solana transactions' signatures.
//! - [`cli`]: the `vera` binary's subcommands — `verify`, `merkle`, `proof`, `hash`, `block`,
//!   `tx` (JSON lines), `info`, `calibrate`, `bench`, `serve`.
//! - [`server`]: JSON lines over TCP or a Unix socket into a shared accelerator, and the
//!   Prometheus endpoint.

pub mod accelerator;
pub mod chains;
pub mod cli;
mod hexfmt;
mod lines;
mod replies;
pub mod server;
mod wire;
