//! The proxy's part of `piimask.yaml`: the workload's TLS files, the
//! inbound listener and its routes, upstreams, the egress listener and its
//! peers, and limits. Validated into `proxy::ProxyConfig`; every error
//! names the path in the file and what is expected.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::duration::DurationSetting;

use crate::mask::{Masker, MaskerConfig};
use crate::policy::{Binary, BodyRule, EgressPolicy, InboundPolicy, OtherTypes, Peer, PeerRule, RequestHead, Route};
use crate::proxy::{EgressConfig, InboundConfig, Limits, ProxyConfig, UpstreamConfig};
use crate::tls::TlsFiles;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSpec {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The CA of peers: required client certificates inbound, verified
    /// peers on egress.
    #[serde(default)]
    pub ca: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundSpec {
    pub listen: SocketAddr,
    /// `false` serves plain HTTP (a gateway behind a TLS-terminating edge).
    #[serde(default = "yes")]
    pub tls: bool,
    pub routes: Vec<RouteSpec>,
    /// Merge repeated slashes in request paths before routing and
    /// forwarding; `false` weakens prefix routes (`//internal` is then not
    /// under `/internal`).
    #[serde(default = "yes")]
    pub merge_slashes: bool,
    /// `%2F`/`%5C` in a path: `reject` (400) or `keep` (unsafe with prefix
    /// routes: an app that decodes them sees other segments).
    #[serde(default)]
    pub escaped_slashes: EscapedSlashesSpec,
    /// `X-Forwarded-Client-Cert`: `sanitize` (remove a client's copy),
    /// `set` (piimask's own, Envoy's SANITIZE_SET form) or `forward`.
    #[serde(default)]
    pub xfcc: XfccSpec,
}

#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum XfccSpec {
    #[default]
    Sanitize,
    Set,
    Forward,
}

#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum EscapedSlashesSpec {
    #[default]
    Reject,
    Keep,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    pub name: String,
    #[serde(default = "root")]
    pub path_prefix: String,
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub methods: Vec<String>,
    /// Peer identities (SPIFFE IDs, `spiffe://td/*`, DNS names), or `any`
    /// for every peer with a certificate from the CA.
    pub allow: AllowSpec,
    pub upstream: String,
    /// Profile masking responses; `none` passes them.
    #[serde(default = "default_profile")]
    pub response_profile: String,
    /// Profile masking request bodies; `none` (the default) passes them.
    #[serde(default = "none")]
    pub request_profile: String,
    #[serde(default)]
    pub other_types: OtherTypesSpec,
    /// Binary bodies: unset refuses gRPC and protobuf and passes media.
    #[serde(default)]
    pub binary: Option<BinarySpec>,
    #[serde(default = "default_max_body")]
    pub max_request_bytes: u64,
}

#[derive(Debug, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum BinarySpec {
    Pass,
    Block,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum AllowSpec {
    Keyword(String),
    Ids(Vec<String>),
}

#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum OtherTypesSpec {
    Pass,
    Block,
    #[default]
    Text,
}

/// `egress.peers[].request_head`: `refuse` or `mask`.
#[derive(Debug, Default, Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum RequestHeadSpec {
    #[default]
    Refuse,
    Mask,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSpec {
    pub name: String,
    pub url: String,
    /// For https upstreams: the CA that signs their certificates.
    #[serde(default)]
    pub ca: Option<PathBuf>,
    /// Present the workload certificate to the upstream (mTLS).
    #[serde(default)]
    pub client_cert: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EgressSpec {
    #[serde(default = "egress_listen")]
    pub listen: SocketAddr,
    #[serde(default)]
    pub peers: Vec<PeerSpec>,
    /// `host:port` destinations the app may CONNECT to as opaque TLS.
    #[serde(default)]
    pub allow_connect: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSpec {
    pub name: String,
    /// Host names the app uses for this peer.
    pub hosts: Vec<String>,
    /// `host:port` to dial.
    pub address: String,
    /// The SPIFFE ID or DNS name the peer's certificate must carry.
    pub identity: String,
    #[serde(default = "default_profile")]
    pub profile: String,
    #[serde(default)]
    pub mask_headers: Vec<String>,
    #[serde(default = "yes")]
    pub mask_query: bool,
    /// What personal data in the path, a query key or an unlisted header
    /// does: refuse the request (the default) or mask it.
    #[serde(default)]
    pub request_head: RequestHeadSpec,
    #[serde(default)]
    pub other_types: OtherTypesSpec,
    /// As for routes.
    #[serde(default)]
    pub binary: Option<BinarySpec>,
    #[serde(default = "default_max_body")]
    pub max_request_bytes: u64,
}

/// `limits`: every duration takes a unit (`30s`, `500ms`) or a number of
/// seconds; the `*_seconds` spellings are the older names of the same keys.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    pub max_connections: Option<usize>,
    pub max_header_bytes: Option<usize>,
    pub handshake_timeout: Option<DurationSetting>,
    pub header_read_timeout: Option<DurationSetting>,
    pub upstream_connect_timeout: Option<DurationSetting>,
    pub upstream_response_timeout: Option<DurationSetting>,
    pub body_idle_timeout: Option<DurationSetting>,
    pub drain_timeout: Option<DurationSetting>,
    pub handshake_timeout_seconds: Option<DurationSetting>,
    pub header_read_timeout_seconds: Option<DurationSetting>,
    pub upstream_connect_timeout_seconds: Option<DurationSetting>,
    pub upstream_response_timeout_seconds: Option<DurationSetting>,
    pub body_idle_timeout_seconds: Option<DurationSetting>,
    pub drain_timeout_seconds: Option<DurationSetting>,
}

fn yes() -> bool {
    true
}
fn root() -> String {
    "/".into()
}
fn default_profile() -> String {
    "default".into()
}
fn none() -> String {
    "none".into()
}
fn default_max_body() -> u64 {
    16 * 1024 * 1024
}
fn egress_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 15001))
}

