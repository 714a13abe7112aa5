//! The charset a document names inside itself, read from its first bytes
//! as its readers read it:
//!
//! - XML (XML 1.0 Appendix F): the first four bytes tell UTF-32, UTF-16
//!   (with or without a byte order mark), EBCDIC or an ASCII-compatible
//!   charset; the `encoding` of the XML declaration names which one;
//! - HTML (WHATWG HTML "prescan a byte stream to determine its
//!   encoding"): the first `<meta charset>` or `<meta http-equiv=
//!   "Content-Type" content="…; charset=…">` in the first 1024 bytes,
//!   comments and other tags' attributes skipped; a UTF-16 label there
//!   means UTF-8, `x-user-defined` windows-1252, and a label the
//!   Encoding Standard does not know is passed over.
//!
//! Only a bounded prefix is looked at ([`PRESCAN_BYTES`]); the answer
//! depends on those bytes alone, so it is the same however a body is cut.

use super::charset::Charset;

/// The bytes a document's charset is looked for in (WHATWG's prescan
/// window; an XML declaration ends well before).
pub const PRESCAN_BYTES: usize = 1024;

/// Which reader a document is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Markup {
    Xml,
    Html,
}

/// A body whose own first bytes may name its charset: XML always (a
/// declaration that contradicts the header is refused, since XML parsers
/// handed the bytes alone follow the declaration), HTML when the header
/// names none (the header wins for browsers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DocumentCharset {
    pub markup: Markup,
    /// The `Content-Type` names a charset.
    pub header: bool,
}

impl DocumentCharset {
    /// For a body of `content_type`, whose header names a charset or not.
    pub fn of(content_type: Option<&str>, header: bool) -> Option<DocumentCharset> {
        match Markup::of_media_type(content_type?)? {
            Markup::Html if header => None,
            markup => Some(DocumentCharset { markup, header }),
        }
    }
}

/// What a document's first bytes say of its charset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InDocument {
    /// More bytes are needed to tell.
    Wait,
    /// The document names none.
    Unnamed,
    Named(Charset),
    /// It names one piimask cannot decode (an EBCDIC code page, a label
    /// nobody knows): its readers would see what piimask cannot.
    Unknown,
}

impl Markup {
    /// The markup a media type is read as, if any.
    pub fn of_media_type(content_type: &str) -> Option<Markup> {
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match essence.split_once('/') {
            Some(("text" | "application", "xml" | "xml-external-parsed-entity" | "xml-dtd")) => Some(Markup::Xml),
            Some((_, sub)) if sub.ends_with("+xml") => Some(Markup::Xml),
            Some(("text", "html")) => Some(Markup::Html),
            _ => None,
        }
    }

    /// What `head` (the body's first bytes; `ended` when that is all of
    /// it) says of the charset.
    pub fn prescan(self, head: &[u8], ended: bool) -> InDocument {
        let complete = ended || head.len() >= PRESCAN_BYTES;
        let head = &head[..head.len().min(PRESCAN_BYTES)];
        match self {
            Markup::Xml => xml(head, complete),
            Markup::Html => html(head, complete),
        }
    }
}

