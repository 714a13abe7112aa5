//! `Content-Transfer-Encoding` codecs for multipart parts, streaming:
//! base64 and quoted-printable decoded for masking and encoded again.
//!
//! The encoders write a normalised form of what the decoders read: the
//! receiver gets exactly the bytes that were masked, whatever quirks
//! (stray characters, padding mid-way, odd line lengths) the input had.

/// Line length of encoded output (RFC 2045 §6.7, §6.8).
const LINE: usize = 76;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Each byte's base64 value (both alphabets), or [`NOT_BASE64`].
const SEXTETS: [u8; 256] = {
    let mut t = [NOT_BASE64; 256];
    let mut i = 0;
    while i < 64 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t[b'-' as usize] = 62;
    t[b'_' as usize] = 63;
    t
};
const NOT_BASE64: u8 = 0xFF;

/// Base64 decoding of input cut anywhere. Characters outside the alphabet
/// (line breaks, spaces, stray bytes) are skipped; `=` ends a quantum.
#[derive(Debug, Default)]
pub struct Base64Decoder {
    group: [u8; 4],
    n: usize,
}

impl Base64Decoder {
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            if b == b'=' {
                self.flush(out);
                continue;
            }
            let v = SEXTETS[b as usize];
            if v == NOT_BASE64 {
                continue;
            }
            self.group[self.n] = v;
            self.n += 1;
            if self.n == 4 {
                let g = self.group;
                out.extend_from_slice(&[(g[0] << 2) | (g[1] >> 4), (g[1] << 4) | (g[2] >> 2), (g[2] << 6) | g[3]]);
                self.n = 0;
            }
        }
    }

    /// Ends a quantum early (padding, or the end of the input).
    fn flush(&mut self, out: &mut Vec<u8>) {
        let g = self.group;
        match self.n {
            2 => out.push((g[0] << 2) | (g[1] >> 4)),
            3 => out.extend_from_slice(&[(g[0] << 2) | (g[1] >> 4), (g[1] << 4) | (g[2] >> 2)]),
            _ => {}
        }
        self.n = 0;
    }

    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.flush(out);
    }
}

/// Base64 encoding, in lines of 76 when the input had line breaks (with
/// the input's line ending), else in one line. Output waits until the
/// input shows which.
#[derive(Debug, Default)]
pub struct Base64Encoder {
    /// `Some(line ending)` to wrap, `Some(b"")` for one line; `None` while
    /// undecided.
    wrap: Option<&'static [u8]>,
    /// Alphabet characters seen in the input before the first line break.
    seen: usize,
    last_cr: bool,
    /// The input ended with a line break: so does the output.
    ends_with_break: bool,
    held: Vec<u8>,
    rest: [u8; 3],
    rest_n: usize,
    column: usize,
}

