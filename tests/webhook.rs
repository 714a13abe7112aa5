//! `piimask webhook` over real HTTPS with real AdmissionReview requests.
//! Mutating:
//! a Pod is injected (the JSONPatch applies to give the sidecar), an
//! opted-out Pod is allowed unchanged, malformed requests get a clear 400,
//! and the server keeps serving. Validating: a stand-in API server over
//! HTTPS lists each namespace's NetworkPolicies, and a Pod labelled as
//! holding PII is refused where the namespace lacks default deny, or when
//! the API cannot be asked.

mod support;

use base64::Engine as _;
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
    let request = Request::post("/mutate")
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
        (json!({"kind": "AdmissionReview", "request": {}}).to_string(), "no `request.uid`"),
    ] {
        let (status, body) = post(&client, webhook.addr, bad).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(body.contains(says), "{body}");
    }
    // Still serving.
    assert_eq!(post(&client, webhook.addr, review(json!({}))).await.0, StatusCode::OK);
}

/// A stand-in for the Kubernetes API server over HTTPS: lists the
/// NetworkPolicies of a few namespaces for a request bearing the right
/// token, answers 401 without it and 500 for namespace `broken`. Counts
/// the list calls.
async fn api_server(pki: &Pki, token: &'static str) -> (std::net::SocketAddr, Arc<AtomicUsize>) {
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
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, counter) = (acceptor.clone(), counter.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let authorized = request.headers().get("authorization").and_then(|v| v.to_str().ok())
                        == Some(&format!("Bearer {token}"));
                    let path = request.uri().path().to_string();
                    async move {
                        let deny = |name: &str, ns: &str, types: Value| {
                            json!({"metadata": {"name": name, "namespace": ns},
                                "spec": {"podSelector": {}, "policyTypes": types}})
                        };
                        let prefix = "/apis/networking.k8s.io/v1/namespaces/";
                        let ns = path.strip_prefix(prefix).and_then(|p| p.strip_suffix("/networkpolicies"));
                        let (status, items) = match (authorized, ns) {
                            (false, _) => (401, json!([])),
                            (true, Some("guarded")) => {
                                (200, json!([deny("deny-all", "guarded", json!(["Ingress", "Egress"]))]))
                            }
                            (true, Some("half")) => (200, json!([deny("deny-ingress", "half", json!(["Ingress"]))])),
                            (true, Some("broken")) => (500, json!([])),
                            (true, Some(_)) => (200, json!([])),
                            (true, None) => (404, json!([])),
                        };
                        let body =
                            json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicyList", "items": items});
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

fn pii_pod(namespace: &str, pii: bool) -> String {
    let labels = if pii { json!({"app": "customers", "piimask.io/pii": "true"}) } else { json!({"app": "web"}) };
    json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "9b2c7e55-0f4d-4d8e-9a53-52f1c8a1e0d2",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "object": {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"generateName": "customers-", "namespace": namespace, "labels": labels},
                "spec": {"containers": [{"name": "app", "image": "example/customers:1.4"}]}
            }
        }
    })
    .to_string()
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
    assert_eq!(review["response"]["uid"], "9b2c7e55-0f4d-4d8e-9a53-52f1c8a1e0d2");
    review["response"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn pii_pods_are_refused_where_the_namespace_has_no_default_deny() {
    let pki = Pki::new("webhook-validate");
    let (api, calls) = api_server(&pki, "sa-token-1").await;
    let token = support::write_file(&pki.dir, "token", "sa-token-1\n");
    let api_server = format!("https://localhost:{}", api.port());
    let (ca, token_file) = (pki.path("ca.crt").to_string_lossy().into_owned(), token.to_string_lossy().into_owned());
    let webhook = start_webhook(&pki, &["--api-server", &api_server, "--api-ca", &ca, "--api-token-file", &token_file]);
    let client = Client::new(&pki, None, Http::H2);

    let allowed = validate(&client, webhook.addr, pii_pod("guarded", true)).await;
    assert_eq!(allowed["allowed"], true, "{allowed}");

    let refused = validate(&client, webhook.addr, pii_pod("half", true)).await;
    assert_eq!(refused["allowed"], false);
    assert_eq!(refused["status"]["code"], 403);
    let message = refused["status"]["message"].as_str().expect("message");
    assert!(message.contains("namespace `half`") && message.contains("for egress;"), "{message}");

    let refused = validate(&client, webhook.addr, pii_pod("open", true)).await;
    assert!(refused["status"]["message"].as_str().expect("message").contains("ingress and egress"), "{refused}");

    // A pod without the label is not checked: the API is not called.
    let before = calls.load(Ordering::SeqCst);
    assert_eq!(validate(&client, webhook.addr, pii_pod("open", false)).await["allowed"], true);
    assert_eq!(calls.load(Ordering::SeqCst), before);

    // The API failing refuses the PII pod with the reason (fails closed).
    let refused = validate(&client, webhook.addr, pii_pod("broken", true)).await;
    assert_eq!(refused["allowed"], false);
    assert!(refused["status"]["message"].as_str().expect("message").contains("500"), "{refused}");

    // A malformed review is a 400, and the server keeps serving.
    let request = Request::post("/validate")
        .header("host", "localhost")
        .body(Full::new(Bytes::from_static(b"[1,2")).map_err(|never| match never {}).boxed())
        .expect("request");
    let answer = client.send(webhook.addr, request).await.expect("answer");
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(answer.text().contains("not JSON"), "{}", answer.text());
    assert_eq!(validate(&client, webhook.addr, pii_pod("guarded", true)).await["allowed"], true);

    // A rotated token is read on the next call: a wrong one gets 401, refused.
    std::fs::write(&token, "stale-token").expect("rotate token");
    let refused = validate(&client, webhook.addr, pii_pod("guarded", true)).await;
    assert!(refused["status"]["message"].as_str().expect("message").contains("401"), "{refused}");
}
