//! Properties of the NetworkPolicy analysis on generated manifests: policies
//! are additive once a workload is isolated, isolation only removes
//! connections, order changes nothing, and default deny leaves nothing. And
//! the admission guard's isolation check: it admits a PII pod exactly when
//! `eval` finds it isolated both ways and reachable only from, and sending
//! only to, allowed peers; `netpol lint` NP001 says the same.

use std::collections::BTreeMap;

use piimask::k8s::netpol::{Cluster, ConnSet, Connection, PiiLabel, Protocol, lint, pod_holes};
use proptest::prelude::*;
use serde_json::{Value, json};

const NAMESPACES: [&str; 3] = ["a", "b", "c"];
const APPS: [&str; 3] = ["web", "db", "api"];
const TIERS: [&str; 2] = ["front", "back"];
const PROTOCOLS: [&str; 2] = ["TCP", "UDP"];

fn workload() -> impl Strategy<Value = Value> {
    (0..3usize, 0..3usize, 0..2usize, prop::collection::vec((1u16..3, 0..2usize), 0..3), any::<u16>()).prop_map(
        |(ns, app, tier, ports, id)| {
            let ports: Vec<Value> = ports
                .iter()
                .map(|(p, proto)| json!({"containerPort": 8000 + p, "name": format!("p{p}"), "protocol": PROTOCOLS[*proto]}))
                .collect();
            json!({
                "kind": "Deployment",
                "metadata": {"name": format!("w{id}"), "namespace": NAMESPACES[ns]},
                "spec": {"template": {
                    "metadata": {"labels": {"app": APPS[app], "tier": TIERS[tier]}},
                    "spec": {"containers": [{"name": "c", "ports": ports}]}
                }}
            })
        },
    )
}

