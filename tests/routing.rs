//! Routing on one canonical request target, one authority and one
//! identity: a property test of the router against an independent RFC 3986
//! normaliser written here, and the real binary on 127.0.0.1 with real
//! certificates, attacked with every spelling of a path, a host and an
//! identity that HTTP allows, over HTTP/1.1 (raw bytes where hyper's client
//! would alter the target) and HTTP/2.

mod support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use piimask::devpki::{ALLOWED_CLIENT_ID, LeafSpec, OTHER_CLIENT_ID, SERVER_ID};
use piimask::policy::{BodyRule, EscapedSlashes, InboundPolicy, PathOptions, PeerRule, Route, path_has_prefix, target};
use proptest::prelude::*;
use support::{Client, Http, Pki, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

// ---------------------------------------------------------------------
// The router against an independent normaliser.
// ---------------------------------------------------------------------

/// RFC 3986 as an app would apply it, written apart from the router:
/// decode escapes of unreserved characters, drop `;` parameters from dot
/// segments (servlet containers do), merge slashes, then §5.2.4's
/// input/output-buffer loop. `None` when the path climbs above the root
/// (the RFC would silently stay at the root).
fn independent_normalise(path: &str) -> Option<String> {
    let mut decoded = String::new();
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = &path[i + 1..i + 3];
            let value = u8::from_str_radix(hex, 16).ok()?;
            if value.is_ascii_alphanumeric() || b"-._~".contains(&value) {
                decoded.push(value as char);
            } else {
                decoded.push('%');
                decoded.push_str(&hex.to_ascii_uppercase());
            }
            i += 3;
        } else {
            decoded.push(bytes[i] as char);
            i += 1;
        }
    }
    let mut merged = String::new();
    for c in decoded.chars() {
        if !(c == '/' && merged.ends_with('/')) {
            merged.push(c);
        }
    }
    let without_params: Vec<String> = merged
        .split('/')
        .map(|s| match s.split_once(';') {
            Some((".", _)) => ".".to_string(),
            Some(("..", _)) => "..".to_string(),
            _ => s.to_string(),
        })
        .collect();
    let mut input = without_params.join("/");
    let mut output = String::new();
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../").or_else(|| input.strip_prefix("./")) {
            input = rest.to_string();
        } else if input.starts_with("/./") {
            input = input[2..].to_string();
        } else if input == "/." {
            input = "/".to_string();
        } else if input.starts_with("/../") || input == "/.." {
            input = if input == "/.." { "/".to_string() } else { input[3..].to_string() };
            let cut = output.rfind('/')?;
            output.truncate(cut);
        } else if input == "." || input == ".." {
            input.clear();
        } else {
            let start = usize::from(input.starts_with('/'));
            let end = input[start..].find('/').map_or(input.len(), |p| p + start);
            output.push_str(&input[..end]);
            input = input[end..].to_string();
        }
    }
    Some(if output.is_empty() { "/".into() } else { output })
}

/// The longest configured prefix the path lies under as a servlet
/// container reads it: each segment by its name before any `;`
/// parameters, prefixes ending at a segment boundary.
fn longest_prefix<'a>(prefixes: &[&'a str], path: &str) -> &'a str {
    let names: Vec<&str> = path.split('/').map(|segment| segment.split(';').next().unwrap_or("")).collect();
    let names = names.join("/");
    prefixes
        .iter()
        .filter(|p| **p == "/" || names == **p || names.starts_with(&format!("{p}/")))
        .max_by_key(|p| p.len())
        .copied()
        .unwrap_or("/")
}

const PREFIXES: &[&str] = &["/internal/admin", "/internal", "/api/v1", "/api", "/"];

fn route(name: &str, prefix: &str) -> Route {
    Route {
        name: name.into(),
        path_prefix: prefix.into(),
        host: None,
        methods: vec![],
        peers: PeerRule::Anyone,
        upstream: 0,
        request: BodyRule::passthrough(),
        response: BodyRule::passthrough(),
        max_request_bytes: 1 << 20,
    }
}

