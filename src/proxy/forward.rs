//! What inbound and egress share once a request is admitted: preparing the
//! request and response bodies by the policy's plan (mask, pass or block),
//! each failing if its sender goes idle (a body with no type judged by its
//! first bytes), masking a response's headers and the trailers of both
//! under the rule's profile, and sending the request upstream with a
//! response timeout.

use std::time::Duration;

use http::header::{self, HeaderMap};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use super::BoxError;
use super::audit::Exchange;
use super::body::{MaskBody, PrimeError};
use super::framing;
use super::headers::{MaskTrailers, mask_header_values};
use super::idle::IdleTimeout;
use super::pipeline::{CodingError, Codings, Pipeline};
use super::respond::{ProxyBody, Refused, upstream_failure};
use super::sniff::Replay;
use super::upstream::HttpClient;
use crate::mask::ContentKind;
use crate::mask::charset::check_document;
use crate::mask::prescan::PRESCAN_BYTES;
use crate::policy::{BodyPlan, BodyRule, OtherTypes};

fn content_type(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())
}

/// Whether a message's `Content-Type` could be read two ways: sent on more
/// than one line, listing several types, or not visible ASCII. piimask
/// would judge the body by one type while a browser (which takes the last
/// of a combined list, Fetch's "extract a MIME type") renders it as
/// another: `image/png` then `text/html` would pass a page unmasked.
fn ambiguous_content_type(headers: &HeaderMap) -> bool {
    let mut lines = headers.get_all(header::CONTENT_TYPE).iter();
    let Some(first) = lines.next() else { return false };
    if lines.next().is_some() {
        return true;
    }
    let Ok(value) = first.to_str() else { return true };
    // A comma outside a quoted parameter value separates two types.
    let mut quoted = false;
    let mut escaped = false;
    for c in value.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => return true,
            _ => {}
        }
    }
    false
}

/// `body` boxed, with its trailers masked when the rule has a profile.
fn with_trailers<B>(rule: &BodyRule, body: B, exchange: &Exchange, direction: &'static str) -> ProxyBody
where
    B: http_body::Body<Data = bytes::Bytes> + Unpin + Send + 'static,
    B::Error: Into<super::BoxError>,
{
    match &rule.masker {
        Some(masker) => MaskTrailers::new(body, masker.clone(), exchange.part_report(direction, "trailers"))
            .map_err(Into::into)
            .boxed_unsync(),
        None => body.map_err(Into::into).boxed_unsync(),
    }
}

/// The request body as the rule says: masked (its `Content-Length` dropped,
/// since masking may change the length), passed, or refused; never more
/// than `limit` bytes go upstream. A body the rule wants judged by its
/// first bytes has them read here, before anything goes upstream. Under a
/// profile, trailers are masked too.
pub async fn request_body(
    rule: &BodyRule,
    headers: &mut HeaderMap,
    body: Incoming,
    limit: u64,
    idle: Duration,
    exchange: &Exchange,
) -> Result<ProxyBody, Refused> {
    let declared =
        headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(Refused::REQUEST_TOO_LARGE);
    }
    if rule.masker.is_some() && ambiguous_content_type(headers) {
        return Err(Refused::REQUEST_TYPE_AMBIGUOUS);
    }
    let limited = Limited::new(IdleTimeout::new(body, idle), usize::try_from(limit).unwrap_or(usize::MAX));
    let (plan, body) = decide(rule, headers, limited.boxed_unsync()).await.map_err(|e| match upstream_failure(&e) {
        Refused::REQUEST_TOO_LARGE => Refused::REQUEST_TOO_LARGE,
        _ => Refused::REQUEST_BODY_FAILED,
    })?;
    match plan {
        BodyPlan::Pass => Ok(with_trailers(rule, body, exchange, "request")),
        BodyPlan::Block | BodyPlan::Sniff => Err(Refused::REQUEST_TYPE_BLOCKED),
        BodyPlan::PassBinary(kind) => {
            exchange.binary_passed("request", kind);
            Ok(with_trailers(rule, body, exchange, "request"))
        }
        BodyPlan::BlockBinary(kind) => Err(Refused::binary(kind, true)),
        BodyPlan::UnknownCharset => Err(Refused::REQUEST_CHARSET_UNSUPPORTED),
        BodyPlan::Multipart(e) => Err(Refused::multipart(e, true)),
        BodyPlan::Message => Err(Refused::REQUEST_MESSAGE_REFUSED),
        BodyPlan::Mask(masker, kind, charset, document) => {
            let codings = Codings::of_headers(headers).map_err(|e| match e {
                CodingError::Unsupported => Refused::REQUEST_ENCODING_UNSUPPORTED,
                CodingError::TooMany => Refused::REQUEST_ENCODING_TOO_DEEP,
            })?;
            let body = if let ContentKind::Multipart(_) = kind {
                let read = framing::read_ahead(masker.clone(), kind, charset, &codings, body).await;
                let read = read.map_err(|e| match upstream_failure(&e) {
                    Refused::REQUEST_TOO_LARGE => Refused::REQUEST_TOO_LARGE,
                    _ => Refused::REQUEST_BODY_FAILED,
                })?;
                read.map_err(|e| Refused::multipart(e, true))?.boxed_unsync()
            } else {
                body
            };
            let pipeline = Pipeline::with_document(masker, kind, charset, document, &codings)
                .map_err(|_| Refused::REQUEST_ENCODING_UNSUPPORTED)?;
            headers.remove(header::CONTENT_LENGTH);
            let body = MaskBody::new(body, pipeline, Some(exchange.mask_report("request")));
            if !reads_certainly(&codings, charset) {
                let primed = body.prime().await.map_err(|e| match e {
                    PrimeError::Corrupt(_) => Refused::REQUEST_BODY_CORRUPT,
                    PrimeError::Inner(e) => match upstream_failure(&e) {
                        Refused::REQUEST_TOO_LARGE => Refused::REQUEST_TOO_LARGE,
                        _ => Refused::REQUEST_BODY_FAILED,
                    },
                })?;
                return Ok(with_trailers(rule, primed, exchange, "request"));
            }
            Ok(with_trailers(rule, body, exchange, "request"))
        }
    }
}

