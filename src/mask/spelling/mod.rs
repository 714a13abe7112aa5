//! Other spellings of the characters PII is written with: HTML character
//! references (`&#64;`, `&#x40;`, `&commat;`), percent-escapes (`%40`,
//! `%C2%A0`), and Unicode forms a reader sees as ASCII (no-break and thin
//! spaces, fullwidth forms, non-ASCII hyphens, zero-width characters,
//! bidirectional marks, the soft hyphen and NUL, which show as nothing, the
//! lookalikes of `@` and `.`, and every digit of other scripts and forms:
//! Arabic-Indic, Devanagari, Thai, mathematical, superscript, circled…,
//! see [`digits`]); the backslash escapes of scripts and styles
//! (`\u0040`, `\x40`, `\40 `, see [`escapes`]); and markup a reader does
//! not see between characters (`<wbr>`, `<span>`, `<!-- -->`, see
//! [`markup`]).
//!
//! [`spelled_at`] reads one spelled character, and [`fold`] says what it
//! stands for to a detector. Both decide from the bytes at hand and say
//! [`Spelled::NeedMore`] while a later byte could change the answer, so
//! decoding a text piece by piece gives what decoding it whole gives.
//! One layer of each spelling is decoded: `&amp;#64;` is `&#64;` to a
//! reader, and stays so.
//!
//! [`needs_decoding`] tells whether a text holds any such spelling at
//! all, so text without one is scanned as it is. Must not depend on
//! anything outside `mask`.

mod digits;
mod entities;
mod escapes;
mod markup;

/// The longest reference or escape read as one character: a numeric
/// reference with leading zeros, a named one, four percent-escapes of a
/// UTF-8 sequence. Markup is read up to [`markup::MAX_MARKUP`].
pub const MAX_SPELLING: usize = 32;

/// What the bytes at a position spell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spelled {
    /// The byte stands for itself.
    Plain,
    /// `len` bytes spell `ch` (a reference, escapes, or a UTF-8 sequence
    /// that [`fold`] changes).
    Char { len: usize, ch: char },
    /// The bytes at hand end before the answer is known (only when the
    /// text may go on).
    NeedMore,
}

/// What a character stands for to a detector.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folded {
    /// An ASCII byte (a space for every kind of space, `-` for hyphens,
    /// the ASCII form of a fullwidth one).
    Ascii(u8),
    /// Nothing: a character that shows as nothing (zero-width, soft
    /// hyphen, NUL).
    Removed,
    /// The character itself.
    Char(char),
}

/// What a reader takes `ch` for.
#[inline]
pub fn fold(ch: char) -> Folded {
    match ch {
        // NUL shows as nothing: an HTML tree builder drops it from text,
        // and it pads every ASCII letter of UTF-16 or UTF-32 text read as
        // bytes (a value pasted from a UTF-16 source into a UTF-8 page).
        '\0' => Folded::Removed,
        c if c.is_ascii() => Folded::Ascii(c as u8),
        '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => Folded::Ascii(b' '),
        '\u{AD}'
        | '\u{61C}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
        // Marks drawn on the character before them, and selectors of its
        // glyph: a reader sees the letter or digit under them (`4\u{20E3}`
        // is a keycap 4, `e\u{301}` an é).
        | '\u{300}'..='\u{36F}'
        | '\u{180E}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}'
        | '\u{E0000}'..='\u{E007F}'
        | '\u{E0100}'..='\u{E01EF}' => Folded::Removed,
        '\u{2010}'..='\u{2013}' | '\u{2212}' | '\u{FE63}' => Folded::Ascii(b'-'),
        '\u{FF01}'..='\u{FF5E}' => Folded::Ascii((ch as u32 - 0xFEE0) as u8),
        // Small and halfwidth lookalikes of `@` and `.`, and the
        // ideographic full stop a Japanese or Chinese writer types for one.
        '\u{FE6B}' => Folded::Ascii(b'@'),
        '\u{2024}' | '\u{3002}' | '\u{FE52}' | '\u{FF61}' => Folded::Ascii(b'.'),
        // The Arabic decimal and thousands separators, between digits.
        '\u{66B}' => Folded::Ascii(b'.'),
        '\u{66C}' => Folded::Ascii(b' '),
        c => match digit_value(c) {
            Some(d) => Folded::Ascii(b'0' + d),
            None => Folded::Char(c),
        },
    }
}

