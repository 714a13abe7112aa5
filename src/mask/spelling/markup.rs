//! HTML and XML markup a reader does not see between the characters of
//! a value: inline tags (`<wbr>`, `<span>`, `</b>`) read as nothing, other
//! tags (`<br>`, `<p>`, `</div>`, unknown and custom elements, every XML
//! element) as a space; comments (`<!-- -->`, `<!-->`), bogus comments
//! (`<!x>`, `<?x?>`), `</>` and CDATA's brackets (`<![CDATA[`, `]]>`) as
//! nothing. Only markup that can hide no personal data itself is read
//! so: a tag whose attributes hold no digit, `@`, `&`, `%`, `\` or
//! non-ASCII byte, a comment of such bytes. Anything else is text, and is
//! scanned as such.

use super::Spelled;

/// The longest tag or comment read as one.
pub const MAX_MARKUP: usize = 64;

/// Elements that do not break a line of text. Other tags, unknown and
/// custom elements included, read as a space: in XML every element is
/// unknown, and `<email>…</email><id>4111</id>` must not join an address
/// to the digits after it.
const INLINE: &[&[u8]] = &[
    b"a",
    b"abbr",
    b"b",
    b"bdi",
    b"bdo",
    b"big",
    b"cite",
    b"code",
    b"data",
    b"del",
    b"dfn",
    b"em",
    b"font",
    b"i",
    b"ins",
    b"kbd",
    b"mark",
    b"nobr",
    b"q",
    b"s",
    b"samp",
    b"small",
    b"span",
    b"strike",
    b"strong",
    b"sub",
    b"sup",
    b"time",
    b"tt",
    b"u",
    b"var",
    b"wbr",
    b"ruby",
    b"rt",
    b"rp",
    b"template",
];

