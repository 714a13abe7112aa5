//! Shared pieces of the proxy's black-box tests: a throw-away PKI on disk,
//! a sample app on 127.0.0.1 (in the test process), the real `piimask`
//! binary as a child process, and an HTTPS client with or without a client
//! certificate, speaking HTTP/1.1 or HTTP/2.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use piimask::devpki::{self, DevCa, LeafSpec};
use piimask::tls::{self, TlsFiles};
use tokio::net::{TcpListener, TcpStream};

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
];

pub const CUSTOMER: &str = r#"{"customer":{"id":"c_1042","email":"ana.lopez@example.com","phone":"+44 20 7946 0958","card":"4111 1111 1111 1111","created_at":"2026-11-21T09:30:00Z","orders":[1732187400,1732187455]},"note":"call (0161) 496 0066 about invoice 98123457"}"#;
pub const CUSTOMER_MASKED: &str = r#"{"customer":{"id":"c_1042","email":"[EMAIL]","phone":"[PHONE]","card":"[CARD]","created_at":"2026-11-21T09:30:00Z","orders":[1732187400,1732187455]},"note":"call [PHONE] about invoice 98123457"}"#;

/// A folder with the dev PKI plus certificates the proxy must refuse.
pub struct Pki {
    pub dir: PathBuf,
    ca: DevCa,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("piimask-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ca = devpki::write_dev_pki(&dir).expect("dev PKI");
        Pki { dir, ca }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Writes `<name>.crt/.key` from another CA than the proxy trusts.
    pub fn foreign_client(&self, name: &str) {
        let ca = DevCa::new("some other CA").expect("CA");
        ca.issue(&LeafSpec::spiffe(name, devpki::ALLOWED_CLIENT_ID))
            .expect("leaf")
            .write(&self.dir, name)
            .expect("write");
    }

    /// Writes an expired `<name>.crt/.key` with the allowed identity, from
    /// the CA the proxy trusts.
    pub fn expired_client(&self, name: &str) {
        let spec = LeafSpec { valid_days: -1, ..LeafSpec::spiffe(name, devpki::ALLOWED_CLIENT_ID) };
        self.ca.issue(&spec).expect("leaf").write(&self.dir, name).expect("write");
    }

    /// Issues a new server certificate (same names, new key) into
    /// `<dir>/<folder>/server.{crt,key}`.
    pub fn server_cert_in(&self, folder: &str) -> PathBuf {
        let dir = self.dir.join(folder);
        std::fs::create_dir_all(&dir).expect("folder");
        let spec = LeafSpec::spiffe("customers", devpki::SERVER_ID).with_localhost();
        self.ca.issue(&spec).expect("leaf").write(&dir, "server").expect("write");
        dir
    }

    /// `piimask run` arguments: the dev PKI, mTLS, the allowed client only.
    pub fn args(&self, upstream: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "run",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream,
            "--cert",
            &self.path("server.crt").to_string_lossy(),
            "--key",
            &self.path("server.key").to_string_lossy(),
            "--client-ca",
            &self.path("ca.crt").to_string_lossy(),
            "--allow-peer",
            devpki::ALLOWED_CLIENT_ID,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The real binary, running `piimask run`; killed on drop.
pub struct Proxy {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts `piimask` with `args` and waits for its inbound listener.
    pub fn start(args: &[String]) -> Proxy {
        Proxy::start_until(args, "inbound listener ready")
    }

    /// Starts `piimask` and waits for the log line `ready` (which carries
    /// the bound address).
    pub fn start_until(args: &[String], ready_line: &'static str) -> Proxy {
        let mut child = Command::new(BIN)
            .args(args)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn piimask");
        let stderr = child.stderr.take().expect("stderr");
        let logs = Arc::new(Mutex::new(String::new()));
        let (ready, addr) = std::sync::mpsc::channel();
        let sink = logs.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(ready_line)
                    && let Some(a) = json_field(&line, "addr")
                {
                    let _ = ready.send(a);
                }
                let mut logs = sink.lock().expect("logs");
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let addr = match addr.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a.parse().expect("listener address"),
            Err(_) => {
                let _ = child.kill();
                panic!("piimask did not start: {}", logs.lock().expect("logs"));
            }
        };
        Proxy { child, addr, logs, reader: Some(reader) }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address a `<what> listener ready` log line announced.
    pub fn announced(&self, what: &str) -> SocketAddr {
        let wanted = format!("{what} listener ready");
        let logs = self.logs();
        let line = logs.lines().find(|l| l.contains(&wanted)).unwrap_or_else(|| panic!("no `{wanted}` in {logs}"));
        json_field(line, "addr").and_then(|a| a.parse().ok()).expect("an address")
    }

    /// Sends SIGTERM and waits up to `limit` for the exit status.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.wait(limit)
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// The audit events (JSON log lines of target `piimask::audit`) logged
    /// so far, as their `fields` objects.
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        self.logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v.get("target").and_then(|t| t.as_str()) == Some("piimask::audit"))
            .filter_map(|v| v.get("fields").cloned())
            .collect()
    }

    pub fn logs(&self) -> String {
        self.logs.lock().expect("logs").clone()
    }

    /// No planted value in anything piimask logged.
    pub fn assert_logs_clean(&self) {
        let logs = self.logs();
        for value in PLANTED {
            assert!(!logs.contains(value), "a planted value reached the log: {logs}");
        }
    }

    pub fn peak_rss_kib(&self) -> u64 {
        self.proc_status_kib("VmHWM:")
    }

    /// Resident memory that is not the mapped binary (heap, stacks):
    /// comparable between debug and release builds.
    pub fn anon_rss_kib(&self) -> u64 {
        self.proc_status_kib("RssAnon:")
    }

    /// Open file descriptors (sockets included).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).expect("proc fd").count()
    }

