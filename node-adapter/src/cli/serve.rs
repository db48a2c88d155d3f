//! `vera serve`: the local server (see [`crate::server`]) with its Prometheus endpoint, run
//! until SIGINT or SIGTERM.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::{CliError, EngineArgs};
use crate::accelerator::{Accelerator, Config};
use crate::server::{self, Listener, ServerConfig};

/// The port `vera serve` listens on by default: "vera" on a phone keypad.
pub const DEFAULT_PORT: u16 = 8372;

/// How long a shutdown waits for connections to take their last replies.
const DRAIN: Duration = Duration::from_secs(30);

/// `vera serve` flags.
#[derive(Debug, Args)]
pub struct ServeArgs {
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
    /// Items queued per operation; further requests wait for room.
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
}

/// Runs the server until a signal.
pub fn run(args: ServeArgs) -> Result<(), CliError> {
    let engine = args
        .engine
        .build(|b| b.cross_check_every(args.cross_check_every))?;
    let config = ServerConfig {
        max_line: args.max_line_mib.saturating_mul(1 << 20),
        max_inflight_bytes: args.max_inflight_mib.saturating_mul(1 << 20),
        max_pipeline: args.max_pipeline,
        max_connections: args.max_connections,
    };
    let batching = Config {
        max_batch: args.max_batch,
        max_delay: Duration::from_micros(args.max_delay_us),
        queue_items: args.queue_items,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("vera-serve")
        .build()
        .map_err(|e| CliError::Io("cannot start the async runtime".into(), e))?;
    rt.block_on(async move {
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
        if let Some(l) = metrics {
            let addr = l.local_addr().map(|a| a.to_string()).unwrap_or_default();
            tracing::info!("metrics at http://{addr}/metrics");
            let mut stop = stop_rx.clone();
            tokio::spawn(server::serve_metrics(l, acc.clone(), async move {
                let _ = stop.changed().await;
            }));
        }
        let mut stop = stop_rx.clone();
        let serving = tokio::spawn(server::run(listeners, acc, config, async move {
            let _ = stop.changed().await;
        }));
        let signal = signal().await;
        tracing::info!("{signal}: finishing the requests already read (at most {DRAIN:?})");
        let _ = stop_tx.send(true);
        let result = match tokio::time::timeout(DRAIN, serving).await {
            Ok(Ok(r)) => r.map_err(|e| CliError::Usage(e.to_string())),
            Ok(Err(e)) => Err(CliError::Usage(format!("server failed: {e}"))),
            Err(_) => {
                tracing::warn!("some clients did not read their replies in {DRAIN:?}; closing");
                Ok(())
            }
        };
        for path in &args.unix {
            let _ = std::fs::remove_file(path);
        }
        result
    })
}

/// Waits for SIGINT (Ctrl-C) or, on Unix, SIGTERM; names the one that came.
async fn signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            return tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            };
        }
    }
    let _ = tokio::signal::ctrl_c().await;
    "SIGINT"
}

#[cfg(unix)]
async fn bind_unix(path: &Path) -> Result<Listener, CliError> {
    let bind = || tokio::net::UnixListener::bind(path);
    let listener = match bind() {
        Ok(l) => l,
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            // A socket file outlives a server that was killed. Replace it only when nothing
            // answers on it; a live server keeps its socket.
            if tokio::net::UnixStream::connect(path).await.is_ok() {
                return Err(CliError::Usage(format!(
                    "{} is in use by another server",
                    path.display()
                )));
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
