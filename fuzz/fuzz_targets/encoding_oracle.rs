//! The encoding oracle: planted emails, phones and cards spelled as HTML
//! references, percent-escapes, fullwidth forms, digits of other scripts,
//! with NBSP or zero-width characters, inside text, HTML, JSON, form or
//! multipart bodies (base64 or quoted-printable parts), in UTF-8, UTF-16
//! or UTF-32 (each multipart part in its own), under a random stack
//! of content codings, fed through the proxy's body pipeline in random
//! chunks. A reader that undoes every one of those layers must find none of
//! the planted values.
#![no_main]

use std::io::{Read, Write};

use base64::Engine as _;
use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use piimask::mask::multipart::Boundary;
use piimask::mask::{ContentKind, Masker};
use piimask::proxy::{Coding, Codings, Pipeline};

static MASKER: LazyLock<Arc<Masker>> =
    LazyLock::new(|| Arc::new(Masker::new(&piimask::patterns::default_config()).expect("default profile")));

/// Values the default profile must always find, whatever spelling and
/// wrapping they come in (each surrounded by spaces).
const EMAILS: &[(&str, &str)] = &[("ana.lopez", "example.com"), ("j.doe", "mail.example.org")];
const PHONES: &[&str] = &["+44 20 7946 0958", "+33 6 12 34 56 78", "+1 415 555 2671"];
const CARDS: &[&str] = &["4111 1111 1111 1111", "5500 0055 5555 5559"];

#[derive(Debug, arbitrary::Arbitrary)]
enum Spelling {
    Plain,
    /// `@` as `&#64;`, `&#x40;`, `&commat;` by the low bits.
    HtmlAt(u8),
    PercentAt,
    Fullwidth,
    /// A zero-width character (of five) inside the value.
    ZeroWidth(u8, u8),
    /// Separators as NBSP, narrow NBSP, thin space or `&nbsp;`.
    Space(u8),
    /// Every digit in another script's decimal digits (of four).
    ScriptDigits(u8),
}

#[derive(Debug, arbitrary::Arbitrary)]
enum Piece {
    Noise(String),
    Email(u8, Spelling),
    Phone(u8, Spelling),
    Card(u8, Spelling),
}

#[derive(Debug, arbitrary::Arbitrary, Clone, Copy)]
enum Format {
    Text,
    Html,
    Json,
    Form,
    MultipartBase64,
    MultipartQuoted,
}

#[derive(Debug, arbitrary::Arbitrary, Clone, Copy, PartialEq, Eq)]
enum Charset {
    Utf8,
    Utf16Le,
    Utf16Be,
    Utf16Bom,
    Utf32Be,
}

#[derive(Debug, arbitrary::Arbitrary, Clone, Copy)]
enum Layer {
    Gzip,
    Deflate,
    Br,
    Zstd,
}

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    format: Format,
    charset: Charset,
    layers: Vec<Layer>,
    pieces: Vec<Piece>,
    cuts: Vec<u16>,
}

const ZERO_WIDTH: [char; 5] = ['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{ad}'];
const SPACES: [&str; 4] = ["\u{a0}", "\u{202f}", "\u{2009}", "&nbsp;"];
/// The zeros of Arabic-Indic, Extended Arabic-Indic, Devanagari and Thai
/// digits: each script's nine follow its zero.
const SCRIPT_ZEROS: [u32; 4] = [0x0660, 0x06f0, 0x0966, 0x0e50];

fn fullwidth(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_graphic() { char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c) } else { c })
        .collect()
}

fn spell(value: &str, at: Option<usize>, how: &Spelling) -> String {
    match how {
        Spelling::Plain => value.to_string(),
        Spelling::HtmlAt(n) => match at {
            Some(i) => format!("{}{}{}", &value[..i], ["&#64;", "&#x40;", "&commat;"][usize::from(*n) % 3], &value[i + 1..]),
            None => value.to_string(),
        },
        Spelling::PercentAt => match at {
            Some(i) => format!("{}%40{}", &value[..i], &value[i + 1..]),
            None => value.to_string(),
        },
        Spelling::Fullwidth => fullwidth(value),
        Spelling::ZeroWidth(which, at) => {
            // Inside the value, never at its edges, on a char boundary.
            let chars: Vec<char> = value.chars().collect();
            let cut = 1 + usize::from(*at) % (chars.len() - 1);
            let mut out: String = chars[..cut].iter().collect();
            out.push(ZERO_WIDTH[usize::from(*which) % ZERO_WIDTH.len()]);
            out.extend(&chars[cut..]);
            out
        }
        Spelling::Space(n) => value.replace(' ', SPACES[usize::from(*n) % SPACES.len()]),
        Spelling::ScriptDigits(n) => {
            let zero = SCRIPT_ZEROS[usize::from(*n) % SCRIPT_ZEROS.len()];
            value.chars().map(|c| c.to_digit(10).and_then(|d| char::from_u32(zero + d)).unwrap_or(c)).collect()
        }
    }
}

