//! NetworkPolicy analysis over a folder of manifests: which workloads (and
//! which external address ranges) may reach which, on which ports. The
//! `txt` output is line-compatible with np-guard netpol-analyzer's
//! `connlist`. AdminNetworkPolicy and BaselineAdminNetworkPolicy are
//! analysed with the namespaces' policies (`admin`).

mod admin;
mod class_matrix;
mod classes;
mod diff;
mod drift;
mod ingress;
mod ipv4;
mod isolation;
mod lint;
mod manifests;
mod policy;
mod ports;

use std::collections::BTreeMap;
use std::path::Path;

use self::admin::{AdminAction, AdminPolicy, AdminRule, Other};
pub use self::diff::{diff, format_diff};
pub use self::drift::{Drift, drift};
pub use self::isolation::{Flow, Hole, PeerKind, parse_cidr, pod_holes};
pub use self::lint::{Finding, PiiLabel, PiiMark, Severity, lint, lint_with};
pub use self::manifests::ManifestError;
use self::manifests::{Namespace, Workload};
use self::policy::{Peer, Policy};
pub use self::ports::{ConnSet, PortSet, Protocol};

/// One allowed flow: `src => dst : conns`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub src: String,
    pub dst: String,
    pub conns: ConnSet,
}

/// How one direction (the source's egress or the destination's ingress)
/// judges a flow: the policies isolating it and the rules that allow it.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// `ns/policy` of every policy that selects the workload in this
    /// direction; empty means not isolated (everything allowed).
    pub isolated_by: Vec<String>,
    /// `ns/policy <direction> rule N` of every rule admitting the peer,
    /// with what it opens.
    pub allowed_by: Vec<(String, ConnSet)>,
    /// What the admin tiers decided, in order (with `explain`).
    pub admin: Vec<String>,
    pub allowed: ConnSet,
    isolated: bool,
    explain: bool,
}

impl Side {
    fn isolate(&mut self, p: &Policy) {
        self.isolated = true;
        if self.explain {
            self.isolated_by.push(p.id());
        }
    }

    fn add(&mut self, p: &Policy, direction: &str, rule: usize, conns: ConnSet) {
        self.allowed = self.allowed.union(&conns);
        if self.explain {
            self.allowed_by.push((format!("{} {direction} rule {}", p.id(), rule + 1), conns));
        }
    }

    fn finish(mut self) -> Side {
        if !self.isolated {
            self.allowed = ConnSet::all();
        }
        self
    }
}

/// The verdict of `netpol eval` and why.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub allowed: bool,
    pub egress: Side,
    pub ingress: Side,
}

/// Everything the analysis reads from a folder.
pub struct Cluster {
    namespaces: BTreeMap<String, Namespace>,
    workloads: Vec<Workload>,
    policies: Vec<Policy>,
    /// For each workload, the policies that select it: computed once, so a
    /// pair costs only its own policies (1,000 workloads × 500 policies
    /// would otherwise test every policy for each of a million pairs).
    selecting: Vec<Vec<usize>>,
    /// AdminNetworkPolicies, highest precedence (lowest priority) first.
    admin: Vec<AdminPolicy>,
    baseline: Vec<AdminPolicy>,
    services: Vec<ingress::Service>,
    /// Backends that Ingress and Route objects expose.
    exposures: Vec<ingress::Exposure>,
}

enum Endpoint<'a> {
    Workload(&'a Workload),
    Range(u32, u32),
}

impl Cluster {
    /// `namespace/name[Kind]` of the workloads some policy selects.
    pub fn selected_by_policies(&self) -> Vec<String> {
        self.workloads.iter().filter(|w| !self.selecting[w.index].is_empty()).map(Workload::id).collect()
    }

    /// `namespace/name[Kind]` of the workloads whose pods carry `key=value`.
    pub fn workloads_labelled(&self, key: &str, value: &str) -> std::collections::BTreeSet<String> {
        self.workloads.iter().filter(|w| w.labels.get(key).is_some_and(|v| v == value)).map(Workload::id).collect()
    }

    /// `namespace/name[Kind]` of every workload.
    pub fn workload_ids(&self) -> Vec<String> {
        self.workloads.iter().map(Workload::id).collect()
    }

