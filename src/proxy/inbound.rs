//! The inbound listener (peers → app, or a gateway's clients → services):
//! terminates TLS, reads the peer's identity from its verified certificate,
//! asks the policy for the route, and forwards to the route's upstream with
//! the bodies masked as the route says. A refused peer gets a short 403 and
//! the upstream is never contacted.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use http::header::{self, HeaderValue};
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::Watcher;
use tokio::net::TcpStream;

use super::audit::Exchange;
use super::forward;
use super::linger::Lingering;
use super::listener::Listener;
use super::respond::{
    PEER_HEADER, ProxyBody, Refused, ask_for_a_maskable_response, strip_hop_by_hop, strip_identity_headers,
    wants_upgrade,
};
use super::state::InboundState;
use crate::policy::{Refusal, Xfcc, authority, target};
use crate::tls::{IdentityError, PeerIdentity};

/// The inbound listener: routes, upstreams and TLS as its state.
pub type Inbound = Listener<InboundState>;

impl Listener<InboundState> {
    /// Serves one accepted connection to its end.
    pub async fn serve_connection(self: Arc<Self>, tcp: TcpStream, remote: SocketAddr, watcher: Watcher) {
        let tcp = Lingering::new(tcp);
        let Some(acceptor) = self.state.get().tls.clone() else {
            return self.serve_http(tcp, Arc::new(Caller::default()), watcher).await;
        };
        let tls = match tokio::time::timeout(self.limits.handshake_timeout, acceptor.accept(tcp)).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(e)) => {
                let reason = handshake_failure(&e);
                self.metrics.tls_handshake_failures.with_label_values(&["inbound", reason]).inc();
                tracing::info!(target: "piimask::audit", event = "handshake_refused", listener = "inbound", %remote, reason, detail = %e, "TLS handshake refused");
                return;
            }
            Err(_) => {
                self.metrics.tls_handshake_failures.with_label_values(&["inbound", "timeout"]).inc();
                tracing::info!(%remote, "TLS handshake timed out");
                return;
            }
        };
        let caller = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map_or_else(Caller::default, |cert| {
            Caller { identity: PeerIdentity::from_svid(cert).map(Some), cert_sha256: Some(sha256_hex(cert.as_ref())) }
        });
        if let Err(e) = &caller.identity {
            tracing::info!(target: "piimask::audit", event = "identity_refused", listener = "inbound", %remote, reason = e.code(), detail = %e, "client certificate refused");
        }
        self.serve_http(tls, Arc::new(caller), watcher).await;
    }

    async fn serve_http<IO>(self: Arc<Self>, io: IO, caller: Arc<Caller>, watcher: Watcher)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let inbound = self.clone();
        let service = service_fn(move |request| {
            let inbound = inbound.clone();
            let caller = caller.clone();
            async move { Ok::<_, Infallible>(inbound.handle(request, &caller).await) }
        });
        let connection = self.server.serve_connection(TokioIo::new(io), service).into_owned();
        if let Err(e) = watcher.watch(connection).await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }

    async fn handle(&self, request: Request<Incoming>, caller: &Caller) -> Response<ProxyBody> {
        let presented = match &caller.identity {
            Ok(peer) => peer.as_ref().map_or_else(|| "none".to_string(), ToString::to_string),
            Err(IdentityError::SeveralUris { uris, .. }) => uris.join(","),
            Err(IdentityError::Unreadable) => "unreadable".to_string(),
            Err(IdentityError::MalformedSpiffeId) => "malformed-spiffe-id".to_string(),
        };
        let mut exchange =
            Exchange::new(self.metrics.clone(), "inbound", presented, request.method().clone(), self.access_log);
        let outcome = match &caller.identity {
            Ok(peer) => {
                let state = self.state.get();
                self.forward(&state, request, peer.as_ref(), caller.cert_sha256.as_deref(), &mut exchange).await
            }
            Err(e) => Err(Refused::identity(e)),
        };
        exchange.respond(outcome)
    }

    async fn forward(
        &self,
        state: &InboundState,
        request: Request<Incoming>,
        peer: Option<&PeerIdentity>,
        cert_sha256: Option<&str>,
        exchange: &mut Exchange,
    ) -> Result<Response<ProxyBody>, Refused> {
        let default_port = if state.tls.is_some() { 443 } else { 80 };
        let hosts: Vec<&[u8]> = request.headers().get_all(header::HOST).iter().map(HeaderValue::as_bytes).collect();
        let authority = authority::request_authority(
            request.version(),
            request.uri().authority().map(http::uri::Authority::as_str),
            &hosts,
            default_port,
        )
        .map_err(Refused::authority)?;
        if request.method().as_str().bytes().any(|b| b.is_ascii_lowercase()) {
            return Err(Refused::METHOD_NOT_UPPER_CASE);
        }
        // Absolute-form without a path is `/`; authority-form
        // (`GET host:443`) is CONNECT's alone, and CONNECT is refused.
        let raw_target = match request.uri().path_and_query() {
            Some(target) => target.as_str(),
            None if request.uri().scheme().is_some() => "/",
            None => return Err(Refused::target(target::TargetError::NotOriginForm)),
        };
        let target = target::canonicalize(raw_target, state.policy.paths).map_err(Refused::target)?;
        let route =
            state.policy.route_for(request.method(), authority.as_deref(), target.path()).ok_or(Refused::NO_ROUTE)?;
        exchange.route.clone_from(&route.name);
        route.admits(peer).map_err(|r| match r {
            Refusal::NoRoute => Refused::NO_ROUTE,
            Refusal::NoCertificate => Refused::NO_CERTIFICATE,
            Refusal::PeerNotAllowed => Refused::PEER_NOT_ALLOWED,
        })?;
        exchange.peer_label = route.peer_label(peer).to_string();
        if wants_upgrade(request.method(), request.headers()) {
            return Err(Refused::UPGRADE_NOT_ALLOWED);
        }
        let upstream = state.upstreams.get(route.upstream).ok_or(Refused::UPSTREAM_UNAVAILABLE)?;
        exchange.upstream.clone_from(&upstream.name);
        let method = request.method().clone();
        let (mut parts, body) = request.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        strip_identity_headers(&mut parts.headers, state.policy.xfcc == Xfcc::Forward);
        // The name the route admitted is the name the app is told.
        let admitted = peer.and_then(|p| route.admitted_name(p));
        if let Some(id) = admitted.and_then(|name| HeaderValue::from_str(name).ok()) {
            parts.headers.insert(PEER_HEADER, id);
        }
        if state.policy.xfcc == Xfcc::Set
            && let (Some(p), Some(hash)) = (peer, cert_sha256)
        {
            let value = xfcc_value(state.own_identity.as_deref(), hash, p);
            if let Ok(v) = HeaderValue::from_str(&value) {
                parts.headers.insert(XFCC_HEADER, v);
            }
        }
        // The one authority routing judged is the one the app reads. A TLS
        // upstream (a gateway's service) may speak HTTP/2, where a Host
        // that differs from `:authority` (the upstream's own, from its
        // URL) is malformed: it gets the upstream's authority in both.
        parts.headers.remove(header::HOST);
        if !upstream.is_tls()
            && let Some(h) = authority.as_deref().and_then(|h| HeaderValue::from_str(h).ok())
        {
            parts.headers.insert(header::HOST, h);
        }
        if route.response.masker.is_some() {
            ask_for_a_maskable_response(&mut parts.headers);
        }
        // The canonical target, never the raw one: what piimask judged is
        // exactly what the app reads.
        parts.uri = upstream.uri_for(&target.path_and_query()).map_err(|_| Refused::BAD_TARGET)?;
        parts.version = http::Version::HTTP_11;
        let body = forward::request_body(
            &route.request,
            &mut parts.headers,
            body,
            route.max_request_bytes,
            self.limits.body_idle_timeout,
            exchange,
        )
        .await?;
        let response = forward::send(
            &upstream.name,
            &upstream.client,
            Request::from_parts(parts, body),
            self.limits.upstream_response_timeout,
        )
        .await?;
        forward::response(&route.response, &method, response, self.limits.body_idle_timeout, exchange).await
    }
}

