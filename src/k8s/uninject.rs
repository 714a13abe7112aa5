//! `piimask uninject`: takes out what `piimask inject` added to a stream of
//! manifests, so that uninjecting an injected stream gives back its input
//! as parsed objects, documents in order. What injection added is known
//! by the names it uses (the `piimask` container, the `piimask-certs` and
//! `piimask-config` volumes, the Certificates labelled as managed by
//! piimask) and, for what names cannot tell (the app probes it rewrote,
//! the proxy variables it set, the app port a port takeover renamed, the
//! Service ports it pointed at the sidecar), by its `piimask.io/injected`
//! annotation.
//! Documents with nothing of piimask's pass through byte for byte. Lists
//! injection left empty (`initContainers`, `volumes`, `env`) are removed,
//! so a workload written with such an empty list comes back without it.

use serde_json::{Map, Value};

use super::inject::{ADMIN_PORT, INJECTED, SIDECAR, document_body, split_documents};
use super::takeover::{restore_app_port, restore_service};

#[derive(Debug, thiserror::Error)]
pub enum UninjectError {
    #[error("document {doc}: not YAML: {message}")]
    Parse { doc: usize, message: String },
    #[error("document {doc}: the {INJECTED} annotation is not what injection writes: {message}")]
    Record { doc: usize, message: String },
    #[error("writing YAML: {0}")]
    Write(#[from] serde_yaml_ng::Error),
}

/// Uninjects every document of `text`.
pub fn uninject_stream(text: &str) -> Result<String, UninjectError> {
    let mut out = String::with_capacity(text.len());
    for (i, doc) in split_documents(text).into_iter().enumerate() {
        let n = i + 1;
        let mut value = match serde_yaml_ng::from_str::<Option<Value>>(document_body(doc)) {
            Ok(Some(v)) => v,
            Ok(None) => {
                out.push_str(doc);
                continue;
            }
            Err(e) => return Err(UninjectError::Parse { doc: n, message: e.to_string() }),
        };
        if written_by_inject(&value) {
            continue;
        }
        if !uninject_value(&mut value).map_err(|message| UninjectError::Record { doc: n, message })? {
            out.push_str(doc);
            continue;
        }
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        let head = if doc.starts_with("---") { "---\n" } else { "" };
        out.push_str(head);
        out.push_str(&serde_yaml_ng::to_string(&value)?);
    }
    Ok(out)
}

/// A Certificate `inject` wrote for a workload's identity.
fn written_by_inject(v: &Value) -> bool {
    v.get("kind").and_then(Value::as_str) == Some("Certificate")
        && v.get("apiVersion").and_then(Value::as_str).is_some_and(|a| a.starts_with("cert-manager.io/"))
        && v.pointer("/metadata/labels/app.kubernetes.io~1managed-by").and_then(Value::as_str) == Some("piimask")
        && v.pointer("/metadata/name").and_then(Value::as_str).is_some_and(|n| n.ends_with("-piimask"))
}

/// Uninjects one object (a workload, or a `List` of them) in place;
/// `true` if it changed.
pub fn uninject_value(v: &mut Value) -> Result<bool, String> {
    let kind = v.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
    if kind.ends_with("List") {
        let mut changed = false;
        for item in v.get_mut("items").and_then(Value::as_array_mut).into_iter().flatten() {
            changed |= uninject_value(item)?;
        }
        return Ok(changed);
    }
    if kind == "Service" {
        return restore_service(v);
    }
    let template = match kind.as_str() {
        "Pod" => Some(&mut *v),
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => v.pointer_mut("/spec/template"),
        "CronJob" => v.pointer_mut("/spec/jobTemplate/spec/template"),
        _ => None,
    };
    let Some(template) = template.and_then(Value::as_object_mut) else { return Ok(false) };
    let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) else { return Ok(false) };
    let mut changed = false;
    for list in ["initContainers", "containers"] {
        changed |= remove_named(spec, list, &[SIDECAR]);
    }
    if !changed {
        return Ok(false);
    }
    remove_named(spec, "volumes", &["piimask-certs", "piimask-config"]);
    let record = take_record(template)?;
    let Some(spec) = template.get_mut("spec").and_then(Value::as_object_mut) else { return Ok(true) };
    if let Some(renamed) = record.get("takeover") {
        restore_app_port(spec, renamed);
    }
    let containers = spec.get_mut("containers").and_then(Value::as_array_mut);
    for c in containers.into_iter().flatten() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let Some(c) = c.as_object_mut() else { continue };
        let added: Vec<&str> = record
            .get("env")
            .and_then(|e| e.get(&name))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if !added.is_empty() {
            remove_named(c, "env", &added);
        }
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            let original = record.get("probes").and_then(Value::as_array).into_iter().flatten().find(|p| {
                p.get("container").and_then(Value::as_str) == Some(name.as_str())
                    && p.get("probe").and_then(Value::as_str) == Some(probe)
            });
            let Some(get) = c.get_mut(probe).and_then(|p| p.get_mut("httpGet")) else { continue };
            match original {
                Some(original) => *get = original.get("httpGet").cloned().unwrap_or(Value::Null),
                None => restore_unrecorded_probe(get),
            }
        }
    }
    Ok(true)
}

