//! Whether a workload holding personal data is isolated, judged by the
//! simulator rather than by the shape of the policies: NetworkPolicies
//! select it for ingress and for egress, and nothing in force
//! (NetworkPolicies, AdminNetworkPolicies, BaselineAdminNetworkPolicies,
//! which add up) opens it to every namespace or to external addresses.
//! Narrower allows (named namespaces, labelled pods, its own namespace)
//! are what policy is for and pass; egress to port 53 in the cluster (DNS)
//! and the address ranges the platform allows pass too. The admission
//! guard and `netpol lint` NP001 both ask this, the same way.
//!
//! "Every namespace" is asked of a probe: a pod with no labels in a
//! namespace no policy names, with no labels but its name. A rule that
//! admits it admits pods of namespaces nobody chose. As a destination the
//! probe declares every port name the egress rules use (at the top port
//! numbers, shown as "named ports"), as some pod of some namespace may.

use std::fmt;

use super::ipv4::format_range;
use super::manifests::{ContainerPort, Labels, Namespace, Workload};
use super::ports::{ConnSet, PortSet, Protocol};
use super::{Cluster, Endpoint, Side};

/// The probe's namespace (see the module documentation).
pub(super) const PROBE_NAMESPACE: &str = "piimask-probe-unnamed-namespace";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flow {
    Ingress,
    Egress,
}

impl Flow {
    pub fn name(self) -> &'static str {
        match self {
            Flow::Ingress => "ingress",
            Flow::Egress => "egress",
        }
    }
}

/// Which kind of peer a hole lets through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerKind {
    /// Pods of any namespace (the probe).
    EveryNamespace,
    /// External address ranges outside the allowed ones (`lo`, `hi`).
    External(Vec<(u32, u32)>),
}

/// One way a PII workload is not isolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hole {
    /// No NetworkPolicy selects it for this direction.
    NotIsolated(Flow),
    /// Rules in force let a kind of peer through.
    Open {
        flow: Flow,
        /// The rules that open it: `ingress rule 1 of NetworkPolicy ns/name`,
        /// `AdminNetworkPolicy name rule 2 (Allow)`.
        by: Vec<String>,
        peer: PeerKind,
        /// What is open on numbered ports.
        conns: ConnSet,
        /// Whether ports named in the rules are open too.
        named_ports: bool,
    },
}

impl Hole {
    pub fn flow(&self) -> Flow {
        match self {
            Hole::NotIsolated(f) | Hole::Open { flow: f, .. } => *f,
        }
    }
}

impl fmt::Display for Hole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Hole::NotIsolated(Flow::Ingress) => {
                write!(f, "no NetworkPolicy selects it for Ingress, so every peer may connect to it")
            }
            Hole::NotIsolated(Flow::Egress) => {
                write!(f, "no NetworkPolicy selects it for Egress, so it may send anywhere")
            }
            Hole::Open { flow, by, peer, conns, named_ports } => {
                let peer = match peer {
                    PeerKind::EveryNamespace => "pods of every namespace".to_string(),
                    PeerKind::External(ranges) => format!("external addresses {}", summarize(ranges)),
                };
                let by = by.join(", ");
                let conns = match (conns.is_empty(), named_ports) {
                    (true, _) => "named ports".to_string(),
                    (false, true) => format!("{conns}, named ports"),
                    (false, false) => conns.to_string(),
                };
                match flow {
                    Flow::Ingress => write!(f, "{by} lets {peer} connect to it ({conns})"),
                    Flow::Egress => write!(f, "{by} lets it send to {peer} ({conns})"),
                }
            }
        }
    }
}

fn summarize(ranges: &[(u32, u32)]) -> String {
    match ranges {
        [one] => format_range(one.0, one.1),
        [first, rest @ ..] => format!("{} and {} more ranges", format_range(first.0, first.1), rest.len()),
        [] => String::new(),
    }
}

/// The rules that open some external ranges, the ranges, and what they open.
type OpenRanges = (Vec<String>, Vec<(u32, u32)>, ConnSet);

