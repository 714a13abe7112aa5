//! What one exchange leaves behind: metrics and, for every request that
//! masked, blocked or refused something, one audit event (tracing target
//! `piimask::audit`, JSON in the logs) with the time, listener, route, peer
//! identity, direction, counts per detector and rule, and the action —
//! never a masked value or any other body byte.

use std::sync::Arc;
use std::time::Instant;

use super::body::OnFinish;
use super::respond::{Outcome, Refused};
use crate::mask::Stats;
use crate::metrics::{Metrics, status_class};
use crate::policy::BinaryKind;

/// The labels of one request, filled in as it is routed.
pub struct Exchange {
    pub metrics: Arc<Metrics>,
    pub listener: &'static str,
    /// The route (inbound) or peer (egress) name; `none` before routing.
    pub route: String,
    /// The peer as the config names it (the allow-list entry that admitted
    /// it, `any`, or `unlisted`): bounded, for metrics.
    pub peer_label: String,
    /// The peer's verified identity as presented, for audit events.
    pub peer: String,
    /// The upstream or peer contacted, for upstream error metrics.
    pub upstream: String,
    /// A refusal's longer sentence, made from config names only: the
    /// answer's body and the audit event's `detail`.
    pub detail: Option<String>,
    method: http::Method,
    access_log: bool,
    started: Instant,
}

impl Exchange {
    /// `access_log` adds one event per request (target `piimask::access`):
    /// method, route, peer, status, outcome and duration — not the path,
    /// which may itself carry personal data.
    pub fn new(
        metrics: Arc<Metrics>,
        listener: &'static str,
        peer: String,
        method: http::Method,
        access_log: bool,
    ) -> Exchange {
        Exchange {
            metrics,
            listener,
            route: "none".into(),
            peer_label: "unlisted".into(),
            peer,
            upstream: String::new(),
            detail: None,
            method,
            access_log,
            started: Instant::now(),
        }
    }

    /// The response for the request's outcome, recorded: the forwarded
    /// response, or piimask's own answer when it refused.
    pub fn respond(
        self,
        outcome: Result<http::Response<super::respond::ProxyBody>, Refused>,
    ) -> http::Response<super::respond::ProxyBody> {
        let (response, refused) = match outcome {
            Ok(response) => (response, None),
            Err(refused) => match &self.detail {
                Some(detail) => (refused.into_response_with(detail), Some(refused)),
                None => (refused.into_response(), Some(refused)),
            },
        };
        self.finish(response.status(), refused);
        response
    }

    /// Records how the request ended; `refused` carries the reason when
    /// piimask answered itself.
    fn finish(&self, status: http::StatusCode, refused: Option<Refused>) {
        let outcome = refused.map_or(Outcome::Forwarded, |r| r.outcome);
        let m = &self.metrics;
        m.requests.with_label_values(&[self.listener, &self.route, &self.peer_label, outcome.label()]).inc();
        m.responses.with_label_values(&[self.listener, &self.route, status_class(status.as_u16())]).inc();
        let seconds = self.started.elapsed().as_secs_f64();
        m.request_duration.with_label_values(&[self.listener, &self.route]).observe(seconds);
        if self.access_log {
            tracing::info!(
                target: "piimask::access",
                listener = self.listener,
                route = %self.route,
                peer = %self.peer,
                method = %self.method,
                status = status.as_u16(),
                outcome = outcome.label(),
                duration_ms = seconds * 1000.0,
                "request"
            );
        }
        let Some(r) = refused else { return };
        match r.outcome {
            Outcome::Refused => {
                m.peers_refused.with_label_values(&[self.listener, r.code]).inc();
                tracing::info!(
                    target: "piimask::audit",
                    event = "refused",
                    listener = self.listener,
                    route = %self.route,
                    peer = %self.peer,
                    reason = r.code,
                    detail = self.detail.as_deref().unwrap_or(""),
                    status = status.as_u16(),
                    "peer refused"
                );
            }
            Outcome::Blocked => {
                m.bodies_blocked.with_label_values(&[self.listener, &self.route, r.direction(), r.code]).inc();
                tracing::info!(
                    target: "piimask::audit",
                    event = "blocked",
                    listener = self.listener,
                    route = %self.route,
                    peer = %self.peer,
                    direction = r.direction(),
                    reason = r.code,
                    status = status.as_u16(),
                    "body blocked"
                );
            }
            Outcome::UpstreamError => {
                m.upstream_errors.with_label_values(&[&self.upstream, r.code]).inc();
            }
            Outcome::Rejected | Outcome::Forwarded => {}
        }
    }

    /// Records a binary body passed without masking: counted, and one
    /// audit event (reason `binary_passed`, the kind, no body byte).
    pub fn binary_passed(&self, direction: &'static str, kind: BinaryKind) {
        self.metrics
            .bodies_passed_unmasked
            .with_label_values(&[self.listener, &self.route, direction, kind.label()])
            .inc();
        tracing::info!(
            target: "piimask::audit",
            event = "passed_unmasked",
            listener = self.listener,
            route = %self.route,
            peer = %self.peer,
            direction,
            reason = "binary_passed",
            kind = kind.label(),
            "binary body passed unmasked"
        );
    }

    /// The report a `MaskBody` calls when its stream ends: counts into the
    /// metrics, and an audit event if anything was masked.
    pub fn mask_report(&self, direction: &'static str) -> OnFinish {
        self.part_report(direction, "body")
    }

    /// The report for one part of a message (`body`, `headers` or
    /// `trailers`): values masked there are counted in the same metric as
    /// the body's, and audited with the part named. Only a body counts
    /// bytes.
    pub fn part_report(&self, direction: &'static str, part: &'static str) -> OnFinish {
        let metrics = self.metrics.clone();
        let (listener, route, peer) = (self.listener, self.route.clone(), self.peer.clone());
        Box::new(move |stats: &Stats| {
            if part == "body" {
                metrics.body_bytes.with_label_values(&[listener, direction, "in"]).inc_by(stats.bytes_in);
                metrics.body_bytes.with_label_values(&[listener, direction, "out"]).inc_by(stats.bytes_out);
            }
            let mut counts = String::new();
            for (kind, list) in [("detector", &stats.detectors), ("rule", &stats.rules)] {
                for (name, n) in list {
                    metrics.masked_values.with_label_values(&[listener, &route, direction, kind, name]).inc_by(*n);
                    if !counts.is_empty() {
                        counts.push(' ');
                    }
                    counts.push_str(&format!("{name}={n}"));
                }
            }
            if !counts.is_empty() {
                tracing::info!(
                    target: "piimask::audit",
                    event = "masked",
                    listener,
                    route = %route,
                    peer = %peer,
                    direction,
                    part,
                    counts = %counts,
                    total = stats.total(),
                    "values masked"
                );
            }
        })
    }
}
