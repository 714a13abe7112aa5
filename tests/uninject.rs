//! `uninject(inject(x))` equals `x` as parsed objects, documents in order,
//! for generated streams: Deployments, StatefulSets, Jobs, CronJobs and
//! Pods with and without ports, probes on the app's port (by number or
//! name, with and without path and scheme), their own env (proxy
//! variables included), volumes and init containers, template metadata or
//! none, port takeover with Services by number, ConfigMaps and Services
//! between them; both sidecar forms and both certificate sources.
//! Injection also changes every workload it is given, injecting twice
//! changes nothing, and the admission guard accepts every sidecar
//! injection writes (in front of the port, taking it over, egress-only).

use piimask::k8s::inject::{CertSource, InjectOptions, inject_stream};
use piimask::k8s::uninject::uninject_stream;
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{Value, json};

const KINDS: [&str; 5] = ["Deployment", "StatefulSet", "Job", "CronJob", "Pod"];

fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(yaml).map(|d| Value::deserialize(d).expect("YAML")).collect()
}

#[derive(Debug, Clone)]
struct Shape {
    kind: usize,
    port: Option<(u16, bool)>,
    probes: Vec<(usize, bool, Option<String>, bool)>,
    env: Vec<usize>,
    volumes: usize,
    init: usize,
    annotations: Option<bool>,
    config_in_stream: bool,
    sa: Option<usize>,
    /// Port takeover (with a named port), and a Service by number beside it.
    takeover: bool,
    service: bool,
}

const ENV: [&str; 5] = ["MODE", "HTTP_PROXY", "no_proxy", "TARGET", "http_proxy"];
const PROBES: [&str; 3] = ["startupProbe", "readinessProbe", "livenessProbe"];

fn shape() -> impl Strategy<Value = Shape> {
    (
        0..KINDS.len(),
        prop::option::of((1024u16..9000, any::<bool>())),
        prop::collection::vec((0..3usize, any::<bool>(), prop::option::of("/[a-z]{0,6}"), any::<bool>()), 0..3),
        prop::collection::vec(0..ENV.len(), 0..3),
        0..3usize,
        0..3usize,
        prop::option::of(any::<bool>()),
        any::<bool>(),
        prop::option::of(0..2usize),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(kind, port, probes, env, volumes, init, annotations, config_in_stream, sa, takeover, service)| Shape {
                kind,
                port,
                probes,
                env,
                volumes,
                init,
                annotations,
                config_in_stream,
                sa,
                takeover,
                service,
            },
        )
}

/// The workload (and its config when it has none of its own) as a user
/// writes them.
fn workload(i: usize, s: &Shape) -> Vec<Value> {
    let mut app = json!({"name": "app", "image": "example/app:1"});
    if let Some((port, named)) = s.port {
        app["ports"] =
            if named { json!([{"name": "http", "containerPort": port}]) } else { json!([{"containerPort": port}]) };
        for (probe, by_name, path, scheme) in &s.probes {
            let mut get = json!({"port": if *by_name && named { json!("http") } else { json!(port) }});
            if let Some(path) = path {
                get["path"] = json!(path);
            }
            if *scheme {
                get["scheme"] = json!("HTTP");
            }
            app[PROBES[*probe]] = json!({"httpGet": get, "periodSeconds": 5});
        }
    }
    let mut env: Vec<&str> = s.env.iter().map(|e| ENV[*e]).collect();
    env.dedup();
    if !env.is_empty() {
        app["env"] = env.iter().map(|n| json!({"name": n, "value": "v"})).collect();
    }
    let mut spec = json!({"containers": [app]});
    if s.volumes > 0 {
        spec["volumes"] = (0..s.volumes).map(|v| json!({"name": format!("data{v}"), "emptyDir": {}})).collect();
    }
    if s.init > 0 {
        spec["initContainers"] = (0..s.init).map(|c| json!({"name": format!("init{c}"), "image": "busybox"})).collect();
    }
    if let Some(sa) = s.sa {
        spec["serviceAccountName"] = json!(format!("sa{sa}"));
    }
    if KINDS[s.kind] == "Job" || KINDS[s.kind] == "CronJob" {
        spec["restartPolicy"] = json!("Never");
    }
    // A workload that serves nothing needs its egress config.
    let config = format!("cfg{i}");
    let mut annotations = match s.annotations {
        None => None,
        Some(false) => Some(json!({"team": "shop"})),
        Some(true) => Some(json!({"team": "shop", "piimask.io/allow-peers": "spiffe://cluster.local/ns/x/sa/y"})),
    };
    if s.port.is_none() {
        annotations.get_or_insert_with(|| json!({}))["piimask.io/config"] = json!(config);
    }
    let takeover = s.takeover && s.port.is_some_and(|(_, named)| named);
    if takeover {
        annotations.get_or_insert_with(|| json!({}))["piimask.io/mode"] = json!("takeover");
    }
    let mut template = json!({"spec": spec});
    let labels = json!({"app": format!("w{i}")});
    match (&annotations, KINDS[s.kind]) {
        (Some(a), _) => template["metadata"] = json!({"labels": labels, "annotations": a}),
        (None, "Job" | "CronJob") => {}
        (None, _) => template["metadata"] = json!({"labels": labels}),
    }
    let meta = json!({"name": format!("w{i}"), "namespace": "shop"});
    let object = match KINDS[s.kind] {
        "Pod" => {
            let mut m = meta.clone();
            m["labels"] = labels;
            if let Some(a) = annotations {
                m["annotations"] = a;
            }
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": m, "spec": template["spec"]})
        }
        "CronJob" => json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
            "spec": {"schedule": "0 1 * * *", "jobTemplate": {"spec": {"template": template}}}}),
        "Job" => json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": {"template": template}}),
        kind => json!({"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
            "spec": {"selector": {"matchLabels": labels}, "template": template}}),
    };
    let mut docs = Vec::new();
    if let (Some((port, _)), true) = (s.port, s.service) {
        docs.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("w{i}"), "namespace": "shop"},
            "spec": {"selector": {"app": format!("w{i}")}, "ports": [{"port": 80, "targetPort": port}, {"port": port}]}}));
    }
    docs.push(object);
    if s.port.is_none() && s.config_in_stream {
        let file = "tls: {cert: /c, key: /k, ca: /a}\negress:\n  peers: [{name: p, hosts: [p.p.svc], address: 'p.p.svc:8443', identity: p.example}]\n";
        docs.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": config, "namespace": "shop"},
            "data": {"piimask.yaml": file}}));
    }
    docs
}

