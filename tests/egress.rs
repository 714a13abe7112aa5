//! The egress side as an app sees it: app → `piimask` egress listener
//! (plain HTTP on localhost) → mTLS → the peer's `piimask` → the peer's
//! app. Two real piimask processes, real certificates.

mod support;

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use piimask::devpki::{ALLOWED_CLIENT_ID, SERVER_ID};
use support::{App, Pki, Proxy};

/// The egress sidecar's config: the workload is the allowed client
/// (billing); `customers` is the real peer; `impostor` dials the same
/// address but expects another identity, so the handshake must fail.
fn egress_config(pki: &Pki, peer: SocketAddr) -> std::path::PathBuf {
    let yaml = format!(
        r#"
tls:
  cert: client.crt
  key: client.key
  ca: ca.crt
egress:
  listen: 127.0.0.1:0
  peers:
    - name: customers
      hosts: [customers.svc, customers.app.svc.cluster.local]
      address: {peer}
      identity: {SERVER_ID}
      mask_headers: [x-user-email]
    - name: impostor
      hosts: [impostor.svc]
      address: {peer}
      identity: spiffe://piimask.dev/ns/other/sa/someone-else
"#
    );
    support::write_file(&pki.dir, "egress.yaml", &yaml)
}

/// One plain HTTP/1.1 request from "the app" to the egress listener.
async fn send(egress: SocketAddr, request: Request<Full<Bytes>>) -> (StatusCode, String) {
    let tcp = tokio::net::TcpStream::connect(egress).await.expect("connect egress");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("handshake");
    tokio::spawn(conn);
    let response = sender.send_request(request).await.expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn body(s: &str) -> Full<Bytes> {
    Full::new(Bytes::from(s.to_string()))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_reaches_only_configured_peers_with_its_data_masked() {
    let peer_app = App::start().await;
    let pki = Pki::new("egress");
    let peer = Proxy::start(&pki.args(&peer_app.url(), &["--profile", "default"]));
    let config = egress_config(&pki, peer.addr);
    let check = std::process::Command::new(support::BIN)
        .args(["check", "--config", &config.to_string_lossy()])
        .output()
        .expect("check");
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    let egress = Proxy::start_until(
        &["run".into(), "--config".into(), config.to_string_lossy().into()],
        "egress listener ready",
    );

    // As an HTTP forward proxy (absolute-form target).
    let request = Request::post("http://customers.svc/echo?email=ana.lopez%40example.com&page=2")
        .header("host", "customers.svc")
        .header("content-type", "application/json")
        .header("x-user-email", "ana.lopez@example.com")
        .body(body(r#"{"email":"ana.lopez@example.com","amount":12.5}"#))
        .expect("request");
    let (status, _) = send(egress.addr, request).await;
    assert_eq!(status, StatusCode::OK);
    let seen = peer_app.last_seen();
    assert_eq!(seen.body.as_ref(), br#"{"email":"[EMAIL]","amount":12.5}"#);
    assert_eq!(seen.uri, "/echo?email=%5BEMAIL%5D&page=2");
    assert_eq!(seen.headers["x-user-email"], "[EMAIL]");
    assert_eq!(seen.headers["x-piimask-peer"], ALLOWED_CLIENT_ID, "the peer saw the workload's identity");

    // By Host header (origin-form target).
    let request = Request::builder()
        .method(Method::PUT)
        .uri("/echo")
        .header("host", "customers.app.svc.cluster.local:8080")
        .header("content-type", "text/plain")
        .body(body("call me on +44 20 7946 0958"))
        .expect("request");
    assert_eq!(send(egress.addr, request).await.0, StatusCode::OK);
    assert_eq!(peer_app.last_seen().body.as_ref(), b"call me on [PHONE]");

    let hits = peer_app.hits();
    // A host that is not a configured peer.
    let request = Request::get("http://evil.example/echo").header("host", "evil.example").body(body("")).expect("req");
    let (status, text) = send(egress.addr, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text.contains("not a configured peer"), "{text}");
    // A peer whose certificate does not carry the expected identity.
    let request = Request::get("http://impostor.svc/echo").header("host", "impostor.svc").body(body("")).expect("req");
    assert_eq!(send(egress.addr, request).await.0, StatusCode::BAD_GATEWAY);
    // CONNECT to a destination not allowed as opaque TLS.
    let request = Request::builder().method(Method::CONNECT).uri("api.example.com:443").body(body("")).expect("req");
    assert_eq!(send(egress.addr, request).await.0, StatusCode::FORBIDDEN);
    assert_eq!(peer_app.hits(), hits, "refused requests never reach a peer");

    egress.assert_logs_clean();
    peer.assert_logs_clean();
}
