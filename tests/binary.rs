//! Binary bodies through the real binary: never rewritten as text. gRPC
//! and protobuf are refused with a reason a user can read; media pass
//! byte for byte, counted and audited; `binary: block` refuses them and
//! `binary: pass` lets gRPC through; a body whose type says only "bytes"
//! is judged by its first bytes.

mod support;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use support::{App, Client, Http, PLANTED_TEXT, PLANTED_TEXT_MASKED, Pki, Proxy};

const GRPC_REFUSED: &str = "piimask: application/grpc bodies cannot be masked yet; set binary: pass on this route to let them through unmasked\n";

fn proxy_with(pki: &Pki, app: &App, route_extra: &str) -> Proxy {
    Proxy::one_route(pki, &app.url(), &format!("request_profile: default{route_extra}"), "")
}

fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread")]
async fn by_default_grpc_is_refused_and_media_pass_byte_for_byte_counted_and_audited() {
    let app = App::start().await;
    let pki = Pki::new("binary-default");
    let proxy = proxy_with(&pki, &app, "");
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        let grpc = client.get(proxy.addr, "/grpc").await.expect("answer");
        assert_eq!(grpc.status, StatusCode::BAD_GATEWAY, "{http:?}");
        assert_eq!(grpc.text(), GRPC_REFUSED, "{http:?}");

        for path in ["/png", "/untyped-png"] {
            let png = client.get(proxy.addr, path).await.expect("answer");
            assert_eq!(png.status, StatusCode::OK, "{http:?} {path}");
            assert_eq!(png.body.as_ref(), support::png().as_slice(), "{http:?} {path}: not byte for byte");
        }

        // `application/octet-stream` whose first bytes are text is masked.
        let text = client.get(proxy.addr, "/octet-text").await.expect("answer");
        assert_eq!((text.status, text.text().as_str()), (StatusCode::OK, PLANTED_TEXT_MASKED), "{http:?}");

        // A gRPC request body is refused before it reaches the app.
        let request = Request::post("/echo")
            .header("host", "localhost")
            .header("content-type", "application/grpc+proto")
            .body(full(support::grpc_message()))
            .expect("request");
        let a = client.send(proxy.addr, request).await.expect("answer");
        assert_eq!((a.status, a.text().as_str()), (StatusCode::UNSUPPORTED_MEDIA_TYPE, GRPC_REFUSED), "{http:?}");

        // An e-mail's own headers may encode its content (base64 here): it
        // is refused rather than scanned as text.
        let email = "Content-Transfer-Encoding: base64\r\n\r\nYW5hLmxvcGV6QGV4YW1wbGUuY29t\r\n";
        let request = Request::post("/echo")
            .header("host", "localhost")
            .header("content-type", "message/rfc822")
            .body(full(email))
            .expect("request");
        let a = client.send(proxy.addr, request).await.expect("answer");
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{http:?}");
        assert!(a.text().contains("message/* (an e-mail)"), "{http:?}: {}", a.text());
    }
    assert!(app.seen.lock().expect("seen").is_empty(), "no refused request body reached the app");

    // Request bodies with no type, or octet-stream, are judged by their
    // first bytes too: a PNG passes byte for byte, text is masked.
    let client = Client::new(&pki, Some("client"), Http::H2);
    let untyped = Request::post("/echo").header("host", "localhost").body(full(support::png())).expect("request");
    assert_eq!(client.send(proxy.addr, untyped).await.expect("answer").status, StatusCode::OK);
    assert_eq!(app.last_seen().body.as_ref(), support::png().as_slice());
    let octet = Request::post("/echo")
        .header("host", "localhost")
        .header("content-type", "application/octet-stream")
        .body(full(PLANTED_TEXT))
        .expect("request");
    assert_eq!(client.send(proxy.addr, octet).await.expect("answer").status, StatusCode::OK);
    assert_eq!(app.last_seen().body.as_ref(), PLANTED_TEXT_MASKED.as_bytes());

    let (_, text) = support::admin(proxy.announced("admin"), Method::GET, "/metrics").await;
    let passed =
        r#"piimask_bodies_passed_unmasked_total{direction="response",kind="binary",listener="inbound",route="api"}"#;
    // Four PNG responses, and the app's echo of the untyped PNG.
    assert_eq!(metric(&text, passed), 5.0, "{text}");
    let request =
        r#"piimask_bodies_passed_unmasked_total{direction="request",kind="binary",listener="inbound",route="api"}"#;
    assert_eq!(metric(&text, request), 1.0, "{text}");
    let blocked = r#"piimask_bodies_blocked_total{direction="response",listener="inbound",reason="response_grpc_blocked",route="api"}"#;
    assert_eq!(metric(&text, blocked), 2.0, "{text}");
    let events = support::eventually("six audit events of bodies passed", Duration::from_secs(10), || {
        let events = proxy.audit_events();
        (events.iter().filter(|e| e["event"] == "passed_unmasked").count() >= 6).then_some(events)
    });
    let passed: Vec<_> = events.iter().filter(|e| e["event"] == "passed_unmasked").collect();
    assert_eq!(passed.len(), 6, "{events:?}");
    assert!(passed.iter().all(|e| e["reason"] == "binary_passed" && e["kind"] == "binary" && e["route"] == "api"));
    assert!(events.iter().any(|e| e["event"] == "blocked" && e["reason"] == "request_grpc_blocked"));
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn binary_block_refuses_media_and_binary_pass_lets_grpc_through() {
    let app = App::start().await;
    let pki = Pki::new("binary-rules");
    let blocking = proxy_with(&pki, &app, ", binary: block");
    let client = Client::new(&pki, Some("client"), Http::H2);
    for path in ["/png", "/untyped-png", "/grpc"] {
        let a = client.get(blocking.addr, path).await.expect("answer");
        assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{path}");
        assert!(!a.body.windows(9).any(|w| w == b"@example."), "{path}: {}", a.text());
    }
    assert!(client.get(blocking.addr, "/png").await.expect("answer").text().contains("binary: block"));
    let text = client.get(blocking.addr, "/octet-text").await.expect("answer");
    assert_eq!(text.text(), PLANTED_TEXT_MASKED, "text is still masked");

    let passing = proxy_with(&pki, &app, ", binary: pass");
    let grpc = client.get(passing.addr, "/grpc").await.expect("answer");
    assert_eq!(grpc.status, StatusCode::OK);
    assert_eq!(grpc.body.as_ref(), support::grpc_message().as_slice(), "passed as it was");
    support::eventually("the audit event of the gRPC body passed", Duration::from_secs(10), || {
        let events = passing.audit_events();
        events.iter().any(|e| e["event"] == "passed_unmasked" && e["kind"] == "grpc").then_some(())
    });
    let octet = client.get(passing.addr, "/octet-text").await.expect("answer");
    assert_eq!(octet.text(), PLANTED_TEXT_MASKED);
    assert!(!octet.text().contains(PLANTED_TEXT));
}

