//! Streaming masking of `application/x-www-form-urlencoded` bodies.
//!
//! A body is split on `&` (WHATWG forms have no other separator) and each
//! pair on its first `=`. Keys and values are percent-decoded (`+` is a
//! space) before detection, so `email=john.doe%40example.com` is an email.
//! The decoded key is the value's context, as a JSON member's key is: it
//! lets a bare national number under `phone=` be a phone, and a field rule
//! `$.email` or `$..email` acts on the value of the key `email`.
//!
//! Output keeps the input's bytes wherever nothing matched: only a match is
//! replaced, by its replacement percent-encoded as the `form_urlencoded`
//! serializer writes it (`[EMAIL]` becomes `%5BEMAIL%5D`). A value whose
//! decoding still holds `%XX` (encoded twice) is decoded once more and
//! scanned again; a match there masks its whole span in the input.
//!
//! A key or value is held whole up to [`MAX_HELD`] decoded bytes. Past
//! that it is scanned through a window with a bounded carry-over, like a
//! text body (a value that long is not decoded a second time), so memory
//! does not grow with the body.

use memchr::{memchr, memchr2};

use super::action::{Action, StreamingHash, StreamingMask};
use super::detect::{DetectorId, Hay, KeyContexts, LOOKBEHIND, Prefilter};
use super::json::path::{Segment, States};
use super::segment::{Encoding, ScanScratch, for_each_match};
use super::{Counters, Masker};

/// Decoded bytes of a key or value held whole; longer ones are scanned
/// through a window.
pub const MAX_HELD: usize = 64 * 1024;
/// Decoded key bytes kept as context and for rules; longer keys match none.
const MAX_KEY: usize = 256;
/// Stands for a key too long to match any rule (never valid UTF-8).
const OVERLONG_KEY: &[u8] = &[0xFF];

#[inline(always)]
fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Bytes a search looks at one by one before it calls `memchr`: most keys
/// and values are short, and a call costs more than a short loop.
const SHORT: usize = 32;

/// The first `a` or `b` in `hay`.
#[inline(always)]
fn find2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    let head = hay.len().min(SHORT);
    match hay[..head].iter().position(|&c| c == a || c == b) {
        Some(p) => Some(p),
        None => memchr2(a, b, &hay[head..]).map(|p| head + p),
    }
}

/// The first `a` in `hay`.
#[inline(always)]
fn find1(a: u8, hay: &[u8]) -> Option<usize> {
    let head = hay.len().min(SHORT);
    match hay[..head].iter().position(|&c| c == a) {
        Some(p) => Some(p),
        None => memchr(a, &hay[head..]).map(|p| head + p),
    }
}

/// Writes `bytes` percent-encoded as the form serializer does.
pub fn write_form_encoded(bytes: &[u8], out: &mut Vec<u8>) {
    for piece in form_urlencoded::byte_serialize(bytes) {
        out.extend_from_slice(piece.as_bytes());
    }
}

/// Percent-decoding (`+` as a space) of input that may be cut anywhere,
/// even inside an escape. An invalid escape stays as it is.
#[derive(Debug, Default)]
pub struct Decoder {
    pending: [u8; 2],
    n: usize,
    /// A `%` was written: the output may hold an escape (encoded twice).
    wrote_percent: bool,
}

impl Decoder {
    pub fn push(&mut self, mut raw: &[u8], out: &mut Vec<u8>) {
        // An escape cut by the previous piece.
        while self.n > 0 {
            let Some((&b, rest)) = raw.split_first() else { return };
            raw = rest;
            if self.n == 1 {
                if hex(b).is_some() {
                    self.pending[1] = b;
                    self.n = 2;
                } else {
                    out.push(b'%');
                    self.wrote_percent = true;
                    self.n = 0;
                    self.push_one_run(&[b], out);
                }
            } else {
                match hex(b) {
                    Some(lo) => self.decoded((hex(self.pending[1]).unwrap_or(0) << 4) | lo, out),
                    None => {
                        out.extend_from_slice(&[b'%', self.pending[1]]);
                        self.wrote_percent = true;
                        self.n = 0;
                        self.push_one_run(&[b], out);
                        continue;
                    }
                }
                self.n = 0;
            }
        }
        self.push_one_run(raw, out);
    }

