//! What the NetworkPolicies allow between classes of workloads
//! ([`super::classes`]), decided row by row instead of pair by pair.
//!
//! Asked pair by pair, every flow tests each rule of the source's egress
//! policies and of the destination's ingress policies against the other
//! end: a cluster of 10,000 workloads asks a hundred million pairs, nearly
//! all of them closed. Here each rule is matched once against every class
//! (the classes a rule's peers admit, found namespace by namespace), and a
//! source's row is the union of what its egress rules open towards the
//! classes they admit, met with what the ingress rules that admit it open
//! on the classes their policies select. The work follows the flows the
//! rules name, not the square of the workloads.
//!
//! Admin tiers (AdminNetworkPolicy, BaselineAdminNetworkPolicy) are not
//! decided here: with them, [`super::Cluster::connlist`] asks each pair of
//! classes.

use std::collections::BTreeMap;

use super::Cluster;
use super::manifests::Workload;
use super::policy::{Peer, Rule};
use super::ports::ConnSet;

/// For each source class, the destination classes it may reach and on
/// what (non-empty), in class order.
pub type Rows = Vec<Vec<(usize, ConnSet)>>;

/// What each rule opens, on which classes, matched once: a class and
/// what the rule opens on its ports.
type Opens = Vec<(usize, ConnSet)>;

/// Every rule matched against the classes, per direction.
struct Reach {
    /// `egress[p]`: for each egress rule of policy `p`, what it opens
    /// towards the classes it admits.
    egress: Vec<Vec<Opens>>,
    /// Each ingress rule: what it opens on the classes its policy selects.
    ingress: Vec<Opens>,
    /// `ingress_from[s]`: the ingress rules (indices into `ingress`)
    /// admitting class `s`.
    ingress_from: Vec<Vec<usize>>,
    /// `selected[p]`: the classes policy `p` selects.
    selected: Vec<Vec<usize>>,
}

/// The rows of the NetworkPolicy verdicts between `classes` (each its
/// members' workload indices), on one member of each.
pub fn rows(cluster: &Cluster, classes: &[Vec<usize>]) -> Rows {
    let reps: Vec<&Workload> = classes.iter().map(|c| &cluster.workloads[c[0]]).collect();
    let reach = reach(cluster, &reps);
    let n = reps.len();
    // Which classes some policy isolates, per direction.
    let mut egress_isolated = vec![false; n];
    let mut ingress_isolated = vec![false; n];
    for (p, policy) in cluster.policies.iter().enumerate() {
        for &c in &reach.selected[p] {
            egress_isolated[c] |= policy.egress.is_some();
            ingress_isolated[c] |= policy.ingress.is_some();
        }
    }
    let mut out = Vec::with_capacity(n);
    let mut egress: Vec<ConnSet> = vec![ConnSet::none(); n];
    let mut ingress: Vec<ConnSet> = vec![ConnSet::none(); n];
    for src in 0..n {
        // What the source's egress policies open, towards each class.
        egress.iter_mut().for_each(|c| *c = ConnSet::none());
        if egress_isolated[src] {
            for &p in &cluster.selecting[reps[src].index] {
                for (dst, conns) in reach.egress[p].iter().flatten() {
                    egress[*dst] = egress[*dst].union(conns);
                }
            }
        }
        // What the ingress policies of each class open to the source.
        ingress.iter_mut().for_each(|c| *c = ConnSet::none());
        for &rule in &reach.ingress_from[src] {
            for (dst, conns) in &reach.ingress[rule] {
                ingress[*dst] = ingress[*dst].union(conns);
            }
        }
        let all = ConnSet::all();
        let row: Vec<(usize, ConnSet)> = (0..n)
            .filter_map(|dst| {
                let out = if egress_isolated[src] { &egress[dst] } else { &all };
                let inbound = if ingress_isolated[dst] { &ingress[dst] } else { &all };
                let conns = out.intersect(inbound);
                (!conns.is_empty()).then_some((dst, conns))
            })
            .collect();
        out.push(row);
    }
    out
}

/// Matches every rule's peers and every policy's selector against the
/// classes once.
fn reach(cluster: &Cluster, reps: &[&Workload]) -> Reach {
    let n = reps.len();
    // The classes of each namespace, and each policy's selected classes
    // from the workloads' own lists.
    let mut by_namespace: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (c, w) in reps.iter().enumerate() {
        by_namespace.entry(w.namespace.as_str()).or_default().push(c);
    }
    let mut selected = vec![Vec::new(); cluster.policies.len()];
    for (c, w) in reps.iter().enumerate() {
        for &p in &cluster.selecting[w.index] {
            selected[p].push(c);
        }
    }
    let admitted = |rule: &Rule, policy_ns: &str| -> Vec<usize> {
        let Some(peers) = &rule.peers else { return (0..n).collect() };
        let mut classes: Vec<usize> = Vec::new();
        for peer in peers {
            let Peer::Pods { namespaces, pods } = peer else { continue };
            let in_namespaces: Vec<&Vec<usize>> = match namespaces {
                None => by_namespace.get(policy_ns).into_iter().collect(),
                Some(sel) => by_namespace
                    .iter()
                    .filter(|(ns, _)| cluster.namespaces.get(**ns).is_some_and(|ns| sel.matches(&ns.labels)))
                    .map(|(_, classes)| classes)
                    .collect(),
            };
            for &c in in_namespaces.into_iter().flatten() {
                if pods.as_ref().is_none_or(|sel| sel.matches(&reps[c].labels)) {
                    classes.push(c);
                }
            }
        }
        classes.sort_unstable();
        classes.dedup();
        classes
    };
    // What a rule opens on a class: named ports resolve on its ports.
    let opens = |rule: &Rule, classes: &[usize]| -> Opens {
        classes.iter().map(|&c| (c, rule.conns(Some(&reps[c].ports)))).collect()
    };
    let mut egress = Vec::with_capacity(cluster.policies.len());
    let mut ingress = Vec::new();
    let mut ingress_from = vec![Vec::new(); n];
    for (p, policy) in cluster.policies.iter().enumerate() {
        let rules = policy.egress.iter().flatten();
        egress.push(rules.map(|r| opens(r, &admitted(r, &policy.namespace))).collect());
        for rule in policy.ingress.iter().flatten() {
            for c in admitted(rule, &policy.namespace) {
                ingress_from[c].push(ingress.len());
            }
            ingress.push(opens(rule, &selected[p]));
        }
    }
    Reach { egress, ingress, ingress_from, selected }
}
