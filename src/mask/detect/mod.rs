//! Detectors: find PII inside a segment of text (a text body, or one decoded
//! JSON string value).
//!
//! # The windowing contract
//!
//! Every detector decides whether a match starts at position `s` from the
//! bytes in `[s - LOOKBEHIND, s + max_len() + 1]` only, and picks its
//! leftmost match from a given position. [`DetectorSet::scan`] combines them
//! into one leftmost-first pass. Because decisions are local, a segment that
//! arrives in pieces can be scanned through a bounded window
//! ([`crate::mask::segment`]) and gives exactly the matches that one pass over
//! the whole segment gives; that is what makes the output independent of how
//! a body is chunked.
//!
//! "From the bytes" means not from where the scan started: a window can
//! resume anywhere, so a detector that looks back for the start of a run
//! (IPv6 address characters, digit groups) looks back in the bytes, never
//! stopping at the scan's start; three fuzz findings were this.
//!
//! The numeric detector needs two more things to stay inside it. A match
//! ends a run of digit groups, so the group after it may start a number:
//! where the last match ended travels with the segment
//! ([`Hay::matched_to`]). And a candidate whose match starts further on (a
//! later cut of its span) answers "nothing before my start" until the
//! window reaches that match, so a window never resumes past the candidate
//! that gives it; a cached match keeps its candidate's start and is asked
//! for again once the scan moves past that candidate.
//!
//! Must not depend on anything outside `mask`.

pub mod card;
pub mod custom;
pub mod digits;
pub mod email;
pub mod iban;
mod inert;
pub mod ipv4;
pub mod ipv6;
pub mod link;
pub mod numbering_plan;
pub mod numeric;
pub mod phone;
pub mod ssn;
pub mod words;
pub mod work;

use self::custom::{KeywordDetector, RegexDetector};
use self::email::EmailDetector;
use self::inert::{is_iso_timestamp, is_prefixed_id, is_uuid};
use self::ipv6::Ipv6Detector;
use self::numeric::NumericDetector;
use crate::mask::bytes::short_eq;

/// Index of a detector in its [`crate::mask::Masker`]'s detector table.
pub type DetectorId = u16;

/// How far back of a candidate's start a detector may read (context words,
/// boundaries, an email's local part). Windows keep this many bytes of
/// already-emitted text.
pub const LOOKBEHIND: usize = 128;

/// A match: `bytes[start..end]` is PII found by `detector`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    pub start: usize,
    pub end: usize,
    pub detector: DetectorId,
}

/// The bytes a detector looks at, and what surrounds them.
#[derive(Clone, Copy, Debug)]
pub struct Hay<'a> {
    pub bytes: &'a [u8],
    /// `bytes` ends where the segment ends (the body's end, or the closing
    /// quote of a JSON string).
    pub complete: bool,
    /// The JSON key the segment is the value of (empty in text).
    pub key: &'a [u8],
    /// Where the last match in this segment ended (0 before the first).
    pub matched_to: usize,
}

impl<'a> Hay<'a> {
    /// A whole segment, scanned from its start.
    pub fn whole(bytes: &'a [u8], key: &'a [u8]) -> Hay<'a> {
        Hay { bytes, complete: true, key, matched_to: 0 }
    }

    /// Candidates that start at or after this position can't be decided yet:
    /// the bytes they depend on may not all be here.
    #[inline(always)]
    fn limit(&self, max_len: usize) -> usize {
        if self.complete { self.bytes.len() } else { self.bytes.len().saturating_sub(max_len + 2) }
    }
}

/// A cheap summary of a short segment, so detectors whose anchor byte is
/// absent are not called at all.
#[derive(Clone, Copy, Debug, Default)]
pub struct Prefilter {
    pub at_signs: u32,
    pub digits: u32,
    pub colons: u32,
    pub dots: u32,
}

impl Prefilter {
    /// Segments longer than this skip the prefilter: the detectors' own
    /// memchr scans are faster than a byte loop there.
    pub const MAX_LEN: usize = 256;

