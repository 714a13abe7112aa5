//! A peer's identity, read from the subject alternative names of the
//! certificate it presented: SPIFFE (or other) URIs and DNS names.
//!
//! Identities are names of workloads, not personal data, so they may appear
//! in logs, errors and metric labels (as the configured value).

use std::fmt;

use rustls_pki_types::CertificateDer;

/// The names a verified certificate carries. Built only from certificates
/// that rustls has already verified against the configured CA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeerIdentity {
    /// URI SANs, such as `spiffe://cluster.local/ns/billing/sa/billing`.
    pub uris: Vec<String>,
    /// DNS SANs, such as `billing.billing.svc`.
    pub dns_names: Vec<String>,
}

/// Why a verified client certificate gives no usable identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// An X.509-SVID carries exactly one URI SAN; with several, which one
    /// the peer is would depend on who reads the certificate.
    #[error("the client certificate carries {count} URI SANs; an X.509-SVID carries exactly one")]
    SeveralUris { count: usize, uris: Vec<String> },
    #[error("the client certificate cannot be read")]
    Unreadable,
    /// A `spiffe:` URI that is not a SPIFFE ID (dot segments, commas,
    /// escapes, upper-case trust domain …): an app that normalises or
    /// splits it could read another workload's name.
    #[error("the client certificate's SPIFFE ID is malformed")]
    MalformedSpiffeId,
}

impl IdentityError {
    /// A bounded label for metrics and audit events.
    pub fn code(&self) -> &'static str {
        match self {
            IdentityError::SeveralUris { .. } => "several_uri_sans",
            IdentityError::Unreadable => "unreadable_certificate",
            IdentityError::MalformedSpiffeId => "malformed_spiffe_id",
        }
    }

    /// A short, fixed sentence for the peer.
    pub fn reason(&self) -> &'static str {
        match self {
            IdentityError::SeveralUris { .. } => "the client certificate carries several URI SANs",
            IdentityError::Unreadable => "the client certificate cannot be read",
            IdentityError::MalformedSpiffeId => "the client certificate's SPIFFE ID is malformed",
        }
    }
}

/// Whether `uri` is a SPIFFE ID as the SPIFFE ID specification spells
/// one: `spiffe://`, a trust domain of `a-z 0-9 . - _`, then a path of
/// segments of `A-Z a-z 0-9 . - _`, none empty, `.` or `..`; no port,
/// user info, query, fragment or escape.
pub fn is_spiffe_id(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("spiffe://") else { return false };
    let (trust_domain, path) = rest.split_once('/').map_or((rest, None), |(td, p)| (td, Some(p)));
    let trust_domain_ok = !trust_domain.is_empty()
        && trust_domain.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-._".contains(&b));
    let segment_ok = |segment: &str| {
        !segment.is_empty()
            && segment != "."
            && segment != ".."
            && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b))
    };
    trust_domain_ok && path.is_none_or(|p| p.split('/').all(segment_ok))
}

impl PeerIdentity {
    /// The identity of a verified client certificate, read as an
    /// X.509-SVID: its one URI SAN (DNS SANs beside it are kept but never
    /// matched), or, without a URI SAN, its DNS names. Several URI SANs
    /// are refused.
    pub fn from_svid(cert: &CertificateDer<'_>) -> Result<PeerIdentity, IdentityError> {
        let id = PeerIdentity::read(cert).ok_or(IdentityError::Unreadable)?;
        if id.uris.len() > 1 {
            return Err(IdentityError::SeveralUris { count: id.uris.len(), uris: id.uris });
        }
        if id
            .uris
            .iter()
            .any(|u| u.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case("spiffe:")) && !is_spiffe_id(u))
        {
            return Err(IdentityError::MalformedSpiffeId);
        }
        Ok(id)
    }

    /// Reads the SANs of `cert`; a certificate without SANs (or one that
    /// does not parse, which a verified certificate never is) has none.
    pub fn from_certificate(cert: &CertificateDer<'_>) -> PeerIdentity {
        PeerIdentity::read(cert).unwrap_or_default()
    }

    /// The SANs of `cert`, parsed once; `None` if it does not parse.
    fn read(cert: &CertificateDer<'_>) -> Option<PeerIdentity> {
        let mut id = PeerIdentity::default();
        let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
        if let Ok(Some(san)) = parsed.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    x509_parser::extensions::GeneralName::URI(u) => id.uris.push((*u).to_string()),
                    x509_parser::extensions::GeneralName::DNSName(d) => id.dns_names.push(d.to_ascii_lowercase()),
                    _ => {}
                }
            }
        }
        Some(id)
    }

    /// True when `expected` names this peer: an exact URI (SPIFFE IDs are
    /// compared exactly, as the SPIFFE spec asks) or a DNS name (case-
    /// insensitive). A trailing `/*` admits every SPIFFE ID under that
    /// path: `spiffe://td/*` a whole trust domain, `spiffe://td/ns/x/*` a
    /// namespace. DNS names count only for a certificate without a URI
    /// SAN: one with a URI SAN is that URI.
    pub fn matches(&self, expected: &str) -> bool {
        self.matching_name(expected).is_some()
    }

    /// The name of this peer that `expected` admits: the URI, or the DNS
    /// name (lower-cased) that matched. What the app is told.
    pub fn matching_name(&self, expected: &str) -> Option<&str> {
        if let Some(prefix) = expected.strip_suffix("/*")
            && expected.starts_with("spiffe://")
        {
            return self
                .uris
                .iter()
                .find(|u| u.len() > prefix.len() + 1 && u.starts_with(prefix) && u.as_bytes()[prefix.len()] == b'/')
                .map(String::as_str);
        }
        if expected.contains("://") {
            return self.uris.iter().find(|u| *u == expected).map(String::as_str);
        }
        if !self.uris.is_empty() {
            return None;
        }
        self.dns_names.iter().find(|d| d.eq_ignore_ascii_case(expected)).map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.uris.is_empty() && self.dns_names.is_empty()
    }
}

