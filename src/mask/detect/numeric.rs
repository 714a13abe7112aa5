//! The digit-anchored detectors' shared scan: phone numbers, payment
//! cards (Luhn), US SSNs, IPv4 addresses and IBANs (mod-97), each kind
//! validated in its own module.
//!
//! The next digit is found 16 bytes at a time ([`find_digit`]); from a
//! digit that starts a number (not the middle of a word, a decimal, a date
//! or an id) the span of digit groups and separators is tokenised once
//! ([`super::digits`]), then each enabled kind validates its cuts. Most
//! digit runs in real JSON (ids, timestamps, prices) are rejected by the
//! span shape before any table is consulted.
//!
//! Depends on [`super::digits`] and the kinds' own modules; none of them
//! depends on it (but for their tests, which scan through it).

use super::KeyContext;
use super::card::{is_card, is_card_number};
use super::digits::{MAX_SPAN_LEN, Number, Span, continues_run, joined_to_digits, number_start};
use super::iban::IbanDetector;
use super::ipv4::Ipv4Detector;
use super::phone::PhoneDetector;
use super::ssn::SsnDetector;
use super::{DetectorId, Hay, Match, work};
use crate::mask::bytes::{byte_at, digit_run_end, find_digit};

/// The most bytes `continues_run` reads before a candidate (a group of
/// up to 19 digits and its separators), counted as work.
const MAX_DIGITS_BEFORE: usize = 22;

#[derive(Debug, Default)]
pub struct NumericDetector {
    pub phone: Option<PhoneDetector>,
    pub card: Option<DetectorId>,
    pub ssn: Option<SsnDetector>,
    pub ipv4: Option<Ipv4Detector>,
    pub iban: Option<IbanDetector>,
}

impl NumericDetector {
    pub const MAX_LEN: usize = MAX_SPAN_LEN;
    /// The fewest digits any kind but IPv4 matches (a phone number).
    pub const MIN_DIGITS: usize = 7;

    /// Whether a segment with these anchor counts can hold a match (see
    /// [`super::Prefilter::admits_numeric`]).
    #[inline(always)]
    pub fn may_match(&self, p: &super::Prefilter) -> bool {
        p.admits_numeric(self.ipv4.is_some())
    }

    /// The leftmost match from `pos` (the longest of those that start
    /// there) among the candidates that start before `limit`; or, when
    /// there is none, the position before which no match starts: `limit`,
    /// or a candidate's start when the match it gives (a later cut,
    /// `2021 020 7946 0958`) starts at `limit` or later. Another engine may
    /// still find something before that match, so the candidate waits for
    /// the window to reach further.
    ///
    /// Each candidate is decided on its own, from the bytes around it (the
    /// windowing contract in [`super`]): a group that continues a run of
    /// digit groups is not a start (see `continues_run`), so a rejected
    /// span needs no skipping and a scan entering a run anywhere tries the
    /// same candidates. Candidates are read on while one could still give
    /// an earlier or, from the same start, a longer match: in
    /// `1700000000 020 7946 0958` the epoch's capped span offers
    /// `020 7946`, the next group's span the whole number.
    pub fn find(&self, hay: &Hay, pos: usize, limit: usize) -> Result<(Match, usize), usize> {
        let b = hay.bytes;
        let mut next = pos;
        // The last span whose cuts were all tried and rejected. In a long
        // run every group can be a candidate (each span reaches one group
        // further than the one before), and the spans overlap: without
        // this, each cut would be tried once per span holding it.
        let mut rejected: Option<(usize, usize)> = None;
        // The last candidate's span: in a run, the group before's, which
        // `continues_run` asks about and the next span is read on from.
        let mut last: Option<Span> = None;
        // The leftmost match so far, the longest among equal starts (a
        // later candidate's span can reach past an earlier one's cap), and
        // the candidate that gave it.
        let mut best: Option<(Match, usize)> = None;
        let consider = |best: &mut Option<(Match, usize)>, m: Match, from: usize| {
            if best.is_none_or(|(b, _)| m.start < b.start || (m.start == b.start && m.end > b.end)) {
                *best = Some((m, from));
            }
        };
        // Every candidate anchored at a digit at `next` or later starts at
        // `next - 2` or later: none can start before `limit` or the match
        // found once `next` is past them (asked before the next digit is
        // looked for, which after a match is mostly inside it).
        let past = |next: usize, best: &Option<(Match, usize)>| {
            next >= limit + 2 || best.is_some_and(|(m, _)| next > m.start + 2)
        };
        while !past(next, &best)
            && let Some(digit) = find_digit(b, next)
        {
            if past(digit, &best) {
                break;
            }
            // An IBAN starts with two capital letters before its check digits.
            if let Some(iban) = &self.iban
                && digit >= pos + 2
                && digit - 2 < limit
                && b[digit - 2].is_ascii_uppercase()
                && b[digit - 1].is_ascii_uppercase()
                && let Some(end) = iban.match_at(b, digit - 2)
            {
                consider(&mut best, Match { start: digit - 2, end, detector: iban.id }, digit - 2);
            }
            next = digit_run_end(b, digit);
            let Some(start) = number_start(b, digit, pos) else { continue };
            if start >= limit || best.is_some_and(|(m, _)| start > m.start) {
                break;
            }
            let parsed = match &last {
                Some(before) if before.next_starts_at(start) => before.parse_next(b),
                _ => Span::parse(b, start),
            };
            debug_assert_eq!(parsed, Span::parse(b, start));
            let run_before = continues_run(b, parsed.as_ref(), digit, hay.matched_to, last.as_ref());
            last = parsed;
            let Some(span) = &last else { continue };
            // The span's bytes, and those `continues_run` read before it.
            work::charge(span.end - span.start + MAX_DIGITS_BEFORE);
            if run_before {
                continue;
            }
            let tried_to = rejected.filter(|&(from, to)| from < span.start && span.start <= to).map_or(0, |(_, to)| to);
            match self.match_from(hay, span, tried_to) {
                Some(m) if m.start < limit => consider(&mut best, m, start),
                Some(_) if best.is_none() => return Err(start),
                Some(_) => {}
                // Without parentheses or a `+`, every cut of this span was
                // tried: the next span need not try again those it shares.
                None if !span.has_paren_or_plus() => rejected = Some((span.start, span.end)),
                None => rejected = None,
            }
        }
        best.ok_or(limit)
    }

