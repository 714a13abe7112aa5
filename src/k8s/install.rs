//! `piimask install`: the cluster-side manifests, in the style of
//! `linkerd install | kubectl apply -f -`. The injector: its namespace,
//! service account and RBAC (read namespaces, NetworkPolicies and admin
//! network policies, for the validating check), Deployment, Service, PodDisruptionBudget, serving certificate
//! from cert-manager, the mutating and validating webhook configurations,
//! and NetworkPolicies for its own namespace. With a gateway: a piimask
//! Deployment in front of legacy services, with its config, workload
//! certificate (a SPIFFE ID from cert-manager), Service, PDB and the
//! NetworkPolicies `netpol generate` writes for its config.
//!
//! What varies comes from a values file (`Values`, every field optional)
//! and flags over it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Value, json};

use super::certs::{IssuerRef, WorkloadCert, certificate, spiffe_id};
use super::generate::{GenerateError, Sidecar, Workload, default_deny, dns_egress, network_policies};
use super::inject::{ADMIN_PORT, CERT_DIR, CONFIG_DIR, admin_probe, hardened_security_context};
use super::netpol::PiiLabel;

const WEBHOOK: &str = "piimask-webhook";
const DEFAULT_IMAGE: &str = "ghcr.io/piimask/piimask:0.1.0";

/// Everything `install` can be told. Field names are the values file's.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Values {
    /// The injector's namespace.
    pub namespace: String,
    /// The piimask image, for the injector, the sidecars it injects and
    /// the gateway.
    pub image: String,
    pub webhook: WebhookValues,
    pub mesh_ca: MeshCaValues,
    /// Read with `--gateway`.
    pub gateway: GatewayValues,
}

/// The CA that signs workload certificates: a cert-manager ClusterIssuer
/// backed by a CA certificate cert-manager makes itself. Turn `create` off
/// to use an issuer of your own (name it in `gateway.issuer` and
/// `piimask inject --issuer`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeshCaValues {
    pub create: bool,
    /// The ClusterIssuer's name.
    pub name: String,
    /// cert-manager's own namespace, where a ClusterIssuer's CA Secret lives.
    pub cert_manager_namespace: String,
}

impl Default for MeshCaValues {
    fn default() -> MeshCaValues {
        MeshCaValues { create: true, name: IssuerRef::default().name, cert_manager_namespace: "cert-manager".into() }
    }
}

