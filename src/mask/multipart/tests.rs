//! Multipart masking: parts by their own types, transfer encodings
//! decoded and encoded again, binary parts passed, headers scanned,
//! malformed bodies as text, and output that does not depend on where
//! chunks are cut.

use std::sync::Arc;

use base64::Engine;

use super::transfer::QpDecoder;
use super::{Boundary, MAX_DEPTH, MAX_HEADERS, MultipartError};
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

/// The body fed in pieces of `piece` bytes: its output, or why it is
/// refused.
fn try_mask(m: &Arc<Masker>, k: ContentKind, body: &[u8], piece: usize) -> Result<Vec<u8>, MultipartError> {
    let mut s = MaskStream::new(m.clone(), k);
    let mut out = Vec::new();
    for chunk in body.chunks(piece.max(1)) {
        s.feed(chunk, &mut out);
    }
    s.try_finish(&mut out).map(|_| out)
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn utf16be_with_mark(text: &str) -> Vec<u8> {
    std::iter::once(0xFEFF).chain(text.encode_utf16()).flat_map(u16::to_be_bytes).collect()
}

fn utf32be(text: &str) -> Vec<u8> {
    text.chars().flat_map(|c| (c as u32).to_be_bytes()).collect()
}

fn from_utf16(bytes: &[u8], big_endian: bool) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|p| if big_endian { u16::from_be_bytes([p[0], p[1]]) } else { u16::from_le_bytes([p[0], p[1]]) })
        .collect();
    String::from_utf16(&units).expect("UTF-16 out")
}

const NOTE: &str = "Écrivez à john.doe@example.com, appelez +14155552671, carte 4111 1111 1111 1111. 日本語 fin.";
const NOTE_MASKED: &str = "Écrivez à [EMAIL], appelez [PHONE], carte [CARD]. 日本語 fin.";

#[test]
fn a_part_in_a_charset_of_its_own_is_masked_in_it_and_encoded_back() {
    let m = masker();
    let sjis =
        encoding_rs::SHIFT_JIS.encode("連絡 john.doe@example.com 電話 +14155552671 カード 4111 1111 1111 1111 以上").0;
    let json = format!(r#"{{"email":"{EMAIL}","phone":"{PHONE}","card":"{CARD}","city":"Lyon"}}"#);
    let part = |headers: &str, body: &[u8]| [format!("--b\r\n{headers}\r\n\r\n").as_bytes(), body, b"\r\n"].concat();
    let body = [
        part("Content-Type: text/plain; charset=utf-16le", &utf16le(NOTE)),
        part(
            "Content-Type: text/plain; charset=utf-16\r\nContent-Transfer-Encoding: base64",
            b64_wrapped(&utf16be_with_mark(NOTE)).as_bytes(),
        ),
        part(
            "Content-Type: text/plain; charset=utf-32be\r\nContent-Transfer-Encoding: base64",
            base64::engine::general_purpose::STANDARD.encode(utf32be(NOTE)).as_bytes(),
        ),
        part("Content-Type: text/plain; charset=shift_jis", &sjis),
        part("Content-Type: application/json", &utf16le(&json)),
        part("Content-Type: application/x-note; charset=UTF-16LE", &utf16le(NOTE)),
        part("Content-Type: application/octet-stream", &[&b"\xFF\xFE"[..], &utf16le(NOTE)].concat()),
        b"--b--\r\n".to_vec(),
    ]
    .concat();
    let out = run_every_split(&m, kind("b"), &body);
    let parts = parts(&out, "b");
    assert_eq!(parts.len(), 7);
    assert_eq!(from_utf16(&parts[0].1, false), NOTE_MASKED);
    let b64 = |p: &[u8]| {
        let p: Vec<u8> = p.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
        base64::engine::general_purpose::STANDARD.decode(p).expect("base64")
    };
    assert_eq!(b64(&parts[1].1), utf16be_with_mark(NOTE_MASKED), "the mark kept, big-endian kept");
    assert_eq!(b64(&parts[2].1), utf32be(NOTE_MASKED));
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&parts[3].1);
    assert!(!bad);
    assert_eq!(text, "連絡 [EMAIL] 電話 [PHONE] カード [CARD] 以上");
    assert_eq!(
        from_utf16(&parts[4].1, false),
        r#"{"email":"[EMAIL]","phone":"[PHONE]","card":"[CARD]","city":"Lyon"}"#
    );
    assert_eq!(from_utf16(&parts[5].1, false), NOTE_MASKED, "an unparsed type in a charset is text");
    assert_eq!(parts[6].1, [&b"\xFF\xFE"[..], &utf16le(NOTE_MASKED)].concat(), "a byte order mark says text");
}

