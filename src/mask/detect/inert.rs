//! Shapes of strings that are everywhere in JSON and can hold no PII
//! (UUIDs, ISO 8601 dates and timestamps, prefixed ids), though their
//! digits pass the prefilter: recognised before any detector runs.
//!
//! Each shape is a template (`d` a decimal digit, `x` a hex digit, `?` any
//! byte, anything else itself) tested eight bytes at a time, as words
//! (SWAR): a UUID is five loads and a few dozen branch-free operations
//! instead of a 36-step loop (~160 instructions, once for every UUID in a
//! body).

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = ONES * 0x80;

/// Bit 7 of each byte of `w` that lies in `lo..=hi` (both ASCII); a byte
/// of 0x80 or above never does.
#[inline(always)]
fn bytes_in_range(w: u64, lo: u8, hi: u8) -> u64 {
    // With bit 7 cleared each byte is at most 0x7f, so neither sum below
    // carries into the next byte: bit 7 of a byte of `at_least_lo` is set
    // where the byte is >= lo, of `above_hi` where it is > hi.
    let low = w & !HIGH;
    let at_least_lo = low + ONES * (0x80 - lo) as u64;
    let above_hi = low + ONES * (0x7f - hi) as u64;
    at_least_lo & !above_hi & !w & HIGH
}

/// Bit 7 of each byte of `w` that is an ASCII digit.
#[inline(always)]
fn digit_bytes(w: u64) -> u64 {
    bytes_in_range(w, b'0', b'9')
}

/// Bit 7 of each byte of `w` that is an ASCII hex digit, either case.
#[inline(always)]
fn hex_bytes(w: u64) -> u64 {
    // Setting bit 5 lowercases `A-F` and moves no other byte into `a-f`.
    digit_bytes(w) | bytes_in_range(w | (ONES * 0x20), b'a', b'f')
}

/// What one eight-byte window of a template asks of the bytes there.
#[derive(Clone, Copy)]
struct Window {
    at: usize,
    digits: u64,
    hex: u64,
    literal: u64,
    literal_mask: u64,
}

/// A template compiled into `N` windows: at 0, 8, 16… and one ending at
/// the template's end (overlapping the one before).
struct Template<const N: usize> {
    len: usize,
    windows: [Window; N],
}

impl<const N: usize> Template<N> {
    /// Compiles `t` (at least 8 bytes, `N` its length in words, rounded up).
    const fn new(t: &[u8]) -> Template<N> {
        assert!(t.len() >= 8 && N == t.len().div_ceil(8));
        let empty = Window { at: 0, digits: 0, hex: 0, literal: 0, literal_mask: 0 };
        let mut windows = [empty; N];
        let mut k = 0;
        while k < N {
            let at = if k * 8 < t.len() - 8 { k * 8 } else { t.len() - 8 };
            let mut w = Window { at, ..empty };
            let mut j = 0;
            while j < 8 {
                let shift = 8 * j as u32;
                match t[at + j] {
                    b'd' => w.digits |= 0x80 << shift,
                    b'x' => w.hex |= 0x80 << shift,
                    b'?' => {}
                    c => {
                        w.literal |= (c as u64) << shift;
                        w.literal_mask |= 0xff << shift;
                    }
                }
                j += 1;
            }
            windows[k] = w;
            k += 1;
        }
        Template { len: t.len(), windows }
    }

    /// Whether the first `self.len` bytes of `s` fit the template.
    #[inline(always)]
    fn fits_prefix(&self, s: &[u8]) -> bool {
        if s.len() < self.len {
            return false;
        }
        // `&`, not `&&`: every window is tested, without a branch each.
        self.windows.iter().fold(true, |fits, w| {
            let Some(bytes) = s[w.at..].first_chunk::<8>() else {
                return false;
            };
            let v = u64::from_le_bytes(*bytes);
            fits & (digit_bytes(v) & w.digits == w.digits)
                & (hex_bytes(v) & w.hex == w.hex)
                & ((v ^ w.literal) & w.literal_mask == 0)
        })
    }
}

static UUID: Template<5> = Template::new(b"xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx");
static DATE: Template<2> = Template::new(b"dddd-dd-dd");
/// A date, then `T` or a space, then hours and minutes.
static DATE_TIME: Template<2> = Template::new(b"dddd-dd-dd?dd:dd");

