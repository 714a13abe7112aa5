//! What happens to a body of a given content type: masked as JSON, NDJSON,
//! a form, multipart or text, passed, or blocked. Unknown types follow the rule's
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

/// The engine's reading of a `Content-Type` (see
/// [`crate::mask::content_type::content_kind`]), or `None` for types it
/// does not parse.
pub fn content_kind(content_type: Option<&str>) -> Option<ContentKind> {
    crate::mask::content_type::content_kind(content_type)
}
