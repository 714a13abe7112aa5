//! What the head of a request the app sends out through the egress
//! listener may carry. The query string's values, the headers a peer
//! lists in `mask_headers` and `Cookie` are masked with the peer's
//! profile. Personal data in the path, a query key or any other header
//! (but the structural and credential ones the policy passes) refuses the
//! request by default: a rewritten path names another resource, a
//! rewritten header may break the call. A peer with `request_head: mask`
//! has those masked instead. Each piece is read as sent and
//! percent-decoded twice; a rewrite keeps every byte outside a match
//! (separators, `;` and `&`, included).

use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Uri};

use crate::mask::{Form, ValueMasker};
use crate::policy::{EgressHeader, Peer, RequestHead, egress_header};

/// Where personal data was found in a request head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Path,
    QueryKey,
    Header,
}

impl Part {
    /// The part as the refusal names it.
    pub fn label(self) -> &'static str {
        match self {
            Part::Path => "path",
            Part::QueryKey => "query keys",
            Part::Header => "headers",
        }
    }
}

/// Personal data the peer's rules refuse: where, and which detector found
/// it (never the value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalData {
    pub part: Part,
    pub detector: Arc<str>,
}

/// Applies `peer`'s rules to a request head: returns the path and query to
/// send (the original when nothing changed) after masking `headers` in
/// place, or the personal data that refuses the request. `values` counts
/// what was masked.
pub fn guard(
    peer: &Peer,
    values: &mut ValueMasker,
    uri: &Uri,
    headers: &mut HeaderMap,
) -> Result<String, PersonalData> {
    let refuse = peer.request_head == RequestHead::Refuse;
    guard_headers(peer, values, headers, refuse)?;
    let path = uri.path();
    let mut target = judge(values, path.as_bytes(), b"", Form::Uri { plus_is_space: false }, refuse, Part::Path)?
        .map_or_else(|| path.to_string(), lossless);
    if let Some(query) = uri.query() {
        target.push('?');
        if peer.mask_query {
            target.push_str(&guard_query(values, query, refuse)?);
        } else {
            target.push_str(query);
        }
    }
    Ok(target)
}

/// Masks, or judges, each header value by the peer's rules.
fn guard_headers(
    peer: &Peer,
    values: &mut ValueMasker,
    headers: &mut HeaderMap,
    refuse: bool,
) -> Result<(), PersonalData> {
    for (name, value) in headers.iter_mut() {
        let key = name.as_str().as_bytes();
        let masked = match egress_header(name, &peer.mask_headers) {
            EgressHeader::Pass => None,
            EgressHeader::Mask => values.mask(value.as_bytes(), key, Form::Header),
            EgressHeader::Judge => judge(values, value.as_bytes(), key, Form::Header, refuse, Part::Header)?,
        };
        if let Some(masked) = masked {
            // A replacement adds only visible ASCII to a valid value, so
            // this holds; were it not to, the value would not go out.
            *value = HeaderValue::from_bytes(&masked).unwrap_or(HeaderValue::from_static("[REDACTED]"));
        }
    }
    Ok(())
}

/// The query with its values masked and its keys judged; every separator
/// (`&` or `;`) and every pair without a finding keeps its bytes.
fn guard_query(values: &mut ValueMasker, query: &str, refuse: bool) -> Result<String, PersonalData> {
    let form = Form::Uri { plus_is_space: true };
    let bytes = query.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut changed = false;
    for pair in bytes.split_inclusive(|&b| b == b'&' || b == b';') {
        let (pair, separator) = match pair.last() {
            Some(b'&' | b';') => pair.split_at(pair.len() - 1),
            _ => (pair, &b""[..]),
        };
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], Some(&pair[eq + 1..])),
            None => (pair, None),
        };
        match judge(values, key, b"", form, refuse, Part::QueryKey)? {
            Some(masked) => {
                out.extend_from_slice(&masked);
                changed = true;
            }
            None => out.extend_from_slice(key),
        }
        if let Some(value) = value {
            out.push(b'=');
            match values.mask(value, key, form) {
                Some(masked) => {
                    out.extend_from_slice(&masked);
                    changed = true;
                }
                None => out.extend_from_slice(value),
            }
        }
        out.extend_from_slice(separator);
    }
    Ok(if changed { lossless(out) } else { query.to_string() })
}

/// `value` masked (`Ok(Some)`), clean (`Ok(None)`), or refused.
fn judge(
    values: &mut ValueMasker,
    value: &[u8],
    key: &[u8],
    form: Form,
    refuse: bool,
    part: Part,
) -> Result<Option<Vec<u8>>, PersonalData> {
    let findings = values.find(value, key, form);
    let Some(first) = findings.first() else { return Ok(None) };
    if refuse {
        return Err(PersonalData { part, detector: values.detector_name(first.detector).clone() });
    }
    Ok(Some(values.apply(value, &findings, form)))
}

