//! `piimask inject` as users run it: the real binary on manifest files.
//! A golden file for the worked example, idempotence, documents passed
//! through byte for byte, every workload kind, both sidecar forms, and a
//! clear error for a workload whose port cannot be told.

use std::path::Path;
use std::process::{Command, Stdio};

use serde::Deserialize;

const BIN: &str = env!("CARGO_BIN_EXE_piimask");

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/inject").join(name)
}

fn inject(args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("inject")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn piimask");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (out.status.success(), String::from_utf8(out.stdout).expect("utf-8"), String::from_utf8(out.stderr).expect("utf-8"))
}

fn documents(yaml: &str) -> Vec<serde_json::Value> {
    serde_yaml_ng::Deserializer::from_str(yaml).map(|d| serde_json::Value::deserialize(d).expect("YAML")).collect()
}

fn pod_spec(doc: &serde_json::Value) -> &serde_json::Value {
    match doc["kind"].as_str() {
        Some("Pod") => &doc["spec"],
        Some("CronJob") => &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"],
        _ => &doc["spec"]["template"]["spec"],
    }
}

fn sidecar(spec: &serde_json::Value, list: &str) -> Option<serde_json::Value> {
    spec[list].as_array()?.iter().find(|c| c["name"] == "piimask").cloned()
}

#[test]
fn the_worked_example_matches_its_golden_file_and_injecting_again_changes_nothing() {
    let input = std::fs::read_to_string(data("input.yaml")).expect("input");
    let (ok, once, err) = inject(&[], &input);
    assert!(ok, "{err}");
    let golden = data("expected.yaml");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &once).expect("write golden");
    }
    assert_eq!(once, std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 writes it)"));
    let (ok, twice, _) = inject(&[], &once);
    assert!(ok);
    assert_eq!(twice, once, "injection is idempotent");
}

#[test]
fn untouched_documents_pass_through_byte_for_byte() {
    let input = std::fs::read_to_string(data("input.yaml")).expect("input");
    let (_, out, _) = inject(&["-f", &data("input.yaml").to_string_lossy()], "");
    let docs: Vec<&str> = input.split("\n---\n").collect();
    // The Service (with its comments), the opted-out Pod and the ConfigMap.
    for (i, doc) in docs.iter().enumerate() {
        if doc.contains("kind: Service")
            || doc.contains("kind: ConfigMap")
            || doc.contains("piimask.io/inject: \"false\"")
        {
            assert!(out.contains(doc.trim_end()), "document {} changed:\n{doc}", i + 1);
        }
    }
    let injected = documents(&out);
    let opted_out = injected.iter().find(|d| d["metadata"]["name"] == "debug-shell").expect("the pod");
    assert!(sidecar(pod_spec(opted_out), "initContainers").is_none());
}

#[test]
fn every_workload_kind_gets_a_hardened_native_sidecar() {
    let (ok, out, err) = inject(&["-f", &data("kinds.yaml").to_string_lossy()], "");
    assert!(ok, "{err}");
    let docs = documents(&out);
    let mut workloads: Vec<serde_json::Value> = Vec::new();
    let mut certificates = Vec::new();
    for d in docs {
        match d["kind"].as_str() {
            Some("List") => workloads.extend(d["items"].as_array().expect("items").iter().cloned()),
            Some("Certificate") => certificates.push(d),
            _ => workloads.push(d),
        }
    }
    assert_eq!(workloads.len(), 5);
    // All five run as namespace k's default service account: one identity,
    // one Certificate, whose Secret every sidecar mounts.
    assert_eq!(certificates.len(), 1, "{certificates:?}");
    assert_eq!(certificates[0]["spec"]["uris"][0], "spiffe://cluster.local/ns/k/sa/default");
    assert_eq!(certificates[0]["spec"]["secretName"], "default-piimask-tls");
    for w in &workloads {
        let s = sidecar(pod_spec(w), "initContainers").unwrap_or_else(|| panic!("no sidecar in {}", w["kind"]));
        assert_eq!(s["restartPolicy"], "Always", "native sidecar");
        let sc = &s["securityContext"];
        assert_eq!((sc["runAsNonRoot"].as_bool(), sc["readOnlyRootFilesystem"].as_bool()), (Some(true), Some(true)));
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"][0], "ALL");
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
        assert_eq!(s["readinessProbe"]["httpGet"]["port"], 9901);
        let args: Vec<&str> = s["args"].as_array().expect("args").iter().filter_map(|a| a.as_str()).collect();
        assert!(args.windows(2).any(|w| w == ["--listen", "$(POD_IP):8080"]), "{args:?}");
        assert!(args.windows(2).any(|w| w == ["--upstream", "http://127.0.0.1:8080"]), "{args:?}");
        let volumes = pod_spec(w)["volumes"].as_array().expect("volumes").clone();
        let certs = volumes.iter().find(|v| v["name"] == "piimask-certs").expect("the cert volume");
        assert_eq!(certs["secret"]["secretName"], "default-piimask-tls");
    }
}

