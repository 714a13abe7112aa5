//! Digit spans: how a run of digit groups and separators (`+1 (415)
//! 555-2671`, `2021 020 7946 0958`) is segmented into candidate numbers,
//! shared by the digit-anchored detectors ([`super::numeric`], which scans
//! for them, and [`super::phone`], [`super::card`], [`super::ssn`] and
//! [`super::ipv4`], which validate them).
//!
//! A [`Span`] is tokenised once from a number's start; its cuts at spaces
//! are [`Number`] views. Which digits start a number at all, and which
//! continue a run already tried, is decided here too, from the bytes around
//! them only (the windowing contract in [`super`]).
//!
//! Must not depend on any detector: they depend on it.

use super::Hay;
use crate::mask::bytes::{alphanumeric_char_before, byte_at, byte_before};

/// Separator kinds seen in a span (bit set).
pub const SEP_SPACE: u8 = 1;
pub const SEP_DASH: u8 = 2;
pub const SEP_DOT: u8 = 4;
pub const SEP_PAREN: u8 = 8;

/// The most digits a span holds (a 19-digit card).
const MAX_DIGITS: usize = 19;
/// The most digit groups a span holds.
pub const MAX_GROUPS: usize = 8;
/// The most bytes a span covers, from its `+` or first digit.
pub const MAX_SPAN_LEN: usize = 64;

