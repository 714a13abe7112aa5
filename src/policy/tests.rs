use super::*;
use crate::mask::ContentKind;

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
    assert_eq!(content_kind(Some("application/json; charset=utf-8")), Some(ContentKind::Json));
    assert_eq!(content_kind(Some("application/problem+json")), Some(ContentKind::Json));
    assert_eq!(content_kind(Some("application/x-ndjson")), Some(ContentKind::Ndjson));
    assert_eq!(content_kind(Some("text/html")), Some(ContentKind::Text));
    assert_eq!(content_kind(Some("application/x-www-form-urlencoded")), Some(ContentKind::Text));
    assert_eq!(content_kind(None), Some(ContentKind::Text));
    assert_eq!(content_kind(Some("image/png")), None);
    assert_eq!(content_kind(Some("application/octet-stream")), None);
}

#[test]
fn other_types_follow_the_rule() {
    let masker = std::sync::Arc::new(crate::mask::Masker::new(&crate::patterns::default_config()).unwrap());
    let mut rule = BodyRule::mask(masker);
    assert!(matches!(rule.plan(Some("image/png")), BodyPlan::Mask(_, ContentKind::Text)));
    rule.other_types = OtherTypes::Block;
    assert!(matches!(rule.plan(Some("image/png")), BodyPlan::Block));
    rule.other_types = OtherTypes::Pass;
    assert!(matches!(rule.plan(Some("image/png")), BodyPlan::Pass));
    assert!(matches!(rule.plan(Some("application/json")), BodyPlan::Mask(_, ContentKind::Json)));
    assert!(matches!(BodyRule::passthrough().plan(Some("application/json")), BodyPlan::Pass));
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
