//! The masking engine: finds PII in bodies and masks it, streaming.
//!
//! A [`Masker`] is built once from a [`MaskerConfig`] (detectors, field
//! rules, actions), is immutable and shared across threads. A
//! [`MaskStream`] masks one body: feed it chunks of any size and it writes
//! masked bytes as it goes, holding only a bounded carry-over; the output is
//! byte-identical however the body is cut.
//!
//! This module knows nothing of HTTP, async runtimes, logging or metrics:
//! callers read [`Stats`] at the end of a stream and report them.
//!
//! No `unsafe` but in the modules that say why they need it (SIMD scans:
//! `bytes`, `json::strings`, `json::member`, `json::plain`), each under
//! `#![allow(unsafe_code)]` (the crate denies it everywhere else).

pub mod action;
pub mod bytes;
pub mod charset;
pub mod content_type;
mod decoded_view;
pub mod detect;
mod encoded_word;
pub mod form;
mod header_params;
pub mod json;
pub mod multipart;
pub mod prescan;
pub mod segment;
pub mod spelling;
mod stream;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

pub use self::action::{Action, HashKey};
pub use self::charset::{Charset, CharsetError, TextStage};
pub use self::detect::phone::PhoneSettings;
pub use self::json::path::PathError;
pub use self::stream::{ContentKind, MaskStream, Stats};
pub use self::value::{Form, ValueMasker};

use self::detect::custom::{CustomError, KeywordDetector, RegexDetector};
use self::detect::email::EmailDetector;
use self::detect::iban::IbanDetector;
use self::detect::ipv4::Ipv4Detector;
use self::detect::ipv6::Ipv6Detector;
use self::detect::numeric::NumericDetector;
use self::detect::phone::PhoneDetector;
use self::detect::ssn::SsnDetector;
use self::detect::words::WordList;
use self::detect::{DetectorId, DetectorSet, Engine};
use self::json::path::FieldRules;

/// What a detector looks for.
#[derive(Clone, Debug)]
pub enum DetectorSpec {
    Email { denied_tlds: Vec<String> },
    Phone(PhoneSettings),
    Card,
    Ssn { context_keys: Vec<String>, context_words: Vec<String> },
    Ipv4 { negative_words: Vec<String> },
    Ipv6,
    Iban { lengths: HashMap<String, u8> },
    Regex { pattern: String, case_insensitive: bool },
    Keywords { words: Vec<String>, case_insensitive: bool, whole_words: bool },
}

/// A named detector with its action.
#[derive(Clone, Debug)]
pub struct DetectorConfig {
    pub name: String,
    pub spec: DetectorSpec,
    pub action: Action,
}

/// A field rule: an action for the whole value at a JSON path.
#[derive(Clone, Debug)]
pub struct FieldRuleConfig {
    pub id: String,
    pub path: String,
    pub action: Action,
}

/// Everything a [`Masker`] is built from.
#[derive(Clone, Debug, Default)]
pub struct MaskerConfig {
    pub detectors: Vec<DetectorConfig>,
    pub fields: Vec<FieldRuleConfig>,
}

/// Why a masker could not be built. Names the detector or rule at fault.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("detector `{name}`: {source}")]
    Custom { name: String, source: CustomError },
    #[error("detector `{name}`: unknown phone region `{region}` (use ISO 3166 codes such as US, GB, FR)")]
    UnknownRegion { name: String, region: String },
    #[error("detector `{name}`: the `{kind}` detector is configured twice")]
    Duplicate { name: String, kind: &'static str },
    #[error("field rule `{id}`: {source}")]
    Path { id: String, source: PathError },
    #[error("too many detectors ({0}); at most {max}", max = u16::MAX)]
    TooMany(usize),
}

/// The immutable, shareable engine for one profile.
#[derive(Debug)]
pub struct Masker {
    detectors: DetectorSet,
    /// Names for [`Stats`], shared by every stream's report.
    detector_names: Vec<Arc<str>>,
    detector_actions: Vec<Action>,
    /// Each detector's placeholder when its action is `redact` and the
    /// placeholder needs no escaping in JSON: written as it is.
    plain_placeholders: Vec<Option<Box<[u8]>>>,
    rules: FieldRules,
    rule_ids: Vec<Arc<str>>,
}

