//! `piimask inject` and `piimask uninject`, and the injection flags
//! `inject` shares with the webhook.

use std::path::PathBuf;

use super::GivenFlags;
use crate::k8s::certs::IssuerRef;
use crate::k8s::inject::{CertSource, InjectOptions, inject_stream_warning};
use crate::k8s::uninject::uninject_stream;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CertsArg {
    /// A cert-manager Certificate per service account (Secret SA-piimask-tls).
    CertManager,
    /// cert-manager's csi-driver-spiffe: a certificate per pod, in a CSI volume.
    CsiSpiffe,
}

/// How the sidecar is injected: what `inject` and `webhook` both take.
#[derive(Debug, clap::Args)]
pub struct InjectFlags {
    /// The sidecar image.
    #[arg(long, default_value = "ghcr.io/piimask/piimask:0.1.0")]
    pub image: String,
    /// A regular container instead of a native sidecar (Kubernetes < 1.29).
    #[arg(long)]
    pub legacy_sidecar: bool,
    /// Where the sidecar's workload certificate comes from (default:
    /// cert-manager for `inject`, csi-spiffe for `webhook`).
    #[arg(long, value_enum)]
    pub certs: Option<CertsArg>,
    /// The cert-manager issuer of the workload certificates (--certs cert-manager).
    #[arg(long, default_value = "piimask-ca")]
    pub issuer: String,
    #[arg(long, default_value = "ClusterIssuer")]
    pub issuer_kind: String,
    /// The SPIFFE trust domain of the workload identities.
    #[arg(long, default_value = "cluster.local")]
    pub trust_domain: String,
}

/// The flags that only mean something with `--certs cert-manager`.
const CERT_MANAGER_ONLY: &[(&str, &str)] =
    &[("issuer", "--issuer"), ("issuer_kind", "--issuer-kind"), ("trust_domain", "--trust-domain")];

impl InjectFlags {
    /// The options; a cert-manager flag beside csi-spiffe certificates
    /// (which come from the CSI driver's own issuer and trust domain) is
    /// refused rather than ignored.
    pub fn options(&self, default_certs: CertsArg, given: &GivenFlags) -> anyhow::Result<InjectOptions> {
        let certs = match self.certs.unwrap_or(default_certs) {
            CertsArg::CsiSpiffe => {
                let ignored: Vec<&str> =
                    CERT_MANAGER_ONLY.iter().filter(|(id, _)| given.contains(id)).map(|(_, flag)| *flag).collect();
                if !ignored.is_empty() {
                    anyhow::bail!(
                        "{} only apply to --certs cert-manager; with csi-spiffe the CSI driver's issuer and \
                         trust domain are used: drop them, or give --certs cert-manager",
                        ignored.join(", ")
                    );
                }
                CertSource::CsiSpiffe
            }
            CertsArg::CertManager => CertSource::CertManager {
                issuer: IssuerRef { name: self.issuer.clone(), kind: self.issuer_kind.clone() },
                trust_domain: self.trust_domain.clone(),
            },
        };
        Ok(InjectOptions { image: self.image.clone(), legacy_sidecar: self.legacy_sidecar, certs })
    }
}

#[derive(Debug, clap::Args)]
pub struct InjectArgs {
    /// Manifests to read (default: stdin); multi-document YAML and Lists.
    #[arg(short = 'f', long = "filename")]
    pub file: Option<PathBuf>,
    #[command(flatten)]
    pub flags: InjectFlags,
}

/// Manifests in, the same manifests with the sidecar (and the
/// Certificates it needs) out.
pub fn run(args: &InjectArgs, given: &GivenFlags) -> anyhow::Result<()> {
    let options = args.flags.options(CertsArg::CertManager, given)?;
    let (name, text) = read_manifests(args.file.as_deref())?;
    let (out, warnings) = inject_stream_warning(&text, &options).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    for w in warnings {
        eprintln!("piimask: warning: {name}: {w}");
    }
    super::print_out(&out)
}

#[derive(Debug, clap::Args)]
pub struct UninjectArgs {
    /// Manifests to read (default: stdin), as `piimask inject` wrote them.
    #[arg(short = 'f', long = "filename")]
    pub file: Option<PathBuf>,
}

/// Injected manifests in, the manifests as they were before out.
pub fn run_uninject(args: &UninjectArgs) -> anyhow::Result<()> {
    let (name, text) = read_manifests(args.file.as_deref())?;
    let out = uninject_stream(&text).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    super::print_out(&out)
}

/// The stream's name (for errors) and text, from a file or stdin.
fn read_manifests(file: Option<&std::path::Path>) -> anyhow::Result<(String, String)> {
    use std::io::Read;
    let mut text = String::new();
    match file {
        Some(path) => {
            text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?
        }
        None => {
            std::io::stdin().read_to_string(&mut text)?;
        }
    }
    Ok((file.map_or("stdin".to_string(), |p| p.display().to_string()), text))
}