/// XML 1.0 Appendix F, then the declaration's `encoding`.
fn xml(head: &[u8], complete: bool) -> InDocument {
    if head.len() < 4 && !complete {
        return InDocument::Wait;
    }
    let (family, unit, start) = match head {
        [0xEF, 0xBB, 0xBF, ..] => (Charset::Utf8, 1, 3),
        [0, 0, 0xFE, 0xFF, ..] => (Charset::Utf32Be, 4, 4),
        [0xFF, 0xFE, 0, 0, ..] => (Charset::Utf32Le, 4, 4),
        [0xFE, 0xFF, ..] => (Charset::Utf16Be, 2, 2),
        [0xFF, 0xFE, ..] => (Charset::Utf16Le, 2, 2),
        [0, 0, 0, b'<', ..] => (Charset::Utf32Be, 4, 0),
        [b'<', 0, 0, 0, ..] => (Charset::Utf32Le, 4, 0),
        [0, b'<', 0, b'?', ..] => (Charset::Utf16Be, 2, 0),
        [b'<', 0, b'?', 0, ..] => (Charset::Utf16Le, 2, 0),
        // `<?xm` in EBCDIC: no code page piimask can transcode.
        [0x4C, 0x6F, 0xA7, 0x94, ..] => return InDocument::Unknown,
        [b'<', b'?', b'x', b'm', ..] => (Charset::Utf8, 1, 0),
        _ => return InDocument::Unnamed,
    };
    // The declaration's characters are ASCII: one byte of each unit.
    let low = match family {
        Charset::Utf16Be => 1,
        Charset::Utf32Be => 3,
        _ => 0,
    };
    let ascii: Vec<u8> = head[start..].chunks_exact(unit).map(|c| c[low]).collect();
    let unicode = unit > 1;
    let bom = start > 0;
    match declared_encoding(&ascii, complete) {
        Declaration::Wait => InDocument::Wait,
        // Without a label, the bytes (or their mark) decide; UTF-8 else.
        Declaration::None if unicode || bom => InDocument::Named(family),
        Declaration::None => InDocument::Unnamed,
        Declaration::Label(label) => match Charset::from_label(&label) {
            // UTF-16 or UTF-32 by the bytes: the label names the family,
            // the bytes its order.
            Some(_) if unicode || bom => InDocument::Named(family),
            // A 16- or 32-bit label on bytes that are neither: the
            // declaration could not have been read; parsers fail.
            Some(
                Charset::Utf16
                | Charset::Utf16Le
                | Charset::Utf16Be
                | Charset::Utf32
                | Charset::Utf32Le
                | Charset::Utf32Be,
            ) => InDocument::Unnamed,
            Some(named) => InDocument::Named(named),
            None => InDocument::Unknown,
        },
    }
}

enum Declaration {
    Wait,
    None,
    Label(String),
}

/// The `encoding` of an XML declaration at the start of `ascii`.
fn declared_encoding(ascii: &[u8], complete: bool) -> Declaration {
    const OPEN: &[u8] = b"<?xml";
    if ascii.len() < OPEN.len() + 1 {
        return if complete || !OPEN.starts_with(&ascii[..ascii.len().min(OPEN.len())]) {
            Declaration::None
        } else {
            Declaration::Wait
        };
    }
    if !ascii.starts_with(OPEN) || !is_space(ascii[OPEN.len()]) {
        return Declaration::None;
    }
    let Some(end) = ascii.windows(2).position(|w| w == b"?>") else {
        return if complete { Declaration::None } else { Declaration::Wait };
    };
    let decl = &ascii[OPEN.len()..end];
    let mut i = 0;
    while let Some((name, value, next)) = attribute(decl, i) {
        if name.eq_ignore_ascii_case(b"encoding") {
            return Declaration::Label(String::from_utf8_lossy(value).into_owned());
        }
        i = next;
    }
    Declaration::None
}

/// One `name = "value"` pseudo-attribute from `s[i..]`: name, value,
/// where the next starts.
fn attribute(s: &[u8], mut i: usize) -> Option<(&[u8], &[u8], usize)> {
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let name_start = i;
    while i < s.len() && !is_space(s[i]) && s[i] != b'=' {
        i += 1;
    }
    let name = &s[name_start..i];
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    if name.is_empty() || s.get(i) != Some(&b'=') {
        return None;
    }
    i += 1;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let quote = *s.get(i).filter(|q| matches!(q, b'"' | b'\''))?;
    let value_start = i + 1;
    let value_end = value_start + s[value_start..].iter().position(|&b| b == quote)?;
    Some((name, &s[value_start..value_end], value_end + 1))
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0C')
}

