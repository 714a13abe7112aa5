//! The whole engine on arbitrary bytes, cut at arbitrary points: no panic,
//! the same output for every chunking, and for input that is valid JSON,
//! valid JSON of the same shape out.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use piimask::mask::multipart::Boundary;
use piimask::mask::{ContentKind, MaskStream, Masker};
use serde_json::Value;

static MASKER: LazyLock<Arc<Masker>> =
    LazyLock::new(|| Arc::new(Masker::new(&piimask::patterns::default_config()).expect("default profile")));

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    kind: u8,
    cuts: Vec<u16>,
    body: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let kind = match input.kind % 5 {
        0 => ContentKind::Json,
        1 => ContentKind::Ndjson,
        2 => ContentKind::Form,
        3 => ContentKind::Multipart(Boundary::new(b"b").expect("a valid boundary")),
        _ => ContentKind::Text,
    };
    let mut cuts: Vec<usize> = input.cuts.iter().map(|&c| usize::from(c)).collect();
    cuts.sort_unstable();
    let (whole, _) = MaskStream::mask_all(MASKER.clone(), kind, &input.body);
    let (cut, _) = MaskStream::mask_in_chunks(MASKER.clone(), kind, &input.body, &cuts);
    assert!(whole == cut, "output depends on the chunking: cuts {cuts:?}");
    // Byte by byte too, the hardest chunking.
    let every: Vec<usize> = (1..input.body.len()).collect();
    let (bytewise, _) = MaskStream::mask_in_chunks(MASKER.clone(), kind, &input.body, &every);
    assert!(whole == bytewise, "output differs when fed byte by byte");
    if kind == ContentKind::Json
        && let Ok(before) = serde_json::from_slice::<Value>(&input.body)
    {
        let after: Value = serde_json::from_slice(&whole).expect("valid JSON in, valid JSON out");
        assert!(same_shape(&before, &after), "shape changed");
    }
});

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
