//! The router on arbitrary request targets and hosts: canonicalising
//! twice changes nothing, nothing panics, and the route chosen on the
//! canonical path is the route an independent RFC 3986 normaliser (written
//! here, not the router's code) chooses on the forwarded path, and on the
//! raw one when it stays under the root.
#![no_main]

use http::Method;
use libfuzzer_sys::fuzz_target;
use piimask::policy::{
    BodyRule, EscapedSlashes, InboundPolicy, PathOptions, PeerRule, Route, authority, target,
};

/// Most specific first, so the first match is the longest prefix.
const PREFIXES: &[&str] = &["/internal/admin", "/internal", "/api/v1", "/api", "/"];

/// The input: one line of target, one of host, and the listener options.
fn split(data: &[u8]) -> Option<(&str, &str, PathOptions)> {
    let (&flags, rest) = data.split_first()?;
    let text = std::str::from_utf8(rest).ok()?;
    let (target, host) = text.split_once('\n').unwrap_or((text, "localhost"));
    let options = PathOptions {
        merge_slashes: flags & 1 == 0,
        escaped_slashes: if flags & 2 == 0 { EscapedSlashes::Reject } else { EscapedSlashes::Keep },
    };
    Some((target, host, options))
}

fuzz_target!(|data: &[u8]| {
    let Some((raw, host, options)) = split(data) else { return };
    if let Ok(canonical) = authority::canonical_authority(host, 443) {
        assert_eq!(authority::canonical_authority(&canonical, 443).as_deref(), Ok(canonical.as_str()));
    }
    let Ok(canonical) = target::canonicalize(raw, options) else { return };
    assert_eq!(target::canonicalize(&canonical.path_and_query(), options).as_ref(), Ok(&canonical));
    assert_eq!(canonical.query(), raw.split_once('?').map(|(_, q)| q));
    let routes = PREFIXES.iter().map(|p| route(p)).collect();
    let policy = InboundPolicy { routes, paths: options, ..InboundPolicy::default() };
    let chosen = policy.route_for(&Method::GET, None, canonical.path()).map(|r| r.name.as_str());
    assert_eq!(chosen, Some(longest_prefix(canonical.path())), "{raw:?} as {}", canonical.path());
    // With escaped slashes kept or slashes unmerged an app may read more;
    // the independent reading is asserted for the safe defaults.
    if options == PathOptions::default() {
        let forwarded = independent_normalise(canonical.path().as_bytes());
        assert_eq!(forwarded.as_deref(), Some(canonical.path()), "{raw:?}");
        let raw_path = raw.split('?').next().unwrap_or("");
        if let Some(view) = independent_normalise(raw_path.as_bytes()) {
            assert_eq!(longest_prefix(&view), chosen.unwrap_or(""), "{raw:?} read by an app as {view:?}");
        }
    }
});

fn route(prefix: &str) -> Route {
    Route {
        name: prefix.into(),
        path_prefix: prefix.into(),
        host: None,
        methods: vec![],
        peers: PeerRule::Anyone,
        upstream: 0,
        request: BodyRule::passthrough(),
        response: BodyRule::passthrough(),
        max_request_bytes: 1 << 20,
    }
}

/// The longest prefix the path lies under as a servlet container reads
/// it: each segment by its name before any `;` parameters.
fn longest_prefix(path: &str) -> &'static str {
    let names: Vec<&str> = path.split('/').map(|segment| segment.split(';').next().unwrap_or("")).collect();
    let names = names.join("/");
    PREFIXES
        .iter()
        .copied()
        .filter(|p| *p == "/" || names == *p || names.starts_with(&format!("{p}/")))
        .max_by_key(|p| p.len())
        .unwrap_or("/")
}

/// An app's reading: unreserved escapes decoded (others upper-cased),
/// slashes merged, `;` parameters dropped from dot segments, then RFC 3986
/// §5.2.4 segment by segment. `None` above the root.
fn independent_normalise(path: &[u8]) -> Option<String> {
    let mut decoded = Vec::new();
    let mut i = 0;
    while i < path.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (path[i], path.get(i + 1).copied().and_then(hex), path.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                let v = (h * 16 + l) as u8;
                if v.is_ascii_alphanumeric() || b"-._~".contains(&v) {
                    decoded.push(v);
                } else {
                    decoded.extend(format!("%{v:02X}").bytes());
                }
                i += 3;
            }
            (b, _, _) => {
                decoded.push(b);
                i += 1;
            }
        }
    }
    let text = String::from_utf8_lossy(&decoded).into_owned();
    let segments: Vec<&str> = text.split('/').skip(1).collect();
    let count = segments.len();
    let mut out: Vec<&str> = Vec::new();
    for (n, segment) in segments.into_iter().enumerate() {
        let last = n + 1 == count;
        if segment.is_empty() && !last {
            continue;
        }
        let name = segment.split(';').next().unwrap_or("");
        if name == ".." {
            out.pop()?;
        }
        if name == "." || name == ".." {
            if last {
                out.push("");
            }
            continue;
        }
        out.push(segment);
    }
    Some(format!("/{}", out.join("/")))
}