/// The value of a digit of another script or form (see [`digits`]).
#[inline]
fn digit_value(c: char) -> Option<u8> {
    let cp = c as u32;
    let runs = digits::RUNS;
    let i = runs.partition_point(|&(_, last, _)| last < cp);
    match runs.get(i) {
        Some(&(first, _, value)) if first <= cp => Some(value + (cp - first) as u8),
        _ => None,
    }
}

/// Whether `b` may start a spelling [`spelled_at`] decodes: `&`, `%`,
/// `\`, `<`, `]` (of `]]>`), NUL, or the lead byte of a UTF-8 sequence
/// that [`fold`] changes.
#[inline(always)]
pub fn may_start_spelling(b: u8) -> bool {
    STARTS[b as usize]
}

/// The lead byte of `cp`'s UTF-8 sequence.
const fn utf8_lead(cp: u32) -> u8 {
    match cp {
        0..0x80 => cp as u8,
        0x80..0x800 => 0xC0 | (cp >> 6) as u8,
        0x800..0x10000 => 0xE0 | (cp >> 12) as u8,
        _ => 0xF0 | (cp >> 18) as u8,
    }
}

/// The non-ASCII characters [`fold`] changes, but digits ([`digits`]),
/// as ranges (a few more may be listed: they only send a character to
/// [`fold`]; a test checks every character against it).
const FOLDED: &[(u32, u32)] = &[
    (0xA0, 0xA0),
    (0xAD, 0xAD),
    (0x300, 0x36F),
    (0x61C, 0x61C),
    (0x66B, 0x66C),
    (0x180E, 0x180E),
    (0x1AB0, 0x1AFF),
    (0x2000, 0x2013),
    (0x20D0, 0x20FF),
    (0x2024, 0x2024),
    (0x202A, 0x202F),
    (0x205F, 0x2069),
    (0x2212, 0x2212),
    (0x3000, 0x3002),
    (0xFE52, 0xFE52),
    (0xFE63, 0xFE6B),
    (0xFE00, 0xFE0F),
    (0xFE20, 0xFE2F),
    (0xFEFF, 0xFEFF),
    (0xFF01, 0xFF61),
];

/// Characters past this never fold.
const FOLD_LIMIT: u32 = 0x20000;

/// One bit per character below [`FOLD_LIMIT`]: whether [`fold`] may change
/// it. Asked of every character whose lead byte may start a spelling,
/// before the character is decoded further.
static MAY_FOLD: [u64; (FOLD_LIMIT / 64) as usize] = {
    let mut t = [0u64; (FOLD_LIMIT / 64) as usize];
    let mut i = 0;
    while i < FOLDED.len() + digits::RUNS.len() {
        let (first, last) = if i < FOLDED.len() {
            FOLDED[i]
        } else {
            let (first, last, _) = digits::RUNS[i - FOLDED.len()];
            (first, last)
        };
        let mut cp = first;
        while cp <= last {
            t[(cp / 64) as usize] |= 1 << (cp % 64);
            cp += 1;
        }
        i += 1;
    }
    t
};

/// [`may_start_spelling`] of each byte, looked up: asked of every byte
/// of a short non-ASCII JSON value. `&`, `%`, `\\`, `<`, `]`, NUL and the leads
/// of the characters of [`MAY_FOLD`].
static STARTS: [bool; 256] = {
    let mut t = [false; 256];
    t[0] = true;
    t[b'&' as usize] = true;
    t[b'%' as usize] = true;
    t[b'\\' as usize] = true;
    t[b'<' as usize] = true;
    // The end of a CDATA section, `]]>`.
    t[b']' as usize] = true;
    let mut cp = 0x80;
    while cp < FOLD_LIMIT {
        if MAY_FOLD[(cp / 64) as usize] & (1 << (cp % 64)) != 0 {
            t[utf8_lead(cp) as usize] = true;
        }
        cp += 1;
    }
    // Tag characters and supplementary variation selectors (U+E0000…).
    t[0xF3] = true;
    t
};

