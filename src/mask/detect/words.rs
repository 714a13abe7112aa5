//! Context words and key tokens, matched with one Aho-Corasick automaton
//! per list (ASCII case-insensitive) instead of comparing every word at
//! every position.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use super::work;

/// A list of words, such as the phone detector's context words.
#[derive(Debug)]
pub struct WordList {
    automaton: Option<AhoCorasick>,
    lengths: Vec<usize>,
    /// Each word's [`letter_set`]: a word can occur in a key or a text
    /// only if it has all the word's letters, which rules out most keys,
    /// and the digit runs before numbers, for a few instructions before
    /// the automaton runs.
    letter_sets: Vec<u64>,
    /// The shortest word: a shorter key holds none.
    min_len: usize,
}

/// The bytes of `s` as a set: bits 0–25 for ASCII letters (either case),
/// 26–35 for digits, 36 for every non-ASCII byte, and the other bytes
/// folded into bits 37–63. Folding only merges distinct bytes, so "word ⊄
/// text" stays a proof that the word is absent. (Digits and non-ASCII
/// bytes have bits of their own so that a run of digit groups does not
/// seem to hold `#` or `電話`.)
fn letter_set(s: &[u8]) -> u64 {
    s.iter().fold(0, |set, &b| set | LETTER_BIT[b as usize])
}

/// Each byte's bit in a [`letter_set`], looked up rather than computed:
/// the set is taken of every key a number is judged under.
static LETTER_BIT: [u64; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        let lower = byte.to_ascii_lowercase();
        table[b] = if lower.is_ascii_lowercase() {
            1 << (lower - b'a')
        } else if byte.is_ascii_digit() {
            1 << (26 + byte - b'0')
        } else if byte >= 0x80 {
            1 << 36
        } else {
            1 << (37 + byte % 27)
        };
        b += 1;
    }
    table
};

impl WordList {
    pub fn new(words: &[String]) -> WordList {
        let words: Vec<String> = words.iter().map(|w| w.to_lowercase()).filter(|w| !w.is_empty()).collect();
        let automaton = (!words.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&words)
                    .ok()
            })
            .flatten();
        WordList {
            automaton,
            lengths: words.iter().map(String::len).collect(),
            letter_sets: words.iter().map(|w| letter_set(w.as_bytes())).collect(),
            min_len: words.iter().map(String::len).min().unwrap_or(0),
        }
    }

    /// Whether some word's letters are all in `text` (see [`letter_set`]);
    /// false proves no listed word occurs in it.
    fn may_occur_in(&self, text: &[u8]) -> bool {
        let have = letter_set(text);
        self.letter_sets.iter().any(|&need| need & !have == 0)
    }

    /// Whether a listed word occurs in `text` starting at a word start (a
    /// word that begins with a letter must not follow another letter:
    /// `tel` is not found in `hotel`).
    pub fn in_text(&self, text: &[u8]) -> bool {
        let Some(ac) = &self.automaton else {
            return false;
        };
        work::charge(text.len());
        // A window of digits and spaces (a run of digit groups) has no
        // letters, so it holds none of the usual words: the set test
        // costs a few instructions a byte, the automaton ~20.
        if !self.may_occur_in(text) {
            return false;
        }
        ac.find_overlapping_iter(text).any(|m| {
            let s = m.start();
            !(s > 0 && text[s - 1].is_ascii_alphabetic() && text[s].is_ascii_alphabetic())
        })
    }

    /// Whether a JSON key names this list: a listed word equals one of the
    /// key's tokens (split at non-alphanumerics and camelCase humps), or a
    /// word of five letters or more occurs inside a token (`cellphone`,
    /// `phonenumber`). `hotel_id` does not name `tel`.
    pub fn in_key(&self, key: &[u8]) -> bool {
        let Some(ac) = &self.automaton else {
            return false;
        };
        let key = &key[..key.len().min(256)];
        if key.len() < self.min_len {
            return false;
        }
        if !self.may_occur_in(key) {
            return false;
        }
        // A token boundary at `i`: an edge of the key, a non-alphanumeric on
        // either side, or a camelCase hump (`phone|Number`).
        let boundary = |i: usize| {
            i == 0
                || i == key.len()
                || !key[i - 1].is_ascii_alphanumeric()
                || !key[i].is_ascii_alphanumeric()
                || (key[i].is_ascii_uppercase() && key[i - 1].is_ascii_lowercase())
        };
        ac.find_overlapping_iter(key)
            .any(|m| self.lengths[m.pattern().as_usize()] >= 5 || (boundary(m.start()) && boundary(m.end())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(words: &[&str]) -> WordList {
        WordList::new(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn key_tokens_split_camel_case_and_separators() {
        let l = list(&["phone", "tel", "id"]);
        assert!(l.in_key(b"phoneNumber"));
        assert!(l.in_key(b"home_tel"));
        assert!(l.in_key(b"cellphone"));
        assert!(l.in_key(b"TEL"));
        assert!(l.in_key(b"orderId"));
        assert!(l.in_key(b"hotel_id"), "id is a token of hotel_id");
        assert!(!l.in_key(b"hotel"));
        assert!(!l.in_key(b"telemetry"));
        assert!(!l.in_key(b"valid"));
    }

    #[test]
    fn the_letter_prefilter_never_hides_a_match() {
        let l = list(&["phone", "tel", "msisdn", "e-mail", "#"]);
        for key in ["PHONE", "Tel", "home_tel", "MSISDN", "user_e-mail", "ref#", "phoneNumber"] {
            assert!(l.in_key(key.as_bytes()), "{key}");
        }
        for key in ["at", "created_at", "sku", "qty"] {
            assert!(!l.in_key(key.as_bytes()), "{key}");
        }
    }

    /// Words of punctuation or non-ASCII letters pass the set test where
    /// they occur, and runs of digit groups, which hold none, fail it.
    #[test]
    fn the_letter_prefilter_never_hides_a_word_in_text() {
        let l = list(&["#", "電話", "id:", "no.", "tel."]);
        for text in ["ref # 12", "電話 03 1234", "id: 42", "No. 7", "Tel. 0161"] {
            assert!(l.may_occur_in(text.as_bytes()) && l.in_text(text.as_bytes()), "{text}");
        }
        for text in ["12 34 56 78", "0161-496 (0066) 1.5", "+44 20 7946 0958"] {
            assert!(!l.may_occur_in(text.as_bytes()), "{text}");
            assert!(!l.in_text(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn words_in_text_need_a_word_start() {
        let l = list(&["tel", "call", "#"]);
        assert!(l.in_text(b"Tel: "));
        assert!(l.in_text(b"please CALL "));
        assert!(l.in_text(b"order #"));
        assert!(!l.in_text(b"hotel "));
        assert!(!list(&[]).in_text(b"anything"));
    }
}
