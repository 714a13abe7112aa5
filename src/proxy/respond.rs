//! Responses piimask writes itself (refusals and upstream failures) and the
//! header hygiene every forwarded message gets.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

use super::BoxError;

/// The body type of everything the proxy sends.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// Tells the app which verified peer called it. Any copy a client sends is
/// removed first, so the app can trust it.
pub const PEER_HEADER: HeaderName = HeaderName::from_static("x-piimask-peer");

/// A request piimask answers itself instead of forwarding: a status and a
/// fixed reason phrase (also a bounded label for logs and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub status: StatusCode,
    pub reason: &'static str,
}

impl Refused {
    pub const fn new(status: StatusCode, reason: &'static str) -> Refused {
        Refused { status, reason }
    }

    pub fn into_response(self) -> Response<ProxyBody> {
        answer(self.status, self.reason)
    }
}

/// A short plain-text answer from piimask itself: `piimask: <reason>`. The
/// reason is a fixed phrase, never anything taken from the request.
pub fn answer(status: StatusCode, reason: &'static str) -> Response<ProxyBody> {
    let mut response = Response::new(full(Bytes::from(format!("piimask: {reason}\n"))));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response.headers_mut().insert("x-piimask-reason", HeaderValue::from_static(reason));
    response
}

pub fn full(bytes: Bytes) -> ProxyBody {
    Full::new(bytes).map_err(|never| match never {}).boxed_unsync()
}

/// Removes the hop-by-hop headers (RFC 9110 §7.6.1), including those the
/// `Connection` header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        HeaderName::from_static("keep-alive"),
        HeaderName::from_static("proxy-connection"),
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
}

/// True for requests that ask to switch protocols (WebSocket, h2c) or to
/// tunnel: piimask cannot mask what flows after the switch.
pub fn wants_upgrade(method: &http::Method, headers: &HeaderMap) -> bool {
    method == http::Method::CONNECT || headers.contains_key(header::UPGRADE)
}

/// Keeps only the codings piimask can decode in an `Accept-Encoding`, so
/// the upstream does not answer in one it would have to refuse.
pub fn narrow_accept_encoding(headers: &mut HeaderMap) {
    let Some(value) = headers.get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()) else { return };
    let kept: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|c| {
            let name = c.split(';').next().unwrap_or("").trim();
            ["gzip", "x-gzip", "deflate", "identity"].iter().any(|k| name.eq_ignore_ascii_case(k))
        })
        .collect();
    let narrowed = if kept.is_empty() { "identity".to_string() } else { kept.join(", ") };
    if let Ok(v) = HeaderValue::from_str(&narrowed) {
        headers.insert(header::ACCEPT_ENCODING, v);
    }
}

/// The status and reason for a failed upstream exchange.
pub fn upstream_failure(error: &BoxError) -> Refused {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return Refused::new(StatusCode::PAYLOAD_TOO_LARGE, "request body is larger than this route allows");
        }
        source = e.source();
    }
    Refused::new(StatusCode::BAD_GATEWAY, "upstream failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go_including_those_connection_names() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, x-secret-hop"));
        h.insert("x-secret-hop", HeaderValue::from_static("1"));
        h.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        strip_hop_by_hop(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key(header::CONTENT_TYPE));
    }

    #[test]
    fn accept_encoding_keeps_what_piimask_decodes() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0.8, zstd"));
        narrow_accept_encoding(&mut h);
        assert_eq!(h[header::ACCEPT_ENCODING], "gzip;q=0.8");
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br"));
        narrow_accept_encoding(&mut h);
        assert_eq!(h[header::ACCEPT_ENCODING], "identity");
    }
}
