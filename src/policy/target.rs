//! The canonical request target: the one path piimask routes on and
//! forwards, so what the policy judged is exactly what the app reads.
//! Unreserved escapes are decoded, the rest upper-cased, dot segments
//! (also encoded, or carrying `;` parameters) removed and repeated slashes
//! merged; what cannot be made canonical safely is refused. Pure: no I/O,
//! usable from a fuzz target.

use std::fmt::Write as _;

/// What a listener does with `%2F` and `%5C` in a path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum EscapedSlashes {
    /// Refuse the request (the default).
    #[default]
    Reject,
    /// Keep them escaped, as part of a segment (unsafe with prefix routes:
    /// an app that decodes them sees more segments than piimask did).
    Keep,
}

/// How a listener canonicalises paths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathOptions {
    /// Merge repeated slashes (`//a///b` → `/a/b`). On by default.
    pub merge_slashes: bool,
    pub escaped_slashes: EscapedSlashes,
}

impl Default for PathOptions {
    fn default() -> PathOptions {
        PathOptions { merge_slashes: true, escaped_slashes: EscapedSlashes::Reject }
    }
}

/// Why a request target cannot be made canonical. Each message names what
/// is wrong, never the path itself (it may carry personal data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("{}", self.reason())]
    NotOriginForm,
    #[error("{}", self.reason())]
    EscapedSlash,
    #[error("{}", self.reason())]
    Backslash,
    #[error("{}", self.reason())]
    ControlCharacter,
    #[error("{}", self.reason())]
    BadEscape,
    #[error("{}", self.reason())]
    NotUtf8,
    #[error("{}", self.reason())]
    AboveRoot,
    #[error("{}", self.reason())]
    ParametersWithoutName,
}

impl TargetError {
    /// A short, fixed sentence for the client.
    pub fn reason(self) -> &'static str {
        match self {
            TargetError::NotOriginForm => "the request path must start with /",
            TargetError::EscapedSlash => "the request path has an encoded slash or backslash (%2F, %5C)",
            TargetError::Backslash => "the request path has a backslash",
            TargetError::ControlCharacter => "the request path has a control character",
            TargetError::BadEscape => "the request path has a malformed percent-escape",
            TargetError::NotUtf8 => "the request path's escapes are not valid UTF-8",
            TargetError::AboveRoot => "the request path climbs above the root",
            TargetError::ParametersWithoutName => "a request path segment has ;parameters and no name",
        }
    }

    /// A bounded label for metrics and audit events.
    pub fn code(self) -> &'static str {
        match self {
            TargetError::NotOriginForm => "path_not_origin_form",
            TargetError::EscapedSlash => "path_escaped_slash",
            TargetError::Backslash => "path_backslash",
            TargetError::ControlCharacter => "path_control_character",
            TargetError::BadEscape => "path_bad_escape",
            TargetError::NotUtf8 => "path_not_utf8",
            TargetError::AboveRoot => "path_above_root",
            TargetError::ParametersWithoutName => "path_parameters_without_name",
        }
    }
}

/// A canonical path and the query as the client sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalTarget {
    path: String,
    query: Option<String>,
}

impl CanonicalTarget {
    /// The canonical path: starts with `/`, no dot segments, no escapes of
    /// unreserved characters, escapes in upper-case hex.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The query, unchanged, without its `?`.
    pub fn query(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// Path and query, as forwarded upstream.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }
}

/// Canonicalises an origin-form target (`/path?query`).
pub fn canonicalize(target: &str, options: PathOptions) -> Result<CanonicalTarget, TargetError> {
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (target, None),
    };
    Ok(CanonicalTarget { path: canonical_path(path, options)?, query })
}

/// Canonicalises a path (no query).
pub fn canonical_path(path: &str, options: PathOptions) -> Result<String, TargetError> {
    let raw = path.as_bytes();
    if raw.first() != Some(&b'/') {
        return Err(TargetError::NotOriginForm);
    }
    if is_plainly_canonical(raw) {
        return Ok(path.to_string());
    }
    canonical_path_general(raw, options)
}

/// Whether `raw` (starting with `/`) is canonical as it stands, as almost
/// every path a client sends is: only unreserved bytes, `/`, `:`, `@` and
/// sub-delims other than `;`; no empty segment but a last one; no `.` or
/// `..` segment. One pass, no allocation: the general path below builds a
/// string per segment (~500 instructions for a short path, measured with
/// callgrind through the proxy).
fn is_plainly_canonical(raw: &[u8]) -> bool {
    let plain_segment = |segment: &[u8]| !segment.is_empty() && segment != b"." && segment != b"..";
    let mut segment_start = 1;
    for (i, &b) in raw.iter().enumerate().skip(1) {
        if b == b'/' {
            if !plain_segment(&raw[segment_start..i]) {
                return false;
            }
            segment_start = i + 1;
        } else if !(is_unreserved(b) || (is_literal_pchar(b) && b != b';')) {
            return false;
        }
    }
    let last = &raw[segment_start..];
    last.is_empty() || plain_segment(last)
}