    #[inline(always)]
    fn decoded(&mut self, b: u8, out: &mut Vec<u8>) {
        self.wrote_percent |= b == b'%';
        out.push(b);
    }

    fn push_one_run(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while let Some(p) = find2(b'%', b'+', &raw[i..]) {
            let j = i + p;
            out.extend_from_slice(&raw[i..j]);
            if raw[j] == b'+' {
                out.push(b' ');
                i = j + 1;
                continue;
            }
            match (raw.get(j + 1).copied(), raw.get(j + 2).copied()) {
                (None, _) => {
                    self.n = 1;
                    return;
                }
                (Some(h), None) if hex(h).is_some() => {
                    self.pending[1] = h;
                    self.n = 2;
                    return;
                }
                (Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                    self.decoded((hex(h).unwrap_or(0) << 4) | hex(l).unwrap_or(0), out);
                    i = j + 3;
                }
                _ => {
                    out.push(b'%');
                    self.wrote_percent = true;
                    i = j + 1;
                }
            }
        }
        out.extend_from_slice(&raw[i..]);
    }

    /// Ends the input: an escape left open stands as it is.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        match self.n {
            1 => out.push(b'%'),
            2 => out.extend_from_slice(&[b'%', self.pending[1]]),
            _ => {}
        }
        self.wrote_percent |= self.n > 0;
        self.n = 0;
    }
}

/// Input bytes `raw[from..]` one decoded byte stands for: 3 for a valid
/// escape, else 1 (the rule [`Decoder`] follows).
#[inline(always)]
fn encoded_len(raw: &[u8], from: usize) -> usize {
    match raw.get(from..from + 3) {
        Some([b'%', h, l]) if hex(*h).is_some() && hex(*l).is_some() => 3,
        _ => 1,
    }
}

/// Whether `bytes` holds a valid `%XX` escape.
fn has_escape(bytes: &[u8]) -> bool {
    let mut i = 0;
    while let Some(p) = memchr(b'%', &bytes[i..]) {
        let j = i + p;
        if encoded_len(bytes, j) == 3 {
            return true;
        }
        i = j + 1;
    }
    false
}

/// Whether a whole key or value can hold no match, by the detectors'
/// gates, as a JSON string whole in its chunk is judged: no anchor byte, a
/// shape no detector matches inside (a UUID, a timestamp), or digits alone
/// that are not a phone or an SSN under this key.
#[inline(always)]
fn inert(masker: &Masker, dec: &[u8], key: &[u8], contexts: &mut KeyContexts) -> bool {
    if dec.len() > Prefilter::MAX_LEN {
        return false;
    }
    let p = Prefilter::of(dec);
    let d = &masker.detectors;
    if !d.may_match(&p) {
        return true;
    }
    let all_digits = p.digits as usize == dec.len();
    !d.whole_may_match(dec, all_digits, || contexts.get(d, key))
}

/// A replacement decided for decoded bytes `start..end`.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: usize,
    end: usize,
    detector: DetectorId,
    /// The replacement, in [`Scratch::reps`].
    rep: (usize, usize),
}

/// Buffers reused across pairs, so scanning does not allocate.
#[derive(Debug, Default)]
struct Scratch {
    scan: ScanScratch,
    spans: Vec<Span>,
    reps: Vec<u8>,
    second: Vec<u8>,
    /// Index in the first decoding of each byte of the second, and its end.
    second_map: Vec<usize>,
    decoded: Vec<u8>,
    rendered: Vec<u8>,
    /// What recent keys say of numbers under them.
    contexts: KeyContexts,
}

