//! Every positive and negative case in `patterns/*.yaml`, each detector run
//! alone through the public engine: in text, and as a JSON string value
//! under its key (which is where key context comes from).

use std::sync::Arc;

use piimask::mask::{ContentKind, MaskStream, Masker, MaskerConfig};
use piimask::patterns::{self, PatternDetector};

fn mask(det: &PatternDetector, kind: ContentKind, body: &str) -> String {
    let config = MaskerConfig { detectors: vec![det.to_config()], fields: Vec::new() };
    let masker = Arc::new(Masker::new(&config).expect("pattern builds"));
    String::from_utf8(MaskStream::mask_all(masker, kind, body.as_bytes()).0).expect("utf-8 out")
}

fn as_json(key: &str, text: &str) -> String {
    serde_json::json!({ if key.is_empty() { "note" } else { key }: text }).to_string()
}

#[test]
fn every_pattern_file_parses_and_names_unique_detectors() {
    let mut names = std::collections::HashSet::new();
    for (file, text) in patterns::FILES {
        let parsed = patterns::parse(file, text).unwrap_or_else(|e| panic!("{e}"));
        assert!(!parsed.detectors.is_empty(), "{file}");
        for d in &parsed.detectors {
            assert!(names.insert(d.name.clone()), "duplicate detector {}", d.name);
            assert!(!d.tests.positive.is_empty() && !d.tests.negative.is_empty(), "{} needs cases", d.name);
        }
    }
    // The files on disk are the ones compiled in.
    for (file, text) in patterns::FILES {
        let on_disk = std::fs::read_to_string(file).expect("pattern file on disk");
        assert_eq!(&on_disk, text, "{file}");
    }
    let dir: Vec<_> = std::fs::read_dir("patterns").unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(dir.len(), patterns::FILES.len(), "every file in patterns/ is compiled in");
}

#[test]
fn every_positive_case_is_masked_exactly() {
    let mut failures = Vec::new();
    for det in patterns::builtin() {
        for case in &det.tests.positive {
            let expected = case.text.replacen(&case.matched, &det.placeholder, 1);
            assert_ne!(expected, case.text, "{}: match not in text", det.name);
            if case.key.is_empty() {
                let got = mask(&det, ContentKind::Text, &case.text);
                if got != expected {
                    failures.push(format!("{} text {:?}: got {:?}", det.name, case.text, got));
                }
            }
            let got = mask(&det, ContentKind::Json, &as_json(&case.key, &case.text));
            if got != as_json(&case.key, &expected) {
                failures.push(format!("{} json {:?} key {:?}: got {}", det.name, case.text, case.key, got));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_negative_case_survives_untouched() {
    let mut failures = Vec::new();
    for det in patterns::builtin() {
        for case in &det.tests.negative {
            let (text, key) = case.text_and_key();
            if key.is_empty() {
                let got = mask(&det, ContentKind::Text, text);
                if got != text {
                    failures.push(format!("{} text {:?}: got {:?}", det.name, text, got));
                }
            }
            let body = as_json(key, text);
            let got = mask(&det, ContentKind::Json, &body);
            if got != body {
                failures.push(format!("{} json {:?}: got {}", det.name, body, got));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
