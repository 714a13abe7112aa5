//! Reloads without dropping requests: certificates rotated the way
//! Kubernetes does it (an atomic symlink swap of the mounted folder), an
//! invalid new certificate refused while the old one keeps serving, and a
//! config change picked up under load and on SIGHUP.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use http::{Method, StatusCode};
use piimask::devpki::{ALLOWED_CLIENT_ID, OTHER_CLIENT_ID};
use support::{App, Client, Http, Pki, Proxy};
use tokio::task::JoinHandle;

/// Points `link` at `target` atomically (a new symlink renamed over it).
fn swap_symlink(link: &Path, target: &Path) {
    let tmp = link.with_extension("new");
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).expect("symlink");
    std::fs::rename(&tmp, link).expect("rename over the old link");
}

/// Requests on fresh connections (so every one is a new handshake) from
/// `workers` tasks until stopped; returns (successes, failures).
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    tasks: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(pki: &Pki, addr: std::net::SocketAddr, workers: usize) -> Load {
        let (stop, ok, failed) =
            (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks = (0..workers)
            .map(|i| {
                let client = Client::new(pki, Some("client"), if i % 2 == 0 { Http::H1 } else { Http::H2 });
                let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::SeqCst) {
                        match client.get(addr, "/json").await {
                            Ok(a) if a.status == StatusCode::OK && a.text() == support::CUSTOMER_MASKED => {
                                ok.fetch_add(1, Ordering::SeqCst);
                            }
                            _ => {
                                failed.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                    }
                })
            })
            .collect();
        Load { stop, ok, failed, tasks }
    }

    /// Waits until `more` requests beyond those counted so far succeeded:
    /// the load is running across whatever happens meanwhile.
    async fn succeeds_further(&self, more: usize) {
        let target = self.ok.load(Ordering::SeqCst) + more;
        wait_for(&format!("{more} more successful requests"), Duration::from_secs(20), async || {
            self.ok.load(Ordering::SeqCst) >= target
        })
        .await;
    }

    async fn finish(self) -> (usize, usize) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.tasks {
            t.await.expect("load task");
        }
        (self.ok.load(Ordering::SeqCst), self.failed.load(Ordering::SeqCst))
    }
}

async fn metrics(admin: std::net::SocketAddr) -> String {
    support::admin(admin, Method::GET, "/metrics").await.1
}

async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    support::eventually_async(what, limit, async || check().await.then_some(())).await
}

