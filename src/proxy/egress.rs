//! The egress listener (app → peers): plain HTTP on localhost, reached as an
//! HTTP forward proxy (`HTTP_PROXY`, absolute-form targets) or by `Host`.
//! Only the configured peers are reachable; each is dialled over mTLS with
//! the workload's certificate and must prove the identity the config
//! expects. The request body, the query string and the named headers are
//! masked with the peer's profile before they leave. `CONNECT` is refused
//! unless the destination is allowed as opaque TLS.

use std::convert::Infallible;
use std::sync::Arc;

use http::header::{self, HeaderValue};
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
use super::respond::{ProxyBody, Refused, full, strip_hop_by_hop};
use super::state::EgressState;
use crate::mask::{ContentKind, MaskStream, Masker};
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
        if let Some(masker) = &peer.request.masker {
            mask_headers(masker, peer, &mut parts.headers);
        }
        parts.uri = peer_uri(peer, &parts.uri)?;
        parts.version = http::Version::HTTP_11;
        let body = forward::request_body(
            &peer.request,
            &mut parts.headers,
            body,
            peer.max_request_bytes,
            self.limits.body_idle_timeout,
            exchange,
        )?;
        let response =
            forward::send(&peer.name, client, Request::from_parts(parts, body), self.limits.upstream_response_timeout)
                .await?;
        forward::response(&BodyRule::passthrough(), &Method::GET, response, self.limits.body_idle_timeout, exchange)
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

/// `https://<peer address><path>?<masked query>`.
fn peer_uri(peer: &Peer, uri: &Uri) -> Result<Uri, Refused> {
    let bad = || Refused::BAD_TARGET;
    let mut path_and_query = uri.path().to_string();
    if let Some(query) = uri.query() {
        path_and_query.push('?');
        match (&peer.request.masker, peer.mask_query) {
            (Some(masker), true) => path_and_query.push_str(&mask_query(masker, query)),
            _ => path_and_query.push_str(query),
        }
    }
    Uri::builder()
        .scheme("https")
        .authority(peer.address.as_str())
        .path_and_query(path_and_query)
        .build()
        .map_err(|_| bad())
}

/// Masks each value of a form-encoded query (decoded first, so
/// `ana%40example.com` is found); the query is rewritten only if a value
/// changed.
pub fn mask_query(masker: &Arc<Masker>, query: &str) -> String {
    let mut changed = false;
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            let masked = mask_text(masker, v.as_bytes());
            changed |= masked != v.as_bytes();
            (k.into_owned(), String::from_utf8_lossy(&masked).into_owned())
        })
        .collect();
    if !changed {
        return query.to_string();
    }
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn mask_headers(masker: &Arc<Masker>, peer: &Peer, headers: &mut http::HeaderMap) {
    for name in &peer.mask_headers {
        let values: Vec<HeaderValue> = headers
            .get_all(name)
            .iter()
            .map(|v| {
                HeaderValue::from_bytes(&mask_text(masker, v.as_bytes()))
                    .unwrap_or(HeaderValue::from_static("[REDACTED]"))
            })
            .collect();
        headers.remove(name);
        for v in values {
            headers.append(name, v);
        }
    }
}

/// A short value masked as text.
pub fn mask_text(masker: &Arc<Masker>, value: &[u8]) -> Vec<u8> {
    MaskStream::mask_all(masker.clone(), ContentKind::Text, value).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker() -> Arc<Masker> {
        Arc::new(Masker::new(&crate::patterns::default_config()).expect("default profile"))
    }

    #[test]
    fn query_values_are_decoded_before_masking() {
        let m = masker();
        assert_eq!(mask_query(&m, "user=ana%40example.com&page=2"), "user=%5BEMAIL%5D&page=2");
        assert_eq!(mask_query(&m, "q=shoes+red&page=2"), "q=shoes+red&page=2");
    }

    #[test]
    fn header_values_are_masked_as_text() {
        assert_eq!(mask_text(&masker(), b"ana@example.com"), b"[EMAIL]");
    }
}
