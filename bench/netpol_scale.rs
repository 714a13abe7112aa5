//! `netpol connlist` at the size of a platform's policy repository:
//! WORKLOADS Deployments in 40 namespaces, each namespace denying all
//! traffic by default, and POLICIES NetworkPolicies in all (the default
//! denies included) opening it again with pod, namespace and combined
//! selectors, `matchExpressions`, named and numbered ports, and ipBlocks
//! with exceptions. Every pod carries a template hash of its own, as
//! Deployments' pods do, which no policy reads. Written as manifest files
//! and analysed from disk, as CI would run it.
//!
//!     cargo bench --bench netpol_scale [-- WORKLOADS POLICIES [--pairwise] [--keep DIR]]
//!
//! Times `connlist`, `lint`, and `diff` against a copy of the folder in
//! which one allow policy selects other pods (the change a pull request
//! to a policy repository makes). `--pairwise` also times the connection list decided pair by pair (the
//! class-based one's test oracle) and checks that both give the same lines.

use std::fmt::Write as _;
use std::time::Instant;

use piimask::k8s::netpol::{Cluster, PiiLabel, diff, lint};

/// Namespaces, and the app and tier labels the workloads draw from.
const NAMESPACES: u64 = 40;
const APPS: u64 = 50;
const TIERS: u64 = 3;

/// A small deterministic generator (xorshift), so every run sees the same
/// manifests.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let (workloads, policies) = (numbers.first().copied().unwrap_or(1000), numbers.get(1).copied().unwrap_or(500));
    let pairwise = args.iter().any(|a| a == "--pairwise");
    // `--keep DIR`: the folders are written to DIR/before and DIR/after
    // and left there (for timing `piimask netpol` itself on them).
    let keep = args.iter().position(|a| a == "--keep").and_then(|i| args.get(i + 1)).map(std::path::PathBuf::from);
    let dir = match &keep {
        Some(k) => k.join("before"),
        None => std::env::temp_dir().join(format!("piimask-netpol-scale-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut text = String::new();
    for ns in 0..NAMESPACES {
        writeln!(
            text,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns{ns}\n  labels:\n    team: t{}",
            ns % 5
        )
        .unwrap();
    }
    for w in 0..workloads {
        let (ns, app, tier) = (rng.below(NAMESPACES), rng.below(APPS), rng.below(TIERS));
        write!(
            text,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w{w}\n  namespace: ns{ns}\nspec:\n  template:\n    metadata:\n      labels:\n        app: a{app}\n        tier: t{tier}\n        pod-template-hash: h{w:x}\n    spec:\n      containers:\n      - name: c\n        ports:\n        - {{containerPort: 8080, name: http}}\n        - {{containerPort: 9090, name: metrics}}\n"
        )
        .unwrap();
    }
    std::fs::write(dir.join("workloads.yaml"), &text).expect("write");
    text.clear();
    for ns in 0..NAMESPACES.min(policies as u64) {
        write!(
            text,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: default-deny\n  namespace: ns{ns}\nspec:\n  podSelector: {{}}\n  policyTypes: [Ingress, Egress]\n"
        )
        .unwrap();
    }
    for p in 0..policies.saturating_sub(NAMESPACES as usize) {
        let ns = rng.below(NAMESPACES);
        let sel = match rng.below(3) {
            0 => "{}".to_string(),
            1 => format!("{{matchLabels: {{app: a{}}}}}", rng.below(APPS)),
            _ => format!("{{matchExpressions: [{{key: tier, operator: In, values: [t{}]}}]}}", rng.below(TIERS)),
        };
        let peer = match rng.below(4) {
            0 => format!("podSelector: {{matchLabels: {{app: a{}}}}}", rng.below(APPS)),
            1 => format!(
                "namespaceSelector: {{matchLabels: {{team: t{}}}}}\n      podSelector: {{matchLabels: {{app: a{}}}}}",
                rng.below(5),
                rng.below(APPS)
            ),
            2 => format!(
                "namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: ns{}}}}}\n      podSelector: {{matchLabels: {{tier: t{}}}}}",
                rng.below(NAMESPACES),
                rng.below(TIERS)
            ),
            _ => format!("ipBlock: {{cidr: 10.{}.0.0/16, except: [10.{}.1.0/24]}}", rng.below(200), rng.below(200)),
        };
        let port = if rng.below(2) == 0 { "http".to_string() } else { format!("{}", 8000 + rng.below(200)) };
        // Each policy opens one direction, as teams write them.
        let rule = if rng.below(2) == 0 {
            format!("  policyTypes: [Ingress]\n  ingress:\n  - from:\n    - {peer}\n    ports:\n    - port: {port}\n")
        } else {
            format!("  policyTypes: [Egress]\n  egress:\n  - to:\n    - {peer}\n    ports:\n    - port: {port}\n")
        };
        write!(
            text,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p{p}\n  namespace: ns{ns}\nspec:\n  podSelector: {sel}\n{rule}"
        )
        .unwrap();
    }
    std::fs::write(dir.join("policies.yaml"), &text).expect("write");

    let started = Instant::now();
    let cluster = Cluster::load(&dir).expect("the generated manifests load");
    let loaded = started.elapsed();
    let connections = cluster.connlist();
    let total = started.elapsed();
    println!(
        "netpol connlist: {workloads} workloads, {policies} policies: {} connections in {:.2} s (reading and parsing {:.2} s)",
        connections.len(),
        total.as_secs_f64(),
        loaded.as_secs_f64()
    );
    let started = Instant::now();
    let findings = lint(&cluster, &PiiLabel::default());
    println!("netpol lint: {} findings in {:.2} s", findings.len(), started.elapsed().as_secs_f64());
    // The same folder with one ingress rule's peers widened to every pod
    // of every namespace, as a careless change to a policy would.
    let changed_dir = match &keep {
        Some(k) => k.join("after"),
        None => dir.with_extension("changed"),
    };
    std::fs::create_dir_all(&changed_dir).expect("temp dir");
    std::fs::copy(dir.join("workloads.yaml"), changed_dir.join("workloads.yaml")).expect("copy");
    let policies_text = std::fs::read_to_string(dir.join("policies.yaml")).expect("read");
    let changed = policies_text.replacen(
        "ingress:\n  - from:\n    - ",
        "ingress:\n  - from:\n    - namespaceSelector: {}\n    - ",
        1,
    );
    assert!(changed != policies_text, "an ingress rule is in the folder");
    std::fs::write(changed_dir.join("policies.yaml"), changed).expect("write");
    let started = Instant::now();
    let new = Cluster::load(&changed_dir).expect("the changed manifests load");
    let lines = diff(&cluster, &new);
    println!("netpol diff (one policy changed): {} lines in {:.2} s", lines.len(), started.elapsed().as_secs_f64());
    if keep.is_none() {
        std::fs::remove_dir_all(&changed_dir).expect("clean up");
    }
    if pairwise {
        let started = Instant::now();
        let oracle = cluster.connlist_pairwise();
        println!("pair by pair: {:.2} s", started.elapsed().as_secs_f64());
        assert!(oracle == connections, "the class-based connlist and the pairwise one differ");
    }
    if keep.is_none() {
        std::fs::remove_dir_all(&dir).expect("clean up");
    }
}
