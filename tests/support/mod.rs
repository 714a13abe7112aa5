//! Shared pieces of the black-box tests: a throw-away PKI on disk (`pki`),
//! a sample app on 127.0.0.1 in the test process (`app`), the real
//! `piimask` binary as a child process (`proxy`), HTTPS clients (`client`),
//! and `eventually`, the one way a test waits for something to happen.
// Each test binary uses a part of this module.
#![allow(dead_code, unused_imports)]

mod app;
mod client;
pub mod coding;
mod pki;
mod proxy;
pub mod reader;
pub mod spelled;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub use app::{App, Seen, TestBody};
pub use client::{Answer, Client, Http, admin};
pub use pki::Pki;
pub use proxy::Proxy;

pub const BIN: &str = env!("CARGO_BIN_EXE_piimask");

/// Values planted in the app's answers and the tests' requests; none may
/// reach a peer or a log.
pub const PLANTED: &[&str] = &[
    "ana.lopez@example.com",
    "ana.lopez%40example.com",
    "+44 20 7946 0958",
    "4111 1111 1111 1111",
    "(0161) 496 0066",
    "someone@example.org",
    "+14155552671",
];

pub const CUSTOMER: &str = r#"{"customer":{"id":"c_1042","email":"ana.lopez@example.com","phone":"+44 20 7946 0958","card":"4111 1111 1111 1111","created_at":"2026-11-21T09:30:00Z","orders":[1732187400,1732187455]},"note":"call (0161) 496 0066 about invoice 98123457"}"#;
pub const CUSTOMER_MASKED: &str = r#"{"customer":{"id":"c_1042","email":"[EMAIL]","phone":"[PHONE]","card":"[CARD]","created_at":"2026-11-21T09:30:00Z","orders":[1732187400,1732187455]},"note":"call [PHONE] about invoice 98123457"}"#;

/// Prose with an email, a phone and a card planted in it, long enough to
/// span several compressed blocks; and what a masked copy reads.
pub const PLANTED_TEXT: &str = "Ticket 7731: Ana Lopez wrote from ana.lopez@example.com and asked us to call +44 20 7946 0958 before paying with 4111 1111 1111 1111. The order ships on Tuesday.\n";
pub const PLANTED_TEXT_MASKED: &str = "Ticket 7731: Ana Lopez wrote from [EMAIL] and asked us to call [PHONE] before paying with [CARD]. The order ships on Tuesday.\n";

/// [`PLANTED_TEXT`] 200 times (some 30 KiB), as `/coded/…` answers it;
/// `masked` gives what must arrive instead.
pub fn planted_text(masked: bool) -> String {
    (if masked { PLANTED_TEXT_MASKED } else { PLANTED_TEXT }).repeat(200)
}

/// A small PNG whose `tEXt` chunk holds an email: bytes that must pass
/// unchanged (masking the email would break the chunk's CRC).
pub fn png() -> Vec<u8> {
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut c = (data.len() as u32).to_be_bytes().to_vec();
        c.extend_from_slice(kind);
        c.extend_from_slice(data);
        let crc = crc32(&c[4..]);
        c.extend_from_slice(&crc.to_be_bytes());
        c
    };
    let mut png = b"\x89PNG\r\n\x1A\n".to_vec();
    png.extend(chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]));
    png.extend(chunk(b"tEXt", b"Author\0ana.lopez@example.com"));
    png.extend(chunk(b"IDAT", &[0x78, 0x9C, 0x63, 0x60, 0x00, 0x00, 0x00, 0x02, 0x00, 0x01]));
    png.extend(chunk(b"IEND", b""));
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// One gRPC message (uncompressed flag, big-endian length, then the
/// protobuf bytes: field 1, a string holding an email).
pub fn grpc_message() -> Vec<u8> {
    let value = b"ana.lopez@example.com";
    let mut message = vec![0x0A, value.len() as u8];
    message.extend_from_slice(value);
    let mut framed = vec![0];
    framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
    framed.extend(message);
    framed
}

