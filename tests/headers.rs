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
use support::reader::percent_decode;
use support::{App, CUSTOMER_MASKED, Client, Http, Pki, Proxy};
use tokio::io::AsyncWriteExt;

/// What the app plants in headers and trailers.
const PLANTED: &[&str] = &["ana.lopez@example.com", "+14155552671", "4111 1111 1111 1111", "4111111111111111"];

/// A value percent-decoded twice, as a lenient client may read it.
fn decoded(value: &[u8]) -> String {
    let once: Vec<u8> = percent_decode(value, false);
    String::from_utf8_lossy(&percent_decode(&once, false)).into_owned()
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

/// A header folded over two lines (obs-fold, which RFC 9112 tells a
/// recipient to read as one line joined by spaces) is read, joined and
/// masked, not refused as a broken upstream.
#[tokio::test(flavor = "multi_thread")]
async fn a_folded_response_header_is_joined_and_masked() {
    let upstream = support::raw_upstream(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-contact: write to\r\n ana.lopez@example.com\r\n\tor call +14155552671\r\ncontent-length: 2\r\n\r\nok",
    )
    .await;
    let pki = Pki::new("headers-folded");
    let proxy = Proxy::start(&pki.args(&format!("http://{upstream}"), &[]));
    for http in [Http::H1, Http::H2] {
        let a = Client::new(&pki, Some("client"), http).get(proxy.addr, "/").await.expect("answer");
        assert_eq!(a.status, StatusCode::OK, "{http:?}: {}", a.text());
        assert_no_planted(&a.headers, &format!("{http:?}"));
        let contact = a.headers["x-contact"].to_str().expect("ASCII");
        assert!(
            contact.starts_with("write to") && contact.contains("[EMAIL]") && contact.contains("[PHONE]"),
            "{contact}"
        );
    }
    proxy.assert_logs_clean();
}

/// Header values are read through the spellings a body is read through
/// and through RFC 2047 encoded-words; values without personal data pass
/// as they are.
#[tokio::test(flavor = "multi_thread")]
async fn spelled_and_encoded_header_values_reach_the_client_masked() {
    let app = App::start().await;
    let pki = Pki::new("spelled-headers");
    let proxy = Proxy::start(&pki.args(&app.url(), &[]));
    for http in [Http::H1, Http::H2] {
        let a = Client::new(&pki, Some("client"), http).get(proxy.addr, "/spelled-headers").await.expect("answer");
        assert_eq!(a.status, StatusCode::OK, "{http:?}");
        let h = &a.headers;
        for (name, value) in h {
            let read = support::spelled::read(&support::reader::as_read(&String::from_utf8_lossy(value.as_bytes())));
            let words = rfc2047_decoded(&read);
            for planted in ["ana.lopez@example.com", "4111111111111111"] {
                let squeezed: String = words.chars().filter(|c| !c.is_whitespace()).collect();
                assert!(!squeezed.contains(planted), "{http:?}: {name}: {words}");
            }
        }
        assert_eq!(h["x-ref"], "[EMAIL]");
        assert_eq!(h["x-fullwidth"], "[EMAIL]");
        assert_eq!(h["x-digits"], "card [CARD]");
        assert_eq!(h["content-disposition"], "attachment; filename=\"[EMAIL]\"");
        assert_eq!(h["x-from"], "=?utf-8?q?Ana_L=C3=B3pez?= <[EMAIL]>");
        assert_eq!(h["x-plain"], "Tom &amp; Jerry =?utf-8?q?hello?=");
        assert_eq!(h["x-adjacent"], "[EMAIL]");
        assert_eq!(h["x-utf16"], "[EMAIL]");
        assert_eq!(h["x-quoted"], "\"[EMAIL]\"");
        assert_eq!(h["x-cookie-octal"], "e=\"[EMAIL]\"");
        assert_eq!(h["x-continued"], "attachment; filename*0=\"[EMAIL]\"");
    }
    proxy.assert_logs_clean();
}

/// `s` with its `=?charset?B|Q?…?=` words decoded, a client's way.
fn rfc2047_decoded(s: &str) -> String {
    use base64::Engine as _;
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find("=?") {
        out.push_str(&rest[..at]);
        let word = &rest[at..];
        let parts: Vec<&str> = word[2..].splitn(4, '?').collect();
        let decoded = match parts.as_slice() {
            [_, coding, text, tail] if tail.starts_with('=') => {
                let bytes = match *coding {
                    "B" | "b" => base64::engine::general_purpose::STANDARD.decode(text).ok(),
                    _ => Some(percent_decode(text.replace('_', " ").replace('=', "%").as_bytes(), false)),
                };
                bytes.map(|b| {
                    (String::from_utf8_lossy(&b).into_owned(), 2 + parts[0].len() + coding.len() + text.len() + 4)
                })
            }
            _ => None,
        };
        match decoded {
            Some((text, used)) => {
                out.push_str(&text);
                rest = &word[used..];
            }
            None => {
                out.push_str("=?");
                rest = &word[2..];
            }
        }
    }
    out.push_str(rest);
    out
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
                          trailer: x-user-email, grpc-message, grpc-status, x-ref, x-fullwidth\r\n\r\n",
                    );
                    answer.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                    answer.extend_from_slice(body);
                    answer.extend_from_slice(
                        b"\r\n0\r\nx-user-email: ana.lopez@example.com\r\n\
                          grpc-message: no card 4111%201111%201111%201111\r\ngrpc-status: 0\r\n\
                          x-ref: ana.lopez&#64;example.com\r\nx-fullwidth: ana.lopez\xef\xbc\xa0example.com\r\n\r\n",
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
    assert_eq!(trailers["x-ref"], "[EMAIL]");
    assert_eq!(trailers["x-fullwidth"], "[EMAIL]");
    support::eventually("audit events for the body and the trailers", Duration::from_secs(5), || {
        let parts: Vec<_> =
            proxy.audit_events().into_iter().filter(|e| e["event"] == "masked").map(|e| e["part"].clone()).collect();
        (parts.contains(&"trailers".into()) && parts.contains(&"body".into())).then_some(())
    });
    proxy.assert_logs_clean();
}

/// The egress sidecar's config: `customers` refuses personal data in a
/// request head (the default); `customers-masked` is the same peer with
/// `request_head: mask`.
fn egress_config(pki: &Pki, peer: SocketAddr) -> std::path::PathBuf {
    let id = piimask::devpki::SERVER_ID;
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
      hosts: [customers.svc]
      address: {peer}
      identity: {id}
    - name: customers-masked
      hosts: [customers-masked.svc]
      address: {peer}
      identity: {id}
      request_head: mask
"#
    );
    support::write_file(&pki.dir, "egress.yaml", &yaml)
}

