//! The manifests checked in under deploy/ are what piimask renders today:
//! `piimask install`, and the worked example's injected workload and
//! generated NetworkPolicies. Regenerate with the commands in each file's
//! header (or UPDATE_GOLDEN=1).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_piimask");

fn render(args: &[&str], dir: &Path) -> String {
    let out = Command::new(BIN).args(args).current_dir(dir).output().expect("run piimask");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn check(rendered: &str, file: &Path) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(file, rendered).expect("write");
    }
    let checked_in = std::fs::read_to_string(file).unwrap_or_default();
    assert!(
        checked_in == rendered,
        "{} is not what piimask renders today (UPDATE_GOLDEN=1 rewrites it)",
        file.display()
    );
}

#[test]
fn install_yaml_is_what_install_renders() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    check(&render(&["install"], &deploy), &deploy.join("install.yaml"));
}

#[test]
fn the_worked_example_is_what_inject_and_generate_render() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples/pii-service");
    check(&render(&["inject", "-f", "app.yaml"], &example), &example.join("injected.yaml"));
    let generate = [
        "netpol",
        "generate",
        "--config",
        "piimask.yaml",
        "--workload",
        "customers/customers",
        "--selector",
        "app=customers",
    ];
    check(&render(&generate, &example), &example.join("networkpolicies.yaml"));
    // The example's sidecar config is a valid piimask config.
    let check =
        Command::new(BIN).args(["check", "--config"]).arg(example.join("piimask.yaml")).output().expect("check");
    let said = String::from_utf8_lossy(&check.stderr);
    // Its TLS files live in the cluster, not here: everything else validates.
    assert!(said.contains("/var/run/piimask/certs/tls.crt: cannot read"), "{said}");
    piimask::config::Config::load(&example.join("piimask.yaml")).expect("the example config builds");
}
