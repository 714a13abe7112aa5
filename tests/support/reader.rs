//! What a reader recovers from masked text: HTML character references
//! resolved, percent-escapes decoded, and Unicode folded as NFKC folds
//! spaces and fullwidth forms (plus the hyphens and invisible characters
//! people read through). Written apart from the engine's decoder, so a
//! test that asserts on it checks the engine against another reading.

/// `s` as a reader takes it: references, then escapes, then folds.
pub fn as_read(s: &str) -> String {
    fold(&percent_decoded(&unescaped(s)))
}

/// `s` without the separators a reader skips inside a number
/// (whitespace, `-`, `(`, `)`): where a planted phone or card is looked
/// for.
pub fn squeezed(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')')).collect()
}

/// The planted values found in `text` as a reader reads it (emails as
/// written, numbers without their separators).
pub fn leaked<'a>(text: &str, planted: &[&'a str]) -> Vec<&'a str> {
    let read = as_read(text);
    let squeezed_read = squeezed(&read);
    planted.iter().copied().filter(|p| read.contains(p) || squeezed_read.contains(&squeezed(p))).collect()
}

fn unescaped(s: &str) -> String {
    let named: &[(&str, char)] = &[
        ("amp", '&'),
        ("lt", '<'),
        ("gt", '>'),
        ("quot", '"'),
        ("apos", '\''),
        ("nbsp", '\u{A0}'),
        ("commat", '@'),
        ("period", '.'),
        ("plus", '+'),
        ("lpar", '('),
        ("rpar", ')'),
        ("hyphen", '\u{2010}'),
        ("dash", '\u{2010}'),
        ("shy", '\u{AD}'),
        ("thinsp", '\u{2009}'),
        ("ZeroWidthSpace", '\u{200B}'),
    ];
    let mut out = String::new();
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let decoded = if let Some(num) = after.strip_prefix('#') {
            let (digits, radix) = match num.strip_prefix(['x', 'X']) {
                Some(hex) => (hex, 16),
                None => (num, 10),
            };
            let n = digits.chars().take_while(|c| c.is_digit(radix)).count();
            let used = after.len() - digits.len() + n;
            u32::from_str_radix(&digits[..n], radix)
                .ok()
                .and_then(char::from_u32)
                .map(|c| (c, used + usize::from(after[used..].starts_with(';'))))
        } else {
            named.iter().find(|(name, _)| after.starts_with(&format!("{name};"))).map(|&(name, c)| (c, name.len() + 1))
        };
        match decoded {
            Some((c, used)) => {
                out.push(c);
                rest = &after[used..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn percent_decoded(s: &str) -> String {
    String::from_utf8_lossy(&percent_decode(s.as_bytes(), false)).into_owned()
}

/// `value` with its `%XX` escapes decoded (a `%` without two hex digits
/// after it stays), and with `plus_is_space` each `+` read as a space, as
/// a form parser reads a value.
pub fn percent_decode(value: &[u8], plus_is_space: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len());
    let mut i = 0;
    while i < value.len() {
        let hex = |b: Option<&u8>| b.and_then(|&b| (b as char).to_digit(16));
        match (value[i], hex(value.get(i + 1)), hex(value.get(i + 2))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b'+', _, _) if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn fold(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\u{AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => None,
            '\u{A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => Some(' '),
            '\u{2010}'..='\u{2013}' | '\u{2212}' => Some('-'),
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
            c => Some(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_spelling() {
        assert_eq!(as_read("a&#64;b&#x2E;c&commat;d%40e＠f"), "a@b.c@d@e@f");
        assert_eq!(as_read("+33&nbsp;6\u{202F}12\u{200B}34"), "+33 6 1234");
        assert_eq!(as_read("Tom &amp; Jerry & co %zz"), "Tom & Jerry & co %zz");
    }
}