    pub fn load(dir: &Path) -> Result<Cluster, ManifestError> {
        Ok(Cluster::from_objects(&manifests::read_objects(dir)?))
    }

    /// From already parsed objects (one per manifest, `List`s flattened).
    pub fn from_objects(objects: &[serde_json::Value]) -> Cluster {
        let (mut namespaces, workloads) = manifests::namespaces_and_workloads(objects);
        let services: Vec<ingress::Service> = objects.iter().filter_map(ingress::parse_service).collect();
        let exposures: Vec<ingress::Exposure> = objects.iter().flat_map(ingress::parse_exposures).collect();
        if !exposures.is_empty() {
            let name = ingress::CONTROLLER_NAMESPACE.to_string();
            let labels = [("kubernetes.io/metadata.name".to_string(), name.clone())].into_iter().collect();
            namespaces.entry(name.clone()).or_insert(Namespace { name, labels });
        }
        // The isolation check's probe lives in a namespace of its own.
        namespaces.entry(isolation::PROBE_NAMESPACE.to_string()).or_insert_with(isolation::probe_namespace);
        let policies: Vec<Policy> = objects.iter().filter_map(Policy::parse).collect();
        let selecting = workloads
            .iter()
            .map(|w| policies.iter().enumerate().filter(|(_, p)| p.selects(w)).map(|(i, _)| i).collect())
            .collect();
        let (mut admin, baseline): (Vec<AdminPolicy>, Vec<AdminPolicy>) =
            objects.iter().filter_map(AdminPolicy::parse).partition(|a| !a.baseline);
        admin.sort_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)));
        Cluster { namespaces, workloads, policies, selecting, admin, baseline, services, exposures }
    }

    /// Where this cluster's policies cut the IPv4 space.
    pub fn cut_points(&self) -> Vec<u64> {
        let mut cuts: Vec<u64> = vec![0, 1 << 32];
        for p in &self.policies {
            for rules in [&p.ingress, &p.egress].into_iter().flatten() {
                for r in rules {
                    for peer in r.peers.iter().flatten() {
                        if let Peer::Addresses(set) = peer {
                            cuts.extend(set.boundaries());
                        }
                    }
                }
            }
        }
        for a in self.admin.iter().chain(&self.baseline) {
            cuts.extend(a.network_bounds());
        }
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }

    /// What the policies selecting `dst` for ingress let in from `src`.
    fn ingress(&self, src: &Endpoint<'_>, dst: &Workload) -> ConnSet {
        self.ingress_side(src, dst, false).allowed
    }

    /// What the policies selecting `src` for egress let out to `dst`.
    fn egress(&self, src: &Workload, dst: &Endpoint<'_>) -> ConnSet {
        self.egress_side(src, dst, false).allowed
    }

    /// With `explain`, the side also names the policies and rules (the
    /// names cost allocations a connlist of a million pairs does not need).
    fn ingress_side(&self, src: &Endpoint<'_>, dst: &Workload, explain: bool) -> Side {
        let mut side = Side { explain, ..Side::default() };
        for p in self.selecting[dst.index].iter().map(|&i| &self.policies[i]) {
            let Some(rules) = &p.ingress else { continue };
            side.isolate(p);
            for (i, r) in rules.iter().enumerate() {
                let admits = match src {
                    Endpoint::Workload(w) => r.admits_workload(w, &self.namespaces, &p.namespace),
                    Endpoint::Range(lo, hi) => r.admits_range(*lo, *hi),
                };
                if admits {
                    side.add(p, "ingress", i, r.conns(Some(&dst.ports)));
                }
            }
        }
        let other = match src {
            Endpoint::Workload(w) => Other::Workload(w),
            Endpoint::Range(lo, hi) => Other::Range(*lo, *hi),
        };
        self.tiered(dst, &other, |a| &a.ingress, Some(&dst.ports), side.finish())
    }

    fn egress_side(&self, src: &Workload, dst: &Endpoint<'_>, explain: bool) -> Side {
        let mut side = Side { explain, ..Side::default() };
        for p in self.selecting[src.index].iter().map(|&i| &self.policies[i]) {
            let Some(rules) = &p.egress else { continue };
            side.isolate(p);
            for (i, r) in rules.iter().enumerate() {
                let (admits, ports) = match dst {
                    Endpoint::Workload(w) => (r.admits_workload(w, &self.namespaces, &p.namespace), Some(&w.ports[..])),
                    Endpoint::Range(lo, hi) => (r.admits_range(*lo, *hi), None),
                };
                if admits {
                    side.add(p, "egress", i, r.conns(ports));
                }
            }
        }
        let (other, ports) = match dst {
            Endpoint::Workload(w) => (Other::Workload(w), Some(&w.ports[..])),
            Endpoint::Range(lo, hi) => (Other::Range(*lo, *hi), None),
        };
        self.tiered(src, &other, |a| &a.egress, ports, side.finish())
    }

    /// Puts the NetworkPolicy verdict `np` between the admin tiers: the
    /// AdminNetworkPolicies decide first (by priority, rule by rule: Allow,
    /// Deny, or Pass to the NetworkPolicies); what they leave goes to the
    /// NetworkPolicies if they isolate `subject` in this direction, else to
    /// the BaselineAdminNetworkPolicies, and what those leave is allowed.
    fn tiered(
        &self,
        subject: &Workload,
        other: &Other<'_>,
        rules: impl Fn(&AdminPolicy) -> &Vec<AdminRule>,
        dst_ports: Option<&[manifests::ContainerPort]>,
        mut np: Side,
    ) -> Side {
        if self.admin.is_empty() && self.baseline.is_empty() {
            return np;
        }
        let mut undecided = ConnSet::all();
        let notes = np.explain.then_some(&mut np.admin);
        let (mut allowed, passed) =
            self.decide_tier(&self.admin, subject, other, &rules, dst_ports, &mut undecided, notes);
        let mut rest = undecided.union(&passed);
        if np.isolated {
            allowed = allowed.union(&np.allowed.intersect(&rest));
        } else {
            let notes = np.explain.then_some(&mut np.admin);
            let (baseline, _) = self.decide_tier(&self.baseline, subject, other, &rules, dst_ports, &mut rest, notes);
            allowed = allowed.union(&baseline).union(&rest);
        }
        np.allowed = allowed;
        np
    }

    /// Walks one admin tier in order: each rule matching the flow decides
    /// what is still `undecided` of its ports, which then leaves
    /// `undecided`. Returns what the tier allowed and what it passed on.
    #[allow(clippy::too_many_arguments)]
    fn decide_tier(
        &self,
        tier: &[AdminPolicy],
        subject: &Workload,
        other: &Other<'_>,
        rules: &impl Fn(&AdminPolicy) -> &Vec<AdminRule>,
        dst_ports: Option<&[manifests::ContainerPort]>,
        undecided: &mut ConnSet,
        mut notes: Option<&mut Vec<String>>,
    ) -> (ConnSet, ConnSet) {
        let (mut allowed, mut passed) = (ConnSet::none(), ConnSet::none());
        for a in tier.iter().filter(|a| a.applies_to(subject, &self.namespaces)) {
            for (i, r) in rules(a).iter().enumerate().filter(|(_, r)| r.matches(other, &self.namespaces)) {
                let decided = r.conns(dst_ports).intersect(undecided);
                if let Some(notes) = notes.as_deref_mut().filter(|_| !decided.is_empty()) {
                    let kind = if a.baseline { "BaselineAdminNetworkPolicy" } else { "AdminNetworkPolicy" };
                    notes.push(format!("{kind} {} rule {} ({:?}) decides {decided}", a.name, i + 1, r.action));
                }
                match r.action {
                    AdminAction::Allow => allowed = allowed.union(&decided),
                    AdminAction::Pass => passed = passed.union(&decided),
                    AdminAction::Deny => {}
                }
                *undecided = undecided.minus(&decided);
            }
        }
        (allowed, passed)
    }

    fn workload(&self, id: &str) -> Option<&Workload> {
        // `ns/name` or `ns/name[Kind]`; a name without namespace is in `default`.
        let id = if id.contains('/') { id.to_string() } else { format!("default/{id}") };
        self.workloads.iter().find(|w| w.id() == id || format!("{}/{}", w.namespace, w.name) == id)
    }

    /// One verdict: may `src` reach `dst` on `port`/`protocol`? Each side
    /// is a workload (`ns/name`) or an IPv4 address.
    pub fn eval(&self, src: &str, dst: &str, protocol: Protocol, port: u16) -> Result<Verdict, String> {
        let endpoint = |id: &str| -> Result<Endpoint<'_>, String> {
            if let Ok(ip) = id.parse::<std::net::Ipv4Addr>() {
                let ip = u32::from(ip);
                let cuts = self.cut_points();
                let i = cuts.partition_point(|&c| c <= u64::from(ip));
                return Ok(Endpoint::Range(cuts[i - 1] as u32, (cuts[i] - 1) as u32));
            }
            self.workload(id).map(Endpoint::Workload).ok_or_else(|| format!("no workload `{id}` in the manifests"))
        };
        let (s, d) = (endpoint(src)?, endpoint(dst)?);
        let all = || Side { allowed: ConnSet::all(), ..Side::default() };
        let egress = match &s {
            Endpoint::Workload(w) => self.egress_side(w, &d, true),
            Endpoint::Range(..) => all(),
        };
        let ingress = match &d {
            Endpoint::Workload(w) => self.ingress_side(&s, w, true),
            Endpoint::Range(..) => all(),
        };
        let allowed = egress.allowed.contains(protocol, port) && ingress.allowed.contains(protocol, port);
        Ok(Verdict { allowed, egress, ingress })
    }

    /// Every allowed connection, sorted by source then destination;
    /// adjacent external ranges with the same connections are merged.
    pub fn connlist(&self) -> Vec<Connection> {
        self.connlist_cut(&self.cut_points(), true)
    }

    /// The connections with external peers cut at `cuts` (sorted, from 0
    /// to 2^32), merged where adjacent and equal only if `merge`.
    ///
    /// Decided once per pair of workload classes ([`classes`]: workloads
    /// no policy can tell apart), on one member of each, and written out
    /// for every pair of their members. Without admin tiers a source
    /// class's connections are decided all at once ([`class_matrix`]).
    pub fn connlist_cut(&self, cuts: &[u64], merge: bool) -> Vec<Connection> {
        let classes = classes::classes(self);
        let ids: Vec<String> = self.workloads.iter().map(Workload::id).collect();
        let ranges = Self::ranges(cuts);
        let rows = if self.admin.is_empty() && self.baseline.is_empty() {
            class_matrix::rows(self, &classes)
        } else {
            let rep = |c: &Vec<usize>| &self.workloads[c[0]];
            let row = |src: &Vec<usize>| {
                let decided = classes.iter().enumerate().map(|(d, dst)| (d, self.between(rep(src), rep(dst))));
                decided.filter(|(_, conns)| !conns.is_empty()).collect()
            };
            classes.iter().map(row).collect()
        };
        let mut out = Vec::new();
        for (src_class, row) in classes.iter().zip(&rows) {
            for (d, conns) in row {
                for &dst in &classes[*d] {
                    for &src in src_class.iter().filter(|&&s| s != dst) {
                        out.push(Connection { src: ids[src].clone(), dst: ids[dst].clone(), conns: conns.clone() });
                    }
                }
            }
        }
        for dst_class in &classes {
            let dst = &self.workloads[dst_class[0]];
            let outside = self.external_of(dst, &ranges, merge);
            for &d in dst_class {
                for (inbound, lo, hi, conns) in &outside {
                    let (src, dst) = if *inbound {
                        (external(*lo, *hi), ids[d].clone())
                    } else {
                        (ids[d].clone(), external(*lo, *hi))
                    };
                    out.push(Connection { src, dst, conns: conns.clone() });
                }
            }
        }
        self.exposed(&mut out);
        sort_connections(&mut out);
        out
    }

    /// [`Cluster::connlist`] decided for every pair of workloads on its
    /// own, without classes: slower, and kept as the class-based one's
    /// oracle in tests.
    #[doc(hidden)]
    pub fn connlist_pairwise(&self) -> Vec<Connection> {
        let ranges = Self::ranges(&self.cut_points());
        let mut out = Vec::new();
        for dst in &self.workloads {
            for src in &self.workloads {
                if std::ptr::eq(src, dst) {
                    continue;
                }
                let conns = self.between(src, dst);
                if !conns.is_empty() {
                    out.push(Connection { src: src.id(), dst: dst.id(), conns });
                }
            }
            for (inbound, lo, hi, conns) in self.external_of(dst, &ranges, true) {
                let (src, dst) = if inbound { (external(lo, hi), dst.id()) } else { (dst.id(), external(lo, hi)) };
                out.push(Connection { src, dst, conns });
            }
        }
        self.exposed(&mut out);
        sort_connections(&mut out);
        out
    }

    /// The ranges between consecutive cut points.
    fn ranges(cuts: &[u64]) -> Vec<(u32, u32)> {
        cuts.windows(2).map(|w| (w[0] as u32, (w[1] - 1) as u32)).collect()
    }

    /// What may flow from `src` to `dst`: what both ends' policies allow.
    fn between(&self, src: &Workload, dst: &Workload) -> ConnSet {
        self.egress(src, &Endpoint::Workload(dst)).intersect(&self.ingress(&Endpoint::Workload(src), dst))
    }

    /// `w`'s connections with external ranges: `(inbound, lo, hi, conns)`,
    /// those from outside first.
    fn external_of(&self, w: &Workload, ranges: &[(u32, u32)], merge: bool) -> Vec<(bool, u32, u32, ConnSet)> {
        let inbound = merge_ranges(ranges, merge, |lo, hi| self.ingress(&Endpoint::Range(lo, hi), w));
        let outbound = merge_ranges(ranges, merge, |lo, hi| self.egress(w, &Endpoint::Range(lo, hi)));
        let tag = |inbound: bool| move |(lo, hi, c): (u32, u32, ConnSet)| (inbound, lo, hi, c);
        inbound.into_iter().map(tag(true)).chain(outbound.into_iter().map(tag(false))).collect()
    }

    /// The ingress controller's connections to the workloads that Ingress
    /// and Route objects expose.
    fn exposed(&self, out: &mut Vec<Connection>) {
        if self.exposures.is_empty() {
            return;
        }
        let controller = ingress::controller();
        for dst in &self.workloads {
            let exposed = ingress::exposed_ports(dst, &self.services, &self.exposures);
            if exposed.is_empty() {
                continue;
            }
            let conns = exposed.intersect(&self.ingress(&Endpoint::Workload(&controller), dst));
            if !conns.is_empty() {
                out.push(Connection { src: ingress::CONTROLLER.into(), dst: dst.id(), conns });
            }
        }
    }
}

