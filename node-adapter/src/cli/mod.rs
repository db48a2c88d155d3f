//! The `vera` command line. Its flags and its JSON-lines formats are a public contract: scripts
//! and other tools call it.

mod bench;
mod calibrate;
mod chart;
mod info;
mod jsonl;
mod load;
mod serve;

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use vera_engine::{BackendChoice, Engine, MerkleScheme, Rule};

/// Batch verification for blockchain nodes: SHA-256, Merkle roots and proofs, Ed25519
/// signatures, on the GPU or on every CPU core, with exactly the verdicts of the reference
/// implementations.
///
/// Input and output are JSON lines: one object per line, results in input order, hex in
/// lowercase. A malformed line is answered in place with {"error":"…","line":N}; the exit status
/// is non-zero only for usage and I/O errors.
#[derive(Debug, Parser)]
#[command(name = "vera", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify Ed25519 signatures: {"pk":hex,"msg":hex,"sig":hex} per line →
    /// {"valid":true} or {"valid":false,"reason":"…"}.
    Verify {
        /// The chain's verification rule: strict (ed25519-dalek verify_strict; Solana, Aptos,
        /// and libsodium 1.0.18 to 1.0.22, as Cardano links it), zip215 (ed25519-consensus;
        /// Zcash, CometBFT, Cosmos, Sui) or dalek (ed25519-dalek verify). There is no default:
        /// rules disagree on hostile signatures.
        #[arg(long, value_parser = parse_with::<Rule>)]
        rule: Rule,
        #[command(flatten)]
        common: Common,
    },
    /// Merkle root of the leaves, one hex leaf per line → {"root":hex,"leaves":n}
    /// (plus "mutated":bool for bitcoin).
    Merkle {
        /// rfc6962: each line is leaf data, hashed as SHA-256(0x00 ‖ data).
        /// bitcoin: each line is a 32-byte txid in internal byte order; the root is printed in
        /// that order too. There is no default.
        #[arg(long, value_parser = parse_with::<MerkleScheme>)]
        scheme: MerkleScheme,
        #[command(flatten)]
        common: Common,
    },
    /// Check Merkle inclusion proofs, one per line:
    /// {"leaf":hex,"index":n,"size":n,"path":[hex,…],"root":hex} → {"valid":true} or
    /// {"valid":false,"reason":"index-out-of-range"|"length"|"root-mismatch"}.
    ///
    /// leaf is the leaf hash (rfc6962: SHA-256(0x00 ‖ data)) or the txid (bitcoin), path the
    /// sibling hashes from the leaf up, all 32-byte hashes in hex (internal byte order for
    /// bitcoin). rfc6962 follows RFC 9162's verification algorithm; bitcoin folds the branch as
    /// Bitcoin Core's ComputeMerkleRootFromBranch (bit i of index: the node at level i is a right
    /// child), with the branch as long as a tree of size leaves is deep. Checked in batches, on
    /// every core or the GPU.
    Proof {
        /// rfc6962 or bitcoin. There is no default.
        #[arg(long, value_parser = parse_with::<MerkleScheme>)]
        scheme: MerkleScheme,
        #[command(flatten)]
        common: Common,
    },
    /// SHA-256 of each message, one hex message per line (an empty line is the empty message)
    /// → {"sha256":hex}; with --double, double SHA-256 → {"sha256d":hex}.
    Hash {
        /// Double SHA-256, SHA-256(SHA-256(m)): Bitcoin's txids (of transactions without
        /// witness), wtxids and block hashes (of 80-byte headers), in internal byte order.
        #[arg(long)]
        double: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Check that blocks are what their headers commit to, one hex serialized block per line →
    /// {"block_hash":hex,…,"ok":bool,"mutation":null|reason}.
    ///
    /// Bitcoin Core's IsBlockMutated, with the hashing batched on the engine: the Merkle root
    /// of the txids (transactions without witness) against the header's, a mutated tree
    /// (CVE-2012-2459), and the segwit witness commitment (the wtxids' root and the coinbase's
    /// reserved value against the coinbase's commitment output). Output:
    /// {"block_hash":hex,"txs":n,"segwit_txs":n,"merkle_root":hex,"merkle_ok":bool,
    /// "mutated":bool,["header_merkle_root":hex,]["witness_root":hex,]
    /// "witness_commitment":"absent"|"match"|"mismatch"|"bad-reserved-value","coinbase":bool,
    /// "ok":bool,"mutation":null or Core's reject reason}. ok means the block is the one its
    /// header commits to, not that it is valid. block_hash is in display order (as explorers
    /// show it), the roots and txids in internal order (as in the header).
    Block {
        /// The chain: bitcoin (and its forks with the same block format).
        #[arg(long, value_parser = ["bitcoin"])]
        chain: String,
        /// Also list every txid.
        #[arg(long)]
        txids: bool,
        /// The blocks are from before segwit's activation (mainnet height 481,824): the
        /// witness commitment is not checked, and no transaction may carry a witness.
        #[arg(long)]
        before_segwit: bool,
        #[command(flatten)]
        common: Common,
    },
    /// Check transactions' signatures, one hex serialized transaction per line →
    /// {"valid":bool,"results":[{"valid":…},…]}.
    ///
    /// solana: as a validator's sigverify stage does it — signature i over the message with
    /// account key i under the strict rule (ed25519-dalek verify_strict), as many signatures as
    /// the header requires, legacy and v0 messages, at most one 1,232-byte packet. "valid" is
    /// true when every signature is. Lines are verified in chunks of 16,384 transactions, each
    /// one engine batch.
    Tx {
        /// The chain: solana.
        #[arg(long, value_parser = ["solana"])]
        chain: String,
        #[command(flatten)]
        common: Common,
    },
    /// Check proof-of-history entries, one per line:
    /// {"num_hashes":n,"hash":hex,"mixin":hex} → {"valid":true} or {"valid":false,"computed":hex}.
    ///
    /// solana: each entry's hash is recomputed from the hash before it as a validator replaying
    /// a slot does (Solana's next_hash): num_hashes − 1 times h = SHA-256(h), then h =
    /// SHA-256(h) for a tick (no "mixin") or h = SHA-256(h ‖ mixin) for an entry of
    /// transactions, "mixin" being the hash of its transactions (their signatures' Merkle
    /// root), or, instead of "mixin", "signatures":[hex,…] (every signature of the entry's
    /// transactions, in order, from which vera computes it as Agave does); an entry of no
    /// hashes and no transactions keeps the hash. An entry starts from the
    /// previous line's "hash", or from its own "start" (hex), or for the first line from
    /// --start. Entries are checked in chunks, all at once: each chain on a core, or thousands
    /// of them on the GPU. At most 16,777,216 hashes an entry.
    Poh {
        /// The chain: solana.
        #[arg(long, value_parser = ["solana"])]
        chain: String,
        /// The hash the first entry starts from (the previous slot's last entry hash), hex.
        #[arg(long)]
        start: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// Show the CPU features, every GPU adapter, and which backend `auto` picks.
    Info {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// Count software GPU adapters (lavapipe) as usable for `auto`.
        #[arg(long)]
        allow_software_gpu: bool,
    },
    /// Measure this machine's CPU and GPU costs per operation now and save them: `auto` routes
    /// each batch by them (CPU, GPU, or both at once). Done once per machine on first use;
    /// run this after changing hardware or drivers, or to see the crossovers.
    Calibrate {
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
        /// CPU worker threads (default: one per core), as the engine to be routed will use.
        #[arg(long)]
        threads: Option<usize>,
        /// Calibrate against a software GPU adapter (lavapipe) when there is no hardware GPU.
        #[arg(long)]
        allow_software_gpu: bool,
    },
    /// Measure throughput and latency against batch size, vera beside the reference crates
    /// called directly, in one run.
    Bench(bench::BenchArgs),
    /// Serve verification to other processes: JSON requests, one per line, over TCP (loopback
    /// by default, 127.0.0.1:8372) or a Unix socket, answered in order on each connection;
    /// requests from all connections share engine batches. Runs until SIGINT or SIGTERM. See
    /// the README for the request format.
    Serve(serve::ServeArgs),
}

/// Options shared by the JSON-lines subcommands.
#[derive(Debug, Args)]
struct Common {
    #[command(flatten)]
    engine: EngineArgs,
    /// Read from FILE instead of standard input ("-" is standard input).
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
}

/// How to build the engine: shared by the JSON-lines subcommands and `serve`.
#[derive(Debug, Args)]
struct EngineArgs {
    /// auto, cpu or gpu. auto routes each batch by this machine's measured costs (the CPU, a
    /// hardware GPU, or both); cpu uses every core; gpu uses the best adapter, software ones
    /// included, and exits with status 2 when there is none.
    #[arg(long, default_value = "auto", value_parser = parse_with::<BackendChoice>)]
    backend: BackendChoice,
    /// CPU worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Let `auto` use a software GPU adapter (lavapipe, WARP) when there is no hardware GPU;
    /// they are slower than the CPU path. Same as VERA_ALLOW_SOFTWARE_GPU=1.
    #[arg(long)]
    allow_software_gpu: bool,
}

impl EngineArgs {
    /// Builds the engine, with `more` adding settings of the caller's own.
    fn build(
        &self,
        more: impl FnOnce(vera_engine::EngineBuilder) -> vera_engine::EngineBuilder,
    ) -> Result<Engine, CliError> {
        let mut b = Engine::builder()
            .backend(self.backend)
            .allow_software_gpu(self.allow_software_gpu);
        if let Some(t) = self.threads {
            b = b.threads(t);
        }
        more(b).build().map_err(|e| CliError::Usage(e.to_string()))
    }
}

fn parse_with<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
}

