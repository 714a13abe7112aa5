//! Property tests over generated bodies: the output is identical however
//! the body is cut into chunks, JSON in gives valid JSON of the same shape
//! out, and no planted email or phone survives, escaped or not.

#[path = "support/reader.rs"]
mod reader;

use std::sync::Arc;

use base64::Engine;
use piimask::mask::multipart::Boundary;
use piimask::mask::prescan::{DocumentCharset, Markup};
use piimask::mask::{Charset, CharsetError, ContentKind, MaskStream, Masker, TextStage};
use proptest::prelude::*;
use serde_json::Value;

const EMAILS: &[&str] =
    &["ana.lopez+x@example.com", "桃子.阿部@example.jp", "bo@xn--80ak6aa92e.com", "j.doe@mail.co.uk"];
const PHONES: &[&str] =
    &["+44 20 7946 0958", "+1 (415) 555-2671", "+33 6 12 34 56 78", "+81 90-1234-5678", "(0161) 496 0066"];
const NOISE: &[&str] = &[
    "2024-01-15T10:30:00Z",
    "1700000000123",
    "ORD-2024-000123",
    "978-3-16-148410-0",
    "v1.2.3",
    "lorem ipsum",
    "550e8400-e29b-41d4-a716-446655440000",
    "1299.99",
    "",
    "quote \" and \\ backslash",
    "tab\tnew\nline",
    "é ü 日本",
    "2024 11 21 10 30 45 020 7946 0958",
    "415 555 2671 415 555 2672 10 20 30 40 50 60 70 80 90",
    "06 12 34 56 78 06 12 34 56 78",
];

/// Pieces of multipart and form syntax, glued at random.
const PIECES: &[&str] = &[
    "\r\n--b\r\n",
    "--b\n",
    "\r\n--b--",
    "\r\n--b \t\r\n",
    "--bb",
    "Content-Transfer-Encoding: base64\r\n",
    "Content-Transfer-Encoding: quoted-printable\r\n",
    "Content-Type: application/json\r\n",
    "Content-Type: application/x-www-form-urlencoded\r\n",
    "Content-Type: multipart/mixed; boundary=c\r\n",
    "Content-Type: image/png\r\n",
    "Content-Disposition: form-data; name=\"phone\"\r\n",
    "\r\n\r\n",
    "\n\n",
    "=",
    "=\r\n",
    "=4",
    "%4",
    "%2540",
    "0",
    "&",
    "+",
    "ana@example.com",
    "YW5hQGV4YW1wbGUuY29t",
    "{\"a\":\"",
    "\"",
    "\u{0}",
    "+44 20 7946 0958",
];

/// The bodies of a multipart output's parts, decoded when base64.
fn decode_parts(whole: &[u8]) -> String {
    let text = String::from_utf8_lossy(whole).into_owned();
    text.split("--b")
        .filter_map(|part| part.split_once("\r\n\r\n"))
        .map(|(headers, body)| {
            let body = body.strip_suffix("\r\n").unwrap_or(body);
            if headers.contains("base64") {
                let clean: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                let bytes = base64::engine::general_purpose::STANDARD.decode(clean).unwrap_or_default();
                String::from_utf8_lossy(&bytes).into_owned() + "\n"
            } else {
                format!("{body}\n")
            }
        })
        .collect()
}

