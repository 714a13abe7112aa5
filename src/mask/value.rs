//! Masking one short value held whole: a header, a trailer, a path, a
//! query key or value. Unlike a body, such a value is often
//! percent-encoded (`Location: /u/ana%40example.com`, `filename*=UTF-8''…`,
//! a form-encoded query, `%2540` encoded twice), so it is scanned as sent,
//! percent-decoded once, and decoded twice; it is also read through the
//! spellings a body is read through (`&#64;`, fullwidth forms, digits of
//! other scripts: [`super::spelling`]), as sent and once decoded, and
//! through its RFC 2047 encoded-words (`=?UTF-8?B?…?=`). A match in a
//! decoded reading replaces the whole span of the original bytes it came
//! from, escapes included, and a replacement is written so that it stays
//! a valid part of the value (see [`Form`]). Bytes outside every match are
//! kept as they were.

use std::sync::Arc;

use super::Masker;
use super::action::Action;
use super::detect::{DetectorId, Found, Hay};
use super::encoded_word::{Words, decode_words};
use super::header_params::{Joined, join_continuations};
use super::spelling::{Folded, Spelled, fold, may_start_spelling, spelled_at};
use super::stream::Stats;

/// Where a value sits, which decides how a replacement is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// A header or trailer value. A replacement for a span that held an
    /// escape is percent-encoded (everything but unreserved bytes), as
    /// the span was; otherwise only bytes that could break a header's
    /// own syntax (space, `"`, `,`, `;`, `=`, `%`, `\`, controls,
    /// non-ASCII, …) are.
    Header,
    /// A path or a query key or value: a replacement is percent-encoded,
    /// all but unreserved bytes, so it cannot add a separator. With
    /// `plus_is_space`, `+` reads as a space (form encoding).
    Uri { plus_is_space: bool },
}

/// One span of the original value that holds personal data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub start: usize,
    pub end: usize,
    pub detector: DetectorId,
    /// The replacement, not yet encoded for its [`Form`].
    replacement: Vec<u8>,
}

/// Masks values one at a time and counts what it found, per detector, for
/// one report.
#[derive(Debug)]
pub struct ValueMasker {
    masker: Arc<Masker>,
    counts: Vec<u64>,
    found: Vec<Found>,
}

impl ValueMasker {
    pub fn new(masker: Arc<Masker>) -> ValueMasker {
        let counts = vec![0; masker.detector_names.len()];
        ValueMasker { masker, counts, found: Vec::new() }
    }

    /// The spans of `raw` holding personal data, in order and apart, read
    /// under `key` (a header name or query key gives context, as a JSON
    /// key does). Detectors whose action is `keep` find nothing here.
    pub fn find(&mut self, raw: &[u8], key: &[u8], form: Form) -> Vec<Finding> {
        find_in(&self.masker, &mut self.found, raw, key, form)
    }

    /// The name of the detector behind a finding.
    pub fn detector_name(&self, id: DetectorId) -> &Arc<str> {
        &self.masker.detector_names[id as usize]
    }

    /// `raw` with every finding replaced, or `None` when nothing was
    /// found (the value stays as it is). Each replaced span is counted.
    pub fn mask(&mut self, raw: &[u8], key: &[u8], form: Form) -> Option<Vec<u8>> {
        let findings = self.find(raw, key, form);
        if findings.is_empty() {
            return None;
        }
        Some(self.apply(raw, &findings, form))
    }

    /// `raw` with `findings` (from [`ValueMasker::find`] on the same value)
    /// replaced; each is counted.
    pub fn apply(&mut self, raw: &[u8], findings: &[Finding], form: Form) -> Vec<u8> {
        for f in findings {
            self.counts[f.detector as usize] += 1;
        }
        replace(raw, findings, form)
    }

    /// Counts a finding that was acted on another way (a refusal).
    pub fn count(&mut self, finding: &Finding) {
        self.counts[finding.detector as usize] += 1;
    }