#[test]
fn a_field_rule_on_a_part_in_utf16_writes_its_placeholder_in_utf16() {
    let mut config = default_config();
    config.fields = vec![crate::mask::FieldRuleConfig {
        id: "secret".into(),
        path: "$.secret".into(),
        action: crate::mask::Action::Redact { placeholder: "[SECRET]".into() },
    }];
    let m = Arc::new(Masker::new(&config).expect("builds"));
    let body = [
        &b"--b\r\nContent-Disposition: form-data; name*=UTF-8''secret\r\nContent-Type: text/plain; charset=utf-16le\r\n\r\n"[..],
        &utf16le("hunter2 Ana Lopez"),
        b"\r\n--b--",
    ]
    .concat();
    let out = run_every_split(&m, kind("b"), &body);
    assert_eq!(from_utf16(&parts(&out, "b")[0].1, false), "[SECRET]");
}

#[test]
fn what_a_receiver_could_read_otherwise_refuses_the_body() {
    let m = masker();
    let b64 = base64::engine::general_purpose::STANDARD.encode(NOTE);
    let part = |headers: &str, body: &str| format!("--b\r\n{headers}\r\n\r\n{body}\r\n--b--\r\n");
    let nested = |depth: usize| {
        let mut body = format!("Content-Type: text/plain\r\n\r\n{NOTE}");
        for d in (0..depth).rev() {
            body = format!("Content-Type: multipart/mixed; boundary=n{d}\r\n\r\n--n{d}\r\n{body}\r\n--n{d}--");
        }
        format!("--b\r\n{body}\r\n--b--\r\n")
    };
    use MultipartError as E;
    for (body, want) in [
        (
            part("Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 7bit", &b64),
            E::Repeated("Content-Transfer-Encoding"),
        ),
        (part("Content-Type: application/json\r\nContent-Type: text/plain", NOTE), E::Repeated("Content-Type")),
        (part("Content-Transfer-Encoding: x-uuencode", NOTE), E::TransferEncoding),
        (part("Content-Type: text/plain; charset=klingon", NOTE), E::UnknownCharset),
        (part("Content-Type: text/plain, image/png", NOTE), E::SeveralTypes),
        (part("Content-Type: message/rfc822", &format!("Content-Transfer-Encoding: base64\r\n\r\n{b64}")), E::Message),
        (part("Content-Disposition: form-data; name=\"x\"; name=\"name\"", NOTE), E::Name),
        (part("Content-Type: multipart/digest; boundary=d", &format!("--d\r\n\r\n{NOTE}\r\n--d--")), E::Message),
        (part("Content-Disposition: form-data; name*0=na; name*1=me", NOTE), E::Name),
        (part("Content-Type: multipart/mixed; boundary*=us-ascii''n", NOTE), E::Boundary),
        (part("Content-Transfer-Encoding : base64", &b64), E::HeaderBlock),
        (format!("--b\r\nContent-Transfer-Encoding: base64\r\n{b64}\r\n--b--"), E::HeaderBlock),
        (format!("--b\r\nX-A: {}\r\n\r\n{NOTE}\r\n--b--", "a".repeat(MAX_HEADERS)), E::HeaderBlock),
        (format!("--b\rContent-Transfer-Encoding: base64\r\r{b64}\r--b--"), E::BoundaryLine),
        (format!("x\r--b\r\nContent-Transfer-Encoding: base64\r\n\r\n{b64}\r\n--b--"), E::BoundaryLine),
        (format!("--b{}\r\n\r\n{NOTE}\r\n--b--", " ".repeat(65)), E::BoundaryLine),
        (part("Content-Type: text/plain; charset=utf-16le", "odd"), E::Transcode),
        (nested(MAX_DEPTH + 1), E::TooDeep),
    ] {
        for piece in [1, 7, body.len()] {
            assert_eq!(
                try_mask(&m, kind("b"), body.as_bytes(), piece).err(),
                Some(want),
                "pieces of {piece}: {body:?}"
            );
        }
    }
    // As deep as allowed is masked.
    let out = try_mask(&m, kind("b"), nested(MAX_DEPTH).as_bytes(), 7).expect("masked");
    assert!(String::from_utf8(out).expect("utf-8").contains(NOTE_MASKED));
}

#[test]
fn boundary_lines_are_read_as_receivers_read_them() {
    let m = masker();
    // `--b--` followed by more than padding is no boundary: the part goes on.
    let body = format!("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--x {EMAIL}\r\n--b--\r\n");
    let out = String::from_utf8(run_every_split(&m, kind("b"), body.as_bytes())).unwrap();
    assert_eq!(out, body.replace(EMAIL, "[EMAIL]"));
    // A closing boundary with padding, and one the body ends on.
    for body in [format!("--b\r\n\r\n{EMAIL}\r\n--b-- \t\r\nend"), format!("--b\r\n\r\n{EMAIL}\r\n--b  ")] {
        let out = String::from_utf8(run_every_split(&m, kind("b"), body.as_bytes())).unwrap();
        assert_eq!(out, body.replace(EMAIL, "[EMAIL]"));
    }
}