    /// The match the number `span` gives: the leftmost, then longest,
    /// valid number among its groups, cut at spaces. A span can hold
    /// several numbers side by side (`415 555 2671 415 555 2672`), or a
    /// number after a date or a list of ids (`2024 11 21 10 30 45 020 7946
    /// 0958`); a number found first in it ends the run there, and the scan
    /// restarts after it, so the next is decided afresh. Inside a run only
    /// a region's own grouping makes a national number (see
    /// [`PhoneDetector::accepts`]): the `40 50 60 70 80` of `10 20 … 90`
    /// passes a plan's digit pattern, but no region writes it so. An
    /// international span (`+44 …`) or one with an area code in
    /// parentheses (`(0161) …`) keeps its head, so its number starts at its
    /// first group. (`00 44 …` is tried from its head first, like any
    /// span; `00` is also the seconds of a spaced time.)
    ///
    /// Cuts that end at `tried_to` or before were tried, and rejected, as
    /// cuts of the span before (see [`NumericDetector::find`]).
    fn match_from(&self, hay: &Hay, span: &Span, tried_to: usize) -> Option<Match> {
        let n = span.n_groups;
        let keeps_head = span.keeps_head();
        for a in (0..n).filter(|&a| a == 0 || (!keeps_head && span.cut_ok(a))) {
            // Every cut from here on is a number of fewer digits than
            // groups `a..n` hold (only the whole span may be shorter).
            if a > 0 && span.digits_in(a, n) < Self::MIN_DIGITS {
                break;
            }
            for k in (a + 1..=n).rev().filter(|&k| k == n || span.cut_ok(k)) {
                // A cut is a number of seven digits or more (IPv4's four
                // come only whole), and shorter ones follow.
                if (a, k) != (0, n) && span.digits_in(a, k) < Self::MIN_DIGITS {
                    break;
                }
                if span.group_end(k - 1) <= tried_to {
                    break;
                }
                let number = span.number(a, k);
                work::charge(number.end - number.start);
                if let Some(detector) = self.classify(hay, &number, joined_to_digits(hay, &number)) {
                    return Some(Match { start: number.start, end: number.end, detector });
                }
            }
        }
        None
    }

    /// Whether a bare JSON integer (digits only, already checked) could be
    /// a match: only a card (brand prefix, length, Luhn) or, under a key
    /// that says so (`key`, asked only for a length that needs it), a
    /// phone or an SSN can be. Decides most numbers without running the
    /// scan.
    #[inline]
    pub fn integer_may_match(&self, digits: &[u8], key: impl FnOnce() -> KeyContext) -> bool {
        let n = digits.len();
        if self.card.is_some() && (13..=19).contains(&n) && is_card_number(digits) {
            return true;
        }
        let ssn = n == 9 && self.ssn.is_some();
        let phone = (Self::MIN_DIGITS..=15).contains(&n) && self.phone.is_some();
        if !(ssn || phone) {
            return false;
        }
        let key = key();
        (ssn && key.ssn) || (phone && key.phone)
    }

    /// What `key` says of the numbers under it.
    pub fn key_context(&self, key: &[u8]) -> KeyContext {
        KeyContext {
            phone: self.phone.as_ref().is_some_and(|p| p.has_key_context(key)),
            ssn: self.ssn.as_ref().is_some_and(|s| s.context_keys.in_key(key)),
        }
    }

    fn classify(&self, hay: &Hay, span: &Number, in_run: bool) -> Option<DetectorId> {
        if !span.ends_cleanly(hay.bytes) {
            // `203.0.113.7:8443` is an address and a port.
            let port = byte_at(hay.bytes, span.end) == Some(b':');
            return self.ipv4.as_ref().filter(|ip| port && ip.accepts(hay, span)).map(|ip| ip.id);
        }
        if let Some(ssn) = &self.ssn
            && ssn.accepts(hay, span)
        {
            return Some(ssn.id);
        }
        if let Some(id) = self.card
            && is_card(span)
        {
            return Some(id);
        }
        if let Some(ip) = &self.ipv4
            && ip.accepts(hay, span)
        {
            return Some(ip.id);
        }
        self.phone.as_ref().filter(|p| p.accepts(hay, span, in_run)).map(|p| p.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::detect::words::WordList;
    use crate::mask::detect::{Engine, testing::matches};

    fn numeric() -> NumericDetector {
        NumericDetector {
            card: Some(1),
            ssn: Some(SsnDetector {
                id: 2,
                context_keys: WordList::new(&["ssn".into()]),
                context_words: WordList::new(&["ssn".into()]),
            }),
            ipv4: Some(Ipv4Detector { id: 3, negative_words: WordList::new(&["version".into()]) }),
            ..NumericDetector::default()
        }
    }

    fn found(text: &str) -> Vec<String> {
        matches(Engine::Numeric(Box::new(numeric())), text, "")
    }

    #[test]
    fn numbers_inside_words_dates_and_decimals_are_not_starts() {
        assert!(found("ORD4111111111111111").is_empty());
        assert!(found("x-4111111111111111").is_empty());
        assert!(found("4111111111111111.5").is_empty());
    }
}
