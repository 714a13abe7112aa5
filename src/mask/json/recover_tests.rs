//! Malformed JSON that lenient writers emit: field rules keep applying
//! after it, the construct itself comes out as it went in, and the output
//! does not depend on where chunks are cut.

use std::sync::Arc;

use crate::mask::{Action, ContentKind, FieldRuleConfig, MaskStream, Masker, MaskerConfig};
use crate::patterns::default_config;

fn masker_with(fields: &[(&str, Action)]) -> Arc<Masker> {
    let mut config: MaskerConfig = default_config();
    config.fields = fields
        .iter()
        .map(|(p, a)| FieldRuleConfig { id: p.to_string(), path: p.to_string(), action: a.clone() })
        .collect();
    Arc::new(Masker::new(&config).expect("builds"))
}

fn names() -> Arc<Masker> {
    masker_with(&[
        ("$..name", Action::Redact { placeholder: "[NAME]".into() }),
        ("$..date_of_birth", Action::Redact { placeholder: "[DOB]".into() }),
    ])
}

fn run_cut(m: &Arc<Masker>, kind: ContentKind, body: &[u8], cuts: &[usize]) -> Vec<u8> {
    MaskStream::mask_in_chunks(m.clone(), kind, body, cuts).0
}

/// The output fed whole, checked equal fed one byte and seven bytes at a
/// time, and cut at every single point.
fn run_all_ways(m: &Arc<Masker>, kind: ContentKind, body: &str) -> String {
    let b = body.as_bytes();
    let whole = run_cut(m, kind, b, &[]);
    for step in [1, 7] {
        let cuts: Vec<usize> = (step..b.len()).step_by(step).collect();
        assert_eq!(
            String::from_utf8_lossy(&run_cut(m, kind, b, &cuts)),
            String::from_utf8_lossy(&whole),
            "step {step}: {body}"
        );
    }
    for i in 0..=b.len() {
        assert_eq!(run_cut(m, kind, b, &[i]), whole, "split at {i} of {body:?}");
    }
    String::from_utf8(whole).expect("UTF-8 out")
}

/// Three records; the first holds `bad`, the next two a name and a date of
/// birth.
fn three_records(bad: &str) -> String {
    format!(
        r#"[{{"id":1,"v":{bad},"name":"Ann Lee"}},{{"id":2,"name":"Jane Roe","date_of_birth":"1990-01-02"}},{{"id":3,"name":"Jane Roe","note":"x@y.org"}}]"#
    )
}