impl Default for Values {
    fn default() -> Values {
        Values {
            namespace: "piimask-system".into(),
            image: DEFAULT_IMAGE.into(),
            webhook: WebhookValues::default(),
            mesh_ca: MeshCaValues::default(),
            gateway: GatewayValues::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookValues {
    /// `false` renders only the gateway (the injector is installed already).
    pub enabled: bool,
    pub replicas: u32,
    /// What the API server does when the webhook cannot answer.
    pub failure_policy: FailurePolicy,
    pub timeout_seconds: u32,
    /// Inject regular containers instead of native sidecars (< 1.29).
    pub legacy_sidecar: bool,
    /// Where injected sidecars get their certificate.
    pub certs: WebhookCerts,
    /// The pod label marking workloads that hold PII.
    pub pii_label: String,
    /// The API server's address range, to narrow the webhook's egress;
    /// unset, it may reach any address on 443 and 6443.
    pub api_server_cidr: Option<String>,
    /// External address ranges PII pods may reach and be reached from
    /// (`--allowed-cidr`); anything else external is a hole the guard refuses.
    pub allowed_cidrs: Vec<String>,
    /// Namespaces whose pods may opt out of the sidecar though they, or
    /// the namespace, are labelled as holding PII (`--allow-opt-out`).
    pub allow_opt_out: Vec<String>,
    pub resources: Resources,
}

impl Default for WebhookValues {
    fn default() -> WebhookValues {
        WebhookValues {
            enabled: true,
            replicas: 2,
            failure_policy: FailurePolicy::Fail,
            timeout_seconds: 5,
            legacy_sidecar: false,
            certs: WebhookCerts::CsiSpiffe,
            pii_label: "piimask.io/pii=true".into(),
            api_server_cidr: None,
            allowed_cidrs: Vec::new(),
            allow_opt_out: Vec::new(),
            resources: Resources::sized("20m", "24Mi", "64Mi"),
        }
    }
}

/// The webhook's `--certs`: the webhook cannot create Certificates, so
/// with `cert-manager` each service account's Secret must exist.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookCerts {
    CsiSpiffe,
    CertManager,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
pub enum FailurePolicy {
    Fail,
    Ignore,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayValues {
    pub name: String,
    pub namespace: String,
    pub replicas: u32,
    /// The cert-manager issuer of the gateway's workload certificate.
    pub issuer: IssuerRef,
    /// The SPIFFE trust domain of its identity.
    pub trust_domain: String,
    pub resources: Resources,
}

impl Default for GatewayValues {
    fn default() -> GatewayValues {
        GatewayValues {
            name: "piimask-gateway".into(),
            namespace: "piimask-gateway".into(),
            replicas: 2,
            issuer: IssuerRef::default(),
            trust_domain: "cluster.local".into(),
            resources: Resources::sized("100m", "64Mi", "256Mi"),
        }
    }
}

/// A container's resources, as Kubernetes quantities.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    pub requests: BTreeMap<String, String>,
    pub limits: BTreeMap<String, String>,
}

impl Resources {
    fn sized(cpu: &str, memory: &str, memory_limit: &str) -> Resources {
        Resources {
            requests: [("cpu".into(), cpu.into()), ("memory".into(), memory.into())].into(),
            limits: [("memory".into(), memory_limit.into())].into(),
        }
    }

    fn to_json(&self) -> Value {
        json!({"requests": self.requests, "limits": self.limits})
    }
}

/// What the gateway runs: its config file's text (mounted as is) and the
/// parts of it its NetworkPolicies and Deployment follow.
pub struct Gateway<'a> {
    pub config_text: &'a str,
    pub sidecar: Sidecar<'a>,
    /// Every file the config names: each must be one the manifests mount.
    pub files: Vec<std::path::PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(
        "gateway config names `{0}`, which the gateway's pod does not have: it mounts its certificate as \
         {CERT_DIR}/tls.crt, tls.key and ca.crt and its config in {CONFIG_DIR}"
    )]
    Unmounted(String),
    #[error("webhook.timeout_seconds is {0}: the API server allows 1 to 30")]
    Timeout(u32),
    #[error("webhook.pii_label `{0}`: expected KEY=VALUE")]
    PiiLabel(String),
    #[error("webhook.allowed_cidrs `{0}`: expected an IPv4 CIDR such as 10.0.0.0/8")]
    Cidr(String),
    #[error("webhook.allow_opt_out `{0}`: expected a namespace name (a DNS label)")]
    Namespace(String),
    #[error("gateway NetworkPolicies: {0}")]
    Policies(#[from] GenerateError),
}

fn labels(name: &str) -> Value {
    json!({"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "piimask"})
}

fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {"app.kubernetes.io/part-of": "piimask"}}})
}

/// The manifests, in apply order; the gateway's with `Some(gateway)`.
pub fn manifests(v: &Values, gateway: Option<&Gateway<'_>>) -> Result<Vec<Value>, InstallError> {
    let mut out = Vec::new();
    if v.webhook.enabled {
        out.extend(webhook(v)?);
    }
    if v.mesh_ca.create {
        out.extend(mesh_ca(&v.mesh_ca));
    }
    if let Some(g) = gateway {
        // With both in one namespace, its default deny is written once.
        for object in gateway_manifests(v, g)? {
            let id = |o: &Value| [o["kind"].clone(), o["metadata"]["namespace"].clone(), o["metadata"]["name"].clone()];
            if !out.iter().any(|o| id(o) == id(&object)) {
                out.push(object);
            }
        }
    }
    Ok(out)
}

