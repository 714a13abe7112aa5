//! `piimask netpol`: NetworkPolicy analysis of a folder of manifests.

use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::Context;

use super::GivenFlags;

use crate::k8s::generate::{Sidecar, Workload as GeneratedFor, network_policies, to_yaml};
use crate::k8s::netpol::{
    Cluster, Finding, PiiLabel, Protocol, Severity, diff, drift, format_diff, format_txt, lint_with,
};

#[derive(Debug, clap::Subcommand)]
pub enum NetpolCommand {
    /// Every allowed connection between workloads and external ranges.
    Connlist {
        /// Folder of manifests (read recursively: .yaml, .yml, .json).
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "txt")]
        format: ConnlistFormat,
        /// The label marking workloads that hold personal data (--format dot
        /// draws them red; refused with the other formats).
        #[arg(long, default_value = "piimask.io/pii=true")]
        pii_label: String,
    },
    /// One verdict: may SRC reach DST on PORT/PROTOCOL?
    Eval {
        dir: PathBuf,
        /// Source: a workload (`ns/name`, optionally `[Kind]`) or an IPv4 address.
        #[arg(long)]
        src: String,
        /// Destination: a workload or an IPv4 address.
        #[arg(long)]
        dst: String,
        /// Port and protocol, such as 8443/TCP (TCP if omitted).
        #[arg(long)]
        port: String,
        /// Also print the policies and rules that decided.
        #[arg(long)]
        explain: bool,
    },
    /// Findings with a severity and a stable id; exits 1 on findings at or
    /// above --fail-on.
    Lint {
        dir: PathBuf,
        #[arg(long, value_enum, default_value = "txt")]
        format: LintFormat,
        /// The lowest severity that fails the run.
        #[arg(long, value_enum, default_value = "high")]
        fail_on: FailOn,
        /// The label marking workloads that hold personal data.
        #[arg(long, default_value = "piimask.io/pii=true")]
        pii_label: String,
        /// An external address range PII workloads may reach and be
        /// reached from (repeatable), as the webhook's `--allowed-cidr`.
        #[arg(long = "allowed-cidr", value_name = "CIDR")]
        allowed_cidrs: Vec<String>,
    },
    /// Where a piimask config and the NetworkPolicies disagree on who may
    /// call the sidecar; exits 1 on any disagreement.
    Drift {
        dir: PathBuf,
        /// The piimask configuration (its `inbound` section).
        #[arg(long)]
        config: PathBuf,
        /// The workload the sidecar runs in (`ns/name`).
        #[arg(long)]
        workload: String,
        /// The SPIFFE trust domain of workload identities.
        #[arg(long, default_value = "cluster.local")]
        trust_domain: String,
    },
    /// NetworkPolicies for a workload running piimask with CONFIG: default
    /// deny, the sidecar port open to the allowed identities' namespaces,
    /// egress to the configured peers and DNS.
    Generate {
        /// The piimask configuration the sidecar runs with.
        #[arg(long)]
        config: PathBuf,
        /// The workload (`ns/name`).
        #[arg(long)]
        workload: String,
        /// The labels selecting its pods, such as app=customers (comma-separated).
        #[arg(long, value_delimiter = ',', required = true)]
        selector: Vec<String>,
    },
    /// Connections added, removed and changed from OLD to NEW (by meaning).
    Diff {
        /// Folder of manifests before the change (ref1).
        old: PathBuf,
        /// Folder of manifests after the change (ref2).
        new: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LintFormat {
    Txt,
    Json,
    /// SARIF 2.1.0, for code-scanning tools.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Low,
    Medium,
    High,
    /// Never fail: report only.
    None,
}

impl FailOn {
    fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Low => Some(Severity::Low),
            FailOn::Medium => Some(Severity::Medium),
            FailOn::High => Some(Severity::High),
            FailOn::None => None,
        }
    }
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ConnlistFormat {
    /// `src => dst : conns`, compatible with np-guard netpol-analyzer.
    Txt,
    /// A JSON array of {src, dst, conn}.
    Json,
    Csv,
    /// A Markdown table.
    Md,
    /// A Graphviz graph; workloads holding personal data are drawn red.
    Dot,
}

pub fn run(command: &NetpolCommand, given: &GivenFlags) -> anyhow::Result<()> {
    if let NetpolCommand::Connlist { format, .. } = command
        && given.contains("pii_label")
        && !matches!(format, ConnlistFormat::Dot)
    {
        anyhow::bail!("--pii-label only applies to --format dot, where it marks the workloads holding personal data");
    }
    let mut out = String::new();
    let result = render(command, &mut out);
    super::print_out(&out)?;
    result
}

