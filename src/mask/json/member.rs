//! The JSON member reader: an object member's key and, when it is a short
//! string or number, its value, read from one 32-byte AVX2 block (the
//! plain loop's hot path, [`super::plain`]).
//!
//! Uses the byte classes of [`super::strings`]. Must not depend on the
//! lexer's state, nor on anything above `mask`.

// AVX2 loads and bit tricks on the input's bytes.
#![allow(unsafe_code)]

use super::strings::StringRun;
#[cfg(target_arch = "x86_64")]
use super::strings::string_class;
#[cfg(target_arch = "x86_64")]
use super::strings::{class_mask, classes_at, count_anchors};

/// An object member's start, read from one 32-byte block: where its key
/// ends and, for the compact `"key":value` with the value whole in the
/// block, the value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberStart {
    /// Index of the key's closing quote.
    pub key_end: usize,
    pub value: MemberValue,
}

/// The value of a [`MemberStart`], when the block holds it whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberValue {
    /// A string without escapes: its run, its content at `key_end + 3`.
    String(StringRun),
    /// Such a string without any anchor byte, ending at `end`: told
    /// apart from [`MemberValue::String`] by the branch that counts the
    /// anchors, so the caller can skip the detectors' gate for free.
    PlainString { end: usize },
    /// A number without exponent (`-12`, `0.5`) at `key_end + 2`, ending
    /// at `end`, where a comma or a closing bracket follows.
    Number { end: usize, fraction: bool },
    /// Anything else, or a value the block cuts: read by the caller.
    Other,
}

/// Reads the member whose key's content starts at `from` from the 32
/// bytes there: the key's end, as [`find_string_special`] finds it, and
/// when a colon follows, a string value whose closing quote is in the
/// block too (its run, as [`scan_string`] gives it) or a number that
/// ends in it. One load and one classification serve the key and the
/// value, where separate scans took one each, and a number's digits are
/// found with a bit scan instead of one byte at a time (most members of
/// records are this short). `None` when fewer than 32 bytes are left, or
/// the key does not end in the block with a plain quote.
///
/// Inlined, so that it is built with its caller's features: a
/// `#[target_feature]` function of its own was not inlined, and the call
/// cost more than the second scan it saves.
///
/// # Safety
/// The CPU must support AVX2, BMI1 and POPCNT, and the caller must be
/// built for them (or the intrinsics become calls).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub unsafe fn member_start_avx2(hay: &[u8], from: usize) -> Option<MemberStart> {
    use string_class::*;
    if from + 32 > hay.len() {
        return None;
    }
    // SAFETY: the 32 bytes at `from` lie inside `hay` (checked above), and
    // the CPU supports AVX2 (the caller's promise).
    let class = unsafe { classes_at(hay, from) };
    // The ends of runs straight from the bytes, not from `class`: the
    // member's end depends on them and the next member's read on that
    // end, a chain through the whole body, and three compares are ~3
    // cycles shorter than the nibble lookups and the class test.
    // SAFETY: as above.
    let ends = unsafe { run_ends_at(hay, from) };
    let k = ends.trailing_zeros() as usize;
    if k == 32 || hay[from + k] != b'"' {
        return None;
    }
    let key_end = from + k;
    let value = match hay.get(key_end + 1..key_end + 3) {
        Some([b':', b'"']) => {
            // SAFETY: as above.
            unsafe { string_value(hay, from, class, ends, k + 3) }
        }
        Some([b':', b'-' | b'0'..=b'9']) => {
            // SAFETY: as above.
            let (digits, minus) = unsafe { (class_mask(class, DIGIT), byte_mask(hay, from, b'-')) };
            number_value(hay, from, digits, minus, ends, k + 2)
        }
        _ => MemberValue::Other,
    };
    Some(MemberStart { key_end, value })
}

