//! Scans of JSON string content: where a run of plain content ends (at
//! a `"`, a `\\` or a control byte), counting the detectors' anchor
//! bytes on the way; and the byte classes the AVX2 scans share with the
//! member reader ([`super::member`]).
//!
//! The scans test 16 bytes per step with SSE2 (baseline on x86-64); on
//! CPUs with AVX2 the long scan classifies 32 bytes at a time by nibble
//! lookups (`vpshufb`). Nothing here allocates. Must not depend on the
//! lexer's state, nor on anything above `mask`.

// SIMD loads and intrinsics (SSE2, AVX2, POPCNT) on the input's bytes.
#![allow(unsafe_code)]

use crate::mask::detect::Prefilter;

/// The bytes of a 16-byte block that end plain JSON string content (`"`,
/// `\` and control bytes), as a bit mask.
///
/// # Safety
/// The CPU must support SSE2 (the x86-64 baseline, so always true there).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn string_special_mask(v: std::arch::x86_64::__m128i) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 intrinsics on registers only.
    unsafe {
        let quote = _mm_set1_epi8(b'"' as i8);
        let backslash = _mm_set1_epi8(b'\\' as i8);
        let control_max = _mm_set1_epi8(0x1F);
        // Unsigned `v <= 0x1F` is `max(v, 0x1F) == 0x1F`.
        let control = _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max);
        let special = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), control);
        _mm_movemask_epi8(special) as u32
    }
}

/// The detectors' anchor bytes in a 16-byte block, as bit masks: digits,
/// `@`, `:`, `.`, and the bytes that may spell a character otherwise
/// (`&`, `%`, non-ASCII: see [`crate::mask::spelling`]).
///
/// # Safety
/// The CPU must support SSE2 (the x86-64 baseline, so always true there).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn anchor_masks(v: std::arch::x86_64::__m128i) -> [u32; 5] {
    use std::arch::x86_64::*;
    // SAFETY: SSE2 intrinsics on registers only.
    unsafe {
        // Signed compares: bytes >= 0x80 are negative, never digits.
        let digits = _mm_and_si128(
            _mm_cmpgt_epi8(v, _mm_set1_epi8((b'0' - 1) as i8)),
            _mm_cmplt_epi8(v, _mm_set1_epi8((b'9' + 1) as i8)),
        );
        let mask = |m: __m128i| _mm_movemask_epi8(m) as u32;
        [
            mask(digits),
            mask(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'@' as i8))),
            mask(_mm_cmpeq_epi8(v, _mm_set1_epi8(b':' as i8))),
            mask(_mm_cmpeq_epi8(v, _mm_set1_epi8(b'.' as i8))),
            mask(_mm_or_si128(
                _mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'&' as i8)),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8(b'%' as i8)),
                ),
                v,
            )),
        ]
    }
}

/// Where a run of plain JSON string content ends, and what it holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StringRun {
    /// Index of the first `"`, `\` or control byte (< 0x20) at or after
    /// the start, or the hay's length.
    pub end: usize,
    /// Anchor bytes in the run, for the detectors' prefilter.
    pub digits: u32,
    pub at_signs: u32,
    pub colons: u32,
    pub dots: u32,
    /// Bytes that may spell a character otherwise: `&`, `%`, non-ASCII.
    pub spelled: u32,
}

/// Scans plain JSON string content from `from`: finds where it ends and
/// counts the detectors' anchor bytes on the way, in one pass.
///
/// Most JSON strings are short (`"paid"`, `"EUR"`, an id): one 16-byte
/// block, inlined into the caller, settles those. Longer ones take
/// [`scan_long_string`].
#[inline(always)]
pub fn scan_string(hay: &[u8], from: usize) -> StringRun {
    #[cfg(target_arch = "x86_64")]
    if let Some(run) = scan_short_string(hay, from) {
        return run;
    }
    scan_long_string(hay, from)
}