#[test]
fn certificates_come_from_cert_manager_per_service_account_or_from_the_spiffe_csi_driver() {
    let input = std::fs::read_to_string(data("input.yaml")).expect("input");
    let (ok, out, err) =
        inject(&["--trust-domain", "prod.example", "--issuer", "mesh-ca", "--issuer-kind", "Issuer"], &input);
    assert!(ok, "{err}");
    let docs = documents(&out);
    let certificates: Vec<&serde_json::Value> = docs.iter().filter(|d| d["kind"] == "Certificate").collect();
    let ids: Vec<&str> = certificates.iter().filter_map(|c| c["spec"]["uris"][0].as_str()).collect();
    // `customers` runs as its own service account; the others as `default`.
    assert_eq!(ids, ["spiffe://prod.example/ns/app/sa/customers", "spiffe://prod.example/ns/app/sa/default"]);
    for c in &certificates {
        assert_eq!(c["spec"]["issuerRef"], serde_json::json!({"name": "mesh-ca", "kind": "Issuer"}));
        assert_eq!(c["metadata"]["namespace"], "app");
    }

    let (ok, out, err) = inject(&["--certs", "csi-spiffe"], &input);
    assert!(ok, "{err}");
    let docs = documents(&out);
    assert!(!docs.iter().any(|d| d["kind"] == "Certificate"), "the CSI driver needs none");
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").expect("deployment");
    let volumes = pod_spec(deployment)["volumes"].as_array().expect("volumes");
    let certs = volumes.iter().find(|v| v["name"] == "piimask-certs").expect("the cert volume");
    assert_eq!(certs["csi"]["driver"], "spiffe.csi.cert-manager.io");

    // No namespace: the SPIFFE ID cannot be written, and the error says so.
    let bare = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec: {containers: [{name: app, image: x, ports: [{containerPort: 80}]}]}\n";
    let (ok, _, err) = inject(&[], bare);
    assert!(!ok);
    assert!(err.contains("(Deployment default/web): no metadata.namespace"), "{err}");
    let (ok, _, err) = inject(&["--certs", "csi-spiffe"], bare);
    assert!(ok, "{err}");
}

#[test]
fn the_legacy_form_is_a_container_and_jobs_can_stop_it() {
    let (ok, out, err) = inject(&["--legacy-sidecar", "-f", &data("kinds.yaml").to_string_lossy()], "");
    assert!(ok, "{err}");
    let docs = documents(&out);
    let job = docs.iter().find(|d| d["kind"] == "Job").expect("the job");
    let s = sidecar(pod_spec(job), "containers").expect("a regular container");
    assert!(s.get("restartPolicy").is_none());
    assert!(s["args"].as_array().expect("args").iter().any(|a| a == "--admin-shutdown"));
    assert!(sidecar(pod_spec(job), "initContainers").is_none());
    // First in the list, and the app starts only once it is ready.
    assert_eq!(pod_spec(job)["containers"][0]["name"], "piimask");
    let hook = &s["lifecycle"]["postStart"]["exec"]["command"];
    assert_eq!(hook, &serde_json::json!(["/piimask", "wait-ready", "--admin", "127.0.0.1:9901"]));
}

