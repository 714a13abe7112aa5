//! Markup, URL and Unicode spellings of PII through the real proxy: an
//! HTML response that writes an email, a phone and a card in every
//! spelling piimask reads through reaches the peer with none of them
//! recoverable, and its markup intact.

mod support;

use http::StatusCode;
use support::{App, Client, Http, MARKUP_PAGE, MARKUP_PAGE_MASKED, MARKUP_PLANTED, Pki, Proxy, reader, spelled};

#[tokio::test(flavor = "multi_thread")]
async fn an_html_page_leaks_no_spelling_of_its_pii() {
    let app = App::start().await;
    let pki = Pki::new("markup");
    let proxy = Proxy::start(&pki.args(&app.url(), &[]));
    // The page as sent leaks every planted value to a reader: the test
    // can fail.
    assert_eq!(reader::leaked(MARKUP_PAGE, MARKUP_PLANTED), MARKUP_PLANTED);
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        for path in ["/markup", "/markup?split=7", "/markup?split=1"] {
            let a = client.get(proxy.addr, path).await.expect("answer");
            assert_eq!(a.status, StatusCode::OK, "{http:?} {path}");
            let text = a.text();
            assert_eq!(reader::leaked(&text, MARKUP_PLANTED), Vec::<&str>::new(), "{http:?} {path}: {text}");
            assert_eq!(text, MARKUP_PAGE_MASKED, "{http:?} {path}");
        }
    }
    proxy.assert_logs_clean();
}

/// Digits of other scripts and forms, lookalikes of `@` and `.`, script
/// and style escapes, markup between characters and JSON numbers with a
/// fraction or exponent: each body reaches the peer with nothing a reader
/// recovers, the rest of it byte for byte, however the app cuts it.
#[tokio::test(flavor = "multi_thread")]
async fn every_spelling_of_a_planted_value_is_masked_through_the_proxy() {
    let app = App::start().await;
    let pki = Pki::new("spelled");
    let proxy = Proxy::start(&pki.args(&app.url(), &[]));
    let client = Client::new(&pki, Some("client"), Http::H1);
    for body in spelled::BODIES {
        // As sent, the body leaks to the reader: the test can fail.
        assert_ne!(spelled::leaked(body.body), Vec::<&str>::new(), "{}", body.name);
        for split in ["", "?split=1", "?split=7"] {
            let path = format!("/spelled/{}{split}", body.name);
            let a = client.get(proxy.addr, &path).await.expect("answer");
            assert_eq!(a.status, StatusCode::OK, "{path}");
            let text = a.text();
            assert_eq!(spelled::leaked(&text), Vec::<&str>::new(), "{path}: {text}");
            assert_eq!(text, body.masked, "{path}");
        }
    }
    proxy.assert_logs_clean();
}
