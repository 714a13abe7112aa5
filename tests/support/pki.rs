//! A throw-away PKI on disk: the dev CA's server and client certificates,
//! plus certificates the proxy must refuse.

use std::path::PathBuf;

use piimask::devpki::{self, DevCa, LeafSpec};

/// A folder with the dev PKI plus certificates the proxy must refuse.
pub struct Pki {
    pub dir: PathBuf,
    ca: DevCa,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("piimask-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ca = devpki::write_dev_pki(&dir).expect("dev PKI");
        Pki { dir, ca }
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Writes `<name>.crt/.key` from another CA than the proxy trusts.
    pub fn foreign_client(&self, name: &str) {
        let ca = DevCa::new("some other CA").expect("CA");
        ca.issue(&LeafSpec::spiffe(name, devpki::ALLOWED_CLIENT_ID))
            .expect("leaf")
            .write(&self.dir, name)
            .expect("write");
    }

    /// Writes an expired `<name>.crt/.key` with the allowed identity, from
    /// the CA the proxy trusts.
    pub fn expired_client(&self, name: &str) {
        let spec = LeafSpec { valid_days: -1, ..LeafSpec::spiffe(name, devpki::ALLOWED_CLIENT_ID) };
        self.ca.issue(&spec).expect("leaf").write(&self.dir, name).expect("write");
    }

    /// Writes `<name>.crt/.key` from the trusted CA with the names `spec`
    /// gives (several URI SANs, DNS names, …).
    pub fn client_with(&self, name: &str, spec: &LeafSpec) {
        self.ca.issue(spec).expect("leaf").write(&self.dir, name).expect("write");
    }

    /// Issues a new server certificate (same names, new key) into
    /// `<dir>/<folder>/server.{crt,key}`.
    pub fn server_cert_in(&self, folder: &str) -> PathBuf {
        let dir = self.dir.join(folder);
        std::fs::create_dir_all(&dir).expect("folder");
        let spec = LeafSpec::spiffe("customers", devpki::SERVER_ID).with_localhost();
        self.ca.issue(&spec).expect("leaf").write(&dir, "server").expect("write");
        dir
    }

    /// `piimask run` arguments: the dev PKI, mTLS, the allowed client only.
    pub fn args(&self, upstream: &str, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = [
            "run",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            upstream,
            "--cert",
            &self.path("server.crt").to_string_lossy(),
            "--key",
            &self.path("server.key").to_string_lossy(),
            "--client-ca",
            &self.path("ca.crt").to_string_lossy(),
            "--allow-peer",
            devpki::ALLOWED_CLIENT_ID,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
