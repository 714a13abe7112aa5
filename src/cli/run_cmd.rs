//! `piimask run`: the proxy, from a configuration file (`--config` with
//! `inbound` and/or `egress`) or from flags (the simple sidecar case).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use super::GivenFlags;
use super::reload::{self, Change, Watched};
use crate::admin::{self, AdminState};
use crate::config::{Config, MAX_CONNECTIONS, duration_arg};
use crate::mask::Masker;
use crate::metrics::Metrics;
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
    /// `egress`) the whole proxy, in place of the listener flags, the
    /// limits and the timeouts (which are then refused beside it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Largest request body accepted, in bytes.
    #[arg(long, default_value_t = 16 * 1024 * 1024)]
    pub max_request_bytes: u64,
    /// Time a client has to send a request head (also between keep-alive
    /// requests): 30s, 500ms, 2m, 1h, or a number of seconds.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration_arg)]
    pub header_read_timeout: Duration,
    /// Time to wait for the upstream's response head.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration_arg)]
    pub upstream_timeout: Duration,
    /// Time a body (request or response) may stall before its stream is reset.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration_arg)]
    pub body_idle_timeout: Duration,
    /// Open connections at once; more are closed as they arrive.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=MAX_CONNECTIONS as u64))]
    pub max_connections: u64,
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
    /// Time between checks of the config and certificate files for
    /// changes (SIGHUP reloads at once).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = duration_arg)]
    pub reload_interval: Duration,
    /// Worker threads (default: one per core); 1 runs everything on one thread.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// The flags a configuration file with `inbound` or `egress` sets itself:
/// beside such a file each is refused, with the key to use instead. (clap
/// id, flag, config key.)
const SET_BY_THE_FILE: &[(&str, &str, &str)] = &[
    ("listen", "--listen", "inbound.listen"),
    ("upstream", "--upstream", "upstreams[].url"),
    ("upstream_ca", "--upstream-ca", "upstreams[].ca"),
    ("cert", "--cert", "tls.cert"),
    ("key", "--key", "tls.key"),
    ("client_ca", "--client-ca", "tls.ca"),
    ("allow_peers", "--allow-peer", "inbound.routes[].allow"),
    ("profile", "--profile", "inbound.routes[].response_profile"),
    ("max_request_bytes", "--max-request-bytes", "inbound.routes[].max_request_bytes"),
    ("header_read_timeout", "--header-read-timeout", "limits.header_read_timeout"),
    ("upstream_timeout", "--upstream-timeout", "limits.upstream_response_timeout"),
    ("body_idle_timeout", "--body-idle-timeout", "limits.body_idle_timeout"),
    ("max_connections", "--max-connections", "limits.max_connections"),
];

/// Flags about the process rather than the proxy, which no file sets:
/// they apply whatever the source of the proxy's config. `--access-log`
/// adds to the file's `access_log` (either turns it on).
#[cfg(test)]
const RUNTIME_ONLY: &[&str] =
    &["config", "admin", "access_log", "app_health_ports", "admin_shutdown", "reload_interval", "threads"];

