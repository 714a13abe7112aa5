//! `netpol lint`: findings a reviewer would raise about a folder of
//! manifests, each with a stable id and a severity, most of them about the
//! workloads that hold personal data (label `piimask.io/pii=true` by
//! default).

use std::fmt;

use super::policy::{Peer, Policy, PortRef};
use super::{Cluster, Endpoint, Protocol};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Low,
    Medium,
    High,
}

impl Severity {
    pub fn name(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Stable: `NP001`…, documented in README.
    pub id: &'static str,
    pub severity: Severity,
    /// The namespace, workload or `namespace/policy` concerned.
    pub object: String,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}: {}", self.severity.name(), self.id, self.object, self.message)
    }
}

/// Which workloads hold personal data.
pub struct PiiLabel {
    pub key: String,
    pub value: String,
}

impl PiiLabel {
    /// `KEY=VALUE`, as flags and values files give it.
    pub fn parse(label: &str) -> Option<PiiLabel> {
        let (key, value) = label.split_once('=')?;
        Some(PiiLabel { key: key.into(), value: value.into() })
    }
}

impl Default for PiiLabel {
    fn default() -> PiiLabel {
        PiiLabel { key: "piimask.io/pii".into(), value: "true".into() }
    }
}

pub fn lint(c: &Cluster, pii: &PiiLabel) -> Vec<Finding> {
    let mut out = Vec::new();
    let marked = c.workloads_labelled(&pii.key, &pii.value);
    let is_pii = |w: &super::Workload| marked.contains(&w.id());

    // NP001: a namespace holding PII workloads without default deny in both
    // directions (a policy selecting every pod, isolating, allowing nothing).
    let pii_namespaces: std::collections::BTreeSet<&str> =
        c.workloads.iter().filter(|w| is_pii(w)).map(|w| w.namespace.as_str()).collect();
    for ns in pii_namespaces {
        for direction in missing_default_deny(c.policies.iter().filter(|p| p.namespace == ns)) {
            out.push(Finding {
                id: "NP001",
                severity: Severity::High,
                object: ns.to_string(),
                message: format!("holds PII workloads but has no default-deny {direction} policy"),
            });
        }
    }

    let cuts = c.cut_points();
    let ranges: Vec<(u32, u32)> = cuts.windows(2).map(|w| (w[0] as u32, (w[1] - 1) as u32)).collect();
    for w in &c.workloads {
        // NP002: a PII workload reachable from outside the cluster.
        if is_pii(w) {
            let open: Vec<String> = ranges
                .iter()
                .filter(|&&(lo, hi)| !c.ingress(&Endpoint::Range(lo, hi), w).is_empty())
                .map(|&(lo, hi)| super::ipv4::format_range(lo, hi))
                .collect();
            if !open.is_empty() {
                out.push(Finding {
                    id: "NP002",
                    severity: Severity::High,
                    object: w.id(),
                    message: format!("PII workload reachable from external addresses {}", summarize(&open)),
                });
            }
        }
        // NP007: egress isolated, and no egress rule opens UDP 53 to any
        // peer (the DNS service is often not among the manifests, so the
        // rules are read, not the destinations found). A named port might
        // be DNS: rules with one are given the benefit of the doubt.
        let egress_rules: Vec<&super::policy::Rule> =
            c.selecting[w.index].iter().filter_map(|&i| c.policies[i].egress.as_ref()).flatten().collect();
        let isolated = c.selecting[w.index].iter().any(|&i| c.policies[i].egress.is_some());
        let dns_open =
            egress_rules.iter().any(|r| r.named_ports().next().is_some() || r.conns(None).contains(Protocol::Udp, 53));
        if isolated && !dns_open {
            out.push(Finding {
                id: "NP007",
                severity: Severity::Medium,
                object: w.id(),
                message: "egress is restricted and no rule opens UDP 53: DNS lookups will fail".into(),
            });
        }
    }

    for p in &c.policies {
        // NP004: a policy that selects nothing.
        if !c.workloads.iter().any(|w| p.selects(w)) {
            out.push(Finding {
                id: "NP004",
                severity: Severity::Low,
                object: p.id(),
                message: "selects no pods".into(),
            });
        }
        for (direction, rules) in [("ingress", &p.ingress), ("egress", &p.egress)] {
            for (i, r) in rules.iter().flatten().enumerate() {
                for peer in r.peers.iter().flatten() {
                    match peer {
                        // NP003: egress to the whole internet.
                        Peer::Addresses(set) if direction == "egress" && set.contains_range(0, u32::MAX) => {
                            out.push(Finding {
                                id: "NP003",
                                severity: Severity::Medium,
                                object: p.id(),
                                message: format!("egress rule {} allows 0.0.0.0/0", i + 1),
                            })
                        }
                        // NP005: a pod peer that matches no workload.
                        Peer::Pods { .. } => {
                            let single = super::policy::Rule { peers: Some(vec![peer.clone()]), ports: None };
                            if !c.workloads.iter().any(|w| single.admits_workload(w, &c.namespaces, &p.namespace)) {
                                out.push(Finding {
                                    id: "NP005",
                                    severity: Severity::Low,
                                    object: p.id(),
                                    message: format!("{direction} rule {} has a peer that matches no workload", i + 1),
                                });
                            }
                        }
                        _ => {}
                    }
                }
                // NP006: a named port no possible destination declares.
                for (name, protocol) in r.named_ports() {
                    let targets: Vec<&super::Workload> = match direction {
                        "ingress" => c.workloads.iter().filter(|w| p.selects(w)).collect(),
                        _ => c.workloads.iter().filter(|w| r.admits_workload(w, &c.namespaces, &p.namespace)).collect(),
                    };
                    let declared = |w: &&super::Workload| {
                        w.ports.iter().any(|cp| cp.name.as_deref() == Some(name) && cp.protocol == protocol)
                    };
                    if !targets.iter().any(declared) {
                        out.push(Finding {
                            id: "NP006",
                            severity: Severity::Medium,
                            object: p.id(),
                            message: format!(
                                "{direction} rule {} names port `{name}` ({}), which no destination declares",
                                i + 1,
                                protocol.name()
                            ),
                        });
                    }
                }
            }
        }
    }
    out.extend(shadowed_rules(c, &ranges));
    out.sort_by(|a, b| (b.severity, a.id, &a.object).cmp(&(a.severity, b.id, &b.object)));
    out
}

