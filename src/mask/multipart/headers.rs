//! Multipart headers: the boundary of a `Content-Type`, and what a part's
//! header block says of its body (type, transfer encoding, name).
//!
//! Both are read strictly: wherever a receiver could read them otherwise
//! than piimask (a header given twice, a line that is not a header, a
//! parameter in a form piimask does not decode), the reading is an error
//! ([`MultipartError`]) and the body is refused, never guessed at.

use super::MAX_BOUNDARY;
use super::error::MultipartError;
use crate::mask::Charset;

/// A multipart boundary: 1 to 70 visible ASCII characters (or spaces, not
/// last), kept inline so a [`crate::mask::ContentKind`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Boundary {
    len: u8,
    bytes: [u8; MAX_BOUNDARY],
}

/// What a `Content-Type`'s `boundary` parameter says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoundaryParam {
    /// No boundary parameter: the parts cannot be found, the body is text.
    Missing,
    Valid(Boundary),
    /// A boundary piimask would read otherwise than a receiver: longer than
    /// 70 characters, ending in a space, with characters RFC 2046 does not
    /// allow, given twice, or in RFC 2231 form (`boundary*=`,
    /// `boundary*0=`).
    Unreadable,
}

impl Boundary {
    pub fn new(b: &[u8]) -> Option<Boundary> {
        let valid = (1..=MAX_BOUNDARY).contains(&b.len())
            && b.iter().all(|&c| (0x20..0x7F).contains(&c) && c != b'"')
            && b.last() != Some(&b' ');
        if !valid {
            return None;
        }
        let mut bytes = [0; MAX_BOUNDARY];
        bytes[..b.len()].copy_from_slice(b);
        Some(Boundary { len: b.len() as u8, bytes })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The `boundary` parameter of a `Content-Type` value, if valid.
    pub fn of_content_type(content_type: &str) -> Option<Boundary> {
        match Boundary::read(content_type) {
            BoundaryParam::Valid(b) => Some(b),
            BoundaryParam::Missing | BoundaryParam::Unreadable => None,
        }
    }

    /// How the `boundary` parameter of a `Content-Type` value reads.
    pub fn read(content_type: &str) -> BoundaryParam {
        let mut found = BoundaryParam::Missing;
        for (name, value) in params(content_type) {
            let lower = name.to_ascii_lowercase();
            if lower.strip_prefix("boundary").is_some_and(|rest| rest.starts_with('*')) {
                return BoundaryParam::Unreadable;
            }
            if lower != "boundary" {
                continue;
            }
            if found != BoundaryParam::Missing {
                return BoundaryParam::Unreadable;
            }
            found = Boundary::new(value.as_bytes()).map_or(BoundaryParam::Unreadable, BoundaryParam::Valid);
        }
        found
    }
}

impl std::fmt::Debug for Boundary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Boundary({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// The `name=value` parameters after the first `;` of a header value
/// (RFC 2045 §5.1): values as tokens or quoted strings with `\` escapes.
/// Names are kept as written (`name*`, `boundary*0` included); a piece
/// without `=` is skipped.
pub(super) fn params(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some((_, mut rest)) = split_unquoted(value, ';') else { return out };
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return out;
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim_matches([' ', '\t']).to_string();
        rest = &rest[name_end..];
        let Some(after) = rest.strip_prefix('=').map(|v| v.trim_start_matches([' ', '\t'])) else { continue };
        let value;
        if let Some(quoted) = after.strip_prefix('"') {
            let mut text = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    '\\' => text.extend(chars.next().map(|(_, c)| c)),
                    c => text.push(c),
                }
            }
            value = text;
            let tail = &quoted[end.min(quoted.len())..];
            rest = &tail[tail.find(';').unwrap_or(tail.len())..];
        } else {
            let end = after.find(';').unwrap_or(after.len());
            value = after[..end].trim_matches([' ', '\t']).to_string();
            rest = &after[end..];
        }
        out.push((name, value));
    }
}

/// `value` split at its first `sep` outside a quoted string.
fn split_unquoted(value: &str, sep: char) -> Option<(&str, &str)> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => return Some((&value[..i], &value[i + c.len_utf8()..])),
            _ => {}
        }
    }
    None
}

