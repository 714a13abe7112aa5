//! Responses piimask writes itself (refusals and upstream failures) and the
//! header hygiene every forwarded message gets.

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

use super::BoxError;
use super::pipeline::Coding;

/// The body type of everything the proxy sends.
pub type ProxyBody = UnsyncBoxBody<Bytes, BoxError>;

/// Tells the app which verified peer called it. Any copy a client sends is
/// removed first, so the app can trust it.
pub const PEER_HEADER: HeaderName = HeaderName::from_static("x-piimask-peer");

/// How a request ended, for metrics and audit events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Forwarded,
    /// The policy refused the peer or the destination.
    Refused,
    /// A body could not be masked safely, so it was not passed.
    Blocked,
    /// The request itself was unacceptable (too large, bad target).
    Rejected,
    UpstreamError,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Forwarded => "forwarded",
            Outcome::Refused => "refused",
            Outcome::Blocked => "blocked",
            Outcome::Rejected => "rejected",
            Outcome::UpstreamError => "upstream_error",
        }
    }
}

/// A request piimask answers itself instead of forwarding: the outcome, a
/// status, a short code (a bounded label for metrics and audit events) and
/// a fixed reason phrase for the peer. Every such answer is one of the
/// constants below, never text taken from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub outcome: Outcome,
    pub status: StatusCode,
    pub code: &'static str,
    pub reason: &'static str,
}

const GRPC_REASON: &str =
    "application/grpc bodies cannot be masked yet; set binary: pass on this route to let them through unmasked";
const PROTOBUF_REASON: &str =
    "protobuf bodies cannot be masked yet; set binary: pass on this route to let them through unmasked";
const BINARY_REASON: &str = "binary bodies (media, archives, fonts) are blocked on this route by binary: block";

impl Refused {
    /// The refusal of a binary body of `kind`, in a request or a response.
    pub fn binary(kind: crate::policy::BinaryKind, request: bool) -> Refused {
        use crate::policy::BinaryKind::{Grpc, Media, Protobuf};
        match (kind, request) {
            (Grpc, true) => Refused::REQUEST_GRPC,
            (Protobuf, true) => Refused::REQUEST_PROTOBUF,
            (Media, true) => Refused::REQUEST_BINARY_BLOCKED,
            (Grpc, false) => Refused::RESPONSE_GRPC,
            (Protobuf, false) => Refused::RESPONSE_PROTOBUF,
            (Media, false) => Refused::RESPONSE_BINARY_BLOCKED,
        }
    }

    const fn new(outcome: Outcome, status: StatusCode, code: &'static str, reason: &'static str) -> Refused {
        Refused { outcome, status, code, reason }
    }

