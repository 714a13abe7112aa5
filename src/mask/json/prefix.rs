//! What servers put before a JSON document for browsers' sake, which the
//! code that reads the answer strips before it parses: the XSSI guards
//! `)]}'` (Angular, Google: optionally followed by `,`), `while(1);` and
//! `for(;;);`, and a JSONP callback `name(` or `/**/name(` before an
//! object or array (the JSON is its argument; after its `)`, the rest of
//! the body is text).
//!
//! The first bytes of a body are held (at most [`MAX_PREFIX`]) until
//! they show whether such a prefix starts it; the prefix is written as it
//! came and the document after it is read as JSON, with its paths, so
//! rules like `$.items[0].card` still apply. A body with none is read as
//! JSON from its first byte, as before. The decision depends on the held
//! bytes alone, so it is the same however the body is cut.

use super::{JsonMasker, State, is_whitespace};
use crate::mask::{Counters, Masker};

/// Bytes held at most while a prefix may still be coming (whitespace,
/// a callback's dotted name).
pub(super) const MAX_PREFIX: usize = 256;

/// What the held bytes say.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Decision {
    /// A prefix may still be coming.
    Wait,
    /// No prefix: the bytes are JSON (or what the reader makes of them).
    None,
    /// A prefix of this many bytes (leading whitespace included); `jsonp`
    /// when it opens a call whose `)` follows the document.
    Prefix { len: usize, jsonp: bool },
}

/// The fixed guards, as servers write them.
const GUARDS: [&[u8]; 4] = [b")]}',", b")]}'", b"while(1);", b"for(;;);"];

/// Decides from the start of a body, `ended` when no more will come.
pub(super) fn decide(buf: &[u8], ended: bool) -> Decision {
    let start = buf.iter().position(|&b| !is_whitespace(b)).unwrap_or(buf.len());
    let rest = &buf[start..];
    if rest.is_empty() {
        return if ended { Decision::None } else { Decision::Wait };
    }
    for guard in GUARDS {
        if rest.starts_with(guard) {
            // `)]}'` may still become `)]}',`.
            if guard == b")]}'" && rest.len() == guard.len() && !ended {
                return Decision::Wait;
            }
            return Decision::Prefix { len: start + guard.len(), jsonp: false };
        }
        if guard.starts_with(rest) && !ended {
            return Decision::Wait;
        }
    }
    jsonp(buf, start, ended)
}

/// A callback: `/**/` (optional), a dotted JavaScript name, whitespace,
/// `(`.
fn jsonp(buf: &[u8], start: usize, ended: bool) -> Decision {
    let mut i = start;
    const EMPTY_COMMENT: &[u8] = b"/**/";
    let rest = &buf[i..];
    if rest.starts_with(EMPTY_COMMENT) {
        i += EMPTY_COMMENT.len();
        while i < buf.len() && is_whitespace(buf[i]) {
            i += 1;
        }
    } else if EMPTY_COMMENT.starts_with(rest) {
        return if ended { Decision::None } else { Decision::Wait };
    }
    let name_start = i;
    while i < buf.len() && is_name_byte(buf[i], i == name_start) {
        i += 1;
    }
    if i == name_start {
        return if i == buf.len() && !ended { Decision::Wait } else { Decision::None };
    }
    while i < buf.len() && is_whitespace(buf[i]) {
        i += 1;
    }
    if buf.get(i).is_some_and(|&b| b != b'(') {
        return Decision::None;
    }
    // The call's argument must be an object or an array: text that only
    // looks like a call (`v1.2 (0161) 496 0066`) stays text.
    let open = i + 1;
    match buf.get(open..).and_then(|rest| rest.iter().find(|&&b| !is_whitespace(b))) {
        Some(b'{' | b'[') => Decision::Prefix { len: open, jsonp: true },
        Some(_) => Decision::None,
        None if ended => Decision::None,
        None => Decision::Wait,
    }
}

