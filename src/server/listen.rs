//! Accepting connections with limits, so that slow, half-open or hostile
//! clients cannot crowd out the chat platforms' requests: a header-read
//! timeout (which also closes connections idle between requests), a bound
//! on connections served at once, a body cap answered with 413, and a time
//! limit on each request.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::{debug, warn};

/// The chat platforms' requests are a few kilobytes; this is far above them.
pub const MAX_BODY: usize = 1 << 20;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// To send a request's headers, and to sit idle between requests.
    pub header_read: Duration,
    /// For the whole request, body included, and its answer.
    pub request: Duration,
    pub max_body: usize,
    pub max_connections: usize,
}

impl Limits {
    pub fn new(header_read: Duration, max_connections: usize) -> Self {
        Self { header_read, request: Duration::from_secs(30), max_body: MAX_BODY, max_connections }
    }
}

/// Refuses a declared body over the cap at once (413), and bounds the time
/// a request may take.
async fn guard(State(limits): State<Limits>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body as u64) {
        return too_large();
    }
    match tokio::time::timeout(limits.request, next.run(req)).await {
        Ok(response) if response.status() == StatusCode::PAYLOAD_TOO_LARGE => too_large(),
        Ok(response) => response,
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "the request took too long\n").into_response(),
    }
}

fn too_large() -> Response {
    let mut r = (StatusCode::PAYLOAD_TOO_LARGE, format!("the body is over {MAX_BODY} bytes\n"))
        .into_response();
    r.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
    r
}

/// Serves `app` on `listener` until `stop` turns true, then lets requests in
/// flight finish (for up to ten seconds).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let app = app
        .layer(middleware::from_fn_with_state(limits, guard))
        .layer(DefaultBodyLimit::max(limits.max_body));
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closed) = watch::channel(false);
    let mut connections = JoinSet::new();
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = async { let _ = stop.wait_for(|s| *s).await; } => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, say: give connections time to close.
                    warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await; // accept back-off
                    continue;
                }
            },
            _ = async { let _ = stop.wait_for(|s| *s).await; } => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let mut closed = closed.clone();
        connections.spawn(async move {
            let _slot = slot;
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let result = tokio::select! {
                result = conn.as_mut() => result,
                _ = async { let _ = closed.wait_for(|c| *c).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = result {
                debug!(error = %e, "a connection ended with an error");
            }
        });
        while connections.try_join_next().is_some() {}
    }
    let _ = closing.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(Duration::from_secs(10), drained).await.is_err() {
        warn!("stopped with requests still in flight");
    }
    Ok(())
}