/// A page that writes the planted email, phone and card in every
/// spelling piimask reads through (HTML references, percent-escapes,
/// Unicode spaces, fullwidth and invisible characters, link schemes),
/// between markup that holds `&amp;`, `%` and no-break spaces of its own.
pub const MARKUP_PAGE: &str = concat!(
    "<!doctype html><html><body><p>Tom &amp; Jerry &lt;3 &#169; 100% &nbsp;&#64; alone</p>\n",
    "<p>a: john.doe&#64;example.com</p>\n",
    "<p>b: john.doe&#x40;example.com</p>\n",
    "<p>c: john.doe&commat;example.com</p>\n",
    "<p>d: <a href=\"mailto:john.doe%40example.com\">write</a></p>\n",
    "<p>e: ｊｏｈｎ．ｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ</p>\n",
    "<p>f: john.d\u{200B}oe@exam\u{AD}ple.com</p>\n",
    "<p>g: <a href=\"tel:+14155552671\">call</a> <a href=\"https://wa.me/14155552671?text=hi\">chat</a></p>\n",
    "<p>h: +1&nbsp;415&nbsp;555&nbsp;2671, +1\u{A0}415\u{202F}555\u{2009}2671</p>\n",
    "<p>i: ＋１ ４１５ ５５５ ２６７１, +1 415\u{200B}555\u{FEFF}2671</p>\n",
    "<p>j: 4111&nbsp;1111&nbsp;1111&nbsp;1111, ４１１１ １１１１ １１１１ １１１１, 4111\u{AD}1111\u{AD}1111\u{AD}1111</p>\n",
    "<p><a href=\"/search?q=%E6%97%A5&amp;page=2\">next</a> 12\u{A0}345,67\u{202F}€</p></body></html>\n",
);

/// [`MARKUP_PAGE`] masked: each spelling replaced whole, the rest byte
/// for byte.
pub const MARKUP_PAGE_MASKED: &str = concat!(
    "<!doctype html><html><body><p>Tom &amp; Jerry &lt;3 &#169; 100% &nbsp;&#64; alone</p>\n",
    "<p>a: [EMAIL]</p>\n",
    "<p>b: [EMAIL]</p>\n",
    "<p>c: [EMAIL]</p>\n",
    "<p>d: <a href=\"mailto:[EMAIL]\">write</a></p>\n",
    "<p>e: [EMAIL]</p>\n",
    "<p>f: [EMAIL]</p>\n",
    "<p>g: <a href=\"tel:[PHONE]\">call</a> <a href=\"https://wa.me/[PHONE]?text=hi\">chat</a></p>\n",
    "<p>h: [PHONE], [PHONE]</p>\n",
    "<p>i: [PHONE], [PHONE]</p>\n",
    "<p>j: [CARD], [CARD], [CARD]</p>\n",
    "<p><a href=\"/search?q=%E6%97%A5&amp;page=2\">next</a> 12\u{A0}345,67\u{202F}€</p></body></html>\n",
);

/// What [`MARKUP_PAGE`] plants, as [`reader::leaked`] looks for it.
pub const MARKUP_PLANTED: &[&str] = &["john.doe@example.com", "+14155552671", "4111 1111 1111 1111"];

/// How often `eventually` looks again.
const POLL: Duration = Duration::from_millis(20);

/// Polls `check` until it gives a value, and returns it; panics naming
/// `what` if `limit` passes first. This is how a test waits for another
/// process or task: on the condition itself, never on a fixed pause.
pub fn eventually<T>(what: &str, limit: Duration, check: impl FnMut() -> Option<T>) -> T {
    poll_until(limit, check).unwrap_or_else(|| panic!("timed out after {limit:?} waiting for {what}"))
}

/// Polls `check` until it gives a value or `limit` passes (`None`).
pub fn poll_until<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check() {
            return Some(value);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(POLL);
    }
}

/// `eventually` for async checks, on the test's runtime.
pub async fn eventually_async<T>(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {limit:?} waiting for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// Reads from `tcp` until a whole HTTP/1.1 request head has arrived; the
/// bytes read (head and whatever followed), or `None` if the peer closed
/// first. For test upstreams that answer with raw bytes.
pub async fn read_request_head(tcp: &mut tokio::net::TcpStream) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match tcp.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    Some(head)
}

/// An upstream that answers every connection with `response`, byte for
/// byte, once it has read the request head: for answers a well-behaved
/// server library would not write.
pub async fn raw_upstream(response: &'static [u8]) -> std::net::SocketAddr {
    use tokio::io::AsyncWriteExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind upstream");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                if read_request_head(&mut tcp).await.is_none() {
                    return;
                }
                let _ = tcp.write_all(response).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    addr
}

/// The body, gunzipped.
pub fn gunzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("valid gzip");
    out
}

pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write");
    p
}

/// A request body of `text`, for the test clients.
pub fn full_body(text: &str) -> TestBody {
    app::full(text.to_string())
}
