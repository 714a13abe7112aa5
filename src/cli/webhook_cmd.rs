//! `piimask webhook`: the admission webhooks over HTTPS, `POST /mutate`
//! (injection) and `POST /validate` (the PII guard: sidecar, node
//! networking, isolation, and who may opt out of the sidecar). The decisions are `k8s::webhook`'s; this file
//! is the server around them.

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

use super::GivenFlags;
use super::inject_cmd::{CertsArg, InjectFlags};
use crate::k8s::inject::InjectOptions;
use crate::k8s::kube_api::{KubeApi, KubeApiSettings};
use crate::k8s::webhook::{Guard, review, validation};
use crate::tls::{self, TlsFiles};

/// The API server takes objects of up to 3 MiB (its default request
/// limit); a review of an UPDATE carries two of them, plus the envelope.
const MAX_BODY: usize = 7 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub struct WebhookArgs {
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
    /// The webhook's serving certificate (the API server verifies it).
    #[arg(long)]
    pub cert: PathBuf,
    #[arg(long)]
    pub key: PathBuf,
    #[command(flatten)]
    pub inject: InjectFlags,
    /// The pod label that marks workloads holding PII (`/validate`).
    #[arg(long, default_value = "piimask.io/pii=true")]
    pub pii_label: String,
    /// A further image `/validate` accepts as the sidecar's, besides
    /// `--image` (repeatable): a private registry's copy of it.
    #[arg(long = "sidecar-image", value_name = "IMAGE")]
    pub sidecar_images: Vec<String>,
    /// An external address range PII pods may reach and be reached from
    /// (repeatable), e.g. the platform's load balancers or node-local DNS.
    #[arg(long = "allowed-cidr", value_name = "CIDR")]
    pub allowed_cidrs: Vec<String>,
    /// A namespace whose pods may opt out of the sidecar
    /// (`piimask.io/inject: "false"`) though they or the namespace are
    /// labelled as holding PII (repeatable); elsewhere `/validate` refuses
    /// such an opt-out.
    #[arg(long = "allow-opt-out", value_name = "NAMESPACE")]
    pub allow_opt_out: Vec<String>,
    #[command(flatten)]
    pub api: KubeApiArgs,
}

/// Where the API server is, for `/validate`; each defaults to what a pod
/// finds in its environment and service account.
#[derive(Debug, Default, clap::Args)]
pub struct KubeApiArgs {
    /// The API server (default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT).
    #[arg(long)]
    pub api_server: Option<String>,
    /// The bearer token file (default: the pod's service account token).
    #[arg(long)]
    pub api_token_file: Option<PathBuf>,
    /// The CA that signs the API server's certificate (default: the service account's).
    #[arg(long)]
    pub api_ca: Option<PathBuf>,
}

impl KubeApiArgs {
    fn settings(&self) -> KubeApiSettings {
        KubeApiSettings {
            server: self.api_server.clone(),
            token_file: self.api_token_file.clone(),
            ca: self.api_ca.clone(),
        }
    }
}

/// What every request's handler shares.
struct Webhook {
    inject: InjectOptions,
    guard: Guard,
    /// `None` outside a cluster without `--api-server`: PII pods are then
    /// refused, as nothing can be checked.
    api: Option<KubeApi>,
}

pub fn run(args: &WebhookArgs, given: &GivenFlags) -> anyhow::Result<()> {
    let inject = args.inject.options(CertsArg::CsiSpiffe, given)?;
    let config = tls::server_config(&TlsFiles { cert: args.cert.clone(), key: args.key.clone(), ca: None })?;
    crate::telemetry::init_logging();
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?.block_on(async {
        let guard = Guard {
            pii: super::netpol_cmd::pii(&args.pii_label)?,
            sidecar: inject.clone(),
            sidecar_images: args.sidecar_images.clone(),
            allowed_cidrs: super::netpol_cmd::cidrs(&args.allowed_cidrs)?,
            allow_opt_out: args.allow_opt_out.clone(),
        };
        let webhook = Arc::new(Webhook { inject, guard, api: KubeApi::new(&args.api.settings())? });
        if webhook.api.is_none() {
            tracing::warn!("no API server (not in a cluster, no --api-server): /validate refuses every PII pod");
        }
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
            let (acceptor, webhook) = (acceptor.clone(), webhook.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = service_fn(move |request| {
                    let webhook = webhook.clone();
                    async move { Ok::<_, Infallible>(handle(request, &webhook).await) }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    })
}

async fn handle(request: Request<Incoming>, webhook: &Webhook) -> Response<Full<Bytes>> {
    let reply = |status: StatusCode, content_type: &'static str, body: String| {
        let mut r = Response::new(Full::new(Bytes::from(body)));
        *r.status_mut() = status;
        r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static(content_type));
        r
    };
    let path = request.uri().path().to_string();
    let answer = match (request.method(), path.as_str()) {
        (&Method::GET, "/healthz") => return reply(StatusCode::OK, "text/plain", "ok\n".into()),
        (&Method::POST, "/mutate" | "/validate") => {
            let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => {
                    return reply(StatusCode::PAYLOAD_TOO_LARGE, "text/plain", "piimask: review too large\n".into());
                }
            };
            if path == "/mutate" { review(&body, &webhook.inject) } else { validate(&body, webhook).await }
        }
        _ => {
            let usage = "piimask: POST /mutate, POST /validate or GET /healthz\n";
            return reply(StatusCode::NOT_FOUND, "text/plain", usage.into());
        }
    };
    match answer {
        Ok(answer) => reply(StatusCode::OK, "application/json", answer.to_string()),
        Err(e) => {
            tracing::warn!(error = %e, path, "admission review refused");
            reply(StatusCode::BAD_REQUEST, "text/plain", format!("piimask: {e}\n"))
        }
    }
}

/// The validating answer: what is in force is read only for a Pod that
/// holds PII and passed the checks that need no API call.
async fn validate(body: &[u8], webhook: &Webhook) -> Result<serde_json::Value, crate::k8s::webhook::ReviewError> {
    let v = validation(body, &webhook.guard)?;
    let in_force = match (&v.check_namespace, &webhook.api) {
        (None, _) => Err(String::new()),
        (Some(ns), Some(api)) => api.in_force(ns).await,
        (Some(_), None) => Err("piimask webhook has no access to the API server".to_string()),
    };
    if let (Some(ns), Err(why)) = (&v.check_namespace, &in_force) {
        tracing::warn!(namespace = %ns, error = %why, "policies in force could not be read; PII pod refused");
    }
    Ok(v.answer(in_force.as_ref().map_err(Clone::clone), &webhook.guard))
}
