//! The detector definitions in `patterns/`: one readable YAML file per
//! family, each with its own positive and negative cases (run by
//! `tests/patterns.rs`). They are compiled in and make the default profile.
//!
//! Depends on `mask` only.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::mask::{Action, DetectorConfig, DetectorSpec, MaskerConfig, PhoneSettings};
use crate::yaml::{YamlError, from_yaml};

/// The built-in pattern files, by name.
pub const FILES: &[(&str, &str)] = &[
    ("patterns/email.yaml", include_str!("../patterns/email.yaml")),
    ("patterns/phone.yaml", include_str!("../patterns/phone.yaml")),
    ("patterns/payment.yaml", include_str!("../patterns/payment.yaml")),
    ("patterns/government_id.yaml", include_str!("../patterns/government_id.yaml")),
    ("patterns/network.yaml", include_str!("../patterns/network.yaml")),
];

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternFile {
    pub family: String,
    pub description: String,
    pub detectors: Vec<PatternDetector>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternDetector {
    pub name: String,
    pub placeholder: String,
    pub detect: DetectSpec,
    #[serde(default)]
    pub tests: PatternTests,
}

/// What a detector looks for, as written in YAML (`kind:` picks the engine).
/// Also used by configuration files for custom detectors.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum DetectSpec {
    Email {
        #[serde(default)]
        denied_tlds: Vec<String>,
    },
    Phone {
        regions: Vec<String>,
        #[serde(default)]
        context_keys: Vec<String>,
        #[serde(default)]
        context_words: Vec<String>,
        #[serde(default)]
        negative_keys: Vec<String>,
        #[serde(default)]
        negative_words: Vec<String>,
    },
    Card,
    Ssn {
        #[serde(default)]
        context_keys: Vec<String>,
        #[serde(default)]
        context_words: Vec<String>,
    },
    Ipv4 {
        #[serde(default)]
        negative_words: Vec<String>,
    },
    Ipv6,
    Iban {
        lengths: BTreeMap<String, u8>,
    },
    Regex {
        pattern: String,
        #[serde(default)]
        case_insensitive: bool,
    },
    Keywords {
        words: Vec<String>,
        #[serde(default)]
        case_insensitive: bool,
        #[serde(default = "yes")]
        whole_words: bool,
    },
}

fn yes() -> bool {
    true
}

impl DetectSpec {
    pub fn to_spec(&self) -> DetectorSpec {
        match self.clone() {
            DetectSpec::Email { denied_tlds } => DetectorSpec::Email { denied_tlds },
            DetectSpec::Phone { regions, context_keys, context_words, negative_keys, negative_words } => {
                DetectorSpec::Phone(PhoneSettings {
                    regions,
                    context_keys,
                    context_words,
                    negative_keys,
                    negative_words,
                })
            }
            DetectSpec::Card => DetectorSpec::Card,
            DetectSpec::Ssn { context_keys, context_words } => DetectorSpec::Ssn { context_keys, context_words },
            DetectSpec::Ipv4 { negative_words } => DetectorSpec::Ipv4 { negative_words },
            DetectSpec::Ipv6 => DetectorSpec::Ipv6,
            DetectSpec::Iban { lengths } => DetectorSpec::Iban { lengths: lengths.into_iter().collect() },
            DetectSpec::Regex { pattern, case_insensitive } => DetectorSpec::Regex { pattern, case_insensitive },
            DetectSpec::Keywords { words, case_insensitive, whole_words } => {
                DetectorSpec::Keywords { words, case_insensitive, whole_words }
            }
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatternTests {
    #[serde(default)]
    pub positive: Vec<Positive>,
    #[serde(default)]
    pub negative: Vec<Negative>,
}

/// `text` (under JSON key `key`, if given) contains exactly `match`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Positive {
    pub text: String,
    #[serde(default)]
    pub key: String,
    #[serde(rename = "match")]
    pub matched: String,
}

/// `text` (under JSON key `key`, if given) must come through untouched.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum Negative {
    Text(String),
    Keyed { text: String, key: String },
}

impl Negative {
    pub fn text_and_key(&self) -> (&str, &str) {
        match self {
            Negative::Text(t) => (t, ""),
            Negative::Keyed { text, key } => (text, key),
        }
    }
}

pub fn parse(file: &str, text: &str) -> Result<PatternFile, YamlError> {
    from_yaml(file, text)
}

/// Every built-in detector, in file order.
pub fn builtin() -> Vec<PatternDetector> {
    FILES
        .iter()
        .flat_map(|(name, text)| {
            // The compiled-in files are parsed by tests on every build.
            parse(name, text).unwrap_or_else(|e| panic!("built-in pattern file is invalid: {e}")).detectors
        })
        .collect()
}

impl PatternDetector {
    /// This detector with its default action (redact with its placeholder).
    pub fn to_config(&self) -> DetectorConfig {
        DetectorConfig {
            name: self.name.clone(),
            spec: self.detect.to_spec(),
            action: Action::Redact { placeholder: self.placeholder.clone() },
        }
    }
}

/// The default profile: every built-in detector, redacting.
pub fn default_config() -> MaskerConfig {
    MaskerConfig { detectors: builtin().iter().map(PatternDetector::to_config).collect(), fields: Vec::new() }
}
