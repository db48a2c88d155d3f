//! `vera`: batch SHA-256, Merkle and Ed25519 verification from the command line.
//!
//! Input and output are JSON lines (one object per line, results in input order); see `vera
//! --help` and DESIGN.md's command-line contract. Exit status is non-zero only for usage and I/O
//! errors: a bad signature or a malformed input line is answered in place.

use std::process::ExitCode;

use clap::Parser;
use vera_node_adapter::cli::{run, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs (GPU fallbacks, cross-check mismatches) go to standard error; stdout is for results.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vera: {e:#}");
            ExitCode::from(e.exit_code())
        }
    }
}
