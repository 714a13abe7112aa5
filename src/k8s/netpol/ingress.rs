//! Connections that Ingress and OpenShift Route objects open from the
//! ingress controller to the workloads behind their Services, printed with
//! the source `{ingress-controller}` as netpol-analyzer does. The
//! controller is modelled as a pod with no labels in a namespace of its own
//! (`ingress-controller-ns`): a NetworkPolicy admits it only through rules
//! that admit every namespace or every source.

use serde_json::Value;

use super::manifests::{Labels, Workload, labels_at, namespace_of, str_at};
use super::ports::{ConnSet, PortSet, Protocol};

pub const CONTROLLER: &str = "{ingress-controller}";
pub const CONTROLLER_NAMESPACE: &str = "ingress-controller-ns";

#[derive(Debug, Clone)]
enum Target {
    Number(u16),
    Named(String),
}

#[derive(Debug, Clone)]
struct ServicePort {
    name: Option<String>,
    port: u16,
    target: Target,
    protocol: Protocol,
}

#[derive(Debug, Clone)]
pub struct Service {
    namespace: String,
    name: String,
    selector: Labels,
    ports: Vec<ServicePort>,
}

/// Which port of a Service an Ingress or Route sends traffic to.
#[derive(Debug, Clone)]
enum PortRef {
    /// Every port of the Service (a Route without `port`).
    Any,
    Number(u16),
    Name(String),
}

/// One backend an Ingress or Route exposes.
#[derive(Debug, Clone)]
pub struct Exposure {
    namespace: String,
    service: String,
    port: PortRef,
}

fn target(v: Option<&Value>, fallback: u16) -> Target {
    match v {
        Some(Value::Number(n)) => Target::Number(n.as_u64().and_then(|n| u16::try_from(n).ok()).unwrap_or(fallback)),
        Some(Value::String(s)) => s.parse().map(Target::Number).unwrap_or_else(|_| Target::Named(s.clone())),
        _ => Target::Number(fallback),
    }
}

pub fn parse_service(v: &Value) -> Option<Service> {
    if v.get("kind")?.as_str()? != "Service" {
        return None;
    }
    let spec = v.get("spec")?;
    let ports = spec
        .get("ports")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let port = p.get("port")?.as_u64().and_then(|n| u16::try_from(n).ok())?;
            Some(ServicePort {
                name: p.get("name").and_then(Value::as_str).map(str::to_string),
                port,
                target: target(p.get("targetPort"), port),
                protocol: p.get("protocol").and_then(Value::as_str).and_then(Protocol::parse).unwrap_or(Protocol::Tcp),
            })
        })
        .collect();
    Some(Service {
        namespace: namespace_of(v),
        name: str_at(v, &["metadata", "name"])?.to_string(),
        selector: labels_at(spec, &["selector"]),
        ports,
    })
}

/// The backends of a Route or an Ingress (rules and default backend).
pub fn parse_exposures(v: &Value) -> Vec<Exposure> {
    let namespace = namespace_of(v);
    let exposure =
        |service: &str, port: PortRef| Exposure { namespace: namespace.clone(), service: service.into(), port };
    match v.get("kind").and_then(Value::as_str) {
        Some("Route") => {
            let Some(service) = str_at(v, &["spec", "to", "name"]) else { return Vec::new() };
            let port = match v.get("spec").and_then(|s| s.get("port")).and_then(|p| p.get("targetPort")) {
                Some(Value::Number(n)) => {
                    n.as_u64().and_then(|n| u16::try_from(n).ok()).map_or(PortRef::Any, PortRef::Number)
                }
                Some(Value::String(s)) => PortRef::Name(s.clone()),
                _ => PortRef::Any,
            };
            vec![exposure(service, port)]
        }
        Some("Ingress") => {
            let backend = |b: &Value| -> Option<Exposure> {
                let svc = b.get("service")?;
                let port = svc.get("port");
                let port = match (
                    port.and_then(|p| p.get("number")).and_then(Value::as_u64),
                    port.and_then(|p| p.get("name")),
                ) {
                    (Some(n), _) => PortRef::Number(u16::try_from(n).ok()?),
                    (None, Some(Value::String(s))) => PortRef::Name(s.clone()),
                    _ => PortRef::Any,
                };
                Some(exposure(svc.get("name")?.as_str()?, port))
            };
            let spec = v.get("spec");
            let mut out: Vec<Exposure> =
                spec.and_then(|s| s.get("defaultBackend")).and_then(backend).into_iter().collect();
            for rule in spec.and_then(|s| s.get("rules")).and_then(Value::as_array).into_iter().flatten() {
                let paths = rule.get("http").and_then(|h| h.get("paths")).and_then(Value::as_array);
                out.extend(paths.into_iter().flatten().filter_map(|p| p.get("backend").and_then(backend)));
            }
            out
        }
        _ => Vec::new(),
    }
}