/// The `charset` parameter of a part's `Content-Type`: `Ok(None)` when
/// there is none; an error for a label piimask cannot transcode, or two
/// that disagree (as for a whole body).
pub(super) fn charset(content_type: &str) -> Result<Option<Charset>, MultipartError> {
    let mut found: Option<String> = None;
    for (name, value) in params(content_type) {
        let lower = name.to_ascii_lowercase();
        if lower.strip_prefix("charset").is_some_and(|rest| rest.starts_with('*')) {
            return Err(MultipartError::UnknownCharset);
        }
        if lower != "charset" {
            continue;
        }
        match &found {
            Some(first) if !first.eq_ignore_ascii_case(&value) => return Err(MultipartError::UnknownCharset),
            _ => found = Some(value),
        }
    }
    match found {
        None => Ok(None),
        // `file --mime` says a binary file's charset is `binary`, and
        // uploads repeat it: no charset, the bytes decide.
        Some(label) if label.trim().eq_ignore_ascii_case("binary") => Ok(None),
        Some(label) => Charset::from_label(&label).map(Some).ok_or(MultipartError::UnknownCharset),
    }
}

/// What a part's headers say of its body.
#[derive(Debug, Default)]
pub(super) struct PartHeaders {
    pub content_type: Option<String>,
    pub transfer: Option<String>,
    pub name: Vec<u8>,
}

/// Whether `name` is a header field name as receivers accept it: visible
/// ASCII but `:` (RFC 5322 §2.2), which excludes spaces before the colon.
fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (0x21..=0x7E).contains(&b) && b != b':')
}

/// Reads a part's header block (through its empty line, or to the end of a
/// body that ended in it). Every non-empty line must be a header or the
/// continuation of one; `Content-Type`, `Content-Transfer-Encoding` and
/// `Content-Disposition` may each come once.
pub(super) fn parse_headers(block: &[u8]) -> Result<PartHeaders, MultipartError> {
    // Receivers split lines on CR, LF and CRLF alike: a bare CR in a
    // header block would start a line piimask does not see.
    let bare_cr = block.iter().enumerate().any(|(i, &b)| b == b'\r' && block.get(i + 1) != Some(&b'\n'));
    if bare_cr {
        return Err(MultipartError::HeaderBlock);
    }
    // Names are ASCII: a byte that is not UTF-8 cannot make one match.
    let text = String::from_utf8_lossy(block);
    // Unfold continuation lines, then read `Name: value` lines.
    let mut lines: Vec<String> = Vec::new();
    for line in text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        if line.is_empty() {
            continue;
        }
        match (line.starts_with([' ', '\t']), lines.last_mut()) {
            (true, Some(last)) => last.push_str(line),
            (true, None) => return Err(MultipartError::HeaderBlock),
            (false, _) => lines.push(line.to_string()),
        }
    }
    let mut h = PartHeaders::default();
    let mut disposition = false;
    for line in &lines {
        let Some((name, value)) = line.split_once(':') else { return Err(MultipartError::HeaderBlock) };
        if !is_field_name(name) {
            return Err(MultipartError::HeaderBlock);
        }
        let value = value.trim_matches([' ', '\t']);
        match name.to_ascii_lowercase().as_str() {
            "content-type" => set_once(&mut h.content_type, value.to_string(), "Content-Type")?,
            "content-transfer-encoding" => {
                set_once(&mut h.transfer, value.to_ascii_lowercase(), "Content-Transfer-Encoding")?
            }
            "content-disposition" => {
                if std::mem::replace(&mut disposition, true) {
                    return Err(MultipartError::Repeated("Content-Disposition"));
                }
                h.name = part_name(value)?;
            }
            _ => {}
        }
    }
    Ok(h)
}

/// Sets a header's value, an error if it was set before.
fn set_once(slot: &mut Option<String>, value: String, header: &'static str) -> Result<(), MultipartError> {
    match slot.replace(value) {
        Some(_) => Err(MultipartError::Repeated(header)),
        None => Ok(()),
    }
}

/// The `name` of a `Content-Disposition` value: given once, as `name=`, or
/// as `name*=` in UTF-8 or US-ASCII (RFC 2231 / 5987, percent-encoded).
/// Continuations (`name*0=`), other charsets and both forms together are
/// errors.
fn part_name(disposition: &str) -> Result<Vec<u8>, MultipartError> {
    let mut name: Option<Vec<u8>> = None;
    for (key, value) in params(disposition) {
        let lower = key.to_ascii_lowercase();
        let decoded = match lower.as_str() {
            "name" => value.into_bytes(),
            "name*" => extended_value(&value).ok_or(MultipartError::Name)?,
            other if other.strip_prefix("name*").is_some() => return Err(MultipartError::Name),
            _ => continue,
        };
        if name.replace(decoded).is_some() {
            return Err(MultipartError::Name);
        }
    }
    Ok(name.unwrap_or_default())
}

