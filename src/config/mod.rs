//! The YAML configuration: serde structs (unknown fields refused) and their
//! validation into runtime types. Every error names the file, the path in
//! it and what was expected.
//!
//! `piimask.yaml` holds the masking side (`keys` for the `hash` action and
//! `profiles`: detector actions, custom detectors, field rules) and the
//! proxy's side (`tls`, `inbound` with its routes, `upstreams`, `egress`
//! with its peers, `limits`; see `proxy.rs`).

mod action;
mod duration;
mod proxy;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

pub use self::action::ActionSpec;
pub use self::duration::{DurationError, DurationSetting, duration_arg, parse_duration};
pub use self::proxy::MAX_CONNECTIONS;
use crate::mask::{Action, DetectorConfig, FieldRuleConfig, HashKey, Masker, MaskerConfig};
use crate::patterns::{self, DetectSpec};
use crate::yaml::{YamlError, from_yaml};

/// A configuration error: where, and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: cannot read: {source}")]
    Read { file: String, source: std::io::Error },
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("{file}: {path}: {message}")]
    Invalid { file: String, path: String, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub keys: Vec<KeySpec>,
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileSpec>,
    #[serde(default)]
    pub tls: Option<proxy::TlsSpec>,
    #[serde(default)]
    pub inbound: Option<proxy::InboundSpec>,
    #[serde(default)]
    pub upstreams: Vec<proxy::UpstreamSpec>,
    #[serde(default)]
    pub egress: Option<proxy::EgressSpec>,
    #[serde(default)]
    pub limits: Option<proxy::LimitsSpec>,
    /// One log event per request (method, route, peer, status, duration;
    /// never the path), besides the audit events.
    #[serde(default)]
    pub access_log: bool,
}

/// A `hash` key: its id (written into tokens) and where its secret is.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub id: String,
    #[serde(default)]
    pub secret_env: Option<String>,
    #[serde(default)]
    pub secret_file: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    /// Actions for built-in detectors, by name; unlisted ones redact.
    #[serde(default)]
    pub detectors: BTreeMap<String, ActionSpec>,
    /// Built-in detectors to turn off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Replaces the phone detector's national-format regions.
    #[serde(default)]
    pub phone_regions: Option<Vec<String>>,
    #[serde(default)]
    pub custom: Vec<CustomSpec>,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomSpec {
    pub name: String,
    pub detect: DetectSpec,
    #[serde(default)]
    pub action: Option<ActionSpec>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Reported in stats; defaults to the path.
    #[serde(default)]
    pub id: Option<String>,
    pub path: String,
    pub action: ActionSpec,
}