/// Canonicalises a path that may need it: escapes, dot segments,
/// repeated slashes, parameters, bytes to escape or refuse.
fn canonical_path_general(raw: &[u8], options: PathOptions) -> Result<String, TargetError> {
    let mut segments: Vec<String> = Vec::new();
    for raw_segment in raw[1..].split(|&b| b == b'/') {
        let segment = canonical_segment(raw_segment, options.escaped_slashes)?;
        // `/;x/internal`: servlet containers strip `;x`, leaving an empty
        // segment they merge, and serve `/internal`; an app that does not
        // reads a segment named `;x`. No one reading exists, so refuse.
        if segment.starts_with(';') {
            return Err(TargetError::ParametersWithoutName);
        }
        segments.push(segment);
    }
    if options.merge_slashes {
        let last = segments.len() - 1;
        let mut index = 0;
        segments.retain(|s| {
            let keep = !s.is_empty() || index == last;
            index += 1;
            keep
        });
    }
    let mut out: Vec<String> = Vec::with_capacity(segments.len());
    let count = segments.len();
    for (i, segment) in segments.into_iter().enumerate() {
        let is_last = i + 1 == count;
        match dot_kind(&segment) {
            Some(Dots::One) => {
                if is_last {
                    out.push(String::new());
                }
            }
            Some(Dots::Two) => {
                if out.pop().is_none() {
                    return Err(TargetError::AboveRoot);
                }
                if is_last {
                    out.push(String::new());
                }
            }
            None => out.push(segment),
        }
    }
    let mut path = String::with_capacity(raw.len());
    for segment in &out {
        path.push('/');
        path.push_str(segment);
    }
    if path.is_empty() {
        path.push('/');
    }
    Ok(path)
}

enum Dots {
    One,
    Two,
}

