//! The real `piimask` binary as a child process: started until it
//! announces its listener, its logs collected (and scanned for planted
//! values when it goes away), its memory and descriptors read from /proc.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{BIN, PLANTED, poll_until};

/// The real binary, running `piimask run`; killed on drop.
pub struct Proxy {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Starts `piimask` with `args` and waits for its inbound listener.
    pub fn start(args: &[String]) -> Proxy {
        Proxy::start_until(args, "inbound listener ready")
    }

    /// Starts `piimask` with one inbound route, `api`, admitting the
    /// allowed client to `upstream`: `route` adds the route's own fields
    /// (`request_profile: default, binary: pass`), `more` YAML after the
    /// upstreams (`profiles: …`). The config is written into the PKI's
    /// folder; the admin listener is on an ephemeral port.
    pub fn one_route(pki: &super::Pki, upstream: &str, route: &str, more: &str) -> Proxy {
        static CONFIGS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let route = if route.is_empty() { String::new() } else { format!(", {route}") };
        let yaml = format!(
            r#"
tls: {{ cert: server.crt, key: server.key, ca: ca.crt }}
inbound:
  listen: 127.0.0.1:0
  routes:
    - {{ name: api, allow: ["{allowed}"], upstream: app{route} }}
upstreams:
  - {{ name: app, url: "{upstream}" }}
{more}"#,
            allowed = piimask::devpki::ALLOWED_CLIENT_ID,
        );
        let n = CONFIGS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let config = super::write_file(&pki.dir, &format!("one-route-{n}.yaml"), &yaml);
        Proxy::start(&["run", "--config", &config.to_string_lossy(), "--admin", "127.0.0.1:0"].map(String::from))
    }

    /// Starts `piimask` and waits for the log line `ready` (which carries
    /// the bound address).
    pub fn start_until(args: &[String], ready_line: &'static str) -> Proxy {
        let mut child = Command::new(BIN)
            .args(args)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn piimask");
        let stderr = child.stderr.take().expect("stderr");
        let logs = Arc::new(Mutex::new(String::new()));
        let (ready, addr) = std::sync::mpsc::channel();
        let sink = logs.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains(ready_line)
                    && let Some(a) = json_field(&line, "addr")
                {
                    let _ = ready.send(a);
                }
                let mut logs = sink.lock().expect("logs");
                logs.push_str(&line);
                logs.push('\n');
            }
        });
        let addr = match addr.recv_timeout(Duration::from_secs(30)) {
            Ok(a) => a.parse().expect("listener address"),
            Err(_) => {
                let _ = child.kill();
                panic!("piimask did not start: {}", logs.lock().expect("logs"));
            }
        };
        Proxy { child, addr, logs, reader: Some(reader) }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The address a `<what> listener ready` log line announced.
    pub fn announced(&self, what: &str) -> SocketAddr {
        let wanted = format!("{what} listener ready");
        let logs = self.logs();
        let line = logs.lines().find(|l| l.contains(&wanted)).unwrap_or_else(|| panic!("no `{wanted}` in {logs}"));
        json_field(line, "addr").and_then(|a| a.parse().ok()).expect("an address")
    }

    /// Sends SIGTERM and waits up to `limit` for the exit status.
    pub fn terminate(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        self.wait(limit)
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        poll_until(limit, || self.child.try_wait().ok().flatten())
    }

    /// The audit events (JSON log lines of target `piimask::audit`) logged
    /// so far, as their `fields` objects.
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        self.logs()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|v| v.get("target").and_then(|t| t.as_str()) == Some("piimask::audit"))
            .filter_map(|v| v.get("fields").cloned())
            .collect()
    }

    pub fn logs(&self) -> String {
        self.logs.lock().expect("logs").clone()
    }

    /// No planted value in anything piimask logged.
    pub fn assert_logs_clean(&self) {
        let logs = self.logs();
        for value in PLANTED {
            assert!(!logs.contains(value), "a planted value reached the log: {logs}");
        }
    }

    pub fn peak_rss_kib(&self) -> u64 {
        self.proc_status_kib("VmHWM:")
    }

    /// Resident memory that is not the mapped binary (heap, stacks):
    /// comparable between debug and release builds.
    pub fn anon_rss_kib(&self) -> u64 {
        self.proc_status_kib("RssAnon:")
    }

    /// Open file descriptors (sockets included).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id())).expect("proc fd").count()
    }

    /// The open descriptors once the count holds still for 200 ms (a
    /// request just answered may still be closing its connections).
    pub fn settled_fds(&self) -> usize {
        let mut last = self.open_fds();
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(200));
            let now = self.open_fds();
            if now == last {
                return now;
            }
            last = now;
        }
        last
    }

    /// Waits (up to 10 s) for the open descriptors to come back to at most
    /// `baseline`: what a fault left behind is closed.
    pub fn assert_fds_settle(&self, baseline: usize, after: &str) {
        let settled = poll_until(Duration::from_secs(10), || (self.open_fds() <= baseline).then_some(()));
        assert!(settled.is_some(), "{after}: {} descriptors open, {baseline} before", self.open_fds());
    }

    fn proc_status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("proc status");
        let line = status.lines().find(|l| l.starts_with(field)).expect("field in /proc/PID/status");
        line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("a number of kB")
    }
}

/// Every proxy a test starts has its whole log scanned for planted values
/// when it goes away, so no test can forget to.
impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The pipe is closed now: the reader has everything once it ends.
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        if !std::thread::panicking() {
            self.assert_logs_clean();
        }
    }
}

fn json_field(line: &str, name: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    v.get("fields")?.get(name)?.as_str().map(str::to_string)
}
