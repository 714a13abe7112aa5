//! Digit-anchored detectors: phone numbers, payment cards (Luhn), US SSNs,
//! IPv4 addresses and IBANs (mod-97).
//!
//! They share one scan: the next digit is found 16 bytes at a time
//! ([`find_digit`]); from a digit that starts a number (not the middle of a
//! word, a decimal, a date or an id) the span of digit groups and separators
//! is tokenised once, then each enabled kind validates it. Most digit runs in
//! real JSON (ids, timestamps, prices) are rejected by the span shape before
//! any table is consulted.

use super::KeyContext;
use super::iban::IbanDetector;
use super::phone::PhoneDetector;
use super::words::WordList;
use super::{DetectorId, Hay, Match};
use crate::mask::bytes::{byte_at, byte_before, digit_run_end, find_digit};

/// Separator kinds seen in a span (bit set).
pub const SEP_SPACE: u8 = 1;
pub const SEP_DASH: u8 = 2;
pub const SEP_DOT: u8 = 4;
pub const SEP_PAREN: u8 = 8;

const MAX_DIGITS: usize = 19;
/// The most digit groups a span holds.
pub const MAX_GROUPS: usize = 8;

/// A run of digit groups and separators, such as `+1 (415) 555-2671`,
/// tokenised once; its candidate numbers are [`Number`] views of it.
#[derive(Debug)]
struct Span {
    start: usize,
    end: usize,
    digits: [u8; MAX_DIGITS],
    n_groups: usize,
    /// Each group's length, where it ends (from `start`: a span is at
    /// most [`NumericDetector::MAX_LEN`] bytes), the separators after it,
    /// and whether a parenthesis is open there (for cutting the span).
    groups: [u8; MAX_GROUPS],
    ends: [u8; MAX_GROUPS],
    after: [u8; MAX_GROUPS],
    open_at: [bool; MAX_GROUPS],
    /// How many digits come before each group (and, after the last, the
    /// span's total).
    digits_before: [u8; MAX_GROUPS + 1],
    plus: bool,
    /// Separators before the first group (a leading `(`).
    lead: u8,
}

/// One candidate number: groups `a..k` of a [`Span`] (all of it, or a cut
/// at spaces), as the validators see it. A view, so trying every cut of a
/// span copies nothing.
#[derive(Clone, Copy, Debug)]
pub struct Number<'s> {
    pub start: usize,
    pub end: usize,
    pub plus: bool,
    /// The separators inside the number (a bit set of `SEP_*`).
    pub seps: u8,
    lead: u8,
    digits: &'s [u8],
    groups: &'s [u8],
    /// The separators after each group (the last one's is not the
    /// number's).
    after: &'s [u8],
}

impl Number<'_> {
    pub fn digits(&self) -> &[u8] {
        self.digits
    }

    pub fn groups(&self) -> &[u8] {
        self.groups
    }

    /// Whether the number's head is fixed: an international number (`+44
    /// …`) or an area code in parentheses (`(0161) …`) starts where it says.
    pub fn keeps_head(&self) -> bool {
        self.plus || self.lead != 0
    }

    /// Whether groups `i..=k` are joined by `-` or `.` alone (`2024-01-15`).
    pub fn joined_by_marks(&self, i: usize, k: usize) -> bool {
        self.after[i..k].iter().all(|&sep| sep == SEP_DASH || sep == SEP_DOT)
    }

    /// Whether the bytes after the number end it: not a letter or digit,
    /// and not a separator that continues into more digits (a decimal, a
    /// date, a time, a longer id).
    fn ends_cleanly(&self, b: &[u8]) -> bool {
        match byte_at(b, self.end) {
            None => true,
            Some(c) if c.is_ascii_alphanumeric() || c == b'_' || c == b'@' => false,
            // `1.5`, `2024-01`, `10:30`, and `0-678-73223-X` (an ISBN's check
            // letter): the separator joins the span to more of the same token.
            Some(b'.' | b',' | b':') => !matches!(byte_at(b, self.end + 1), Some(d) if d.is_ascii_digit()),
            Some(b'-' | b'/') => !matches!(byte_at(b, self.end + 1), Some(d) if d.is_ascii_alphanumeric()),
            Some(_) => true,
        }
    }
}

