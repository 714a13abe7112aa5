//! US Social Security numbers: `123-45-6789` (or spaced) anywhere, a bare
//! `123456789` only under a key or after a word that says so; the
//! Administration's never-issued areas, groups and serials are refused.
//!
//! Depends only on [`super::digits`] and [`super::words`].

use super::digits::{Number, SEP_DASH, SEP_DOT, SEP_PAREN, SEP_SPACE, before};
use super::words::WordList;
use super::{DetectorId, Hay};

/// The Social Security number detector's settings.
#[derive(Debug)]
pub struct SsnDetector {
    pub id: DetectorId,
    /// Key tokens and words that admit an unformatted 9-digit SSN.
    pub context_keys: WordList,
    pub context_words: WordList,
}

impl SsnDetector {
    /// Whether the number `s` is an SSN.
    pub fn accepts(&self, hay: &Hay, s: &Number) -> bool {
        if s.digits().len() != 9 || s.plus || s.seps & (SEP_DOT | SEP_PAREN) != 0 {
            return false;
        }
        let formatted = s.groups() == [3, 2, 4] && (s.seps == SEP_DASH || s.seps == SEP_SPACE);
        let bare = s.groups().len() == 1
            && (self.context_keys.in_key(hay.key) || self.context_words.in_text(before(hay.bytes, s.start, 32)));
        if !(formatted || bare) {
            return false;
        }
        let d = s.digits();
        let area = &d[..3];
        area != b"000" && area != b"666" && area[0] != b'9' && &d[3..5] != b"00" && &d[5..] != b"0000"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::detect::numeric::NumericDetector;
    use crate::mask::detect::{Engine, testing::matches};

    fn found(text: &str) -> Vec<String> {
        let ssn = SsnDetector {
            id: 2,
            context_keys: WordList::new(&["ssn".into()]),
            context_words: WordList::new(&["ssn".into()]),
        };
        matches(Engine::Numeric(Box::new(NumericDetector { ssn: Some(ssn), ..NumericDetector::default() })), text, "")
    }

    #[test]
    fn ssns_need_the_dashed_shape_or_context() {
        assert_eq!(found("SSN 123-45-6789"), ["123-45-6789"]);
        assert_eq!(found("ssn: 123456789"), ["123456789"]);
        assert!(found("id 123456789").is_empty());
        assert!(found("666-45-6789 000-12-3456").is_empty());
    }
}
