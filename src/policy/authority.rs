//! The request's one authority (RFC 9112 §3.2, RFC 9113 §8.3.1): an
//! absolute-form target's authority replaces `Host`; `Host` and
//! `:authority` must agree; HTTP/1.1 must send exactly one `Host`. The
//! result is canonical (lower-case, no trailing dot, no default port) and
//! is what routing matches and the upstream receives. Pure: no I/O.

use http::Version;

/// Why a request's authority is refused. Messages never carry the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    #[error("{}", self.reason())]
    Missing,
    #[error("{}", self.reason())]
    Several,
    #[error("{}", self.reason())]
    Disagree,
    #[error("{}", self.reason())]
    Malformed,
}

impl AuthorityError {
    /// A bounded label for metrics and audit events.
    pub fn code(self) -> &'static str {
        match self {
            AuthorityError::Missing => "host_missing",
            AuthorityError::Several => "host_repeated",
            AuthorityError::Disagree => "host_disagrees",
            AuthorityError::Malformed => "host_malformed",
        }
    }

    /// A short, fixed sentence for the client.
    pub fn reason(self) -> &'static str {
        match self {
            AuthorityError::Missing => "the request names no host (Host or :authority)",
            AuthorityError::Several => "the request has several Host headers",
            AuthorityError::Disagree => "the Host header and the request's authority disagree",
            AuthorityError::Malformed => "the request's host is not a valid host name or address",
        }
    }
}

/// The request's authority, canonical, or `None` when it has none (HTTP/1.0
/// or HTTP/2 without one). `target_authority` is the authority of the
/// request target (absolute-form in HTTP/1.1, `:authority` in HTTP/2);
/// `host_headers` every `Host` field line; `default_port` the listener's
/// (443 with TLS, 80 without), dropped from the result.
pub fn request_authority(
    version: Version,
    target_authority: Option<&str>,
    host_headers: &[&[u8]],
    default_port: u16,
) -> Result<Option<String>, AuthorityError> {
    if host_headers.len() > 1 {
        return Err(AuthorityError::Several);
    }
    let host =
        host_headers.first().map(|h| std::str::from_utf8(h).map_err(|_| AuthorityError::Malformed)).transpose()?;
    let canonical = |a: &str| canonical_authority(a, default_port);
    match version {
        Version::HTTP_2 | Version::HTTP_3 => match (target_authority, host) {
            (Some(a), Some(h)) => {
                let a = canonical(a)?;
                if canonical(h)? != a {
                    return Err(AuthorityError::Disagree);
                }
                Ok(Some(a))
            }
            (Some(a), None) => canonical(a).map(Some),
            (None, Some(h)) => canonical(h).map(Some),
            // No host at all: the app would be told one piimask never
            // judged (the client library fills in the upstream's own).
            (None, None) => Err(AuthorityError::Missing),
        },
        Version::HTTP_11 if host.is_none() => Err(AuthorityError::Missing),
        // Absolute-form: the target's authority replaces Host (RFC 9112
        // §3.2.2), whose value is still checked so a malformed one is no
        // smuggling channel.
        _ => match (target_authority, host) {
            (Some(a), h) => {
                if let Some(h) = h.filter(|h| !h.is_empty()) {
                    canonical(h)?;
                }
                canonical(a).map(Some)
            }
            (None, Some("")) | (None, None) => Err(AuthorityError::Missing),
            (None, Some(h)) => canonical(h).map(Some),
        },
    }
}

/// `Host:port` lower-cased, without a trailing dot and without
/// `default_port`. Refuses user info, escapes, empty labels and anything
/// that is not a DNS name, an IPv4 address or a bracketed IPv6 address.
pub fn canonical_authority(authority: &str, default_port: u16) -> Result<String, AuthorityError> {
    let (host, port) = split_port(authority)?;
    let host = host.to_ascii_lowercase();
    let host = if host.starts_with('[') {
        let inner = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).ok_or(AuthorityError::Malformed)?;
        inner.parse::<std::net::Ipv6Addr>().map_err(|_| AuthorityError::Malformed)?;
        host
    } else {
        let name = host.strip_suffix('.').unwrap_or(&host);
        let valid_label = |l: &str| {
            !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if name.is_empty() || name.len() > 253 || !name.split('.').all(valid_label) {
            return Err(AuthorityError::Malformed);
        }
        name.to_string()
    };
    Ok(match port {
        Some(p) if p != default_port => format!("{host}:{p}"),
        _ => host,
    })
}