impl Base64Encoder {
    /// Learns the input's layout from its raw (encoded) bytes.
    pub fn note_input(&mut self, raw: &[u8]) {
        if self.wrap.is_some() {
            // Decided: only whether the input ends with a line break.
            if let Some(&b) = raw.iter().rev().find(|&&b| !matches!(b, b' ' | b'\t' | b'\r')) {
                self.ends_with_break = b == b'\n';
            }
            return;
        }
        for &b in raw {
            match b {
                b'\n' => {
                    if self.wrap.is_none() {
                        self.wrap = Some(if self.last_cr { b"\r\n" } else { b"\n" });
                    }
                    self.ends_with_break = true;
                }
                b'\r' => {}
                b' ' | b'\t' => {}
                _ => {
                    self.ends_with_break = false;
                    if self.wrap.is_none() {
                        self.seen += 1;
                        if self.seen > LINE + 4 {
                            self.wrap = Some(b"");
                        }
                    }
                }
            }
            self.last_cr = b == b'\r';
        }
    }

    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        if self.wrap.is_none() {
            self.held.extend_from_slice(bytes);
            return;
        }
        if !self.held.is_empty() {
            let held = std::mem::take(&mut self.held);
            self.encode(&held, out);
        }
        self.encode(bytes, out);
    }

    fn encode(&mut self, mut bytes: &[u8], out: &mut Vec<u8>) {
        while !bytes.is_empty() {
            let take = (3 - self.rest_n).min(bytes.len());
            self.rest[self.rest_n..self.rest_n + take].copy_from_slice(&bytes[..take]);
            self.rest_n += take;
            bytes = &bytes[take..];
            if self.rest_n == 3 {
                let r = self.rest;
                self.quad(
                    [r[0] >> 2, ((r[0] & 3) << 4) | (r[1] >> 4), ((r[1] & 15) << 2) | (r[2] >> 6), r[2] & 63],
                    4,
                    out,
                );
                self.rest_n = 0;
            }
        }
    }

    fn quad(&mut self, s: [u8; 4], used: usize, out: &mut Vec<u8>) {
        let eol = self.wrap.unwrap_or(b"");
        if !eol.is_empty() && self.column == LINE {
            out.extend_from_slice(eol);
            self.column = 0;
        }
        for (k, &v) in s.iter().enumerate() {
            out.push(if k < used { ALPHABET[v as usize] } else { b'=' });
        }
        self.column += 4;
    }

    pub fn finish(mut self, out: &mut Vec<u8>) {
        if self.wrap.is_none() {
            self.wrap = Some(b"");
        }
        let held = std::mem::take(&mut self.held);
        self.encode(&held, out);
        let r = self.rest;
        match self.rest_n {
            1 => self.quad([r[0] >> 2, (r[0] & 3) << 4, 0, 0], 2, out),
            2 => self.quad([r[0] >> 2, ((r[0] & 3) << 4) | (r[1] >> 4), (r[1] & 15) << 2, 0], 3, out),
            _ => {}
        }
        if self.ends_with_break {
            out.extend_from_slice(match self.wrap {
                Some(eol) if !eol.is_empty() => eol,
                _ => b"\r\n",
            });
        }
    }

    pub fn held(&self) -> usize {
        self.held.len()
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Quoted-printable decoding of input cut anywhere: `=XX` is a byte, `=`
/// before a line break is a soft break (nothing); any other `=` stands.
#[derive(Debug, Default)]
pub struct QpDecoder {
    pending: Vec<u8>,
}

impl QpDecoder {
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let mut i = 0;
        while i < input.len() {
            if self.pending.is_empty() {
                match memchr::memchr(b'=', &input[i..]) {
                    None => {
                        out.extend_from_slice(&input[i..]);
                        return;
                    }
                    Some(p) => {
                        out.extend_from_slice(&input[i..i + p]);
                        self.pending.push(b'=');
                        i += p + 1;
                    }
                }
                continue;
            }
            self.pending.push(input[i]);
            i += 1;
            self.settle(out, false);
        }
    }

    /// Decides the pending `=…` when it can be (or must be, at the end).
    fn settle(&mut self, out: &mut Vec<u8>, last: bool) {
        let p = &self.pending;
        let done = match p.as_slice() {
            [b'=', b'\n'] | [b'=', b'\r', b'\n'] => Some(0),
            [b'=', h, l] if hex(*h).is_some() && hex(*l).is_some() => {
                out.push((hex(*h).unwrap_or(0) << 4) | hex(*l).unwrap_or(0));
                Some(0)
            }
            [b'='] | [b'=', b'\r'] if !last => None,
            [b'=', h] if hex(*h).is_some() && !last => None,
            // Not an escape: `=` stands, and what followed is read again.
            _ => Some(1),
        };
        match done {
            None => {}
            Some(0) => self.pending.clear(),
            Some(_) => {
                out.push(b'=');
                let rest: Vec<u8> = self.pending.drain(..).skip(1).collect();
                self.push(&rest, out);
                if last && !self.pending.is_empty() {
                    self.settle(out, true);
                }
            }
        }
    }

    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            self.settle(out, true);
        }
    }
}

/// Quoted-printable encoding: printable ASCII as it is, `=` and other
/// bytes as `=XX`, a line break in the data as a hard break (CRLF), soft
/// breaks keeping lines within 76 characters, and whitespace before a
/// break encoded.
#[derive(Debug, Default)]
pub struct QpEncoder {
    column: usize,
    /// A space or tab not yet written: encoded if a break follows.
    pending_space: Option<u8>,
    pending_cr: bool,
}

impl QpEncoder {
    pub fn push(&mut self, bytes: &[u8], out: &mut Vec<u8>) {
        for &b in bytes {
            if self.pending_cr {
                self.pending_cr = false;
                if b == b'\n' {
                    self.hard_break(out);
                    continue;
                }
                self.flush_space(out, false);
                self.escaped(b'\r', out);
            }
            match b {
                // A space before it stays held: a line break may follow.
                b'\r' => self.pending_cr = true,
                b'\n' => self.hard_break(out),
                b' ' | b'\t' => {
                    self.flush_space(out, false);
                    self.pending_space = Some(b);
                }
                b'=' => {
                    self.flush_space(out, false);
                    self.escaped(b, out);
                }
                33..=126 => {
                    self.flush_space(out, false);
                    self.literal(b, out);
                }
                _ => {
                    self.flush_space(out, false);
                    self.escaped(b, out);
                }
            }
        }
    }

