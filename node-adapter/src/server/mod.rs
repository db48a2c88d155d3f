//! The local server behind `vera serve`: vera for nodes written in other languages.
//!
//! A node connects over TCP (loopback by default) or a Unix socket and writes one JSON request
//! per line; the server answers each with one JSON line, **in request order on that connection**,
//! so a client needs no bookkeeping beyond reading lines back. Requests are pipelined: the
//! server reads ahead, and every request goes to the shared [`Accelerator`], which gathers the
//! requests of all connections into engine batches (CPU, GPU or both, as routed). Many small
//! requests in flight therefore cost about what one batch costs.
//!
//! # Requests and replies
//! Hex is lowercase in replies and either case in requests. `id` is optional, any JSON value,
//! and comes back verbatim in the reply.
//!
//! | request | reply |
//! |---|---|
//! | `{"op":"verify","rule":"zip215","pk":hex,"msg":hex,"sig":hex}` | `{"valid":true}` or `{"valid":false,"reason":"…"}` |
//! | `{"op":"verify","rule":"strict","items":[{"pk":…,"msg":…,"sig":…},…]}` | `{"results":[{"valid":true},…]}` |
//! | `{"op":"sha256","msg":hex}` | `{"sha256":hex}` |
//! | `{"op":"sha256","msgs":[hex,…]}` | `{"sha256":[hex,…]}` |
//! | `{"op":"merkle","scheme":"rfc6962","leaves":[hex,…]}` | `{"root":hex,"leaves":n}` (plus `"mutated":bool` for `bitcoin`) |
//! | `{"op":"ping"}` | `{"pong":true,"version":"…"}` |
//!
//! Rules and schemes are those of the command line (`strict`, `zip215`, `dalek`; `rfc6962`,
//! `bitcoin` with 32-byte txids in internal byte order). A request that cannot be carried out —
//! bad JSON, a misspelt field, wrong hex lengths, a line over the size limit — is answered in its
//! place with `{"error":"…","line":N}` (N counts the connection's lines from 1), and the
//! connection goes on. A bad signature is a verdict, never an error.
//!
//! # Limits
//! Every allocation is bounded by configuration ([`ServerConfig`]): one line is at most
//! `max_line` bytes (a longer one is skipped as it arrives and answered with an error); the
//! lines being worked on across all connections hold at most `max_inflight_bytes`; each
//! connection has at most `max_pipeline` requests in flight, and there are at most
//! `max_connections` connections. When a limit is reached the server stops reading, so TCP's
//! flow control pushes back on the client; nothing is dropped.
//!
//! # Shutdown
//! [`run`] stops accepting when its `shutdown` future completes, stops reading requests, answers
//! every request already read, and returns when the last connection has closed.

mod http;
pub mod protocol;

use std::future::Future;
use std::io;
use std::sync::Arc;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

pub use http::serve_metrics;

use crate::accelerator::{Accelerator, AcceleratorError};
use crate::lines::{Line, LineBuf};
use protocol::{Answer, Request};

/// The server's limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Longest request line in bytes. Default 64 MiB: a 1 M-leaf `rfc6962` tree of 32-byte
    /// leaves is ≈ 67 MB of hex, so larger trees go in `vera merkle` or the library.
    pub max_line: usize,
    /// Bytes of request lines being parsed, queued or computed at once, across all
    /// connections. Must be at least `max_line`. Default 1 GiB. Parsed requests take up to a
    /// few times their line's size.
    pub max_inflight_bytes: usize,
    /// Requests read ahead on one connection whose replies are not yet written. Default 4,096:
    /// one connection can keep a full engine batch queued.
    pub max_pipeline: usize,
    /// Connections served at once; more wait to be accepted. Default 1,024.
    pub max_connections: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_line: 64 << 20,
            max_inflight_bytes: 1 << 30,
            max_pipeline: 4096,
            max_connections: 1024,
        }
    }
}

impl ServerConfig {
    fn check(&self) -> io::Result<()> {
        let bad = |m: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, m.to_string()));
        if self.max_line == 0 || self.max_pipeline == 0 || self.max_connections == 0 {
            return bad("server limits must be at least 1");
        }
        if self.max_inflight_bytes < self.max_line {
            return bad("max_inflight_bytes must be at least max_line");
        }
        // Semaphore permits are taken per line, in u32 counts.
        if self.max_line > u32::MAX as usize {
            return bad("max_line must be below 4 GiB");
        }
        Ok(())
    }
}