/// What the exposures open to `w`, before NetworkPolicies: the target
/// ports of the Service ports they name, on the Services selecting `w`.
pub fn exposed_ports(w: &Workload, services: &[Service], exposures: &[Exposure]) -> ConnSet {
    let mut conns = ConnSet::none();
    for e in exposures.iter().filter(|e| e.namespace == w.namespace) {
        let Some(svc) = services.iter().find(|s| s.namespace == e.namespace && s.name == e.service) else { continue };
        if svc.selector.is_empty() || !svc.selector.iter().all(|(k, v)| w.labels.get(k) == Some(v)) {
            continue;
        }
        for sp in &svc.ports {
            let named = match &e.port {
                PortRef::Any => true,
                PortRef::Number(n) => sp.port == *n || matches!(sp.target, Target::Number(t) if t == *n),
                PortRef::Name(n) => sp.name.as_deref() == Some(n) || matches!(&sp.target, Target::Named(t) if t == n),
            };
            if !named {
                continue;
            }
            let port = match &sp.target {
                Target::Number(n) => Some(*n),
                Target::Named(name) => w
                    .ports
                    .iter()
                    .find(|cp| cp.name.as_deref() == Some(name) && cp.protocol == sp.protocol)
                    .map(|cp| cp.port),
            };
            if let Some(p) = port {
                conns = conns.union(&ConnSet::of(sp.protocol, PortSet::range(p, p)));
            }
        }
    }
    conns
}

/// The ingress controller as a workload, for the policies to judge.
pub fn controller() -> Workload {
    Workload {
        index: usize::MAX,
        namespace: CONTROLLER_NAMESPACE.into(),
        name: CONTROLLER.into(),
        kind: String::new(),
        labels: Labels::new(),
        ports: Vec::new(),
        service_account: "default".into(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{Cluster, format_txt};

    fn deployment(ns: &str, name: &str) -> serde_json::Value {
        json!({"kind": "Deployment", "metadata": {"name": name, "namespace": ns}, "spec": {"template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 8080, "name": "http"}, {"containerPort": 9090, "name": "metrics"}]}]}}}})
    }

    fn service(ns: &str, name: &str) -> serde_json::Value {
        json!({"kind": "Service", "metadata": {"name": format!("{name}-svc"), "namespace": ns}, "spec": {
            "selector": {"app": name},
            "ports": [{"name": "web", "port": 80, "targetPort": "http"}, {"name": "prom", "port": 9090}]}})
    }

    #[test]
    fn an_ingress_opens_its_backend_port_unless_a_policy_keeps_the_controller_out() {
        let ingress = json!({"kind": "Ingress", "metadata": {"name": "i", "namespace": "shop"}, "spec": {"rules": [
            {"http": {"paths": [{"path": "/", "backend": {"service": {"name": "front-svc", "port": {"number": 80}}}}]}},
            {"http": {"paths": [{"path": "/", "backend": {"service": {"name": "locked-svc", "port": {"name": "web"}}}}]}}
        ]}});
        // `locked` admits only its own namespace: the controller stays out.
        let locked = json!({"kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "shop"}, "spec": {
            "podSelector": {"matchLabels": {"app": "locked"}}, "ingress": [{"from": [{"podSelector": {}}]}]}});
        let objects = vec![
            deployment("shop", "front"),
            deployment("shop", "locked"),
            service("shop", "front"),
            service("shop", "locked"),
            ingress,
            locked,
        ];
        let text = format_txt(&Cluster::from_objects(&objects).connlist());
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with("{ingress-controller}")).collect();
        // Service port 80 → targetPort `http` → container port 8080; 9090 is not exposed.
        assert_eq!(lines, ["{ingress-controller} => shop/front[Deployment] : TCP 8080"]);
    }
}
