//! Form masking: decoding for detection, byte-for-byte output where
//! nothing matched, key context and field rules, double encoding, long
//! values, and output that does not depend on where chunks are cut.

use std::sync::Arc;

use super::{Decoder, MAX_HELD};
use crate::mask::{Action, ContentKind, FieldRuleConfig, HashKey, MaskStream, Masker, MaskerConfig};
use crate::patterns::default_config;

fn masker_with(fields: &[(&str, Action)]) -> Arc<Masker> {
    let mut config: MaskerConfig = default_config();
    config.fields = fields
        .iter()
        .map(|(p, a)| FieldRuleConfig { id: p.to_string(), path: p.to_string(), action: a.clone() })
        .collect();
    Arc::new(Masker::new(&config).expect("builds"))
}

fn run_cut(m: &Arc<Masker>, body: &[u8], cuts: &[usize]) -> Vec<u8> {
    MaskStream::mask_in_chunks(m.clone(), ContentKind::Form, body, cuts).0
}

/// The whole-body output, checked equal for every single and every pair of
/// adjacent cut points, for pieces of 7 and for one-byte feeding.
fn run_every_split(m: &Arc<Masker>, body: &str) -> String {
    let b = body.as_bytes();
    let whole = run_cut(m, b, &[]);
    for i in 0..=b.len() {
        assert_eq!(run_cut(m, b, &[i]), whole, "split at {i} of {body:?}");
        if i < b.len() {
            assert_eq!(run_cut(m, b, &[i, i + 1]), whole, "splits {i},{} of {body:?}", i + 1);
        }
    }
    let sevens: Vec<usize> = (7..b.len()).step_by(7).collect();
    assert_eq!(run_cut(m, b, &sevens), whole, "pieces of 7 {body:?}");
    let bytes: Vec<usize> = (1..b.len()).collect();
    assert_eq!(run_cut(m, b, &bytes), whole, "byte by byte {body:?}");
    String::from_utf8(whole).unwrap()
}

/// What a form parser reads from `body`.
fn decoded(body: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(body.as_bytes()).into_owned().collect()
}

#[test]
fn percent_encoded_and_plus_values_are_masked_and_the_rest_kept_byte_for_byte() {
    let m = masker_with(&[]);
    let body = "name=John+Doe&email=john.doe%40example.com&tel=%2B14155552671&card=4111+1111+1111+1111&note=a%7Eb+c";
    let out = run_every_split(&m, body);
    assert_eq!(
        out, "name=John+Doe&email=%5BEMAIL%5D&tel=%5BPHONE%5D&card=%5BCARD%5D&note=a%7Eb+c",
        "untouched pairs keep their bytes"
    );
    let pairs = decoded(&out);
    assert_eq!(pairs[0], ("name".into(), "John Doe".into()));
    assert_eq!(pairs[1], ("email".into(), "[EMAIL]".into()));
}

#[test]
fn only_the_match_is_replaced_within_a_value() {
    let m = masker_with(&[]);
    let out = run_every_split(&m, "msg=write+to+ann%40example.org%2C+thanks%21&x=1");
    assert_eq!(out, "msg=write+to+%5BEMAIL%5D%2C+thanks%21&x=1");
}

#[test]
fn keys_are_scanned_and_separators_kept() {
    let m = masker_with(&[]);
    let out = run_every_split(&m, "&&bob%40example.com=1&flag&=&;a=b;c=ann@example.org&");
    assert_eq!(out, "&&%5BEMAIL%5D=1&flag&=&;a=b;c=%5BEMAIL%5D&");
}