/// Whether `c` may stand in a tag's attributes or a comment read as
/// markup: it cannot be part of personal data a detector finds.
fn inert(c: u8) -> bool {
    (c.is_ascii_graphic() || matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        && !c.is_ascii_digit()
        && !matches!(c, b'@' | b'&' | b'%' | b'\\' | b'<')
}

/// `len` bytes that read as nothing (as a zero-width space does).
fn nothing(len: usize) -> Spelled {
    Spelled::Char { len, ch: '\u{200B}' }
}

/// Markup of inert bytes from `from` up to and including the first
/// `close` in `rest`: read as nothing, or `NeedMore`/`Plain` when it does
/// not end within [`MAX_MARKUP`].
fn up_to(rest: &[u8], from: usize, close: &[u8], open_end: bool) -> Spelled {
    let mut i = from;
    while i < rest.len() {
        if rest[i..].starts_with(close) {
            return nothing(i + close.len());
        }
        if !inert(rest[i]) && rest[i] != b'-' {
            return Spelled::Plain;
        }
        i += 1;
    }
    if open_end && rest.len() < MAX_MARKUP { Spelled::NeedMore } else { Spelled::Plain }
}

/// The markup at `b[at]`, a `<` (or the `]` of a CDATA section's end).
pub fn markup(b: &[u8], at: usize, complete: bool) -> Spelled {
    let more = if complete { Spelled::Plain } else { Spelled::NeedMore };
    let end = b.len().min(at + MAX_MARKUP);
    let rest = &b[at..end];
    let open_end = end == b.len() && !complete;
    // A prefix of one of the fixed openings, cut by the end of the text
    // (only a text's last few bytes can be).
    if rest.len() < b"<![CDATA[".len() {
        for opening in [&b"<!--"[..], b"<![CDATA[", b"]]>", b"</>"] {
            if rest.len() < opening.len() && opening.starts_with(rest) && (rest.len() > 1 || rest == b"]") {
                return if end == b.len() { more } else { Spelled::Plain };
            }
        }
    }
    if rest[0] == b']' {
        return if rest.starts_with(b"]]>") { nothing(3) } else { Spelled::Plain };
    }
    match rest.get(1) {
        // A comment ends at the first `-->` after `<!` (so `<!-->` is one);
        // other `<!…>` are bogus comments, as `<?…>` are, which a browser
        // drops; `<![CDATA[` opens a section whose text is read on.
        Some(b'!') if rest.starts_with(b"<!--") => return up_to(rest, 2, b"-->", open_end),
        Some(b'!') if rest.starts_with(b"<![CDATA[") => return nothing(9),
        Some(b'!' | b'?') => return up_to(rest, 2, b">", open_end),
        Some(b'/') if rest.get(2) == Some(&b'>') => return nothing(3),
        _ => {}
    }
    let mut i = 1 + usize::from(rest.get(1) == Some(&b'/'));
    let name_start = i;
    while i < rest.len()
        && (rest[i].is_ascii_alphanumeric() || (i > name_start && rest[i] == b'-'))
        && (i > name_start || rest[i].is_ascii_alphabetic())
    {
        i += 1;
    }
    if i == rest.len() {
        return if end == b.len() && rest.len() < MAX_MARKUP { more } else { Spelled::Plain };
    }
    if i == name_start {
        return Spelled::Plain;
    }
    let name = &rest[name_start..i];
    // After the name: `>`, `/>`, or white space and attributes.
    if !matches!(rest[i], b'>' | b'/' | b' ' | b'\t' | b'\n' | b'\r') {
        return Spelled::Plain;
    }
    while i < rest.len() {
        match rest[i] {
            b'>' => {
                let inline = INLINE.iter().any(|n| n.eq_ignore_ascii_case(name));
                return if inline { nothing(i + 1) } else { Spelled::Char { len: i + 1, ch: ' ' } };
            }
            c if inert(c) => i += 1,
            _ => return Spelled::Plain,
        }
    }
    if end == b.len() && rest.len() < MAX_MARKUP { more } else { Spelled::Plain }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(s: &str) -> Spelled {
        markup(s.as_bytes(), 0, true)
    }

    #[test]
    fn inline_tags_and_empty_comments_are_nothing_other_tags_a_space() {
        for (s, ch, len) in [
            ("<wbr>x", '\u{200B}', 5),
            ("<wbr/>", '\u{200B}', 6),
            ("<span>", '\u{200B}', 6),
            ("</span>", '\u{200B}', 7),
            ("<SPAN class=\"x y\" style='color:red'>", '\u{200B}', 36),
            ("<b>", '\u{200B}', 3),
            ("<!-- -->", '\u{200B}', 8),
            ("<!---->", '\u{200B}', 7),
            ("<!-- note -->", '\u{200B}', 13),
            ("<br>", ' ', 4),
            ("<p class=x>", ' ', 11),
            ("</div>", ' ', 6),
            ("<h1>", ' ', 4),
            ("<td>", ' ', 4),
            ("<foo>", ' ', 5),
            ("<x-a>", ' ', 5),
            ("</x >", ' ', 5),
            // Bogus comments, `</>` and CDATA's brackets show nothing.
            ("</>", '\u{200B}', 3),
            ("<!-->", '\u{200B}', 5),
            ("<!--->", '\u{200B}', 6),
            ("<!x>", '\u{200B}', 4),
            ("<?x?>", '\u{200B}', 5),
            ("<![CDATA[", '\u{200B}', 9),
            ("]]>", '\u{200B}', 3),
        ] {
            assert_eq!(whole(s), Spelled::Char { len, ch }, "{s:?}");
        }
    }

    /// Markup that could carry personal data itself is text.
    #[test]
    fn markup_that_could_hide_data_is_text() {
        for s in [
            "<a href=\"mailto:ana@example.com\">",
            "<span title=\"4111\">",
            "<span data-x=\"&#64;\">",
            "<span title=\"é\">",
            "<!-- ana@example.com -->",
            "<!-- 4111 1111 -->",
            "< b>",
            "<>",
            "<1>",
            "a < b",
            "<span",
            "<!--",
        ] {
            assert_eq!(whole(s), Spelled::Plain, "{s:?}");
        }
        let long = format!("<span class=\"{}\">", "x".repeat(MAX_MARKUP));
        assert_eq!(whole(&long), Spelled::Plain);
    }

    #[test]
    fn markup_cut_short_waits_for_the_rest() {
        for s in ["<wbr>", "</span>", "<!-- -->", "<span class=\"x\">", "<![CDATA[", "]]>", "<?x?>"] {
            let b = s.as_bytes();
            for cut in 1..b.len() {
                assert_eq!(markup(&b[..cut], 0, false), Spelled::NeedMore, "{s:?} cut at {cut}");
            }
        }
    }
}
