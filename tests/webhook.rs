//! `piimask webhook` over real HTTPS with real AdmissionReview requests.
//! Mutating: a Pod being created is injected (the JSONPatch applies to
//! give the sidecar), an opted-out Pod, an UPDATE, a subresource and a Pod
//! on the node's network pass unchanged, malformed requests get a clear
//! 400, and the server keeps serving. Validating (the PII guard): a
//! stand-in API server over HTTPS with a service-account token serves the
//! namespace, its NetworkPolicies and the cluster's admin network
//! policies; a Pod labelled as holding PII is admitted only with the
//! sidecar piimask injects, off the node's network, with a label spelled
//! `true`, and isolated as the simulator judges it under every policy in
//! force; it is refused, with the reason, otherwise or when the API
//! cannot be asked.

mod support;

use base64::Engine as _;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};
use support::{Client, Http, Pki, Proxy};

fn review(annotations: Value) -> String {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "3c4ab2e6-8d83-4c0b-9a6b-1d5f2e0c7a11",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "app",
            "operation": "CREATE",
            "object": {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": "customers-", "namespace": "app", "labels": {"app": "customers"}, "annotations": annotations},
                "spec": {"containers": [{"name": "app", "image": "example/customers:1.4", "ports": [{"containerPort": 8080}]}]}
            }
        }
    })
    .to_string()
}

