//! Percent-decoding and form encoding: what the form masker reads keys
//! and values through, and writes replacements with.

use memchr::{memchr, memchr2};

#[inline(always)]
pub(super) fn hex(b: u8) -> Option<u8> {
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
pub(super) fn find2(a: u8, b: u8, hay: &[u8]) -> Option<usize> {
    let head = hay.len().min(SHORT);
    match hay[..head].iter().position(|&c| c == a || c == b) {
        Some(p) => Some(p),
        None => memchr2(a, b, &hay[head..]).map(|p| head + p),
    }
}

/// The first `a` in `hay`.
#[inline(always)]
pub(super) fn find1(a: u8, hay: &[u8]) -> Option<usize> {
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
    pub(super) wrote_percent: bool,
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
pub(super) fn encoded_len(raw: &[u8], from: usize) -> usize {
    match raw.get(from..from + 3) {
        Some([b'%', h, l]) if hex(*h).is_some() && hex(*l).is_some() => 3,
        _ => 1,
    }
}

/// Whether `bytes` holds a valid `%XX` escape.
pub(super) fn has_escape(bytes: &[u8]) -> bool {
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
