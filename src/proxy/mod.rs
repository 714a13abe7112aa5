//! The proxy: hyper 1.x servers (the inbound mTLS listener and the egress
//! listener) and clients (upstreams and egress peers), with every body that
//! the policy names streamed through the masking engine by `MaskBody`.

mod audit;
mod body;
mod egress;
mod forward;
mod inbound;
mod listener;
mod pipeline;
mod respond;
mod upstream;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use self::body::{MaskBody, MaskBodyError, OnFinish};
pub use self::listener::Limits;
pub use self::pipeline::{Coding, Pipeline};
pub use self::respond::PEER_HEADER;
pub use self::upstream::UpstreamConfig;
use crate::metrics::Metrics;
use crate::policy::{EgressPolicy, InboundPolicy};
use crate::tls::{self, TlsError, TlsFiles};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("upstream `{name}`: {reason}")]
    Upstream { name: String, reason: String },
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
}

/// A started proxy: its bound addresses and a handle to stop it.
pub struct RunningProxy {
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
        if let Some(cfg) = &config.inbound {
            let acceptor = match &cfg.tls {
                Some(files) => Some(tokio_rustls::TlsAcceptor::from(tls::server_config(files)?)),
                None => None,
            };
            let upstreams = cfg
                .upstreams
                .iter()
                .map(|u| upstream::Upstream::new(u, config.limits.upstream_connect_timeout))
                .collect::<Result<Vec<_>, _>>()?;
            let listener = bind(cfg.listen).await?;
            inbound_addr = listener.local_addr().ok();
            if let Some(files) = &cfg.tls
                && let Ok(expiry) = tls::certificate_expiry(&files.cert)
            {
                metrics.certificate_expiry.with_label_values(&["inbound"]).set(expiry as f64);
            }
            let inbound = Arc::new(inbound::Inbound {
                metrics: metrics.clone(),
                policy: cfg.policy.clone(),
                upstreams,
                tls: acceptor,
                limits: config.limits.clone(),
                server: listener::http_server(&config.limits),
            });
            let open = metrics.open_connections.with_label_values(&["inbound"]);
            inbound_task = Some(tokio::spawn(listener::accept_loop(
                listener,
                config.limits.clone(),
                inbound_stopped.clone(),
                open,
                move |tcp, remote, w| inbound.clone().serve_connection(tcp, remote, w),
            )));
        }
        let mut egress_addr = None;
        if let Some(cfg) = &config.egress {
            let ca = cfg.workload.ca.as_ref().ok_or_else(|| ProxyError::Upstream {
                name: "egress".into(),
                reason: "the workload TLS needs a CA to verify peers".into(),
            })?;
            let clients = cfg
                .policy
                .peers
                .iter()
                .map(|peer| {
                    let tls = tls::peer_client_config(ca, &peer.identity, &cfg.workload)?;
                    upstream::build_client(Some(tls), config.limits.upstream_connect_timeout)
                })
                .collect::<Result<Vec<_>, ProxyError>>()?;
            let listener = bind(cfg.listen).await?;
            egress_addr = listener.local_addr().ok();
            let egress = Arc::new(egress::Egress {
                metrics: metrics.clone(),
                policy: cfg.policy.clone(),
                clients,
                limits: config.limits.clone(),
                server: listener::http_server(&config.limits),
            });
            let open = metrics.open_connections.with_label_values(&["egress"]);
            egress_task = Some(tokio::spawn(listener::accept_loop(
                listener,
                config.limits.clone(),
                egress_stopped.clone(),
                open,
                move |tcp, _, w| egress.clone().serve_connection(tcp, w),
            )));
        }
        Ok(RunningProxy { inbound_addr, egress_addr, stop_inbound, stop_egress, inbound_task, egress_task })
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
        if let Some(files) = &inbound.tls {
            tls::server_config(files)?;
        }
        for u in &inbound.upstreams {
            upstream::Upstream::new(u, config.limits.upstream_connect_timeout)?;
        }
    }
    if let Some(egress) = &config.egress
        && let Some(ca) = &egress.workload.ca
    {
        for peer in &egress.policy.peers {
            tls::peer_client_config(ca, &peer.identity, &egress.workload)?;
        }
    }
    Ok(())
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, ProxyError> {
    TcpListener::bind(addr).await.map_err(|source| ProxyError::Bind { addr, source })
}
