//! `netpol diff`: the connections that differ between two folders of
//! manifests, by meaning (two differently written but equivalent policy
//! sets give no diff). External peers are compared on the IPv4 space cut
//! at the boundaries of both folders, so the same addresses line up. The
//! text output follows np-guard netpol-analyzer's `diff`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Cluster, ConnSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DiffKind {
    Changed,
    Added,
    Removed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub kind: DiffKind,
    pub src: String,
    pub dst: String,
    pub old: ConnSet,
    pub new: ConnSet,
    /// Workloads of this pair that exist in only one of the folders.
    pub workloads_info: Option<String>,
}

/// The differences from `old` to `new`: changed, then added, then removed
/// pairs, each group sorted by source then destination.
pub fn diff(old: &Cluster, new: &Cluster) -> Vec<DiffLine> {
    let mut cuts = old.cut_points();
    cuts.extend(new.cut_points());
    cuts.sort_unstable();
    cuts.dedup();
    let map = |c: &Cluster| -> BTreeMap<(String, String), ConnSet> {
        c.connlist_cut(&cuts, false).into_iter().map(|x| ((x.src, x.dst), x.conns)).collect()
    };
    let (before, after) = (map(old), map(new));
    let old_workloads: BTreeSet<String> = old.workload_ids().into_iter().collect();
    let new_workloads: BTreeSet<String> = new.workload_ids().into_iter().collect();
    let keys: BTreeSet<&(String, String)> = before.keys().chain(after.keys()).collect();
    let mut lines = Vec::new();
    for key in keys {
        let (a, b) = (before.get(key).cloned().unwrap_or_default(), after.get(key).cloned().unwrap_or_default());
        if a == b {
            continue;
        }
        let kind = match (a.is_empty(), b.is_empty()) {
            (true, _) => DiffKind::Added,
            (_, true) => DiffKind::Removed,
            _ => DiffKind::Changed,
        };
        let only_in =
            |w: &String, here: &BTreeSet<String>, there: &BTreeSet<String>| here.contains(w) && !there.contains(w);
        let (verb, here, there) = match kind {
            DiffKind::Removed => ("removed", &old_workloads, &new_workloads),
            _ => ("added", &new_workloads, &old_workloads),
        };
        let changed: Vec<&String> = [&key.0, &key.1].into_iter().filter(|w| only_in(w, here, there)).collect();
        let workloads_info = match changed.as_slice() {
            [] => None,
            [w] => Some(format!("workload {w} {verb}")),
            [a, b, ..] => Some(format!("workloads {a} and {b} {verb}")),
        };
        lines.push(DiffLine { kind, src: key.0.clone(), dst: key.1.clone(), old: a, new: b, workloads_info });
    }
    lines.sort_by(|x, y| (x.kind, &x.src, &x.dst).cmp(&(y.kind, &y.src, &y.dst)));
    lines
}

/// The txt format: nothing when there is no difference, else a header and
/// one line per changed pair.
pub fn format_diff(lines: &[DiffLine]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let mut out = String::from("Connectivity diff:\n");
    for l in lines {
        let kind = match l.kind {
            DiffKind::Changed => "changed",
            DiffKind::Added => "added",
            DiffKind::Removed => "removed",
        };
        out.push_str(&format!(
            "diff-type: {kind}, source: {}, destination: {}, ref1: {}, ref2: {}",
            l.src, l.dst, l.old, l.new
        ));
        if let Some(info) = &l.workloads_info {
            out.push_str(&format!(", workloads-diff-info: {info}"));
        }
        out.push('\n');
    }
    out
}
