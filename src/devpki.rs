//! A throw-away PKI for `piimask demo`, `piimask certs dev` and the tests:
//! a CA and leaf certificates with SPIFFE IDs and DNS names, written as PEM.
//! Never for production: keys are generated in memory and written as plain
//! files.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};

#[derive(Debug, thiserror::Error)]
pub enum DevPkiError {
    #[error("generating a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{path}: cannot write: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// A certificate authority that signs leaves.
pub struct DevCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// What a leaf certificate says about its holder.
#[derive(Debug, Clone, Default)]
pub struct LeafSpec {
    pub common_name: String,
    pub uris: Vec<String>,
    pub dns_names: Vec<String>,
    pub ips: Vec<std::net::IpAddr>,
    /// Days from now the certificate expires; negative gives an expired one.
    pub valid_days: i64,
}

/// A leaf certificate and its key, PEM-encoded.
#[derive(Debug, Clone)]
pub struct DevCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl DevCa {
    pub fn new(name: &str) -> Result<DevCa, DevPkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2100, 1, 1);
        Ok(DevCa { issuer: CertifiedIssuer::self_signed(params, KeyPair::generate()?)? })
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A leaf usable as both TLS server and client (a sidecar is both).
    pub fn issue(&self, spec: &LeafSpec) -> Result<DevCert, DevPkiError> {
        let mut params = CertificateParams::default();
        params.distinguished_name = dn(&spec.common_name);
        for uri in &spec.uris {
            params.subject_alt_names.push(SanType::URI(uri.as_str().try_into()?));
        }
        for dns in &spec.dns_names {
            params.subject_alt_names.push(SanType::DnsName(dns.as_str().try_into()?));
        }
        params.subject_alt_names.extend(spec.ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        let now = time::OffsetDateTime::now_utc();
        let valid = time::Duration::days(spec.valid_days);
        (params.not_before, params.not_after) = if spec.valid_days >= 0 {
            (now - time::Duration::hours(1), now + valid)
        } else {
            (now + valid - time::Duration::days(30), now + valid)
        };
        let key = KeyPair::generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        Ok(DevCert { cert_pem: cert.pem(), key_pem: key.serialize_pem() })
    }
}

impl LeafSpec {
    /// A workload leaf with a SPIFFE ID, valid for a year.
    pub fn spiffe(common_name: &str, spiffe_id: &str) -> LeafSpec {
        LeafSpec {
            common_name: common_name.into(),
            uris: vec![spiffe_id.into()],
            valid_days: 365,
            ..LeafSpec::default()
        }
    }

    /// Adds `localhost` and 127.0.0.1 so clients can dial it by name or IP.
    pub fn with_localhost(mut self) -> LeafSpec {
        self.dns_names.push("localhost".into());
        self.ips.push(std::net::IpAddr::from([127, 0, 0, 1]));
        self
    }
}

impl DevCert {
    /// Writes `<dir>/<name>.crt` and `<dir>/<name>.key`.
    pub fn write(&self, dir: &Path, name: &str) -> Result<(PathBuf, PathBuf), DevPkiError> {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        write(&cert, &self.cert_pem)?;
        write(&key, &self.key_pem)?;
        Ok((cert, key))
    }
}

/// The SPIFFE IDs of the standard dev PKI.
pub const SERVER_ID: &str = "spiffe://piimask.dev/ns/app/sa/customers";
pub const ALLOWED_CLIENT_ID: &str = "spiffe://piimask.dev/ns/billing/sa/billing";
pub const OTHER_CLIENT_ID: &str = "spiffe://piimask.dev/ns/marketing/sa/crawler";

/// Writes the standard dev PKI into `dir`: `ca.crt`, `server.{crt,key}`
/// (SPIFFE ID plus localhost), `client.{crt,key}` (an identity to allow)
/// and `other-client.{crt,key}` (one to refuse). Returns the CA, to issue
/// more leaves with.
pub fn write_dev_pki(dir: &Path) -> Result<DevCa, DevPkiError> {
    std::fs::create_dir_all(dir).map_err(|source| DevPkiError::Write { path: dir.into(), source })?;
    let ca = DevCa::new("piimask dev CA")?;
    write(&dir.join("ca.crt"), &ca.cert_pem())?;
    ca.issue(&LeafSpec::spiffe("customers", SERVER_ID).with_localhost())?.write(dir, "server")?;
    ca.issue(&LeafSpec::spiffe("billing", ALLOWED_CLIENT_ID))?.write(dir, "client")?;
    ca.issue(&LeafSpec::spiffe("crawler", OTHER_CLIENT_ID))?.write(dir, "other-client")?;
    Ok(ca)
}

fn dn(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

fn write(path: &Path, text: &str) -> Result<(), DevPkiError> {
    std::fs::write(path, text).map_err(|source| DevPkiError::Write { path: path.into(), source })
}