/// The peer's primary name: its first URI, else its first DNS name.
impl fmt::Display for PeerIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.uris.first(), self.dns_names.first()) {
            (Some(u), _) => f.write_str(u),
            (None, Some(d)) => f.write_str(d),
            (None, None) => f.write_str("(no name)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(uris: &[&str], dns: &[&str]) -> PeerIdentity {
        PeerIdentity {
            uris: uris.iter().map(|s| s.to_string()).collect(),
            dns_names: dns.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn spiffe_ids_match_exactly() {
        let p = id(&["spiffe://cluster.local/ns/billing/sa/billing"], &[]);
        assert!(p.matches("spiffe://cluster.local/ns/billing/sa/billing"));
        assert!(!p.matches("spiffe://cluster.local/ns/billing/sa/billin"));
        assert!(!p.matches("spiffe://cluster.local/ns/billing/sa/billing/x"));
        assert!(!p.matches("billing"));
    }

    #[test]
    fn trust_domain_wildcard_needs_a_path() {
        let p = id(&["spiffe://cluster.local/ns/a/sa/b"], &[]);
        assert!(p.matches("spiffe://cluster.local/*"));
        assert!(!p.matches("spiffe://cluster.loc/*"));
        assert!(!id(&["spiffe://cluster.local.evil/ns/a"], &[]).matches("spiffe://cluster.local/*"));
        assert!(!id(&["spiffe://cluster.local/"], &[]).matches("spiffe://cluster.local/*"));
    }

    #[test]
    fn a_certificate_with_a_uri_is_that_uri_not_its_dns_names() {
        let p = id(&["spiffe://td/ns/a/sa/b"], &["ops.svc"]);
        assert!(!p.matches("ops.svc"));
        assert_eq!(p.matching_name("spiffe://td/*"), Some("spiffe://td/ns/a/sa/b"));
        assert_eq!(p.to_string(), "spiffe://td/ns/a/sa/b");
        let dns = id(&[], &["a.svc", "ops.svc"]);
        assert_eq!(dns.matching_name("OPS.svc"), Some("ops.svc"));
    }

    #[test]
    fn several_uri_sans_are_refused() {
        use crate::devpki::{DevCa, LeafSpec};
        let ca = DevCa::new("test CA").unwrap();
        let pem = |spec: &LeafSpec| {
            let cert = ca.issue(spec).unwrap().cert_pem;
            let der = rustls_pki_types::pem::PemObject::from_pem_slice(cert.as_bytes()).unwrap();
            PeerIdentity::from_svid(&der)
        };
        let leaf = |uris: &[&str], dns: &[&str]| LeafSpec {
            common_name: "x".into(),
            uris: uris.iter().map(|u| u.to_string()).collect(),
            dns_names: dns.iter().map(|d| d.to_string()).collect(),
            valid_days: 365,
            ..LeafSpec::default()
        };
        assert_eq!(pem(&leaf(&["spiffe://td/a", "spiffe://td/b"], &[])).unwrap_err().code(), "several_uri_sans");
        assert_eq!(pem(&leaf(&["spiffe://td/a"], &["ops.svc"])).unwrap(), id(&["spiffe://td/a"], &["ops.svc"]));
        let dns_only = leaf(&[], &["Ops.svc"]);
        assert_eq!(pem(&dns_only).unwrap(), id(&[], &["ops.svc"]));
    }

    #[test]
    fn spiffe_ids_are_spelled_as_the_specification_says() {
        for good in ["spiffe://td", "spiffe://cluster.local/ns/billing/sa/billing", "spiffe://td/a_b-c.d/E9"] {
            assert!(is_spiffe_id(good), "{good}");
        }
        for bad in [
            "spiffe://td/ns/billing/sa/../../marketing/sa/crawler",
            "spiffe://td/ns/billing/sa/billing,spiffe://td/ns/marketing/sa/crawler",
            "spiffe://td/ns/./x",
            "spiffe://td/ns//x",
            "spiffe://td/ns/x/",
            "spiffe://td/ns/%2e%2e/x",
            "spiffe://TD/ns/x",
            "spiffe://td:443/ns/x",
            "spiffe://user@td/ns/x",
            "spiffe://td/ns/x?y",
            "spiffe://td/ns/x#y",
            "spiffe:///ns/x",
            "SPIFFE://td/ns/x",
        ] {
            assert!(!is_spiffe_id(bad), "{bad}");
        }
    }

    #[test]
    fn dns_names_match_without_case() {
        let p = id(&[], &["billing.svc"]);
        assert!(p.matches("Billing.SVC"));
        assert!(!p.matches("other.svc"));
        assert_eq!(p.to_string(), "billing.svc");
    }
}
