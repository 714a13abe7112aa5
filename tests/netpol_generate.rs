//! `piimask netpol generate` checked by piimask's own simulator: with the
//! generated policies in place, exactly the peers the config allows reach
//! the sidecar port, the workload reaches only its configured peers and
//! DNS, and everything else in its namespace is shut.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use piimask::k8s::netpol::{Cluster, Protocol};

const BIN: &str = env!("CARGO_BIN_EXE_piimask");

#[test]
fn generated_policies_admit_exactly_the_configured_peers() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/netpol/generate");
    let out = Command::new(BIN)
        .args(["netpol", "generate", "--workload", "app/customers", "--selector", "app=customers", "--config"])
        .arg(data.join("piimask.yaml"))
        .output()
        .expect("run piimask");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = std::env::temp_dir().join(format!("piimask-netpol-generate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::copy(data.join("workloads.yaml"), dir.join("workloads.yaml")).expect("copy");
    std::fs::write(dir.join("policies.yaml"), &out.stdout).expect("write");
    let cluster = Cluster::load(&dir).expect("the generated policies load");
    std::fs::remove_dir_all(&dir).expect("clean up");

    let connections = cluster.connlist();
    let into_sidecar: BTreeSet<&str> = connections
        .iter()
        .filter(|c| c.dst == "app/customers[Deployment]")
        .map(|c| {
            assert_eq!(c.conns.to_string(), "TCP 8443", "{} reaches more than the sidecar port", c.src);
            c.src.as_str()
        })
        .collect();
    assert_eq!(into_sidecar, BTreeSet::from(["billing/billing[Deployment]", "support/helpdesk[Deployment]"]));

    let out_of_it: Vec<(String, String)> = connections
        .iter()
        .filter(|c| c.src == "app/customers[Deployment]")
        .map(|c| (c.dst.clone(), c.conns.to_string()))
        .collect();
    assert_eq!(
        out_of_it,
        [
            ("billing/billing[Deployment]".to_string(), "TCP 8443".to_string()),
            ("kube-system/coredns[Deployment]".to_string(), "TCP 53,UDP 53".to_string()),
        ]
    );
    // The bystander in the namespace is under the default deny.
    assert!(!connections.iter().any(|c| c.src.starts_with("app/cache") || c.dst.starts_with("app/cache")));
    // And the simulator agrees port by port.
    assert!(cluster.eval("support/helpdesk", "app/customers", Protocol::Tcp, 8443).expect("exists").allowed);
    assert!(!cluster.eval("analytics/reports", "app/customers", Protocol::Tcp, 8443).expect("exists").allowed);
    assert!(!cluster.eval("203.0.113.9", "app/customers", Protocol::Tcp, 8443).expect("exists").allowed);
    assert!(!cluster.eval("app/customers", "203.0.113.9", Protocol::Tcp, 443).expect("exists").allowed);
}

/// Port takeover: the app keeps binding its port on every address, so
/// only the generated policies keep peers off it. With the injected
/// workload and the policies `netpol generate` writes for a sidecar on
/// the takeover port, the simulator finds the app's port unreachable and
/// the sidecar's reachable from the allowed namespace only.
#[test]
fn port_takeover_leaves_only_the_sidecar_port_reachable() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let injected = Command::new(BIN)
        .args(["inject", "--certs", "csi-spiffe", "-f"])
        .arg(data.join("inject/takeover.yaml"))
        .output()
        .expect("run piimask");
    assert!(injected.status.success(), "{}", String::from_utf8_lossy(&injected.stderr));
    let dir = std::env::temp_dir().join(format!("piimask-takeover-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = "tls: {cert: tls.crt, key: tls.key, ca: ca.crt}\ninbound:\n  listen: 0.0.0.0:15006\n  routes:\n    - {name: api, allow: [spiffe://cluster.local/ns/billing/sa/billing], upstream: app}\nupstreams:\n  - {name: app, url: \"http://127.0.0.1:8080\"}\n";
    std::fs::write(dir.join("piimask.yaml.txt"), config).expect("config");
    let generated = Command::new(BIN)
        .args(["netpol", "generate", "--workload", "shop/api", "--selector", "app=api", "--config"])
        .arg(dir.join("piimask.yaml.txt"))
        .output()
        .expect("run piimask");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    std::fs::remove_file(dir.join("piimask.yaml.txt")).expect("clean up");
    std::fs::write(dir.join("injected.yaml"), &injected.stdout).expect("write");
    std::fs::write(dir.join("policies.yaml"), &generated.stdout).expect("write");
    let callers = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: billing, namespace: billing}\nspec:\n  selector: {matchLabels: {app: billing}}\n  template:\n    metadata: {labels: {app: billing}}\n    spec: {serviceAccountName: billing, containers: [{name: app}]}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: campaigns, namespace: marketing}\nspec:\n  selector: {matchLabels: {app: campaigns}}\n  template:\n    metadata: {labels: {app: campaigns}}\n    spec: {containers: [{name: app}]}\n";
    std::fs::write(dir.join("callers.yaml"), callers).expect("write");
    let cluster = Cluster::load(&dir).expect("the cluster loads");
    // `netpol lint` NP010: nothing to say here; a policy that also opens
    // the app's own port (a PII workload, around its sidecar) is flagged.
    let pii = piimask::k8s::netpol::PiiLabel { key: "app".into(), value: "api".into() };
    let np010 = |c: &Cluster| -> Vec<String> {
        piimask::k8s::netpol::lint(c, &pii).iter().filter(|f| f.id == "NP010").map(|f| f.to_string()).collect()
    };
    assert!(np010(&cluster).is_empty(), "{:?}", np010(&cluster));
    let opens = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: app-port, namespace: shop}\nspec:\n  podSelector: {matchLabels: {app: api}}\n  policyTypes: [Ingress]\n  ingress:\n    - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: billing}}}]\n      ports: [{port: 8080}]\n";
    std::fs::write(dir.join("opens.yaml"), opens).expect("write");
    let opened = Cluster::load(&dir).expect("the cluster loads");
    // `netpol drift` says the same about the config the sidecar runs.
    let config = piimask::config::Config::parse("netpol.yaml", config, &dir).expect("config");
    let inbound = config.proxy.and_then(|p| p.inbound).expect("inbound");
    let drift = |c: &Cluster| -> Vec<String> {
        piimask::k8s::netpol::drift(c, "shop/api", inbound.listen.port(), &inbound.policy, "cluster.local")
            .expect("drift")
            .iter()
            .map(ToString::to_string)
            .collect()
    };
    assert_eq!(drift(&cluster), Vec::<String>::new());
    assert_eq!(
        drift(&opened),
        ["around-sidecar: billing/billing[Deployment] can reach the app's own port 8080, unmasked (port takeover)"]
    );
    std::fs::remove_dir_all(&dir).expect("clean up");
    let found = np010(&opened);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("the app's own port 8080 (app-http) is reachable around the sidecar from billing/billing"),
        "{found:?}"
    );
    let reaches = |src: &str, port: u16| cluster.eval(src, "shop/api", Protocol::Tcp, port).expect("exists").allowed;
    assert!(reaches("billing/billing", 15006), "the allowed namespace reaches the sidecar");
    assert!(!reaches("billing/billing", 8080), "the app's own port is shut");
    assert!(!reaches("billing/billing", 9090), "and its other ports");
    assert!(!reaches("marketing/campaigns", 15006), "a namespace the config does not allow");
    assert!(!reaches("203.0.113.9", 15006));
}
