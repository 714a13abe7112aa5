//! `piimask netpol generate`: the NetworkPolicies a workload running piimask
//! needs, from the same config the sidecar runs with: default deny for
//! ingress and egress in its namespace; ingress only to the sidecar port,
//! only from the namespaces of the identities the routes allow; egress only
//! to the addresses the proxy dials (egress peers, a gateway's upstreams)
//! and to DNS. NetworkPolicies cannot
//! select by service account, so they admit the allowed identities'
//! namespaces and the proxy narrows that to the exact SPIFFE IDs.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::policy::{InboundPolicy, PeerRule};

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("allowed identity `{0}`: expected a SPIFFE ID such as spiffe://cluster.local/ns/billing/sa/billing")]
    NotSpiffe(String),
    #[error(
        "`{name}`: address `{address}` is neither an IP nor a Service name (name.namespace[.svc[.cluster.local]]): \
         a NetworkPolicy cannot name other hosts"
    )]
    Destination { name: String, address: String },
}

/// What the generated policies protect.
pub struct Workload<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    /// The pod labels that select the workload's pods.
    pub pod_labels: &'a BTreeMap<String, String>,
}

/// The parts of a piimask config the policies follow: who may call the
/// sidecar's port, and what the proxy dials, as (name, `host:port`).
pub struct Sidecar<'a> {
    pub inbound: &'a InboundPolicy,
    pub port: u16,
    pub destinations: &'a [(String, String)],
}

/// Where an allowed caller comes from: a namespace, or every namespace.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum From {
    Namespace(String),
    Anywhere,
}

fn namespace_of_spiffe(id: &str) -> Result<From, GenerateError> {
    let rest = id.strip_prefix("spiffe://").ok_or_else(|| GenerateError::NotSpiffe(id.into()))?;
    let path: Vec<&str> = rest.split('/').skip(1).collect();
    match path.as_slice() {
        ["*"] | [] => Ok(From::Anywhere),
        ["ns", ns, ..] if !ns.is_empty() && *ns != "*" => Ok(From::Namespace(ns.to_string())),
        _ => Err(GenerateError::NotSpiffe(id.into())),
    }
}

fn namespace_selector(ns: &str) -> Value {
    json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns}}})
}

/// The NetworkPolicy that selects every pod of its namespace and allows
/// nothing either way: what the other policies then open.
pub(super) fn default_deny(metadata: Value) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": metadata,
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    })
}

/// The egress rule for cluster DNS (kube-dns / CoreDNS in kube-system).
pub(super) fn dns_egress() -> Value {
    json!({
        "to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]
    })
}

/// The namespace of a Service name: `name.namespace`, `name.namespace.svc`
/// or `name.namespace.svc.<cluster domain>`.
fn service_namespace(host: &str) -> Option<&str> {
    let parts: Vec<&str> = host.split('.').collect();
    match parts.as_slice() {
        [name, ns] | [name, ns, "svc", ..] if !name.is_empty() && !ns.is_empty() => Some(ns),
        _ => None,
    }
}

/// The policies, as Kubernetes objects in a stable order.
pub fn network_policies(sidecar: &Sidecar<'_>, workload: &Workload<'_>) -> Result<Vec<Value>, GenerateError> {
    let labels = json!({"app.kubernetes.io/managed-by": "piimask"});
    let meta = |name: String| json!({"name": name, "namespace": workload.namespace, "labels": labels});
    let mut froms = Vec::new();
    for route in &sidecar.inbound.routes {
        match &route.peers {
            PeerRule::Anyone | PeerRule::AnyVerified => froms.push(From::Anywhere),
            PeerRule::Only(ids) => {
                for id in ids {
                    froms.push(namespace_of_spiffe(id)?);
                }
            }
        }
    }
    froms.sort();
    froms.dedup();
    let sources: Vec<Value> = if froms.contains(&From::Anywhere) {
        vec![json!({"namespaceSelector": {}})]
    } else {
        froms
            .iter()
            .filter_map(|f| match f {
                From::Namespace(ns) => Some(namespace_selector(ns)),
                From::Anywhere => None,
            })
            .collect()
    };
    let port = sidecar.port;
    let mut egress = vec![dns_egress()];
    for (name, address) in sidecar.destinations {
        let bad = || GenerateError::Destination { name: name.clone(), address: address.clone() };
        let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
        let port: u16 = port.parse().map_err(|_| bad())?;
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let to = match host.parse::<std::net::IpAddr>() {
            Ok(ip) => json!({"ipBlock": {"cidr": format!("{ip}/{}", if ip.is_ipv4() { 32 } else { 128 })}}),
            Err(_) => namespace_selector(service_namespace(host).ok_or_else(bad)?),
        };
        egress.push(json!({"to": [to], "ports": [{"protocol": "TCP", "port": port}]}));
    }
    Ok(vec![
        default_deny(meta("piimask-default-deny".into())),
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": meta(format!("piimask-{}", workload.name)),
            "spec": {
                "podSelector": {"matchLabels": workload.pod_labels},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": sources, "ports": [{"protocol": "TCP", "port": port}]}],
                "egress": egress
            }
        }),
    ])
}

/// The policies as a multi-document YAML stream.
pub fn to_yaml(objects: &[Value]) -> Result<String, serde_yaml_ng::Error> {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        out.push_str(&serde_yaml_ng::to_string(o)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spiffe_ids_give_their_namespace_and_wildcards_every_namespace() {
        assert_eq!(
            namespace_of_spiffe("spiffe://td/ns/billing/sa/billing").unwrap(),
            From::Namespace("billing".into())
        );
        assert_eq!(namespace_of_spiffe("spiffe://td/ns/billing/*").unwrap(), From::Namespace("billing".into()));
        assert_eq!(namespace_of_spiffe("spiffe://td/*").unwrap(), From::Anywhere);
        assert!(namespace_of_spiffe("billing.svc").is_err());
        assert!(
            namespace_of_spiffe("spiffe://td/workload/x").unwrap_err().to_string().contains("expected a SPIFFE ID")
        );
    }

    #[test]
    fn service_names_give_their_namespace_and_other_hosts_none() {
        assert_eq!(service_namespace("ledger.finance"), Some("finance"));
        assert_eq!(service_namespace("ledger.finance.svc"), Some("finance"));
        assert_eq!(service_namespace("ledger.finance.svc.cluster.local"), Some("finance"));
        assert_eq!(service_namespace("ledger.legacy.example"), None, "an outside DNS name");
        assert_eq!(service_namespace("api.example.com"), None);
        assert_eq!(service_namespace("ledger"), None);
    }
}
