//! `piimask inject`: adds the piimask sidecar to the workloads of a stream
//! of manifests (Pods, Deployments, StatefulSets, DaemonSets, ReplicaSets,
//! Jobs, CronJobs, and `List`s of them). Every other document, and every
//! workload that opts out or already has the sidecar, passes through byte
//! for byte; injecting twice changes nothing.
//!
//! The sidecar takes the port peers call on the pod's IP (`$(POD_IP):PORT`,
//! from the downward API) and forwards to the app on 127.0.0.1:PORT, so the
//! Service keeps its targetPort; the app must listen on localhost. It runs
//! as a native sidecar (an init container with `restartPolicy: Always`,
//! Kubernetes ≥ 1.29) unless asked for the older regular-container form.
//! The app's HTTP probes on that port are sent through the sidecar's admin
//! listener (`/app-health/PORT/…`), which the kubelet can reach without a
//! client certificate.
//!
//! A workload that serves nothing (no container port, no
//! `piimask.io/app-port`) and names a `piimask.io/config` ConfigMap whose
//! `piimask.yaml` has an `egress` section gets an egress-only sidecar
//! running that file (`run --config`), and its app containers get
//! `HTTP_PROXY`/`NO_PROXY` pointing at the egress listener (see
//! `proxy_env`). What injection changed that cannot be told from the
//! names it uses (app probes it rewrote, proxy variables it set) is kept
//! in the `piimask.io/injected` annotation for `piimask uninject`.

use serde_json::{Map, Value, json};

use super::certs::{IssuerRef, WorkloadCert, certificate, spiffe_id};
use super::proxy_env::{EGRESS_LISTEN, StreamConfigs, no_proxy, proxy_url, set_proxy_env};
use super::takeover::{TAKEOVER_PORT, Target, rename_app_port, rewrite_service, wants_takeover};

pub const SIDECAR: &str = "piimask";
pub const ADMIN_PORT: u16 = 9901;
pub(super) const CERT_DIR: &str = "/var/run/piimask/certs";
pub(super) const CONFIG_DIR: &str = "/etc/piimask";
/// What injection changed beyond what its names tell (JSON), for `uninject`.
pub const INJECTED: &str = "piimask.io/injected";

#[derive(Debug, thiserror::Error)]
pub enum InjectError {
    #[error("document {doc}: not YAML: {message}")]
    Parse { doc: usize, message: String },
    #[error("document {doc} ({what}): {message}")]
    Workload { doc: usize, what: String, message: String },
    #[error("writing YAML: {0}")]
    Write(#[from] serde_yaml_ng::Error),
}

#[derive(Debug, Clone)]
pub struct InjectOptions {
    pub image: String,
    /// A regular container instead of a native sidecar (clusters < 1.29).
    pub legacy_sidecar: bool,
    pub certs: CertSource,
}

impl Default for InjectOptions {
    fn default() -> InjectOptions {
        InjectOptions {
            image: "ghcr.io/piimask/piimask:0.1.0".into(),
            legacy_sidecar: false,
            certs: CertSource::CertManager { issuer: IssuerRef::default(), trust_domain: "cluster.local".into() },
        }
    }
}

/// Where the sidecar listens in front of the app: on the app's own port
/// (the app listens on localhost), or, in port takeover, on
/// `TAKEOVER_PORT` under the name of the app's port.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Front {
    listen: u16,
    app: u16,
    /// The name the sidecar's port takes (port takeover only).
    name: Option<String>,
}

/// Where the sidecar's workload certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertSource {
    /// A cert-manager Certificate per service account (its SPIFFE ID),
    /// whose Secret `SA-piimask-tls` the sidecar mounts. `inject` writes
    /// the Certificate after the workload; the webhook cannot create
    /// objects, so there the Secret must exist.
    CertManager { issuer: IssuerRef, trust_domain: String },
    /// cert-manager's csi-driver-spiffe gives each pod its own certificate
    /// for its service account, in a CSI volume: nothing to create.
    CsiSpiffe,
}