/// Where the server listens.
#[derive(Debug)]
pub enum Listener {
    /// A TCP socket.
    Tcp(tokio::net::TcpListener),
    /// A Unix domain socket.
    #[cfg(unix)]
    Unix(tokio::net::UnixListener),
}

impl Listener {
    /// A printable address.
    pub fn describe(&self) -> String {
        match self {
            Listener::Tcp(l) => match l.local_addr() {
                Ok(a) => format!("tcp://{a}"),
                Err(_) => "tcp://?".into(),
            },
            #[cfg(unix)]
            Listener::Unix(l) => match l
                .local_addr()
                .ok()
                .and_then(|a| a.as_pathname().map(|p| format!("unix:{}", p.display())))
            {
                Some(a) => a,
                None => "unix:?".into(),
            },
        }
    }
}

struct Shared {
    acc: Accelerator,
    config: ServerConfig,
    inflight: Arc<Semaphore>,
}

/// Serves requests on every listener until `shutdown` completes, then finishes the requests
/// already read and returns. Errors only for an invalid [`ServerConfig`]; a failing
/// connection is logged and closed without affecting the others.
pub async fn run(
    listeners: Vec<Listener>,
    acc: Accelerator,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    config.check()?;
    let shared = Arc::new(Shared {
        acc,
        inflight: Arc::new(Semaphore::new(config.max_inflight_bytes)),
        config,
    });
    let connections = Arc::new(Semaphore::new(shared.config.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    // Every connection task holds a clone of `done_tx`; when all are dropped, `done_rx` ends.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let mut accepts = tokio::task::JoinSet::new();
    for listener in listeners {
        accepts.spawn(accept_loop(
            listener,
            Arc::clone(&shared),
            Arc::clone(&connections),
            stop_rx.clone(),
            done_tx.clone(),
        ));
    }
    drop(done_tx);
    shutdown.await;
    let _ = stop_tx.send(true);
    while accepts.join_next().await.is_some() {}
    let _ = done_rx.recv().await;
    Ok(())
}

async fn accept_loop(
    listener: Listener,
    shared: Arc<Shared>,
    connections: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
    done: mpsc::Sender<()>,
) {
    loop {
        let permit = tokio::select! {
            p = Arc::clone(&connections).acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stop.changed() => return,
        };
        let accepted = tokio::select! {
            a = accept(&listener) => a,
            _ = stop.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(s) => s,
            Err(e) => {
                // Out of file descriptors and the like: say so, back off, go on.
                tracing::warn!("accept on {} failed: {e}", listener.describe());
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        tracing::debug!("connection from {peer}");
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let result = match stream {
                Stream::Tcp(s) => {
                    // Replies to small requests should leave at once, not wait for Nagle.
                    let _ = s.set_nodelay(true);
                    connection(s, &shared, stop).await
                }
                #[cfg(unix)]
                Stream::Unix(s) => connection(s, &shared, stop).await,
            };
            if let Err(e) = result {
                tracing::debug!("connection from {peer} ended: {e}");
            }
            drop(permit);
            drop(done);
        });
    }
}

enum Stream {
    Tcp(tokio::net::TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

async fn accept(listener: &Listener) -> io::Result<(Stream, String)> {
    match listener {
        Listener::Tcp(l) => {
            let (s, a) = l.accept().await?;
            Ok((Stream::Tcp(s), a.to_string()))
        }
        #[cfg(unix)]
        Listener::Unix(l) => {
            let (s, _) = l.accept().await?;
            Ok((Stream::Unix(s), "a unix socket".into()))
        }
    }
}

/// A reply being computed: the request's line number (to report an internal failure) and where
/// its encoded reply will arrive.
type Pending = (u64, oneshot::Receiver<String>);

async fn connection<S>(
    stream: S,
    shared: &Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, wr) = tokio::io::split(stream);
    let mut rd = BufReader::with_capacity(64 << 10, rd);
    let (tx, rx) = mpsc::channel::<Pending>(shared.config.max_pipeline);
    let writer = tokio::spawn(write_replies(wr, rx));
    let mut number = 0u64;
    let read_result = loop {
        let line = tokio::select! {
            l = read_line(&mut rd, shared.config.max_line) => l,
            _ = stop.changed() => break Ok(()),
        };
        let line = match line {
            Ok(Some(l)) => l,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        number += 1;
        let size = match &line {
            Line::Text(t) => t.len().max(1),
            Line::TooLong => 1,
        };
        // `size` ≤ max_line ≤ max_inflight_bytes, and max_line < 2^32 (checked at start).
        let permit = match Arc::clone(&shared.inflight)
            .acquire_many_owned(size as u32)
            .await
        {
            Ok(p) => p,
            Err(_) => break Ok(()),
        };
        let (reply_tx, reply_rx) = oneshot::channel();
        if tx.send((number, reply_rx)).await.is_err() {
            // The writer has stopped: the client is gone.
            break Ok(());
        }
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            let reply = answer(&shared, number, line).await;
            drop(permit);
            let _ = reply_tx.send(reply);
        });
    };
    drop(tx);
    // Every request read is answered before the connection closes.
    let write_result = writer
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e.to_string())));
    read_result.and(write_result)
}