/// The probe: a pod with no labels in a namespace no policy names.
pub(super) fn probe() -> Workload {
    Workload {
        index: usize::MAX,
        namespace: PROBE_NAMESPACE.into(),
        name: "probe".into(),
        kind: String::new(),
        labels: Labels::new(),
        ports: Vec::new(),
        service_account: "default".into(),
    }
}

pub(super) fn probe_namespace() -> Namespace {
    let labels = [("kubernetes.io/metadata.name".to_string(), PROBE_NAMESPACE.to_string())].into_iter().collect();
    Namespace { name: PROBE_NAMESPACE.into(), labels }
}

/// Port 53 of every protocol: DNS, allowed to any pod of the cluster.
fn dns() -> ConnSet {
    Protocol::ALL.iter().fold(ConnSet::none(), |acc, p| acc.union(&ConnSet::of(*p, PortSet::range(53, 53))))
}

/// The rules a side names for what it allows of `hole`.
fn named_by(side: &Side, flow: Flow, hole: &ConnSet) -> Vec<String> {
    let mut by: Vec<String> = side
        .allowed_by
        .iter()
        .filter(|(_, conns)| !conns.intersect(hole).is_empty())
        .map(|(rule, _)| {
            // `ns/policy ingress rule N` → `ingress rule N of NetworkPolicy ns/policy`.
            let marker = format!(" {} rule ", flow.name());
            match rule.split_once(&marker) {
                Some((policy, n)) => format!("{} rule {n} of NetworkPolicy {policy}", flow.name()),
                None => rule.clone(),
            }
        })
        .collect();
    by.extend(
        side.admin
            .iter()
            .filter(|note| note.contains("(Allow)"))
            .map(|note| note.split(" decides ").next().unwrap_or(note).to_string()),
    );
    if by.is_empty() {
        by.push("the policies in force".into());
    }
    by
}

impl Cluster {
    /// How `w` is not isolated (empty: isolated), with `allowed` the
    /// external ranges the platform lets PII workloads reach and be
    /// reached from.
    pub(super) fn isolation_holes(&self, w: &Workload, allowed: &[(u32, u32)]) -> Vec<Hole> {
        let mut holes = Vec::new();
        let probe = probe();
        // The probe as a destination declares the port names egress rules
        // use, at the top port numbers (65535 down), which then stand for
        // "named ports" in what is found open.
        let mut names: Vec<(String, Protocol)> = Vec::new();
        for &i in &self.selecting[w.index] {
            let rules = self.policies[i].egress.iter().flatten();
            names.extend(rules.flat_map(|r| r.named_ports()).map(|(n, p)| (n.to_string(), p)));
        }
        for a in self.admin.iter().chain(&self.baseline) {
            names.extend(a.egress_named_ports().map(|n| (n.to_string(), Protocol::Tcp)));
        }
        names.sort();
        names.dedup();
        let mut target = probe.clone();
        let mut synthetic = ConnSet::none();
        for (i, (name, protocol)) in names.into_iter().take(1024).enumerate() {
            let port = 65535 - i as u16;
            synthetic = synthetic.union(&ConnSet::of(protocol, PortSet::range(port, port)));
            target.ports.push(ContainerPort { name: Some(name), port, protocol });
        }
        let isolated = |flow: Flow| {
            self.selecting[w.index].iter().any(|&i| match flow {
                Flow::Ingress => self.policies[i].ingress.is_some(),
                Flow::Egress => self.policies[i].egress.is_some(),
            })
        };
        for flow in [Flow::Ingress, Flow::Egress] {
            if !isolated(flow) {
                holes.push(Hole::NotIsolated(flow));
                continue;
            }
            let side = match flow {
                Flow::Ingress => self.ingress_side(&Endpoint::Workload(&probe), w, true),
                Flow::Egress => self.egress_side(w, &Endpoint::Workload(&target), true),
            };
            let open = match flow {
                Flow::Ingress => side.allowed.clone(),
                Flow::Egress => side.allowed.minus(&dns()),
            };
            if !open.is_empty() {
                let by = named_by(&side, flow, &open);
                // All ports stay "All Connections"; otherwise the top
                // ports were the probe's names.
                let (conns, named_ports) = if side.allowed.is_all() || open.intersect(&synthetic).is_empty() {
                    (open, false)
                } else {
                    (open.minus(&synthetic), true)
                };
                holes.push(Hole::Open { flow, by, peer: PeerKind::EveryNamespace, conns, named_ports });
            }
            // External ranges, cut where the policies and the allowed
            // ranges change, so each is wholly in or out of each.
            let mut cuts = self.cut_points();
            cuts.extend(allowed.iter().flat_map(|&(lo, hi)| [u64::from(lo), u64::from(hi) + 1]));
            cuts.sort_unstable();
            cuts.dedup();
            let mut open_ranges: Vec<OpenRanges> = Vec::new();
            for pair in cuts.windows(2) {
                let (lo, hi) = (pair[0] as u32, (pair[1] - 1) as u32);
                if allowed.iter().any(|&(a, b)| a <= lo && hi <= b) {
                    continue;
                }
                let side = match flow {
                    Flow::Ingress => self.ingress_side(&Endpoint::Range(lo, hi), w, true),
                    Flow::Egress => self.egress_side(w, &Endpoint::Range(lo, hi), true),
                };
                if side.allowed.is_empty() {
                    continue;
                }
                let by = named_by(&side, flow, &side.allowed);
                match open_ranges.iter_mut().find(|(b, ..)| *b == by) {
                    Some((_, ranges, conns)) => {
                        match ranges.last_mut() {
                            Some(last) if u64::from(last.1) + 1 == u64::from(lo) => last.1 = hi,
                            _ => ranges.push((lo, hi)),
                        }
                        *conns = conns.union(&side.allowed);
                    }
                    None => open_ranges.push((by, vec![(lo, hi)], side.allowed.clone())),
                }
            }
            for (by, ranges, conns) in open_ranges {
                holes.push(Hole::Open { flow, by, peer: PeerKind::External(ranges), conns, named_ports: false });
            }
        }
        holes
    }
}

