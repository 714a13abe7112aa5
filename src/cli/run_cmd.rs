//! `piimask run`: the proxy, from flags (the simple sidecar case).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::config::Config;
use crate::mask::Masker;
use crate::patterns;
use crate::policy::{BodyRule, InboundPolicy, PeerRule, Route};
use crate::proxy::{InboundConfig, Limits, ProxyConfig, RunningProxy, UpstreamConfig};
use crate::tls::TlsFiles;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Address of the inbound listener.
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub listen: SocketAddr,
    /// The app behind piimask, such as http://127.0.0.1:8080.
    #[arg(long)]
    pub upstream: String,
    /// CA for an https upstream.
    #[arg(long)]
    pub upstream_ca: Option<PathBuf>,
    /// The workload's certificate chain (PEM).
    #[arg(long)]
    pub cert: PathBuf,
    /// The workload's private key (PEM).
    #[arg(long)]
    pub key: PathBuf,
    /// CA of the peers; with it every peer must present a certificate (mTLS).
    #[arg(long)]
    pub client_ca: Option<PathBuf>,
    /// A peer identity (SPIFFE ID or DNS name) allowed to call; repeatable.
    /// Without any, every peer with a certificate from --client-ca may call.
    #[arg(long = "allow-peer")]
    pub allow_peers: Vec<String>,
    /// Masking profile for responses (from --config, else the built-in one).
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// Configuration file holding profiles and keys.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_request_bytes: u64,
    /// Seconds a client has to send a request head (also between keep-alive requests).
    #[arg(long, default_value_t = 30.0)]
    pub header_read_timeout: f64,
    /// Seconds to wait for the upstream's response head.
    #[arg(long, default_value_t = 60.0)]
    pub upstream_timeout: f64,
    /// Open connections at once; more are closed as they arrive.
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,
    /// Worker threads (default: one per core); 1 runs everything on one thread.
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let config = proxy_config(args)?;
    super::init_logging();
    let runtime = match args.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(1) => tokio::runtime::Builder::new_current_thread().enable_all().build(),
        Some(n) => tokio::runtime::Builder::new_multi_thread().worker_threads(n).enable_all().build(),
        None => tokio::runtime::Builder::new_multi_thread().enable_all().build(),
    }
    .context("starting the runtime")?;
    runtime.block_on(async {
        let proxy = RunningProxy::start(config).await?;
        if let Some(addr) = proxy.inbound_addr {
            tracing::info!(%addr, "inbound listener ready");
        }
        super::shutdown_signal().await;
        tracing::info!("shutting down: draining in-flight requests");
        proxy.shutdown().await;
        Ok(())
    })
}

fn proxy_config(args: &RunArgs) -> anyhow::Result<ProxyConfig> {
    let masker_config = match &args.config {
        Some(path) => Config::load(path)?.profile(&args.profile)?.clone(),
        None if args.profile == "default" => patterns::default_config(),
        None => bail!("--profile {} needs --config (without it only the built-in `default` exists)", args.profile),
    };
    let masker = Arc::new(Masker::new(&masker_config).context("building the masker")?);
    let peers = match (&args.client_ca, args.allow_peers.is_empty()) {
        (None, false) => bail!("--allow-peer needs --client-ca: without it peers present no certificate"),
        (None, true) => PeerRule::Anyone,
        (Some(_), true) => PeerRule::AnyVerified,
        (Some(_), false) => PeerRule::Only(args.allow_peers.clone()),
    };
    let upstream = UpstreamConfig {
        name: "app".into(),
        url: args.upstream.parse().with_context(|| format!("--upstream {}: not a URL", args.upstream))?,
        ca: args.upstream_ca.clone(),
        client_cert: None,
    };
    let route = Route {
        name: "default".into(),
        path_prefix: "/".into(),
        host: None,
        methods: vec![],
        peers,
        upstream: 0,
        request: BodyRule::passthrough(),
        response: BodyRule::mask(masker),
        max_request_bytes: args.max_request_bytes,
    };
    Ok(ProxyConfig {
        inbound: Some(InboundConfig {
            listen: args.listen,
            tls: Some(TlsFiles { cert: args.cert.clone(), key: args.key.clone(), ca: args.client_ca.clone() }),
            policy: InboundPolicy { routes: vec![route] },
            upstreams: vec![upstream],
        }),
        limits: Limits {
            header_read_timeout: seconds("--header-read-timeout", args.header_read_timeout)?,
            upstream_response_timeout: seconds("--upstream-timeout", args.upstream_timeout)?,
            max_connections: args.max_connections,
            ..Limits::default()
        },
    })
}

fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{flag} {value}: expected a positive number of seconds"))
}
