//! `piimask webhook` over real HTTPS with real AdmissionReview requests:
//! a Pod is injected (the JSONPatch applies to give the sidecar), an
//! opted-out Pod is allowed unchanged, malformed requests get a clear 400,
//! and the server keeps serving.

mod support;

use base64::Engine as _;
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
    let args: Vec<String> = [
        "webhook",
        "--listen",
        "127.0.0.1:0",
        "--cert",
        &pki.path("server.crt").to_string_lossy(),
        "--key",
        &pki.path("server.key").to_string_lossy(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let webhook = Proxy::start_until(&args, "webhook listener ready");
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
