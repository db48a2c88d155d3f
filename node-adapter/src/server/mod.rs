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
//! Hex is lowercase in replies and either case in requests. `id` is optional, any JSON value
//! up to [`MAX_ID`] bytes, and comes back verbatim in the reply.
//!
//! A client should read replies while it writes requests (another thread or task, or
//! alternating): one that writes a long stream before reading anything fills the socket with
//! replies, the server stops reading its requests, and after `write_timeout` it is cut off.
//!
//! | request | reply |
//! |---|---|
//! | `{"op":"verify","rule":"zip215","pk":hex,"msg":hex,"sig":hex}` | `{"valid":true}` or `{"valid":false,"reason":"…"}` |
//! | `{"op":"verify","rule":"strict","items":[{"pk":…,"msg":…,"sig":…},…]}` | `{"results":[{"valid":true},…]}` |
//! | `{"op":"sha256","msg":hex}` | `{"sha256":hex}` |
//! | `{"op":"sha256","msgs":[hex,…]}` | `{"sha256":[hex,…]}` |
//! | `{"op":"merkle","scheme":"rfc6962","leaves":[hex,…]}` | `{"root":hex,"leaves":n}` (plus `"mutated":bool` for `bitcoin`) |
//! | `{"op":"block","chain":"bitcoin","block":hex}` | `{"block_hash":hex,"txs":n,"segwit_txs":n,"merkle_root":hex,"merkle_ok":bool,"mutated":bool}` (as `vera block`) |
//! | `{"op":"tx","chain":"solana","tx":hex}` | `{"valid":bool,"results":[{"valid":…},…]}` (as `vera tx`) |
//! | `{"op":"poh","chain":"solana","start":hex,"entries":[{"num_hashes":n,"hash":hex,"mixin":hex},…]}` | `{"results":[{"valid":true},{"valid":false,"computed":hex},…]}` (as `vera poh`; at most 2^24 hashes a request, 2^28 queued from all connections) |
//! | `{"op":"ping"}` | `{"pong":true,"version":"…"}` |
//!
//! Rules and schemes are those of the command line (`strict`, `zip215`, `dalek`; `rfc6962`,
//! `bitcoin` with 32-byte txids in internal byte order). A request that cannot be carried out —
//! bad JSON, a misspelt field, wrong hex lengths, a line over the size limit — is answered in its
//! place with `{"error":"…","line":N}` (N counts the connection's lines from 1), and the
//! connection goes on. A bad signature is a verdict, never an error.
//!
//! # Limits
//! Every allocation is bounded by configuration ([`ServerConfig`]). One line is at most
//! `max_line` bytes (a longer one is skipped as it arrives and answered with an error). Each
//! request holds a share of a byte budget, `max_inflight_bytes`, until its reply has been
//! written: while its line arrives, twice what has arrived once that passes 64 KiB; once the
//! line is complete, three times its length plus 64 bytes per quoted string (at least 256
//! bytes), which covers the line, what parsing makes of it and the reply. A request charged
//! more than the whole budget waits for all of it and runs alone. Each connection has at most
//! `max_pipeline` requests in flight and there are at most `max_connections` connections, each
//! with ≈ 200 KiB of buffers outside the budget (reads, writes, a line's first 64 KiB). A batch
//! request may hold at most as many items as the accelerator's queue (`queue_items`). When a
//! limit is reached the server stops reading, so TCP's flow control pushes back on the client;
//! nothing is dropped. A client that leaves its replies unread for `write_timeout`, or stops
//! sending for as long in the middle of a line that holds budget, is disconnected, so that it
//! cannot hold the budget others need. (A client that reads very slowly still holds its
//! requests' share while it does.)
//!
//! # Shutdown
//! [`run`] stops accepting when its `shutdown` future completes, stops reading requests, answers
//! every request already read (a client gets `write_timeout` per write to take its replies),
//! closes each connection after its last reply, and returns when the last one has closed.

mod http;
pub mod protocol;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use serde_json::value::RawValue;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};

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
    /// The byte budget of the requests being read, parsed, computed or answered, across all
    /// connections (see [Limits](self#limits)). Must be at least `max_line`. Default 1 GiB.
    pub max_inflight_bytes: usize,
    /// Requests read ahead on one connection whose replies are not yet written. Default 4,096:
    /// one connection can keep a full engine batch queued.
    pub max_pipeline: usize,
    /// Connections served at once; more wait to be accepted. Default 1,024.
    pub max_connections: usize,
    /// Longest a reply may wait for the client to read it, and longest a client may pause in
    /// the middle of a line holding budget, before the connection is closed. Default 10 s.
    pub write_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_line: 64 << 20,
            max_inflight_bytes: 1 << 30,
            max_pipeline: 4096,
            max_connections: 1024,
            write_timeout: Duration::from_secs(10),
        }
    }
}