/// [`member_start_avx2`]'s string value, its content at block offset
/// `start`.
///
/// # Safety
/// As [`member_start_avx2`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn string_value(
    hay: &[u8],
    from: usize,
    class: std::arch::x86_64::__m256i,
    ends: u32,
    start: usize,
) -> MemberValue {
    use string_class::*;
    // The two lowest bits of `ends` are the key's closing quote and the
    // value's opening one (the caller found `:"` between them, and the
    // colon ends no run): clearing them leaves the value's end. Two
    // one-cycle `blsr`s, beside the key's `tzcnt`, where a mask from
    // `start` waited for it: this is on the chain from one member's
    // read to the next's. Past the block, no bit is left.
    let after = ends & ends.wrapping_sub(1);
    let after = after & after.wrapping_sub(1);
    let e = after.trailing_zeros() as usize;
    if e == 32 || hay[from + e] != b'"' {
        return MemberValue::Other;
    }
    let in_value = ((1u32 << e) - 1) & (u32::MAX << start);
    // SAFETY: the caller's promise.
    if unsafe { class_mask(class, DIGIT | AT | COLON | DOT | SPELLED) } & in_value == 0 {
        return MemberValue::PlainString { end: from + e };
    }
    let mut run = StringRun { end: from + e, ..StringRun::default() };
    // SAFETY: as above.
    unsafe { count_anchors(class, in_value, &mut run) };
    MemberValue::String(run)
}

/// [`member_start_avx2`]'s number value at block offset `start`, from
/// the block's digit and minus masks and its run ends (whose lowest bit
/// is the key's closing quote, two before `start`): JSON's grammar
/// without the exponent (which the caller reads), so a leading zero
/// stands alone and a fraction has digits, and the byte after it must be
/// a comma or a closing bracket.
#[inline(always)]
fn number_value(hay: &[u8], from: usize, digits: u32, minus: u32, ends: u32, start: usize) -> MemberValue {
    // The number's end is on the chain from one member's read to the
    // next's, so it is taken from masks by one-cycle bit operations
    // (`blsmsk`, `lea`, `andn`) beside the key's `tzcnt`, not from
    // `start` after it, nor from a load of the sign byte: the bytes up to
    // the colon, the sign if the number has one, and the first non-digit
    // after them.
    let through_colon = ((ends ^ ends.wrapping_sub(1)) << 1) | 1;
    let sign = minus & through_colon.wrapping_add(1);
    let non_digits = !digits & !(through_colon | sign);
    let int_end = non_digits.trailing_zeros() as usize;
    let first = start + (sign != 0) as usize;
    if int_end == 32 || int_end == first || (hay[from + first] == b'0' && int_end > first + 1) {
        return MemberValue::Other;
    }
    let (end, fraction) = match hay[from + int_end] {
        // The fraction's digits end at the next non-digit after the dot.
        b'.' => match (non_digits & non_digits.wrapping_sub(1)).trailing_zeros() as usize {
            end if end == int_end + 1 || end == 32 => return MemberValue::Other,
            end => (end, true),
        },
        _ => (int_end, false),
    };
    // What ends a member's number in compact JSON; anything else (a
    // space, an exponent, a malformed tail) is left to the byte loop.
    match hay[from + end] {
        b',' | b'}' | b']' => MemberValue::Number { end: from + end, fraction },
        _ => MemberValue::Other,
    }
}

/// The bytes of the 32 at `i` that end a string's run (a quote, a
/// backslash or a control byte): [`string_class::ENDS_RUN`] by compares,
/// the AVX2 width of [`string_special_mask`]'s test.
///
/// # Safety
/// The CPU must support AVX2, and `hay[i..i + 32]` must exist.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn run_ends_at(hay: &[u8], i: usize) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: the caller's promises.
    unsafe {
        let v = _mm256_loadu_si256(hay.as_ptr().add(i) as *const __m256i);
        let quote = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'"' as i8));
        let backslash = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\\' as i8));
        // Below 0x20, unsigned: the byte is its max with 0x1F.
        let limit = _mm256_set1_epi8(0x1F);
        let control = _mm256_cmpeq_epi8(_mm256_max_epu8(v, limit), limit);
        _mm256_movemask_epi8(_mm256_or_si256(_mm256_or_si256(quote, backslash), control)) as u32
    }
}

