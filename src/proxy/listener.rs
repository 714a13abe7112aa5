//! Accepting connections: a bounded number at a time, each served on its
//! own task by hyper's HTTP/1.1 + HTTP/2 server with the configured header
//! limits and timeouts, and a graceful drain when the listener stops.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

/// The most connections a listener can count (its semaphore's limit).
pub const MAX_CONNECTIONS: usize = Semaphore::MAX_PERMITS;

/// Limits and timeouts that apply to every connection of a listener.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Open connections at once; more are closed as they arrive.
    pub max_connections: usize,
    /// Largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    pub handshake_timeout: Duration,
    /// Time to receive a request head, also between keep-alive requests.
    pub header_read_timeout: Duration,
    pub upstream_connect_timeout: Duration,
    /// Time from sending a request upstream to its response head.
    pub upstream_response_timeout: Duration,
    /// Longest wait for the next piece of a body, from the client or the
    /// upstream, before the stream is reset.
    pub body_idle_timeout: Duration,
    /// Time allowed for in-flight requests when the listener stops.
    pub drain_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 10_000,
            max_header_bytes: 64 * 1024,
            handshake_timeout: Duration::from_secs(10),
            header_read_timeout: Duration::from_secs(30),
            upstream_connect_timeout: Duration::from_secs(5),
            upstream_response_timeout: Duration::from_secs(60),
            body_idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// What a listener serves with: metrics, the reloadable state (`S`: routes
/// and TLS inbound, peers on egress), limits and the HTTP server settings.
pub struct Listener<S> {
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    pub access_log: bool,
    /// Replaced whole by reloads.
    pub state: super::state::Current<S>,
    pub limits: Limits,
    pub server: auto::Builder<TokioExecutor>,
}

impl<S> Listener<S> {
    pub fn new(
        metrics: std::sync::Arc<crate::metrics::Metrics>,
        state: S,
        limits: &Limits,
        access_log: bool,
    ) -> Listener<S> {
        Listener {
            metrics,
            access_log,
            state: super::state::Current::new(state),
            limits: limits.clone(),
            server: http_server(limits),
        }
    }
}

/// hyper's auto (HTTP/1.1 or HTTP/2 by ALPN or preface) server with limits.
fn http_server(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .keep_alive_interval(Some(Duration::from_secs(30)));
    builder
}

/// Accepts until `stop` turns true, running `serve` on a task per
/// connection; then stops accepting and waits up to the drain timeout for
/// the open connections to finish their requests.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
    open: prometheus::IntGauge,
    serve: F,
) where
    F: Fn(TcpStream, SocketAddr, Watcher) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, remote) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(limit = limits.max_connections, "connection limit reached; closing a new connection");
                    continue;
                };
                let _ = tcp.set_nodelay(true);
                let conn = serve(tcp, remote, graceful.watcher());
                let open = open.clone();
                open.inc();
                tokio::spawn(async move {
                    conn.await;
                    open.dec();
                    drop(slot);
                });
            }
            () = stopped(&mut stop) => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await.is_err() {
        tracing::warn!("drain timeout: closing connections with requests still in flight");
    }
}

/// Resolves once the stop flag is set (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await.map(|_| ());
}
