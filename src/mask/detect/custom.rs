//! User-defined detectors: bounded regular expressions and keyword lists
//! (Aho-Corasick).
//!
//! A regex must have a bounded match length so the windowing contract holds
//! (a match is decided from at most `max_len` bytes); `EMP-\d+` is refused
//! at build time with a hint to write `EMP-\d{1,10}`.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input, MatchKind};
use regex::bytes::{Regex, RegexBuilder};

use super::{DetectorId, Hay, Match};
use crate::mask::bytes::{word_char_at, word_char_before};

/// Why a custom detector could not be built.
#[derive(Debug, thiserror::Error)]
pub enum CustomError {
    #[error("invalid regex: {0}")]
    Regex(String),
    #[error(
        "the regex can match text of unbounded length; bound every repetition (for example `\\d{{1,12}}` instead of `\\d+`)"
    )]
    Unbounded,
    #[error("the regex can match the empty string")]
    Empty,
    #[error("the keyword list is empty or has an empty keyword")]
    NoKeywords,
    #[error("keyword list: {0}")]
    Keywords(String),
}

#[derive(Debug)]
pub struct RegexDetector {
    id: DetectorId,
    regex: Regex,
    max_len: usize,
}

impl RegexDetector {
    pub fn new(id: DetectorId, pattern: &str, case_insensitive: bool) -> Result<RegexDetector, CustomError> {
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .case_insensitive(case_insensitive)
            .build()
            .parse(pattern)
            .map_err(|e| CustomError::Regex(e.to_string()))?;
        let props = hir.properties();
        let max_len = props.maximum_len().ok_or(CustomError::Unbounded)?;
        if props.minimum_len() == Some(0) {
            return Err(CustomError::Empty);
        }
        let regex = RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .build()
            .map_err(|e| CustomError::Regex(e.to_string()))?;
        Ok(RegexDetector { id, regex, max_len })
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    pub fn find(&self, hay: &Hay, pos: usize, limit: usize) -> Option<Match> {
        // Leftmost-first: a match that starts before `limit` lies wholly
        // inside the hay, so no earlier start can be missing.
        let m = self.regex.find_at(hay.bytes, pos)?;
        (m.start() < limit).then_some(Match { start: m.start(), end: m.end(), detector: self.id })
    }
}

#[derive(Debug)]
pub struct KeywordDetector {
    id: DetectorId,
    automaton: AhoCorasick,
    max_len: usize,
    whole_words: bool,
}

impl KeywordDetector {
    pub fn new(
        id: DetectorId,
        keywords: &[String],
        case_insensitive: bool,
        whole_words: bool,
    ) -> Result<KeywordDetector, CustomError> {
        if keywords.is_empty() || keywords.iter().any(String::is_empty) {
            return Err(CustomError::NoKeywords);
        }
        let automaton = AhoCorasickBuilder::new()
            .match_kind(MatchKind::LeftmostLongest)
            .ascii_case_insensitive(case_insensitive)
            .build(keywords)
            .map_err(|e| CustomError::Keywords(e.to_string()))?;
        let max_len = keywords.iter().map(String::len).max().unwrap_or(1);
        Ok(KeywordDetector { id, automaton, max_len, whole_words })
    }

    pub fn max_len(&self) -> usize {
        self.max_len
    }

    pub fn find(&self, hay: &Hay, pos: usize, limit: usize) -> Option<Match> {
        let mut from = pos;
        while from < limit {
            let m = self.automaton.find(Input::new(hay.bytes).span(from..hay.bytes.len()))?;
            if m.start() >= limit {
                return None;
            }
            let bounded =
                !self.whole_words || (!word_char_before(hay.bytes, m.start()) && !word_char_at(hay.bytes, m.end()));
            if bounded {
                return Some(Match { start: m.start(), end: m.end(), detector: self.id });
            }
            from = m.start() + 1;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::detect::{Engine, testing::matches};

    #[test]
    fn regexes_must_be_bounded_and_non_empty() {
        assert!(matches!(RegexDetector::new(0, r"EMP-\d+", false), Err(CustomError::Unbounded)));
        assert!(matches!(RegexDetector::new(0, r"\d{0,3}", false), Err(CustomError::Empty)));
        assert!(matches!(RegexDetector::new(0, r"(", false), Err(CustomError::Regex(_))));
        let d = RegexDetector::new(0, r"EMP-\d{6}", false).unwrap();
        assert_eq!(matches(Engine::Regex(d), "by EMP-004211 today", ""), ["EMP-004211"]);
    }

    #[test]
    fn keywords_respect_word_boundaries_and_case() {
        let d = KeywordDetector::new(0, &["falcon".into(), "Project Falcon".into()], true, true).unwrap();
        assert_eq!(
            matches(Engine::Keywords(d), "PROJECT FALCON and falconry, falcon.", ""),
            ["PROJECT FALCON", "falcon"]
        );
    }
}
