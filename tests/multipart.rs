//! Multipart bodies through the real proxy, both ways, read as their
//! receiver reads them: every part decoded from its transfer encoding AND
//! its own charset holds none of the planted values, and the text around
//! them is intact. Framing or part headers a receiver could read otherwise
//! than piimask are refused with a reason (415 for a request, 502 for a
//! response), and the app never sees a refused request.

mod support;

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use piimask::devpki::ALLOWED_CLIENT_ID;
use support::reader::leaked;
use support::{App, Client, Http, Pki, Proxy, TestBody};

const EMAIL: &str = "john.doe@example.com";
const PHONE: &str = "+14155552671";
const CARD: &str = "4111 1111 1111 1111";
const PLANTED: &[&str] = &[EMAIL, PHONE, CARD];
/// Text around the planted values that must come through.
const KEPT: &str = "Écrivez à";
const TAIL: &str = "日本語 fin.";

fn note() -> String {
    format!("{KEPT} {EMAIL}, appelez {PHONE}, carte {CARD}. {TAIL}")
}

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
        request_profile: default, response_profile: none }}
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

fn request(method: http::Method, content_type: &str, b: Vec<u8>) -> Request<TestBody> {
    Request::builder()
        .method(method)
        .uri("/echo")
        .header("host", "localhost")
        .header("content-type", content_type)
        .body(Full::new(Bytes::from(b)).map_err(|never| match never {}).boxed())
        .expect("request")
}

fn utf16(text: &str, big_endian: bool, mark: bool) -> Vec<u8> {
    let units = mark.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
    units.flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() }).collect()
}

fn utf32(text: &str, big_endian: bool, mark: bool) -> Vec<u8> {
    let chars = mark.then_some('\u{FEFF}').into_iter().chain(text.chars());
    chars.flat_map(|c| if big_endian { (c as u32).to_be_bytes() } else { (c as u32).to_le_bytes() }).collect()
}

fn b64(data: &[u8]) -> Vec<u8> {
    let e = base64::engine::general_purpose::STANDARD.encode(data);
    e.as_bytes().chunks(76).collect::<Vec<_>>().join(&b"\r\n"[..])
}

const BOUNDARY: &str = "piimask-parts-7MA4YWxk";

