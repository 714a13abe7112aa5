//! RFC 2047 encoded-words in header values (`=?UTF-8?B?YW5h…?=`,
//! `=?utf-8?q?ana=40example.com?=`), which mail-style headers and
//! browsers (a `Content-Disposition` filename) decode for display. Each
//! word is decoded to its bytes and, in a charset the WHATWG Encoding
//! Standard names (UTF-16, ISO-2022-JP, Shift_JIS, …), from those bytes
//! to UTF-8; in any other (UTF-32, unknown) its bytes stay, where ASCII
//! shows between NULs. A word that does not decode stays as it is.
//! White space between two adjacent words is not part of the text
//! (RFC 2047 §6.2): `=?utf-8?q?ana?= =?utf-8?q?=40x.com?=` reads
//! `ana@x.com`.

use base64::Engine as _;

/// A value with its encoded-words decoded.
pub struct Words {
    pub bytes: Vec<u8>,
    /// For each byte of `bytes`, the span of the value it came from (a
    /// whole word, for a word's bytes).
    pub spans: Vec<(usize, usize)>,
}

/// `input` with its encoded-words decoded; `None` when there is no word.
pub fn decode_words(input: &[u8]) -> Option<Words> {
    let mut bytes = Vec::new();
    let mut spans = Vec::new();
    let mut found = false;
    // Where the last word ended, in the input and in the output.
    let mut after_word: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < input.len() {
        if let Some((end, decoded)) = word_at(input, i) {
            found = true;
            if let Some((input_end, output_len)) = after_word
                && input[input_end..i].iter().all(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            {
                bytes.truncate(output_len);
                spans.truncate(output_len);
            }
            spans.extend(std::iter::repeat_n((i, end), decoded.len()));
            bytes.extend_from_slice(&decoded);
            after_word = Some((end, bytes.len()));
            i = end;
        } else {
            bytes.push(input[i]);
            spans.push((i, i + 1));
            i += 1;
        }
    }
    found.then_some(Words { bytes, spans })
}

/// The encoded-word at `input[at]`: where it ends and what it decodes to.
fn word_at(input: &[u8], at: usize) -> Option<(usize, Vec<u8>)> {
    let rest = input.get(at..)?.strip_prefix(b"=?")?;
    let token = |b: &u8| !matches!(b, b'?' | b' ' | b'\t') && b.is_ascii_graphic();
    let charset_len = rest.iter().take_while(|b| token(b)).count();
    let rest = &rest[charset_len..];
    if charset_len == 0 || rest.first() != Some(&b'?') {
        return None;
    }
    let coding = *rest.get(1)?;
    if rest.get(2) != Some(&b'?') {
        return None;
    }
    let text = &rest[3..];
    let text_len = text.iter().take_while(|b| token(b)).count();
    if text.get(text_len..text_len + 2) != Some(b"?=") {
        return None;
    }
    let text = &text[..text_len];
    let decoded = match coding {
        b'B' | b'b' => {
            let trimmed: Vec<u8> = text.iter().copied().filter(|&b| b != b'=').collect();
            base64::engine::general_purpose::STANDARD_NO_PAD.decode(trimmed).ok()?
        }
        b'Q' | b'q' => q_decode(text),
        _ => return None,
    };
    let end = at + 2 + charset_len + 3 + text_len + 2;
    // `charset*language` (RFC 2231 §5) names the charset before the `*`.
    let label = rest_label(&input[at + 2..at + 2 + charset_len]);
    let decoded = match encoding_for(label) {
        Some(encoding) if encoding != encoding_rs::UTF_8 => encoding.decode(&decoded).0.into_owned().into_bytes(),
        _ => decoded,
    };
    Some((end, decoded))
}

/// The encoding a word's charset names: a WHATWG label, or the spelling
/// of one that Python's codecs and mail software write (`iso2022_jp`,
/// `shift-jis`).
fn encoding_for(label: &[u8]) -> Option<&'static encoding_rs::Encoding> {
    encoding_rs::Encoding::for_label(label).or_else(|| {
        let mut spelled = label.to_ascii_lowercase();
        spelled.iter_mut().for_each(|b| *b = if *b == b'_' { b'-' } else { *b });
        if let Some(rest) = spelled.strip_prefix(b"iso2022") {
            spelled = [&b"iso-2022"[..], rest].concat();
        }
        let alias = match spelled.as_slice() {
            b"shift-jis" | b"sjis" => Some(encoding_rs::SHIFT_JIS),
            b"eucjp" => Some(encoding_rs::EUC_JP),
            _ => None,
        };
        encoding_rs::Encoding::for_label(&spelled).or(alias)
    })
}

