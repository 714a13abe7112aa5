//! AdminNetworkPolicy and BaselineAdminNetworkPolicy
//! (policy.networking.k8s.io/v1alpha1): cluster-scoped rules that come
//! before (ANP, by priority, with Allow, Deny and Pass) and after (BANP,
//! Allow and Deny) the namespaces' NetworkPolicies.

use serde_json::Value;

use super::ipv4;
use super::manifests::{ContainerPort, Namespace, Workload, str_at};
use super::policy::Selector;
use super::ports::{ConnSet, PortSet, Protocol};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminAction {
    Allow,
    Deny,
    /// Leave the decision to the NetworkPolicies (ANP only).
    Pass,
}

#[derive(Debug, Clone)]
enum Pods {
    /// Every pod of the selected namespaces.
    Namespaces(Selector),
    Pods {
        namespaces: Selector,
        pods: Selector,
    },
}

impl Pods {
    fn parse(v: &Value) -> Option<Pods> {
        if let Some(ns) = v.get("namespaces") {
            return Some(Pods::Namespaces(Selector::parse(ns)));
        }
        let pods = v.get("pods")?;
        Some(Pods::Pods {
            namespaces: pods.get("namespaceSelector").map(Selector::parse).unwrap_or_default(),
            pods: pods.get("podSelector").map(Selector::parse).unwrap_or_default(),
        })
    }

    fn matches(&self, w: &Workload, namespaces: &std::collections::BTreeMap<String, Namespace>) -> bool {
        let ns_labels = namespaces.get(&w.namespace).map(|n| &n.labels);
        let ns_ok = |sel: &Selector| ns_labels.is_some_and(|l| sel.matches(l));
        match self {
            Pods::Namespaces(sel) => ns_ok(sel),
            Pods::Pods { namespaces, pods } => ns_ok(namespaces) && pods.matches(&w.labels),
        }
    }
}

#[derive(Debug, Clone)]
enum AdminPeer {
    Pods(Pods),
    /// Egress `networks`: CIDRs outside (or inside) the cluster.
    Networks(Vec<(u32, u32)>),
}

#[derive(Debug, Clone)]
enum AdminPort {
    Number(Protocol, u16),
    Range(Protocol, u16, u16),
    Named(String),
}

#[derive(Debug, Clone)]
pub struct AdminRule {
    pub action: AdminAction,
    peers: Vec<AdminPeer>,
    ports: Option<Vec<AdminPort>>,
}

#[derive(Debug, Clone)]
pub struct AdminPolicy {
    pub baseline: bool,
    pub priority: i64,
    pub name: String,
    subject: Pods,
    pub ingress: Vec<AdminRule>,
    pub egress: Vec<AdminRule>,
}

