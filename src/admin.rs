//! The admin listener: `/metrics` (Prometheus text), `/healthz` (the
//! process is alive), `/readyz` (listeners bound and certificates loaded,
//! and not draining), `/app-health/PORT/PATH` (the app's own HTTP probe,
//! forwarded to 127.0.0.1:PORT for the ports named at start: the kubelet
//! cannot pass the mTLS listener that took the app's port) and, only when
//! enabled and only from loopback, `POST /shutdown` so a Job can stop its
//! sidecar.

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
    /// Ports whose probes `/app-health/PORT/…` forwards to 127.0.0.1.
    app_health_ports: Vec<u16>,
}

impl AdminState {
    pub fn new(metrics: Arc<Metrics>, allow_shutdown: bool, app_health_ports: Vec<u16>) -> AdminState {
        AdminState { metrics, ready: AtomicBool::new(false), allow_shutdown, shutdown: Notify::new(), app_health_ports }
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
                let service = service_fn(move |request: Request<Incoming>| {
                    let state = state.clone();
                    async move {
                        if let Some((port, path)) = app_health_target(&state, request.uri().path()) {
                            return Ok::<_, Infallible>(app_health(port, &path).await);
                        }
                        Ok::<_, Infallible>(answer(&state, &request, remote))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
            });
        }
    });
    Ok(bound)
}

/// `/app-health/PORT/rest` for a configured port: (PORT, `/rest`).
fn app_health_target(state: &AdminState, path: &str) -> Option<(u16, String)> {
    let rest = path.strip_prefix("/app-health/")?;
    let (port, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let port: u16 = port.parse().ok()?;
    state.app_health_ports.contains(&port).then(|| (port, format!("/{tail}")))
}

/// The app's probe, asked on localhost: its status passes through (2xx and
/// 3xx are healthy to the kubelet), a dead or slow app is 503.
async fn app_health(port: u16, path: &str) -> Response<Full<Bytes>> {
    let ask = async {
        let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.ok()?;
        tokio::spawn(conn);
        let request = Request::get(path)
            .header(http::header::HOST, "127.0.0.1")
            .body(http_body_util::Empty::<Bytes>::new())
            .ok()?;
        sender.send_request(request).await.ok().map(|r| r.status())
    };
    let status = tokio::time::timeout(std::time::Duration::from_secs(5), ask)
        .await
        .ok()
        .flatten()
        .unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
    let mut r = Response::new(Full::new(Bytes::from(format!("app: {}\n", status.as_u16()))));
    *r.status_mut() = status;
    r
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
