//! Workload classes: workloads that no policy in force can tell apart
//! behave alike, so the connection matrix is decided once for each pair
//! of classes and expanded to workloads only when it is written out.
//!
//! Two workloads are in one class when they share their namespace (which
//! fixes the namespace labels every namespace selector reads), their
//! container ports (which named ports resolve on), and their pod labels as
//! far as any selector reads them: a key no selector names is dropped, and
//! a value no selector compares with is replaced by one placeholder, so
//! `app: checkout-7f3a` and `app: checkout-9b2c` are one class unless a
//! policy names one of them. Every pod selector (NetworkPolicies' and the
//! admin tiers') answers alike for all of a class: `matchLabels` and `In`
//! / `NotIn` compare only named values, `Exists` / `DoesNotExist` only
//! presence.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::Cluster;
use super::manifests::{ContainerPort, Workload};

/// The pod labels the cluster's selectors read: each key, with the
/// values compared with it.
#[derive(Debug, Default)]
pub struct LabelUses(BTreeMap<String, BTreeSet<String>>);

impl LabelUses {
    /// A selector reads `key` (its presence, or its value).
    pub fn key(&mut self, key: &str) {
        self.0.entry(key.to_string()).or_default();
    }

    /// A selector compares `key`'s value with `value`.
    pub fn value(&mut self, key: &str, value: &str) {
        self.0.entry(key.to_string()).or_default().insert(value.to_string());
    }

    /// `w`'s labels as the selectors see them: the keys they read, each
    /// value kept if some selector names it (else `None`: any other).
    fn project<'w>(&self, w: &'w Workload) -> Vec<(&'w str, Option<&'w str>)> {
        w.labels
            .iter()
            .filter_map(|(k, v)| {
                let named = self.0.get(k)?;
                Some((k.as_str(), named.contains(v).then_some(v.as_str())))
            })
            .collect()
    }
}

/// What makes a workload's class (see the module's documentation).
#[derive(PartialEq, Eq, Hash)]
struct ClassKey<'w> {
    namespace: &'w str,
    labels: Vec<(&'w str, Option<&'w str>)>,
    ports: &'w [ContainerPort],
}

/// The cluster's workloads in classes: each class its members' indices,
/// in workload order; the classes in the order of their first member.
pub fn classes(cluster: &Cluster) -> Vec<Vec<usize>> {
    let mut uses = LabelUses::default();
    for p in &cluster.policies {
        p.pod_selectors().for_each(|s| s.note_uses(&mut uses));
    }
    for a in cluster.admin.iter().chain(&cluster.baseline) {
        a.pod_selectors().for_each(|s| s.note_uses(&mut uses));
    }
    let mut index: HashMap<ClassKey<'_>, usize> = HashMap::new();
    let mut classes: Vec<Vec<usize>> = Vec::new();
    for w in &cluster.workloads {
        let key = ClassKey { namespace: &w.namespace, labels: uses.project(w), ports: &w.ports };
        let class = *index.entry(key).or_insert_with(|| {
            classes.push(Vec::new());
            classes.len() - 1
        });
        classes[class].push(w.index);
    }
    classes
}
