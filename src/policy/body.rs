//! What happens to a body of a given content type: masked as JSON, NDJSON
//! or text, passed, or blocked. Unknown types follow the rule's
//! `other_types`; a body with no content type is masked as text.

use std::sync::Arc;

use crate::mask::{ContentKind, Masker};

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
    Mask(Arc<Masker>, ContentKind),
    Pass,
    Block,
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
        match content_kind(content_type) {
            Some(kind) => BodyPlan::Mask(masker.clone(), kind),
            None => match self.other_types {
                OtherTypes::Pass => BodyPlan::Pass,
                OtherTypes::Block => BodyPlan::Block,
                OtherTypes::Text => BodyPlan::Mask(masker.clone(), ContentKind::Text),
            },
        }
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
