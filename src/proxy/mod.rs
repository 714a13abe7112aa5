//! The proxy: hyper 1.x servers (the inbound mTLS listener and the egress
//! listener) and clients (upstreams and egress peers), with every body that
//! the policy names streamed through the masking engine by `MaskBody`.

mod audit;
mod body;
mod egress;
mod forward;
mod framing;
mod headers;
mod idle;
mod inbound;
mod linger;
mod listener;
mod pipeline;
mod request_head;
mod respond;
mod sniff;
mod state;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::body::{MaskBody, MaskBodyError, OnFinish};
pub use self::listener::{Limits, MAX_CONNECTIONS};
pub use self::pipeline::{Coding, CodingError, Codings, MAX_LAYERS, Pipeline};
pub use self::respond::PEER_HEADER;
use self::state::{EgressState, InboundState};
pub use self::upstream::UpstreamConfig;
use crate::metrics::Metrics;
use crate::policy::{EgressPolicy, InboundPolicy};
use crate::tls::{TlsError, TlsFiles};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("upstream `{name}`: {reason}")]
    Upstream { name: String, reason: String },
    #[error("reload refused: {0}")]
    Reload(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// The inbound listener: where it listens, its TLS, routes and upstreams.
#[derive(Debug, Clone)]
pub struct InboundConfig {
    pub listen: SocketAddr,
    /// `None` serves plain HTTP (a gateway behind a TLS-terminating edge).
    pub tls: Option<TlsFiles>,
    pub policy: InboundPolicy,
    pub upstreams: Vec<UpstreamConfig>,
}

/// The egress listener: where the app reaches it and which peers it may
/// reach, with the workload identity used to dial them.
#[derive(Debug, Clone)]
pub struct EgressConfig {
    pub listen: SocketAddr,
    pub policy: EgressPolicy,
    /// The workload's certificate and key, and the CA that signs peers.
    pub workload: TlsFiles,
}

#[derive(Debug, Clone, Default)]
pub struct ProxyConfig {
    pub inbound: Option<InboundConfig>,
    pub egress: Option<EgressConfig>,
    pub limits: Limits,
    /// One log event per request (no paths), besides the audit events.
    pub access_log: bool,
}

impl ProxyConfig {
    /// Every certificate, key and CA file the config names: what a reload
    /// watches besides the config file itself.
    pub fn tls_files(&self) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        let mut add =
            |t: &TlsFiles| files.extend([Some(&t.cert), Some(&t.key), t.ca.as_ref()].into_iter().flatten().cloned());
        if let Some(inbound) = &self.inbound {
            inbound.tls.iter().for_each(&mut add);
            for u in &inbound.upstreams {
                u.client_cert.iter().for_each(&mut add);
                add(&TlsFiles { cert: Default::default(), key: Default::default(), ca: u.ca.clone() });
            }
        }
        if let Some(egress) = &self.egress {
            add(&egress.workload);
        }
        files.retain(|f| !f.as_os_str().is_empty());
        files.sort();
        files.dedup();
        files
    }

    /// Everything the proxy dials off its own host, as (name, `host:port`):
    /// each egress peer, and each upstream not on loopback (a gateway's
    /// services; a sidecar's app is on 127.0.0.1). What its NetworkPolicy
    /// egress must open.
    pub fn destinations(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for u in self.inbound.iter().flat_map(|i| &i.upstreams) {
            let host = u.url.host().unwrap_or("").trim_start_matches('[').trim_end_matches(']');
            let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
            if !loopback {
                let port = u.url.port_u16().unwrap_or(if u.url.scheme_str() == Some("https") { 443 } else { 80 });
                let host = if host.contains(':') { format!("[{host}]") } else { host.to_string() };
                out.push((u.name.clone(), format!("{host}:{port}")));
            }
        }
        for peer in self.egress.iter().flat_map(|e| &e.policy.peers) {
            out.push((peer.name.clone(), peer.address.clone()));
        }
        out
    }
}

/// A started proxy: its bound addresses and a handle to stop it.
pub struct RunningProxy {
    /// The config the listeners were bound with.
    listening: ProxyConfig,
    metrics: Arc<Metrics>,
    inbound: Option<Arc<inbound::Inbound>>,
    egress: Option<Arc<egress::Egress>>,
    pub inbound_addr: Option<SocketAddr>,
    pub egress_addr: Option<SocketAddr>,
    /// Stops the inbound listener first, then (once it has drained) the
    /// egress one, which the app may need to finish in-flight requests.
    stop_inbound: watch::Sender<bool>,
    stop_egress: watch::Sender<bool>,
    inbound_task: Option<JoinHandle<()>>,
    egress_task: Option<JoinHandle<()>>,
}

