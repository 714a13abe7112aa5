//! NetworkPolicy analysis over a folder of manifests: which workloads (and
//! which external address ranges) may reach which, on which ports. The
//! `txt` output is line-compatible with np-guard netpol-analyzer's
//! `connlist`. AdminNetworkPolicy and BaselineAdminNetworkPolicy are not
//! analysed yet.

mod diff;
mod ipv4;
mod manifests;
mod policy;
mod ports;

use std::collections::BTreeMap;
use std::path::Path;

pub use self::diff::{diff, format_diff};
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

/// Everything the analysis reads from a folder.
pub struct Cluster {
    namespaces: BTreeMap<String, Namespace>,
    workloads: Vec<Workload>,
    policies: Vec<Policy>,
}

enum Endpoint<'a> {
    Workload(&'a Workload),
    Range(u32, u32),
}

impl Cluster {
    /// `namespace/name[Kind]` of every workload.
    pub fn workload_ids(&self) -> Vec<String> {
        self.workloads.iter().map(Workload::id).collect()
    }

    pub fn load(dir: &Path) -> Result<Cluster, ManifestError> {
        let objects = manifests::read_objects(dir)?;
        let (namespaces, workloads) = manifests::namespaces_and_workloads(&objects);
        let policies = objects.iter().filter_map(Policy::parse).collect();
        Ok(Cluster { namespaces, workloads, policies })
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
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }

    /// What the policies selecting `dst` for ingress let in from `src`.
    fn ingress(&self, src: &Endpoint<'_>, dst: &Workload) -> ConnSet {
        let mut isolated = false;
        let mut allowed = ConnSet::none();
        for p in self.policies.iter().filter(|p| p.selects(dst)) {
            let Some(rules) = &p.ingress else { continue };
            isolated = true;
            for r in rules {
                let admits = match src {
                    Endpoint::Workload(w) => r.admits_workload(w, &self.namespaces, &p.namespace),
                    Endpoint::Range(lo, hi) => r.admits_range(*lo, *hi),
                };
                if admits {
                    allowed = allowed.union(&r.conns(Some(&dst.ports)));
                }
            }
        }
        if isolated { allowed } else { ConnSet::all() }
    }

    /// What the policies selecting `src` for egress let out to `dst`.
    fn egress(&self, src: &Workload, dst: &Endpoint<'_>) -> ConnSet {
        let mut isolated = false;
        let mut allowed = ConnSet::none();
        for p in self.policies.iter().filter(|p| p.selects(src)) {
            let Some(rules) = &p.egress else { continue };
            isolated = true;
            for r in rules {
                let (admits, ports) = match dst {
                    Endpoint::Workload(w) => (r.admits_workload(w, &self.namespaces, &p.namespace), Some(&w.ports[..])),
                    Endpoint::Range(lo, hi) => (r.admits_range(*lo, *hi), None),
                };
                if admits {
                    allowed = allowed.union(&r.conns(ports));
                }
            }
        }
        if isolated { allowed } else { ConnSet::all() }
    }

    /// Every allowed connection, sorted by source then destination;
    /// adjacent external ranges with the same connections are merged.
    pub fn connlist(&self) -> Vec<Connection> {
        self.connlist_cut(&self.cut_points(), true)
    }

    /// The connections with external peers cut at `cuts` (sorted, from 0
    /// to 2^32), merged where adjacent and equal only if `merge`.
    pub fn connlist_cut(&self, cuts: &[u64], merge: bool) -> Vec<Connection> {
        let mut out = Vec::new();
        let ranges: Vec<(u32, u32)> = cuts.windows(2).map(|w| (w[0] as u32, (w[1] - 1) as u32)).collect();
        for dst in &self.workloads {
            for src in &self.workloads {
                if std::ptr::eq(src, dst) {
                    continue;
                }
                let conns =
                    self.egress(src, &Endpoint::Workload(dst)).intersect(&self.ingress(&Endpoint::Workload(src), dst));
                if !conns.is_empty() {
                    out.push(Connection { src: src.id(), dst: dst.id(), conns });
                }
            }
            for (lo, hi, conns) in merge_ranges(&ranges, merge, |lo, hi| self.ingress(&Endpoint::Range(lo, hi), dst)) {
                out.push(Connection { src: external(lo, hi), dst: dst.id(), conns });
            }
            for (lo, hi, conns) in merge_ranges(&ranges, merge, |lo, hi| self.egress(dst, &Endpoint::Range(lo, hi))) {
                out.push(Connection { src: dst.id(), dst: external(lo, hi), conns });
            }
        }
        out.sort_by(|a, b| (&a.src, &a.dst).cmp(&(&b.src, &b.dst)));
        out
    }
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