/// Spans are equal when they tokenise the same bytes alike (slots past
/// the last group, and the separators after it, are scratch).
impl PartialEq for Span {
    fn eq(&self, other: &Span) -> bool {
        let n = self.n_groups;
        n == other.n_groups
            && (self.start, self.end, self.plus, self.lead) == (other.start, other.end, other.plus, other.lead)
            && self.digits_before[..=n] == other.digits_before[..=n]
            && self.digits[..self.digits_before[n] as usize] == other.digits[..other.digits_before[n] as usize]
            && self.groups[..n] == other.groups[..n]
            && self.ends[..n] == other.ends[..n]
            && self.after[..n.saturating_sub(1)] == other.after[..n.saturating_sub(1)]
            && self.open_at[..n] == other.open_at[..n]
    }
}

impl Span {
    /// A span of no groups yet at `start`.
    fn empty(start: usize) -> Span {
        Span {
            start,
            end: start,
            digits: [0; MAX_DIGITS],
            n_groups: 0,
            groups: [0; MAX_GROUPS],
            ends: [0; MAX_GROUPS],
            after: [0; MAX_GROUPS],
            open_at: [false; MAX_GROUPS],
            digits_before: [0; MAX_GROUPS + 1],
            plus: false,
            lead: 0,
        }
    }

    /// Tokenises the span that starts at `start` (a `+`, `(` or digit).
    /// `None` when it is too long to be any of our kinds or its parentheses
    /// don't pair up.
    fn parse(b: &[u8], start: usize) -> Option<Span> {
        let mut s = Span::empty(start);
        let mut i = start;
        if b[i] == b'+' {
            s.plus = true;
            i += 1;
        }
        let mut open = false;
        if b.get(i) == Some(&b'(') {
            open = true;
            s.lead = SEP_PAREN;
            i += 1;
        }
        s.tokenise(b, i, open, false)
    }

    /// The span that starts at this one's second group, as
    /// [`Span::parse`] would give it, for a span of at least two groups
    /// without `+` or parentheses: in a run of digit groups each group
    /// starts a span, and this one has tokenised all but its last groups
    /// already.
    fn parse_next(&self, b: &[u8]) -> Option<Span> {
        debug_assert!(self.next_starts_at(self.group_start(1)));
        let n = self.n_groups;
        let skip = self.groups[0] as usize;
        let mut s = Span { end: self.end, n_groups: n - 1, ..Span::empty(self.group_start(1)) };
        let n_digits = self.digits_before[n] as usize;
        s.digits[..n_digits - skip].copy_from_slice(&self.digits[skip..n_digits]);
        s.groups[..n - 1].copy_from_slice(&self.groups[1..n]);
        let shift = (s.start - self.start) as u8;
        for (to, from) in s.ends[..n - 1].iter_mut().zip(&self.ends[1..n]) {
            *to = from - shift;
        }
        s.after[..n - 1].copy_from_slice(&self.after[1..n]);
        for (to, from) in s.digits_before[..n].iter_mut().zip(&self.digits_before[1..=n]) {
            *to = from - skip as u8;
        }
        s.tokenise(b, self.end, false, true)
    }

    /// Whether [`Span::parse_next`] gives the span that starts at `start`.
    /// (The separators after the last group are read again, as a fresh
    /// parse reads them, so only those inside the span matter.)
    fn next_starts_at(&self, start: usize) -> bool {
        self.n_groups >= 2 && start == self.group_start(1) && !self.has_paren_or_plus()
    }