    #[inline(always)]
    pub fn of(bytes: &[u8]) -> Prefilter {
        let mut p = Prefilter::default();
        for &b in bytes {
            p.digits += b.is_ascii_digit() as u32;
            p.at_signs += (b == b'@') as u32;
            p.colons += (b == b':') as u32;
            p.dots += (b == b'.') as u32;
        }
        p
    }

    /// An email needs an `@`.
    #[inline(always)]
    pub fn admits_email(&self) -> bool {
        self.at_signs > 0
    }

    /// Every digit-anchored kind needs seven digits (a phone) or more,
    /// except IPv4, which needs four digits and three dots.
    #[inline(always)]
    pub fn admits_numeric(&self, ipv4: bool) -> bool {
        self.digits as usize >= NumericDetector::MIN_DIGITS || (ipv4 && self.digits >= 4 && self.dots >= 3)
    }

    /// An IPv6 address needs two colons.
    #[inline(always)]
    pub fn admits_ipv6(&self) -> bool {
        self.colons >= 2
    }
}

/// One kind of scan over a segment.
#[derive(Debug)]
pub enum Engine {
    Email(EmailDetector),
    Numeric(Box<NumericDetector>),
    Ipv6(Ipv6Detector),
    Regex(RegexDetector),
    Keywords(KeywordDetector),
}

impl Engine {
    fn max_len(&self) -> usize {
        match self {
            Engine::Email(_) => EmailDetector::MAX_LEN,
            Engine::Numeric(_) => NumericDetector::MAX_LEN,
            Engine::Ipv6(_) => Ipv6Detector::MAX_LEN,
            Engine::Regex(d) => d.max_len(),
            Engine::Keywords(d) => d.max_len(),
        }
    }

    /// False when the prefilter proves this engine has nothing to find.
    #[inline(always)]
    fn may_match(&self, p: &Prefilter) -> bool {
        match self {
            Engine::Email(_) => p.admits_email(),
            Engine::Numeric(d) => d.may_match(p),
            Engine::Ipv6(_) => p.admits_ipv6(),
            Engine::Regex(_) | Engine::Keywords(_) => true,
        }
    }

    /// The leftmost match from `pos` that starts before `limit`, or the
    /// position before which no match starts (at most `limit`).
    #[inline(always)]
    fn find(&self, hay: &Hay, pos: usize, limit: usize) -> Found {
        let found = match self {
            Engine::Email(d) => d.find(hay, pos, limit),
            Engine::Numeric(d) => {
                return d.find(hay, pos, limit).map_or_else(Found::NoneBefore, |(m, from)| Found::Match(m, from));
            }
            Engine::Ipv6(d) => d.find(hay, pos, limit),
            Engine::Regex(d) => d.find(hay, pos, limit),
            Engine::Keywords(d) => d.find(hay, pos, limit),
        };
        found.map_or(Found::NoneBefore(limit), |m| Found::Match(m, m.start))
    }
}

/// What a JSON key says of a bare number under it: whether it may be a
/// phone number (`phone`, `tel`, `mobileNumber`…) or an SSN (`ssn`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyContext {
    pub phone: bool,
    pub ssn: bool,
}

/// The [`KeyContext`]s of the last few keys seen, by their bytes: numbers
/// under one key recur (an epoch under `at` in every event, `updated_ms`
/// in every record), and asking the word lists costs ~250 instructions.
/// Four slots, picked by length and last byte; a key longer than a slot
/// is asked every time. Valid for one [`DetectorSet`].
#[derive(Debug, Default)]
pub struct KeyContexts {
    slots: [KeySlot; 4],
}

#[derive(Clone, Copy, Debug, Default)]
struct KeySlot {
    /// 0 for an empty slot (the empty key is never cached).
    len: u8,
    key: [u8; KeySlot::WIDTH],
    context: KeyContext,
}

impl KeySlot {
    const WIDTH: usize = 24;

    /// Asks the word lists about `key` (at most [`KeySlot::WIDTH`] bytes)
    /// and keeps the answer here.
    #[inline(never)]
    fn refill(&mut self, detectors: &DetectorSet, key: &[u8]) -> KeyContext {
        let context = detectors.key_context(key);
        self.key[..key.len()].copy_from_slice(key);
        self.len = key.len() as u8;
        self.context = context;
        context
    }
}