    /// The open descriptors once the count holds still for 200 ms (a
    /// request just answered may still be closing its connections).
    pub fn settled_fds(&self) -> usize {
        let mut last = self.open_fds();
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(200));
            let now = self.open_fds();
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }

    /// Waits (up to 10 s) for the open descriptors to come back to at most
    /// `baseline`: what a fault left behind is closed.
    pub fn assert_fds_settle(&self, baseline: usize, after: &str) {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while self.open_fds() > baseline && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(self.open_fds() <= baseline, "{after}: {} descriptors open, {baseline} before", self.open_fds());
    }

    fn proc_status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("proc status");
        let line = status.lines().find(|l| l.starts_with(field)).expect("field in /proc/PID/status");
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number of kB")
    }
}

/// Every proxy a test starts has its whole log scanned for planted values
/// when it goes away, so no test can forget to.
impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The pipe is closed now: the reader has everything once it ends.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        if !std::thread::panicking() {
            self.assert_logs_clean();
        }
    }
}

fn json_field(line: &str, name: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v.get("fields")?.get(name)?.as_str().map(str::to_string)
}

pub type TestBody = http_body_util::combinators::BoxBody<Bytes, std::io::Error>;

fn full(b: impl Into<Bytes>) -> TestBody {
    Full::new(b.into()).map_err(|never| match never {}).boxed()
}

/// The sample app: a plain HTTP/1.1 server with a few endpoints, counting
/// the requests it receives.
pub struct App {
    pub addr: SocketAddr,
    pub hits: Arc<AtomicUsize>,
    /// Requests to `/echo`, as the app received them.
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
        "/gzip" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(CUSTOMER.as_bytes())?;
            Response::builder()
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(full(enc.finish()?))
        }
        "/br" => Response::builder()
            .header("content-type", "application/json")
            .header("content-encoding", "br")
            .body(full(CUSTOMER)),
        "/big" => {
            let mib: usize = query.strip_prefix("mib=").and_then(|n| n.parse().ok()).unwrap_or(1);
            json(big_json(mib))
        }
        "/echo-peer" => {
            let peer = req.headers().get("x-piimask-peer").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
            Response::builder().header("content-type", "text/plain").body(full(peer))
        }
        "/echo" => {
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

/// How the test client talks to the proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Http {
    H1,
    H2,
}

