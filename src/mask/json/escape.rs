//! Decoding JSON string escapes one byte at a time, so an escape split
//! across chunks decodes the same as a whole one. A lone surrogate has no
//! UTF-8 form: [`Escape::push`] refuses it (as serde_json does), and
//! [`Escape::recover`] reads it as U+FFFD (as lenient writers' readers do),
//! so the string goes on.

/// A partial escape sequence (`\n`, `\u00e9`, `\ud83d\ude00`).
#[derive(Debug, Default)]
pub struct Escape {
    buf: [u8; 12],
    len: usize,
}

/// U+FFFD, the replacement character, in UTF-8: what a lone surrogate
/// decodes to.
pub const REPLACEMENT: [u8; 3] = [0xEF, 0xBF, 0xBD];

/// What [`Escape::recover`] made of a refused sequence.
#[derive(Debug, PartialEq, Eq)]
pub enum Recovered {
    /// Not a lone surrogate: malformed.
    No,
    /// A lone surrogate, read as U+FFFD: the sequence is done.
    Lone,
    /// A lone surrogate, read as U+FFFD; the last byte pushed is not part
    /// of the sequence and must be read again as string content.
    Unread,
    /// A lone surrogate, read as U+FFFD; the escape that followed it is
    /// decoding anew, with this status.
    Then(EscapeStatus),
}

#[derive(Debug, PartialEq, Eq)]
pub enum EscapeStatus {
    NeedMore,
    /// The decoded UTF-8 bytes.
    Done([u8; 4], usize),
    Invalid,
}

fn hex4(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| Some(acc * 16 + (c as char).to_digit(16)?))
}

/// Inlined into both callers: left to LLVM, the split of json/mod.rs made
/// it a call from the escape path (+1.5 M instructions, +0.3%, on 20,000
/// eval records, 41,468 escapes).
#[inline(always)]
fn utf8(cp: u32) -> EscapeStatus {
    match char::from_u32(cp) {
        Some(c) => {
            let mut buf = [0u8; 4];
            let n = c.encode_utf8(&mut buf).len();
            EscapeStatus::Done(buf, n)
        }
        None => EscapeStatus::Invalid,
    }
}

impl Escape {
    /// Starts a new sequence; the next byte pushed is the backslash.
    pub fn start(&mut self) {
        self.len = 0;
    }