    fn room(&mut self, n: usize, out: &mut Vec<u8>) {
        // One column is kept for the soft break's `=`.
        if self.column + n > LINE - 1 {
            out.extend_from_slice(b"=\r\n");
            self.column = 0;
        }
    }

    fn literal(&mut self, b: u8, out: &mut Vec<u8>) {
        self.room(1, out);
        out.push(b);
        self.column += 1;
    }

    fn escaped(&mut self, b: u8, out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.room(3, out);
        out.extend_from_slice(&[b'=', HEX[(b >> 4) as usize], HEX[(b & 15) as usize]]);
        self.column += 3;
    }

    /// Writes a held space: as it is, or encoded when a break follows.
    fn flush_space(&mut self, out: &mut Vec<u8>, before_break: bool) {
        if let Some(s) = self.pending_space.take() {
            if before_break { self.escaped(s, out) } else { self.literal(s, out) }
        }
    }

    fn hard_break(&mut self, out: &mut Vec<u8>) {
        self.flush_space(out, true);
        out.extend_from_slice(b"\r\n");
        self.column = 0;
    }

    pub fn finish(mut self, out: &mut Vec<u8>) {
        if self.pending_cr {
            self.flush_space(out, false);
            self.escaped(b'\r', out);
        }
        self.flush_space(out, true);
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;

    use super::*;

    fn b64_round(data: &[u8], raw_layout: &[u8], cut: usize) -> Vec<u8> {
        let mut enc = Base64Encoder::default();
        enc.note_input(raw_layout);
        let mut out = Vec::new();
        enc.push(&data[..cut], &mut out);
        enc.push(&data[cut..], &mut out);
        enc.finish(&mut out);
        out
    }

    #[test]
    fn base64_decodes_across_any_cut_and_encodes_as_the_standard_does() {
        let data: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        let std = base64::engine::general_purpose::STANDARD;
        let encoded = std.encode(&data);
        let wrapped: Vec<u8> =
            encoded.as_bytes().chunks(LINE).collect::<Vec<_>>().join(&b"\r\n"[..]).into_iter().collect();
        for cut in [0, 1, 5, 76, 77, 78, wrapped.len()] {
            let mut d = Base64Decoder::default();
            let mut out = Vec::new();
            d.push(&wrapped[..cut], &mut out);
            d.push(&wrapped[cut..], &mut out);
            d.finish(&mut out);
            assert_eq!(out, data, "cut {cut}");
        }
        for cut in [0, 2, 57, 100, 300] {
            assert_eq!(b64_round(&data, &wrapped, cut), wrapped, "wrapped, cut {cut}");
            assert_eq!(b64_round(&data, encoded.as_bytes(), cut), encoded.as_bytes(), "one line, cut {cut}");
        }
        assert_eq!(b64_round(b"ab", b"YWI=\n", 1), b"YWI=\n");
    }

    fn qp_decode(input: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut d = QpDecoder::default();
        let mut out = Vec::new();
        let mut from = 0;
        for &c in cuts {
            d.push(&input[from..c], &mut out);
            from = c;
        }
        d.push(&input[from..], &mut out);
        d.finish(&mut out);
        out
    }

    #[test]
    fn quoted_printable_decodes_soft_breaks_and_escapes_across_any_cut() {
        let input = b"john.doe@exa=\r\nmple.com caf=C3=A9 a=3Db =x =\nend=";
        let want = b"john.doe@example.com caf\xC3\xA9 a=b =x end=";
        for i in 0..=input.len() {
            assert_eq!(qp_decode(input, &[i]), want, "cut {i}");
        }
        let every: Vec<usize> = (1..input.len()).collect();
        assert_eq!(qp_decode(input, &every), want);
    }

    #[test]
    fn quoted_printable_encoding_round_trips_with_short_lines() {
        let data = "caf\u{e9} = tea \r\nline two ends in space \r\n".repeat(5) + &"x".repeat(200) + "\ttab";
        let mut e = QpEncoder::default();
        let mut out = Vec::new();
        e.push(data.as_bytes(), &mut out);
        e.finish(&mut out);
        for line in out.split(|&b| b == b'\n') {
            assert!(line.len() <= LINE + 1, "{}", String::from_utf8_lossy(line));
            assert!(!line.ends_with(b" \r") && !line.ends_with(b"\t\r"));
        }
        assert_eq!(qp_decode(&out, &[]), data.as_bytes());
    }
}
