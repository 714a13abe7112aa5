//! NetworkPolicies (networking.k8s.io/v1) as the analysis reads them: the
//! pods they select, the directions they isolate, and their rules' peers
//! and ports, with the API's defaults made explicit (`policyTypes`
//! defaulting, absent vs empty lists, protocol TCP).

use serde_json::Value;

use super::ipv4::Ipv4Set;
use super::manifests::{Labels, Namespace, Workload, labels_at, namespace_of, str_at};
use super::ports::{ConnSet, PortSet, Protocol};

/// A label selector; an empty one matches everything.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    match_labels: Labels,
    expressions: Vec<(String, String, Vec<String>)>,
}

impl Selector {
    pub fn parse(v: &Value) -> Selector {
        let expressions = v
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|e| {
                let key = str_at(e, &["key"]).unwrap_or("").to_string();
                let op = str_at(e, &["operator"]).unwrap_or("").to_string();
                let values = e
                    .get("values")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect();
                (key, op, values)
            })
            .collect();
        Selector { match_labels: labels_at(v, &["matchLabels"]), expressions }
    }

    /// Adds the pod labels this selector reads to `uses`: each key, and
    /// the values it compares that key's value with.
    pub fn note_uses(&self, uses: &mut super::classes::LabelUses) {
        for (k, v) in &self.match_labels {
            uses.value(k, v);
        }
        for (k, _, values) in &self.expressions {
            uses.key(k);
            for v in values {
                uses.value(k, v);
            }
        }
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.match_labels.iter().all(|(k, v)| labels.get(k) == Some(v))
            && self.expressions.iter().all(|(k, op, values)| match op.as_str() {
                "In" => labels.get(k).is_some_and(|v| values.contains(v)),
                "NotIn" => labels.get(k).is_none_or(|v| !values.contains(v)),
                "Exists" => labels.contains_key(k),
                "DoesNotExist" => !labels.contains_key(k),
                _ => false,
            })
    }
}

#[derive(Debug, Clone)]
pub enum Peer {
    /// Pods selected by namespace and pod selectors (both must match; an
    /// absent namespace selector means the policy's own namespace).
    Pods { namespaces: Option<Selector>, pods: Option<Selector> },
    /// External addresses: the CIDR minus its exceptions.
    Addresses(Ipv4Set),
}

#[derive(Debug, Clone)]
pub enum PortRef {
    Number(u16),
    Named(String),
}

#[derive(Debug, Clone)]
pub struct PortSpec {
    pub protocol: Protocol,
    pub port: Option<PortRef>,
    pub end_port: Option<u16>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    /// `None`: every source/destination, in the cluster and outside.
    pub peers: Option<Vec<Peer>>,
    /// `None`: every port and protocol.
    pub ports: Option<Vec<PortSpec>>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub namespace: String,
    pub name: String,
    pub selector: Selector,
    /// `Some` when the policy isolates the selected pods for ingress.
    pub ingress: Option<Vec<Rule>>,
    pub egress: Option<Vec<Rule>>,
}

impl Policy {
    pub fn parse(v: &Value) -> Option<Policy> {
        if v.get("kind").and_then(Value::as_str) != Some("NetworkPolicy") {
            return None;
        }
        let spec = v.get("spec")?;
        let namespace = namespace_of(v);
        let types: Vec<&str> = spec
            .get("policyTypes")
            .and_then(Value::as_array)
            .map(|t| t.iter().filter_map(Value::as_str).collect())
            .unwrap_or_else(|| {
                // The API server's defaulting: Ingress always, Egress only
                // when there is at least one egress rule.
                let has_egress = spec.get("egress").and_then(Value::as_array).is_some_and(|e| !e.is_empty());
                if has_egress { vec!["Ingress", "Egress"] } else { vec!["Ingress"] }
            });
        let rules = |key: &str, peers_key: &str| -> Vec<Rule> {
            spec.get(key)
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|r| Rule { peers: parse_peers(r.get(peers_key)), ports: parse_ports(r.get("ports")) })
                .collect()
        };
        Some(Policy {
            name: str_at(v, &["metadata", "name"]).unwrap_or("").to_string(),
            selector: spec.get("podSelector").map(Selector::parse).unwrap_or_default(),
            ingress: types.contains(&"Ingress").then(|| rules("ingress", "from")),
            egress: types.contains(&"Egress").then(|| rules("egress", "to")),
            namespace,
        })
    }

    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Every selector of pod labels in the policy: the pods it selects and
    /// its rules' peers (namespace selectors read namespace labels).
    pub fn pod_selectors(&self) -> impl Iterator<Item = &Selector> + '_ {
        let peers =
            [&self.ingress, &self.egress].into_iter().flatten().flatten().flat_map(|r| r.peers.iter().flatten());
        std::iter::once(&self.selector).chain(peers.filter_map(|p| match p {
            Peer::Pods { pods, .. } => pods.as_ref(),
            Peer::Addresses(_) => None,
        }))
    }

    pub fn selects(&self, w: &Workload) -> bool {
        w.namespace == self.namespace && self.selector.matches(&w.labels)
    }
}

fn parse_peers(v: Option<&Value>) -> Option<Vec<Peer>> {
    let list = v?.as_array()?;
    if list.is_empty() {
        return None;
    }
    Some(
        list.iter()
            .filter_map(|p| {
                if let Some(block) = p.get("ipBlock") {
                    return Ipv4Set::cidr_except(block).map(Peer::Addresses);
                }
                Some(Peer::Pods {
                    namespaces: p.get("namespaceSelector").map(Selector::parse),
                    pods: p.get("podSelector").map(Selector::parse),
                })
            })
            .collect(),
    )
}

