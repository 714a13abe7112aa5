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

impl PeerIdentity {
    /// Reads the SANs of `cert`; a certificate without SANs (or one that
    /// does not parse, which a verified certificate never is) has none.
    pub fn from_certificate(cert: &CertificateDer<'_>) -> PeerIdentity {
        let mut id = PeerIdentity::default();
        let Ok((_, parsed)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
            return id;
        };
        if let Ok(Some(san)) = parsed.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    x509_parser::extensions::GeneralName::URI(u) => id.uris.push((*u).to_string()),
                    x509_parser::extensions::GeneralName::DNSName(d) => id.dns_names.push(d.to_ascii_lowercase()),
                    _ => {}
                }
            }
        }
        id
    }

    /// True when `expected` names this peer: an exact URI (SPIFFE IDs are
    /// compared exactly, as the SPIFFE spec asks) or a DNS name (case-
    /// insensitive). A trailing `/*` admits every SPIFFE ID under that
    /// path: `spiffe://td/*` a whole trust domain, `spiffe://td/ns/x/*` a
    /// namespace.
    pub fn matches(&self, expected: &str) -> bool {
        if let Some(prefix) = expected.strip_suffix("/*")
            && expected.starts_with("spiffe://")
        {
            return self
                .uris
                .iter()
                .any(|u| u.len() > prefix.len() + 1 && u.starts_with(prefix) && u.as_bytes()[prefix.len()] == b'/');
        }
        if expected.contains("://") {
            return self.uris.iter().any(|u| u == expected);
        }
        self.dns_names.iter().any(|d| d.eq_ignore_ascii_case(expected))
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
    fn dns_names_match_without_case() {
        let p = id(&[], &["billing.svc"]);
        assert!(p.matches("Billing.SVC"));
        assert!(!p.matches("other.svc"));
        assert_eq!(p.to_string(), "billing.svc");
    }
}