/// Injects every document of `text`; untouched documents keep their bytes.
/// Each injected workload's Certificate (one per namespace and service
/// account) follows the document that first needs it.
pub fn inject_stream(text: &str, opts: &InjectOptions) -> Result<String, InjectError> {
    inject_stream_warning(text, opts).map(|(out, _)| out)
}

/// `inject_stream`, and the warnings for the user: Services that a port
/// takeover cannot see.
pub fn inject_stream_warning(text: &str, opts: &InjectOptions) -> Result<(String, Vec<String>), InjectError> {
    let mut out = String::with_capacity(text.len() + 2048);
    let mut written = std::collections::BTreeSet::new();
    let documents = split_documents(text);
    // The piimask configs of the stream's ConfigMaps, wherever they stand:
    // what an egress-only sidecar's listener and peers are.
    // And the workloads whose port is taken over, for the Services that
    // reach them by number.
    let mut configs = StreamConfigs::default();
    let mut targets = Vec::new();
    let mut warnings = Vec::new();
    for doc in &documents {
        if let Ok(Some(v)) = serde_yaml_ng::from_str::<Option<Value>>(document_body(doc)) {
            configs.learn(&v);
            takeover_targets(&v, &mut targets, &mut warnings);
        }
    }
    for (i, doc) in documents.into_iter().enumerate() {
        let mut certificates = Vec::new();
        out.push_str(&inject_document(doc, i + 1, opts, &configs, &targets, &mut certificates)?);
        for c in certificates {
            if written.insert((c["metadata"]["namespace"].to_string(), c["metadata"]["name"].to_string())) {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str("---\n");
                out.push_str(&serde_yaml_ng::to_string(&c)?);
            }
        }
    }
    Ok((out, warnings))
}

/// The workloads of `v` (or its items) that ask for port takeover and
/// will be injected, with the port their Services must stop naming by
/// number; a warning for each about the Services the stream does not hold.
fn takeover_targets(v: &Value, targets: &mut Vec<Target>, warnings: &mut Vec<String>) {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind.ends_with("List") {
        for item in v.get("items").and_then(Value::as_array).into_iter().flatten() {
            takeover_targets(item, targets, warnings);
        }
        return;
    }
    let template = match kind {
        "Pod" => Some(v),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => v.pointer("/spec/template"),
        "CronJob" => v.pointer("/spec/jobTemplate/spec/template"),
        _ => None,
    };
    let Some(template) = template else { return };
    let meta = template.get("metadata").cloned().unwrap_or(Value::Null);
    let opted_out =
        [v.get("metadata"), Some(&meta)].into_iter().any(|m| annotation(m, "piimask.io/inject") == Some("false"));
    let Some(spec) = template.get("spec").and_then(Value::as_object) else { return };
    if opted_out || wants_takeover(&meta) != Ok(true) {
        return;
    }
    // An injected workload's app port is its sidecar's upstream (its
    // containers' first port may be the sidecar's own).
    let sidecar = ["initContainers", "containers"]
        .iter()
        .flat_map(|list| spec.get(*list).and_then(Value::as_array).into_iter().flatten())
        .find(|c| c.get("name") == Some(&json!(SIDECAR)));
    let port = match sidecar {
        Some(c) => c
            .pointer("/args/4")
            .and_then(Value::as_str)
            .and_then(|u| u.strip_prefix("http://127.0.0.1:"))
            .and_then(|p| p.parse().ok()),
        None => app_port(&meta, spec).ok().flatten(),
    };
    let Some(port) = port else { return };
    let namespace = v.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
    let name = v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?");
    warnings.push(format!(
        "{kind} {namespace}/{name}: port takeover: Services of this stream that target port {port} by number now \
         target the sidecar's port {TAKEOVER_PORT}; any other Service that does still reaches the app directly, \
         unmasked: have it target the port by name"
    ));
    let labels = meta.get("labels").and_then(Value::as_object).cloned().unwrap_or_default();
    targets.push(Target { namespace, labels, app_port: port });
}