    /// Reads groups and separators from `i` (a group's first digit or,
    /// `at_separator`, the end of the last group read) to the span's end.
    ///
    /// Each group's end is found once, where the group before decides
    /// whether it fits (digits, groups, bytes), and its digits are then
    /// copied without a test each (read twice, one at a time and tested
    /// each time, they cost ~90 instructions more a phone number).
    fn tokenise(self, b: &[u8], mut i: usize, mut open: bool, at_separator: bool) -> Option<Span> {
        let cap = b.len().min(self.start + NumericDetector::MAX_LEN);
        let mut n_digits = self.digits_before[self.n_groups] as usize;
        let mut s = self;
        // Where the group at `i` ends; the first is checked here, each
        // later one before it is read (below).
        let mut group_end = digit_run_end(&b[..cap], i);
        if !at_separator
            && (group_end == i
                || n_digits + (group_end - i) > MAX_DIGITS
                || s.n_groups == MAX_GROUPS
                || runs_past(b, cap, group_end))
        {
            return None;
        }
        let mut read_group = !at_separator;
        loop {
            if read_group {
                let len = group_end - i;
                for (to, &digit) in s.digits[n_digits..n_digits + len].iter_mut().zip(&b[i..group_end]) {
                    *to = digit;
                }
                n_digits += len;
                i = group_end;
                s.groups[s.n_groups] = len as u8;
                s.ends[s.n_groups] = (i - s.start) as u8;
                s.open_at[s.n_groups] = open;
                s.n_groups += 1;
                s.digits_before[s.n_groups] = n_digits as u8;
                s.end = i;
            }
            read_group = true;
            // Separator run: at most one space, one of `-`/`.`, and a paren.
            let sep_start = i;
            let mut spaces = 0;
            let mut marks = 0;
            let mut seps = 0;
            let mut still_open = open;
            while i < cap && i - sep_start < 3 {
                match b[i] {
                    b' ' => {
                        spaces += 1;
                        seps |= SEP_SPACE;
                    }
                    b'-' => {
                        marks += 1;
                        seps |= SEP_DASH;
                    }
                    b'.' => {
                        marks += 1;
                        seps |= SEP_DOT;
                    }
                    b')' if still_open && i == sep_start => {
                        still_open = false;
                        seps |= SEP_PAREN;
                    }
                    b'(' if !still_open && !open => {
                        still_open = true;
                        seps |= SEP_PAREN;
                    }
                    _ => break,
                }
                i += 1;
            }
            let continues =
                i > sep_start && spaces <= 1 && marks <= 1 && i < cap && b[i].is_ascii_digit() && !(still_open && open);
            if !continues {
                return (!open).then_some(s);
            }
            // The next group must fit (digits, groups, bytes); if it does not,
            // a space ends this span before it (a number followed by another).
            group_end = digit_run_end(&b[..cap], i);
            s.after[s.n_groups - 1] = seps;
            if s.n_groups == MAX_GROUPS || n_digits + (group_end - i) > MAX_DIGITS || runs_past(b, cap, group_end) {
                let k = s.shorter(s.n_groups + 1)?;
                s.n_groups = k;
                s.end = s.group_end(k - 1);
                return Some(s);
            }
            open = still_open;
        }
    }

    /// Where group `g` ends, and where it starts.
    fn group_end(&self, g: usize) -> usize {
        self.start + self.ends[g] as usize
    }

    fn group_start(&self, g: usize) -> usize {
        self.group_end(g) - self.groups[g] as usize
    }