/// `piimask webhook` on a free port with the test PKI's server certificate.
fn start_webhook(pki: &Pki, extra: &[&str]) -> Proxy {
    let (cert, key) = (pki.path("server.crt"), pki.path("server.key"));
    let mut args: Vec<String> = ["webhook", "--listen", "127.0.0.1:0", "--cert", &cert.to_string_lossy()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(["--key".to_string(), key.to_string_lossy().into_owned()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    Proxy::start_until(&args, "webhook listener ready")
}

async fn post(client: &Client, addr: std::net::SocketAddr, body: String) -> (StatusCode, String) {
    post_to(client, addr, "/mutate", body).await
}

async fn post_to(client: &Client, addr: std::net::SocketAddr, path: &str, body: String) -> (StatusCode, String) {
    let request = Request::post(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed())
        .expect("request");
    let a = client.send(addr, request).await.expect("answer");
    (a.status, a.text())
}

#[tokio::test(flavor = "multi_thread")]
async fn admission_reviews_are_answered_and_bad_ones_refused_without_a_crash() {
    let pki = Pki::new("webhook");
    let webhook = start_webhook(&pki, &[]);
    let client = Client::new(&pki, None, Http::H1);

    let (status, body) = post(&client, webhook.addr, review(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["kind"], "AdmissionReview");
    assert_eq!(answer["response"]["uid"], "3c4ab2e6-8d83-4c0b-9a6b-1d5f2e0c7a11");
    assert_eq!(answer["response"]["allowed"], true);
    assert_eq!(answer["response"]["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(answer["response"]["patch"].as_str().expect("patch"))
        .expect("base64");
    let patch: Value = serde_json::from_slice(&patch).expect("JSON patch");
    assert_eq!(patch[0]["path"], "/spec");
    let sidecar = &patch[0]["value"]["initContainers"][0];
    assert_eq!((sidecar["name"].as_str(), sidecar["restartPolicy"].as_str()), (Some("piimask"), Some("Always")));
    assert_eq!(patch[0]["value"]["containers"][0]["name"], "app", "the app container is kept");

    let (status, body) = post(&client, webhook.addr, review(json!({"piimask.io/inject": "false"}))).await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["response"]["allowed"], true);
    assert!(answer["response"].get("patch").is_none(), "opted out: no patch");

    for (bad, says) in [
        ("{not json".to_string(), "the body is not JSON"),
        (json!({"kind": "Pod"}).to_string(), "expected an AdmissionReview"),
        (
            json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}}).to_string(),
            "no `request.uid`",
        ),
    ] {
        let (status, body) = post(&client, webhook.addr, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains(says), "{body}");
    }
    // Still serving.
    assert_eq!(post(&client, webhook.addr, review(json!({}))).await.0, StatusCode::OK);

    // A review of another version is not read; one without `request.kind`
    // is refused (it cannot be told what it is).
    let mut v1beta1: Value = serde_json::from_str(&review(json!({}))).expect("JSON");
    v1beta1["apiVersion"] = json!("admission.k8s.io/v1beta1");
    let (status, body) = post(&client, webhook.addr, v1beta1.to_string()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("admission.k8s.io/v1 only"), "{body}");
    let mut no_kind: Value = serde_json::from_str(&review(json!({}))).expect("JSON");
    no_kind["request"].as_object_mut().expect("request").remove("kind");
    let answer = mutate_answer(&client, webhook.addr, no_kind).await;
    assert_eq!(answer["allowed"], false);
    assert!(answer["status"]["message"].as_str().expect("message").contains("no `request.kind`"), "{answer}");

    // Only a CREATE of the Pod itself is injected.
    for (field, value) in [("operation", json!("UPDATE")), ("subResource", json!("status"))] {
        let mut other: Value = serde_json::from_str(&review(json!({}))).expect("JSON");
        other["request"][field] = value;
        let answer = mutate_answer(&client, webhook.addr, other).await;
        assert_eq!(answer["allowed"], true);
        assert!(answer.get("patch").is_none(), "{field}: unchanged");
    }
    // A Pod on the node's network is not injected, with a warning.
    let mut host: Value = serde_json::from_str(&review(json!({}))).expect("JSON");
    host["request"]["object"]["spec"]["hostNetwork"] = json!(true);
    let answer = mutate_answer(&client, webhook.addr, host).await;
    assert!(answer.get("patch").is_none());
    assert!(answer["warnings"][0].as_str().expect("warning").contains("hostNetwork: true"), "{answer}");

    // A Pod of ~3 MiB, reviewed as an UPDATE (two copies): what the API
    // server sends is read, not refused as too large.
    let mut big: Value = serde_json::from_str(&review(json!({}))).expect("JSON");
    let filler = "x".repeat(3 * 1024 * 1024 - 4096);
    big["request"]["operation"] = json!("UPDATE");
    big["request"]["object"]["metadata"]["annotations"] = json!({"example.com/blob": filler});
    big["request"]["oldObject"] = big["request"]["object"].clone();
    let (status, body) = post(&client, webhook.addr, big.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{}", &body[..body.len().min(200)]);
}

async fn mutate_answer(client: &Client, addr: std::net::SocketAddr, review: Value) -> Value {
    let (status, body) = post(client, addr, review.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let answer: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(answer["apiVersion"], "admission.k8s.io/v1");
    answer["response"].clone()
}

/// What the stand-in API server holds: namespaces with their labels and
/// NetworkPolicies, the cluster's AdminNetworkPolicies and
/// BaselineAdminNetworkPolicies, and the status it answers their lists
/// with (404: the API is not served; 403: not allowed to list).
#[derive(Clone, Default)]
struct Cluster {
    namespaces: BTreeMap<&'static str, (Value, Vec<Value>)>,
    admin: Vec<Value>,
    baseline: Vec<Value>,
    admin_status: u16,
}

/// A stand-in for the Kubernetes API server over HTTPS: serves what
/// `cluster` holds to a request bearing the right token, answers 401
/// without it and 500 for namespace `broken`. Counts the calls.
async fn api_server(pki: &Pki, token: &'static str, cluster: Cluster) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let config = piimask::tls::server_config(&piimask::tls::TlsFiles {
        cert: pki.path("server.crt"),
        key: pki.path("server.key"),
        ca: None,
    })
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let cluster = Arc::new(cluster);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, counter, cluster) = (acceptor.clone(), counter.clone(), cluster.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let authorized = request.headers().get("authorization").and_then(|v| v.to_str().ok())
                        == Some(&format!("Bearer {token}"));
                    let (status, body) =
                        if authorized { answer(&cluster, request.uri().path()) } else { (401, json!({})) };
                    async move {
                        Ok::<_, std::convert::Infallible>(
                            http::Response::builder()
                                .status(status)
                                .header("content-type", "application/json")
                                .body(Full::new(Bytes::from(body.to_string())))
                                .expect("response"),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, calls)
}

/// The stand-in's answer to a GET of `path`: lists carry items without
/// kind or apiVersion, as the API server's do.
fn answer(cluster: &Cluster, path: &str) -> (u16, Value) {
    let list = |kind: &str, items: &[Value]| json!({"kind": format!("{kind}List"), "items": items});
    let anp = "/apis/policy.networking.k8s.io/v1alpha1/";
    if let Some(resource) = path.strip_prefix(anp) {
        let (kind, items) = match resource {
            "adminnetworkpolicies" => ("AdminNetworkPolicy", &cluster.admin),
            "baselineadminnetworkpolicies" => ("BaselineAdminNetworkPolicy", &cluster.baseline),
            _ => return (404, json!({})),
        };
        return match cluster.admin_status {
            0 | 200 => (200, list(kind, items)),
            other => (other, json!({"kind": "Status"})),
        };
    }
    if let Some(rest) = path.strip_prefix("/apis/networking.k8s.io/v1/namespaces/") {
        return match rest.strip_suffix("/networkpolicies") {
            Some("broken") => (500, json!({})),
            Some(ns) => match cluster.namespaces.get(ns) {
                Some((_, policies)) => {
                    let mut policies = policies.clone();
                    for p in &mut policies {
                        p["metadata"]["namespace"] = json!(ns);
                    }
                    (200, list("NetworkPolicy", &policies))
                }
                None => (200, list("NetworkPolicy", &[])),
            },
            None => (404, json!({})),
        };
    }
    if let Some(ns) = path.strip_prefix("/api/v1/namespaces/") {
        let labels = cluster.namespaces.get(ns).map(|(l, _)| l.clone()).unwrap_or_else(|| json!({}));
        let mut labels = labels;
        labels["kubernetes.io/metadata.name"] = json!(ns);
        return (200, json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}));
    }
    (404, json!({}))
}

fn network_policy(name: &str, spec: Value) -> Value {
    json!({"metadata": {"name": name}, "spec": spec})
}

fn deny_all() -> Value {
    network_policy("deny-all", json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}))
}