/// WHATWG's prescan over `head`; `complete` when no more bytes will be
/// looked at (a construct cut at the end is then no answer).
fn html(head: &[u8], complete: bool) -> InDocument {
    let wait = if complete { InDocument::Unnamed } else { InDocument::Wait };
    let mut i = 0;
    while i < head.len() {
        let rest = &head[i..];
        if rest.starts_with(b"<!--") {
            // The comment ends at the first `>` after two `-` that follows
            // the `<`: `<!-->` and `<!--->` are whole comments.
            match find(head, i + 2, b"-->") {
                Some(end) => i = end + 3,
                None => return wait,
            }
        } else if starts_with_ignore_case(rest, b"<meta") && rest.get(5).is_some_and(|&b| is_space(b) || b == b'/') {
            let Some((found, next)) = meta(head, i + 6) else { return wait };
            if let Some(charset) = found {
                return InDocument::Named(charset);
            }
            i = next;
        } else if rest.len() >= 2 && rest[0] == b'<' && (rest[1].is_ascii_alphabetic() || rest[1] == b'/') {
            // A tag: its name, then its attributes, skipped (a value may
            // hold `<meta`).
            let mut j = i + 1;
            if head[j] == b'/' {
                j += 1;
                if j < head.len() && !head[j].is_ascii_alphabetic() {
                    // `</` and no letter: a bogus comment, to `>`.
                    match find(head, j, b">") {
                        Some(end) => {
                            i = end + 1;
                            continue;
                        }
                        None => return wait,
                    }
                }
            }
            while j < head.len() && !is_space(head[j]) && head[j] != b'>' {
                j += 1;
            }
            loop {
                match html_attribute(head, j) {
                    Attr::Cut => return wait,
                    Attr::End(next) => {
                        i = next;
                        break;
                    }
                    Attr::Found { next, .. } => j = next,
                }
            }
        } else if rest.starts_with(b"<!") || rest.starts_with(b"</") || rest.starts_with(b"<?") {
            match find(head, i + 2, b">") {
                Some(end) => i = end + 1,
                None => return wait,
            }
        } else {
            i += 1;
        }
    }
    wait
}

/// Reads a `<meta` element's attributes from `i`: `None` when cut off;
/// else the charset it names (if it names one WHATWG would take) and where
/// the prescan goes on.
fn meta(head: &[u8], mut i: usize) -> Option<(Option<Charset>, usize)> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let (mut got_pragma, mut need_pragma, mut charset) = (false, None, None::<Option<Charset>>);
    loop {
        match html_attribute(head, i) {
            Attr::Cut => return None,
            Attr::End(next) => {
                i = next;
                break;
            }
            Attr::Found { name, value, next } => {
                i = next;
                if seen.contains(&name) {
                    continue;
                }
                match name.as_slice() {
                    b"http-equiv" if value.eq_ignore_ascii_case(b"content-type") => got_pragma = true,
                    b"content" if charset.is_none() => {
                        if let Some(label) = charset_in_content(&value) {
                            charset = Some(html_label(&label));
                            need_pragma = Some(true);
                        }
                    }
                    b"charset" => {
                        charset = Some(html_label(&value));
                        need_pragma = Some(false);
                    }
                    _ => {}
                }
                seen.push(name);
            }
        }
    }
    let named = match (need_pragma, charset) {
        (None, _) | (_, None) => None,
        (Some(true), _) if !got_pragma => None,
        (_, Some(charset)) => charset,
    };
    Some((named, i))
}

/// A `<meta>` label as HTML takes it: `None` for one the Encoding Standard
/// does not know (the prescan goes on).
fn html_label(label: &[u8]) -> Option<Charset> {
    let charset = Charset::from_label(std::str::from_utf8(label).ok()?)?;
    Some(match charset {
        Charset::Utf16 | Charset::Utf16Le | Charset::Utf16Be => Charset::Utf8,
        Charset::Legacy(e) if e == encoding_rs::X_USER_DEFINED => Charset::Legacy(encoding_rs::WINDOWS_1252),
        // Not a label WHATWG knows: HTML readers pass it over.
        Charset::Utf32 | Charset::Utf32Le | Charset::Utf32Be => return None,
        other => other,
    })
}