#[tokio::test(flavor = "multi_thread")]
async fn certificates_rotate_under_load_without_a_failed_request() {
    let app = App::start().await;
    let pki = Pki::new("rotate");
    let v1 = pki.server_cert_in("certs-v1");
    let live = pki.dir.join("live");
    swap_symlink(&live, &v1);
    let args: Vec<String> = [
        "run",
        "--listen",
        "127.0.0.1:0",
        "--upstream",
        &app.url(),
        "--cert",
        &live.join("server.crt").to_string_lossy(),
        "--key",
        &live.join("server.key").to_string_lossy(),
        "--client-ca",
        &pki.path("ca.crt").to_string_lossy(),
        "--allow-peer",
        ALLOWED_CLIENT_ID,
        "--admin",
        "127.0.0.1:0",
        "--reload-interval",
        "0.1",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let proxy = Proxy::start(&args);
    let admin = proxy.announced("admin");
    let probe = Client::new(&pki, Some("client"), Http::H1);
    let old = probe.server_certificate(proxy.addr).await.expect("old certificate");

    let load = Load::start(&pki, proxy.addr, 4);
    load.succeeds_further(10).await;
    let v2 = pki.server_cert_in("certs-v2");
    swap_symlink(&live, &v2);
    wait_for("the new certificate", Duration::from_secs(10), async || {
        probe.server_certificate(proxy.addr).await.is_ok_and(|c| c != old)
    })
    .await;
    load.succeeds_further(10).await;
    let (ok, failed) = load.finish().await;
    assert_eq!(failed, 0, "{failed} requests failed during the rotation ({ok} succeeded)");
    assert!(ok > 20, "the load ran: {ok} requests");
    let text = metrics(admin).await;
    assert!(text.contains(r#"piimask_reloads_total{result="ok",what="certificate"}"#), "{text}");
    assert!(!text.contains(r#"result="error""#), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_new_certificate_is_refused_and_the_old_one_keeps_serving() {
    let app = App::start().await;
    let pki = Pki::new("bad-rotate");
    let proxy = Proxy::start(&pki.args(&app.url(), &["--admin", "127.0.0.1:0", "--reload-interval", "0.1"]));
    let admin = proxy.announced("admin");
    let client = Client::new(&pki, Some("client"), Http::H1);
    let old = client.server_certificate(proxy.addr).await.expect("certificate");

    // A new certificate whose key does not match the key on disk.
    let other = pki.server_cert_in("unrelated");
    std::fs::copy(other.join("server.crt"), pki.path("server.crt")).expect("copy");
    wait_for("the failed reload", Duration::from_secs(10), async || {
        metrics(admin).await.contains(r#"piimask_reloads_total{result="error",what="certificate"}"#)
    })
    .await;
    assert_eq!(client.server_certificate(proxy.addr).await.expect("still serving"), old);
    assert_eq!(client.get(proxy.addr, "/json").await.expect("served").status, StatusCode::OK);
    assert!(proxy.logs().contains("reload failed; the running configuration keeps serving"));
}

fn route_config(app: &App, allowed: &[&str]) -> String {
    let allow = allowed.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ");
    format!(
        r#"
tls: {{ cert: server.crt, key: server.key, ca: ca.crt }}
inbound:
  listen: 127.0.0.1:0
  routes:
    - {{ name: api, allow: [{allow}], upstream: app }}
upstreams:
  - {{ name: app, url: "{url}" }}
"#,
        url = app.url()
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_change_applies_under_load_and_on_sighup() {
    let app = App::start().await;
    let pki = Pki::new("config-reload");
    let file = support::write_file(&pki.dir, "piimask.yaml", &route_config(&app, &[ALLOWED_CLIENT_ID]));
    let file_arg = file.to_string_lossy().to_string();
    let proxy = Proxy::start(&[
        "run".into(),
        "--config".into(),
        file_arg.clone(),
        "--admin".into(),
        "127.0.0.1:0".into(),
        "--reload-interval".into(),
        "0.1".into(),
    ]);
    let other = Client::new(&pki, Some("other-client"), Http::H1);
    assert_eq!(other.get(proxy.addr, "/json").await.expect("answer").status, StatusCode::FORBIDDEN);

    let load = Load::start(&pki, proxy.addr, 4);
    load.succeeds_further(10).await;
    support::write_file(&pki.dir, "piimask.yaml", &route_config(&app, &[ALLOWED_CLIENT_ID, OTHER_CLIENT_ID]));
    wait_for("the new route", Duration::from_secs(10), async || {
        other.get(proxy.addr, "/json").await.is_ok_and(|a| a.status == StatusCode::OK)
    })
    .await;
    load.succeeds_further(10).await;
    let (ok, failed) = load.finish().await;
    assert_eq!(failed, 0, "{failed} requests failed during the reload ({ok} succeeded)");

    // A broken config is refused; the running one keeps serving.
    support::write_file(&pki.dir, "piimask.yaml", "inbound: [not, a, map]\n");
    let admin = proxy.announced("admin");
    wait_for("the refused reload", Duration::from_secs(10), async || {
        metrics(admin).await.contains(r#"piimask_reloads_total{result="error",what="config"}"#)
    })
    .await;
    assert_eq!(other.get(proxy.addr, "/json").await.expect("answer").status, StatusCode::OK);

    // SIGHUP reloads at once, whatever the interval.
    support::write_file(&pki.dir, "piimask.yaml", &route_config(&app, &[ALLOWED_CLIENT_ID, OTHER_CLIENT_ID]));
    let slow = Proxy::start(&["run".into(), "--config".into(), file_arg, "--reload-interval".into(), "3600".into()]);
    assert_eq!(other.get(slow.addr, "/json").await.expect("answer").status, StatusCode::OK);
    support::write_file(&pki.dir, "piimask.yaml", &route_config(&app, &[ALLOWED_CLIENT_ID]));
    let _ = std::process::Command::new("kill").args(["-HUP", &slow.pid().to_string()]).status();
    wait_for("the SIGHUP reload", Duration::from_secs(10), async || {
        other.get(slow.addr, "/json").await.is_ok_and(|a| a.status == StatusCode::FORBIDDEN)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_in_flight_finishes_on_the_config_it_started_with() {
    let app = App::start().await;
    let pki = Pki::new("in-flight-reload");
    let file = support::write_file(&pki.dir, "piimask.yaml", &route_config(&app, &[ALLOWED_CLIENT_ID]));
    let mut proxy = Proxy::start(&[
        "run".into(),
        "--config".into(),
        file.to_string_lossy().into(),
        "--reload-interval".into(),
        "3600".into(),
    ]);
    let addr = proxy.addr;
    let client = Client::new(&pki, Some("client"), Http::H2);
    let slow = tokio::spawn(async move { client.get(addr, "/slow?ms=1500").await.map(|a| a.status) });
    wait_for("the slow request at the app", Duration::from_secs(10), async || app.hits() == 1).await;
    // The new config no longer admits the caller of the slow request.
    support::write_file(&pki.dir, "piimask.yaml", &route_config(&app, &[OTHER_CLIENT_ID]));
    let _ = std::process::Command::new("kill").args(["-HUP", &proxy.pid().to_string()]).status();
    let fresh = Client::new(&pki, Some("client"), Http::H1);
    wait_for("the reload", Duration::from_secs(10), async || {
        fresh.get(addr, "/json").await.is_ok_and(|a| a.status == StatusCode::FORBIDDEN)
    })
    .await;
    assert_eq!(slow.await.expect("task").expect("the in-flight request completed"), StatusCode::OK);
    assert!(proxy.terminate(Duration::from_secs(10)).is_some_and(|s| s.success()));
}