/// A key or value as it arrives: its input bytes not yet written, their
/// decoding, and where output stands in both.
#[derive(Debug, Default)]
struct Field {
    raw: Vec<u8>,
    dec: Vec<u8>,
    decoder: Decoder,
    /// `dec[..emitted]` is written out (kept as look-behind only).
    emitted: usize,
    /// The index in `raw` of `dec[emitted]`'s input.
    raw_cursor: usize,
    matched_to: usize,
    /// Too long to hold whole: scanned through a window.
    windowed: bool,
}

impl Field {
    fn push(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        self.decoder.push(bytes, &mut self.dec);
        if self.dec.len() > MAX_HELD {
            self.windowed = true;
        }
    }

    /// Closes the decoding (an open escape stands as it is).
    fn seal(&mut self) {
        self.decoder.finish(&mut self.dec);
    }

    fn clear(&mut self) {
        self.raw.clear();
        self.dec.clear();
        self.decoder = Decoder::default();
        self.emitted = 0;
        self.raw_cursor = 0;
        self.matched_to = 0;
        self.windowed = false;
    }

    fn held(&self) -> usize {
        self.raw.len() + self.dec.len()
    }

    /// Writes the input of decoded bytes `emitted..to` as it came.
    fn copy_to(&mut self, to: usize, out: &mut Vec<u8>) {
        let start = self.raw_cursor;
        let mut r = start;
        for _ in self.emitted..to {
            r += encoded_len(&self.raw, r);
        }
        out.extend_from_slice(&self.raw[start..r.min(self.raw.len())]);
        self.raw_cursor = r;
        self.emitted = to;
    }

    /// Skips the input of decoded bytes `emitted..to` (replaced).
    fn skip_to(&mut self, to: usize) {
        for _ in self.emitted..to {
            self.raw_cursor += encoded_len(&self.raw, self.raw_cursor);
        }
        self.emitted = to;
    }

    /// Masks what can be decided under `key`; with `complete`, all of it,
    /// and the field is cleared for the next.
    fn process(
        &mut self,
        masker: &Masker,
        key: &[u8],
        complete: bool,
        out: &mut Vec<u8>,
        counters: &mut Counters,
        s: &mut Scratch,
    ) {
        if complete {
            self.seal();
            // Most keys and values are short and hold no anchor: written
            // as they came without a scan.
            if !self.windowed && !self.decoder.wrote_percent && inert(masker, &self.dec, key, &mut s.contexts) {
                out.extend_from_slice(&self.raw);
                self.clear();
                return;
            }
        }
        s.spans.clear();
        s.reps.clear();
        let hay = Hay { bytes: &self.dec, complete, key, matched_to: self.matched_to };
        let Scratch { scan, spans, reps, .. } = s;
        let resolved =
            for_each_match(masker, &hay, self.emitted, None, Encoding::Raw, counters, scan, &mut |m, rep| {
                let from = reps.len();
                reps.extend_from_slice(rep);
                spans.push(Span { start: m.start, end: m.end, detector: m.detector, rep: (from, reps.len()) });
            });
        if let Some(last) = s.spans.last() {
            self.matched_to = last.end;
        }
        if complete && !self.windowed && self.decoder.wrote_percent && has_escape(&self.dec) {
            self.second_decoding(masker, key, counters, s);
        }
        for span in &s.spans {
            self.copy_to(span.start, out);
            write_form_encoded(&s.reps[span.rep.0..span.rep.1], out);
            self.skip_to(span.end);
        }
        if complete {
            out.extend_from_slice(&self.raw[self.raw_cursor.min(self.raw.len())..]);
            self.clear();
            return;
        }
        self.copy_to(resolved.max(self.emitted), out);
        // Input before the cursor is written; decoded bytes are kept as
        // look-behind only.
        self.raw.drain(..self.raw_cursor);
        self.raw_cursor = 0;
        if self.emitted > 2 * LOOKBEHIND + 4096 {
            let drop = self.emitted - LOOKBEHIND;
            self.dec.drain(..drop);
            self.emitted -= drop;
            self.matched_to = self.matched_to.saturating_sub(drop);
        }
    }