/// WHATWG's "extracting a character encoding from a meta element".
fn charset_in_content(content: &[u8]) -> Option<Vec<u8>> {
    let mut i = 0;
    loop {
        let at = i + find_ignore_case(&content[i..], b"charset")?;
        let mut j = at + 7;
        while j < content.len() && is_space(content[j]) {
            j += 1;
        }
        if content.get(j) != Some(&b'=') {
            i = j;
            continue;
        }
        j += 1;
        while j < content.len() && is_space(content[j]) {
            j += 1;
        }
        return match content.get(j) {
            Some(&q @ (b'"' | b'\'')) => {
                let end = content[j + 1..].iter().position(|&b| b == q)?;
                Some(content[j + 1..j + 1 + end].to_vec())
            }
            Some(_) => {
                let end = content[j..].iter().position(|&b| is_space(b) || b == b';').unwrap_or(content.len() - j);
                Some(content[j..j + end].to_vec()).filter(|v| !v.is_empty())
            }
            None => None,
        };
    }
}

enum Attr {
    /// The bytes end inside it.
    Cut,
    /// No more attributes: the tag ends, the prescan goes on here.
    End(usize),
    Found {
        name: Vec<u8>,
        value: Vec<u8>,
        next: usize,
    },
}

/// WHATWG's "get an attribute", from `i`.
fn html_attribute(head: &[u8], mut i: usize) -> Attr {
    while i < head.len() && (is_space(head[i]) || head[i] == b'/') {
        i += 1;
    }
    match head.get(i) {
        None => return Attr::Cut,
        Some(b'>') => return Attr::End(i + 1),
        Some(_) => {}
    }
    let mut name = Vec::new();
    loop {
        match head.get(i) {
            None => return Attr::Cut,
            Some(b'=') if !name.is_empty() => break,
            Some(&b) if is_space(b) => {
                while i < head.len() && is_space(head[i]) {
                    i += 1;
                }
                match head.get(i) {
                    None => return Attr::Cut,
                    Some(b'=') => break,
                    Some(_) => return Attr::Found { name, value: Vec::new(), next: i },
                }
            }
            Some(b'/' | b'>') => return Attr::Found { name, value: Vec::new(), next: i },
            Some(&b) => name.push(b.to_ascii_lowercase()),
        }
        i += 1;
    }
    // At `=`.
    i += 1;
    while i < head.len() && is_space(head[i]) {
        i += 1;
    }
    let mut value = Vec::new();
    match head.get(i) {
        None => Attr::Cut,
        Some(&q @ (b'"' | b'\'')) => match head[i + 1..].iter().position(|&b| b == q) {
            None => Attr::Cut,
            Some(end) => {
                value.extend(head[i + 1..i + 1 + end].iter().map(u8::to_ascii_lowercase));
                Attr::Found { name, value, next: i + end + 2 }
            }
        },
        Some(b'>') => Attr::Found { name, value, next: i },
        Some(_) => {
            while i < head.len() && !is_space(head[i]) && head[i] != b'>' {
                value.push(head[i].to_ascii_lowercase());
                i += 1;
            }
            if i == head.len() { Attr::Cut } else { Attr::Found { name, value, next: i } }
        }
    }
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| from + p)
}