/// An HTTPS client trusting the dev CA, presenting `identity` (`client`,
/// `other-client`, … as written in the PKI folder) if given.
pub struct Client {
    config: Arc<rustls::ClientConfig>,
}

#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Client {
    pub fn new(pki: &Pki, identity: Option<&str>, http: Http) -> Client {
        let files = identity.map(|name| TlsFiles {
            cert: pki.path(&format!("{name}.crt")),
            key: pki.path(&format!("{name}.key")),
            ca: None,
        });
        let mut config = tls::client_config(&pki.path("ca.crt"), files.as_ref()).expect("client config");
        config.alpn_protocols = vec![match http {
            Http::H1 => b"http/1.1".to_vec(),
            Http::H2 => b"h2".to_vec(),
        }];
        Client { config: Arc::new(config) }
    }

    pub async fn get(&self, addr: SocketAddr, path: &str) -> Result<Answer, piimask::proxy::BoxError> {
        self.send(addr, Request::get(path).header("host", "localhost").body(full(Bytes::new()))?).await
    }

    /// Opens a keep-alive HTTP/1.1 connection and completes one request on
    /// it; the returned sender keeps the connection open.
    pub async fn keep_alive(
        &self,
        addr: SocketAddr,
        path: &str,
    ) -> Result<hyper::client::conn::http1::SendRequest<TestBody>, piimask::proxy::BoxError> {
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let tcp = TcpStream::connect(addr).await?;
        let tls = connector.connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp).await?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await?;
        tokio::spawn(conn);
        let response =
            sender.send_request(Request::get(path).header("host", "localhost").body(full(Bytes::new()))?).await?;
        response.into_body().collect().await?;
        Ok(sender)
    }

    /// A TLS connection to `addr` with this client's identity and ALPN,
    /// for tests that write raw bytes.
    pub async fn tls(
        &self,
        addr: SocketAddr,
    ) -> Result<tokio_rustls::client::TlsStream<TcpStream>, piimask::proxy::BoxError> {
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let tcp = TcpStream::connect(addr).await?;
        Ok(connector.connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp).await?)
    }

    /// The leaf certificate the server presents on a new connection.
    pub async fn server_certificate(&self, addr: SocketAddr) -> Result<Vec<u8>, piimask::proxy::BoxError> {
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let tcp = TcpStream::connect(addr).await?;
        let tls = connector.connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp).await?;
        let certs = tls.get_ref().1.peer_certificates().ok_or("no server certificate")?;
        Ok(certs[0].as_ref().to_vec())
    }

    pub async fn send(&self, addr: SocketAddr, request: Request<TestBody>) -> Result<Answer, piimask::proxy::BoxError> {
        let connector = tokio_rustls::TlsConnector::from(self.config.clone());
        let tcp = TcpStream::connect(addr).await?;
        let tls = connector.connect(rustls_pki_types::ServerName::try_from("localhost")?, tcp).await?;
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
        let io = TokioIo::new(tls);
        let response = if h2 {
            let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io).await?;
            tokio::spawn(conn);
            let mut request = request;
            *request.version_mut() = http::Version::HTTP_2;
            *request.uri_mut() = format!("https://localhost{}", request.uri()).parse()?;
            sender.send_request(request).await?
        } else {
            let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
            tokio::spawn(conn);
            sender.send_request(request).await?
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer { status, headers, body })
    }
}

/// A plain HTTP/1.1 request to an admin listener: (status, body).
pub async fn admin(addr: SocketAddr, method: http::Method, path: &str) -> (StatusCode, String) {
    let tcp = TcpStream::connect(addr).await.expect("connect admin");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.expect("handshake");
    tokio::spawn(conn);
    let request = Request::builder().method(method).uri(path).header("host", "admin").body(full(Bytes::new()));
    let response = sender.send_request(request.expect("request")).await.expect("response");
    let status = response.status();
    let body = response.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
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
