use super::*;
use crate::mask::{Charset, ContentKind};

fn route(name: &str, prefix: &str, peers: PeerRule) -> Route {
    Route {
        name: name.into(),
        path_prefix: prefix.into(),
        host: None,
        methods: vec![],
        peers,
        upstream: 0,
        request: BodyRule::passthrough(),
        response: BodyRule::passthrough(),
        max_request_bytes: 1 << 20,
    }
}

fn peer(uri: &str) -> PeerIdentity {
    PeerIdentity { uris: vec![uri.into()], dns_names: vec![] }
}

const BILLING: &str = "spiffe://td/ns/billing/sa/billing";

#[test]
fn first_matching_route_decides_then_identity_admits() {
    let policy = InboundPolicy {
        routes: vec![
            route("admin", "/admin", PeerRule::Only(vec!["spiffe://td/ns/ops/sa/ops".into()])),
            route("api", "/", PeerRule::Only(vec![BILLING.into()])),
        ],
        paths: PathOptions::default(),
        xfcc: Xfcc::Sanitize,
    };
    let billing = peer(BILLING);
    assert_eq!(policy.decide(&Method::GET, None, "/api/x", Some(&billing)).unwrap().name, "api");
    assert_eq!(policy.decide(&Method::GET, None, "/admin/x", Some(&billing)).unwrap_err(), Refusal::PeerNotAllowed);
    assert_eq!(policy.decide(&Method::GET, None, "/adminx", Some(&billing)).unwrap().name, "api");
    assert_eq!(policy.decide(&Method::GET, None, "/api", None).unwrap_err(), Refusal::NoCertificate);
}

#[test]
fn host_and_method_narrow_a_route() {
    let mut r = route("ro", "/", PeerRule::Anyone);
    r.host = Some("api.example".into());
    r.methods = vec![Method::GET];
    let policy = InboundPolicy { routes: vec![r], paths: PathOptions::default(), xfcc: Xfcc::Sanitize };
    assert!(policy.decide(&Method::GET, Some("api.example:8443"), "/", None).is_ok());
    assert_eq!(policy.decide(&Method::POST, Some("api.example"), "/", None).unwrap_err(), Refusal::NoRoute);
    assert_eq!(policy.decide(&Method::GET, Some("other"), "/", None).unwrap_err(), Refusal::NoRoute);
    assert_eq!(policy.decide(&Method::GET, None, "/", None).unwrap_err(), Refusal::NoRoute);
}

#[test]
fn path_prefixes_stop_at_segment_boundaries() {
    assert!(path_has_prefix("/api", "/api"));
    assert!(path_has_prefix("/api/v1", "/api"));
    assert!(path_has_prefix("/api;v=1/x", "/api"));
    assert!(!path_has_prefix("/apis", "/api"));
    assert!(path_has_prefix("/anything", "/"));
}

#[test]
fn ports_are_ignored_in_hosts() {
    assert_eq!(strip_port("a.b:80"), "a.b");
    assert_eq!(strip_port("a.b"), "a.b");
    assert_eq!(strip_port("[::1]:443"), "::1");
}

#[test]
fn content_types_choose_the_lexer() {
    let parsed = |kind| TypeClass::Parsed(kind);
    assert_eq!(classify(Some("application/json; charset=utf-8")), parsed(ContentKind::Json));
    assert_eq!(classify(Some("application/problem+json")), parsed(ContentKind::Json));
    assert_eq!(classify(Some("application/x-ndjson")), parsed(ContentKind::Ndjson));
    assert_eq!(classify(Some("text/html")), parsed(ContentKind::Text));
    assert_eq!(classify(Some("application/x-www-form-urlencoded; charset=UTF-8")), parsed(ContentKind::Form));
    assert!(matches!(
        classify(Some("multipart/form-data; boundary=xyz")),
        TypeClass::Parsed(ContentKind::Multipart(_))
    ));
    assert_eq!(classify(Some("multipart/form-data")), parsed(ContentKind::Text));
    assert_eq!(classify(Some("image/svg+xml")), parsed(ContentKind::Text));
    assert_eq!(classify(Some("application/vnd.api+json")), parsed(ContentKind::Json));
    assert_eq!(classify(Some("application/x-unknown")), TypeClass::Other);
}

#[test]
fn binary_types_are_told_apart() {
    use BinaryKind::{Grpc, Media, Protobuf};
    for (ct, kind) in [
        ("application/grpc", Grpc),
        ("Application/GRPC+proto", Grpc),
        ("application/grpc+json", Grpc),
        ("application/grpc-web", Grpc),
        ("application/grpc-web-text+proto", Grpc),
        ("application/protobuf", Protobuf),
        ("application/x-protobuf; messageType=\"x.Y\"", Protobuf),
        ("application/vnd.google.protobuf", Protobuf),
        ("image/png", Media),
        ("audio/ogg", Media),
        ("video/mp4", Media),
        ("font/woff2", Media),
        ("application/zip", Media),
        ("application/gzip", Media),
        ("application/x-tar", Media),
        ("application/pdf", Media),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", Media),
        ("application/epub+zip", Media),
    ] {
        assert_eq!(classify(Some(ct)), TypeClass::Binary(kind), "{ct}");
    }
    // Only the bytes can tell: octet-stream is not protobuf.
    for ct in [None, Some("application/octet-stream"), Some(""), Some("nonsense")] {
        assert_eq!(classify(ct), TypeClass::Sniff, "{ct:?}");
    }
}

