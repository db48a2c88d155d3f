//! The local server (`vera serve`): requests over real sockets, from many pipelining clients at
//! once, answered in order on each connection, with the reference crates' verdicts; malformed
//! and over-long lines answered in place; limits that push back instead of dropping; shutdown
//! that answers what was read; the metrics endpoint.

use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::{Signer, SigningKey};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use vera_engine::{Engine, Rule};
use vera_node_adapter::accelerator::{Accelerator, Config};
use vera_node_adapter::server::{self, Listener, ServerConfig};
use vera_tests::reference;

/// A running server on a loopback port, stopped when `stop` is sent.
struct TestServer {
    addr: std::net::SocketAddr,
    acc: Accelerator,
    stop: tokio::sync::oneshot::Sender<()>,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(config: ServerConfig) -> TestServer {
    start_with(config, Duration::from_micros(200)).await
}

impl TestServer {
    /// Stops the server and waits for it to end cleanly.
    async fn finish(self) {
        self.stop.send(()).unwrap();
        self.done.await.unwrap().unwrap();
    }
}

/// A server whose accelerator waits up to `max_delay` for a batch to fill.
async fn start_with(config: ServerConfig, max_delay: Duration) -> TestServer {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let acc = Accelerator::new(
        Engine::cpu(),
        Config {
            max_delay,
            ..Config::default()
        },
    );
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server::run(
        vec![Listener::Tcp(l)],
        acc.clone(),
        config,
        async {
            let _ = stopped.await;
        },
    ));
    TestServer {
        addr,
        acc,
        stop,
        done,
    }
}

