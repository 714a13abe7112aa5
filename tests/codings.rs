//! Bodies under stacks of content codings, through the real binary: each
//! layer is undone, the body masked and the layers applied again, for
//! responses and request bodies, over HTTP/1.1 and HTTP/2, inbound and
//! egress. A client that honours every coding recovers no planted value.

mod support;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use piimask::devpki::SERVER_ID;
use support::{App, Client, Http, PLANTED, Pki, Proxy, coding, planted_text};

/// A route that masks request bodies and responses.
fn masking_proxy(pki: &Pki, app: &App) -> Proxy {
    Proxy::one_route(pki, &app.url(), "request_profile: default", "")
}

/// What a masked body must read: no planted value, the prose intact.
fn assert_masked(decoded: &[u8], what: &str) {
    let text = String::from_utf8_lossy(decoded);
    for value in PLANTED {
        assert!(!text.contains(value), "{what}: `{value}` got through");
    }
    assert!(text.contains("The order ships on Tuesday."), "{what}: {text:.200}");
    assert_eq!(text, planted_text(true), "{what}");
}

/// Each stack as its `Content-Encoding` lines (two where it has two).
const STACKS: &[&[&str]] = &[
    &["gzip", "br"],
    &["deflate,br", "zstd"],
    &["zstd", "gzip, gzip"],
    &["br, identity", "deflate"],
    &["x-gzip", "zstd"],
];