    /// Groups `a..k` of the span as a candidate number (cut at spaces
    /// only, outside parentheses: see [`Span::cut_ok`]).
    fn number(&self, a: usize, k: usize) -> Number<'_> {
        let (start, plus, lead) = if a == 0 {
            (self.start, self.plus, self.lead)
        } else {
            let first_digit = self.group_start(a);
            let paren = self.after[a - 1] & SEP_PAREN != 0;
            (first_digit - paren as usize, false, if paren { SEP_PAREN } else { 0 })
        };
        let after = &self.after[a..k];
        Number {
            start,
            end: self.group_end(k - 1),
            plus,
            seps: after[..k - a - 1].iter().fold(lead, |acc, &sep| acc | sep),
            lead,
            digits: &self.digits[self.digits_before[a] as usize..self.digits_before[k] as usize],
            groups: &self.groups[a..k],
            after,
        }
    }

    /// The number of digits in groups `a..k`.
    fn digits_in(&self, a: usize, k: usize) -> usize {
        (self.digits_before[k] - self.digits_before[a]) as usize
    }

    /// Whether the span may be cut after group `j - 1` (before group `j`):
    /// a space there and no parenthesis open.
    fn cut_ok(&self, j: usize) -> bool {
        self.after[j - 1] & SEP_SPACE != 0 && !self.open_at[j - 1]
    }

    /// The longest prefix ending at a space, for a span whose next group
    /// would not fit.
    fn shorter(&self, k: usize) -> Option<usize> {
        (1..k).rev().find(|&j| self.cut_ok(j))
    }

    /// Whether a parenthesis or a `+` is in the span.
    fn has_paren_or_plus(&self) -> bool {
        self.keeps_head() || self.after[..self.n_groups - 1].iter().any(|&sep| sep & SEP_PAREN != 0)
    }

    /// Whether the span's head is fixed (see [`Number::keeps_head`]).
    fn keeps_head(&self) -> bool {
        self.plus || self.lead != 0
    }
}

/// The Social Security number detector's settings.
#[derive(Debug)]
pub struct SsnDetector {
    pub id: DetectorId,
    /// Key tokens and words that admit an unformatted 9-digit SSN.
    pub context_keys: WordList,
    pub context_words: WordList,
}

/// IPv4's settings.
#[derive(Debug)]
pub struct Ipv4Detector {
    pub id: DetectorId,
    /// Words just before that make `1.2.3.4` a version, not an address.
    pub negative_words: WordList,
}

#[derive(Debug, Default)]
pub struct NumericDetector {
    pub phone: Option<PhoneDetector>,
    pub card: Option<DetectorId>,
    pub ssn: Option<SsnDetector>,
    pub ipv4: Option<Ipv4Detector>,
    pub iban: Option<IbanDetector>,
}

impl NumericDetector {
    pub const MAX_LEN: usize = 64;
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
        let mut i = pos;
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
        while let Some(d) = find_digit(b, i) {
            // Every candidate anchored at `d` starts at `d - 2` or later.
            if d >= limit + 2 || best.is_some_and(|(m, _)| d > m.start + 2) {
                break;
            }
            // An IBAN starts with two capital letters before its check digits.
            if let Some(iban) = &self.iban
                && d >= pos + 2
                && d - 2 < limit
                && b[d - 2].is_ascii_uppercase()
                && b[d - 1].is_ascii_uppercase()
                && let Some(end) = iban.match_at(b, d - 2)
            {
                consider(&mut best, Match { start: d - 2, end, detector: iban.id }, d - 2);
            }
            i = digit_run_end(b, d);
            let Some(start) = number_start(b, d, pos) else { continue };
            if start >= limit || best.is_some_and(|(m, _)| start > m.start) {
                break;
            }
            let parsed = match &last {
                Some(before) if before.next_starts_at(start) => before.parse_next(b),
                _ => Span::parse(b, start),
            };
            debug_assert_eq!(parsed, Span::parse(b, start));
            let run_before = continues_run(b, parsed.as_ref(), d, hay.matched_to, last.as_ref());
            last = parsed;
            let Some(span) = &last else { continue };
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
            return self.ipv4.as_ref().filter(|ip| port && is_ipv4(hay, span, ip)).map(|ip| ip.id);
        }
        if let Some(ssn) = &self.ssn
            && is_ssn(hay, span, ssn)
        {
            return Some(ssn.id);
        }
        if let Some(id) = self.card
            && is_card(span)
        {
            return Some(id);
        }
        if let Some(ip) = &self.ipv4
            && is_ipv4(hay, span, ip)
        {
            return Some(ip.id);
        }
        self.phone.as_ref().filter(|p| p.accepts(hay, span, in_run)).map(|p| p.id)
    }
}