/// The documents of a YAML stream, each with its leading `---` line (if
/// any): concatenated, they give back the input exactly.
pub(super) fn split_documents(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let is_separator = line.trim_end() == "---" || line.starts_with("--- ");
        if is_separator && offset > start {
            docs.push(&text[start..offset]);
            start = offset;
        }
        offset += line.len();
    }
    if start < text.len() {
        docs.push(&text[start..]);
    }
    docs
}

/// A document without its leading `---` line.
pub(super) fn document_body(doc: &str) -> &str {
    doc.strip_prefix("---").map_or(doc, |rest| rest.split_once('\n').map_or("", |(_, b)| b))
}

fn inject_document(
    doc: &str,
    n: usize,
    opts: &InjectOptions,
    configs: &StreamConfigs,
    targets: &[Target],
    certificates: &mut Vec<Value>,
) -> Result<String, InjectError> {
    let body = document_body(doc);
    let value: Value = match serde_yaml_ng::from_str::<Option<Value>>(body) {
        Ok(Some(v)) => v,
        Ok(None) => return Ok(doc.to_string()),
        Err(e) => return Err(InjectError::Parse { doc: n, message: e.to_string() }),
    };
    let mut value = value;
    let service = rewrite_service(&mut value, targets);
    if !service && !inject_object(&mut value, n, opts, Some(configs), Some(certificates))? {
        return Ok(doc.to_string());
    }
    let head = if doc.starts_with("---") { "---\n" } else { "" };
    Ok(format!("{head}{}", serde_yaml_ng::to_string(&value)?))
}

/// Injects one object (a workload, or a `List` of them) in place; `true`
/// if it changed. What the admission webhook calls for each Pod (it
/// writes no Certificates, and sees no ConfigMap).
pub fn inject_value(v: &mut Value, opts: &InjectOptions) -> Result<bool, InjectError> {
    inject_object(v, 1, opts, None, None)
}

