//! The manifests checked in under deploy/ are what piimask renders today:
//! `piimask install` (the kustomize base), and the worked examples's injected workload and
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
    check(&render(&["install"], &deploy), &deploy.join("kustomize/base/install.yaml"));
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

#[test]
fn the_values_file_documents_the_defaults() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let with_values = render(&["install", "--values", "install-values.yaml"], &deploy);
    assert_eq!(with_values, render(&["install"], &deploy), "install-values.yaml must hold the defaults");
    // Flags win over the file.
    let moved = render(&["install", "--values", "install-values.yaml", "--namespace", "pii-guard"], &deploy);
    assert!(moved.contains("namespace: pii-guard") && !moved.contains("piimask-system"));
}

#[test]
fn the_gateway_example_is_what_install_renders_and_locks_the_crm_down() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples/legacy-gateway");
    let rendered = render(&["install", "--values", "values.yaml", "--gateway", "piimask.yaml"], &example);
    check(&rendered, &example.join("gateway.yaml"));
    piimask::config::Config::load(&example.join("piimask.yaml")).expect("the gateway config builds");

    // The gateway's and the legacy side's policies, in piimask's simulator:
    // callers reach the CRM only through the gateway, and only the ones the
    // config names reach the gateway.
    let cluster = piimask::k8s::netpol::Cluster::load(&example).expect("the example loads");
    let reaches = |src: &str, dst: &str, port: u16| {
        cluster.eval(src, dst, piimask::k8s::netpol::Protocol::Tcp, port).expect("both exist").allowed
    };
    for caller in ["reporting/reports", "billing/billing"] {
        assert!(reaches(caller, "crm-gateway/crm-gateway", 8443), "{caller} → gateway");
        assert!(!reaches(caller, "legacy/crm", 8080), "{caller} bypasses the gateway");
    }
    assert!(!reaches("marketing/campaigns", "crm-gateway/crm-gateway", 8443), "not in the config");
    assert!(!reaches("reporting/reports", "crm-gateway/crm-gateway", 9901), "only the listener port");
    assert!(reaches("crm-gateway/crm-gateway", "legacy/crm", 8080));
    assert!(reaches("crm-gateway/crm-gateway", "10.20.0.15", 8080), "the ledger VM");
    assert!(!reaches("crm-gateway/crm-gateway", "10.20.0.16", 8080));
    assert!(!reaches("crm-gateway/crm-gateway", "marketing/campaigns", 8080));
}

#[test]
fn a_gateway_config_naming_files_the_pod_lacks_is_refused() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let out = Command::new(BIN).args(["install", "--gateway", "config/gateway.yaml"]).current_dir(&deploy).output();
    let out = out.expect("run piimask");
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("config/gateway.yaml") && said.contains("/etc/piimask/legacy-ca.crt"), "{said}");
}

/// The worked example passes the admission guard as written: its injected
/// PII pod runs the sidecar piimask injects, and the policies `netpol
/// generate` wrote isolate it (named namespaces in, configured peers and
/// DNS out). Each object goes through the guard as the API server would
/// send it: the Deployment's pod template as a Pod being created.
#[test]
fn the_worked_example_passes_the_admission_guard() {
    use piimask::k8s::kube_api::InForce;
    use piimask::k8s::webhook::{Guard, validation};
    use serde::Deserialize;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/examples/pii-service");
    let read = |name: &str| -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(dir.join(name)).expect("example");
        serde_yaml_ng::Deserializer::from_str(&text)
            .filter_map(|d| serde_json::Value::deserialize(d).ok())
            .filter(|v| v.is_object())
            .collect()
    };
    let objects = read("injected.yaml");
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").expect("a Deployment");
    let template = &deployment["spec"]["template"];
    assert_eq!(template["metadata"]["labels"]["piimask.io/pii"], "true");
    let namespace = deployment["metadata"]["namespace"].as_str().expect("namespace");
    let pod = serde_json::json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": template["metadata"], "spec": template["spec"]});
    let review = serde_json::json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "CREATE",
            "namespace": namespace, "object": pod}});
    let guard = Guard::default();
    let v = validation(review.to_string().as_bytes(), &guard).expect("a review");
    assert_eq!(v.check_namespace.as_deref(), Some(namespace), "the sidecar passes");
    let ns_labels = objects.iter().find(|o| o["kind"] == "Namespace").expect("Namespace")["metadata"]["labels"].clone();
    let policies = read("networkpolicies.yaml");
    let answer = v.answer(Ok(&InForce { namespace_labels: ns_labels, policies }), &guard);
    assert_eq!(answer["response"]["allowed"], true, "{answer}");
}

/// `webhook.allow_opt_out` reaches the webhook as `--allow-opt-out`, and
/// the namespace guard (pods without the PII label in namespaces with it)
/// never holds up the namespaces it names.
#[test]
fn the_namespaces_allowed_to_opt_out_are_rendered_into_the_webhook() {
    use serde::Deserialize;
    let dir = std::env::temp_dir().join(format!("piimask-opt-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("values.yaml"), "webhook:\n  allow_opt_out: [batch, tools]\n").expect("values");
    let rendered = render(&["install", "--values", "values.yaml"], &dir);
    let objects: Vec<serde_json::Value> = serde_yaml_ng::Deserializer::from_str(&rendered)
        .map(|d| serde_json::Value::deserialize(d).expect("YAML"))
        .collect();
    let deployment = objects.iter().find(|o| o["kind"] == "Deployment").expect("the webhook");
    let args: Vec<&str> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    assert!(args.windows(4).any(|w| w == ["--allow-opt-out", "batch", "--allow-opt-out", "tools"]), "{args:?}");
    let guard = objects.iter().find(|o| o["kind"] == "ValidatingWebhookConfiguration").expect("the guard");
    let hook = &guard["webhooks"][1];
    assert_eq!(hook["name"], "pii-namespace-guard.piimask.io");
    assert_eq!(hook["rules"][0]["operations"], serde_json::json!(["CREATE"]));
    assert_eq!(hook["objectSelector"]["matchExpressions"][0]["operator"], "DoesNotExist");
    let selector = &hook["namespaceSelector"]["matchExpressions"];
    assert_eq!(selector[0], serde_json::json!({"key": "piimask.io/pii", "operator": "Exists"}));
    assert_eq!(selector[1]["values"], serde_json::json!(["kube-system", "piimask-system", "batch", "tools"]));

    std::fs::write(dir.join("values.yaml"), "webhook:\n  allow_opt_out: [Batch_Jobs]\n").expect("values");
    let out = Command::new(BIN).args(["install", "--values", "values.yaml"]).current_dir(&dir).output().expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("webhook.allow_opt_out `Batch_Jobs`: expected a namespace name"), "{said}");
}