#[test]
fn the_key_gives_context_as_a_json_key_does() {
    let m = masker_with(&[]);
    let out = run_every_split(&m, "phone=4155552671&order_id=4155552671");
    assert_eq!(out, "phone=%5BPHONE%5D&order_id=4155552671");
    let json = MaskStream::mask_all(m, ContentKind::Json, br#"{"phone":"4155552671","order_id":"4155552671"}"#).0;
    assert_eq!(String::from_utf8(json).unwrap(), r#"{"phone":"[PHONE]","order_id":"4155552671"}"#);
}

#[test]
fn field_rules_match_form_keys_by_name() {
    let key = Arc::new(HashKey::new("k1", b"0123456789abcdef0123456789abcdef").unwrap());
    let m = masker_with(&[
        ("$.secret", Action::Redact { placeholder: "[SECRET]".into() }),
        ("$..dropme", Action::Drop),
        ("$.acct", Action::Mask { keep_last: 4 }),
        ("$.id", Action::Hash { key, label: "id".into() }),
        ("$.public", Action::Keep),
    ]);
    let body = "a=1&secret=hunter2&dropme=x%40y.com&acct=DE89+3704&id=abc&public=ann%40example.org&z=2";
    let out = run_every_split(&m, body);
    let pairs = decoded(&out);
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    assert_eq!(get("a").as_deref(), Some("1"));
    assert_eq!(get("secret").as_deref(), Some("[SECRET]"));
    assert_eq!(get("dropme"), None, "{out}");
    assert!(get("acct").unwrap().ends_with("3704") && !get("acct").unwrap().contains("DE89"), "{out}");
    assert!(get("id").unwrap().contains("k1") && !get("id").unwrap().contains("abc"), "{out}");
    assert_eq!(get("public").as_deref(), Some("ann@example.org"), "keep leaves the value");
    assert_eq!(get("z").as_deref(), Some("2"));
    assert!(out.contains("public=ann%40example.org"), "kept byte for byte: {out}");
    assert!(!out.contains("dropme"));
}

#[test]
fn a_value_encoded_twice_is_masked_over_its_whole_span() {
    let m = masker_with(&[]);
    let out = run_every_split(&m, "e=john.doe%2540example.com&t=%252B14155552671&k=100%2525+sure");
    assert_eq!(out, "e=%5BEMAIL%5D&t=%5BPHONE%5D&k=100%2525+sure");
    // Found by both decodings: counted once.
    let (_, stats) = MaskStream::mask_all(m, ContentKind::Form, b"e=a%2540example.com+b%40example.org");
    assert_eq!(stats.count("email"), 2);
}

#[test]
fn open_and_invalid_escapes_stand_as_they_are() {
    let m = masker_with(&[]);
    assert_eq!(run_every_split(&m, "a=%zz%4&b=%&c=%4"), "a=%zz%4&b=%&c=%4");
    let mut d = Decoder::default();
    let mut out = Vec::new();
    for b in b"%4g%41%+%" {
        d.push(&[*b], &mut out);
    }
    d.finish(&mut out);
    assert_eq!(out, b"%4gA% %");
}

#[test]
fn a_value_longer_than_the_bound_streams_with_bounded_memory() {
    let m = masker_with(&[]);
    let filler = "lorem+ipsum%2C+".repeat(3 * MAX_HELD / 10);
    let body = format!("a=1&big={filler}john.doe%40example.com+{filler}%2B14155552671&z=ann%40example.org");
    let b = body.as_bytes();
    let whole = run_cut(&m, b, &[]);
    let want = format!("a=1&big={filler}%5BEMAIL%5D+{filler}%5BPHONE%5D&z=%5BEMAIL%5D");
    assert!(whole == want.as_bytes(), "masked as one piece");
    let cuts: Vec<usize> = (1..b.len()).step_by(997).collect();
    assert!(run_cut(&m, b, &cuts) == whole, "cut every 997 bytes");
    let sevens: Vec<usize> = (7..b.len()).step_by(7).collect();
    assert!(run_cut(&m, b, &sevens) == whole, "cut every 7 bytes");
    let mut s = MaskStream::new(m.clone(), ContentKind::Form);
    let mut out = Vec::new();
    let mut most = 0;
    for piece in b.chunks(4096) {
        s.feed(piece, &mut out);
        most = most.max(s.held_bytes());
    }
    assert!(most < 2 * MAX_HELD + 16 * 1024, "held {most}");
    let _ = s.finish(&mut out);
    assert!(out == whole, "fed in 4 KiB pieces");
}

#[test]
fn a_key_longer_than_the_bound_is_scanned_too() {
    let m = masker_with(&[]);
    let body = format!("{}+bob%40example.com+{}=v", "k".repeat(MAX_HELD), "k".repeat(100));
    let out = String::from_utf8(run_cut(&m, body.as_bytes(), &[3, 70_000])).unwrap();
    assert!(out == format!("{}+%5BEMAIL%5D+{}=v", "k".repeat(MAX_HELD), "k".repeat(100)), "{}", &out[MAX_HELD - 10..]);
}

#[test]
fn values_are_read_as_a_reader_sees_them_fullwidth_spaces_references_and_invisible_characters() {
    let m = masker_with(&[]);
    for value in [
        "＋１ ４１５ ５５５ ２６７１",
        "+1\u{A0}415\u{202F}555\u{2009}2671",
        "john.doe＠example.com",
        "john.d\u{200B}oe@exam\u{AD}ple.com",
        "john.doe&#64;example.com",
        "４１１１ １１１１ １１１１ １１１１",
    ] {
        // As a serializer writes it (percent-encoded), and as some clients
        // send it (raw UTF-8), where the value has no `&` or `+` of its own.
        for raw in [false, true] {
            if raw && value.contains(['&', '+']) {
                continue;
            }
            let encoded = if raw {
                value.to_string()
            } else {
                form_urlencoded::Serializer::new(String::new()).append_pair("v", value).finish()[2..].to_string()
            };
            let body = format!("a=1&v={encoded}&z=2");
            let out = run_every_split(&m, &body);
            let pairs = decoded(&out);
            assert_eq!(pairs[0], ("a".into(), "1".into()), "{value:?}");
            assert_eq!(pairs[2], ("z".into(), "2".into()), "{value:?}");
            assert!(pairs[1].1.starts_with('[') && pairs[1].1.ends_with(']'), "{value:?} -> {out}");
        }
    }
}

#[test]
fn values_are_read_in_the_forms_charset() {
    let m = masker_with(&[("$..name", Action::Redact { placeholder: "[REDACTED]".into() })]);
    let run = |label: &str, body: &str| {
        let encoding = encoding_rs::Encoding::for_label(label.as_bytes()).expect("label");
        let mut stream = MaskStream::form_in(m.clone(), encoding);
        let mut out = Vec::new();
        stream.feed(body.as_bytes(), &mut out);
        stream.finish(&mut out);
        String::from_utf8(out).expect("ascii")
    };
    // What Tomcat's getParameter reads under each label.
    let sjis = |s: &str| {
        let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(s);
        bytes.iter().map(|b| format!("%{b:02X}")).collect::<String>()
    };
    let email = sjis("ａｎａ．ｌｏｐｅｚ＠ｅｘａｍｐｌｅ．ｃｏｍ");
    assert_eq!(run("shift_jis", &format!("e={email}&x=1")), "e=%5BEMAIL%5D&x=1");
    let card = sjis("４１１１ １１１１ １１１１ １１１１");
    assert_eq!(run("shift_jis", &format!("c={card}")), "c=%5BCARD%5D");
    let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).map(|b| format!("%{b:02X}")).collect::<String>();
    assert_eq!(
        run("utf-16le", &format!("{}={}&e={}", utf16("name"), utf16("Ana Lopez"), utf16("ana.lopez@example.com"))),
        // The placeholders in UTF-16 too, so the app reads them.
        format!("{}=%5B%00R%00E%00D%00A%00C%00T%00E%00D%00%5D%00&e=%5B%00E%00M%00A%00I%00L%00%5D%00", utf16("name"))
    );
    // Nothing to find: the bytes come back as they were.
    let plain = format!("k={}", sjis("こんにちは"));
    assert_eq!(run("shift_jis", &plain), plain);
}

/// Field names nested as PHP, Rails, `qs` and Spring nest them fall under
/// the rule of their last key.
#[test]
fn rules_apply_to_nested_field_names() {
    let m = masker_with(&[("$..name", Action::Redact { placeholder: "[REDACTED]".into() })]);
    let out = run_every_split(&m, "user%5Bname%5D=Ana+Lopez&tags[]=x&user.name=Ana&names[]=Bo&username=ana1");
    assert_eq!(out, "user%5Bname%5D=%5BREDACTED%5D&tags[]=x&user.name=%5BREDACTED%5D&names[]=Bo&username=ana1");
    let out = run_every_split(&m, "name[]=Ana&name[]=Bo");
    assert_eq!(out, "name[]=%5BREDACTED%5D&name[]=%5BREDACTED%5D");
}