fn multipart(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = Vec::new();
    for (headers, body) in parts {
        b.extend_from_slice(format!("--{BOUNDARY}\r\n{headers}\r\n\r\n").as_bytes());
        b.extend_from_slice(body);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    b
}

/// Parts in charsets of their own, raw and under both transfer encodings.
fn planted_parts() -> Vec<u8> {
    let note = note();
    let json = format!(r#"{{"email":"{EMAIL}","phone":"{PHONE}","card":"{CARD}","city":"{KEPT} {TAIL}"}}"#);
    let sjis = encoding_rs::SHIFT_JIS.encode(&format!("連絡 {EMAIL} 電話 {PHONE} カード {CARD} {TAIL}")).0.into_owned();
    let latin1 = encoding_rs::WINDOWS_1252.encode(&format!("{KEPT} {EMAIL} {PHONE} {CARD} fin.")).0.into_owned();
    let qp_latin1: Vec<u8> = latin1.iter().flat_map(|&b| qp_byte(b)).collect();
    let disposition = |name: &str, rest: &str| format!("Content-Disposition: form-data; name=\"{name}\"\r\n{rest}");
    multipart(&[
        (disposition("a", "Content-Type: text/plain; charset=utf-16le"), utf16(&note, false, false)),
        (disposition("b", "Content-Type: text/plain; charset=utf-16"), utf16(&note, true, true)),
        (
            disposition("c", "Content-Type: text/plain; charset=utf-16le\r\nContent-Transfer-Encoding: base64"),
            b64(&utf16(&note, false, false)),
        ),
        (
            disposition("d", "Content-Type: text/plain; charset=utf-32\r\nContent-Transfer-Encoding: base64"),
            b64(&utf32(&note, true, true)),
        ),
        (
            disposition("e", "Content-Type: text/plain; charset=shift_jis\r\nContent-Transfer-Encoding: base64"),
            b64(&sjis),
        ),
        (
            disposition(
                "f",
                "Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable",
            ),
            qp_latin1,
        ),
        (disposition("g", "Content-Type: application/json; charset=utf-16be"), utf16(&json, true, false)),
        (disposition("h", "Content-Type: text/plain"), note.into_bytes()),
    ])
}

/// One byte quoted-printable, every non-alphanumeric byte escaped.
fn qp_byte(b: u8) -> Vec<u8> {
    if b.is_ascii_alphanumeric() { vec![b] } else { format!("={b:02X}").into_bytes() }
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

/// The `charset` parameter of a part's headers, lower-case.
fn charset_of(headers: &str) -> Option<String> {
    let lower = headers.to_ascii_lowercase();
    let at = lower.find("charset=")? + "charset=".len();
    Some(lower[at..].split([';', '\r', '\n', ' ']).next()?.trim_matches('"').to_string())
}

/// A part's text as a receiver decodes it: a byte order mark first, then
/// the declared charset (UTF-16 and UTF-32 without a mark: big-endian).
fn decode_text(bytes: &[u8], charset: Option<&str>) -> String {
    let from16 = |b: &[u8], be: bool| {
        let units: Vec<u16> = b
            .chunks(2)
            .map(|p| if be { u16::from_be_bytes([p[0], p[1]]) } else { u16::from_le_bytes([p[0], p[1]]) })
            .collect();
        String::from_utf16(&units).expect("UTF-16")
    };
    let from32 = |b: &[u8], be: bool| {
        b.chunks(4)
            .map(|p| {
                let p = [p[0], p[1], p[2], p[3]];
                char::from_u32(if be { u32::from_be_bytes(p) } else { u32::from_le_bytes(p) }).expect("UTF-32")
            })
            .collect::<String>()
    };
    match (charset, bytes) {
        (Some(c), [0, 0, 0xFE, 0xFF, rest @ ..]) if c.starts_with("utf-32") => from32(rest, true),
        (Some(c), [0xFF, 0xFE, 0, 0, rest @ ..]) if c.starts_with("utf-32") => from32(rest, false),
        (Some(c), rest) if c.starts_with("utf-32") => from32(rest, !c.ends_with("le")),
        (_, [0xFE, 0xFF, rest @ ..]) => from16(rest, true),
        (_, [0xFF, 0xFE, rest @ ..]) => from16(rest, false),
        (Some("utf-16le"), rest) => from16(rest, false),
        (Some(c), rest) if c.starts_with("utf-16") => from16(rest, true),
        (Some(label), rest) => {
            let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).expect("a known charset");
            let (text, malformed) = encoding.decode_without_bom_handling(rest);
            assert!(!malformed, "valid {label}");
            text.into_owned()
        }
        (None, rest) => String::from_utf8(rest.to_vec()).expect("UTF-8"),
    }
}

/// Every part of a multipart body: (headers, text decoded from its
/// transfer encoding and its charset).
fn receive(body: &[u8]) -> Vec<(String, String)> {
    let delimiter = format!("\r\n--{BOUNDARY}");
    let body = [b"\r\n", body].concat();
    let mut pieces = Vec::new();
    let mut rest = &body[..];
    while let Some(at) = rest.windows(delimiter.len()).position(|w| w == delimiter.as_bytes()) {
        pieces.push(&rest[..at]);
        rest = &rest[at + delimiter.len()..];
    }
    assert!(rest.starts_with(b"--"), "the closing boundary is kept");
    pieces
        .into_iter()
        .skip(1)
        .map(|p| {
            let p = p.strip_prefix(b"\r\n").expect("a line break after the boundary");
            let end = p.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
            let headers = String::from_utf8_lossy(&p[..end]).into_owned();
            let raw = &p[end + 4..];
            let lower = headers.to_ascii_lowercase();
            let decoded = if lower.contains("content-transfer-encoding: base64") {
                let clean: Vec<u8> = raw.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
                base64::engine::general_purpose::STANDARD.decode(clean).expect("valid base64")
            } else if lower.contains("content-transfer-encoding: quoted-printable") {
                qp_decode(raw)
            } else {
                raw.to_vec()
            };
            let text = decode_text(&decoded, charset_of(&headers).as_deref());
            (headers, text)
        })
        .collect()
}

fn assert_parts_masked(what: &str, body: &[u8]) {
    let parts = receive(body);
    let sent = receive(&planted_parts());
    assert_eq!(parts.len(), sent.len(), "{what}");
    for ((headers, text), (_, original)) in parts.iter().zip(&sent) {
        assert_eq!(leaked(text, PLANTED), Vec::<&str>::new(), "{what}: {headers}: {text}");
        // Everything else intact: the text as sent with the values masked.
        let expected = original.replace(EMAIL, "[EMAIL]").replace(PHONE, "[PHONE]").replace(CARD, "[CARD]");
        assert_eq!(text, &expected, "{what}: {headers}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn parts_in_charsets_of_their_own_are_masked_both_ways() {
    let app = App::start().await;
    let (pki, proxy) = start("multipart-charsets", &app);
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    // The test's receiver sees the planted values in what was sent.
    let sent = receive(&planted_parts());
    assert!(sent.iter().all(|(_, text)| leaked(text, PLANTED).len() == 3), "{sent:?}");
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        let a = client.send(proxy.addr, request(http::Method::POST, &ct, planted_parts())).await.expect("post");
        assert_eq!(a.status, StatusCode::OK, "{http:?}");
        assert_parts_masked(&format!("the request the app received ({http:?})"), &app.last_seen().body);
        let a = client.send(proxy.addr, request(http::Method::PUT, &ct, planted_parts())).await.expect("put");
        assert_eq!(a.status, StatusCode::OK, "{http:?}");
        assert_parts_masked(&format!("the response the client received ({http:?})"), &a.body);
    }
    proxy.assert_logs_clean();
}

/// Bodies piimask refuses: (what, content type, body, reason's start).
fn refused_bodies() -> Vec<(&'static str, String, Vec<u8>, &'static str)> {
    let text = note();
    let coded = String::from_utf8(b64(text.as_bytes())).expect("ascii");
    let ct = format!("multipart/mixed; boundary={BOUNDARY}");
    let one = |headers: &str, body: &str| multipart(&[(headers.to_string(), body.as_bytes().to_vec())]);
    let long = "Q".repeat(75);
    vec![
        (
            "a boundary longer than 70",
            format!("multipart/mixed; boundary={long}"),
            format!("--{long}\r\nContent-Transfer-Encoding: base64\r\n\r\n{coded}\r\n--{long}--\r\n").into_bytes(),
            "multipart body refused: its boundary parameter",
        ),
        (
            "an RFC 2231 boundary",
            "multipart/mixed; boundary*=us-ascii''B".into(),
            format!("--B\r\nContent-Transfer-Encoding: base64\r\n\r\n{coded}\r\n--B--\r\n").into_bytes(),
            "multipart body refused: its boundary parameter",
        ),
        (
            "two transfer encodings",
            ct.clone(),
            one("Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 7bit", &coded),
            "multipart body refused: a part has two Content-Transfer-Encoding",
        ),
        (
            "two types",
            ct.clone(),
            one("Content-Type: text/plain\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64", &coded),
            "multipart body refused: a part has two Content-Type",
        ),
        (
            "an unknown transfer encoding",
            ct.clone(),
            one("Content-Transfer-Encoding: x-uuencode", &text),
            "multipart body refused: a part's Content-Transfer-Encoding",
        ),
        (
            "a message/rfc822 part",
            ct.clone(),
            one("Content-Type: message/rfc822", &format!("Content-Transfer-Encoding: base64\r\n\r\n{coded}")),
            "multipart body refused: a message/* part",
        ),
        (
            "two names",
            ct.clone(),
            one("Content-Disposition: form-data; name=\"x\"; name=\"name\"", &text),
            "multipart body refused: a part's name",
        ),
        (
            "a boundary after a bare CR",
            ct.clone(),
            format!("--{BOUNDARY}\rContent-Transfer-Encoding: base64\r\r{coded}\r--{BOUNDARY}--\r").into_bytes(),
            "multipart body refused: a boundary line",
        ),
        (
            "an unknown part charset",
            ct.clone(),
            one("Content-Type: text/plain; charset=x-klingon", &text),
            "multipart body refused: a part's charset cannot be masked",
        ),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn multipart_a_receiver_could_read_otherwise_is_refused_with_a_reason() {
    let app = App::start().await;
    let (pki, proxy) = start("multipart-refused", &app);
    let client = Client::new(&pki, Some("client"), Http::H1);
    for (what, ct, body, reason) in refused_bodies() {
        let hits = app.hits();
        let a = client.send(proxy.addr, request(http::Method::POST, &ct, body.clone())).await.expect("post");
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{what}: {}", a.text());
        let header = a.headers.get("x-piimask-reason").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(header.starts_with(reason), "{what}: {header}");
        assert_eq!(app.hits(), hits, "{what}: the app never sees a refused request");

        let a = client.send(proxy.addr, request(http::Method::PUT, &ct, body)).await.expect("put");
        assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{what}: {}", a.text());
        let header = a.headers.get("x-piimask-reason").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(header.starts_with(reason), "{what}: {header}");
        assert!(leaked(&a.text(), PLANTED).is_empty(), "{what}: {}", a.text());
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_part_refused_past_the_read_ahead_window_fails_the_stream() {
    let app = App::start().await;
    let (pki, proxy) = start("multipart-late", &app);
    let client = Client::new(&pki, Some("client"), Http::H1);
    // Far more than the read-ahead window and than any one read.
    let filler = "lorem ipsum dolor sit amet\r\n".repeat(150_000);
    let coded = String::from_utf8(b64(note().as_bytes())).expect("ascii");
    let body = multipart(&[
        ("Content-Type: text/plain".into(), filler.into_bytes()),
        ("Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 7bit".into(), coded.into_bytes()),
    ]);
    assert!(body.len() > 4 * 1024 * 1024);
    let ct = format!("multipart/mixed; boundary={BOUNDARY}");
    let answer =
        tokio::time::timeout(Duration::from_secs(60), client.send(proxy.addr, request(http::Method::PUT, &ct, body)))
            .await
            .expect("an answer in time");
    match answer {
        Err(_) => {}
        Ok(a) => panic!("a body cut short must fail, got {} with {} bytes", a.status, a.body.len()),
    }
}
