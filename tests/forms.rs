//! Forms and multipart bodies through the real proxy: what the app (for a
//! request) or the client (for a response) recovers after decoding the
//! form, the base64 or the quoted-printable holds none of the planted
//! values, and every other field intact.

mod support;

use std::collections::HashMap;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use piimask::devpki::ALLOWED_CLIENT_ID;
use support::{App, Client, Http, Pki, Proxy, TestBody};

const EMAIL: &str = "john.doe@example.com";
const PHONE: &str = "+14155552671";
const CARD: &str = "4111 1111 1111 1111";

/// POST masks the request on its way to the app (the answer is passed);
/// PUT masks the answer (the request is passed). `/echo` answers what it
/// received, with its content type.
fn start(name: &str, app: &App) -> (Pki, Proxy) {
    let pki = Pki::new(name);
    let config = format!(
        r#"
tls: {{ cert: server.crt, key: server.key, ca: ca.crt }}
inbound:
  listen: 127.0.0.1:0
  routes:
    - {{ name: requests, methods: [POST], allow: ["{ALLOWED_CLIENT_ID}"], upstream: app,
        request_profile: default, response_profile: none, max_request_bytes: 268435456 }}
    - {{ name: responses, methods: [PUT], allow: ["{ALLOWED_CLIENT_ID}"], upstream: app }}
upstreams:
  - {{ name: app, url: "{url}" }}
"#,
        url = app.url()
    );
    let file = support::write_file(&pki.dir, "piimask.yaml", &config);
    let proxy = Proxy::start(&["run".into(), "--config".into(), file.to_string_lossy().into_owned()]);
    (pki, proxy)
}

fn body(b: impl Into<Bytes>) -> TestBody {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

fn request(method: http::Method, content_type: &str, b: TestBody) -> Request<TestBody> {
    Request::builder()
        .method(method)
        .uri("/echo")
        .header("host", "localhost")
        .header("content-type", content_type)
        .body(b)
        .expect("request")
}

/// A form holding the three planted values, encoded as browsers encode
/// them, between fields that must come through unchanged.
fn planted_form() -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("name", "John Doe")
        .append_pair("email", EMAIL)
        .append_pair("tel", PHONE)
        .append_pair("card", CARD)
        .append_pair("comment", "call me at +14155552671 or write john.doe@example.com")
        .append_pair("plan", "gold & silver")
        .finish()
}

fn assert_no_planted(what: &str, text: &str) {
    for planted in [EMAIL, PHONE, CARD, "john.doe%40example.com", "4111+1111+1111+1111", "%2B14155552671"] {
        assert!(!text.contains(planted), "{what} holds {planted:?}: {text}");
    }
    assert!(!text.replace(' ', "").contains("4111111111111111"), "{what} holds the card: {text}");
}

fn assert_form_masked(what: &str, raw: &[u8]) {
    let fields: HashMap<String, String> = form_urlencoded::parse(raw).into_owned().collect();
    let all: String = fields.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    assert_no_planted(what, &all);
    assert_no_planted(what, &String::from_utf8_lossy(raw));
    assert_eq!(fields["name"], "John Doe", "{what}");
    assert_eq!(fields["plan"], "gold & silver", "{what}");
    assert_eq!(fields["email"], "[EMAIL]", "{what}");
    assert_eq!(fields["comment"], "call me at [PHONE] or write [EMAIL]", "{what}");
}

#[tokio::test(flavor = "multi_thread")]
async fn form_requests_and_responses_are_masked_over_http1_and_http2() {
    let app = App::start().await;
    let (pki, proxy) = start("forms", &app);
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        let ct = "application/x-www-form-urlencoded";

        let a = client.send(proxy.addr, request(http::Method::POST, ct, body(planted_form()))).await.expect("post");
        assert_eq!(a.status, StatusCode::OK, "{http:?}");
        assert_form_masked(&format!("the request the app received ({http:?})"), &app.last_seen().body);

        let a = client.send(proxy.addr, request(http::Method::PUT, ct, body(planted_form()))).await.expect("put");
        assert_eq!(a.status, StatusCode::OK, "{http:?}");
        assert_eq!(app.last_seen().body, planted_form().as_bytes(), "PUT passes the request");
        assert_form_masked(&format!("the response the client received ({http:?})"), &a.body);
    }
    proxy.assert_logs_clean();
}

/// An iterator of chunks as a `Stream`, for a body sent piece by piece.
struct Chunks<I>(I);

