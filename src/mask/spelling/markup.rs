//! HTML markup a reader does not see between the characters of a value:
//! inline tags (`<wbr>`, `<span>`, `</b>`) read as nothing, other tags
//! (`<br>`, `<p>`, `</div>`) as a space, and empty comments (`<!-- -->`)
//! as nothing. Only markup that can hide no personal data itself is read
//! so: a tag whose attributes hold no digit, `@`, `&`, `%`, `\` or
//! non-ASCII byte, a comment of such bytes. Anything else is text, and is
//! scanned as such.

use super::Spelled;

/// The longest tag or comment read as one.
pub const MAX_MARKUP: usize = 64;

/// Elements that do not break a line of text.
const INLINE: &[&[u8]] = &[
    b"a", b"abbr", b"b", b"bdi", b"bdo", b"big", b"cite", b"code", b"data", b"del", b"dfn", b"em", b"font", b"i",
    b"ins", b"kbd", b"mark", b"nobr", b"q", b"s", b"samp", b"small", b"span", b"strike", b"strong", b"sub", b"sup",
    b"time", b"tt", b"u", b"var", b"wbr",
];

/// Whether `c` may stand in a tag's attributes or a comment read as
/// markup: it cannot be part of personal data a detector finds.
fn inert(c: u8) -> bool {
    (c.is_ascii_graphic() || matches!(c, b' ' | b'\t' | b'\n' | b'\r'))
        && !c.is_ascii_digit()
        && !matches!(c, b'@' | b'&' | b'%' | b'\\' | b'<')
}

/// The markup at `b[at]`, a `<`.
pub fn markup(b: &[u8], at: usize, complete: bool) -> Spelled {
    let more = if complete { Spelled::Plain } else { Spelled::NeedMore };
    let end = b.len().min(at + MAX_MARKUP);
    let rest = &b[at..end];
    if rest.len() < 4 && b"<!--".starts_with(rest) && rest.len() > 1 {
        return if end == b.len() { more } else { Spelled::Plain };
    }
    if rest.starts_with(b"<!--") {
        let mut i = 4;
        while i < rest.len() {
            if rest[i..].starts_with(b"-->") {
                return Spelled::Char { len: i + 3, ch: '\u{200B}' };
            }
            if !inert(rest[i]) && rest[i] != b'-' {
                return Spelled::Plain;
            }
            i += 1;
        }
        return if end == b.len() && rest.len() < MAX_MARKUP { more } else { Spelled::Plain };
    }
    let mut i = 1 + usize::from(rest.get(1) == Some(&b'/'));
    let name_start = i;
    while i < rest.len() && rest[i].is_ascii_alphanumeric() && (i > name_start || rest[i].is_ascii_alphabetic()) {
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
                let ch = if inline { '\u{200B}' } else { ' ' };
                return Spelled::Char { len: i + 1, ch };
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
        for s in ["<wbr>", "</span>", "<!-- -->", "<span class=\"x\">"] {
            let b = s.as_bytes();
            for cut in 1..b.len() {
                assert_eq!(markup(&b[..cut], 0, false), Spelled::NeedMore, "{s:?} cut at {cut}");
            }
        }
    }
}