    /// What was counted since this masker was made, as a stream reports
    /// it (no bytes, no rules: values are not bodies).
    pub fn stats(&self) -> Stats {
        Stats {
            bytes_in: 0,
            bytes_out: 0,
            detectors: self
                .masker
                .detector_names
                .iter()
                .zip(&self.counts)
                .filter(|(_, n)| **n > 0)
                .map(|(name, n)| (name.clone(), *n))
                .collect(),
            rules: Vec::new(),
        }
    }

    /// Whether anything was counted.
    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|n| *n == 0)
    }
}

/// The spans of `raw` holding personal data (see [`ValueMasker::find`]),
/// with `masker`; `found` is scratch space.
pub fn find_in(masker: &Masker, found: &mut Vec<Found>, raw: &[u8], key: &[u8], form: Form) -> Vec<Finding> {
    let plus_is_space = matches!(form, Form::Uri { plus_is_space: true });
    let mut candidates: Vec<(Finding, usize)> = Vec::new();
    let mut scan = |view: &[u8], spans: Option<&[(usize, usize)]>, depth: usize| {
        scan_reading(masker, found, view, key, spans, depth, &mut candidates);
    };
    scan(raw, None, 0);
    if let Some(spelled) = spelled(raw, None) {
        scan(&spelled.bytes, Some(&spelled.spans), 1);
    }
    if let Some(once) = decode(raw, plus_is_space, None) {
        scan(&once.bytes, Some(&once.spans), 1);
        if let Some(spelled) = spelled(&once.bytes, Some(&once.spans)) {
            scan(&spelled.bytes, Some(&spelled.spans), 2);
        }
        if let Some(twice) = decode(&once.bytes, false, Some(&once.spans)) {
            scan(&twice.bytes, Some(&twice.spans), 2);
        }
    }
    if let Some(Words { bytes, spans }) = decode_words(raw) {
        scan(&bytes, Some(&spans), 1);
        if let Some(spelled) = spelled(&bytes, Some(&spans)) {
            scan(&spelled.bytes, Some(&spelled.spans), 2);
        }
    }
    // RFC 2231 continuations (`filename*0="ana.lopez@ex"; filename*1=…`)
    // joined, as sent and once decoded (`filename*0*=utf-8''…%40…`).
    if let Some(Joined { bytes, spans }) = join_continuations(raw) {
        scan(&bytes, Some(&spans), 1);
        if let Some(once) = decode(&bytes, false, Some(&spans)) {
            scan(&once.bytes, Some(&once.spans), 2);
            if let Some(spelled) = spelled(&once.bytes, Some(&once.spans)) {
                scan(&spelled.bytes, Some(&spelled.spans), 3);
            }
        }
        if let Some(spelled) = spelled(&bytes, Some(&spans)) {
            scan(&spelled.bytes, Some(&spelled.spans), 2);
        }
    }
    // Earliest first, then longest, then the deepest reading (whose
    // replacement is rendered from the decoded value, so a hash is the
    // same as the plain value's); overlapping spans merge into the
    // first.
    candidates.sort_by(|(a, da), (b, db)| a.start.cmp(&b.start).then(b.end.cmp(&a.end)).then(db.cmp(da)));
    let mut merged: Vec<Finding> = Vec::new();
    for (candidate, _) in candidates {
        match merged.last_mut() {
            Some(last) if candidate.start < last.end => last.end = last.end.max(candidate.end),
            _ => merged.push(candidate),
        }
    }
    merged
}

/// `raw` with `findings` (from [`find_in`] on the same value) replaced.
pub fn replace(raw: &[u8], findings: &[Finding], form: Form) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut from = 0;
    for f in findings {
        out.extend_from_slice(&raw[from..f.start]);
        let escaped = raw[f.start..f.end].contains(&b'%');
        write_replacement(&f.replacement, form, escaped, &mut out);
        from = f.end;
    }
    out.extend_from_slice(&raw[from..]);
    out
}

