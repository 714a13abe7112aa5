//! Lenient JSON through the real proxy: a response whose first record
//! holds what Python's `json.dumps` writes by default (`NaN`) still has
//! the names of the later records redacted by the profile's field rules.

mod support;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use support::{App, Client, Http, Pki, Proxy};

fn full(s: impl Into<String>) -> support::TestBody {
    Full::new(Bytes::from(s.into())).map_err(|never| match never {}).boxed()
}

#[tokio::test(flavor = "multi_thread")]
async fn names_after_a_nan_are_still_redacted() {
    let app = App::start().await;
    let pki = Pki::new("lenient-json");
    let proxy = Proxy::one_route(
        &pki,
        &app.url(),
        "response_profile: default, request_profile: none",
        r#"profiles:
  default:
    fields:
      - { id: customer-name, path: "$..name", action: redact }
      - { id: dob, path: "$..date_of_birth", action: drop }
"#,
    );
    let client = Client::new(&pki, Some("client"), Http::H1);
    // The app answers `/echo` with the body it was sent (request bodies
    // pass on this route), so the response is the lenient body itself.
    for first in ["NaN", "Infinity", "[1,2,]", "'x'", &"9".repeat(400), "\"a\\ud800\"", "1 oops"] {
        let body = format!(
            r#"[{{"id":1,"score":{first},"name":"Ann Lee"}},
 {{"id":2,"name":"Jane Roe","date_of_birth":"1990-01-02","note":"call +44 20 7946 0958"}},
 {{"id":3,"name":"John Poe","plan":"gold"}}]"#
        );
        let request = Request::post("/echo")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(full(body.clone()))
            .expect("request");
        let answer = client.send(proxy.addr, request).await.expect("answer");
        assert_eq!(answer.status, StatusCode::OK, "{first}");
        assert_eq!(app.last_seen().body, Bytes::from(body.clone()), "the app saw the body unmasked");
        let text = answer.text();
        for planted in ["Ann Lee", "Jane Roe", "John Poe", "1990-01-02", "7946 0958"] {
            assert!(!text.contains(planted), "{first}: {planted} leaked: {text}");
        }
        for kept in [r#""id":2"#, r#""plan":"gold""#, "call ", r#""id":3"#] {
            assert!(text.contains(kept), "{first}: {kept} lost: {text}");
        }
        if !first.contains('\\') {
            assert!(text.contains(&format!(r#""score":{first}"#)), "{first} not copied: {text}");
        }
    }
    proxy.assert_logs_clean();
}

/// A proxy masking both directions with `$..name` and a positional rule,
/// in front of the app's `/echo`.
async fn both_ways(name: &str) -> (App, Pki, Proxy) {
    let app = App::start().await;
    let pki = Pki::new(name);
    let proxy = Proxy::one_route(
        &pki,
        &app.url(),
        "response_profile: default, request_profile: default",
        r#"profiles:
  default:
    fields:
      - { id: customer-name, path: "$..name", action: redact }
      - { id: second-code, path: "$.items[1].code", action: redact }
"#,
    );
    (app, pki, proxy)
}

const PLANTED: [&str; 4] = ["Ann Lee", "ann@example.org", "4111 1111 1111 1111", "SECRET-CODE"];

/// What a receiver that strips the wrapper and parses the JSON sees:
/// none of the planted values, and the rest as it was sent.
fn assert_masked(what: &str, text: &str, kept: &[&str]) {
    for planted in PLANTED {
        assert!(!text.contains(planted), "{what}: {planted} leaked: {text}");
    }
    for kept in kept {
        assert!(text.contains(kept), "{what}: {kept} lost: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn json_under_other_names_wrappers_and_comments_keeps_its_field_rules() {
    let (app, pki, proxy) = both_ways("json-names").await;
    let doc = r#"{"id":7,"name":"Ann Lee","items":[{"code":"A-1"},{"code":"SECRET-CODE"}],"note":"card 4111 1111 1111 1111 to ann@example.org","plan":"gold"}"#;
    let commented = r#"{"id":7, /* who */ "name": /* c */ "Ann Lee", // ann@example.org
 "items":[{"code":"A-1"}, /**/ {"code" /* k */ : "SECRET-CODE"}], "plan":"gold", "note": "card 4111 1111 1111 1111"}"#;
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        ("text/json", doc.into(), vec![r#""id":7"#, r#""code":"A-1""#, r#""plan":"gold""#]),
        ("text/x-json", doc.into(), vec![r#""id":7"#, r#""code":"A-1""#]),
        ("application/x-json", doc.into(), vec![r#""id":7"#, r#""code":"A-1""#]),
        ("application/json", format!(")]}}'\n{doc}"), vec![")]}'\n{\"id\":7", r#""code":"A-1""#]),
        ("application/json", format!("while(1);{doc}"), vec!["while(1);{", r#""code":"A-1""#]),
        ("application/json", format!("for(;;);{doc}"), vec!["for(;;);{", r#""code":"A-1""#]),
        ("application/json", format!("/**/ cb.done({doc});"), vec!["/**/ cb.done({", r#""code":"A-1""#, "});"]),
        ("application/json", commented.into(), vec!["/* who */", "// [EMAIL]\n", r#"{"code":"A-1"}"#, "/* k */ :"]),
        ("application/json-seq", format!("\u{1e}{doc}\n\u{1e}{doc}\n"), vec!["\u{1e}{\"id\":7", r#""code":"A-1""#]),
        // Text types holding JSON: rules by key name, detectors as ever.
        ("text/html; charset=utf-8", doc.into(), vec![r#""id":7"#, r#""plan":"gold""#]),
        ("text/plain", doc.into(), vec![r#""id":7"#]),
        ("text/javascript", format!("cb({doc});"), vec!["cb({\"id\":7", "});"]),
        ("application/javascript", format!("/**/ cb({commented})"), vec!["/* c */"]),
    ];
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        for (ct, body, kept) in &cases {
            // Positional rules apply where the body is read as JSON; in
            // text, by key name only: `code` is no key any rule ends in.
            let planted_code = ct.starts_with("text/html") || ct.starts_with("text/plain") || ct.contains("javascript");
            let request = Request::post("/echo")
                .header("host", "localhost")
                .header("content-type", *ct)
                .body(full(body.clone()))
                .expect("request");
            let answer = client.send(proxy.addr, request).await.expect("answer");
            assert_eq!(answer.status, StatusCode::OK, "{ct}");
            let what = format!("{http:?} {ct} {}", &body[..20.min(body.len())]);
            let seen = String::from_utf8(app.last_seen().body.to_vec()).expect("UTF-8");
            let text = answer.text();
            for (side, got) in [("app", &seen), ("client", &text)] {
                let got = if planted_code { got.replace("SECRET-CODE", "") } else { got.clone() };
                assert_masked(&format!("{what} ({side})"), &got, kept);
                assert!(got.contains(r#""name""#), "{what}: the key is kept: {got}");
            }
        }
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_after_a_lone_surrogate_is_masked() {
    let (_app, pki, proxy) = both_ways("json-surrogate").await;
    let client = Client::new(&pki, Some("client"), Http::H1);
    for body in [r#"{"c":"\ud8004111 1111 1111 1111"}"#, r#"{"c":"\udc00 ann@example.org 4111 1111 1111 1111 end"}"#] {
        let request = Request::post("/echo")
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(full(body))
            .expect("request");
        let answer = client.send(proxy.addr, request).await.expect("answer");
        let value: serde_json::Value = serde_json::from_slice(&answer.body).expect("valid JSON");
        let c = value["c"].as_str().expect("a string");
        assert_masked(body, c, &["[CARD]"]);
    }
    proxy.assert_logs_clean();
}
