//! `piimask run`: the proxy, from a configuration file (`--config` with
//! `inbound` and/or `egress`) or from flags (the simple sidecar case).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use super::reload::{self, Change, Watched};
use crate::admin::{self, AdminState};
use crate::config::Config;
use crate::mask::Masker;
use crate::metrics::Metrics;
use crate::patterns;
use crate::policy::{BodyRule, InboundPolicy, PeerRule, Route};
use crate::proxy::{InboundConfig, Limits, ProxyConfig, RunningProxy, UpstreamConfig};
use crate::tls::TlsFiles;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Address of the inbound listener [default: 0.0.0.0:8443].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The app behind piimask, such as http://127.0.0.1:8080.
    #[arg(long)]
    pub upstream: Option<String>,
    /// CA for an https upstream.
    #[arg(long)]
    pub upstream_ca: Option<PathBuf>,
    /// The workload's certificate chain (PEM).
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// The workload's private key (PEM).
    #[arg(long)]
    pub key: Option<PathBuf>,
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
    /// Configuration file: profiles and keys, and (with `inbound` or
    /// `egress`) the whole proxy, in place of the listener flags.
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
    /// Seconds a body (request or response) may stall before its stream is reset.
    #[arg(long, default_value_t = 60.0)]
    pub body_idle_timeout: f64,
    /// Open connections at once; more are closed as they arrive.
    #[arg(long, default_value_t = 10_000)]
    pub max_connections: usize,
    /// Admin listener (/metrics, /healthz, /readyz): a port (bound on
    /// localhost, such as 9901) or an address (such as 0.0.0.0:9901).
    #[arg(long, value_parser = admin_address)]
    pub admin: Option<SocketAddr>,
    /// Log one event per request (method, route, peer, status, duration;
    /// never the path).
    #[arg(long)]
    pub access_log: bool,
    /// A port of the app whose HTTP probes the admin listener forwards
    /// (`/app-health/PORT/path`), as `piimask inject` sets up; repeatable.
    #[arg(long = "app-health-port")]
    pub app_health_ports: Vec<u16>,
    /// Accept `POST /shutdown` on the admin listener (from localhost only).
    #[arg(long)]
    pub admin_shutdown: bool,
    /// Seconds between checks of the config and certificate files for
    /// changes (SIGHUP reloads at once).
    #[arg(long, default_value_t = 2.0)]
    pub reload_interval: f64,
    /// Worker threads (default: one per core); 1 runs everything on one thread.
    #[arg(long)]
    pub threads: Option<usize>,
}

pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let config = proxy_config(args)?;
    crate::telemetry::init_logging();
    let runtime = crate::runtime::build(args.threads)?;
    let result = runtime.block_on(async {
        let mut signals = super::StopSignals::install().context("installing signal handlers")?;
        let metrics = Arc::new(Metrics::new());
        let admin = Arc::new(AdminState::new(metrics.clone(), args.admin_shutdown, args.app_health_ports.clone()));
        if let Some(addr) = args.admin {
            let bound = admin::start(addr, admin.clone()).await.with_context(|| format!("--admin {addr}"))?;
            tracing::info!(addr = %bound, "admin listener ready");
        }
        let mut watched = Watched::new(args.config.as_deref(), &config);
        let proxy = RunningProxy::start(config, metrics.clone()).await?;
        // Ready before the lines announcing it, so whoever waits for them
        // finds /readyz answering 200.
        admin.set_ready(true);
        if let Some(addr) = proxy.inbound_addr {
            tracing::info!(%addr, "inbound listener ready");
        }
        if let Some(addr) = proxy.egress_addr {
            tracing::info!(%addr, "egress listener ready");
        }
        let mut tick = tokio::time::interval(seconds("--reload-interval", args.reload_interval)?);
        loop {
            tokio::select! {
                stop = signals.next_is_stop() => {
                    if stop {
                        break;
                    }
                    reload::reload(&proxy, &metrics, &mut watched, Change::Config, || proxy_config(args));
                }
                () = admin.shutdown_requested() => break,
                _ = tick.tick() => {
                    if let Some(change) = watched.changed() {
                        reload::reload(&proxy, &metrics, &mut watched, change, || proxy_config(args));
                    }
                }
            }
        }
        admin.set_ready(false);
        tracing::info!("shutting down: draining in-flight requests");
        proxy.shutdown().await;
        tracing::info!("drained; exiting");
        Ok(())
    });
    drop(runtime);
    crate::telemetry::flush();
    result
}

fn proxy_config(args: &RunArgs) -> anyhow::Result<ProxyConfig> {
    let file = args.config.as_deref().map(Config::load).transpose()?;
    if let Some(proxy) = file.as_ref().and_then(|f| f.proxy.clone()) {
        if args.listen.is_some() || args.upstream.is_some() || args.cert.is_some() || !args.allow_peers.is_empty() {
            bail!("--config defines the listeners; drop --listen, --upstream, --cert, --key and --allow-peer");
        }
        return Ok(ProxyConfig { access_log: proxy.access_log || args.access_log, ..proxy });
    }
    let (Some(upstream_url), Some(cert), Some(key)) = (&args.upstream, &args.cert, &args.key) else {
        bail!("give --upstream, --cert and --key (or --config with an `inbound` or `egress` section)");
    };
    let masker_config = match &file {
        Some(file) => file.profile(&args.profile)?.clone(),
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
        url: upstream_url.parse().with_context(|| format!("--upstream {upstream_url}: not a URL"))?,
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
            listen: args.listen.unwrap_or(SocketAddr::from(([0, 0, 0, 0], 8443))),
            tls: Some(TlsFiles { cert: cert.clone(), key: key.clone(), ca: args.client_ca.clone() }),
            policy: InboundPolicy { routes: vec![route], ..InboundPolicy::default() },
            upstreams: vec![upstream],
        }),
        egress: None,
        limits: Limits {
            header_read_timeout: seconds("--header-read-timeout", args.header_read_timeout)?,
            upstream_response_timeout: seconds("--upstream-timeout", args.upstream_timeout)?,
            body_idle_timeout: seconds("--body-idle-timeout", args.body_idle_timeout)?,
            max_connections: args.max_connections,
            ..Limits::default()
        },
        access_log: args.access_log,
    })
}

/// `9901` means 127.0.0.1:9901: the admin listener is local unless an
/// address says otherwise.
fn admin_address(value: &str) -> Result<SocketAddr, String> {
    match value.parse::<u16>() {
        Ok(port) => Ok(SocketAddr::from(([127, 0, 0, 1], port))),
        Err(_) => value.parse().map_err(|_| format!("`{value}`: expected a port or an address such as 127.0.0.1:9901")),
    }
}

fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("{flag} {value}: expected a positive number of seconds"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_admin_port_binds_localhost() {
        assert_eq!(admin_address("9901"), Ok(SocketAddr::from(([127, 0, 0, 1], 9901))));
        assert_eq!(admin_address("0.0.0.0:9901"), Ok(SocketAddr::from(([0, 0, 0, 0], 9901))));
        assert!(admin_address("localhost").unwrap_err().contains("expected a port or an address"));
    }
}
