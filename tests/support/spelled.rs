//! Bodies that write planted values in spellings a reader reads through
//! (digits of other scripts and forms, lookalikes of `@` and `.`, script
//! and style escapes, markup between characters, JSON numbers with a
//! fraction or an exponent), what piimask makes of each, and a reader of
//! them written apart from the engine's fold.

/// The planted values, as [`read`] recovers them.
pub const PLANTED: &[&str] = &["ana.lopez@example.com", "+447400123456", "4111111111111111"];

/// One body: its name (the app serves it at `/spelled/NAME`), its type,
/// the body, and the body masked.
pub struct Spelled {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
    pub masked: &'static str,
}

pub const BODIES: &[Spelled] = &[
    Spelled {
        name: "digits",
        content_type: "text/plain; charset=utf-8",
        body: concat!(
            "Arabic: call +٤٤ ٧٤٠٠ ١٢٣٤٥٦, card ٤١١١ ١١١١ ١١١١ ١١١١.\n",
            "Persian: ۴۱۱۱ ۱۱۱۱ ۱۱۱۱ ۱۱۱۱ and +۴۴ ۷۴۰۰ ۱۲۳۴۵۶.\n",
            "Devanagari: ४१११ ११११ ११११ ११११; Thai: ๔๑๑๑ ๑๑๑๑ ๑๑๑๑ ๑๑๑๑.\n",
            "Math: 𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏; circled: ④①①① ①①①① ①①①① ①①①①.\n",
            "Mail ana.lopez\u{FE6B}example.com or ana.lopez@example\u{3002}com or ana.lopez@example\u{FF61}com.\n",
            "Kept: ٢٠٢٤/١١/٠٣, ३ items, ① first, x², 東京。よろしく.\n",
        ),
        masked: concat!(
            "Arabic: call [PHONE], card [CARD].\n",
            "Persian: [CARD] and [PHONE].\n",
            "Devanagari: [CARD]; Thai: [CARD].\n",
            "Math: [CARD]; circled: [CARD].\n",
            "Mail [EMAIL] or [EMAIL] or [EMAIL].\n",
            "Kept: ٢٠٢٤/١١/٠٣, ३ items, ① first, x², 東京。よろしく.\n",
        ),
    },
    Spelled {
        name: "script",
        content_type: "application/javascript",
        body: concat!(
            "var a = 'ana.lopez\\u0040example.com';\n",
            "var b = \"ana.lopez\\x40example.com\";\n",
            "var c = `ana.lopez\\u{40}example\\u{2e}com`;\n",
            "var d = '\\u002B447400123456', ok = '\\u00e9\\n' + (1 < 2);\n",
        ),
        masked: concat!(
            "var a = '[EMAIL]';\n",
            "var b = \"[EMAIL]\";\n",
            "var c = `[EMAIL]`;\n",
            "var d = '[PHONE]', ok = '\\u00e9\\n' + (1 < 2);\n",
        ),
    },
    Spelled {
        name: "style",
        content_type: "text/css",
        body: concat!(
            "a::after { content: 'ana.lopez\\40 example.com'; }\n",
            "b::after { content: 'ana.lopez\\000040example.com'; color: #fff; }\n",
        ),
        masked: concat!("a::after { content: '[EMAIL]'; }\n", "b::after { content: '[EMAIL]'; color: #fff; }\n",),
    },
    Spelled {
        name: "html",
        content_type: "text/html; charset=utf-8",
        body: concat!(
            "<p>Mail ana.lopez<wbr>@example.com or ana.lopez<!-- -->@example.com.</p>\n",
            "<p>Card 4111 <span>1111</span> 1111 1111, <b>bold</b> text.</p>\n",
            "<script>var e = 'ana.lopez\\x40example.com';</script>\n",
            "<style>p::after { content: 'ana.lopez\\40 example.com'; }</style>\n",
            "<p>Tom &amp; Jerry <i>and</i> 100 % <br> a &lt; b</p>\n",
        ),
        masked: concat!(
            "<p>Mail [EMAIL] or [EMAIL].</p>\n",
            "<p>Card [CARD], <b>bold</b> text.</p>\n",
            "<script>var e = '[EMAIL]';</script>\n",
            "<style>p::after { content: '[EMAIL]'; }</style>\n",
            "<p>Tom &amp; Jerry <i>and</i> 100 % <br> a &lt; b</p>\n",
        ),
    },
    Spelled {
        name: "html-readers",
        content_type: "text/html; charset=utf-8",
        body: concat!(
            "<p>Mail ana.lopez<wbr>@example.com or ana.lopez@example.com<foo>4111</foo>.</p>\n",
            "<p>Or ana.lopez<?pi?>@example.com, ana.lopez<!x>@example.com, ana.lopez<!-->@example.com.</p>\n",
            "<p>Card 4\u{FE0F}1\u{FE0F}11 1\u{301}111 1111 1111, mail ana.lopez\u{0}@example.com.</p>\n",
            "<script>var e = 'ana.lopez\\@example.com', f = \"ana.lop\\ez@example.com\", g = 'ana.lopez\\\n@example.com';</script>\n",
            "<p>Kept: <td>2024</td><td>11</td>, a ]] b, <x-a>x</x-a>.</p>\n",
        ),
        masked: concat!(
            "<p>Mail [EMAIL] or [EMAIL]<foo>4111</foo>.</p>\n",
            "<p>Or [EMAIL], [EMAIL], [EMAIL].</p>\n",
            "<p>Card [CARD], mail [EMAIL].</p>\n",
            "<script>var e = '[EMAIL]', f = \"[EMAIL]\", g = '[EMAIL]';</script>\n",
            "<p>Kept: <td>2024</td><td>11</td>, a ]] b, <x-a>x</x-a>.</p>\n",
        ),
    },
    Spelled {
        name: "xml-readers",
        content_type: "application/xml",
        body: "<r><e>ana.lopez<![CDATA[@]]>example.com</e><id>4111</id><c>4111 <![CDATA[1111]]> 1111 1111</c></r>",
        masked: "<r><e>[EMAIL]</e><id>4111</id><c>[CARD]</c></r>",
    },
    Spelled {
        name: "numbers",
        content_type: "application/json",
        body: r#"{"a":4111111111111111.0,"b":4.111111111111111e15,"c":4111111111111111E0,"d":41111111111111110e-1,"price":96.18,"ts":1.7e9}"#,
        masked: r#"{"a":"[CARD]","b":"[CARD]","c":"[CARD]","d":"[CARD]","price":96.18,"ts":1.7e9}"#,
    },
];