/// Scans one reading of the value whole, then each of its pieces
/// between URI delimiters (`/`, `:`, `#`) that starts like a number on
/// its own: the digit detectors do not start a number just after
/// those bytes (in text, `2024/11`, `10:30` and `#123` are no phone
/// numbers), but in a path or a `tel:` link a segment is a value of
/// its own. Other pieces were read whole already.
fn scan_reading(
    masker: &Masker,
    found: &mut Vec<Found>,
    view: &[u8],
    key: &[u8],
    spans: Option<&[(usize, usize)]>,
    depth: usize,
    out: &mut Vec<(Finding, usize)>,
) {
    let is_delimiter = |b: &u8| matches!(b, b'/' | b':' | b'#');
    scan_view(masker, found, view, 0..view.len(), key, spans, depth, out);
    if !view.iter().any(is_delimiter) {
        return;
    }
    let mut from = 0;
    for piece in view.split(is_delimiter) {
        if matches!(piece.first(), Some(b'0'..=b'9' | b'+' | b'(')) {
            scan_view(masker, found, view, from..from + piece.len(), key, spans, depth, out);
        }
        from += piece.len() + 1;
    }
}

/// Scans `view[range]` as a whole value. `spans` maps each byte of
/// `view` to the span of the original it came from (`None`: it is the
/// original).
#[allow(clippy::too_many_arguments)]
fn scan_view(
    masker: &Masker,
    found: &mut Vec<Found>,
    view: &[u8],
    range: std::ops::Range<usize>,
    key: &[u8],
    spans: Option<&[(usize, usize)]>,
    depth: usize,
    out: &mut Vec<(Finding, usize)>,
) {
    let base = range.start;
    let piece = &view[range];
    let mut matches = Vec::new();
    masker.detectors.scan(&Hay::whole(piece, key), 0, None, found, &mut |m| matches.push(m));
    for m in matches {
        let action = &masker.detector_actions[m.detector as usize];
        if matches!(action, Action::Keep) || m.end <= m.start {
            continue;
        }
        let (first, last) = (base + m.start, base + m.end - 1);
        let (start, end) = match spans {
            None => (first, last + 1),
            Some(spans) => (spans[first].0, spans[last].1),
        };
        let mut replacement = Vec::new();
        match masker.plain_placeholder(m.detector) {
            Some(p) => replacement.extend_from_slice(p),
            None => action.render(&piece[m.start..m.end], &mut replacement),
        }
        out.push((Finding { start, end, detector: m.detector, replacement }, depth));
    }
}

/// A decoded reading of a value and, for each of its bytes, the span of
/// the original value it came from.
struct Decoded {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

/// `input` with its `%XX` escapes (and, with `plus_is_space`, `+`)
/// decoded; `None` when there is nothing to decode. A `%` not followed by
/// two hex digits stays as it is. `outer` maps `input`'s bytes to the
/// original's spans, when `input` is itself a decoded reading.
fn decode(input: &[u8], plus_is_space: bool, outer: Option<&[(usize, usize)]>) -> Option<Decoded> {
    let escape_at = |i: usize| -> Option<u8> {
        if input.get(i) != Some(&b'%') {
            return None;
        }
        let hi = hex(*input.get(i + 1)?)?;
        let lo = hex(*input.get(i + 2)?)?;
        Some(hi << 4 | lo)
    };
    let has_work = (0..input.len()).any(|i| escape_at(i).is_some() || (plus_is_space && input[i] == b'+'));
    if !has_work {
        return None;
    }
    let span_of = |from: usize, to: usize| match outer {
        None => (from, to),
        Some(o) => (o[from].0, o[to - 1].1),
    };
    let mut bytes = Vec::with_capacity(input.len());
    let mut spans = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if let Some(b) = escape_at(i) {
            bytes.push(b);
            spans.push(span_of(i, i + 3));
            i += 3;
        } else {
            bytes.push(if plus_is_space && input[i] == b'+' { b' ' } else { input[i] });
            spans.push(span_of(i, i + 1));
            i += 1;
        }
    }
    Some(Decoded { bytes, spans })
}