/// `8-4-4-4-12` hex digits, either case.
pub fn is_uuid(s: &[u8]) -> bool {
    s.len() == UUID.len && UUID.fits_prefix(s)
}

/// `YYYY-MM-DD`, optionally followed by `T` or a space, `hh:mm`, optional
/// `:ss`, optional fraction, optional `Z` or `±hh[:]mm`.
pub fn is_iso_timestamp(s: &[u8]) -> bool {
    if s.len() == DATE.len {
        return DATE.fits_prefix(s);
    }
    if !(DATE_TIME.fits_prefix(s) && matches!(s[10], b'T' | b' ')) {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| s.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    let mut i = DATE_TIME.len;
    if s.get(i) == Some(&b':') && digits(i + 1..i + 3) {
        i += 3;
        if s.get(i) == Some(&b'.') {
            let frac = s[i + 1..].iter().take_while(|b| b.is_ascii_digit()).count();
            if frac == 0 || frac > 9 {
                return false;
            }
            i += 1 + frac;
        }
    }
    match s.get(i) {
        None => true,
        Some(b'Z') => i + 1 == s.len(),
        Some(b'+' | b'-') => {
            let rest = &s[i + 1..];
            (rest.len() == 4 && rest.iter().all(u8::is_ascii_digit))
                || (rest.len() == 5 && digits(i + 1..i + 3) && rest[2] == b':' && digits(i + 4..i + 6))
        }
        _ => false,
    }
}

/// A prefixed id such as `ord_347712782`, `INV-2024-000123` or
/// `user-1234567-eu`: ASCII letters, digits, `_` and `-`, starting with a
/// letter, and no digit right after a letter. Every run of digits then
/// follows a `_` or `-`, where no number starts (`digits::number_start`),
/// and no two capitals precede one (an IBAN); with no `@`, `:` or `.`
/// no other built-in detector can match either. Ids like these take the
/// whole scan otherwise (~500 instructions each, for one in every order
/// record of the proxy benchmark's body).
///
/// Eight bytes a word (SWAR) from eight bytes on: a 13-byte id is two
/// words, ~60 instructions fewer than the table loop below (~150;
/// callgrind on the proxy benchmark's order bodies).
pub fn is_prefixed_id(s: &[u8]) -> bool {
    if !s.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let Some(last) = s.last_chunk::<8>() else {
        return is_short_prefixed_id(s);
    };
    let (words, tail) = s.as_chunks::<8>();
    // Bit 7 set when the byte before the word is a letter.
    let mut letter_before = 0;
    for word in words {
        let (faults, letters) = id_word(u64::from_le_bytes(*word), letter_before);
        // Most strings that reach here are not ids (an email address, a
        // phone number in words): they leave at their first word.
        if faults != 0 {
            return false;
        }
        letter_before = letters >> 56;
    }
    // The tail is tested as the last eight bytes, overlapping the word
    // before: the pair across its first byte lies inside that word,
    // which has been tested already.
    tail.is_empty() || id_word(u64::from_le_bytes(*last), 0).0 == 0
}

/// Bit 7 of each byte of `w` that breaks an id (a byte outside the
/// alphabet, a digit right after a letter), and of each letter.
/// `letter_before` is bit 7 when the byte before `w` is a letter.
#[inline(always)]
fn id_word(w: u64, letter_before: u64) -> (u64, u64) {
    // Setting bit 5 lowercases capitals and moves no other byte into
    // `a-z`; a byte of 0x80 or above stays out of every range.
    let letters = bytes_in_range(w | (ONES * 0x20), b'a', b'z');
    let digits = digit_bytes(w);
    let separators = bytes_in_range(w, b'-', b'-') | bytes_in_range(w, b'_', b'_');
    let strangers = !(letters | digits | separators) & HIGH;
    // Shifted up a byte, each letter's bit meets the next byte's.
    (strangers | (digits & ((letters << 8) | letter_before)), letters)
}

/// [`is_prefixed_id`] for fewer than eight bytes. One table lookup a
/// byte: a byte outside the alphabet ends the test, a letter then a
/// digit sets a bit of `bad` (~6 instructions a byte; the byte loop with
/// a branch per class took ~17).
fn is_short_prefixed_id(s: &[u8]) -> bool {
    let mut bad = 0u8;
    let mut previous = ID_LETTER;
    for &b in s {
        let class = ID_CLASS[b as usize];
        if class == 0 {
            return false;
        }
        // Shifted right by one, a digit's class is the letter bit, and
        // meets the previous byte's; a separator's (4) and a letter's (0)
        // meet nothing.
        bad |= (class >> 1) & previous;
        previous = class;
    }
    bad == 0
}

const ID_LETTER: u8 = 1;
const ID_DIGIT: u8 = 2;
const ID_SEPARATOR: u8 = 8;

/// The class of each byte in a prefixed id (0: not allowed).
static ID_CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = if c.is_ascii_alphabetic() {
            ID_LETTER
        } else if c.is_ascii_digit() {
            ID_DIGIT
        } else if c == b'_' || c == b'-' {
            ID_SEPARATOR
        } else {
            0
        };
        b += 1;
    }
    t
};

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn inert_shapes_are_exact() {
        for s in [
            "550e8400-e29b-41d4-a716-446655440000",
            "550E8400-E29B-41D4-A716-446655440000",
            "2024-01-15",
            "2024-01-15T10:30",
            "2024-01-15T10:30:00Z",
            "2024-01-15 10:30:00.123456+01:00",
            "2024-01-15T10:30:00-0500",
        ] {
            assert!(is_uuid(s.as_bytes()) || is_iso_timestamp(s.as_bytes()), "{s}");
        }
        for s in [
            "550e8400-e29b-41d4-a716-44665544000",
            "550e8400-e29b-41d4-a716-4466554400000",
            "550e8400-e29b-41d4-a716-44665544000g",
            "550e8400+e29b-41d4-a716-446655440000",
            "2024-01-15 call +44 20 7946 0958",
            "2024-01-15T10:30:00Z ",
            "2024-01-15T10:30:00.Z",
            "2024-01-15x10:30",
            "20240115",
            "2024-01-1",
            "2024-01-15T10:30:00+01:00:00",
        ] {
            assert!(!is_uuid(s.as_bytes()) && !is_iso_timestamp(s.as_bytes()), "{s}");
        }
    }

    #[test]
    fn prefixed_ids_are_exact() {
        for s in ["ord_347712782", "INV-2024-000123", "SKU-62136-Y", "user-1234567-eu", "a_1", "x"] {
            assert!(is_prefixed_id(s.as_bytes()), "{s}");
        }
        for s in [
            "",
            "_1234567",
            "1234567_a",
            "GB82WEST12345698765432",
            "ord347712782",
            "tel_+14155552671",
            "ord_3477 12782",
            "ord_34.77",
            "id:4155552671",
            "a@b_1234567",
            "ord_\\u00341234567",
            "ord_é1234567",
        ] {
            assert!(!is_prefixed_id(s.as_bytes()), "{s}");
        }
    }

    /// [`is_prefixed_id`] as first written, one branch a byte.
    fn is_prefixed_id_by_branches(s: &[u8]) -> bool {
        if !s.first().is_some_and(u8::is_ascii_alphabetic) {
            return false;
        }
        let mut after_letter = false;
        for &b in s {
            if b.is_ascii_alphabetic() {
                after_letter = true;
            } else if b == b'_' || b == b'-' {
                after_letter = false;
            } else if !b.is_ascii_digit() || after_letter {
                return false;
            }
        }
        true
    }

    #[test]
    fn prefixed_ids_are_told_as_the_byte_loop_tells_them_for_every_short_string() {
        // Every string of up to six bytes over a letter of each case, a
        // digit, both separators, a byte outside the alphabet and a high
        // byte: every adjacency of two classes, at every position.
        let alphabet = [b'a', b'Z', b'7', b'_', b'-', b'.', 0xC3];
        let mut strings = vec![Vec::new()];
        let mut last = strings.clone();
        for _ in 0..6 {
            last = last.iter().flat_map(|s: &Vec<u8>| alphabet.map(|b| [&s[..], &[b]].concat())).collect();
            strings.extend(last.iter().cloned());
        }
        for s in &strings {
            assert_eq!(is_prefixed_id(s), is_prefixed_id_by_branches(s), "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn prefixed_ids_of_a_word_or_more_are_told_as_the_byte_loop_tells_them_for_every_byte_anywhere() {
        // Ids of one to three words, with and without a tail, each byte
        // in turn set to every value: the word test's ranges, its carry
        // from word to word and its overlapping tail against the plain
        // loop. In the two of whole words (16, 24 bytes) a digit opens
        // the second and third word, so only the carry sees a letter put
        // before it.
        let ids = ["ord_3477", "ord_3477127", "ord_34771278", "INV-2024-000123", "abcd_ef_12345678"];
        for id in ids.into_iter().chain(["ab_cdef-1234567-98765432", "a-1-b-2-c-3-d-4-e-5-f-6-g-7"]) {
            for at in 0..id.len() {
                for b in 0..=255u8 {
                    let mut s = id.as_bytes().to_vec();
                    s[at] = b;
                    assert_eq!(is_prefixed_id(&s), is_prefixed_id_by_branches(&s), "{id} with {b:#x} at {at}");
                }
            }
        }
    }

    /// Mostly the id alphabet, now and then a byte next to its ranges.
    fn id_like_strings() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            20 => prop::sample::select(b"aZzAM09_-".to_vec()),
            1 => prop::sample::select(b".@`{[/: \xc3\x80".to_vec()),
        ];
        prop::collection::vec(byte, 0..40)
    }

    proptest! {
        #[test]
        fn prefixed_ids_of_any_length_are_told_as_the_byte_loop_tells_them(s in id_like_strings()) {
            prop_assert_eq!(is_prefixed_id(&s), is_prefixed_id_by_branches(&s));
        }
    }

    #[test]
    fn byte_ranges_are_exact_for_every_byte() {
        for b in 0..=255u8 {
            let w = u64::from_le_bytes([b'a', b, 0xff, b'0', b, 0, b'F', b]);
            let expect = |pred: fn(&u8) -> bool| {
                let mut mask = 0u64;
                for (j, byte) in w.to_le_bytes().iter().enumerate() {
                    if pred(byte) {
                        mask |= 0x80 << (8 * j);
                    }
                }
                mask
            };
            assert_eq!(digit_bytes(w), expect(u8::is_ascii_digit), "{b:#x}");
            assert_eq!(hex_bytes(w), expect(u8::is_ascii_hexdigit), "{b:#x}");
        }
    }

    /// The shapes as plainly written, one byte at a time.
    fn reference_uuid(s: &[u8]) -> bool {
        s.len() == 36
            && s.iter().enumerate().all(|(i, &b)| match i {
                8 | 13 | 18 | 23 => b == b'-',
                _ => b.is_ascii_hexdigit(),
            })
    }

    fn reference_iso_timestamp(s: &[u8]) -> bool {
        let digits = |r: std::ops::Range<usize>| s.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        if !(digits(0..4) && s.get(4) == Some(&b'-') && digits(5..7) && s.get(7) == Some(&b'-') && digits(8..10)) {
            return false;
        }
        if s.len() == 10 {
            return true;
        }
        if !(matches!(s[10], b'T' | b' ') && digits(11..13) && s.get(13) == Some(&b':') && digits(14..16)) {
            return false;
        }
        // What follows the minutes is the same code in both.
        is_iso_timestamp(s)
    }

    /// Valid shapes with one byte changed, so most cases sit near the edge.
    fn near_shapes() -> impl Strategy<Value = Vec<u8>> {
        let base = prop::sample::select(vec![
            "550e8400-e29b-41d4-a716-446655440000",
            "550E8400-E29B-41D4-A716-446655440000",
            "2024-01-15",
            "2024-01-15T10:30",
            "2024-01-15 10:30:00Z",
            "2024-01-15T10:30:00.123+01:00",
        ]);
        let byte = prop::sample::select(b"0a9fAFgG-: T/@\x80\xff".to_vec());
        (base, any::<prop::sample::Index>(), byte, any::<bool>()).prop_map(|(s, at, b, change)| {
            let mut s = s.as_bytes().to_vec();
            if change {
                let i = at.index(s.len());
                s[i] = b;
            }
            s
        })
    }

    proptest! {
        #[test]
        fn the_word_tests_agree_with_the_byte_tests(s in near_shapes()) {
            prop_assert_eq!(is_uuid(&s), reference_uuid(&s));
            prop_assert_eq!(is_iso_timestamp(&s), reference_iso_timestamp(&s));
        }
    }
}