/// A validated configuration: the masker config of every profile and, when
/// the file has `inbound` or `egress`, the proxy's.
#[derive(Debug)]
pub struct Config {
    pub file: String,
    pub profiles: BTreeMap<String, MaskerConfig>,
    pub proxy: Option<crate::proxy::ProxyConfig>,
}

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { file: file.clone(), source })?;
        let base = path.parent().unwrap_or(Path::new("."));
        Config::parse(&file, &text, base)
    }

    /// Parses and validates `text`; relative `secret_file`s are read from
    /// `base`, `secret_env`s from the process environment.
    pub fn parse(file: &str, text: &str, base: &Path) -> Result<Config, ConfigError> {
        Config::parse_with_env(file, text, base, &|name| std::env::var(name).ok())
    }

    /// [`Config::parse`] with `env` in place of the process environment
    /// (`secret_env` is looked up through it).
    pub fn parse_with_env(
        file: &str,
        text: &str,
        base: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw: ConfigFile = from_yaml(file, text)?;
        let invalid = |path: String, message: String| ConfigError::Invalid { file: file.to_string(), path, message };
        let mut keys = BTreeMap::new();
        for (i, k) in raw.keys.iter().enumerate() {
            let path = format!("keys[{i}]");
            let secret = match (&k.secret_env, &k.secret_file) {
                (Some(var), None) => env(var)
                    .ok_or_else(|| {
                        invalid(format!("{path}.secret_env"), format!("environment variable `{var}` is not set"))
                    })?
                    .into_bytes(),
                (None, Some(f)) => {
                    let p = base.join(f);
                    std::fs::read(&p).map_err(|e| {
                        invalid(format!("{path}.secret_file"), format!("cannot read `{}`: {e}", p.display()))
                    })?
                }
                _ => return Err(invalid(path, "give exactly one of `secret_env` or `secret_file`".into())),
            };
            let secret: Vec<u8> = secret.trim_ascii().to_vec();
            if secret.len() < 16 {
                return Err(invalid(
                    path,
                    format!("key `{}` is {} bytes; use at least 16 random bytes", k.id, secret.len()),
                ));
            }
            if k.id.is_empty() || !k.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
                return Err(invalid(format!("{path}.id"), "expected letters, digits, `-` or `_`".into()));
            }
            let key = HashKey::new(k.id.clone(), &secret).map_err(|e| invalid(path.clone(), e.to_string()))?;
            if keys.insert(k.id.clone(), Arc::new(key)).is_some() {
                return Err(invalid(format!("{path}.id"), format!("key id `{}` is used twice", k.id)));
            }
        }
        let mut profiles = BTreeMap::new();
        for (name, p) in &raw.profiles {
            let at = |rest: &str| format!("profiles.{name}.{rest}");
            let cfg = build_profile(p, &keys, &at).map_err(|(path, message)| invalid(path, message))?;
            Masker::new(&cfg).map_err(|e| invalid(format!("profiles.{name}"), e.to_string()))?;
            profiles.insert(name.clone(), cfg);
        }
        let proxy = if raw.inbound.is_some() || raw.egress.is_some() {
            // Routes may name the built-in profile without defining it.
            let mut available = profiles.clone();
            available.entry("default".into()).or_insert_with(patterns::default_config);
            let no_limits = proxy::LimitsSpec::default();
            let specs = proxy::ProxySpecs {
                tls: raw.tls.as_ref(),
                inbound: raw.inbound.as_ref(),
                upstreams: &raw.upstreams,
                egress: raw.egress.as_ref(),
                limits: raw.limits.as_ref().unwrap_or(&no_limits),
                access_log: raw.access_log,
            };
            Some(proxy::build(&specs, &available, base).map_err(|(path, message)| invalid(path, message))?)
        } else {
            // Without a listener these sections would be read and then do
            // nothing; a limit that silently does nothing is refused.
            let unused = [
                ("tls", raw.tls.is_some()),
                ("upstreams", !raw.upstreams.is_empty()),
                ("limits", raw.limits.is_some()),
                ("access_log", raw.access_log),
            ];
            if let Some((key, _)) = unused.iter().find(|(_, given)| *given) {
                return Err(invalid(
                    key.to_string(),
                    "applies only to the proxy: add an `inbound` or `egress` section, or remove it".into(),
                ));
            }
            None
        };
        Ok(Config { file: file.to_string(), profiles, proxy })
    }

    pub fn profile(&self, name: &str) -> Result<&MaskerConfig, ConfigError> {
        self.profiles.get(name).ok_or_else(|| ConfigError::Invalid {
            file: self.file.clone(),
            path: "profiles".into(),
            message: format!(
                "no profile `{name}`; the file defines: {}",
                self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }
}

type Keys = BTreeMap<String, Arc<HashKey>>;

fn build_profile(p: &ProfileSpec, keys: &Keys, at: &dyn Fn(&str) -> String) -> Result<MaskerConfig, (String, String)> {
    let builtin = patterns::builtin();
    let known = || builtin.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ");
    for (i, name) in p.disable.iter().enumerate() {
        if !builtin.iter().any(|d| &d.name == name) {
            return Err((
                at(&format!("disable[{i}]")),
                format!("unknown detector `{name}`; built-ins are {}", known()),
            ));
        }
    }
    for name in p.detectors.keys() {
        if !builtin.iter().any(|d| &d.name == name) {
            return Err((at(&format!("detectors.{name}")), format!("unknown detector; built-ins are {}", known())));
        }
        if p.disable.contains(name) {
            return Err((at(&format!("detectors.{name}")), "this detector is also listed in `disable`".into()));
        }
    }
    let mut detectors = Vec::new();
    for d in builtin.iter().filter(|d| !p.disable.contains(&d.name)) {
        let mut cfg = d.to_config();
        if let Some(spec) = p.detectors.get(&d.name) {
            cfg.action = spec.build(&d.placeholder, keys).map_err(|m| (at(&format!("detectors.{}", d.name)), m))?;
        }
        if let (Some(regions), crate::mask::DetectorSpec::Phone(settings)) = (&p.phone_regions, &mut cfg.spec) {
            settings.regions = regions.clone();
        }
        detectors.push(cfg);
    }
    for (i, c) in p.custom.iter().enumerate() {
        let path = at(&format!("custom[{i}]"));
        if detectors.iter().any(|d: &DetectorConfig| d.name == c.name) {
            return Err((format!("{path}.name"), format!("detector name `{}` is already used", c.name)));
        }
        if !matches!(c.detect, DetectSpec::Regex { .. } | DetectSpec::Keywords { .. }) {
            return Err((format!("{path}.detect.kind"), "custom detectors are `regex` or `keywords`".into()));
        }
        let placeholder = format!("[{}]", c.name.to_uppercase());
        let action = match &c.action {
            Some(a) => a.build(&placeholder, keys).map_err(|m| (format!("{path}.action"), m))?,
            None => Action::Redact { placeholder },
        };
        detectors.push(DetectorConfig { name: c.name.clone(), spec: c.detect.to_spec(), action });
    }
    let mut fields = Vec::new();
    for (i, f) in p.fields.iter().enumerate() {
        let action = f.action.build("[REDACTED]", keys).map_err(|m| (at(&format!("fields[{i}].action")), m))?;
        fields.push(FieldRuleConfig {
            id: f.id.clone().unwrap_or_else(|| f.path.clone()),
            path: f.path.clone(),
            action,
        });
    }
    Ok(MaskerConfig { detectors, fields })
}

#[cfg(test)]
mod docs_tests;
#[cfg(test)]
mod tests;
