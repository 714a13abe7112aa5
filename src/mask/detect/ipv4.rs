//! IPv4 addresses: four dotted octets of at most 255 without leading
//! zeros, unless a word just before (`version 1.2.3.4`) says otherwise.
//!
//! Depends only on [`super::digits`] and [`super::words`].

use super::digits::{Number, SEP_DOT, before};
use super::words::WordList;
use super::{DetectorId, Hay};

/// IPv4's settings.
#[derive(Debug)]
pub struct Ipv4Detector {
    pub id: DetectorId,
    /// Words just before that make `1.2.3.4` a version, not an address.
    pub negative_words: WordList,
}

impl Ipv4Detector {
    /// Whether the number `s` is an IPv4 address.
    pub fn accepts(&self, hay: &Hay, s: &Number) -> bool {
        if s.groups().len() != 4 || s.seps != SEP_DOT || s.plus {
            return false;
        }
        let mut k = 0;
        for &len in s.groups() {
            // Length first: a group can be 19 digits, past any u32.
            if len > 3 {
                return false;
            }
            let g = &s.digits()[k..k + len as usize];
            k += len as usize;
            let v = g.iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32);
            if v > 255 || (len > 1 && g[0] == b'0') {
                return false;
            }
        }
        !self.negative_words.in_text(before(hay.bytes, s.start, 24))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::detect::numeric::NumericDetector;
    use crate::mask::detect::{Engine, testing::matches};

    fn found(text: &str) -> Vec<String> {
        let ipv4 = Ipv4Detector { id: 3, negative_words: WordList::new(&["version".into()]) };
        matches(Engine::Numeric(Box::new(NumericDetector { ipv4: Some(ipv4), ..NumericDetector::default() })), text, "")
    }

    #[test]
    fn ipv4_octets_are_checked_and_versions_skipped() {
        assert_eq!(found("from 192.168.10.200:443"), ["192.168.10.200"]);
        assert!(found("version 1.2.3.4").is_empty());
        assert!(found("v1.2.3.4").is_empty());
        assert!(found("10.0.19041.1234").is_empty());
        assert!(found("256.1.1.1").is_empty());
        // engine_chunking with overflow checks on: an octet's value was
        // computed before its length was checked.
        assert!(found("12345678901.1.1.1").is_empty());
    }
}
