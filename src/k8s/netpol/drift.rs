//! `netpol drift`: do the NetworkPolicies and a piimask config agree on who
//! may call the sidecar? A workload's identity is its SPIFFE ID
//! (`spiffe://<trust domain>/ns/<namespace>/sa/<service account>`), which
//! is what the proxy's allow-lists name. For a workload under port
//! takeover, also: can anything reach the app's own port around the
//! sidecar?

use std::fmt;

use super::{Cluster, Endpoint, Protocol};
use crate::policy::{InboundPolicy, PeerRule};
use crate::tls::PeerIdentity;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// The network lets the workload reach the sidecar port; no route of
    /// the proxy admits its identity.
    NetworkOnly { workload: String, identity: String },
    /// A route admits the workload's identity; the network blocks it.
    ProxyOnly { workload: String, identity: String },
    /// An allow-list entry names no workload in the manifests.
    UnknownIdentity { identity: String },
    /// Port takeover: the network lets the workload reach the app's own
    /// port, around the sidecar.
    AroundSidecar { workload: String, port: u16 },
}

impl fmt::Display for Drift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Drift::NetworkOnly { workload, identity } => {
                write!(f, "network-only: {workload} ({identity}) can reach the sidecar port, but the proxy refuses it")
            }
            Drift::ProxyOnly { workload, identity } => {
                write!(f, "proxy-only: the proxy allows {workload} ({identity}), but the network blocks it")
            }
            Drift::UnknownIdentity { identity } => write!(f, "unknown-identity: {identity} matches no workload"),
            Drift::AroundSidecar { workload, port } => {
                write!(f, "around-sidecar: {workload} can reach the app's own port {port}, unmasked (port takeover)")
            }
        }
    }
}

/// Compares the inbound `policy` of the piimask running in `target`
/// (`ns/name`) and listening on `port` with what the manifests' policies
/// let through to it.
pub fn drift(
    cluster: &Cluster,
    target: &str,
    port: u16,
    policy: &InboundPolicy,
    trust_domain: &str,
) -> Result<Vec<Drift>, String> {
    let dst = cluster.workload(target).ok_or_else(|| format!("no workload `{target}` in the manifests"))?;
    let identity_of =
        |w: &super::Workload| format!("spiffe://{trust_domain}/ns/{}/sa/{}", w.namespace, w.service_account);
    let proxy_admits = |id: &str| {
        let peer = PeerIdentity { uris: vec![id.to_string()], dns_names: vec![] };
        policy.routes.iter().any(|r| match &r.peers {
            PeerRule::Anyone | PeerRule::AnyVerified => true,
            PeerRule::Only(ids) => ids.iter().any(|allowed| peer.matches(allowed)),
        })
    };
    let mut out = Vec::new();
    for src in cluster.workloads.iter().filter(|w| w.index != dst.index) {
        let identity = identity_of(src);
        let network = cluster
            .egress(src, &Endpoint::Workload(dst))
            .intersect(&cluster.ingress(&Endpoint::Workload(src), dst))
            .contains(Protocol::Tcp, port);
        match (network, proxy_admits(&identity)) {
            (true, false) => out.push(Drift::NetworkOnly { workload: src.id(), identity }),
            (false, true) => out.push(Drift::ProxyOnly { workload: src.id(), identity }),
            _ => {}
        }
        // In port takeover the app keeps its port beside the sidecar's.
        for (app, _) in super::lint::takeover_ports(dst) {
            let reaches = cluster
                .egress(src, &Endpoint::Workload(dst))
                .intersect(&cluster.ingress(&Endpoint::Workload(src), dst))
                .contains(app.protocol, app.port);
            if reaches {
                out.push(Drift::AroundSidecar { workload: src.id(), port: app.port });
            }
        }
    }
    for route in &policy.routes {
        if let PeerRule::Only(ids) = &route.peers {
            for id in ids {
                let known = cluster
                    .workloads
                    .iter()
                    .any(|w| PeerIdentity { uris: vec![identity_of(w)], dns_names: vec![] }.matches(id));
                let listed = out.iter().any(|d| matches!(d, Drift::UnknownIdentity { identity } if identity == id));
                if !known && !listed {
                    out.push(Drift::UnknownIdentity { identity: id.clone() });
                }
            }
        }
    }
    Ok(out)
}
