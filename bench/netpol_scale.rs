//! `netpol connlist` at scale: 1,000 workloads in 20 namespaces and 500
//! NetworkPolicies (selectors, namespace selectors, ports, ipBlocks),
//! written as manifest files and analysed from disk, as CI would run it.
//!
//!     cargo bench --bench netpol_scale [-- WORKLOADS POLICIES]

use std::fmt::Write as _;
use std::time::Instant;

use piimask::k8s::netpol::Cluster;

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
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let (workloads, policies) = (args.first().copied().unwrap_or(1000), args.get(1).copied().unwrap_or(500));
    let dir = std::env::temp_dir().join(format!("piimask-netpol-scale-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut text = String::new();
    for ns in 0..20 {
        writeln!(
            text,
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns{ns}\n  labels:\n    team: t{}",
            ns % 5
        )
        .unwrap();
    }
    for w in 0..workloads {
        let (ns, app, tier) = (rng.below(20), rng.below(50), rng.below(3));
        write!(
            text,
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w{w}\n  namespace: ns{ns}\nspec:\n  template:\n    metadata:\n      labels:\n        app: a{app}\n        tier: t{tier}\n    spec:\n      containers:\n      - name: c\n        ports:\n        - {{containerPort: 8080, name: http}}\n        - {{containerPort: 9090, name: metrics}}\n"
        )
        .unwrap();
    }
    std::fs::write(dir.join("workloads.yaml"), &text).expect("write");
    text.clear();
    for p in 0..policies {
        let ns = rng.below(20);
        let sel = match rng.below(3) {
            0 => "{}".to_string(),
            1 => format!("{{matchLabels: {{app: a{}}}}}", rng.below(50)),
            _ => format!("{{matchExpressions: [{{key: tier, operator: In, values: [t{}]}}]}}", rng.below(3)),
        };
        let peer = match rng.below(4) {
            0 => format!("podSelector: {{matchLabels: {{app: a{}}}}}", rng.below(50)),
            1 => format!("namespaceSelector: {{matchLabels: {{team: t{}}}}}", rng.below(5)),
            2 => format!(
                "namespaceSelector: {{matchLabels: {{kubernetes.io/metadata.name: ns{}}}}}\n      podSelector: {{matchLabels: {{tier: t{}}}}}",
                rng.below(20),
                rng.below(3)
            ),
            _ => format!("ipBlock: {{cidr: 10.{}.0.0/16, except: [10.{}.1.0/24]}}", rng.below(200), rng.below(200)),
        };
        let port = if rng.below(2) == 0 { "http".to_string() } else { format!("{}", 8000 + rng.below(200)) };
        write!(
            text,
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p{p}\n  namespace: ns{ns}\nspec:\n  podSelector: {sel}\n  policyTypes: [Ingress, Egress]\n  ingress:\n  - from:\n    - {peer}\n    ports:\n    - port: {port}\n  egress:\n  - to:\n    - {peer}\n"
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
    std::fs::remove_dir_all(&dir).expect("clean up");
}
