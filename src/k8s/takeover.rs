//! Port takeover, the sidecar mode that needs no privilege and no change
//! to the app (`piimask.io/mode: takeover`): the app keeps binding its
//! port on every address; the sidecar listens on its own port
//! (`TAKEOVER_PORT`) and takes the *name* of the app's container port,
//! whose own name becomes `app-NAME`. Services that target the port by
//! name (`targetPort: http`) then reach the sidecar with no change; those
//! in the same stream that target it by number are rewritten to the
//! sidecar's port (and recorded, for `uninject`). The app's port stays
//! reachable on the pod's address: only NetworkPolicies that admit the
//! sidecar's port alone keep peers off it, so this mode protects only
//! where the CNI enforces NetworkPolicy.

use serde_json::{Map, Value, json};

use super::inject::INJECTED;

/// The port the sidecar listens on in front of a taken-over app.
pub const TAKEOVER_PORT: u16 = 15006;
/// The annotation that picks the mode.
pub const MODE: &str = "piimask.io/mode";
/// What the app's renamed port is called: `app-` and its name.
const PREFIX: &str = "app-";

/// Whether `meta` asks for port takeover; an unknown mode is an error
/// rather than the default.
pub fn wants_takeover(meta: &Value) -> Result<bool, String> {
    match meta.pointer("/annotations/piimask.io~1mode").map(|v| v.as_str()) {
        None => Ok(false),
        Some(Some("localhost")) => Ok(false),
        Some(Some("takeover")) => Ok(true),
        Some(other) => Err(format!(
            "{MODE} `{}`: expected `takeover` (the sidecar takes the app's named port) or `localhost` (the app \
             listens on 127.0.0.1)",
            other.unwrap_or("")
        )),
    }
}

/// Renames the app's container port `port` (which must have a name) to
/// `app-NAME`, with the probes of that container that name it; returns
/// the name the sidecar's port takes and what `uninject` needs.
pub fn rename_app_port(spec: &mut Map<String, Value>, port: u16) -> Result<(String, Value), String> {
    let containers = spec.get_mut("containers").and_then(Value::as_array_mut).ok_or("no containers")?;
    let uses_ours = containers.iter().any(|c| {
        c.get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|p| p.get("containerPort").and_then(Value::as_u64) == Some(u64::from(TAKEOVER_PORT)))
    });
    if uses_ours {
        return Err(format!("port takeover: the sidecar listens on {TAKEOVER_PORT}, which a container declares"));
    }
    for c in containers.iter_mut() {
        let container = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) else { continue };
        let Some(p) =
            ports.iter_mut().find(|p| p.get("containerPort").and_then(Value::as_u64) == Some(u64::from(port)))
        else {
            continue;
        };
        let Some(name) = p.get("name").and_then(Value::as_str).map(str::to_string) else {
            return Err(format!(
                "port takeover: container `{container}`'s port {port} has no name; name it (such as `http`) and \
                 have Services target it by that name"
            ));
        };
        let renamed = format!("{PREFIX}{name}");
        if renamed.len() > 15 {
            return Err(format!(
                "port takeover: the app's port `{name}` would be renamed `{renamed}`, longer than the 15 characters \
                 a port name may have; shorten it"
            ));
        }
        p["name"] = json!(renamed);
        if ports.iter().filter(|p| p.get("name").and_then(Value::as_str) == Some(renamed.as_str())).count() > 1 {
            return Err(format!("port takeover: container `{container}` already has a port named `{renamed}`"));
        }
        rename_probe_ports(c, &name, &renamed);
        return Ok((name.clone(), json!({"container": container, "name": name})));
    }
    Err(format!("port takeover: no container declares port {port}; declare it, with a name"))
}

/// Gives the app's port its name back (and its probes), from the record.
pub fn restore_app_port(spec: &mut Map<String, Value>, record: &Value) {
    let (Some(container), Some(name)) =
        (record.get("container").and_then(Value::as_str), record.get("name").and_then(Value::as_str))
    else {
        return;
    };
    let renamed = format!("{PREFIX}{name}");
    let containers = spec.get_mut("containers").and_then(Value::as_array_mut);
    let Some(c) = containers.into_iter().flatten().find(|c| c.get("name").and_then(Value::as_str) == Some(container))
    else {
        return;
    };
    for p in c.get_mut("ports").and_then(Value::as_array_mut).into_iter().flatten() {
        if p.get("name").and_then(Value::as_str) == Some(renamed.as_str()) {
            p["name"] = json!(name);
        }
    }
    rename_probe_ports(c, &renamed, name);
}

/// Points the container's probes that name port `from` at `to`.
fn rename_probe_ports(c: &mut Value, from: &str, to: &str) {
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        for handler in ["httpGet", "tcpSocket", "grpc"] {
            let port = c.pointer_mut(&format!("/{probe}/{handler}/port")).filter(|p| p.as_str() == Some(from));
            if let Some(port) = port {
                *port = json!(to);
            }
        }
    }
}

/// A taken-over workload of the stream, for its Services.
#[derive(Debug, Clone)]
pub struct Target {
    pub namespace: String,
    pub labels: Map<String, Value>,
    pub app_port: u16,
}

