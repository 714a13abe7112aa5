//! What happens to a body of a given content type: masked as JSON, NDJSON,
//! a form, multipart or text, passed, or blocked. Binary bodies (gRPC and protobuf, media,
//! archives, fonts) are never scanned as text, where replacing a span
//! would corrupt them: gRPC and protobuf are refused and the rest passed
//! (counted and audited), unless the rule's `binary` says otherwise. A
//! body with no type, or `application/octet-stream`, is judged by its
//! first bytes. Other types follow the rule's `other_types`. Text is masked
//! in its declared charset (XML and HTML in the one their first bytes
//! name, see [`DocumentCharset`]); a charset piimask cannot transcode is
//! refused unless `other_types` passes what the engine cannot read. A
//! multipart body whose boundary parameter a receiver could read otherwise
//! is refused.

use std::sync::Arc;

use super::sniff::{Sniffed, sniff};
use crate::mask::content_type::content_kind;
use crate::mask::multipart::{Boundary, BoundaryParam, MultipartError};
use crate::mask::prescan::DocumentCharset;
use crate::mask::{Charset, ContentKind, Masker};

/// What to do with bodies whose type the engine does not parse and that
/// are not known to be binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtherTypes {
    Pass,
    Block,
    /// Scan the raw bytes as text.
    Text,
}

/// What to do with binary bodies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Binary {
    /// gRPC and protobuf refused; media, archives and fonts passed.
    #[default]
    Default,
    /// Every binary body passed unmasked (counted and audited).
    Pass,
    /// Every binary body refused.
    Block,
}

/// Which kind of binary body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryKind {
    /// `application/grpc` and its `+proto`, `+json`, `-web` forms:
    /// length-prefixed messages.
    Grpc,
    /// Protocol Buffers without gRPC's framing.
    Protobuf,
    /// Images, audio, video, fonts, archives, PDF, and bodies whose first
    /// bytes say binary.
    Media,
}

impl BinaryKind {
    /// A bounded label for metrics and audit events.
    pub fn label(self) -> &'static str {
        match self {
            BinaryKind::Grpc => "grpc",
            BinaryKind::Protobuf => "protobuf",
            BinaryKind::Media => "binary",
        }
    }
}

/// The masking rule for one direction of a route or peer.
#[derive(Debug, Clone)]
pub struct BodyRule {
    /// `None` leaves bodies of every type untouched.
    pub masker: Option<Arc<Masker>>,
    pub other_types: OtherTypes,
    pub binary: Binary,
}

/// The decision for one body.
#[derive(Debug, Clone)]
pub enum BodyPlan {
    /// Masked as `ContentKind` in the body's declared charset (`None`: its
    /// raw bytes, for a type the engine does not parse scanned as text),
    /// or the one the document names in its first bytes (XML, HTML).
    Mask(Arc<Masker>, ContentKind, Option<Charset>, Option<DocumentCharset>),
    Pass,
    /// A type `other_types: block` refuses.
    Block,
    /// A binary body passed unmasked: to be counted and audited.
    PassBinary(BinaryKind),
    BlockBinary(BinaryKind),
    /// Refused: the declared charset is one piimask cannot transcode.
    UnknownCharset,
    /// Refused: a multipart body piimask cannot read as its receiver
    /// would (its boundary parameter).
    Multipart(MultipartError),
    /// Refused: a `message/*` body (an e-mail), whose own headers may say
    /// base64, quoted-printable or a charset; scanning it as text would
    /// miss what they encode.
    Message,
    /// No type, or `application/octet-stream`: the body's first bytes
    /// decide ([`BodyRule::plan_sniffed`]).
    Sniff,
}

/// What a `Content-Type` says about a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeClass {
    /// A type the engine parses.
    Parsed(ContentKind),
    Binary(BinaryKind),
    /// No type, or one that says only "bytes": look at them.
    Sniff,
    /// Any other type.
    Other,
}

impl BodyRule {
    pub fn passthrough() -> BodyRule {
        BodyRule { masker: None, other_types: OtherTypes::Pass, binary: Binary::Default }
    }

    pub fn mask(masker: Arc<Masker>) -> BodyRule {
        BodyRule { masker: Some(masker), other_types: OtherTypes::Text, binary: Binary::Default }
    }