#[test]
fn app_probes_go_through_the_admin_port() {
    let (_, out, _) = inject(&["-f", &data("input.yaml").to_string_lossy()], "");
    let docs = documents(&out);
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").expect("deployment");
    let probe = &pod_spec(deployment)["containers"][0]["readinessProbe"]["httpGet"];
    assert_eq!((probe["path"].as_str(), probe["port"].as_u64()), (Some("/app-health/8080/ready"), Some(9901)));
}

#[test]
fn a_workload_without_a_port_is_a_clear_error() {
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: quiet, namespace: ns}\nspec:\n  template:\n    spec: {containers: [{name: app, image: x}]}\n";
    let (ok, _, err) = inject(&[], manifest);
    assert!(!ok);
    assert!(err.contains("stdin: document 1 (Deployment ns/quiet): cannot tell which port the app serves; set the piimask.io/app-port annotation, or, for a workload that serves nothing and only calls out, piimask.io/config"), "{err}");
}

/// The stream a new user tries first: a ConfigMap (the export's piimask
/// config), a Deployment, a Service and a port-less CronJob.
#[test]
fn a_port_less_cronjob_gets_an_egress_only_sidecar_and_the_proxy_variables() {
    let input = std::fs::read_to_string(data("egress-only.yaml")).expect("input");
    let (ok, once, err) = inject(&[], &input);
    assert!(ok, "{err}");
    let docs = documents(&once);
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(kinds, ["ConfigMap", "Deployment", "Certificate", "Service", "CronJob", "Certificate"]);
    let cron = docs.iter().find(|d| d["kind"] == "CronJob").expect("the cronjob");
    let spec = pod_spec(cron);
    let s = sidecar(spec, "initContainers").expect("a native sidecar");
    assert_eq!(s["restartPolicy"], "Always", "ends with the pod: the Job completes");
    assert_eq!(
        s["args"],
        serde_json::json!(["run", "--config", "/etc/piimask/piimask.yaml", "--admin", "0.0.0.0:9901"])
    );
    assert_eq!(spec["initContainers"][1]["name"], "wait-db", "the app's own init containers follow");
    let volumes: Vec<&str> =
        spec["volumes"].as_array().expect("volumes").iter().filter_map(|v| v["name"].as_str()).collect();
    assert_eq!(volumes, ["scratch", "piimask-certs", "piimask-config"]);
    assert_eq!(spec["volumes"][2]["configMap"]["name"], "export-piimask");
    let env: Vec<(String, String)> = spec["containers"][0]["env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| (e["name"].as_str().unwrap_or("").to_string(), e["value"].as_str().unwrap_or("").to_string()))
        .collect();
    let value = |n: &str| env.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(env[0].0, "TARGET", "the app's own variables stay first");
    assert_eq!(value("HTTP_PROXY"), "http://127.0.0.1:15001");
    assert_eq!(value("http_proxy"), value("HTTP_PROXY"));
    // `.svc` would send the analytics peer (ingest.analytics.svc) around
    // the sidecar, unmasked: it is left out; the rest stays.
    assert_eq!(value("NO_PROXY"), "kubernetes.default.svc,.cluster.local,localhost,127.0.0.1");
    assert_eq!(value("no_proxy"), value("NO_PROXY"));
    // The Deployment serves a port: the usual sidecar, no proxy variables.
    let api = docs.iter().find(|d| d["kind"] == "Deployment").expect("the deployment");
    let s = sidecar(pod_spec(api), "initContainers").expect("sidecar");
    assert_eq!(s["args"][2], "$(POD_IP):8080");
    assert_eq!(pod_spec(api)["containers"][0]["env"].as_array().map(Vec::len), Some(1));
    // Untouched documents keep their bytes; injecting again changes nothing.
    let service = input.split("\n---\n").find(|d| d.contains("kind: Service")).expect("service");
    assert!(once.contains(service.trim_end()));
    let (ok, twice, err) = inject(&[], &once);
    assert!(ok, "{err}");
    assert_eq!(twice, once, "idempotent");

    // The legacy form keeps /shutdown for the Job's pod to end.
    let (ok, legacy, err) = inject(&["--legacy-sidecar"], &input);
    assert!(ok, "{err}");
    let docs = documents(&legacy);
    let cron = docs.iter().find(|d| d["kind"] == "CronJob").expect("the cronjob");
    let s = sidecar(pod_spec(cron), "containers").expect("a regular container");
    assert_eq!(s["args"].as_array().and_then(|a| a.last()).and_then(|a| a.as_str()), Some("--admin-shutdown"));
}

#[test]
fn proxy_variables_the_user_set_are_kept_and_a_config_that_cannot_work_is_refused() {
    let cron = |env: &str, config: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j, namespace: ns}}\nspec:\n  template:\n    metadata:\n      annotations: {{piimask.io/config: c}}\n    spec:\n      restartPolicy: Never\n      containers: [{{name: app, image: x{env}}}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: ns}}\ndata:\n  piimask.yaml: |\n{config}"
        )
    };
    let egress = "    tls: {cert: /c, key: /k, ca: /ca}\n    egress:\n      listen: 0.0.0.0:15009\n      peers: [{name: p, hosts: [p.example], address: 'p.example:443', identity: p.example}]\n";
    let (ok, out, err) =
        inject(&["--certs", "csi-spiffe"], &cron(", env: [{name: http_proxy, value: 'http://corp:3128'}]", egress));
    assert!(ok, "{err}");
    let job = &documents(&out)[0];
    let env = &pod_spec(job)["containers"][0]["env"];
    assert_eq!(env.as_array().map(Vec::len), Some(3), "{env}");
    assert_eq!(env[0]["value"], "http://corp:3128");
    assert_eq!(env[1]["name"], "NO_PROXY");
    assert_eq!(env[1]["value"], "kubernetes.default.svc,.svc,.cluster.local,localhost,127.0.0.1");
    let (_, out, _) = inject(&["--certs", "csi-spiffe"], &cron("", egress));
    assert_eq!(pod_spec(&documents(&out)[0])["containers"][0]["env"][0]["value"], "http://127.0.0.1:15009");

    // A file that serves (`inbound`) and calls nothing: no variables.
    let inbound = "    tls: {cert: /c, key: /k, ca: /ca}\n    inbound: {listen: '0.0.0.0:8443', routes: []}\n";
    let (ok, out, err) = inject(&["--certs", "csi-spiffe"], &cron("", inbound));
    assert!(ok, "{err}");
    assert!(pod_spec(&documents(&out)[0])["containers"][0].get("env").is_none());
    let (ok, _, err) = inject(&["--certs", "csi-spiffe"], &cron("", "    profiles: {}\n"));
    assert!(!ok);
    assert!(err.contains("ConfigMap `c` has no `egress` section"), "{err}");
    let served = cron(", ports: [{containerPort: 80}]", egress);
    let (ok, _, err) = inject(&["--certs", "csi-spiffe"], &served);
    assert!(!ok);
    assert!(err.contains("ConfigMap `c` defines the proxy"), "{err}");
}