    pub const NO_ROUTE: Refused =
        Refused::new(Outcome::Refused, StatusCode::NOT_FOUND, "no_route", "no route matches this request");
    pub const NO_CERTIFICATE: Refused = Refused::new(
        Outcome::Refused,
        StatusCode::FORBIDDEN,
        "no_certificate",
        "this route requires a client certificate",
    );
    pub const PEER_NOT_ALLOWED: Refused = Refused::new(
        Outcome::Refused,
        StatusCode::FORBIDDEN,
        "peer_not_allowed",
        "peer identity is not allowed on this route",
    );
    /// `delete` is not `DELETE` to piimask's routes (methods are
    /// case-sensitive), but many frameworks upper-case it before they
    /// dispatch: a route limited to `DELETE` would be passed by.
    pub const METHOD_NOT_UPPER_CASE: Refused = Refused::new(
        Outcome::Refused,
        StatusCode::BAD_REQUEST,
        "method_not_upper_case",
        "the request method must be upper-case",
    );
    pub const UPGRADE_NOT_ALLOWED: Refused = Refused::new(
        Outcome::Refused,
        StatusCode::FORBIDDEN,
        "upgrade_not_allowed",
        "protocol upgrades and tunnels are not allowed here",
    );
    pub const UNKNOWN_DESTINATION: Refused = Refused::new(
        Outcome::Refused,
        StatusCode::FORBIDDEN,
        "unknown_destination",
        "destination is not a configured peer",
    );
    pub const CONNECT_NOT_ALLOWED: Refused = Refused::new(
        Outcome::Refused,
        StatusCode::FORBIDDEN,
        "connect_not_allowed",
        "CONNECT is not allowed to this destination",
    );
    /// Personal data in an egress request's path, query keys or headers,
    /// under `request_head: refuse`.
    pub const REQUEST_PATH_PERSONAL_DATA: Refused = Refused::new(
        Outcome::Refused,
        StatusCode::FORBIDDEN,
        "request_path_personal_data",
        "egress request carries personal data in its path; refused",
    );
    pub const REQUEST_QUERY_KEY_PERSONAL_DATA: Refused = Refused::new(
        Outcome::Refused,
        StatusCode::FORBIDDEN,
        "request_query_key_personal_data",
        "egress request carries personal data in its query keys; refused",
    );
    pub const REQUEST_HEADER_PERSONAL_DATA: Refused = Refused::new(
        Outcome::Refused,
        StatusCode::FORBIDDEN,
        "request_header_personal_data",
        "egress request carries personal data in its headers; refused",
    );
    pub const REQUEST_TOO_LARGE: Refused = Refused::new(
        Outcome::Rejected,
        StatusCode::PAYLOAD_TOO_LARGE,
        "request_too_large",
        "request body is larger than this route allows",
    );
    pub const BAD_TARGET: Refused =
        Refused::new(Outcome::Rejected, StatusCode::BAD_REQUEST, "bad_target", "request target cannot be forwarded");
    pub const REQUEST_TYPE_BLOCKED: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request_type_blocked",
        "request body type is blocked by policy",
    );
    pub const REQUEST_ENCODING_UNSUPPORTED: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request_encoding_unsupported",
        "request content encoding cannot be masked (use gzip, deflate, br or zstd)",
    );
    pub const REQUEST_ENCODING_TOO_DEEP: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request_encoding_too_deep",
        "request body has more than 4 content codings",
    );
    pub const REQUEST_GRPC: Refused =
        Refused::new(Outcome::Blocked, StatusCode::UNSUPPORTED_MEDIA_TYPE, "request_grpc_blocked", GRPC_REASON);
    pub const REQUEST_PROTOBUF: Refused =
        Refused::new(Outcome::Blocked, StatusCode::UNSUPPORTED_MEDIA_TYPE, "request_protobuf_blocked", PROTOBUF_REASON);
    pub const REQUEST_BINARY_BLOCKED: Refused =
        Refused::new(Outcome::Blocked, StatusCode::UNSUPPORTED_MEDIA_TYPE, "request_binary_blocked", BINARY_REASON);
    pub const RESPONSE_GRPC: Refused =
        Refused::new(Outcome::Blocked, StatusCode::BAD_GATEWAY, "response_grpc_blocked", GRPC_REASON);
    pub const RESPONSE_PROTOBUF: Refused =
        Refused::new(Outcome::Blocked, StatusCode::BAD_GATEWAY, "response_protobuf_blocked", PROTOBUF_REASON);
    pub const RESPONSE_BINARY_BLOCKED: Refused =
        Refused::new(Outcome::Blocked, StatusCode::BAD_GATEWAY, "response_binary_blocked", BINARY_REASON);
    /// The request body failed before its first bytes could be judged.
    pub const REQUEST_BODY_FAILED: Refused = Refused::new(
        Outcome::Rejected,
        StatusCode::BAD_REQUEST,
        "request_body_failed",
        "the request body could not be read",
    );
    pub const REQUEST_CHARSET_UNSUPPORTED: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request_charset_unsupported",
        "request charset cannot be masked (use UTF-8, UTF-16, UTF-32 or a charset of the WHATWG Encoding Standard)",
    );
    pub const REQUEST_MESSAGE_REFUSED: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request_message_refused",
        "request body is a message/* (an e-mail), whose own headers may encode its content: piimask does not read them; set other_types: pass on this route to let it through unmasked",
    );
    pub const RESPONSE_MESSAGE_REFUSED: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::BAD_GATEWAY,
        "response_message_refused",
        "response body is a message/* (an e-mail), whose own headers may encode its content: piimask does not read them; set other_types: pass on this route to let it through unmasked",
    );
    pub const RESPONSE_TYPE_BLOCKED: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::BAD_GATEWAY,
        "response_type_blocked",
        "response body type is blocked by policy",
    );
    pub const RESPONSE_ENCODING_UNSUPPORTED: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::BAD_GATEWAY,
        "response_encoding_unsupported",
        "response content encoding cannot be masked (piimask decodes gzip, deflate, br and zstd)",
    );
    pub const RESPONSE_ENCODING_TOO_DEEP: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::BAD_GATEWAY,
        "response_encoding_too_deep",
        "response body has more than 4 content codings",
    );
    pub const REQUEST_BODY_CORRUPT: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::BAD_REQUEST,
        "request_body_corrupt",
        "request body does not decode under its content encoding or charset, so it cannot be masked",
    );
    pub const RESPONSE_BODY_CORRUPT: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::BAD_GATEWAY,
        "response_body_corrupt",
        "response body does not decode under its content encoding or charset, so it cannot be masked",
    );
    pub const REQUEST_TYPE_AMBIGUOUS: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "request_type_ambiguous",
        "request has more than one Content-Type, or one that is not a single media type",
    );
    pub const RESPONSE_TYPE_AMBIGUOUS: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::BAD_GATEWAY,
        "response_type_ambiguous",
        "response has more than one Content-Type, or one that is not a single media type",
    );
    pub const RESPONSE_PARTIAL: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::BAD_GATEWAY,
        "response_partial",
        "a partial response (206) cannot be masked: piece by piece, a value cut between ranges would be reassembled",
    );
    pub const RESPONSE_CHARSET_UNSUPPORTED: Refused = Refused::new(
        Outcome::Blocked,
        StatusCode::BAD_GATEWAY,
        "response_charset_unsupported",
        "response charset cannot be masked",
    );
    pub const UPSTREAM_UNAVAILABLE: Refused = Refused::new(
        Outcome::UpstreamError,
        StatusCode::BAD_GATEWAY,
        "upstream_unavailable",
        "upstream is unavailable",
    );
    pub const UPSTREAM_TIMEOUT: Refused = Refused::new(
        Outcome::UpstreamError,
        StatusCode::GATEWAY_TIMEOUT,
        "upstream_timeout",
        "upstream did not answer in time",
    );
    pub const UPSTREAM_TRANSFER_CODING: Refused = Refused::new(
        Outcome::UpstreamError,
        StatusCode::BAD_GATEWAY,
        "upstream_transfer_coding",
        "upstream used a transfer coding other than chunked",
    );
    pub const UPSTREAM_FAILED: Refused =
        Refused::new(Outcome::UpstreamError, StatusCode::BAD_GATEWAY, "upstream_failed", "upstream failed");

    /// A request target that cannot be made canonical: 400, refused like
    /// a policy refusal (counted and audited with the error's code).
    pub fn target(error: crate::policy::target::TargetError) -> Refused {
        Refused::new(Outcome::Refused, StatusCode::BAD_REQUEST, error.code(), error.reason())
    }

    /// A missing, repeated, disagreeing or malformed authority: 400.
    pub fn authority(error: crate::policy::authority::AuthorityError) -> Refused {
        Refused::new(Outcome::Refused, StatusCode::BAD_REQUEST, error.code(), error.reason())
    }

    /// A verified client certificate without one usable identity: 403.
    pub fn identity(error: &crate::tls::IdentityError) -> Refused {
        Refused::new(Outcome::Refused, StatusCode::FORBIDDEN, error.code(), error.reason())
    }

    /// A multipart body refused for its framing or a part: 415 for a
    /// request, 502 for a response; a part's unknown charset is refused
    /// as a body's is.
    pub fn multipart(error: crate::mask::multipart::MultipartError, request: bool) -> Refused {
        use crate::mask::multipart::MultipartError;
        let (status, code) = match (error, request) {
            (MultipartError::UnknownCharset, true) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, Refused::REQUEST_CHARSET_UNSUPPORTED.code)
            }
            (MultipartError::UnknownCharset, false) => {
                (StatusCode::BAD_GATEWAY, Refused::RESPONSE_CHARSET_UNSUPPORTED.code)
            }
            (_, true) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "request_multipart_refused"),
            (_, false) => (StatusCode::BAD_GATEWAY, "response_multipart_refused"),
        };
        Refused::new(Outcome::Blocked, status, code, error.reason())
    }

    /// The direction a blocked body travelled.
    pub fn direction(self) -> &'static str {
        if self.code.starts_with("request") { "request" } else { "response" }
    }

    pub fn into_response(self) -> Response<ProxyBody> {
        answer(self.status, self.reason)
    }

    /// The answer with a longer sentence in the body, built from the
    /// config alone (a peer's and a detector's name), never from the
    /// request; the `x-piimask-reason` header keeps the fixed reason.
    pub fn into_response_with(self, detail: &str) -> Response<ProxyBody> {
        let mut response = answer(self.status, self.reason);
        *response.body_mut() = full(Bytes::from(format!("piimask: {detail}\n")));
        response
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
/// `Connection` header names. One pass over the names finds them: most
/// messages hold one or none (`Connection: keep-alive`), and asking the map
/// for each of the nine names (a hash and a probe each) cost ~2k
/// instructions per message, both ways of every request (callgrind).
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let mut hops: Vec<HeaderName> = Vec::new();
    for (name, value) in headers.iter() {
        if is_hop_by_hop(name) {
            hops.push(name.clone());
        }
        if name == header::CONNECTION {
            let named = value.to_str().into_iter().flat_map(|v| v.split(','));
            hops.extend(named.filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok()));
        }
    }
    for name in hops {
        headers.remove(name);
    }
}