/// The bytes of the 32 at `i` equal to `byte`, as a bit mask.
///
/// # Safety
/// The CPU must support AVX2, and `hay[i..i + 32]` must exist.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn byte_mask(hay: &[u8], i: usize, byte: u8) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: the caller's promises.
    unsafe {
        let v = _mm256_loadu_si256(hay.as_ptr().add(i) as *const __m256i);
        _mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8(byte as i8))) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::bytes::has_x86_64_v3;
    use crate::mask::json::strings::{find_string_special, scan_string};

    /// What [`member_start_avx2`] must return, from the two scans it
    /// stands for.
    #[cfg(target_arch = "x86_64")]
    fn member_start_by_two_scans(hay: &[u8], from: usize) -> Option<MemberStart> {
        let block_end = from + 32;
        if block_end > hay.len() {
            return None;
        }
        let key_end = find_string_special(hay, from).filter(|&k| k < block_end && hay[k] == b'"')?;
        let string = (hay.get(key_end + 1..key_end + 3) == Some(b":\""))
            .then(|| scan_string(hay, key_end + 3))
            .filter(|run| run.end < block_end && hay[run.end] == b'"')
            .map(|run| match run {
                StringRun { end, digits: 0, at_signs: 0, colons: 0, dots: 0, spelled: 0 } => {
                    MemberValue::PlainString { end }
                }
                run => MemberValue::String(run),
            });
        let number = || {
            let start = key_end + 2;
            let found = JSON_NUMBER.find(hay.get(start..block_end)?).filter(|_| hay[key_end + 1] == b':')?;
            let end = start + found.end();
            (end < block_end && matches!(hay[end], b',' | b'}' | b']'))
                .then(|| MemberValue::Number { end, fraction: found.as_bytes().contains(&b'.') })
        };
        Some(MemberStart { key_end, value: string.or_else(number).unwrap_or(MemberValue::Other) })
    }

    /// A JSON number without exponent, at the start of a hay.
    #[cfg(target_arch = "x86_64")]
    static JSON_NUMBER: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(r"\A-?(0|[1-9][0-9]*)(\.[0-9]+)?").expect("a valid regex")
    });

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn member_start_matches_the_scans_it_stands_for_at_every_offset() {
        if !has_x86_64_v3() {
            eprintln!(
                "SKIPPED: member_start_matches_the_scans_it_stands_for_at_every_offset: this CPU has no AVX2 (x86-64-v3)"
            );
            return;
        }
        // Members of every key and value length around the block's size,
        // with escapes, control and high bytes, anchors, spaces and
        // numbers where the compact shape expects a quote.
        let mut state = 0x2545_f491_u32;
        let mut next = |n: u32| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state % n
        };
        // Now and then a byte that ends a string run early.
        fn byte(next: &mut impl FnMut(u32) -> u32, plain: &[u8]) -> u8 {
            match next(40) {
                0 => b"\\\x01\x1f"[next(3) as usize],
                _ => plain[next(plain.len() as u32) as usize],
            }
        }
        let key_lengths = [0, 5, 20, 27, 28, 29, 30, 31, 35];
        let value_lengths = [0, 1, 2, 3, 10, 20, 25, 28, 30];
        let mut hay = Vec::new();
        while hay.len() < 60_000 {
            hay.push(b'"');
            for _ in 0..key_lengths[next(9) as usize] {
                hay.push(byte(&mut next, b"ab1@:.\x80 ,"));
            }
            if next(3) == 0 {
                // A number, well formed or not, with what may follow it.
                hay.extend_from_slice(b"\":");
                for _ in 0..value_lengths[next(9) as usize] {
                    hay.push(b"0123456789-.eE+x"[(next(16) as usize).min(next(16) as usize)]);
                }
                hay.push(b",}] \"\n"[next(6) as usize]);
                continue;
            }
            hay.extend_from_slice([&b"\":\""[..], b"\": \"", b"\":1", b"\"\""][next(4) as usize]);
            for _ in 0..value_lengths[next(9) as usize] {
                hay.push(byte(&mut next, b"xy7@:.\xff-"));
            }
            hay.extend_from_slice(b"\",");
        }
        let (mut strings, mut numbers) = (0, 0);
        for from in 0..hay.len() {
            let expected = member_start_by_two_scans(&hay, from);
            match expected {
                Some(MemberStart { value: MemberValue::String(_) | MemberValue::PlainString { .. }, .. }) => {
                    strings += 1
                }
                Some(MemberStart { value: MemberValue::Number { .. }, .. }) => numbers += 1,
                _ => {}
            }
            // SAFETY: the CPU has the x86-64-v3 features (checked above).
            assert_eq!(unsafe { member_start_avx2(&hay, from) }, expected, "from {from}");
        }
        assert!(strings > 1000 && numbers > 1000, "compact members: {strings} strings, {numbers} numbers");
    }
}
