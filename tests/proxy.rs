//! `piimask run` as peers see it: the real binary, real sockets on
//! 127.0.0.1, real certificates (the dev PKI plus foreign and expired ones).

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use support::{App, CUSTOMER_MASKED, Client, Http, PLANTED, Pki, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn setup(name: &str, app: &App, extra: &[&str]) -> (Pki, Proxy) {
    let pki = Pki::new(name);
    let proxy = Proxy::start(&pki.args(&app.url(), extra));
    (pki, proxy)
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_admits_only_the_allowed_identity_from_the_trusted_ca() {
    let app = App::start().await;
    let (pki, proxy) = setup("matrix", &app, &[]);
    pki.foreign_client("foreign");
    pki.expired_client("expired");

    let allowed = Client::new(&pki, Some("client"), Http::H1).get(proxy.addr, "/json").await.expect("allowed peer");
    assert_eq!(allowed.status, StatusCode::OK);
    assert_eq!(app.hits(), 1);

    let other = Client::new(&pki, Some("other-client"), Http::H1).get(proxy.addr, "/json").await.expect("answered");
    assert_eq!(other.status, StatusCode::FORBIDDEN);
    assert!(other.text().contains("peer identity is not allowed"), "{}", other.text());
    assert_eq!(app.hits(), 1, "a refused peer must not reach the app");

    for who in [None, Some("foreign"), Some("expired")] {
        let result = Client::new(&pki, who, Http::H1).get(proxy.addr, "/json").await;
        assert!(result.is_err(), "{who:?} got through: {:?}", result.map(|a| a.status));
    }
    assert_eq!(app.hits(), 1);
    let logs = proxy.logs();
    assert!(logs.contains("TLS handshake refused"), "{logs}");
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_are_masked_over_http1_and_http2() {
    let app = App::start().await;
    let (pki, proxy) = setup("masked", &app, &[]);
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        for path in ["/json", "/chunked"] {
            let a = client.get(proxy.addr, path).await.expect("answer");
            assert_eq!(a.status, StatusCode::OK, "{http:?} {path}");
            assert_eq!(a.text(), CUSTOMER_MASKED, "{http:?} {path}");
            assert!(a.headers.get("content-length").is_none_or(|v| v == &a.body.len().to_string()));
        }
        let nd = client.get(proxy.addr, "/ndjson").await.expect("ndjson");
        assert_eq!(nd.text(), format!("{CUSTOMER_MASKED}\n{CUSTOMER_MASKED}\n"), "{http:?}");
        let text = client.get(proxy.addr, "/text").await.expect("text");
        assert_eq!(text.text(), "Ana wrote from [EMAIL]; call [PHONE].\n", "{http:?}");
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_responses_are_masked_and_unknown_encodings_refused() {
    let app = App::start().await;
    let (pki, proxy) = setup("gzip", &app, &[]);
    let client = Client::new(&pki, Some("client"), Http::H1);
    let request = || Request::get("/gzip").header("host", "localhost").header("accept-encoding", "gzip, br");
    let a = client.send(proxy.addr, request().body(empty()).expect("request")).await.expect("gzip");
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["content-encoding"], "gzip");
    assert_eq!(String::from_utf8(support::gunzip(&a.body)).expect("utf-8"), CUSTOMER_MASKED);

    // Every Content-Encoding line counts: one layer behind `identity` is
    // masked; two layers of gzip on two lines are both undone, not
    // decoded once with the inner layer passed.
    let layered = client.get(proxy.addr, "/identity-then-gzip").await.expect("identity, gzip");
    assert_eq!(layered.status, StatusCode::OK);
    assert_eq!(String::from_utf8(support::gunzip(&layered.body)).expect("utf-8"), CUSTOMER_MASKED);
    let twice = client.get(proxy.addr, "/gzip-twice").await.expect("gzip twice");
    assert_eq!(twice.status, StatusCode::OK);
    let decoded = support::coding::decode(&twice.headers, &twice.body);
    assert_eq!(String::from_utf8(decoded).expect("utf-8"), CUSTOMER_MASKED);

    let compress = client.get(proxy.addr, "/compress").await.expect("compress");
    assert_eq!(compress.status, StatusCode::BAD_GATEWAY);
    assert!(!compress.headers.contains_key("content-encoding"), "the refusal is piimask's own answer");
    assert!(compress.text().contains("response content encoding cannot be masked"), "{}", compress.text());
    for value in PLANTED {
        assert!(!compress.text().contains(value));
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_body_far_larger_than_memory_streams_with_flat_memory() {
    let app = App::start().await;
    let (pki, proxy) = setup("big", &app, &[]);
    let client = Client::new(&pki, Some("client"), Http::H2);
    let a = client.get(proxy.addr, "/big?mib=96").await.expect("big body");
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.len() > 64 << 20, "the whole body came through: {} bytes", a.body.len());
    assert!(!a.body.windows(8).any(|w| w == b"@example"), "an email got through");
    assert!(a.body.ends_with(b"{}]"));
    let peak = proxy.peak_rss_kib();
    assert!(peak < 48 * 1024, "peak RSS {peak} KiB while 96 MiB streamed through");
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_keep_alive_connections_cost_little_memory() {
    let app = App::start().await;
    let (pki, proxy) = setup("idle", &app, &["--threads", "1"]);
    let client = Client::new(&pki, Some("client"), Http::H1);
    client.get(proxy.addr, "/json").await.expect("warm-up");
    let idle = proxy.anon_rss_kib();
    assert!(idle < 8 * 1024, "idle heap and stacks {idle} KiB");
    let mut open = Vec::new();
    for _ in 0..200 {
        open.push(client.keep_alive(proxy.addr, "/json").await.expect("keep-alive connection"));
    }
    let per_connection = proxy.anon_rss_kib().saturating_sub(idle) / 200;
    assert!(per_connection < 64, "{per_connection} KiB per idle keep-alive connection");
    assert!(open.iter().all(|s| !s.is_closed()), "the connections stayed open");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_learns_the_verified_peer_and_cannot_be_fooled() {
    let app = App::start().await;
    let (pki, proxy) = setup("peer-header", &app, &[]);
    let client = Client::new(&pki, Some("client"), Http::H1);
    let request = Request::get("/echo-peer")
        .header("host", "localhost")
        .header("x-piimask-peer", "spiffe://piimask.dev/ns/admin/sa/root")
        .body(empty())
        .expect("request");
    let a = client.send(proxy.addr, request).await.expect("answer");
    assert_eq!(a.text(), piimask::devpki::ALLOWED_CLIENT_ID);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_that_is_down_gives_502_at_once() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", closed.local_addr().expect("addr"));
    drop(closed);
    let pki = Pki::new("down");
    let proxy = Proxy::start(&pki.args(&url, &[]));
    let started = Instant::now();
    let a = Client::new(&pki, Some("client"), Http::H1).get(proxy.addr, "/json").await.expect("answer");
    assert_eq!(a.status, StatusCode::BAD_GATEWAY);
    assert!(a.text().contains("upstream is unavailable"), "{}", a.text());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_upstream_gives_504() {
    let app = App::start().await;
    let (pki, proxy) = setup("slow-upstream", &app, &["--upstream-timeout", "0.5"]);
    let a = Client::new(&pki, Some("client"), Http::H1).get(proxy.addr, "/slow").await.expect("answer");
    assert_eq!(a.status, StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_headers_get_431_and_the_proxy_keeps_serving() {
    let app = App::start().await;
    let (pki, proxy) = setup("headers", &app, &[]);
    let client = Client::new(&pki, Some("client"), Http::H1);
    let huge = "x".repeat(128 * 1024);
    let request = Request::get("/json").header("host", "localhost").header("x-big", &huge).body(empty()).expect("req");
    let a = client.send(proxy.addr, request).await.expect("answered");
    assert_eq!(a.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    // A client still sending the head when it is refused: without a
    // lingering close the unread bytes make the kernel reset the
    // connection, and the client gets a broken pipe instead of the 431.
    let mut tls = client.tls(proxy.addr).await.expect("handshake");
    let head = format!("GET /json HTTP/1.1\r\nHost: localhost\r\nx-big: {huge}\r\n\r\n");
    for piece in head.as_bytes().chunks(16 * 1024) {
        tls.write_all(piece).await.expect("the refused head is still read");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut answer = Vec::new();
    let _ = tls.read_to_end(&mut answer).await;
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 431"), "{:?}", String::from_utf8_lossy(&answer));
    assert_eq!(app.hits(), 0);
    assert_eq!(client.get(proxy.addr, "/json").await.expect("next request").status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_client_is_cut_off_and_others_are_served() {
    let app = App::start().await;
    let (pki, proxy) = setup("slowloris", &app, &["--header-read-timeout", "1"]);
    // A TLS connection that sends half a request head and then nothing.
    let mut tls = Client::new(&pki, Some("client"), Http::H1).tls(proxy.addr).await.expect("handshake");
    tls.write_all(b"GET /json HTTP/1.1\r\nHost: local").await.expect("write");
    let started = Instant::now();
    let other = Client::new(&pki, Some("client"), Http::H1).get(proxy.addr, "/json").await.expect("served");
    assert_eq!(other.status, StatusCode::OK);
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut buf)).await.expect("closed in time");
    assert!(started.elapsed() < Duration::from_secs(9));
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[tokio::test(flavor = "multi_thread")]
async fn upgrades_are_refused() {
    let app = App::start().await;
    let (pki, proxy) = setup("upgrade", &app, &[]);
    let request = Request::get("/json")
        .header("host", "localhost")
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .body(empty())
        .expect("req");
    let a = Client::new(&pki, Some("client"), Http::H1).send(proxy.addr, request).await.expect("answer");
    assert_eq!(a.status, StatusCode::FORBIDDEN);
    assert_eq!(app.hits(), 0);
}

fn empty() -> support::TestBody {
    Full::new(Bytes::new()).map_err(|never| match never {}).boxed()
}

#[tokio::test(flavor = "multi_thread")]
async fn request_bodies_over_the_route_limit_get_413() {
    let app = App::start().await;
    let (pki, proxy) = setup("body-limit", &app, &["--max-request-bytes", "1000"]);
    let client = Client::new(&pki, Some("client"), Http::H2);
    let big = "x".repeat(5000);
    let declared = Request::post("/echo").header("host", "localhost").body(full(big.clone())).expect("req");
    let a = client.send(proxy.addr, declared).await.expect("answer");
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.hits(), 0, "a body declared too large is refused before the app");
    let small = Request::post("/echo").header("host", "localhost").body(full("ok")).expect("req");
    assert_eq!(client.send(proxy.addr, small).await.expect("answer").status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_reaches_a_tls_upstream_with_its_own_certificate() {
    let app = App::start().await;
    let pki = Pki::new("gateway");
    // The legacy service: TLS with client certificates, admitting the gateway.
    let legacy = Proxy::start(&pki.args(&app.url(), &["--allow-peer", piimask::devpki::SERVER_ID]));
    let yaml = format!(
        r#"
tls: {{ cert: server.crt, key: server.key, ca: ca.crt }}
inbound:
  listen: 127.0.0.1:0
  routes:
    - {{ name: legacy, allow: ["{allowed}"], upstream: legacy }}
upstreams:
  - {{ name: legacy, url: "https://localhost:{port}", ca: ca.crt, client_cert: true }}
"#,
        allowed = piimask::devpki::ALLOWED_CLIENT_ID,
        port = legacy.addr.port()
    );
    let config = support::write_file(&pki.dir, "gateway.yaml", &yaml);
    let gateway = Proxy::start(&["run".into(), "--config".into(), config.to_string_lossy().into()]);
    let client = Client::new(&pki, Some("client"), Http::H1);
    let a = client.get(gateway.addr, "/json").await.expect("answer");
    assert_eq!((a.status, a.text().as_str()), (StatusCode::OK, CUSTOMER_MASKED));
    let who = client.get(gateway.addr, "/echo-peer").await.expect("answer");
    assert_eq!(who.text(), piimask::devpki::SERVER_ID, "the legacy side saw the gateway's identity");
    gateway.assert_logs_clean();
}

fn full(s: impl Into<String>) -> support::TestBody {
    Full::new(Bytes::from(s.into())).map_err(|never| match never {}).boxed()
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_keep_alive_connections_are_closed_after_the_header_timeout() {
    let app = App::start().await;
    let (pki, proxy) = setup("idle-timeout", &app, &["--header-read-timeout", "1"]);
    let client = Client::new(&pki, Some("client"), Http::H1);
    let sender = client.keep_alive(proxy.addr, "/json").await.expect("keep-alive connection");
    let started = Instant::now();
    support::eventually("the idle connection closed", Duration::from_secs(10), || sender.is_closed().then_some(()));
    assert!(started.elapsed() >= Duration::from_millis(500), "closed too early: {:?}", started.elapsed());
}