/// PII spelled as markup, URLs and Unicode write it, and what each is.
const SPELLED: &[(&str, &str)] = &[
    ("john.doe&#64;example.com", "john.doe@example.com"),
    ("john.doe&#x40;example.com", "john.doe@example.com"),
    ("john.doe&commat;example&period;com", "john.doe@example.com"),
    ("<a href=\"mailto:john.doe%40example.com\">", "john.doe@example.com"),
    ("ｊｏｈｎ．ｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", "john.doe@example.com"),
    ("john.\u{200B}doe@exam\u{AD}ple.com", "john.doe@example.com"),
    ("<a href=\"tel:+14155552671\">", "14155552671"),
    ("https://wa.me/14155552671?text=hi", "14155552671"),
    ("+1&nbsp;415&nbsp;555&nbsp;2671", "14155552671"),
    ("+1\u{A0}415\u{202F}555\u{2009}2671", "14155552671"),
    ("＋１ ４１５ ５５５ ２６７１", "14155552671"),
    ("+33\u{A0}6\u{A0}12\u{A0}34\u{A0}56\u{A0}78", "33612345678"),
    ("4111&nbsp;1111&nbsp;1111&nbsp;1111", "4111111111111111"),
    ("4111\u{200B}1111\u{FEFF}1111\u{2060}1111", "4111111111111111"),
];
/// Markup without PII: must pass as it is.
const MARKUP: &[&str] = &[
    "<p>Tom &amp; Jerry</p>",
    " &nbsp; ",
    "&#64;",
    "100%",
    "?q=%E6%97%A5&amp;page=2",
    "\u{A0}€",
    "&lt;b&gt;",
    "\u{200B}",
    "é ü 日本",
    "&",
    "%",
];

fn masker() -> Arc<Masker> {
    Arc::new(Masker::new(&piimask::patterns::default_config()).expect("default profile"))
}

/// A string value: noise, with PII planted in the middle.
fn text() -> impl Strategy<Value = (String, Vec<&'static str>)> {
    (
        prop::sample::select(NOISE),
        prop::option::of(prop::sample::select(EMAILS)),
        prop::option::of(prop::sample::select(PHONES)),
        prop::sample::select(NOISE),
    )
        .prop_map(|(a, e, p, b)| {
            let planted: Vec<&str> = e.into_iter().chain(p).collect();
            (format!("{a} {} {b}", planted.join(" call ")), planted)
        })
}

/// Arbitrary JSON documents with planted strings, and the planted values.
fn document() -> impl Strategy<Value = (Value, Vec<&'static str>)> {
    let leaf = prop_oneof![
        text().prop_map(|(s, p)| (Value::String(s), p)),
        any::<i64>().prop_map(|n| (Value::from(n), vec![])),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| (Value::from(f), vec![])),
        any::<bool>().prop_map(|b| (Value::from(b), vec![])),
        Just((Value::Null, vec![])),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|items| {
                let planted = items.iter().flat_map(|(_, p)| p.clone()).collect();
                (Value::Array(items.into_iter().map(|(v, _)| v).collect()), planted)
            }),
            prop::collection::vec((prop::sample::select(&["a", "note", "phone", "e", "id", "x y"][..]), inner), 0..6)
                .prop_map(|members| {
                    let planted = members.iter().flat_map(|(_, (_, p))| p.clone()).collect();
                    let map = members.into_iter().enumerate().map(|(i, (k, (v, _)))| (format!("{k}{i}"), v)).collect();
                    (Value::Object(map), planted)
                }),
        ]
    })
}

fn mask(m: &Arc<Masker>, kind: ContentKind, body: &[u8], cuts: &[usize]) -> Vec<u8> {
    MaskStream::mask_in_chunks(m.clone(), kind, body, cuts).0
}

/// `body` through a [`TextStage`] for `charset`, fed in pieces cut at
/// `cuts` (sorted).
fn mask_in(
    m: &Arc<Masker>,
    kind: ContentKind,
    charset: Charset,
    body: &[u8],
    cuts: &[usize],
) -> Result<Vec<u8>, CharsetError> {
    let mut stage = TextStage::new(m.clone(), kind, Some(charset));
    let mut out = Vec::new();
    let mut from = 0;
    for &cut in cuts {
        let cut = cut.clamp(from, body.len());
        stage.feed(&body[from..cut], &mut out)?;
        from = cut;
    }
    stage.feed(&body[from..], &mut out)?;
    stage.finish(&mut out)?;
    Ok(out)
}

/// Charsets every test text can be written in, with a way to write it.
const WIDE: &[(&str, bool)] = &[
    ("utf-16le", false),
    ("utf-16be", false),
    ("utf-16le", true),
    ("utf-32be", true),
    ("utf-32le", false),
    ("gb18030", false),
];