/// Most specific first, so the first match is the longest prefix.
fn policy() -> InboundPolicy {
    InboundPolicy { routes: PREFIXES.iter().map(|p| route(p, p)).collect(), ..InboundPolicy::default() }
}

fn segment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "..",
        ".",
        "%2e%2E",
        "%2E",
        ".%2e",
        "%2e.",
        "..;x",
        ".;x",
        ";x",
        "",
        "%69nternal",
        "internal",
        "INTERNAL",
        "api",
        "v1",
        "admin",
        "%61dmin",
        "x",
        "internalx",
        "a%41",
        "%7e",
        "internal;jsessionid=1",
        "admin;v=2",
        ";x",
        ";",
        "%2F",
        "%5c",
        "\\",
        "%00",
        "%25",
        "%252e%252e",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// No request admitted on one route reaches the upstream with a path
    /// whose longest-prefix route, by the independent normaliser, is
    /// another; the raw path normalised independently lands there too; and
    /// canonicalising twice changes nothing.
    #[test]
    fn what_the_router_admits_is_what_the_app_resolves(
        segments in prop::collection::vec(segment(), 0..8),
        trailing_slash in any::<bool>(),
        query in prop::option::of(prop::sample::select(vec!["q=/../internal", "a=%2e%2e", ""])),
    ) {
        let mut raw = format!("/{}", segments.join("/"));
        if trailing_slash {
            raw.push('/');
        }
        if let Some(q) = query {
            raw.push('?');
            raw.push_str(q);
        }
        let policy = policy();
        let Ok(canonical) = target::canonicalize(&raw, policy.paths) else {
            // Refused: nothing reaches the upstream.
            return Ok(());
        };
        let admitted = policy.route_for(&Method::GET, None, canonical.path()).expect("a catch-all route").name.clone();
        let forwarded = canonical.path();
        let app_view = independent_normalise(forwarded).expect("a canonical path stays under the root");
        prop_assert_eq!(&app_view, forwarded, "the app must read the forwarded path as it is");
        prop_assert_eq!(longest_prefix(PREFIXES, &app_view), admitted.as_str(), "{} forwarded as {}", raw, forwarded);
        let raw_path = raw.split('?').next().unwrap_or("");
        if let Some(raw_view) = independent_normalise(raw_path) {
            let raw_view_route = longest_prefix(PREFIXES, &raw_view);
            prop_assert_eq!(raw_view_route, admitted.as_str(), "{} read by the app as {}", raw, raw_view);
        }
        prop_assert_eq!(target::canonicalize(&canonical.path_and_query(), policy.paths), Ok(canonical.clone()));
        prop_assert_eq!(canonical.query(), raw.split_once('?').map(|(_, q)| q));
    }
}

#[test]
fn the_independent_normaliser_agrees_with_rfc_3986_examples() {
    // RFC 3986 §5.4's paths, resolved against nothing but themselves.
    assert_eq!(independent_normalise("/a/b/c/./../../g").as_deref(), Some("/a/g"));
    assert_eq!(independent_normalise("/a/b/..").as_deref(), Some("/a/"));
    assert_eq!(independent_normalise("/api/%2e%2e/internal/x").as_deref(), Some("/internal/x"));
    assert_eq!(independent_normalise("/..").as_deref(), None);
    assert_eq!(longest_prefix(PREFIXES, "/internalx"), "/");
    assert_eq!(longest_prefix(PREFIXES, "/internal/admin/x"), "/internal/admin");
    assert!(!path_has_prefix("/internalx", "/internal"));
}

// ---------------------------------------------------------------------
// The real binary.
// ---------------------------------------------------------------------

/// What the recording app received.
#[derive(Debug, Clone)]
struct Received {
    target: String,
    host: Option<String>,
    peer_headers: Vec<(String, String)>,
}

/// A plain HTTP/1.1 app on 127.0.0.1 that records every request's target,
/// `Host` and identity headers and answers 200 with the target.
struct RecordingApp {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
}