impl<I: Iterator<Item = Bytes> + Unpin> futures_core::Stream for Chunks<I> {
    type Item = Result<Frame<Bytes>, std::io::Error>;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::task::Poll::Ready(self.0.next().map(|b| Ok(Frame::data(b))))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_form_far_larger_than_memory_streams_with_flat_memory() {
    let app = App::start().await;
    let (pki, proxy) = start("big-form", &app);
    let client = Client::new(&pki, Some("client"), Http::H2);
    // 64 MiB: many pairs, then one value of 16 MiB (longer than any held
    // value), planted values throughout.
    let pairs: Bytes =
        "email=someone%40example.org&tel=%2B14155552671&note=lorem+ipsum+dolor+sit+amet&".repeat(64 * 1024 / 80).into();
    let long: Bytes = "lorem+ipsum+john.doe%40example.com+dolor+".repeat(64 * 1024 / 41).into();
    let n_pairs = 48 * 1024 * 1024 / pairs.len();
    let n_long = 16 * 1024 * 1024 / long.len();
    let chunks = std::iter::repeat_n(pairs, n_pairs)
        .chain(std::iter::once(Bytes::from_static(b"big=")))
        .chain(std::iter::repeat_n(long, n_long))
        .chain(std::iter::once(Bytes::from_static(b"&end=1")));
    let streamed = StreamBody::new(Chunks(chunks)).boxed();
    let ct = "application/x-www-form-urlencoded";
    let a = client.send(proxy.addr, request(http::Method::POST, ct, streamed)).await.expect("big form");
    assert_eq!(a.status, StatusCode::OK);
    let seen = app.last_seen().body;
    assert!(seen.len() > 48 << 20, "the whole body came through: {} bytes", seen.len());
    for planted in [&b"%40example"[..], b"@example", b"14155552671"] {
        assert!(!seen.windows(planted.len()).any(|w| w == planted), "{planted:?} got through");
    }
    assert!(seen.ends_with(b"+dolor+&end=1"));
    let peak = proxy.peak_rss_kib();
    assert!(peak < 48 * 1024, "peak RSS {peak} KiB while 64 MiB streamed through");
}

const BOUNDARY: &str = "----piimaskTestBoundary7MA4YWxkTrZu0gW";

/// Base64 in lines of 76, as mail and form clients write it.
fn base64_lines(data: &[u8]) -> String {
    use base64::Engine;
    let e = base64::engine::general_purpose::STANDARD.encode(data);
    e.as_bytes().chunks(76).map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>().join("\r\n")
}

/// A form-data body: a plain field, a base64 text part, a quoted-printable
/// part whose soft line break cuts the email, a JSON part and a binary
/// file, each planting the values where they can be.
fn planted_multipart() -> Vec<u8> {
    let text = format!("Write to {EMAIL}, call {PHONE}, pay with {CARD}.\r\nKeep this line.");
    let qp = "Contact john.doe@exa=\r\nmple.com or =2B14155552671, card 4111 1111 1111 1111, caf=C3=A9.";
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x02\xff";
    let mut b = Vec::new();
    let mut part = |headers: &str, body: &[u8]| {
        b.extend_from_slice(format!("--{BOUNDARY}\r\n{headers}\r\n\r\n").as_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(b"\r\n");
    };
    part("Content-Disposition: form-data; name=\"city\"", b"Lyon");
    part("Content-Disposition: form-data; name=\"email\"", EMAIL.as_bytes());
    part(
        "Content-Disposition: form-data; name=\"letter\"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64",
        base64_lines(text.repeat(2).as_bytes()).as_bytes(),
    );
    part(
        "Content-Disposition: form-data; name=\"note\"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable",
        qp.as_bytes(),
    );
    part(
        "Content-Disposition: form-data; name=\"profile\"\r\nContent-Type: application/json",
        format!(r#"{{"email":"{EMAIL}","phone":"{PHONE}","card":"{CARD}","plan":"gold"}}"#).as_bytes(),
    );
    part(
        "Content-Disposition: form-data; name=\"scan\"; filename=\"john.doe@example.com.png\"\r\nContent-Type: image/png",
        png,
    );
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

/// A quoted-printable decoder of the test's own (RFC 2045 §6.7).
fn qp_decode(b: &[u8]) -> Vec<u8> {
    let hex = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b[i + 1..].starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if let (Some(h), Some(l)) = (b.get(i + 1).and_then(|&c| hex(c)), b.get(i + 2).and_then(|&c| hex(c))) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Each part of a multipart body by its name: (headers, decoded body).
fn decode_multipart(body: &[u8]) -> HashMap<String, (String, Vec<u8>)> {
    use base64::Engine;
    let text = String::from_utf8_lossy(body).into_owned();
    let delimiter = format!("--{BOUNDARY}");
    assert!(text.trim_end().ends_with(&format!("{delimiter}--")), "the closing boundary is kept: {text}");
    let mut parts = HashMap::new();
    let mut rest = body;
    let delim = format!("\r\n{delimiter}");
    rest = &rest[delimiter.len()..];
    while !rest.starts_with(b"--") {
        rest = rest.strip_prefix(b"\r\n").expect("a line break after the boundary");
        let head_end = rest.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
        let headers = String::from_utf8_lossy(&rest[..head_end]).into_owned();
        let body = &rest[head_end + 4..];
        let end = body.windows(delim.len()).position(|w| w == delim.as_bytes()).expect("a boundary after the part");
        let raw = &body[..end];
        let lower = headers.to_ascii_lowercase();
        let decoded = if lower.contains("content-transfer-encoding: base64") {
            let clean: Vec<u8> = raw.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
            base64::engine::general_purpose::STANDARD.decode(clean).expect("valid base64")
        } else if lower.contains("content-transfer-encoding: quoted-printable") {
            qp_decode(raw)
        } else {
            raw.to_vec()
        };
        let name = headers.split("name=\"").nth(1).and_then(|n| n.split('"').next()).expect("a name").to_string();
        parts.insert(name, (headers, decoded));
        rest = &body[end + delim.len()..];
    }
    parts
}

fn assert_multipart_masked(what: &str, raw: &[u8]) {
    let parts = decode_multipart(raw);
    let part = |name: &str| String::from_utf8_lossy(&parts[name].1).into_owned();
    for (name, (headers, body)) in &parts {
        if name != "scan" {
            assert_no_planted(&format!("{what}, part {name}"), &String::from_utf8_lossy(body));
        }
        assert_no_planted(&format!("{what}, headers of {name}"), headers);
    }
    assert_eq!(part("city"), "Lyon", "{what}");
    assert_eq!(part("email"), "[EMAIL]", "{what}");
    assert_eq!(
        part("letter"),
        "Write to [EMAIL], call [PHONE], pay with [CARD].\r\nKeep this line.".repeat(2),
        "{what}"
    );
    assert_eq!(part("note"), "Contact [EMAIL] or [PHONE], card [CARD], caf\u{e9}.", "{what}");
    assert_eq!(part("profile"), r#"{"email":"[EMAIL]","phone":"[PHONE]","card":"[CARD]","plan":"gold"}"#, "{what}");
    assert_eq!(parts["scan"].1, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01\x02\xff", "{what}: the image passes");
    assert!(parts["scan"].0.contains("filename=\"[EMAIL].png\""), "{what}: {}", parts["scan"].0);
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_requests_and_responses_are_masked_part_by_part() {
    let app = App::start().await;
    let (pki, proxy) = start("multipart", &app);
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        let a =
            client.send(proxy.addr, request(http::Method::POST, &ct, body(planted_multipart()))).await.expect("post");
        assert_eq!(a.status, StatusCode::OK, "{http:?}");
        assert_multipart_masked(&format!("the request the app received ({http:?})"), &app.last_seen().body);

        let a = client.send(proxy.addr, request(http::Method::PUT, &ct, body(planted_multipart()))).await.expect("put");
        assert_eq!(a.status, StatusCode::OK, "{http:?}");
        assert_multipart_masked(&format!("the response the client received ({http:?})"), &a.body);
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn forms_and_multipart_the_app_sends_to_an_egress_peer_are_masked() {
    use piimask::devpki::SERVER_ID;
    let peer_app = App::start().await;
    let pki = Pki::new("egress-forms");
    // The peer's own sidecar passes request bodies: what its app receives
    // is what the egress listener sent.
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
    let multipart_type = format!("multipart/form-data; boundary={BOUNDARY}");
    for (content_type, sent) in [
        ("application/x-www-form-urlencoded", planted_form().into_bytes()),
        (multipart_type.as_str(), planted_multipart()),
    ] {
        let tcp = tokio::net::TcpStream::connect(egress.addr).await.expect("connect egress");
        let io = hyper_util::rt::TokioIo::new(tcp);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.expect("handshake");
        tokio::spawn(conn);
        let request = Request::post("http://customers.svc/echo")
            .header("host", "customers.svc")
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(sent)))
            .expect("request");
        let response = sender.send_request(request).await.expect("response");
        assert_eq!(response.status(), StatusCode::OK, "{content_type}");
        let seen = peer_app.last_seen().body;
        if content_type.starts_with("multipart/") {
            assert_multipart_masked("what the egress peer received", &seen);
        } else {
            assert_form_masked("what the egress peer received", &seen);
        }
    }
}