/// A Pod in `namespace` with `labels`, before injection.
fn pod(namespace: &str, labels: Value) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"generateName": "customers-", "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "example/customers:1.4", "ports": [{"containerPort": 8080}]}]}
    })
}

fn admission(namespace: &str, operation: &str, object: &Value) -> String {
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "9b2c7e55-0f4d-4d8e-9a53-52f1c8a1e0d2",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": operation,
            "object": object
        }
    })
    .to_string()
}

/// What the API server would store: the Pod after the mutating webhook's
/// patch (the one operation it writes: replace /spec).
async fn injected(client: &Client, addr: std::net::SocketAddr, object: &Value) -> Value {
    let ns = object["metadata"]["namespace"].as_str().expect("namespace");
    let answer =
        mutate_answer(client, addr, serde_json::from_str(&admission(ns, "CREATE", object)).expect("JSON")).await;
    let patch =
        base64::engine::general_purpose::STANDARD.decode(answer["patch"].as_str().expect("injected")).expect("base64");
    let patch: Value = serde_json::from_slice(&patch).expect("JSON patch");
    assert_eq!((patch[0]["op"].as_str(), patch[0]["path"].as_str()), (Some("replace"), Some("/spec")));
    let mut object = object.clone();
    object["spec"] = patch[0]["value"].clone();
    object
}

async fn validate(client: &Client, addr: std::net::SocketAddr, body: String) -> Value {
    let request = Request::post("/validate")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed())
        .expect("request");
    let answer = client.send(addr, request).await.expect("answer");
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text());
    let review: Value = serde_json::from_slice(&answer.body).expect("JSON");
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(review["response"]["uid"], "9b2c7e55-0f4d-4d8e-9a53-52f1c8a1e0d2");
    review["response"].clone()
}

/// The refusal text of a response that must be a refusal.
fn refusal(response: &Value) -> String {
    assert_eq!(response["allowed"], false, "{response}");
    assert_eq!(response["status"]["code"], 403, "{response}");
    response["status"]["message"].as_str().expect("message").to_string()
}

const PII: &str = "piimask.io/pii";