impl KeyContexts {
    /// Inlined for the hit, the common case; a miss asks the word lists.
    #[inline(always)]
    pub fn get(&mut self, detectors: &DetectorSet, key: &[u8]) -> KeyContext {
        match self.cached(key) {
            Some(context) => context,
            None => self.fill(detectors, key),
        }
    }

    /// The cached answer for `key`, if any: no call, so a caller that
    /// handles the miss out of line stays a leaf on the hit.
    #[inline(always)]
    pub fn cached(&self, key: &[u8]) -> Option<KeyContext> {
        let slot = &self.slots[Self::slot_of(key)?];
        (slot.len as usize == key.len() && short_eq(&slot.key[..key.len()], key)).then_some(slot.context)
    }

    /// Asks the word lists about `key` and caches the answer when the key
    /// fits a slot.
    #[inline(never)]
    pub fn fill(&mut self, detectors: &DetectorSet, key: &[u8]) -> KeyContext {
        match Self::slot_of(key).filter(|_| key.len() <= KeySlot::WIDTH) {
            Some(slot) => self.slots[slot].refill(detectors, key),
            None => detectors.key_context(key),
        }
    }

    /// The slot `key` belongs in, by its length and last byte; none for
    /// the empty key.
    #[inline(always)]
    fn slot_of(key: &[u8]) -> Option<usize> {
        let last = *key.last()?;
        Some((key.len() ^ last as usize) & 3)
    }
}

/// What an engine said last, kept while it stays true.
#[derive(Clone, Copy, Debug)]
pub enum Found {
    /// Nothing cached; ask again.
    Stale,
    /// A match, and the start of the candidate that gave it (earlier for a
    /// number cut out of a longer span).
    Match(Match, usize),
    /// No match starts before this position.
    NoneBefore(usize),
}

/// The detectors of one profile, in priority order (ties go to the first).
#[derive(Debug, Default)]
pub struct DetectorSet {
    engines: Vec<Engine>,
    max_len: usize,
    /// The least a segment must hold for any engine to match, folded from
    /// the engines so the per-string check is a few compares.
    gate: Gate,
    /// Where the numeric engine is in `engines`: asked about every long
    /// integer, so found once here rather than by a walk each time.
    numeric: Option<usize>,
}

/// [`DetectorSet::may_match`] precomputed: any user-defined engine opens
/// it; otherwise an `@` (email), enough digits (numeric kinds, and IPv4's
/// digits-and-dots), or two colons (IPv6). Against iterating the engines
/// per string it saves 1.4% of the instructions on dense JSON (callgrind).
#[derive(Clone, Copy, Debug, Default)]
struct Gate {
    always: bool,
    email: bool,
    ipv6: bool,
    numeric: bool,
    ipv4: bool,
}

impl DetectorSet {
    pub fn new(engines: Vec<Engine>) -> DetectorSet {
        let max_len = engines.iter().map(Engine::max_len).max().unwrap_or(0);
        let mut gate = Gate::default();
        for e in &engines {
            match e {
                Engine::Regex(_) | Engine::Keywords(_) => gate.always = true,
                Engine::Email(_) => gate.email = true,
                Engine::Ipv6(_) => gate.ipv6 = true,
                Engine::Numeric(n) => {
                    gate.numeric = true;
                    gate.ipv4 |= n.ipv4.is_some();
                }
            }
        }
        let numeric = engines.iter().position(|e| matches!(e, Engine::Numeric(_)));
        DetectorSet { engines, max_len, gate, numeric }
    }

    pub fn is_empty(&self) -> bool {
        self.engines.is_empty()
    }

