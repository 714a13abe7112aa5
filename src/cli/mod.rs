//! Command-line interface: argument parsing and exit codes.

mod mask_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContentTypeArg {
    Json,
    Ndjson,
    Text,
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
    /// Print counts and throughput to stderr at the end.
    #[arg(long)]
    pub stats: bool,
    /// Input file (default: stdin).
    pub file: Option<PathBuf>,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Mask(args) => mask_cmd::run(&args),
        Command::Check { config } => crate::config::Config::load(&config)
            .map(|c| eprintln!("{}: ok ({} profiles)", c.file, c.profiles.len()))
            .map_err(anyhow::Error::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("piimask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