/// Reads the spelling at `b[at]`. `complete`: `b` ends where the text
/// ends, so a reference cut short is read as it stands.
#[inline]
pub fn spelled_at(b: &[u8], at: usize, complete: bool) -> Spelled {
    match b[at] {
        b'&' => reference(b, at, complete),
        b'%' => percent(b, at, complete),
        b'\\' => escapes::backslash(b, at, complete),
        b'<' | b']' => markup::markup(b, at, complete),
        0 => Spelled::Char { len: 1, ch: '\0' },
        0x80.. => utf8(b, at, complete),
        _ => Spelled::Plain,
    }
}

/// A UTF-8 sequence whose character [`fold`] changes, told from its
/// bytes (most non-ASCII text is other characters: this is asked of
/// every `E3` lead of Japanese text and every `E0` of Hindi).
#[inline]
fn utf8(b: &[u8], at: usize, complete: bool) -> Spelled {
    let lead = b[at];
    let (len, bits) = match lead {
        0xC2..=0xDF => (2, lead & 0x1F),
        0xE0..=0xEF => (3, lead & 0x0F),
        0xF0..=0xF4 => (4, lead & 0x07),
        _ => return Spelled::Plain,
    };
    let Some(seq) = b.get(at..at + len) else {
        // A continuation byte may still come.
        let have = &b[at + 1..];
        return if !complete && have.iter().all(|&c| c & 0xC0 == 0x80) { Spelled::NeedMore } else { Spelled::Plain };
    };
    // Japanese text: of its `E3` block only U+3000–U+3002 may fold.
    if lead == 0xE3 && seq[1] != 0x80 {
        return Spelled::Plain;
    }
    let mut cp = u32::from(bits);
    for &c in &seq[1..] {
        if c & 0xC0 != 0x80 {
            return Spelled::Plain;
        }
        cp = cp << 6 | u32::from(c & 0x3F);
    }
    // Not a character fold changes, or an overlong form of one.
    let shortest = match len {
        2 => 0x80,
        3 => 0x800,
        _ => 0x10000,
    };
    // Tag characters and the supplementary variation selectors are past
    // the table, in their own plane.
    let past_table = (0xE0000..=0xE01EF).contains(&cp);
    if cp < shortest || !past_table && (cp >= FOLD_LIMIT || MAY_FOLD[(cp / 64) as usize] & (1 << (cp % 64)) == 0) {
        return Spelled::Plain;
    }
    match char::from_u32(cp) {
        // A lookalike of `.` is read as one only where a domain goes on
        // after it: Japanese text ends its sentences with `。`.
        Some(ch @ ('\u{2024}' | '\u{3002}' | '\u{FE52}' | '\u{FF61}')) => match b.get(at + len) {
            Some(c) if c.is_ascii_alphanumeric() => Spelled::Char { len, ch },
            Some(_) => Spelled::Plain,
            None if complete => Spelled::Plain,
            None => Spelled::NeedMore,
        },
        Some(ch) if !matches!(fold(ch), Folded::Char(_)) => Spelled::Char { len, ch },
        _ => Spelled::Plain,
    }
}

