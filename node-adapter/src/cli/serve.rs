//! `vera serve`: the local server (see [`crate::server`]) with its Prometheus endpoint, run
//! until SIGINT or SIGTERM.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args};
use serde::Deserialize;

use super::{CliError, EngineArgs};
use crate::accelerator::{Accelerator, Config};
use crate::server::{self, Listener, ServerConfig};

/// The port `vera serve` listens on by default: "vera" on a phone keypad.
pub const DEFAULT_PORT: u16 = 8372;

/// How long a shutdown waits for connections to take their last replies.
const DRAIN: Duration = Duration::from_secs(30);

/// `vera serve` flags. Each can also be set in the `--config` file under its own name
/// (`max-batch = 4096`); a flag given on the command line wins over the file.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML file with settings, one key per flag (e.g. `listen = ["127.0.0.1:8372"]`,
    /// `unix = ["/run/vera.sock"]`, `backend = "auto"`, `max-delay-us = 100`). Flags given on
    /// the command line override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// TCP address to listen on (repeatable). Default 127.0.0.1:8372 when no --unix is given.
    /// The protocol has no authentication: listen on loopback or a Unix socket only.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// Unix socket to listen on (repeatable). A stale socket file left by a dead server is
    /// replaced; one a live server answers on is an error.
    #[arg(long, value_name = "PATH")]
    unix: Vec<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (and "ok" at /health).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    #[command(flatten)]
    engine: EngineArgs,
    /// Re-verify every Nth GPU batch on the CPU and answer with the CPU's verdicts on a
    /// mismatch (logged and counted). 0 turns it off.
    #[arg(long, value_name = "N", default_value_t = 0)]
    cross_check_every: u64,
    /// Most items the accelerator gives the engine in one batch.
    #[arg(long, default_value_t = Config::default().max_batch)]
    max_batch: usize,
    /// Longest a request waits for others to join its batch, in microseconds.
    #[arg(long, value_name = "US", default_value_t = Config::default().max_delay.as_micros() as u64)]
    max_delay_us: u64,
    /// Items queued per operation; further requests wait for room. A batch request with more
    /// items than this is answered with an error.
    #[arg(long, default_value_t = Config::default().queue_items)]
    queue_items: usize,
    /// Longest request line, in MiB; a longer one is answered with an error.
    #[arg(long, value_name = "MIB", default_value_t = ServerConfig::default().max_line >> 20)]
    max_line_mib: usize,
    /// Request bytes being worked on at once across all connections, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = ServerConfig::default().max_inflight_bytes >> 20)]
    max_inflight_mib: usize,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = ServerConfig::default().max_pipeline)]
    max_pipeline: usize,
    /// Connections served at once.
    #[arg(long, default_value_t = ServerConfig::default().max_connections)]
    max_connections: usize,
    /// Seconds a reply may wait for the client to read it before the connection is closed.
    #[arg(long, value_name = "S", default_value_t = ServerConfig::default().write_timeout.as_secs())]
    write_timeout_s: u64,
}

/// The `--config` file: the flags' names, every key optional, unknown keys an error (a typo
/// must not silently leave a default in place).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ConfigFile {
    listen: Option<Vec<SocketAddr>>,
    unix: Option<Vec<PathBuf>>,
    metrics: Option<SocketAddr>,
    backend: Option<String>,
    threads: Option<usize>,
    allow_software_gpu: Option<bool>,
    cross_check_every: Option<u64>,
    max_batch: Option<usize>,
    max_delay_us: Option<u64>,
    queue_items: Option<usize>,
    max_line_mib: Option<usize>,
    max_inflight_mib: Option<usize>,
    max_pipeline: Option<usize>,
    max_connections: Option<usize>,
    write_timeout_s: Option<u64>,
}

