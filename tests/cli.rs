//! `piimask mask` as a user runs it: the real binary, real files and pipes.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_piimask");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn piimask(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn piimask");
    let mut sin = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

const PLANTED: &[&str] = &[
    "ana.lopez+orders@example.com",
    "+44 20 7946 0958",
    "07946095800",
    "(0161) 496 0066",
    "4111 1111 1111 1111",
    "GB82WEST12345698765432",
    "123-45-6789",
    "203.0.113.42",
    "taro.yamada@example.jp",
    "(415) 555-2671",
    "jean\\u002edupont\\u0040exemple.fr",
    "06 12 34 56 78",
    "01 23 45 67 89",
];
const UNTOUCHED: &[&str] = &[
    "1700000000123",
    "550e8400-e29b-41d4-a716-446655440000",
    "ORD-2024-000123",
    "2024-01-15T10:30:00Z",
    "1299.99",
    "978-3-16-148410-0",
    "\"order_id\": 4155552671",
    "53.4808, -2.2426",
    "10.0.19041.1234",
    "d41d8cd98f00b204e9800998ecf8427e",
    "INV-2024-004211",
];

#[test]
fn the_readme_example_masks_every_planted_value_and_nothing_else() {
    let r = piimask(&["mask", "tests/data/customers.json"], b"", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let input: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string("tests/data/customers.json").unwrap()).unwrap();
    let output: serde_json::Value = serde_json::from_str(&r.stdout).expect("valid JSON out");
    assert_eq!(input["customers"].as_array().unwrap().len(), output["customers"].as_array().unwrap().len());
    for pii in PLANTED {
        assert!(!r.stdout.contains(pii), "{pii} leaked:\n{}", r.stdout);
    }
    for keep in UNTOUCHED {
        assert!(r.stdout.contains(keep), "{keep} was altered:\n{}", r.stdout);
    }
    assert!(r.stderr.is_empty(), "piped stderr stays quiet: {}", r.stderr);
}