/// Injects an object (or a `List`'s items); `true` if anything changed.
/// The Certificates the injected workloads need go to `certificates`;
/// `configs` are the stream's piimask ConfigMaps (`None`: none can be seen).
fn inject_object(
    v: &mut Value,
    n: usize,
    opts: &InjectOptions,
    configs: Option<&StreamConfigs>,
    mut certificates: Option<&mut Vec<Value>>,
) -> Result<bool, InjectError> {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
    if kind.ends_with("List") {
        let mut changed = false;
        for item in v.get_mut("items").and_then(Value::as_array_mut).into_iter().flatten() {
            changed |= inject_object(item, n, opts, configs, certificates.as_deref_mut())?;
        }
        return Ok(changed);
    }
    let what = format!(
        "{kind} {}/{}",
        v.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default"),
        v.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?")
    );
    let namespace = v.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string);
    let object_opt_out = annotation(v.pointer("/metadata"), "piimask.io/inject") == Some("false");
    let template = match kind.as_str() {
        "Pod" => Some(&mut *v),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => v.pointer_mut("/spec/template"),
        "CronJob" => v.pointer_mut("/spec/jobTemplate/spec/template"),
        _ => return Ok(false),
    };
    let Some(template) = template else { return Ok(false) };
    if object_opt_out || annotation(template.get("metadata"), "piimask.io/inject") == Some("false") {
        return Ok(false);
    }
    let err = |message: String| InjectError::Workload { doc: n, what: what.clone(), message };
    let meta = template.get("metadata").cloned().unwrap_or(Value::Null);
    let spec = template.get_mut("spec").and_then(Value::as_object_mut).ok_or_else(|| err("no pod spec".into()))?;
    let has_sidecar = ["initContainers", "containers"].iter().any(|list| {
        spec.get(*list)
            .and_then(Value::as_array)
            .is_some_and(|cs| cs.iter().any(|c| c.get("name") == Some(&json!(SIDECAR))))
    });
    if has_sidecar {
        return Ok(false);
    }
    // Two volumes of one name are refused by the API server, or worse,
    // the sidecar would mount the pod's own volume as its certificates.
    let wanted = ["piimask-certs", "piimask-config"];
    let wanted = if annotation(Some(&meta), "piimask.io/config").is_some() { &wanted[..] } else { &wanted[..1] };
    let existing = spec.get("volumes").and_then(Value::as_array).into_iter().flatten();
    if let Some(name) = existing.filter_map(|v| v.get("name").and_then(Value::as_str)).find(|n| wanted.contains(n)) {
        return Err(err(format!("the pod already has a volume named `{name}`, which the sidecar mounts; rename it")));
    }
    let port = app_port(&meta, spec).map_err(err)?;
    let takeover = wants_takeover(&meta).map_err(err)?;
    if takeover && port.is_none() {
        return Err(err("port takeover (piimask.io/mode: takeover) needs a port the app serves".into()));
    }
    let config = annotation(Some(&meta), "piimask.io/config");
    let seen = config.zip(configs).and_then(|(c, configs)| configs.get(namespace.as_deref().unwrap_or("default"), c));
    let mut record = Map::new();
    match (port, config) {
        (None, None) => {
            return Err(err("cannot tell which port the app serves; set the piimask.io/app-port annotation, or, for \
                 a workload that serves nothing and only calls out, piimask.io/config naming a ConfigMap whose \
                 piimask.yaml has an `egress` section (it gets an egress-only sidecar)"
                .into()));
        }
        (Some(p), Some(c)) if seen.is_some_and(|s| s.inbound || s.egress_listen.is_some()) => {
            return Err(err(format!(
                "ConfigMap `{c}` defines the proxy (`inbound` or `egress`), which the sidecar for port {p} refuses \
                 beside its listener flags: keep only `keys` and `profiles` in it"
            )));
        }
        (None, Some(c)) if seen.is_some_and(|s| s.egress_listen.is_none() && !s.inbound) => {
            return Err(err(format!(
                "the app serves no port and ConfigMap `{c}` has no `egress` section: the sidecar would have nothing \
                 to do; add the egress peers, or set piimask.io/app-port"
            )));
        }
        // A file with `inbound` and no `egress`: no listener to point at.
        (None, Some(_)) if seen.is_some_and(|s| s.egress_listen.is_none()) => {}
        (None, Some(_)) => {
            let listen = seen.and_then(|s| s.egress_listen.as_deref()).unwrap_or(EGRESS_LISTEN);
            let hosts = seen.map(|s| s.peer_hosts.as_slice());
            let containers = spec.get_mut("containers").and_then(Value::as_array_mut);
            let set = set_proxy_env(
                containers.map(Vec::as_mut_slice).unwrap_or(&mut []),
                &proxy_url(listen),
                &no_proxy(hosts),
            );
            if !set.is_empty() {
                record.insert("env".into(), set.into_iter().map(|(c, names)| (c, json!(names))).collect());
            }
        }
        (Some(_), _) => {}
    }
    let mut front = port.map(|p| Front { listen: p, app: p, name: None });
    if let Some(port) = port {
        let probes = rewrite_app_probes(spec, port);
        if !probes.is_empty() {
            record.insert("probes".into(), json!(probes));
        }
        if takeover {
            let (name, renamed) = rename_app_port(spec, port).map_err(err)?;
            record.insert("takeover".into(), renamed);
            front = Some(Front { listen: TAKEOVER_PORT, app: port, name: Some(name) });
        }
    }
    let sidecar = sidecar_container(&meta, front.as_ref(), opts, kind == "Job" || kind == "CronJob");
    let list = if opts.legacy_sidecar { "containers" } else { "initContainers" };
    let containers = spec.entry(list).or_insert_with(|| json!([]));
    if let Some(cs) = containers.as_array_mut() {
        cs.insert(0, sidecar);
    }
    let service_account = spec.get("serviceAccountName").and_then(Value::as_str).unwrap_or("default").to_string();
    let own_secret = annotation(Some(&meta), "piimask.io/cert-secret");
    let certs_volume = match (own_secret, &opts.certs) {
        (Some(secret), _) => json!({"name": "piimask-certs", "secret": {"secretName": secret}}),
        (None, CertSource::CsiSpiffe) => {
            json!({"name": "piimask-certs", "csi": {"driver": "spiffe.csi.cert-manager.io", "readOnly": true}})
        }
        (None, CertSource::CertManager { issuer, trust_domain }) => {
            let secret = format!("{service_account}-piimask-tls");
            if let Some(certificates) = certificates {
                let ns = namespace.as_deref().ok_or_else(|| {
                    err("no metadata.namespace: its certificate's SPIFFE ID names the namespace; set it, \
                         or use --certs csi-spiffe"
                        .into())
                })?;
                let id = spiffe_id(trust_domain, ns, &service_account);
                certificates.push(certificate(&WorkloadCert {
                    metadata: json!({"name": format!("{service_account}-piimask"), "namespace": ns,
                        "labels": {"app.kubernetes.io/managed-by": "piimask"}}),
                    secret: &secret,
                    spiffe_id: &id,
                    dns_names: &[],
                    issuer,
                }));
            }
            json!({"name": "piimask-certs", "secret": {"secretName": secret}})
        }
    };
    let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
    if let Some(vs) = volumes.as_array_mut() {
        vs.push(certs_volume);
        if let Some(config) = annotation(Some(&meta), "piimask.io/config") {
            vs.push(json!({"name": "piimask-config", "configMap": {"name": config}}));
        }
    }
    if !record.is_empty() {
        let meta = template.as_object_mut().map(|t| t.entry("metadata").or_insert_with(|| json!({})));
        let annotations =
            meta.and_then(Value::as_object_mut).map(|m| m.entry("annotations").or_insert_with(|| json!({})));
        if let Some(a) = annotations.and_then(Value::as_object_mut) {
            a.insert(INJECTED.into(), json!(Value::Object(record).to_string()));
        }
    }
    Ok(true)
}

