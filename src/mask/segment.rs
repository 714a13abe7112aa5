//! Turning detector matches into output, for a whole segment at once or
//! for a segment that arrives in pieces (through a bounded window).
//!
//! A window keeps the unresolved tail of the segment (at most the longest
//! match any detector can make) plus [`LOOKBEHIND`] bytes of context, so a
//! 10 GB text body costs what a 10 KB one costs.

use super::decoded_view::{DecodedView, Original};
use super::detect::{Found, Hay, LOOKBEHIND, Match, Prefilter};
use super::json::strings::{find_string_special, is_string_special};
use super::spelling::needs_decoding;
use super::{Counters, Masker};

/// How segment bytes are written out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// As they are (text bodies, raw JSON string content).
    Raw,
    /// Inside a JSON string: `"`, `\` and control bytes escaped.
    JsonString,
}

/// Writes `bytes` in `enc`.
#[inline(always)]
pub fn write_encoded(enc: Encoding, bytes: &[u8], out: &mut Vec<u8>) {
    match enc {
        Encoding::Raw => out.extend_from_slice(bytes),
        Encoding::JsonString => write_json_escaped(bytes, out),
    }
}

/// `bytes` as a JSON string: quoted, escaped (see [`write_json_escaped`]).
pub fn write_json_quoted(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    write_json_escaped(bytes, out);
    out.push(b'"');
}

/// Escapes for the inside of a JSON string. Decoded text from valid JSON
/// only contains `"`, `\` or control bytes where the input escaped them, so
/// raw runs come out byte for byte: they are found with the SIMD search the
/// lexer uses and copied whole (a byte-by-byte walk cost ~25 instructions
/// a byte of a decoded string; a run shorter than a SIMD block is still
/// searched a byte at a time).
pub fn write_json_escaped(bytes: &[u8], out: &mut Vec<u8>) {
    // Short plain writes (a masked value, the digits around a match in a
    // number): one pass over them, then one copy (the search and its two
    // copies cost ~160 instructions).
    if bytes.len() < 16 && !bytes.iter().any(|&b| is_string_special(b)) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut from = 0;
    while let Some(i) = find_string_special(bytes, from) {
        out.extend_from_slice(&bytes[from..i]);
        match bytes[i] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0C => out.extend_from_slice(b"\\f"),
            b => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
        }
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
}

/// Scans `hay` from `pos` and calls `on_match` with each match and its
/// replacement, encoded in `enc`. Returns the resolved position (see
/// [`crate::mask::detect::DetectorSet::scan`]).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub fn for_each_match(
    masker: &Masker,
    hay: &Hay,
    pos: usize,
    prefilter: Option<Prefilter>,
    enc: Encoding,
    counters: &mut Counters,
    scratch: &mut ScanScratch,
    on_match: &mut dyn FnMut(Match, &[u8]),
) -> usize {
    let bytes = hay.bytes;
    let ScanScratch { found, replacement, encoded } = scratch;
    masker.detectors.scan(hay, pos, prefilter, found, &mut |m| {
        counters.detectors[m.detector as usize] += 1;
        // A placeholder that needs no escaping (every default one) is the
        // same in every encoding: no rendering, no escaping (~150
        // instructions a match).
        if let Some(placeholder) = masker.plain_placeholder(m.detector) {
            on_match(m, placeholder);
            return;
        }
        replacement.clear();
        masker.detector_actions[m.detector as usize].render(&bytes[m.start..m.end], replacement);
        match enc {
            Encoding::Raw => on_match(m, replacement),
            Encoding::JsonString => {
                encoded.clear();
                write_json_escaped(replacement, encoded);
                on_match(m, encoded);
            }
        }
    })
}

/// Scans `hay` from `pos`, writing unmatched bytes and replacements to
/// `out` in `enc`. Returns the position up to which output was written,
/// and where the last match ended (`hay.matched_to` when none did).
pub fn mask_segment(
    masker: &Masker,
    hay: &Hay,
    pos: usize,
    enc: Encoding,
    out: &mut Vec<u8>,
    counters: &mut Counters,
    scratch: &mut ScanScratch,
) -> (usize, usize) {
    let mut emitted = pos;
    let mut matched_to = hay.matched_to;
    let bytes = hay.bytes;
    let resolved = for_each_match(masker, hay, pos, None, enc, counters, scratch, &mut |m, replacement| {
        write_encoded(enc, &bytes[emitted..m.start], out);
        out.extend_from_slice(replacement);
        emitted = m.end;
        matched_to = m.end;
    });
    write_encoded(enc, &bytes[emitted..resolved], out);
    (resolved, matched_to)
}