/// Starts a webhook against a stand-in API server holding `cluster`.
async fn guarded(pki: &Pki, cluster: Cluster, extra: &[&str]) -> (Proxy, Arc<AtomicUsize>, std::path::PathBuf) {
    let (api, calls) = api_server(pki, "sa-token-1", cluster).await;
    let token = support::write_file(&pki.dir, "token", "sa-token-1\n");
    let api_server = format!("https://localhost:{}", api.port());
    let (ca, token_file) = (pki.path("ca.crt").to_string_lossy().into_owned(), token.to_string_lossy().into_owned());
    let mut args = vec!["--api-server", &api_server, "--api-ca", &ca, "--api-token-file", &token_file];
    args.extend(extra);
    (start_webhook(pki, &args), calls, token)
}

/// Namespaces in which a tenant with write access to its own namespace
/// tries to undo the default deny, and ones where narrow allows are kept.
fn tenant_cluster() -> Cluster {
    let mut namespaces = BTreeMap::new();
    let ns = |labels: Value, policies: Vec<Value>| (labels, policies);
    namespaces.insert("guarded", ns(json!({}), vec![deny_all()]));
    namespaces.insert(
        "half",
        ns(json!({}), vec![network_policy("deny-ingress", json!({"podSelector": {}, "policyTypes": ["Ingress"]}))]),
    );
    // Policies add up: a second one opens what the deny closed.
    namespaces.insert(
        "cancelled",
        ns(
            json!({}),
            vec![
                deny_all(),
                network_policy(
                    "from-anywhere",
                    json!({"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}),
                ),
            ],
        ),
    );
    namespaces.insert(
        "all-in",
        ns(json!({}), vec![deny_all(), network_policy("all-in", json!({"podSelector": {}, "ingress": [{}]}))]),
    );
    namespaces.insert(
        "egress-open",
        ns(
            json!({}),
            vec![
                deny_all(),
                network_policy(
                    "anywhere-out",
                    json!({"podSelector": {"matchLabels": {"app": "customers"}}, "policyTypes": ["Egress"], "egress": [{}]}),
                ),
            ],
        ),
    );
    // What `netpol generate` writes: named namespaces in, DNS out.
    namespaces.insert(
        "narrow",
        ns(
            json!({}),
            vec![
                deny_all(),
                network_policy(
                    "customers",
                    json!({"podSelector": {"matchLabels": {"app": "customers"}}, "policyTypes": ["Ingress", "Egress"],
                        "ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "billing"}}},
                                              {"namespaceSelector": {}, "podSelector": {"matchLabels": {"role": "frontend"}}}],
                                     "ports": [{"port": 8080}]}],
                        "egress": [{"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                                    "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
                                   {"to": [{"namespaceSelector": {}}], "ports": [{"port": 53, "protocol": "UDP"}]}]}),
                ),
            ],
        ),
    );
    namespaces.insert(
        "lb",
        ns(
            json!({}),
            vec![
                deny_all(),
                network_policy(
                    "from-load-balancers",
                    json!({"podSelector": {}, "ingress": [{"from": [{"ipBlock": {"cidr": "198.51.100.0/24"}}]}]}),
                ),
            ],
        ),
    );
    // Isolated by its own policies, but an AdminNetworkPolicy on the
    // namespace's label lets every namespace in before them.
    namespaces.insert("admin-open", ns(json!({"exposure": "wide"}), vec![deny_all()]));
    Cluster {
        namespaces,
        admin: vec![json!({"metadata": {"name": "wide-open"}, "spec": {"priority": 20,
            "subject": {"namespaces": {"matchLabels": {"exposure": "wide"}}},
            "ingress": [{"name": "everyone", "action": "Allow", "from": [{"namespaces": {}}]}]}})],
        // BaselineAdminNetworkPolicies decide only for what no
        // NetworkPolicy isolates: here, nothing.
        baseline: vec![json!({"metadata": {"name": "default"}, "spec": {"subject": {"namespaces": {}},
            "ingress": [{"name": "all", "action": "Allow", "from": [{"namespaces": {}}]}]}})],
        admin_status: 200,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pii_pods_are_admitted_only_where_the_simulator_finds_them_isolated() {
    let pki = Pki::new("webhook-validate");
    let (webhook, calls, token) = guarded(&pki, tenant_cluster(), &[]).await;
    let client = Client::new(&pki, None, Http::H2);
    let pii_pod = |ns: &str| pod(ns, json!({"app": "customers", PII: "true"}));
    let check = |ns: &'static str| {
        let (client, addr) = (&client, webhook.addr);
        async move {
            let object = injected(client, addr, &pii_pod(ns)).await;
            validate(client, addr, admission(ns, "CREATE", &object)).await
        }
    };

    for ns in ["guarded", "narrow"] {
        let allowed = check(ns).await;
        assert_eq!(allowed["allowed"], true, "{ns}: {allowed}");
    }

    let text = refusal(&check("half").await);
    assert!(text.contains("not isolated in namespace `half`: no NetworkPolicy selects it for Egress"), "{text}");
    assert!(!text.contains("for Ingress"), "{text}");

    let text = refusal(&check("cancelled").await);
    assert!(
        text.contains(
            "ingress rule 1 of NetworkPolicy cancelled/from-anywhere lets pods of every namespace connect to it"
        ),
        "{text}"
    );
    let text = refusal(&check("all-in").await);
    assert!(text.contains("ingress rule 1 of NetworkPolicy all-in/all-in lets pods of every namespace"), "{text}");
    assert!(text.contains("lets external addresses 0.0.0.0-255.255.255.255 connect to it"), "{text}");
    let text = refusal(&check("egress-open").await);
    assert!(
        text.contains(
            "egress rule 1 of NetworkPolicy egress-open/anywhere-out lets it send to pods of every namespace"
        ),
        "{text}"
    );
    assert!(text.contains("lets it send to external addresses 0.0.0.0-255.255.255.255"), "{text}");
    let text = refusal(&check("lb").await);
    assert!(
        text.contains("lb/from-load-balancers lets external addresses 198.51.100.0-198.51.100.255 connect"),
        "{text}"
    );
    let text = refusal(&check("admin-open").await);
    assert!(
        text.contains("AdminNetworkPolicy wide-open rule 1 (Allow) lets pods of every namespace connect"),
        "{text}"
    );
    // The refusal names rules and peers, never the pod's data.
    assert!(!text.contains("customers-"), "{text}");

    // A pod without the label, or labelled "false", is not checked: the
    // API is not called.
    let before = calls.load(Ordering::SeqCst);
    for labels in [json!({"app": "web"}), json!({"app": "web", PII: "false"})] {
        let answer = validate(&client, webhook.addr, admission("half", "CREATE", &pod("half", labels))).await;
        assert_eq!(answer["allowed"], true);
    }
    assert_eq!(calls.load(Ordering::SeqCst), before);

    // The API failing refuses the PII pod with the reason (fails closed).
    let text = refusal(&check("broken").await);
    assert!(text.contains("could not be read") && text.contains("500"), "{text}");

    // A malformed review is a 400, and the server keeps serving.
    let (status, body) = post_to(&client, webhook.addr, "/validate", "[1,2".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("not JSON"), "{body}");
    assert_eq!(check("guarded").await["allowed"], true);

    // A rotated token is read on the next call: a wrong one gets 401, refused.
    std::fs::write(&token, "stale-token").expect("rotate token");
    assert!(refusal(&check("guarded").await).contains("401"));
}

#[tokio::test(flavor = "multi_thread")]
async fn allowed_ranges_and_the_admin_policy_api_as_the_cluster_serves_it() {
    let pki = Pki::new("webhook-ranges");
    // No AdminNetworkPolicy API (404): nothing of that kind in force.
    let cluster = Cluster { admin_status: 404, ..tenant_cluster() };
    let (webhook, _, _) = guarded(&pki, cluster, &["--allowed-cidr", "198.51.100.0/24"]).await;
    let client = Client::new(&pki, None, Http::H1);
    let pii_pod = |ns: &str| pod(ns, json!({"app": "customers", PII: "true"}));
    for ns in ["lb", "admin-open"] {
        let object = injected(&client, webhook.addr, &pii_pod(ns)).await;
        let answer = validate(&client, webhook.addr, admission(ns, "CREATE", &object)).await;
        assert_eq!(answer["allowed"], true, "{ns}: {answer}");
    }
    drop(webhook);

    // Not allowed to list them (403): refused, as nothing can be judged.
    let pki = Pki::new("webhook-admin-forbidden");
    let cluster = Cluster { admin_status: 403, ..tenant_cluster() };
    let (webhook, _, _) = guarded(&pki, cluster, &[]).await;
    let client = Client::new(&pki, None, Http::H1);
    let object = injected(&client, webhook.addr, &pii_pod("guarded")).await;
    let text = refusal(&validate(&client, webhook.addr, admission("guarded", "CREATE", &object)).await);
    assert!(text.contains("403 Forbidden to reading AdminNetworkPolicies"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pii_pod_needs_the_real_sidecar_its_own_network_and_a_label_spelled_true() {
    let pki = Pki::new("webhook-sidecar");
    let (webhook, calls, _) = guarded(&pki, tenant_cluster(), &[]).await;
    let client = Client::new(&pki, None, Http::H1);
    let good = injected(&client, webhook.addr, &pod("guarded", json!({"app": "customers", PII: "true"}))).await;
    let answer = validate(&client, webhook.addr, admission("guarded", "CREATE", &good)).await;
    assert_eq!(answer["allowed"], true, "{answer}");

    let before = calls.load(Ordering::SeqCst);
    let edit = |f: &dyn Fn(&mut Value)| {
        let mut object = good.clone();
        f(&mut object);
        object
    };
    let mut opted_out = pod("guarded", json!({"app": "customers", PII: "true"}));
    opted_out["metadata"]["annotations"] = json!({"piimask.io/inject": "false"});
    let mut uninjectable = pod("guarded", json!({"app": "customers", PII: "true"}));
    uninjectable["spec"]["containers"][0].as_object_mut().expect("container").remove("ports");
    // A look-alike: a container merely named `piimask`, first among the
    // containers, running something else.
    let mut lookalike = pod("guarded", json!({"app": "customers", PII: "true"}));
    lookalike["spec"]["containers"]
        .as_array_mut()
        .expect("containers")
        .insert(0, json!({"name": "piimask", "image": "busybox", "args": ["sleep", "infinity"]}));
    let cases: Vec<(Value, &str)> = vec![
        (opted_out, "it opts out of the sidecar (piimask.io/inject: \"false\")"),
        (uninjectable, "it has no piimask sidecar"),
        (lookalike, "its container `piimask` is not the sidecar piimask injects: image `busybox`"),
        (
            edit(&|o| o["spec"]["initContainers"][0]["image"] = json!("example/piimask:0.1.0")),
            "image `example/piimask:0.1.0` is not the sidecar image",
        ),
        (edit(&|o| o["spec"]["initContainers"][0]["args"][4] = json!("http://10.1.2.3:8080")), "its arguments differ"),
        (
            edit(&|o| o["spec"]["initContainers"][0]["command"] = json!(["/bin/sh", "-c"])),
            "replaces the image's command",
        ),
        (edit(&|o| o["spec"]["hostNetwork"] = json!(true)), "it uses the node's network (hostNetwork: true)"),
        (
            edit(&|o| o["spec"]["containers"][0]["ports"][0]["hostPort"] = json!(8080)),
            "container `app` takes port 8080 on the node (hostPort)",
        ),
    ];
    for (object, says) in cases {
        let text = refusal(&validate(&client, webhook.addr, admission("guarded", "CREATE", &object)).await);
        assert!(text.starts_with("piimask: the Pod holds PII (piimask.io/pii=true) but "), "{text}");
        assert!(text.contains(says), "{says}: {text}");
    }
    // The image may be changed on UPDATE: checked then too.
    let swapped = edit(&|o| o["spec"]["initContainers"][0]["image"] = json!("busybox"));
    assert!(
        refusal(&validate(&client, webhook.addr, admission("guarded", "UPDATE", &swapped)).await).contains("busybox")
    );

    for value in ["True", "yes", "1", "true ", ""] {
        let object = edit(&|o| o["metadata"]["labels"][PII] = json!(value));
        let text = refusal(&validate(&client, webhook.addr, admission("guarded", "CREATE", &object)).await);
        assert!(text.contains(&format!("label piimask.io/pii is {value:?}: only \"true\"")), "{text}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), before, "each refused without asking the API server");

    // A Pod with a volume of the sidecar's name is not injected (warned),
    // and so refused if it holds PII.
    let mut clash = pod("guarded", json!({"app": "customers", PII: "true"}));
    clash["spec"]["volumes"] = json!([{"name": "piimask-certs", "emptyDir": {}}]);
    let answer = mutate_answer(
        &client,
        webhook.addr,
        serde_json::from_str(&admission("guarded", "CREATE", &clash)).expect("JSON"),
    )
    .await;
    assert!(answer["warnings"][0].as_str().expect("warning").contains("volume named `piimask-certs`"), "{answer}");
    assert!(
        refusal(&validate(&client, webhook.addr, admission("guarded", "CREATE", &clash)).await)
            .contains("no piimask sidecar")
    );

    // A review without `request.kind` is refused.
    let mut no_kind: Value = serde_json::from_str(&admission("guarded", "CREATE", &good)).expect("JSON");
    no_kind["request"].as_object_mut().expect("request").remove("kind");
    let answer = validate(&client, webhook.addr, no_kind.to_string()).await;
    assert_eq!(answer["allowed"], false);
    assert!(answer["status"]["message"].as_str().expect("message").contains("no `request.kind`"), "{answer}");
}

/// Who may opt out of the sidecar: in a namespace labelled as holding PII,
/// a pod with `piimask.io/inject: "false"` is refused by `/validate` (the
/// namespace's label is read from the API server), unless the webhook was
/// told the namespace may (`--allow-opt-out`, from `webhook.allow_opt_out`).
/// Elsewhere opting out stays free.
#[tokio::test(flavor = "multi_thread")]
async fn opting_out_in_a_pii_namespace_is_refused_unless_the_platform_allows_it() {
    let pki = Pki::new("webhook-opt-out");
    let mut cluster = Cluster::default();
    cluster.namespaces.insert("customers", (json!({PII: "true"}), vec![deny_all()]));
    cluster.namespaces.insert("tools", (json!({PII: "true"}), vec![deny_all()]));
    cluster.namespaces.insert("web", (json!({}), vec![]));
    let (webhook, _, _) = guarded(&pki, cluster, &["--allow-opt-out", "tools"]).await;
    let client = Client::new(&pki, None, Http::H1);
    let opting_out = |ns: &str, labels: Value| {
        let mut p = pod(ns, labels);
        p["metadata"]["annotations"] = json!({"piimask.io/inject": "false"});
        p
    };
    // The mutating webhook leaves the pod as it is: the guard decides.
    let answer = mutate_answer(
        &client,
        webhook.addr,
        serde_json::from_str(&admission("customers", "CREATE", &opting_out("customers", json!({})))).expect("JSON"),
    )
    .await;
    assert!(answer.get("patch").is_none());

    let refused =
        validate(&client, webhook.addr, admission("customers", "CREATE", &opting_out("customers", json!({}))));
    let text = refusal(&refused.await);
    assert!(text.contains("namespace `customers` is labelled as holding PII"), "{text}");
    assert!(text.contains("webhook.allow_opt_out"), "{text}");
    // Saying the pod holds none does not get around the namespace's label.
    let said_none = opting_out("customers", json!({PII: "false"}));
    let text = refusal(&validate(&client, webhook.addr, admission("customers", "CREATE", &said_none)).await);
    assert!(text.contains("may not opt out"), "{text}");
    // A pod labelled as holding PII opting out: refused as ever.
    let pii_pod = opting_out("customers", json!({PII: "true"}));
    let text = refusal(&validate(&client, webhook.addr, admission("customers", "CREATE", &pii_pod)).await);
    assert!(text.contains("opts out of the sidecar"), "{text}");

    // Allowed in `tools`: both pass (the PII pod is isolated there).
    for labels in [json!({}), json!({PII: "true"})] {
        let allowed = validate(&client, webhook.addr, admission("tools", "CREATE", &opting_out("tools", labels))).await;
        assert_eq!(allowed["allowed"], true, "{allowed}");
    }
    // A namespace without the label: opting out is free.
    let free = validate(&client, webhook.addr, admission("web", "CREATE", &opting_out("web", json!({})))).await;
    assert_eq!(free["allowed"], true, "{free}");
}
