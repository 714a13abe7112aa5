//! The proxy: hyper 1.x servers (the inbound mTLS listener and the egress
//! listener) and clients (upstreams and egress peers), with every body that
//! the policy names streamed through the masking engine by `MaskBody`.

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
use tokio::task::JoinSet;

pub use self::body::{MaskBody, MaskBodyError, OnFinish};
pub use self::listener::Limits;
pub use self::pipeline::{Coding, Pipeline};
pub use self::respond::PEER_HEADER;
pub use self::upstream::UpstreamConfig;
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
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl RunningProxy {
    /// Binds every listener (so address and certificate errors surface
    /// here) and starts serving on the current tokio runtime.
    pub async fn start(config: ProxyConfig) -> Result<RunningProxy, ProxyError> {
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
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
            let inbound = Arc::new(inbound::Inbound {
                policy: cfg.policy.clone(),
                upstreams,
                tls: acceptor,
                limits: config.limits.clone(),
                server: listener::http_server(&config.limits),
            });
            tasks.spawn(listener::accept_loop(
                listener,
                config.limits.clone(),
                stopped.clone(),
                move |tcp, remote, w| inbound.clone().serve_connection(tcp, remote, w),
            ));
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
                policy: cfg.policy.clone(),
                clients,
                limits: config.limits.clone(),
                server: listener::http_server(&config.limits),
            });
            tasks.spawn(listener::accept_loop(listener, config.limits.clone(), stopped.clone(), move |tcp, _, w| {
                egress.clone().serve_connection(tcp, w)
            }));
        }
        Ok(RunningProxy { inbound_addr, egress_addr, stop, tasks })
    }

    /// Stops accepting, lets in-flight requests finish (up to the drain
    /// timeout) and returns when every listener is done.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
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
