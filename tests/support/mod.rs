//! Shared pieces of the black-box tests: a throw-away PKI on disk (`pki`),
//! a sample app on 127.0.0.1 in the test process (`app`), the real
//! `piimask` binary as a child process (`proxy`), HTTPS clients (`client`),
//! and `eventually`, the one way a test waits for something to happen.
// Each test binary uses a part of this module.
#![allow(dead_code, unused_imports)]

mod app;
mod client;
mod pki;
mod proxy;

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