fn uninject(args: &[&str], stdin: &str) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .arg("uninject")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn piimask");
    child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    (out.status.success(), String::from_utf8(out.stdout).expect("utf-8"), String::from_utf8(out.stderr).expect("utf-8"))
}

#[test]
fn uninject_gives_back_the_input() {
    for (file, flags) in [
        ("egress-only.yaml", &[][..]),
        ("egress-only.yaml", &["--legacy-sidecar"][..]),
        ("input.yaml", &[][..]),
        ("kinds.yaml", &["--legacy-sidecar", "--certs", "csi-spiffe"][..]),
    ] {
        let input = std::fs::read_to_string(data(file)).expect("input");
        let (ok, injected, err) = inject(flags, &input);
        assert!(ok, "{err}");
        let dir = std::env::temp_dir().join(format!("piimask-uninject-{}-{file}", std::process::id()));
        std::fs::write(&dir, &injected).expect("write");
        let (ok, back, err) = uninject(&["-f", &dir.to_string_lossy()], "");
        let _ = std::fs::remove_file(&dir);
        assert!(ok, "{err}");
        assert_eq!(documents(&back), documents(&input), "{file} {flags:?}");
        // The documents injection did not touch keep their bytes (comments too).
        for doc in input.split("\n---\n").filter(|d| d.contains("kind: Service") || d.contains("kind: ConfigMap")) {
            assert!(back.contains(doc.trim_end()), "{file}: changed:\n{doc}");
        }
        let (ok, again, _) = uninject(&[], &back);
        assert!(ok);
        assert_eq!(again, back, "uninjecting a stream with no sidecar changes nothing");
    }
    let (ok, _, err) = uninject(
        &[],
        "kind: Pod\nmetadata: {name: p, annotations: {piimask.io/injected: '[1'}}\nspec:\n  containers: [{name: piimask}, {name: app}]\n",
    );
    assert!(!ok);
    assert!(
        err.contains("stdin: document 1: the piimask.io/injected annotation is not what injection writes"),
        "{err}"
    );
}

