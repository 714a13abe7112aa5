//! The named HTML character references a reader may meet inside an email
//! address, a phone number or a card number: the characters those are
//! written with, the spaces, hyphens and invisible characters between
//! them, and letters in mathematical styles. Names are case-sensitive, as in HTML; other names are left as
//! they are written.

/// The character `name` (without `&` and `;`) stands for.
pub fn lookup(name: &[u8]) -> Option<char> {
    let ch = match name {
        b"amp" | b"AMP" => '&',
        b"commat" => '@',
        b"period" => '.',
        b"plus" => '+',
        b"lpar" => '(',
        b"rpar" => ')',
        b"hyphen" | b"dash" => '\u{2010}',
        b"minus" => '\u{2212}',
        b"ndash" => '\u{2013}',
        b"nbsp" | b"NonBreakingSpace" => '\u{A0}',
        b"ensp" => '\u{2002}',
        b"emsp" => '\u{2003}',
        b"emsp13" => '\u{2004}',
        b"emsp14" => '\u{2005}',
        b"numsp" => '\u{2007}',
        b"puncsp" => '\u{2008}',
        b"thinsp" | b"ThinSpace" => '\u{2009}',
        b"hairsp" | b"VeryThinSpace" => '\u{200A}',
        b"MediumSpace" => '\u{205F}',
        b"shy" => '\u{AD}',
        b"ZeroWidthSpace" => '\u{200B}',
        b"zwnj" => '\u{200C}',
        b"zwj" => '\u{200D}',
        b"NoBreak" => '\u{2060}',
        b"lowbar" | b"UnderBar" => '_',
        b"sol" => '/',
        b"colon" => ':',
        b"num" => '#',
        b"comma" => ',',
        b"equals" => '=',
        b"quest" => '?',
        b"percnt" => '%',
        b"excl" => '!',
        b"Hat" => '^',
        b"grave" | b"DiacriticalGrave" => '`',
        b"lbrace" | b"lcub" => '{',
        b"rbrace" | b"rcub" => '}',
        b"verbar" | b"vert" | b"VerticalLine" => '|',
        b"apos" => '\'',
        b"ast" | b"midast" => '*',
        b"dollar" => '$',
        b"lsqb" | b"lbrack" => '[',
        b"rsqb" | b"rbrack" => ']',
        // A letter in a mathematical style (`&eopf;` 𝕖, `&Ascr;` 𝒜,
        // `&xfr;` 𝔵): a reader sees the letter.
        [letter, style @ ..] if letter.is_ascii_alphabetic() && matches!(style, b"opf" | b"scr" | b"fr") => {
            *letter as char
        }
        _ => return None,
    };
    Some(ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_sensitive() {
        assert_eq!(lookup(b"commat"), Some('@'));
        assert_eq!(lookup(b"Commat"), None);
        assert_eq!(lookup(b"copy"), None);
        assert_eq!(lookup(b"eopf"), Some('e'));
        assert_eq!(lookup(b"Ascr"), Some('A'));
        assert_eq!(lookup(b"xfr"), Some('x'));
        assert_eq!(lookup(b"Eopfx"), None);
    }
}