fn annotation<'a>(meta: Option<&'a Value>, key: &str) -> Option<&'a str> {
    meta?.get("annotations")?.get(key)?.as_str()
}

/// The port the app serves: the `piimask.io/app-port` annotation, else the
/// first container's first port; `None` when no container has a port.
fn app_port(meta: &Value, spec: &Map<String, Value>) -> Result<Option<u16>, String> {
    if let Some(p) = annotation(Some(meta), "piimask.io/app-port") {
        return p.parse().map(Some).map_err(|_| format!("piimask.io/app-port `{p}` is not a port number"));
    }
    let containers = spec.get("containers").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let ports = |c: &Value| c.get("ports").and_then(Value::as_array).is_some_and(|p| !p.is_empty());
    if !containers.iter().any(ports) {
        return Ok(None);
    }
    containers
        .first()
        .and_then(|c| c.get("ports"))
        .and_then(|p| p.get(0))
        .and_then(|p| p.get("containerPort"))
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .map(Some)
        .ok_or_else(|| "cannot tell which port the app serves; set the piimask.io/app-port annotation".to_string())
}

/// The sidecar for the app's `port`, or, with none, the egress-only one,
/// which runs the `piimask.io/config` file (its `egress` section).
fn sidecar_container(meta: &Value, front: Option<&Front>, opts: &InjectOptions, job: bool) -> Value {
    let port = front.map(|f| f.app);
    let mut args = match front {
        Some(front) => listener_args(meta, front),
        None => ["run", "--config", &format!("{CONFIG_DIR}/piimask.yaml"), "--admin", &format!("0.0.0.0:{ADMIN_PORT}")]
            .iter()
            .map(|s| s.to_string())
            .collect(),
    };
    let mut mounts = vec![json!({"name": "piimask-certs", "mountPath": CERT_DIR, "readOnly": true})];
    if annotation(Some(meta), "piimask.io/config").is_some() {
        if port.is_some() {
            args.extend(["--config".to_string(), format!("{CONFIG_DIR}/piimask.yaml")]);
        }
        mounts.push(json!({"name": "piimask-config", "mountPath": CONFIG_DIR, "readOnly": true}));
    }
    let mut c = sidecar_container_rest(args, mounts, opts, job);
    if let (Some(Front { listen, name: Some(name), .. }), Some(ports)) =
        (front, c.get_mut("ports").and_then(Value::as_array_mut))
    {
        ports.insert(0, json!({"name": name, "containerPort": listen, "protocol": "TCP"}));
    }
    c
}