fn webhook(v: &Values) -> Result<Vec<Value>, InstallError> {
    let w = &v.webhook;
    if !(1..=30).contains(&w.timeout_seconds) {
        return Err(InstallError::Timeout(w.timeout_seconds));
    }
    let pii = PiiLabel::parse(&w.pii_label).ok_or_else(|| InstallError::PiiLabel(w.pii_label.clone()))?;
    let ns = v.namespace.as_str();
    let labels = labels(WEBHOOK);
    let meta = |name: &str| json!({"name": name, "namespace": ns, "labels": labels});
    let service_dns = format!("{WEBHOOK}.{ns}.svc");
    let failure_policy = match w.failure_policy {
        FailurePolicy::Fail => "Fail",
        FailurePolicy::Ignore => "Ignore",
    };
    let client_config = |path: &str| json!({"service": {"name": WEBHOOK, "namespace": ns, "path": path, "port": 443}});
    let mut args: Vec<String> =
        ["webhook", "--listen", "0.0.0.0:8443", "--cert", "/tls/tls.crt", "--key", "/tls/tls.key"]
            .map(String::from)
            .into();
    args.extend(["--image".into(), v.image.clone(), "--pii-label".into(), w.pii_label.clone()]);
    if w.legacy_sidecar {
        args.push("--legacy-sidecar".into());
    }
    for cidr in &w.allowed_cidrs {
        super::netpol::parse_cidr(cidr).ok_or_else(|| InstallError::Cidr(cidr.clone()))?;
        args.extend(["--allowed-cidr".into(), cidr.clone()]);
    }
    for namespace in &w.allow_opt_out {
        let dns_label = !namespace.is_empty()
            && namespace.len() <= 63
            && namespace.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !dns_label {
            return Err(InstallError::Namespace(namespace.clone()));
        }
        args.extend(["--allow-opt-out".into(), namespace.clone()]);
    }
    if w.certs == WebhookCerts::CertManager {
        args.extend(["--certs".into(), "cert-manager".into()]);
    }
    // Namespaces the PII namespace guard never holds up: the system's,
    // piimask's own, and those allowed to opt out.
    let mut unguarded = vec!["kube-system".to_string(), ns.to_string()];
    unguarded.extend(w.allow_opt_out.iter().cloned());
    let api_server = match &w.api_server_cidr {
        Some(cidr) => {
            json!([{"to": [{"ipBlock": {"cidr": cidr}}], "ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}])
        }
        // The API server's address is not known here, and is outside the
        // pod network on most clusters: the ports are the narrowing.
        None => json!([{"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]}]),
    };
    let mut egress = api_server.as_array().cloned().unwrap_or_default();
    egress.push(dns_egress());
    let https_probe = |period: u32| json!({"httpGet": {"path": "/healthz", "port": 8443, "scheme": "HTTPS"}, "periodSeconds": period});
    Ok(vec![
        namespace(ns),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(WEBHOOK),
            "automountServiceAccountToken": false}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": WEBHOOK, "labels": labels},
        // The validating check reads what is in force around a PII
        // pod: its namespace's labels, the namespace's NetworkPolicies
        // and the cluster's admin network policies. Read only.
        "rules": [
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["list"]},
            {"apiGroups": ["policy.networking.k8s.io"],
             "resources": ["adminnetworkpolicies", "baselineadminnetworkpolicies"], "verbs": ["get", "list"]}
        ]}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": WEBHOOK, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": WEBHOOK},
            "subjects": [{"kind": "ServiceAccount", "name": WEBHOOK, "namespace": ns}]}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": meta("piimask-selfsigned"),
            "spec": {"selfSigned": {}}}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": meta(WEBHOOK),
        "spec": {
            "secretName": format!("{WEBHOOK}-tls"),
            "dnsNames": [service_dns, format!("{service_dns}.cluster.local")],
            "issuerRef": {"name": "piimask-selfsigned", "kind": "Issuer"},
            "duration": "2160h", "renewBefore": "360h",
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
        }}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": WEBHOOK, "namespace": ns, "labels": labels,
            // Read by the security scan (deploy/scan.sh): this finding is
            // deliberate, and says why where it applies.
            "annotations": {"checkov.io/skip1": "CKV_K8S_38=the validating check reads namespaces and network policies with this token"}},
        "spec": deployment_spec(&labels, w.replicas, json!({
                    "serviceAccountName": WEBHOOK,
                    // Mounted as a short-lived projected token: the
                    // validating check's one API call needs it.
                    "automountServiceAccountToken": true,
                    "containers": [{
                        "name": "webhook",
                        "image": v.image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": args,
                        "ports": [{"name": "https", "containerPort": 8443, "protocol": "TCP"}],
                        "readinessProbe": https_probe(5),
                        "livenessProbe": https_probe(10),
                        "resources": w.resources.to_json(),
                        "securityContext": hardened_security_context(),
                        "volumeMounts": [{"name": "tls", "mountPath": "/tls", "readOnly": true}]
                    }],
                    "volumes": [{"name": "tls", "secret": {"secretName": format!("{WEBHOOK}-tls")}}]
                }))}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(WEBHOOK),
            "spec": {"selector": labels, "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(WEBHOOK),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}}),
        default_deny(meta("piimask-default-deny")),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(WEBHOOK),
        "spec": {
            "podSelector": {"matchLabels": labels},
            "policyTypes": ["Ingress", "Egress"],
            // The API server calls from outside the pod network on most clusters.
            "ingress": [{"ports": [{"port": 8443, "protocol": "TCP"}]}],
            "egress": egress
        }}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "piimask-injector", "labels": labels,
            "annotations": {"cert-manager.io/inject-ca-from": format!("{ns}/{WEBHOOK}")}},
        "webhooks": [{
            "name": "inject.piimask.io",
            "admissionReviewVersions": ["v1"],
            "clientConfig": client_config("/mutate"),
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}],
            // Only namespaces that ask for it, never piimask's own. No
            // object selector: any pod can set any label on itself, so a
            // label must not let it skip injection. Pods opt out with an
            // annotation, which the validating check refuses on PII pods
            // and in PII namespaces (unless `allow_opt_out` names them);
            // injecting an injected pod changes nothing.
            "namespaceSelector": {"matchLabels": {"piimask.io/inject": "enabled"}},
            // A namespace that holds PII must not start pods without
            // the sidecar: with `Fail`, when the webhook is down, pod
            // creation there waits rather than bypassing it. Two replicas
            // and a PDB keep that rare; 5 s keeps the API server responsive.
            "failurePolicy": failure_policy,
            "timeoutSeconds": w.timeout_seconds,
            "sideEffects": "None",
            "reinvocationPolicy": "IfNeeded"
        }]}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "piimask-pii-guard", "labels": labels,
            "annotations": {"cert-manager.io/inject-ca-from": format!("{ns}/{WEBHOOK}")}},
        "webhooks": [{
            "name": "pii-guard.piimask.io",
            "admissionReviewVersions": ["v1"],
            "clientConfig": client_config("/validate"),
            "rules": [{"operations": ["CREATE", "UPDATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}],
            // Only pods with the PII label, whatever its value, are sent
            // (and so can be held up): a value other than the PII one or
            // `false` is refused there, not let through as not PII.
            // Everything else never waits on this webhook.
            "objectSelector": {"matchExpressions": [{"key": pii.key, "operator": "Exists"}]},
            "namespaceSelector": {"matchExpressions": [{"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["kube-system", ns]}]},
            "failurePolicy": failure_policy,
            "timeoutSeconds": w.timeout_seconds,
            "sideEffects": "None"
        }, {
            "name": "pii-namespace-guard.piimask.io",
            "admissionReviewVersions": ["v1"],
            "clientConfig": client_config("/validate"),
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}],
            // Pods without the PII label (those with it go to the guard
            // above) in namespaces with it, whatever its value: one that
            // opts out of the sidecar is refused unless its namespace is
            // allowed to; every other is admitted. The answer reads the
            // namespace's label, so a misspelt one is read as PII.
            "objectSelector": {"matchExpressions": [{"key": pii.key, "operator": "DoesNotExist"}]},
            "namespaceSelector": {"matchExpressions": [
                {"key": pii.key, "operator": "Exists"},
                {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": unguarded}
            ]},
            "failurePolicy": failure_policy,
            "timeoutSeconds": w.timeout_seconds,
            "sideEffects": "None"
        }]}),
    ])
}