/// [`scan_string`] for a run that ends within the 16 bytes at `from`, or
/// `None` when it does not (or fewer than 16 bytes are left).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn scan_short_string(hay: &[u8], from: usize) -> Option<StringRun> {
    let (v, special) = first_block(hay, from)?;
    if special == 0 {
        return None;
    }
    let keep = (1u32 << special.trailing_zeros()) - 1;
    // SAFETY: SSE2 is part of the x86-64 baseline.
    let [digits, ats, colons, dots, spelled] = unsafe { anchor_masks(v) }.map(|m| m & keep);
    let mut run = StringRun { end: from + special.trailing_zeros() as usize, ..StringRun::default() };
    // Most short strings hold no anchor: the counts (a dozen shifts and
    // adds each without `popcnt`) are skipped.
    if digits | ats | colons | dots | spelled != 0 {
        run.digits = digits.count_ones();
        run.at_signs = ats.count_ones();
        run.colons = colons.count_ones();
        run.dots = dots.count_ones();
        run.spelled = spelled.count_ones();
    }
    Some(run)
}

/// The 16 bytes at `from` and the mask of those that end plain string
/// content (see [`string_special_mask`]), or `None` when fewer than 16
/// bytes are left: the first step of the string scans, inlined into
/// their callers because most strings and keys end within it.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn first_block(hay: &[u8], from: usize) -> Option<(std::arch::x86_64::__m128i, u32)> {
    use std::arch::x86_64::*;
    if from + 16 > hay.len() {
        return None;
    }
    // SAFETY: SSE2 is part of the x86-64 baseline, and the load reads the
    // 16 bytes at `from`, which lie inside `hay` (checked just above).
    unsafe {
        let v = _mm_loadu_si128(hay.as_ptr().add(from) as *const __m128i);
        Some((v, string_special_mask(v)))
    }
}

/// [`scan_string`] from its first block on.
///
/// CPUs with AVX2 (x86-64 servers since 2013) scan 32 bytes per step.
/// Otherwise 16: baseline x86-64 has no `popcnt` instruction, and
/// `count_ones` becomes a dozen shifts and adds per mask, so CPUs that have
/// it get a build of the loop that uses it. Picked at run time.
#[inline(never)]
fn scan_long_string(hay: &[u8], from: usize) -> StringRun {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports AVX2 and popcnt, checked just above.
            return unsafe { scan_string_avx2(hay, from) };
        }
        if std::arch::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports popcnt, checked just above.
            return unsafe { scan_string_popcnt(hay, from) };
        }
    }
    scan_string_body(hay, from)
}

/// [`scan_string`] 32 bytes per step; the 16-byte body finishes the last
/// 31 bytes.
///
/// Each block is classified with two table lookups (`vpshufb`, one on each
/// nibble) whose AND gives every byte its class bits: one bit per anchor
/// (digit, `@`, `:`, `.`), one per byte that ends the run (`"`, `\`, a
/// control byte). The bits are chosen so that a byte gets one only if both
/// of its nibbles allow it: `,` (0x2C) shares its high nibble with `"`
/// and `.` and its low one with `\`, and gets none. Most blocks of long
/// strings (prose) hold nothing: one compare with zero skips them, ~10
/// instructions a block where a compare per class took ~22, and past the
/// first such block two at a time. Callgrind, 20 MB: -10.8% instructions
/// on prose-heavy JSON, -3.5% on 64 KB order bodies, +0.2% on dense
/// records (their 36-byte UUIDs pay the extra test).
///
/// # Safety
/// The CPU must support AVX2 and POPCNT.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt")]
pub unsafe fn scan_string_avx2(hay: &[u8], from: usize) -> StringRun {
    use std::arch::x86_64::*;
    use string_class::*;
    let mut run = StringRun::default();
    let mut i = from;
    let zero = _mm256_setzero_si256();
    // SAFETY: the caller checks that the 32 bytes at `i` lie inside `hay`.
    let class_at = |i: usize| unsafe { classes_at(hay, i) };
    while i + 32 <= hay.len() {
        let class = class_at(i);
        let plain = _mm256_movemask_epi8(_mm256_cmpeq_epi8(class, zero)) as u32;
        if plain == u32::MAX {
            i += 32;
            // A string this long may be prose: 64 bytes a step while
            // nothing shows.
            while i + 64 <= hay.len() {
                let either = _mm256_or_si256(class_at(i), class_at(i + 32));
                if _mm256_movemask_epi8(_mm256_cmpeq_epi8(either, zero)) as u32 != u32::MAX {
                    break;
                }
                i += 64;
            }
            continue;
        }
        // SAFETY: AVX2, which this function is built for.
        let special = unsafe { class_mask(class, ENDS_RUN) };
        // Count only the bytes before the end of the run.
        let keep = if special != 0 { (1u32 << special.trailing_zeros()) - 1 } else { u32::MAX };
        if !plain & !special & keep != 0 {
            // SAFETY: as above.
            unsafe { count_anchors(class, keep, &mut run) };
        }
        if special != 0 {
            run.end = i + special.trailing_zeros() as usize;
            return run;
        }
        i += 32;
    }
    let tail = scan_string_body(hay, i);
    StringRun {
        end: tail.end,
        digits: run.digits + tail.digits,
        at_signs: run.at_signs + tail.at_signs,
        colons: run.colons + tail.colons,
        dots: run.dots + tail.dots,
        spelled: run.spelled + tail.spelled,
    }
}