/// A byte of a callback's name: ASCII letters, `_`, `$`, and after the
/// first, digits and `.`.
fn is_name_byte(b: u8, first: bool) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b'$' || (!first && (b.is_ascii_digit() || b == b'.'))
}

impl JsonMasker {
    /// Masks `input`: while the body's start is undecided, it is held
    /// (see the module's comment); then the JSON reader takes it.
    pub fn feed(&mut self, masker: &Masker, input: &[u8], out: &mut Vec<u8>, counters: &mut Counters) {
        if self.state != State::Prefix {
            return self.feed_json(masker, input, out, counters);
        }
        let take = input.len().min(MAX_PREFIX - self.prefix.len());
        self.prefix.extend_from_slice(&input[..take]);
        let full = self.prefix.len() == MAX_PREFIX;
        match decide(&self.prefix, full) {
            Decision::Wait => {}
            decision => {
                self.settle_prefix(masker, decision, out, counters);
                self.feed_json(masker, &input[take..], out, counters);
            }
        }
    }

    /// Ends the body: a start still held is decided, then read.
    pub fn finish(&mut self, masker: &Masker, out: &mut Vec<u8>, counters: &mut Counters) {
        if self.state == State::Prefix {
            let decision = decide(&self.prefix, true);
            self.settle_prefix(masker, decision, out, counters);
        }
        self.finish_json(masker, out, counters);
    }

    /// Writes a prefix as it came and reads the held bytes after it as
    /// JSON.
    fn settle_prefix(&mut self, masker: &Masker, decision: Decision, out: &mut Vec<u8>, counters: &mut Counters) {
        let held = std::mem::take(&mut self.prefix);
        self.state = State::Value;
        let from = match decision {
            Decision::Prefix { len, jsonp } => {
                out.extend_from_slice(&held[..len]);
                self.jsonp = jsonp;
                len
            }
            Decision::Wait | Decision::None => 0,
        };
        self.feed_json(masker, &held[from..], out, counters);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_and_callbacks_are_prefixes_and_json_is_not() {
        let prefix = |len, jsonp| Decision::Prefix { len, jsonp };
        assert_eq!(decide(b")]}'\n{\"a\":1}", false), prefix(4, false));
        assert_eq!(decide(b")]}',\n[1]", false), prefix(5, false));
        assert_eq!(decide(b"  while(1);{}", false), prefix(11, false));
        assert_eq!(decide(b"for(;;);[]", false), prefix(8, false));
        assert_eq!(decide(b"cb({})", false), prefix(3, true));
        assert_eq!(decide(b"/**/ jQuery.cb_1 ({})", false), prefix(18, true));
        assert_eq!(decide(b"/**/$ ({})", false), prefix(7, true));
        for json in [&b"{\"a\":1}"[..], b"[1]", b"\"x\"", b"12", b"true", b"null ", b"/* c */ {}", b"'a'", b"-1"] {
            assert_eq!(decide(json, true), Decision::None, "{}", String::from_utf8_lossy(json));
        }
        assert_eq!(decide(b"{", false), Decision::None);
        // A call whose argument is no object or array is no JSONP.
        assert_eq!(decide(b"v1.2.3 (0161) 496 0066", false), Decision::None);
        assert_eq!(decide(b"cb(", false), Decision::Wait);
        assert_eq!(decide(b"cb( ", true), Decision::None);
        assert_eq!(decide(b"true,", false), Decision::None);
        for partial in [&b""[..], b"  ", b")]", b")]}'", b"whi", b"for(;", b"/*", b"/**/", b"cb", b"a.b ", b"true"] {
            assert_eq!(decide(partial, false), Decision::Wait, "{}", String::from_utf8_lossy(partial));
        }
        assert_eq!(decide(b")]}'", true), prefix(4, false));
        assert_eq!(decide(b"true", true), Decision::None);
    }
}