/// How the pod `pod` (as an admission review carries it: no name needed)
/// in `namespace`, whose labels are `namespace_labels`, is not isolated
/// under `policies`: the namespace's NetworkPolicies and every
/// AdminNetworkPolicy and BaselineAdminNetworkPolicy. Empty: isolated.
pub fn pod_holes(
    pod: &serde_json::Value,
    namespace: &str,
    namespace_labels: &serde_json::Value,
    policies: &[serde_json::Value],
    allowed: &[(u32, u32)],
) -> Vec<Hole> {
    let mut pod = pod.clone();
    if let Some(obj) = pod.as_object_mut() {
        obj.insert("kind".into(), "Pod".into());
        let meta = obj.entry("metadata").or_insert_with(|| serde_json::json!({}));
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("name".into(), "pii-pod".into());
            meta.insert("namespace".into(), namespace.into());
            meta.remove("ownerReferences");
        }
    }
    let mut objects = vec![
        serde_json::json!({"kind": "Namespace", "metadata": {"name": namespace, "labels": namespace_labels}}),
        pod,
    ];
    // The namespace's NetworkPolicies, listed for it, are in it.
    objects.extend(policies.iter().cloned().map(|mut p| {
        let is_np = p.get("kind").and_then(serde_json::Value::as_str) == Some("NetworkPolicy");
        if let (true, Some(meta)) = (is_np, p.get_mut("metadata").and_then(serde_json::Value::as_object_mut)) {
            meta.entry("namespace").or_insert_with(|| namespace.into());
        }
        p
    }));
    let cluster = Cluster::from_objects(&objects);
    match cluster.workloads.iter().find(|w| w.namespace == namespace) {
        Some(w) => cluster.isolation_holes(w, allowed),
        // A pod without a spec: nothing selects what cannot run.
        None => vec![Hole::NotIsolated(Flow::Ingress), Hole::NotIsolated(Flow::Egress)],
    }
}