/// The class bits of the 32 bytes at `i` (see [`string_class`]).
///
/// # Safety
/// The CPU must support AVX2, and `hay[i..i + 32]` must exist.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn classes_at(hay: &[u8], i: usize) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    use string_class::*;
    // SAFETY: the caller's promises; each table load reads 16 bytes of a
    // 16-byte table.
    unsafe {
        let [by_low, by_high] = [BY_LOW_NIBBLE, BY_HIGH_NIBBLE]
            .map(|t| _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr() as *const __m128i)));
        let v = _mm256_loadu_si256(hay.as_ptr().add(i) as *const __m256i);
        // A byte with its top bit set (non-ASCII) indexes nothing in
        // `vpshufb` and gets no low-nibble bits, so it has no class from
        // the tables.
        let high = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
        let class = _mm256_and_si256(_mm256_shuffle_epi8(by_low, v), _mm256_shuffle_epi8(by_high, high));
        // The top bit is `SPELLED`: set for non-ASCII bytes straight from
        // the byte (`&` and `%` have it from the tables).
        _mm256_or_si256(class, _mm256_and_si256(v, _mm256_set1_epi8(SPELLED as i8)))
    }
}

/// The bytes of a classified block with any of `bits`, as a bit mask.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn class_mask(class: std::arch::x86_64::__m256i, bits: u8) -> u32 {
    use std::arch::x86_64::*;
    // SAFETY: AVX2 intrinsics on registers only.
    unsafe {
        let none = _mm256_cmpeq_epi8(_mm256_and_si256(class, _mm256_set1_epi8(bits as i8)), _mm256_setzero_si256());
        !(_mm256_movemask_epi8(none) as u32)
    }
}

/// Adds the anchors of a classified block's bytes in `keep` to `run`.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn count_anchors(class: std::arch::x86_64::__m256i, keep: u32, run: &mut StringRun) {
    use string_class::*;
    // SAFETY: the caller's promise.
    unsafe {
        run.digits += (class_mask(class, DIGIT) & keep).count_ones();
        run.at_signs += (class_mask(class, AT) & keep).count_ones();
        run.colons += (class_mask(class, COLON) & keep).count_ones();
        run.dots += (class_mask(class, DOT) & keep).count_ones();
        run.spelled += (class_mask(class, SPELLED) & keep).count_ones();
    }
}

/// The byte classes of the AVX2 scans ([`scan_string_avx2`],
/// [`super::member::member_start_avx2`]): a byte is in a class when
/// the class's bit is set both in the entry of its low nibble and in the
/// entry of its high nibble.
#[cfg(target_arch = "x86_64")]
pub(super) mod string_class {
    pub const CONTROL: u8 = 1 << 0;
    pub const QUOTE: u8 = 1 << 1;
    pub const BACKSLASH: u8 = 1 << 2;
    pub const ENDS_RUN: u8 = CONTROL | QUOTE | BACKSLASH;
    pub const DIGIT: u8 = 1 << 3;
    pub const AT: u8 = 1 << 4;
    pub const COLON: u8 = 1 << 5;
    pub const DOT: u8 = 1 << 6;
    /// `&`, `%` and (set from the byte's own top bit) non-ASCII bytes.
    pub const SPELLED: u8 = 1 << 7;

    /// Control bytes are 0x00–0x1F, whatever their low nibble; `"` 0x22,
    /// `\` 0x5C, digits 0x30–0x39, `@` 0x40, `:` 0x3A, `.` 0x2E, `%`
    /// 0x25, `&` 0x26.
    pub const BY_LOW_NIBBLE: [u8; 16] = {
        let mut t = [CONTROL; 16];
        let mut n = 0;
        while n <= 9 {
            t[n] |= DIGIT;
            n += 1;
        }
        t[0x0] |= AT;
        t[0x2] |= QUOTE;
        t[0xA] |= COLON;
        t[0xC] |= BACKSLASH;
        t[0xE] |= DOT;
        t[0x5] |= SPELLED;
        t[0x6] |= SPELLED;
        t
    };

