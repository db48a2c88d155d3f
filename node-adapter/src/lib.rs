//! # vera-node-adapter
//!
//! How a node reaches vera: today the `vera` command line ([`cli`]); the in-process async
//! accelerator, the local server and the C ABI build on the same engine.
//!
//! # Layout
//! - [`cli`]: the `vera` binary's subcommands — `verify`, `merkle`, `hash` (JSON lines),
//!   `info`, `bench`.

pub mod cli;
