//! Bodies in charsets other than UTF-8, through the real proxy: a client
//! that decodes what it receives by the declared charset (and the byte
//! order mark) finds none of the planted values and the rest of the text
//! intact, over HTTP/1.1 and HTTP/2, for responses and request bodies.

mod support;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use encoding_rs::Encoding;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use support::reader::percent_decode;
use support::{Client, Http, Pki, Proxy};
use tokio::net::TcpListener;

/// Planted in every body: none may reach the client or the app.
const PII: [&str; 3] = ["ana.lopez@example.com", "+14155552671", "4111 1111 1111 1111"];

const TEXT: &str = "Ana López (ana.lopez@example.com) — téléphone +14155552671, carte 4111 1111 1111 1111. \
                    日本語のテキスト、ァ行も。😀 Fin.\n";
const TEXT_MASKED: &str = "Ana López ([EMAIL]) — téléphone [PHONE], carte [CARD]. 日本語のテキスト、ァ行も。😀 Fin.\n";

/// Shift_JIS has no 'é' nor emoji; 'ァ' (0x83 0x40) has '@' as trail byte.
const SJIS_TEXT: &str =
    "田中アナ（ana.lopez@example.com）電話 +14155552671、カード 4111 1111 1111 1111。ァexample.com はァ行。\n";
const SJIS_MASKED: &str = "田中アナ（[EMAIL]）電話 [PHONE]、カード [CARD]。ァexample.com はァ行。\n";

const JSON: &str = r#"{"name":"Ana López","email":"ana.lopez@example.com","phone":"+14155552671","card":"4111 1111 1111 1111","note":"日本語 ァ"}"#;
const JSON_MASKED: &str =
    r#"{"name":"Ana López","email":"[EMAIL]","phone":"[PHONE]","card":"[CARD]","note":"日本語 ァ"}"#;

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
    units.flat_map(|u| if big_endian { u.to_be_bytes() } else { u.to_le_bytes() }).collect()
}

fn shift_jis(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

/// What a client honouring the `charset` parameter and the byte order
/// mark reads (WHATWG decoding: a mark overrides the label).
fn decode(content_type: &str, body: &[u8]) -> String {
    let label = content_type.split("charset=").nth(1).expect("a charset parameter");
    let label = label.split(';').next().unwrap_or("").trim().trim_matches('"');
    let encoding = Encoding::for_label(label.as_bytes()).expect("a known label");
    let (text, _, malformed) = encoding.decode(body);
    assert!(!malformed, "the body is valid {}", encoding.name());
    text.into_owned()
}

/// The app: fixed bodies in several charsets, a large UTF-16 body made
/// frame by frame, and `/echo`, which records a request body and sends it
/// back with its content type.
struct App {
    url: String,
    seen: Arc<Mutex<Vec<Bytes>>>,
}

type AppBody = BoxBody<Bytes, Infallible>;

/// Frames from an iterator, never held whole.
struct Frames<I>(I);

impl<I: Iterator<Item = Bytes> + Unpin> Body for Frames<I> {
    type Data = Bytes;
    type Error = Infallible;
    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.next().map(|b| Ok(Frame::data(b))))
    }
}

/// The large body's repeated record, in UTF-16LE after a mark.
const RECORD: &str = "Kontakt: someone@example.org, Telefon +14155552671, Notiz: größer als der Puffer. ";

impl App {
    async fn start() -> App {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind app");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let record = record.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(req, record.clone()));
                    let _ =
                        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tcp), service).await;
                });
            }
        });
        App { url, seen }
    }

    fn last_seen(&self) -> Bytes {
        self.seen.lock().expect("seen").last().cloned().expect("the app received a request body")
    }
}

