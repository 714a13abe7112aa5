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
    let yaml = format!(
        r#"
tls: {{ cert: server.crt, key: server.key, ca: ca.crt }}
inbound:
  listen: 127.0.0.1:0
  routes:
    - {{ name: api, allow: ["{allowed}"], upstream: app, response_profile: default, request_profile: none }}
upstreams:
  - {{ name: app, url: "{app}" }}
profiles:
  default:
    fields:
      - {{ id: customer-name, path: "$..name", action: redact }}
      - {{ id: dob, path: "$..date_of_birth", action: drop }}
"#,
        allowed = piimask::devpki::ALLOWED_CLIENT_ID,
        app = app.url(),
    );
    let config = support::write_file(&pki.dir, "lenient.yaml", &yaml);
    let proxy = Proxy::start(&["run".into(), "--config".into(), config.to_string_lossy().into()]);
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