/// The rule's plan for a body, and the body to go on with. A body with no
/// type or `application/octet-stream` is judged by its first bytes, read
/// here and replayed; under a content coding (its bytes are not the
/// content) it is masked as text.
async fn decide(rule: &BodyRule, headers: &HeaderMap, body: ProxyBody) -> Result<(BodyPlan, ProxyBody), BoxError> {
    let plan = rule.plan(content_type(headers));
    let uncoded = Codings::of_headers(headers).is_ok_and(|c| c.layers().is_empty());
    // A document that names its charset inside: read where it does, so a
    // charset piimask cannot decode is refused before anything is sent.
    // Under a content coding the masking stage finds it, and fails the body.
    if let BodyPlan::Mask(_, _, Some(declared), Some(document)) = &plan
        && uncoded
    {
        let (declared, document) = (*declared, *document);
        let replay = Replay::read_up_to(body, PRESCAN_BYTES).await?;
        if check_document(document, declared, replay.head(), replay.ended()).is_err() {
            let plan = match rule.other_types {
                OtherTypes::Pass => BodyPlan::Pass,
                OtherTypes::Block | OtherTypes::Text => BodyPlan::UnknownCharset,
            };
            return Ok((plan, replay.boxed_unsync()));
        }
        return Ok((plan, replay.boxed_unsync()));
    }
    if !matches!(plan, BodyPlan::Sniff) {
        return Ok((plan, body));
    }
    if !uncoded {
        return Ok((rule.plan_as_text(), body));
    }
    let replay = Replay::read(body).await?;
    Ok((rule.plan_sniffed(replay.head()), replay.boxed_unsync()))
}