/// An RFC 2231 / 5987 extended value, `charset'language'percent-encoded`,
/// decoded when its charset is UTF-8 or US-ASCII.
fn extended_value(value: &str) -> Option<Vec<u8>> {
    let mut pieces = value.splitn(3, '\'');
    let (charset, _language, encoded) = (pieces.next()?, pieces.next()?, pieces.next()?);
    let ascii = charset.eq_ignore_ascii_case("us-ascii");
    if !charset.eq_ignore_ascii_case("utf-8") && !ascii {
        return None;
    }
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let valid = if ascii { out.is_ascii() } else { std::str::from_utf8(&out).is_ok() };
    valid.then_some(out)
}

/// Whether a `Content-Type` value lists more than one type (a comma
/// outside a quoted parameter value).
pub(super) fn lists_several_types(content_type: &str) -> bool {
    split_unquoted(content_type, ',').is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_receivers_read_otherwise_are_unreadable() {
        let b = |ct: &str| Boundary::read(ct);
        assert_eq!(b("multipart/mixed; boundary=abc"), BoundaryParam::Valid(Boundary::new(b"abc").unwrap()));
        assert_eq!(b("multipart/mixed; BOUNDARY=\"a;b\\ c\""), BoundaryParam::Valid(Boundary::new(b"a;b c").unwrap()));
        assert_eq!(b("multipart/mixed"), BoundaryParam::Missing);
        for ct in [
            &format!("multipart/mixed; boundary={}", "Q".repeat(71)),
            "multipart/mixed; boundary=\"B \"",
            "multipart/mixed; boundary*=us-ascii''B",
            "multipart/mixed; boundary*0=B; boundary*1=B",
            "multipart/mixed; boundary=a; boundary=b",
            "multipart/mixed; boundary=a; boundary=a",
            "multipart/mixed; boundary=\"\"",
            "multipart/mixed; boundary=\"é\"",
        ] {
            assert_eq!(b(ct), BoundaryParam::Unreadable, "{ct}");
        }
    }

    #[test]
    fn part_headers_read_two_ways_are_errors() {
        let read = |block: &str| parse_headers(block.as_bytes());
        let h = read(
            "Content-Type: text/plain;\r\n charset=utf-16le\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n",
        )
        .expect("valid");
        assert_eq!(h.content_type.as_deref(), Some("text/plain; charset=utf-16le"));
        assert_eq!(h.name, b"a");
        let h = read("Content-Disposition: form-data; name*=UTF-8''caf%C3%A9\r\n\r\n").expect("valid");
        assert_eq!(h.name, "café".as_bytes());
        for (block, want) in [
            ("Content-Type: a/b\r\ncontent-type: c/d\r\n\r\n", MultipartError::Repeated("Content-Type")),
            (
                "Content-Transfer-Encoding: base64\r\nContent-Transfer-Encoding: 7bit\r\n\r\n",
                MultipartError::Repeated("Content-Transfer-Encoding"),
            ),
            (
                "Content-Disposition: form-data\r\nContent-Disposition: form-data; name=x\r\n\r\n",
                MultipartError::Repeated("Content-Disposition"),
            ),
            ("Content-Disposition: form-data; name=\"x\"; name=\"name\"\r\n\r\n", MultipartError::Name),
            ("Content-Disposition: form-data; name=x; name*=utf-8''x\r\n\r\n", MultipartError::Name),
            ("Content-Disposition: form-data; name*0=na; name*1=me\r\n\r\n", MultipartError::Name),
            ("Content-Disposition: form-data; name*=iso-8859-1''n%E9\r\n\r\n", MultipartError::Name),
            ("Content-Transfer-Encoding : base64\r\n\r\n", MultipartError::HeaderBlock),
            ("Content-Type: text/plain\r\nnot a header\r\n\r\n", MultipartError::HeaderBlock),
            (" folded: first\r\n\r\n", MultipartError::HeaderBlock),
            ("Content-Type: text/plain\rContent-Transfer-Encoding: base64\r\n\r\n", MultipartError::HeaderBlock),
        ] {
            assert_eq!(read(block).err(), Some(want), "{block:?}");
        }
    }

    #[test]
    fn part_charsets_are_read_as_body_charsets_are() {
        assert_eq!(charset("text/plain"), Ok(None));
        assert_eq!(charset("text/plain; charset=\"UTF-16LE\""), Ok(Some(Charset::Utf16Le)));
        assert_eq!(charset("text/plain; charset=klingon"), Err(MultipartError::UnknownCharset));
        assert_eq!(charset("application/pdf; charset=binary"), Ok(None));
        assert_eq!(charset("text/plain; charset=utf-8; charset=utf-16"), Err(MultipartError::UnknownCharset));
        assert_eq!(charset("text/plain; charset*=utf-8''utf-16"), Err(MultipartError::UnknownCharset));
        assert!(lists_several_types("text/plain, image/png"));
        assert!(!lists_several_types("text/plain; x=\"a,b\""));
    }
}
