//! Server-certificate verification for egress peers: the chain must lead to
//! the configured CA (as webpki checks it) and the leaf must name the peer
//! the config expects. SPIFFE workload certificates carry a URI SAN and
//! often no DNS name, so the usual hostname check cannot be used. The leaf
//! is read as an X.509-SVID: one with several URI SANs is refused.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, Error, RootCertStore, SignatureScheme};

use super::PeerIdentity;

#[derive(Debug)]
pub struct PeerVerifier {
    roots: Arc<RootCertStore>,
    expected: String,
    provider: Arc<CryptoProvider>,
}

impl PeerVerifier {
    pub fn new(roots: Arc<RootCertStore>, expected: String, provider: Arc<CryptoProvider>) -> PeerVerifier {
        PeerVerifier { roots, expected, provider }
    }
}

impl ServerCertVerifier for PeerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let parsed = ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_cert_signed_by_trust_anchor(
            &parsed,
            &self.roots,
            intermediates,
            now,
            self.provider.signature_verification_algorithms.all,
        )?;
        // Read as an X.509-SVID, as inbound peers are: a certificate with
        // several URI SANs names no one peer, so it names none.
        let identity = PeerIdentity::from_svid(end_entity)
            .map_err(|_| Error::InvalidCertificate(CertificateError::NotValidForName))?;
        if identity.matches(&self.expected) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(Error::InvalidCertificate(CertificateError::NotValidForName))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use rustls_pki_types::pem::PemObject;

    use super::*;
    use crate::devpki::{DevCa, LeafSpec};

    fn verify(ca: &DevCa, expected: &str, uris: &[&str], dns: &[&str]) -> Result<ServerCertVerified, Error> {
        let mut roots = RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(ca.cert_pem().as_bytes()).expect("CA PEM")).expect("CA");
        let spec = LeafSpec {
            common_name: "peer".into(),
            uris: uris.iter().map(|u| u.to_string()).collect(),
            dns_names: dns.iter().map(|d| d.to_string()).collect(),
            valid_days: 30,
            ..LeafSpec::default()
        };
        let leaf = CertificateDer::from_pem_slice(ca.issue(&spec).expect("leaf").cert_pem.as_bytes()).expect("PEM");
        let verifier = PeerVerifier::new(Arc::new(roots), expected.into(), super::super::provider());
        let name = ServerName::try_from("peer.invalid").expect("name");
        verifier.verify_server_cert(&leaf, &[], &name, &[], UnixTime::now())
    }

    #[test]
    fn an_egress_peer_must_carry_exactly_the_expected_identity() {
        let ca = DevCa::new("peers").expect("CA");
        let billing = "spiffe://td/ns/billing/sa/billing";
        assert!(verify(&ca, billing, &[billing], &[]).is_ok());
        assert!(verify(&ca, "spiffe://td/ns/billing/*", &[billing], &[]).is_ok());
        assert!(verify(&ca, billing, &["spiffe://td/ns/other/sa/x"], &[]).is_err());
        // A second URI SAN beside the expected one: no single identity.
        assert!(verify(&ca, billing, &["spiffe://td/ns/other/sa/x", billing], &[]).is_err());
        assert!(verify(&ca, billing, &[billing, "spiffe://td/ns/other/sa/x"], &[]).is_err());
        // A DNS name counts only without a URI SAN.
        assert!(verify(&ca, "billing.svc", &[], &["billing.svc"]).is_ok());
        assert!(verify(&ca, "billing.svc", &[billing], &["billing.svc"]).is_err());
    }
}
