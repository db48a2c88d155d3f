//! `vera bench --ops load`: the in-process accelerator under load — a steady stream of
//! single-signature requests from many concurrent callers, and bursts of requests arriving at
//! once — then the same two through `vera serve` on a loopback port, reporting items/s and
//! request latency percentiles. Bounded: each scenario stops after its time budget.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ed25519_dalek::{Signer, SigningKey};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use vera_engine::{Engine, Rule};

use crate::accelerator::{Accelerator, Config, SignatureItem};

/// One scenario's result.
#[derive(Debug, Clone, Serialize)]
pub struct LoadRow {
    /// "steady, N callers" or "bursts of N".
    pub scenario: String,
    /// The engine's backend.
    pub backend: String,
    /// Requests answered per second.
    pub items_per_s: f64,
    /// Request latency percentiles, in microseconds.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// Requests measured.
    pub requests: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e6
}

fn row(scenario: String, backend: &str, mut lat: Vec<Duration>, elapsed: Duration) -> LoadRow {
    lat.sort();
    LoadRow {
        scenario,
        backend: backend.to_string(),
        items_per_s: lat.len() as f64 / elapsed.as_secs_f64(),
        p50_us: percentile(&lat, 0.50),
        p99_us: percentile(&lat, 0.99),
        p999_us: percentile(&lat, 0.999),
        requests: lat.len(),
    }
}

/// Runs both scenarios on `engine` (labelled `backend` in the rows) for `budget` each, under
/// `rule`.
pub fn run(
    engine: &Engine,
    backend: &str,
    config: &Config,
    rule: Rule,
    budget: Duration,
) -> std::io::Result<Vec<LoadRow>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut rng = StdRng::seed_from_u64(0x10ad);
    let keys: Vec<SigningKey> = (0..64)
        .map(|_| SigningKey::from_bytes(&rng.gen()))
        .collect();
    let pool: Arc<Vec<SignatureItem>> = Arc::new(
        (0..1024)
            .map(|i| {
                let k = &keys[i % keys.len()];
                let msg: Vec<u8> = (0..32).map(|_| rng.gen()).collect();
                let sig = k.sign(&msg).to_bytes();
                (k.verifying_key().to_bytes(), msg, sig)
            })
            .collect(),
    );
    Ok(rt.block_on(async {
        let acc = Accelerator::new(engine.clone(), config.clone());
        let mut rows = Vec::new();

        // Steady: callers each send one request, await it, send the next.
        let callers = 64;
        let start = Instant::now();
        let deadline = start + budget;
        let mut tasks = Vec::new();
        for c in 0..callers {
            let (acc, pool) = (acc.clone(), Arc::clone(&pool));
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut i = c;
                while Instant::now() < deadline {
                    let (pk, msg, sig) = pool[i % pool.len()].clone();
                    let t = Instant::now();
                    let v = acc.verify(rule, pk, msg, sig).await;
                    lat.push(t.elapsed());
                    assert!(v.is_ok_and(|v| v.is_valid()), "benchmark inputs are honest");
                    i += callers;
                }
                lat
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await.unwrap_or_default());
        }
        rows.push(row(
            format!("steady, {callers} callers"),
            backend,
            lat,
            start.elapsed(),
        ));

        // Bursts: many single requests at once, then quiet until all are answered.
        let burst = 2048;
        let start = Instant::now();
        let mut lat = Vec::new();
        while start.elapsed() < budget {
            let mut tasks = Vec::with_capacity(burst);
            for i in 0..burst {
                let (acc, pool) = (acc.clone(), Arc::clone(&pool));
                tasks.push(tokio::spawn(async move {
                    let (pk, msg, sig) = pool[i % pool.len()].clone();
                    let t = Instant::now();
                    let v = acc.verify(rule, pk, msg, sig).await;
                    assert!(v.is_ok_and(|v| v.is_valid()), "benchmark inputs are honest");
                    t.elapsed()
                }));
            }
            for t in tasks {
                lat.extend(t.await.ok());
            }
        }
        rows.push(row(
            format!("bursts of {burst}"),
            backend,
            lat,
            start.elapsed(),
        ));
        // The same two scenarios through `vera serve` on loopback: what a node in another
        // language gets, JSON and the socket round trip included.
        match via_server(&acc, backend, &pool, rule, budget).await {
            Ok(server_rows) => rows.extend(server_rows),
            Err(e) => tracing::warn!("load through the server skipped: {e}"),
        }
        rows
    }))
}