fn full(body: impl Into<Bytes>) -> support::TestBody {
    Full::new(body.into()).map_err(|never| match never {}).boxed()
}

/// Labels that a reader would take another way are not trusted: two
/// `Content-Type` lines are refused, a type that says media is judged by
/// its bytes, and ranges of a masked body are never served (a value cut
/// between two ranges, each masked alone, would be reassembled).
#[tokio::test(flavor = "multi_thread")]
async fn labels_that_read_two_ways_are_refused_or_judged_by_the_bytes_and_ranges_are_never_masked_piecewise() {
    let app = App::start().await;
    let pki = Pki::new("binary-labels");
    let proxy = proxy_with(&pki, &app, "");
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        let two = client.get(proxy.addr, "/two-types").await.expect("answer");
        assert_eq!(two.status, StatusCode::BAD_GATEWAY, "{http:?}");
        assert!(two.text().contains("more than one Content-Type"), "{http:?}: {}", two.text());

        let csv = client.get(proxy.addr, "/excel-csv").await.expect("answer");
        assert_eq!(csv.status, StatusCode::OK, "{http:?}");
        assert_eq!(csv.text(), format!("ticket,text\n7731,{PLANTED_TEXT_MASKED}"), "{http:?}");

        // The client asks for a range; the app is asked for the whole body.
        let request = Request::get("/range").header("host", "localhost").header("range", "bytes=0-40");
        let ranged = client.send(proxy.addr, request.body(full(Bytes::new())).expect("request")).await.expect("answer");
        assert_eq!((ranged.status, ranged.text().as_str()), (StatusCode::OK, PLANTED_TEXT_MASKED), "{http:?}");
        // An app that answers a range anyway is refused.
        let partial = client.get(proxy.addr, "/partial").await.expect("answer");
        assert_eq!(partial.status, StatusCode::BAD_GATEWAY, "{http:?}");
        assert!(partial.text().contains("partial response"), "{http:?}: {}", partial.text());

        // A request body with two types never reaches the app.
        let request = Request::post("/echo")
            .header("host", "localhost")
            .header("content-type", "image/png")
            .header("content-type", "text/plain")
            .body(full(PLANTED_TEXT))
            .expect("request");
        let a = client.send(proxy.addr, request).await.expect("answer");
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{http:?}");
    }
    assert!(app.seen.lock().expect("seen").is_empty(), "no ambiguous request body reached the app");
}