/// `input` read through its spellings ([`super::spelling`]: HTML
/// references, percent-escapes, fullwidth forms, other digits, invisible
/// characters), one layer; `None` when it has none. `outer` as in
/// [`decode`].
fn spelled(input: &[u8], outer: Option<&[(usize, usize)]>) -> Option<Decoded> {
    if !(0..input.len()).any(|i| may_start_spelling(input[i]) && spelled_at(input, i, true) != Spelled::Plain) {
        return None;
    }
    let span_of = |from: usize, to: usize| match outer {
        None => (from, to),
        Some(o) => (o[from].0, o[to - 1].1),
    };
    let mut bytes = Vec::with_capacity(input.len());
    let mut spans = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let spelling = if may_start_spelling(input[i]) { spelled_at(input, i, true) } else { Spelled::Plain };
        let Spelled::Char { len, ch } = spelling else {
            bytes.push(input[i]);
            spans.push(span_of(i, i + 1));
            i += 1;
            continue;
        };
        let span = span_of(i, i + len);
        match fold(ch) {
            Folded::Ascii(a) => {
                bytes.push(a);
                spans.push(span);
            }
            Folded::Removed => {}
            Folded::Char(c) => {
                let mut utf8 = [0; 4];
                for &b in c.encode_utf8(&mut utf8).as_bytes() {
                    bytes.push(b);
                    spans.push(span);
                }
            }
        }
        i += len;
    }
    Some(Decoded { bytes, spans })
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Bytes a replacement may carry literally in a header value: they end no
/// parameter, list element, quoted string or cookie, and are visible ASCII.
fn is_header_safe(b: u8) -> bool {
    is_unreserved(b) || matches!(b, b'[' | b']' | b':' | b'@' | b'*' | b'!' | b'$' | b'\'' | b'(' | b')' | b'+' | b'/')
}

