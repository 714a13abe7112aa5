//! Email addresses: dot-atoms with plus-addressing, internationalised local
//! parts and IDN domains (Unicode or `xn--` punycode).
//!
//! Anchored on `@` (found with `memchr`): the local part is walked left from
//! the anchor (at most 64 bytes, never before the scan position), the domain
//! right over labels (at most 255 bytes). The last label must look like a
//! top-level domain: letters, `xn--…`, or Unicode letters, and not one of the
//! file extensions that make `icon@2x.png` look like an address.

use super::{DetectorId, Hay, Match, work};
use crate::mask::bytes::{char_at, char_before};

const MAX_LOCAL: usize = 64;
const MAX_DOMAIN: usize = 255;
const MAX_LABEL: usize = 63;

#[derive(Debug)]
pub struct EmailDetector {
    id: DetectorId,
    /// Last labels that are file extensions, not domains.
    denied_tlds: LabelSet,
}

/// A set of labels, compared without regard to ASCII case. Every address
/// asks once, so it is built for lookups: a linear walk over the ~70
/// defaults cost ~700 instructions an address, a binary search over byte
/// strings a `memcmp` call a step (2% of the proxy's CPU on 64 KB order
/// responses), a binary search over integers ~110. A label of up to eight
/// bytes is packed into a `u64` (a label holds no zero byte, so
/// zero-padding is unambiguous, and no packed label is 0) and looked up in
/// a hash table of such integers, open addressing with at most a quarter
/// of the slots used (0: empty), so a lookup is one multiply and a probe or
/// two; longer ones, rare, are searched among byte strings.
#[derive(Debug)]
struct LabelSet {
    short: Box<[u64]>,
    /// How far a hash is shifted right to index `short`.
    shift: u32,
    long: Vec<Box<[u8]>>,
}

impl LabelSet {
    fn new(labels: &[String]) -> LabelSet {
        let (mut packed, mut long) = (Vec::new(), Vec::new());
        for label in labels {
            let lower = label.to_ascii_lowercase().into_bytes();
            match pack_lowercase(&lower) {
                Some(p) => packed.push(p),
                None => long.push(lower.into_boxed_slice()),
            }
        }
        packed.sort_unstable();
        packed.dedup();
        long.sort_unstable();
        long.dedup();
        let slots = (packed.len() * 4).next_power_of_two().max(16);
        let shift = u64::BITS - slots.trailing_zeros();
        let mut short = vec![0; slots].into_boxed_slice();
        for p in packed {
            let mut i = slot_of(p, shift);
            while short[i] != 0 {
                i = (i + 1) & (slots - 1);
            }
            short[i] = p;
        }
        LabelSet { short, shift, long }
    }

    /// Whether `label` (at most [`MAX_LABEL`] bytes) is in the set.
    fn contains(&self, label: &[u8]) -> bool {
        if let Some(packed) = pack_lowercase(label) {
            let mask = self.short.len() - 1;
            let mut i = slot_of(packed, self.shift);
            loop {
                match self.short[i] {
                    0 => return false,
                    p if p == packed => return true,
                    _ => i = (i + 1) & mask,
                }
            }
        }
        let mut lower = [0u8; MAX_LABEL];
        let Some(lower) = lower.get_mut(..label.len()) else { return false };
        lower.copy_from_slice(label);
        lower.make_ascii_lowercase();
        self.long.binary_search_by(|d| (**d).cmp(lower)).is_ok()
    }
}

/// The slot of a packed label in a table of `2^(64 - shift)` slots
/// (Fibonacci hashing: the top bits of a multiply by 2^64 / φ).
#[inline(always)]
fn slot_of(packed: u64, shift: u32) -> usize {
    (packed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> shift) as usize
}

/// `label`, lowercased, in the bytes of a `u64` (first byte highest,
/// zero-padded), if it has one to eight bytes. Shifted in a byte at a
/// time: copying the label into a zeroed array and loading that as a
/// `u64` stalled on store forwarding (the `memcpy`'s narrow stores, then
/// one wide load), 12% of the email detector's time.
#[inline(always)]
fn pack_lowercase(label: &[u8]) -> Option<u64> {
    if label.is_empty() || label.len() > 8 {
        return None;
    }
    let packed = label.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b.to_ascii_lowercase()));
    Some(packed << (8 * (8 - label.len())))
}