pub fn run(args: &RunArgs, given: &GivenFlags) -> anyhow::Result<()> {
    let config = proxy_config(args, given)?;
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
        let mut tick = tokio::time::interval(args.reload_interval);
        loop {
            tokio::select! {
                stop = signals.next_is_stop() => {
                    if stop {
                        break;
                    }
                    reload::reload(&proxy, &metrics, &mut watched, Change::Config, || proxy_config(args, given));
                }
                () = admin.shutdown_requested() => break,
                _ = tick.tick() => {
                    if let Some(change) = watched.changed() {
                        reload::reload(&proxy, &metrics, &mut watched, change, || proxy_config(args, given));
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

fn proxy_config(args: &RunArgs, given: &GivenFlags) -> anyhow::Result<ProxyConfig> {
    let file = args.config.as_deref().map(Config::load).transpose()?;
    if let Some(proxy) = file.as_ref().and_then(|f| f.proxy.clone()) {
        let ignored: Vec<String> = SET_BY_THE_FILE
            .iter()
            .filter(|(id, _, _)| given.contains(id))
            .map(|(_, flag, key)| format!("  {flag}: set {key} in the config file instead"))
            .collect();
        if !ignored.is_empty() {
            bail!(
                "--config {} defines the proxy (it has `inbound` or `egress`), so these flags would be ignored; \
                 drop them:\n{}",
                file.as_ref().map_or("", |f| f.file.as_str()),
                ignored.join("\n")
            );
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
    let url: http::Uri = upstream_url.parse().with_context(|| format!("--upstream {upstream_url}: not a URL"))?;
    if args.upstream_ca.is_some() && url.scheme_str() != Some("https") {
        bail!("--upstream-ca applies only to an https --upstream; {upstream_url} is not one");
    }
    let upstream = UpstreamConfig { name: "app".into(), url, ca: args.upstream_ca.clone(), client_cert: None };
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
            tls: Some(TlsFiles { cert: cert.clone(), key: key.clone(), ca: args.client_ca.clone() }),
            policy: InboundPolicy { routes: vec![route], ..InboundPolicy::default() },
            upstreams: vec![upstream],
        }),
        egress: None,
        limits: Limits {
            header_read_timeout: args.header_read_timeout,
            upstream_response_timeout: args.upstream_timeout,
            body_idle_timeout: args.body_idle_timeout,
            max_connections: usize::try_from(args.max_connections).unwrap_or(MAX_CONNECTIONS),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_admin_port_binds_localhost() {
        assert_eq!(admin_address("9901"), Ok(SocketAddr::from(([127, 0, 0, 1], 9901))));
        assert_eq!(admin_address("0.0.0.0:9901"), Ok(SocketAddr::from(([0, 0, 0, 0], 9901))));
        assert!(admin_address("localhost").unwrap_err().contains("expected a port or an address"));
    }

    #[test]
    fn every_run_flag_is_either_set_by_the_file_or_a_runtime_knob() {
        use clap::CommandFactory;
        let command = super::super::Cli::command();
        let run = command.find_subcommand("run").expect("run");
        for arg in run.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" {
                continue;
            }
            let in_file = SET_BY_THE_FILE.iter().any(|(i, _, _)| *i == id);
            assert!(
                in_file != RUNTIME_ONLY.contains(&id),
                "--{}: list it in exactly one of SET_BY_THE_FILE or RUNTIME_ONLY",
                arg.get_long().unwrap_or(id)
            );
            if let Some((_, flag, _)) = SET_BY_THE_FILE.iter().find(|(i, _, _)| *i == id) {
                assert_eq!(Some(&flag[2..]), arg.get_long(), "the flag named for {id}");
            }
        }
    }

    #[test]
    fn the_duration_defaults_are_the_config_files_defaults() {
        use clap::CommandFactory;
        let command = super::super::Cli::command();
        let run = command.find_subcommand("run").expect("run");
        let default = |id: &str| {
            let arg = run.get_arguments().find(|a| a.get_id() == id).expect(id);
            crate::config::parse_duration(arg.get_default_values()[0].to_str().unwrap()).unwrap()
        };
        let limits = crate::proxy::Limits::default();
        assert_eq!(default("header_read_timeout"), limits.header_read_timeout);
        assert_eq!(default("upstream_timeout"), limits.upstream_response_timeout);
        assert_eq!(default("body_idle_timeout"), limits.body_idle_timeout);
    }

    #[test]
    fn docs_configuration_md_has_a_row_for_every_run_flag() {
        use clap::CommandFactory;
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/configuration.md");
        let docs = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let command = super::super::Cli::command();
        let run = command.find_subcommand("run").expect("run");
        for long in run.get_arguments().filter_map(|a| a.get_long()).filter(|l| *l != "help") {
            let row = format!("| `--{long}");
            assert!(docs.contains(&row), "{path}: no row for --{long} in the `piimask run` flags table");
        }
    }
}
