//! Multipart masking: parts by their own types, transfer encodings
//! decoded and encoded again, binary parts passed, headers scanned,
//! malformed bodies as text, and output that does not depend on where
//! chunks are cut.

use std::sync::Arc;

use base64::Engine;

use super::transfer::QpDecoder;
use super::{Boundary, MAX_HEADERS};
use crate::mask::content_type::content_kind;
use crate::mask::{ContentKind, MaskStream, Masker};
use crate::patterns::default_config;

const EMAIL: &str = "john.doe@example.com";
const PHONE: &str = "+14155552671";
const CARD: &str = "4111 1111 1111 1111";

fn masker() -> Arc<Masker> {
    Arc::new(Masker::new(&default_config()).expect("builds"))
}

fn kind(boundary: &str) -> ContentKind {
    ContentKind::Multipart(Boundary::new(boundary.as_bytes()).expect("a valid boundary"))
}

fn run_cut(m: &Arc<Masker>, k: ContentKind, body: &[u8], cuts: &[usize]) -> Vec<u8> {
    MaskStream::mask_in_chunks(m.clone(), k, body, cuts).0
}

/// The output for the whole body, checked equal for every cut point, for
/// pieces of 7 and for one-byte feeding.
fn run_every_split(m: &Arc<Masker>, k: ContentKind, body: &[u8]) -> Vec<u8> {
    let whole = run_cut(m, k, body, &[]);
    for i in 0..=body.len() {
        assert!(run_cut(m, k, body, &[i]) == whole, "split at {i}");
    }
    let sevens: Vec<usize> = (7..body.len()).step_by(7).collect();
    assert!(run_cut(m, k, body, &sevens) == whole, "pieces of 7");
    let bytes: Vec<usize> = (1..body.len()).collect();
    assert!(run_cut(m, k, body, &bytes) == whole, "byte by byte");
    whole
}

fn b64_wrapped(data: &[u8]) -> String {
    let e = base64::engine::general_purpose::STANDARD.encode(data);
    e.as_bytes().chunks(76).map(|l| String::from_utf8_lossy(l).into_owned()).collect::<Vec<_>>().join("\r\n")
}

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR john.doe@example.com 4111 1111 1111 1111\x00\x01";