    /// The raw bytes of the sequence so far.
    pub fn raw(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// After [`EscapeStatus::Invalid`]: a sequence that starts with a lone
    /// surrogate (`\ud800` followed by anything but a low surrogate's
    /// escape, or a lone `\udc00`) stands for U+FFFD, and what followed it
    /// is read on. Anything else stays malformed. Only the error path calls
    /// this.
    #[cold]
    pub fn recover(&mut self) -> Recovered {
        let raw = self.buf;
        let len = self.len;
        if len < 6 || raw[1] != b'u' || !matches!(hex4(&raw[2..6]), Some(0xD800..=0xDFFF)) {
            return Recovered::No;
        }
        match len {
            6 => {
                self.len = 0;
                Recovered::Lone
            }
            7 if raw[6] != b'\\' => {
                self.len = 0;
                Recovered::Unread
            }
            _ => {
                // `\ud800\…`: the second escape decodes on its own (it may be
                // a lone surrogate too, which the caller recovers again).
                self.len = 0;
                let mut status = EscapeStatus::NeedMore;
                for &b in &raw[6..len] {
                    status = self.push(b);
                    if status != EscapeStatus::NeedMore {
                        break;
                    }
                }
                Recovered::Then(status)
            }
        }
    }

    pub fn push(&mut self, b: u8) -> EscapeStatus {
        if self.len == self.buf.len() {
            return EscapeStatus::Invalid;
        }
        self.buf[self.len] = b;
        self.len += 1;
        let simple = |c: u8| EscapeStatus::Done([c, 0, 0, 0], 1);
        match self.len {
            1 if b == b'\\' => EscapeStatus::NeedMore,
            2 => match b {
                b'"' | b'\\' | b'/' => simple(b),
                b'b' => simple(0x08),
                b'f' => simple(0x0C),
                b'n' => simple(b'\n'),
                b'r' => simple(b'\r'),
                b't' => simple(b'\t'),
                b'u' => EscapeStatus::NeedMore,
                _ => EscapeStatus::Invalid,
            },
            3..=6 | 9..=12 if !b.is_ascii_hexdigit() => EscapeStatus::Invalid,
            6 => match hex4(&self.buf[2..6]) {
                Some(0xD800..=0xDBFF) => EscapeStatus::NeedMore,
                Some(0xDC00..=0xDFFF) | None => EscapeStatus::Invalid,
                Some(cp) => utf8(cp),
            },
            7 if b == b'\\' => EscapeStatus::NeedMore,
            8 if b == b'u' => EscapeStatus::NeedMore,
            3..=5 | 9..=11 => EscapeStatus::NeedMore,
            12 => match (hex4(&self.buf[2..6]), hex4(&self.buf[8..12])) {
                (Some(hi), Some(lo @ 0xDC00..=0xDFFF)) => utf8(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)),
                _ => EscapeStatus::Invalid,
            },
            _ => EscapeStatus::Invalid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(s: &str) -> EscapeStatus {
        let mut e = Escape::default();
        e.start();
        let mut last = EscapeStatus::NeedMore;
        for b in s.bytes() {
            last = e.push(b);
            if last != EscapeStatus::NeedMore {
                break;
            }
        }
        last
    }

    #[test]
    fn decodes_simple_unicode_and_surrogate_pairs() {
        assert_eq!(decode(r"\n"), EscapeStatus::Done([b'\n', 0, 0, 0], 1));
        assert_eq!(decode(r"\u0040"), EscapeStatus::Done([b'@', 0, 0, 0], 1));
        let mut smile = [0u8; 4];
        '😀'.encode_utf8(&mut smile);
        assert_eq!(decode(r"\ud83d\ude00"), EscapeStatus::Done(smile, 4));
    }

    /// Pushes `s`, recovering lone surrogates as the lexer does; returns
    /// the decoded bytes and the bytes left unread.
    fn decode_lenient(s: &str) -> (Vec<u8>, usize) {
        let mut e = Escape::default();
        e.start();
        let mut out = Vec::new();
        let bytes = s.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let mut status = e.push(bytes[i]);
            i += 1;
            loop {
                match status {
                    EscapeStatus::NeedMore => break,
                    EscapeStatus::Done(b, n) => {
                        out.extend_from_slice(&b[..n]);
                        return (out, bytes.len() - i);
                    }
                    EscapeStatus::Invalid => match e.recover() {
                        Recovered::No => panic!("malformed: {s}"),
                        Recovered::Lone => {
                            out.extend_from_slice(&REPLACEMENT);
                            return (out, bytes.len() - i);
                        }
                        Recovered::Unread => {
                            out.extend_from_slice(&REPLACEMENT);
                            return (out, bytes.len() - i + 1);
                        }
                        Recovered::Then(next) => {
                            out.extend_from_slice(&REPLACEMENT);
                            status = next;
                        }
                    },
                }
            }
        }
        (out, 0)
    }

    #[test]
    fn lone_surrogates_recover_as_the_replacement_character() {
        let rep = String::from('\u{FFFD}');
        assert_eq!(decode_lenient(r"\ude00"), (rep.clone().into_bytes(), 0));
        assert_eq!(decode_lenient(r#"\ud800""#), (rep.clone().into_bytes(), 1));
        assert_eq!(decode_lenient(r"\ud800\n"), (format!("{rep}\n").into_bytes(), 0));
        assert_eq!(decode_lenient(r"\ud800\u0041"), (format!("{rep}A").into_bytes(), 0));
        assert_eq!(decode_lenient(r"\ud800\ud800\udc00"), (format!("{rep}\u{10000}").into_bytes(), 0));
        assert_eq!(decode_lenient(r"\ud800\udc00"), ("\u{10000}".to_string().into_bytes(), 0));
        let mut e = Escape::default();
        e.start();
        for b in br"\u00g0" {
            if e.push(*b) == EscapeStatus::Invalid {
                break;
            }
        }
        assert_eq!(e.recover(), Recovered::No);
    }

    #[test]
    fn refuses_lone_surrogates_and_bad_escapes() {
        assert_eq!(decode(r"\ude00"), EscapeStatus::Invalid);
        assert_eq!(decode(r"\ud83dx"), EscapeStatus::Invalid);
        assert_eq!(decode(r"\ud83d\u0041"), EscapeStatus::Invalid);
        assert_eq!(decode(r"\x"), EscapeStatus::Invalid);
        assert_eq!(decode(r"\u00g0"), EscapeStatus::Invalid);
    }
}