#[test]
fn the_example_profile_loads_and_applies_its_actions() {
    let env = [("PIIMASK_HASH_KEY", "an-example-key-of-32-bytes-long!")];
    let r =
        piimask(&["mask", "--config", "tests/data/profile.yaml", "--stats", "tests/data/customers.json"], b"", &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let c0 = &v["customers"][0];
    assert!(c0["email"].as_str().unwrap().starts_with("[EMAIL:k2026:"));
    assert_eq!(c0["phone"], "+** ** **** 0958");
    assert_eq!(c0["card"], "**** **** **** 1111");
    assert_eq!(c0["name"], "[NAME]");
    assert!(v["customers"][1]["note"].as_str().unwrap().contains("[TICKET]"));
    // Same value, same key: same token.
    let again = piimask(&["mask", "--config", "tests/data/profile.yaml", "tests/data/customers.json"], b"", &env);
    assert_eq!(again.stdout, r.stdout);
    assert!(r.stderr.contains("values masked") && r.stderr.contains("email: 3"), "{}", r.stderr);
    let strict = piimask(
        &["mask", "--config", "tests/data/profile.yaml", "--profile", "strict", "tests/data/customers.json"],
        b"",
        &env,
    );
    let v: serde_json::Value = serde_json::from_str(&strict.stdout).unwrap();
    assert_eq!(v["customers"][0]["address"], "[REDACTED]");
    let check = piimask(&["check", "--config", "tests/data/profile.yaml"], b"", &env);
    assert_eq!(check.code, 0, "{}", check.stderr);
}

#[test]
fn stdin_text_and_detector_selection() {
    let text = b"mail ana@example.com or call +33 6 12 34 56 78, card 4111111111111111\n";
    let r = piimask(&["mask"], text, &[]);
    assert_eq!(r.stdout, "mail [EMAIL] or call [PHONE], card [CARD]\n");
    let r = piimask(&["mask", "--detectors", "email"], text, &[]);
    assert_eq!(r.stdout, "mail [EMAIL] or call +33 6 12 34 56 78, card 4111111111111111\n");
    let r = piimask(&["mask", "--content-type", "ndjson"], b"{\"e\":\"a@b.io\"}\n{bad a@b.io\n", &[]);
    assert_eq!(r.stdout, "{\"e\":\"[EMAIL]\"}\n{bad [EMAIL]\n");
}

#[test]
fn forms_and_multipart_bodies_are_decoded_for_masking() {
    let r = piimask(&["mask", "--content-type", "form"], b"name=Ana&email=ana%40example.com&tel=%2B33612345678", &[]);
    assert_eq!(r.stdout, "name=Ana&email=%5BEMAIL%5D&tel=%5BPHONE%5D");
    let multipart = b"--xyz\r\nContent-Transfer-Encoding: base64\r\n\r\nbWFpbCBhbmFAZXhhbXBsZS5jb20=\r\n--xyz--\r\n";
    let r = piimask(&["mask", "--content-type", "multipart"], multipart, &[]);
    assert_eq!(
        r.stdout, "--xyz\r\nContent-Transfer-Encoding: base64\r\n\r\nbWFpbCBbRU1BSUxd\r\n--xyz--\r\n",
        "`mail [EMAIL]`"
    );
    let r = piimask(&["mask", "--content-type", "multipart"], b"no boundary line", &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("multipart input must start with its boundary line"), "{}", r.stderr);
}

#[test]
fn bad_input_is_a_one_line_error_and_a_failure_exit() {
    for (args, want) in [
        (vec!["mask", "no/such/file.json"], "cannot open no/such/file.json"),
        (vec!["mask", "--detectors", "emial"], "unknown detector `emial`"),
        (vec!["mask", "--profile", "strict"], "--profile strict needs --config"),
        (vec!["mask", "--charset", "klingon"], "--charset klingon: not a charset"),
        (vec!["mask", "--config", "no/such.yaml"], "no/such.yaml: cannot read"),
        (vec!["check", "--config", "tests/data/customers.json"], "tests/data/customers.json: "),
    ] {
        let r = piimask(&args, b"", &[]);
        assert_ne!(r.code, 0, "{args:?}");
        assert_eq!(r.stderr.trim_end().lines().count(), 1, "{args:?}: {}", r.stderr);
        assert!(r.stderr.starts_with("piimask: error: ") && r.stderr.contains(want), "{args:?}: {}", r.stderr);
    }
}

/// `piimask` with `args` over `stdin`: the exit code, stdout as bytes (it
/// is in the input's charset) and stderr.
fn piimask_bytes(args: &[&str], stdin: &[u8]) -> (i32, Vec<u8>, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn piimask");
    let mut sin = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = sin.write_all(&data);
    });
    let out = child.wait_with_output().expect("wait");
    writer.join().unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