impl RecordingApp {
    async fn start() -> RecordingApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind app");
        let addr = listener.local_addr().expect("addr");
        let received = Arc::new(Mutex::new(Vec::new()));
        let record = received.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let target = req.uri().to_string();
                        let host = req.headers().get("host").and_then(|h| h.to_str().ok()).map(str::to_string);
                        let peer_headers = req
                            .headers()
                            .iter()
                            .filter(|(n, _)| {
                                let n = n.as_str().replace('_', "-");
                                n == "x-piimask-peer" || n == "x-forwarded-client-cert"
                            })
                            .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("?").to_string()))
                            .collect();
                        record.lock().expect("received").push(Received { target: target.clone(), host, peer_headers });
                        // The whole body is read before the answer, as an
                        // app that parses it does.
                        async move {
                            let _ = req.into_body().collect().await;
                            Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from(target))))
                        }
                    });
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
                });
            }
        });
        RecordingApp { addr, received }
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }

    fn targets(&self) -> Vec<String> {
        self.received().into_iter().map(|r| r.target).collect()
    }
}

/// `/internal` and the host `ops.example` for the ops identity (the dev
/// PKI's `other-client`), `/` for billing (`client`): the shape of
/// deploy/config/sidecar.yaml.
fn start_proxy(pki: &Pki, app: &RecordingApp, listener_extra: &str) -> Proxy {
    let yaml = format!(
        r#"
tls: {{ cert: server.crt, key: server.key, ca: ca.crt }}
inbound:
  listen: 127.0.0.1:0
{listener_extra}
  routes:
    - {{ name: internal-api, path_prefix: /internal, allow: ["{ops}"], upstream: app, response_profile: none }}
    - {{ name: dns-ops, path_prefix: /dns-ops, allow: [ops.svc], upstream: app, response_profile: none }}
    - {{ name: ops-host, host: ops.example, allow: ["{ops}"], upstream: app, response_profile: none }}
    - {{ name: api, path_prefix: /, allow: ["{billing}"], upstream: app, response_profile: none }}
upstreams:
  - {{ name: app, url: "http://{app}" }}
"#,
        ops = OTHER_CLIENT_ID,
        billing = ALLOWED_CLIENT_ID,
        app = app.addr,
    );
    let config = support::write_file(&pki.dir, "routing.yaml", &yaml);
    Proxy::start(&[
        "run".into(),
        "--config".into(),
        config.to_string_lossy().into(),
        "--admin".into(),
        "127.0.0.1:0".into(),
    ])
}

/// A counter's value in the admin listener's `/metrics`, 0 when absent.
async fn metric(proxy: &Proxy, name_and_labels: &str) -> f64 {
    let (_, text) = support::admin(proxy.announced("admin"), Method::GET, "/metrics").await;
    text.lines().find_map(|l| l.strip_prefix(name_and_labels).and_then(|v| v.trim().parse().ok())).unwrap_or(0.0)
}

/// An answer read off the wire: status and the whole response text.
#[derive(Debug)]
struct RawAnswer {
    status: u16,
    text: String,
}

/// Sends `head` (a request head without the final blank line is
/// completed) as raw bytes over TLS, with `Connection: close`, and reads
/// the answer to the end.
async fn raw_h1(client: &Client, addr: SocketAddr, request_line: &str, headers: &[&str]) -> RawAnswer {
    let mut tls = client.tls(addr).await.expect("handshake");
    let mut head = format!("{request_line}\r\n");
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    tls.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut answer)).await.expect("answered");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    RawAnswer { status, text }
}

async fn get_h1(client: &Client, addr: SocketAddr, target: &str) -> RawAnswer {
    raw_h1(client, addr, &format!("GET {target} HTTP/1.1"), &["Host: localhost"]).await
}

async fn get_h2(client: &Client, addr: SocketAddr, target: &str, host: Option<&str>) -> support::Answer {
    let mut request = Request::get(target);
    if let Some(h) = host {
        request = request.header("host", h);
    }
    client.send(addr, request.body(empty()).expect("request")).await.expect("answer")
}

fn empty() -> support::TestBody {
    Full::new(Bytes::new()).map_err(|never| match never {}).boxed()
}