/// A run of digit groups and separators, such as `+1 (415) 555-2671`,
/// tokenised once; its candidate numbers are [`Number`] views of it.
#[derive(Debug)]
pub(super) struct Span {
    pub(super) start: usize,
    pub(super) end: usize,
    digits: [u8; MAX_DIGITS],
    pub(super) n_groups: usize,
    /// Each group's length, where it ends (from `start`: a span is at
    /// most [`MAX_SPAN_LEN`] bytes), the separators after it,
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
    pub(super) fn ends_cleanly(&self, b: &[u8]) -> bool {
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
    pub(super) fn parse(b: &[u8], start: usize) -> Option<Span> {
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
    pub(super) fn parse_next(&self, b: &[u8]) -> Option<Span> {
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
    pub(super) fn next_starts_at(&self, start: usize) -> bool {
        self.n_groups >= 2 && start == self.group_start(1) && !self.has_paren_or_plus()
    }

    /// Reads groups and separators from `i` (a group's first digit or,
    /// `at_separator`, the end of the last group read) to the span's end.
    ///
    /// Each group is read once, where the group before decides whether
    /// it fits (digits, groups, bytes): its digits are copied as its end
    /// is found ([`copy_group`]), and kept only if it fits.
    fn tokenise(self, b: &[u8], mut i: usize, mut open: bool, at_separator: bool) -> Option<Span> {
        let cap = b.len().min(self.start + MAX_SPAN_LEN);
        let mut n_digits = self.digits_before[self.n_groups] as usize;
        let mut s = self;
        // Where the group at `i` ends; the first is checked here, each
        // later one before it is taken (below).
        let mut group_end = if at_separator { i } else { copy_group(&b[..cap], i, &mut s.digits, n_digits) };
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
            group_end = copy_group(&b[..cap], i, &mut s.digits, n_digits);
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
    pub(super) fn group_end(&self, g: usize) -> usize {
        self.start + self.ends[g] as usize
    }

    pub(super) fn group_start(&self, g: usize) -> usize {
        self.group_end(g) - self.groups[g] as usize
    }

    /// Groups `a..k` of the span as a candidate number (cut at spaces
    /// only, outside parentheses: see [`Span::cut_ok`]).
    pub(super) fn number(&self, a: usize, k: usize) -> Number<'_> {
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
    pub(super) fn digits_in(&self, a: usize, k: usize) -> usize {
        (self.digits_before[k] - self.digits_before[a]) as usize
    }

    /// Whether the span may be cut after group `j - 1` (before group `j`):
    /// a space there and no parenthesis open.
    pub(super) fn cut_ok(&self, j: usize) -> bool {
        self.after[j - 1] & SEP_SPACE != 0 && !self.open_at[j - 1]
    }

    /// The longest prefix ending at a space, for a span whose next group
    /// would not fit.
    fn shorter(&self, k: usize) -> Option<usize> {
        (1..k).rev().find(|&j| self.cut_ok(j))
    }

    /// Whether a parenthesis or a `+` is in the span.
    pub(super) fn has_paren_or_plus(&self) -> bool {
        self.keeps_head() || self.after[..self.n_groups - 1].iter().any(|&sep| sep & SEP_PAREN != 0)
    }

    /// Whether the span's head is fixed (see [`Number::keeps_head`]).
    pub(super) fn keeps_head(&self) -> bool {
        self.plus || self.lead != 0
    }
}

/// The end of the run of digits at `from` in `b`, its digits copied to
/// `digits` from `to` on as far as they fit (a group too long for the span
/// is not taken, so what spills is never read).
#[inline(always)]
fn copy_group(b: &[u8], from: usize, digits: &mut [u8; MAX_DIGITS], to: usize) -> usize {
    let mut i = from;
    let mut j = to;
    while let Some(&d) = b.get(i)
        && d.is_ascii_digit()
    {
        if let Some(slot) = digits.get_mut(j) {
            *slot = d;
        }
        i += 1;
        j += 1;
    }
    i
}

/// Whether a run of digits that reaches a span's byte cap (`end == cap`)
/// goes on past it: too long for any number.
#[inline(always)]
fn runs_past(b: &[u8], cap: usize, end: usize) -> bool {
    end == cap && matches!(b.get(cap), Some(d) if d.is_ascii_digit())
}

/// Where a number anchored at the digit at `digit` starts (taking a leading `+` or
/// `(`), or `None` when that digit is inside something else: a word (`abc123`), a
/// decimal or date (`1.5`, `2024-01`), a time, an id (`#123`), a handle.
///
/// Inlined, as it was before the link-scheme arm made LLVM keep it out
/// of line (+2% instructions on prose with times in it).
#[inline(always)]
pub(super) fn number_start(b: &[u8], digit: usize, floor: usize) -> Option<usize> {
    let mut start = digit;
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
        Some(c) if c.is_ascii_alphanumeric() => None,
        // A letter or digit of another script joins the number to a word;
        // a symbol (U+FFFD, where a reader sees a lone surrogate) does not.
        Some(c) if c >= 0x80 => (!alphanumeric_char_before(b, start)).then_some(start),
        // `tel:+1…`, `wa.me/1…`: a link scheme starts a number.
        Some(b'/' | b':') if super::link::scheme_before(b, start) => Some(start),
        Some(b'_' | b'.' | b'-' | b'/' | b':' | b'#' | b'$' | b'@' | b'+' | b'\\') => None,
        Some(b',') if matches!(byte_before(b, start - 1), Some(c) if c.is_ascii_digit()) => None,
        Some(_) => Some(start),
    }
}

/// Whether the number `span` (first digit at `digit`) continues a run of digit
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
pub(super) fn continues_run(
    b: &[u8],
    span: Option<&Span>,
    digit: usize,
    matched_to: usize,
    last: Option<&Span>,
) -> bool {
    let Some(span) = span.filter(|s| !s.plus) else { return false };
    let Some(group_end) =
        (digit.saturating_sub(3)..digit.saturating_sub(1)).rev().find(|&j| b[j].is_ascii_digit()).map(|j| j + 1)
    else {
        return false;
    };
    if group_end <= matched_to || !b[group_end..digit].iter().all(|c| matches!(c, b' ' | b'-' | b'.' | b'(' | b')')) {
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
    before_end.is_some_and(|end| end > digit && end >= span.end)
}

/// Whether another digit group is joined to `span` by a space: just
/// before it (and after the last match) or just after it.
pub(super) fn joined_to_digits(hay: &Hay, span: &Number) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
