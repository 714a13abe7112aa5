//! Which header fields are scanned for personal data, and what happens to
//! a finding: response headers and trailers are masked but for a fixed
//! list of structural fields; an egress request's headers are passed,
//! masked or judged (a finding refuses the request unless the peer opts
//! into masking) by name.

use http::HeaderName;

/// Response header fields whose values have a fixed grammar (tokens,
/// dates, numbers, media types, opaque validators, policies) and carry no
/// personal data, so they are neither scanned nor rewritten: masking them
/// would break caching, CORS or tracing, and their digits (an `ETag`, a
/// `Content-Length`, a trace id) only give false findings. Every other
/// field of a masked response is scanned.
const RESPONSE_STRUCTURAL: &[&str] = &[
    "accept-ranges",
    "age",
    "alt-svc",
    "cache-control",
    "content-encoding",
    "content-language",
    "content-length",
    "content-range",
    "content-security-policy",
    "content-security-policy-report-only",
    "content-type",
    "cross-origin-embedder-policy",
    "cross-origin-opener-policy",
    "cross-origin-resource-policy",
    "date",
    "etag",
    "expires",
    "grpc-accept-encoding",
    "grpc-encoding",
    "grpc-status",
    "last-modified",
    "permissions-policy",
    "pragma",
    "referrer-policy",
    "retry-after",
    "server",
    "strict-transport-security",
    "traceparent",
    "tracestate",
    "transfer-encoding",
    "vary",
    "x-content-type-options",
    "x-frame-options",
    "x-piimask-reason",
    "x-request-id",
    "x-xss-protection",
];

/// Whether a response header or trailer field passes unscanned (see
/// [`RESPONSE_STRUCTURAL`]); `access-control-*` fields do too.
pub fn response_header_is_structural(name: &HeaderName) -> bool {
    let name = name.as_str();
    name.starts_with("access-control-") || RESPONSE_STRUCTURAL.binary_search(&name).is_ok()
}

/// Request header fields an egress request carries unscanned: the
/// message's framing and negotiation, tracing, conditional requests, and
/// credentials, whose change would break the call and which are opaque
/// tokens rather than readable data.
const EGRESS_STRUCTURAL: &[&str] = &[
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "authorization",
    "cache-control",
    "content-encoding",
    "content-language",
    "content-length",
    "content-type",
    "date",
    "expect",
    "grpc-accept-encoding",
    "grpc-encoding",
    "grpc-timeout",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "pragma",
    "proxy-authorization",
    "range",
    "te",
    "traceparent",
    "tracestate",
    "transfer-encoding",
    "user-agent",
    "x-api-key",
    "x-request-id",
];

/// What an egress request's header field gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EgressHeader {
    /// Passed as sent, unscanned (see [`EGRESS_STRUCTURAL`]).
    Pass,
    /// Values masked: the fields a peer lists in `mask_headers`, and
    /// `Cookie`, each cookie's value on its own.
    Mask,
    /// Scanned; a finding refuses the request, or is masked when the peer
    /// says `request_head: mask`.
    Judge,
}

/// How an egress request's header field `name` is treated for a peer that
/// lists `mask_headers`.
pub fn egress_header(name: &HeaderName, mask_headers: &[HeaderName]) -> EgressHeader {
    if mask_headers.contains(name) || name == http::header::COOKIE {
        EgressHeader::Mask
    } else if EGRESS_STRUCTURAL.binary_search(&name.as_str()).is_ok() {
        EgressHeader::Pass
    } else {
        EgressHeader::Judge
    }
}

/// What piimask does when an egress request's path, query keys or judged
/// headers carry personal data (query values are always masked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RequestHead {
    /// Refuse the request with a reason; the peer never receives it. A
    /// rewritten path or header may name another resource or break the
    /// call, so this is the default.
    #[default]
    Refuse,
    /// Mask the values found and send the request on.
    Mask,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_are_sorted_lower_case_header_names() {
        for list in [RESPONSE_STRUCTURAL, EGRESS_STRUCTURAL] {
            assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted, for binary search");
            for name in list {
                assert_eq!(HeaderName::from_bytes(name.as_bytes()).expect("a header name").as_str(), *name);
            }
        }
    }

    #[test]
    fn structural_response_headers_pass_and_the_rest_is_scanned() {
        for name in ["content-type", "etag", "access-control-allow-origin", "grpc-status", "traceparent"] {
            assert!(response_header_is_structural(&HeaderName::from_static(name)), "{name}");
        }
        for name in ["location", "set-cookie", "link", "content-disposition", "x-user-email", "grpc-message"] {
            assert!(!response_header_is_structural(&HeaderName::from_static(name)), "{name}");
        }
    }

    #[test]
    fn egress_headers_are_passed_masked_or_judged() {
        let listed = [HeaderName::from_static("x-user-email")];
        let of = |n: &'static str| egress_header(&HeaderName::from_static(n), &listed);
        assert_eq!(of("authorization"), EgressHeader::Pass);
        assert_eq!(of("content-type"), EgressHeader::Pass);
        assert_eq!(of("x-user-email"), EgressHeader::Mask);
        assert_eq!(of("cookie"), EgressHeader::Mask);
        assert_eq!(of("referer"), EgressHeader::Judge);
        assert_eq!(of("x-customer"), EgressHeader::Judge);
    }
}
