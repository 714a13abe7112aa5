//! Backslash escapes of script and style text: JavaScript's `\u0040`,
//! `\u{40}` and `\x40`, and CSS's `\40 ` / `\000040` (one to six hex
//! digits, then one optional white space that belongs to the escape).
//! A CSS escape counts only where it spells a character a detector reads
//! as ASCII: `\1234 5678` in other text is not taken for U+1234 and a
//! space, eating the digits of a number written after a backslash.
//!
//! Also the escapes every backslash syntax shares: a backslash before
//! punctuation stands for it (`\@` in JavaScript, CSS, an HTTP
//! quoted-string, a Python cookie), and three octal digits that CSS
//! would not read as such a character are the octal escape of
//! JavaScript's legacy strings and of Python's `http.cookies` (`\100`
//! is `@`).

use super::{Folded, Spelled, fold};

fn hex_digit(c: u8) -> Option<u32> {
    (c as char).to_digit(16)
}

/// The escape at `b[at]`, a `\`.
pub fn backslash(b: &[u8], at: usize, complete: bool) -> Spelled {
    let more = if complete { Spelled::Plain } else { Spelled::NeedMore };
    let Some(&kind) = b.get(at + 1) else { return more };
    match kind {
        b'u' if b.get(at + 2) == Some(&b'{') => braced(b, at, complete),
        b'u' => fixed(b, at, 4, complete),
        b'x' => fixed(b, at, 2, complete),
        c if hex_digit(c).is_some() => match css(b, at, complete) {
            Spelled::Plain => octal(b, at),
            // CSS's reading of `\e` is a control character no style
            // writes; JavaScript's is the letter.
            Spelled::Char { ch, .. } if c.is_ascii_alphabetic() && (ch as u32) < 0x20 => {
                Spelled::Char { len: 2, ch: c as char }
            }
            spelled => spelled,
        },
        b'@' | b'.' | b'-' | b'+' | b'(' | b')' | b'_' | b' ' | b'/' | b'\'' | b'"' | b'\\' => {
            Spelled::Char { len: 2, ch: kind as char }
        }
        // A letter no escape starts stands for itself in JavaScript and
        // CSS alike (`\m`); `\n`, `\t`, … and the hex digits (CSS) escape
        // something else.
        c if c.is_ascii_alphabetic() && !matches!(c.to_ascii_lowercase(), b'n' | b'r' | b't' | b'v' | b'u' | b'x') => {
            Spelled::Char { len: 2, ch: c as char }
        }
        // A line continuation (JavaScript strings, CSS) reads as nothing.
        b'\n' => Spelled::Char { len: 2, ch: '\u{200B}' },
        b'\r' => match b.get(at + 2) {
            Some(b'\n') => Spelled::Char { len: 3, ch: '\u{200B}' },
            None if !complete => Spelled::NeedMore,
            _ => Spelled::Char { len: 2, ch: '\u{200B}' },
        },
        _ => Spelled::Plain,
    }
}

/// `\ooo`: three octal digits, not followed by a fourth digit, for a
/// printable ASCII character.
fn octal(b: &[u8], at: usize) -> Spelled {
    let digits = match b.get(at + 1..at + 4) {
        Some(d) if d.iter().all(|c| (b'0'..=b'7').contains(c)) => d,
        _ => return Spelled::Plain,
    };
    if b.get(at + 4).is_some_and(u8::is_ascii_digit) {
        return Spelled::Plain;
    }
    let value = digits.iter().fold(0u32, |v, &c| v * 8 + u32::from(c - b'0'));
    match u8::try_from(value) {
        Ok(c) if c.is_ascii_graphic() => Spelled::Char { len: 4, ch: c as char },
        _ => Spelled::Plain,
    }
}

fn char_of(value: u32, len: usize) -> Spelled {
    match char::from_u32(value) {
        Some(ch) if value != 0 => Spelled::Char { len, ch },
        _ => Spelled::Plain,
    }
}

/// `\uHHHH` or `\xHH`: exactly `n` hex digits.
fn fixed(b: &[u8], at: usize, n: usize, complete: bool) -> Spelled {
    let mut value = 0;
    for k in 0..n {
        match b.get(at + 2 + k).map(|&c| hex_digit(c)) {
            Some(Some(d)) => value = value * 16 + d,
            Some(None) => return Spelled::Plain,
            None if complete => return Spelled::Plain,
            None => return Spelled::NeedMore,
        }
    }
    char_of(value, 2 + n)
}