/// One plain HTTP/1.1 GET from "the app" through the egress listener, as
/// an HTTP forward proxy would send it.
async fn egress_get(egress: SocketAddr, url: &str, headers: &[(&str, &str)]) -> (StatusCode, HeaderMap, String) {
    use http_body_util::BodyExt;
    let tcp = tokio::net::TcpStream::connect(egress).await.expect("connect egress");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp)).await.expect("handshake");
    tokio::spawn(conn);
    let uri: http::Uri = url.parse().expect("url");
    let mut request = http::Request::get(url).header("host", uri.host().expect("host"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender.send_request(request.body(support::full_body("")).expect("request")).await.expect("answer");
    let (status, headers) = (response.status(), response.headers().clone());
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn egress_refuses_personal_data_in_the_request_head_unless_the_peer_says_mask() {
    let peer_app = App::start().await;
    let pki = Pki::new("egress-head");
    let peer = Proxy::start(&pki.args(&peer_app.url(), &[]));
    let config = egress_config(&pki, peer.addr);
    let egress = Proxy::start_until(
        &["run".into(), "--config".into(), config.to_string_lossy().into()],
        "egress listener ready",
    );

    // Refused, with a reason naming the peer, the part and the detector,
    // and never reaching the peer.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: &[Case] = &[
        ("http://customers.svc/echo/ana.lopez@example.com", &[], "its path (detector email)"),
        ("http://customers.svc/echo/ana.lopez%2540example.com", &[], "its path (detector email)"),
        ("http://customers.svc/echo/+14155552671/orders", &[], "its path (detector phone)"),
        ("http://customers.svc/echo?ana.lopez%40example.com=1", &[], "its query keys (detector email)"),
        ("http://customers.svc/echo", &[("x-customer", "4111 1111 1111 1111")], "its headers (detector card)"),
        ("http://customers.svc/echo", &[("referer", "https://a.example/u/ana.lopez%40example.com")], "its headers"),
        // Spellings a peer's header parser undoes.
        (
            "http://customers.svc/echo",
            &[("x-owner", "=?utf-8?q?ana.lopez?= =?utf-8?q?=40example.com?=")],
            "its headers",
        ),
        ("http://customers.svc/echo", &[("x-owner", "\"ana.lopez\\@example.com\"")], "its headers"),
        (
            "http://customers.svc/echo",
            &[("x-owner", "=?utf-16le?B?YQBuAGEAQABlAHgAYQBtAHAAbABlAC4AYwBvAG0A?=")],
            "its headers",
        ),
        (
            "http://customers.svc/echo",
            &[("x-file", "a; filename*0*=utf-8''ana.lopez%40ex; filename*1*=ample.com")],
            "its headers",
        ),
    ];
    for (url, headers, part) in cases {
        let (status, answer_headers, text) = egress_get(egress.addr, url, headers).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{url}");
        let expected = format!("piimask: egress request to customers carries personal data in {part}");
        assert!(text.starts_with(&expected) && text.trim_end().ends_with("; refused"), "{url}: {text}");
        assert!(answer_headers["x-piimask-reason"].to_str().expect("ascii").starts_with("egress request carries"));
        for planted in PLANTED {
            assert!(!decoded(text.as_bytes()).contains(planted), "the refusal echoes nothing: {text}");
        }
    }
    assert_eq!(peer_app.hits(), 0, "no refused request reached the peer");

    // Query values and cookies are masked; separators and untouched pairs
    // keep their bytes; credentials pass as sent.
    let (status, _, _) = egress_get(
        egress.addr,
        "http://customers.svc/echo?a=1;b=%7e&email=ana.lopez%2540example.com",
        &[
            ("cookie", "sid=abc123; email=ana.lopez%40example.com; e=\"ana.lopez\\100example.com\""),
            ("authorization", "Bearer 4111111111111111"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let seen = peer_app.last_seen();
    assert_eq!(seen.uri, "/echo?a=1;b=%7e&email=%5BEMAIL%5D");
    assert_eq!(seen.headers["cookie"], "sid=abc123; email=%5BEMAIL%5D; e=\"[EMAIL]\"");
    assert_eq!(seen.headers["authorization"], "Bearer 4111111111111111");

    // The peer that opts in gets the head masked instead.
    let (status, _, _) = egress_get(
        egress.addr,
        "http://customers-masked.svc/echo/ana.lopez@example.com?tel%3A%2B14155552671=x;page=2",
        &[("x-customer", "4111 1111 1111 1111")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let seen = peer_app.last_seen();
    assert_eq!(seen.uri, "/echo/%5BEMAIL%5D?tel%3A%5BPHONE%5D=x;page=2");
    assert_eq!(seen.headers["x-customer"], "[CARD]");
    assert_no_planted(&seen.headers, "masked head");
    assert_eq!(peer_app.hits(), 2);

    support::eventually("the refusals audited", Duration::from_secs(5), || {
        let refused = egress
            .audit_events()
            .into_iter()
            .filter(|e| e["event"] == "refused" && e["reason"] == "request_path_personal_data")
            .count();
        (refused == 3).then_some(())
    });
    egress.assert_logs_clean();
    peer.assert_logs_clean();
}