/// Sorts by source, then destination, then connections: a total order, so
/// the lines do not depend on the order they were decided in (two
/// workloads can print alike, `n/x/y` as `x/y` in `n` and `y` in `n/x`).
fn sort_connections(out: &mut [Connection]) {
    out.sort_by(|a, b| {
        (&a.src, &a.dst).cmp(&(&b.src, &b.dst)).then_with(|| a.conns.to_string().cmp(&b.conns.to_string()))
    });
}

fn external(lo: u32, hi: u32) -> String {
    format!("{}[External]", ipv4::format_range(lo, hi))
}

/// The non-empty connection sets per range, adjacent equal ones merged.
fn merge_ranges(ranges: &[(u32, u32)], merge: bool, conns: impl Fn(u32, u32) -> ConnSet) -> Vec<(u32, u32, ConnSet)> {
    let mut out: Vec<(u32, u32, ConnSet)> = Vec::new();
    for &(lo, hi) in ranges {
        let c = conns(lo, hi);
        if c.is_empty() {
            continue;
        }
        match out.last_mut() {
            Some(last) if merge && last.2 == c && u64::from(last.1) + 1 == u64::from(lo) => last.1 = hi,
            _ => out.push((lo, hi, c)),
        }
    }
    out
}

/// The `txt` format: `src => dst : conns`, one per line.
pub fn format_txt(connections: &[Connection]) -> String {
    connections.iter().map(|c| format!("{} => {} : {}\n", c.src, c.dst, c.conns)).collect()
}
