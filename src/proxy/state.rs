//! What a reload replaces: the inbound listener's TLS acceptor, routes and
//! upstream clients, and the egress listener's peers and their mTLS
//! clients. A new state is built — so every certificate, key and CA is
//! loaded and checked — before it is swapped in; a failed build leaves the
//! old state serving. Each request takes the state current when it starts
//! and keeps it to its end.

use std::sync::{Arc, RwLock};

use tokio_rustls::TlsAcceptor;

use super::upstream::{self, HttpClient, Upstream};
use super::{EgressConfig, InboundConfig, Limits, ProxyError};
use crate::policy::{EgressPolicy, InboundPolicy};
use crate::tls;

pub struct InboundState {
    pub policy: InboundPolicy,
    pub upstreams: Vec<Upstream>,
    pub tls: Option<TlsAcceptor>,
    /// When the loaded certificate expires (Unix seconds).
    pub cert_expiry: Option<i64>,
    /// The listener certificate's URI SAN (`By=` of `xfcc: set`).
    pub own_identity: Option<String>,
}

impl InboundState {
    pub fn build(config: &InboundConfig, limits: &Limits) -> Result<InboundState, ProxyError> {
        let (tls, cert_expiry) = match &config.tls {
            Some(files) => {
                (Some(TlsAcceptor::from(tls::server_config(files)?)), Some(tls::certificate_expiry(&files.cert)?))
            }
            None => (None, None),
        };
        let upstreams = config
            .upstreams
            .iter()
            .map(|u| Upstream::new(u, limits.upstream_connect_timeout))
            .collect::<Result<Vec<_>, _>>()?;
        let own_identity = match &config.tls {
            Some(files) => tls::load_certs(&files.cert)?
                .first()
                .and_then(|c| crate::tls::PeerIdentity::from_certificate(c).uris.first().cloned()),
            None => None,
        };
        Ok(InboundState { policy: config.policy.clone(), upstreams, tls, cert_expiry, own_identity })
    }
}

pub struct EgressState {
    pub policy: EgressPolicy,
    /// One pooled mTLS client per peer, in the policy's order.
    pub clients: Vec<HttpClient>,
    /// When the workload certificate presented to peers expires.
    pub cert_expiry: i64,
}

impl EgressState {
    pub fn build(config: &EgressConfig, limits: &Limits) -> Result<EgressState, ProxyError> {
        let ca = config.workload.ca.as_ref().ok_or_else(|| ProxyError::Upstream {
            name: "egress".into(),
            reason: "the workload TLS needs a CA to verify peers".into(),
        })?;
        let clients = config
            .policy
            .peers
            .iter()
            .map(|peer| {
                let tls = tls::peer_client_config(ca, &peer.identity, &config.workload)?;
                upstream::build_client(Some(tls), limits.upstream_connect_timeout)
            })
            .collect::<Result<Vec<_>, ProxyError>>()?;
        let cert_expiry = tls::certificate_expiry(&config.workload.cert)?;
        Ok(EgressState { policy: config.policy.clone(), clients, cert_expiry })
    }
}

/// A value replaced whole by reloads; readers get the one current now.
pub struct Current<T>(RwLock<Arc<T>>);

impl<T> Current<T> {
    pub fn new(value: T) -> Current<T> {
        Current(RwLock::new(Arc::new(value)))
    }

    pub fn get(&self) -> Arc<T> {
        // A writer never panics while holding the lock (it only swaps an
        // Arc), so a poisoned lock still holds a whole value.
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn set(&self, value: T) {
        *self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(value);
    }
}