fn parse_ports(v: Option<&Value>) -> Option<Vec<PortSpec>> {
    let list = v?.as_array()?;
    if list.is_empty() {
        return None;
    }
    Some(
        list.iter()
            .map(|p| PortSpec {
                protocol: p.get("protocol").and_then(Value::as_str).and_then(Protocol::parse).unwrap_or(Protocol::Tcp),
                port: match p.get("port") {
                    Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()).map(PortRef::Number),
                    Some(Value::String(s)) => Some(match s.parse::<u16>() {
                        Ok(n) => PortRef::Number(n),
                        Err(_) => PortRef::Named(s.clone()),
                    }),
                    _ => None,
                },
                end_port: p.get("endPort").and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok()),
            })
            .collect(),
    )
}

impl Rule {
    /// Whether this rule's peers include the workload `w`, for a policy in
    /// `policy_ns`.
    pub fn admits_workload(
        &self,
        w: &Workload,
        namespaces: &std::collections::BTreeMap<String, Namespace>,
        policy_ns: &str,
    ) -> bool {
        let Some(peers) = &self.peers else { return true };
        peers.iter().any(|p| match p {
            Peer::Addresses(_) => false,
            Peer::Pods { namespaces: ns_sel, pods } => {
                let ns_ok = match ns_sel {
                    None => w.namespace == policy_ns,
                    Some(sel) => namespaces.get(&w.namespace).is_some_and(|ns| sel.matches(&ns.labels)),
                };
                ns_ok && pods.as_ref().is_none_or(|sel| sel.matches(&w.labels))
            }
        })
    }

    /// Whether this rule's peers include the whole address range
    /// `[lo, hi]` (ranges are cut at every policy boundary, so a range is
    /// either wholly in a block or wholly out of it).
    pub fn admits_range(&self, lo: u32, hi: u32) -> bool {
        let Some(peers) = &self.peers else { return true };
        peers.iter().any(|p| matches!(p, Peer::Addresses(set) if set.contains_range(lo, hi)))
    }

    /// The connections this rule opens to a destination with `dst_ports`
    /// (named ports resolve there, with their protocol), or to an external
    /// destination (`None`: named ports resolve nowhere).
    pub fn conns(&self, dst_ports: Option<&[super::manifests::ContainerPort]>) -> ConnSet {
        let Some(specs) = &self.ports else { return ConnSet::all() };
        specs.iter().fold(ConnSet::none(), |acc, s| {
            let ports = match &s.port {
                None => PortSet::full(),
                Some(PortRef::Number(n)) => PortSet::range(*n, s.end_port.unwrap_or(*n).max(*n)),
                Some(PortRef::Named(name)) => dst_ports
                    .into_iter()
                    .flatten()
                    .filter(|cp| cp.name.as_deref() == Some(name) && cp.protocol == s.protocol)
                    .fold(PortSet::default(), |set, cp| set.union(&PortSet::range(cp.port, cp.port))),
            };
            acc.union(&ConnSet::of(s.protocol, ports))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn selectors_and_match_labels_with_expressions() {
        let sel = Selector::parse(&serde_json::json!({
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "canary", "operator": "DoesNotExist"},
                {"key": "env", "operator": "NotIn", "values": ["prod"]}
            ]
        }));
        assert!(sel.matches(&labels(&[("app", "web"), ("tier", "a")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "c")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "a"), ("canary", "1")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "a"), ("env", "prod")])));
        assert!(Selector::parse(&serde_json::json!({})).matches(&labels(&[])));
    }

    /// Kubernetes' own rule (k8s.io/kubernetes, pkg/apis/networking/v1/defaults.go,
    /// `SetDefaults_NetworkPolicySpec`):
    ///
    /// ```go
    /// // Default any undefined Protocol fields to TCP.
    /// ...
    /// if len(obj.PolicyTypes) == 0 {
    ///     // Any policy that does not specify policyTypes implies at least "Ingress".
    ///     obj.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
    ///     if len(obj.Egress) != 0 {
    ///         obj.PolicyTypes = append(obj.PolicyTypes, networkingv1.PolicyTypeEgress)
    ///     }
    /// }
    /// ```
    ///
    /// So `egress: []` (length 0) without `policyTypes` is Ingress only.
    #[test]
    fn policy_types_default_as_the_api_server_defaults_them() {
        let parse = |spec: serde_json::Value| {
            Policy::parse(&serde_json::json!({"kind": "NetworkPolicy", "metadata": {"name": "a"}, "spec": spec}))
                .unwrap()
        };
        let only_ingress = parse(serde_json::json!({"podSelector": {}}));
        assert!(only_ingress.ingress.as_ref().is_some_and(Vec::is_empty) && only_ingress.egress.is_none());
        assert_eq!(only_ingress.namespace, "default");
        let empty_egress = parse(serde_json::json!({"podSelector": {}, "egress": []}));
        assert!(empty_egress.ingress.is_some() && empty_egress.egress.is_none(), "len(Egress) == 0: Ingress only");
        let one_rule = parse(serde_json::json!({"podSelector": {}, "egress": [{}]}));
        assert!(one_rule.ingress.is_some() && one_rule.egress.as_ref().is_some_and(|e| e.len() == 1));
        let given = parse(serde_json::json!({"podSelector": {}, "policyTypes": ["Egress"], "egress": []}));
        assert!(given.ingress.is_none() && given.egress.as_ref().is_some_and(Vec::is_empty), "given types are kept");
    }
}
