//! Operating piimask: metrics after real traffic, audit events for every
//! mask / block / refuse outcome, health and readiness, and shutdown that
//! lets in-flight requests finish. The real binary, real sockets and
//! certificates.

mod support;

use std::time::Duration;

use http::{Method, StatusCode};
use piimask::devpki::{ALLOWED_CLIENT_ID, OTHER_CLIENT_ID};
use support::{App, Client, Http, Pki, Proxy};

fn metric(text: &str, name_and_labels: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name_and_labels))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample `{name_and_labels}` in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_and_audit_events_follow_real_traffic() {
    let app = App::start().await;
    let pki = Pki::new("ops-metrics");
    let proxy = Proxy::start(&pki.args(&app.url(), &["--admin", "127.0.0.1:0", "--access-log"]));
    let admin = proxy.announced("admin");

    let allowed = Client::new(&pki, Some("client"), Http::H1);
    assert_eq!(allowed.get(proxy.addr, "/json").await.expect("masked").status, StatusCode::OK);
    assert_eq!(allowed.get(proxy.addr, "/compress").await.expect("blocked").status, StatusCode::BAD_GATEWAY);
    let other = Client::new(&pki, Some("other-client"), Http::H1);
    assert_eq!(other.get(proxy.addr, "/json").await.expect("refused").status, StatusCode::FORBIDDEN);
    assert!(Client::new(&pki, None, Http::H1).get(proxy.addr, "/json").await.is_err());

    let (status, text) = support::admin(admin, Method::GET, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let allowed_peer = format!(r#"peer="{ALLOWED_CLIENT_ID}""#);
    let forwarded =
        format!(r#"piimask_requests_total{{listener="inbound",outcome="forwarded",{allowed_peer},route="default"}}"#);
    assert_eq!(metric(&text, &forwarded), 1.0);
    let blocked =
        format!(r#"piimask_requests_total{{listener="inbound",outcome="blocked",{allowed_peer},route="default"}}"#);
    assert_eq!(metric(&text, &blocked), 1.0);
    assert_eq!(
        metric(
            &text,
            r#"piimask_requests_total{listener="inbound",outcome="refused",peer="unlisted",route="default"}"#
        ),
        1.0
    );
    let masked = |name: &str| {
        format!(
            r#"piimask_masked_values_total{{direction="response",kind="detector",listener="inbound",name="{name}",route="default"}}"#
        )
    };
    assert_eq!(metric(&text, &masked("email")), 1.0);
    assert_eq!(metric(&text, &masked("phone")), 2.0);
    assert_eq!(metric(&text, &masked("card")), 1.0);
    assert_eq!(
        metric(
            &text,
            r#"piimask_bodies_blocked_total{direction="response",listener="inbound",reason="response_encoding_unsupported",route="default"}"#
        ),
        1.0
    );
    assert_eq!(metric(&text, r#"piimask_peers_refused_total{listener="inbound",reason="peer_not_allowed"}"#), 1.0);
    assert!(
        metric(&text, r#"piimask_tls_handshake_failures_total{listener="inbound",reason="no_certificate"}"#) >= 1.0
    );
    assert!(metric(&text, r#"piimask_body_bytes_total{direction="response",listener="inbound",stage="in"}"#) > 100.0);
    assert_eq!(metric(&text, r#"piimask_responses_total{listener="inbound",route="default",status_class="2xx"}"#), 1.0);
    assert!(metric(&text, r#"piimask_request_duration_seconds_count{listener="inbound",route="default"}"#) >= 3.0);
    let expiry = metric(&text, r#"piimask_certificate_expiry_timestamp_seconds{listener="inbound"}"#);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs_f64();
    assert!(expiry > now + 300.0 * 86400.0, "the dev server certificate is valid for a year");
    assert!(text.contains("piimask_open_connections{listener=\"inbound\"}"));
    assert!(!text.contains("/json") && !text.contains("example.com"), "no raw paths or values in labels");

    let events = proxy.audit_events();
    let find = |event: &str| {
        events.iter().find(|e| e["event"] == event).unwrap_or_else(|| panic!("no `{event}` in {events:?}"))
    };
    let m = find("masked");
    assert_eq!(
        (m["route"].as_str(), m["peer"].as_str(), m["direction"].as_str()),
        (Some("default"), Some(ALLOWED_CLIENT_ID), Some("response"))
    );
    assert_eq!(m["counts"], "email=1 phone=2 card=1");
    let r = find("refused");
    assert_eq!((r["peer"].as_str(), r["reason"].as_str()), (Some(OTHER_CLIENT_ID), Some("peer_not_allowed")));
    assert_eq!(find("blocked")["reason"], "response_encoding_unsupported");
    assert_eq!(find("handshake_refused")["reason"], "no_certificate");
    let access = proxy.logs().lines().filter(|l| l.contains(r#""target":"piimask::access""#)).count();
    assert_eq!(access, 3, "one access event per request that reached the HTTP layer");
    assert!(!proxy.logs().contains("/json"), "access events carry no paths");
}

#[tokio::test(flavor = "multi_thread")]
async fn health_readiness_and_the_shutdown_endpoint() {
    let app = App::start().await;
    let pki = Pki::new("ops-admin");
    let locked = Proxy::start(&pki.args(&app.url(), &["--admin", "127.0.0.1:0"]));
    let admin = locked.announced("admin");
    assert_eq!(support::admin(admin, Method::GET, "/healthz").await.0, StatusCode::OK);
    assert_eq!(support::admin(admin, Method::GET, "/readyz").await.0, StatusCode::OK);
    assert_eq!(support::admin(admin, Method::POST, "/shutdown").await.0, StatusCode::FORBIDDEN, "off unless enabled");

    let mut open = Proxy::start(&pki.args(&app.url(), &["--admin", "127.0.0.1:0", "--admin-shutdown"]));
    let admin = open.announced("admin");
    assert_eq!(support::admin(admin, Method::POST, "/shutdown").await.0, StatusCode::OK);
    let status = open.wait(Duration::from_secs(10)).expect("exited after POST /shutdown");
    assert!(status.success(), "{status:?}");

    // `wait-ready` (the legacy sidecar's postStart hook) returns once the
    // proxy is ready, and fails with the reason when nothing answers.
    let wait = |admin: std::net::SocketAddr| {
        std::process::Command::new(support::BIN)
            .args(["wait-ready", "--timeout", "1", "--admin", &admin.to_string()])
            .output()
            .expect("run wait-ready")
    };
    let ready = wait(locked.announced("admin"));
    assert!(ready.status.success(), "{}", String::from_utf8_lossy(&ready.stderr));
    let gone = wait(admin);
    assert!(!gone.status.success());
    let said = String::from_utf8_lossy(&gone.stderr);
    assert!(said.contains(&format!("piimask at {admin} not ready after 1 s")), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_in_flight_requests_finish_then_exits_zero() {
    let app = App::start().await;
    let pki = Pki::new("ops-sigterm");
    let mut proxy = Proxy::start(&pki.args(&app.url(), &["--admin", "127.0.0.1:0"]));
    let addr = proxy.addr;
    let mut in_flight = Vec::new();
    for http in [Http::H1, Http::H2, Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        in_flight
            .push(tokio::spawn(async move { client.get(addr, "/slow?ms=1500").await.map(|a| (a.status, a.text())) }));
    }
    support::eventually_async("the four requests at the app", Duration::from_secs(10), async || {
        (app.hits() == 4).then_some(())
    })
    .await;
    let status = tokio::task::spawn_blocking(move || {
        let status = proxy.terminate(Duration::from_secs(20));
        (status, proxy.logs())
    });
    for request in in_flight {
        let (code, body) = request.await.expect("task").expect("an in-flight request completed");
        assert_eq!(code, StatusCode::OK);
        assert_eq!(body, support::CUSTOMER_MASKED);
    }
    let (status, logs) = status.await.expect("task");
    let status = status.expect("exited within the drain time");
    assert!(status.success(), "{status:?}: {logs}");
    assert!(logs.contains("drained; exiting"), "{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_apps_own_probe_passes_through_the_admin_port() {
    let app = App::start().await;
    let pki = Pki::new("ops-app-health");
    let port = app.addr.port().to_string();
    let proxy = Proxy::start(&pki.args(&app.url(), &["--admin", "127.0.0.1:0", "--app-health-port", &port]));
    let admin = proxy.announced("admin");
    let (status, _) = support::admin(admin, Method::GET, &format!("/app-health/{port}/json")).await;
    assert_eq!(status, StatusCode::OK, "the app answers its probe");
    let (status, _) = support::admin(admin, Method::GET, &format!("/app-health/{port}/no-such-endpoint")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the app's own status passes through");
    let (status, _) = support::admin(admin, Method::GET, "/app-health/1/json").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "only the ports named at start are forwarded");
    drop(app);
}
