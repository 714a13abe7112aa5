//! The sample app: a plain HTTP/1.1 server on 127.0.0.1 in the test
//! process, answering JSON, NDJSON, text, gzip and large bodies full of the
//! planted values, and recording what `/echo` received.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::{CUSTOMER, MARKUP_PAGE};

pub type TestBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

pub(super) fn full(b: impl Into<Bytes>) -> TestBody {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// The sample app: a plain HTTP/1.1 server with a few endpoints, counting
/// the requests it receives.
pub struct App {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    /// Requests to `/echo` and under it, as the app received them.
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

#[derive(Debug, Clone)]
pub struct Seen {
    pub uri: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl App {
    pub async fn start() -> App {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind app");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (counter, record) = (hits.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (counter, record) = (counter.clone(), record.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        counter.fetch_add(1, Ordering::SeqCst);
                        app_answer(req, record.clone())
                    });
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
                });
            }
        });
        App { addr, hits, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn last_seen(&self) -> Seen {
        self.seen.lock().expect("seen").last().cloned().expect("the app received an /echo request")
    }
}

async fn app_answer(req: Request<Incoming>, seen: Arc<Mutex<Vec<Seen>>>) -> Result<Response<TestBody>, std::io::Error> {
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let json = |body: TestBody| Response::builder().header("content-type", "application/json").body(body);
    let response = match path.as_str() {
        "/json" => json(full(CUSTOMER)),
        "/chunked" => {
            let frames: Vec<Result<Frame<Bytes>, std::io::Error>> =
                CUSTOMER.as_bytes().chunks(7).map(|c| Ok(Frame::data(Bytes::copy_from_slice(c)))).collect();
            json(StreamBody::new(futures_iter(frames.into_iter())).boxed())
        }
        "/ndjson" => Response::builder()
            .header("content-type", "application/x-ndjson")
            .body(full(format!("{CUSTOMER}\n{CUSTOMER}\n"))),
        "/text" => Response::builder()
            .header("content-type", "text/plain")
            .body(full("Ana wrote from ana.lopez@example.com; call +44 20 7946 0958.\n")),
        // The page in frames of `split` bytes (whole without it), so
        // references and UTF-8 sequences are cut between frames.
        "/markup" => {
            let split: usize = query.strip_prefix("split=").and_then(|n| n.parse().ok()).unwrap_or(MARKUP_PAGE.len());
            let frames: Vec<Result<Frame<Bytes>, std::io::Error>> =
                MARKUP_PAGE.as_bytes().chunks(split).map(|c| Ok(Frame::data(Bytes::copy_from_slice(c)))).collect();
            Response::builder()
                .header("content-type", "text/html; charset=utf-8")
                .body(StreamBody::new(futures_iter(frames.into_iter())).boxed())
        }
        "/gzip" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(CUSTOMER.as_bytes())?;
            Response::builder()
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(full(enc.finish()?))
        }
        // Two `Content-Encoding` lines: `gzip` twice over a body gzipped
        // twice, or `identity` then `gzip` over one layer.
        "/gzip-twice" => Response::builder()
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .header("content-encoding", "gzip")
            .body(full(gzip(&gzip(CUSTOMER.as_bytes())?)?)),
        "/identity-then-gzip" => Response::builder()
            .header("content-type", "application/json")
            .header("content-encoding", "identity")
            .header("content-encoding", "gzip")
            .body(full(gzip(CUSTOMER.as_bytes())?)),
        // A coding piimask cannot decode.
        "/compress" => Response::builder()
            .header("content-type", "application/json")
            .header("content-encoding", "compress")
            .body(full(CUSTOMER)),
        // `/coded/gzip,br/zstd`: the planted text with each segment as one
        // `Content-Encoding` line, its codings applied in order.
        coded if coded.starts_with("/coded/") => {
            let lines: Vec<&str> = coded["/coded/".len()..].split('/').collect();
            let mut r = Response::builder().header("content-type", "text/plain; charset=utf-8");
            for line in &lines {
                r = r.header("content-encoding", *line);
            }
            r.body(full(super::coding::encode(&lines, super::planted_text(false).as_bytes())))
        }
        // Bodies that do not decode as labelled: plain text under `gzip`,
        // and a malformed ISO-2022-JP escape; and bare RFC 1951 data under
        // `deflate`, which some servers send and browsers read.
        "/plain-as-gzip" => Response::builder()
            .header("content-type", "text/plain")
            .header("content-encoding", "gzip")
            .body(full(super::PLANTED_TEXT)),
        "/bad-iso-2022-jp" => Response::builder()
            .header("content-type", "text/plain; charset=iso-2022-jp")
            .body(full([super::PLANTED_TEXT.as_bytes(), b"\x1b$B\x1b(B"].concat())),
        "/bare-deflate" => {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut e, super::planted_text(false).as_bytes())?;
            Response::builder()
                .header("content-type", "text/plain; charset=utf-8")
                .header("content-encoding", "deflate")
                .body(full(e.finish()?))
        }
        // Binary bodies: a gRPC message, a PNG (typed, and untyped), and
        // text sent as `application/octet-stream`, each with an email in it.
        "/grpc" => Response::builder().header("content-type", "application/grpc").body(full(super::grpc_message())),
        "/png" => Response::builder().header("content-type", "image/png").body(full(super::png())),
        "/untyped-png" => Response::builder().body(full(super::png())),
        "/octet-text" => {
            Response::builder().header("content-type", "application/octet-stream").body(full(super::PLANTED_TEXT))
        }
        // Types a reader takes for text while the label says otherwise: two
        // `Content-Type` lines (a browser renders the last), and a CSV
        // export served as a spreadsheet.
        "/two-types" => Response::builder()
            .header("content-type", "image/png")
            .header("content-type", "text/html")
            .body(full(super::PLANTED_TEXT)),
        "/excel-csv" => Response::builder()
            .header("content-type", "application/vnd.ms-excel")
            .body(full(format!("ticket,text\n7731,{}", super::PLANTED_TEXT))),
        // Ranges: `/range` honours a `Range: bytes=A-B` it is sent (206),
        // `/partial` answers 206 whatever it was asked.
        "/range" | "/partial" => {
            let text = super::PLANTED_TEXT.as_bytes();
            let range = req.headers().get("range").and_then(|v| v.to_str().ok()).and_then(|r| {
                let (a, b) = r.strip_prefix("bytes=")?.split_once('-')?;
                Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?.min(text.len() - 1)))
            });
            let range = if path == "/partial" { Some(range.unwrap_or((0, 40))) } else { range };
            match range {
                Some((a, b)) => Response::builder()
                    .status(206)
                    .header("content-type", "text/plain")
                    .header("content-range", format!("bytes {a}-{b}/{}", text.len()))
                    .body(full(Bytes::copy_from_slice(&text[a..=b]))),
                None => Response::builder().header("content-type", "text/plain").body(full(super::PLANTED_TEXT)),
            }
        }
        // `/big-coded?mib=32&coding=br`: the `/big` body coded whole,
        // answered in 16 KiB frames.
        "/big-coded" => {
            let param =
                |name: &str| query.split('&').find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')));
            let mib: usize = param("mib").and_then(|n| n.parse().ok()).unwrap_or(1);
            let coding = param("coding").unwrap_or("gzip").to_string();
            let plain = big_json(mib).collect().await.map_err(std::io::Error::other)?.to_bytes();
            let coded = Bytes::from(super::coding::encode(&[coding.as_str()], &plain));
            let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = (0..coded.len())
                .step_by(16 * 1024)
                .map(|at| Ok(Frame::data(coded.slice(at..coded.len().min(at + 16 * 1024)))))
                .collect();
            Response::builder()
                .header("content-type", "application/json")
                .header("content-encoding", coding)
                .body(StreamBody::new(futures_iter(frames.into_iter())).boxed())
        }
        "/big" => {
            let mib: usize = query.strip_prefix("mib=").and_then(|n| n.parse().ok()).unwrap_or(1);
            json(big_json(mib))
        }
        // A body of `support::spelled`, in frames of `split` bytes.
        spelled if spelled.starts_with("/spelled/") => {
            let name = &spelled["/spelled/".len()..];
            let Some(b) = super::spelled::BODIES.iter().find(|b| b.name == name) else {
                return Ok(Response::builder().status(404).body(full("")).expect("response"));
            };
            let split: usize = query.strip_prefix("split=").and_then(|n| n.parse().ok()).unwrap_or(b.body.len());
            let frames: Vec<Result<Frame<Bytes>, std::io::Error>> =
                b.body.as_bytes().chunks(split).map(|c| Ok(Frame::data(Bytes::copy_from_slice(c)))).collect();
            Response::builder()
                .header("content-type", b.content_type)
                .body(StreamBody::new(futures_iter(frames.into_iter())).boxed())
        }
        // Personal data in header values, in other spellings.
        "/spelled-headers" => Response::builder()
            .header("content-type", "text/plain")
            .header("x-ref", "ana.lopez&#64;example.com")
            .header("x-fullwidth", HeaderValue::from_bytes("ana.lopez\u{FF20}example.com".as_bytes()).expect("value"))
            .header("x-digits", HeaderValue::from_bytes("card ٤١١١ ١١١١ ١١١١ ١١١١".as_bytes()).expect("value"))
            .header("content-disposition", "attachment; filename=\"=?UTF-8?B?YW5hLmxvcGV6QGV4YW1wbGUuY29tLnBkZg==?=\"")
            .header("x-from", "=?utf-8?q?Ana_L=C3=B3pez?= <=?utf-8?q?ana.lopez=40example.com?=>")
            .header("x-plain", "Tom &amp; Jerry =?utf-8?q?hello?=")
            // How header parsers join and unescape values.
            .header("x-adjacent", "=?utf-8?q?ana.lopez?= =?utf-8?q?=40example.com?=")
            .header("x-utf16", "=?utf-16le?B?YQBuAGEALgBsAG8AcABlAHoAQABlAHgAYQBtAHAAbABlAC4AYwBvAG0A?=")
            .header("x-quoted", "\"ana.lopez\\@example.com\"")
            .header("x-cookie-octal", "e=\"ana.lopez\\100example.com\"")
            .header("x-continued", "attachment; filename*0=\"ana.lopez@ex\"; filename*1=\"ample.com\"")
            .body(full("ok")),
        // Personal data in response headers, as sent and percent-encoded.
        "/headers" => Response::builder()
            .header("content-type", "application/json")
            .header("location", "/users/ana.lopez%40example.com?tab=orders")
            .header("x-user-email", "ana.lopez@example.com")
            .header("x-user-phone", "+14155552671")
            .header("set-cookie", "email=ana.lopez%40example.com; Path=/; HttpOnly")
            .header("set-cookie", "card=4111%201111%201111%201111; Secure")
            .header("link", "<mailto:ana.lopez@example.com>; rel=\"author\"")
            .header("content-disposition", "attachment; filename*=UTF-8''ana.lopez%2540example.com.json")
            .header("etag", "\"v1-4111111111111111\"")
            .body(full(CUSTOMER)),
        "/echo-peer" => {
            let peer = req.headers().get("x-piimask-peer").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
            Response::builder().header("content-type", "text/plain").body(full(peer))
        }
        p if p == "/echo" || p.starts_with("/echo/") => {
            let ct = req.headers().get("content-type").cloned();
            let (uri, headers) = (req.uri().to_string(), req.headers().clone());
            let body = req.into_body().collect().await.map_err(std::io::Error::other)?.to_bytes();
            seen.lock().expect("seen").push(Seen { uri, headers, body: body.clone() });
            let mut r = Response::builder();
            if let Some(ct) = ct {
                r = r.header("content-type", ct);
            }
            r.body(full(body))
        }
        "/slow" => {
            let ms: u64 = query.strip_prefix("ms=").and_then(|n| n.parse().ok()).unwrap_or(5000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            json(full(CUSTOMER))
        }
        _ => Response::builder().status(404).body(full("no such endpoint")),
    };
    response.map_err(std::io::Error::other)
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)?;
    enc.finish()
}

/// A JSON array of `mib` MiB, produced frame by frame (never held).
fn big_json(mib: usize) -> TestBody {
    let record = r#"{"email":"someone@example.org","phone":"+44 20 7946 0958","note":"lorem ipsum dolor sit amet"},"#;
    let block: Bytes = record.repeat(64 * 1024 / record.len()).into();
    let blocks = mib * 1024 * 1024 / block.len();
    let frames = std::iter::once(Bytes::from_static(b"["))
        .chain(std::iter::repeat_n(block, blocks))
        .chain(std::iter::once(Bytes::from_static(b"{}]")))
        .map(|b| Ok(Frame::data(b)));
    StreamBody::new(futures_iter(frames)).boxed()
}

/// An iterator as a `Stream` (what `StreamBody` wants).
fn futures_iter<I: Iterator + Unpin>(iter: I) -> IterStream<I> {
    IterStream(iter)
}

pub struct IterStream<I>(I);

impl<I: Iterator + Unpin> futures_core::Stream for IterStream<I> {
    type Item = I::Item;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<I::Item>> {
        std::task::Poll::Ready(self.0.next())
    }
}