fn selector() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!({})),
        (0..3usize).prop_map(|a| json!({"matchLabels": {"app": APPS[a]}})),
        (0..2usize)
            .prop_map(|t| json!({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": [TIERS[t]]}]})),
    ]
}

fn peer() -> impl Strategy<Value = Value> {
    prop_oneof![
        selector().prop_map(|s| json!({"podSelector": s})),
        (0..3usize).prop_map(|n| json!({"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACES[n]}}})),
        (selector(), 0..3usize).prop_map(|(s, n)| json!({"podSelector": s, "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACES[n]}}})),
        (0..4u8).prop_map(|o| json!({"ipBlock": {"cidr": format!("10.{o}.0.0/16"), "except": [format!("10.{o}.1.0/24")]}})),
    ]
}

fn port() -> impl Strategy<Value = Value> {
    prop_oneof![
        (8000u16..8004).prop_map(|p| json!({"port": p})),
        (1u16..3).prop_map(|p| json!({"port": format!("p{p}"), "protocol": "UDP"})),
        (8000u16..8002).prop_map(|p| json!({"port": p, "endPort": p + 5, "protocol": "TCP"})),
    ]
}

/// A rule's peers and ports; `None` leaves the list out (all of them).
type GeneratedRule = (Option<Vec<Value>>, Option<Vec<Value>>);

fn rule(peer: BoxedStrategy<Value>) -> impl Strategy<Value = GeneratedRule> {
    (prop::option::of(prop::collection::vec(peer, 0..3)), prop::option::of(prop::collection::vec(port(), 0..3)))
}

fn policy() -> impl Strategy<Value = Value> {
    policy_with(peer().boxed())
}

/// Peers as a tenant might write them to open a PII pod: every namespace,
/// every namespace but one, labelled pods anywhere, the whole internet,
/// besides the narrow ones.
fn wide_peer() -> BoxedStrategy<Value> {
    prop_oneof![
        3 => peer(),
        1 => Just(json!({"namespaceSelector": {}})),
        1 => selector().prop_map(|s| json!({"namespaceSelector": {}, "podSelector": s})),
        1 => (0..3usize).prop_map(|n| json!({"namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": [NAMESPACES[n]]}]}})),
        1 => Just(json!({"ipBlock": {"cidr": "0.0.0.0/0"}})),
    ]
    .boxed()
}

fn policy_with(peer: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    (
        0..3usize,
        selector(),
        prop::option::of(prop::collection::vec(rule(peer.clone()), 0..3)),
        prop::option::of(prop::collection::vec(rule(peer), 0..3)),
        any::<u16>(),
    )
        .prop_map(|(ns, sel, ingress, egress, id)| {
            let rules = |rs: Vec<GeneratedRule>, peers_key: &str| -> Vec<Value> {
                rs.into_iter()
                    .map(|(peers, ports)| {
                        let mut r = serde_json::Map::new();
                        if let Some(p) = peers {
                            r.insert(peers_key.into(), Value::Array(p));
                        }
                        if let Some(p) = ports {
                            r.insert("ports".into(), Value::Array(p));
                        }
                        Value::Object(r)
                    })
                    .collect()
            };
            let mut spec = serde_json::Map::new();
            spec.insert("podSelector".into(), sel);
            let mut types = Vec::new();
            if let Some(i) = ingress {
                spec.insert("ingress".into(), Value::Array(rules(i, "from")));
                types.push("Ingress");
            }
            if let Some(e) = egress {
                spec.insert("egress".into(), Value::Array(rules(e, "to")));
                types.push("Egress");
            }
            if types.is_empty() {
                types.push("Ingress");
            }
            spec.insert("policyTypes".into(), json!(types));
            json!({"kind": "NetworkPolicy", "metadata": {"name": format!("p{id}"), "namespace": NAMESPACES[ns]}, "spec": spec})
        })
}

fn manifests() -> impl Strategy<Value = (Vec<Value>, Vec<Value>)> {
    (prop::collection::vec(workload(), 2..7), prop::collection::vec(policy(), 0..6))
}

fn conns(objects: &[Value]) -> BTreeMap<(String, String), ConnSet> {
    // One shared cut so external ranges compare across runs.
    let cluster = Cluster::from_objects(objects);
    let mut cuts = cluster.cut_points();
    for o in 0..4u64 {
        for (lo, hi) in [
            ((10 << 24) + (o << 16), (10 << 24) + ((o + 1) << 16)),
            ((10 << 24) + (o << 16) + 256, (10 << 24) + (o << 16) + 512),
        ] {
            cuts.extend([lo, hi]);
        }
    }
    cuts.sort_unstable();
    cuts.dedup();
    cluster.connlist_cut(&cuts, false).into_iter().map(|Connection { src, dst, conns }| ((src, dst), conns)).collect()
}

fn subset(a: &ConnSet, b: &ConnSet) -> bool {
    a.intersect(b) == *a
}

/// The workloads (by id) a policy isolates for ingress and for egress.
fn isolated_by(policy: &Value, workloads: &[Value]) -> (Vec<String>, Vec<String>) {
    let c = Cluster::from_objects(&[workloads.to_vec(), vec![policy.clone()]].concat());
    let types: Vec<&str> = policy["spec"]["policyTypes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let selected = c.selected_by_policies();
    let mut ing = Vec::new();
    let mut eg = Vec::new();
    for w in selected {
        if types.contains(&"Ingress") {
            ing.push(w.clone());
        }
        if types.contains(&"Egress") {
            eg.push(w);
        }
    }
    (ing, eg)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn order_of_manifests_changes_nothing((workloads, policies) in manifests()) {
        let forward = [workloads.clone(), policies.clone()].concat();
        let mut backward = forward.clone();
        backward.reverse();
        prop_assert_eq!(conns(&forward), conns(&backward));
    }

    #[test]
    fn a_new_policy_removes_only_what_its_isolation_removes((workloads, policies) in manifests(), extra in policy()) {
        let before = conns(&[workloads.clone(), policies.clone()].concat());
        let after = conns(&[workloads.clone(), policies.clone(), vec![extra.clone()]].concat());
        let (newly_ingress, newly_egress) = isolated_by(&extra, &workloads);
        for (pair, old) in &before {
            let new = after.get(pair).cloned().unwrap_or_default();
            if !subset(old, &new) {
                // Only a workload this policy isolates can lose connections.
                prop_assert!(newly_ingress.contains(&pair.1) || newly_egress.contains(&pair.0),
                    "{pair:?} lost {old} -> {new}");
            }
        }
    }

    #[test]
    fn policies_are_additive_once_isolated((workloads, policies) in manifests(), extra in policy()) {
        // Isolate everything first: then any further policy only adds.
        let deny: Vec<Value> = NAMESPACES.iter().map(|ns| json!({"kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})).collect();
        let base = [workloads.clone(), deny.clone(), policies.clone()].concat();
        let before = conns(&base);
        let after = conns(&[base, vec![extra]].concat());
        for (pair, old) in &before {
            let new = after.get(pair).cloned().unwrap_or_default();
            prop_assert!(subset(old, &new), "{pair:?} lost {old} -> {new}");
        }
    }

    #[test]
    fn isolation_alone_only_removes((workloads, policies) in manifests(), sel in selector(), ns in 0..3usize) {
        let isolate = json!({"kind": "NetworkPolicy", "metadata": {"name": "iso", "namespace": NAMESPACES[ns]},
            "spec": {"podSelector": sel, "policyTypes": ["Ingress", "Egress"]}});
        let before = conns(&[workloads.clone(), policies.clone()].concat());
        let after = conns(&[workloads, policies, vec![isolate]].concat());
        for (pair, new) in &after {
            let old = before.get(pair).cloned().unwrap_or_default();
            prop_assert!(subset(new, &old), "{pair:?} gained {old} -> {new}");
        }
    }

    #[test]
    fn default_deny_everywhere_leaves_nothing(workloads in prop::collection::vec(workload(), 2..7)) {
        let deny: Vec<Value> = NAMESPACES.iter().map(|ns| json!({"kind": "NetworkPolicy",
            "metadata": {"name": "deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})).collect();
        prop_assert!(conns(&[workloads, deny].concat()).is_empty());
    }
}

/// An AdminNetworkPolicy (or, `baseline`, a BaselineAdminNetworkPolicy)
/// with one rule on the subject's ingress or egress.
fn admin_policy() -> impl Strategy<Value = Value> {
    let subject = prop_oneof![
        Just(json!({"namespaces": {}})),
        (0..3usize)
            .prop_map(|n| json!({"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACES[n]}}})),
        (0..3usize)
            .prop_map(|a| json!({"pods": {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": APPS[a]}}}})),
    ];
    let peer = prop_oneof![
        Just(json!({"namespaces": {}})),
        (0..3usize)
            .prop_map(|n| json!({"namespaces": {"matchLabels": {"kubernetes.io/metadata.name": NAMESPACES[n]}}})),
        Just(json!({"networks": ["0.0.0.0/0"]})),
        Just(json!({"networks": ["10.1.0.0/16"]})),
    ];
    (any::<bool>(), 0..3i64, subject, any::<bool>(), 0..3usize, peer, prop::option::of(8000u16..8004), any::<u16>())
        .prop_map(|(baseline, priority, subject, ingress, action, peer, port, id)| {
            let actions = if baseline { &["Allow", "Deny", "Deny"][..] } else { &["Allow", "Deny", "Pass"][..] };
            let mut rule = json!({"name": "r", "action": actions[action]});
            rule[if ingress { "from" } else { "to" }] = json!([peer]);
            if let Some(p) = port {
                rule["ports"] = json!([{"portNumber": {"protocol": "TCP", "port": p}}]);
            }
            let kind = if baseline { "BaselineAdminNetworkPolicy" } else { "AdminNetworkPolicy" };
            let name = if baseline { "default".to_string() } else { format!("a{id}") };
            json!({"kind": kind, "metadata": {"name": name}, "spec": {"priority": priority, "subject": subject,
                (if ingress { "ingress" } else { "egress" }): [rule]}})
        })
}

/// What `eval` says of the PII pod `a/pii`: isolated both ways, and no
/// flow with the probe (a pod with no labels in a namespace no policy
/// names, declaring the port names the generators use, as some pod may)
/// or an external address, but DNS out to the probe. The sampled ports and
/// addresses cover every distinct case the generators write (ports
/// 8000-8006 or all, the named ports p1/p2, blocks 10.o.0.0/16 except
/// 10.o.1.0/24, 10.1.0.0/16 and 0.0.0.0/0).
fn eval_says_isolated(c: &Cluster) -> bool {
    let ports: Vec<u16> = [53].into_iter().chain(8000..8008).chain([9000, 9101, 9102]).collect();
    let addresses: Vec<String> =
        (0..4).flat_map(|o| [format!("10.{o}.0.1"), format!("10.{o}.1.1")]).chain(["192.0.2.1".into()]).collect();
    let verdict = |src: &str, dst: &str, proto: Protocol, port: u16| c.eval(src, dst, proto, port).expect("both exist");
    let isolated_in = !verdict("z/probe", "a/pii", Protocol::Tcp, 1).ingress.isolated_by.is_empty();
    let isolated_out = !verdict("a/pii", "z/probe", Protocol::Tcp, 1).egress.isolated_by.is_empty();
    if !(isolated_in && isolated_out) {
        return false;
    }
    for proto in Protocol::ALL {
        for &port in &ports {
            if verdict("z/probe", "a/pii", proto, port).allowed {
                return false;
            }
            if port != 53 && verdict("a/pii", "z/probe", proto, port).allowed {
                return false;
            }
            for ip in &addresses {
                if verdict(ip, "a/pii", proto, port).allowed || verdict("a/pii", ip, proto, port).allowed {
                    return false;
                }
            }
        }
    }
    true
}

fn pii_pod(app: usize, tier: usize) -> Value {
    json!({"kind": "Pod", "metadata": {"name": "pii", "namespace": "a",
            "labels": {"app": APPS[app], "tier": TIERS[tier], "piimask.io/pii": "true"}},
        "spec": {"containers": [{"name": "c", "ports": [
            {"containerPort": 8001, "name": "p1", "protocol": "UDP"}, {"containerPort": 8002, "name": "p2", "protocol": "TCP"}]}]}})
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn the_guard_admits_exactly_what_eval_finds_isolated_and_lint_agrees(
        app in 0..3usize,
        tier in 0..2usize,
        isolate in any::<bool>(),
        policies in prop::collection::vec(policy_with(wide_peer()), 0..5),
        admin in prop::collection::vec(admin_policy(), 0..3),
    ) {
        let pod = pii_pod(app, tier);
        let deny = json!({"kind": "NetworkPolicy", "metadata": {"name": "deny", "namespace": "a"},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}});
        let mut in_force: Vec<Value> = policies.clone();
        if isolate {
            in_force.push(deny);
        }
        in_force.extend(admin);
        // What the webhook reads: the namespace's NetworkPolicies and the
        // cluster's admin policies.
        let listed: Vec<Value> = in_force
            .iter()
            .filter(|p| p["kind"] != "NetworkPolicy" || p["metadata"]["namespace"] == "a")
            .cloned()
            .collect();
        let holes = pod_holes(&pod, "a", &json!({}), &listed, &[]);

        let probe = json!({"kind": "Deployment", "metadata": {"name": "probe", "namespace": "z"},
            "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "c", "ports": [
                {"containerPort": 9101, "name": "p1", "protocol": "UDP"}, {"containerPort": 9102, "name": "p2", "protocol": "UDP"}]}]}}}});
        let cluster = Cluster::from_objects(&[vec![pod, probe], in_force].concat());
        prop_assert_eq!(holes.is_empty(), eval_says_isolated(&cluster), "holes: {:?}", holes);

        let np001 = lint(&cluster, &PiiLabel::default()).into_iter().any(|f| f.id == "NP001");
        prop_assert_eq!(np001, !holes.is_empty());
    }
}

/// A workload with labels no generated selector names, sometimes: a
/// template hash (which only a presence selector reads) and an app outside
/// `APPS`. Workloads that differ only there fall into one class.
fn varied_workload() -> impl Strategy<Value = Value> {
    (workload(), prop::option::of(0..3u8), 0..5usize).prop_map(|(mut w, hash, app)| {
        let labels = &mut w["spec"]["template"]["metadata"]["labels"];
        if let Some(h) = hash {
            labels["hash"] = json!(format!("h{h}"));
        }
        if app >= APPS.len() {
            labels["app"] = json!(format!("other{app}"));
        }
        w
    })
}

/// A policy that tells workloads apart by a label's presence
/// (`Exists` / `DoesNotExist` on the hash) and admits one hash value.
fn presence_policy() -> impl Strategy<Value = Value> {
    (0..3usize, any::<bool>(), 0..3u8, any::<u16>()).prop_map(|(ns, exists, h, id)| {
        let operator = if exists { "Exists" } else { "DoesNotExist" };
        json!({"kind": "NetworkPolicy", "metadata": {"name": format!("h{id}"), "namespace": NAMESPACES[ns]},
            "spec": {"podSelector": {"matchExpressions": [{"key": "hash", "operator": operator}]},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"namespaceSelector": {}, "podSelector": {"matchLabels": {"hash": format!("h{h}")}}}]}]}})
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// `connlist` decides once per pair of workload classes; deciding
    /// every pair of workloads on its own must give the same lines.
    #[test]
    fn connlist_by_classes_answers_as_pair_by_pair(
        workloads in prop::collection::vec(varied_workload(), 2..10),
        policies in prop::collection::vec(policy(), 0..6),
        presence in prop::collection::vec(presence_policy(), 0..3),
        admin in prop::collection::vec(admin_policy(), 0..3),
    ) {
        let objects = [workloads, policies, presence, admin].concat();
        let cluster = Cluster::from_objects(&objects);
        prop_assert_eq!(cluster.connlist(), cluster.connlist_pairwise());
    }
}

/// Two workloads whose ids print alike (`n/x/y[Deployment]`: `x/y` in `n`
/// and `y` in `n/x`, names the API would refuse but the loader reads) in
/// different classes: their lines come out in one order whichever way
/// they were decided.
#[test]
fn workloads_that_print_alike_give_lines_in_one_order() {
    let deployment = |name: &str, namespace: &str| {
        json!({"kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
            "spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c"}]}}}})
    };
    let policy = json!({"kind": "NetworkPolicy", "metadata": {"name": "np", "namespace": "n"},
        "spec": {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}], "ports": [{"port": 80}]}]}});
    let cluster = Cluster::from_objects(&[deployment("x/y", "n"), deployment("y", "n/x"), policy]);
    let lines = cluster.connlist();
    assert_eq!(lines.iter().filter(|c| c.src == "n/x/y[Deployment]" && c.dst == c.src).count(), 2, "{lines:?}");
    assert_eq!(lines, cluster.connlist_pairwise());
}
