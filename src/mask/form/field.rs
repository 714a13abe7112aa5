//! One key or value of a form as it arrives: held whole up to
//! [`MAX_HELD`] decoded bytes, else scanned through a window; written back
//! byte for byte but for its matches.

use super::MAX_HELD;
use super::codec::{Decoder, encoded_len, has_escape, hex, write_form_encoded};
use crate::mask::detect::{DetectorId, Hay, KeyContexts, LOOKBEHIND, Prefilter};
use crate::mask::segment::{Encoding, ScanScratch, for_each_match};
use crate::mask::spelling::{Folded, Spelled, fold, needs_decoding, spelled_at};
use crate::mask::{Counters, Masker};

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
pub(super) struct Scratch {
    scan: ScanScratch,
    spans: Vec<Span>,
    reps: Vec<u8>,
    second: Vec<u8>,
    /// Index in the first decoding of each byte of the second, and its end.
    second_map: Vec<usize>,
    pub(super) decoded: Vec<u8>,
    pub(super) rendered: Vec<u8>,
    /// What recent keys say of numbers under them.
    contexts: KeyContexts,
    /// The charset of decoded bytes, when not UTF-8 (see [`super`]).
    pub(super) charset: Option<&'static encoding_rs::Encoding>,
}

impl Scratch {
    pub(super) fn in_charset(charset: Option<&'static encoding_rs::Encoding>) -> Scratch {
        Scratch { charset, ..Scratch::default() }
    }
}

/// A key or value as it arrives: its input bytes not yet written, their
/// decoding, and where output stands in both.
#[derive(Debug, Default)]
pub(super) struct Field {
    raw: Vec<u8>,
    pub(super) dec: Vec<u8>,
    decoder: Decoder,
    /// `dec[..emitted]` is written out (kept as look-behind only).
    emitted: usize,
    /// The index in `raw` of `dec[emitted]`'s input.
    raw_cursor: usize,
    matched_to: usize,
    /// Too long to hold whole: scanned through a window.
    pub(super) windowed: bool,
}

impl Field {
    pub(super) fn push(&mut self, bytes: &[u8]) {
        self.raw.extend_from_slice(bytes);
        self.decoder.push(bytes, &mut self.dec);
        if self.dec.len() > MAX_HELD {
            self.windowed = true;
        }
    }

    /// Closes the decoding (an open escape stands as it is).
    pub(super) fn seal(&mut self) {
        self.decoder.finish(&mut self.dec);
    }

    pub(super) fn clear(&mut self) {
        self.raw.clear();
        self.dec.clear();
        self.decoder = Decoder::default();
        self.emitted = 0;
        self.raw_cursor = 0;
        self.matched_to = 0;
        self.windowed = false;
    }