impl RunningProxy {
    /// Binds every listener (so address and certificate errors surface
    /// here) and starts serving on the current tokio runtime.
    pub async fn start(config: ProxyConfig, metrics: Arc<Metrics>) -> Result<RunningProxy, ProxyError> {
        let (stop_inbound, inbound_stopped) = watch::channel(false);
        let (stop_egress, egress_stopped) = watch::channel(false);
        let (mut inbound_task, mut egress_task) = (None, None);
        let mut inbound_addr = None;
        let (mut inbound, mut egress) = (None, None);
        if let Some(cfg) = &config.inbound {
            let state = InboundState::build(cfg, &config.limits)?;
            let listener = bind(cfg.listen).await?;
            inbound_addr = listener.local_addr().ok();
            publish_expiry(&metrics, "inbound", state.cert_expiry);
            let served: Arc<inbound::Inbound> =
                Arc::new(listener::Listener::new(metrics.clone(), state, &config.limits, config.access_log));
            inbound = Some(served.clone());
            let open = metrics.open_connections.with_label_values(&["inbound"]);
            inbound_task = Some(tokio::spawn(listener::accept_loop(
                listener,
                config.limits.clone(),
                inbound_stopped.clone(),
                open,
                move |tcp, remote, w| served.clone().serve_connection(tcp, remote, w),
            )));
        }
        let mut egress_addr = None;
        if let Some(cfg) = &config.egress {
            let state = EgressState::build(cfg, &config.limits)?;
            publish_expiry(&metrics, "egress", Some(state.cert_expiry));
            let listener = bind(cfg.listen).await?;
            egress_addr = listener.local_addr().ok();
            let served: Arc<egress::Egress> =
                Arc::new(listener::Listener::new(metrics.clone(), state, &config.limits, config.access_log));
            egress = Some(served.clone());
            let open = metrics.open_connections.with_label_values(&["egress"]);
            egress_task = Some(tokio::spawn(listener::accept_loop(
                listener,
                config.limits.clone(),
                egress_stopped.clone(),
                open,
                move |tcp, _, w| served.clone().serve_connection(tcp, w),
            )));
        }
        Ok(RunningProxy {
            listening: config.clone(),
            metrics,
            inbound,
            egress,
            inbound_addr,
            egress_addr,
            stop_inbound,
            stop_egress,
            inbound_task,
            egress_task,
        })
    }

    /// Replaces routes, peers, profiles, upstreams and certificates with
    /// `config`'s, built and checked completely first: on any error the
    /// running state is kept. Requests in flight finish on the state they
    /// started with. Listener addresses and limits change only on restart.
    pub fn reload(&self, config: &ProxyConfig) -> Result<(), ProxyError> {
        if self.listening.inbound.as_ref().map(|i| i.listen) != config.inbound.as_ref().map(|i| i.listen)
            || self.listening.egress.as_ref().map(|e| e.listen) != config.egress.as_ref().map(|e| e.listen)
        {
            return Err(ProxyError::Reload("listener addresses changed; restart piimask to apply".into()));
        }
        let inbound = match (&self.inbound, &config.inbound) {
            (Some(_), Some(cfg)) => Some(InboundState::build(cfg, &self.listening.limits)?),
            _ => None,
        };
        let egress = match (&self.egress, &config.egress) {
            (Some(_), Some(cfg)) => Some(EgressState::build(cfg, &self.listening.limits)?),
            _ => None,
        };
        if let (Some(served), Some(state)) = (&self.inbound, inbound) {
            publish_expiry(&self.metrics, "inbound", state.cert_expiry);
            served.state.set(state);
        }
        if let (Some(served), Some(state)) = (&self.egress, egress) {
            publish_expiry(&self.metrics, "egress", Some(state.cert_expiry));
            served.state.set(state);
        }
        Ok(())
    }

    /// Stops accepting, lets in-flight requests finish (up to the drain
    /// timeout) and returns when every listener is done.
    pub async fn shutdown(self) {
        let _ = self.stop_inbound.send(true);
        if let Some(task) = self.inbound_task {
            let _ = task.await;
        }
        let _ = self.stop_egress.send(true);
        if let Some(task) = self.egress_task {
            let _ = task.await;
        }
    }
}

/// Loads every certificate, key and CA the config names and builds the
/// TLS configs, without binding anything: what `piimask check` runs.
pub fn check_files(config: &ProxyConfig) -> Result<(), ProxyError> {
    if let Some(inbound) = &config.inbound {
        InboundState::build(inbound, &config.limits)?;
    }
    if let Some(egress) = &config.egress {
        EgressState::build(egress, &config.limits)?;
    }
    Ok(())
}

/// The expiry gauge of a listener's certificate, whenever a state with
/// one goes live (at start and on every reload).
fn publish_expiry(metrics: &Metrics, listener: &str, expiry: Option<i64>) {
    if let Some(expiry) = expiry {
        metrics.certificate_expiry.with_label_values(&[listener]).set(expiry as f64);
    }
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ProxyError> {
    TcpListener::bind(addr).await.map_err(|source| ProxyError::Bind { addr, source })
}