/// A Deployment's spec for piimask's own pods: never injected, non-root
/// with the runtime's seccomp profile, spread across nodes; `pod` holds
/// the rest of the pod spec.
fn deployment_spec(labels: &Value, replicas: u32, mut pod: Value) -> Value {
    if let Some(p) = pod.as_object_mut() {
        p.insert("securityContext".into(), json!({"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}));
        p.insert(
            "topologySpreadConstraints".into(),
            json!([{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": labels}}]),
        );
    }
    json!({
        "replicas": replicas,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels, "annotations": {"piimask.io/inject": "false"}}, "spec": pod}
    })
}

/// A self-signed root, the CA certificate it signs (kept by cert-manager,
/// re-issued before it expires), and the ClusterIssuer that signs
/// workload certificates with it.
fn mesh_ca(ca: &MeshCaValues) -> Vec<Value> {
    let labels = json!({"app.kubernetes.io/part-of": "piimask"});
    let root = format!("{}-root", ca.name);
    vec![
        json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
            "metadata": {"name": root, "labels": labels}, "spec": {"selfSigned": {}}}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": ca.name, "namespace": ca.cert_manager_namespace, "labels": labels},
        "spec": {
            "isCA": true,
            "commonName": "piimask workload CA",
            "secretName": ca.name,
            "duration": "8760h", "renewBefore": "720h",
            "privateKey": {"algorithm": "ECDSA", "size": 256},
            "issuerRef": {"name": root, "kind": "ClusterIssuer"}
        }}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "ClusterIssuer",
            "metadata": {"name": ca.name, "labels": labels}, "spec": {"ca": {"secretName": ca.name}}}),
    ]
}

