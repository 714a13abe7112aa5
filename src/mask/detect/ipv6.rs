//! IPv6 addresses, anchored on `:` and validated by the standard library's
//! parser. Requires a `::` or all eight groups, and word boundaries on both
//! sides, so times (`10:30:00`), MACs and `std::vec` stay untouched.

use std::net::Ipv6Addr;

use super::{DetectorId, Hay, Match};

#[derive(Debug)]
pub struct Ipv6Detector {
    pub id: DetectorId,
}

fn is_v6_char(b: u8) -> bool {
    b.is_ascii_hexdigit() || b == b':' || b == b'.'
}

impl Ipv6Detector {
    /// `ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255`
    pub const MAX_LEN: usize = 45;

    /// The leftmost address from `pos` that starts before `limit`.
    ///
    /// A candidate is a run of address characters around a colon, tried
    /// once, from the run's first colon; the run's start is found by
    /// walking back at most [`Self::MAX_LEN`] bytes, whatever `pos` is, so
    /// a window resuming inside a run decides it as one pass would (a run
    /// that began before `pos` was decided there). Clamping the walk at
    /// `pos` made `:::2` whole a rejected run and, resumed after its first
    /// colon, the address `::2` (a fuzz finding).
    pub fn find(&self, hay: &Hay, pos: usize, limit: usize) -> Option<Match> {
        let b = hay.bytes;
        let search_end = b.len().min(limit + Self::MAX_LEN);
        let mut from = pos;
        while from < search_end {
            let colon = from + memchr::memchr(b':', &b[from..search_end])?;
            from = colon + 1;
            // An address never starts with a lone colon: unless a hex digit
            // precedes it or another colon follows, this one is `key: value`
            // or punctuation. Most colons in text end here.
            let hex_before = colon > 0 && b[colon - 1].is_ascii_hexdigit();
            if !hex_before && b.get(colon + 1) != Some(&b':') {
                continue;
            }
            let mut start = colon;
            while start > 0 && colon - start < Self::MAX_LEN && is_v6_char(b[start - 1]) {
                start -= 1;
            }
            if start < pos || b[start..colon].contains(&b':') {
                continue;
            }
            if start >= limit {
                return None;
            }
            let mut end = colon;
            while end < b.len() && end - start < Self::MAX_LEN && is_v6_char(b[end]) {
                end += 1;
            }
            // A trailing dot is punctuation, not part of the address.
            while end > colon + 1 && matches!(b[end - 1], b'.') {
                end -= 1;
            }
            if let Some(m) = self.check(b, start, end) {
                return Some(m);
            }
        }
        None
    }

    fn check(&self, b: &[u8], start: usize, end: usize) -> Option<Match> {
        let word = |i: Option<&u8>| matches!(i, Some(c) if c.is_ascii_alphanumeric() || *c == b'_' || *c >= 0x80);
        if word(start.checked_sub(1).and_then(|i| b.get(i))) || word(b.get(end)) {
            return None;
        }
        // Most colons in text are `key: value` or times: settle those on the
        // bytes before any parsing. An address has `::` or seven colons.
        let cand = &b[start..end];
        let colons = cand.iter().filter(|&&c| c == b':').count();
        if cand.len() < 3 || !(colons == 7 || cand.windows(2).any(|w| w == b"::")) {
            return None;
        }
        // Only ASCII hex, `:` and `.` reach here, so this cannot fail.
        std::str::from_utf8(cand).ok()?.parse::<Ipv6Addr>().ok()?;
        Some(Match { start, end, detector: self.id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::detect::{Engine, testing::matches};

    fn v6(text: &str) -> Vec<String> {
        matches(Engine::Ipv6(Ipv6Detector { id: 0 }), text, "")
    }

    #[test]
    fn finds_full_and_compressed_addresses() {
        assert_eq!(v6("from 2001:db8:85a3::8a2e:370:7334."), ["2001:db8:85a3::8a2e:370:7334"]);
        assert_eq!(v6("[fe80::1]:8080"), ["fe80::1"]);
        assert_eq!(v6("2001:0db8:0000:0000:0000:ff00:0042:8329"), ["2001:0db8:0000:0000:0000:ff00:0042:8329"]);
        assert_eq!(v6("::ffff:192.0.2.128"), ["::ffff:192.0.2.128"]);
    }

    #[test]
    fn leaves_times_macs_and_paths_alone() {
        for s in ["10:30:00", "00:1A:2B:3C:4D:5E", "std::vector", "a::b::c", "12:34"] {
            assert!(v6(s).is_empty(), "{s}");
        }
    }
}