/// `run`'s listener flags in front of the app and for the pod's annotations.
fn listener_args(meta: &Value, front: &Front) -> Vec<String> {
    let (listen, port) = (front.listen, front.app);
    let mut args: Vec<String> = [
        "run",
        "--listen",
        &format!("$(POD_IP):{listen}"),
        "--upstream",
        &format!("http://127.0.0.1:{port}"),
        "--cert",
        &format!("{CERT_DIR}/tls.crt"),
        "--key",
        &format!("{CERT_DIR}/tls.key"),
        "--client-ca",
        &format!("{CERT_DIR}/ca.crt"),
        "--admin",
        &format!("0.0.0.0:{ADMIN_PORT}"),
        "--app-health-port",
        &port.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for peer in annotation(Some(meta), "piimask.io/allow-peers").into_iter().flat_map(|p| p.split(',')) {
        args.extend(["--allow-peer".to_string(), peer.trim().to_string()]);
    }
    args
}

fn sidecar_container_rest(mut args: Vec<String>, mounts: Vec<Value>, opts: &InjectOptions, job: bool) -> Value {
    if opts.legacy_sidecar && job {
        // A Job's pod ends when its containers do: the app stops the
        // sidecar with POST /shutdown on the admin port when it is done.
        args.push("--admin-shutdown".into());
    }
    let mut c = json!({
        "name": SIDECAR,
        "image": opts.image,
        "args": args,
        "env": [{"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "ports": [{"name": "piimask-admin", "containerPort": ADMIN_PORT, "protocol": "TCP"}],
        "startupProbe": admin_probe("/readyz", 1, 30),
        "readinessProbe": admin_probe("/readyz", 5, 3),
        "livenessProbe": admin_probe("/healthz", 10, 3),
        "resources": {"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "securityContext": hardened_security_context(),
        "volumeMounts": mounts
    });
    if let Some(obj) = c.as_object_mut() {
        if opts.legacy_sidecar {
            // The kubelet starts the next container (the app) only once
            // this hook returns: the app never runs before its proxy.
            let wait = ["/piimask", "wait-ready", "--admin", &format!("127.0.0.1:{ADMIN_PORT}")];
            obj.insert("lifecycle".into(), json!({"postStart": {"exec": {"command": wait}}}));
        } else {
            obj.insert("restartPolicy".into(), json!("Always"));
        }
    }
    c
}

/// A probe on piimask's admin listener (plain HTTP, no client certificate).
pub(super) fn admin_probe(path: &str, period: u32, failures: u32) -> Value {
    json!({"httpGet": {"path": path, "port": ADMIN_PORT}, "periodSeconds": period, "failureThreshold": failures})
}

/// Every piimask container's securityContext: non-root, read-only root
/// filesystem, no privilege escalation, no capabilities, the runtime's
/// default seccomp profile.
pub(super) fn hardened_security_context() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "readOnlyRootFilesystem": true,
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"}
    })
}

/// The app's HTTP probes on the port the sidecar now takes would meet mTLS:
/// they go through the admin listener's `/app-health/PORT/…` instead.
/// Returns the probes it rewrote as they were (container, probe, httpGet).
fn rewrite_app_probes(spec: &mut Map<String, Value>, port: u16) -> Vec<Value> {
    let mut rewritten = Vec::new();
    for c in spec.get_mut("containers").and_then(Value::as_array_mut).into_iter().flatten() {
        let container = c.get("name").cloned().unwrap_or(Value::Null);
        // Named probe ports resolve on the container's own ports.
        let named: Vec<(String, u64)> = c
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|p| Some((p.get("name")?.as_str()?.to_string(), p.get("containerPort")?.as_u64()?)))
            .collect();
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            let Some(get) = c.get_mut(probe).and_then(|p| p.get_mut("httpGet")) else { continue };
            let targets_app = match get.get("port") {
                Some(Value::Number(n)) => n.as_u64() == Some(u64::from(port)),
                Some(Value::String(name)) => named.iter().any(|(n, p)| n == name && *p == u64::from(port)),
                _ => false,
            };
            if targets_app {
                rewritten.push(json!({"container": container, "probe": probe, "httpGet": get.clone()}));
                let path = get.get("path").and_then(Value::as_str).unwrap_or("/").trim_start_matches('/').to_string();
                get["path"] = json!(format!("/app-health/{port}/{path}"));
                get["port"] = json!(ADMIN_PORT);
                if let Some(obj) = get.as_object_mut() {
                    obj.remove("scheme");
                }
            }
        }
    }
    rewritten
}