/// Steady callers, one connection each, and bursts pipelined over a few connections, through a
/// server on a loopback port sharing `acc`; rows labelled `backend`.
async fn via_server(
    acc: &Accelerator,
    backend: &str,
    pool: &[SignatureItem],
    rule: Rule,
    budget: Duration,
) -> std::io::Result<Vec<LoadRow>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::server::run(
        vec![crate::server::Listener::Tcp(listener)],
        acc.clone(),
        crate::server::ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let lines: Arc<Vec<String>> = Arc::new(
        pool.iter()
            .map(|(pk, msg, sig)| {
                format!(
                    "{{\"op\":\"verify\",\"rule\":\"{rule}\",\"pk\":\"{}\",\"msg\":\"{}\",\"sig\":\"{}\"}}\n",
                    hex::encode(pk),
                    hex::encode(msg),
                    hex::encode(sig)
                )
            })
            .collect(),
    );
    let mut rows = Vec::new();

    let callers = 64;
    let start = Instant::now();
    let deadline = start + budget;
    let mut tasks = Vec::new();
    for c in 0..callers {
        let lines = Arc::clone(&lines);
        tasks.push(tokio::spawn(async move {
            let (rd, mut wr) = tokio::net::TcpStream::connect(addr).await?.into_split();
            let mut rd = tokio::io::BufReader::new(rd);
            let (mut lat, mut i, mut reply) = (Vec::new(), c, String::new());
            while Instant::now() < deadline {
                let t = Instant::now();
                wr.write_all(lines[i % lines.len()].as_bytes()).await?;
                reply.clear();
                rd.read_line(&mut reply).await?;
                lat.push(t.elapsed());
                assert_eq!(reply, "{\"valid\":true}\n", "benchmark inputs are honest");
                i += callers;
            }
            std::io::Result::Ok(lat)
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.map_err(std::io::Error::other)??);
    }
    rows.push(row(
        format!("server: steady, {callers} connections"),
        backend,
        lat,
        start.elapsed(),
    ));

    // Bursts of 2,048 requests, 256 pipelined on each of 8 connections; latency is from the
    // burst's start to each reply.
    let (conns, per) = (8, 256);
    let mut streams = Vec::new();
    for _ in 0..conns {
        let (rd, wr) = tokio::net::TcpStream::connect(addr).await?.into_split();
        streams.push((tokio::io::BufReader::new(rd), wr));
    }
    let start = Instant::now();
    let mut lat = Vec::new();
    while start.elapsed() < budget {
        let t = Instant::now();
        let mut tasks = Vec::new();
        for (c, (mut rd, mut wr)) in streams.drain(..).enumerate() {
            let lines = Arc::clone(&lines);
            tasks.push(tokio::spawn(async move {
                let batch: String = (0..per)
                    .map(|i| lines[(c * per + i) % lines.len()].as_str())
                    .collect();
                let writer =
                    tokio::spawn(async move { wr.write_all(batch.as_bytes()).await.map(|()| wr) });
                let (mut lat, mut reply) = (Vec::with_capacity(per), String::new());
                for _ in 0..per {
                    reply.clear();
                    rd.read_line(&mut reply).await?;
                    lat.push(t.elapsed());
                    assert_eq!(reply, "{\"valid\":true}\n", "benchmark inputs are honest");
                }
                let wr = writer.await.map_err(std::io::Error::other)??;
                std::io::Result::Ok((rd, wr, lat))
            }));
        }
        for task in tasks {
            let (rd, wr, l) = task.await.map_err(std::io::Error::other)??;
            streams.push((rd, wr));
            lat.extend(l);
        }
    }
    rows.push(row(
        format!("server: bursts of {}", conns * per),
        backend,
        lat,
        start.elapsed(),
    ));
    drop(streams);
    let _ = stop.send(());
    server.await.map_err(std::io::Error::other)??;
    Ok(rows)
}