impl EmailDetector {
    pub const MAX_LEN: usize = MAX_LOCAL + 1 + MAX_DOMAIN;

    pub fn new(id: DetectorId, denied_tlds: &[String]) -> EmailDetector {
        EmailDetector { id, denied_tlds: LabelSet::new(denied_tlds) }
    }

    pub fn find(&self, hay: &Hay, pos: usize, limit: usize) -> Option<Match> {
        let bytes = hay.bytes;
        // An address that starts before `limit` has its `@` at most
        // MAX_LOCAL bytes further on.
        let search_end = bytes.len().min(limit + MAX_LOCAL + 1);
        let mut from = pos;
        while from < search_end {
            let at = from + memchr::memchr(b'@', &bytes[from..search_end])?;
            from = at + 1;
            let Some(start) = local_part_start(bytes, at, pos) else {
                continue;
            };
            // Starts only grow with the anchor: a local part never spans an `@`.
            if start >= limit {
                return None;
            }
            if let Some(end) = self.domain_end(bytes, at + 1) {
                return Some(Match { start, end, detector: self.id });
            }
        }
        None
    }

    /// The end of the longest run of labels after `from` that forms a domain
    /// with a plausible top-level label.
    fn domain_end(&self, bytes: &[u8], from: usize) -> Option<usize> {
        let cap = bytes.len().min(from + MAX_DOMAIN);
        let mut i = from;
        let mut labels = 0;
        let mut best = None;
        loop {
            let label_start = i;
            let mut tld_like = Tld::Letters;
            while i < cap {
                work::charge(1);
                let b = bytes[i];
                let class = CLASS[b as usize];
                if class & LETTER != 0 {
                    i += 1;
                } else if class & LABEL_ONLY != 0 {
                    tld_like = Tld::No;
                    i += 1;
                } else if b >= 0x80 {
                    match char_at(bytes, i) {
                        Some((c, n)) if c.is_alphanumeric() && i + n <= cap => {
                            if !c.is_alphabetic() {
                                tld_like = Tld::No;
                            }
                            i += n;
                        }
                        _ => break,
                    }
                } else {
                    break;
                }
            }
            let label = &bytes[label_start..i];
            if label.is_empty() || label.len() > MAX_LABEL || label[0] == b'-' || label[label.len() - 1] == b'-' {
                return best;
            }
            labels += 1;
            if labels >= 2 && self.is_top_level(label, tld_like) {
                best = Some(i);
            }
            let next_is_label = matches!(bytes.get(i + 1), Some(&b) if b.is_ascii_alphanumeric() || b >= 0x80);
            if i < cap && bytes[i] == b'.' && next_is_label {
                i += 1;
            } else {
                return best;
            }
        }
    }