fn hex_value(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// `%XX`, or the escapes of a whole UTF-8 sequence (`%C2%A0`).
fn percent(b: &[u8], at: usize, complete: bool) -> Spelled {
    // The byte at `i` escaped, `None` when not an escape; `Err` when the
    // text ends inside it.
    let escaped = |i: usize| -> Result<Option<u8>, ()> {
        let Some(e) = b.get(i..(i + 3).min(b.len())) else { return Err(()) };
        if e.is_empty() || e[0] != b'%' {
            return if e.is_empty() { Err(()) } else { Ok(None) };
        }
        let digits: Vec<Option<u8>> = e[1..].iter().map(|&c| hex_value(c)).collect();
        match digits.as_slice() {
            [Some(h), Some(l)] => Ok(Some(h << 4 | l)),
            [Some(_)] | [] => Err(()),
            _ => Ok(None),
        }
    };
    let more = |complete: bool| if complete { Spelled::Plain } else { Spelled::NeedMore };
    let lead = match escaped(at) {
        Ok(Some(v)) => v,
        Ok(None) => return Spelled::Plain,
        Err(()) => return more(complete),
    };
    let len = match lead {
        0x00..=0x7F => return Spelled::Char { len: 3, ch: lead as char },
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return Spelled::Plain,
    };
    let mut seq = [lead, 0, 0, 0];
    for (k, slot) in seq.iter_mut().enumerate().take(len).skip(1) {
        match escaped(at + 3 * k) {
            Ok(Some(v)) if v & 0xC0 == 0x80 => *slot = v,
            Ok(_) => return Spelled::Plain,
            Err(()) => return more(complete),
        }
    }
    match std::str::from_utf8(&seq[..len]).ok().and_then(|s| s.chars().next()) {
        Some(ch) => Spelled::Char { len: 3 * len, ch },
        None => Spelled::Plain,
    }
}

/// `&#NN;`, `&#xHH;` (the `;` optional, as browsers read them), or a
/// named reference from [`entities`].
fn reference(b: &[u8], at: usize, complete: bool) -> Spelled {
    let more = if complete { Spelled::Plain } else { Spelled::NeedMore };
    let end = b.len().min(at + MAX_SPELLING);
    let Some(&second) = b.get(at + 1) else { return more };
    if second == b'#' {
        let (radix, from) = match b.get(at + 2) {
            Some(b'x' | b'X') => (16, at + 3),
            Some(_) => (10, at + 2),
            None => return more,
        };
        let mut i = from;
        let mut value: u32 = 0;
        while i < end && (b[i] as char).is_digit(radix) {
            value = value.saturating_mul(radix).saturating_add((b[i] as char).to_digit(radix).unwrap_or(0));
            i += 1;
        }
        if i == b.len() && !complete {
            return Spelled::NeedMore;
        }
        if i == from || i >= at + MAX_SPELLING {
            return Spelled::Plain;
        }
        let len = i - at + usize::from(b.get(i) == Some(&b';'));
        return match char::from_u32(value) {
            Some(ch) if value != 0 => Spelled::Char { len, ch },
            _ => Spelled::Plain,
        };
    }
    let mut i = at + 1;
    while i < end && b[i].is_ascii_alphanumeric() {
        i += 1;
    }
    if i == b.len() && !complete {
        return Spelled::NeedMore;
    }
    let name = &b[at + 1..i];
    if b.get(i) == Some(&b';') {
        return entities::lookup(name).map_or(Spelled::Plain, |ch| Spelled::Char { len: i + 1 - at, ch });
    }
    // The two legacy names people still write without `;`.
    for (legacy, ch) in [(&b"nbsp"[..], '\u{A0}'), (b"amp", '&')] {
        if name.starts_with(legacy) {
            return Spelled::Char { len: 1 + legacy.len(), ch };
        }
    }
    Spelled::Plain
}

/// Whether `text` holds a spelling [`spelled_at`] decodes, or the start
/// of one cut by its end. Text without one (most) is scanned as it is.
/// `&` and `%` are found with `memchr`; only text with non-ASCII bytes is
/// walked for the UTF-8 sequences, from its first one.
#[inline]
pub fn needs_decoding(text: &[u8]) -> bool {
    // A short text (a JSON string value) is walked once: the searches'
    // setup costs more than the walk.
    if text.len() < 64 {
        return (0..text.len()).any(|i| may_start_spelling(text[i]) && spelled_at(text, i, false) != Spelled::Plain);
    }
    // `&`, `%`, `\` or NUL anywhere sends the text to the decoded view
    // (which reads a lone one as it is); `<` only when it starts markup.
    // `]` is not searched for: a CDATA section's `]]>` follows its
    // `<![CDATA[`, which sends the text there.
    if memchr::memchr3(b'&', b'%', b'\\', text).is_some()
        || memchr::memchr(0, text).is_some()
        || memchr::memchr_iter(b'<', text).any(|p| spelled_at(text, p, false) != Spelled::Plain)
    {
        return true;
    }
    // What is left to find starts with the lead byte of a character that
    // may fold: none in ASCII text (most), told 64 bytes at a time; from
    // the first non-ASCII byte on, searched for three at a time (English
    // with an `é` passes each search in one go).
    let Some(chunk) = text.chunks(64).position(|c| !c.is_ascii()) else { return false };
    let text = &text[chunk * 64..];
    LEADS.chunks(3).any(|leads| {
        let find = |from: usize| match *leads {
            [a, b, c] => memchr::memchr3(a, b, c, &text[from..]),
            [a, b] => memchr::memchr2(a, b, &text[from..]),
            [a] => memchr::memchr(a, &text[from..]),
            _ => None,
        };
        let mut from = 0;
        while let Some(p) = find(from).map(|p| p + from) {
            if spelled_at(text, p, false) != Spelled::Plain {
                return true;
            }
            from = p + 1;
        }
        false
    })
}

/// The non-ASCII bytes of [`STARTS`], the leads of the characters that
/// may fold (a test checks the list against the table).
const LEADS: &[u8] = &[0xC2, 0xCC, 0xCD, 0xD8, 0xD9, 0xDB, 0xDF, 0xE0, 0xE1, 0xE2, 0xE3, 0xEA, 0xEF, 0xF0, 0xF3];

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(s: &str) -> Spelled {
        spelled_at(s.as_bytes(), 0, true)
    }

    #[test]
    fn references_escapes_and_forms_spell_their_character() {
        for (s, ch, len) in [
            ("&#64;x", '@', 5),
            ("&#x40;x", '@', 6),
            ("&#X40;", '@', 6),
            ("&#0000064;", '@', 10),
            ("&#64x", '@', 4),
            ("&commat;", '@', 8),
            ("&period;", '.', 8),
            ("&nbsp;", '\u{A0}', 6),
            ("&nbsp1", '\u{A0}', 5),
            ("&plus;", '+', 6),
            ("%40", '@', 3),
            ("%2b", '+', 3),
            ("%C2%A0", '\u{A0}', 6),
            ("%EF%BC%A0", '＠', 9),
            ("\u{A0}", '\u{A0}', 2),
            ("\u{202F}", '\u{202F}', 3),
            ("＠", '＠', 3),
            ("\u{200B}", '\u{200B}', 3),
            ("\u{3000}", '\u{3000}', 3),
            ("\0", '\0', 1),
        ] {
            assert_eq!(whole(s), Spelled::Char { len, ch }, "{s:?}");
        }
        assert_eq!(fold('＠'), Folded::Ascii(b'@'));
        assert_eq!(fold('７'), Folded::Ascii(b'7'));
        assert_eq!(fold('\u{202F}'), Folded::Ascii(b' '));
        assert_eq!(fold('\u{AD}'), Folded::Removed);
        assert_eq!(fold('\0'), Folded::Removed);
        assert_eq!(fold('\u{2011}'), Folded::Ascii(b'-'));
        assert_eq!(fold('é'), Folded::Char('é'));
    }

    #[test]
    fn what_is_not_a_spelling_is_plain() {
        for s in [
            "&", "& x", "&#;", "&#x;", "&#xZZ;", "&#0;", "&#xD800;", "&nosuch;", "&copy", "%", "%4", "%zz", "%C2x",
            "%C2%41", "é", "’",
        ] {
            assert_eq!(whole(s), Spelled::Plain, "{s:?}");
        }
        assert_eq!(whole("&amp"), Spelled::Char { len: 4, ch: '&' });
        assert_eq!(whole("&#64"), Spelled::Char { len: 4, ch: '@' });
    }

    /// Cut anywhere, a spelling is either read whole or waits for more;
    /// it never reads as something it is not.
    #[test]
    fn a_spelling_cut_short_waits_for_the_rest() {
        for s in
            ["&#64;", "&#x40;", "&commat;", "&nbsp;", "%40", "%C2%A0", "%EF%BC%A0", "\u{A0}", "＠", "&#64", "&nbsp"]
        {
            let b = s.as_bytes();
            for cut in 1..b.len() {
                assert_eq!(spelled_at(&b[..cut], 0, false), Spelled::NeedMore, "{s:?} cut at {cut}");
            }
        }
    }

    /// The UTF-8 sequences read as spellings are exactly the characters
    /// [`fold`] changes (followed by a letter, which a lookalike of `.`
    /// needs).
    #[test]
    fn every_character_fold_changes_is_read_from_its_bytes() {
        for cp in 0x80..0x110000u32 {
            let Some(ch) = char::from_u32(cp) else { continue };
            let mut buf = [0; 5];
            let len = ch.encode_utf8(&mut buf).len();
            buf[len] = b'a';
            let changed = !matches!(fold(ch), Folded::Char(_));
            let read = spelled_at(&buf[..len + 1], 0, true) == Spelled::Char { len, ch };
            assert_eq!(read, changed, "U+{cp:04X}");
            if changed {
                assert!(may_start_spelling(buf[0]), "U+{cp:04X}");
            }
        }
        // Before anything but a letter or digit, a `.` lookalike is itself.
        for s in ["\u{3002}", "\u{3002}よ", "\u{FF61} ", "\u{2024}."] {
            assert_eq!(whole(s), Spelled::Plain, "{s:?}");
        }
        assert_eq!(spelled_at("\u{3002}".as_bytes(), 0, false), Spelled::NeedMore);
    }

    #[test]
    fn needs_decoding_finds_every_spelling_and_nothing_else() {
        for s in ["a&#64;b", "100%40", "a\u{A0}b", "x\u{2009}", "\u{FEFF}", "１", "\u{3000}", "&", "x%", "x\u{3002}"] {
            assert!(needs_decoding(s.as_bytes()), "{s:?}");
        }
        for cut in [&[b'x', 0xE2, 0x80][..], &[b'x', 0xC2], &[0xE3, 0x80], &[0xEF]] {
            assert!(needs_decoding(cut), "{cut:?}");
        }
        for s in ["plain text, john at example", "café ’quoted’ — 電話", "日本語のテキスト", "& alone", "&#; %zz"]
        {
            assert!(!needs_decoding(s.as_bytes()), "{s:?}");
            let long = s.repeat(20);
            // Long texts are searched, and `&` or `%` alone sends them to
            // the decoded view (which reads them as they are).
            assert_eq!(needs_decoding(long.as_bytes()), s.contains(['&', '%']), "{s:?}");
        }
        for s in ["a&b", "100%", "a\u{A0}b", "x\u{2009}", "\u{FEFF}", "１", "\u{3000}"] {
            assert!(needs_decoding(format!("{}{s}", "x".repeat(70)).as_bytes()), "{s:?}");
        }
    }

    #[test]
    fn digits_of_every_script_and_form_fold_to_their_value() {
        for (s, d) in [
            ("٤", 4),
            ("۴", 4),
            ("߄", 4),
            ("४", 4),
            ("৪", 4),
            ("๔", 4),
            ("໔", 4),
            ("၄", 4),
            ("𝟒", 4),
            ("𝟎", 0),
            ("𝟿", 9),
            ("④", 4),
            ("⓪", 0),
            ("❹", 4),
            ("²", 2),
            ("⁴", 4),
            ("₄", 4),
            ("４", 4),
        ] {
            let ch = s.chars().next().expect("one char");
            assert_eq!(fold(ch), Folded::Ascii(b'0' + d), "{s:?}");
            assert_eq!(whole(s), Spelled::Char { len: s.len(), ch }, "{s:?}");
        }
        for ch in ['⑩', '½', 'Ⅳ', '〇', '十', 'a', 'é'] {
            assert!(!matches!(fold(ch), Folded::Ascii(b'0'..=b'9')), "{ch:?}");
        }
    }

    /// The generated table (see `tests/unicode_digits.py`, which checks
    /// it against Python's Unicode data) holds numeric characters only,
    /// each with a value of one digit, in sorted runs that do not overlap.
    #[test]
    fn the_digit_table_is_sorted_numeric_and_of_single_digits() {
        let mut last_end = 0x7F;
        for &(first, last, value) in digits::RUNS {
            assert!(first > last_end && first <= last, "U+{first:04X}");
            assert!(u32::from(value) + (last - first) <= 9, "U+{first:04X}");
            for cp in first..=last {
                let ch = char::from_u32(cp).expect("a character");
                assert!(ch.is_numeric(), "U+{cp:04X}");
            }
            last_end = last;
        }
        // Every run of ten decimal digits std knows of starts at a zero in
        // the table (std's `is_numeric` also holds letters-as-numbers).
        for (first, _, value) in digits::RUNS.iter().filter(|r| r.1 - r.0 == 9) {
            assert_eq!(*value, 0, "U+{first:04X}");
        }
    }

    #[test]
    fn lookalikes_of_at_and_dot_and_arabic_separators_fold() {
        for (ch, a) in [
            ('\u{FE6B}', b'@'),
            ('\u{FF20}', b'@'),
            ('\u{3002}', b'.'),
            ('\u{FF61}', b'.'),
            ('\u{2024}', b'.'),
            ('\u{FE52}', b'.'),
            ('\u{FF0E}', b'.'),
            ('\u{66B}', b'.'),
            ('\u{66C}', b' '),
        ] {
            assert_eq!(fold(ch), Folded::Ascii(a), "{ch:?}");
        }
        for ch in ['\u{200E}', '\u{200F}', '\u{61C}', '\u{202B}', '\u{2067}'] {
            assert_eq!(fold(ch), Folded::Removed, "{ch:?}");
        }
        // Japanese text around them is not read as spellings.
        for s in ["日本語", "カタカナ", "、"] {
            assert_eq!(whole(s), Spelled::Plain, "{s:?}");
        }
    }

    #[test]
    fn long_texts_with_digits_of_other_scripts_need_decoding() {
        let pad = "x".repeat(70);
        for s in ["٤١١١", "४", "𝟒", "①", "\u{3002}com", "\u{200F}"] {
            assert!(needs_decoding(format!("{pad}{s}").as_bytes()), "{s:?}");
            assert!(needs_decoding(format!("{pad}é{s}").as_bytes()), "{s:?}");
        }
        for s in ["हिन्दी पाठ", "ภาษาไทย", "العربية"] {
            assert!(!needs_decoding(s.repeat(20).as_bytes()), "{s:?}");
        }
    }

    /// The searches agree with reading every byte, wherever the first
    /// non-ASCII byte and the spelling fall against the 64-byte chunks.
    #[test]
    fn needs_decoding_agrees_with_a_byte_by_byte_reading() {
        let naive =
            |t: &[u8]| (0..t.len()).any(|i| may_start_spelling(t[i]) && spelled_at(t, i, false) != Spelled::Plain);
        for first in [None, Some("é"), Some("日")] {
            for spelling in ["\u{A0}", "\u{301}", "\u{FE0F}", "\u{E0020}", "٤", "x"] {
                for at in 0..140 {
                    for gap in [0, 1, 63, 64, 65] {
                        let mut t = "a".repeat(at);
                        if let Some(f) = first {
                            t.push_str(f);
                        }
                        t.push_str(&"b".repeat(gap));
                        t.push_str(spelling);
                        t.push('c');
                        assert_eq!(
                            needs_decoding(t.as_bytes()),
                            naive(t.as_bytes()),
                            "{first:?} {spelling:?} at {at}+{gap}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_lead_list_is_the_non_ascii_starts() {
        let leads: Vec<u8> = (0x80..=0xFF).filter(|&b| may_start_spelling(b)).collect();
        assert_eq!(leads, LEADS);
    }
}
