//! The egress listener (app → peers): plain HTTP on localhost, reached as an
//! HTTP forward proxy (`HTTP_PROXY`, absolute-form targets) or by `Host`.
//! Only the configured peers are reachable; each is dialled over mTLS with
//! the workload's certificate and must prove the identity the config
//! expects. The request body is masked with the peer's profile before it
//! leaves, and the request head is guarded (`request_head`): query values
//! and listed headers masked, personal data elsewhere in it refused.
//! `CONNECT` is refused unless the destination is allowed as opaque TLS.

use std::convert::Infallible;
use std::sync::Arc;

use http::header;
use http::{Method, Request, Response, Uri};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::Watcher;
use tokio::net::TcpStream;

use super::audit::Exchange;
use super::forward;
use super::linger::Lingering;
use super::listener::Listener;
use super::request_head::{self, Part, PersonalData};
use super::respond::{ProxyBody, Refused, full, strip_hop_by_hop};
use super::state::EgressState;
use crate::mask::ValueMasker;
use crate::policy::{BodyRule, Peer};

/// The egress listener: peers and their mTLS clients as its state.
pub type Egress = Listener<EgressState>;

impl Listener<EgressState> {
    pub async fn serve_connection(self: Arc<Self>, tcp: TcpStream, watcher: Watcher) {
        let egress = self.clone();
        let service = service_fn(move |request| {
            let egress = egress.clone();
            async move { Ok::<_, Infallible>(egress.handle(request).await) }
        });
        let connection =
            self.server.serve_connection_with_upgrades(TokioIo::new(Lingering::new(tcp)), service).into_owned();
        if let Err(e) = watcher.watch(connection).await {
            tracing::debug!(error = %e, "egress connection ended with an error");
        }
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<ProxyBody> {
        // The caller is the app beside the sidecar.
        let mut exchange =
            Exchange::new(self.metrics.clone(), "egress", "app".into(), request.method().clone(), self.access_log);
        let state = self.state.get();
        let outcome = self.forward(&state, request, &mut exchange).await;
        exchange.respond(outcome)
    }

    async fn forward(
        &self,
        state: &EgressState,
        request: Request<Incoming>,
        exchange: &mut Exchange,
    ) -> Result<Response<ProxyBody>, Refused> {
        if request.method() == Method::CONNECT {
            return self.tunnel(state, request);
        }
        let host = request
            .uri()
            .host()
            .or_else(|| request.headers().get(header::HOST).and_then(|h| h.to_str().ok()))
            .unwrap_or("")
            .to_string();
        let Some((index, peer)) = state.policy.peer_for(&host) else {
            return Err(Refused::UNKNOWN_DESTINATION);
        };
        exchange.route.clone_from(&peer.name);
        exchange.peer_label.clone_from(&peer.name);
        exchange.upstream.clone_from(&peer.name);
        let client = state.clients.get(index).ok_or(Refused::UPSTREAM_UNAVAILABLE)?;
        if request.headers().contains_key(header::UPGRADE) {
            return Err(Refused::UPGRADE_NOT_ALLOWED);
        }
        let (mut parts, body) = request.into_parts();
        strip_hop_by_hop(&mut parts.headers);
        // The peer is reached at its configured address, over HTTP/2 when
        // it offers it, where a Host unlike `:authority` is malformed (RFC
        // 9113 §8.3.1) and refused by a piimask peer: both name the address.
        parts.headers.remove(header::HOST);
        let path_and_query = match &peer.request.masker {
            Some(masker) => {
                let mut values = ValueMasker::new(masker.clone());
                let target = request_head::guard(peer, &mut values, &parts.uri, &mut parts.headers)
                    .map_err(|found| refuse_head(peer, &found, exchange))?;
                if !values.is_empty() {
                    exchange.part_report("request", "head")(&values.stats());
                }
                target
            }
            None => parts.uri.path_and_query().map_or_else(|| "/".to_string(), ToString::to_string),
        };
        parts.uri = peer_uri(peer, path_and_query)?;
        parts.version = http::Version::HTTP_11;
        let body = forward::request_body(
            &peer.request,
            &mut parts.headers,
            body,
            peer.max_request_bytes,
            self.limits.body_idle_timeout,
            exchange,
        )
        .await?;
        let response =
            forward::send(&peer.name, client, Request::from_parts(parts, body), self.limits.upstream_response_timeout)
                .await?;
        forward::response(&BodyRule::passthrough(), &Method::GET, response, self.limits.body_idle_timeout, exchange)
            .await
    }

    /// `CONNECT host:port`: an opaque TLS tunnel, only where allowed.
    fn tunnel(&self, state: &EgressState, request: Request<Incoming>) -> Result<Response<ProxyBody>, Refused> {
        let authority = request.uri().authority().map(|a| a.as_str().to_string()).unwrap_or_default();
        if !state.policy.allows_opaque(&authority) {
            return Err(Refused::CONNECT_NOT_ALLOWED);
        }
        let connect_timeout = self.limits.upstream_connect_timeout;
        tokio::spawn(async move {
            let upstream = match tokio::time::timeout(connect_timeout, TcpStream::connect(authority.as_str())).await {
                Ok(Ok(tcp)) => tcp,
                _ => {
                    tracing::warn!(destination = %authority, "opaque tunnel: connect failed");
                    return;
                }
            };
            match hyper::upgrade::on(request).await {
                Ok(upgraded) => {
                    let mut upgraded = TokioIo::new(upgraded);
                    let mut upstream = upstream;
                    let _ = tokio::io::copy_bidirectional(&mut upgraded, &mut upstream).await;
                }
                Err(e) => tracing::debug!(error = %e, "opaque tunnel: upgrade failed"),
            }
        });
        Ok(Response::new(full(bytes::Bytes::new())))
    }
}

/// `https://<peer address><path and query>`.
fn peer_uri(peer: &Peer, path_and_query: String) -> Result<Uri, Refused> {
    Uri::builder()
        .scheme("https")
        .authority(peer.address.as_str())
        .path_and_query(path_and_query)
        .build()
        .map_err(|_| Refused::BAD_TARGET)
}

/// The refusal for personal data in a request head, with the sentence
/// the app reads: the peer, the part and the detector, never the value.
fn refuse_head(peer: &Peer, found: &PersonalData, exchange: &mut Exchange) -> Refused {
    exchange.detail = Some(format!(
        "egress request to {} carries personal data in its {} (detector {}); refused",
        peer.name,
        found.part.label(),
        found.detector
    ));
    match found.part {
        Part::Path => Refused::REQUEST_PATH_PERSONAL_DATA,
        Part::QueryKey => Refused::REQUEST_QUERY_KEY_PERSONAL_DATA,
        Part::Header => Refused::REQUEST_HEADER_PERSONAL_DATA,
    }
}