/// Whether a run of digits that reaches a span's byte cap (`end == cap`)
/// goes on past it: too long for any number.
#[inline(always)]
fn runs_past(b: &[u8], cap: usize, end: usize) -> bool {
    end == cap && matches!(b.get(cap), Some(d) if d.is_ascii_digit())
}

/// Where a number anchored at the digit `d` starts (taking a leading `+` or
/// `(`), or `None` when `d` is inside something else: a word (`abc123`), a
/// decimal or date (`1.5`, `2024-01`), a time, an id (`#123`), a handle.
fn number_start(b: &[u8], d: usize, floor: usize) -> Option<usize> {
    let mut start = d;
    if let Some(p @ (b'+' | b'(')) = byte_before(b, start) {
        start -= 1;
        if p == b'(' && byte_before(b, start) == Some(b'+') {
            start -= 1;
        }
    }
    if start < floor {
        return None;
    }
    match byte_before(b, start) {
        None => Some(start),
        Some(c) if c.is_ascii_alphanumeric() || c >= 0x80 => None,
        Some(b'_' | b'.' | b'-' | b'/' | b':' | b'#' | b'$' | b'@' | b'+' | b'\\') => None,
        Some(b',') if matches!(byte_before(b, start - 1), Some(c) if c.is_ascii_digit()) => None,
        Some(_) => Some(start),
    }
}

/// Whether the number `span` (first digit `d`) continues a run of digit
/// groups: the group before it, joined to it by at most three bytes of
/// ` -.()`, is a number start whose span (as [`Span::parse`] cuts it)
/// takes this group in and reaches at least as far as this one's, and it
/// ends after the last match (`matched_to`).
///
/// Such a group would only retry part of what that span and its cuts
/// tried, so it is not tried on its own. So a run is tried from its first
/// group, from every group whose span reaches past the one before's cap
/// (19 digits, 8 groups: `1700000000 020 7946 0958`), and from the first
/// after a match; and because the answer comes from the bytes around the
/// number (at most 27 before it, within [`super::LOOKBEHIND`]), a scan
/// entering the run anywhere (a window's resume point) tries the same
/// candidates as one pass over the whole segment. A `+` always starts a
/// number.
///
/// `last` is the candidate before's span: usually the group before's,
/// parsed already.
fn continues_run(b: &[u8], span: Option<&Span>, d: usize, matched_to: usize, last: Option<&Span>) -> bool {
    let Some(span) = span.filter(|s| !s.plus) else { return false };
    let Some(group_end) =
        (d.saturating_sub(3)..d.saturating_sub(1)).rev().find(|&j| b[j].is_ascii_digit()).map(|j| j + 1)
    else {
        return false;
    };
    if group_end <= matched_to || !b[group_end..d].iter().all(|c| matches!(c, b' ' | b'-' | b'.' | b'(' | b')')) {
        return false;
    }
    // The group before: a span cannot hold one longer than MAX_DIGITS.
    let len = b[..group_end].iter().rev().take(MAX_DIGITS + 1).take_while(|c| c.is_ascii_digit()).count();
    if len > MAX_DIGITS {
        return false;
    }
    let Some(before) = number_start(b, group_end - len, 0) else { return false };
    let before_end = match last {
        Some(last) if last.start == before => Some(last.end),
        _ => Span::parse(b, before).map(|s| s.end),
    };
    before_end.is_some_and(|end| end > d && end >= span.end)
}