/// A form-data body with a part of every kind, each planting values.
fn planted_body() -> Vec<u8> {
    let text = format!("Write to {EMAIL}, call {PHONE}, card {CARD}.\r\nSecond line.");
    let qp = format!("Contact: john.doe@exa=\r\nmple.com tel=3D{PHONE} card {CARD} caf=C3=A9");
    let mut b = Vec::new();
    b.extend_from_slice(b"preamble from ann@example.org\r\n");
    b.extend_from_slice(b"--XyZ\r\nContent-Disposition: form-data; name=\"email\"\r\n\r\n");
    b.extend_from_slice(EMAIL.as_bytes());
    b.extend_from_slice(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"phone\"\r\n\r\n4155552671");
    b.extend_from_slice(
        b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"profile\"\r\nContent-Type: application/json\r\n\r\n",
    );
    b.extend_from_slice(format!(r#"{{"email":"{EMAIL}","card":"{CARD}","city":"Lyon"}}"#).as_bytes());
    b.extend_from_slice(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"b64\"\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    b.extend_from_slice(b64_wrapped(text.repeat(3).as_bytes()).as_bytes());
    b.extend_from_slice(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"qp\"\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: Quoted-Printable\r\n\r\n");
    b.extend_from_slice(qp.as_bytes());
    b.extend_from_slice(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n");
    b.extend_from_slice(b"a=1&mail=john.doe%40example.com");
    b.extend_from_slice(b"\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"john.doe@example.com.png\"\r\nContent-Type: image/png\r\n\r\n");
    b.extend_from_slice(PNG);
    b.extend_from_slice(b"\r\n--XyZ--\r\nepilogue to ann@example.org\r\n");
    b
}

/// The parts of a multipart body: (headers, body), split on the boundary.
fn parts(body: &[u8], boundary: &str) -> Vec<(String, Vec<u8>)> {
    let delim = format!("\r\n--{boundary}");
    let body = [b"\r\n", body].concat();
    let text = split_on(&body, delim.as_bytes());
    text.into_iter()
        .skip(1)
        .filter(|p| !p.starts_with(b"--"))
        .map(|p| {
            let p = p.strip_prefix(b"\r\n").unwrap_or(p);
            let end = p.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
            (String::from_utf8_lossy(&p[..end]).into_owned(), p[end + 4..].to_vec())
        })
        .collect()
}

/// Splits `hay` on every `sep`.
fn split_on<'a>(hay: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    let mut from = 0;
    let mut i = 0;
    while i + sep.len() <= hay.len() {
        if &hay[i..i + sep.len()] == sep {
            out.push(&hay[from..i]);
            i += sep.len();
            from = i;
        } else {
            i += 1;
        }
    }
    out.push(&hay[from..]);
    out
}

fn qp_decode(b: &[u8]) -> Vec<u8> {
    let mut d = QpDecoder::default();
    let mut out = Vec::new();
    d.push(b, &mut out);
    d.finish(&mut out);
    out
}

fn assert_clean(what: &str, text: &str) {
    for planted in [EMAIL, PHONE, CARD, "4155552671", "ann@example.org"] {
        assert!(!text.contains(planted), "{what} holds {planted:?}: {text}");
    }
}

#[test]
fn every_part_is_masked_by_its_type_and_encoding() {
    let m = masker();
    let out = run_every_split(&m, kind("XyZ"), &planted_body());
    let all = String::from_utf8_lossy(&out).into_owned();
    assert!(all.starts_with("preamble from [EMAIL]\r\n--XyZ\r\n"), "{all}");
    assert!(all.ends_with("\r\n--XyZ--\r\nepilogue to [EMAIL]\r\n"), "{all}");
    let parts = parts(&out, "XyZ");
    assert_eq!(parts.len(), 7, "{all}");
    let body = |i: usize| String::from_utf8_lossy(&parts[i].1).into_owned();
    assert_eq!(body(0), "[EMAIL]");
    assert_eq!(body(1), "[PHONE]", "the part's name is its context");
    assert_eq!(body(2), r#"{"email":"[EMAIL]","card":"[CARD]","city":"Lyon"}"#);
    let b64 = &parts[3].1;
    assert!(b64.split(|&b| b == b'\n').all(|l| l.len() <= 77), "lines of 76 kept");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect::<Vec<_>>())
        .expect("valid base64");
    let decoded = String::from_utf8(decoded).expect("utf-8");
    assert_eq!(decoded, "Write to [EMAIL], call [PHONE], card [CARD].\r\nSecond line.".repeat(3));
    let qp = String::from_utf8(qp_decode(&parts[4].1)).expect("utf-8");
    assert_eq!(qp, "Contact: [EMAIL] tel=[PHONE] card [CARD] caf\u{e9}");
    assert_eq!(body(5), "a=1&mail=%5BEMAIL%5D");
    assert_eq!(parts[6].1, PNG, "a binary part passes byte for byte");
    assert!(parts[6].0.contains("filename=\"[EMAIL].png\""), "{}", parts[6].0);
    for (i, (headers, _)) in parts.iter().enumerate().take(6) {
        assert_clean(&format!("headers of part {i}"), headers);
        assert_clean(&format!("part {i}"), &body(i));
    }
    assert_clean("base64 part", &decoded);
    assert_clean("qp part", &qp);
}

#[test]
fn a_binary_part_in_base64_passes_as_it_came() {
    let m = masker();
    let b64 = b64_wrapped(PNG);
    let body = format!(
        "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b\r\nContent-Type: application/octet-stream\r\n\r\nplain text to {EMAIL}\r\n--b--"
    );
    let out = String::from_utf8(run_every_split(&m, kind("b"), body.as_bytes())).unwrap();
    assert!(out.contains(&b64), "{out}");
    assert!(out.contains("plain text to [EMAIL]\r\n--b--"), "octet-stream that is text is scanned: {out}");
}

#[test]
fn lf_line_breaks_padding_and_nested_multipart_are_read() {
    let m = masker();
    let body = format!(
        "--outer \t\nContent-Type: multipart/mixed; boundary=\"in ner\"\n\n--in ner\nContent-Type: text/plain\n\n{EMAIL}\n--in ner--\n\n--outer--"
    );
    let out = String::from_utf8(run_every_split(&m, kind("outer"), body.as_bytes())).unwrap();
    assert_eq!(out, body.replace(EMAIL, "[EMAIL]"));
}

#[test]
fn something_that_only_looks_like_a_boundary_is_content() {
    let m = masker();
    let body = format!("--b\r\n\r\nx\r\n--bb {EMAIL}\r\n--b-x\r\n--b--");
    let out = String::from_utf8(run_every_split(&m, kind("b"), body.as_bytes())).unwrap();
    assert_eq!(out, body.replace(EMAIL, "[EMAIL]"));
}

#[test]
fn malformed_bodies_are_masked_as_text() {
    let m = masker();
    // No closing boundary: the last part ends with the body.
    let open = format!("--b\r\nContent-Type: application/json\r\n\r\n{{\"e\":\"{EMAIL}\"");
    let out = String::from_utf8(run_every_split(&m, kind("b"), open.as_bytes())).unwrap();
    assert_eq!(out, open.replace(EMAIL, "[EMAIL]"));
    // No boundary at all: all preamble.
    let none = format!("just text {EMAIL} {PHONE}");
    assert_eq!(String::from_utf8(run_cut(&m, kind("b"), none.as_bytes(), &[3])).unwrap(), "just text [EMAIL] [PHONE]");
    // A header block that never ends.
    let endless = format!("--b\r\nX-A: {}\r\nX-B: {EMAIL}", "a".repeat(MAX_HEADERS));
    let out = String::from_utf8(run_cut(&m, kind("b"), endless.as_bytes(), &[100, 9000])).unwrap();
    assert!(out.ends_with("X-B: [EMAIL]"), "{}", &out[out.len() - 40..]);
    // The body ends in the headers.
    let cut = format!("--b\r\nContent-Disposition: form-data; filename=\"{EMAIL}\"");
    let out = String::from_utf8(run_every_split(&m, kind("b"), cut.as_bytes())).unwrap();
    assert_eq!(out, cut.replace(EMAIL, "[EMAIL]"));
}

#[test]
fn a_large_part_streams_with_bounded_memory() {
    let m = masker();
    let line = format!("lorem ipsum {EMAIL} dolor {PHONE}\r\n");
    let text = line.repeat(40_000);
    let body = format!(
        "--b\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n{}\r\n--b--",
        b64_wrapped(text.as_bytes()),
        text
    );
    let mut s = MaskStream::new(m, kind("b"));
    let mut out = Vec::new();
    let mut most = 0;
    for piece in body.as_bytes().chunks(8192) {
        s.feed(piece, &mut out);
        most = most.max(s.held_bytes());
    }
    s.finish(&mut out);
    assert!(most < 64 * 1024, "held {most}");
    let parts = parts(&out, "b");
    let b64: Vec<u8> = parts[0].1.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64");
    let want = "lorem ipsum [EMAIL] dolor [PHONE]\r\n".repeat(40_000);
    assert!(decoded == want.as_bytes(), "base64 part");
    assert!(qp_decode(&parts[1].1) == want.as_bytes(), "qp part");
}

#[test]
fn content_types_carry_their_boundary() {
    let k = content_kind(Some("multipart/form-data; boundary=\"----WebKitFormBoundary7MA4YWxkTrZu0gW\""));
    assert_eq!(k, Some(kind("----WebKitFormBoundary7MA4YWxkTrZu0gW")));
    assert_eq!(content_kind(Some("Multipart/Mixed; charset=utf-8; BOUNDARY=abc")), Some(kind("abc")));
    assert_eq!(content_kind(Some("multipart/form-data")), Some(ContentKind::Text));
    assert_eq!(content_kind(Some(&format!("multipart/mixed; boundary={}", "x".repeat(71)))), Some(ContentKind::Text));
}

#[test]
fn field_rules_act_on_parts_by_name() {
    let mut config = default_config();
    config.fields = vec![
        crate::mask::FieldRuleConfig {
            id: "secret".into(),
            path: "$.secret".into(),
            action: crate::mask::Action::Redact { placeholder: "[SECRET]".into() },
        },
        crate::mask::FieldRuleConfig { id: "raw".into(), path: "$..raw".into(), action: crate::mask::Action::Keep },
    ];
    let m = Arc::new(Masker::new(&config).expect("builds"));
    let body = format!(
        "--b\r\nContent-Disposition: form-data; name=\"secret\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b\r\nContent-Disposition: form-data; name=raw\r\n\r\nkept {EMAIL}\r\n--b--",
        b64_wrapped(b"hunter2 and more")
    );
    let (out, stats) = MaskStream::mask_all(m, kind("b"), body.as_bytes());
    let out = String::from_utf8(out).unwrap();
    let parts = parts(out.as_bytes(), "b");
    let secret = base64::engine::general_purpose::STANDARD.decode(&parts[0].1).expect("base64");
    assert_eq!(secret, b"[SECRET]");
    assert_eq!(parts[1].1, format!("kept {EMAIL}").as_bytes(), "keep leaves the part as it is");
    assert_eq!((stats.count("secret"), stats.count("raw")), (1, 1));
}