fn masker() -> Arc<crate::mask::Masker> {
    Arc::new(crate::mask::Masker::new(&crate::patterns::default_config()).unwrap())
}

#[test]
fn other_types_follow_the_rule() {
    let mut rule = BodyRule::mask(masker());
    assert!(matches!(rule.plan(Some("application/x-thing")), BodyPlan::Mask(_, ContentKind::Text, None, None)));
    rule.other_types = OtherTypes::Block;
    assert!(matches!(rule.plan(Some("application/x-thing")), BodyPlan::Block));
    rule.other_types = OtherTypes::Pass;
    assert!(matches!(rule.plan(Some("application/x-thing")), BodyPlan::Pass));
    assert!(matches!(
        rule.plan(Some("application/json")),
        BodyPlan::Mask(_, ContentKind::Json, Some(Charset::Utf8), None)
    ));
    assert!(matches!(BodyRule::passthrough().plan(Some("application/json")), BodyPlan::Pass));
    // Binary types are not "other" types: `other_types` does not reach them.
    assert!(matches!(rule.plan(Some("image/png")), BodyPlan::Sniff));
}

#[test]
fn binary_bodies_follow_binary() {
    use BinaryKind::{Grpc, Media, Protobuf};
    let mut rule = BodyRule::mask(masker());
    assert!(matches!(rule.plan(Some("application/grpc")), BodyPlan::BlockBinary(Grpc)));
    assert!(matches!(rule.plan(Some("application/x-protobuf")), BodyPlan::BlockBinary(Protobuf)));
    assert!(matches!(rule.plan(Some("image/png")), BodyPlan::Sniff));
    rule.binary = Binary::Pass;
    assert!(matches!(rule.plan(Some("application/grpc")), BodyPlan::PassBinary(Grpc)));
    assert!(matches!(rule.plan(Some("image/png")), BodyPlan::Sniff));
    rule.binary = Binary::Block;
    assert!(matches!(rule.plan(Some("application/grpc")), BodyPlan::BlockBinary(Grpc)));
    assert!(matches!(rule.plan(Some("image/png")), BodyPlan::BlockBinary(Media)));
    assert!(matches!(BodyRule::passthrough().plan(Some("application/grpc")), BodyPlan::Pass));
}

#[test]
fn untyped_bodies_are_judged_by_their_first_bytes() {
    let mut rule = BodyRule::mask(masker());
    assert!(matches!(rule.plan(None), BodyPlan::Sniff));
    assert!(matches!(rule.plan(Some("application/octet-stream")), BodyPlan::Sniff));
    assert!(matches!(
        rule.plan_sniffed(b"ana@example.com wrote"),
        BodyPlan::Mask(_, ContentKind::Text, Some(Charset::Utf8), None)
    ));
    assert!(matches!(rule.plan_sniffed(b"\x89PNG\r\n\x1A\n"), BodyPlan::PassBinary(BinaryKind::Media)));
    // A type that says media is judged by its bytes too: a CSV export
    // served as a spreadsheet is text.
    assert!(matches!(rule.plan(Some("application/vnd.ms-excel")), BodyPlan::Sniff));
    assert!(matches!(rule.plan_sniffed(b"name,email\nAna,ana@example.com\n"), BodyPlan::Mask(..)));
    rule.binary = Binary::Block;
    assert!(matches!(rule.plan_sniffed(b"\x00\x01ana@example.com"), BodyPlan::BlockBinary(BinaryKind::Media)));
    assert!(matches!(rule.plan_as_text(), BodyPlan::Mask(_, ContentKind::Text, Some(Charset::Utf8), None)));
    assert!(matches!(BodyRule::passthrough().plan(None), BodyPlan::Pass));
}