const ATTACKS: &[&str] = &[
    "/api/../internal/x",
    "/api/%2e%2e/internal/x",
    "/api/%2E%2E/internal/x",
    "/api/.%2e/internal/x",
    "//internal/x",
    "/%69nternal/x",
    "/./internal/x",
    "/api/..;/internal/x",
    "/.;x/internal/x",
    "/internal;jsessionid=1/x",
    "///internal//x",
];

#[tokio::test(flavor = "multi_thread")]
async fn path_spellings_of_a_guarded_prefix_are_routed_to_it_over_http1_and_http2() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-paths");
    let proxy = start_proxy(&pki, &app, "");
    let billing_h1 = Client::new(&pki, Some("client"), Http::H1);
    let billing_h2 = Client::new(&pki, Some("client"), Http::H2);
    let ops_h1 = Client::new(&pki, Some("other-client"), Http::H1);
    let ops_h2 = Client::new(&pki, Some("other-client"), Http::H2);
    for attack in ATTACKS {
        let a = get_h1(&billing_h1, proxy.addr, attack).await;
        assert_eq!(a.status, 403, "HTTP/1.1 {attack}: {}", a.text);
        assert!(a.text.contains("peer identity is not allowed"), "{attack}: {}", a.text);
        let a = get_h2(&billing_h2, proxy.addr, attack, None).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "HTTP/2 {attack}: {}", a.text());
    }
    assert_eq!(app.targets(), Vec::<String>::new(), "billing reached the app");

    // The guarded route's own peer gets there, and the app reads the
    // canonical path, the one piimask judged.
    for attack in ATTACKS {
        let expected = if attack.contains("jsessionid") { "/internal;jsessionid=1/x" } else { "/internal/x" };
        let a = get_h1(&ops_h1, proxy.addr, attack).await;
        assert_eq!(a.status, 200, "{attack}: {}", a.text);
        assert_eq!(app.targets().last().map(String::as_str), Some(expected), "HTTP/1.1 {attack}");
        let a = get_h2(&ops_h2, proxy.addr, attack, None).await;
        assert_eq!(a.status, StatusCode::OK, "{attack}");
        assert_eq!(app.targets().last().map(String::as_str), Some(expected), "HTTP/2 {attack}");
    }
    let refused = proxy.audit_events().iter().filter(|e| e["reason"] == "peer_not_allowed").count();
    assert!(refused >= ATTACKS.len(), "every refusal audited: {refused}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_app_receives_the_canonical_path_and_the_query_as_sent() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-canonical");
    let proxy = start_proxy(&pki, &app, "");
    let billing = Client::new(&pki, Some("client"), Http::H1);
    let a = get_h1(&billing, proxy.addr, "/api/./v1/%7euser//x/%c3%a9?q=/../internal&r=%2e%2e").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(app.targets(), ["/api/v1/~user/x/%C3%A9?q=/../internal&r=%2e%2e"]);
    // Prefixes stop at segment boundaries.
    assert_eq!(get_h1(&billing, proxy.addr, "/internalx").await.status, 200);
    assert_eq!(app.targets().last().map(String::as_str), Some("/internalx"));
}

#[tokio::test(flavor = "multi_thread")]
async fn paths_that_cannot_be_made_canonical_get_400_counted_and_audited() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-refused");
    let proxy = start_proxy(&pki, &app, "");
    let billing = Client::new(&pki, Some("client"), Http::H1);
    for (target, code, reason) in [
        ("/api/..%2Finternal/x", "path_escaped_slash", "encoded slash"),
        ("/api/..%2finternal/x", "path_escaped_slash", "encoded slash"),
        ("/api/..%5cinternal/x", "path_escaped_slash", "encoded slash"),
        ("/api/..\\internal/x", "path_backslash", "backslash"),
        ("/api/%00/x", "path_control_character", "control character"),
        ("/../internal/x", "path_above_root", "above the root"),
        ("/api/../../internal/x", "path_above_root", "above the root"),
        ("/%c0%ae%c0%ae/internal", "path_not_utf8", "UTF-8"),
        ("/api/%zz", "path_bad_escape", "percent-escape"),
        // Segments of parameters alone: a servlet container strips `;x`,
        // merges the empty segment and serves `/internal/secret`.
        ("/;x/internal/secret", "path_parameters_without_name", "no name"),
        ("/;/internal/secret", "path_parameters_without_name", "no name"),
        ("/;jsessionid=1/internal/secret", "path_parameters_without_name", "no name"),
    ] {
        let a = get_h1(&billing, proxy.addr, target).await;
        assert_eq!(a.status, 400, "{target}: {}", a.text);
        assert!(a.text.contains(reason), "{target}: {}", a.text);
        support::eventually(&format!("the audit event for {target}"), Duration::from_secs(5), || {
            proxy.audit_events().iter().any(|e| e["event"] == "refused" && e["reason"] == code).then_some(())
        });
    }
    let h2 = Client::new(&pki, Some("client"), Http::H2);
    assert_eq!(get_h2(&h2, proxy.addr, "/api/..%2Finternal/x", None).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(get_h2(&h2, proxy.addr, "/..", None).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.targets(), Vec::<String>::new());
    assert!(!proxy.logs().contains("internal/x"), "a refused path reached the log");
}

