//! Fault injection against the real binary: upstreams that reset, stall,
//! lie or speak garbage, and clients that send malformed HTTP/1 and
//! HTTP/2, TLS garbage, a head byte by byte (slowloris), disconnect
//! mid-stream or hold two thousand idle connections. For each: the right status or a reset (never a cut-off
//! body that looks complete, never an unmasked value), the proxy keeps
//! serving, and the file descriptors it opened for the fault are closed.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::StatusCode;
use support::{Client, Http, Pki, Proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const EMAIL: &str = "ana.lopez@example.com";

/// An upstream that misbehaves as the request path says. Counts the
/// connections on which it saw its reader go away (`/endless`).
struct BadUpstream {
    addr: SocketAddr,
    reader_left: Arc<AtomicUsize>,
}

impl BadUpstream {
    async fn start() -> BadUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let reader_left = Arc::new(AtomicUsize::new(0));
        let counter = reader_left.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(misbehave(tcp, counter.clone()));
            }
        });
        BadUpstream { addr, reader_left }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Reads a request head and answers as its path says.
async fn misbehave(mut tcp: TcpStream, reader_left: Arc<AtomicUsize>) {
    let Some(head) = support::read_request_head(&mut tcp).await else { return };
    let line = String::from_utf8_lossy(&head);
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let json_head = |length: &str| {
        format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{length}connection: close\r\n\r\n")
    };
    let partial = format!(r#"{{"customer":{{"email":"{EMAIL}","note":"{}"#, "x".repeat(300));
    let _ = match path.as_str() {
        "/ok" => {
            let body = support::CUSTOMER;
            tcp.write_all(format!("{}{body}", json_head(&format!("content-length: {}\r\n", body.len()))).as_bytes())
                .await
        }
        // Promises 10,000 bytes, sends part, then resets the connection.
        "/reset" => {
            let _ = tcp.write_all(format!("{}{partial}", json_head("content-length: 10000\r\n")).as_bytes()).await;
            // Linger 0: close sends RST at once (the deprecation is about
            // blocking on close with a non-zero linger).
            #[allow(deprecated)]
            let _ = tcp.set_linger(Some(Duration::ZERO));
            Ok(())
        }
        // Chunked, one chunk, then a clean close without the last chunk.
        "/truncated" => {
            let chunk = format!("{:x}\r\n{partial}\r\n", partial.len());
            let head = json_head("transfer-encoding: chunked\r\n");
            tcp.write_all(format!("{head}{chunk}").as_bytes()).await
        }
        // Sends part of the body, then nothing, holding the connection.
        "/stall" => {
            let _ = tcp.write_all(format!("{}{partial}", json_head("content-length: 10000\r\n")).as_bytes()).await;
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        }
        "/garbage" => tcp.write_all(b"\x16\x03\x01\x00 not HTTP at all\r\n\r\n").await,
        "/bad-length" => tcp.write_all(format!("{}{{}}", json_head("content-length: 12abc\r\n")).as_bytes()).await,
        "/two-lengths" => {
            tcp.write_all(format!("{}{{}}", json_head("content-length: 2\r\ncontent-length: 7\r\n")).as_bytes()).await
        }
        // Streams text with PII until the reader goes away.
        "/endless" => {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n";
            if tcp.write_all(head.as_bytes()).await.is_ok() {
                let line = format!("call {EMAIL} about order 1042\n").repeat(1000);
                let chunk = format!("{:x}\r\n{line}\r\n", line.len());
                while tcp.write_all(chunk.as_bytes()).await.is_ok() {}
                reader_left.fetch_add(1, Ordering::SeqCst);
            }
            Ok(())
        }
        _ => tcp.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await,
    };
}

/// A misbehaving upstream, piimask in front of it, HTTP/1.1 and HTTP/2
/// clients, and the proxy's descriptor count once a good request is done.
struct Setup {
    upstream: BadUpstream,
    proxy: Proxy,
    h1: Client,
    h2: Client,
    baseline: usize,
    _pki: Pki,
}

async fn setup(name: &str, extra: &[&str]) -> Setup {
    let upstream = BadUpstream::start().await;
    let pki = Pki::new(name);
    let mut args = vec!["--body-idle-timeout", "1", "--upstream-timeout", "5"];
    args.extend_from_slice(extra);
    let proxy = Proxy::start(&pki.args(&upstream.url(), &args));
    let (h1, h2) = (Client::new(&pki, Some("client"), Http::H1), Client::new(&pki, Some("client"), Http::H2));
    still_serving(&h1, &proxy).await;
    let baseline = proxy.settled_fds();
    Setup { upstream, proxy, h1, h2, baseline, _pki: pki }
}

/// The proxy still answers a good request, masked.
async fn still_serving(client: &Client, proxy: &Proxy) {
    let answer = client.get(proxy.addr, "/ok").await.expect("a good request after the fault");
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.text(), support::CUSTOMER_MASKED);
}

