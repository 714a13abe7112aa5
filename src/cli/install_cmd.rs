//! `piimask install`: the cluster-side manifests on stdout, from a values
//! file and flags; with `--gateway CONFIG`, a gateway running that config.

use anyhow::Context;

use crate::k8s::install::{Gateway, Values, manifests};

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    /// A values file (YAML, see deploy/install-values.yaml); flags override it.
    #[arg(long)]
    pub values: Option<std::path::PathBuf>,
    /// The injector's namespace.
    #[arg(long)]
    pub namespace: Option<String>,
    /// The piimask image.
    #[arg(long)]
    pub image: Option<String>,
    /// The injector's replicas.
    #[arg(long)]
    pub replicas: Option<u32>,
    /// Also a gateway running this piimask config, in front of legacy services.
    #[arg(long, value_name = "CONFIG")]
    pub gateway: Option<std::path::PathBuf>,
}

pub fn run(args: &InstallArgs) -> anyhow::Result<()> {
    let mut values: Values = match &args.values {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("--values {}", path.display()))?;
            crate::yaml::from_yaml(&path.display().to_string(), &text)?
        }
        None => Values::default(),
    };
    values.namespace = args.namespace.clone().unwrap_or(values.namespace);
    values.image = args.image.clone().unwrap_or(values.image);
    values.webhook.replicas = args.replicas.unwrap_or(values.webhook.replicas);
    let objects = match &args.gateway {
        None => manifests(&values, None).with_context(|| values_file(args))?,
        Some(path) => {
            let config = crate::config::Config::load(path)?;
            let config_text = std::fs::read_to_string(path).with_context(|| format!("--gateway {}", path.display()))?;
            let proxy = config.proxy.as_ref();
            let inbound = proxy.and_then(|p| p.inbound.as_ref()).with_context(|| {
                format!("{}: no `inbound` section: a gateway needs a listener and routes", config.file)
            })?;
            let destinations = proxy.map(crate::proxy::ProxyConfig::destinations).unwrap_or_default();
            let sidecar = crate::k8s::generate::Sidecar {
                inbound: &inbound.policy,
                port: inbound.listen.port(),
                destinations: &destinations,
            };
            let files = proxy.map(crate::proxy::ProxyConfig::tls_files).unwrap_or_default();
            let gateway = Gateway { config_text: &config_text, sidecar, files };
            manifests(&values, Some(&gateway)).with_context(|| format!("{}, {}", values_file(args), config.file))?
        }
    };
    super::print_out(&crate::k8s::generate::to_yaml(&objects)?)
}

fn values_file(args: &InstallArgs) -> String {
    args.values.as_ref().map_or("the default values".into(), |p| p.display().to_string())
}