/// A route limited to some methods beside a catch-all, as an ops-only
/// `DELETE` would be.
#[tokio::test(flavor = "multi_thread")]
async fn methods_in_another_case_and_targets_without_a_path_or_host_get_400() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-methods");
    let proxy = start_proxy(&pki, &app, "");
    let billing = Client::new(&pki, Some("client"), Http::H1);
    // Parameters on a segment inside a prefix are read by its name.
    let a = get_h1(&billing, proxy.addr, "/internal;x/secret").await;
    assert_eq!(a.status, 403, "{}", a.text);
    for (request_line, headers, reason) in [
        ("delete /internal/x HTTP/1.1", &["Host: localhost"][..], "upper-case"),
        ("Delete /x HTTP/1.1", &["Host: localhost"][..], "upper-case"),
        ("GET internal.example:443 HTTP/1.1", &["Host: localhost"][..], "start with /"),
        ("GET /x HTTP/1.0", &[][..], "names no host"),
        ("GET /x HTTP/1.1", &["Host:"][..], "names no host"),
    ] {
        let a = raw_h1(&billing, proxy.addr, request_line, headers).await;
        assert_eq!(a.status, 400, "{request_line}: {}", a.text);
        assert!(a.text.contains(reason), "{request_line}: {}", a.text);
    }
    assert_eq!(app.targets(), Vec::<String>::new(), "nothing reached the app");
    let ops = Client::new(&pki, Some("other-client"), Http::H1);
    assert_eq!(raw_h1(&ops, proxy.addr, "DELETE /internal/x HTTP/1.1", &["Host: localhost"]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listener_may_keep_repeated_slashes_and_escaped_slashes() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-keep");
    let proxy = start_proxy(&pki, &app, "  merge_slashes: false\n  escaped_slashes: keep");
    let billing = Client::new(&pki, Some("client"), Http::H1);
    let a = get_h1(&billing, proxy.addr, "//api//x/a%2fb").await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(app.targets(), ["//api//x/a%2Fb"]);
    // Dot segments are still resolved: the guarded prefix is still found.
    assert_eq!(get_h1(&billing, proxy.addr, "/api/../internal/x").await.status, 403);
}

// ---------------------------------------------------------------------
// One authority.
// ---------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn one_authority_decides_and_reaches_the_app() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-authority");
    let proxy = start_proxy(&pki, &app, "");
    let billing = Client::new(&pki, Some("client"), Http::H1);
    let ops = Client::new(&pki, Some("other-client"), Http::H1);

    // Spellings of the ops-only host are routed to it.
    for (line, headers) in [
        ("GET /x HTTP/1.1", vec!["Host: OPS.Example"]),
        ("GET /x HTTP/1.1", vec!["Host: ops.example."]),
        ("GET /x HTTP/1.1", vec!["Host: ops.example:443"]),
        ("GET https://ops.example/x HTTP/1.1", vec!["Host: localhost"]),
        ("GET https://OPS.example.:443/x HTTP/1.1", vec!["Host: localhost"]),
    ] {
        let a = raw_h1(&billing, proxy.addr, line, &headers).await;
        assert_eq!(a.status, 403, "{line} {headers:?}: {}", a.text);
    }
    assert_eq!(app.targets(), Vec::<String>::new());

    // Ambiguous authorities are refused.
    for (line, headers, reason) in [
        ("GET /x HTTP/1.1", vec![], "names no host"),
        ("GET https://localhost/x HTTP/1.1", vec![], "names no host"),
        ("GET /x HTTP/1.1", vec!["Host: localhost", "Host: ops.example"], "several Host"),
        ("GET /x HTTP/1.1", vec!["Host: localhost", "Host: localhost"], "several Host"),
        ("GET /x HTTP/1.1", vec!["Host: user@ops.example"], "not a valid host"),
        ("GET /x HTTP/1.1", vec!["Host: ops..example"], "not a valid host"),
    ] {
        let a = raw_h1(&billing, proxy.addr, line, &headers).await;
        assert_eq!(a.status, 400, "{line} {headers:?}: {}", a.text);
        assert!(a.text.contains(reason), "{line} {headers:?}: {}", a.text);
    }
    assert_eq!(app.targets(), Vec::<String>::new());
    support::eventually("the authority refusals audited", Duration::from_secs(5), || {
        let events = proxy.audit_events();
        ["host_missing", "host_repeated", "host_malformed"]
            .iter()
            .all(|code| events.iter().any(|e| e["reason"] == *code))
            .then_some(())
    });

    // The absolute-form authority replaces Host, for routing and for the app.
    let a = raw_h1(&ops, proxy.addr, "GET https://OPS.example.:443/x HTTP/1.1", &["Host: localhost"]).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let seen = app.received().pop().expect("received");
    assert_eq!((seen.target.as_str(), seen.host.as_deref()), ("/x", Some("ops.example")));
    let a = raw_h1(&billing, proxy.addr, "GET /x HTTP/1.1", &["Host: Localhost.:443"]).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(app.received().pop().expect("received").host.as_deref(), Some("localhost"));
}

