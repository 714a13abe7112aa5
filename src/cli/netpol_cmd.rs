//! `piimask netpol`: NetworkPolicy analysis of a folder of manifests.

use std::path::PathBuf;

use anyhow::Context;

use crate::k8s::netpol::{Cluster, Protocol, diff, format_diff, format_txt};

#[derive(Debug, clap::Subcommand)]
pub enum NetpolCommand {
    /// Every allowed connection between workloads and external ranges.
    Connlist {
        /// Folder of manifests (read recursively: .yaml, .yml, .json).
        dir: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "txt")]
        format: ConnlistFormat,
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
    /// Connections added, removed and changed from OLD to NEW (by meaning).
    Diff {
        /// Folder of manifests before the change (ref1).
        old: PathBuf,
        /// Folder of manifests after the change (ref2).
        new: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum ConnlistFormat {
    /// `src => dst : conns`, compatible with np-guard netpol-analyzer.
    Txt,
    /// A JSON array of {src, dst, conn}.
    Json,
}

pub fn run(command: &NetpolCommand) -> anyhow::Result<()> {
    match command {
        NetpolCommand::Connlist { dir, format } => {
            let connections = Cluster::load(dir)?.connlist();
            match format {
                ConnlistFormat::Txt => print!("{}", format_txt(&connections)),
                ConnlistFormat::Json => {
                    let rows: Vec<serde_json::Value> = connections
                        .iter()
                        .map(|c| serde_json::json!({"src": c.src, "dst": c.dst, "conn": c.conns.to_string()}))
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&rows)?);
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
            println!("{word}: {src} => {dst} : {} {number}", protocol.name());
            if *explain {
                for (side, who, judged) in [("egress", src, &verdict.egress), ("ingress", dst, &verdict.ingress)] {
                    if who.parse::<std::net::Ipv4Addr>().is_ok() {
                        println!("  {side} of {who}: outside the cluster, no NetworkPolicy applies: allowed");
                        continue;
                    }
                    if judged.isolated_by.is_empty() {
                        println!("  {side} of {who}: not isolated (no NetworkPolicy selects it for {side}): allowed");
                        continue;
                    }
                    let ok = judged.allowed.contains(protocol, number);
                    println!(
                        "  {side} of {who}: isolated by {}: {}",
                        judged.isolated_by.join(", "),
                        if ok { "allowed" } else { "denied" }
                    );
                    for (rule, conns) in &judged.allowed_by {
                        let hit = if conns.contains(protocol, number) { "matches" } else { "does not cover the port" };
                        println!("    {rule} admits the peer with {conns}: {hit}");
                    }
                    if judged.allowed_by.is_empty() {
                        println!("    no rule admits the peer");
                    }
                }
            }
            Ok(())
        }
        NetpolCommand::Diff { old, new } => {
            print!("{}", format_diff(&diff(&Cluster::load(old)?, &Cluster::load(new)?)));
            Ok(())
        }
    }
}
