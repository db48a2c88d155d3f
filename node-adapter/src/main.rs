//! `vera`: batch SHA-256, Merkle and Ed25519 verification from the command line.
//!
//! Input and output are JSON lines (one object per line, results in input order); see `vera
//! --help` and DESIGN.md's command-line contract. Exit status is non-zero only for usage and I/O
//! errors: a bad signature or a malformed input line is answered in place.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use vera_node_adapter::cli::{run, Cli};

fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    // Logs (GPU fallbacks, cross-check mismatches) go to standard error; stdout is for results.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    match run(cli, Some(&matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vera: {e:#}");
            ExitCode::from(e.exit_code())
        }
    }
}