/// Noise between values: letters, spaces and a little punctuation, never
/// a digit (which would join a planted number and make it another one)
/// nor a character that spells something.
fn noise(s: &str) -> String {
    s.chars().filter(|c| c.is_alphabetic() || matches!(c, ' ' | ',' | '!' | '?')).take(24).collect()
}

/// The text of one value: its pieces, each between spaces. Markup
/// spellings (`&#64;`, `&nbsp;`) only where a reader decodes markup:
/// text, HTML, JSON values and multipart parts, not form values, whose
/// spelling is their percent-encoding.
fn value_text(pieces: &[Piece], format: Format, planted: &mut Vec<String>) -> String {
    let markup = !matches!(format, Format::Form);
    let mut text = String::new();
    for piece in pieces.iter().take(8) {
        text.push(' ');
        let (value, at, how) = match piece {
            Piece::Noise(s) => {
                text.push_str(&noise(s));
                text.push(' ');
                continue;
            }
            Piece::Email(n, how) => {
                let (local, domain) = EMAILS[usize::from(*n) % EMAILS.len()];
                (format!("{local}@{domain}"), Some(local.len()), how)
            }
            Piece::Phone(n, how) => (PHONES[usize::from(*n) % PHONES.len()].to_string(), None, how),
            Piece::Card(n, how) => (CARDS[usize::from(*n) % CARDS.len()].to_string(), None, how),
        };
        let how = match how {
            Spelling::HtmlAt(_) if !markup => &Spelling::Plain,
            Spelling::Space(n) if !markup && usize::from(*n) % SPACES.len() == 3 => &Spelling::Plain,
            other => other,
        };
        planted.push(value.clone());
        text.push_str(&spell(&value, at, how));
        text.push(' ');
    }
    text
}

fn quoted_printable(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut line = 0;
    for &b in bytes {
        let piece = if (b == b' ' || b.is_ascii_graphic()) && b != b'=' {
            vec![b]
        } else {
            format!("={b:02X}").into_bytes()
        };
        // Soft line breaks every 40 columns, inside values too.
        if line + piece.len() > 40 {
            out.extend_from_slice(b"=\r\n");
            line = 0;
        }
        line += piece.len();
        out.extend(piece);
    }
    out
}

fn encode_charset(text: &str, charset: Charset) -> Vec<u8> {
    match charset {
        Charset::Utf8 => text.as_bytes().to_vec(),
        Charset::Utf16Le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Charset::Utf16Be => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Charset::Utf16Bom => "\u{feff}".encode_utf16().chain(text.encode_utf16()).flat_map(u16::to_le_bytes).collect(),
        Charset::Utf32Be => text.chars().flat_map(|c| (c as u32).to_be_bytes()).collect(),
    }
}

/// The `charset` label of each charset, and back.
const LABELS: [(Charset, &str); 5] = [
    (Charset::Utf8, "utf-8"),
    (Charset::Utf16Le, "utf-16le"),
    (Charset::Utf16Be, "utf-16be"),
    (Charset::Utf16Bom, "utf-16"),
    (Charset::Utf32Be, "utf-32be"),
];

fn label(charset: Charset) -> &'static str {
    LABELS.iter().find(|(c, _)| *c == charset).map_or("utf-8", |(_, l)| l)
}

fn decode_charset(bytes: &[u8], charset: Charset) -> String {
    let units = |be: bool| -> Vec<u16> {
        bytes.chunks(2).map(|p| if be { u16::from_be_bytes([p[0], *p.get(1).unwrap_or(&0)]) } else { u16::from_le_bytes([p[0], *p.get(1).unwrap_or(&0)]) }).collect()
    };
    match charset {
        Charset::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        Charset::Utf16Le | Charset::Utf16Bom => String::from_utf16_lossy(&units(false)),
        Charset::Utf16Be => String::from_utf16_lossy(&units(true)),
        Charset::Utf32Be => bytes
            .chunks(4)
            .map(|p| {
                let mut w = [0u8; 4];
                w[..p.len()].copy_from_slice(p);
                char::from_u32(u32::from_be_bytes(w)).unwrap_or('\u{fffd}')
            })
            .collect(),
    }
}