/// Envoy's header for the client certificate's details.
const XFCC_HEADER: http::HeaderName = http::HeaderName::from_static("x-forwarded-client-cert");

/// Who is on the other end of a connection, read once per connection from
/// its verified certificate.
#[derive(Debug)]
struct Caller {
    /// `Ok(None)` without a certificate; an error refuses every request.
    identity: Result<Option<PeerIdentity>, IdentityError>,
    /// SHA-256 of the certificate's DER, hex, for `xfcc: set`.
    cert_sha256: Option<String>,
}

impl Default for Caller {
    fn default() -> Caller {
        Caller { identity: Ok(None), cert_sha256: None }
    }
}

fn sha256_hex(der: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(der).iter().fold(String::with_capacity(64), |mut hex, b| {
        use std::fmt::Write;
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// Envoy's SANITIZE_SET form: `By=<own URI>;Hash=<sha256>;URI=<peer URI>`
/// (`DNS=<name>` for each DNS name of a certificate without a URI SAN).
fn xfcc_value(own: Option<&str>, hash: &str, peer: &PeerIdentity) -> String {
    let mut value = String::new();
    if let Some(own) = own {
        value.push_str(&format!("By={own};"));
    }
    value.push_str(&format!("Hash={hash}"));
    match peer.uris.first() {
        Some(uri) => value.push_str(&format!(";URI={uri}")),
        None => peer.dns_names.iter().for_each(|d| value.push_str(&format!(";DNS={d}"))),
    }
    value
}

/// A bounded label for why a TLS handshake failed.
fn handshake_failure(e: &std::io::Error) -> &'static str {
    use rustls::{CertificateError, Error};
    match e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) {
        Some(Error::NoCertificatesPresented) => "no_certificate",
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer)) => "unknown_ca",
        Some(Error::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. })) => {
            "expired"
        }
        Some(Error::InvalidCertificate(_)) => "bad_certificate",
        Some(Error::AlertReceived(_)) => "alert_received",
        Some(_) => "protocol",
        None => "io",
    }
}
