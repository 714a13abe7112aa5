//! `netpol lint`: findings a reviewer would raise about a folder of
//! manifests, each with a stable id and a severity, most of them about the
//! workloads that hold personal data (label `piimask.io/pii=true` by
//! default).

use std::fmt;

use super::policy::{Peer, PortRef};
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
#[derive(Debug, Clone)]
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
    lint_with(c, pii, &[])
}

/// What a label value says about personal data, read strictly: the
/// configured value (`true`) holds PII, `false` does not, and any other
/// spelling (`True`, `yes`, ` true`) is a mistake, read as PII (fail closed)
/// and reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiMark {
    Absent,
    NotPii,
    Pii,
    Invalid,
}

impl PiiLabel {
    /// What a value of the label says.
    pub fn mark(&self, value: Option<&str>) -> PiiMark {
        match value {
            None => PiiMark::Absent,
            Some(v) if v == self.value => PiiMark::Pii,
            Some("false") => PiiMark::NotPii,
            Some(_) => PiiMark::Invalid,
        }
    }
}

/// `lint` with `allowed` the external ranges the platform lets PII
/// workloads reach and be reached from (NP001 passes them, as the
/// admission guard does).
pub fn lint_with(c: &Cluster, pii: &PiiLabel, allowed: &[(u32, u32)]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mark = |w: &super::Workload| pii.mark(w.labels.get(&pii.key).map(String::as_str));
    let is_pii = |w: &super::Workload| matches!(mark(w), PiiMark::Pii | PiiMark::Invalid);

    for w in &c.workloads {
        // NP009: a PII label spelled other than `VALUE` or `false`.
        if mark(w) == PiiMark::Invalid {
            out.push(Finding {
                id: "NP009",
                severity: Severity::High,
                object: w.id(),
                message: format!(
                    "label {} is neither \"{}\" nor \"false\": read as holding PII, and refused by the admission guard",
                    pii.key, pii.value
                ),
            });
        }
        // NP001: a PII workload that is not isolated in both directions,
        // or that the policies in force open to every namespace or to
        // external addresses; the same check as the admission guard's.
        if is_pii(w) {
            for hole in c.isolation_holes(w, allowed) {
                out.push(Finding {
                    id: "NP001",
                    severity: Severity::High,
                    object: w.id(),
                    message: format!("PII workload not isolated: {hole}"),
                });
            }
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
        // NP010: a PII workload under port takeover (a port named `app-X`
        // beside the sidecar's `X`) whose app port is still reachable,
        // around the sidecar, from another workload or outside.
        if is_pii(w) {
            for (app, sidecar) in takeover_ports(w) {
                let mut from: Vec<String> = c
                    .workloads
                    .iter()
                    .filter(|src| src.index != w.index)
                    .filter(|src| c.ingress(&Endpoint::Workload(src), w).contains(app.protocol, app.port))
                    .map(super::Workload::id)
                    .collect();
                let external = ranges
                    .iter()
                    .filter(|&&(lo, hi)| c.ingress(&Endpoint::Range(lo, hi), w).contains(app.protocol, app.port))
                    .map(|&(lo, hi)| super::ipv4::format_range(lo, hi));
                from.extend(external);
                if !from.is_empty() {
                    out.push(Finding {
                        id: "NP010",
                        severity: Severity::High,
                        object: w.id(),
                        message: format!(
                            "port takeover: the app's own port {} ({}) is reachable around the sidecar from {}; \
                             admit only the sidecar's port {}",
                            app.port,
                            app.name.as_deref().unwrap_or(""),
                            summarize(&from),
                            sidecar.port
                        ),
                    });
                }
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
                // NP003 too: an egress rule without `to` allows every destination.
                if direction == "egress" && r.peers.is_none() {
                    out.push(Finding {
                        id: "NP003",
                        severity: Severity::Medium,
                        object: p.id(),
                        message: format!("egress rule {} allows every destination, 0.0.0.0/0 included", i + 1),
                    });
                }
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

/// The (app, sidecar) port pairs of a workload injected for port
/// takeover: the app's port renamed `app-X`, the sidecar's named `X`.
pub(super) fn takeover_ports(
    w: &super::Workload,
) -> Vec<(&super::manifests::ContainerPort, &super::manifests::ContainerPort)> {
    w.ports
        .iter()
        .filter_map(|app| {
            let name = app.name.as_deref()?.strip_prefix("app-")?;
            let sidecar = w.ports.iter().find(|p| p.name.as_deref() == Some(name) && p.protocol == app.protocol)?;
            Some((app, sidecar))
        })
        .collect()
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