    pub(super) fn held(&self) -> usize {
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
    pub(super) fn process(
        &mut self,
        masker: &Masker,
        key: &[u8],
        complete: bool,
        out: &mut Vec<u8>,
        counters: &mut Counters,
        s: &mut Scratch,
    ) {
        // Bytes that read otherwise in the form's charset (all of UTF-16's
        // have a NUL or a byte past ASCII).
        let charset = s.charset;
        let in_charset = |dec: &[u8]| charset.filter(|_| dec.iter().any(|&b| b == 0 || !b.is_ascii()));
        if complete {
            self.seal();
            // Most keys and values are short and hold no anchor: written
            // as they came without a scan.
            if !self.windowed
                && !self.decoder.wrote_percent
                && inert(masker, &self.dec, key, &mut s.contexts)
                && !needs_decoding(&self.dec)
                && in_charset(&self.dec).is_none()
            {
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
            self.decode_again(Layer::Percent, masker, key, counters, s);
        }
        // UTF-16 bytes are read as characters by the charset layer; the
        // spelling layer would cut them between a unit's two bytes.
        let utf16 = charset.is_some_and(is_utf16);
        if complete && !self.windowed && !utf16 && needs_decoding(&self.dec) {
            self.decode_again(Layer::Spelling, masker, key, counters, s);
        }
        if complete
            && !self.windowed
            && let Some(charset) = in_charset(&self.dec)
        {
            self.decode_again(Layer::Charset(charset), masker, key, counters, s);
        }
        for span in &s.spans {
            self.copy_to(span.start, out);
            write_replacement(&s.reps[span.rep.0..span.rep.1], charset, out);
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

    /// Decodes the (whole) decoded value again by `layer`, scans that
    /// under `key`, and merges its matches, as spans of the first
    /// decoding, into `s.spans`. Overlapping spans become one (counted
    /// once), replaced by the first one's replacement.
    fn decode_again(&self, layer: Layer, masker: &Masker, key: &[u8], counters: &mut Counters, s: &mut Scratch) {
        s.second.clear();
        s.second_map.clear();
        let first = &self.dec;
        let mut i = 0;
        while i < first.len() {
            let n = match layer {
                Layer::Percent => {
                    let n = encoded_len(first, i);
                    s.second_map.push(i);
                    s.second.push(match (n, first[i]) {
                        (3, _) => (hex(first[i + 1]).unwrap_or(0) << 4) | hex(first[i + 2]).unwrap_or(0),
                        (_, b'+') => b' ',
                        (_, b) => b,
                    });
                    n
                }
                Layer::Spelling => match spelled_at(first, i, true) {
                    Spelled::Char { len, ch } => {
                        push_folded(ch, i, s);
                        len
                    }
                    Spelled::Plain | Spelled::NeedMore => {
                        s.second_map.push(i);
                        s.second.push(first[i]);
                        1
                    }
                },
                // Read whole, from the first byte.
                Layer::Charset(charset) => {
                    read_in_charset(first, charset, s);
                    first.len()
                }
            };
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

fn is_utf16(charset: &'static encoding_rs::Encoding) -> bool {
    charset == encoding_rs::UTF_16LE || charset == encoding_rs::UTF_16BE
}

/// Writes a replacement (UTF-8) form-encoded in the form's charset: as is
/// in the ASCII-compatible ones, as UTF-16 units in UTF-16, so the app
/// reads `[EMAIL]` rather than what its bytes spell as UTF-16.
pub(super) fn write_replacement(rep: &[u8], charset: Option<&'static encoding_rs::Encoding>, out: &mut Vec<u8>) {
    match charset.filter(|&c| is_utf16(c)) {
        Some(c) => {
            let text = String::from_utf8_lossy(rep);
            let big = c == encoding_rs::UTF_16BE;
            let units: Vec<u8> =
                text.encode_utf16().flat_map(|u| if big { u.to_be_bytes() } else { u.to_le_bytes() }).collect();
            write_form_encoded(&units, out);
        }
        None => write_form_encoded(rep, out),
    }
}

/// Appends what a reader takes `ch` (at `at` in the first decoding) for
/// to the second reading.
fn push_folded(ch: char, at: usize, s: &mut Scratch) {
    match fold(ch) {
        Folded::Ascii(b) => {
            s.second_map.push(at);
            s.second.push(b);
        }
        Folded::Removed => {}
        Folded::Char(c) => {
            for &b in c.encode_utf8(&mut [0; 4]).as_bytes() {
                s.second_map.push(at);
                s.second.push(b);
            }
        }
    }
}

/// The second reading of `first` decoded from `charset`, a character at
/// a time so each maps to the bytes it came from. A malformed sequence
/// reads as nothing (the first reading has scanned its bytes).
fn read_in_charset(first: &[u8], charset: &'static encoding_rs::Encoding, s: &mut Scratch) {
    let mut decoder = charset.new_decoder_without_bom_handling();
    let mut buf = [0u8; 16];
    let mut start = 0;
    for i in 0..first.len() {
        let last = i + 1 == first.len();
        let (result, _, written) = decoder.decode_to_utf8_without_replacement(&first[i..i + 1], &mut buf, last);
        if let encoding_rs::DecoderResult::Malformed(..) = result {
            start = i + 1;
            continue;
        }
        if written > 0 {
            for ch in std::str::from_utf8(&buf[..written]).unwrap_or_default().chars() {
                push_folded(ch, start, s);
            }
            start = i + 1;
        }
    }
}

/// A second reading of a decoded key or value.
#[derive(Clone, Copy, Debug)]
enum Layer {
    /// Its percent-escapes once more (a value encoded twice, `%2540`).
    Percent,
    /// What a reader sees: HTML references, escapes, Unicode spaces,
    /// fullwidth forms, invisible characters (as text bodies are read).
    Spelling,
    /// Its bytes in the form's charset (Shift_JIS, UTF-16…), folded as
    /// [`Layer::Spelling`] folds characters.
    Charset(&'static encoding_rs::Encoding),
}