impl ServeArgs {
    /// Fills every setting not given on the command line from the config file, if any.
    /// `matches` are the `serve` subcommand's, to tell a flag given from a default.
    fn merge_config(mut self, matches: Option<&ArgMatches>) -> Result<Self, CliError> {
        let Some(path) = &self.config else {
            return Ok(self);
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| CliError::Io(format!("cannot read {}", path.display()), e))?;
        let file: ConfigFile = toml::from_str(&text)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
        let given = |id: &str| {
            matches.is_some_and(|m| m.value_source(id) == Some(ValueSource::CommandLine))
        };
        macro_rules! take {
            ($field:ident) => {
                if let Some(v) = file.$field {
                    if !given(stringify!($field)) {
                        self.$field = v;
                    }
                }
            };
        }
        take!(listen);
        take!(unix);
        take!(cross_check_every);
        take!(max_batch);
        take!(max_delay_us);
        take!(queue_items);
        take!(max_line_mib);
        take!(max_inflight_mib);
        take!(max_pipeline);
        take!(max_connections);
        take!(write_timeout_s);
        if !given("metrics") {
            self.metrics = self.metrics.or(file.metrics);
        }
        if let Some(b) = file.backend {
            if !given("backend") {
                self.engine.backend = b
                    .parse()
                    .map_err(|e| CliError::Usage(format!("{}: backend: {e}", path.display())))?;
            }
        }
        if !given("threads") {
            self.engine.threads = self.engine.threads.or(file.threads);
        }
        if let Some(a) = file.allow_software_gpu {
            if !given("allow_software_gpu") {
                self.engine.allow_software_gpu = a;
            }
        }
        Ok(self)
    }
}

/// Runs the server until a signal. `matches` are the `serve` subcommand's.
pub fn run(args: ServeArgs, matches: Option<&ArgMatches>) -> Result<(), CliError> {
    let args = args.merge_config(matches)?;
    let config = ServerConfig {
        max_line: args.max_line_mib.saturating_mul(1 << 20),
        max_inflight_bytes: args.max_inflight_mib.saturating_mul(1 << 20),
        max_pipeline: args.max_pipeline,
        max_connections: args.max_connections,
        write_timeout: Duration::from_secs(args.write_timeout_s),
    };
    // Before the engine (a GPU takes seconds to open) and before any socket exists.
    config
        .validate()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    if args.max_batch == 0 || args.queue_items == 0 || args.queue_items > MAX_QUEUE {
        return Err(CliError::Usage(format!(
            "--max-batch and --queue-items must be at least 1, --queue-items at most {MAX_QUEUE}"
        )));
    }
    if args.max_delay_us > MAX_DELAY_US {
        return Err(CliError::Usage(format!(
            "--max-delay-us must be at most {MAX_DELAY_US} (1 s)"
        )));
    }
    let batching = Config {
        max_batch: args.max_batch,
        max_delay: Duration::from_micros(args.max_delay_us),
        queue_items: args.queue_items,
    };
    let engine = args
        .engine
        .build(|b| b.cross_check_every(args.cross_check_every))?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("vera-serve")
        .build()
        .map_err(|e| CliError::Io("cannot start the async runtime".into(), e))?;
    let mut sockets = Vec::new();
    let result = rt.block_on(serve(args, engine, batching, config, &mut sockets));
    // Every socket file this server made goes, however it ended — but only if it is still
    // ours: after the stop, another server may have taken the path over.
    for (path, id) in sockets {
        if file_id(&path) == Some(id) {
            let _ = std::fs::remove_file(path);
        }
    }
    // Batches still running on blocking threads (a GPU that hangs) must not keep the process
    // alive once the server has given up on them.
    rt.shutdown_timeout(Duration::from_secs(1));
    result
}

/// The longest batching delay accepted: a node waits on it.
const MAX_DELAY_US: u64 = 1_000_000;
/// The largest queue accepted, per operation.
const MAX_QUEUE: usize = 1 << 24;

/// A file's identity (device, inode), to tell our socket from one made later at the same path.
#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(_: &Path) -> Option<(u64, u64)> {
    None
}