    pub const BY_HIGH_NIBBLE: [u8; 16] = {
        let mut t = [0; 16];
        t[0x0] = CONTROL;
        t[0x1] = CONTROL;
        t[0x2] = QUOTE | DOT | SPELLED;
        t[0x3] = DIGIT | COLON;
        t[0x4] = AT;
        t[0x5] = BACKSLASH;
        t
    };
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
unsafe fn scan_string_popcnt(hay: &[u8], from: usize) -> StringRun {
    scan_string_body(hay, from)
}

#[inline(always)]
fn scan_string_body(hay: &[u8], from: usize) -> StringRun {
    let mut run = StringRun { end: hay.len(), ..StringRun::default() };
    let mut i = from;
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86-64 baseline, and every load reads
        // 16 bytes that lie inside `hay` (`i + 16 <= hay.len()`).
        unsafe {
            use std::arch::x86_64::*;
            while i + 16 <= hay.len() {
                let v = _mm_loadu_si128(hay.as_ptr().add(i) as *const __m128i);
                let special = string_special_mask(v);
                let [digits, ats, colons, dots, spelled] = anchor_masks(v);
                // Count only the bytes before the end of the run.
                let keep = if special != 0 { (1u32 << special.trailing_zeros()) - 1 } else { 0xFFFF };
                // Most blocks hold no anchor at all: one test skips the counts.
                if (digits | ats | colons | dots | spelled) & keep != 0 {
                    run.digits += (digits & keep).count_ones();
                    run.at_signs += (ats & keep).count_ones();
                    run.colons += (colons & keep).count_ones();
                    run.dots += (dots & keep).count_ones();
                    run.spelled += (spelled & keep).count_ones();
                }
                if special != 0 {
                    run.end = i + special.trailing_zeros() as usize;
                    return run;
                }
                i += 16;
            }
        }
    }
    while i < hay.len() {
        let b = hay[i];
        if is_string_special(b) {
            run.end = i;
            return run;
        }
        run.digits += b.is_ascii_digit() as u32;
        run.at_signs += (b == b'@') as u32;
        run.colons += (b == b':') as u32;
        run.dots += (b == b'.') as u32;
        run.spelled += (b == b'&' || b == b'%' || b >= 0x80) as u32;
        i += 1;
    }
    run
}

/// Returns the index of the first byte in `hay[from..]` that ends a run of
/// plain JSON string content: `"`, `\` or a control byte (< 0x20). Like
/// [`scan_string`] without the anchor counts (for keys).
///
/// Most keys end within 16 bytes: that block is tested inline, the rest
/// in a call (as [`scan_string`] does).
#[inline(always)]
pub fn find_string_special(hay: &[u8], from: usize) -> Option<usize> {
    #[cfg(target_arch = "x86_64")]
    if let Some((_, special)) = first_block(hay, from) {
        if special != 0 {
            return Some(from + special.trailing_zeros() as usize);
        }
        return find_string_special_loop(hay, from + 16);
    }
    find_string_special_loop(hay, from)
}

/// [`find_string_special`] past its first block.
#[inline(never)]
fn find_string_special_loop(hay: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86-64 baseline, and every load reads
        // 16 bytes that lie inside `hay` (`i + 16 <= hay.len()`).
        unsafe {
            use std::arch::x86_64::*;
            while i + 16 <= hay.len() {
                let v = _mm_loadu_si128(hay.as_ptr().add(i) as *const __m128i);
                let mask = string_special_mask(v);
                if mask != 0 {
                    return Some(i + mask.trailing_zeros() as usize);
                }
                i += 16;
            }
        }
    }
    hay[i..].iter().position(|&b| is_string_special(b)).map(|p| i + p)
}