/// An error at a path in the file.
pub type Invalid = (String, String);

/// The parts of the file the proxy is built from.
pub struct ProxySpecs<'a> {
    pub tls: Option<&'a TlsSpec>,
    pub inbound: Option<&'a InboundSpec>,
    pub upstreams: &'a [UpstreamSpec],
    pub egress: Option<&'a EgressSpec>,
    pub limits: &'a LimitsSpec,
    pub access_log: bool,
}

/// Builds the runtime config. `profiles` are the file's validated profiles
/// (plus the built-in `default` unless the file defines one); relative
/// paths are read from `base`.
pub fn build(
    specs: &ProxySpecs<'_>,
    profiles: &BTreeMap<String, MaskerConfig>,
    base: &Path,
) -> Result<ProxyConfig, Invalid> {
    let maskers = Maskers::new(profiles);
    let tls = specs.tls.map(|t| TlsFiles {
        cert: base.join(&t.cert),
        key: base.join(&t.key),
        ca: t.ca.as_ref().map(|c| base.join(c)),
    });
    let limits = limits(specs.limits)?;

    let mut upstreams = Vec::new();
    for (i, u) in specs.upstreams.iter().enumerate() {
        let at = |f: &str| format!("upstreams[{i}].{f}");
        if upstreams.iter().any(|x: &UpstreamConfig| x.name == u.name) {
            return Err((at("name"), format!("upstream `{}` is defined twice", u.name)));
        }
        let url: http::Uri =
            u.url.parse().map_err(|_| (at("url"), "expected a URL such as http://127.0.0.1:8080".into()))?;
        if url.scheme_str() == Some("https") && u.ca.is_none() {
            return Err((at("ca"), "an https upstream needs `ca`, the CA that signs its certificate".into()));
        }
        let client_cert = match (u.client_cert, &tls) {
            (false, _) => None,
            (true, Some(t)) => Some(t.clone()),
            (true, None) => return Err((at("client_cert"), "needs the top-level `tls` section".into())),
        };
        upstreams.push(UpstreamConfig {
            name: u.name.clone(),
            url,
            ca: u.ca.as_ref().map(|c| base.join(c)),
            client_cert,
        });
    }

    let inbound = match specs.inbound {
        None => None,
        Some(spec) => {
            let listener_tls = match (spec.tls, &tls) {
                (false, _) => None,
                (true, Some(t)) => Some(t.clone()),
                (true, None) => {
                    return Err((
                        "inbound.tls".into(),
                        "the inbound listener needs the top-level `tls` section (or `tls: false`)".into(),
                    ));
                }
            };
            let mtls = listener_tls.as_ref().is_some_and(|t| t.ca.is_some());
            let paths = crate::policy::PathOptions {
                merge_slashes: spec.merge_slashes,
                escaped_slashes: match spec.escaped_slashes {
                    EscapedSlashesSpec::Reject => crate::policy::EscapedSlashes::Reject,
                    EscapedSlashesSpec::Keep => crate::policy::EscapedSlashes::Keep,
                },
            };
            let mut routes = Vec::new();
            for (i, r) in spec.routes.iter().enumerate() {
                let at = |f: &str| format!("inbound.routes[{i}].{f}");
                let upstream = upstreams
                    .iter()
                    .position(|u| u.name == r.upstream)
                    .ok_or_else(|| (at("upstream"), format!("no upstream named `{}` in `upstreams`", r.upstream)))?;
                let peers = match &r.allow {
                    AllowSpec::Keyword(k) if k == "any" && mtls => PeerRule::AnyVerified,
                    AllowSpec::Keyword(k) if k == "any" => PeerRule::Anyone,
                    AllowSpec::Keyword(_) => {
                        return Err((at("allow"), "expected a list of identities or `any`".into()));
                    }
                    AllowSpec::Ids(_) if !mtls => {
                        return Err((
                            at("allow"),
                            "identities need mTLS: set `tls.ca` so peers present certificates".into(),
                        ));
                    }
                    AllowSpec::Ids(ids) if ids.is_empty() => {
                        return Err((at("allow"), "an empty list admits nobody; remove the route instead".into()));
                    }
                    AllowSpec::Ids(ids) => PeerRule::Only(ids.clone()),
                };
                let methods = r
                    .methods
                    .iter()
                    .map(|m| http::Method::from_bytes(m.to_ascii_uppercase().as_bytes()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| (at("methods"), "expected HTTP methods such as GET, POST".into()))?;
                if !r.path_prefix.starts_with('/') {
                    return Err((at("path_prefix"), "expected a path starting with `/`".into()));
                }
                if r.path_prefix.contains(';') {
                    return Err((at("path_prefix"), "a prefix matches segment names: drop the `;` parameters".into()));
                }
                match crate::policy::target::canonical_path(&r.path_prefix, paths) {
                    Ok(c) if c == r.path_prefix => {}
                    Ok(c) => return Err((at("path_prefix"), format!("not canonical; write `{c}`"))),
                    Err(e) => return Err((at("path_prefix"), e.to_string())),
                }
                routes.push(Route {
                    name: r.name.clone(),
                    path_prefix: r.path_prefix.clone(),
                    host: r.host.clone(),
                    methods,
                    peers,
                    upstream,
                    request: maskers.rule(&r.request_profile, r.other_types, r.binary, &at("request_profile"))?,
                    response: maskers.rule(&r.response_profile, r.other_types, r.binary, &at("response_profile"))?,
                    max_request_bytes: r.max_request_bytes,
                });
            }
            if routes.is_empty() {
                return Err(("inbound.routes".into(), "the inbound listener needs at least one route".into()));
            }
            Some(InboundConfig {
                listen: spec.listen,
                tls: listener_tls,
                policy: InboundPolicy {
                    routes,
                    paths,
                    xfcc: match spec.xfcc {
                        XfccSpec::Sanitize => crate::policy::Xfcc::Sanitize,
                        XfccSpec::Set => crate::policy::Xfcc::Set,
                        XfccSpec::Forward => crate::policy::Xfcc::Forward,
                    },
                },
                upstreams,
            })
        }
    };

    let egress = match specs.egress {
        None => None,
        Some(spec) => {
            let workload = match &tls {
                Some(t) if t.ca.is_some() => t.clone(),
                _ => {
                    return Err((
                        "egress".into(),
                        "egress needs the top-level `tls` section with `ca` to verify peers".into(),
                    ));
                }
            };
            let mut peers = Vec::new();
            for (i, p) in spec.peers.iter().enumerate() {
                let at = |f: &str| format!("egress.peers[{i}].{f}");
                if p.hosts.is_empty() {
                    return Err((at("hosts"), "name at least one host the app uses for this peer".into()));
                }
                if !p.address.contains(':') {
                    return Err((at("address"), "expected host:port".into()));
                }
                let mask_headers = p
                    .mask_headers
                    .iter()
                    .map(|h| http::HeaderName::from_bytes(h.as_bytes()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| (at("mask_headers"), "expected header names".into()))?;
                peers.push(Arc::new(Peer {
                    name: p.name.clone(),
                    hosts: p.hosts.clone(),
                    address: p.address.clone(),
                    identity: p.identity.clone(),
                    request: maskers.rule(&p.profile, p.other_types, p.binary, &at("profile"))?,
                    mask_headers,
                    mask_query: p.mask_query,
                    request_head: match p.request_head {
                        RequestHeadSpec::Refuse => RequestHead::Refuse,
                        RequestHeadSpec::Mask => RequestHead::Mask,
                    },
                    max_request_bytes: p.max_request_bytes,
                }));
            }
            Some(EgressConfig {
                listen: spec.listen,
                policy: EgressPolicy { peers, opaque_tls: spec.allow_connect.clone() },
                workload,
            })
        }
    };
    Ok(ProxyConfig { inbound, egress, limits, access_log: specs.access_log })
}

/// One `Masker` per profile name, built once and shared by every route.
struct Maskers<'a> {
    profiles: &'a BTreeMap<String, MaskerConfig>,
    built: std::cell::RefCell<BTreeMap<String, Arc<Masker>>>,
}

impl<'a> Maskers<'a> {
    fn new(profiles: &'a BTreeMap<String, MaskerConfig>) -> Maskers<'a> {
        Maskers { profiles, built: Default::default() }
    }

    fn rule(
        &self,
        name: &str,
        other: OtherTypesSpec,
        binary: Option<BinarySpec>,
        at: &str,
    ) -> Result<BodyRule, Invalid> {
        if name == "none" {
            return Ok(BodyRule::passthrough());
        }
        let mut built = self.built.borrow_mut();
        let masker = match built.get(name) {
            Some(m) => m.clone(),
            None => {
                let cfg = self.profiles.get(name).ok_or_else(|| {
                    let known: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
                    (at.to_string(), format!("no profile `{name}`; defined: {}, or `none`", known.join(", ")))
                })?;
                let m = Arc::new(Masker::new(cfg).map_err(|e| (at.to_string(), e.to_string()))?);
                built.insert(name.to_string(), m.clone());
                m
            }
        };
        let other_types = match other {
            OtherTypesSpec::Pass => OtherTypes::Pass,
            OtherTypesSpec::Block => OtherTypes::Block,
            OtherTypesSpec::Text => OtherTypes::Text,
        };
        // Unset under `other_types: block`, binary bodies are blocked too,
        // as they were when they counted as other types.
        let binary = match (binary, other_types) {
            (None, OtherTypes::Block) => Binary::Block,
            (None, _) => Binary::Default,
            (Some(BinarySpec::Pass), _) => Binary::Pass,
            (Some(BinarySpec::Block), _) => Binary::Block,
        };
        Ok(BodyRule { masker: Some(masker), other_types, binary })
    }
}

pub use crate::proxy::MAX_CONNECTIONS;

fn limits(spec: &LimitsSpec) -> Result<Limits, Invalid> {
    let d = Limits::default();
    // One timeout under its name or its older `_seconds` name, not both.
    let timeout = |name: &str, current: &Option<DurationSetting>, old: &Option<DurationSetting>, default: Duration| {
        let (key, setting) = match (current, old) {
            (None, None) => return Ok(default),
            (Some(s), None) => (format!("limits.{name}"), s),
            (None, Some(s)) => (format!("limits.{name}_seconds"), s),
            (Some(_), Some(_)) => {
                return Err((
                    format!("limits.{name}"),
                    format!("also given as `limits.{name}_seconds`, its older name; keep one"),
                ));
            }
        };
        setting.to_duration().map_err(|e| (key, e.to_string()))
    };
    let at_least_one = |name: &str, v: Option<usize>, default: usize| match v {
        Some(0) => Err((format!("limits.{name}"), "must be at least 1 (0 would refuse everything)".to_string())),
        v => Ok(v.unwrap_or(default)),
    };
    if spec.max_connections.is_some_and(|n| n > MAX_CONNECTIONS) {
        return Err(("limits.max_connections".into(), format!("must be at most {MAX_CONNECTIONS}")));
    }
    Ok(Limits {
        max_connections: at_least_one("max_connections", spec.max_connections, d.max_connections)?,
        max_header_bytes: at_least_one("max_header_bytes", spec.max_header_bytes, d.max_header_bytes)?,
        handshake_timeout: timeout(
            "handshake_timeout",
            &spec.handshake_timeout,
            &spec.handshake_timeout_seconds,
            d.handshake_timeout,
        )?,
        header_read_timeout: timeout(
            "header_read_timeout",
            &spec.header_read_timeout,
            &spec.header_read_timeout_seconds,
            d.header_read_timeout,
        )?,
        upstream_connect_timeout: timeout(
            "upstream_connect_timeout",
            &spec.upstream_connect_timeout,
            &spec.upstream_connect_timeout_seconds,
            d.upstream_connect_timeout,
        )?,
        upstream_response_timeout: timeout(
            "upstream_response_timeout",
            &spec.upstream_response_timeout,
            &spec.upstream_response_timeout_seconds,
            d.upstream_response_timeout,
        )?,
        body_idle_timeout: timeout(
            "body_idle_timeout",
            &spec.body_idle_timeout,
            &spec.body_idle_timeout_seconds,
            d.body_idle_timeout,
        )?,
        drain_timeout: timeout("drain_timeout", &spec.drain_timeout, &spec.drain_timeout_seconds, d.drain_timeout)?,
    })
}