async fn serve(
    args: ServeArgs,
    engine: vera_engine::Engine,
    batching: Config,
    config: ServerConfig,
    sockets: &mut Vec<(PathBuf, (u64, u64))>,
) -> Result<(), CliError> {
    // Signals are caught from before the first socket exists, so that one arriving at any
    // point still removes the socket files.
    let mut signals = Signals::new().map_err(|e| CliError::Io("cannot catch signals".into(), e))?;
    let mut listeners = Vec::new();
    let tcp = if args.listen.is_empty() && args.unix.is_empty() {
        vec![SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT))]
    } else {
        args.listen
    };
    for addr in tcp {
        if !addr.ip().is_loopback() {
            tracing::warn!(
                "listening on {addr}, which is not loopback: the protocol has no \
                 authentication, so anyone who can reach it can use this machine's GPU"
            );
        }
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| CliError::Io(format!("cannot listen on {addr}"), e))?;
        listeners.push(Listener::Tcp(l));
    }
    for path in &args.unix {
        listeners.push(bind_unix(path).await?);
        if let Some(id) = file_id(path) {
            sockets.push((path.clone(), id));
        }
    }
    let metrics = match args.metrics {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| CliError::Io(format!("cannot listen on {addr}"), e))?,
        ),
        None => None,
    };
    let backend = match engine.gpu_backend() {
        Some(g) => format!(
            "gpu ({}) with {} CPU threads",
            g.adapter().name,
            engine.cpu_threads()
        ),
        None => format!("cpu, {} threads", engine.cpu_threads()),
    };
    let acc = Accelerator::new(engine, batching);
    let names: Vec<String> = listeners.iter().map(Listener::describe).collect();
    tracing::info!(
        "vera serve: listening on {} (backend: {backend})",
        names.join(", ")
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.changed().await;
    };
    if let Some(l) = metrics {
        let addr = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
        tracing::info!("metrics at http://{addr}/metrics");
        tokio::spawn(server::serve_metrics(
            l,
            acc.clone(),
            stopped(stop_rx.clone()),
        ));
    }
    let mut serving = tokio::spawn(server::run(
        listeners,
        acc,
        config,
        stopped(stop_rx.clone()),
    ));
    let first = tokio::select! {
        s = signals.next() => s,
        // The server only returns early on an error.
        r = &mut serving => return ended(r),
    };
    tracing::info!(
        "{first}: finishing the requests already read (at most {DRAIN:?}; \
         signal again to quit now)"
    );
    let _ = stop_tx.send(true);
    tokio::select! {
        r = tokio::time::timeout(DRAIN, &mut serving) => match r {
            Ok(r) => ended(r),
            Err(_) => {
                tracing::warn!("requests still unanswered after {DRAIN:?}; quitting");
                Ok(())
            }
        },
        s = signals.next() => {
            tracing::warn!("{s} again: quitting with requests unanswered");
            Ok(())
        }
    }
}

fn ended(r: Result<io::Result<()>, tokio::task::JoinError>) -> Result<(), CliError> {
    match r {
        Ok(r) => r.map_err(|e| CliError::Usage(e.to_string())),
        Err(e) => Err(CliError::Usage(format!("server failed: {e}"))),
    }
}

/// SIGINT and SIGTERM, caught from creation on.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Signals {
                int: signal(SignalKind::interrupt())?,
                term: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the next signal; names it.
    async fn next(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.int.recv() => "SIGINT",
                _ = self.term.recv() => "SIGTERM",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

#[cfg(unix)]
async fn bind_unix(path: &Path) -> Result<Listener, CliError> {
    let bind = || tokio::net::UnixListener::bind(path);
    let listener = match bind() {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            // A socket file outlives a server that was killed. Replace it only when it is a
            // socket and nothing answers on it: a live server keeps its socket, and a file
            // that is not a socket is not vera's to delete.
            use std::os::unix::fs::FileTypeExt;
            let is_socket =
                std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
            if !is_socket {
                return Err(CliError::Usage(format!(
                    "{} exists and is not a socket",
                    path.display()
                )));
            }
            // Only a refused connection proves nobody listens: a busy server (full backlog)
            // fails differently, and keeps its socket.
            match tokio::net::UnixStream::connect(path).await {
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {}
                _ => {
                    return Err(CliError::Usage(format!(
                        "{} is in use by another server",
                        path.display()
                    )))
                }
            }
            std::fs::remove_file(path)
                .and_then(|()| bind())
                .map_err(|e| CliError::Io(format!("cannot listen on {}", path.display()), e))?
        }
        Err(e) => {
            return Err(CliError::Io(
                format!("cannot listen on {}", path.display()),
                e,
            ))
        }
    };
    Ok(Listener::Unix(listener))
}