#[test]
fn the_charset_parameter_is_read_as_rfc_9110_writes_it() {
    let utf16 = Ok(Some(Charset::Utf16));
    assert_eq!(declared_charset(None), Ok(None));
    assert_eq!(declared_charset(Some("application/json")), Ok(None));
    assert_eq!(declared_charset(Some("application/json;charset=utf-16")), utf16);
    assert_eq!(declared_charset(Some("application/json ; CharSet = \"UTF-16\" ")), utf16);
    assert_eq!(declared_charset(Some("text/plain; format=flowed;\tcharset=Utf-16;")), utf16);
    assert_eq!(declared_charset(Some(r#"text/plain; x="a;charset=utf-8\"; charset=latin1"; charset=utf-16"#)), utf16);
    assert_eq!(declared_charset(Some("text/plain; charset=utf-16; charset=UTF-16")), utf16);
    assert_eq!(declared_charset(Some("text/plain; broken; charset=utf-16")), utf16);
    assert_eq!(
        declared_charset(Some(r#"text/plain; charset="shift\_jis""#)),
        Ok(Some(Charset::from_label("sjis").unwrap()))
    );
    assert_eq!(declared_charset(Some("text/plain; mycharset=utf-16")), Ok(None));
    assert_eq!(declared_charset(Some("text/plain; charset=utf-8; charset=utf-16")), Err(UnknownCharset));
    for unknown in ["klingon", "", "\"\"", "iso-2022-kr", "\"utf-16"] {
        let ct = format!("text/plain; charset={unknown}");
        let expected = if unknown == "\"utf-16" { utf16 } else { Err(UnknownCharset) };
        assert_eq!(declared_charset(Some(&ct)), expected, "{ct}");
    }
}

#[test]
fn an_unknown_charset_is_blocked_unless_other_types_pass() {
    let masker = std::sync::Arc::new(crate::mask::Masker::new(&crate::patterns::default_config()).unwrap());
    let mut rule = BodyRule::mask(masker);
    let sjis = Charset::from_label("shift_jis");
    for ct in ["text/plain; charset=x-klingon", "application/json; charset=utf-7", "application/x-thing; charset=nope"]
    {
        rule.other_types = OtherTypes::Text;
        assert!(matches!(rule.plan(Some(ct)), BodyPlan::UnknownCharset), "{ct}");
        rule.other_types = OtherTypes::Block;
        assert!(matches!(rule.plan(Some(ct)), BodyPlan::UnknownCharset), "{ct}");
        rule.other_types = OtherTypes::Pass;
        assert!(matches!(rule.plan(Some(ct)), BodyPlan::Pass), "{ct}");
    }
    rule.other_types = OtherTypes::Text;
    assert!(
        matches!(rule.plan(Some("text/csv; charset=sjis")), BodyPlan::Mask(_, ContentKind::Text, c, None) if c == sjis)
    );
    assert!(matches!(rule.plan(Some("application/x-thing; charset=sjis")), BodyPlan::Mask(_, _, c, _) if c == sjis));
    assert!(matches!(rule.plan(Some("application/x-thing; charset=utf-8")), BodyPlan::Mask(_, _, None, _)));
    // Binary types are judged as binary whatever charset they claim.
    assert!(matches!(rule.plan(Some("image/png; charset=nope")), BodyPlan::Sniff));
}

#[test]
fn egress_peers_by_host() {
    let p = Arc::new(Peer {
        name: "billing".into(),
        hosts: vec!["billing.svc".into()],
        address: "127.0.0.1:1".into(),
        identity: BILLING.into(),
        request: BodyRule::passthrough(),
        mask_headers: vec![],
        mask_query: false,
        request_head: RequestHead::Refuse,
        max_request_bytes: 1 << 20,
    });
    let e = EgressPolicy { peers: vec![p], opaque_tls: vec!["api.stripe.com:443".into()] };
    assert_eq!(e.peer_for("Billing.svc:80").unwrap().1.name, "billing");
    assert!(e.peer_for("evil.svc").is_none());
    assert!(e.allows_opaque("api.stripe.com:443"));
    assert!(!e.allows_opaque("api.stripe.com:8443"));
}

#[test]
fn a_multipart_boundary_a_receiver_could_read_otherwise_is_refused() {
    let rule = BodyRule::mask(masker());
    for ct in [
        format!("multipart/form-data; boundary={}", "Q".repeat(75)),
        "multipart/mixed; boundary=\"B \"".into(),
        "Multipart/Mixed; boundary*=us-ascii''B".into(),
        "multipart/mixed; boundary*0=B; boundary*1=B".into(),
        "multipart/mixed; boundary=a; boundary=b".into(),
    ] {
        let plan = rule.plan(Some(&ct));
        assert!(
            matches!(plan, BodyPlan::Multipart(crate::mask::multipart::MultipartError::Boundary)),
            "{ct}: {plan:?}"
        );
    }
    assert!(matches!(
        rule.plan(Some("multipart/mixed; boundary=B")),
        BodyPlan::Mask(_, ContentKind::Multipart(_), _, _)
    ));
    for ct in ["message/rfc822", "Message/Global; charset=utf-8"] {
        assert!(matches!(rule.plan(Some(ct)), BodyPlan::Message), "{ct}");
    }
    let digest = rule.plan(Some("multipart/digest; boundary=B"));
    assert!(matches!(digest, BodyPlan::Multipart(crate::mask::multipart::MultipartError::Message)), "{digest:?}");
    // Without a boundary a receiver finds no parts either: text.
    assert!(matches!(rule.plan(Some("multipart/mixed")), BodyPlan::Mask(_, ContentKind::Text, _, _)));
    assert!(matches!(BodyRule::passthrough().plan(Some("multipart/mixed; boundary*=x")), BodyPlan::Pass));
}