/// The upstream's response with its body as the rule says. A type the rule
/// blocks, or an encoding piimask cannot decode, becomes a 502: the body is
/// never passed unmasked. Under a profile, the header values (but the
/// structural ones) and the trailers are masked whatever the body's plan.
pub async fn response(
    rule: &BodyRule,
    method: &http::Method,
    upstream: Response<Incoming>,
    idle: Duration,
    exchange: &Exchange,
) -> Result<Response<ProxyBody>, Refused> {
    let (mut parts, body) = upstream.into_parts();
    // hyper decodes `chunked` only: a body under any other transfer coding
    // would reach the client (and the masker) still encoded.
    if !only_chunked(&parts.headers) {
        return Err(Refused::UPSTREAM_TRANSFER_CODING);
    }
    // The upstream's own reason phrase (which hyper would repeat) could
    // carry anything: the client gets the canonical one.
    parts.extensions.remove::<hyper::ext::ReasonPhrase>();
    let body = IdleTimeout::new(body, idle);
    super::respond::strip_hop_by_hop(&mut parts.headers);
    if let Some(masker) = &rule.masker {
        let values = mask_header_values(masker, &mut parts.headers);
        if !values.is_empty() {
            exchange.part_report("response", "headers")(&values.stats());
        }
    }
    let bodiless = method == http::Method::HEAD
        || parts.status.is_informational()
        || parts.status == StatusCode::NO_CONTENT
        || parts.status == StatusCode::NOT_MODIFIED;
    if bodiless {
        return Ok(Response::from_parts(parts, with_trailers(rule, body, exchange, "response")));
    }
    if rule.masker.is_some() {
        if ambiguous_content_type(&parts.headers) {
            return Err(Refused::RESPONSE_TYPE_AMBIGUOUS);
        }
        // piimask asks for whole bodies; a range sent anyway is refused.
        if parts.status == StatusCode::PARTIAL_CONTENT {
            return Err(Refused::RESPONSE_PARTIAL);
        }
    }
    let (plan, body) = decide(rule, &parts.headers, body.map_err(Into::into).boxed_unsync()).await.map_err(|e| {
        tracing::warn!(upstream = %exchange.upstream, error = %e, "upstream response body failed");
        Refused::UPSTREAM_FAILED
    })?;
    match plan {
        BodyPlan::Pass => Ok(Response::from_parts(parts, with_trailers(rule, body, exchange, "response"))),
        BodyPlan::Block | BodyPlan::Sniff => Err(Refused::RESPONSE_TYPE_BLOCKED),
        BodyPlan::PassBinary(kind) => {
            exchange.binary_passed("response", kind);
            Ok(Response::from_parts(parts, with_trailers(rule, body, exchange, "response")))
        }
        BodyPlan::BlockBinary(kind) => Err(Refused::binary(kind, false)),
        BodyPlan::UnknownCharset => Err(Refused::RESPONSE_CHARSET_UNSUPPORTED),
        BodyPlan::Multipart(e) => Err(Refused::multipart(e, false)),
        BodyPlan::Message => Err(Refused::RESPONSE_MESSAGE_REFUSED),
        BodyPlan::Mask(masker, kind, charset, document) => {
            let codings = Codings::of_headers(&parts.headers).map_err(|e| match e {
                CodingError::Unsupported => Refused::RESPONSE_ENCODING_UNSUPPORTED,
                CodingError::TooMany => Refused::RESPONSE_ENCODING_TOO_DEEP,
            })?;
            let body = if let ContentKind::Multipart(_) = kind {
                let read = framing::read_ahead(masker.clone(), kind, charset, &codings, body).await.map_err(|e| {
                    tracing::warn!(upstream = %exchange.upstream, error = %e, "upstream response body failed");
                    Refused::UPSTREAM_FAILED
                })?;
                read.map_err(|e| Refused::multipart(e, false))?.boxed_unsync()
            } else {
                body
            };
            let pipeline = Pipeline::with_document(masker, kind, charset, document, &codings)
                .map_err(|_| Refused::RESPONSE_ENCODING_UNSUPPORTED)?;
            parts.headers.remove(header::CONTENT_LENGTH);
            // Digests and byte ranges of the original no longer describe the body.
            parts.headers.remove("content-md5");
            parts.headers.remove("digest");
            parts.headers.remove(header::ACCEPT_RANGES);
            let body = MaskBody::new(body, pipeline, Some(exchange.mask_report("response")));
            if !reads_certainly(&codings, charset) {
                let primed = body.prime().await.map_err(|e| match e {
                    PrimeError::Corrupt(_) => Refused::RESPONSE_BODY_CORRUPT,
                    PrimeError::Inner(e) => {
                        tracing::warn!(upstream = %exchange.upstream, error = %e, "upstream response body failed");
                        Refused::UPSTREAM_FAILED
                    }
                })?;
                return Ok(Response::from_parts(parts, with_trailers(rule, primed, exchange, "response")));
            }
            Ok(Response::from_parts(parts, with_trailers(rule, body, exchange, "response")))
        }
    }
}