/// Why a pod's networking escapes NetworkPolicies: `hostNetwork: true`,
/// or a container taking a port on the node (`hostPort`). `None` when
/// neither.
pub fn host_networking(pod: &Value) -> Option<String> {
    let spec = pod.get("spec")?;
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        return Some("it uses the node's network (hostNetwork: true), where NetworkPolicies do not apply".into());
    }
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for c in spec.get(list).and_then(Value::as_array).into_iter().flatten() {
            for p in c.get("ports").and_then(Value::as_array).into_iter().flatten() {
                if let Some(port) = p.get("hostPort").and_then(Value::as_u64).filter(|&p| p != 0) {
                    let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
                    return Some(format!(
                        "container `{name}` takes port {port} on the node (hostPort), which NetworkPolicies do not guard"
                    ));
                }
            }
        }
    }
    None
}

/// Why `pod` does not run the sidecar piimask injects with `opts` (or
/// one of `images`, for sidecars injected from a private registry), or
/// `None` when it does: named `piimask`, first among the init containers
/// as a native sidecar or first among the containers (the older form),
/// the expected image, the image's own entrypoint, the `run` arguments
/// injection writes for its port and the pod's annotations, `POD_IP` from
/// the downward API and the certificates mounted. Fields the API server
/// defaults are not compared.
pub fn sidecar_problem(pod: &Value, opts: &InjectOptions, images: &[String]) -> Option<String> {
    let meta = pod.get("metadata").cloned().unwrap_or(Value::Null);
    if annotation(Some(&meta), "piimask.io/inject") == Some("false") {
        return Some("it opts out of the sidecar (piimask.io/inject: \"false\")".into());
    }
    let spec = pod.get("spec").and_then(Value::as_object);
    let first = |list: &str| spec.and_then(|s| s.get(list)).and_then(|cs| cs.get(0));
    let named = |c: &&Value| c.get("name").and_then(Value::as_str) == Some(SIDECAR);
    let native = first("initContainers").filter(named);
    let legacy = first("containers").filter(named);
    let (sidecar, native) = match (native, legacy) {
        (Some(c), _) => (c, true),
        (None, Some(c)) => (c, false),
        (None, None) => {
            let anywhere = ["initContainers", "containers"].iter().any(|list| {
                spec.and_then(|s| s.get(*list)).and_then(Value::as_array).is_some_and(|cs| cs.iter().any(|c| named(&c)))
            });
            return Some(if anywhere {
                format!(
                    "its container `{SIDECAR}` is not first among the init containers (a native sidecar) nor \
                     first among the containers, where piimask injects its sidecar"
                )
            } else {
                "it has no piimask sidecar (the namespace is not labelled piimask.io/inject=enabled, or the pod \
                 could not be injected: see the injector's warning; piimask.io/app-port names the app's port)"
                    .into()
            });
        }
    };
    let lookalike = |why: String| Some(format!("its container `{SIDECAR}` is not the sidecar piimask injects: {why}"));
    let image = sidecar.get("image").and_then(Value::as_str).unwrap_or("");
    if image != opts.image && !images.iter().any(|i| i == image) {
        return lookalike(format!("image `{image}` is not the sidecar image `{}`", opts.image));
    }
    if sidecar.get("command").is_some_and(|c| !c.is_null()) {
        return lookalike("it replaces the image's command".into());
    }
    if native && sidecar.get("restartPolicy").and_then(Value::as_str) != Some("Always") {
        return lookalike("as an init container it must have restartPolicy: Always (a native sidecar)".into());
    }
    let args: Vec<&str> =
        sidecar.get("args").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    // `run --listen $(POD_IP):PORT …` in front of the app's port, or
    // `run --config …` alone: the egress-only sidecar.
    let front = match args.get(1) {
        Some(&"--listen") => {
            let port = args.get(2).and_then(|l| l.strip_prefix("$(POD_IP):")).and_then(|p| p.parse::<u16>().ok());
            let Some(port) = port else {
                return lookalike(
                    "its arguments are not `run --listen $(POD_IP):PORT …` as injection writes them".into(),
                );
            };
            // In port takeover the sidecar listens on its own port and
            // the app's is the upstream's.
            match wants_takeover(&meta) {
                Ok(false) => Some(Front { listen: port, app: port, name: None }),
                Ok(true) => {
                    let app =
                        args.get(4).and_then(|u| u.strip_prefix("http://127.0.0.1:")).and_then(|p| p.parse().ok());
                    let Some(app) = app else {
                        return lookalike("its arguments do not name the app's port as injection writes them".into());
                    };
                    Some(Front { listen: TAKEOVER_PORT, app, name: None })
                }
                Err(why) => return lookalike(why),
            }
        }
        Some(&"--config") => {
            if annotation(Some(&meta), "piimask.io/config").is_none() {
                return lookalike(
                    "it runs as an egress-only sidecar (`run --config …`) but the pod names no piimask.io/config"
                        .into(),
                );
            }
            None
        }
        _ => {
            return lookalike(
                "its arguments are not `run --listen $(POD_IP):PORT …` nor `run --config …` as injection writes them"
                    .into(),
            );
        }
    };
    let port = front.as_ref().map(|f| f.app);
    let expected = sidecar_container(&meta, front.as_ref(), opts, false);
    let expected: Vec<&str> = expected["args"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    let shutdown_form = !native && args.len() == expected.len() + 1 && args.last() == Some(&"--admin-shutdown");
    if args != expected && !(shutdown_form && args[..expected.len()] == expected[..]) {
        return lookalike(format!(
            "its arguments differ from those injection writes for {} and the pod's piimask.io annotations",
            port.map_or("an egress-only sidecar".to_string(), |p| format!("port {p}"))
        ));
    }
    let env = sidecar.get("env").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let pod_ip = |e: &Value| {
        e.get("name").and_then(Value::as_str) == Some("POD_IP")
            && e.pointer("/valueFrom/fieldRef/fieldPath").and_then(Value::as_str) == Some("status.podIP")
    };
    if env.len() != 1 || !pod_ip(&env[0]) {
        return lookalike("its environment is not POD_IP from status.podIP".into());
    }
    let mounts_certs = sidecar.get("volumeMounts").and_then(Value::as_array).into_iter().flatten().any(|m| {
        m.get("name").and_then(Value::as_str) == Some("piimask-certs")
            && m.get("mountPath").and_then(Value::as_str) == Some(CERT_DIR)
    });
    if !mounts_certs {
        return lookalike(format!("it does not mount its certificates (`piimask-certs` at {CERT_DIR})"));
    }
    None
}
