//! `piimask netpol`: NetworkPolicy analysis of a folder of manifests.

use std::path::PathBuf;

use crate::k8s::netpol::{Cluster, diff, format_diff, format_txt};

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
        NetpolCommand::Diff { old, new } => {
            print!("{}", format_diff(&diff(&Cluster::load(old)?, &Cluster::load(new)?)));
            Ok(())
        }
    }
}