fn is_hop_by_hop(name: &HeaderName) -> bool {
    name == header::CONNECTION
        || name == header::TRANSFER_ENCODING
        || name == header::TE
        || name == header::TRAILER
        || name == header::UPGRADE
        || name == header::PROXY_AUTHENTICATE
        || name == header::PROXY_AUTHORIZATION
        || name == "keep-alive"
        || name == "proxy-connection"
}

/// Header names that carry a peer's identity to the app. Any copy a
/// client sends is removed, in every spelling a framework may map to the
/// same name (`X_Piimask_Peer` becomes `HTTP_X_PIIMASK_PEER` in CGI, WSGI
/// and Rack, as `X-Piimask-Peer` does).
const IDENTITY_HEADERS: &[&str] = &["x-piimask-peer", "x-forwarded-client-cert"];

/// Removes every client-sent spelling of the identity headers; with
/// `keep_xfcc`, `X-Forwarded-Client-Cert` (as sent) is left alone.
pub fn strip_identity_headers(headers: &mut HeaderMap, keep_xfcc: bool) {
    // Header names are lower-case already; `_` is folded to `-` byte by
    // byte, without a copy of each name (one allocation per header was
    // ~250 instructions a request).
    let folds_to = |name: &str, wanted: &str| {
        name.len() == wanted.len()
            && name
                .bytes()
                .zip(wanted.bytes())
                .all(|(a, b)| (if a == b'_' { b'-' } else { a.to_ascii_lowercase() }) == b)
    };
    let spoofed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| {
            IDENTITY_HEADERS
                .iter()
                .any(|h| folds_to(name.as_str(), h) && !(keep_xfcc && name.as_str() == "x-forwarded-client-cert"))
        })
        .cloned()
        .collect();
    for name in spoofed {
        headers.remove(name);
    }
}

