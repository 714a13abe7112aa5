use std::path::Path;

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse("piimask.yaml", text, Path::new("."))
}

fn err(text: &str) -> String {
    parse(text).expect_err("should be refused").to_string()
}

#[test]
fn a_full_profile_builds() {
    // SAFETY: tests in this module are the only users of this variable.
    unsafe { std::env::set_var("PIIMASK_TEST_KEY_A", "0123456789abcdef0123") };
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
    unsafe { std::env::set_var("PIIMASK_TEST_KEY_SHORT", "short") };
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
