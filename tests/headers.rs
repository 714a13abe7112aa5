//! Personal data outside bodies, as a client recovers it: response header
//! values and trailers through the inbound listener, and the request head
//! (path, query, headers) an app sends out through the egress listener.
//! The real binary, real certificates; every value is percent-decoded
//! twice before the planted data is looked for.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use support::{App, CUSTOMER_MASKED, Client, Http, Pki, Proxy};
use tokio::io::AsyncWriteExt;

/// What the app plants in headers and trailers.
const PLANTED: &[&str] = &["ana.lopez@example.com", "+14155552671", "4111 1111 1111 1111", "4111111111111111"];

/// A value percent-decoded twice, as a lenient client may read it.
fn decoded(value: &[u8]) -> String {
    let once: Vec<u8> = percent_decode(value);
    String::from_utf8_lossy(&percent_decode(&once)).into_owned()
}

fn percent_decode(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (value[i], value.get(i + 1).copied().and_then(hex), value.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// No planted value in any header but `etag`, which is structural and
/// not scanned (the app puts a card number's digits there on purpose).
fn assert_no_planted(headers: &HeaderMap, what: &str) {
    for (name, value) in headers.iter().filter(|(name, _)| *name != "etag") {
        let text = decoded(value.as_bytes());
        for planted in PLANTED {
            assert!(!text.contains(planted), "{what}: {name}: {text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn response_headers_reach_the_client_masked() {
    let app = App::start().await;
    let pki = Pki::new("headers");
    let proxy = Proxy::start(&pki.args(&app.url(), &[]));
    for http in [Http::H1, Http::H2] {
        let a = Client::new(&pki, Some("client"), http).get(proxy.addr, "/headers").await.expect("answer");
        assert_eq!(a.status, StatusCode::OK, "{http:?}");
        assert_eq!(a.text(), CUSTOMER_MASKED, "{http:?}");
        assert_no_planted(&a.headers, &format!("{http:?}"));
        let h = &a.headers;
        assert_eq!(h["location"], "/users/%5BEMAIL%5D?tab=orders");
        assert_eq!(h["x-user-email"], "[EMAIL]");
        assert_eq!(h["x-user-phone"], "[PHONE]");
        let cookies: Vec<_> = h.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["email=%5BEMAIL%5D; Path=/; HttpOnly", "card=%5BCARD%5D; Secure"]);
        assert_eq!(h["link"], "<mailto:[EMAIL]>; rel=\"author\"");
        assert_eq!(h["content-disposition"], "attachment; filename*=UTF-8''%5BEMAIL%5D.json");
        // Structural fields are not scanned: the ETag's digits stay.
        assert_eq!(h["etag"], "\"v1-4111111111111111\"");
        assert_eq!(h["content-type"], "application/json");
    }
    let audited = support::eventually("two audit events for headers", Duration::from_secs(5), || {
        let counts: Vec<String> = proxy
            .audit_events()
            .into_iter()
            .filter(|e| e["event"] == "masked" && e["part"] == "headers")
            .map(|e| e["counts"].as_str().unwrap_or("").to_string())
            .collect();
        (counts.len() == 2).then_some(counts)
    });
    assert_eq!(audited, ["email=5 phone=1 card=1"; 2], "counted per detector, once per response");
    proxy.assert_logs_clean();
}

/// An upstream that answers every request with a chunked JSON body and
/// trailers that carry personal data.
async fn trailer_upstream() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                while support::read_request_head(&mut tcp).await.is_some() {
                    let body = br#"{"email":"ana.lopez@example.com"}"#;
                    let mut answer = Vec::new();
                    answer.extend_from_slice(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\
                          trailer: x-user-email, grpc-message, grpc-status\r\n\r\n",
                    );
                    answer.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                    answer.extend_from_slice(body);
                    answer.extend_from_slice(
                        b"\r\n0\r\nx-user-email: ana.lopez@example.com\r\n\
                          grpc-message: no card 4111%201111%201111%201111\r\ngrpc-status: 0\r\n\r\n",
                    );
                    if tcp.write_all(&answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread")]
async fn http2_trailers_reach_the_client_masked() {
    let upstream = trailer_upstream().await;
    let pki = Pki::new("trailers");
    let proxy = Proxy::start(&pki.args(&format!("http://{upstream}"), &[]));
    let a = Client::new(&pki, Some("client"), Http::H2).get(proxy.addr, "/any").await.expect("answer");
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body, Bytes::from_static(br#"{"email":"[EMAIL]"}"#));
    let trailers = a.trailers.expect("the trailers reach an HTTP/2 client");
    assert_no_planted(&trailers, "trailers");
    assert_eq!(trailers["x-user-email"], "[EMAIL]");
    assert_eq!(trailers["grpc-message"], "no card %5BCARD%5D");
    assert_eq!(trailers["grpc-status"], "0");
    support::eventually("audit events for the body and the trailers", Duration::from_secs(5), || {
        let parts: Vec<_> =
            proxy.audit_events().into_iter().filter(|e| e["event"] == "masked").map(|e| e["part"].clone()).collect();
        (parts.contains(&"trailers".into()) && parts.contains(&"body".into())).then_some(())
    });
    proxy.assert_logs_clean();
}