async fn answer(req: Request<Incoming>, seen: Arc<Mutex<Vec<Bytes>>>) -> Result<Response<AppBody>, hyper::Error> {
    let full = |b: Vec<u8>| http_body_util::Full::new(Bytes::from(b)).boxed();
    let reply = |ct: &str, body: AppBody| Response::builder().header("content-type", ct).body(body).expect("response");
    Ok(match req.uri().path() {
        "/utf16-json" => reply("application/json; charset=utf-16", full(utf16(JSON, false, false))),
        "/utf16le-text" => reply("text/plain; charset=utf-16le", full(utf16(TEXT, false, true))),
        "/utf16be-text" => reply("text/plain;charset=\"UTF-16BE\"", full(utf16(TEXT, true, false))),
        "/sjis-text" => reply("text/plain; charset=Shift_JIS", full(shift_jis(SJIS_TEXT))),
        "/klingon" => reply("text/plain; charset=x-klingon", full(TEXT.as_bytes().to_vec())),
        "/malformed-utf16" => {
            // Valid masked text first, then a lone surrogate.
            let body = [utf16("ok ana.lopez@example.com ok", false, false), vec![0x00, 0xD8, 0x41, 0x00]].concat();
            reply("text/plain; charset=utf-16le", full(body))
        }
        "/big-utf16" => {
            let mib: usize = req.uri().query().and_then(|q| q.strip_prefix("mib=")?.parse().ok()).unwrap_or(1);
            let block = Bytes::from(utf16(&RECORD.repeat(64 * 1024 / RECORD.len()), false, false));
            let blocks = mib * 1024 * 1024 / block.len();
            let frames = std::iter::once(Bytes::from_static(b"\xFF\xFE"))
                .chain(std::iter::repeat_n(block, blocks))
                .chain(std::iter::once(Bytes::from(utf16("END", false, false))));
            reply("text/plain; charset=utf-16", Frames(frames).boxed())
        }
        "/echo" => {
            let ct = req.headers().get("content-type").cloned();
            let body = req.into_body().collect().await?.to_bytes();
            seen.lock().expect("seen").push(body.clone());
            let mut r = Response::builder();
            if let Some(ct) = ct {
                r = r.header("content-type", ct);
            }
            r.body(full(body.to_vec())).expect("response")
        }
        _ => Response::builder().status(404).body(full(b"no such endpoint".to_vec())).expect("response"),
    })
}