    /// Whether a whole segment is a shape no built-in detector can match
    /// inside (a UUID, an ISO-8601 date or timestamp, a prefixed id such
    /// as `ord_347712782`) while only built-in
    /// detectors are configured. Such strings are everywhere in JSON and
    /// pass the digit gate, so they are recognised before the scan.
    #[inline(always)]
    pub fn skips_inert(&self, segment: &[u8]) -> bool {
        !self.gate.always && (is_uuid(segment) || is_iso_timestamp(segment) || is_prefixed_id(segment))
    }

    /// Whether a whole segment (a JSON string value complete in its chunk)
    /// that passed [`DetectorSet::may_match`] could hold a match under
    /// `key`. A string of digits only (`all_digits`, known from the
    /// prefilter's counts) is decided as a bare integer is: a tracking
    /// number or an id written as a string is not a phone without a key
    /// that says so. UUIDs, ISO timestamps and prefixed ids cannot hold
    /// one (see [`DetectorSet::skips_inert`]).
    #[inline]
    pub fn whole_may_match(&self, segment: &[u8], all_digits: bool, key: impl FnOnce() -> KeyContext) -> bool {
        if all_digits {
            return self.integer_may_match(segment, key);
        }
        !self.skips_inert(segment)
    }

    /// Whether a bare JSON integer could hold a match under a key that
    /// says `key` (see [`NumericDetector::integer_may_match`]);
    /// user-defined detectors may match anything.
    #[inline]
    pub fn integer_may_match(&self, digits: &[u8], key: impl FnOnce() -> KeyContext) -> bool {
        if self.gate.always {
            return true;
        }
        self.numeric().is_some_and(|n| n.integer_may_match(digits, key))
    }

    /// What `key` says of the numbers under it (see [`KeyContexts`] for a
    /// cached answer). Out of line: its word-list calls would otherwise
    /// give every inlined caller a frame that saves registers.
    #[cold]
    #[inline(never)]
    pub fn key_context(&self, key: &[u8]) -> KeyContext {
        self.numeric().map(|n| n.key_context(key)).unwrap_or_default()
    }

    /// The numeric engine: a profile has at most one (see
    /// [`crate::mask::Masker::new`]).
    #[inline(always)]
    fn numeric(&self) -> Option<&NumericDetector> {
        match self.engines.get(self.numeric?) {
            Some(Engine::Numeric(n)) => Some(n),
            _ => None,
        }
    }

    /// Whether the profile has user-defined detectors (which may match
    /// anything, such as a short number).
    #[inline(always)]
    pub fn has_custom(&self) -> bool {
        self.gate.always
    }

    /// The longest match any engine can make: the carry-over a window needs.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Whether any engine could match in a segment with this summary.
    #[inline(always)]
    pub fn may_match(&self, p: &Prefilter) -> bool {
        let g = &self.gate;
        g.always
            || (g.email && p.admits_email())
            || (g.numeric && p.admits_numeric(g.ipv4))
            || (g.ipv6 && p.admits_ipv6())
    }