/// NP008: a rule that a broader rule of the same policy and direction
/// already covers: every peer it admits (among this folder's workloads and
/// address ranges) the other admits too, on at least the same ports. It
/// changes nothing and misleads readers. Rules naming ports are left out
/// (what they open depends on each destination).
fn shadowed_rules(c: &Cluster, ranges: &[(u32, u32)]) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in &c.policies {
        for (direction, rules) in [("ingress", &p.ingress), ("egress", &p.egress)] {
            let rules: Vec<&super::policy::Rule> = rules.iter().flatten().collect();
            let admitted = |r: &super::policy::Rule| -> Vec<bool> {
                c.workloads
                    .iter()
                    .map(|w| r.admits_workload(w, &c.namespaces, &p.namespace))
                    .chain(ranges.iter().map(|&(lo, hi)| r.admits_range(lo, hi)))
                    .collect()
            };
            let sets: Vec<(Vec<bool>, super::ConnSet)> = rules.iter().map(|r| (admitted(r), r.conns(None))).collect();
            for (j, rule) in rules.iter().enumerate() {
                if rule.named_ports().next().is_some() || !sets[j].0.iter().any(|&a| a) {
                    continue;
                }
                let covered_by = (0..rules.len()).find(|&i| {
                    i != j
                        && rules[i].named_ports().next().is_none()
                        && sets[j].0.iter().zip(&sets[i].0).all(|(&mine, &theirs)| !mine || theirs)
                        && sets[j].1.minus(&sets[i].1).is_empty()
                        // Of two identical rules, report only the later one.
                        && (i < j || sets[i] != sets[j])
                });
                if let Some(i) = covered_by {
                    out.push(Finding {
                        id: "NP008",
                        severity: Severity::Low,
                        object: p.id(),
                        message: format!("{direction} rule {} is covered by the broader rule {}", j + 1, i + 1),
                    });
                }
            }
        }
    }
    out
}

/// The directions (`ingress`, `egress`) in which none of `policies` (one
/// namespace's) is a default deny: selecting every pod, allowing nothing.
pub(super) fn missing_default_deny<'a>(policies: impl Iterator<Item = &'a Policy> + Clone) -> Vec<&'static str> {
    [("ingress", Direction::Ingress), ("egress", Direction::Egress)]
        .into_iter()
        .filter(|&(_, d)| !policies.clone().any(|p| p.is_default_deny(d)))
        .map(|(name, _)| name)
        .collect()
}

#[derive(Clone, Copy)]
pub enum Direction {
    Ingress,
    Egress,
}

fn summarize(ranges: &[String]) -> String {
    match ranges {
        [one] => one.clone(),
        [first, rest @ ..] => format!("{first} and {} more ranges", rest.len()),
        [] => String::new(),
    }
}

impl super::policy::Rule {
    pub fn named_ports(&self) -> impl Iterator<Item = (&str, Protocol)> {
        self.ports.iter().flatten().filter_map(|s| match &s.port {
            Some(PortRef::Named(n)) => Some((n.as_str(), s.protocol)),
            _ => None,
        })
    }
}

impl super::policy::Policy {
    /// Selects every pod of its namespace and isolates it in `direction`
    /// without allowing anything.
    pub fn is_default_deny(&self, direction: Direction) -> bool {
        let rules = match direction {
            Direction::Ingress => &self.ingress,
            Direction::Egress => &self.egress,
        };
        self.selector.is_empty() && rules.as_ref().is_some_and(Vec::is_empty)
    }
}
