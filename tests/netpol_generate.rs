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
