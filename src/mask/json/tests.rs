//! JSON masking: shape, escapes, field rules, malformed input, and output
//! that does not depend on where chunks are cut.

use std::sync::Arc;

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

/// Masks `body` fed in pieces cut at `cuts`.
fn run_cut(m: &Arc<Masker>, kind: ContentKind, body: &[u8], cuts: &[usize]) -> Vec<u8> {
    MaskStream::mask_in_chunks(m.clone(), kind, body, cuts).0
}

fn run(m: &Arc<Masker>, body: &str) -> String {
    String::from_utf8(run_cut(m, ContentKind::Json, body.as_bytes(), &[])).unwrap()
}

/// The whole-body output, checked equal for every single and every pair of
/// adjacent cut points, and for one-byte feeding.
fn run_every_split(m: &Arc<Masker>, kind: ContentKind, body: &str) -> String {
    let b = body.as_bytes();
    let whole = run_cut(m, kind, b, &[]);
    for i in 0..=b.len() {
        assert_eq!(run_cut(m, kind, b, &[i]), whole, "split at {i} of {body:?}");
        if i < b.len() {
            assert_eq!(run_cut(m, kind, b, &[i, i + 1]), whole, "splits {i},{} of {body:?}", i + 1);
        }
    }
    let bytes: Vec<usize> = (1..b.len()).collect();
    assert_eq!(run_cut(m, kind, b, &bytes), whole, "byte by byte {body:?}");
    String::from_utf8(whole).unwrap()
}

fn same_shape(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value::*;
    match (a, b) {
        (Object(x), Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same_shape(v, w)))
        }
        (Array(x), Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| same_shape(v, w)),
        (Object(_) | Array(_), _) | (_, Object(_) | Array(_)) => false,
        _ => true,
    }
}

#[test]
fn strings_are_masked_keys_kept_and_shape_preserved() {
    let m = masker_with(&[]);
    let body = r#"{"email":"ana@example.com","note":"call +44 20 7946 0958 or mail bo@ex.io","ana@example.com":1,"n":[1,2.5,-3e2,true,null],"t":"2024-01-15T10:30:00Z"}"#;
    let out = run_every_split(&m, ContentKind::Json, body);
    assert_eq!(
        out,
        r#"{"email":"[EMAIL]","note":"call [PHONE] or mail [EMAIL]","ana@example.com":1,"n":[1,2.5,-3e2,true,null],"t":"2024-01-15T10:30:00Z"}"#
    );
    let (a, b): (serde_json::Value, serde_json::Value) =
        (serde_json::from_str(body).unwrap(), serde_json::from_str(&out).unwrap());
    assert!(same_shape(&a, &b));
}

#[test]
fn escaped_pii_is_found_and_output_stays_valid_json() {
    let m = masker_with(&[]);
    let body = r#"{"a":"john\u0040example.com","b":"say \"x@y.org\"\n","c":"\ud83d\ude00 +1 (415) 555\u002d2671","d":"caf\u00e9 \/ ok"}"#;
    let out = run_every_split(&m, ContentKind::Json, body);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON out");
    assert_eq!(v["a"], "[EMAIL]");
    assert_eq!(v["b"], "say \"[EMAIL]\"\n");
    assert_eq!(v["c"], "😀 [PHONE]");
    assert_eq!(v["d"], "café / ok");
}