/// Sends `GET path` over a raw HTTP/1.1 TLS connection and reads until the
/// proxy closes it: everything the client would have received.
async fn raw_get(client: &Client, addr: SocketAddr, path: &str) -> String {
    let mut tls = client.tls(addr).await.expect("TLS");
    let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\n\r\n");
    tls.write_all(request.as_bytes()).await.expect("write");
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buf = [0u8; 8192];
        loop {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.expect("the proxy ends the response");
    String::from_utf8_lossy(&got).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn upstream_failures_mid_body_reset_the_stream_and_never_leak() {
    let Setup { proxy, h1, h2, baseline, _pki, .. } = setup("faults-upstream-body", &[]).await;

    for path in ["/reset", "/truncated", "/stall"] {
        // HTTP/1.1: the head went out (200, chunked since masking may
        // change the length), then the connection closes without the
        // last chunk: no client can take that for a whole body.
        let got = raw_get(&h1, proxy.addr, path).await;
        assert!(got.starts_with("HTTP/1.1 200"), "{path}: {got}");
        assert!(got.contains("transfer-encoding: chunked"), "{path}: {got}");
        assert!(!got.ends_with("0\r\n\r\n"), "{path}: the body looks complete: {got}");
        assert!(!got.contains(EMAIL), "{path}: unmasked value delivered: {got}");
        // HTTP/2: the stream is reset; the body never completes.
        let error = h2.get(proxy.addr, path).await.expect_err("an HTTP/2 body cut off must fail");
        assert!(!error.to_string().is_empty());
        still_serving(&h1, &proxy).await;
        proxy.assert_fds_settle(baseline, path);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upstreams_that_answer_garbage_or_lie_about_length_get_502() {
    let Setup { proxy, h2: client, baseline, _pki, .. } = setup("faults-upstream-garbage", &[]).await;
    for path in ["/garbage", "/bad-length", "/two-lengths"] {
        let answer = client.get(proxy.addr, path).await.expect("an answer");
        assert_eq!(answer.status, StatusCode::BAD_GATEWAY, "{path}: {}", answer.text());
        assert!(!answer.text().contains("not HTTP"), "the upstream's bytes are not relayed");
        still_serving(&client, &proxy).await;
        proxy.assert_fds_settle(baseline, path);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_leaves_mid_stream_releases_the_upstream() {
    let Setup { upstream, proxy, h1: client, baseline, _pki, .. } = setup("faults-client-leaves", &[]).await;
    for round in 1..=3 {
        let mut tls = client.tls(proxy.addr).await.expect("TLS");
        tls.write_all(b"GET /endless HTTP/1.1\r\nhost: localhost\r\n\r\n").await.expect("write");
        let mut first = vec![0u8; 256 * 1024];
        let mut got = 0;
        while got < first.len() {
            got += tls.read(&mut first[got..]).await.expect("read");
        }
        let text = String::from_utf8_lossy(&first);
        assert!(text.contains("call [EMAIL] about order 1042") && !text.contains(EMAIL));
        drop(tls);
        // The proxy drops its upstream connection: the upstream's writes fail.
        support::eventually_async("the upstream connection released", Duration::from_secs(10), async || {
            (upstream.reader_left.load(Ordering::SeqCst) >= round).then_some(())
        })
        .await;
        assert_eq!(upstream.reader_left.load(Ordering::SeqCst), round, "the upstream connection was released");
        proxy.assert_fds_settle(baseline, "a client leaving mid-stream");
    }
    still_serving(&client, &proxy).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_http1_http2_and_tls_are_refused_and_others_served() {
    let Setup { proxy, h1, h2, baseline, _pki, .. } = setup("faults-malformed", &[]).await;

    // HTTP/1: a request line that is not one.
    let mut tls = h1.tls(proxy.addr).await.expect("TLS");
    tls.write_all(b"THIS IS NOT HTTP\r\n\r\n").await.expect("write");
    let mut answer = String::new();
    let _ = tls.read_to_string(&mut answer).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    drop(tls);

    // HTTP/2: a SETTINGS frame whose length is not a multiple of 6 is a
    // connection error: the server answers GOAWAY and closes.
    let mut tls = h2.tls(proxy.addr).await.expect("TLS");
    let mut bytes = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    bytes.extend_from_slice(&[0, 0, 5, 0x4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5]);
    tls.write_all(&bytes).await.expect("write");
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tls.read_to_end(&mut got)).await.expect("closed");
    assert!(frame_types(&got).contains(&0x7), "no GOAWAY in {got:?}");
    drop(tls);

    // TLS: bytes that are no handshake.
    let mut tcp = TcpStream::connect(proxy.addr).await.expect("connect");
    tcp.write_all(&[0x42; 1024]).await.expect("write");
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut rest)).await.expect("closed");
    drop(tcp);

    still_serving(&h2, &proxy).await;
    proxy.assert_fds_settle(baseline, "malformed requests");
}

/// The types of the HTTP/2 frames in `bytes` (a server's side of a connection).
fn frame_types(bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    let mut at = 0;
    while at + 9 <= bytes.len() {
        let len = usize::from(bytes[at]) << 16 | usize::from(bytes[at + 1]) << 8 | usize::from(bytes[at + 2]);
        types.push(bytes[at + 3]);
        at += 9 + len;
    }
    types
}

#[tokio::test(flavor = "multi_thread")]
async fn two_thousand_idle_connections_neither_block_others_nor_stay_behind() {
    let Setup { proxy, h1: client, baseline, _pki, .. } = setup("faults-idle", &[]).await;
    let rss_before = proxy.anon_rss_kib();
    let mut idle = Vec::new();
    for _ in 0..2000 {
        idle.push(TcpStream::connect(proxy.addr).await.expect("connect"));
    }
    // Every one accepted (the proxy holds a descriptor for each)…
    support::eventually("the proxy to hold all 2000 connections", Duration::from_secs(10), || {
        (proxy.open_fds() >= baseline + 2000).then_some(())
    });
    // …and a real client is served meanwhile.
    still_serving(&client, &proxy).await;
    let rss_loaded = proxy.anon_rss_kib();
    drop(idle);
    proxy.assert_fds_settle(baseline, "two thousand idle connections");
    eprintln!("anon RSS: {rss_before} KiB before, {rss_loaded} KiB with 2000 idle connections");
    assert!(rss_loaded < rss_before + 96 * 1024, "{rss_loaded} KiB with 2000 idle connections");
}

#[tokio::test(flavor = "multi_thread")]
async fn slowloris_sending_a_head_byte_by_byte_is_cut_off_at_the_head_timeout() {
    let Setup { proxy, h1: client, baseline, _pki, .. } =
        setup("faults-slowloris", &["--header-read-timeout", "1"]).await;
    let mut tls = client.tls(proxy.addr).await.expect("TLS");
    let head = b"GET /ok HTTP/1.1\r\nhost: localhost\r\nx-padding: ".iter().chain([b'a'; 200].iter());
    let started = std::time::Instant::now();
    let mut cut_off = false;
    // One byte every 100 ms: each arrives well within the timeout, the
    // whole head never does. The timeout is on the head, not per byte.
    for &byte in head {
        if tls.write_all(&[byte]).await.is_err() || tls.flush().await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if started.elapsed() > Duration::from_secs(8) {
            break;
        }
    }
    let mut rest = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), tls.read_to_end(&mut rest)).await;
    assert!(cut_off, "the proxy never closed the connection");
    assert!(started.elapsed() < Duration::from_secs(6), "cut off after {:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    still_serving(&client, &proxy).await;
    proxy.assert_fds_settle(baseline, "slowloris");
}