/// A rewritten path or query as a string. Its bytes came from a `&str`
/// with ASCII replacements at char boundaries (a match starts and ends on
/// whole characters), so this is lossless; the lossy path only guards it.
fn lossless(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::Masker;
    use crate::policy::BodyRule;

    fn peer(request_head: RequestHead) -> Peer {
        let masker = Arc::new(Masker::new(&crate::patterns::default_config()).expect("default profile"));
        Peer {
            name: "customers".into(),
            hosts: vec!["customers.svc".into()],
            address: "127.0.0.1:1".into(),
            identity: "spiffe://td/ns/c/sa/c".into(),
            request: BodyRule::mask(masker),
            mask_headers: vec![http::HeaderName::from_static("x-user-email")],
            mask_query: true,
            request_head,
            max_request_bytes: 1 << 20,
        }
    }

    fn run(p: &Peer, target: &str, headers: &[(&'static str, &'static str)]) -> Result<(String, HeaderMap), Part> {
        let mut h = HeaderMap::new();
        for (n, v) in headers {
            h.append(*n, HeaderValue::from_static(v));
        }
        let uri: Uri = target.parse().expect("uri");
        let mut values = ValueMasker::new(p.request.masker.clone().expect("masker"));
        match guard(p, &mut values, &uri, &mut h) {
            Ok(t) => Ok((t, h)),
            Err(pd) => {
                assert!(!pd.detector.is_empty());
                Err(pd.part)
            }
        }
    }

    #[test]
    fn query_values_are_masked_and_separators_kept() {
        let p = peer(RequestHead::Refuse);
        let q = |t: &str| run(&p, t, &[]).expect("sent").0;
        assert_eq!(q("/s?user=ana%40example.com&page=2"), "/s?user=%5BEMAIL%5D&page=2");
        assert_eq!(q("/s?q=shoes+red&page=2"), "/s?q=shoes+red&page=2");
        assert_eq!(q("/s?a=1;b=2&c=%7e"), "/s?a=1;b=2&c=%7e", "untouched: byte for byte");
        assert_eq!(q("/s?a=1;email=ana%40example.com;b=%7e&&c"), "/s?a=1;email=%5BEMAIL%5D;b=%7e&&c");
        assert_eq!(q("/s?u=ana%2540example.com"), "/s?u=%5BEMAIL%5D", "decoded twice");
        assert_eq!(q("/s?phone=%2B44+20+7946+0958"), "/s?phone=%5BPHONE%5D");
    }

    #[test]
    fn the_path_query_keys_and_unlisted_headers_refuse_by_default() {
        let p = peer(RequestHead::Refuse);
        assert_eq!(run(&p, "/users/ana@example.com", &[]).err(), Some(Part::Path));
        assert_eq!(run(&p, "/users/ana%2540example.com/orders", &[]).err(), Some(Part::Path));
        assert_eq!(run(&p, "/cards/4111111111111111", &[]).err(), Some(Part::Path));
        assert_eq!(run(&p, "/users/+14155552671", &[]).err(), Some(Part::Path));
        assert_eq!(run(&p, "/s?ana%40example.com=1", &[]).err(), Some(Part::QueryKey));
        assert_eq!(run(&p, "/s?ana@example.com", &[]).err(), Some(Part::QueryKey));
        assert_eq!(run(&p, "/s", &[("referer", "https://a.example/u/ana%40example.com")]).err(), Some(Part::Header));
        assert_eq!(run(&p, "/s", &[("x-customer", "+14155552671")]).err(), Some(Part::Header));
        // Clean requests pass as they are.
        let (target, _) = run(&p, "/orders/1732187400?page=2", &[("x-request-id", "4111111111111111")]).expect("sent");
        assert_eq!(target, "/orders/1732187400?page=2");
    }

    #[test]
    fn listed_headers_and_cookies_are_masked_and_credentials_pass() {
        let p = peer(RequestHead::Refuse);
        let (_, h) = run(
            &p,
            "/s",
            &[
                ("x-user-email", "ana@example.com"),
                ("cookie", "sid=abc123; email=ana%40example.com; theme=dark"),
                ("authorization", "Basic YW5hQGV4YW1wbGUuY29tOnB3"),
                ("authorization-note", "ok"),
                ("accept", "application/json"),
            ],
        )
        .expect("sent");
        assert_eq!(h["x-user-email"], "[EMAIL]");
        assert_eq!(h["cookie"], "sid=abc123; email=%5BEMAIL%5D; theme=dark");
        assert_eq!(h["authorization"], "Basic YW5hQGV4YW1wbGUuY29tOnB3");
    }

    #[test]
    fn a_peer_that_opts_in_gets_the_head_masked() {
        let p = peer(RequestHead::Mask);
        let (target, h) = run(
            &p,
            "/users/ana@example.com/x?ana%40example.com=1;b=2",
            &[("referer", "https://a.example/u/ana%40example.com")],
        )
        .expect("sent");
        assert_eq!(target, "/users/%5BEMAIL%5D/x?%5BEMAIL%5D=1;b=2");
        assert_eq!(h["referer"], "https://a.example/u/%5BEMAIL%5D");
    }
}