    /// Scans `hay` from `pos`, calling `on_match` for each match in order.
    /// Returns the position up to which the segment is resolved: everything
    /// before it that was not matched can be emitted as it is. For a
    /// complete hay that is its length.
    ///
    /// `prefilter` summarises `hay[pos..]` when the caller already has it;
    /// short complete segments are otherwise summarised here. `found` is
    /// scratch space owned by the caller, so the scan does not allocate.
    #[inline(never)]
    pub fn scan(
        &self,
        hay: &Hay,
        mut pos: usize,
        prefilter: Option<Prefilter>,
        found: &mut Vec<Found>,
        on_match: &mut dyn FnMut(Match),
    ) -> usize {
        let len = hay.bytes.len();
        let prefilter = prefilter
            .or_else(|| (hay.complete && len - pos <= Prefilter::MAX_LEN).then(|| Prefilter::of(&hay.bytes[pos..])));
        if hay.complete
            && let Some(p) = &prefilter
        {
            let mut admitted = self.engines.iter().filter(|e| e.may_match(p));
            match (admitted.next(), admitted.next()) {
                (None, _) => return len,
                (Some(engine), None) => return Self::scan_one(engine, hay, pos, on_match),
                _ => {}
            }
        }
        // A copy only here, where matches move it on: copying the caller's
        // hay on every call (its fields just written one by one) stalled
        // the 16-byte loads that read them back.
        let mut hay = *hay;
        found.clear();
        found.resize(self.engines.len(), Found::Stale);
        for (engine, slot) in self.engines.iter().zip(found.iter_mut()) {
            if let Some(p) = &prefilter
                && !engine.may_match(p)
            {
                *slot = Found::NoneBefore(len);
            }
        }
        loop {
            let mut best: Option<Match> = None;
            let mut horizon = len;
            for (engine, slot) in self.engines.iter().zip(found.iter_mut()) {
                let still_true = match *slot {
                    Found::Stale => false,
                    // A match from a candidate before `pos` is gone: a scan
                    // from `pos` (a window resuming there) would not see it.
                    Found::Match(_, from) => from >= pos,
                    Found::NoneBefore(q) => q > pos || q == len,
                };
                if !still_true {
                    *slot = engine.find(&hay, pos, hay.limit(self.max_len).max(pos));
                }
                match *slot {
                    Found::Match(m, _) => {
                        if best.is_none_or(|b| m.start < b.start) {
                            best = Some(m);
                        }
                    }
                    Found::NoneBefore(q) => horizon = horizon.min(q),
                    Found::Stale => {}
                }
            }
            match best {
                Some(m) if m.start < horizon => {
                    on_match(m);
                    pos = m.end;
                    hay.matched_to = m.end;
                    self.restart_runs(&hay, pos, found);
                }
                _ => return horizon.max(pos).min(len),
            }
        }
    }

    /// [`DetectorSet::scan`] of a complete hay where one engine alone may
    /// match (a JSON id, an email address, a phone number): its matches in
    /// order, each asked for from where the last ended. That is what the
    /// general loop does with one engine: no other has a horizon, and a
    /// complete hay resolves every candidate. ~250 instructions less a
    /// string.
    fn scan_one(engine: &Engine, hay: &Hay, mut pos: usize, on_match: &mut dyn FnMut(Match)) -> usize {
        let len = hay.bytes.len();
        let mut after_match;
        let mut current = hay;
        // Nothing starts at the end of a complete hay: a string that ends
        // with its match (most do) is not asked about again.
        while pos < len
            && let Found::Match(m, _) = engine.find(current, pos, len)
        {
            on_match(m);
            pos = m.end;
            after_match = Hay { matched_to: m.end, ..*hay };
            current = &after_match;
        }
        len
    }

