//! The loader's unit tests: what builds, and that every refusal names the
//! file, the path in it and what was expected.

use std::path::Path;
use std::time::Duration;

use super::*;

/// The environment these tests see: a fixed map, not the process's, so no
/// test has to set variables (which is unsound while other threads run).
fn test_env(name: &str) -> Option<String> {
    match name {
        "PIIMASK_TEST_KEY_A" => Some("0123456789abcdef0123".into()),
        "PIIMASK_TEST_KEY_SHORT" => Some("short".into()),
        _ => None,
    }
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse_with_env("piimask.yaml", text, Path::new("."), &test_env)
}

fn err(text: &str) -> String {
    parse(text).expect_err("should be refused").to_string()
}

#[test]
fn a_full_profile_builds() {
    let c = parse(
        r#"
keys:
  - { id: k1, secret_env: PIIMASK_TEST_KEY_A }
profiles:
  default:
    detectors:
      email: { action: hash, key: k1 }
      phone: { action: mask, keep_last: 4 }
      card: { action: redact, placeholder: "[PAN]" }
    disable: [ipv6]
    phone_regions: [GB, FR]
    custom:
      - { name: employee_id, detect: { kind: regex, pattern: 'EMP-\d{6}' } }
      - { name: codename, detect: { kind: keywords, words: [Falcon], case_insensitive: true }, action: drop }
    fields:
      - { path: $.user.ssn, action: redact }
      - { id: pw, path: "$..password", action: drop }
"#,
    )
    .unwrap();
    let p = c.profile("default").unwrap();
    assert!(p.detectors.iter().all(|d| d.name != "ipv6"));
    assert!(p.detectors.iter().any(|d| d.name == "employee_id"));
    assert!(matches!(p.detectors.iter().find(|d| d.name == "email").unwrap().action, Action::Hash { .. }));
    assert_eq!(p.fields[1].id, "pw");
    assert!(c.profile("nope").unwrap_err().to_string().contains("no profile `nope`; the file defines: default"));
}

#[test]
fn errors_name_the_path_and_what_is_expected() {
    let cases = [
        (
            "profiles: { p: { detectors: { emial: redact } } }",
            "piimask.yaml: profiles.p.detectors.emial: unknown detector; built-ins are email",
        ),
        ("profiles: { p: { detectors: { email: shout } } }", "profiles.p.detectors.email"),
        ("profiles: { p: { detectors: { email: hash } } }", "profiles.p.detectors.email: `hash` needs `key:`"),
        ("profiles: { p: { detectors: { email: { action: hash, key: nope } } } }", "unknown key `nope`"),
        (
            "profiles: { p: { detectors: { email: { action: redact, keep_last: 2 } } } }",
            "`keep_last` only applies to the `mask` action",
        ),
        (
            "profiles: { p: { fields: [ { path: 'user.ssn', action: redact } ] } }",
            "profiles.p: field rule `user.ssn`: path `user.ssn` must start with `$`",
        ),
        (
            "profiles: { p: { custom: [ { name: e, detect: { kind: regex, pattern: 'EMP-\\d+' } } ] } }",
            "detector `e`: the regex can match text of unbounded length",
        ),
        (
            "profiles: { p: { custom: [ { name: e, detect: { kind: email } } ] } }",
            "profiles.p.custom[0].detect.kind: custom detectors are `regex` or `keywords`",
        ),
        ("profiles: { p: { phone_regions: [XX] } }", "unknown phone region `XX`"),
        ("profiles: { p: { colour: red } }", "unknown field `colour`"),
        (
            "keys: [ { id: k, secret_env: PIIMASK_TEST_UNSET_VAR } ]",
            "keys[0].secret_env: environment variable `PIIMASK_TEST_UNSET_VAR` is not set",
        ),
        ("keys: [ { id: k } ]", "keys[0]: give exactly one of `secret_env` or `secret_file`"),
        ("profiles: [1, 2]", "piimask.yaml: profiles (line 1, column 11)"),
    ];
    for (text, want) in cases {
        let got = err(text);
        assert!(got.contains(want), "for {text}\n got: {got}\nwant: {want}");
    }
}

