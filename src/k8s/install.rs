//! `piimask install`: the cluster-side manifests, in the style of
//! `linkerd install | kubectl apply -f -`: the injector webhook (its
//! namespace, service account, Deployment, Service, PodDisruptionBudget,
//! serving certificate from cert-manager, MutatingWebhookConfiguration)
//! and a default-deny NetworkPolicy for its own namespace with the one
//! flow it needs.

use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub namespace: String,
    pub image: String,
    pub replicas: u32,
}

impl Default for InstallOptions {
    fn default() -> InstallOptions {
        InstallOptions {
            namespace: "piimask-system".into(),
            image: "ghcr.io/piimask/piimask:0.1.0".into(),
            replicas: 2,
        }
    }
}

const NAME: &str = "piimask-webhook";

pub fn manifests(o: &InstallOptions) -> Vec<Value> {
    let ns = o.namespace.as_str();
    let labels = json!({"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "piimask"});
    let meta = |name: &str| json!({"name": name, "namespace": ns, "labels": labels});
    let service_dns = format!("{NAME}.{ns}.svc");
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": ns, "labels": {"app.kubernetes.io/part-of": "piimask"}}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(NAME),
            // The webhook reads nothing from the API server.
            "automountServiceAccountToken": false}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Issuer", "metadata": meta("piimask-selfsigned"),
            "spec": {"selfSigned": {}}}),
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": meta(NAME),
        "spec": {
            "secretName": format!("{NAME}-tls"),
            "dnsNames": [service_dns, format!("{service_dns}.cluster.local")],
            "issuerRef": {"name": "piimask-selfsigned", "kind": "Issuer"},
            "duration": "2160h", "renewBefore": "360h",
            "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"}
        }}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(NAME),
        "spec": {
            "replicas": o.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": {"piimask.io/inject": "false"}},
                "spec": {
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": false,
                    "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
                    "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                        "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": labels}}],
                    "containers": [{
                        "name": "webhook",
                        "image": o.image,
                        "args": ["webhook", "--listen", "0.0.0.0:8443", "--cert", "/tls/tls.crt", "--key", "/tls/tls.key",
                                 "--image", o.image],
                        "ports": [{"name": "https", "containerPort": 8443, "protocol": "TCP"}],
                        "readinessProbe": {"httpGet": {"path": "/healthz", "port": 8443, "scheme": "HTTPS"}, "periodSeconds": 5},
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8443, "scheme": "HTTPS"}, "periodSeconds": 10},
                        "resources": {"requests": {"cpu": "20m", "memory": "24Mi"}, "limits": {"memory": "64Mi"}},
                        "securityContext": {
                            "runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                            "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false,
                            "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"}
                        },
                        "volumeMounts": [{"name": "tls", "mountPath": "/tls", "readOnly": true}]
                    }],
                    "volumes": [{"name": "tls", "secret": {"secretName": format!("{NAME}-tls")}}]
                }
            }
        }}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": meta(NAME),
            "spec": {"selector": labels, "ports": [{"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": meta(NAME),
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("piimask-default-deny"),
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta(NAME),
        "spec": {
            "podSelector": {"matchLabels": labels},
            "policyTypes": ["Ingress", "Egress"],
            // The API server calls from outside the pod network on most clusters.
            "ingress": [{"ports": [{"port": 8443, "protocol": "TCP"}]}],
            "egress": []
        }}),
        json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "piimask-injector", "labels": labels,
            "annotations": {"cert-manager.io/inject-ca-from": format!("{ns}/{NAME}")}},
        "webhooks": [{
            "name": "inject.piimask.io",
            "admissionReviewVersions": ["v1"],
            "clientConfig": {"service": {"name": NAME, "namespace": ns, "path": "/mutate", "port": 443}},
            "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"], "scope": "Namespaced"}],
            // Only namespaces that ask for it, never piimask's own.
            "namespaceSelector": {"matchLabels": {"piimask.io/inject": "enabled"}},
            "objectSelector": {"matchExpressions": [{"key": "app.kubernetes.io/part-of", "operator": "NotIn", "values": ["piimask"]}]},
            // A namespace that holds PII must not start pods without
            // the sidecar: when the webhook is down, pod creation there
            // waits rather than bypassing it. Two replicas and a PDB
            // keep that rare; 5 s keeps the API server responsive.
            "failurePolicy": "Fail",
            "timeoutSeconds": 5,
            "sideEffects": "None",
            "reinvocationPolicy": "IfNeeded"
        }]}),
    ]
}