#[tokio::test(flavor = "multi_thread")]
async fn http2_host_and_authority_must_agree() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-h2-authority");
    let proxy = start_proxy(&pki, &app, "");
    let billing = Client::new(&pki, Some("client"), Http::H2);
    let ops = Client::new(&pki, Some("other-client"), Http::H2);
    // :authority is localhost (the test client's), Host says ops.example.
    let a = get_h2(&billing, proxy.addr, "/x", Some("ops.example")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    assert!(a.text().contains("disagree"), "{}", a.text());
    let a = get_h2(&ops, proxy.addr, "/x", Some("ops.example")).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
    assert_eq!(app.targets(), Vec::<String>::new());
    // Agreeing spellings of one host are one host.
    let a = get_h2(&billing, proxy.addr, "/x", Some("LOCALHOST.:443")).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text());
    assert_eq!(app.received().pop().expect("received").host.as_deref(), Some("localhost"));
}

#[test]
fn escaped_slashes_default_to_reject() {
    assert_eq!(PathOptions::default().escaped_slashes, EscapedSlashes::Reject);
    assert!(PathOptions::default().merge_slashes);
}

// ---------------------------------------------------------------------
// One identity.
// ---------------------------------------------------------------------

fn leaf(uris: &[&str], dns: &[&str]) -> LeafSpec {
    LeafSpec {
        common_name: "peer".into(),
        uris: uris.iter().map(|u| u.to_string()).collect(),
        dns_names: dns.iter().map(|d| d.to_string()).collect(),
        valid_days: 30,
        ..LeafSpec::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_with_several_uri_sans_is_refused_counted_and_audited() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-two-uris");
    pki.client_with("two-uris", &leaf(&[ALLOWED_CLIENT_ID, OTHER_CLIENT_ID], &[]));
    let proxy = start_proxy(&pki, &app, "");
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("two-uris"), http);
        for path in ["/internal/x", "/x"] {
            let a = get_h2(&client, proxy.addr, path, None).await;
            assert_eq!(a.status, StatusCode::FORBIDDEN, "{http:?} {path}: {}", a.text());
            assert!(a.text().contains("several URI SANs"), "{}", a.text());
        }
    }
    assert_eq!(app.targets(), Vec::<String>::new());
    let refused = r#"piimask_peers_refused_total{listener="inbound",reason="several_uri_sans"}"#;
    assert_eq!(metric(&proxy, refused).await, 4.0);
    support::eventually("the audit events", Duration::from_secs(5), || {
        let events = proxy.audit_events();
        let refusals = events.iter().filter(|e| e["event"] == "refused" && e["reason"] == "several_uri_sans").count();
        let connections = events.iter().filter(|e| e["event"] == "identity_refused").count();
        (refusals == 4 && connections == 4).then_some(())
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_spiffe_id_is_refused_even_under_a_wildcard() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-bad-spiffe");
    let climbing = format!("{ALLOWED_CLIENT_ID}/../../../../ns/x/sa/y");
    pki.client_with("climbing", &leaf(&[&climbing], &[]));
    let proxy = start_proxy(&pki, &app, "");
    let client = Client::new(&pki, Some("climbing"), Http::H1);
    let a = get_h1(&client, proxy.addr, "/x").await;
    assert_eq!(a.status, 403, "{}", a.text);
    assert!(a.text.contains("SPIFFE ID is malformed"), "{}", a.text);
    assert_eq!(app.targets(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_names_count_only_without_a_uri_san_and_the_app_is_told_the_admitted_name() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-dns");
    pki.client_with("uri-and-dns", &leaf(&[ALLOWED_CLIENT_ID], &["ops.svc"]));
    pki.client_with("dns-only", &leaf(&[], &["billing.svc", "OPS.svc"]));
    let proxy = start_proxy(&pki, &app, "");
    let uri_and_dns = Client::new(&pki, Some("uri-and-dns"), Http::H1);
    let a = get_h1(&uri_and_dns, proxy.addr, "/dns-ops/x").await;
    assert_eq!(a.status, 403, "a certificate with a URI SAN is its URI: {}", a.text);
    assert_eq!(get_h1(&uri_and_dns, proxy.addr, "/x").await.status, 200);
    let seen = app.received().pop().expect("received");
    assert_eq!(seen.peer_headers, [("x-piimask-peer".to_string(), ALLOWED_CLIENT_ID.to_string())]);

    let dns_only = Client::new(&pki, Some("dns-only"), Http::H1);
    assert_eq!(get_h1(&dns_only, proxy.addr, "/dns-ops/x").await.status, 200);
    let seen = app.received().pop().expect("received");
    assert_eq!(seen.peer_headers, [("x-piimask-peer".to_string(), "ops.svc".to_string())]);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_spelling_of_the_identity_headers_a_client_sends_is_removed() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-spoof");
    let proxy = start_proxy(&pki, &app, "");
    let billing = Client::new(&pki, Some("client"), Http::H1);
    let spoof = [
        "Host: localhost",
        "X-Piimask-Peer: spiffe://piimask.dev/ns/ops/sa/root",
        "x_piimask_peer: spiffe://piimask.dev/ns/ops/sa/root",
        "X_PIIMASK_PEER: spiffe://piimask.dev/ns/ops/sa/root",
        "X-Forwarded-Client-Cert: By=x;URI=spiffe://piimask.dev/ns/ops/sa/root",
        "x_forwarded_client_cert: By=x;URI=spiffe://piimask.dev/ns/ops/sa/root",
    ];
    let a = raw_h1(&billing, proxy.addr, "GET /x HTTP/1.1", &spoof).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let seen = app.received().pop().expect("received");
    assert_eq!(seen.peer_headers, [("x-piimask-peer".to_string(), ALLOWED_CLIENT_ID.to_string())]);

    let h2 = Client::new(&pki, Some("client"), Http::H2);
    let request = Request::get("/x")
        .header("x_piimask_peer", "spiffe://piimask.dev/ns/ops/sa/root")
        .header("x-forwarded-client-cert", "By=x")
        .body(empty())
        .expect("request");
    assert_eq!(h2.send(proxy.addr, request).await.expect("answer").status, StatusCode::OK);
    let seen = app.received().pop().expect("received");
    assert_eq!(seen.peer_headers, [("x-piimask-peer".to_string(), ALLOWED_CLIENT_ID.to_string())]);
}

#[tokio::test(flavor = "multi_thread")]
async fn xfcc_set_writes_envoys_sanitize_set_form() {
    use rustls_pki_types::pem::PemObject;
    use sha2::Digest;
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-xfcc");
    let proxy = start_proxy(&pki, &app, "  xfcc: set");
    let billing = Client::new(&pki, Some("client"), Http::H1);
    let spoof = ["Host: localhost", "X-Forwarded-Client-Cert: By=x;URI=spiffe://piimask.dev/ns/ops/sa/root"];
    assert_eq!(raw_h1(&billing, proxy.addr, "GET /x HTTP/1.1", &spoof).await.status, 200);
    let der = rustls_pki_types::CertificateDer::from_pem_file(pki.path("client.crt")).expect("client cert");
    let hash: String = sha2::Sha256::digest(der.as_ref()).iter().map(|b| format!("{b:02x}")).collect();
    let mut headers = app.received().pop().expect("received").peer_headers;
    headers.sort();
    assert_eq!(
        headers,
        [
            ("x-forwarded-client-cert".to_string(), format!("By={SERVER_ID};Hash={hash};URI={ALLOWED_CLIENT_ID}")),
            ("x-piimask-peer".to_string(), ALLOWED_CLIENT_ID.to_string()),
        ]
    );
}

// ---------------------------------------------------------------------
// Responses the client can trust.
// ---------------------------------------------------------------------

fn proxy_to(pki: &Pki, upstream: SocketAddr, extra_route: &str) -> Proxy {
    Proxy::one_route(pki, &format!("http://{upstream}"), &format!("response_profile: none{extra_route}"), "")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_upstreams_reason_phrase_is_replaced_by_the_canonical_one() {
    let upstream = support::raw_upstream(b"HTTP/1.1 200 ana.lopez@example.com\r\ncontent-length: 2\r\n\r\nok").await;
    let pki = Pki::new("routing-reason");
    let proxy = proxy_to(&pki, upstream, "");
    let a = get_h1(&Client::new(&pki, Some("client"), Http::H1), proxy.addr, "/x").await;
    assert!(a.text.starts_with("HTTP/1.1 200 OK\r\n"), "{}", a.text);
    assert!(!a.text.contains("@example.com"), "{}", a.text);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upstream_transfer_coding_other_than_chunked_gives_502() {
    let upstream = support::raw_upstream(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    let pki = Pki::new("routing-te");
    let proxy = proxy_to(&pki, upstream, "");
    for http in [Http::H1, Http::H2] {
        let a = get_h2(&Client::new(&pki, Some("client"), http), proxy.addr, "/x", Some("localhost")).await;
        assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{http:?}: {}", a.text());
        assert!(a.text().contains("transfer coding"), "{}", a.text());
    }
    let chunked =
        support::raw_upstream(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").await;
    let pki = Pki::new("routing-te-chunked");
    let proxy = proxy_to(&pki, chunked, "");
    let a = get_h2(&Client::new(&pki, Some("client"), Http::H1), proxy.addr, "/x", Some("localhost")).await;
    assert_eq!((a.status, a.text().as_str()), (StatusCode::OK, "hello"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_http2_body_over_the_limit_without_a_length_gets_413() {
    let app = RecordingApp::start().await;
    let pki = Pki::new("routing-h2-413");
    let proxy = proxy_to(&pki, app.addr, ", max_request_bytes: 1000");
    let client = Client::new(&pki, Some("client"), Http::H2);
    let (mut sender, body) = http_body_util::channel::Channel::<Bytes, std::io::Error>::new(4);
    let request = Request::post("/upload").body(body.boxed()).expect("request");
    let feed = tokio::spawn(async move {
        for _ in 0..8 {
            if sender.send_data(Bytes::from(vec![b'x'; 500])).await.is_err() {
                break;
            }
        }
    });
    let a = client.send(proxy.addr, request).await.expect("answer");
    let _ = feed.await;
    assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", a.text());
}
