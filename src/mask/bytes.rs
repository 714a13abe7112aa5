//! Generic byte-level scans and classifications shared by the detectors
//! and the JSON lexer: the next digit, the end of a digit run, the bytes
//! and UTF-8 scalars around a position, short comparisons.
//!
//! These are among the innermost loops of the engine. The digit scan
//! tests 16 bytes per step with SSE2 (baseline on x86-64). Nothing here
//! allocates. Must not depend on anything above `mask`, nor on JSON (whose
//! string scans are [`crate::mask::json::strings`]).

// `find_digit` loads 16 bytes at a time with SSE2 intrinsics.
#![allow(unsafe_code)]

/// Returns the index of the first ASCII digit in `hay[from..]`.
#[inline(never)]
pub fn find_digit(hay: &[u8], from: usize) -> Option<usize> {
    find_digit_body(hay, from)
}

#[inline(always)]
fn find_digit_body(hay: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86-64 baseline, and every load reads
        // 16 bytes that lie inside `hay` (`i + 16 <= hay.len()`).
        unsafe {
            use std::arch::x86_64::*;
            let below = _mm_set1_epi8((b'0' - 1) as i8);
            let above = _mm_set1_epi8((b'9' + 1) as i8);
            while i + 16 <= hay.len() {
                let v = _mm_loadu_si128(hay.as_ptr().add(i) as *const __m128i);
                // Signed compares: bytes >= 0x80 are negative, so they fail
                // the `> '0'-1` test and are never reported as digits.
                let digits = _mm_and_si128(_mm_cmpgt_epi8(v, below), _mm_cmplt_epi8(v, above));
                let mask = _mm_movemask_epi8(digits) as u32;
                if mask != 0 {
                    return Some(i + mask.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
    }
    while i < hay.len() {
        if hay[i].is_ascii_digit() {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Whether the CPU has what the x86-64-v3 builds of the hot loops use:
/// AVX2, BMI1/2, LZCNT and POPCNT (x86-64 servers since 2013).
pub fn has_x86_64_v3() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        has!("avx2") && has!("bmi1") && has!("bmi2") && has!("lzcnt") && has!("popcnt")
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Returns the end of the run of ASCII digits starting at `from`.
#[inline(always)]
pub fn digit_run_end(hay: &[u8], from: usize) -> usize {
    let mut i = from;
    while i < hay.len() && hay[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Whether the byte at `i` is an ASCII letter or digit; positions outside the
/// hay count as "not alphanumeric" (a segment edge is a word boundary).
#[inline(always)]
pub fn is_alnum_at(hay: &[u8], i: Option<usize>) -> bool {
    match i {
        Some(i) if i < hay.len() => hay[i].is_ascii_alphanumeric(),
        _ => false,
    }
}

/// The byte at `i`, if `i` is inside the hay.
#[inline(always)]
pub fn byte_at(hay: &[u8], i: usize) -> Option<u8> {
    hay.get(i).copied()
}

/// The byte before `i`, if any.
#[inline(always)]
pub fn byte_before(hay: &[u8], i: usize) -> Option<u8> {
    i.checked_sub(1).and_then(|j| hay.get(j).copied())
}

/// Whether a word-ish character ends just before `i`: an ASCII alphanumeric,
/// `_`, or any non-ASCII byte (letters of other scripts).
#[inline(always)]
pub fn word_char_before(hay: &[u8], i: usize) -> bool {
    matches!(byte_before(hay, i), Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
}

/// Whether the character that ends just before `i` joins what follows
/// into one word: a letter or digit of a script written with spaces
/// between words. Bytes that end no well-formed sequence (a reader sees
/// U+FFFD there), symbols and punctuation (U+FFFD itself, `«`, `：`), and
/// the letters of scripts written without spaces (kana, CJK ideographs,
/// Thai: `カード４１１１…` is a word and a number) do not.
#[inline]
pub fn alphanumeric_char_before(hay: &[u8], i: usize) -> bool {
    match byte_before(hay, i) {
        None => false,
        Some(b) if b < 0x80 => b.is_ascii_alphanumeric(),
        Some(_) => char_before(hay, i, 0).is_some_and(|(c, _)| c.is_alphanumeric() && !unspaced_script(c)),
    }
}

/// Letters of scripts written without spaces between words.
fn unspaced_script(c: char) -> bool {
    matches!(c,
        '\u{0E00}'..='\u{0EFF}' // Thai, Lao
        | '\u{1000}'..='\u{109F}' // Myanmar
        | '\u{1780}'..='\u{17FF}' // Khmer
        | '\u{3005}'..='\u{3007}' | '\u{3021}'..='\u{3029}' | '\u{3031}'..='\u{303C}'
        | '\u{3040}'..='\u{30FF}' // kana
        | '\u{3100}'..='\u{31FF}' // Bopomofo, kana extensions
        | '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' // ideographs
        | '\u{FF66}'..='\u{FF9F}' // halfwidth kana
        | '\u{20000}'..='\u{3FFFF}')
}

/// Whether a word-ish character starts at `i` (see [`word_char_before`]).
#[inline(always)]
pub fn word_char_at(hay: &[u8], i: usize) -> bool {
    matches!(byte_at(hay, i), Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80)
}

/// Decodes the UTF-8 scalar that ends just before `end`, looking back at most
/// four bytes and never before `floor`. Returns the char and its start.
pub fn char_before(hay: &[u8], end: usize, floor: usize) -> Option<(char, usize)> {
    let lowest = end.saturating_sub(4).max(floor);
    let mut start = end.checked_sub(1)?;
    if start < lowest {
        return None;
    }
    while start > lowest && hay[start] & 0xC0 == 0x80 {
        start -= 1;
    }
    let s = std::str::from_utf8(&hay[start..end]).ok()?;
    let mut chars = s.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some((c, start))
}

/// Decodes the UTF-8 scalar starting at `start`. Returns the char and its
/// length in bytes.
pub fn char_at(hay: &[u8], start: usize) -> Option<(char, usize)> {
    let first = *hay.get(start)?;
    let len = match first {
        0x00..=0x7F => return Some((first as char, 1)),
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return None,
    };
    let bytes = hay.get(start..start + len)?;
    let c = std::str::from_utf8(bytes).ok()?.chars().next()?;
    Some((c, len))
}

/// Whether `a` and `b`, of at most 24 bytes, are equal, without a call to
/// `memcmp` (which slice equality makes, ~30 instructions of call and setup
/// for the few bytes of a JSON key): two or three loads per side that
/// together cover every byte, overlapping where the length is not a
/// multiple of the load.
#[inline(always)]
pub fn short_eq(a: &[u8], b: &[u8]) -> bool {
    let n = a.len();
    if n != b.len() || n > 24 {
        return n == b.len() && a == b;
    }
    #[inline(always)]
    fn word<const W: usize>(s: &[u8], at: usize) -> [u8; W] {
        s.get(at..at + W).and_then(|w| w.first_chunk::<W>()).copied().unwrap_or([0; W])
    }
    match n {
        0 => true,
        1..=3 => a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1],
        4..=7 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => {
            word::<8>(a, 0) == word::<8>(b, 0)
                && word::<8>(a, 8) == word::<8>(b, 8)
                && word::<8>(a, n - 8) == word::<8>(b, n - 8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_eq_sees_a_difference_at_every_position_of_every_length() {
        for n in 0..=30 {
            let a: Vec<u8> = (0..n as u8).map(|i| b'a' + i).collect();
            assert!(short_eq(&a, &a.clone()), "{n}");
            for at in 0..n {
                let mut b = a.clone();
                b[at] ^= 0x20;
                assert!(!short_eq(&a, &b), "length {n}, byte {at}");
            }
            assert!(!short_eq(&a, &a[..n.saturating_sub(1)]) || n == 0);
        }
    }

    #[test]
    fn find_digit_matches_a_scalar_search_at_every_offset() {
        let mut hay = Vec::new();
        for i in 0..200u32 {
            hay.push(match i % 37 {
                0 => b'7',
                5 => 0xC3,
                6 => 0xA9,
                _ => b'a' + (i % 26) as u8,
            });
        }
        for from in 0..hay.len() {
            let expected = hay[from..].iter().position(|b| b.is_ascii_digit()).map(|p| p + from);
            assert_eq!(find_digit(&hay, from), expected, "from {from}");
        }
    }

    #[test]
    fn find_digit_ignores_high_bytes_and_neighbours_of_digits() {
        let hay = b"/:\xff\x80\xb0\xb9////////////////////////9";
        assert_eq!(find_digit(hay, 0), Some(hay.len() - 1));
    }

    #[test]
    fn char_before_and_at_decode_multibyte_scalars() {
        let s = "a桃b".as_bytes();
        assert_eq!(char_before(s, 4, 0), Some(('桃', 1)));
        assert_eq!(char_at(s, 1), Some(('桃', 3)));
        assert_eq!(char_before(s, 4, 2), None);
    }

    #[test]
    fn only_letters_and_digits_of_spaced_scripts_join_a_word() {
        let at_end = |s: &[u8]| alphanumeric_char_before(s, s.len());
        assert!(at_end("xд".as_bytes()) && at_end("é".as_bytes()) && at_end("٣".as_bytes()) && at_end(b"a"));
        assert!(!at_end("カード".as_bytes()) && !at_end("番号".as_bytes()) && !at_end("ｶ".as_bytes()));
        assert!(!at_end("\u{FFFD}".as_bytes()) && !at_end("«".as_bytes()) && !at_end("：".as_bytes()));
        assert!(!at_end(b"") && !at_end(b" ") && !at_end(b"\xff") && !at_end(b"\xe6\xa1"));
    }
}