#[test]
fn a_large_part_in_utf16_streams_with_bounded_memory() {
    let m = masker();
    let text = format!("lorem ipsum {EMAIL} dolor {PHONE}\r\n").repeat(20_000);
    let body = [
        &b"--b\r\nContent-Type: text/plain; charset=utf-16le\r\nContent-Transfer-Encoding: base64\r\n\r\n"[..],
        b64_wrapped(&utf16le(&text)).as_bytes(),
        b"\r\n--b--",
    ]
    .concat();
    let mut s = MaskStream::new(m, kind("b"));
    let mut out = Vec::new();
    let mut most = 0;
    for piece in body.chunks(8192) {
        s.feed(piece, &mut out);
        most = most.max(s.held_bytes());
    }
    s.try_finish(&mut out).expect("masked");
    assert!(most < 64 * 1024, "held {most}");
    let b64: Vec<u8> = parts(&out, "b")[0].1.iter().copied().filter(|b| !b.is_ascii_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64");
    assert!(from_utf16(&decoded, false) == "lorem ipsum [EMAIL] dolor [PHONE]\r\n".repeat(20_000));
}

#[test]
fn many_lines_that_only_look_like_boundaries_take_linear_time() {
    let m = masker();
    // One chunk of 200 000 near-boundaries: searching the rest of the
    // chunk again after each would take minutes.
    let body = format!("--b\r\n\r\n{} {EMAIL}\r\n--b--", "\n--bx".repeat(200_000));
    let started = std::time::Instant::now();
    let out = try_mask(&m, kind("b"), body.as_bytes(), body.len()).expect("masked");
    assert_eq!(out, body.replace(EMAIL, "[EMAIL]").as_bytes());
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "{:?}", started.elapsed());
}

/// A part's headers are read as header parsers read a file name:
/// RFC 2231 extended values and continuations, quoted-pairs, adjacent
/// and UTF-16 encoded-words.
#[test]
fn part_headers_are_read_through_header_syntax() {
    let m = masker();
    for disposition in [
        "form-data; name=\"f\"; filename*=utf-8''john.doe%40example.com",
        "form-data; name=\"f\"; filename*0=\"john.doe@ex\"; filename*1=\"ample.com\"",
        "form-data; name=\"f\"; filename*0*=utf-8''john.doe%40ex; filename*1*=ample.com",
        "form-data; name=\"f\"; filename=\"john.doe\\@example.com\"",
        "form-data; name=\"f\"; filename=\"=?utf-8?q?john.doe?= =?utf-8?q?=40example.com?=\"",
        "form-data; name=\"f\"; filename=\"=?utf-16le?B?agBvAGgAbgAuAGQAbwBlAEAAZQB4AGEAbQBwAGwAZQAuAGMAbwBtAA==?=\"",
    ] {
        let body = format!("--b\r\nContent-Disposition: {disposition}\r\n\r\nnothing here\r\n--b--\r\n");
        let out = String::from_utf8(run_every_split(&m, kind("b"), body.as_bytes())).expect("utf-8");
        let placeholder = out.contains("[EMAIL]") || out.contains("%5BEMAIL%5D");
        assert!(placeholder && !out.contains("john.doe"), "{disposition}: {out}");
        assert!(out.ends_with("\r\n\r\nnothing here\r\n--b--\r\n"), "{out}");
    }
}

/// Text parts without a charset of their own are in the body's charset
/// (`multipart/form-data; charset=utf-16le`), or in the one a `_charset_`
/// field names before them, as Tomcat and Jetty decode fields.
#[test]
fn text_parts_take_the_body_charset_or_the_charset_field() {
    let m = masker();
    let boundary = Boundary::new(b"b").expect("boundary");
    let mask_in = |charset: Option<crate::mask::charset::Charset>, body: &[u8]| {
        let mut stream = match charset {
            Some(c) => MaskStream::multipart_in(m.clone(), boundary, c),
            None => MaskStream::new(m.clone(), ContentKind::Multipart(boundary)),
        };
        let mut out = Vec::new();
        stream.feed(body, &mut out);
        stream.finish(&mut out);
        out
    };
    let field = |name: &str, value: &[u8]| {
        [format!("--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(), value, b"\r\n"].concat()
    };
    let png = [&b"--b\r\nContent-Type: image/png\r\n\r\n"[..], PNG, b"\r\n"].concat();
    let body = [field("contact", &utf16le(EMAIL)), png.clone(), b"--b--\r\n".to_vec()].concat();
    let out = mask_in(crate::mask::charset::Charset::from_label("utf-16le"), &body);
    assert_eq!(parts(&out, "b")[0].1, utf16le("[EMAIL]"));
    assert_eq!(parts(&out, "b")[1].1, PNG, "a binary part keeps its bytes");
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("ｊｏｈｎ．ｄｏｅ＠ｅｘａｍｐｌｅ．ｃｏｍ");
    let body = [field("_charset_", b"shift_jis"), field("contact", &sjis), b"--b--\r\n".to_vec()].concat();
    let out = mask_in(None, &body);
    assert_eq!(parts(&out, "b")[1].1, b"[EMAIL]");
}
