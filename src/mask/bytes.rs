//! Byte-level scans and classifications shared by the detectors.
//!
//! These are the innermost loops of the engine. The digit and string
//! scans test 16 bytes per step with SSE2 (baseline on x86-64); on CPUs
//! with AVX2 the string scans, and the JSON loop's read of an object
//! member, classify 32 bytes at a time by nibble lookups (`vpshufb`).
//! Nothing here allocates. Must not depend on anything above `mask`.

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
/// `@`, `:` and `.`.
///
/// # Safety
/// The CPU must support SSE2 (the x86-64 baseline, so always true there).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn anchor_masks(v: std::arch::x86_64::__m128i) -> [u32; 4] {
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
    let [digits, ats, colons, dots] = unsafe { anchor_masks(v) }.map(|m| m & keep);
    let mut run = StringRun { end: from + special.trailing_zeros() as usize, ..StringRun::default() };
    // Most short strings hold no anchor: the counts (a dozen shifts and
    // adds each without `popcnt`) are skipped.
    if digits | ats | colons | dots != 0 {
        run.digits = digits.count_ones();
        run.at_signs = ats.count_ones();
        run.colons = colons.count_ones();
        run.dots = dots.count_ones();
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
    }
}

/// The class bits of the 32 bytes at `i` (see [`string_class`]).
///
/// # Safety
/// The CPU must support AVX2, and `hay[i..i + 32]` must exist.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn classes_at(hay: &[u8], i: usize) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    use string_class::*;
    // SAFETY: the caller's promises; each table load reads 16 bytes of a
    // 16-byte table.
    unsafe {
        let [by_low, by_high] = [BY_LOW_NIBBLE, BY_HIGH_NIBBLE]
            .map(|t| _mm256_broadcastsi128_si256(_mm_loadu_si128(t.as_ptr() as *const __m128i)));
        let v = _mm256_loadu_si256(hay.as_ptr().add(i) as *const __m256i);
        // A byte with its top bit set (non-ASCII) indexes nothing in
        // `vpshufb` and gets no low-nibble bits, so it has no class.
        let high = _mm256_and_si256(_mm256_srli_epi16(v, 4), _mm256_set1_epi8(0x0F));
        _mm256_and_si256(_mm256_shuffle_epi8(by_low, v), _mm256_shuffle_epi8(by_high, high))
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

/// The bytes of a classified block with any of `bits`, as a bit mask.
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn class_mask(class: std::arch::x86_64::__m256i, bits: u8) -> u32 {
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
unsafe fn count_anchors(class: std::arch::x86_64::__m256i, keep: u32, run: &mut StringRun) {
    use string_class::*;
    // SAFETY: the caller's promise.
    unsafe {
        run.digits += (class_mask(class, DIGIT) & keep).count_ones();
        run.at_signs += (class_mask(class, AT) & keep).count_ones();
        run.colons += (class_mask(class, COLON) & keep).count_ones();
        run.dots += (class_mask(class, DOT) & keep).count_ones();
    }
}

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
    if unsafe { class_mask(class, DIGIT | AT | COLON | DOT) } & in_value == 0 {
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

/// The byte classes of the AVX2 scans ([`scan_string_avx2`],
/// [`member_start_avx2`]): a byte is in a class when
/// the class's bit is set both in the entry of its low nibble and in the
/// entry of its high nibble.
#[cfg(target_arch = "x86_64")]
mod string_class {
    pub const CONTROL: u8 = 1 << 0;
    pub const QUOTE: u8 = 1 << 1;
    pub const BACKSLASH: u8 = 1 << 2;
    pub const ENDS_RUN: u8 = CONTROL | QUOTE | BACKSLASH;
    pub const DIGIT: u8 = 1 << 3;
    pub const AT: u8 = 1 << 4;
    pub const COLON: u8 = 1 << 5;
    pub const DOT: u8 = 1 << 6;

    /// Control bytes are 0x00–0x1F, whatever their low nibble; `"` 0x22,
    /// `\` 0x5C, digits 0x30–0x39, `@` 0x40, `:` 0x3A, `.` 0x2E.
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
        t
    };

    pub const BY_HIGH_NIBBLE: [u8; 16] = {
        let mut t = [0; 16];
        t[0x0] = CONTROL;
        t[0x1] = CONTROL;
        t[0x2] = QUOTE | DOT;
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
                let [digits, ats, colons, dots] = anchor_masks(v);
                // Count only the bytes before the end of the run.
                let keep = if special != 0 { (1u32 << special.trailing_zeros()) - 1 } else { 0xFFFF };
                // Most blocks hold no anchor at all: one test skips the counts.
                if (digits | ats | colons | dots) & keep != 0 {
                    run.digits += (digits & keep).count_ones();
                    run.at_signs += (ats & keep).count_ones();
                    run.colons += (colons & keep).count_ones();
                    run.dots += (dots & keep).count_ones();
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
            if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt") {
                // SAFETY: the CPU supports AVX2 and popcnt, checked just above.
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
                StringRun { end, digits: 0, at_signs: 0, colons: 0, dots: 0 } => MemberValue::PlainString { end },
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

    #[test]
    fn char_before_and_at_decode_multibyte_scalars() {
        let s = "a桃b".as_bytes();
        assert_eq!(char_before(s, 4, 0), Some(('桃', 1)));
        assert_eq!(char_at(s, 1), Some(('桃', 3)));
        assert_eq!(char_before(s, 4, 2), None);
    }
}