fn encode(label: &str, bom: bool, text: &str) -> Vec<u8> {
    let mark = if bom { "\u{FEFF}" } else { "" };
    let text = format!("{mark}{text}");
    let big = label.ends_with("be");
    match label {
        "utf-16le" | "utf-16be" => {
            text.encode_utf16().flat_map(|u| if big { u.to_be_bytes() } else { u.to_le_bytes() }).collect()
        }
        "utf-32le" | "utf-32be" => {
            text.chars().flat_map(|c| if big { (c as u32).to_be_bytes() } else { (c as u32).to_le_bytes() }).collect()
        }
        _ => encoding_rs::Encoding::for_label(label.as_bytes()).expect("a label").encode(&text).0.into_owned(),
    }
}

fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_shape(v, w)),
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        _ => true,
    }
}

proptest! {
    // 256 cases by default; PROPTEST_CASES=N for a longer run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    #[test]
    fn json_output_is_chunking_independent_valid_and_leak_free(
        (doc, planted) in document(),
        ascii in any::<bool>(),
        pretty in any::<bool>(),
        mut cuts in prop::collection::vec(0usize..4096, 0..12),
    ) {
        let m = masker();
        let body = match (pretty, ascii) {
            (true, _) => serde_json::to_string_pretty(&doc).unwrap(),
            // serde_json never escapes non-ASCII; do it by hand half the time.
            (false, true) => serde_json::to_string(&doc).unwrap().chars().map(|c| if c.is_ascii() { c.to_string() } else {
                c.encode_utf16(&mut [0; 2]).iter().map(|u| format!("\\u{u:04x}")).collect() }).collect(),
            (false, false) => serde_json::to_string(&doc).unwrap(),
        };
        let whole = mask(&m, ContentKind::Json, body.as_bytes(), &[]);
        cuts.sort_unstable();
        prop_assert_eq!(&mask(&m, ContentKind::Json, body.as_bytes(), &cuts), &whole);
        let out: Value = serde_json::from_slice(&whole).map_err(|e| TestCaseError::fail(format!("invalid JSON out: {e}")))?;
        prop_assert!(same_shape(&doc, &out));
        let text = out.to_string();
        for p in &planted {
            prop_assert!(!text.contains(p), "{} leaked", p);
        }
    }

    #[test]
    fn text_and_ndjson_output_is_chunking_independent_and_leak_free(
        lines in prop::collection::vec(text(), 1..20),
        mut cuts in prop::collection::vec(0usize..2048, 0..12),
    ) {
        let m = masker();
        let body: String = lines.iter().map(|(s, _)| format!("{s}\n")).collect();
        cuts.sort_unstable();
        for kind in [ContentKind::Text, ContentKind::Ndjson] {
            let whole = mask(&m, kind, body.as_bytes(), &[]);
            prop_assert_eq!(&mask(&m, kind, body.as_bytes(), &cuts), &whole);
            let text = String::from_utf8(whole).unwrap();
            for p in lines.iter().flat_map(|(_, p)| p) {
                prop_assert!(!text.contains(p), "{} leaked from {:?}", p, kind);
            }
        }
    }

    #[test]
    fn form_and_multipart_output_is_chunking_independent_and_leak_free(
        fields in prop::collection::vec((text(), any::<bool>()), 1..8),
        mut cuts in prop::collection::vec(0usize..4096, 0..12),
    ) {
        let m = masker();
        cuts.sort_unstable();
        let planted: Vec<&str> = fields.iter().flat_map(|((_, p), _)| p.iter().copied()).collect();
        let mut form = form_urlencoded::Serializer::new(String::new());
        let mut multipart = String::new();
        for (i, ((value, _), base64)) in fields.iter().enumerate() {
            form.append_pair(&format!("k{i}"), value);
            let (coding, body) = if *base64 {
                ("base64", base64::engine::general_purpose::STANDARD.encode(value))
            } else {
                ("8bit", value.clone())
            };
            multipart.push_str(&format!(
                "--b\r\nContent-Disposition: form-data; name=\"k{i}\"\r\nContent-Transfer-Encoding: {coding}\r\n\r\n{body}\r\n"
            ));
        }
        multipart.push_str("--b--\r\n");
        let multipart_kind = ContentKind::Multipart(Boundary::new(b"b").expect("a valid boundary"));
        for (kind, body) in [(ContentKind::Form, form.finish()), (multipart_kind, multipart)] {
            let whole = mask(&m, kind, body.as_bytes(), &[]);
            prop_assert_eq!(&mask(&m, kind, body.as_bytes(), &cuts), &whole);
            let decoded = match kind {
                ContentKind::Form => form_urlencoded::parse(&whole).map(|(k, v)| format!("{k}={v}\n")).collect(),
                _ => decode_parts(&whole),
            };
            for p in &planted {
                prop_assert!(!decoded.contains(p), "{} leaked from {:?}: {}", p, kind, decoded);
            }
        }
    }

    #[test]
    fn multipart_and_form_shaped_bytes_never_panic_and_are_chunking_independent(
        pieces in prop::collection::vec(prop::sample::select(PIECES), 0..60),
        mut cuts in prop::collection::vec(0usize..1200, 0..8),
    ) {
        let m = masker();
        cuts.sort_unstable();
        let body = pieces.concat();
        let kinds = [ContentKind::Form, ContentKind::Multipart(Boundary::new(b"b").expect("a valid boundary"))];
        for kind in kinds {
            let whole = mask(&m, kind, body.as_bytes(), &[]);
            prop_assert_eq!(mask(&m, kind, body.as_bytes(), &cuts), whole.clone());
            let every: Vec<usize> = (1..body.len()).collect();
            prop_assert_eq!(mask(&m, kind, body.as_bytes(), &every), whole);
        }
    }

    #[test]
    fn markup_output_is_chunking_independent_and_leak_free(
        parts in prop::collection::vec((prop::sample::select(MARKUP), prop::option::of(prop::sample::select(SPELLED))), 1..12),
        mut cuts in prop::collection::vec(0usize..1024, 0..12),
    ) {
        let m = masker();
        let body: String = parts.iter().map(|(noise, pii)| format!("{noise} {} ", pii.map_or("", |(s, _)| s))).collect();
        let planted: Vec<&str> = parts.iter().filter_map(|(_, pii)| pii.map(|(_, p)| p)).collect();
        let whole = mask(&m, ContentKind::Text, body.as_bytes(), &[]);
        cuts.sort_unstable();
        prop_assert_eq!(&mask(&m, ContentKind::Text, body.as_bytes(), &cuts), &whole);
        let ones: Vec<usize> = (0..body.len()).collect();
        let sevens: Vec<usize> = (0..body.len()).step_by(7).collect();
        prop_assert_eq!(&mask(&m, ContentKind::Text, body.as_bytes(), &ones), &whole);
        prop_assert_eq!(&mask(&m, ContentKind::Text, body.as_bytes(), &sevens), &whole);
        let text = String::from_utf8(whole).unwrap();
        prop_assert_eq!(reader::leaked(&text, &planted), Vec::<&str>::new(), "{:?} -> {:?}", body, text);
        if planted.is_empty() {
            prop_assert_eq!(&text, &body);
        }
        // The same inside a JSON string value, whole or cut, escaped or not.
        let json = serde_json::json!({ "html": body, "n": 1 }).to_string();
        let whole = mask(&m, ContentKind::Json, json.as_bytes(), &[]);
        prop_assert_eq!(&mask(&m, ContentKind::Json, json.as_bytes(), &cuts), &whole);
        prop_assert_eq!(&mask(&m, ContentKind::Json, json.as_bytes(), &sevens), &whole);
        let out: Value = serde_json::from_slice(&whole).map_err(|e| TestCaseError::fail(format!("invalid JSON out: {e}")))?;
        let html = out["html"].as_str().unwrap_or_default();
        prop_assert_eq!(reader::leaked(html, &planted), Vec::<&str>::new(), "{:?} -> {:?}", json, html);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_are_chunking_independent(
        body in prop::collection::vec(any::<u8>(), 0..600),
        mut cuts in prop::collection::vec(0usize..600, 0..8),
    ) {
        let m = masker();
        cuts.sort_unstable();
        let multipart = ContentKind::Multipart(Boundary::new(b"b").expect("a valid boundary"));
        for kind in [ContentKind::Json, ContentKind::Ndjson, ContentKind::Text, ContentKind::Form, multipart] {
            let whole = mask(&m, kind, &body, &[]);
            prop_assert_eq!(mask(&m, kind, &body, &cuts), whole);
        }
    }

    #[test]
    fn other_charsets_are_masked_as_their_utf8_is_whatever_the_chunking(
        lines in prop::collection::vec(text(), 1..12),
        (label, bom) in prop::sample::select(WIDE),
        mut cuts in prop::collection::vec(0usize..2048, 0..12),
    ) {
        let m = masker();
        let text: String = lines.iter().map(|(s, _)| format!("{s}\n")).collect();
        let body = encode(label, bom, &text);
        let charset = Charset::from_label(label).expect("a label");
        cuts.sort_unstable();
        let whole = mask_in(&m, ContentKind::Text, charset, &body, &[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&mask_in(&m, ContentKind::Text, charset, &body, &cuts), &Ok(whole.clone()));
        let utf8 = String::from_utf8(mask(&m, ContentKind::Text, text.as_bytes(), &[])).unwrap();
        prop_assert_eq!(&whole, &encode(label, bom, &utf8));
        for p in lines.iter().flat_map(|(_, p)| p) {
            prop_assert!(!utf8.contains(p), "{} leaked", p);
        }
    }

    #[test]
    fn arbitrary_bytes_in_any_charset_never_panic_and_are_chunking_independent(
        body in prop::collection::vec(any::<u8>(), 0..600),
        label in prop::sample::select(&["utf-16", "utf-16be", "utf-32", "shift_jis", "big5", "euc-jp", "iso-2022-jp", "gbk", "windows-1252", "utf-8"][..]),
        mut cuts in prop::collection::vec(0usize..600, 0..8),
    ) {
        let m = masker();
        let charset = Charset::from_label(label).expect("a label");
        cuts.sort_unstable();
        for kind in [ContentKind::Json, ContentKind::Text] {
            let whole = mask_in(&m, kind, charset, &body, &[]);
            let cut = mask_in(&m, kind, charset, &body, &cuts);
            prop_assert_eq!(whole.as_ref().ok(), cut.as_ref().ok(), "{} {:?}", label, kind);
            prop_assert_eq!(whole.is_err(), cut.is_err());
        }
    }
}

/// What lenient writers emit and the lexer reads on past: each with
/// whether it comes out byte for byte (a scanned string writes a raw
/// control byte escaped and a lone surrogate as U+FFFD).
const LENIENT: &[(&str, bool)] = &[
    ("NaN", true),
    ("Infinity", true),
    ("-Infinity", true),
    ("[1,2,]", true),
    ("{\"a\":1,}", true),
    ("\"\\ud800\"", false),
    ("\"a\\udc00b\\ud800\"", false),
    ("\"tab\there\"", false),
    ("'single'", true),
    ("{'k':'v'}", true),
    ("LONG", true),
    ("-LONG.LONGe+7", true),
];

/// Name rules: `$..name` and `$..date_of_birth`.
fn masker_with_name_rules() -> Arc<Masker> {
    let mut config = piimask::patterns::default_config();
    for (path, placeholder) in [("$..name", "[NAME]"), ("$..date_of_birth", "[DOB]")] {
        config.fields.push(piimask::mask::FieldRuleConfig {
            id: path.to_string(),
            path: path.to_string(),
            action: piimask::mask::Action::Redact { placeholder: placeholder.to_string() },
        });
    }
    Arc::new(Masker::new(&config).expect("profile with name rules"))
}

/// A list of records, each with a name, a date of birth and an email, and
/// some with a lenient construct before them; or, with `garbage`, one
/// malformed beyond recovery (the rest is text, where the rules apply by
/// key name). Returns the body and the constructs that must come out as
/// they went in.
fn lenient_records() -> impl Strategy<Value = (String, Vec<String>)> {
    let record = (prop::option::of(0..LENIENT.len()), 0..EMAILS.len(), any::<bool>(), 300usize..420);
    (prop::collection::vec(record, 1..6), prop::option::of(0usize..6), any::<bool>()).prop_map(
        |(records, garbage, pretty)| {
            let mut copied = Vec::new();
            let sep = if pretty { ",\n  " } else { "," };
            let body: Vec<String> = records
                .iter()
                .enumerate()
                .map(|(i, &(lenient, email, trailing, long))| {
                    let v = match lenient {
                        Some(l) => {
                            let (text, same) = LENIENT[l];
                            let text = text.replace("LONG", &"9".repeat(long));
                            if same {
                                copied.push(text.clone());
                            }
                            text
                        }
                        None => "1".to_string(),
                    };
                    let v = if garbage == Some(i) { format!("{v} oops") } else { v };
                    let comma = if trailing && lenient.is_some() { "," } else { "" };
                    format!(
                        r#"{{"id":{i},"v":{v},"name":"Jane Roe","date_of_birth": "1990-01-02","e":"{}"{comma}}}"#,
                        EMAILS[email]
                    )
                })
                .collect();
            (format!("[{}]", body.join(sep)), copied)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    /// Lenient JSON: rules keep applying after each construct, the
    /// constructs come out as they went in, and the output does not
    /// depend on chunking (one byte, seven bytes, random cuts, whole).
    #[test]
    fn lenient_json_keeps_its_rules_and_is_chunking_independent(
        (body, copied) in lenient_records(),
        mut cuts in prop::collection::vec(0usize..4096, 0..12),
    ) {
        let m = masker_with_name_rules();
        let b = body.as_bytes();
        let whole = mask(&m, ContentKind::Json, b, &[]);
        cuts.sort_unstable();
        prop_assert_eq!(&mask(&m, ContentKind::Json, b, &cuts), &whole);
        for step in [1, 7] {
            let cuts: Vec<usize> = (step..b.len()).step_by(step).collect();
            prop_assert_eq!(&mask(&m, ContentKind::Json, b, &cuts), &whole, "step {}", step);
        }
        let out = String::from_utf8(whole).map_err(|e| TestCaseError::fail(format!("not UTF-8: {e}")))?;
        for leaked in ["Jane Roe", "1990-01-02"].iter().chain(EMAILS) {
            prop_assert!(!out.contains(leaked), "{} leaked: {}", leaked, out);
        }
        for c in &copied {
            prop_assert!(out.contains(c.as_str()), "{} not copied: {}", c, out);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
    ))]

    /// Near-JSON soup under name rules (lenient constructs, garbage, the
    /// text scan's `"key": value` finder, deep nesting): never a panic,
    /// and the same output however it is cut.
    #[test]
    fn near_json_under_name_rules_is_chunking_independent(
        pieces in prop::collection::vec(prop::sample::select(&[
            "{", "}", "[", "]", ",", ":", "\"", "'", "\\", " ", "\n", "\t", "x", "e", ".", "-", "+",
            "\"name\"", "'name'", "\"name\":", "\"date_of_birth\": ", "\"Jane Roe\"", "'Jane'", "Jane",
            "NaN", "Infinity", "12", "0.5e3", "99999999999", "true", "\\ud800", "\\u0040", "\\n", " x@y.org ",
            "[[[[[[[[", "]]]]]]]]", "{\"k\":", "\"a\":1,", "\"phone\":4155552671",
            // Comments, guards, callbacks, record separators.
            "/*", "*/", "//", "/", ")]}'", "while(1);", "cb(", "/**/ a.b (", ")", ";", "\u{1e}",
        ][..]), 0..80),
        long in prop::option::of(200usize..320),
        mut cuts in prop::collection::vec(0usize..800, 0..10),
    ) {
        let m = masker_with_name_rules();
        let mut body: String = pieces.concat();
        if let Some(n) = long {
            let at = body.len() / 2;
            body.insert_str(body.floor_char_boundary(at), &"7".repeat(n));
        }
        let b = body.as_bytes();
        cuts.sort_unstable();
        for kind in [ContentKind::Json, ContentKind::Ndjson, ContentKind::Text] {
            let whole = mask(&m, kind, b, &[]);
            prop_assert_eq!(&mask(&m, kind, b, &cuts), &whole, "{:?} {:?}", kind, body);
            let bytes: Vec<usize> = (1..b.len()).collect();
            prop_assert_eq!(&mask(&m, kind, b, &bytes), &whole, "{:?} byte by byte {:?}", kind, body);
        }
    }
}

/// `body` through a [`TextStage`] that reads the document's own charset,
/// fed in pieces cut at `cuts` (sorted).
fn mask_document(doc: DocumentCharset, body: &[u8], cuts: &[usize]) -> Result<Vec<u8>, CharsetError> {
    // A malformed sequence's offset says only which piece it was in.
    mask_document_at(doc, body, cuts).map_err(|e| match e {
        CharsetError::Malformed { charset, .. } => CharsetError::Malformed { charset, offset: 0 },
        other => other,
    })
}

fn mask_document_at(doc: DocumentCharset, body: &[u8], cuts: &[usize]) -> Result<Vec<u8>, CharsetError> {
    let mut stage = TextStage::with_document(masker(), ContentKind::Text, Some(Charset::Utf8), Some(doc));
    let mut out = Vec::new();
    let mut from = 0;
    for &cut in cuts {
        let cut = cut.clamp(from, body.len());
        stage.feed(&body[from..cut], &mut out)?;
        from = cut;
    }
    stage.feed(&body[from..], &mut out)?;
    stage.finish(&mut out)?;
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(128)
    ))]

    /// Documents that name their charset inside (an XML declaration in
    /// UTF-16, an HTML `<meta>` after markup of any length, around the
    /// 1024-byte prescan bound): the same output, or the same error,
    /// however they are cut, and nothing planted left in a decodable one.
    #[test]
    fn documents_naming_their_charset_are_chunking_independent(
        filler in 0usize..1200,
        lines in prop::collection::vec(text(), 1..6),
        xml in any::<bool>(),
        mut cuts in prop::collection::vec(0usize..3000, 0..10),
    ) {
        let content: String = lines.iter().map(|(s, _)| format!("{s}\n")).collect();
        let pad = "<p class=\"x\">filler</p>".repeat(filler / 24);
        let (doc, body, encoding) = if xml {
            let text = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?><!-- {pad} --><a>{content}</a>");
            let body: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
            (DocumentCharset { markup: Markup::Xml, header: false }, body, encoding_rs::UTF_16LE)
        } else {
            let text = format!("<html><head>{pad}<meta charset=\"shift_jis\"></head><body>{content}</body>");
            let body = encoding_rs::SHIFT_JIS.encode(&text).0.into_owned();
            (DocumentCharset { markup: Markup::Html, header: false }, body, encoding_rs::SHIFT_JIS)
        };
        cuts.sort_unstable();
        let whole = mask_document(doc, &body, &[]);
        prop_assert_eq!(&mask_document(doc, &body, &cuts), &whole);
        for step in [1, 7] {
            let cuts: Vec<usize> = (step..body.len()).step_by(step).collect();
            prop_assert_eq!(&mask_document(doc, &body, &cuts), &whole, "step {}", step);
        }
        // A <meta> past the prescan window is not taken: Shift_JIS read as
        // UTF-8 is then an error, unless the text happens to be ASCII.
        let late = !xml && "<html><head>".len() + pad.len() + "<meta charset=\"shift_jis\">".len() > 1024;
        let out = match whole {
            Ok(out) => out,
            Err(e) if late => {
                prop_assert!(matches!(e, CharsetError::Malformed { .. }), "{}", e);
                return Ok(());
            }
            Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
        };
        let (read, malformed) = encoding.decode_without_bom_handling(&out);
        prop_assert!(!malformed);
        for p in lines.iter().flat_map(|(_, p)| p) {
            prop_assert!(!read.contains(p), "{} leaked", p);
        }
    }
}