impl AdminPolicy {
    pub fn parse(v: &Value) -> Option<AdminPolicy> {
        let baseline = match v.get("kind").and_then(Value::as_str)? {
            "AdminNetworkPolicy" => false,
            "BaselineAdminNetworkPolicy" => true,
            _ => return None,
        };
        let spec = v.get("spec")?;
        let rules = |key: &str, peers_key: &str| -> Vec<AdminRule> {
            spec.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| {
                    let action = match r.get("action").and_then(Value::as_str)? {
                        "Allow" => AdminAction::Allow,
                        "Deny" => AdminAction::Deny,
                        "Pass" if !baseline => AdminAction::Pass,
                        _ => return None,
                    };
                    let peers = r
                        .get(peers_key)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(|p| match p.get("networks").and_then(Value::as_array) {
                            Some(nets) => Some(AdminPeer::Networks(
                                nets.iter().filter_map(|n| n.as_str().and_then(ipv4::cidr)).collect(),
                            )),
                            None => Pods::parse(p).map(AdminPeer::Pods),
                        })
                        .collect();
                    let ports = r.get("ports").and_then(Value::as_array).map(|ports| {
                        ports
                            .iter()
                            .filter_map(|p| {
                                let proto = |x: &Value| {
                                    x.get("protocol")
                                        .and_then(Value::as_str)
                                        .and_then(Protocol::parse)
                                        .unwrap_or(Protocol::Tcp)
                                };
                                let num = |x: &Value, k: &str| {
                                    x.get(k).and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok())
                                };
                                if let Some(n) = p.get("portNumber") {
                                    return Some(AdminPort::Number(proto(n), num(n, "port")?));
                                }
                                if let Some(r) = p.get("portRange") {
                                    return Some(AdminPort::Range(proto(r), num(r, "start")?, num(r, "end")?));
                                }
                                p.get("namedPort").and_then(Value::as_str).map(|n| AdminPort::Named(n.to_string()))
                            })
                            .collect()
                    });
                    Some(AdminRule { action, peers, ports })
                })
                .collect()
        };
        Some(AdminPolicy {
            baseline,
            priority: spec.get("priority").and_then(Value::as_i64).unwrap_or(0),
            name: str_at(v, &["metadata", "name"]).unwrap_or("").to_string(),
            subject: spec.get("subject").and_then(Pods::parse)?,
            ingress: rules("ingress", "from"),
            egress: rules("egress", "to"),
        })
    }

    /// Every selector of pod labels in the policy: its subject's and its
    /// rules' peers'.
    pub fn pod_selectors(&self) -> impl Iterator<Item = &Selector> + '_ {
        let peers = self.ingress.iter().chain(&self.egress).flat_map(|r| &r.peers).filter_map(|p| match p {
            AdminPeer::Pods(pods) => Some(pods),
            AdminPeer::Networks(_) => None,
        });
        std::iter::once(&self.subject).chain(peers).filter_map(|pods| match pods {
            Pods::Pods { pods, .. } => Some(pods),
            Pods::Namespaces(_) => None,
        })
    }

    pub fn applies_to(&self, w: &Workload, namespaces: &std::collections::BTreeMap<String, Namespace>) -> bool {
        self.subject.matches(w, namespaces)
    }

    /// The port names the policy's egress rules use.
    pub fn egress_named_ports(&self) -> impl Iterator<Item = &str> + '_ {
        self.egress.iter().flat_map(|r| r.ports.iter().flatten()).filter_map(|p| match p {
            AdminPort::Named(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// Where the policy's `networks` cut the IPv4 space.
    pub fn network_bounds(&self) -> impl Iterator<Item = u64> + '_ {
        self.egress.iter().flat_map(|r| &r.peers).flat_map(|p| match p {
            AdminPeer::Networks(nets) => nets.iter().flat_map(|&(a, b)| [u64::from(a), u64::from(b) + 1]).collect(),
            AdminPeer::Pods(_) => Vec::new(),
        })
    }
}

/// The other end of a flow, as an admin rule sees it.
pub enum Other<'a> {
    Workload(&'a Workload),
    Range(u32, u32),
}

impl AdminRule {
    pub fn matches(&self, other: &Other<'_>, namespaces: &std::collections::BTreeMap<String, Namespace>) -> bool {
        self.peers.iter().any(|p| match (p, other) {
            (AdminPeer::Pods(pods), Other::Workload(w)) => pods.matches(w, namespaces),
            (AdminPeer::Networks(nets), Other::Range(lo, hi)) => nets.iter().any(|&(a, b)| a <= *lo && *hi <= b),
            _ => false,
        })
    }

    /// What the rule covers; named ports resolve on the destination's
    /// container ports (`None` for an external destination).
    pub fn conns(&self, dst_ports: Option<&[ContainerPort]>) -> ConnSet {
        let Some(ports) = &self.ports else { return ConnSet::all() };
        ports.iter().fold(ConnSet::none(), |acc, p| {
            let c = match p {
                AdminPort::Number(proto, n) => ConnSet::of(*proto, PortSet::range(*n, *n)),
                AdminPort::Range(proto, lo, hi) => ConnSet::of(*proto, PortSet::range(*lo, *hi)),
                AdminPort::Named(name) => dst_ports
                    .into_iter()
                    .flatten()
                    .filter(|cp| cp.name.as_deref() == Some(name))
                    .fold(ConnSet::none(), |c, cp| {
                        c.union(&ConnSet::of(cp.protocol, PortSet::range(cp.port, cp.port)))
                    }),
            };
            acc.union(&c)
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{Cluster, Protocol};

    #[test]
    fn pass_hands_a_port_to_the_network_policies_and_explain_says_so() {
        let objects = vec![
            json!({"kind": "Deployment", "metadata": {"name": "a", "namespace": "x"},
                "spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c"}]}}}}),
            json!({"kind": "Deployment", "metadata": {"name": "b", "namespace": "y"},
                "spec": {"template": {"metadata": {"labels": {"app": "b"}}, "spec": {"containers": [{"name": "c"}]}}}}),
            json!({"kind": "AdminNetworkPolicy", "metadata": {"name": "anp"}, "spec": {"priority": 5,
            "subject": {"namespaces": {}},
            "egress": [
                {"action": "Pass", "to": [{"namespaces": {}}], "ports": [{"portNumber": {"protocol": "TCP", "port": 80}}]},
                {"action": "Deny", "to": [{"namespaces": {}}], "ports": [{"portNumber": {"protocol": "TCP", "port": 81}}]}
            ]}}),
            // x isolates its egress and allows nothing: the passed port 80 is denied there.
            json!({"kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "x"},
                "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}),
        ];
        let c = Cluster::from_objects(&objects);
        let v = |port| c.eval("x/a", "y/b", Protocol::Tcp, port).expect("both exist");
        assert!(!v(80).allowed, "passed to an isolating NetworkPolicy that allows nothing");
        assert!(!v(81).allowed, "denied by the admin policy");
        assert!(!v(82).allowed, "not decided by the ANP, so the NetworkPolicy denies it");
        let back = c.eval("y/b", "x/a", Protocol::Tcp, 81).expect("both exist");
        assert!(
            !back.allowed && back.egress.admin.iter().any(|l| l.contains("rule 2 (Deny)")),
            "{:?}",
            back.egress.admin
        );
        assert!(
            c.eval("y/b", "x/a", Protocol::Tcp, 80).expect("exists").allowed,
            "y has no NetworkPolicy: passed means allowed"
        );
    }
}