/// Removes the entries of `obj[list]` with one of `names`, and the list
/// if that leaves it empty; `true` if any was removed.
fn remove_named(obj: &mut Map<String, Value>, list: &str, names: &[&str]) -> bool {
    let Some(items) = obj.get_mut(list).and_then(Value::as_array_mut) else { return false };
    let before = items.len();
    items.retain(|i| !i.get("name").and_then(Value::as_str).is_some_and(|n| names.contains(&n)));
    let removed = items.len() != before;
    if removed && items.is_empty() {
        obj.remove(list);
    }
    removed
}

/// Takes the `piimask.io/injected` record off the template's metadata
/// (and the annotations and metadata it leaves empty).
fn take_record(template: &mut Map<String, Value>) -> Result<Map<String, Value>, String> {
    let Some(meta) = template.get_mut("metadata").and_then(Value::as_object_mut) else { return Ok(Map::new()) };
    let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) else { return Ok(Map::new()) };
    let Some(text) = annotations.remove(INJECTED) else { return Ok(Map::new()) };
    if annotations.is_empty() {
        meta.remove("annotations");
    }
    if meta.is_empty() {
        template.remove("metadata");
    }
    match serde_json::from_str(text.as_str().unwrap_or("")) {
        Ok(Value::Object(record)) => Ok(record),
        Ok(_) => Err("not a JSON object".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// A probe injection sent through the admin port with no record of what
/// it was (`/app-health/PORT/path` on the admin port) goes back to the
/// app's port by number.
fn restore_unrecorded_probe(get: &mut Value) {
    if get.get("port").and_then(Value::as_u64) != Some(u64::from(ADMIN_PORT)) {
        return;
    }
    let Some(rest) = get.get("path").and_then(Value::as_str).and_then(|p| p.strip_prefix("/app-health/")) else {
        return;
    };
    let (port, path) = rest.split_once('/').unwrap_or((rest, ""));
    let Ok(port) = port.parse::<u16>() else { return };
    get["path"] = Value::String(format!("/{path}"));
    get["port"] = Value::from(port);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_unrecorded_probe_goes_back_to_the_app_port() {
        let mut get = json!({"path": "/app-health/8080/ready", "port": 9901});
        restore_unrecorded_probe(&mut get);
        assert_eq!(get, json!({"path": "/ready", "port": 8080}));
        let mut own = json!({"path": "/healthz", "port": 9901});
        restore_unrecorded_probe(&mut own);
        assert_eq!(own, json!({"path": "/healthz", "port": 9901}));
    }

    #[test]
    fn a_workload_without_the_sidecar_is_untouched_even_with_piimask_names() {
        let mut pod = json!({"kind": "Pod", "metadata": {"annotations": {INJECTED: "{}"}},
            "spec": {"containers": [{"name": "app"}], "volumes": [{"name": "piimask-certs"}]}});
        let before = pod.clone();
        assert_eq!(uninject_value(&mut pod), Ok(false));
        assert_eq!(pod, before);
    }
}
