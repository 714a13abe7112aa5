//! Reading a folder of manifests into the objects the analysis needs:
//! namespaces (with the implicit `kubernetes.io/metadata.name` label),
//! workloads (a template stands for its pods; a bare Pod is reported as its
//! owner) with their labels and container ports, and NetworkPolicies.
//! Manifests are read as plain data and read tolerantly, as the API server
//! would accept them: a field piimask does not use never makes a file fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

use super::ports::Protocol;

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: cannot read: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: document {doc}: {message}")]
    Parse { path: PathBuf, doc: usize, message: String },
}

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone)]
pub struct Namespace {
    pub name: String,
    pub labels: Labels,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerPort {
    pub name: Option<String>,
    pub port: u16,
    pub protocol: Protocol,
}

#[derive(Debug, Clone)]
pub struct Workload {
    /// Position in the cluster's workload list.
    pub index: usize,
    pub namespace: String,
    pub name: String,
    pub kind: String,
    pub labels: Labels,
    pub ports: Vec<ContainerPort>,
    /// The pods' service account (`default` when unset): their SPIFFE
    /// identity is `spiffe://<trust domain>/ns/<namespace>/sa/<account>`.
    pub service_account: String,
}

impl Workload {
    /// `namespace/name[Kind]`, as netpol-analyzer prints it.
    pub fn id(&self) -> String {
        format!("{}/{}[{}]", self.namespace, self.name, self.kind)
    }
}

/// Every object of every `.yaml`, `.yml` and `.json` file under `dir`,
/// `List`s flattened, in a stable (sorted path) order.
pub fn read_objects(dir: &Path) -> Result<Vec<Value>, ManifestError> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    let mut objects = Vec::new();
    for path in files {
        let text =
            std::fs::read_to_string(&path).map_err(|source| ManifestError::Read { path: path.clone(), source })?;
        let docs: Vec<Value> = if path.extension().is_some_and(|e| e == "json") {
            vec![serde_json::from_str(&text).map_err(|e| ManifestError::Parse {
                path: path.clone(),
                doc: 1,
                message: e.to_string(),
            })?]
        } else {
            let mut docs = Vec::new();
            for (i, de) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
                let v = Value::deserialize(de).map_err(|e| ManifestError::Parse {
                    path: path.clone(),
                    doc: i + 1,
                    message: e.to_string(),
                })?;
                docs.push(v);
            }
            docs
        };
        for doc in docs {
            flatten(doc, &mut objects);
        }
    }
    Ok(objects)
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), ManifestError> {
    let entries = std::fs::read_dir(dir).map_err(|source| ManifestError::Read { path: dir.into(), source })?;
    for entry in entries {
        let path = entry.map_err(|source| ManifestError::Read { path: dir.into(), source })?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn flatten(doc: Value, out: &mut Vec<Value>) {
    if !doc.is_object() {
        return;
    }
    let list_kind = doc.get("kind").and_then(Value::as_str).and_then(|k| k.strip_suffix("List")).map(str::to_string);
    match (list_kind, doc.get("items").and_then(Value::as_array)) {
        (Some(item_kind), Some(items)) => {
            for item in items {
                let mut item = item.clone();
                // Items of a typed list (`PodList`) may omit their kind.
                if let (Some(obj), false) = (item.as_object_mut(), item_kind.is_empty())
                    && !obj.contains_key("kind")
                {
                    obj.insert("kind".into(), Value::String(item_kind.clone()));
                }
                flatten(item, out);
            }
        }
        _ => out.push(doc),
    }
}

pub fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k)).and_then(Value::as_str)
}

pub fn labels_at(v: &Value, path: &[&str]) -> Labels {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string()))).collect())
        .unwrap_or_default()
}

pub fn namespace_of(v: &Value) -> String {
    str_at(v, &["metadata", "namespace"]).filter(|n| !n.is_empty()).unwrap_or("default").to_string()
}

/// The pod template's spec and labels of a workload object, by kind.
fn pod_template<'a>(v: &'a Value, kind: &str) -> Option<(Labels, &'a Value)> {
    let template = match kind {
        "Pod" => return Some((labels_at(v, &["metadata", "labels"]), v.get("spec")?)),
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicationController" => {
            v.get("spec")?.get("template")?
        }
        "CronJob" => v.get("spec")?.get("jobTemplate")?.get("spec")?.get("template")?,
        _ => return None,
    };
    Some((labels_at(template, &["metadata", "labels"]), template.get("spec")?))
}

fn container_ports(spec: &Value) -> Vec<ContainerPort> {
    let mut ports = Vec::new();
    for list in ["containers", "initContainers"] {
        for c in spec.get(list).and_then(Value::as_array).into_iter().flatten() {
            for p in c.get("ports").and_then(Value::as_array).into_iter().flatten() {
                let Some(port) = p.get("containerPort").and_then(Value::as_u64).and_then(|n| u16::try_from(n).ok())
                else {
                    continue;
                };
                let protocol =
                    p.get("protocol").and_then(Value::as_str).and_then(Protocol::parse).unwrap_or(Protocol::Tcp);
                let name = p.get("name").and_then(Value::as_str).map(str::to_string);
                ports.push(ContainerPort { name, port, protocol });
            }
        }
    }
    ports
}

/// Namespaces (declared or used) and workloads, in a stable order.
pub fn namespaces_and_workloads(objects: &[Value]) -> (BTreeMap<String, Namespace>, Vec<Workload>) {
    let mut namespaces = BTreeMap::new();
    let mut workloads: BTreeMap<(String, String, String), Workload> = BTreeMap::new();
    for v in objects {
        let kind = v.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind == "Namespace" {
            let name = str_at(v, &["metadata", "name"]).unwrap_or("").to_string();
            let labels = labels_at(v, &["metadata", "labels"]);
            namespaces.insert(name.clone(), Namespace { name, labels });
            continue;
        }
        let Some((labels, spec)) = pod_template(v, kind) else { continue };
        let namespace = namespace_of(v);
        // A bare Pod made by a controller is reported as its owner.
        let owner =
            (kind == "Pod").then(|| v.get("metadata")?.get("ownerReferences")?.as_array()?.first().cloned()).flatten();
        let (kind, name) = match &owner {
            Some(o) => {
                (str_at(o, &["kind"]).unwrap_or("Pod").to_string(), str_at(o, &["name"]).unwrap_or("").to_string())
            }
            None => (kind.to_string(), str_at(v, &["metadata", "name"]).unwrap_or("").to_string()),
        };
        let key = (namespace.clone(), name.clone(), kind.clone());
        workloads.entry(key).or_insert_with(|| Workload {
            index: 0,
            namespace,
            name,
            kind,
            labels,
            ports: container_ports(spec),
            service_account: str_at(spec, &["serviceAccountName"])
                .or_else(|| str_at(spec, &["serviceAccount"]))
                .unwrap_or("default")
                .to_string(),
        });
    }
    for w in workloads.values() {
        namespaces
            .entry(w.namespace.clone())
            .or_insert_with(|| Namespace { name: w.namespace.clone(), labels: Labels::new() });
    }
    for ns in namespaces.values_mut() {
        ns.labels.insert("kubernetes.io/metadata.name".into(), ns.name.clone());
    }
    let mut workloads: Vec<Workload> = workloads.into_values().collect();
    for (i, w) in workloads.iter_mut().enumerate() {
        w.index = i;
    }
    (namespaces, workloads)
}