#[test]
fn numbers_under_phone_keys_become_masked_strings() {
    let m = masker_with(&[]);
    let out =
        run_every_split(&m, ContentKind::Json, r#"{"phone":4155552671,"order_id":4155552671,"ts":1700000000123}"#);
    assert_eq!(out, r#"{"phone":"[PHONE]","order_id":4155552671,"ts":1700000000123}"#);
}

#[test]
fn a_key_is_the_context_of_its_arrays_and_not_beyond_its_object() {
    let m = masker_with(&[]);
    // An array's values take their key from the member holding the array;
    // a key inside a closed object says nothing of what follows it.
    let body =
        r#"{"id":1,"phones":[4155552671,[4155552672]],"rows":[{"tel":1},4155552673,{"a":{"mobile":2}},4155552674]}"#;
    let out = run_every_split(&m, ContentKind::Json, body);
    assert_eq!(
        out,
        r#"{"id":1,"phones":["[PHONE]",["[PHONE]"]],"rows":[{"tel":1},4155552673,{"a":{"mobile":2}},4155552674]}"#
    );
}

#[test]
fn field_rules_act_on_whole_values_of_every_type() {
    let key = Arc::new(HashKey::new("k1", b"test-secret").unwrap());
    let m = masker_with(&[
        ("$.user.name", Action::Redact { placeholder: "[NAME]".into() }),
        ("$..card", Action::Mask { keep_last: 4 }),
        ("$.items[*].sku", Action::Keep),
        ("$.meta", Action::Redact { placeholder: "[META]".into() }),
        ("$.uid", Action::Hash { key, label: "UID".into() }),
        ("$.age", Action::Redact { placeholder: "[AGE]".into() }),
    ]);
    let body = r#"{"user":{"name":"Ana Lopez","card":"4111-1111-1111-1111"},"items":[{"sku":"a@b.io"},{"card":"5500 0055 5555 5559"}],"meta":{"x":[1,{"y":"}"}]},"uid":"u-1","age":41}"#;
    let out = run_every_split(&m, ContentKind::Json, body);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON out");
    assert_eq!(v["user"]["name"], "[NAME]");
    assert_eq!(v["user"]["card"], "****-****-****-1111");
    assert_eq!(v["items"][0]["sku"], "a@b.io", "keep skips detectors");
    assert_eq!(v["items"][1]["card"], "**** **** **** 5559");
    assert_eq!(v["meta"], "[META]");
    assert!(v["uid"].as_str().unwrap().starts_with("[UID:k1:"));
    assert_eq!(v["age"], "[AGE]");
}

#[test]
fn drop_removes_members_and_elements_with_their_commas() {
    let m = masker_with(&[("$..password", Action::Drop), ("$.tags[1]", Action::Drop), ("$.gone", Action::Drop)]);
    for (body, want) in [
        (r#"{"password":"x","a":1}"#, r#"{"a":1}"#),
        (r#"{"a":1,"password":"x"}"#, r#"{"a":1}"#),
        (r#"{"a":1,"password":{"k":[1,2]},"b":2}"#, r#"{"a":1,"b":2}"#),
        (r#"{"password":1,"gone":[1],"password":true}"#, r#"{}"#),
        (r#"{"tags":["a","b","c"]}"#, r#"{"tags":["a","c"]}"#),
        ("{\n  \"password\": \"x\",\n  \"a\": 1\n}", "{\n  \"a\": 1\n}"),
        (r#"[{"u":{"password":"p","e":"x@y.org"}}]"#, r#"[{"u":{"e":"[EMAIL]"}}]"#),
    ] {
        assert_eq!(run_every_split(&m, ContentKind::Json, body), want, "{body}");
    }
}

#[test]
fn malformed_json_falls_back_to_text_and_never_leaks() {
    let m = masker_with(&[]);
    for body in [
        r#"{"a": "ok", oops "x@y.org" +44 20 7946 0958}"#,
        r#"{"a": "x@y.org" "b"}"#,
        "{\"a\": \"raw\tcontrol x@y.org\"}",
        r#"{"a": "\ud800 lone x@y.org"}"#,
        r#"{"a": 12ab x@y.org}"#,
        r#"{"a": "x@y.org"]"#,
        r#"{"a": ["x@y.org""#,
    ] {
        let out = run_every_split(&m, ContentKind::Json, body);
        assert!(!out.contains("x@y.org") && !out.contains("7946"), "{body} -> {out}");
    }
}

#[test]
fn deep_nesting_is_masked_and_beyond_the_bound_scanned_as_text() {
    let m = masker_with(&[]);
    for depth in [600, super::MAX_DEPTH + super::MAX_DEEP + 1] {
        let body = format!("{}\"x@y.org\"{}", "[".repeat(depth), "]".repeat(depth));
        let out = run(&m, &body);
        assert_eq!(out, body.replace("x@y.org", "[EMAIL]"), "{depth}");
    }
    // Mismatched brackets below the path's bound are malformed too.
    let body = format!("{}\"x@y.org\"}}{}", "[".repeat(600), "]".repeat(599));
    assert_eq!(run(&m, &body), body.replace("x@y.org", "[EMAIL]"));
}

#[test]
fn ndjson_recovers_at_the_next_line() {
    let m = masker_with(&[("$.secret", Action::Drop)]);
    let body = "{\"e\":\"a@b.io\",\"secret\":1}\nnot json a@b.io\n{\"e\":\"c@d.io\"}\n";
    let out = run_every_split(&m, ContentKind::Ndjson, body);
    assert_eq!(out, "{\"e\":\"[EMAIL]\"}\nnot json [EMAIL]\n{\"e\":\"[EMAIL]\"}\n");
}

#[test]
fn long_strings_across_chunks_match_whole_scanning() {
    let m = masker_with(&[]);
    let filler = "lorem ipsum dolor sit amet ".repeat(40);
    let body = format!(r#"{{"text":"{filler} reach me at ana.maria@example.com or +33 6 12 34 56 78 {filler}"}}"#);
    let whole = run(&m, &body);
    assert!(whole.contains("[EMAIL]") && whole.contains("[PHONE]"));
    for step in [1, 7, 64, 333] {
        let cuts: Vec<usize> = (step..body.len()).step_by(step).collect();
        assert_eq!(run_cut(&m, ContentKind::Json, body.as_bytes(), &cuts), whole.as_bytes(), "step {step}");
    }
}

#[test]
fn stats_count_per_detector_and_rule() {
    let m = masker_with(&[("$.n", Action::Redact { placeholder: "[N]".into() })]);
    let body = br#"{"a":"x@y.org z@w.io","b":"+44 20 7946 0958","n":"q"}"#;
    let (out, stats) = MaskStream::mask_all(m, ContentKind::Json, body);
    assert_eq!(stats.count("email"), 2);
    assert_eq!(stats.count("phone"), 1);
    assert_eq!(stats.count("$.n"), 1);
    assert_eq!(stats.bytes_in, body.len() as u64);
    assert_eq!(stats.bytes_out, out.len() as u64);
}

#[test]
fn carry_over_stays_bounded_for_huge_strings_and_text() {
    let m = masker_with(&[]);
    let piece = "lorem ipsum x@y.org dolor +44 20 7946 0958 sit amet ".repeat(1200);
    for (kind, open, close) in [(ContentKind::Json, "{\"note\":\"", "\"}"), (ContentKind::Text, "", "")] {
        let mut s = MaskStream::new(m.clone(), kind);
        let mut out = Vec::new();
        s.feed(open.as_bytes(), &mut out);
        let mut peak = 0;
        // ~32 MB in one JSON string (or one text line), 64 KB at a time.
        for _ in 0..500 {
            s.feed(piece.as_bytes(), &mut out);
            peak = peak.max(s.held_bytes());
            assert!(!out.windows(7).any(|w| w == b"x@y.org"));
            out.clear();
        }
        s.feed(close.as_bytes(), &mut out);
        s.finish(&mut out);
        assert!(peak < 16 * 1024, "{kind:?}: held {peak} bytes between chunks");
    }
}

/// UUIDs and ISO timestamps skip the detectors when whole in a chunk; cut
/// anywhere they go through the full scan, which must agree.
#[test]
fn inert_shapes_give_the_same_output_whole_or_cut() {
    let m = masker_with(&[]);
    let body = r#"{"u":"550E8400-E29B-41D4-A716-446655440000","t":"2024-01-15 10:30:00.123+01:00","d":"2024-01-15","x":"2024-01-15 call +44 20 7946 0958"}"#;
    let out = run_every_split(&m, ContentKind::Json, body);
    assert_eq!(out, body.replace("+44 20 7946 0958", "[PHONE]"));
}

/// A string of digits only is decided as a bare integer is: masked under a
/// key that says phone (or when it is a card), kept under any other key.
/// Cut anywhere it goes through the full scan, which must agree.
#[test]
fn digit_strings_are_judged_as_integers_whole_or_cut() {
    let m = masker_with(&[]);
    let body = r#"{"number":"09623574308","phone":"07946095800","id":"4111111111111111","n":"00442079460958"}"#;
    let out = run_every_split(&m, ContentKind::Json, body);
    assert_eq!(out, r#"{"number":"09623574308","phone":"[PHONE]","id":"[CARD]","n":"00442079460958"}"#);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]

    /// The rule both JSON numbers and digit-only strings rely on: when
    /// `integer_may_match` says no, a full scan of the digits finds nothing.
    #[test]
    fn digits_that_may_not_match_hold_no_match(
        prefix in proptest::sample::select(vec!["", "0", "00", "1", "4", "5", "34", "37", "44", "33", "07", "06", "86", "91"]),
        rest in "[0-9]{0,18}",
        key in proptest::sample::select(vec!["", "id", "at", "number", "created_at", "phone", "tel", "mobileNumber", "ssn", "fax_no"]),
    ) {
        static DEFAULT: std::sync::LazyLock<Arc<Masker>> = std::sync::LazyLock::new(|| masker_with(&[]));
        let m = &*DEFAULT;
        let digits = format!("{prefix}{rest}");
        if !m.detectors.integer_may_match(digits.as_bytes(), || m.detectors.key_context(key.as_bytes())) {
            let found = crate::mask::detect::testing::scan_whole(&m.detectors, digits.as_bytes(), key.as_bytes());
            proptest::prop_assert!(found.is_empty(), "{digits:?} under {key:?}: {found:?}");
        }
    }
}

/// A profile that takes the general structural loop: one rule, on a path
/// no test body holds, so its output must be the fast loop's.
fn general_loop_masker() -> Arc<Masker> {
    masker_with(&[("$.never.present", Action::Keep)])
}

/// Says, where the fast loop's x86-64-v3 build cannot run, that a test
/// comparing it checks the baseline build only.
fn note_without_x86_64_v3(test: &str) {
    if !crate::mask::bytes::has_x86_64_v3() {
        eprintln!("NOTE: {test}: this CPU lacks AVX2/BMI2: only the fast loop's baseline build is compared");
    }
}

#[test]
fn the_fast_loop_and_the_general_loop_agree() {
    note_without_x86_64_v3("the_fast_loop_and_the_general_loop_agree");
    let (fast, general) = (masker_with(&[]), general_loop_masker());
    for body in [
        r#"{"a":1,"b":{"c":"x@y.org","d":{"e":2}},"f":[{"g":1},{"h":"+44 20 7946 0958"}],"phone":4402079460958}"#,
        r#"[{"a":{"b":{"c":1}}},{"d":2},{"e":[{"f":"x@y.org"},{"g":{}}]},{}]"#,
        r#"{"a" : "x@y.org", "b" :1 ,"c":{ "d":2 } , "e":[ {"f":3} ,{"g":4}]}"#,
        "{\"a\":1}\n{\"b\":{\"c\":\"x@y.org\"}}\n[{\"d\":1},{\"e\":2}]\n",
        r#"{"a":1},{"b":"x@y.org"}"#,
        r#"{"a":{"b":1}],"c":"x@y.org"}"#,
        // A close that does not match (text from there on: the key is
        // masked), after a member and after an object in an array.
        r#"[{"a":1],{"x@y.org":1}]"#,
        r#"[{"a":[{"b":1}}],{"x@y.org":1}]"#,
        r#"{"a":[{"b":1}]],"x@y.org":1}"#,
        r#"{"a":1,}"#,
        r#"{"a":{"b":1},{"c":2}}"#,
        r#"[{"a":1},"x@y.org",{"b":2}]"#,
        r#"[{"phone":1},2079460958,"02079460958"]"#,
        r#"{"a":[{"phone":{"b":1}},2079460958],"c":2079460958}"#,
        r#"{"a":"x\u0040y.org","b":{"c":"q\"x@y.org"}}"#,
        r#"{"a":true,"b":null,"c":-1.5e3,"d":{"e":false}}"#,
        r#"{"a":{"b":{"c":{"d":{}}}},"e":"x@y.org"}}"#,
        "{\"items\":[{\"a\":\"x@y.org\"},\n{\"b\":1}, {\"c\":2},\r\n {\"d\":3},\n\n\n{}],\"e\":[{}]}",
        "[{\"a\":[{\"b\":[{\"c\":\"x@y.org\"}]}]},\n{\"phone\":[{\"d\":2079460958},2079460958],\"e\":[[{}]]}]",
    ] {
        for kind in [ContentKind::Json, ContentKind::Ndjson] {
            assert_eq!(run_every_split(&fast, kind, body), run_every_split(&general, kind, body), "{kind:?} {body}");
        }
    }
}

/// JSON documents of nested objects and arrays, compact or spaced, with
/// PII and inert values in them.
fn json_document() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let leaf = proptest::sample::select(vec![
        "\"a@b.io\"",
        "\"+44 20 7946 0958\"",
        "4402079460958",
        "2079460958",
        "\"02079460958\"",
        "12",
        "-3.5",
        "true",
        "null",
        "\"x\\\"y\"",
        "\"ord_123456789\"",
        "{}",
        "[]",
    ])
    .prop_map(str::to_string);
    leaf.prop_recursive(4, 40, 4, |inner| {
        let key = proptest::sample::select(vec!["k", "phone", "a@b.io", "id"]);
        let space = proptest::sample::select(vec!["", "", "", " ", "\n"]);
        prop_oneof![
            proptest::collection::vec((key, space.clone(), inner.clone()), 0..4).prop_map(|members| {
                let members: Vec<String> = members.iter().map(|(k, s, v)| format!("{s}\"{k}\"{s}:{s}{v}")).collect();
                format!("{{{}}}", members.join(","))
            }),
            proptest::collection::vec((space, inner), 0..4).prop_map(|elements| {
                let elements: Vec<String> = elements.iter().map(|(s, v)| format!("{s}{v}")).collect();
                format!("[{}]", elements.join(","))
            }),
        ]
    })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]

    /// Documents, one after another and perhaps broken by a stray token,
    /// come out of the fast structural loop (both its builds, see
    /// `JsonMasker::plain`) as out of the general one, whole and cut
    /// anywhere.
    #[test]
    fn the_fast_loop_matches_the_general_loop_on_random_documents(
        documents in proptest::collection::vec(json_document(), 1..3),
        separator in proptest::sample::select(vec!["", "\n", ",", " "]),
        stray in proptest::option::of((proptest::sample::select(vec!["{", "}", "[", "]", ",", ":", "\"", "x"]), 0usize..400)),
        cut in 0usize..400,
    ) {
        static MASKERS: std::sync::LazyLock<(Arc<Masker>, Arc<Masker>)> =
            std::sync::LazyLock::new(|| {
                note_without_x86_64_v3("the_fast_loop_matches_the_general_loop_on_random_documents");
                (masker_with(&[]), general_loop_masker())
            });
        let (fast, general) = &*MASKERS;
        let mut body = documents.join(separator);
        if let Some((token, at)) = stray {
            let at = (0..=at % (body.len() + 1)).rev().find(|&i| body.is_char_boundary(i)).unwrap_or(0);
            body.insert_str(at, token);
        }
        let cut = cut % (body.len() + 1);
        for kind in [ContentKind::Json, ContentKind::Ndjson] {
            let want = run_cut(general, kind, body.as_bytes(), &[]);
            proptest::prop_assert_eq!(&run_cut(fast, kind, body.as_bytes(), &[]), &want, "{:?} {}", kind, body);
            proptest::prop_assert_eq!(&run_cut(fast, kind, body.as_bytes(), &[cut]), &want, "{:?} {} cut {}", kind, body, cut);
            let mut baseline = MaskStream::new(fast.clone(), kind);
            baseline.use_baseline_build();
            proptest::prop_assert_eq!(&baseline.mask_cut(body.as_bytes(), &[cut]).0, &want, "baseline {:?} {} cut {}", kind, body, cut);
        }
    }
}

/// Replacements that need escaping (a placeholder with a quote and a
/// backslash, a masked value) come out escaped in JSON, however the body
/// is cut, and as they are in text; the plain default placeholders take a
/// shortcut that these must not.
#[test]
fn replacements_are_escaped_in_json_and_raw_in_text() {
    let mut config = default_config();
    for d in &mut config.detectors {
        match d.name.as_str() {
            "email" => d.action = Action::Redact { placeholder: r#"<"mail"\x>"#.into() },
            "phone" => d.action = Action::Mask { keep_last: 4 },
            _ => {}
        }
    }
    let m = Arc::new(Masker::new(&config).expect("builds"));
    let body = r#"{"a":"write ana@example.com","b":"ana\u0040example.com","c":"+44 20 7946 0958","d":"bo@ex.io"}"#;
    let out = run_every_split(&m, ContentKind::Json, body);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    assert_eq!(v["a"], r#"write <"mail"\x>"#);
    assert_eq!(v["b"], r#"<"mail"\x>"#);
    assert_eq!(v["d"], r#"<"mail"\x>"#);
    let phone = v["c"].as_str().expect("a string");
    assert!(phone.ends_with("0958") && !phone.contains("7946"), "{phone}");
    let text = run_every_split(&m, ContentKind::Text, "write ana@example.com now");
    assert_eq!(text, r#"write <"mail"\x> now"#);
}

/// A user's keyword detector sees every string value, also the short
/// ones the structural loop reads with their key and would otherwise
/// pass for holding no anchor byte (no `@`, digit, `:` or `.`).
#[test]
fn keywords_are_found_in_short_values_without_anchors() {
    let mut config: MaskerConfig = default_config();
    config.detectors.push(crate::mask::DetectorConfig {
        name: "codename".into(),
        spec: crate::mask::DetectorSpec::Keywords {
            words: vec!["falcon".into()],
            case_insensitive: false,
            whole_words: true,
        },
        action: Action::Redact { placeholder: "[CODENAME]".into() },
    });
    let m = Arc::new(Masker::new(&config).expect("builds"));
    let body = r#"{"codename":"falcon","status":"paid","project":{"name":"falcon","tags":["falcon"]},"n":1}"#;
    let out = run_every_split(&m, ContentKind::Json, body);
    assert_eq!(
        out,
        r#"{"codename":"[CODENAME]","status":"paid","project":{"name":"[CODENAME]","tags":["[CODENAME]"]},"n":1}"#
    );
}

/// Malformed JSON that lenient writers emit: field rules keep applying
/// after it, the construct itself comes out as it went in, and the output
/// does not depend on where chunks are cut.
mod lenient {
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
        let out = run_all_ways(
            &m,
            ContentKind::Json,
            r#"{'name':'Jane Roe','v':'a x@y.org "q"','date_of_birth':'1990-01-02'}"#,
        );
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
    #[test]
    fn comments_are_skipped_and_paths_kept() {
        let m = masker_with(&[
            ("$.items[1].card", Action::Redact { placeholder: "[C]".into() }),
            ("$..name", Action::Redact { placeholder: "[NAME]".into() }),
        ]);
        let body = "{\"name\": /* c */ \"Ann Lee\", // ann@example.org\n \"items\": [{}, /**/ {\"card\" /*k*/ : 42}]}";
        let out = run_all_ways(&m, ContentKind::Json, body);
        assert_eq!(
            out,
            "{\"name\": /* c */ \"[NAME]\", // [EMAIL]\n \"items\": [{}, /**/ {\"card\" /*k*/ : \"[C]\"}]}"
        );
        // The fast loop (no rules) hands comments over too; their text is scanned.
        let plain = Arc::new(Masker::new(&default_config()).expect("builds"));
        let out = run_all_ways(&plain, ContentKind::Json, "[1, /* ann@example.org */ \"x\"] // end");
        assert_eq!(out, "[1, /* [EMAIL] */ \"x\"] // end");
        // A slash that opens no comment: text from there, rules by key name.
        let out = run_all_ways(&m, ContentKind::Json, "{\"a\": 1 / 2, \"name\": \"Ann\"}");
        assert_eq!(out, "{\"a\": 1 / 2, \"name\": \"[NAME]\"}");
        // NDJSON: a line comment ends with its line; RS before each text.
        let out = run_all_ways(&m, ContentKind::Ndjson, "{\"name\":\"A\"} // x\n\u{1e}{\"name\":\"B\"}\n");
        assert_eq!(out, "{\"name\":\"[NAME]\"} // x\n\u{1e}{\"name\":\"[NAME]\"}\n");
    }

    #[test]
    fn guards_and_callbacks_before_the_document_keep_its_paths() {
        let m = masker_with(&[("$.items[1].card", Action::Redact { placeholder: "[C]".into() })]);
        for (before, after) in [
            (")]}'\n", ""),
            (")]}',\n", ""),
            ("while(1);", ""),
            ("for(;;);", ""),
            ("cb(", ");"),
            ("/**/ jQuery_1.x (", ")"),
        ] {
            let body = format!(
                "{before}{{\"items\": [{{\"card\": 1}}, {{\"card\": 4111111111111111}}], \"e\": \"ann@example.org\"}}{after}"
            );
            let out = run_all_ways(&m, ContentKind::Json, &body);
            assert_eq!(
                out,
                format!("{before}{{\"items\": [{{\"card\": 1}}, {{\"card\": \"[C]\"}}], \"e\": \"[EMAIL]\"}}{after}")
            );
        }
        // Bodies too short to decide, and literals, are JSON as before.
        for body in ["", " ", "true", "null", "12", "\"a@b.io\"", ")]}'"] {
            let expected = if body.contains('@') { "\"[EMAIL]\"" } else { body };
            assert_eq!(run_all_ways(&m, ContentKind::Json, body), expected);
        }
    }

    #[test]
    fn text_bodies_apply_rules_by_key_name() {
        let m = names();
        let body = "<p>cb({\"name\": \"Ann Lee\", \"e\": \"ann@example.org\"})</p> \"name\" /**/ : 'Jo' it's \"x\"";
        let out = run_all_ways(&m, ContentKind::Text, body);
        assert_eq!(out, "<p>cb({\"name\": \"[NAME]\", \"e\": \"[EMAIL]\"})</p> \"name\" /**/ : \"[NAME]\" it's \"x\"");
        // Without such rules, text is read as it was.
        let plain = Arc::new(Masker::new(&default_config()).expect("builds"));
        assert_eq!(run_all_ways(&plain, ContentKind::Text, "{\"name\": \"Ann\"}"), "{\"name\": \"Ann\"}");
    }
}

/// A number a reader reads as a card or phone number is masked whatever
/// its spelling, as the plain integer is: replaced by a string.
#[test]
fn numbers_with_a_fraction_or_exponent_are_read_as_their_integer() {
    let m = masker_with(&[]);
    for body in [
        r#"{"card":4111111111111111}"#,
        r#"{"card":4111111111111111.0}"#,
        r#"{"card":4.111111111111111e15}"#,
        r#"{"card":4111111111111111E0}"#,
        r#"{"card":41111111111111110e-1}"#,
        r#"[4111111111111111.0,1.5]"#,
    ] {
        let out = run_every_split(&m, ContentKind::Json, body);
        let bytes: Vec<usize> = (0..=body.len()).collect();
        assert_eq!(String::from_utf8(run_cut(&m, ContentKind::Json, body.as_bytes(), &bytes)).expect("utf-8"), out);
        assert!(out.contains("\"[CARD]\""), "{body} -> {out}");
        assert!(!out.contains("4111"), "{body} -> {out}");
        serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
    }
    let body = r#"{"phone":1.4155552671e10,"price":96.18,"lat":52.520008,"ts":1.7e9,"big":1e21,"id":12345678.5}"#;
    let out = run_every_split(&m, ContentKind::Json, body);
    assert_eq!(out, r#"{"phone":"[PHONE]","price":96.18,"lat":52.520008,"ts":1.7e9,"big":1e21,"id":12345678.5}"#);
}
