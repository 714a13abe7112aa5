//! `piimask webhook`: the mutating admission webhook over HTTPS. The
//! decisions are `k8s::webhook`'s; this file is the server around them.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};

use crate::k8s::inject::InjectOptions;
use crate::k8s::webhook::review;
use crate::tls::{self, TlsFiles};

/// Kubernetes objects are at most ~1.5 MiB; a review carries two of them.
const MAX_BODY: usize = 3 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct WebhookArgs {
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
    /// The webhook's serving certificate (the API server verifies it).
    #[arg(long)]
    pub cert: PathBuf,
    #[arg(long)]
    pub key: PathBuf,
    /// The sidecar image to inject.
    #[arg(long, default_value = "ghcr.io/piimask/piimask:0.1.0")]
    pub image: String,
    /// Inject a regular container instead of a native sidecar.
    #[arg(long)]
    pub legacy_sidecar: bool,
}

pub fn run(args: &WebhookArgs) -> anyhow::Result<()> {
    let config = tls::server_config(&TlsFiles { cert: args.cert.clone(), key: args.key.clone(), ca: None })?;
    let options = Arc::new(InjectOptions { image: args.image.clone(), legacy_sidecar: args.legacy_sidecar });
    super::init_logging();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?.block_on(async {
        let mut signals = super::StopSignals::install()?;
        let listener =
            tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("--listen {}", args.listen))?;
        tracing::info!(addr = %listener.local_addr()?, "webhook listener ready");
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        loop {
            let (tcp, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(_) => continue,
                },
                stop = signals.next_is_stop() => if stop { return Ok(()) } else { continue },
            };
            let (acceptor, options) = (acceptor.clone(), options.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = service_fn(move |request| {
                    let options = options.clone();
                    async move { Ok::<_, Infallible>(handle(request, &options).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    })
}

async fn handle(request: Request<Incoming>, options: &InjectOptions) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &'static str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
        r
    };
    match (request.method(), request.uri().path()) {
        (&Method::GET, "/healthz") => reply(StatusCode::OK, "text/plain", "ok\n".into()),
        (&Method::POST, "/mutate") => {
            let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return reply(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", "piimask: review too large\n".into());
                }
            };
            match review(&body, options) {
                Ok(answer) => reply(StatusCode::OK, "application/json", answer.to_string()),
                Err(e) => {
                    tracing::warn!(error = %e, "admission review refused");
                    reply(StatusCode::BAD_REQUEST, "text/plain", format!("piimask: {e}\n"))
                }
            }
        }
        _ => reply(StatusCode::NOT_FOUND, "text/plain", "piimask: POST /mutate or GET /healthz\n".into()),
    }
}