/// The command's standard output, written into `out` (so a closed pipe is
/// handled in one place); `Err` after writing when a check fails.
fn render(command: &NetpolCommand, out: &mut String) -> anyhow::Result<()> {
    match command {
        NetpolCommand::Connlist { dir, format, pii_label } => {
            let cluster = Cluster::load(dir)?;
            let connections = cluster.connlist();
            match format {
                ConnlistFormat::Csv => {
                    writeln!(out, "src,dst,conn")?;
                    for c in &connections {
                        writeln!(out, "{},{},\"{}\"", c.src, c.dst, c.conns)?;
                    }
                }
                ConnlistFormat::Md => {
                    writeln!(out, "| src | dst | conn |\n|---|---|---|")?;
                    for c in &connections {
                        writeln!(out, "| {} | {} | {} |", c.src, c.dst, c.conns)?;
                    }
                }
                ConnlistFormat::Dot => out.push_str(&dot(&cluster, &connections, &pii(pii_label)?)),
                ConnlistFormat::Txt => out.push_str(&format_txt(&connections)),
                ConnlistFormat::Json => {
                    let rows: Vec<serde_json::Value> = connections
                        .iter()
                        .map(|c| serde_json::json!({"src": c.src, "dst": c.dst, "conn": c.conns.to_string()}))
                        .collect();
                    writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
                }
            }
            Ok(())
        }
        NetpolCommand::Eval { dir, src, dst, port, explain } => {
            let (number, protocol) = port.split_once('/').unwrap_or((port.as_str(), "TCP"));
            let number: u16 = number
                .parse()
                .ok()
                .filter(|n| *n > 0)
                .with_context(|| format!("--port {port}: expected PORT[/PROTOCOL]"))?;
            let protocol = Protocol::parse(&protocol.to_ascii_uppercase())
                .with_context(|| format!("--port {port}: the protocol is TCP, UDP or SCTP"))?;
            let verdict = Cluster::load(dir)?.eval(src, dst, protocol, number).map_err(anyhow::Error::msg)?;
            let word = if verdict.allowed { "allowed" } else { "denied" };
            writeln!(out, "{word}: {src} => {dst} : {} {number}", protocol.name())?;
            if *explain {
                for (side, who, judged) in [("egress", src, &verdict.egress), ("ingress", dst, &verdict.ingress)] {
                    for line in &judged.admin {
                        writeln!(out, "  {side} of {who}: {line}")?;
                    }
                    if who.parse::<std::net::Ipv4Addr>().is_ok() {
                        writeln!(out, "  {side} of {who}: outside the cluster, no NetworkPolicy applies: allowed")?;
                        continue;
                    }
                    if judged.isolated_by.is_empty() {
                        writeln!(
                            out,
                            "  {side} of {who}: not isolated (no NetworkPolicy selects it for {side}): allowed"
                        )?;
                        continue;
                    }
                    let ok = judged.allowed.contains(protocol, number);
                    writeln!(
                        out,
                        "  {side} of {who}: isolated by {}: {}",
                        judged.isolated_by.join(", "),
                        if ok { "allowed" } else { "denied" }
                    )?;
                    for (rule, conns) in &judged.allowed_by {
                        let hit = if conns.contains(protocol, number) { "matches" } else { "does not cover the port" };
                        writeln!(out, "    {rule} admits the peer with {conns}: {hit}")?;
                    }
                    if judged.allowed_by.is_empty() {
                        writeln!(out, "    no rule admits the peer")?;
                    }
                }
            }
            Ok(())
        }
        NetpolCommand::Lint { dir, format, fail_on, pii_label, allowed_cidrs } => {
            let findings = lint_with(&Cluster::load(dir)?, &pii(pii_label)?, &cidrs(allowed_cidrs)?);
            match format {
                LintFormat::Txt => {
                    for f in &findings {
                        writeln!(out, "{f}")?;
                    }
                }
                LintFormat::Json => {
                    let rows: Vec<serde_json::Value> = findings
                        .iter()
                        .map(|f| serde_json::json!({"id": f.id, "severity": f.severity.name(), "object": f.object, "message": f.message}))
                        .collect();
                    writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
                }
                LintFormat::Sarif => writeln!(out, "{}", serde_json::to_string_pretty(&sarif(&findings))?)?,
            }
            let failing = fail_on.threshold().map_or(0, |t| findings.iter().filter(|f| f.severity >= t).count());
            if failing > 0 {
                anyhow::bail!(
                    "{failing} findings at or above --fail-on {}",
                    fail_on.threshold().map_or("", Severity::name)
                );
            }
            Ok(())
        }
        NetpolCommand::Drift { dir, config, workload, trust_domain } => {
            let config = crate::config::Config::load(config)?;
            let inbound = config
                .proxy
                .as_ref()
                .and_then(|p| p.inbound.as_ref())
                .with_context(|| format!("{}: no `inbound` section to compare", config.file))?;
            let found = drift(&Cluster::load(dir)?, workload, inbound.listen.port(), &inbound.policy, trust_domain)
                .map_err(anyhow::Error::msg)?;
            for d in &found {
                writeln!(out, "{d}")?;
            }
            if !found.is_empty() {
                anyhow::bail!("{} disagreements between {} and the NetworkPolicies", found.len(), config.file);
            }
            Ok(())
        }
        NetpolCommand::Generate { config, workload, selector } => {
            let config = crate::config::Config::load(config)?;
            let proxy = config.proxy.as_ref();
            let inbound = proxy.and_then(|p| p.inbound.as_ref()).with_context(|| {
                format!("{}: no `inbound` section: there is no sidecar port to protect", config.file)
            })?;
            let (namespace, name) =
                workload.split_once('/').with_context(|| format!("--workload {workload}: expected NAMESPACE/NAME"))?;
            let pod_labels = selector
                .iter()
                .map(|kv| {
                    kv.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .with_context(|| format!("--selector {kv}: expected KEY=VALUE"))
                })
                .collect::<anyhow::Result<_>>()?;
            let destinations = proxy.map(crate::proxy::ProxyConfig::destinations).unwrap_or_default();
            let sidecar =
                Sidecar { inbound: &inbound.policy, port: inbound.listen.port(), destinations: &destinations };
            let policies = network_policies(&sidecar, &GeneratedFor { namespace, name, pod_labels: &pod_labels })?;
            out.push_str(&to_yaml(&policies)?);
            Ok(())
        }
        NetpolCommand::Diff { old, new } => {
            write!(out, "{}", format_diff(&diff(&Cluster::load(old)?, &Cluster::load(new)?)))?;
            Ok(())
        }
    }
}