/// A random signature item: honest, or (one in three) corrupted in R, S, A or the message;
/// returns the request fields and the item.
fn signature(rng: &mut StdRng) -> ([u8; 32], Vec<u8>, [u8; 64]) {
    let key = SigningKey::from_bytes(&rng.gen());
    let mut msg = vec![0u8; rng.gen_range(0..200)];
    rng.fill(&mut msg[..]);
    let mut sig = key.sign(&msg).to_bytes();
    let mut pk = key.verifying_key().to_bytes();
    if rng.gen_ratio(1, 3) {
        match rng.gen_range(0..4) {
            0 => sig[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
            1 => sig[32 + rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
            2 => pk[rng.gen_range(0..32)] ^= 1 << rng.gen_range(0..8),
            _ => msg.push(0),
        }
    }
    (pk, msg, sig)
}

fn sig_fields((pk, msg, sig): &([u8; 32], Vec<u8>, [u8; 64])) -> String {
    format!(
        "\"pk\":\"{}\",\"msg\":\"{}\",\"sig\":\"{}\"",
        hex::encode(pk),
        hex::encode(msg),
        hex::encode(sig)
    )
}

/// What a reply must say: checked field by field.
enum Expect {
    Valid(bool),
    Results(Vec<bool>),
    Digest([u8; 32]),
    Digests(Vec<[u8; 32]>),
    Root([u8; 32], usize),
    /// An error reply about this; `true` when the request's id must be echoed.
    Error(&'static str, bool),
}

fn check(reply: &Value, id: u64, line: u64, want: &Expect) {
    let ctx = format!("reply {reply} to request {id} (line {line})");
    match want {
        // A request that fails to parse as JSON has no id to echo.
        Expect::Error(_, false) => assert!(reply.get("id").is_none(), "{ctx}"),
        _ => assert_eq!(reply["id"], id, "{ctx}"),
    }
    let verdict = |v: &Value, want: bool| {
        assert_eq!(v["valid"], want, "{ctx}");
        assert_eq!(v.get("reason").is_some(), !want, "{ctx}");
    };
    match want {
        Expect::Valid(w) => verdict(reply, *w),
        Expect::Results(ws) => {
            let rs = reply["results"].as_array().expect(&ctx);
            assert_eq!(rs.len(), ws.len(), "{ctx}");
            for (r, w) in rs.iter().zip(ws) {
                verdict(r, *w);
            }
        }
        Expect::Digest(d) => assert_eq!(reply["sha256"], hex::encode(d), "{ctx}"),
        Expect::Digests(ds) => {
            let want: Vec<Value> = ds.iter().map(|d| Value::from(hex::encode(d))).collect();
            assert_eq!(reply["sha256"], Value::from(want), "{ctx}");
        }
        Expect::Root(r, n) => {
            assert_eq!(reply["root"], hex::encode(r), "{ctx}");
            assert_eq!(reply["leaves"], *n, "{ctx}");
        }
        Expect::Error(what, _) => {
            let e = reply["error"].as_str().expect(&ctx);
            assert!(e.contains(what), "{ctx}: wanted an error about {what:?}");
            assert_eq!(reply["line"], line, "{ctx}");
        }
    }
}

/// One client's mixed stream of requests, and what each reply must say.
fn workload(seed: u64, requests: usize) -> (String, Vec<Expect>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut text = String::new();
    let mut want = Vec::new();
    for id in 0..requests as u64 {
        let rule = Rule::ALL[rng.gen_range(0..3)];
        let (line, expect) = match rng.gen_range(0..10) {
            0..=4 => {
                let s = signature(&mut rng);
                let ok = reference::verdict(rule, &s.0, &s.1, &s.2);
                (
                    format!(
                        r#"{{"id":{id},"op":"verify","rule":"{rule}",{}}}"#,
                        sig_fields(&s)
                    ),
                    Expect::Valid(ok),
                )
            }
            5 => {
                let items: Vec<_> = (0..rng.gen_range(0..40))
                    .map(|_| signature(&mut rng))
                    .collect();
                let oks = items
                    .iter()
                    .map(|s| reference::verdict(rule, &s.0, &s.1, &s.2))
                    .collect();
                let list: Vec<String> = items
                    .iter()
                    .map(|s| format!("{{{}}}", sig_fields(s)))
                    .collect();
                (
                    format!(
                        r#"{{"id":{id},"op":"verify","rule":"{rule}","items":[{}]}}"#,
                        list.join(",")
                    ),
                    Expect::Results(oks),
                )
            }
            6 => {
                let mut m = vec![0u8; rng.gen_range(0..300)];
                rng.fill(&mut m[..]);
                (
                    format!(r#"{{"id":{id},"op":"sha256","msg":"{}"}}"#, hex::encode(&m)),
                    Expect::Digest(Sha256::digest(&m).into()),
                )
            }
            7 => {
                let msgs: Vec<Vec<u8>> = (0..rng.gen_range(0..20))
                    .map(|i| vec![i as u8; i * 7])
                    .collect();
                let hexes: Vec<String> = msgs
                    .iter()
                    .map(|m| format!("\"{}\"", hex::encode(m)))
                    .collect();
                (
                    format!(
                        r#"{{"id":{id},"op":"sha256","msgs":[{}]}}"#,
                        hexes.join(",")
                    ),
                    Expect::Digests(msgs.iter().map(|m| Sha256::digest(m).into()).collect()),
                )
            }
            8 => {
                let leaves: Vec<Vec<u8>> = (0..rng.gen_range(0..70))
                    .map(|_| {
                        let mut l = vec![0u8; rng.gen_range(0..40)];
                        rng.fill(&mut l[..]);
                        l
                    })
                    .collect();
                let hexes: Vec<String> = leaves
                    .iter()
                    .map(|l| format!("\"{}\"", hex::encode(l)))
                    .collect();
                (
                    format!(
                        r#"{{"id":{id},"op":"merkle","scheme":"rfc6962","leaves":[{}]}}"#,
                        hexes.join(",")
                    ),
                    Expect::Root(reference::rfc6962_root(&leaves), leaves.len()),
                )
            }
            _ => match rng.gen_range(0..3) {
                0 => (
                    "{\"id\":".to_string() + &id.to_string() + ",\"op\"",
                    Expect::Error("invalid request", false),
                ),
                1 => (
                    format!(
                        r#"{{"id":{id},"op":"verify","rule":"{rule}","pk":"00","msg":"","sig":"00"}}"#
                    ),
                    Expect::Error("pk: expected 64 hex", true),
                ),
                _ => (
                    format!(r#"{{"id":{id},"op":"sha256","msg":"0g"}}"#),
                    Expect::Error("msg:", true),
                ),
            },
        };
        text.push_str(&line);
        text.push('\n');
        want.push(expect);
    }
    (text, want)
}

/// Writes the whole stream while reading replies, then checks each reply in order.
async fn client(addr: std::net::SocketAddr, text: String, want: Vec<Expect>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        // Odd-sized writes, so requests arrive split across reads.
        for chunk in text.as_bytes().chunks(997) {
            wr.write_all(chunk).await.unwrap();
        }
        wr.shutdown().await.unwrap();
    });
    let mut lines = BufReader::new(rd).lines();
    for (i, w) in want.iter().enumerate() {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("connection closed before reply {i}"));
        let reply: Value = serde_json::from_str(&line).expect("each reply is one JSON object");
        check(&reply, i as u64, i as u64 + 1, w);
    }
    assert_eq!(lines.next_line().await.unwrap(), None, "no extra replies");
    writer.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pipelining_clients_get_every_answer_in_order() {
    // Tight limits, so that read-ahead, the byte budget and the per-connection pipeline all
    // fill up and have to push back on the clients.
    let server = start(ServerConfig {
        max_line: 64 << 10,
        max_inflight_bytes: 96 << 10,
        max_pipeline: 8,
        max_connections: 4,
        ..ServerConfig::default()
    })
    .await;
    // More clients than connections: the rest wait to be accepted, and are served.
    let mut errors = 0;
    let clients: Vec<_> = (0..6)
        .map(|c| {
            let (text, want) = workload(c, 300);
            errors += want
                .iter()
                .filter(|w| matches!(w, Expect::Error(..)))
                .count();
            tokio::spawn(client(server.addr, text, want))
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    let acc = server.acc.clone();
    server.finish().await;
    // The server's own metrics count what happened.
    let m = acc.metrics_text();
    for (metric, want) in [
        ("vera_server_connections_total", 6),
        ("vera_server_connections_open", 0),
        ("vera_server_requests_total", 1800),
        ("vera_server_request_errors_total", errors),
    ] {
        assert!(
            m.contains(&format!("\n{metric} {want}\n")),
            "{metric} {want} in\n{m}"
        );
    }
}

/// Sends `input`, half-closes, and reads every reply; a server that wedges fails the test
/// (after 30 s) rather than hanging it.
async fn roundtrip(addr: std::net::SocketAddr, input: &[u8]) -> Vec<Value> {
    let exchange = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(input).await.unwrap();
        s.shutdown().await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        out
    };
    let out = tokio::time::timeout(Duration::from_secs(30), exchange)
        .await
        .expect("the server answers within 30 s");
    out.lines()
        .map(|l| serde_json::from_str(l).expect("JSON reply"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_lines_are_answered_in_place_and_the_connection_goes_on() {
    let server = start(ServerConfig {
        max_line: 1024,
        max_inflight_bytes: 4096,
        ..ServerConfig::default()
    })
    .await;
    let mut input = Vec::new();
    input.extend_from_slice(b"{\"op\":\"ping\",\"id\":\"a\"}\r\n");
    input.extend(std::iter::repeat_n(b'x', 5000));
    input.extend_from_slice(b"\n\xff\xfe\n\n");
    input.extend_from_slice(b"{\"op\":\"sha256\",\"msg\":\"616263\",\"id\":[1]}");
    let replies = roundtrip(server.addr, &input).await;
    assert_eq!(replies.len(), 5, "{replies:?}");
    assert_eq!(replies[0]["id"], "a");
    assert_eq!(replies[0]["pong"], true);
    assert!(replies[1]["error"]
        .as_str()
        .unwrap()
        .contains("longer than 1024"));
    assert_eq!(replies[1]["line"], 2);
    assert!(replies[2]["error"]
        .as_str()
        .unwrap()
        .contains("invalid request"));
    assert_eq!(replies[2]["line"], 3);
    assert!(replies[3]["error"].as_str().unwrap().contains("empty line"));
    // The last line has no newline: end of input ends it.
    assert_eq!(replies[4]["id"], serde_json::json!([1]));
    assert_eq!(
        replies[4]["sha256"],
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_tree_is_an_error_for_its_request_alone() {
    let server = start(ServerConfig::default()).await;
    let txid = "11".repeat(32);
    let input = format!(
        "{{\"op\":\"merkle\",\"scheme\":\"bitcoin\",\"leaves\":[\"{txid}\",\"{txid}\",\"{txid}\"]}}\n\
         {{\"op\":\"merkle\",\"scheme\":\"bitcoin\",\"leaves\":[\"{txid}\",\"11\"]}}\n\
         {{\"op\":\"merkle\",\"scheme\":\"bitcoin\",\"leaves\":[]}}\n"
    );
    let replies = roundtrip(server.addr, input.as_bytes()).await;
    assert_eq!(replies.len(), 3, "{replies:?}");
    // Three equal txids: the odd one is paired with itself, and the first pair is identical.
    let engine = Engine::cpu();
    let ids = [[0x11u8; 32]; 3];
    let want = engine
        .merkle_root_from_hashes(vera_engine::MerkleScheme::Bitcoin, &ids)
        .unwrap();
    assert_eq!(replies[0]["root"], hex::encode(want.root));
    assert_eq!(replies[0]["mutated"], true);
    assert!(replies[1]["error"].as_str().unwrap().contains("leaves[1]"));
    assert_eq!(replies[2]["leaves"], 0);
    assert_eq!(replies[2]["mutated"], false);
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_answers_every_request_read_then_closes() {
    // Batches wait a second to fill: every request is read, and none answered, when the stop
    // comes.
    let server = start_with(ServerConfig::default(), Duration::from_secs(1)).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let n = 200;
    let text: String = (0..n)
        .map(|i| {
            format!(
                "{{\"op\":\"sha256\",\"msg\":\"{:02x}\",\"id\":{i}}}\n",
                i % 256
            )
        })
        .collect();
    s.write_all(text.as_bytes()).await.unwrap();
    let pending = format!("vera_pending_items{{lane=\"sha256\"}} {n}");
    let waiting = tokio::time::timeout(Duration::from_secs(10), async {
        while !server.acc.metrics_text().contains(&pending) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    waiting.await.expect("all requests read and queued");
    server.stop.send(()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let replies: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(replies.len(), n, "{out}");
    for (i, r) in replies.iter().enumerate() {
        assert_eq!(r["id"], i);
        assert_eq!(r["sha256"], hex::encode(Sha256::digest([(i % 256) as u8])));
    }
    server.done.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_line_limit_is_exact_and_a_budget_of_one_line_never_wedges() {
    // The budget holds exactly one longest line: every request waits its turn for all of it.
    let server = start(ServerConfig {
        max_line: 16,
        max_inflight_bytes: 16,
        ..ServerConfig::default()
    })
    .await;
    let ping16 = "{\"op\":\"ping\"}   "; // 16 bytes: trailing spaces are still JSON
    assert_eq!(ping16.len(), 16);
    let input = format!(
        "{ping16}\n{ping16} \n{ping16}  \n{ping16}\r\n{ping16} \r\n{}\n{ping16}",
        "x".repeat(100_000)
    );
    let replies = roundtrip(server.addr, input.as_bytes()).await;
    let pong = |r: &Value| r["pong"] == true;
    let too_long = |r: &Value| {
        r["error"]
            .as_str()
            .is_some_and(|e| e.contains("longer than 16"))
    };
    assert_eq!(replies.len(), 7, "{replies:?}");
    assert!(
        pong(&replies[0]) && pong(&replies[3]) && pong(&replies[6]),
        "{replies:?}"
    );
    for i in [1, 2, 4, 5] {
        assert!(too_long(&replies[i]), "{replies:?}");
        assert_eq!(replies[i]["line"], i + 1);
    }
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_lines_share_a_budget_of_one_line() {
    // Lines past 64 KiB are charged as they arrive; with room for one such line at a time,
    // two connections sending one each are both answered, one after the other.
    let server = start(ServerConfig {
        max_line: 128 << 10,
        max_inflight_bytes: 128 << 10,
        ..ServerConfig::default()
    })
    .await;
    let msgs: Vec<Vec<u8>> = (0..2u8).map(|i| vec![i; 50_000]).collect();
    let clients: Vec<_> = msgs
        .iter()
        .map(|m| {
            let line = format!("{{\"op\":\"sha256\",\"msg\":\"{}\"}}\n", hex::encode(m));
            assert!(line.len() > 64 << 10);
            let addr = server.addr;
            tokio::spawn(async move { roundtrip(addr, line.as_bytes()).await })
        })
        .collect();
    for (c, m) in clients.into_iter().zip(&msgs) {
        let replies = c.await.unwrap();
        assert_eq!(replies.len(), 1);
        assert_eq!(replies[0]["sha256"], hex::encode(Sha256::digest(m)));
    }
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_mid_line_cannot_starve_the_others() {
    let server = start(ServerConfig {
        max_line: 256 << 10,
        max_inflight_bytes: 512 << 10,
        write_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    })
    .await;
    // Four clients send 100 KB of a line and stop: together they ask for more than the
    // budget (twice what they sent each), and then they hold it.
    let mut stalled = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(server.addr).await.unwrap();
        s.write_all(format!("{{\"op\":\"sha256\",\"msg\":\"{}", "00".repeat(50_000)).as_bytes())
            .await
            .unwrap();
        stalled.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let replies = roundtrip(server.addr, b"{\"op\":\"ping\"}\n").await;
    assert_eq!(replies[0]["pong"], true);
    // The stalled clients were cut off: their streams end with no reply, and each is counted.
    for mut s in stalled {
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut rest))
            .await
            .expect("a stalled connection is closed");
        assert!(rest.is_empty());
    }
    let m = server.acc.metrics_text();
    assert!(
        m.contains("vera_server_cut_off_total{reason=\"mid_line\"} 4\n"),
        "{m}"
    );
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_cannot_starve_the_others() {
    let server = start(ServerConfig {
        max_line: 256 << 10,
        max_inflight_bytes: 1 << 20,
        write_timeout: Duration::from_secs(1),
        ..ServerConfig::default()
    })
    .await;
    // Each request costs the whole budget and has a 3.3 MB reply; the client sends ten and
    // reads none, so its replies fill the socket and the eleventh holds the budget.
    let greedy = TcpStream::connect(server.addr).await.unwrap();
    let (mut greedy_rd, mut greedy_wr) = greedy.into_split();
    let line = format!(
        "{{\"op\":\"sha256\",\"msgs\":[{}\"\"]}}\n",
        "\"\",".repeat(49_999)
    );
    let writer = tokio::spawn(async move {
        for _ in 0..10 {
            if greedy_wr.write_all(line.as_bytes()).await.is_err() {
                break;
            }
        }
        greedy_wr
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let replies = tokio::time::timeout(
        Duration::from_secs(20),
        roundtrip(server.addr, b"{\"op\":\"ping\"}\n"),
    )
    .await
    .expect("the other client is answered once the greedy one is cut off");
    assert_eq!(replies[0]["pong"], true);
    assert!(started.elapsed() < Duration::from_secs(10));
    // The greedy client was disconnected: its stream ends (or resets) after what was sent.
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), greedy_rd.read_to_end(&mut sink))
        .await
        .expect("the greedy connection is closed");
    assert!(sink.len() < 10 * 3_300_000, "not every reply was delivered");
    let m = server.acc.metrics_text();
    assert!(
        m.contains("vera_server_cut_off_total{reason=\"unread_replies\"} 1\n"),
        "{m}"
    );
    drop(writer.await.unwrap());
    server.finish().await;
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unix_sockets_speak_the_same_protocol() {
    let dir = std::env::temp_dir().join(format!("vera-server-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vera.sock");
    let _ = std::fs::remove_file(&path);
    let l = tokio::net::UnixListener::bind(&path).unwrap();
    let acc = Accelerator::new(Engine::cpu(), Config::default());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let done = tokio::spawn(server::run(
        vec![Listener::Unix(l)],
        acc,
        ServerConfig::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let mut s = tokio::net::UnixStream::connect(&path).await.unwrap();
    s.write_all(b"{\"op\":\"ping\"}\n{\"op\":\"sha256\",\"msg\":\"\"}\n")
        .await
        .unwrap();
    s.shutdown().await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("{\"pong\":true"));
    assert_eq!(
        lines[1],
        "{\"sha256\":\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"}"
    );
    stop.send(()).unwrap();
    done.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: vera\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_endpoint_counts_served_requests() {
    let acc = Accelerator::new(Engine::cpu(), Config::default());
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let metrics = tokio::spawn(server::serve_metrics(l, acc.clone(), async {
        let _ = stopped.await;
    }));
    let acc = Arc::new(acc);
    for m in 0..5u8 {
        acc.sha256(vec![m]).await.unwrap();
    }
    let page = http_get(addr, "/metrics").await;
    assert!(page.starts_with("HTTP/1.1 200 OK"), "{page}");
    assert!(
        page.contains("content-type: application/openmetrics-text"),
        "{page}"
    );
    let items = page
        .lines()
        .find(|l| l.starts_with("vera_items_total{lane=\"sha256\"}"))
        .unwrap_or_else(|| panic!("no sha256 item counter in {page}"));
    assert!(items.ends_with(" 5"), "{items}");
    assert!(page.trim_end().ends_with("# EOF"), "{page}");
    let health = http_get(addr, "/health").await;
    assert!(
        health.starts_with("HTTP/1.1 200 OK") && health.ends_with("ok\n"),
        "{health}"
    );
    assert!(http_get(addr, "/nope").await.starts_with("HTTP/1.1 404"));
    stop.send(()).unwrap();
    metrics.await.unwrap();
}

/// `vera serve` itself: it replaces a stale Unix socket file, serves TCP, the Unix socket and
/// the metrics endpoint, and exits cleanly on SIGTERM, removing its socket.
#[cfg(unix)]
#[test]
fn vera_serve_runs_until_sigterm() {
    use std::io::{BufRead, Read, Write};
    use std::process::{Command, Stdio};

    let dir = std::env::temp_dir().join(format!("vera-serve-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("vera.sock");
    // A socket file nobody listens on, as a killed server leaves behind.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(sock.exists());
    let mut child = Command::new(env!("CARGO_BIN_EXE_vera"))
        .args([
            "serve",
            "--backend",
            "cpu",
            "--listen",
            "127.0.0.1:0",
            "--metrics",
            "127.0.0.1:0",
        ])
        .arg("--unix")
        .arg(&sock)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vera starts");
    let mut log = std::io::BufReader::new(child.stderr.take().unwrap());
    let (mut tcp, mut metrics) = (None, None);
    let mut seen = String::new();
    while tcp.is_none() || metrics.is_none() {
        let mut line = String::new();
        assert!(
            log.read_line(&mut line).unwrap() > 0,
            "vera serve exited: {seen}"
        );
        seen.push_str(&line);
        let addr_after = |tag: &str| {
            line.find(tag).map(|i| {
                line[i + tag.len()..]
                    .split(|c: char| c == ',' || c == '/' || c.is_whitespace())
                    .next()
                    .unwrap()
                    .parse::<std::net::SocketAddr>()
                    .unwrap()
            })
        };
        tcp = tcp.or(addr_after("tcp://"));
        metrics = metrics.or(addr_after("http://"));
    }
    let ask = |stream: &mut dyn ReadWrite, req: &str| -> String {
        stream.write_all(req.as_bytes()).unwrap();
        let mut r = std::io::BufReader::new(stream);
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        line
    };
    let mut t = std::net::TcpStream::connect(tcp.unwrap()).unwrap();
    let reply = ask(&mut t, "{\"op\":\"sha256\",\"msg\":\"616263\",\"id\":1}\n");
    assert_eq!(
        reply,
        "{\"id\":1,\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"}\n"
    );
    let mut u = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    assert!(ask(&mut u, "{\"op\":\"ping\"}\n").starts_with("{\"pong\":true"));
    let mut m = std::net::TcpStream::connect(metrics.unwrap()).unwrap();
    m.write_all(b"GET /metrics HTTP/1.1\r\nHost: vera\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut page = String::new();
    m.read_to_string(&mut page).unwrap();
    assert!(
        page.contains("vera_items_total{lane=\"sha256\"} 1"),
        "{page}"
    );
    drop((t, u));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    let mut rest = String::new();
    log.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "{seen}{rest}");
    assert!(rest.contains("SIGTERM"), "{rest}");
    assert!(!sock.exists(), "the socket file is removed on exit");
    let _ = std::fs::remove_dir_all(&dir);
}

#[cfg(unix)]
trait ReadWrite: std::io::Read + std::io::Write {}
#[cfg(unix)]
impl<T: std::io::Read + std::io::Write> ReadWrite for T {}

/// Settings that cannot work, and a socket path that holds someone's file, stop `vera serve`
/// at once with a clear message, before it listens anywhere.
#[cfg(unix)]
#[test]
fn vera_serve_refuses_bad_settings_up_front() {
    use std::process::Command;
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vera"))
            .args(["serve", "--backend", "cpu"])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--listen", "127.0.0.1:0", "--max-line-mib", "0"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("max_line"), "{err}");
    let (code, err) = run(&[
        "--listen",
        "127.0.0.1:0",
        "--max-line-mib",
        "64",
        "--max-inflight-mib",
        "8",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("max_inflight_bytes must be at least max_line"),
        "{err}"
    );
    let (code, err) = run(&["--listen", "127.0.0.1:0", "--write-timeout-s", "0"]);
    assert_eq!(code, Some(2), "{err}");
    let (code, err) = run(&["--listen", "127.0.0.1:0", "--max-delay-us", "2000000"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--max-delay-us"), "{err}");
    let (code, err) = run(&["--listen", "127.0.0.1:0", "--queue-items", "0"]);
    assert_eq!(code, Some(2), "{err}");

    let file = std::env::temp_dir().join(format!("vera-not-a-socket-{}", std::process::id()));
    std::fs::write(&file, "precious").unwrap();
    let (code, err) = run(&["--unix", file.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("is not a socket"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "precious");
    std::fs::remove_file(&file).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_are_checked_over_the_socket() {
    let server = start(ServerConfig::default()).await;
    let file = vera_tests::load_vectors("merkle/bitcoin_merkle.json");
    let cases = vera_tests::vector_array(&file, "cases");
    let big = cases
        .iter()
        .find(|c| c["tx_count"] == 213)
        .expect("block 277647");
    let raw = big["raw_block_hex"].as_str().unwrap();
    let input = format!(
        "{{\"id\":1,\"op\":\"block\",\"chain\":\"bitcoin\",\"block\":\"{raw}\"}}\n\
         {{\"id\":2,\"op\":\"block\",\"chain\":\"bitcoin\",\"block\":\"{}\"}}\n",
        &raw[..raw.len() - 2]
    );
    let replies = roundtrip(server.addr, input.as_bytes()).await;
    assert_eq!(replies.len(), 2);
    assert_eq!(replies[0]["id"], 1);
    assert_eq!(replies[0]["txs"], 213);
    assert_eq!(replies[0]["merkle_ok"], true);
    assert_eq!(replies[0]["merkle_root"], big["root"]);
    assert_eq!(replies[0]["block_hash"], big["block_hash_display"]);
    assert_eq!(replies[1]["id"], 2);
    assert!(
        replies[1]["error"].as_str().unwrap().contains("truncated"),
        "{}",
        replies[1]
    );
    // A segwit block: the witness commitment checked, unless segwit is said not to be active.
    let file = vera_tests::load_vectors("bitcoin/segwit_blocks.json");
    let segwit = &vera_tests::vector_array(&file, "cases")[1];
    let raw = segwit["raw_block_hex"].as_str().unwrap();
    let input = format!(
        "{{\"op\":\"block\",\"chain\":\"bitcoin\",\"block\":\"{raw}\"}}\n\
         {{\"op\":\"block\",\"chain\":\"bitcoin\",\"block\":\"{raw}\",\"segwit\":false}}\n"
    );
    let replies = roundtrip(server.addr, input.as_bytes()).await;
    assert_eq!(replies[0]["witness_root"], segwit["witness_root"]);
    assert_eq!(replies[0]["witness_commitment"], "match");
    assert_eq!(
        (&replies[0]["ok"], &replies[0]["mutation"]),
        (&true.into(), &serde_json::Value::Null)
    );
    assert_eq!(replies[1]["mutation"], "unexpected-witness");
    // Double SHA-256 of the header, one and many: the block hash.
    let header = &raw[..160];
    let input = format!(
        "{{\"op\":\"sha256\",\"msg\":\"{header}\",\"double\":true}}\n\
         {{\"op\":\"sha256\",\"msgs\":[\"{header}\",\"\"],\"double\":true}}\n"
    );
    let replies = roundtrip(server.addr, input.as_bytes()).await;
    let mut hash = vera_tests::unhex(segwit["block_hash_display"].as_str().unwrap());
    hash.reverse();
    let hash = hex::encode(hash);
    let empty = hex::encode(Sha256::digest(Sha256::digest(b"")));
    assert_eq!(replies[0], serde_json::json!({ "sha256d": hash }));
    assert_eq!(replies[1], serde_json::json!({ "sha256d": [hash, empty] }));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_are_checked_over_the_socket() {
    let server = start(ServerConfig::default()).await;
    // Published RFC 6962 proofs: one at a time, then all in one request with one damaged.
    let file = vera_tests::load_vectors("merkle/rfc6962_inclusion_proofs.json");
    let cases = vera_tests::vector_array(&file, "cases");
    let proof = |c: &Value, index: &Value| {
        serde_json::json!({
            "leaf": c["leaf_hash"], "index": index, "size": c["tree_size"],
            "path": c["proof"], "root": c["root"],
        })
    };
    let mut input = String::new();
    for c in cases {
        let mut request = proof(c, &c["leaf_index"]);
        request["op"] = "proof".into();
        request["scheme"] = "rfc6962".into();
        input.push_str(&format!("{request}\n"));
    }
    let mut batch: Vec<Value> = cases.iter().map(|c| proof(c, &c["leaf_index"])).collect();
    batch[7]["index"] = (cases[7]["tree_size"].as_u64().unwrap()).into();
    let request = serde_json::json!({"op": "proof", "scheme": "rfc6962", "proofs": batch, "id": 9});
    input.push_str(&format!("{request}\n"));
    input.push_str("{\"op\":\"proof\",\"scheme\":\"rfc6962\",\"leaf\":\"00\"}\n");
    let replies = roundtrip(server.addr, input.as_bytes()).await;
    assert_eq!(replies.len(), cases.len() + 2);
    for r in &replies[..cases.len()] {
        assert_eq!(r, &serde_json::json!({"valid": true}));
    }
    let results = replies[cases.len()]["results"].as_array().unwrap();
    assert_eq!(replies[cases.len()]["id"], 9);
    assert_eq!(results.len(), cases.len());
    for (i, r) in results.iter().enumerate() {
        let want = if i == 7 {
            serde_json::json!({"valid": false, "reason": "index-out-of-range"})
        } else {
            serde_json::json!({"valid": true})
        };
        assert_eq!(r, &want, "proof {i}");
    }
    let error = replies[cases.len() + 1]["error"].as_str().unwrap();
    assert!(error.contains("proof needs either"), "{error}");
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn solana_transactions_join_the_strict_lane() {
    let server = start(ServerConfig::default()).await;
    // An spl-token transfer from Solana mainnet (provenance in tests/chains.rs), the same with
    // its last instruction byte changed, a transaction with no signatures (shorter than one),
    // and a lone byte.
    let tx = "0192375e20c0095d2a5a4b5b5900e4c8149876abd749340646f5698aa28116214dd3ddc8eb94a231842dc0ca5bf3ead79714afc38d657dc0525f5b52b49d845e030100020594c3890fa8d4bc04ab2a676d2cafea5cdc899ecd95a9cbe593e9df258759685ac45358bf73b2c596739d02afc1f9cd1da7b8755f91fc4a7a860a0810c04794e22544558bb05c2698f88852a7925c5c0ee5ea8711ddb3fe1262150283eee81163068310861a98327d0550574d84418aa6e10c3352ddaa7fd7f58152cceeb2388706ddf6e1d765a193d9cbe146ceeb79ac1cb485ed5f5b37913a8cf5857eff00a9a8f76432ee9bf7af1063ea2d8b7e5a3eec2a5a01cd67aba11a5978c1a403b065010404010302000a0ca00f00000000000006";
    let mut tampered = tx.to_string();
    tampered.replace_range(tx.len() - 2.., "07");
    let unsigned = format!("0000000001{}00", "11".repeat(32));
    let input = [tx, &tampered, &unsigned, "0100"]
        .iter()
        .map(|t| format!("{{\"op\":\"tx\",\"chain\":\"solana\",\"tx\":\"{t}\"}}\n"))
        .collect::<String>();
    let replies = roundtrip(server.addr, input.as_bytes()).await;
    assert_eq!(replies.len(), 4, "{replies:?}");
    assert_eq!(
        replies[0],
        serde_json::json!({"valid": true, "results": [{"valid": true}]})
    );
    assert_eq!(
        replies[1],
        serde_json::json!({"valid": false, "results": [{"valid": false, "reason": "equation"}]})
    );
    assert!(replies[2]["error"]
        .as_str()
        .unwrap()
        .contains("shorter than one signature"));
    assert!(replies[3]["error"]
        .as_str()
        .unwrap()
        .contains("malformed transaction"));
    // The signatures went through the strict lane.
    assert!(server
        .acc
        .metrics_text()
        .contains("vera_items_total{lane=\"verify-strict\"} 2\n"));
    server.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proof_of_history_entries_are_checked_over_the_socket() {
    let server = start(ServerConfig::default()).await;
    // A slot's entries from a start, built with Solana's next_hash (the reference): ticks and
    // entries of transactions, one claimed hash wrong; sent as two requests, the second
    // continuing from the first's last hash.
    let mut rng = StdRng::seed_from_u64(0x9047);
    let start: [u8; 32] = rng.gen();
    let mut prev = start;
    let mut entries = Vec::new();
    let mut want = Vec::new();
    for i in 0..40u64 {
        let num_hashes = rng.gen_range(0..120);
        let mixin: Option<[u8; 32]> = (i % 3 == 1).then(|| rng.gen());
        let hash = reference::solana_next_hash(&prev, num_hashes, mixin.as_ref());
        let mut entry = serde_json::json!({"num_hashes": num_hashes, "hash": hex::encode(hash)});
        if let Some(m) = mixin {
            entry["mixin"] = hex::encode(m).into();
        }
        let mut claimed = hash;
        if i == 17 {
            claimed[0] ^= 1;
            entry["hash"] = hex::encode(claimed).into();
            // The next entry starts from the claimed (wrong) hash, as a validator's would.
            want.push(serde_json::json!({"valid": false, "computed": hex::encode(hash)}));
        } else {
            want.push(serde_json::json!({"valid": true}));
        }
        entries.push(entry);
        prev = claimed;
    }
    let first = serde_json::json!({"op": "poh", "chain": "solana", "start": hex::encode(start),
        "entries": entries[..25], "id": 1});
    let second = serde_json::json!({"op": "poh", "chain": "solana",
        "start": entries[24]["hash"], "entries": entries[25..], "id": 2});
    let no_start = serde_json::json!({"op": "poh", "chain": "solana", "entries": entries[..1]});
    let too_many = serde_json::json!({"op": "poh", "chain": "solana", "start": hex::encode(start),
        "entries": vec![serde_json::json!({"num_hashes": 1 << 23, "hash": "00".repeat(32)}); 3]});
    let input = format!("{first}\n{second}\n{no_start}\n{too_many}\n");
    let replies = roundtrip(server.addr, input.as_bytes()).await;
    assert_eq!(replies.len(), 4);
    let mut got = Vec::new();
    for (r, id) in replies[..2].iter().zip([1, 2]) {
        assert_eq!(r["id"], id);
        got.extend(r["results"].as_array().expect("results").iter().cloned());
    }
    // Entry 18 starts from entry 17's claimed hash, so it still follows.
    assert_eq!(got, want);
    let error = replies[2]["error"].as_str().unwrap();
    assert!(
        error.contains("entries[0]: no hash to start from"),
        "{error}"
    );
    let error = replies[3]["error"].as_str().unwrap();
    assert!(error.contains("more than 16777216 hashes"), "{error}");
    server.finish().await;
}