/// Reusable buffers for [`mask_segment`], so scanning does not allocate.
#[derive(Debug, Default)]
pub struct ScanScratch {
    found: Vec<Found>,
    replacement: Vec<u8>,
    /// `replacement` encoded, when that changes it.
    encoded: Vec<u8>,
}

/// A segment arriving in pieces.
///
/// Bytes without another spelling of a character ([`super::spelling`]:
/// `&#64;`, `%40`, a no-break space…) are scanned as they are. From the
/// first chunk that holds one, the window scans a decoded view of its
/// bytes ([`DecodedView`]) until the bytes it holds are plain again; both
/// give the same matches on plain bytes, so where the switch happens does
/// not change the output.
#[derive(Debug, Default)]
pub struct Window {
    buf: Vec<u8>,
    /// `buf[..emitted]` is already written out (kept as context only).
    emitted: usize,
    /// Where the last match ended (see [`Hay::matched_to`]).
    matched_to: usize,
    /// Where `buf[0]` is from the segment's start.
    base: u64,
    /// `buf[..checked]` holds no spelling (while `decoded` is `None`).
    checked: usize,
    decoded: Option<Box<DecodedView>>,
}

impl Window {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Masks what can be decided; with `complete`, everything, and the
    /// window is reset for the next segment.
    #[allow(clippy::too_many_arguments)]
    pub fn process(
        &mut self,
        masker: &Masker,
        key: &[u8],
        complete: bool,
        enc: Encoding,
        out: &mut Vec<u8>,
        counters: &mut Counters,
        scratch: &mut ScanScratch,
    ) {
        if self.decoded.is_none() {
            if !needs_decoding(&self.buf[self.checked..]) {
                self.checked = self.buf.len();
                let hay = Hay { bytes: &self.buf, complete, key, matched_to: self.matched_to };
                (self.emitted, self.matched_to) = mask_segment(masker, &hay, self.emitted, enc, out, counters, scratch);
                self.settle(complete);
                return;
            }
            let o = Original { buf: &self.buf, base: self.base, emitted: self.emitted };
            self.decoded = Some(Box::new(DecodedView::from_plain(&o, self.checked, self.matched_to)));
        }
        if let Some(view) = &mut self.decoded {
            let o = Original { buf: &self.buf, base: self.base, emitted: self.emitted };
            self.emitted = view.process(masker, &o, key, complete, enc, out, counters, scratch);
        }
        self.settle(complete);
        if let Some(view) = &self.decoded
            && let Some(matched_to) = view.plain_again(self.buf.len(), self.base)
        {
            self.matched_to = matched_to;
            self.checked = self.buf.len();
            self.decoded = None;
        }
    }

    /// After a scan: resets the window at the segment's end, else drops
    /// the written bytes beyond the context kept.
    fn settle(&mut self, complete: bool) {
        if complete {
            self.buf.clear();
            self.emitted = 0;
            self.matched_to = 0;
            self.base = 0;
            self.checked = 0;
            self.decoded = None;
        } else if self.emitted > 2 * LOOKBEHIND + 4096 {
            let drop = self.emitted - LOOKBEHIND;
            self.buf.drain(..drop);
            self.emitted -= drop;
            self.base += drop as u64;
            self.checked = self.checked.saturating_sub(drop);
            // A match before the kept context: every group in view is after it.
            self.matched_to = self.matched_to.saturating_sub(drop);
        }
    }

    /// Bytes held (for tests of the memory bound).
    pub fn held(&self) -> usize {
        self.buf.len() + self.decoded.as_ref().map_or(0, |v| v.held())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escaping_round_trips_through_serde() {
        let s = "a\"b\\c\n\t\u{1}é\u{7f}";
        let mut out = b"\"".to_vec();
        write_json_escaped(s.as_bytes(), &mut out);
        out.push(b'"');
        let back: String = serde_json::from_slice(&out).unwrap();
        assert_eq!(back, s);
    }

    /// Every ASCII byte, near the start and past a SIMD block, escapes as
    /// serde_json escapes it, byte for byte.
    #[test]
    fn json_escaping_matches_serde_for_every_byte_at_every_offset() {
        for b in 0..0x80u8 {
            let c = b as char;
            for pad in [0, 1, 15, 16, 17, 40] {
                let s = format!("{}{c}{}{c}", "x".repeat(pad), "é".repeat(pad / 2));
                let mut out = b"\"".to_vec();
                write_json_escaped(s.as_bytes(), &mut out);
                out.push(b'"');
                assert_eq!(String::from_utf8_lossy(&out), serde_json::to_string(&s).unwrap(), "{b:#x} {pad}");
            }
        }
    }
}
