//! The Prometheus endpoint: `GET /metrics` answers the accelerator's metrics in the
//! OpenMetrics text format, `GET /health` answers "ok"; anything else is a 404.
//!
//! A scraper needs little, so the endpoint gives little: at most [`MAX_CONNECTIONS`] at once,
//! request headers within [`HEADER_TIMEOUT`], and a connection lives at most [`CONNECTION_LIFE`]
//! (Prometheus reconnects). Nobody can hold its sockets, or the server's file descriptors, for
//! long.

use std::convert::Infallible;
use std::future::Future;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::accelerator::Accelerator;

/// Connections served at once; more wait to be accepted.
pub const MAX_CONNECTIONS: usize = 16;
/// Longest wait for a request's headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest life of one connection.
pub const CONNECTION_LIFE: Duration = Duration::from_secs(60);

/// Serves `/metrics` and `/health` over HTTP/1.1 on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    acc: Accelerator,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let slot = tokio::select! {
            s = Arc::clone(&slots).acquire_owned() => match s {
                Ok(s) => s,
                Err(_) => return,
            },
            _ = &mut shutdown => return,
        };
        let (stream, peer) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!("metrics endpoint: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => return,
        };
        let acc = acc.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let acc = acc.clone();
                async move { Ok::<_, Infallible>(respond(&acc, &req)) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_LIFE, conn).await {
                Ok(Err(e)) => tracing::debug!("metrics endpoint: connection from {peer}: {e}"),
                Err(_) => {
                    tracing::debug!("metrics endpoint: closed {peer} after {CONNECTION_LIFE:?}")
                }
                Ok(Ok(())) => {}
            }
            drop(slot);
        });
    }
}

fn respond(acc: &Accelerator, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, kind: &'static str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static(kind),
        );
        r
    };
    const TEXT: &str = "text/plain; charset=utf-8";
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return reply(StatusCode::METHOD_NOT_ALLOWED, TEXT, "only GET\n".into());
    }
    match req.uri().path() {
        "/metrics" => reply(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            acc.metrics_text(),
        ),
        "/health" => reply(StatusCode::OK, TEXT, "ok\n".into()),
        _ => reply(
            StatusCode::NOT_FOUND,
            TEXT,
            "not found; try /metrics or /health\n".into(),
        ),
    }
}
