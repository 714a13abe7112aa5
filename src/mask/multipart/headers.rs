//! Multipart headers: the boundary of a `Content-Type`, and what a part's
//! header block says of its body (type, transfer encoding, name).

use super::MAX_BOUNDARY;

/// A multipart boundary: 1 to 70 visible ASCII characters (or spaces, not
/// last), kept inline so a [`crate::mask::ContentKind`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Boundary {
    len: u8,
    bytes: [u8; MAX_BOUNDARY],
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
        params(content_type)
            .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
            .and_then(|(_, v)| Boundary::new(v.as_bytes()))
    }
}

impl std::fmt::Debug for Boundary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Boundary({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// The `key=value` parameters after the first `;` of a header value,
/// quotes removed (a `;` inside quotes does not split).
fn params(value: &str) -> impl Iterator<Item = (&str, String)> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                pieces.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&value[start..]);
    pieces.into_iter().skip(1).filter_map(|p| {
        let (k, v) = p.split_once('=')?;
        let v = v.trim();
        let v = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(q) => q.replace("\\\"", "\"").replace("\\\\", "\\"),
            None => v.to_string(),
        };
        Some((k.trim(), v))
    })
}

/// What a part's headers say of its body.
#[derive(Debug, Default)]
pub(super) struct PartHeaders {
    pub content_type: Option<String>,
    pub transfer: Option<String>,
    pub name: Vec<u8>,
}

pub(super) fn parse_headers(block: &[u8]) -> PartHeaders {
    let text = String::from_utf8_lossy(block);
    // Unfold continuation lines, then read `Name: value` lines.
    let mut lines: Vec<String> = Vec::new();
    for line in text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        match (line.starts_with([' ', '\t']), lines.last_mut()) {
            (true, Some(last)) => last.push_str(line),
            _ => lines.push(line.to_string()),
        }
    }
    let mut h = PartHeaders::default();
    for line in &lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => h.content_type = Some(value.to_string()),
            "content-transfer-encoding" => h.transfer = Some(value.to_ascii_lowercase()),
            "content-disposition" => {
                if let Some((_, n)) = params(value).find(|(k, _)| k.eq_ignore_ascii_case("name")) {
                    h.name = n.into_bytes();
                }
            }
            _ => {}
        }
    }
    h
}
