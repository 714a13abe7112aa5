//! Who may talk to whom, and what happens to the bodies: inbound routes
//! (path prefix, host, methods → allowed peer identities, upstream, masking
//! of request and response), egress peers (host → address, expected
//! identity, masking of what the app sends), and the choice of masking by
//! content type. Knows `mask` and `http` types; nothing of sockets or TLS
//! beyond the peer's already-verified names.

pub mod authority;
mod body;
pub mod headers;
pub mod sniff;
pub mod target;

use std::sync::Arc;

use http::Method;

pub use self::body::{
    Binary, BinaryKind, BodyPlan, BodyRule, OtherTypes, TypeClass, UnknownCharset, classify, declared_charset,
};
pub use self::headers::{EgressHeader, RequestHead, egress_header, response_header_is_structural};
pub use self::target::{EscapedSlashes, PathOptions, path_has_prefix};
use crate::tls::PeerIdentity;

/// Which peers a route admits.
#[derive(Debug, Clone)]
pub enum PeerRule {
    /// Any peer with a certificate from the client CA.
    AnyVerified,
    /// Any peer, with or without a certificate (a listener without mTLS).
    Anyone,
    /// Only peers whose certificate names one of these identities.
    Only(Vec<String>),
}

/// One inbound route: what it matches and what it does.
#[derive(Debug, Clone)]
pub struct Route {
    /// Reported in errors, logs and metrics.
    pub name: String,
    pub path_prefix: String,
    /// Host (without port), case-insensitive; `None` matches any.
    pub host: Option<String>,
    /// Empty admits every method.
    pub methods: Vec<Method>,
    pub peers: PeerRule,
    /// Index into the inbound listener's upstreams.
    pub upstream: usize,
    pub request: BodyRule,
    pub response: BodyRule,
    /// Largest request body the route accepts, in bytes.
    pub max_request_bytes: u64,
}

/// Why the policy refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoRoute,
    NoCertificate,
    PeerNotAllowed,
}

/// The inbound routes, tried in order; the first match decides.
#[derive(Debug, Clone, Default)]
pub struct InboundPolicy {
    pub routes: Vec<Route>,
    /// How the listener canonicalises request paths before routing.
    pub paths: PathOptions,
    /// What happens to `X-Forwarded-Client-Cert`.
    pub xfcc: Xfcc,
}

/// What the inbound listener does with `X-Forwarded-Client-Cert`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Xfcc {
    /// Remove any copy a client sent (the default).
    #[default]
    Sanitize,
    /// Remove it and set piimask's own, in Envoy's SANITIZE_SET form.
    Set,
    /// Pass what the client sent (only behind a proxy that sets it).
    Forward,
}

impl InboundPolicy {
    /// The route for a request and whether `peer` may use it. Routing looks
    /// at the method, host and path only; the identity then admits or
    /// refuses, so a refused peer learns nothing about other routes.
    /// `authority` and `path` must be canonical (`authority::request_authority`,
    /// `target::canonicalize`).
    pub fn decide(
        &self,
        method: &Method,
        authority: Option<&str>,
        path: &str,
        peer: Option<&PeerIdentity>,
    ) -> Result<&Route, Refusal> {
        let route = self.route_for(method, authority, path).ok_or(Refusal::NoRoute)?;
        route.admits(peer)?;
        Ok(route)
    }

    /// The first route matching the method, canonical authority (port
    /// ignored) and canonical path (without the query).
    pub fn route_for(&self, method: &Method, authority: Option<&str>, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| {
            path_has_prefix(path, &r.path_prefix)
                && (r.methods.is_empty() || r.methods.contains(method))
                && r.host.as_deref().is_none_or(|want| authority.is_some_and(|a| authority::host_matches(want, a)))
        })
    }
}

impl Route {
    /// Whether `peer` (its verified certificate's names, if any) may use
    /// this route.
    pub fn admits(&self, peer: Option<&PeerIdentity>) -> Result<(), Refusal> {
        match (&self.peers, peer) {
            (PeerRule::Anyone, _) => Ok(()),
            (_, None) => Err(Refusal::NoCertificate),
            (PeerRule::AnyVerified, Some(_)) => Ok(()),
            (PeerRule::Only(ids), Some(p)) if ids.iter().any(|id| p.matches(id)) => Ok(()),
            (PeerRule::Only(_), Some(_)) => Err(Refusal::PeerNotAllowed),
        }
    }

    /// The peer's name as this route admitted it, told to the app in
    /// `x-piimask-peer`: the certificate's URI SAN, or, for a certificate
    /// without one, the DNS name the allow-list matched (else its first).
    pub fn admitted_name<'p>(&self, peer: &'p PeerIdentity) -> Option<&'p str> {
        let matched = match &self.peers {
            PeerRule::Only(ids) => ids.iter().find_map(|id| peer.matching_name(id)),
            PeerRule::AnyVerified | PeerRule::Anyone => None,
        };
        matched.or_else(|| peer.uris.first().or(peer.dns_names.first()).map(String::as_str))
    }

    /// The peer as the config names it: the allow-list entry that admits
    /// it, `any`, `anyone` or `unlisted` — a bounded metric label.
    pub fn peer_label(&self, peer: Option<&PeerIdentity>) -> &str {
        match &self.peers {
            PeerRule::Anyone => "anyone",
            PeerRule::AnyVerified if peer.is_some() => "any",
            PeerRule::AnyVerified => "unlisted",
            PeerRule::Only(ids) => {
                peer.and_then(|p| ids.iter().find(|id| p.matches(id))).map_or("unlisted", String::as_str)
            }
        }
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| &h[1..]);
    }
    host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h)
}

/// An egress destination the app may reach through the sidecar.
#[derive(Debug, Clone)]
pub struct Peer {
    pub name: String,
    /// Host names (without port) the app uses for this peer.
    pub hosts: Vec<String>,
    /// Where to connect: `host:port`.
    pub address: String,
    /// The identity the peer's certificate must carry.
    pub identity: String,
    /// Masking of the request body the app sends.
    pub request: BodyRule,
    /// Header names whose values are masked as text.
    pub mask_headers: Vec<http::HeaderName>,
    /// Whether the query string's values are masked as text.
    pub mask_query: bool,
    /// What a finding in the path, a query key or a judged header does.
    pub request_head: RequestHead,
    /// Largest request body the app may send this peer, in bytes.
    pub max_request_bytes: u64,
}

#[derive(Debug, Clone, Default)]
pub struct EgressPolicy {
    pub peers: Vec<Arc<Peer>>,
    /// `host:port` destinations the app may `CONNECT` to as opaque TLS.
    pub opaque_tls: Vec<String>,
}

impl EgressPolicy {
    /// The peer the app means by `host` (port ignored), with its index, if
    /// it is allowed.
    pub fn peer_for(&self, host: &str) -> Option<(usize, &Arc<Peer>)> {
        let host = strip_port(host);
        self.peers.iter().enumerate().find(|(_, p)| p.hosts.iter().any(|h| h.eq_ignore_ascii_case(host)))
    }

    pub fn allows_opaque(&self, authority: &str) -> bool {
        self.opaque_tls.iter().any(|a| a.eq_ignore_ascii_case(authority))
    }
}

#[cfg(test)]
mod tests;