/// The charset of a word's `charset*language`.
fn rest_label(charset: &[u8]) -> &[u8] {
    charset.split(|&b| b == b'*').next().unwrap_or(charset)
}

/// The `Q` coding: `_` is a space, `=XX` a byte.
fn q_decode(text: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'_' => out.push(b' '),
            b'=' if i + 2 < text.len() => match (hex(text[i + 1]), hex(text[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'='),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(s: &str) -> Option<String> {
        decode_words(s.as_bytes()).map(|w| String::from_utf8_lossy(&w.bytes).into_owned())
    }

    #[test]
    fn b_and_q_words_decode_in_place() {
        assert_eq!(
            decoded("attachment; filename=\"=?UTF-8?B?YW5hLmxvcGV6QGV4YW1wbGUuY29tLnBkZg==?=\"").as_deref(),
            Some("attachment; filename=\"ana.lopez@example.com.pdf\"")
        );
        assert_eq!(decoded("=?utf-8?q?ana=2Elopez=40example.com?=").as_deref(), Some("ana.lopez@example.com"));
        assert_eq!(decoded("=?iso-8859-1?Q?Ana_L=F3pez?= <x>").as_deref(), Some("Ana López <x>"));
        assert_eq!(
            decoded("=?utf-8?b?YW5h?= and =?utf-8?B?QGV4YW1wbGUuY29t?=").as_deref(),
            Some("ana and @example.com")
        );
        // Adjacent words are one text; the white space between them goes.
        assert_eq!(
            decoded("=?utf-8?q?ana.lopez?= =?utf-8?q?=40example.com?=").as_deref(),
            Some("ana.lopez@example.com")
        );
        assert_eq!(
            decoded("=?utf-8?B?YW5hLmxvcGV6QA==?=\r\n =?utf-8?B?ZXhhbXBsZS5jb20=?=").as_deref(),
            Some("ana.lopez@example.com")
        );
        // Words in charsets whose bytes are not ASCII's.
        assert_eq!(decoded("=?utf-16le?B?YQBuAGEAQAB4AC4AYwBvAG0A?=").as_deref(), Some("ana@x.com"));
        assert_eq!(decoded("=?utf-16?B?//5hAG4AYQBAAHgALgBjAG8AbQA=?=").as_deref(), Some("ana@x.com"));
        assert_eq!(
            decoded("=?iso-2022-jp?B?GyRCI2EjbiNhISUjbCNvI3AjZSN6IXcjZSN4I2EjbSNwI2wjZSElI2MjbyNtGyhC?=").as_deref(),
            Some("ａｎａ．ｌｏｐｅｚ＠ｅｘａｍｐｌｅ．ｃｏｍ")
        );
        assert_eq!(decoded("=?utf-8*en?q?ana=40x.com?=").as_deref(), Some("ana@x.com"));
        assert_eq!(
            decoded("=?iso2022_jp?B?GyRCI2EjbiNhISUjbCNvI3AjZSN6IXcjZSN4I2EjbSNwI2wjZSElI2MjbyNtGyhC?=").as_deref(),
            Some("ａｎａ．ｌｏｐｅｚ＠ｅｘａｍｐｌｅ．ｃｏｍ")
        );
        assert_eq!(decoded("=?utf-8?q?a=4?=").as_deref(), Some("a=4"));
    }

    #[test]
    fn spans_cover_the_whole_word() {
        let raw = b"x =?utf-8?q?ab?= y";
        let Words { bytes, spans } = decode_words(raw).expect("a word");
        assert_eq!(bytes, b"x ab y");
        assert_eq!(spans[2], (2, 16));
        assert_eq!(spans[3], (2, 16));
        assert_eq!(spans[5], (17, 18));
    }

    #[test]
    fn what_is_not_a_word_is_none() {
        for s in ["plain", "=?utf-8?x?abc?=", "=?utf-8?b?abc", "=??b?YQ==?=", "=?utf-8?b?a b?=", "=?utf-8?b?!!!?="] {
            assert_eq!(decoded(s), None, "{s:?}");
        }
    }
}