/// A failure of the command itself (not of a signature or a line of input).
#[derive(Debug)]
pub enum CliError {
    /// Reading input or writing output failed.
    Io(String, io::Error),
    /// The request cannot be carried out as asked (e.g. `--backend gpu` without a GPU).
    Usage(String),
}

impl CliError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Io(..) => 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Io(what, e) => write!(f, "{what}: {e}"),
            CliError::Usage(msg) => f.write_str(msg),
        }
    }
}

impl std::error::Error for CliError {}

/// Runs one parsed command line. `matches` are what `cli` was parsed from: `vera serve` tells
/// flags given from defaults by them, so that flags win over its config file (without them,
/// the file's settings win).
pub fn run(cli: Cli, matches: Option<&clap::ArgMatches>) -> Result<(), CliError> {
    match cli.command {
        Command::Verify { rule, common } => {
            let (engine, input) = open(&common)?;
            jsonl::verify(&engine, rule, input, &mut stdout())
        }
        Command::Merkle { scheme, common } => {
            let (engine, input) = open(&common)?;
            jsonl::merkle(&engine, scheme, input, &mut stdout())
        }
        Command::Proof { scheme, common } => {
            let (engine, input) = open(&common)?;
            jsonl::proofs(&engine, scheme, input, &mut stdout())
        }
        Command::Hash { double, common } => {
            let (engine, input) = open(&common)?;
            jsonl::hash(&engine, double, input, &mut stdout())
        }
        Command::Poh {
            chain: _,
            start,
            common,
        } => {
            let start = start
                .map(|s| crate::hexfmt::hex_array::<32>("--start", &s))
                .transpose()
                .map_err(CliError::Usage)?;
            let (engine, input) = open(&common)?;
            jsonl::poh(&engine, start, input, &mut stdout())
        }
        Command::Tx { chain: _, common } => {
            let (engine, input) = open(&common)?;
            jsonl::solana_txs(&engine, input, &mut stdout())
        }
        Command::Block {
            chain: _,
            txids,
            before_segwit,
            common,
        } => {
            let (engine, input) = open(&common)?;
            jsonl::block(&engine, txids, !before_segwit, input, &mut stdout())
        }
        Command::Info {
            json,
            allow_software_gpu,
        } => info::run(json, allow_software_gpu, &mut stdout()),
        Command::Calibrate {
            json,
            threads,
            allow_software_gpu,
        } => calibrate::run(json, threads, allow_software_gpu, &mut stdout()),
        Command::Bench(args) => bench::run(args, &mut stdout()),
        Command::Serve(args) => {
            serve::run(args, matches.and_then(|m| m.subcommand_matches("serve")))
        }
    }
}

fn stdout() -> BufWriter<io::Stdout> {
    BufWriter::with_capacity(1 << 16, io::stdout())
}

fn engine(
    backend: BackendChoice,
    threads: Option<usize>,
    allow_software_gpu: bool,
) -> Result<Engine, CliError> {
    EngineArgs {
        backend,
        threads,
        allow_software_gpu,
    }
    .build(|b| b)
}

fn open(common: &Common) -> Result<(Engine, Box<dyn BufRead>), CliError> {
    let engine = common.engine.build(|b| b)?;
    let input: Box<dyn BufRead> = match &common.input {
        None => Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
        Some(p) if p.as_os_str() == "-" => Box::new(BufReader::with_capacity(1 << 16, io::stdin())),
        Some(p) => Box::new(BufReader::with_capacity(
            1 << 16,
            File::open(p).map_err(|e| CliError::Io(format!("cannot open {}", p.display()), e))?,
        )),
    };
    Ok((engine, input))
}

fn write_err(e: io::Error) -> CliError {
    CliError::Io("cannot write output".into(), e)
}

fn flush(out: &mut impl Write) -> Result<(), CliError> {
    out.flush().map_err(write_err)
}