/// Findings as a SARIF 2.1.0 log.
fn sarif(findings: &[Finding]) -> serde_json::Value {
    let mut ids: Vec<&str> = findings.iter().map(|f| f.id).collect();
    ids.sort_unstable();
    ids.dedup();
    let level = |s: Severity| match s {
        Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    };
    serde_json::json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {"driver": {"name": "piimask netpol lint", "rules": ids.iter().map(|id| serde_json::json!({"id": id})).collect::<Vec<_>>()}},
            "results": findings.iter().map(|f| serde_json::json!({
                "ruleId": f.id,
                "level": level(f.severity),
                "message": {"text": format!("{}: {}", f.object, f.message)},
                "locations": [{"logicalLocations": [{"fullyQualifiedName": f.object}]}]
            })).collect::<Vec<_>>()
        }]
    })
}

/// `--allowed-cidr` values as ranges.
pub(super) fn cidrs(values: &[String]) -> anyhow::Result<Vec<(u32, u32)>> {
    values
        .iter()
        .map(|c| {
            crate::k8s::netpol::parse_cidr(c)
                .with_context(|| format!("--allowed-cidr {c}: expected an IPv4 CIDR such as 10.0.0.0/8"))
        })
        .collect()
}

pub(super) fn pii(label: &str) -> anyhow::Result<PiiLabel> {
    PiiLabel::parse(label).with_context(|| format!("--pii-label {label}: expected KEY=VALUE"))
}

/// A Graphviz digraph: one node per workload or external range, PII
/// workloads filled red, one labelled edge per connection.
fn dot(cluster: &Cluster, connections: &[crate::k8s::netpol::Connection], pii: &PiiLabel) -> String {
    let marked = cluster.workloads_labelled(&pii.key, &pii.value);
    let mut nodes: Vec<&str> = connections.iter().flat_map(|c| [c.src.as_str(), c.dst.as_str()]).collect();
    nodes.sort_unstable();
    nodes.dedup();
    let mut out = String::from("digraph connlist {\n  rankdir=LR;\n  node [shape=box, fontname=\"sans-serif\"];\n");
    for n in nodes {
        let style = if marked.contains(n) {
            ", style=filled, fillcolor=\"#ffc9c9\", color=\"#c92a2a\""
        } else if n.ends_with("[External]") {
            ", shape=ellipse, color=\"#868e96\""
        } else {
            ""
        };
        out.push_str(&format!("  \"{n}\" [label=\"{n}\"{style}];\n"));
    }
    for c in connections {
        out.push_str(&format!("  \"{}\" -> \"{}\" [label=\"{}\"];\n", c.src, c.dst, c.conns));
    }
    out.push_str("}\n");
    out
}