impl ServerConfig {
    /// Checks that the limits can work together; [`run`] calls it first.
    pub fn validate(&self) -> io::Result<()> {
        let bad = |m: &str| Err(io::Error::new(io::ErrorKind::InvalidInput, m.to_string()));
        if self.max_line == 0 || self.max_pipeline == 0 || self.max_connections == 0 {
            return bad("max_line, max_pipeline and max_connections must be at least 1");
        }
        if self.max_inflight_bytes < self.max_line {
            return bad("max_inflight_bytes must be at least max_line");
        }
        if self.max_line > u32::MAX as usize {
            return bad("max_line must be below 4 GiB");
        }
        if self.max_inflight_bytes > Semaphore::MAX_PERMITS
            || self.max_connections > MAX_COUNT
            || self.max_pipeline > MAX_COUNT
        {
            return bad("a server limit is out of range");
        }
        if self.write_timeout.is_zero() {
            return bad("write_timeout must be above zero");
        }
        Ok(())
    }
}

/// The most connections or pipelined requests accepted as a limit: far beyond any real use,
/// and within what tokio's semaphores and channels take.
const MAX_COUNT: usize = 1 << 24;

/// A line may grow this far before it is charged to the byte budget: small requests never wait
/// for the budget while half read, and the bytes outside it stay ≈ 100 KiB per connection.
const UNCHARGED: usize = 64 << 10;

/// Buffer size for each connection's reads and writes.
const IO_BUFFER: usize = 16 << 10;

/// Longest an `id` may be, in bytes of JSON: an id is for matching replies, and it is echoed.
pub const MAX_ID: usize = 1024;

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
    /// Proof-of-history hashes being computed or waiting, in units of [`POH_UNIT`].
    poh: Arc<Semaphore>,
    metrics: ServerMetrics,
}

/// Proof-of-history hashes the server computes or queues at once, from every connection: 2^28,
/// a few seconds of every core. A `poh` request costs hashes, not bytes, so the byte budget
/// cannot bound it; a request waits for its share here (its connection then stops reading, as
/// at any limit), so queued work stays bounded however many requests arrive.
pub const POH_INFLIGHT_HASHES: u64 = 1 << 28;
/// The unit of [`POH_INFLIGHT_HASHES`]: a request holds one per 2^16 hashes, and one more.
const POH_UNIT: u64 = 1 << 16;

/// The server's own metrics, published with the accelerator's (`vera_server_*`).
#[derive(Clone, Default)]
struct ServerMetrics {
    open: Gauge,
    connections: Counter,
    requests: Counter,
    errors: Counter,
    cut_off: Family<Vec<(&'static str, &'static str)>, Counter>,
}

impl ServerMetrics {
    fn register(&self, acc: &Accelerator) {
        acc.register_metric(
            "server_connections_open",
            "Connections open now",
            self.open.clone(),
        );
        acc.register_metric(
            "server_connections",
            "Connections accepted",
            self.connections.clone(),
        );
        acc.register_metric(
            "server_requests",
            "Requests answered",
            self.requests.clone(),
        );
        acc.register_metric(
            "server_request_errors",
            "Requests answered with an error (malformed, too long, refused)",
            self.errors.clone(),
        );
        acc.register_metric(
            "server_cut_off",
            "Connections closed because the client stalled (reason: unread_replies, mid_line)",
            self.cut_off.clone(),
        );
    }
}

/// Why the server closed a connection on a client that stalled.
#[derive(Debug, Clone, Copy)]
enum Stall {
    /// Replies went unread for `write_timeout`.
    UnreadReplies(Duration),
    /// The client stopped sending in the middle of a line that holds budget.
    MidLine(Duration),
}

impl Stall {
    fn label(self) -> &'static str {
        match self {
            Stall::UnreadReplies(_) => "unread_replies",
            Stall::MidLine(_) => "mid_line",
        }
    }

    fn error(self) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, self)
    }

    /// The stall behind an error, if it is one.
    fn of(e: &io::Error) -> Option<Stall> {
        e.get_ref().and_then(|i| i.downcast_ref::<Stall>()).copied()
    }
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stall::UnreadReplies(t) => write!(f, "the client left its replies unread for {t:?}"),
            Stall::MidLine(t) => write!(f, "the client stopped sending mid-line for {t:?}"),
        }
    }
}