    /// Decodes the (whole) decoded value again, scans that under `key`, and
    /// merges its matches, as spans of the first decoding, into
    /// `s.spans`. Overlapping spans become one (counted once), replaced by
    /// the first one's replacement.
    fn second_decoding(&self, masker: &Masker, key: &[u8], counters: &mut Counters, s: &mut Scratch) {
        s.second.clear();
        s.second_map.clear();
        let first = &self.dec;
        let mut i = 0;
        while i < first.len() {
            s.second_map.push(i);
            let n = encoded_len(first, i);
            s.second.push(match (n, first[i]) {
                (3, _) => (hex(first[i + 1]).unwrap_or(0) << 4) | hex(first[i + 2]).unwrap_or(0),
                (_, b'+') => b' ',
                (_, b) => b,
            });
            i += n;
        }
        s.second_map.push(first.len());
        let hay = Hay::whole(&s.second, key);
        let Scratch { scan, spans, reps, second_map, .. } = s;
        for_each_match(masker, &hay, 0, None, Encoding::Raw, counters, scan, &mut |m, rep| {
            let from = reps.len();
            reps.extend_from_slice(rep);
            let (start, end) = (second_map[m.start], second_map[m.end]);
            spans.push(Span { start, end, detector: m.detector, rep: (from, reps.len()) });
        });
        s.spans.sort_by_key(|sp| sp.start);
        let mut merged: Vec<Span> = Vec::with_capacity(s.spans.len());
        for sp in s.spans.drain(..) {
            match merged.last_mut() {
                Some(last) if sp.start < last.end => {
                    last.end = last.end.max(sp.end);
                    counters.detectors[sp.detector as usize] -= 1;
                }
                _ => merged.push(sp),
            }
        }
        s.spans = merged;
    }
}

/// What becomes of the current value.
#[derive(Debug)]
enum Target {
    /// Detectors, under the key.
    Scan,
    Keep,
    /// Replaced already (redact): input goes nowhere.
    Discard,
    /// The whole pair is removed, and the `&` after it.
    Drop,
    Mask(StreamingMask, Decoder),
    Hash(Box<StreamingHash>, Decoder),
}

/// The form half of a [`super::MaskStream`].
#[derive(Debug)]
pub struct FormMasker {
    in_value: bool,
    key: Field,
    /// The decoded key, as context and for rules ([`OVERLONG_KEY`] when
    /// longer than [`MAX_KEY`]).
    key_context: Vec<u8>,
    value: Field,
    target: Target,
    root: States,
    next: States,
    scratch: Scratch,
}

impl FormMasker {
    pub fn new(masker: &Masker) -> FormMasker {
        FormMasker {
            in_value: false,
            key: Field::default(),
            key_context: Vec::new(),
            value: Field::default(),
            target: Target::Scan,
            root: masker.rules.root(),
            next: States::new(),
            scratch: Scratch::default(),
        }
    }

    /// Bytes held across calls.
    pub fn held_bytes(&self) -> usize {
        self.key.held() + self.value.held()
    }

    pub fn feed(&mut self, masker: &Masker, input: &[u8], out: &mut Vec<u8>, counters: &mut Counters) {
        let mut i = 0;
        while i < input.len() {
            if self.in_value {
                let end = find1(b'&', &input[i..]).map(|p| i + p);
                let j = end.unwrap_or(input.len());
                self.value_bytes(masker, &input[i..j], out, counters);
                let Some(j) = end else { break };
                // A dropped pair takes its `&` with it.
                if !self.end_value(masker, out, counters) {
                    out.push(b'&');
                }
                self.in_value = false;
                i = j + 1;
            } else {
                let end = find2(b'=', b'&', &input[i..]).map(|p| i + p);
                let j = end.unwrap_or(input.len());
                self.key.push(&input[i..j]);
                if self.key.windowed {
                    self.key.process(masker, b"", false, out, counters, &mut self.scratch);
                }
                let Some(j) = end else { break };
                if input[j] == b'&' {
                    self.key.process(masker, b"", true, out, counters, &mut self.scratch);
                    out.push(b'&');
                } else {
                    self.begin_value(masker, out, counters);
                }
                i = j + 1;
            }
        }
    }