/// `\u{H…}`: hex digits in braces, any number of them leading zeros
/// (up to the longest spelling read) and six more at most.
fn braced(b: &[u8], at: usize, complete: bool) -> Spelled {
    let mut value = 0;
    let mut i = at + 3;
    let zeros = b[i.min(b.len())..].iter().take(super::MAX_SPELLING).take_while(|&&c| c == b'0').count();
    let digits_end = i + zeros + 6;
    loop {
        match b.get(i) {
            Some(b'}') if i > at + 3 => return char_of(value, i + 1 - at),
            Some(&c) if i < digits_end && hex_digit(c).is_some() => {
                value = value * 16 + hex_digit(c).unwrap_or(0);
                i += 1;
            }
            Some(_) => return Spelled::Plain,
            None if complete => return Spelled::Plain,
            None => return Spelled::NeedMore,
        }
    }
}

/// CSS: `\` and one to six hex digits, then one optional white space
/// (`\r\n` counts as one).
fn css(b: &[u8], at: usize, complete: bool) -> Spelled {
    let mut value = 0;
    let mut i = at + 1;
    while i < at + 7 {
        match b.get(i).map(|&c| hex_digit(c)) {
            Some(Some(d)) => {
                value = value * 16 + d;
                i += 1;
            }
            Some(None) => break,
            None if complete => break,
            None => return Spelled::NeedMore,
        }
    }
    let len = match b.get(i) {
        Some(b'\r') => match b.get(i + 1) {
            Some(b'\n') => i + 2 - at,
            None if !complete => return Spelled::NeedMore,
            _ => i + 1 - at,
        },
        Some(b' ' | b'\t' | b'\n' | b'\x0C') => i + 1 - at,
        None if !complete => return Spelled::NeedMore,
        _ => i - at,
    };
    match char_of(value, len) {
        Spelled::Char { ch, .. } if matches!(fold(ch), Folded::Char(_)) => Spelled::Plain,
        spelled => spelled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(s: &str) -> Spelled {
        backslash(s.as_bytes(), 0, true)
    }

    #[test]
    fn script_and_style_escapes_spell_their_character() {
        for (s, ch, len) in [
            ("\\u0040x", '@', 6),
            ("\\u{40}x", '@', 6),
            ("\\u{000040}", '@', 10),
            ("\\x40x", '@', 4),
            ("\\u00e9", 'é', 6),
            ("\\40 example", '@', 4),
            ("\\40;", '@', 3),
            ("\\000040example", '@', 7),
            ("\\40\r\nx", '@', 5),
            ("\\2e com", '.', 4),
            ("\\ff20 x", '＠', 6),
            ("\\200b x", '\u{200B}', 6),
            ("\\@example.com", '@', 2),
            ("\\m", 'm', 2),
            ("\\ez", 'e', 2),
            ("\\u{0000040}", '@', 11),
            ("\\\nx", '\u{200B}', 2),
            ("\\\r\nx", '\u{200B}', 3),
            ("\\.com", '.', 2),
            ("\\100example", '@', 4),
            ("\\056", '\u{56}', 4),
        ] {
            assert_eq!(whole(s), Spelled::Char { len, ch }, "{s:?}");
        }
    }

    #[test]
    fn what_is_no_escape_is_plain() {
        for s in [
            "\\",
            "\\n",
            "\\u004",
            "\\u004g",
            "\\u{}",
            "\\u{1234567}",
            "\\u{110000}",
            "\\x4",
            "\\x4g",
            "\\u0000",
            "\\4111111111111111",
            "\\1234 5678",
            "\\e9 ",
            "\\data",
            "\\t",
            "\\1001",
            "\\400",
        ] {
            assert_eq!(whole(s), Spelled::Plain, "{s:?}");
        }
    }

    #[test]
    fn an_escape_cut_short_waits_for_the_rest() {
        for s in ["\\u0040", "\\u{40}", "\\x40", "\\40 ", "\\40\r\n"] {
            let b = s.as_bytes();
            for cut in 1..b.len() {
                assert_eq!(backslash(&b[..cut], 0, false), Spelled::NeedMore, "{s:?} cut at {cut}");
            }
        }
    }
}