/// `s` as a reader takes it: JavaScript and CSS escapes resolved, tags
/// and comments dropped, digits of the scripts [`BODIES`] uses read as
/// digits, lookalikes of `@` and `.` as those, and JSON numbers as the
/// integers they stand for.
pub fn read(s: &str) -> String {
    let s = unescaped(s);
    let s = without_markup(&s);
    let mut out = String::new();
    // What shows as nothing: NUL, variation selectors, combining marks.
    let invisible = |c: char| matches!(c, '\0' | '\u{FE00}'..='\u{FE0F}' | '\u{300}'..='\u{36F}');
    for c in s.chars().filter(|&c| !invisible(c)) {
        let digit = [('٠', 0), ('۰', 0), ('०', 0), ('๐', 0), ('𝟎', 0), ('①', 1)]
            .iter()
            .find(|(first, _)| (*first as u32..*first as u32 + 10).contains(&(c as u32)))
            .map(|(first, value)| c as u32 - *first as u32 + value);
        match (c, digit) {
            (_, Some(d)) => out.push(char::from_digit(d, 10).unwrap_or('?')),
            ('\u{FE6B}', _) => out.push('@'),
            ('\u{3002}' | '\u{FF61}', _) => out.push('.'),
            (c, None) => out.push(c),
        }
    }
    // JSON numbers, each as the integer it stands for.
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(&out) {
        for v in map.values() {
            if let Some(f) = v.as_f64() {
                out.push_str(&format!(" {f:.0}"));
            }
        }
    }
    out
}

/// The planted values [`read`] finds in `s`, separators skipped.
pub fn leaked(s: &str) -> Vec<&'static str> {
    let read = read(s);
    let squeezed: String = read.chars().filter(|c| !c.is_whitespace()).collect();
    PLANTED.iter().copied().filter(|p| read.contains(p) || squeezed.contains(p)).collect()
}

fn unescaped(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let hex = |h: &str| u32::from_str_radix(h, 16).ok().and_then(char::from_u32);
        let (c, used) = if let Some(braced) = after.strip_prefix("u{") {
            let end = braced.find('}').unwrap_or(0);
            (hex(&braced[..end]), 3 + end)
        } else if let Some(u) = after.strip_prefix('u') {
            (u.get(..4).and_then(hex), 5)
        } else if let Some(x) = after.strip_prefix('x') {
            (x.get(..2).and_then(hex), 3)
        } else if let Some(continued) = after.strip_prefix('\n') {
            // A line continuation: nothing.
            rest = continued;
            continue;
        } else if after.starts_with(|c: char| {
            c.is_ascii_punctuation() || (c.is_ascii_alphabetic() && !c.is_ascii_hexdigit() && !"nrtvux".contains(c))
        }) {
            // An identity escape: the character itself.
            (after.chars().next(), 1)
        } else {
            let n = after.chars().take_while(char::is_ascii_hexdigit).take(6).count();
            let space = usize::from(after[n..].starts_with(' '));
            (if n > 0 { hex(&after[..n]) } else { None }, n + space)
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &after[used..];
            }
            None => {
                out.push('\\');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

fn without_markup(s: &str) -> String {
    let s = s.replace("<![CDATA[", "").replace("]]>", "");
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let end = if after.starts_with("<!--") {
            after[2..].find("-->").map(|e| e + 5)
        } else {
            after.find('>').map(|e| e + 1)
        };
        match end {
            Some(end) if after[1..].starts_with(|c: char| c.is_ascii_alphabetic() || "/!?".contains(c)) => {
                rest = &after[end..];
            }
            _ => {
                out.push('<');
                rest = &after[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every body as sent leaks what it plants to this reader: the tests
    /// that use it can fail.
    #[test]
    fn the_reader_recovers_every_planted_value_from_the_bodies() {
        for b in BODIES {
            assert!(!leaked(b.body).is_empty(), "{}", b.name);
            assert_eq!(leaked(b.masked), Vec::<&str>::new(), "{}", b.name);
        }
    }
}