impl Masker {
    pub fn new(config: &MaskerConfig) -> Result<Masker, BuildError> {
        if config.detectors.len() > u16::MAX as usize {
            return Err(BuildError::TooMany(config.detectors.len()));
        }
        let mut custom = Vec::new();
        let mut email = None;
        let mut numeric = NumericDetector::default();
        let mut numeric_used = false;
        let mut ipv6 = None;
        for (i, d) in config.detectors.iter().enumerate() {
            let id = i as DetectorId;
            let dup = |kind| BuildError::Duplicate { name: d.name.clone(), kind };
            let custom_err = |source| BuildError::Custom { name: d.name.clone(), source };
            match &d.spec {
                DetectorSpec::Email { denied_tlds } => {
                    if email.replace(EmailDetector::new(id, denied_tlds)).is_some() {
                        return Err(dup("email"));
                    }
                }
                DetectorSpec::Phone(settings) => {
                    let p = PhoneDetector::new(id, settings)
                        .map_err(|region| BuildError::UnknownRegion { name: d.name.clone(), region })?;
                    if numeric.phone.replace(p).is_some() {
                        return Err(dup("phone"));
                    }
                    numeric_used = true;
                }
                DetectorSpec::Card => {
                    if numeric.card.replace(id).is_some() {
                        return Err(dup("card"));
                    }
                    numeric_used = true;
                }
                DetectorSpec::Ssn { context_keys, context_words } => {
                    let s = SsnDetector {
                        id,
                        context_keys: WordList::new(context_keys),
                        context_words: WordList::new(context_words),
                    };
                    if numeric.ssn.replace(s).is_some() {
                        return Err(dup("ssn"));
                    }
                    numeric_used = true;
                }
                DetectorSpec::Ipv4 { negative_words } => {
                    if numeric
                        .ipv4
                        .replace(Ipv4Detector { id, negative_words: WordList::new(negative_words) })
                        .is_some()
                    {
                        return Err(dup("ipv4"));
                    }
                    numeric_used = true;
                }
                DetectorSpec::Iban { lengths } => {
                    if numeric.iban.replace(IbanDetector::new(id, lengths)).is_some() {
                        return Err(dup("iban"));
                    }
                    numeric_used = true;
                }
                DetectorSpec::Ipv6 => {
                    if ipv6.replace(Ipv6Detector { id }).is_some() {
                        return Err(dup("ipv6"));
                    }
                }
                DetectorSpec::Regex { pattern, case_insensitive } => {
                    custom.push(Engine::Regex(RegexDetector::new(id, pattern, *case_insensitive).map_err(custom_err)?));
                }
                DetectorSpec::Keywords { words, case_insensitive, whole_words } => {
                    let k = KeywordDetector::new(id, words, *case_insensitive, *whole_words).map_err(custom_err)?;
                    custom.push(Engine::Keywords(k));
                }
            }
        }
        // Priority on equal starts: the user's own detectors, then email,
        // then the digit kinds, then IPv6.
        let mut engines = custom;
        engines.extend(email.map(Engine::Email));
        if numeric_used {
            engines.push(Engine::Numeric(Box::new(numeric)));
        }
        engines.extend(ipv6.map(Engine::Ipv6));
        let rules = FieldRules::new(&config.fields)?;
        Ok(Masker {
            detectors: DetectorSet::new(engines),
            detector_names: config.detectors.iter().map(|d| d.name.as_str().into()).collect(),
            detector_actions: config.detectors.iter().map(|d| d.action.clone()).collect(),
            plain_placeholders: config.detectors.iter().map(|d| d.action.plain_placeholder()).collect(),
            rule_ids: config.fields.iter().map(|f| f.id.as_str().into()).collect(),
            rules,
        })
    }

    /// Detector `id`'s replacement when it is a constant that reads the
    /// same in every encoding.
    #[inline(always)]
    fn plain_placeholder(&self, id: DetectorId) -> Option<&[u8]> {
        self.plain_placeholders[id as usize].as_deref()
    }

    /// The longest match any detector can make (the text carry-over bound).
    pub fn max_match_len(&self) -> usize {
        self.detectors.max_len()
    }
}

/// Per-stream counts, kept in plain vectors indexed by detector and rule so
/// the hot path only increments.
#[derive(Clone, Debug, Default)]
pub struct Counters {
    pub detectors: Vec<u64>,
    pub rules: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The proxy shares one masker across worker threads and moves streams
    /// between tasks; this fails to compile if either stops being possible.
    #[test]
    fn masker_is_shareable_and_streams_are_movable() {
        fn shareable<T: Send + Sync>() {}
        fn movable<T: Send>() {}
        shareable::<Masker>();
        movable::<MaskStream>();
    }

    #[test]
    fn stats_list_what_matched_in_the_maskers_order() {
        let masker = Arc::new(Masker::new(&crate::patterns::default_config()).expect("builds"));
        let body = br#"{"a":"ann@example.com","b":"call +44 20 7946 0958","c":"bo@example.org","d":"plain"}"#;
        let (_, stats) = MaskStream::mask_all(masker, ContentKind::Json, body);
        let counted: Vec<(&str, u64)> = stats.detectors.iter().map(|(name, n)| (&**name, *n)).collect();
        assert_eq!(counted, [("email", 2), ("phone", 1)]);
        assert!(stats.rules.is_empty());
        assert_eq!((stats.total(), stats.count("email"), stats.count("card")), (3, 2, 0));
    }
}