/// A CIDR (`10.0.0.0/8`) as an inclusive range, for the allowed ranges.
pub fn parse_cidr(s: &str) -> Option<(u32, u32)> {
    super::ipv4::cidr(s)
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn pod() -> Value {
        json!({"metadata": {"labels": {"app": "customers", "piimask.io/pii": "true"}},
            "spec": {"containers": [{"name": "app", "ports": [{"containerPort": 8443}]}]}})
    }

    fn np(name: &str, spec: Value) -> Value {
        json!({"kind": "NetworkPolicy", "metadata": {"name": name, "namespace": "app"}, "spec": spec})
    }

    fn holes(policies: &[Value]) -> Vec<Hole> {
        pod_holes(&pod(), "app", &json!({}), policies, &[])
    }

    fn deny() -> Value {
        np("deny", json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}))
    }

    #[test]
    fn default_deny_isolates_and_a_second_policy_that_allows_everything_cancels_it() {
        assert_eq!(holes(&[]), [Hole::NotIsolated(Flow::Ingress), Hole::NotIsolated(Flow::Egress)]);
        assert!(holes(&[deny()]).is_empty());
        let open = np("open", json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}));
        let found = holes(&[deny(), open]);
        assert_eq!(found.len(), 1, "{found:?}");
        let text = found[0].to_string();
        assert_eq!(
            text,
            "ingress rule 1 of NetworkPolicy app/open lets pods of every namespace connect to it (All Connections)"
        );
        let everything = np("all", json!({"podSelector": {}, "ingress": [{}], "egress": [{}]}));
        let found: Vec<String> = holes(&[deny(), everything]).iter().map(ToString::to_string).collect();
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[1].contains("lets external addresses 0.0.0.0-255.255.255.255 connect"), "{found:?}");
        assert!(found[3].starts_with("egress rule 1 of NetworkPolicy app/all lets it send to external"), "{found:?}");
    }

    #[test]
    fn narrow_allows_dns_and_allowed_ranges_pass() {
        let narrow = np(
            "narrow",
            json!({"podSelector": {"matchLabels": {"app": "customers"}}, "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "billing"}}},
                                  {"podSelector": {"matchLabels": {"role": "frontend"}}, "namespaceSelector": {}}]}],
            "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53}]},
                       {"to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}], "ports": [{"port": 443}]}]}),
        );
        let found = holes(&[deny(), narrow.clone()]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].to_string().contains("lets it send to external addresses 10.20.0.0-10.20.255.255"));
        let allowed = [parse_cidr("10.20.0.0/16").unwrap()];
        assert!(pod_holes(&pod(), "app", &json!({}), &[deny(), narrow], &allowed).is_empty());
    }

    #[test]
    fn egress_to_a_named_port_of_every_namespace_is_a_hole() {
        let named = np(
            "named",
            json!({"podSelector": {}, "policyTypes": ["Egress"],
            "egress": [{"to": [{"namespaceSelector": {}}], "ports": [{"port": "http"}, {"port": 53, "protocol": "UDP"}]}]}),
        );
        let found: Vec<String> = holes(&[deny(), named]).iter().map(ToString::to_string).collect();
        assert_eq!(
            found,
            ["egress rule 1 of NetworkPolicy app/named lets it send to pods of every namespace (named ports)"]
        );
    }

    #[test]
    fn admin_policies_are_in_force() {
        let anp = json!({"kind": "AdminNetworkPolicy", "metadata": {"name": "open-pii"}, "spec": {"priority": 10,
            "subject": {"namespaces": {"matchLabels": {"tier": "pii"}}},
            "ingress": [{"action": "Allow", "from": [{"namespaces": {}}]}]}});
        assert!(holes(&[deny(), anp.clone()]).is_empty(), "the namespace is not the ANP's subject");
        let found = pod_holes(&pod(), "app", &json!({"tier": "pii"}), &[deny(), anp], &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].to_string().starts_with("AdminNetworkPolicy open-pii rule 1 (Allow) lets pods of every"));
    }
}