/// Whether `b` cannot stand as it is inside a JSON string (`"`, `\\` or a
/// control byte): where the string scans stop, and what escaping changes.
#[inline(always)]
pub fn is_string_special(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

impl StringRun {
    /// The detectors' prefilter from the counts the scan already made.
    #[inline(always)]
    pub fn prefilter(&self) -> Prefilter {
        Prefilter { at_signs: self.at_signs, digits: self.digits, colons: self.colons, dots: self.dots }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_string_counts_anchors_before_the_end_only() {
        let hay = b"ab1@:2\"3@:4 and more text past the end 567";
        let run = scan_string(hay, 0);
        assert_eq!((run.end, run.digits, run.at_signs, run.colons), (6, 2, 1, 1));
        let long = [b"x1@:".repeat(10), b"\"9@".to_vec()].concat();
        let run = scan_string(&long, 0);
        assert_eq!((run.end, run.digits, run.at_signs, run.colons), (40, 10, 10, 10));
    }

    /// What [`scan_string`] must return, one byte at a time.
    fn scan_string_scalar(hay: &[u8], from: usize) -> StringRun {
        let end = hay[from..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map_or(hay.len(), |p| p + from);
        let count = |f: fn(&u8) -> bool| hay[from..end].iter().filter(|b| f(b)).count() as u32;
        StringRun {
            end,
            digits: count(u8::is_ascii_digit),
            at_signs: count(|&b| b == b'@'),
            colons: count(|&b| b == b':'),
            dots: count(|&b| b == b'.'),
            spelled: count(|&b| b == b'&' || b == b'%' || b >= 0x80),
        }
    }

    #[test]
    fn every_build_of_scan_string_matches_a_scalar_scan_at_every_offset() {
        // Run ends 45 to 120 bytes apart (past a 32-byte block), anchors,
        // bytes next to the classes' edges, high bytes.
        let hay: Vec<u8> = (0..700u32)
            .map(|i| match (i % 120, i % 7) {
                (44 | 119, _) => b'"',
                (90, _) => b'\\',
                (_, 0) => b"0123456789"[(i % 10) as usize],
                (_, 1) => [b'@', b':', b'.', b'/', b';', 0x1F, 0x20, 0x7F, 0x80, 0xFF][(i % 10) as usize],
                _ => b'a' + (i % 26) as u8,
            })
            .collect();
        #[cfg(target_arch = "x86_64")]
        let has_avx2 = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt");
        #[cfg(target_arch = "x86_64")]
        if !has_avx2 {
            eprintln!(
                "SKIPPED (in part): every_build_of_scan_string_matches_a_scalar_scan_at_every_offset: \
                 this CPU has no AVX2, the 32-byte build is not checked"
            );
        }
        for from in 0..hay.len() {
            let expected = scan_string_scalar(&hay, from);
            assert_eq!(scan_string(&hay, from), expected, "dispatched, from {from}");
            assert_eq!(scan_long_string(&hay, from), expected, "long, from {from}");
            #[cfg(target_arch = "x86_64")]
            if let Some(short) = scan_short_string(&hay, from) {
                assert_eq!(short, expected, "short, from {from}");
            }
            assert_eq!(scan_string_body(&hay, from), expected, "16-byte body, from {from}");
            #[cfg(target_arch = "x86_64")]
            if has_avx2 {
                // SAFETY: the CPU supports AVX2 and popcnt, checked above.
                assert_eq!(unsafe { scan_string_avx2(&hay, from) }, expected, "32-byte body, from {from}");
            }
        }
    }

    #[test]
    fn every_byte_value_is_classed_as_a_scalar_scan_classes_it() {
        // Each byte value alone in plain text, in the first, a middle and
        // the last 32-byte block before the tail, at each lane's edges:
        // the nibble tables must give it its class and no other.
        for b in 0..=255u8 {
            for at in [0, 15, 16, 31, 32, 47, 63, 64, 95] {
                let mut hay = vec![b'a'; 130];
                hay[at] = b;
                hay[120] = b'"';
                assert_eq!(scan_string(&hay, 0), scan_string_scalar(&hay, 0), "byte {b:#04x} at {at}");
                assert_eq!(scan_long_string(&hay, 0), scan_string_scalar(&hay, 0), "byte {b:#04x} at {at}");
            }
        }
    }

    #[test]
    fn find_string_special_matches_a_scalar_search_at_every_offset() {
        let hay: Vec<u8> = (0..300u32)
            .map(|i| match i % 41 {
                0 => b'"',
                13 => b'\\',
                27 => 0x1F,
                30 => 0xFF,
                _ => b'x',
            })
            .collect();
        for from in 0..hay.len() {
            let expected = hay[from..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|p| p + from);
            assert_eq!(find_string_special(&hay, from), expected, "from {from}");
        }
    }
}
