//! The engine's reading of a `Content-Type` value: which [`ContentKind`]
//! masks a body (or a multipart part) of that type, or `None` for types it
//! does not parse. Shared by the policy (whole bodies) and the multipart
//! masker (each part), so both read types the same way.

use super::ContentKind;
use super::multipart::Boundary;

/// The kind for `content_type`, or `None` for types the engine does not
/// parse (images, archives, protobuf…). No content type at all is read as
/// text: such a body may hold anything.
///
/// `application/json-seq` (RFC 7464: each text after an RS byte) is read
/// as NDJSON, whose texts may follow each other on one line.
pub fn content_kind(content_type: Option<&str>) -> Option<ContentKind> {
    let Some(ct) = content_type else { return Some(ContentKind::Text) };
    let essence = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let (kind, sub) = essence.split_once('/').unwrap_or((essence.as_str(), ""));
    match (kind, sub) {
        ("application", "x-ndjson" | "ndjson" | "jsonl" | "x-jsonlines" | "jsonlines" | "json-seq") => {
            Some(ContentKind::Ndjson)
        }
        // What JSON parsers are handed under the names older servers and
        // frameworks still send.
        ("application", "json" | "x-json" | "jsonrequest") | ("text", "json" | "x-json") => Some(ContentKind::Json),
        (_, s) if s.ends_with("+json") => Some(ContentKind::Json),
        ("application", "x-www-form-urlencoded") => Some(ContentKind::Form),
        ("text", _) => Some(ContentKind::Text),
        ("application", "xml" | "javascript" | "graphql" | "yaml" | "x-yaml" | "csv") => Some(ContentKind::Text),
        (_, s) if s.ends_with("+xml") => Some(ContentKind::Text),
        // Without a usable boundary the parts cannot be found: text.
        ("multipart", _) => Some(Boundary::of_content_type(ct).map_or(ContentKind::Text, ContentKind::Multipart)),
        ("", "") => Some(ContentKind::Text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_read_under_every_name_a_json_parser_is_handed() {
        for ct in [
            "application/json",
            "Application/JSON; charset=utf-8",
            "text/json",
            "text/x-json",
            "application/x-json",
            "application/jsonrequest",
            "application/problem+json",
            "application/vnd.api+json",
            "text/vnd.thing+json",
        ] {
            assert_eq!(content_kind(Some(ct)), Some(ContentKind::Json), "{ct}");
        }
        for ct in ["application/x-ndjson", "application/jsonl", "application/json-seq", "application/jsonlines"] {
            assert_eq!(content_kind(Some(ct)), Some(ContentKind::Ndjson), "{ct}");
        }
        assert_eq!(content_kind(Some("text/plain")), Some(ContentKind::Text));
        assert_eq!(content_kind(Some("text/jsonx")), Some(ContentKind::Text));
    }
}
