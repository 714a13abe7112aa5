//! The admin listener: `/metrics` (Prometheus text), `/healthz` (the
//! process is alive), `/readyz` (listeners bound and certificates loaded,
//! and not draining) and, only when enabled and only from loopback,
//! `POST /shutdown` so a Job can stop its sidecar.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::metrics::Metrics;

/// What the admin endpoints report and control.
pub struct AdminState {
    pub metrics: Arc<Metrics>,
    ready: AtomicBool,
    allow_shutdown: bool,
    shutdown: Notify,
}

impl AdminState {
    pub fn new(metrics: Arc<Metrics>, allow_shutdown: bool) -> AdminState {
        AdminState { metrics, ready: AtomicBool::new(false), allow_shutdown, shutdown: Notify::new() }
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Resolves when `POST /shutdown` was accepted.
    pub async fn shutdown_requested(&self) {
        self.shutdown.notified().await;
    }
}

/// Binds `addr` and serves the admin endpoints until the process ends.
pub async fn start(addr: SocketAddr, state: Arc<AdminState>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((tcp, remote)) = listener.accept().await {
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(answer(&state, &request, remote)) }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
            });
        }
    });
    Ok(bound)
}

fn answer(state: &AdminState, request: &Request<Incoming>, remote: SocketAddr) -> Response<Full<Bytes>> {
    let text = |status: StatusCode, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r
    };
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => {
            let mut r = text(StatusCode::OK, state.metrics.render());
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok\n".into()),
        (&Method::GET, "/readyz") if state.ready.load(Ordering::SeqCst) => text(StatusCode::OK, "ready\n".into()),
        (&Method::GET, "/readyz") => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n".into()),
        (&Method::POST, "/shutdown") if !state.allow_shutdown => {
            text(StatusCode::FORBIDDEN, "shutdown is not enabled (--admin-shutdown)\n".into())
        }
        (&Method::POST, "/shutdown") if !remote.ip().is_loopback() => {
            text(StatusCode::FORBIDDEN, "shutdown is accepted from localhost only\n".into())
        }
        (&Method::POST, "/shutdown") => {
            state.shutdown.notify_one();
            text(StatusCode::OK, "shutting down\n".into())
        }
        _ => text(StatusCode::NOT_FOUND, "endpoints: /metrics /healthz /readyz POST /shutdown\n".into()),
    }
}
