//! When `piimask run` reloads: on SIGHUP, and when the content of the
//! config file or of any certificate, key or CA it names changes (checked
//! every `--reload-interval`; reading through the path follows the symlink
//! swap Kubernetes does when it updates a mounted Secret or ConfigMap).
//! A reload builds everything anew and swaps it in only if all of it is
//! valid; otherwise the running config keeps serving and the failure is
//! logged and counted.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::metrics::Metrics;
use crate::proxy::{ProxyConfig, RunningProxy};

/// The content digests of the watched files, to notice a change.
#[derive(Debug, PartialEq, Eq)]
pub struct Fingerprint(Vec<[u8; 32]>);

impl Fingerprint {
    pub fn of(files: &[PathBuf]) -> Fingerprint {
        Fingerprint(files.iter().map(|f| digest(f)).collect())
    }
}

fn digest(path: &Path) -> [u8; 32] {
    match std::fs::read(path) {
        Ok(bytes) => Sha256::digest(&bytes).into(),
        // A missing or unreadable file is a state of its own: its return
        // is a change too.
        Err(_) => [0xff; 32],
    }
}

/// Watches the config file (if any) and the TLS files of the running config.
pub struct Watched {
    config_file: Vec<PathBuf>,
    tls_files: Vec<PathBuf>,
    config_seen: Fingerprint,
    tls_seen: Fingerprint,
}

/// What changed since the last look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Config,
    Certificates,
}

impl Change {
    pub fn label(self) -> &'static str {
        match self {
            Change::Config => "config",
            Change::Certificates => "certificate",
        }
    }
}

impl Watched {
    pub fn new(config_file: Option<&Path>, running: &ProxyConfig) -> Watched {
        let config_file: Vec<PathBuf> = config_file.into_iter().map(Path::to_path_buf).collect();
        let tls_files = running.tls_files();
        Watched {
            config_seen: Fingerprint::of(&config_file),
            tls_seen: Fingerprint::of(&tls_files),
            config_file,
            tls_files,
        }
    }

    /// The change since the last call, if any (config first: a new config
    /// reloads its certificates too).
    pub fn changed(&mut self) -> Option<Change> {
        let config = Fingerprint::of(&self.config_file);
        let tls = Fingerprint::of(&self.tls_files);
        let change = if config != self.config_seen {
            Some(Change::Config)
        } else if tls != self.tls_seen {
            Some(Change::Certificates)
        } else {
            None
        };
        (self.config_seen, self.tls_seen) = (config, tls);
        change
    }

    /// After a reload, watch the TLS files the new config names.
    pub fn follow(&mut self, running: &ProxyConfig) {
        self.tls_files = running.tls_files();
        self.tls_seen = Fingerprint::of(&self.tls_files);
    }
}

/// Builds the config anew with `load` and swaps it in; the outcome is
/// logged and counted either way.
pub fn reload(
    proxy: &RunningProxy,
    metrics: &Metrics,
    watched: &mut Watched,
    what: Change,
    load: impl FnOnce() -> anyhow::Result<ProxyConfig>,
) {
    let result = load().and_then(|config| {
        proxy.reload(&config)?;
        watched.follow(&config);
        Ok(())
    });
    match result {
        Ok(()) => {
            metrics.reloads.with_label_values(&[what.label(), "ok"]).inc();
            tracing::info!(what = what.label(), "reloaded");
        }
        Err(e) => {
            metrics.reloads.with_label_values(&[what.label(), "error"]).inc();
            tracing::warn!(what = what.label(), error = %format!("{e:#}"), "reload failed; the running configuration keeps serving");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_content_change_is_noticed_once() {
        let dir = std::env::temp_dir().join(format!("piimask-reload-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("piimask.yaml");
        std::fs::write(&file, "a").unwrap();
        let mut w = Watched::new(Some(&file), &ProxyConfig::default());
        assert_eq!(w.changed(), None);
        std::fs::write(&file, "b").unwrap();
        assert_eq!(w.changed(), Some(Change::Config));
        assert_eq!(w.changed(), None);
        std::fs::remove_file(&file).unwrap();
        assert_eq!(w.changed(), Some(Change::Config), "a vanished file is a change");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