/// True for requests that ask to switch protocols (WebSocket, h2c) or to
/// tunnel: piimask cannot mask what flows after the switch.
pub fn wants_upgrade(method: &http::Method, headers: &HeaderMap) -> bool {
    method == http::Method::CONNECT || headers.contains_key(header::UPGRADE)
}

/// Prepares a request whose response will be masked: asks for the whole
/// body (a range of it, masked alone, could cut a value that the client
/// reassembles from several ranges) and only in codings piimask decodes.
pub fn ask_for_a_maskable_response(headers: &mut HeaderMap) {
    headers.remove(header::RANGE);
    headers.remove(header::IF_RANGE);
    narrow_accept_encoding(headers);
}

/// Keeps only the codings piimask can decode in an `Accept-Encoding`, so
/// the upstream does not answer in one it would have to refuse.
pub fn narrow_accept_encoding(headers: &mut HeaderMap) {
    if !headers.contains_key(header::ACCEPT_ENCODING) {
        return;
    }
    // Every line counts: repeated lines are one comma-separated list.
    let kept: Vec<&str> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(','))
        .map(str::trim)
        .filter(|c| {
            let name = c.split(';').next().unwrap_or("").trim();
            name.eq_ignore_ascii_case("identity") || Coding::parse(name).is_some()
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
            return Refused::REQUEST_TOO_LARGE;
        }
        source = e.source();
    }
    Refused::UPSTREAM_FAILED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go_including_those_connection_names() {
        let mut h = HeaderMap::new();
        h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive, X-Secret-Hop"));
        h.append(header::CONNECTION, HeaderValue::from_static("x-other-hop"));
        h.append("x-secret-hop", HeaderValue::from_static("1"));
        h.append("x-secret-hop", HeaderValue::from_static("2"));
        h.insert("x-other-hop", HeaderValue::from_static("1"));
        for hop in ["keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization", "te", "trailer"] {
            h.insert(hop, HeaderValue::from_static("x"));
        }
        h.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        h.append("x-kept", HeaderValue::from_static("1"));
        h.append("x-kept", HeaderValue::from_static("2"));
        strip_hop_by_hop(&mut h);
        let mut left: Vec<_> = h.iter().map(|(n, v)| format!("{n}: {}", v.to_str().unwrap_or("?"))).collect();
        left.sort();
        assert_eq!(left, ["content-type: application/json", "x-kept: 1", "x-kept: 2"]);
    }

    #[test]
    fn every_spelling_of_an_identity_header_goes() {
        let mut h = HeaderMap::new();
        for name in
            ["x-piimask-peer", "x_piimask_peer", "X_PIIMASK-peer", "x-forwarded-client-cert", "x_forwarded_client_cert"]
        {
            h.append(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_static("spiffe://td/root"));
        }
        h.insert("x-piimask-peers", HeaderValue::from_static("kept"));
        strip_identity_headers(&mut h, false);
        assert_eq!(h.keys().map(HeaderName::as_str).collect::<Vec<_>>(), ["x-piimask-peers"]);
        h.insert("x-forwarded-client-cert", HeaderValue::from_static("By=x"));
        h.insert("x_forwarded_client_cert", HeaderValue::from_static("By=y"));
        strip_identity_headers(&mut h, true);
        assert_eq!(h["x-forwarded-client-cert"], "By=x");
        assert!(h.get("x_forwarded_client_cert").is_none());
    }

    #[test]
    fn accept_encoding_keeps_what_piimask_decodes() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0.8, compress, zstd"));
        h.append(header::ACCEPT_ENCODING, HeaderValue::from_static("x-gzip, *;q=0.1, identity;q=0.5, deflate"));
        narrow_accept_encoding(&mut h);
        assert_eq!(h[header::ACCEPT_ENCODING], "br, gzip;q=0.8, zstd, x-gzip, identity;q=0.5, deflate");
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("compress, *"));
        narrow_accept_encoding(&mut h);
        assert_eq!(h[header::ACCEPT_ENCODING], "identity");
    }
}
