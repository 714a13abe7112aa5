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
use super::respond::{PEER_HEADER, ProxyBody, Refused, narrow_accept_encoding, strip_hop_by_hop, wants_upgrade};
use super::state::InboundState;
use crate::policy::Refusal;
use crate::tls::PeerIdentity;

/// The inbound listener: routes, upstreams and TLS as its state.
pub type Inbound = Listener<InboundState>;

impl Listener<InboundState> {
    /// Serves one accepted connection to its end.
    pub async fn serve_connection(self: Arc<Self>, tcp: TcpStream, remote: SocketAddr, watcher: Watcher) {
        let tcp = Lingering::new(tcp);
        let Some(acceptor) = self.state.get().tls.clone() else {
            return self.serve_http(tcp, None, watcher).await;
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
        let peer = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(PeerIdentity::from_certificate);
        self.serve_http(tls, peer.map(Arc::new), watcher).await;
    }

    async fn serve_http<IO>(self: Arc<Self>, io: IO, peer: Option<Arc<PeerIdentity>>, watcher: Watcher)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let inbound = self.clone();
        let service = service_fn(move |request| {
            let inbound = inbound.clone();
            let peer = peer.clone();
            async move { Ok::<_, Infallible>(inbound.handle(request, peer.as_deref()).await) }
        });
        let connection = self.server.serve_connection(TokioIo::new(io), service).into_owned();
        if let Err(e) = watcher.watch(connection).await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }

    async fn handle(&self, request: Request<Incoming>, peer: Option<&PeerIdentity>) -> Response<ProxyBody> {
        let presented = peer.map_or_else(|| "none".to_string(), ToString::to_string);
        let mut exchange =
            Exchange::new(self.metrics.clone(), "inbound", presented, request.method().clone(), self.access_log);
        let state = self.state.get();
        let outcome = self.forward(&state, request, peer, &mut exchange).await;
        exchange.respond(outcome)
    }

    async fn forward(
        &self,
        state: &InboundState,
        request: Request<Incoming>,
        peer: Option<&PeerIdentity>,
        exchange: &mut Exchange,
    ) -> Result<Response<ProxyBody>, Refused> {
        let host = request
            .uri()
            .host()
            .map(str::to_string)
            .or_else(|| request.headers().get(header::HOST).and_then(|h| h.to_str().ok()).map(str::to_string));
        let path = request.uri().path_and_query().map_or("/", |p| p.as_str()).to_string();
        let route = state.policy.route_for(request.method(), host.as_deref(), &path).ok_or(Refused::NO_ROUTE)?;
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
        parts.headers.remove(PEER_HEADER);
        if let Some(id) = peer.and_then(|p| HeaderValue::from_str(&p.to_string()).ok()) {
            parts.headers.insert(PEER_HEADER, id);
        }
        if !parts.headers.contains_key(header::HOST)
            && let Some(h) = host.as_deref().and_then(|h| HeaderValue::from_str(h).ok())
        {
            parts.headers.insert(header::HOST, h);
        }
        if route.response.masker.is_some() {
            narrow_accept_encoding(&mut parts.headers);
        }
        parts.uri = upstream.uri_for(&path).map_err(|_| Refused::BAD_TARGET)?;
        parts.version = http::Version::HTTP_11;
        let body = forward::request_body(
            &route.request,
            &mut parts.headers,
            body,
            route.max_request_bytes,
            self.limits.body_idle_timeout,
            exchange.mask_report("request"),
        )?;
        let response = forward::send(
            &upstream.name,
            &upstream.client,
            Request::from_parts(parts, body),
            self.limits.upstream_response_timeout,
        )
        .await?;
        forward::response(
            &route.response,
            &method,
            response,
            self.limits.body_idle_timeout,
            exchange.mask_report("response"),
        )
    }
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
