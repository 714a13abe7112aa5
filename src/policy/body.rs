//! What happens to a body of a given content type: masked as JSON, NDJSON
//! or text in its charset, passed, or blocked. Unknown types follow the
//! rule's `other_types`; a body with no content type is masked as text. A
//! charset piimask cannot transcode is blocked unless `other_types` passes
//! what the engine cannot read.

use std::sync::Arc;

use crate::mask::{Charset, ContentKind, Masker};

/// What to do with bodies whose type the engine does not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherTypes {
    Pass,
    Block,
    /// Scan the raw bytes as text: safe, and harmless to most binaries.
    Text,
}

/// The masking rule for one direction of a route or peer.
#[derive(Debug, Clone)]
pub struct BodyRule {
    /// `None` leaves bodies of every type untouched.
    pub masker: Option<Arc<Masker>>,
    pub other_types: OtherTypes,
}

/// The decision for one body.
#[derive(Debug, Clone)]
pub enum BodyPlan {
    /// Masked as `ContentKind` in the body's declared charset (`None`: its
    /// raw bytes, for a type the engine does not parse scanned as text).
    Mask(Arc<Masker>, ContentKind, Option<Charset>),
    Pass,
    Block,
    /// Refused: the declared charset is one piimask cannot transcode.
    UnknownCharset,
}

impl BodyRule {
    pub fn passthrough() -> BodyRule {
        BodyRule { masker: None, other_types: OtherTypes::Pass }
    }

    pub fn mask(masker: Arc<Masker>) -> BodyRule {
        BodyRule { masker: Some(masker), other_types: OtherTypes::Text }
    }

    pub fn plan(&self, content_type: Option<&str>) -> BodyPlan {
        let Some(masker) = &self.masker else { return BodyPlan::Pass };
        // A body in a charset piimask cannot decode cannot be masked, and
        // scanning its raw bytes as text would miss what it encodes.
        let Ok(charset) = declared_charset(content_type) else {
            return match self.other_types {
                OtherTypes::Pass => BodyPlan::Pass,
                OtherTypes::Block | OtherTypes::Text => BodyPlan::UnknownCharset,
            };
        };
        match content_kind(content_type) {
            Some(kind) => BodyPlan::Mask(masker.clone(), kind, Some(charset.unwrap_or(Charset::Utf8))),
            None => match self.other_types {
                OtherTypes::Pass => BodyPlan::Pass,
                OtherTypes::Block => BodyPlan::Block,
                // Raw bytes as they are, unless a charset other than UTF-8
                // is declared: then as text in that charset.
                OtherTypes::Text => {
                    BodyPlan::Mask(masker.clone(), ContentKind::Text, charset.filter(|c| *c != Charset::Utf8))
                }
            },
        }
    }
}

/// The `charset` parameter of a `Content-Type`: `Ok(None)` when there is
/// none, `Err` when piimask cannot transcode it (an unknown label, or two
/// `charset` parameters that disagree).
pub fn declared_charset(content_type: Option<&str>) -> Result<Option<Charset>, UnknownCharset> {
    let mut found: Option<String> = None;
    for (name, value) in parameters(content_type.unwrap_or("")) {
        if !name.eq_ignore_ascii_case("charset") {
            continue;
        }
        match &found {
            Some(first) if !first.eq_ignore_ascii_case(&value) => return Err(UnknownCharset),
            _ => found = Some(value),
        }
    }
    match found {
        None => Ok(None),
        Some(label) => Charset::from_label(&label).map(Some).ok_or(UnknownCharset),
    }
}

/// A `charset` parameter piimask cannot decode and encode again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCharset;

/// The parameters of a media type (RFC 9110 §5.6.6): `name=value` pairs
/// after the first `;`, values as tokens or quoted strings (with `\`
/// escapes), whitespace around the `;`, the name and the `=` ignored. A parameter
/// without `=` is skipped; an unterminated quoted string runs to the end.
fn parameters(content_type: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let Some((_, mut rest)) = content_type.split_once(';') else { return params };
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        if rest.is_empty() {
            return params;
        }
        let name_end = rest.find(['=', ';']).unwrap_or(rest.len());
        let name = rest[..name_end].trim_matches([' ', '\t']).to_string();
        rest = &rest[name_end..];
        // RFC 9110 has no whitespace around `=`; some senders write it.
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
            // Anything after the closing quote up to the next `;` is junk.
            let tail = &quoted[end.min(quoted.len())..];
            rest = &tail[tail.find(';').unwrap_or(tail.len())..];
        } else {
            let end = after.find(';').unwrap_or(after.len());
            value = after[..end].trim_matches([' ', '\t']).to_string();
            rest = &after[end..];
        }
        params.push((name, value));
    }
}

/// The engine's reading of a `Content-Type`, or `None` for types it does
/// not parse (images, archives, protobuf…). No content type at all is read
/// as text: such a body may hold anything.
pub fn content_kind(content_type: Option<&str>) -> Option<ContentKind> {
    let Some(ct) = content_type else { return Some(ContentKind::Text) };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
    match (kind, sub) {
        ("application", "x-ndjson" | "ndjson" | "jsonl" | "x-jsonlines" | "jsonlines" | "json-seq") => {
            Some(ContentKind::Ndjson)
        }
        ("application", "json") => Some(ContentKind::Json),
        (_, s) if s.ends_with("+json") => Some(ContentKind::Json),
        ("text", _) => Some(ContentKind::Text),
        ("application", "x-www-form-urlencoded" | "xml" | "javascript" | "graphql" | "yaml" | "x-yaml" | "csv") => {
            Some(ContentKind::Text)
        }
        (_, s) if s.ends_with("+xml") => Some(ContentKind::Text),
        ("multipart", _) => Some(ContentKind::Text),
        ("", "") => Some(ContentKind::Text),
        _ => None,
    }
}