/// Whether another digit group is joined to `span` by a space: just
/// before it (and after the last match) or just after it.
fn joined_to_digits(hay: &Hay, span: &Number) -> bool {
    let b = hay.bytes;
    let before = span.start >= hay.matched_to + 2 && b[span.start - 1] == b' ' && b[span.start - 2].is_ascii_digit();
    let after = byte_at(b, span.end) == Some(b' ')
        && matches!(byte_at(b, span.end + 1), Some(c) if c.is_ascii_digit() || c == b'(');
    before || after
}

/// The `len` bytes before `start` (fewer at the segment's start).
pub fn before(b: &[u8], start: usize, len: usize) -> &[u8] {
    &b[start.saturating_sub(len)..start]
}

fn is_ssn(hay: &Hay, s: &Number, det: &SsnDetector) -> bool {
    if s.digits().len() != 9 || s.plus || s.seps & (SEP_DOT | SEP_PAREN) != 0 {
        return false;
    }
    let formatted = s.groups() == [3, 2, 4] && (s.seps == SEP_DASH || s.seps == SEP_SPACE);
    let bare = s.groups().len() == 1
        && (det.context_keys.in_key(hay.key) || det.context_words.in_text(before(hay.bytes, s.start, 32)));
    if !(formatted || bare) {
        return false;
    }
    let d = s.digits();
    let area = &d[..3];
    area != b"000" && area != b"666" && area[0] != b'9' && &d[3..5] != b"00" && &d[5..] != b"0000"
}

fn is_card(s: &Number) -> bool {
    let n = s.digits().len();
    if !(13..=19).contains(&n) || s.plus || s.seps & (SEP_DOT | SEP_PAREN) != 0 {
        return false;
    }
    if s.seps == SEP_SPACE | SEP_DASH {
        return false;
    }
    let g = s.groups();
    let grouped = g.len() == 1
        || (g[..g.len() - 1].iter().all(|&x| x == 4) && g[g.len() - 1] <= 4)
        || g == [4, 6, 5]
        || g == [4, 6, 4];
    grouped && card_brand_accepts(s.digits()) && luhn_valid(s.digits())
}

/// A card's brand prefix and Luhn check digit, out of line: the Luhn
/// loop's vector code made every caller save registers, and most long
/// numbers are not of a card's length.
#[inline(never)]
fn is_card_number(d: &[u8]) -> bool {
    card_brand_accepts(d) && luhn_valid(d)
}

/// Issuer prefixes and lengths of the major card brands.
///
/// Dispatched on the first digit: most long numbers that reach here are
/// not cards (epoch milliseconds start with 1), and computing every
/// prefix up front cost ~70 instructions per number.
fn card_brand_accepts(d: &[u8]) -> bool {
    let n = d.len();
    let (Some(&first), Some(&second)) = (d.first(), d.get(1)) else {
        return false;
    };
    let prefix = |k: usize| d.iter().take(k).fold(0u32, |a, &c| a * 10 + u32::from(c.wrapping_sub(b'0')));
    let long = (16..=19).contains(&n);
    match first {
        b'4' => matches!(n, 13 | 16 | 19),
        b'5' => (b'1'..=b'5').contains(&second) && n == 16,
        b'2' => (2221..=2720).contains(&prefix(4)) && n == 16,
        b'3' => match second {
            b'4' | b'7' => n == 15,
            b'5' => (3528..=3589).contains(&prefix(4)) && long,
            b'0' => (300..=305).contains(&prefix(3)) && (14..=19).contains(&n),
            b'6' | b'8' | b'9' => (14..=19).contains(&n),
            _ => false,
        },
        b'6' => long && (matches!(second, b'2' | b'5') || prefix(4) == 6011 || (644..=649).contains(&prefix(3))),
        _ => false,
    }
}