/// Port takeover: the app keeps its port and binds it as it likes; the
/// sidecar takes the port's name, so a Service by name reaches it
/// unchanged, and a Service of the stream by number is pointed at it.
#[test]
fn port_takeover_gives_the_sidecar_the_apps_port_name_and_services_follow() {
    let input = std::fs::read_to_string(data("takeover.yaml")).expect("input");
    let (ok, once, err) = inject(&["--certs", "csi-spiffe"], &input);
    assert!(ok, "{err}");
    assert!(err.contains("warning: stdin: Deployment shop/api: port takeover") && err.contains("by name"), "{err}");
    let docs = documents(&once);
    let by_name = input.split("\n---\n").find(|d| d.contains("targetPort: http")).expect("the Service by name");
    assert!(once.contains(by_name.trim_end()), "the Service by name keeps its bytes");
    let numeric = docs.iter().find(|d| d["metadata"]["name"] == "api-metrics").expect("the Service by number");
    assert_eq!(numeric["spec"]["ports"][0]["targetPort"], 15006, "port 8080 (no targetPort) now reaches the sidecar");
    assert_eq!(numeric["spec"]["ports"][1]["targetPort"], 9090, "other ports are left alone");
    let deployment = docs.iter().find(|d| d["kind"] == "Deployment").expect("deployment");
    let spec = pod_spec(deployment);
    let app = &spec["containers"][0];
    assert_eq!(app["ports"][0], serde_json::json!({"name": "app-http", "containerPort": 8080}));
    assert_eq!(app["ports"][1]["name"], "metrics");
    assert_eq!(app["livenessProbe"]["tcpSocket"]["port"], "app-http");
    assert_eq!(app["readinessProbe"]["httpGet"]["path"], "/app-health/8080/ready");
    let s = sidecar(spec, "initContainers").expect("sidecar");
    assert_eq!(s["ports"][0], serde_json::json!({"name": "http", "containerPort": 15006, "protocol": "TCP"}));
    let args: Vec<&str> = s["args"].as_array().expect("args").iter().filter_map(|a| a.as_str()).collect();
    assert_eq!(args[1..5], ["--listen", "$(POD_IP):15006", "--upstream", "http://127.0.0.1:8080"]);
    let (ok, twice, _) = inject(&["--certs", "csi-spiffe"], &once);
    assert!(ok);
    assert_eq!(twice, once, "idempotent");
    let (ok, back, err) = uninject(&[], &once);
    assert!(ok, "{err}");
    assert_eq!(documents(&back), documents(&input));

    // A port without a name cannot be taken over by name; an unknown mode
    // is not read as the default.
    let unnamed = input.replace("{name: http, containerPort: 8080}", "{containerPort: 8080}");
    let (ok, _, err) = inject(&["--certs", "csi-spiffe"], &unnamed);
    assert!(!ok);
    assert!(err.contains("container `api`'s port 8080 has no name"), "{err}");
    let (ok, _, err) = inject(&["--certs", "csi-spiffe"], &input.replace("mode: takeover", "mode: redirect"));
    assert!(!ok);
    assert!(err.contains("piimask.io/mode `redirect`: expected `takeover`"), "{err}");
}
