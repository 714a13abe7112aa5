//! Command-line interface: argument parsing and exit codes.

mod certs_cmd;
mod demo;
mod inject_cmd;
mod install_cmd;
mod mask_cmd;
mod netpol_cmd;
mod reload;
mod run_cmd;
mod wait_cmd;
mod webhook_cmd;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "piimask", version, about = "Masks personal data in HTTP bodies; an mTLS sidecar.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mask a file or stdin to stdout, streaming.
    Mask(MaskArgs),
    /// Validate a configuration file.
    Check {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run the proxy.
    Run(Box<run_cmd::RunArgs>),
    /// Show the whole job in a few seconds: mTLS, a masked response, refused peers.
    Demo,
    /// Certificates for trying piimask out.
    #[command(subcommand)]
    Certs(certs_cmd::CertsCommand),
    /// Add the piimask sidecar to the workloads of a manifest stream.
    Inject(inject_cmd::InjectArgs),
    /// Take out of a manifest stream what `piimask inject` added.
    Uninject(inject_cmd::UninjectArgs),
    /// Print the cluster-side manifests (`piimask install | kubectl apply -f -`).
    Install(install_cmd::InstallArgs),
    /// The mutating admission webhook (AdmissionReview v1 over HTTPS).
    Webhook(Box<webhook_cmd::WebhookArgs>),
    /// NetworkPolicy analysis of a folder of manifests.
    #[command(subcommand)]
    Netpol(netpol_cmd::NetpolCommand),
    /// Wait until a local piimask is ready (the legacy sidecar's postStart hook).
    WaitReady(wait_cmd::WaitArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContentTypeArg {
    Json,
    Ndjson,
    Text,
    /// `application/x-www-form-urlencoded`.
    Form,
    /// A multipart body; its boundary is read from its first line.
    Multipart,
    Auto,
}

#[derive(Debug, clap::Args)]
pub struct MaskArgs {
    /// Configuration file with profiles (default: the built-in profile).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Profile in the configuration file.
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// Only these detectors (comma-separated names, such as email,phone).
    #[arg(long, value_delimiter = ',')]
    pub detectors: Option<Vec<String>>,
    /// How to read the input; `auto` looks at the file name, then the first byte.
    #[arg(long, value_enum, default_value = "auto")]
    pub content_type: ContentTypeArg,
    /// The input's charset, as an HTTP `charset` parameter names it
    /// (utf-16, shift_jis, latin1…); a byte order mark overrides it.
    /// Without it the input is UTF-8 unless a byte order mark says
    /// otherwise (or, for JSON, NUL bytes reveal UTF-16 or UTF-32).
    #[arg(long)]
    pub charset: Option<String>,
    /// Print counts and throughput to stderr at the end.
    #[arg(long)]
    pub stats: bool,
    /// Input file (default: stdin).
    pub file: Option<PathBuf>,
}

/// The flags of the chosen subcommand that were given on the command line,
/// by clap id (the field name), as opposed to those left at their default:
/// clap's defaults alone cannot tell `--profile default` from no `--profile`.
#[derive(Debug, Default)]
pub struct GivenFlags(BTreeSet<String>);

impl GivenFlags {
    /// The flags of the innermost subcommand (`run`, `netpol connlist`).
    fn of_subcommand(matches: &ArgMatches) -> GivenFlags {
        let Some((_, mut sub)) = matches.subcommand() else { return GivenFlags::default() };
        while let Some((_, inner)) = sub.subcommand() {
            sub = inner;
        }
        GivenFlags(
            sub.ids()
                .filter(|id| sub.value_source(id.as_str()) == Some(ValueSource::CommandLine))
                .map(|id| id.to_string())
                .collect(),
        )
    }

    pub fn contains(&self, id: &str) -> bool {
        self.0.contains(id)
    }
}

pub fn run() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let given = GivenFlags::of_subcommand(&matches);
    let result = match cli.command {
        Command::Mask(args) => mask_cmd::run(&args),
        Command::Check { config } => check(&config),
        Command::Run(args) => run_cmd::run(&args, &given),
        Command::Demo => demo::run(),
        Command::Certs(command) => certs_cmd::run(&command),
        Command::Netpol(command) => netpol_cmd::run(&command, &given),
        Command::Webhook(args) => webhook_cmd::run(&args, &given),
        Command::Install(args) => install_cmd::run(&args),
        Command::WaitReady(args) => wait_cmd::run(&args),
        Command::Inject(args) => inject_cmd::run(&args, &given),
        Command::Uninject(args) => inject_cmd::run_uninject(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("piimask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `piimask check`: the file parses and validates, and every certificate
/// and key it names loads.
fn check(path: &std::path::Path) -> anyhow::Result<()> {
    let config = crate::config::Config::load(path)?;
    let mut parts = vec![format!("{} profiles", config.profiles.len())];
    if let Some(proxy) = &config.proxy {
        crate::proxy::check_files(proxy).map_err(|e| anyhow::anyhow!("{}: {e}", config.file))?;
        if let Some(i) = &proxy.inbound {
            parts.push(format!("inbound on {} with {} routes", i.listen, i.policy.routes.len()));
        }
        if let Some(e) = &proxy.egress {
            parts.push(format!("egress on {} with {} peers", e.listen, e.policy.peers.len()));
        }
    }
    eprintln!("{}: ok ({})", config.file, parts.join(", "));
    Ok(())
}

/// Writes a command's output to stdout; a reader that went away (`| head`)
/// ends the command quietly, as in any pipeline.
fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// SIGTERM and SIGINT, caught from the moment this is created, so a
/// signal during start-up is not lost to the default action (exit without
/// draining).
struct StopSignals {
    term: tokio::signal::unix::Signal,
    interrupt: tokio::signal::unix::Signal,
    /// SIGHUP: reload the configuration.
    hangup: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn install() -> anyhow::Result<StopSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            term: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
            hangup: signal(SignalKind::hangup())?,
        })
    }

    /// The next signal: `true` to stop (SIGTERM, SIGINT), `false` to
    /// reload (SIGHUP).
    async fn next_is_stop(&mut self) -> bool {
        tokio::select! {
            _ = self.term.recv() => true,
            _ = self.interrupt.recv() => true,
            _ = self.hangup.recv() => false,
        }
    }
}