#[test]
fn short_keys_are_refused() {
    assert!(err("keys: [ { id: k, secret_env: PIIMASK_TEST_KEY_SHORT } ]").contains("use at least 16 random bytes"));
}

#[test]
fn the_example_configs_in_deploy_build() {
    for name in ["sidecar.yaml", "gateway.yaml"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/config").join(name);
        let c = Config::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let proxy = c.proxy.expect("a proxy section");
        assert!(proxy.inbound.is_some(), "{name}");
    }
}

const PROXY: &str = r#"
tls: { cert: tls.crt, key: tls.key, ca: ca.crt }
inbound:
  listen: 127.0.0.1:8443
  routes:
    - { name: api, allow: [spiffe://td/ns/a/sa/b], upstream: app }
upstreams:
  - { name: app, url: "http://127.0.0.1:8080" }
"#;

#[test]
fn a_proxy_section_builds_routes_with_the_builtin_profile() {
    let c = parse(PROXY).unwrap();
    let inbound = c.proxy.unwrap().inbound.unwrap();
    let route = &inbound.policy.routes[0];
    assert!(route.response.masker.is_some() && route.request.masker.is_none());
    assert_eq!(inbound.tls.unwrap().cert, Path::new("./tls.crt"));
}

#[test]
fn binary_is_unset_pass_or_block_for_both_directions() {
    use crate::policy::Binary;
    let binary = |text: &str| {
        let route = &parse(text).unwrap().proxy.unwrap().inbound.unwrap().policy.routes[0];
        (route.request.binary, route.response.binary)
    };
    assert_eq!(binary(PROXY).1, Binary::Default);
    let with =
        |v: &str| PROXY.replace("upstream: app }", &format!("upstream: app, request_profile: default, binary: {v} }}"));
    assert_eq!(binary(&with("pass")), (Binary::Pass, Binary::Pass));
    assert_eq!(binary(&with("block")), (Binary::Block, Binary::Block));
    let blocking = PROXY.replace("upstream: app }", "upstream: app, other_types: block }");
    assert_eq!(binary(&blocking).1, Binary::Block, "unset follows other_types: block");
    let e = err(&with("text"));
    assert!(e.contains("inbound.routes[0].binary"), "{e}");
}

#[test]
fn an_egress_peer_refuses_personal_data_in_its_request_head_unless_it_says_mask() {
    let peers = "egress:\n  peers:\n    - { name: a, hosts: [a], address: 'a:1', identity: x }\n    - { name: b, hosts: [b], address: 'b:1', identity: x, request_head: mask }\n";
    let c = parse(&format!("{PROXY}{peers}")).unwrap();
    let egress = c.proxy.unwrap().egress.unwrap();
    let modes: Vec<_> = egress.policy.peers.iter().map(|p| p.request_head).collect();
    assert_eq!(modes, [crate::policy::RequestHead::Refuse, crate::policy::RequestHead::Mask]);
    let e = err(&format!("{PROXY}{}", peers.replace("request_head: mask", "request_head: pass")));
    assert!(e.contains("request_head"), "{e}");
}

#[test]
fn proxy_errors_name_the_path_and_what_is_expected() {
    let e = err(&PROXY.replace("upstream: app }", "upstream: db }"));
    assert!(e.contains("inbound.routes[0].upstream: no upstream named `db`"), "{e}");
    let e = err(&PROXY.replace("upstream: app }", "upstream: app, response_profile: strict }"));
    assert!(e.contains("inbound.routes[0].response_profile: no profile `strict`"), "{e}");
    let e = err(&PROXY.replace(", ca: ca.crt", ""));
    assert!(e.contains("inbound.routes[0].allow: identities need mTLS"), "{e}");
    let e = err(&PROXY.replace("http://127.0.0.1:8080", "https://db:443"));
    assert!(e.contains("upstreams[0].ca: an https upstream needs `ca`"), "{e}");
    let e = err(&PROXY.replace("listen: 127.0.0.1:8443", "listen: nowhere"));
    assert!(e.contains("inbound.listen"), "{e}");
    let e = err(&format!("{PROXY}egress:\n  peers:\n    - {{ name: b, hosts: [], address: 'b:1', identity: x }}\n"));
    assert!(e.contains("egress.peers[0].hosts"), "{e}");
}

#[test]
fn a_secret_file_is_read_relative_to_the_config() {
    let dir = std::env::temp_dir().join(format!("piimask-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hash.key"), "0123456789abcdef0123\n").unwrap();
    let text = "keys: [ { id: k1, secret_file: hash.key } ]\nprofiles: { p: { detectors: { email: { action: hash, key: k1 } } } }";
    let c = Config::parse_with_env("piimask.yaml", text, &dir, &test_env);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(c.is_ok(), "{:?}", c.err());
}

#[test]
fn limits_take_durations_with_units_or_seconds() {
    let with = |limits: &str| parse(&format!("{PROXY}limits: {{ {limits} }}\n"));
    let limits = |text: &str| with(text).unwrap().proxy.unwrap().limits;
    let l =
        limits("header_read_timeout: 15s, upstream_response_timeout: 2m, body_idle_timeout: 500ms, drain_timeout: 1h");
    assert_eq!(l.header_read_timeout, Duration::from_secs(15));
    assert_eq!(l.upstream_response_timeout, Duration::from_secs(120));
    assert_eq!(l.body_idle_timeout, Duration::from_millis(500));
    assert_eq!(l.drain_timeout, Duration::from_secs(3600));
    let l = limits("handshake_timeout: 3, upstream_connect_timeout: 0.25");
    assert_eq!(l.handshake_timeout, Duration::from_secs(3));
    assert_eq!(l.upstream_connect_timeout, Duration::from_millis(250));
    // The older spellings still load.
    let l = limits("header_read_timeout_seconds: 15, drain_timeout_seconds: \"2m\"");
    assert_eq!(l.header_read_timeout, Duration::from_secs(15));
    assert_eq!(l.drain_timeout, Duration::from_secs(120));
}

#[test]
fn limit_errors_name_the_file_the_key_and_the_value() {
    let e = |limits: &str| err(&format!("{PROXY}limits: {{ {limits} }}\n"));
    let cases = [
        ("header_read_timeout: 30x", "piimask.yaml: limits.header_read_timeout: `30x`: unknown unit `x`"),
        ("drain_timeout: 0", "piimask.yaml: limits.drain_timeout: `0`: must be more than zero"),
        ("body_idle_timeout_seconds: -1", "limits.body_idle_timeout_seconds: `-1`: a duration cannot be negative"),
        ("handshake_timeout: .nan", "limits.handshake_timeout: `NaN`: expected a duration"),
        ("upstream_connect_timeout: 1e300", "limits.upstream_connect_timeout: `1e300`: too large"),
        (
            "header_read_timeout: 15s, header_read_timeout_seconds: 15",
            "limits.header_read_timeout: also given as `limits.header_read_timeout_seconds`",
        ),
        ("header_read_timeout: [1]", "limits.header_read_timeout"),
    ];
    for (limits, want) in cases {
        let got = e(limits);
        assert!(got.contains(want), "for {limits}\n got: {got}\nwant: {want}");
    }
}

#[test]
fn proxy_sections_without_a_listener_are_refused_not_ignored() {
    for (text, key) in [
        ("limits: { max_connections: 10 }", "limits"),
        ("tls: { cert: a, key: b }", "tls"),
        ("upstreams: [ { name: app, url: 'http://127.0.0.1:1' } ]", "upstreams"),
        ("access_log: true", "access_log"),
    ] {
        let got = err(&format!("profiles: {{ p: {{}} }}\n{text}\n"));
        assert!(got.contains(&format!("piimask.yaml: {key}: applies only to the proxy")), "{got}");
    }
}