async fn read_line<R>(rd: &mut R, max: usize) -> io::Result<Option<Line>>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    let mut line = LineBuf::new(max);
    loop {
        let chunk = rd.fill_buf().await?;
        if chunk.is_empty() {
            if line.is_empty() {
                return Ok(None);
            }
            break;
        }
        let (take, done) = line.feed(chunk);
        rd.consume(take);
        if done {
            break;
        }
    }
    Ok(Some(line.finish()))
}

/// Writes replies in request order, flushing whenever the next one is not ready yet.
async fn write_replies<W>(wr: W, mut rx: mpsc::Receiver<Pending>) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let mut w = BufWriter::with_capacity(64 << 10, wr);
    loop {
        let (number, mut pending) = match rx.try_recv() {
            Ok(p) => p,
            Err(mpsc::error::TryRecvError::Empty) => {
                w.flush().await?;
                match rx.recv().await {
                    Some(p) => p,
                    None => break,
                }
            }
            Err(mpsc::error::TryRecvError::Disconnected) => break,
        };
        let reply = match pending.try_recv() {
            Ok(r) => Some(r),
            Err(oneshot::error::TryRecvError::Empty) => {
                w.flush().await?;
                pending.await.ok()
            }
            Err(oneshot::error::TryRecvError::Closed) => None,
        };
        // A reply task that died (it cannot panic on input, but a bug must not cost the
        // client its place in the stream) still gets its line answered.
        let reply = reply.unwrap_or_else(|| {
            protocol::encode(None, number, &Answer::Error("internal error".into()))
        });
        w.write_all(reply.as_bytes()).await?;
    }
    w.flush().await?;
    w.shutdown().await
}

/// Lines above this are parsed on a blocking thread, so that a big request never holds up the
/// async workers other connections need.
const PARSE_INLINE: usize = 256 << 10;

async fn answer(shared: &Shared, number: u64, line: Line) -> String {
    let text = match line {
        Line::Text(t) => t,
        Line::TooLong => {
            let msg = format!("line is longer than {} bytes", shared.config.max_line);
            return protocol::encode(None, number, &Answer::Error(msg));
        }
    };
    let parsed = if text.len() > PARSE_INLINE {
        match tokio::task::spawn_blocking(move || protocol::parse(&text)).await {
            Ok(p) => p,
            Err(_) => {
                return protocol::encode(None, number, &Answer::Error("internal error".into()))
            }
        }
    } else {
        protocol::parse(&text)
    };
    let acc = &shared.acc;
    let answer = match parsed.request {
        Err(e) => Answer::Error(e),
        Ok(request) => match request {
            Request::Verify(rule, (pk, msg, sig)) => {
                acc.verify(rule, pk, msg, sig).await.map(Answer::Verdict)
            }
            Request::VerifyBatch(rule, items) => {
                acc.verify_batch(rule, items).await.map(Answer::Verdicts)
            }
            Request::Sha256(msg) => acc.sha256(msg).await.map(Answer::Digest),
            Request::Sha256Batch(msgs) => acc.sha256_batch(msgs).await.map(Answer::Digests),
            Request::Merkle(scheme, leaves) => {
                acc.merkle_root(scheme, leaves).await.map(Answer::Root)
            }
            Request::Ping => Ok(Answer::Pong),
        }
        .unwrap_or_else(|e: AcceleratorError| Answer::Error(e.to_string())),
    };
    protocol::encode(parsed.id.as_deref(), number, &answer)
}
