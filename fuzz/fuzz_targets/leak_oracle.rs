//! The leak oracle: random JSON or text with emails and phone numbers
//! planted in random places, some with JSON escapes (`\u0040` for `@`),
//! fed in random chunks. None may survive: not in the raw output, and
//! for JSON not in any string of the parsed output either.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use piimask::mask::{ContentKind, MaskStream, Masker};
use serde_json::Value;

static MASKER: LazyLock<Arc<Masker>> =
    LazyLock::new(|| Arc::new(Masker::new(&piimask::patterns::default_config()).expect("default profile")));

/// Values the default profile must always find, whatever surrounds them
/// (separated from it by a space).
const PLANTED: &[&str] = &[
    "ana.lopez@example.com",
    "j.doe+news@mail.co.uk",
    "桃子.阿部@example.jp",
    "bo@xn--80ak6aa92e.com",
    "+44 20 7946 0958",
    "+1 (415) 555-2671",
    "+33 6 12 34 56 78",
    "+81 90-1234-5678",
    "+441414960077",
];

#[derive(Debug, arbitrary::Arbitrary)]
enum Piece {
    Noise(String),
    Planted { which: u8, escape: u32 },
    Number(i64),
}

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    json: bool,
    /// Each inner list is one string value (JSON) or one line (text).
    values: Vec<Vec<Piece>>,
    cuts: Vec<u16>,
}

/// `text` as the inside of a JSON string; with `escape` bits set, the
/// matching characters are written as `\uXXXX` (surrogate pairs beyond
/// the BMP), as a sender may legally do.
fn json_inner(text: &str, escape: u32) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if escape & (1 << (i % 32)) != 0 {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        } else {
            let quoted = serde_json::to_string(&c.to_string()).expect("a char serializes");
            out.push_str(&quoted[1..quoted.len() - 1]);
        }
    }
    out
}

fuzz_target!(|input: Input| {
    let mut planted: Vec<&str> = Vec::new();
    let mut values: Vec<String> = Vec::new();
    for pieces in input.values.iter().take(16) {
        let mut value = String::new();
        for piece in pieces.iter().take(16) {
            value.push(' ');
            match piece {
                // Noise never holds a line break in text (a line is a value
                // there) and is kept short.
                // Noise that spells a planted value (the fuzzer learns them
                // from the comparisons below) is not noise: dropped, so the
                // oracle checks only what was planted, with its spaces.
                Piece::Noise(s) => {
                    let s: String = s.chars().filter(|c| !c.is_control()).take(40).collect();
                    if PLANTED.iter().any(|p| s.contains(p)) {
                        continue;
                    }
                    value.push_str(&if input.json { json_inner(&s, 0) } else { s });
                }
                Piece::Planted { which, escape } => {
                    let p = PLANTED[usize::from(*which) % PLANTED.len()];
                    planted.push(p);
                    value.push_str(&if input.json { json_inner(p, *escape) } else { p.to_string() });
                }
                Piece::Number(n) => value.push_str(&n.to_string()),
            }
            value.push(' ');
        }
        values.push(value);
    }
    let body = if input.json {
        let members: Vec<String> = values.iter().enumerate().map(|(i, v)| format!("\"k{i}\":\"{v}\"")).collect();
        format!("{{{}}}", members.join(","))
    } else {
        values.join("\n")
    };
    let mut cuts: Vec<usize> = input.cuts.iter().map(|&c| usize::from(c)).collect();
    cuts.sort_unstable();
    let kind = if input.json { ContentKind::Json } else { ContentKind::Text };
    let (out, _) = MaskStream::mask_in_chunks(MASKER.clone(), kind, body.as_bytes(), &cuts);
    let out = String::from_utf8_lossy(&out);
    for p in &planted {
        assert!(!out.contains(p), "{p} survived in {out}");
    }
    if input.json {
        let doc: Value = serde_json::from_str(&out).expect("valid JSON out");
        let strings: Vec<&str> = doc.as_object().expect("object").values().filter_map(Value::as_str).collect();
        for s in strings {
            for p in &planted {
                assert!(!s.contains(p), "{p} survived escaped: {s}");
            }
        }
    }
});
