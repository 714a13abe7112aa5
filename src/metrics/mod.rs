//! The Prometheus registry and every metric piimask exports (prefix
//! `piimask_`, unit suffixes, bounded labels: listener, route, configured
//! peer identity, detector or rule name, reason, status class — never raw
//! paths, hosts, identities from the wire or values). Depends on
//! prometheus only.

use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    /// Requests by how they ended: `forwarded`, `refused`, `blocked`,
    /// `upstream_error`.
    pub requests: IntCounterVec,
    /// Responses sent to clients by status class (`2xx` … `5xx`).
    pub responses: IntCounterVec,
    pub request_duration: HistogramVec,
    /// Body bytes through the masking engine, before (`in`) and after (`out`).
    pub body_bytes: IntCounterVec,
    /// Values masked, by detector or field rule.
    pub masked_values: IntCounterVec,
    pub bodies_blocked: IntCounterVec,
    pub bodies_passed_unmasked: IntCounterVec,
    pub peers_refused: IntCounterVec,
    pub tls_handshake_failures: IntCounterVec,
    pub upstream_errors: IntCounterVec,
    pub open_connections: IntGaugeVec,
    pub certificate_expiry: GaugeVec,
    pub reloads: IntCounterVec,
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels).expect("static metric definition");
            registry.register(Box::new(c.clone())).expect("metric names are unique");
            c
        };
        let requests = counter(
            "piimask_requests_total",
            "Requests by listener, route, configured peer and outcome.",
            &["listener", "route", "peer", "outcome"],
        );
        let responses = counter(
            "piimask_responses_total",
            "Responses sent by listener, route and status class.",
            &["listener", "route", "status_class"],
        );
        let body_bytes = counter(
            "piimask_body_bytes_total",
            "Body bytes through the masking engine, before (in) and after (out) masking.",
            &["listener", "direction", "stage"],
        );
        let masked_values = counter(
            "piimask_masked_values_total",
            "Values masked, by detector or field rule.",
            &["listener", "route", "direction", "kind", "name"],
        );
        let bodies_blocked = counter(
            "piimask_bodies_blocked_total",
            "Bodies blocked instead of forwarded, and why.",
            &["listener", "route", "direction", "reason"],
        );
        let bodies_passed_unmasked = counter(
            "piimask_bodies_passed_unmasked_total",
            "Binary bodies passed without masking (media, archives; gRPC and protobuf under `binary: pass`), by kind.",
            &["listener", "route", "direction", "kind"],
        );
        let peers_refused =
            counter("piimask_peers_refused_total", "Requests refused by the policy, and why.", &["listener", "reason"]);
        let tls_handshake_failures =
            counter("piimask_tls_handshake_failures_total", "Failed TLS handshakes, and why.", &["listener", "reason"]);
        let upstream_errors =
            counter("piimask_upstream_errors_total", "Failed upstream exchanges, and how.", &["upstream", "kind"]);
        let reloads = counter(
            "piimask_reloads_total",
            "Certificate and configuration reloads and their result.",
            &["what", "result"],
        );
        let request_duration = HistogramVec::new(
            HistogramOpts::new("piimask_request_duration_seconds", "Time from request head to response head.")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["listener", "route"],
        )
        .expect("static metric definition");
        registry.register(Box::new(request_duration.clone())).expect("metric names are unique");
        let open_connections =
            IntGaugeVec::new(Opts::new("piimask_open_connections", "Open client connections."), &["listener"])
                .expect("static metric definition");
        registry.register(Box::new(open_connections.clone())).expect("metric names are unique");
        let certificate_expiry = GaugeVec::new(
            Opts::new(
                "piimask_certificate_expiry_timestamp_seconds",
                "When the loaded workload certificate expires (Unix time).",
            ),
            &["listener"],
        )
        .expect("static metric definition");
        registry.register(Box::new(certificate_expiry.clone())).expect("metric names are unique");
        Metrics {
            registry,
            requests,
            responses,
            request_duration,
            body_bytes,
            masked_values,
            bodies_blocked,
            bodies_passed_unmasked,
            peers_refused,
            tls_handshake_failures,
            upstream_errors,
            open_connections,
            certificate_expiry,
            reloads,
        }
    }

    /// The name of every metric family (histograms without their
    /// `_bucket`/`_sum`/`_count` suffixes), whether or not it has samples yet.
    pub fn names(&self) -> Vec<String> {
        use prometheus::core::Collector;
        let collectors: [&dyn Collector; 13] = [
            &self.requests,
            &self.responses,
            &self.request_duration,
            &self.body_bytes,
            &self.masked_values,
            &self.bodies_blocked,
            &self.bodies_passed_unmasked,
            &self.peers_refused,
            &self.tls_handshake_failures,
            &self.upstream_errors,
            &self.open_connections,
            &self.certificate_expiry,
            &self.reloads,
        ];
        collectors.iter().flat_map(|c| c.desc()).map(|d| d.fq_name.clone()).collect()
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for the text format.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// `2xx`, `4xx`… for a status code.
pub fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_with_prefix_and_labels() {
        let m = Metrics::new();
        m.requests.with_label_values(&["inbound", "api", "any", "forwarded"]).inc();
        m.open_connections.with_label_values(&["inbound"]).set(3);
        let text = m.render();
        assert!(
            text.contains(r#"piimask_requests_total{listener="inbound",outcome="forwarded",peer="any",route="api"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"piimask_open_connections{listener="inbound"} 3"#), "{text}");
        assert_eq!(status_class(503), "5xx");
    }
}

#[cfg(test)]
mod dashboard_tests {
    use super::*;

    /// The Grafana dashboard in deploy/ is valid JSON and queries only
    /// metrics piimask exports.
    #[test]
    fn the_dashboard_queries_only_exported_metrics() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/piimask-dashboard.json");
        let dashboard: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("dashboard file")).expect("valid JSON");
        let names = Metrics::new().names();
        let panels = dashboard["panels"].as_array().expect("panels");
        assert!(panels.len() >= 6);
        let mut queried = 0;
        for panel in panels {
            for target in panel["targets"].as_array().expect("targets") {
                let expr = target["expr"].as_str().expect("expr");
                let used: Vec<&str> = expr
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|w| w.starts_with("piimask_"))
                    .collect();
                assert!(!used.is_empty(), "a panel without a piimask metric: {expr}");
                for name in used {
                    let base = ["_bucket", "_sum", "_count"].iter().fold(name, |n, s| n.strip_suffix(s).unwrap_or(n));
                    assert!(names.iter().any(|n| n == base), "{name} is not exported (panel {})", panel["title"]);
                    queried += 1;
                }
            }
        }
        assert!(queried >= 12);
        for required in ["piimask_requests_total", "piimask_masked_values_total", "piimask_peers_refused_total"] {
            assert!(dashboard.to_string().contains(required), "{required} is not on the dashboard");
        }
    }
}