/// True when a body's bytes cannot fail to decode: no content coding and
/// UTF-8 (the engine reads any bytes as UTF-8 text). Any other body is
/// primed, its first masked frame read before the head is sent, so a
/// coding or charset that is corrupt from the start is refused with a
/// reason instead of a connection cut before the head.
fn reads_certainly(codings: &Codings, charset: Option<crate::mask::Charset>) -> bool {
    codings.layers().is_empty() && charset == Some(crate::mask::Charset::Utf8)
}

/// True when every `Transfer-Encoding` coding is `chunked` (or none is
/// sent).
fn only_chunked(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::TRANSFER_ENCODING)
        .iter()
        .all(|v| v.to_str().is_ok_and(|v| v.split(',').all(|c| c.trim().eq_ignore_ascii_case("chunked"))))
}

/// Sends `request` and waits up to `timeout` for the response head: 504 on
/// timeout, 502 when the upstream cannot be reached or fails, 413 when the
/// request body outgrew its limit on the way.
pub async fn send(
    upstream: &str,
    client: &HttpClient,
    request: Request<ProxyBody>,
    timeout: Duration,
) -> Result<Response<Incoming>, Refused> {
    match tokio::time::timeout(timeout, client.request(request)).await {
        Err(_) => {
            tracing::warn!(upstream, "upstream did not answer in time");
            Err(Refused::UPSTREAM_TIMEOUT)
        }
        Ok(Ok(response)) => Ok(response),
        Ok(Err(e)) if e.is_connect() => {
            tracing::warn!(upstream, error = %e, "upstream connect failed");
            Err(Refused::UPSTREAM_UNAVAILABLE)
        }
        Ok(Err(e)) => {
            tracing::warn!(upstream, error = %e, "upstream request failed");
            Err(upstream_failure(&(Box::new(e) as super::BoxError)))
        }
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn a_content_type_that_reads_two_ways_is_ambiguous() {
        let with = |lines: &[&str]| {
            let mut h = HeaderMap::new();
            for line in lines {
                h.append(header::CONTENT_TYPE, HeaderValue::from_str(line).expect("a header value"));
            }
            ambiguous_content_type(&h)
        };
        assert!(!with(&[]));
        assert!(!with(&["text/html; charset=utf-8"]));
        assert!(!with(&["multipart/form-data; boundary=\"a,b\""]));
        assert!(!with(&["text/plain; x=\"a\\\",b\""]));
        assert!(with(&["image/png", "text/html"]));
        assert!(with(&["text/plain", "text/plain; charset=utf-16le"]));
        assert!(with(&["image/png, text/html"]));
        assert!(with(&["text/plain; x=\"a\", text/html"]));
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_bytes(b"text/html; x=\xff").expect("obs-text"));
        assert!(ambiguous_content_type(&h));
    }

    #[test]
    fn only_chunked_transfer_codings_pass() {
        let mut h = HeaderMap::new();
        assert!(only_chunked(&h));
        h.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("Chunked"));
        assert!(only_chunked(&h));
        h.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("gzip, chunked"));
        assert!(!only_chunked(&h));
        h.insert(header::TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
        h.append(header::TRANSFER_ENCODING, HeaderValue::from_static("identity"));
        assert!(!only_chunked(&h));
    }
}
