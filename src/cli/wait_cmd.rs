//! `piimask wait-ready`: blocks until piimask's admin listener says it is
//! ready (`GET /readyz` → 200), or fails after a timeout. The legacy
//! (regular-container) sidecar runs it as its `postStart` hook: the kubelet
//! starts the next container, the app, only once the hook returns, so the
//! app never starts before the proxy it sends through.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct WaitArgs {
    /// The admin listener.
    #[arg(long, default_value = "127.0.0.1:9901")]
    pub admin: SocketAddr,
    /// Give up after this long: 60s, 500ms, 2m, 1h, or a number of seconds.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::config::duration_arg)]
    pub timeout: Duration,
}

const POLL: Duration = Duration::from_millis(200);

pub fn run(args: &WaitArgs) -> anyhow::Result<()> {
    let deadline = Instant::now() + args.timeout;
    let mut last = String::from("not tried");
    while Instant::now() < deadline {
        match ready(args.admin) {
            Ok(true) => return Ok(()),
            Ok(false) => last = "the proxy answered but is not ready".into(),
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(POLL);
    }
    anyhow::bail!("piimask at {} not ready after {} s: {last}", args.admin, args.timeout.as_secs_f64())
}

/// One `GET /readyz`: `Ok(true)` on a 200.
fn ready(admin: SocketAddr) -> std::io::Result<bool> {
    let mut tcp = TcpStream::connect_timeout(&admin, POLL)?;
    tcp.set_read_timeout(Some(Duration::from_secs(2)))?;
    tcp.write_all(b"GET /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    tcp.read_exact(&mut head)?;
    Ok(head.starts_with(b"HTTP/1.1 200") || head.starts_with(b"HTTP/1.0 200"))
}
