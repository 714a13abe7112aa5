//! What happens to a body of a given content type: masked as JSON, NDJSON
//! or text, passed, or blocked. Binary bodies (gRPC and protobuf, media,
//! archives, fonts) are never scanned as text, where replacing a span
//! would corrupt them: gRPC and protobuf are refused and the rest passed
//! (counted and audited), unless the rule's `binary` says otherwise. A
//! body with no type, or `application/octet-stream`, is judged by its
//! first bytes. Other types follow the rule's `other_types`.

use std::sync::Arc;

use super::sniff::{Sniffed, sniff};
use crate::mask::{ContentKind, Masker};

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
    Mask(Arc<Masker>, ContentKind),
    Pass,
    /// A type `other_types: block` refuses.
    Block,
    /// A binary body passed unmasked: to be counted and audited.
    PassBinary(BinaryKind),
    BlockBinary(BinaryKind),
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
        match classify(content_type) {
            TypeClass::Parsed(kind) => BodyPlan::Mask(masker.clone(), kind),
            TypeClass::Binary(kind) => self.binary_plan(kind),
            TypeClass::Sniff => BodyPlan::Sniff,
            TypeClass::Other => match self.other_types {
                OtherTypes::Pass => BodyPlan::Pass,
                OtherTypes::Block => BodyPlan::Block,
                OtherTypes::Text => BodyPlan::Mask(masker.clone(), ContentKind::Text),
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
            Some(masker) => BodyPlan::Mask(masker.clone(), ContentKind::Text),
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

/// What a `Content-Type` says about a body. No type at all, or one
/// without a `type/subtype` essence, is to be sniffed: such a body may
/// hold anything.
pub fn classify(content_type: Option<&str>) -> TypeClass {
    let Some(ct) = content_type else { return TypeClass::Sniff };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let Some((kind, sub)) = essence.split_once('/') else { return TypeClass::Sniff };
    let text = TypeClass::Parsed(ContentKind::Text);
    let media = TypeClass::Binary(BinaryKind::Media);
    match (kind, sub) {
        ("application", "x-ndjson" | "ndjson" | "jsonl" | "x-jsonlines" | "jsonlines" | "json-seq") => {
            TypeClass::Parsed(ContentKind::Ndjson)
        }
        ("application", "json") => TypeClass::Parsed(ContentKind::Json),
        ("application", s) if s == "grpc" || s.starts_with("grpc+") || s.starts_with("grpc-web") => {
            TypeClass::Binary(BinaryKind::Grpc)
        }
        (_, s) if s.ends_with("+json") => TypeClass::Parsed(ContentKind::Json),
        ("text", _) => text,
        ("application", "x-www-form-urlencoded" | "xml" | "javascript" | "graphql" | "yaml" | "x-yaml" | "csv") => text,
        // Before media: `image/svg+xml` is text.
        (_, s) if s.ends_with("+xml") => text,
        ("multipart", _) => text,
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
        ("image" | "audio" | "video" | "font", _) => media,
        (
            "application",
            "zip" | "gzip" | "x-gzip" | "x-tar" | "x-gtar" | "x-bzip2" | "x-xz" | "zstd" | "x-7z-compressed"
            | "vnd.rar" | "x-rar-compressed" | "java-archive" | "pdf" | "wasm" | "vnd.ms-fontobject" | "font-woff"
            | "x-font-ttf" | "x-font-otf" | "ogg" | "vnd.ms-excel" | "msword" | "vnd.ms-powerpoint",
        ) => media,
        // Office documents and other zipped formats.
        ("application", s) if s.ends_with("+zip") || s.starts_with("vnd.openxmlformats-officedocument.") => media,
        ("application", s) if s.starts_with("vnd.oasis.opendocument.") => media,
        _ => TypeClass::Other,
    }
}