fn stream(docs: &[Value]) -> String {
    docs.iter().map(|d| format!("---\n{}", serde_yaml_ng::to_string(d).expect("YAML"))).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn uninject_gives_back_what_inject_was_given(
        shapes in prop::collection::vec(shape(), 1..5),
        service_first in any::<bool>(),
        legacy in any::<bool>(),
        csi in any::<bool>(),
    ) {
        let mut docs = Vec::new();
        if service_first {
            docs.push(json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "shop"},
                "spec": {"selector": {"app": "w0"}, "ports": [{"port": 80, "targetPort": "http"}]}}));
        }
        for (i, s) in shapes.iter().enumerate() {
            docs.extend(workload(i, s));
        }
        let input = stream(&docs);
        let certs = if csi {
            CertSource::CsiSpiffe
        } else {
            InjectOptions::default().certs
        };
        let opts = InjectOptions { legacy_sidecar: legacy, certs, ..InjectOptions::default() };
        let injected = inject_stream(&input, &opts).expect("inject");
        let injected_docs = documents(&injected);
        for (before, after) in docs.iter().zip(injected_docs.iter().filter(|d| d["kind"] != "Certificate")) {
            if !matches!(before["kind"].as_str(), Some("Service" | "ConfigMap")) {
                prop_assert_ne!(before, after, "every workload is injected");
            }
            // A Service by number reaches a taken-over app through the sidecar.
            if before["kind"] == "Service" && before["metadata"]["name"] != "s" {
                let i: usize = before["metadata"]["name"].as_str().unwrap_or("w0")[1..].parse().unwrap_or(0);
                let taken_over = shapes[i].takeover && shapes[i].port.is_some_and(|(_, named)| named);
                let expected = if taken_over { json!(15006) } else { before["spec"]["ports"][0]["targetPort"].clone() };
                prop_assert_eq!(&after["spec"]["ports"][0]["targetPort"], &expected);
            }
        }
        prop_assert_eq!(inject_stream(&injected, &opts).expect("inject again"), injected.clone(), "idempotent");
        let back = uninject_stream(&injected).expect("uninject");
        prop_assert_eq!(documents(&back), docs);
    }
}

/// The pod a workload's controller would create from an injected template.
fn pod_of(doc: &Value) -> Option<Value> {
    let template = match doc["kind"].as_str()? {
        "Pod" => doc.clone(),
        "CronJob" => doc["spec"]["jobTemplate"]["spec"]["template"].clone(),
        "Deployment" | "StatefulSet" | "Job" => doc["spec"]["template"].clone(),
        _ => return None,
    };
    let mut meta = template.get("metadata").cloned().unwrap_or_else(|| json!({}));
    meta["labels"]["piimask.io/pii"] = json!("true");
    Some(json!({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": template["spec"]}))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The admission guard admits (as far as the sidecar goes) every pod
    /// injection writes, in every shape: in front of the app's port,
    /// taking over its named port, egress-only; native and legacy.
    #[test]
    fn the_guard_accepts_every_sidecar_injection_writes(
        shapes in prop::collection::vec(shape(), 1..4),
        legacy in any::<bool>(),
    ) {
        use piimask::k8s::webhook::{Guard, validation};
        let docs: Vec<Value> = shapes.iter().enumerate().flat_map(|(i, s)| workload(i, s)).collect();
        let opts = InjectOptions { legacy_sidecar: legacy, certs: CertSource::CsiSpiffe, ..InjectOptions::default() };
        let injected = inject_stream(&stream(&docs), &opts).expect("inject");
        let guard = Guard { sidecar: opts, ..Guard::default() };
        for pod in documents(&injected).iter().filter_map(pod_of) {
            let review = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": "u", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "operation": "CREATE", "namespace": "shop", "object": pod}});
            let v = validation(review.to_string().as_bytes(), &guard).expect("a review");
            let answer = v.answer(Err("unused".into()), &guard);
            prop_assert_eq!(v.check_namespace.as_deref(), Some("shop"), "{}", answer);
        }
    }
}