fn gateway_manifests(v: &Values, g: &Gateway<'_>) -> Result<Vec<Value>, InstallError> {
    let gw = &v.gateway;
    let (name, ns) = (gw.name.as_str(), gw.namespace.as_str());
    let config_file = format!("{CONFIG_DIR}/piimask.yaml");
    let mounted = ["tls.crt", "tls.key", "ca.crt"].map(|f| format!("{CERT_DIR}/{f}"));
    if let Some(f) = g.files.iter().find(|f| !mounted.iter().any(|m| f.as_os_str() == m.as_str())) {
        return Err(InstallError::Unmounted(f.display().to_string()));
    }
    let labels = labels(name);
    let pod_labels: BTreeMap<String, String> = labels
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let meta = |name: String| json!({"name": name, "namespace": ns, "labels": labels});
    let port = g.sidecar.port;
    let secret = format!("{name}-tls");
    let mut out = Vec::new();
    if !v.webhook.enabled || ns != v.namespace {
        out.push(namespace(ns));
    }
    out.extend([
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(name.into()),
            "automountServiceAccountToken": false}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(format!("{name}-config")),
            "data": {"piimask.yaml": g.config_text}}),
        certificate(&WorkloadCert {
            metadata: meta(name.into()),
            secret: &secret,
            spiffe_id: &spiffe_id(&gw.trust_domain, ns, name),
            dns_names: &[format!("{name}.{ns}.svc"), format!("{name}.{ns}.svc.cluster.local")],
            issuer: &gw.issuer,
        }),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(name.into()),
        "spec": deployment_spec(&labels, gw.replicas, json!({
                    "serviceAccountName": name,
                    "automountServiceAccountToken": false,
                    // In-flight requests drain within piimask's 30 s.
                    "terminationGracePeriodSeconds": 40,
                    "containers": [{
                        "name": "piimask",
                        "image": v.image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": ["run", "--config", config_file, "--admin", format!("0.0.0.0:{ADMIN_PORT}")],
                        "ports": [
                            {"name": "https", "containerPort": port, "protocol": "TCP"},
                            {"name": "piimask-admin", "containerPort": ADMIN_PORT, "protocol": "TCP"}
                        ],
                        "startupProbe": admin_probe("/readyz", 1, 30),
                        "readinessProbe": admin_probe("/readyz", 5, 3),
                        "livenessProbe": admin_probe("/healthz", 10, 3),
                        "resources": gw.resources.to_json(),
                        "securityContext": hardened_security_context(),
                        "volumeMounts": [
                            {"name": "certs", "mountPath": CERT_DIR, "readOnly": true},
                            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": true}
                        ]
                    }],
                    "volumes": [
                        {"name": "certs", "secret": {"secretName": secret}},
                        {"name": "config", "configMap": {"name": format!("{name}-config")}}
                    ]
                }))}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(name.into()),
            "spec": {"selector": labels, "ports": [{"name": "https", "port": port, "targetPort": "https", "protocol": "TCP"}]}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(name.into()),
            // One pod at a time, whatever the replica count: a drain never
            // takes the gateway down, and never blocks on a single replica.
            "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}}}),
    ]);
    let workload = Workload { namespace: ns, name, pod_labels: &pod_labels };
    out.extend(network_policies(&g.sidecar, &workload)?);
    Ok(out)
}