fn find_ignore_case(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

fn starts_with_ignore_case(s: &[u8], prefix: &[u8]) -> bool {
    s.len() >= prefix.len() && s[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn utf16be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn xml_is_detected_by_its_first_bytes_and_declaration() {
        let decl = r#"<?xml version="1.0" encoding="UTF-16"?><a/>"#;
        assert_eq!(Markup::Xml.prescan(&utf16le(decl), true), InDocument::Named(Charset::Utf16Le));
        assert_eq!(Markup::Xml.prescan(&utf16be(decl), true), InDocument::Named(Charset::Utf16Be));
        let plain = r#"<?xml version="1.0"?><a/>"#;
        assert_eq!(Markup::Xml.prescan(&utf16le(plain), true), InDocument::Named(Charset::Utf16Le));
        assert_eq!(Markup::Xml.prescan(plain.as_bytes(), true), InDocument::Unnamed);
        let sjis = b"<?xml version='1.0' encoding = 'Shift_JIS' ?><a/>";
        assert_eq!(Markup::Xml.prescan(sjis, true), InDocument::Named(Charset::Legacy(encoding_rs::SHIFT_JIS)));
        let ebcdic = [0x4C, 0x6F, 0xA7, 0x94, 0x93, 0x40];
        assert_eq!(Markup::Xml.prescan(&ebcdic, true), InDocument::Unknown);
        assert_eq!(Markup::Xml.prescan(b"<?xml version=\"1.0\" encoding=\"IBM037\"?>", true), InDocument::Unknown);
        assert_eq!(Markup::Xml.prescan(b"<a>no declaration</a>", true), InDocument::Unnamed);
        // Cut before the declaration ends: wait, unless that is all.
        assert_eq!(Markup::Xml.prescan(&sjis[..20], false), InDocument::Wait);
        assert_eq!(Markup::Xml.prescan(&sjis[..20], true), InDocument::Unnamed);
        assert_eq!(Markup::Xml.prescan(b"<?", false), InDocument::Wait);
        // Every cut of the declaration gives the same answer or a wait.
        for cut in 0..sjis.len() {
            let early = Markup::Xml.prescan(&sjis[..cut], false);
            assert!(matches!(early, InDocument::Wait) || early == Markup::Xml.prescan(sjis, true), "{cut}");
        }
    }

    #[test]
    fn html_prescan_finds_the_meta_a_browser_takes() {
        let named = |s: &str| Markup::Html.prescan(s.as_bytes(), true);
        let sjis = InDocument::Named(Charset::Legacy(encoding_rs::SHIFT_JIS));
        assert_eq!(named(r#"<meta charset="shift_jis"><p>x</p>"#), sjis);
        assert_eq!(named("<!doctype html><html><head><META CHARSET=Shift_JIS>"), sjis);
        assert_eq!(named(r#"<meta http-equiv="Content-Type" content="text/html; charset=shift_jis">"#), sjis);
        assert_eq!(named(r#"<meta content='text/html;charset="shift_jis"' http-equiv=content-type>"#), sjis);
        // A content charset without the pragma is not taken.
        assert_eq!(named(r#"<meta content="text/html; charset=shift_jis">"#), InDocument::Unnamed);
        // Comments and other tags' attributes are skipped.
        assert_eq!(
            named(r#"<!-- <meta charset="koi8-r"> --><a title="<meta charset=koi8-r>"><meta charset=sjis>"#),
            sjis
        );
        // `<!-->` and `<!--->` end where they stand, as browsers read them.
        assert_eq!(named(r#"<!--><meta charset=sjis>"#), sjis);
        assert_eq!(named(r#"<!---><meta charset=sjis>-->"#), sjis);
        // An unknown label is passed over; UTF-16 means UTF-8.
        assert_eq!(named(r#"<meta charset="ibm037"><meta charset="sjis">"#), sjis);
        assert_eq!(named(r#"<meta charset="utf-16le">"#), InDocument::Named(Charset::Utf8));
        // Only the first 1024 bytes count.
        let late = format!("{}<meta charset=sjis>", " ".repeat(1020));
        assert_eq!(named(&late), InDocument::Unnamed);
        let cut = r#"<p>x</p><meta charset="shift_jis">"#;
        for at in 0..cut.len() {
            let early = Markup::Html.prescan(&cut.as_bytes()[..at], false);
            assert!(early == InDocument::Wait || early == sjis, "{at}: {early:?}");
        }
    }

    #[test]
    fn markup_is_read_from_the_media_type() {
        assert_eq!(Markup::of_media_type("application/xml"), Some(Markup::Xml));
        assert_eq!(Markup::of_media_type("Image/SVG+XML; x=1"), Some(Markup::Xml));
        assert_eq!(Markup::of_media_type("text/xml"), Some(Markup::Xml));
        assert_eq!(Markup::of_media_type("text/html; charset=utf-8"), Some(Markup::Html));
        assert_eq!(Markup::of_media_type("text/plain"), None);
    }
}