/// The host part of a canonical authority (brackets kept for IPv6).
pub fn host_of(authority: &str) -> &str {
    split_port(authority).map_or(authority, |(h, _)| h)
}

fn split_port(authority: &str) -> Result<(&str, Option<u16>), AuthorityError> {
    let port_start = if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) if end + 1 == authority.len() => None,
            Some(end) if authority.as_bytes()[end + 1] == b':' => Some(end + 1),
            _ => return Err(AuthorityError::Malformed),
        }
    } else {
        authority.rfind(':')
    };
    let Some(colon) = port_start else { return Ok((authority, None)) };
    let digits = &authority[colon + 1..];
    if digits.is_empty() || digits.len() > 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuthorityError::Malformed);
    }
    let port = digits.parse::<u16>().map_err(|_| AuthorityError::Malformed)?;
    Ok((&authority[..colon], Some(port)))
}

/// Whether a route's configured host names the request's canonical
/// authority: case and a trailing dot ignored, the port ignored.
pub fn host_matches(route_host: &str, authority: &str) -> bool {
    let want = route_host.strip_suffix('.').unwrap_or(route_host);
    let have = host_of(authority);
    let have = have.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(have);
    let want = want.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(want);
    have.eq_ignore_ascii_case(want)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H1: Version = Version::HTTP_11;
    const H2: Version = Version::HTTP_2;

    #[test]
    fn hosts_are_lower_cased_without_trailing_dot_or_default_port() {
        assert_eq!(canonical_authority("API.Example.COM.:443", 443).unwrap(), "api.example.com");
        assert_eq!(canonical_authority("api.example.com:8443", 443).unwrap(), "api.example.com:8443");
        assert_eq!(canonical_authority("localhost:80", 80).unwrap(), "localhost");
        assert_eq!(canonical_authority("127.0.0.1:443", 443).unwrap(), "127.0.0.1");
        assert_eq!(canonical_authority("[::1]:443", 443).unwrap(), "[::1]");
        assert_eq!(canonical_authority("[::1]:8443", 443).unwrap(), "[::1]:8443");
    }

    #[test]
    fn malformed_hosts_are_refused() {
        for bad in [
            "",
            ":443",
            "a..b",
            ".a",
            "a.b..",
            "user@host",
            "ho st",
            "h%41st",
            "host:",
            "host:99999",
            "host:x",
            "[::1",
            "[nope]",
            "[::1]x",
            "a/b",
            "a\\b",
        ] {
            assert_eq!(canonical_authority(bad, 443), Err(AuthorityError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn one_authority_per_request() {
        let ok = |v, a, h: &[&[u8]]| request_authority(v, a, h, 443);
        assert_eq!(ok(H1, None, &[b"Api.Example:443"]), Ok(Some("api.example".into())));
        assert_eq!(ok(H1, None, &[]), Err(AuthorityError::Missing));
        assert_eq!(ok(H1, Some("a.example"), &[]), Err(AuthorityError::Missing));
        assert_eq!(ok(H1, None, &[b"a", b"b"]), Err(AuthorityError::Several));
        assert_eq!(ok(H1, None, &[b"a", b"a"]), Err(AuthorityError::Several));
        assert_eq!(ok(H1, Some("internal.example"), &[b"public.example"]), Ok(Some("internal.example".into())));
        assert_eq!(ok(H1, Some("a.example"), &[b"bad host"]), Err(AuthorityError::Malformed));
        assert_eq!(ok(Version::HTTP_10, None, &[]), Err(AuthorityError::Missing));
        assert_eq!(ok(Version::HTTP_10, None, &[b""]), Err(AuthorityError::Missing));
        assert_eq!(ok(H2, Some("a.example"), &[b"A.example.:443"]), Ok(Some("a.example".into())));
        assert_eq!(ok(H2, Some("a.example"), &[b"b.example"]), Err(AuthorityError::Disagree));
        assert_eq!(ok(H2, Some("a.example"), &[]), Ok(Some("a.example".into())));
        assert_eq!(ok(H2, None, &[b"b.example"]), Ok(Some("b.example".into())));
        assert_eq!(ok(H2, None, &[]), Err(AuthorityError::Missing));
        assert_eq!(ok(H1, None, &[b"\xff"]), Err(AuthorityError::Malformed));
    }

    #[test]
    fn route_hosts_match_without_case_dot_or_port() {
        assert!(host_matches("API.example.", "api.example:8443"));
        assert!(host_matches("api.example", "api.example"));
        assert!(!host_matches("api.example", "api.example.evil"));
        assert!(host_matches("::1", "[::1]:8443"));
    }
}