    pub fn plan(&self, content_type: Option<&str>) -> BodyPlan {
        let Some(masker) = &self.masker else { return BodyPlan::Pass };
        let class = classify(content_type);
        match class {
            // A type that says media does not make a body binary: a CSV
            // export served as `application/vnd.ms-excel`, an HTML "Word
            // export" as `application/msword` are text a reader opens. Its
            // first bytes decide, as for a body with no type, unless the
            // rule refuses binary bodies anyway.
            TypeClass::Binary(BinaryKind::Media) if self.binary != Binary::Block => return BodyPlan::Sniff,
            TypeClass::Binary(kind) => return self.binary_plan(kind),
            _ => {}
        }
        // A body in a charset piimask cannot decode cannot be masked, and
        // scanning its raw bytes as text would miss what it encodes.
        let Ok(charset) = declared_charset(content_type) else {
            return match self.other_types {
                OtherTypes::Pass => BodyPlan::Pass,
                OtherTypes::Block | OtherTypes::Text => BodyPlan::UnknownCharset,
            };
        };
        if let (TypeClass::Parsed(ContentKind::Text), Some(ct)) = (class, content_type)
            && is_multipart(ct)
            && Boundary::read(ct) == BoundaryParam::Unreadable
        {
            return BodyPlan::Multipart(MultipartError::Boundary);
        }
        // A digest's parts are messages by default (RFC 2046 §5.1.5), whose
        // own headers piimask does not read.
        if let TypeClass::Parsed(ContentKind::Multipart(_)) = class
            && content_type.is_some_and(is_digest)
        {
            return BodyPlan::Multipart(MultipartError::Message);
        }
        match class {
            TypeClass::Parsed(kind) => {
                let document = DocumentCharset::of(content_type, charset.is_some());
                BodyPlan::Mask(masker.clone(), kind, Some(charset.unwrap_or(Charset::Utf8)), document)
            }
            TypeClass::Binary(kind) => self.binary_plan(kind),
            TypeClass::Sniff => BodyPlan::Sniff,
            TypeClass::Other => match self.other_types {
                OtherTypes::Pass => BodyPlan::Pass,
                OtherTypes::Block => BodyPlan::Block,
                // Raw bytes as they are, unless a charset other than UTF-8
                // is declared: then as text in that charset.
                OtherTypes::Text if content_type.is_some_and(is_message) => BodyPlan::Message,
                OtherTypes::Text => {
                    BodyPlan::Mask(masker.clone(), ContentKind::Text, charset.filter(|c| *c != Charset::Utf8), None)
                }
            },
        }
    }

    /// The plan for a body [`BodyPlan::Sniff`] left open, from its first
    /// bytes (all of them if it is shorter than the sniffing window).
    pub fn plan_sniffed(&self, head: &[u8]) -> BodyPlan {
        match sniff(head) {
            Sniffed::Text => self.plan_as_text(),
            Sniffed::Binary => self.binary_plan(BinaryKind::Media),
        }
    }

    /// The plan for a body [`BodyPlan::Sniff`] left open whose bytes
    /// cannot be looked at (under a content coding): masked as text.
    pub fn plan_as_text(&self) -> BodyPlan {
        match &self.masker {
            // UTF-8 unless a byte order mark says otherwise.
            Some(masker) => BodyPlan::Mask(masker.clone(), ContentKind::Text, Some(Charset::Utf8), None),
            None => BodyPlan::Pass,
        }
    }

    fn binary_plan(&self, kind: BinaryKind) -> BodyPlan {
        match (self.binary, kind) {
            (Binary::Pass, _) | (Binary::Default, BinaryKind::Media) => BodyPlan::PassBinary(kind),
            (Binary::Block, _) | (Binary::Default, BinaryKind::Grpc | BinaryKind::Protobuf) => {
                BodyPlan::BlockBinary(kind)
            }
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

/// Whether a `Content-Type` names a `multipart/*` type.
fn is_multipart(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence.get(..10).is_some_and(|t| t.eq_ignore_ascii_case("multipart/"))
}

/// Whether a `Content-Type` names `multipart/digest`.
fn is_digest(content_type: &str) -> bool {
    content_type.split(';').next().unwrap_or("").trim().eq_ignore_ascii_case("multipart/digest")
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

/// Whether a `Content-Type` is `message/*` (`message/rfc822`,
/// `message/global`, …).
fn is_message(content_type: &str) -> bool {
    content_type.trim_start().get(..8).is_some_and(|t| t.eq_ignore_ascii_case("message/"))
}

/// What a `Content-Type` says about a body. No type at all, or one
/// without a `type/subtype` essence, is to be sniffed: such a body may
/// hold anything.
pub fn classify(content_type: Option<&str>) -> TypeClass {
    let Some(ct) = content_type else { return TypeClass::Sniff };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let Some((kind, sub)) = essence.split_once('/') else { return TypeClass::Sniff };
    let media = TypeClass::Binary(BinaryKind::Media);
    match (kind, sub) {
        // Before the engine's kinds: `application/grpc+json` is gRPC.
        ("application", s) if s == "grpc" || s.starts_with("grpc+") || s.starts_with("grpc-web") => {
            TypeClass::Binary(BinaryKind::Grpc)
        }
        ("application", "octet-stream") => TypeClass::Sniff,
        (
            "application",
            "protobuf"
            | "x-protobuf"
            | "vnd.google.protobuf"
            | "x-google-protobuf"
            | "protobuf-stream"
            | "x-protobuf-stream",
        ) => TypeClass::Binary(BinaryKind::Protobuf),
        // JSON, NDJSON, forms, multipart, text and XML (`image/svg+xml`
        // too), as the engine reads them, parts of a multipart body alike.
        _ => match content_kind(Some(ct)) {
            Some(parsed) => TypeClass::Parsed(parsed),
            None => match (kind, sub) {
                ("image" | "audio" | "video" | "font", _) => media,
                (
                    "application",
                    "zip" | "gzip" | "x-gzip" | "x-tar" | "x-gtar" | "x-bzip2" | "x-xz" | "zstd" | "x-7z-compressed"
                    | "vnd.rar" | "x-rar-compressed" | "java-archive" | "pdf" | "wasm" | "vnd.ms-fontobject"
                    | "font-woff" | "x-font-ttf" | "x-font-otf" | "ogg" | "vnd.ms-excel" | "msword"
                    | "vnd.ms-powerpoint",
                ) => media,
                // Office documents and other zipped formats.
                ("application", s) if s.ends_with("+zip") || s.starts_with("vnd.openxmlformats-officedocument.") => {
                    media
                }
                ("application", s) if s.starts_with("vnd.oasis.opendocument.") => media,
                _ => TypeClass::Other,
            },
        },
    }
}