fn assert_clean(what: &str, text: &str) {
    for value in PII {
        assert!(!text.contains(value), "{what}: {value} got through: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_in_utf16_and_shift_jis_are_masked_in_their_charset() {
    let app = App::start().await;
    let pki = Pki::new("charsets");
    let proxy = Proxy::start(&pki.args(&app.url, &[]));
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        for (path, expected) in [
            ("/utf16-json", JSON_MASKED),
            ("/utf16le-text", TEXT_MASKED),
            ("/utf16be-text", TEXT_MASKED),
            ("/sjis-text", SJIS_MASKED),
        ] {
            let a = client.get(proxy.addr, path).await.expect("answer");
            assert_eq!(a.status, StatusCode::OK, "{http:?} {path}");
            let ct = a.headers["content-type"].to_str().expect("content type");
            let text = decode(ct, &a.body);
            assert_clean(path, &text);
            assert_eq!(text, expected, "{http:?} {path}");
            // The mark of a body that had one is kept.
            assert_eq!(a.body.starts_with(b"\xFF\xFE"), path == "/utf16le-text", "{path}");
        }
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_charset_or_a_malformed_body_is_refused() {
    let app = App::start().await;
    let pki = Pki::new("charsets-refused");
    let proxy = Proxy::start(&pki.args(&app.url, &[]));
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        let a = client.get(proxy.addr, "/klingon").await.expect("answer");
        assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{http:?}");
        assert_eq!(a.text().trim_end(), "piimask: response charset cannot be masked");
        // The body is invalid UTF-16 past its start, within its first
        // frame: refused with the reason, never a body that looks complete,
        // and no value in clear.
        let a = client.get(proxy.addr, "/malformed-utf16").await.expect("an answer, not a cut connection");
        assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{http:?}: {:?}", a.body);
        assert!(a.text().contains("does not decode under its content encoding or charset"), "{}", a.text());
        for value in PII {
            assert!(!a.text().contains(value), "{http:?}: {value} got through");
        }
    }
    let logs = proxy.logs();
    for value in PII {
        assert!(!logs.contains(value), "{value} in the logs");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn request_bodies_in_utf16_are_masked_before_the_app() {
    let app = App::start().await;
    let pki = Pki::new("charsets-requests");
    let proxy = Proxy::one_route(&pki, &app.url, "request_profile: default, response_profile: none", "");
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        for (ct, body, expected) in [
            ("application/json; charset=utf-16", utf16(JSON, false, true), JSON_MASKED),
            ("text/plain; charset=UTF-16BE", utf16(TEXT, true, false), TEXT_MASKED),
        ] {
            let request = Request::post("/echo")
                .header("host", "localhost")
                .header("content-type", ct)
                .body(http_body_util::Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed())
                .expect("request");
            let a = client.send(proxy.addr, request).await.expect("answer");
            assert_eq!(a.status, StatusCode::OK, "{http:?} {ct}");
            let received = decode(ct, &app.last_seen());
            assert_clean(ct, &received);
            assert_eq!(received, expected, "{http:?} {ct}");
        }
        let seen = app.seen.lock().expect("seen").len();
        let request = Request::post("/echo")
            .header("host", "localhost")
            .header("content-type", "text/plain; charset=x-klingon")
            .body(http_body_util::Full::new(Bytes::from(TEXT)).map_err(|never| match never {}).boxed())
            .expect("request");
        let a = client.send(proxy.addr, request).await.expect("answer");
        assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{http:?}");
        assert!(a.text().contains("request charset cannot be masked"), "{}", a.text());
        assert_eq!(app.seen.lock().expect("seen").len(), seen, "the app never saw it");
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_utf16_body_far_larger_than_the_buffers_streams_with_flat_memory() {
    let app = App::start().await;
    let pki = Pki::new("charsets-big");
    let proxy = Proxy::start(&pki.args(&app.url, &[]));
    let client = Client::new(&pki, Some("client"), Http::H2);
    let a = client.get(proxy.addr, "/big-utf16?mib=64").await.expect("big body");
    assert_eq!(a.status, StatusCode::OK);
    assert!(a.body.len() > 48 << 20, "the whole body came through: {} bytes", a.body.len());
    assert!(a.body.starts_with(b"\xFF\xFE") && a.body.ends_with(&utf16("END", false, false)));
    let text = decode("text/plain; charset=utf-16", &a.body);
    assert!(!text.contains("@example") && !text.contains("+1415"), "a value got through");
    assert!(text.contains("Kontakt: [EMAIL], Telefon [PHONE], Notiz: größer als der Puffer. Kontakt"));
    let peak = proxy.peak_rss_kib();
    eprintln!("peak RSS {peak} KiB, {} bytes out", a.body.len());
    assert!(peak < 48 * 1024, "peak RSS {peak} KiB while 64 MiB of UTF-16 streamed through");
}

/// `<?xm` and more in EBCDIC (IBM037): no charset piimask can transcode.
const EBCDIC_XML: &[u8] = &[0x4C, 0x6F, 0xA7, 0x94, 0x93, 0x40, 0xA5, 0x85, 0x99, 0xA2, 0x89, 0x96, 0x95, 0x7E];

fn post(ct: &str, body: Vec<u8>) -> Request<support::TestBody> {
    Request::post("/echo")
        .header("host", "localhost")
        .header("content-type", ct)
        .body(http_body_util::Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed())
        .expect("request")
}

/// Documents whose charset only their own first bytes name, as XML
/// parsers and browsers read them; and what the proxy cannot read.
fn documents() -> Vec<(&'static str, Vec<u8>, &'static Encoding, String)> {
    let xml = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>{TEXT}</a>");
    let xml_masked = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>{TEXT_MASKED}</a>");
    let bare = format!("<?xml version=\"1.0\"?><a>{TEXT}</a>");
    let bare_masked = format!("<?xml version=\"1.0\"?><a>{TEXT_MASKED}</a>");
    // Fullwidth forms, which a Shift_JIS reader sees and a UTF-8 one not.
    let html = "<!doctype html><title>t</title><meta charset=\"shift_jis\"><p>田中 ana.lopez＠example.com カード４１１１ １１１１ １１１１ １１１１。以上です。</p>";
    let html_masked =
        "<!doctype html><title>t</title><meta charset=\"shift_jis\"><p>田中 [EMAIL] カード[CARD]。以上です。</p>";
    let pragma = format!(
        "<html><head><!-- <meta charset=koi8-r> --><meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\"></head><body>{SJIS_TEXT}</body>"
    );
    let pragma_masked = pragma.replace(SJIS_TEXT, SJIS_MASKED);
    vec![
        ("application/xml", utf16(&xml, false, false), encoding_rs::UTF_16LE, xml_masked.clone()),
        ("text/xml", utf16(&xml, true, false), encoding_rs::UTF_16BE, xml_masked),
        ("image/svg+xml", utf16(&bare, false, false), encoding_rs::UTF_16LE, bare_masked),
        ("text/html", shift_jis(html), encoding_rs::SHIFT_JIS, html_masked.to_string()),
        ("text/html", shift_jis(&pragma), encoding_rs::SHIFT_JIS, pragma_masked),
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn documents_are_masked_in_the_charset_they_name_inside() {
    let app = App::start().await;
    let pki = Pki::new("charsets-documents");
    let proxy = Proxy::start(&pki.args(&app.url, &[]));
    for http in [Http::H1, Http::H2] {
        let client = Client::new(&pki, Some("client"), http);
        for (ct, body, encoding, expected) in documents() {
            let a = client.send(proxy.addr, post(ct, body)).await.expect("answer");
            assert_eq!(a.status, StatusCode::OK, "{http:?} {ct}");
            let (text, malformed) = encoding.decode_without_bom_handling(&a.body);
            assert!(!malformed, "{ct}: valid {}", encoding.name());
            assert_clean(ct, &text);
            assert!(!text.contains("＠example") && !text.contains("１１１１ １１１１"), "{ct}: {text}");
            assert_eq!(text, expected, "{http:?} {ct}");
        }
        // What the proxy cannot read is refused before anything is sent:
        // EBCDIC, a label nobody knows, an XML declaration against its header.
        let unknown = b"<?xml version=\"1.0\" encoding=\"x-klingon\"?><a>ana.lopez@example.com</a>".to_vec();
        let against = utf16("<?xml version=\"1.0\"?><a>ana.lopez@example.com</a>", false, false);
        for (ct, body) in [
            ("application/xml", EBCDIC_XML.to_vec()),
            ("text/xml", unknown),
            ("application/xml; charset=utf-8", against),
        ] {
            let a = client.send(proxy.addr, post(ct, body)).await.expect("answer");
            assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{http:?} {ct}");
            assert_eq!(a.text().trim_end(), "piimask: response charset cannot be masked", "{ct}");
        }
        // HTML that names no charset is read as UTF-8 only if it is: a
        // latin-1 page (whose charset a browser would guess) is refused.
        let latin1 = b"<p>Ren\xE9: ana.lopez@example.com</p>".to_vec();
        let a = client.send(proxy.addr, post("text/html", latin1)).await.expect("answer");
        assert_eq!(a.status, StatusCode::BAD_GATEWAY, "{http:?} latin-1 HTML");
        // HTML: the header wins over a <meta>, as browsers read it.
        let html = "<meta charset=\"shift_jis\"><p>ana.lopez@example.com 日本</p>";
        let a =
            client.send(proxy.addr, post("text/html; charset=utf-8", html.as_bytes().to_vec())).await.expect("answer");
        assert_eq!(a.text(), "<meta charset=\"shift_jis\"><p>[EMAIL] 日本</p>");
    }
    proxy.assert_logs_clean();
}

#[tokio::test(flavor = "multi_thread")]
async fn request_documents_are_masked_in_their_own_charset_or_refused() {
    let app = App::start().await;
    let pki = Pki::new("charsets-document-requests");
    let proxy = Proxy::one_route(&pki, &app.url, "request_profile: default, response_profile: none", "");
    let client = Client::new(&pki, Some("client"), Http::H1);
    for (ct, body, encoding, expected) in documents() {
        let a = client.send(proxy.addr, post(ct, body)).await.expect("answer");
        assert_eq!(a.status, StatusCode::OK, "{ct}");
        let seen = app.last_seen();
        let (text, malformed) = encoding.decode_without_bom_handling(&seen);
        assert!(!malformed, "{ct}");
        assert_clean(ct, &text);
        assert_eq!(text, expected, "{ct}");
    }
    let seen = app.seen.lock().expect("seen").len();
    let a = client.send(proxy.addr, post("application/xml", EBCDIC_XML.to_vec())).await.expect("answer");
    assert_eq!(a.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert!(a.text().contains("request charset cannot be masked"), "{}", a.text());
    assert_eq!(app.seen.lock().expect("seen").len(), seen, "the app never saw it");
    proxy.assert_logs_clean();
}

/// What a receiver that ignores labels makes of the bytes: JSON readers
/// decode UTF-16 by its NULs (RFC 4627), and a log shows the letters
/// between them; a UTF-16 mark before ASCII text is noise to a reader
/// that goes by the bytes. Both are masked whatever the type says, and
/// an untyped body of such NULs is text, not binary.
/// Every way a receiver may read bytes whatever their label: UTF-8 with
/// NULs dropped (as an HTML tree builder and a terminal show them), and
/// UTF-16 and UTF-32 in both orders, from every alignment.
fn readings(body: &[u8]) -> Vec<String> {
    let utf8 = String::from_utf8_lossy(body).replace('\0', "");
    let mut all = vec![String::from_utf8_lossy(&percent_decode(utf8.as_bytes(), true)).into_owned(), utf8];
    for skip in 0..4 {
        let b = body.get(skip..).unwrap_or_default();
        let units = |big: bool| -> Vec<u16> {
            b.chunks_exact(2)
                .map(|p| if big { u16::from_be_bytes([p[0], p[1]]) } else { u16::from_le_bytes([p[0], p[1]]) })
                .collect()
        };
        all.push(String::from_utf16_lossy(&units(false)));
        all.push(String::from_utf16_lossy(&units(true)));
        for big in [false, true] {
            let utf32: String = b
                .chunks_exact(4)
                .filter_map(|p| {
                    let u = if big {
                        u32::from_be_bytes([p[0], p[1], p[2], p[3]])
                    } else {
                        u32::from_le_bytes([p[0], p[1], p[2], p[3]])
                    };
                    char::from_u32(u)
                })
                .collect();
            all.push(utf32);
        }
    }
    all
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_read_otherwise_than_labelled_are_masked_in_every_reading() {
    let json = r#"{"email":"ana.lopez@example.com","phone":"+14155552671","card":"4111 1111 1111 1111"}"#;
    let wide = utf16(json, false, false);
    // Even in length, so that it is also valid UTF-16 (an odd byte at the
    // end is malformed UTF-16, and the body is refused).
    let ascii = if json.len() % 2 == 1 { format!("{json} ") } else { json.to_string() };
    let marked_ascii = [&[0xff, 0xfe][..], ascii.as_bytes()].concat();
    let text = "call +14155552671 or write ana.lopez@example.com, card 4111 1111 1111 1111";
    let utf32be: Vec<u8> = text.chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
    // A UTF-16 value pasted into a UTF-8 page: browsers drop the NULs.
    let page = [&b"<p>"[..], &utf16(text, false, false), b"</p>"].concat();
    let multipart = [
        &b"--B\r\nContent-Disposition: form-data; name=\"j\"; filename=\"a.json\"\r\n\
           Content-Type: application/octet-stream\r\n\r\n"[..],
        &wide,
        b"\r\n--B--\r\n",
    ]
    .concat();
    // Behind a UTF-16 mark, ASCII to a receiver that goes by the label.
    let form =
        [&[0xff, 0xfe][..], b"email=ana.lopez%40example.com&card=4111+1111+1111+1111&tel=%2B14155552671&"].concat();
    let marked_field = [
        &b"--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n\xff\xfe"[..],
        ascii.as_bytes(),
        b"\r\n--B--\r\n",
    ]
    .concat();
    let pki = Pki::new("charsets-readings");
    for (what, content_type, body) in [
        ("a form behind a UTF-16 mark", "content-type: application/x-www-form-urlencoded\r\n", form),
        ("a multipart field behind a UTF-16 mark", "content-type: multipart/form-data; boundary=B\r\n", marked_field),
        ("UTF-16 JSON as text/plain", "content-type: text/plain\r\n", wide.clone()),
        ("UTF-16 JSON untyped", "", wide.clone()),
        ("UTF-16 JSON as octet-stream", "content-type: application/octet-stream\r\n", wide.clone()),
        ("a UTF-16 mark before ASCII", "content-type: text/plain; charset=utf-8\r\n", marked_ascii),
        ("UTF-16 JSON labelled windows-1252", "content-type: application/json; charset=windows-1252\r\n", wide.clone()),
        (
            "UTF-16BE JSON labelled UTF-16LE",
            "content-type: application/json; charset=utf-16le\r\n",
            utf16(json, true, false),
        ),
        ("UTF-32BE text unlabelled", "content-type: text/plain\r\n", utf32be),
        ("UTF-16 inside a UTF-8 page", "content-type: text/html; charset=utf-8\r\n", page),
        (
            "NULs between a value's characters",
            "content-type: text/html\r\n",
            b"<td>4111\x001111\x001111\x001111 ana.lopez\x00@example.com</td>".to_vec(),
        ),
        ("a UTF-16 JSON file in a multipart part", "content-type: multipart/form-data; boundary=B\r\n", multipart),
    ] {
        let head = format!("HTTP/1.1 200 OK\r\n{content_type}content-length: {}\r\n\r\n", body.len());
        let answer: &'static [u8] = Box::leak([head.as_bytes(), &body].concat().into_boxed_slice());
        let upstream = support::raw_upstream(answer).await;
        let proxy = Proxy::start(&pki.args(&format!("http://{upstream}"), &[]));
        let a = Client::new(&pki, Some("client"), Http::H1).get(proxy.addr, "/").await.expect("answer");
        assert_eq!(a.status, StatusCode::OK, "{what}: {}", a.text());
        for reading in readings(&a.body) {
            for value in PII {
                assert!(!reading.contains(value), "{what}: {value} readable in {reading}");
            }
        }
        proxy.assert_logs_clean();
    }
}

/// A form's `charset` names the charset of its percent-decoded bytes, as
/// Tomcat and Jetty read them: values in Shift_JIS or UTF-16 are masked
/// before the app, and a rule on a key written in UTF-16 applies.
#[tokio::test(flavor = "multi_thread")]
async fn form_values_are_read_in_the_charset_the_form_names() {
    let app = App::start().await;
    let pki = Pki::new("charsets-forms");
    let fields = "profiles:\n  default:\n    fields: [{ path: \"$..name\", action: redact }]\n";
    let proxy = Proxy::one_route(&pki, &app.url, "request_profile: default, response_profile: none", fields);
    let escaped = |bytes: &[u8]| bytes.iter().map(|b| format!("%{b:02X}")).collect::<String>();
    let utf16 = |s: &str| escaped(&utf16(s, false, false));
    let sjis = |s: &str| escaped(&shift_jis(s));
    let client = Client::new(&pki, Some("client"), Http::H1);
    for (label, body, readable) in [
        (
            "shift_jis",
            format!(
                "e={}&c={}",
                sjis("ａｎａ．ｌｏｐｅｚ＠ｅｘａｍｐｌｅ．ｃｏｍ"),
                sjis("４１１１ １１１１ １１１１ １１１１")
            ),
            &["ａｎａ．ｌｏｐｅｚ", "４１１１"][..],
        ),
        (
            "utf-16le",
            format!("{}={}&e={}", utf16("name"), utf16("Ana Lopez"), utf16("ana.lopez@example.com")),
            &["Ana Lopez", "ana.lopez"][..],
        ),
    ] {
        let ct = format!("application/x-www-form-urlencoded; charset={label}");
        let a = client.send(proxy.addr, post(&ct, body.into_bytes())).await.expect("answer");
        assert_eq!(a.status, StatusCode::OK, "{label}");
        let seen = app.last_seen();
        let encoding = Encoding::for_label(label.as_bytes()).expect("label");
        // What the app's form parser reads: every value percent-decoded,
        // then decoded from the form's charset.
        let values: Vec<String> = String::from_utf8_lossy(&seen)
            .split(['&', '='])
            .map(|v| {
                let bytes: Vec<u8> = percent_decode(v.as_bytes(), true);
                encoding.decode_without_bom_handling(&bytes).0.into_owned()
            })
            .collect();
        for value in readable {
            assert!(!values.iter().any(|v| v.contains(value)), "{label}: {value} reached the app in {values:?}");
        }
        assert!(values.iter().any(|v| v == "[EMAIL]"), "{label}: {values:?}");
        assert!(label != "utf-16le" || values.iter().any(|v| v == "[REDACTED]"), "{label}: {values:?}");
    }
    proxy.assert_logs_clean();
}