    /// After a match ending at `end`: a number just after it no longer
    /// continues a run of digit groups (see `digits::continues_run`), so
    /// it may now be a start, and stands alone rather than inside a run
    /// (no grouping condition). Those are the only decisions that read
    /// where the last match ended, and only candidates starting within the
    /// next four bytes change, so a numeric engine is asked about those alone
    /// and its cached answer kept otherwise (asking again from `end` would
    /// rescan to the next match for every match: quadratic).
    fn restart_runs(&self, hay: &Hay, end: usize, found: &mut [Found]) {
        let near = &hay.bytes[end..hay.bytes.len().min(end + 4)];
        if !near.iter().any(u8::is_ascii_digit) {
            return;
        }
        let limit = hay.limit(self.max_len).max(end).min(end + 4);
        for (engine, slot) in self.engines.iter().zip(found.iter_mut()) {
            // A candidate there gives a match: ask again from `end`, which
            // reads on only while a longer match could start there.
            if let Engine::Numeric(d) = engine
                && d.find(hay, end, limit) != Err(limit)
            {
                *slot = Found::Stale;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cached_key_contexts_are_the_key_contexts() {
        let masker = crate::mask::Masker::new(&crate::patterns::default_config()).expect("builds");
        let detectors = &masker.detectors;
        // Same slot (length and last byte), same length, long keys, keys
        // that differ only inside, the empty key; each asked repeatedly
        // and interleaved, so a slot is both hit and replaced.
        let keys: &[&str] = &[
            "tel",
            "tal",
            "at",
            "phone",
            "phono",
            "ssn",
            "",
            "sn",
            "mobileNumber",
            "mobileNumbex",
            "a_very_long_key_about_phone_numbers",
            "a_very_long_key_about_other_numbers",
            "customer_phone_no",
            "customer_phone_na",
            "hotel_id",
            "hotel_tel",
        ];
        let mut cache = KeyContexts::default();
        let mut seen_phone = false;
        for key in keys.iter().chain(keys.iter().rev()).chain(keys.iter().step_by(3)).chain(keys) {
            let expected = detectors.key_context(key.as_bytes());
            seen_phone |= expected.phone;
            assert_eq!(cache.get(detectors, key.as_bytes()), expected, "{key:?}");
        }
        assert!(seen_phone && detectors.key_context(b"ssn").ssn);
        assert_eq!(detectors.key_context(b"tal"), KeyContext::default());
    }

    /// Groups of letters and of digits that are PII on their own (phones,
    /// a card, an SSN, the pieces of an IBAN), joined by `_`, `-` or
    /// nothing: where [`is_prefixed_id`] calls the whole string an id,
    /// the default detectors must find nothing in it, under any key.
    fn id_like() -> impl Strategy<Value = String> {
        let letters = prop::sample::select(vec!["ord", "tel", "GB", "WEST", "DE", "x", "phone"]);
        let group = prop::sample::select(vec![
            "ord",
            "tel",
            "GB",
            "WEST",
            "DE",
            "x",
            "phone",
            "4155552671",
            "4111111111111111",
            "078-05-1120",
            "82",
            "12345698765432",
            "GB82WEST12345698765432",
            "442079460958",
            "0612345678",
            "1700000000",
            "+14155552671",
        ]);
        let joint = prop::sample::select(vec!["", "_", "_", "-", "-", " "]);
        (letters, prop::collection::vec((joint, group), 0..5))
            .prop_map(|(first, rest)| rest.iter().fold(first.to_string(), |s, (j, g)| s + j + g))
    }

    proptest! {
        #[test]
        fn a_prefixed_id_holds_no_match(s in id_like()) {
            let masker = crate::mask::Masker::new(&crate::patterns::default_config()).expect("builds");
            let detectors = &masker.detectors;
            // Most cases are ids by construction; the rest prove nothing.
            if detectors.skips_inert(s.as_bytes()) {
                for key in [&b""[..], b"phone", b"ssn"] {
                    prop_assert_eq!(testing::scan_whole(detectors, s.as_bytes(), key), vec![], "{:?} under {:?}", s, key);
                }
            }
        }
    }

    #[test]
    fn ids_that_hold_pii_are_scanned() {
        let masker = crate::mask::Masker::new(&crate::patterns::default_config()).expect("builds");
        let detectors = &masker.detectors;
        for s in ["GB82WEST12345698765432", "tel +14155552671", "ord 4111111111111111"] {
            assert!(!detectors.skips_inert(s.as_bytes()), "{s}");
            assert!(!testing::scan_whole(detectors, s.as_bytes(), b"").is_empty(), "{s}");
        }
    }
}

#[cfg(test)]
mod run_tests {
    //! The numeric detector's history (`Hay::matched_to`) through a scan.
    use super::phone::{PhoneDetector, PhoneSettings};
    use super::*;

    fn set(regex: &str) -> DetectorSet {
        let settings = PhoneSettings { regions: vec!["GB".into()], ..PhoneSettings::default() };
        let phone = PhoneDetector::new(1, &settings).expect("GB");
        DetectorSet::new(vec![
            Engine::Regex(RegexDetector::new(0, regex, false).expect("regex")),
            Engine::Numeric(Box::new(NumericDetector { phone: Some(phone), ..NumericDetector::default() })),
        ])
    }

    /// Scans `text` as a window would: the first `cut` bytes, then the
    /// whole text from where that left off.
    fn scan_in_two(set: &DetectorSet, text: &[u8], cut: usize) -> Vec<Match> {
        let mut found = Vec::new();
        let mut matches = Vec::new();
        let first = Hay { bytes: &text[..cut], complete: false, key: b"", matched_to: 0 };
        let resolved = set.scan(&first, 0, None, &mut found, &mut |m| testing::in_order(&mut matches, m));
        let matched_to = matches.last().map_or(0, |m| m.end);
        let rest = Hay { bytes: text, complete: true, key: b"", matched_to };
        set.scan(&rest, resolved, None, &mut found, &mut |m| testing::in_order(&mut matches, m));
        matches
    }

    /// The matches of one pass over `text`, after checking that every
    /// two-part windowing of it gives the same.
    fn same_in_every_window(set: &DetectorSet, text: &[u8]) -> Vec<Match> {
        let whole = testing::scan_whole(set, text, b"");
        for cut in 0..text.len() {
            assert_eq!(scan_in_two(set, text, cut), whole, "{} cut at {cut}", String::from_utf8_lossy(text));
        }
        whole
    }

    #[test]
    fn a_match_by_another_engine_restarts_the_run_after_it() {
        // Alone, `0207 9460 958` is inside the run from `1234`, where only
        // GB's own grouping (`020 7946 0958`) would make it a number. The
        // regex's match of `1234` ends the run, so after it the number
        // stands alone, where that grouping is no condition. (Fails with
        // `restart_runs` removed: the numeric engine's "nothing here",
        // asked before the match, is kept.)
        let text = b"1234 0207 9460 958";
        let whole = same_in_every_window(&set(r"\b1234\b"), text);
        let phones: Vec<_> = whole.iter().filter(|m| m.detector == 1).map(|m| &text[m.start..m.end]).collect();
        assert_eq!(phones, [b"0207 9460 958"]);
    }

    #[test]
    fn a_cached_match_is_asked_for_again_once_the_scan_passes_its_candidate() {
        // The regex's `020 7946` wins the tie at 0 against the number
        // `020 7946 0958`, and the scan moves on to 8, past the number's
        // candidate: its cached match now overlaps what was emitted, so it
        // is asked for again from 8, where `0958` alone is nothing. (Fails
        // when a cached match is kept whatever its candidate: the number
        // comes out again and again over the regex's match.)
        let text = b"020 7946 0958";
        let whole = same_in_every_window(&set("020 7946"), text);
        assert_eq!(whole, [Match { start: 0, end: 8, detector: 0 }]);
    }

    #[test]
    fn matches_do_not_depend_on_where_a_window_resumes() {
        // The regex matching inside a number's span, before a cut of it.
        let set = set(r"\b\d{4}\b");
        for text in [
            &b"1234 5678 1234 020 7946 0958"[..],
            b"12 3456 020 7946 0958",
            b"1700000000 020 7946 0958 1234 5678",
            b"020 7946 0958 2024 1234 020 7946 0958",
            b"5555555 5555555 55 5555555 1234 5555555 55 5",
            b"2024 11 21 10 30 45 020 7946 0958 020 7946 0958 07700 900123",
            b"07700 900123 07700 900123 1234 07700 900123 12 34",
        ] {
            same_in_every_window(&set, text);
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Helpers for detector unit tests: run one engine over a whole string.
    use super::*;

    pub fn matches(engine: Engine, text: &str, key: &str) -> Vec<String> {
        let set = DetectorSet::new(vec![engine]);
        scan_whole(&set, text.as_bytes(), key.as_bytes()).iter().map(|m| text[m.start..m.end].to_string()).collect()
    }

    /// The matches of one pass over a whole segment.
    pub fn scan_whole(set: &DetectorSet, bytes: &[u8], key: &[u8]) -> Vec<Match> {
        let mut out = Vec::new();
        set.scan(&Hay::whole(bytes, key), 0, None, &mut Vec::new(), &mut |m| in_order(&mut out, m));
        out
    }

    /// Appends `m`, which must start at or after the end of the match
    /// before it (a scan that went back would emit bytes twice, or loop).
    pub fn in_order(matches: &mut Vec<Match>, m: Match) {
        if let Some(last) = matches.last() {
            assert!(m.start >= last.end, "{m:?} starts inside or before {last:?}");
        }
        matches.push(m);
    }
}