fn write_replacement(replacement: &[u8], form: Form, escaped: bool, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let literal = |b: u8| match form {
        Form::Header if !escaped => is_header_safe(b),
        _ => is_unreserved(b),
    };
    for &b in replacement {
        if literal(b) {
            out.push(b);
        } else {
            out.extend_from_slice(&[b'%', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::{DetectorConfig, MaskerConfig};

    fn values() -> ValueMasker {
        ValueMasker::new(Arc::new(Masker::new(&crate::patterns::default_config()).expect("default profile")))
    }

    fn header(v: &str) -> String {
        let raw = v.as_bytes();
        String::from_utf8(values().mask(raw, b"", Form::Header).unwrap_or_else(|| raw.to_vec())).expect("utf-8")
    }

    fn uri(v: &str) -> String {
        let raw = v.as_bytes();
        let form = Form::Uri { plus_is_space: true };
        String::from_utf8(values().mask(raw, b"", form).unwrap_or_else(|| raw.to_vec())).expect("utf-8")
    }

    #[test]
    fn a_plain_value_is_masked_as_text() {
        assert_eq!(header("ana.lopez@example.com"), "[EMAIL]");
        assert_eq!(header("call +14155552671 now"), "call [PHONE] now");
        assert_eq!(header("4111 1111 1111 1111"), "[CARD]");
        assert_eq!(header("text/html; charset=utf-8"), "text/html; charset=utf-8");
    }

    #[test]
    fn percent_encoded_values_are_found_and_replaced_whole() {
        assert_eq!(header("/users/john.doe%40example.com/orders"), "/users/%5BEMAIL%5D/orders");
        assert_eq!(header("email=john.doe%40example.com; Path=/; HttpOnly"), "email=%5BEMAIL%5D; Path=/; HttpOnly");
        assert_eq!(
            header("attachment; filename*=UTF-8''john.doe%40example.com.pdf"),
            "attachment; filename*=UTF-8''%5BEMAIL%5D.pdf"
        );
        assert_eq!(header("<mailto:john.doe@example.com>; rel=\"author\""), "<mailto:[EMAIL]>; rel=\"author\"");
        // Escapes of letters inside the match: the whole span goes.
        assert_eq!(header("/u/%6Aohn.doe%40example%2Ecom?x=1"), "/u/%5BEMAIL%5D?x=1");
    }

    #[test]
    fn numbers_in_path_segments_and_tel_links_are_found() {
        assert_eq!(header("/users/+14155552671/orders"), "/users/[PHONE]/orders");
        assert_eq!(header("<tel:+14155552671>; rel=\"phone\""), "<tel:[PHONE]>; rel=\"phone\"");
        assert_eq!(uri("/cards/4111111111111111"), "/cards/%5BCARD%5D");
        assert_eq!(header("/orders/1732187400/items/98123457"), "/orders/1732187400/items/98123457");
        assert_eq!(header("2024/11/21 10:30"), "2024/11/21 10:30");
    }

    #[test]
    fn values_encoded_twice_are_decoded_twice() {
        assert_eq!(header("/u/john.doe%2540example.com"), "/u/%5BEMAIL%5D");
        assert_eq!(uri("john.doe%2540example.com"), "%5BEMAIL%5D");
        assert_eq!(uri("%252B14155552671"), "%5BPHONE%5D");
    }

    /// The ways header syntaxes spell a value that their receivers undo:
    /// quoted-pairs, Python's cookie octal escapes, adjacent encoded-words,
    /// encoded-words in UTF-16, RFC 2231 continuations.
    #[test]
    fn values_are_read_as_header_parsers_read_them() {
        assert_eq!(header("\"ana.lopez\\@example.com\""), "\"[EMAIL]\"");
        assert_eq!(header("e=\"ana.lopez\\100example.com\""), "e=\"[EMAIL]\"");
        assert_eq!(header("=?utf-8?q?ana.lopez?= =?utf-8?q?=40example.com?="), "[EMAIL]");
        assert_eq!(header("=?utf-8?B?YW5hLmxvcGV6QA==?= =?utf-8?B?ZXhhbXBsZS5jb20=?= x"), "[EMAIL] x");
        assert_eq!(header("=?utf-16le?B?YQBuAGEALgBsAG8AcABlAHoAQABlAHgAYQBtAHAAbABlAC4AYwBvAG0A?="), "[EMAIL]");
        assert_eq!(
            header("attachment; filename*0=\"ana.lopez@ex\"; filename*1=\"ample.com\""),
            "attachment; filename*0=\"[EMAIL]\""
        );
        assert_eq!(
            header("attachment; filename*0*=utf-8''ana.lopez%40ex; filename*1*=ample.com"),
            "attachment; filename*0*=utf-8''%5BEMAIL%5D"
        );
    }

    #[test]
    fn values_are_read_through_spellings_and_encoded_words() {
        assert_eq!(header("ana.lopez&#64;example.com"), "[EMAIL]");
        assert_eq!(header("to ana.lopez\u{FF20}example.com now"), "to [EMAIL] now");
        assert_eq!(header("ana.lopez%26%2364%3Bexample.com"), "%5BEMAIL%5D");
        assert_eq!(header("card ٤١١١ ١١١١ ١١١١ ١١١١"), "card [CARD]");
        assert_eq!(header("+1\u{A0}415\u{A0}555\u{A0}2671"), "[PHONE]");
        assert_eq!(
            header("attachment; filename=\"=?UTF-8?B?YW5hLmxvcGV6QGV4YW1wbGUuY29tLnBkZg==?=\""),
            "attachment; filename=\"[EMAIL]\""
        );
        assert_eq!(
            header("=?utf-8?q?Ana_L=C3=B3pez?= <=?utf-8?q?ana=40example.com?=>"),
            "=?utf-8?q?Ana_L=C3=B3pez?= <[EMAIL]>"
        );
        assert_eq!(uri("/u/ana.lopez&#64;example.com"), "/u/%5BEMAIL%5D");
        for plain in ["Tom &amp; Jerry", "&#64; alone", "=?utf-8?q?hello?=", "100% &nbsp; x"] {
            assert_eq!(header(plain), plain);
        }
    }

    #[test]
    fn form_encoding_reads_plus_as_space() {
        assert_eq!(uri("%2B44+20+7946+0958"), "%5BPHONE%5D");
        assert_eq!(uri("shoes+red"), "shoes+red");
    }

    #[test]
    fn bytes_that_are_not_utf8_are_scanned_and_kept() {
        let mut v = values();
        let raw = b"\xff\xfe ana.lopez@example.com \xe9";
        assert_eq!(v.mask(raw, b"", Form::Header).expect("masked"), b"\xff\xfe [EMAIL] \xe9");
        let raw = b"x=%ff%40%zz ana%40example.com";
        assert_eq!(v.mask(raw, b"", Form::Header).expect("masked"), b"x=%ff%40%zz %5BEMAIL%5D");
    }

    #[test]
    fn the_key_gives_context_to_bare_numbers() {
        let mut v = values();
        let form = Form::Uri { plus_is_space: true };
        assert_eq!(v.mask(b"4155552671", b"order", form), None);
        assert!(v.mask(b"4155552671", b"phone", form).is_some());
        assert!(v.mask(b"4155552671", b"x-user-phone", Form::Header).is_some());
    }

    #[test]
    fn findings_are_counted_per_detector_and_keep_finds_nothing() {
        let mut v = values();
        v.mask(b"a%40example.com b@example.org +14155552671", b"", Form::Header).expect("masked");
        let counted: Vec<(String, u64)> = v.stats().detectors.iter().map(|(n, c)| (n.to_string(), *c)).collect();
        assert_eq!(counted, [("email".to_string(), 2), ("phone".to_string(), 1)]);

        let mut config: MaskerConfig = crate::patterns::default_config();
        config.detectors.iter_mut().filter(|d| d.name == "email").for_each(|d: &mut DetectorConfig| {
            d.action = Action::Keep;
        });
        let mut keep = ValueMasker::new(Arc::new(Masker::new(&config).expect("builds")));
        assert_eq!(keep.mask(b"a%40example.com", b"", Form::Header), None);
        assert!(keep.is_empty());
    }

    /// Generated values built from pieces that stress the decoder and the
    /// span mapping: whatever the mix, masking never panics, writes only
    /// what a header value may hold, and leaves nothing a second pass
    /// would find (what was found is gone, escapes and all).
    #[test]
    fn masked_values_are_valid_and_leave_nothing_to_find() {
        masked_mixes_are_valid_and_leave_nothing_to_find(
            b"ana.lopez|@|%40|%2540|%25|%|example.com|/|:|#|+|+1415555|2671|4111| |%20|1111|tel:|;|=|%2B|\xe9|a|%zz|%4",
        );
        // Spellings and encoded-words.
        masked_mixes_are_valid_and_leave_nothing_to_find(
            b"ana.lopez|@|&#64;|&#|&|;|\xef\xbc\xa0|\xef\xbc\x8e|=?utf-8?q?|?=|=?utf-8?b?YUBiLmNvbQ==?=|=40|example.com|\xd9\xa4|\xd9\xa1|4111| |%40|\xe2\x80\x8b|\xe9|a|\"",
        );
    }

    fn masked_mixes_are_valid_and_leave_nothing_to_find(pieces: &[u8]) {
        let pieces: Vec<&[u8]> = pieces.split(|&b| b == b'|').collect();
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut v = values();
        for _ in 0..3000 {
            let mut raw = Vec::new();
            for _ in 0..(next() % 12) {
                raw.extend_from_slice(pieces[(next() % pieces.len() as u64) as usize]);
            }
            for form in [Form::Header, Form::Uri { plus_is_space: true }] {
                let Some(out) = v.mask(&raw, b"", form) else { continue };
                assert!(
                    out.iter().all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)),
                    "{:?} -> {:?}",
                    String::from_utf8_lossy(&raw),
                    String::from_utf8_lossy(&out)
                );
                assert_eq!(v.mask(&out, b"", form), None, "{:?} -> {:?}", String::from_utf8_lossy(&raw), out);
            }
        }
    }

    #[test]
    fn replacements_cannot_break_the_value() {
        let mut config: MaskerConfig = crate::patterns::default_config();
        config.detectors.iter_mut().filter(|d| d.name == "email").for_each(|d: &mut DetectorConfig| {
            d.action = Action::Redact { placeholder: "<an email; \"x\", \u{e9}>".into() };
        });
        let mut v = ValueMasker::new(Arc::new(Masker::new(&config).expect("builds")));
        let out = v.mask(b"id=ana@example.com; Path=/", b"", Form::Header).expect("masked");
        assert_eq!(out, b"id=%3Can%20email%3B%20%22x%22%2C%20%C3%A9%3E; Path=/");
        let out = v.mask(b"ana@example.com", b"", Form::Uri { plus_is_space: false }).expect("masked");
        assert!(out.iter().all(|&b| is_unreserved(b) || b == b'%'), "{out:?}");
    }
}