#[test]
fn input_in_another_charset_is_masked_in_that_charset() {
    let text = "mail ana@example.com or call +14155552671, card 4111 1111 1111 1111 — merci\n";
    let masked = "mail [EMAIL] or call [PHONE], card [CARD] — merci\n";
    let (code, out, err) = piimask_bytes(&["mask", "--charset", "UTF-16LE"], &utf16le(text));
    assert_eq!((code, out), (0, utf16le(masked)), "{err}");
    // A byte order mark needs no flag, and JSON behind it is read as JSON.
    let json = r#"{"email":"ana@example.com","name":"Ana"}"#;
    let with_mark = [&b"\xFF\xFE"[..], &utf16le(json)].concat();
    let (code, out, err) = piimask_bytes(&["mask"], &with_mark);
    assert_eq!((code, out), (0, [&b"\xFF\xFE"[..], &utf16le(r#"{"email":"[EMAIL]","name":"Ana"}"#)].concat()), "{err}");
    // Shift_JIS: 'ァ' is 0x83 0x40, whose trail byte is '@'.
    let (code, out, err) = piimask_bytes(&["mask", "--charset", "shift_jis"], b"\x83\x40example.com ana@example.com");
    assert_eq!((code, out), (0, b"\x83\x40example.com [EMAIL]".to_vec()), "{err}");
    // Malformed input is refused, not masked by guess.
    let (code, _, err) = piimask_bytes(&["mask", "--charset", "utf-16le"], b"a\x00\x00\xD8b\x00");
    assert_ne!(code, 0);
    assert!(err.contains("not valid UTF-16LE"), "{err}");
}

/// Peak resident memory of a running process, from /proc.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn memory_stays_flat_while_a_large_body_streams_through() {
    let mut child = Command::new(BIN)
        .args(["mask", "--content-type", "json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let (mut total, mut leaks) = (0u64, 0u64);
        loop {
            let n = stdout.read(&mut buf).unwrap();
            if n == 0 {
                return (total, leaks);
            }
            total += n as u64;
            leaks += buf[..n].windows(6).filter(|w| w == b"@ex.io").count() as u64;
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    // One JSON array of ~96 MiB: a single document, so nothing can be
    // flushed "between documents".
    let record =
        br#"{"email":"someone@ex.io","phone":"+44 20 7946 0958","note":"lorem ipsum dolor sit amet, consectetur"},"#;
    let block: Vec<u8> = record.iter().copied().cycle().take(record.len() * 4096).collect();
    stdin.write_all(b"[").unwrap();
    let mut sent = 0;
    while sent < 96 << 20 {
        stdin.write_all(&block).unwrap();
        sent += block.len();
    }
    let peak = peak_rss_kib(child.id());
    stdin.write_all(b"{}]").unwrap();
    drop(stdin);
    let (total, leaks) = reader.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(leaks, 0);
    assert!(total > (sent as u64) / 2, "output was produced");
    assert!(peak < 32 * 1024, "peak RSS {peak} KiB while streaming {sent} bytes");
}

#[test]
fn demo_shows_a_masked_answer_and_two_refusals_then_exits_zero() {
    let run = piimask(&["demo"], b"", &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let (_, masked) = run.stdout.split_once("the peer got:").expect("an allowed peer's answer");
    let masked = masked.lines().next().unwrap_or("");
    assert!(masked.starts_with("  200 OK {"), "{masked}");
    assert!(masked.contains("[EMAIL]") && !masked.contains("ana.lopez@example.com"), "{masked}");
    assert!(run.stdout.contains("403 Forbidden"), "{}", run.stdout);
    assert!(run.stdout.contains("refused in the TLS handshake"), "{}", run.stdout);
}

#[test]
fn certs_dev_writes_a_pki_that_run_accepts() {
    let dir = std::env::temp_dir().join(format!("piimask-certs-dev-{}", std::process::id()));
    let out = dir.to_string_lossy().to_string();
    let run = piimask(&["certs", "dev", "--out", &out], b"", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for f in ["ca.crt", "server.crt", "server.key", "client.crt", "client.key", "other-client.crt", "other-client.key"]
    {
        assert!(dir.join(f).is_file(), "{f} missing");
    }
    // The files load as a server config with client verification.
    let files = piimask::tls::TlsFiles {
        cert: dir.join("server.crt"),
        key: dir.join("server.key"),
        ca: Some(dir.join("ca.crt")),
    };
    piimask::tls::server_config(&files).expect("the written PKI loads");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn run_names_the_bad_certificate_file() {
    let dir = std::env::temp_dir().join(format!("piimask-bad-cert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tls.crt"), "not a certificate").unwrap();
    std::fs::write(dir.join("tls.key"), "not a key").unwrap();
    let cert = dir.join("tls.crt").to_string_lossy().to_string();
    let key = dir.join("tls.key").to_string_lossy().to_string();
    let run = piimask(
        &["run", "--listen", "127.0.0.1:0", "--upstream", "http://127.0.0.1:1", "--cert", &cert, "--key", &key],
        b"",
        &[],
    );
    assert_ne!(run.code, 0);
    assert!(run.stderr.contains(&cert) && run.stderr.contains("no CERTIFICATE block"), "{}", run.stderr);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn netpol_eval_gives_a_verdict_and_explains_it() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/netpol/drift");
    let run = |port: &str| {
        let args =
            ["netpol", "eval", dir, "--src", "billing/billing", "--dst", "app/customers", "--port", port, "--explain"];
        piimask(&args, b"", &[])
    };
    let yes = run("8443/TCP");
    assert_eq!(yes.code, 0, "{}", yes.stderr);
    assert!(yes.stdout.starts_with("allowed: "), "{}", yes.stdout);
    assert!(
        yes.stdout.contains("app/customers-in ingress rule 1 admits the peer with TCP 8443: matches"),
        "{}",
        yes.stdout
    );
    let no = run("8443/UDP");
    assert!(no.stdout.starts_with("denied: "), "{}", no.stdout);
    let bad = run("http");
    assert_ne!(bad.code, 0);
    assert!(bad.stderr.contains("--port http: expected PORT[/PROTOCOL]"), "{}", bad.stderr);
}

#[test]
fn netpol_lint_reports_each_gap_with_a_stable_id_and_gates_ci() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/netpol/lint");
    let run = piimask(&["netpol", "lint", dir], b"", &[]);
    assert_eq!(run.code, 1, "high findings fail by default");
    assert!(run.stderr.contains("3 findings at or above --fail-on high"), "{}", run.stderr);
    let ids: Vec<&str> = run.stdout.lines().filter_map(|l| l.split_whitespace().nth(1)).collect();
    assert_eq!(
        ids,
        ["NP001", "NP001", "NP002", "NP003", "NP006", "NP007", "NP004", "NP005", "NP008"],
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "customers/records[Deployment]: PII workload not isolated: no NetworkPolicy selects it for Egress"
        )
    );
    assert!(run.stdout.contains("analytics/reports-in: ingress rule 2 is covered by the broader rule 1"));
    assert!(run.stdout.contains(
        "customers/records[Deployment]: PII workload reachable from external addresses 203.0.113.0-203.0.113.255"
    ));
    assert_eq!(piimask(&["netpol", "lint", dir, "--fail-on", "none"], b"", &[]).code, 0);
    // A range the platform allows is no hole for NP001 (as for the webhook).
    let allowed = piimask(&["netpol", "lint", dir, "--allowed-cidr", "203.0.113.0/24"], b"", &[]);
    assert!(allowed.stderr.contains("2 findings at or above --fail-on high"), "{}", allowed.stderr);
    assert!(!allowed.stdout.contains("NP001 customers/records[Deployment]: PII workload not isolated: ingress"));
    let bad = piimask(&["netpol", "lint", dir, "--allowed-cidr", "203.0.113.0"], b"", &[]);
    assert!(bad.stderr.contains("--allowed-cidr 203.0.113.0: expected an IPv4 CIDR"), "{}", bad.stderr);

    let sarif = piimask(&["netpol", "lint", dir, "--format", "sarif", "--fail-on", "none"], b"", &[]);
    let log: serde_json::Value = serde_json::from_str(&sarif.stdout).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 9);
    assert_eq!(results[0]["level"], "error");

    // A folder with no findings passes even at the lowest threshold.
    let clean = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/netpol/clean");
    let run = piimask(&["netpol", "lint", clean, "--fail-on", "low"], b"", &[]);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
}

/// A default deny that a second policy cancels (policies add up): lint
/// judges isolation with the simulator, and agrees with `eval`; a PII
/// label spelled `True` is reported, and read as PII.
#[test]
fn netpol_lint_sees_a_cancelled_default_deny_and_misspelled_pii_labels() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/netpol/cancelled");
    let eval = piimask(
        &["netpol", "eval", dir, "--src", "tenant/intruder", "--dst", "app/customers", "--port", "8443/TCP"],
        b"",
        &[],
    );
    assert!(eval.stdout.starts_with("allowed: "), "{}", eval.stdout);
    let run = piimask(&["netpol", "lint", dir], b"", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let high: Vec<&str> = run.stdout.lines().filter(|l| l.starts_with("high ")).collect();
    let opened = "PII workload not isolated: ingress rule 1 of NetworkPolicy app/from-anywhere-in-cluster lets pods \
                  of every namespace connect to it";
    assert!(
        high.iter().any(|l| l.starts_with("high NP001 app/customers[Deployment]") && l.contains(opened)),
        "{high:?}"
    );
    assert!(high.iter().any(|l| l.starts_with("high NP001 app/ledger[Deployment]")), "read as PII: {high:?}");
    assert!(
        high.iter().any(|l| l.starts_with("high NP009 app/ledger[Deployment]: label piimask.io/pii is neither")),
        "{high:?}"
    );
}

#[test]
fn netpol_drift_finds_where_the_proxy_and_the_network_disagree() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/netpol/drift");
    let config = format!("{dir}/piimask.yaml");
    let run = piimask(&["netpol", "drift", dir, "--config", &config, "--workload", "app/customers"], b"", &[]);
    assert_eq!(run.code, 1);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(
        lines[0].starts_with(
            "network-only: analytics/reports[Deployment] (spiffe://cluster.local/ns/analytics/sa/reports)"
        )
    );
    assert!(lines[1].starts_with("proxy-only: the proxy allows support/helpdesk[Deployment]"));
    assert_eq!(lines[2], "unknown-identity: spiffe://cluster.local/ns/ghost/sa/ghost matches no workload");
    assert!(!run.stdout.contains("billing/billing"), "billing is allowed by both");
    let missing = piimask(&["netpol", "drift", dir, "--config", &config, "--workload", "app/nope"], b"", &[]);
    assert!(missing.stderr.contains("no workload `app/nope`"), "{}", missing.stderr);
}

#[test]
fn netpol_connlist_formats_and_the_pii_mark_in_dot() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/netpol/drift");
    let txt = piimask(&["netpol", "connlist", dir], b"", &[]);
    assert!(
        txt.stdout.contains("billing/billing[Deployment] => app/customers[Deployment] : TCP 8443\n"),
        "{}",
        txt.stdout
    );
    let rows = txt.stdout.lines().count();
    let csv = piimask(&["netpol", "connlist", dir, "--format", "csv"], b"", &[]);
    assert!(csv.stdout.starts_with("src,dst,conn\n"));
    assert_eq!(csv.stdout.lines().count(), rows + 1);
    let md = piimask(&["netpol", "connlist", dir, "--format", "md"], b"", &[]);
    assert_eq!(md.stdout.lines().count(), rows + 2);
    let dot = piimask(&["netpol", "connlist", dir, "--format", "dot"], b"", &[]);
    assert!(dot.stdout.starts_with("digraph connlist {"));
    let customers = dot.stdout.lines().find(|l| l.contains("\"app/customers[Deployment]\" [")).expect("a node");
    assert!(customers.contains("fillcolor"), "the PII workload is marked: {customers}");
    let billing = dot.stdout.lines().find(|l| l.contains("\"billing/billing[Deployment]\" [")).expect("a node");
    assert!(!billing.contains("fillcolor"));
    assert_eq!(dot.stdout.matches(" -> ").count(), rows);
    let json = piimask(&["netpol", "connlist", dir, "--format", "json"], b"", &[]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json.stdout).expect("JSON").as_array().map(Vec::len),
        Some(rows)
    );
}

/// A scratch folder for one test, removed when dropped.
struct Scratch(std::path::PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("piimask-cli-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const PROXY_CONFIG: &str = "
tls: { cert: tls.crt, key: tls.key, ca: ca.crt }
inbound:
  listen: 127.0.0.1:0
  routes:
    - { name: api, allow: any, upstream: app }
upstreams:
  - { name: app, url: 'http://127.0.0.1:1' }
";

#[test]
fn run_refuses_every_flag_a_proxy_config_sets_and_names_the_key_instead() {
    let scratch = Scratch::new("flags-beside-config");
    let config = scratch.file("piimask.yaml", PROXY_CONFIG);
    let given: &[(&[&str], &str)] = &[
        (&["--listen", "127.0.0.1:1"], "--listen: set inbound.listen in the config file instead"),
        (&["--upstream", "http://127.0.0.1:2"], "--upstream: set upstreams[].url in the config file instead"),
        (&["--upstream-ca", "ca.crt"], "--upstream-ca: set upstreams[].ca in the config file instead"),
        (&["--cert", "a.crt"], "--cert: set tls.cert in the config file instead"),
        (&["--key", "a.key"], "--key: set tls.key in the config file instead"),
        (&["--client-ca", "ca.crt"], "--client-ca: set tls.ca in the config file instead"),
        (&["--allow-peer", "spiffe://td/x"], "--allow-peer: set inbound.routes[].allow in the config file instead"),
        (&["--profile", "default"], "--profile: set inbound.routes[].response_profile in the config file instead"),
        (&["--max-request-bytes", "10"], "--max-request-bytes: set inbound.routes[].max_request_bytes in the"),
        (&["--header-read-timeout", "5s"], "--header-read-timeout: set limits.header_read_timeout in the config"),
        (&["--upstream-timeout", "5s"], "--upstream-timeout: set limits.upstream_response_timeout in the config"),
        (&["--body-idle-timeout", "5s"], "--body-idle-timeout: set limits.body_idle_timeout in the config"),
        (&["--max-connections", "5"], "--max-connections: set limits.max_connections in the config file instead"),
    ];
    // One at a time, and all at once in one error.
    let mut all = vec!["run", "--config", &config];
    for (flags, want) in given {
        let mut args = vec!["run", "--config", &config];
        args.extend_from_slice(flags);
        all.extend_from_slice(flags);
        let r = piimask(&args, b"", &[]);
        assert_eq!(r.code, 1, "{flags:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{flags:?}\n got: {}\nwant: {want}", r.stderr);
        assert!(r.stderr.contains(&format!("--config {config} defines the proxy")), "{}", r.stderr);
    }
    let r = piimask(&all, b"", &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    for (_, want) in given {
        assert!(r.stderr.contains(want), "all at once: {want} missing from\n{}", r.stderr);
    }
}

#[test]
fn run_refuses_proxy_sections_in_a_profiles_only_file_and_an_unused_upstream_ca() {
    let scratch = Scratch::new("profiles-only");
    let config = scratch.file("piimask.yaml", "profiles: { default: {} }\nlimits: { header_read_timeout: 5s }\n");
    let listener = ["--upstream", "http://127.0.0.1:1", "--cert", "a.crt", "--key", "a.key"];
    let mut args = vec!["run", "--config", &config];
    args.extend(listener);
    let r = piimask(&args, b"", &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("limits: applies only to the proxy: add an `inbound` or `egress`"), "{}", r.stderr);

    let mut args = vec!["run", "--upstream-ca", "ca.crt"];
    args.extend(listener);
    let r = piimask(&args, b"", &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--upstream-ca applies only to an https --upstream"), "{}", r.stderr);
}

#[test]
fn duration_flags_take_units_and_name_the_flag_and_value_when_refused() {
    for (flag, value, want) in [
        ("--header-read-timeout", "30x", "unknown unit `x`"),
        ("--upstream-timeout", "0", "must be more than zero"),
        ("--body-idle-timeout", "-1s", "cannot be negative"),
        ("--reload-interval", "1 s", "no spaces"),
        ("--upstream-timeout", "nan", "expected a duration"),
    ] {
        // `=` so clap takes `-1s` as the value, not as a flag.
        let r = piimask(&["run", &format!("{flag}={value}")], b"", &[]);
        assert_eq!(r.code, 2, "{flag} {value}: {}", r.stderr);
        assert!(r.stderr.contains(&format!("'{value}' for '{flag} <DURATION>'")), "{}", r.stderr);
        assert!(r.stderr.contains(want), "{flag} {value}\n got: {}\nwant: {want}", r.stderr);
    }
    let help = piimask(&["run", "--help"], b"", &[]);
    for shown in ["[default: 30s]", "[default: 60s]", "[default: 2s]", "500ms"] {
        assert!(help.stdout.contains(shown), "{shown} missing from --help:\n{}", help.stdout);
    }
    // A closed port: wait-ready gives up after its timeout, in units.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let admin = listener.local_addr().unwrap().to_string();
    drop(listener);
    let started = std::time::Instant::now();
    let r = piimask(&["wait-ready", "--admin", &admin, "--timeout", "300ms"], b"", &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("not ready after 0.3 s"), "{}", r.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn cert_manager_flags_are_refused_with_csi_spiffe_certificates() {
    let r = piimask(&["inject", "--certs", "csi-spiffe", "--issuer", "mesh-ca", "--trust-domain", "x"], b"", &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--issuer, --trust-domain only apply to --certs cert-manager"), "{}", r.stderr);
    // webhook's default is csi-spiffe: refused before any file is read.
    let r = piimask(&["webhook", "--cert", "none.crt", "--key", "none.key", "--issuer-kind", "Issuer"], b"", &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--issuer-kind only apply to --certs cert-manager"), "{}", r.stderr);
}

#[test]
fn every_example_config_in_the_repo_loads() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    let mut dirs = vec![root.join("deploy")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.file_name().is_some_and(|n| n == "piimask.yaml")
                || path.parent().is_some_and(|p| p.ends_with("deploy/config"))
            {
                found.push(path);
            }
        }
    }
    assert!(found.len() >= 4, "{found:?}");
    for path in found {
        piimask::config::Config::load(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn netpol_connlist_refuses_a_pii_label_that_only_dot_would_use() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/netpol/drift");
    let r = piimask(&["netpol", "connlist", dir, "--pii-label", "team=x"], b"", &[]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("--pii-label only applies to --format dot"), "{}", r.stderr);
    let r = piimask(&["netpol", "connlist", dir, "--format", "dot", "--pii-label", "team=x"], b"", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