#[cfg(not(unix))]
async fn bind_unix(path: &Path) -> Result<Listener, CliError> {
    Err(CliError::Usage(format!(
        "--unix {}: Unix sockets need a Unix system",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches};
    use vera_engine::BackendChoice;

    use super::super::{Cli, Command};
    use super::*;

    /// Parses `vera serve ARGS` with a config file holding `toml`, and merges them.
    fn settings(toml: &str, args: &[&str]) -> Result<ServeArgs, CliError> {
        // Tests run in parallel: each call gets a file of its own.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "vera-serve-config-{}-{}.toml",
            std::process::id(),
            CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::write(&path, toml).unwrap();
        let mut argv = vec!["vera", "serve", "--config", path.to_str().unwrap()];
        argv.extend_from_slice(args);
        let matches = Cli::command().try_get_matches_from(argv).unwrap();
        let Command::Serve(serve) = Cli::from_arg_matches(&matches).unwrap().command else {
            panic!("not serve");
        };
        let merged = serve.merge_config(matches.subcommand_matches("serve"));
        std::fs::remove_file(&path).ok();
        merged
    }

    const EVERY_KEY: &str = r#"
        listen = ["127.0.0.1:1", "[::1]:2"]
        unix = ["/run/vera.sock"]
        metrics = "127.0.0.1:9464"
        backend = "cpu"
        threads = 3
        allow-software-gpu = true
        cross-check-every = 10
        max-batch = 100
        max-delay-us = 5
        queue-items = 1000
        max-line-mib = 2
        max-inflight-mib = 8
        max-pipeline = 16
        max-connections = 4
        write-timeout-s = 2
    "#;

    #[test]
    fn the_config_file_fills_what_the_command_line_leaves_out() {
        let s = settings(EVERY_KEY, &[]).unwrap();
        assert_eq!(s.listen.len(), 2);
        assert_eq!(s.unix, [PathBuf::from("/run/vera.sock")]);
        assert_eq!(s.metrics, Some("127.0.0.1:9464".parse().unwrap()));
        assert_eq!(s.engine.backend, BackendChoice::Cpu);
        assert_eq!(s.engine.threads, Some(3));
        assert!(s.engine.allow_software_gpu);
        assert_eq!(
            (
                s.cross_check_every,
                s.max_batch,
                s.max_delay_us,
                s.queue_items
            ),
            (10, 100, 5, 1000)
        );
        assert_eq!(
            (
                s.max_line_mib,
                s.max_inflight_mib,
                s.max_pipeline,
                s.max_connections
            ),
            (2, 8, 16, 4)
        );
    }

    #[test]
    fn flags_on_the_command_line_win_over_the_file() {
        let s = settings(
            EVERY_KEY,
            &[
                "--max-batch",
                "7",
                "--listen",
                "127.0.0.1:3",
                "--backend",
                "auto",
                "--threads",
                "1",
                "--metrics",
                "127.0.0.1:4",
            ],
        )
        .unwrap();
        assert_eq!(s.max_batch, 7);
        assert_eq!(s.listen, ["127.0.0.1:3".parse::<SocketAddr>().unwrap()]);
        assert_eq!(s.engine.backend, BackendChoice::Auto);
        assert_eq!(s.engine.threads, Some(1));
        assert_eq!(s.metrics, Some("127.0.0.1:4".parse().unwrap()));
        // What the command line left alone still comes from the file.
        assert_eq!(s.max_delay_us, 5);
        // A flag given with its default value still counts as given.
        let s = settings(EVERY_KEY, &["--max-delay-us", "100"]).unwrap();
        assert_eq!(s.max_delay_us, 100);
    }

    #[test]
    fn a_bad_config_file_is_a_clear_error() {
        let err = |toml: &str| settings(toml, &[]).expect_err("an error").to_string();
        assert!(err("max-batches = 1").contains("unknown field `max-batches`"));
        assert!(err("max-batch = \"many\"").contains("max-batch"));
        assert!(err("backend = \"tpu\"").contains("backend"));
        assert!(err("listen = [\"localhost\"]").contains("listen"));
        assert!(err("[[").contains(".toml"));
    }
}