/// `.` or `..`, also with `;` parameters (`..;x`), which servlet
/// containers strip before they resolve dot segments.
fn dot_kind(segment: &str) -> Option<Dots> {
    let name = segment.split(';').next().unwrap_or(segment);
    match name {
        "." => Some(Dots::One),
        ".." => Some(Dots::Two),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Bytes a path segment may carry literally besides unreserved ones
/// (RFC 3986 `pchar`: sub-delims, `:` and `@`).
fn is_literal_pchar(b: u8) -> bool {
    matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b':' | b'@')
}

fn is_control(b: u8) -> bool {
    b < 0x20 || b == 0x7f
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// One segment: unreserved escapes decoded, other escapes upper-cased,
/// bytes that may not appear literally escaped. The decoded bytes must be
/// UTF-8, so overlong forms such as `%C0%AE` (a dot to lax decoders)
/// cannot pass as something else.
fn canonical_segment(raw: &[u8], escaped_slashes: EscapedSlashes) -> Result<String, TargetError> {
    let mut out = String::with_capacity(raw.len());
    let mut decoded: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let byte = if b == b'%' {
            let hi = raw.get(i + 1).copied().and_then(hex_value);
            let lo = raw.get(i + 2).copied().and_then(hex_value);
            let (Some(hi), Some(lo)) = (hi, lo) else { return Err(TargetError::BadEscape) };
            i += 3;
            let byte = (hi << 4) | lo;
            if matches!(byte, b'/' | b'\\') && escaped_slashes == EscapedSlashes::Reject {
                return Err(TargetError::EscapedSlash);
            }
            if is_control(byte) {
                return Err(TargetError::ControlCharacter);
            }
            if is_unreserved(byte) {
                out.push(char::from(byte));
            } else {
                let _ = write!(out, "%{byte:02X}");
            }
            byte
        } else {
            i += 1;
            if b == b'\\' {
                return Err(TargetError::Backslash);
            }
            if is_control(b) {
                return Err(TargetError::ControlCharacter);
            }
            if is_unreserved(b) || is_literal_pchar(b) {
                out.push(char::from(b));
            } else {
                let _ = write!(out, "%{b:02X}");
            }
            b
        };
        decoded.push(byte);
    }
    if std::str::from_utf8(&decoded).is_err() {
        return Err(TargetError::NotUtf8);
    }
    Ok(out)
}

/// Whether canonical `path` lies under `prefix` segment by segment, each
/// path segment read by its name before any `;` parameters (as servlet
/// containers read it): `/api` matches `/api`, `/api/x`, `/api;v=1/x`, not
/// `/apix`; `/admin/users` matches `/admin;x/users`. A prefix ending in `/`
/// (such as `/`) matches what lies under it, so `/api/` does not match
/// `/api` itself.
pub fn path_has_prefix(path: &str, prefix: &str) -> bool {
    let Some(prefix) = prefix.strip_prefix('/') else { return false };
    let (prefix, under) = match prefix.strip_suffix('/') {
        Some(p) => (p, true),
        None => (prefix, false),
    };
    let Some(path) = path.strip_prefix('/') else { return false };
    let mut names = path.split('/').map(|segment| segment.split(';').next().unwrap_or(""));
    if !prefix.is_empty() {
        for wanted in prefix.split('/') {
            if names.next() != Some(wanted) {
                return false;
            }
        }
    }
    // `/` (an empty prefix under which all lies) matches every path.
    !under || prefix.is_empty() || names.next().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(path: &str) -> Result<String, TargetError> {
        canonical_path(path, PathOptions::default())
    }

    fn canon_ok(path: &str) -> String {
        canon(path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_attack_spellings_reach_the_guarded_prefix() {
        for attack in [
            "/api/../internal/x",
            "/api/%2e%2e/internal/x",
            "/api/%2E%2e/internal/x",
            "//internal/x",
            "/%69nternal/x",
            "/./internal/x",
            "/api/..;/internal/x",
            "/.;x/internal/x",
            "/api/.%2e/internal/x",
            "/%2E/internal/x",
        ] {
            assert_eq!(canon_ok(attack), "/internal/x", "{attack}");
        }
    }

    #[test]
    fn dot_segments_follow_rfc_3986() {
        assert_eq!(canon_ok("/a/b/c/./../../g"), "/a/g");
        assert_eq!(canon_ok("/a/b/.."), "/a/");
        assert_eq!(canon_ok("/a/b/."), "/a/b/");
        assert_eq!(canon_ok("/a/.."), "/");
        assert_eq!(canon_ok("/."), "/");
        assert_eq!(canon_ok("/"), "/");
        assert_eq!(canon_ok("/a/b/"), "/a/b/");
        assert_eq!(canon_ok("/a..b/.c/c."), "/a..b/.c/c.");
        assert_eq!(canon_ok("/a/...;x"), "/a/...;x");
    }

    #[test]
    fn escapes_are_decoded_when_unreserved_and_upper_cased_otherwise() {
        assert_eq!(canon_ok("/%7euser/%41%2d%5F"), "/~user/A-_");
        assert_eq!(canon_ok("/a%3fb%3Bc%25"), "/a%3Fb%3Bc%25");
        assert_eq!(canon_ok("/caf%c3%a9"), "/caf%C3%A9");
        assert_eq!(canon_ok("/a b\"<>"), "/a%20b%22%3C%3E");
        assert_eq!(canon_ok("/a:b@c;d=e,f"), "/a:b@c;d=e,f");
    }

    #[test]
    fn repeated_slashes_merge_unless_asked_not_to() {
        assert_eq!(canon_ok("//a///b//"), "/a/b/");
        assert_eq!(canon_ok("/a//../b"), "/b");
        let keep = PathOptions { merge_slashes: false, ..PathOptions::default() };
        assert_eq!(canonical_path("//a///b//", keep).unwrap(), "//a///b//");
        assert_eq!(canonical_path("/a//../b", keep).unwrap(), "/a/b");
    }

    #[test]
    fn what_cannot_be_made_canonical_is_refused() {
        for (path, why) in [
            ("/a%2Fb", TargetError::EscapedSlash),
            ("/a%2fb", TargetError::EscapedSlash),
            ("/a%5cb", TargetError::EscapedSlash),
            ("/a%5Cb", TargetError::EscapedSlash),
            ("/a\\b", TargetError::Backslash),
            ("/a%00", TargetError::ControlCharacter),
            ("/a%0d%0a", TargetError::ControlCharacter),
            ("/a\u{7f}", TargetError::ControlCharacter),
            ("/a\tb", TargetError::ControlCharacter),
            ("/a%", TargetError::BadEscape),
            ("/a%2", TargetError::BadEscape),
            ("/a%zz", TargetError::BadEscape),
            ("/%c0%ae%c0%ae/x", TargetError::NotUtf8),
            ("/..", TargetError::AboveRoot),
            ("/a/../..", TargetError::AboveRoot),
            ("/%2e%2e/x", TargetError::AboveRoot),
            ("/..;/x", TargetError::AboveRoot),
            ("//../x", TargetError::AboveRoot),
            ("a/b", TargetError::NotOriginForm),
            ("*", TargetError::NotOriginForm),
            ("", TargetError::NotOriginForm),
        ] {
            assert_eq!(canon(path), Err(why), "{path:?}");
        }
    }

    #[test]
    fn escaped_slashes_can_be_kept_as_part_of_a_segment() {
        let keep = PathOptions { escaped_slashes: EscapedSlashes::Keep, ..PathOptions::default() };
        assert_eq!(canonical_path("/a%2fb/%5c", keep).unwrap(), "/a%2Fb/%5C");
        assert_eq!(canonical_path("/a/..%2f", keep).unwrap(), "/a/..%2F");
    }

    #[test]
    fn the_query_is_kept_as_sent() {
        let t = canonicalize("/a/./b?x=%2e%2e/../&y=%41", PathOptions::default()).unwrap();
        assert_eq!(t.path(), "/a/b");
        assert_eq!(t.query(), Some("x=%2e%2e/../&y=%41"));
        assert_eq!(t.path_and_query(), "/a/b?x=%2e%2e/../&y=%41");
        assert_eq!(canonicalize("/a?", PathOptions::default()).unwrap().path_and_query(), "/a?");
        assert_eq!(canonicalize("/%2e%2e?x", PathOptions::default()), Err(TargetError::AboveRoot));
    }

    #[test]
    fn prefixes_match_whole_segments() {
        assert!(path_has_prefix("/internal", "/internal"));
        assert!(path_has_prefix("/internal/x", "/internal"));
        assert!(path_has_prefix("/internal;jsessionid=1/x", "/internal"));
        assert!(!path_has_prefix("/internalx", "/internal"));
        assert!(!path_has_prefix("/internal%2Fx", "/internal"));
        assert!(path_has_prefix("/anything", "/"));
        assert!(path_has_prefix("/api/v1", "/api/"));
        assert!(!path_has_prefix("/api", "/api/"));
        // Every segment is read by its name, as servlet containers read it.
        assert!(path_has_prefix("/admin;x/users/1", "/admin/users"));
        assert!(path_has_prefix("/admin/users;y", "/admin/users"));
        assert!(!path_has_prefix("/admin;x/usersx", "/admin/users"));
        assert!(path_has_prefix("/api;v=2/", "/api/"));
        assert!(!path_has_prefix("api", "/"));
    }

    proptest::proptest! {
        /// The one-pass check admits only paths the general
        /// canonicalisation leaves as they are.
        #[test]
        fn a_plainly_canonical_path_is_its_own_canonical_form(path in "/[a-zA-Z0-9/.;:%@!~_-]{0,16}") {
            if is_plainly_canonical(path.as_bytes()) {
                for merge_slashes in [true, false] {
                    let options = PathOptions { merge_slashes, ..PathOptions::default() };
                    proptest::prop_assert_eq!(canonical_path_general(path.as_bytes(), options), Ok(path.clone()));
                }
            }
        }
    }

    #[test]
    fn plain_paths_take_the_one_pass_check() {
        for plain in ["/", "/a", "/a/", "/api/v1/users/42", "/a.b/c~d/e:f@g"] {
            assert!(is_plainly_canonical(plain.as_bytes()), "{plain}");
        }
        for other in ["//a", "/a//b", "/./a", "/a/..", "/a/.", "/%41", "/a;b", "/a\\b", "/\u{e9}"] {
            assert!(!is_plainly_canonical(other.as_bytes()), "{other}");
        }
    }

    #[test]
    fn a_segment_of_parameters_alone_is_refused() {
        for path in ["/;x/internal/secret", "/;/internal", "/;jsessionid=1/internal", "/a/;x", "/%3Bx/a"] {
            let got = canon(path);
            if path == "/%3Bx/a" {
                // An escaped `;` is no parameter: it stays escaped, a name.
                assert_eq!(got.as_deref(), Ok("/%3Bx/a"));
            } else {
                assert_eq!(got, Err(TargetError::ParametersWithoutName), "{path}");
            }
        }
    }

    #[test]
    fn canonical_paths_are_fixed_points() {
        for path in ["/a/b/", "/%C3%A9", "/a;b/c", "/~x", "/a%25b", "/.../x"] {
            assert_eq!(canon_ok(path), path);
        }
    }
}
