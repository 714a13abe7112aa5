//! `piimask demo`: the whole job in a few seconds with no setup. It makes a
//! throw-away PKI, starts a sample app that answers JSON full of personal
//! data, puts piimask (mTLS, one allowed peer) in front of it, and shows an
//! allowed peer getting the masked answer, a peer with the wrong identity
//! refused, and a client without a certificate refused. Everything runs in
//! this process and is gone when it exits.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

use crate::devpki::{self, ALLOWED_CLIENT_ID, OTHER_CLIENT_ID};
use crate::mask::{Action, FieldRuleConfig, Masker};
use crate::metrics::Metrics;
use crate::patterns;
use crate::policy::{BodyRule, InboundPolicy, PeerRule, Route};
use crate::proxy::{InboundConfig, Limits, ProxyConfig, RunningProxy, UpstreamConfig};
use crate::tls::{self, TlsFiles};

/// What the sample app returns: a customer record as such services hold it.
const CUSTOMER: &str = r#"{"customer":{"id":"c_1042","name":"Ana López","email":"ana.lopez@example.com","phone":"+44 20 7946 0958","card":"4111 1111 1111 1111","created_at":"2026-11-21T09:30:00Z","orders":[1732187400,1732187455]},"note":"Call her back on (0161) 496 0066 about invoice 98123457."}"#;

pub fn run() -> anyhow::Result<()> {
    let dir = TempDir::new()?;
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?
        .block_on(demo(dir.path()))
}

async fn demo(dir: &Path) -> anyhow::Result<()> {
    let _ca = devpki::write_dev_pki(dir)?;
    let app = sample_app().await?;
    // The built-in detectors, plus a field rule for what no detector can
    // recognise by shape: a person's name.
    let mut profile = patterns::default_config();
    profile.fields.push(FieldRuleConfig {
        id: "customer-name".into(),
        path: "$..name".into(),
        action: Action::Redact { placeholder: "[NAME]".into() },
    });
    let masker = Arc::new(Masker::new(&profile)?);
    let proxy = RunningProxy::start(
        ProxyConfig {
            inbound: Some(InboundConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                tls: Some(TlsFiles {
                    cert: dir.join("server.crt"),
                    key: dir.join("server.key"),
                    ca: Some(dir.join("ca.crt")),
                }),
                policy: InboundPolicy {
                    routes: vec![Route {
                        name: "customers".into(),
                        path_prefix: "/".into(),
                        host: None,
                        methods: vec![],
                        peers: PeerRule::Only(vec![ALLOWED_CLIENT_ID.into()]),
                        upstream: 0,
                        request: BodyRule::passthrough(),
                        response: BodyRule::mask(masker),
                        max_request_bytes: 1 << 20,
                    }],
                    ..InboundPolicy::default()
                },
                upstreams: vec![UpstreamConfig {
                    name: "app".into(),
                    url: format!("http://{app}").parse()?,
                    ca: None,
                    client_cert: None,
                }],
            }),
            egress: None,
            limits: Limits::default(),
            access_log: false,
        },
        Arc::new(Metrics::new()),
    )
    .await?;
    let addr = proxy.inbound_addr.context("inbound listener has an address")?;
    println!("piimask demo (throw-away PKI in {})", dir.display());
    println!("  sample app, plain HTTP on {app}");
    println!("  piimask, mTLS on {addr}, allows {ALLOWED_CLIENT_ID}\n");

    let mut ok = true;
    let client = |name: &str| {
        Some(TlsFiles { cert: dir.join(format!("{name}.crt")), key: dir.join(format!("{name}.key")), ca: None })
    };

    println!("1. allowed peer {ALLOWED_CLIENT_ID}");
    println!("   the app sent:  {CUSTOMER}");
    match get(dir, addr, client("client")).await {
        Ok((status, body)) => {
            println!("   the peer got:  {status} {body}");
            ok &= status == StatusCode::OK && !body.contains("ana.lopez@example.com") && !body.contains("Ana López");
        }
        Err(e) => {
            println!("   failed: {e:#}");
            ok = false;
        }
    }

    println!("\n2. peer {OTHER_CLIENT_ID} (same CA, not allowed)");
    match get(dir, addr, client("other-client")).await {
        Ok((status, body)) => {
            println!("   refused:       {status} {}", body.trim_end());
            ok &= status == StatusCode::FORBIDDEN;
        }
        Err(e) => {
            println!("   failed: {e:#}");
            ok = false;
        }
    }

    println!("\n3. client without a certificate");
    match get(dir, addr, None).await {
        Ok((status, _)) => {
            println!("   NOT refused: {status}");
            ok = false;
        }
        Err(e) => println!("   refused in the TLS handshake: {}", root_cause(&e)),
    }

    proxy.shutdown().await;
    if !ok {
        bail!("the demo did not behave as expected (see above)");
    }
    println!("\nall three as expected. Next: `piimask certs dev --out certs` and `piimask run --help`.");
    Ok(())
}

/// A one-connection HTTPS GET to the proxy, as a peer with `identity`.
async fn get(dir: &Path, addr: SocketAddr, identity: Option<TlsFiles>) -> anyhow::Result<(StatusCode, String)> {
    let config = tls::client_config(&dir.join("ca.crt"), identity.as_ref())?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await?;
    let server_name = rustls_pki_types::ServerName::try_from("localhost")?;
    let stream = connector.connect(server_name, tcp).await.context("TLS handshake")?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = Request::get("/customers/c_1042").header("host", "localhost").body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await.context("request")?;
    let status = response.status();
    let body = response.into_body().collect().await.context("response body")?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn root_cause(e: &anyhow::Error) -> String {
    e.chain().last().map(|c| c.to_string()).unwrap_or_default()
}

/// The sample app: answers every request with `CUSTOMER`.
async fn sample_app() -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let service = service_fn(|_request| async {
                    Response::builder()
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from_static(CUSTOMER.as_bytes())))
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
            });
        }
    });
    Ok(addr)
}

/// A folder removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let path = std::env::temp_dir().join(format!("piimask-demo-{}", std::process::id()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