fn assert_later_records_masked(out: &str, bad: &str) {
    assert!(!out.contains("Jane Roe"), "{bad}: a later name leaked: {out}");
    assert!(!out.contains("1990-01-02"), "{bad}: a later date leaked: {out}");
    assert!(!out.contains("x@y.org"), "{bad}: an email leaked: {out}");
    assert_eq!(out.matches("\"[NAME]\"").count(), 3, "{bad}: {out}");
    assert!(out.contains(r#""note":"[EMAIL]""#), "{bad}: {out}");
}

#[test]
fn non_finite_numbers_are_values() {
    let m = names();
    for bad in ["NaN", "Infinity", "-Infinity", "+Infinity", "[NaN,1]", "{\"x\":-Infinity}"] {
        let body = three_records(bad);
        let out = run_all_ways(&m, ContentKind::Json, &body);
        assert_later_records_masked(&out, bad);
        assert!(out.contains(&format!(r#""v":{bad},"#)), "{bad} copied unchanged: {out}");
    }
    // A rule on a non-finite number acts on it as on any number.
    let m = masker_with(&[("$..v", Action::Redact { placeholder: "[V]".into() })]);
    assert_eq!(run_all_ways(&m, ContentKind::Json, r#"{"v":NaN,"w":NaN}"#), r#"{"v":"[V]","w":NaN}"#);
}

#[test]
fn trailing_commas_are_tolerated() {
    let m = names();
    for bad in ["[1,2,]", r#"{"a":1,}"#, r#"[{"a":[1,],},]"#] {
        let body = three_records(bad);
        let out = run_all_ways(&m, ContentKind::Json, &body);
        assert_later_records_masked(&out, bad);
        assert!(out.contains(bad), "{bad} copied unchanged: {out}");
    }
    // The document's own last element, and with a drop rule holding commas.
    let body = r#"[{"name":"Jane Roe",},{"name":"Jane Roe","pw":"s"},]"#;
    let out = run_all_ways(&m, ContentKind::Json, body);
    assert_eq!(out, r#"[{"name":"[NAME]",},{"name":"[NAME]","pw":"s"},]"#);
    let m = masker_with(&[("$..name", Action::Redact { placeholder: "[NAME]".into() }), ("$..pw", Action::Drop)]);
    let out = run_all_ways(&m, ContentKind::Json, body);
    assert_eq!(out, r#"[{"name":"[NAME]",},{"name":"[NAME]"},]"#);
}

#[test]
fn lone_surrogates_are_content() {
    let m = names();
    for bad in [r#""\ud800""#, r#""a\udc00b""#, r#""\ud800\n\ud800x""#, r#""\ud83d\u0041""#] {
        let body = three_records(bad);
        let out = run_all_ways(&m, ContentKind::Json, &body);
        assert_later_records_masked(&out, bad);
    }
    // A scanned string writes U+FFFD for it; a key keeps it as it is.
    let out = run_all_ways(&m, ContentKind::Json, r#"{"v":"a\ud800b x@y.org","k\udc00":1}"#);
    assert_eq!(out, "{\"v\":\"a\u{FFFD}b [EMAIL]\",\"k\\udc00\":1}");
    // Under a rule the value is masked whole.
    let out = run_all_ways(&m, ContentKind::Json, r#"{"name":"Jo\ud800e"}"#);
    assert_eq!(out, r#"{"name":"[NAME]"}"#);
}

#[test]
fn raw_control_bytes_are_content() {
    let m = names();
    for bad in ["\"a\tb\"", "\"line\nbreak\"", "\"\u{1}\""] {
        let body = three_records(bad);
        let out = run_all_ways(&m, ContentKind::Json, &body);
        assert_later_records_masked(&out, bad);
    }
    // A scanned string writes them escaped; a key keeps them as they are.
    let out = run_all_ways(&m, ContentKind::Json, "{\"v\":\"a\tx@y.org\",\"k\tk\":\"b\tc\"}");
    assert_eq!(out, "{\"v\":\"a\\t[EMAIL]\",\"k\tk\":\"b\\tc\"}");
    let out = run_all_ways(&m, ContentKind::Json, "{\"name\":\"Jane\tRoe\"}");
    assert_eq!(out, r#"{"name":"[NAME]"}"#);
}

#[test]
fn ndjson_lines_end_strings() {
    // A raw line break ends an NDJSON record even inside a string: the
    // next line is JSON again, its rules apply.
    let m = names();
    let body = "{\"v\":\"open x@y.org\n{\"name\":\"Jane Roe\"}\n";
    let out = run_all_ways(&m, ContentKind::Ndjson, body);
    assert_eq!(out, "{\"v\":\"open [EMAIL]\n{\"name\":\"[NAME]\"}\n");
}

#[test]
fn long_numbers_are_values() {
    let m = names();
    let long = "7".repeat(400);
    for bad in [long.clone(), format!("-{long}.{long}e+{long}"), format!("0.{long}"), format!("{long}E-3")] {
        let body = three_records(&bad);
        let out = run_all_ways(&m, ContentKind::Json, &body);
        assert_later_records_masked(&out, &bad);
        assert!(out.contains(&format!(r#""v":{bad},"#)), "copied unchanged: {out}");
    }
    // Rules act on a long number as on any other.
    let key = Arc::new(crate::mask::HashKey::new("k1", b"test-secret").unwrap());
    let m = masker_with(&[
        ("$.r", Action::Redact { placeholder: "[R]".into() }),
        ("$.m", Action::Mask { keep_last: 2 }),
        ("$.k", Action::Keep),
        ("$.d", Action::Drop),
        ("$.h", Action::Hash { key, label: "H".into() }),
    ]);
    let body = format!(r#"{{"r":{long},"m":{long},"k":{long},"d":{long},"h":{long},"z":1}}"#);
    let out = run_all_ways(&m, ContentKind::Json, &body);
    let stars = "*".repeat(398);
    let head = format!(r#"{{"r":"[R]","m":"{stars}77","k":{long},"h":"[H:k1:"#);
    assert!(out.starts_with(&head) && out.ends_with(r#"]","z":1}"#), "{out}");
    // A long run of letters is no number: text from there on.
    let bad = "x".repeat(400);
    let out = run_all_ways(&m, ContentKind::Json, &format!(r#"{{"a":{bad} x@y.org}}"#));
    assert!(!out.contains("x@y.org"));
}

#[test]
fn long_numbers_keep_memory_bounded() {
    let m = names();
    let mut s = MaskStream::new(m, ContentKind::Json);
    let mut out = Vec::new();
    s.feed(b"[{\"v\":", &mut out);
    let piece = "1234567890".repeat(6400);
    let mut peak = 0;
    for _ in 0..100 {
        s.feed(piece.as_bytes(), &mut out);
        peak = peak.max(s.held_bytes());
        out.clear();
    }
    s.feed(b"},{\"name\":\"Jane Roe\"}]", &mut out);
    s.finish(&mut out);
    assert!(peak < 16 * 1024, "held {peak} bytes between chunks");
    assert!(String::from_utf8(out).unwrap().ends_with(r#"},{"name":"[NAME]"}]"#));
}

#[test]
fn single_quoted_strings_are_keys_and_values() {
    let m = names();
    for bad in ["'single'", "{'name':'Ann Lee'}", r#"'say "x@y.org"'"#] {
        let body = three_records(bad);
        let out = run_all_ways(&m, ContentKind::Json, &body);
        assert!(!out.contains("Jane Roe") && !out.contains("1990-01-02") && !out.contains("x@y.org"), "{out}");
    }
    let out =
        run_all_ways(&m, ContentKind::Json, r#"{'name':'Jane Roe','v':'a x@y.org "q"','date_of_birth':'1990-01-02'}"#);
    assert_eq!(out, r#"{'name':"[NAME]",'v':'a [EMAIL] \"q\"','date_of_birth':"[DOB]"}"#);
}

#[test]
fn rules_apply_by_last_key_below_the_depth_bound() {
    let m = names();
    let depth = 10_000;
    let body = format!(
        r#"{}{{"name":"Jane Roe","a":[1,{{"date_of_birth":"1990-01-02"}}],"phone":4155552671,"e":"x@y.org"}}{}"#,
        r#"{"k":["#.repeat(depth),
        "]}".repeat(depth)
    );
    let mut s = MaskStream::new(m.clone(), ContentKind::Json);
    let mut out = Vec::new();
    s.feed(body.as_bytes(), &mut out);
    s.finish(&mut out);
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains(r#"{"name":"[NAME]","a":[1,{"date_of_birth":"[DOB]"}],"phone":"[PHONE]","e":"[EMAIL]"}"#),
        "{}",
        &out[out.len() / 2 - 100..out.len() / 2 + 200]
    );
    assert_eq!(
        out.len(),
        body.len() - "Jane Roe1990-01-024155552671x@y.org".len() + "[NAME][DOB]\"[PHONE]\"[EMAIL]".len()
    );
    let cuts: Vec<usize> = (7..body.len()).step_by(7).collect();
    assert_eq!(run_cut(&m, ContentKind::Json, body.as_bytes(), &cuts), out.as_bytes());
}

#[test]
fn text_fallback_applies_rules_by_key_name() {
    let m = masker_with(&[
        ("$.user.name", Action::Redact { placeholder: "[NAME]".into() }),
        ("$..date_of_birth", Action::Mask { keep_last: 0 }),
        ("$..age", Action::Redact { placeholder: "[AGE]".into() }),
        ("$.items[*]", Action::Redact { placeholder: "[ITEM]".into() }),
        ("$..pw", Action::Drop),
        ("$..sku", Action::Keep),
    ]);
    let body = r#"{"a": 12ab, "name": "Jane Roe", "date_of_birth" : "1990-01-02", "age":41, "items": "x", "pw": "s", "sku": "a@b.io", "n": "Jo\"e"}"#;
    let out = run_all_ways(&m, ContentKind::Json, body);
    assert_eq!(
        out,
        r#"{"a": 12ab, "name": "[NAME]", "date_of_birth" : "****-**-**", "age":"[AGE]", "items": "x", "pw": null, "sku": "[EMAIL]", "n": "Jo\"e"}"#
    );
    // After a string that broke the grammar, the next key is still found.
    let out = run_all_ways(&m, ContentKind::Json, r#"{"q": "bad \q escape", "name": "Jane Roe"}"#);
    assert!(out.ends_with(r#""name": "[NAME]"}"#), "{out}");
    // Single quotes, bare words, and a value at the end of the body.
    let out = run_all_ways(&m, ContentKind::Json, "{'a': x y, 'name': 'Jane Roe', \"name\": Jane, 'age': 41");
    assert_eq!(out, r#"{'a': x y, 'name': "[NAME]", "name": "[NAME]", 'age': "[AGE]""#);
    // NDJSON: a value at the end of a broken line; the next line is JSON.
    let body = "{\"a\": 12ab, \"age\": 41\n{\"a\": 1 2, \"name\": \"Jane\"}\n{\"user\":{\"name\":\"Jo\"}}\n";
    let out = run_all_ways(&m, ContentKind::Ndjson, body);
    assert_eq!(
        out,
        "{\"a\": 12ab, \"age\": \"[AGE]\"\n{\"a\": 1 2, \"name\": \"[NAME]\"}\n{\"user\":{\"name\":\"[NAME]\"}}\n"
    );
    // Rules whose last step is no key do not apply in the text scan.
    let m = masker_with(&[("$.items[*]", Action::Redact { placeholder: "[ITEM]".into() }), ("$..*", Action::Drop)]);
    let body = r#"{"a" 2, "items": "x", "b": "y"}"#;
    assert_eq!(run_all_ways(&m, ContentKind::Json, body), body);
}