#[tokio::test(flavor = "multi_thread")]
async fn responses_under_stacked_codings_are_masked_over_http1_and_http2() {
    let app = App::start().await;
    let pki = Pki::new("codings-responses");
    let proxy = masking_proxy(&pki, &app);
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        for lines in STACKS {
            let path = format!("/coded/{}", lines.join("/").replace(' ', ""));
            let a = client.get(proxy.addr, &path).await.expect("answer");
            assert_eq!(a.status, StatusCode::OK, "{http:?} {path}: {}", a.text());
            let declared: Vec<&str> =
                a.headers.get_all("content-encoding").iter().map(|v| v.to_str().expect("ASCII")).collect();
            assert_eq!(declared.len(), 2, "{http:?} {path}: both lines kept");
            assert_masked(&coding::decode(&a.headers, &a.body), &format!("{http:?} {path}"));
        }
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn request_bodies_under_stacked_codings_are_masked_over_http1_and_http2() {
    let app = App::start().await;
    let pki = Pki::new("codings-requests");
    let proxy = masking_proxy(&pki, &app);
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        for lines in STACKS {
            let mut request = Request::post("/echo").header("host", "localhost").header("content-type", "text/plain");
            for line in *lines {
                request = request.header("content-encoding", *line);
            }
            let body = coding::encode(lines, planted_text(false).as_bytes());
            let a = client.send(proxy.addr, request.body(full(body)).expect("request")).await.expect("answer");
            assert_eq!(a.status, StatusCode::OK, "{http:?} {lines:?}: {}", a.text());
            let seen = app.last_seen();
            assert_masked(
                &coding::decode(&seen.headers, &seen.body),
                &format!("{http:?} {lines:?}, as the app saw it"),
            );
        }
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn more_than_four_layers_or_an_unknown_coding_are_refused() {
    let app = App::start().await;
    let pki = Pki::new("codings-refused");
    let proxy = masking_proxy(&pki, &app);
    let client = Client::new(&pki, Some("client"), Http::H2);
    let deep = client.get(proxy.addr, "/coded/gzip,gzip,gzip/gzip,gzip").await.expect("answer");
    assert_eq!(deep.status, StatusCode::BAD_GATEWAY);
    assert!(deep.text().contains("more than 4 content codings"), "{}", deep.text());
    for value in PLANTED {
        assert!(!deep.text().contains(value));
    }

    let lines = ["gzip, br", "gzip, deflate, zstd"];
    let mut request = Request::post("/echo").header("host", "localhost").header("content-type", "text/plain");
    for line in lines {
        request = request.header("content-encoding", line);
    }
    let body = coding::encode(&lines, planted_text(false).as_bytes());
    let a = client.send(proxy.addr, request.body(full(body)).expect("request")).await.expect("answer");
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(a.text().contains("more than 4 content codings"), "{}", a.text());

    let request = Request::post("/echo")
        .header("host", "localhost")
        .header("content-type", "text/plain")
        .header("content-encoding", "compress")
        .body(full(planted_text(false)))
        .expect("request");
    let a = client.send(proxy.addr, request).await.expect("answer");
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(a.text().contains("use gzip, deflate, br or zstd"), "{}", a.text());
    assert_eq!(app.hits(), 1, "only the response's request reached the app");
}

/// A body that does not decode under its coding or charset is refused
/// with a status and a reason, not cut off before its head: the client
/// learns why, and the undecoded bytes (here plain text under `gzip`)
/// never reach it. Bare deflate under `deflate` is read, as browsers do.
#[tokio::test(flavor = "multi_thread")]
async fn bodies_that_do_not_decode_are_refused_with_a_reason() {
    let app = App::start().await;
    let pki = Pki::new("codings-corrupt");
    let proxy = masking_proxy(&pki, &app);
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        for path in ["/plain-as-gzip", "/bad-iso-2022-jp"] {
            let a = client.get(proxy.addr, path).await.expect("an answer, not a cut connection");
            assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{http:?} {path}: {}", a.text());
            assert!(a.text().contains("does not decode under its content encoding or charset"), "{}", a.text());
            for value in PLANTED {
                assert!(!a.text().contains(value), "{http:?} {path}: `{value}` got through");
            }
        }
        let a = client.get(proxy.addr, "/bare-deflate").await.expect("answer");
        assert_eq!(a.status, StatusCode::OK, "{http:?}: {}", a.text());
        assert_masked(&coding::decode(&a.headers, &a.body), &format!("{http:?} bare deflate"));

        let hits = app.hits();
        let request = Request::post("/echo")
            .header("host", "localhost")
            .header("content-type", "text/plain")
            .header("content-encoding", "gzip")
            .body(full(planted_text(false)))
            .expect("request");
        let a = client.send(proxy.addr, request).await.expect("answer");
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{http:?}: {}", a.text());
        assert!(a.text().contains("request body does not decode"), "{}", a.text());
        assert_eq!(app.hits(), hits, "{http:?}: the undecodable request never reached the app");
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn egress_request_bodies_under_stacked_codings_are_masked() {
    let peer_app = App::start().await;
    let pki = Pki::new("codings-egress");
    let peer = Proxy::start(&pki.args(&peer_app.url(), &[]));
    let yaml = format!(
        r#"
tls: {{ cert: client.crt, key: client.key, ca: ca.crt }}
egress:
  listen: 127.0.0.1:0
  peers:
    - {{ name: customers, hosts: [customers.svc], address: "{addr}", identity: "{SERVER_ID}" }}
"#,
        addr = peer.addr
    );
    let config = support::write_file(&pki.dir, "egress.yaml", &yaml);
    let egress = Proxy::start_until(
        &["run".into(), "--config".into(), config.to_string_lossy().into()],
        "egress listener ready",
    );
    for lines in STACKS {
        let mut request = Request::post("http://customers.svc/echo")
            .header("host", "customers.svc")
            .header("content-type", "text/plain");
        for line in *lines {
            request = request.header("content-encoding", *line);
        }
        let body = Full::new(Bytes::from(coding::encode(lines, planted_text(false).as_bytes())));
        let tcp = tokio::net::TcpStream::connect(egress.addr).await.expect("connect egress");
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("handshake");
        tokio::spawn(conn);
        let response = sender.send_request(request.body(body).expect("request")).await.expect("response");
        assert_eq!(response.status(), StatusCode::OK, "{lines:?}");
        response.into_body().collect().await.expect("body");
        let seen = peer_app.last_seen();
        assert_masked(&coding::decode(&seen.headers, &seen.body), &format!("egress {lines:?}, as the peer saw it"));
    }
    egress.assert_logs_clean();
}

/// A body far larger than the memory it may use streams through under a
/// coding: the stages' windows and buffers are the cost, not the body.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_coded_body_streams_with_flat_memory() {
    let app = App::start().await;
    let pki = Pki::new("codings-big");
    let proxy = masking_proxy(&pki, &app);
    let client = Client::new(&pki, Some("client"), Http::H2);
    let a = client.get(proxy.addr, "/big-coded?mib=64&coding=zstd").await.expect("answer");
    assert_eq!(a.status, StatusCode::OK);
    let plain = coding::decode(&a.headers, &a.body);
    assert!(plain.len() > 48 << 20, "the whole body came through: {} bytes", plain.len());
    assert!(!plain.windows(8).any(|w| w == b"@example"), "an email got through");
    assert!(plain.ends_with(b"{}]"));
    let peak = proxy.peak_rss_kib();
    println!("peak RSS {peak} KiB while 64 MiB of zstd-coded JSON streamed through");
    assert!(peak < 48 * 1024, "peak RSS {peak} KiB while 64 MiB streamed through");
}

fn full(body: impl Into<Bytes>) -> support::TestBody {
    Full::new(body.into()).map_err(|never| match never {}).boxed()
}
