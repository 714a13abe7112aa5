//! Workload certificates: a cert-manager `Certificate` carrying a SPIFFE
//! ID (`spiffe://TRUST_DOMAIN/ns/NAMESPACE/sa/SERVICE_ACCOUNT`), for the
//! workloads `inject` adds the sidecar to and for the gateway `install`
//! renders. Short-lived on purpose: piimask reloads its certificate as
//! cert-manager rotates the Secret.

use serde::Deserialize;
use serde_json::{Value, json};

/// The cert-manager issuer that signs workload certificates.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct IssuerRef {
    pub name: String,
    pub kind: String,
}

impl Default for IssuerRef {
    fn default() -> IssuerRef {
        IssuerRef { name: "piimask-ca".into(), kind: "ClusterIssuer".into() }
    }
}

pub fn spiffe_id(trust_domain: &str, namespace: &str, service_account: &str) -> String {
    format!("spiffe://{trust_domain}/ns/{namespace}/sa/{service_account}")
}

/// What one workload certificate says and where it goes.
pub struct WorkloadCert<'a> {
    /// The Certificate object's metadata (name, namespace, labels).
    pub metadata: Value,
    pub secret: &'a str,
    pub spiffe_id: &'a str,
    /// DNS names peers may also dial it by (a gateway's Service).
    pub dns_names: &'a [String],
    pub issuer: &'a IssuerRef,
}

pub fn certificate(c: &WorkloadCert<'_>) -> Value {
    let mut spec = json!({
        "secretName": c.secret,
        // The identity peers check, and the only one it carries.
        "uris": [c.spiffe_id],
        "usages": ["server auth", "client auth"],
        "issuerRef": {"name": c.issuer.name, "kind": c.issuer.kind},
        "duration": "24h",
        "renewBefore": "8h",
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
    });
    if !c.dns_names.is_empty() {
        spec["dnsNames"] = json!(c.dns_names);
    }
    json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": c.metadata, "spec": spec})
}