fn compress(layer: Layer, bytes: &[u8]) -> Vec<u8> {
    match layer {
        Layer::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes).expect("gzip");
            e.finish().expect("gzip")
        }
        Layer::Deflate => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes).expect("deflate");
            e.finish().expect("deflate")
        }
        Layer::Br => {
            let mut out = Vec::new();
            {
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 1, 18);
                e.write_all(bytes).expect("br");
            }
            out
        }
        Layer::Zstd => zstd::encode_all(bytes, 1).expect("zstd"),
    }
}

fn decompress(layer: Layer, bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match layer {
        Layer::Gzip => flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out).map(|_| ()),
        Layer::Deflate => flate2::read::ZlibDecoder::new(bytes).read_to_end(&mut out).map(|_| ()),
        Layer::Br => brotli::Decompressor::new(bytes, 4096).read_to_end(&mut out).map(|_| ()),
        Layer::Zstd => zstd::stream::read::Decoder::new(bytes).and_then(|mut d| d.read_to_end(&mut out)).map(|_| ()),
    }
    .expect("piimask's output decodes as the codings it declares");
    out
}

/// Everything a reader could make of `text`: HTML references and
/// percent-escapes decoded (twice), compatibility forms folded,
/// invisible characters dropped, then compacted for comparison.
fn reveal(text: &str) -> String {
    let mut s = text.to_string();
    for _ in 0..2 {
        s = html_unescape(&s);
        s = percent_decode(&s);
    }
    s.chars()
        .filter_map(|c| match c {
            '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{ad}' | '\u{feff}' => None,
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xFF01 + 0x21),
            c if SCRIPT_ZEROS.iter().any(|&z| (z..z + 10).contains(&(c as u32))) => {
                SCRIPT_ZEROS.iter().find(|&&z| (z..z + 10).contains(&(c as u32))).and_then(|&z| char::from_digit(c as u32 - z, 10))
            }
            c if c.is_whitespace() => None,
            c => Some(c),
        })
        .filter(|c| !matches!(c, '-' | '.' | '(' | ')' | '+' | '/'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn compact(value: &str) -> String {
    reveal(value)
}

fn html_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest[1..].find(|c: char| !c.is_ascii_alphanumeric() && c != '#').map_or(rest.len(), |e| e + 1);
        let name = &rest[1..end];
        let decoded = if let Some(num) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
            u32::from_str_radix(num, 16).ok().and_then(char::from_u32)
        } else if let Some(num) = name.strip_prefix('#') {
            num.parse::<u32>().ok().and_then(char::from_u32)
        } else {
            match name {
                "commat" => Some('@'),
                "period" => Some('.'),
                "nbsp" => Some(' '),
                "amp" => Some('&'),
                "plus" => Some('+'),
                _ => None,
            }
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &rest[end..];
                rest = rest.strip_prefix(';').unwrap_or(rest);
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = ((bytes[i + 1] as char).to_digit(16), bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A part's decoded bytes read in the charset its headers name.
fn part_text(headers: &str, bytes: &[u8]) -> String {
    let named = headers.split("charset=").nth(1).and_then(|rest| rest.split(['\r', ';']).next()).unwrap_or("utf-8");
    let charset = LABELS.iter().find(|(_, l)| *l == named).map_or(Charset::Utf8, |(c, _)| *c);
    let text = decode_charset(bytes, charset);
    text.strip_prefix('\u{feff}').unwrap_or(&text).to_string()
}

/// The text of a multipart body as its parts decode.
fn multipart_text(body: &str) -> String {
    let mut out = String::new();
    for part in body.split("--b") {
        let Some((headers, content)) = part.split_once("\r\n\r\n") else {
            out.push_str(part);
            continue;
        };
        out.push_str(headers);
        out.push('\n');
        let content = content.strip_suffix("\r\n").unwrap_or(content);
        if headers.contains("base64") {
            let clean: String = content.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD.decode(clean).expect("piimask's base64 decodes");
            out.push_str(&part_text(headers, &bytes));
        } else if headers.contains("quoted-printable") {
            let joined = content.replace("=\r\n", "");
            let mut bytes = Vec::new();
            let raw = joined.as_bytes();
            let mut i = 0;
            while i < raw.len() {
                if raw[i] == b'=' && i + 2 < raw.len() {
                    if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                        bytes.push(b);
                        i += 3;
                        continue;
                    }
                }
                bytes.push(raw[i]);
                i += 1;
            }
            out.push_str(&part_text(headers, &bytes));
        } else {
            out.push_str(content);
        }
        out.push('\n');
    }
    out
}

fuzz_target!(|input: Input| {
    let mut planted = Vec::new();
    let values: Vec<String> =
        input.pieces.chunks(3).take(6).map(|pieces| value_text(pieces, input.format, &mut planted)).collect();
    let (text, kind) = match input.format {
        Format::Text => (values.join("\n"), ContentKind::Text),
        Format::Html => (
            format!("<html><body>{}</body></html>", values.iter().map(|v| format!("<p title=\"x\">{v}</p>")).collect::<String>()),
            ContentKind::Text,
        ),
        Format::Json => {
            let object: serde_json::Map<String, serde_json::Value> =
                values.iter().enumerate().map(|(i, v)| (format!("k{i}"), serde_json::Value::String(v.clone()))).collect();
            (serde_json::Value::Object(object).to_string(), ContentKind::Json)
        }
        Format::Form => {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (i, v) in values.iter().enumerate() {
                form.append_pair(&format!("k{i}"), v);
            }
            (form.finish(), ContentKind::Form)
        }
        Format::MultipartBase64 | Format::MultipartQuoted => {
            let mut body = String::new();
            for (i, v) in values.iter().enumerate() {
                // Each part in the input's charset, named by its own label.
                let bytes = encode_charset(v, input.charset);
                let (coding, content) = if matches!(input.format, Format::MultipartBase64) {
                    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
                    let lines: Vec<&str> =
                        encoded.as_bytes().chunks(76).map(|l| std::str::from_utf8(l).unwrap_or("")).collect();
                    ("base64", lines.join("\r\n"))
                } else {
                    ("quoted-printable", String::from_utf8_lossy(&quoted_printable(&bytes)).into_owned())
                };
                body.push_str(&format!(
                    "--b\r\nContent-Disposition: form-data; name=\"k{i}\"\r\nContent-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: {coding}\r\n\r\n{content}\r\n",
                    label = label(input.charset)
                ));
            }
            body.push_str("--b--\r\n");
            (body, ContentKind::Multipart(Boundary::new(b"b").expect("a boundary")))
        }
    };
    // A charset other than UTF-8 wraps the whole body, but a multipart
    // body, whose parts carry their own (above).
    let charset = if matches!(input.format, Format::MultipartBase64 | Format::MultipartQuoted) { Charset::Utf8 } else { input.charset };
    let mut body = encode_charset(&text, charset);
    let layers: Vec<Layer> = input.layers.iter().copied().take(3).collect();
    for &layer in &layers {
        body = compress(layer, &body);
    }
    let codings: Vec<Coding> = layers
        .iter()
        .map(|l| match l {
            Layer::Gzip => Coding::Gzip,
            Layer::Deflate => Coding::Deflate,
            Layer::Br => Coding::Brotli,
            Layer::Zstd => Coding::Zstd,
        })
        .collect();
    let engine_charset = match charset {
        Charset::Utf8 => piimask::mask::Charset::Utf8,
        Charset::Utf16Le => piimask::mask::Charset::Utf16Le,
        Charset::Utf16Be => piimask::mask::Charset::Utf16Be,
        Charset::Utf16Bom => piimask::mask::Charset::Utf16,
        Charset::Utf32Be => piimask::mask::Charset::Utf32Be,
    };
    let mut pipeline = Pipeline::new(MASKER.clone(), kind, Some(engine_charset), &Codings::from(&codings[..]))
        .expect("a pipeline for at most three layers");
    let mut cuts: Vec<usize> = input.cuts.iter().map(|&c| usize::from(c) % (body.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([body.len()]) {
        pipeline.feed(&body[from..cut.max(from)], &mut out).expect("a body piimask wrote itself is valid");
        from = cut.max(from);
    }
    pipeline.finish(&mut out).expect("a body piimask wrote itself is valid");

    let mut plain = out;
    for &layer in layers.iter().rev() {
        plain = decompress(layer, &plain);
    }
    let text = decode_charset(&plain, charset);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text).to_string();
    let read = match input.format {
        Format::Json => {
            let doc: serde_json::Value = serde_json::from_str(&text).expect("valid JSON out");
            doc.as_object().expect("an object").values().filter_map(|v| v.as_str()).collect::<Vec<_>>().join("\n")
        }
        Format::Form => form_urlencoded::parse(text.as_bytes()).map(|(k, v)| format!("{k} {v}\n")).collect(),
        Format::MultipartBase64 | Format::MultipartQuoted => multipart_text(&text),
        Format::Text | Format::Html => text.clone(),
    };
    let revealed = reveal(&read);
    for p in &planted {
        assert!(!revealed.contains(&compact(p)), "{p} survived {:?} {:?} {:?}: {read}", input.format, charset, layers);
    }
});
