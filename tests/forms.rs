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