impl std::error::Error for Stall {}

/// Serves requests on every listener until `shutdown` completes, then finishes the requests
/// already read and returns. Errors only for an invalid [`ServerConfig`]; a failing
/// connection is logged and closed without affecting the others.
pub async fn run(
    listeners: Vec<Listener>,
    acc: Accelerator,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    config.validate()?;
    let metrics = ServerMetrics::default();
    metrics.register(&acc);
    let shared = Arc::new(Shared {
        acc,
        inflight: Arc::new(Semaphore::new(config.max_inflight_bytes)),
        poh: Arc::new(Semaphore::new((POH_INFLIGHT_HASHES / POH_UNIT) as usize)),
        config,
        metrics,
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
        shared.metrics.connections.inc();
        shared.metrics.open.inc();
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
            match result.as_ref().map_err(Stall::of) {
                Err(Some(stall)) => {
                    // Operators want to know: the client has a bug, or is hostile.
                    tracing::warn!("cut off {peer}: {stall}");
                    shared
                        .metrics
                        .cut_off
                        .get_or_create(&vec![("reason", stall.label())])
                        .inc();
                }
                Err(None) => {
                    if let Err(e) = &result {
                        tracing::debug!("connection from {peer} ended: {e}");
                    }
                }
                Ok(()) => {}
            }
            shared.metrics.open.dec();
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
/// its encoded reply will arrive, with the request's share of the byte budget, held until the
/// reply is written.
type Pending = (u64, oneshot::Receiver<(String, OwnedSemaphorePermit)>);

async fn connection<S>(
    stream: S,
    shared: &Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()>
where
    S: AsyncRead + AsyncWrite + Send + 'static,
{
    let (rd, wr) = tokio::io::split(stream);
    let mut rd = BufReader::with_capacity(IO_BUFFER, rd);
    let (tx, rx) = mpsc::channel::<Pending>(shared.config.max_pipeline);
    let writer = tokio::spawn(write_replies(wr, rx, shared.config.write_timeout));
    let mut number = 0u64;
    let mut stopped = false;
    let read_result = loop {
        // A slot in the pipeline first, then the line: a line read is never held waiting for
        // the client to take replies. Each wait ends when the server stops or the writer does
        // (the client is gone, or left its replies unread too long).
        let slot = tokio::select! {
            s = tx.reserve() => match s {
                Ok(s) => s,
                Err(_) => break Ok(()),
            },
            _ = stop.changed() => { stopped = true; break Ok(()) }
        };
        let read = tokio::select! {
            r = read_line(&mut rd, shared) => r,
            _ = stop.changed() => { stopped = true; break Ok(()) }
            _ = tx.closed() => break Ok(()),
        };
        let (line, permit) = match read {
            Ok(Some(l)) => l,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        number += 1;
        let (reply_tx, reply_rx) = oneshot::channel();
        slot.send((number, reply_rx));
        let shared = Arc::clone(shared);
        tokio::spawn(async move {
            let reply = answer(&shared, number, line).await;
            let _ = reply_tx.send((reply, permit));
        });
    };
    drop(tx);
    // Every request read is answered before the connection closes. After a stop the client
    // may still be sending: its bytes are read and dropped meanwhile (a client that writes
    // everything before it reads would otherwise never get to its replies), and for a moment
    // after, since closing with bytes unread resets the connection and can destroy replies in
    // flight.
    let mut writer = writer;
    let joined = if stopped {
        let joined = tokio::select! {
            j = &mut writer => j,
            _ = discard(&mut rd) => (&mut writer).await,
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), discard(&mut rd)).await;
        joined
    } else {
        writer.await
    };
    let write_result = joined.unwrap_or_else(|e| Err(io::Error::other(e.to_string())));
    read_result.and(write_result)
}

async fn discard<R: tokio::io::AsyncBufRead + Unpin>(rd: &mut R) -> io::Result<()> {
    loop {
        let n = rd.fill_buf().await?.len();
        if n == 0 {
            return Ok(());
        }
        rd.consume(n);
    }
}

/// The most a request can be charged: the whole budget (it then runs alone), within what one
/// semaphore call takes.
fn clamp_charge(shared: &Shared, n: usize) -> usize {
    n.clamp(1, shared.config.max_inflight_bytes)
        .min(u32::MAX as usize)
}

/// Takes `n` bytes of the budget (clamped), waiting for them.
async fn charge(shared: &Shared, n: usize) -> io::Result<OwnedSemaphorePermit> {
    Arc::clone(&shared.inflight)
        .acquire_many_owned(clamp_charge(shared, n) as u32)
        .await
        .map_err(|_| io::Error::other("server closed"))
}

/// Makes `held` (if any) a charge of `want` bytes (clamped): tops it up at once when the budget
/// has room, else lets it go and waits for all of it, so that no reader ever waits while
/// holding budget — waiters cannot deadlock one another. A larger `held` is cut down.
async fn recharge(
    shared: &Shared,
    held: Option<OwnedSemaphorePermit>,
    want: usize,
) -> io::Result<OwnedSemaphorePermit> {
    let want = clamp_charge(shared, want);
    let Some(mut p) = held else {
        return charge(shared, want).await;
    };
    let have = p.num_permits();
    if have >= want {
        drop(p.split(have - want));
        return Ok(p);
    }
    match Arc::clone(&shared.inflight).try_acquire_many_owned((want - have) as u32) {
        Ok(more) => {
            p.merge(more);
            Ok(p)
        }
        Err(_) => {
            drop(p);
            charge(shared, want).await
        }
    }
}

/// The least a request is charged: its reply, its channel and its place in the pipeline.
const MIN_COST: usize = 256;

/// What a request of this line is charged: see [Limits](self#limits).
fn cost(line: &Line) -> usize {
    match line {
        Line::Text(t) => {
            let quotes = t.iter().filter(|&&b| b == b'"').count();
            t.len()
                .saturating_mul(3)
                .saturating_add(quotes.saturating_mul(64))
                .max(MIN_COST)
        }
        Line::TooLong => MIN_COST,
    }
}

/// Reads one line, charging it to the byte budget as it arrives: past [`UNCHARGED`] bytes a
/// line holds twice what it has buffered, and once complete its [`cost`]. A line holding budget
/// must keep arriving: if the client stops sending for `write_timeout` in the middle of one,
/// the connection ends, so nobody can hold budget by sending half a line.
async fn read_line<R>(
    rd: &mut R,
    shared: &Shared,
) -> io::Result<Option<(Line, OwnedSemaphorePermit)>>
where
    R: tokio::io::AsyncBufRead + Unpin,
{
    let mut line = LineBuf::new(shared.config.max_line);
    let mut held: Option<OwnedSemaphorePermit> = None;
    loop {
        let chunk = if held.is_some() {
            tokio::time::timeout(shared.config.write_timeout, rd.fill_buf())
                .await
                .map_err(|_| Stall::MidLine(shared.config.write_timeout).error())??
        } else {
            rd.fill_buf().await?
        };
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
        if line.is_too_long() {
            // Its bytes are dropped as they come: it holds nothing.
            held = None;
            continue;
        }
        let buffered = line.buffered();
        if buffered > UNCHARGED && held.as_ref().map_or(0, |p| p.num_permits()) < buffered {
            held = Some(recharge(shared, held.take(), buffered.saturating_mul(2)).await?);
        }
    }
    let line = line.finish();
    let permit = recharge(shared, held, cost(&line)).await?;
    Ok(Some((line, permit)))
}

/// Writes replies in request order, flushing whenever the next one is not ready yet; a write
/// the client does not take within `timeout` ends the connection.
async fn write_replies<W>(
    wr: W,
    mut rx: mpsc::Receiver<Pending>,
    timeout: Duration,
) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    let slow = || Stall::UnreadReplies(timeout).error();
    let mut w = BufWriter::with_capacity(IO_BUFFER, wr);
    loop {
        let (number, mut pending) = match rx.try_recv() {
            Ok(p) => p,
            Err(mpsc::error::TryRecvError::Empty) => {
                tokio::time::timeout(timeout, w.flush())
                    .await
                    .map_err(|_| slow())??;
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
                tokio::time::timeout(timeout, w.flush())
                    .await
                    .map_err(|_| slow())??;
                pending.await.ok()
            }
            Err(oneshot::error::TryRecvError::Closed) => None,
        };
        // A reply task that died (it cannot panic on input, but a bug must not cost the
        // client its place in the stream) still gets its line answered.
        let (reply, permit) = match reply {
            Some((r, p)) => (r, Some(p)),
            None => (
                protocol::encode(None, number, &Answer::Error("internal error".into())),
                None,
            ),
        };
        tokio::time::timeout(timeout, w.write_all(reply.as_bytes()))
            .await
            .map_err(|_| slow())??;
        // The request's budget is free once its reply is in the socket's hands.
        drop(permit);
    }
    tokio::time::timeout(timeout, async {
        w.flush().await?;
        w.shutdown().await
    })
    .await
    .map_err(|_| slow())?
}

/// Lines above this are parsed on a blocking thread, so that a big request never holds up the
/// async workers other connections need.
const PARSE_INLINE: usize = 256 << 10;

async fn answer(shared: &Shared, number: u64, line: Line) -> String {
    let (id, answer) = work(shared, line).await;
    shared.metrics.requests.inc();
    if matches!(answer, Answer::Error(_)) {
        shared.metrics.errors.inc();
    }
    protocol::encode(id.as_deref(), number, &answer)
}

/// Carries out one request line: its id, and what to answer.
async fn work(shared: &Shared, line: Line) -> (Option<Box<RawValue>>, Answer) {
    let text = match line {
        Line::Text(t) => t,
        Line::TooLong => {
            let msg = format!("line is longer than {} bytes", shared.config.max_line);
            return (None, Answer::Error(msg));
        }
    };
    let parsed = if text.len() > PARSE_INLINE {
        match tokio::task::spawn_blocking(move || protocol::parse(&text)).await {
            Ok(p) => p,
            Err(_) => return (None, Answer::Error("internal error".into())),
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
            Request::Sha256(msg, false) => acc.sha256(msg).await.map(|d| Answer::Digest(d, false)),
            Request::Sha256(msg, true) => acc.sha256d(msg).await.map(|d| Answer::Digest(d, true)),
            Request::Sha256Batch(msgs, double) => {
                let digests = if double {
                    acc.sha256d_batch(msgs).await
                } else {
                    acc.sha256_batch(msgs).await
                };
                digests.map(|ds| Answer::Digests(ds, double))
            }
            Request::Merkle(scheme, leaves) => {
                acc.merkle_root(scheme, leaves).await.map(Answer::Root)
            }
            // Proofs from every connection share the scheme's lane, as signatures do.
            Request::Proofs(scheme, mut items, true) => match items.pop() {
                Some(item) => acc.verify_inclusion(scheme, item).await.map(Answer::Proof),
                None => Ok(Answer::Error("no proof".into())),
            },
            Request::Proofs(scheme, items, false) => acc
                .verify_inclusion_batch(scheme, items)
                .await
                .map(Answer::Proofs),
            Request::Block(raw, segwit) => {
                // One block is one big item: it runs on a blocking thread, on the engine itself.
                let engine = acc.engine().clone();
                match tokio::task::spawn_blocking(move || {
                    crate::chains::bitcoin::check_block(&engine, &raw)
                })
                .await
                {
                    Ok(Ok(c)) => Ok(Answer::Block(Box::new(c), segwit)),
                    Ok(Err(e)) => Ok(Answer::Error(e.to_string())),
                    Err(_) => Ok(Answer::Error("internal error".into())),
                }
            }
            Request::SolanaTx(tx) => match crate::chains::solana::signed_items(&tx) {
                // Its signatures join the strict lane's batches with everyone else's.
                Ok(items) => acc
                    .verify_batch(vera_engine::Rule::Strict, items)
                    .await
                    .map(|verdicts| Answer::Tx(crate::chains::solana::TxCheck { verdicts })),
                Err(e) => Ok(Answer::Error(e.to_string())),
            },
            Request::Poh(items) => {
                let hashes: u64 = items.iter().map(|(c, _)| c.hashes).sum();
                // At most MAX_POH_HASHES / POH_UNIT + 1 units, far below the semaphore's size.
                let units = (hashes / POH_UNIT + 1) as u32;
                match Arc::clone(&shared.poh).acquire_many_owned(units).await {
                    Ok(_held) => {
                        let (chains, claimed): (Vec<_>, Vec<_>) = items.into_iter().unzip();
                        acc.hash_chains(chains)
                            .await
                            .map(|ends| Answer::Poh(ends.into_iter().zip(claimed).collect()))
                    }
                    Err(_) => Ok(Answer::Error("the server is stopping".into())),
                }
            }
            Request::Ping => Ok(Answer::Pong),
        }
        .unwrap_or_else(|e: AcceleratorError| Answer::Error(e.to_string())),
    };
    (parsed.id, answer)
}