pub fn luhn_valid(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &c) in d.iter().rev().enumerate() {
        let mut v = (c - b'0') as u32;
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn is_ipv4(hay: &Hay, s: &Number, det: &Ipv4Detector) -> bool {
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
    !det.negative_words.in_text(before(hay.bytes, s.start, 24))
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn cards_need_a_brand_prefix_luhn_and_card_grouping() {
        assert_eq!(found("card 4111 1111 1111 1111."), ["4111 1111 1111 1111"]);
        assert_eq!(found("amex 3782-822463-10005"), ["3782-822463-10005"]);
        assert_eq!(found("5500005555555559"), ["5500005555555559"]);
        assert!(found("4111 1111 1111 1112").is_empty(), "Luhn");
        assert!(found("1700000000000").is_empty(), "epoch ms");
        assert!(found("41 1111 1111 1111 11").is_empty(), "grouping");
    }

    /// The brand table as first written (every prefix computed, one
    /// clause per brand): the dispatch on the first digit must agree with
    /// it for every four-digit prefix, the Chinese UnionPay range's six,
    /// and every length around the card lengths.
    #[test]
    fn card_brands_agree_with_the_issuer_table() {
        fn by_table(d: &[u8]) -> bool {
            let n = d.len();
            let prefix = |k: usize| d[..k].iter().fold(0u32, |a, &c| a * 10 + (c - b'0') as u32);
            let (p1, p2, p3, p4, p6) = (prefix(1), prefix(2), prefix(3), prefix(4), prefix(6));
            (p1 == 4 && matches!(n, 13 | 16 | 19))
                || (((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && n == 16)
                || (matches!(p2, 34 | 37) && n == 15)
                || ((p4 == 6011 || (644..=649).contains(&p3) || p2 == 65 || (622126..=622925).contains(&p6))
                    && (16..=19).contains(&n))
                || ((3528..=3589).contains(&p4) && (16..=19).contains(&n))
                || (((300..=305).contains(&p3) || matches!(p2, 36 | 38 | 39)) && (14..=19).contains(&n))
                || (p2 == 62 && (16..=19).contains(&n))
        }
        let prefixes = (0..10_000).map(|p| format!("{p:04}00")).chain((621_000..624_000).map(|p| p.to_string()));
        let mut accepted = 0;
        for prefix in prefixes {
            for n in 12..=20 {
                let digits = format!("{prefix}{}", "7".repeat(n - 6));
                let expected = by_table(digits.as_bytes());
                assert_eq!(card_brand_accepts(digits.as_bytes()), expected, "{digits}");
                accepted += expected as usize;
            }
        }
        assert!(accepted > 10_000, "the table accepts cards: {accepted}");
    }

    #[test]
    fn ssns_need_the_dashed_shape_or_context() {
        assert_eq!(found("SSN 123-45-6789"), ["123-45-6789"]);
        assert_eq!(found("ssn: 123456789"), ["123456789"]);
        assert!(found("id 123456789").is_empty());
        assert!(found("666-45-6789 000-12-3456").is_empty());
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

    proptest::proptest! {
        // Runs of digit groups read each span on from the one before
        // (`Span::parse_next`); it must tokenise exactly as a fresh parse,
        // caps (bytes, digits, groups) and separators included.
        #[test]
        fn reading_on_from_the_span_before_tokenises_as_a_fresh_parse(
            text in "([0-9]{1,5}( |-|\\.| \\(|\\) |  |\\+|x|)){0,30}"
        ) {
            let b = text.as_bytes();
            for start in 0..b.len() {
                let Some(span) = Span::parse(b, start) else { continue };
                if span.n_groups >= 2 {
                    let next = span.group_start(1);
                    if span.next_starts_at(next) {
                        proptest::prop_assert_eq!(span.parse_next(b), Span::parse(b, next), "{:?} at {}", text, next);
                    }
                }
            }
        }
    }

    #[test]
    fn numbers_inside_words_dates_and_decimals_are_not_starts() {
        assert!(found("ORD4111111111111111").is_empty());
        assert!(found("x-4111111111111111").is_empty());
        assert!(found("4111111111111111.5").is_empty());
    }
}