    fn is_top_level(&self, label: &[u8], tld_like: Tld) -> bool {
        let punycode = label.len() > 4 && label[..4].eq_ignore_ascii_case(b"xn--");
        let letters = tld_like == Tld::Letters && label.len() >= 2;
        (letters || punycode) && !self.denied_tlds.contains(label)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tld {
    Letters,
    No,
}

/// Byte classes, looked up once a byte instead of a range test and the
/// punctuation compares (~55 instructions less an address; the two walks
/// are still most of the detector's time).
///
/// `LOCAL`: ASCII allowed in a local part (the practical subset of RFC
/// 5322 atext that addresses use; `=`, `/` and quotes would swallow `key=`
/// and quoting around an address). `LETTER`: an ASCII letter. `LABEL_ONLY`:
/// an ASCII digit or `-`, which a domain label may hold and a top-level
/// label may not.
const LOCAL: u8 = 1;
const LETTER: u8 = 2;
const LABEL_ONLY: u8 = 4;

static CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 128 {
        let byte = b as u8;
        table[b] = if byte.is_ascii_alphabetic() {
            LOCAL | LETTER
        } else if byte.is_ascii_digit() || byte == b'-' {
            LOCAL | LABEL_ONLY
        } else if matches!(byte, b'.' | b'_' | b'%' | b'+') {
            LOCAL
        } else {
            0
        };
        b += 1;
    }
    table
};

/// Walks left from the `@` at `at` over the local part; returns where it
/// starts, or `None` when there is no valid local part. Never goes before
/// `floor` and never takes more than 64 bytes. A doubled dot ends the walk
/// (the part after it is taken); a trailing dot makes the candidate invalid.
fn local_part_start(bytes: &[u8], at: usize, floor: usize) -> Option<usize> {
    let lowest = at.saturating_sub(MAX_LOCAL).max(floor);
    let mut i = at;
    let mut prev_dot = false;
    while i > lowest {
        work::charge(1);
        let b = bytes[i - 1];
        if b < 0x80 {
            if CLASS[b as usize] & LOCAL == 0 {
                break;
            }
            if b == b'.' {
                if i == at {
                    return None;
                }
                if prev_dot {
                    i += 1;
                    break;
                }
            }
            prev_dot = b == b'.';
            i -= 1;
        } else {
            match char_before(bytes, i, lowest) {
                Some((c, start)) if c.is_alphanumeric() => {
                    prev_dot = false;
                    i = start;
                }
                _ => break,
            }
        }
    }
    while i < at && bytes[i] == b'.' {
        i += 1;
    }
    (i < at).then_some(i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::detect::{Engine, testing::matches};

    fn emails(text: &str) -> Vec<String> {
        matches(Engine::Email(EmailDetector::new(0, &["png".into(), "jpg".into()])), text, "")
    }

    #[test]
    fn finds_dot_atoms_plus_addressing_and_idn() {
        assert_eq!(emails("mail john.doe+tag@example.co.uk now"), ["john.doe+tag@example.co.uk"]);
        assert_eq!(emails("桃子.阿部@example.jp"), ["桃子.阿部@example.jp"]);
        assert_eq!(emails("user@xn--80ak6aa92e.com"), ["user@xn--80ak6aa92e.com"]);
        assert_eq!(emails("ivan@пример.рф"), ["ivan@пример.рф"]);
    }

    #[test]
    fn trims_sentence_punctuation_and_quotes() {
        assert_eq!(emails("write to <a@b.io>."), ["a@b.io"]);
        assert_eq!(emails("'x@y.org'"), ["x@y.org"]);
        assert_eq!(emails("..lead@dots.com"), ["lead@dots.com"]);
        assert_eq!(emails("a..b@dots.com"), ["b@dots.com"]);
    }

    #[test]
    fn rejects_non_addresses() {
        assert!(emails("icon@2x.png").is_empty());
        assert!(emails("logo@brand.JPG").is_empty());
        assert!(emails("a@b.png").is_empty() && emails("a@b.jpg").is_empty());
        assert!(emails("pkg@1.2.3").is_empty());
        assert!(emails("user@localhost").is_empty());
        assert!(emails("trailing.@dot.com").is_empty());
        assert!(emails("@handle on x.com").is_empty());
    }

    #[test]
    fn label_sets_answer_in_any_case_short_or_long() {
        let listed = ["png", "JPG", "gz", "webmanifest", "torrent", "toolongfor8"];
        let set = LabelSet::new(&listed.map(String::from));
        for label in ["png", "PNG", "Jpg", "gz", "WebManifest", "torrent", "TORRENT", "toolongfor8"] {
            assert!(set.contains(label.as_bytes()), "{label}");
        }
        for label in ["pn", "pngs", "g", "gzz", "webmanifes", "webmanifests", "torren", "toolongfor", "com", ""] {
            assert!(!set.contains(label.as_bytes()), "{label}");
        }
    }

    /// Enough labels that probes collide and wrap around the table.
    #[test]
    fn label_sets_find_every_member_of_a_large_set_and_nothing_else() {
        let label = |n: usize| -> String {
            let len = 1 + n % 8;
            (0..len).map(|k| (b'a' + ((n * 7 + k * 13 + n / 26) % 26) as u8) as char).collect()
        };
        let members: Vec<String> = (0..300).map(label).collect();
        let set = LabelSet::new(&members);
        for m in &members {
            assert!(set.contains(m.as_bytes()) && set.contains(m.to_uppercase().as_bytes()), "{m}");
        }
        let others: Vec<String> = (300..900).map(label).filter(|l| !members.contains(l)).collect();
        assert!(others.len() > 100);
        for o in &others {
            assert!(!set.contains(o.as_bytes()), "{o}");
        }
    }

    #[test]
    fn local_part_is_capped_at_64_bytes() {
        let long = format!("{}@example.com", "a".repeat(100));
        assert_eq!(emails(&long), [format!("{}@example.com", "a".repeat(64))]);
    }
}