    pub fn finish(&mut self, masker: &Masker, out: &mut Vec<u8>, counters: &mut Counters) {
        if self.in_value {
            self.end_value(masker, out, counters);
            self.in_value = false;
        } else {
            self.key.process(masker, b"", true, out, counters, &mut self.scratch);
        }
    }

    /// At a pair's `=`: the key is decided, written (unless a rule drops
    /// the pair), and the value's treatment planned.
    fn begin_value(&mut self, masker: &Masker, out: &mut Vec<u8>, counters: &mut Counters) {
        self.key.seal();
        self.key_context.clear();
        if self.key.windowed || self.key.dec.len() > MAX_KEY {
            self.key_context.extend_from_slice(OVERLONG_KEY);
        } else {
            self.key_context.extend_from_slice(&self.key.dec);
        }
        let rule = (!masker.rules.is_empty() && self.key_context != OVERLONG_KEY)
            .then(|| masker.rules.step(&self.root, Segment::Key(&self.key_context), &mut self.next))
            .flatten();
        if let Some(r) = rule {
            counters.rules[r] += 1;
        }
        let action = rule.map(|r| masker.rules.action(r));
        if let Some(Action::Drop) = action {
            self.key.clear();
            self.target = Target::Drop;
            self.in_value = true;
            return;
        }
        self.key.process(masker, b"", true, out, counters, &mut self.scratch);
        out.push(b'=');
        self.target = match action {
            None => Target::Scan,
            Some(Action::Keep) => Target::Keep,
            Some(Action::Drop) => Target::Drop,
            Some(Action::Redact { placeholder }) => {
                write_form_encoded(placeholder.as_bytes(), out);
                Target::Discard
            }
            Some(Action::Mask { keep_last }) => Target::Mask(StreamingMask::new(*keep_last), Decoder::default()),
            Some(Action::Hash { key, label }) => {
                Target::Hash(Box::new(StreamingHash::new(key.clone(), label.clone())), Decoder::default())
            }
        };
        self.in_value = true;
    }

    fn value_bytes(&mut self, masker: &Masker, bytes: &[u8], out: &mut Vec<u8>, counters: &mut Counters) {
        let s = &mut self.scratch;
        match &mut self.target {
            Target::Scan => {
                self.value.push(bytes);
                if self.value.windowed {
                    self.value.process(masker, &self.key_context, false, out, counters, s);
                }
            }
            Target::Keep => out.extend_from_slice(bytes),
            Target::Discard | Target::Drop => {}
            Target::Mask(mk, d) => {
                s.decoded.clear();
                d.push(bytes, &mut s.decoded);
                s.rendered.clear();
                mk.push(&s.decoded, &mut s.rendered);
                write_form_encoded(&s.rendered, out);
            }
            Target::Hash(h, d) => {
                s.decoded.clear();
                d.push(bytes, &mut s.decoded);
                h.push(&s.decoded);
            }
        }
    }

    /// Ends the value (and the pair); true when a rule dropped the pair.
    fn end_value(&mut self, masker: &Masker, out: &mut Vec<u8>, counters: &mut Counters) -> bool {
        let s = &mut self.scratch;
        match std::mem::replace(&mut self.target, Target::Scan) {
            Target::Scan => self.value.process(masker, &self.key_context, true, out, counters, s),
            Target::Mask(mut mk, mut d) => {
                s.decoded.clear();
                d.finish(&mut s.decoded);
                s.rendered.clear();
                mk.push(&s.decoded, &mut s.rendered);
                mk.finish(&mut s.rendered);
                write_form_encoded(&s.rendered, out);
            }
            Target::Hash(mut h, mut d) => {
                s.decoded.clear();
                d.finish(&mut s.decoded);
                h.push(&s.decoded);
                s.rendered.clear();
                h.finish(&mut s.rendered);
                write_form_encoded(&s.rendered, out);
            }
            Target::Drop => return true,
            Target::Keep | Target::Discard => {}
        }
        false
    }
}

#[cfg(test)]
mod tests;