/// Rewrites the ports of Service `svc` that reach a taken-over app by
/// number (a `targetPort`, or none and a `port` equal to the app's) to the
/// sidecar's port, and records what they were; `true` if it changed.
pub fn rewrite_service(svc: &mut Value, targets: &[Target]) -> bool {
    if svc.get("kind").and_then(Value::as_str) != Some("Service") {
        return false;
    }
    let namespace = svc.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_string();
    let Some(selector) = svc.pointer("/spec/selector").and_then(Value::as_object).filter(|s| !s.is_empty()).cloned()
    else {
        return false;
    };
    let selected: Vec<u16> = targets
        .iter()
        .filter(|t| t.namespace == namespace && selector.iter().all(|(k, v)| t.labels.get(k) == Some(v)))
        .map(|t| t.app_port)
        .collect();
    let mut record = Vec::new();
    for (i, p) in svc.pointer_mut("/spec/ports").and_then(Value::as_array_mut).into_iter().flatten().enumerate() {
        let target = match p.get("targetPort") {
            Some(Value::Number(n)) => n.as_u64(),
            None => p.get("port").and_then(Value::as_u64),
            Some(_) => None,
        };
        if target.is_some_and(|t| selected.iter().any(|a| u64::from(*a) == t)) {
            record.push(json!({"index": i, "targetPort": p.get("targetPort").cloned().unwrap_or(Value::Null)}));
            p["targetPort"] = json!(TAKEOVER_PORT);
        }
    }
    if record.is_empty() {
        return false;
    }
    let meta = svc.as_object_mut().map(|s| s.entry("metadata").or_insert_with(|| json!({})));
    let annotations = meta.and_then(Value::as_object_mut).map(|m| m.entry("annotations").or_insert_with(|| json!({})));
    if let Some(a) = annotations.and_then(Value::as_object_mut) {
        a.insert(INJECTED.into(), json!(json!({"targetPorts": record}).to_string()));
    }
    true
}

/// Gives a Service's rewritten ports their targets back; `true` if it changed.
pub fn restore_service(svc: &mut Value) -> Result<bool, String> {
    if svc.get("kind").and_then(Value::as_str) != Some("Service") {
        return Ok(false);
    }
    let Some(meta) = svc.get_mut("metadata").and_then(Value::as_object_mut) else { return Ok(false) };
    let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) else { return Ok(false) };
    let Some(text) = annotations.remove(INJECTED) else { return Ok(false) };
    if annotations.is_empty() {
        meta.remove("annotations");
    }
    let record: Value = serde_json::from_str(text.as_str().unwrap_or("")).map_err(|e| e.to_string())?;
    for r in record.get("targetPorts").and_then(Value::as_array).into_iter().flatten() {
        let Some(i) = r.get("index").and_then(Value::as_u64) else { continue };
        let Some(p) = svc.pointer_mut(&format!("/spec/ports/{i}")).and_then(Value::as_object_mut) else { continue };
        match r.get("targetPort") {
            None | Some(Value::Null) => p.remove("targetPort"),
            Some(t) => p.insert("targetPort".into(), t.clone()),
        };
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_named_port_can_be_taken_over() {
        let mut spec = json!({"containers": [{"name": "app", "ports": [{"containerPort": 8080}]}]});
        let err = rename_app_port(spec.as_object_mut().unwrap(), 8080).unwrap_err();
        assert!(err.contains("has no name"), "{err}");
        let mut spec =
            json!({"containers": [{"name": "app", "ports": [{"name": "a-long-name-12", "containerPort": 80}]}]});
        assert!(rename_app_port(spec.as_object_mut().unwrap(), 80).unwrap_err().contains("15 characters"));
        let mut spec = json!({"containers": [{"name": "app", "ports": [{"name": "http", "containerPort": 8080},
            {"name": "x", "containerPort": 15006}]}]});
        assert!(rename_app_port(spec.as_object_mut().unwrap(), 8080).unwrap_err().contains("listens on 15006"));
    }

    #[test]
    fn a_service_by_number_is_rewritten_and_restored_one_by_name_is_not_touched() {
        let targets = [Target {
            namespace: "shop".into(),
            labels: json!({"app": "api", "tier": "web"}).as_object().unwrap().clone(),
            app_port: 8080,
        }];
        let svc = json!({"kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
            "spec": {"selector": {"app": "api"}, "ports": [{"port": 80, "targetPort": 8080}, {"port": 8080},
                {"port": 81, "targetPort": "http"}, {"port": 82, "targetPort": 9000}]}});
        let mut rewritten = svc.clone();
        assert!(rewrite_service(&mut rewritten, &targets));
        let ports = &rewritten["spec"]["ports"];
        assert_eq!((ports[0]["targetPort"].as_u64(), ports[1]["targetPort"].as_u64()), (Some(15006), Some(15006)));
        assert_eq!((ports[2]["targetPort"].as_str(), ports[3]["targetPort"].as_u64()), (Some("http"), Some(9000)));
        assert!(!rewrite_service(&mut rewritten.clone(), &targets), "idempotent");
        assert_eq!(restore_service(&mut rewritten), Ok(true));
        assert_eq!(rewritten, svc);
        let mut elsewhere = svc.clone();
        elsewhere["metadata"]["namespace"] = json!("other");
        assert!(!rewrite_service(&mut elsewhere, &targets));
    }
}
