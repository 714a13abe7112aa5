//! The proxy variables injection sets on the app containers of a pod
//! whose sidecar runs the egress listener, and what injection learns of
//! that listener from the `piimask.io/config` ConfigMap when it is in the
//! same manifest stream. `NO_PROXY` never covers a host of a configured
//! egress peer, whatever the proxy client's matching rule: traffic to a
//! peer must pass the sidecar to be masked.

use std::collections::HashMap;

use serde_json::{Value, json};

/// The egress listener's default address (`egress.listen`).
pub const EGRESS_LISTEN: &str = "127.0.0.1:15001";

/// The names `NO_PROXY` holds when no peer is covered by them: the API
/// server and cluster-local names, and loopback.
pub const CLUSTER_LOCAL: &[&str] = &["kubernetes.default.svc", ".svc", ".cluster.local", "localhost", "127.0.0.1"];

/// When the peers cannot be read (the ConfigMap is not in the stream, or
/// in the webhook), only loopback: every other host goes through the
/// egress listener, which refuses those that are not peers.
pub const LOOPBACK_ONLY: &[&str] = &["localhost", "127.0.0.1"];

/// The variables, in pairs: a pair the user set (either spelling) is left
/// as it is.
pub const PAIRS: [[&str; 2]; 2] = [["HTTP_PROXY", "http_proxy"], ["NO_PROXY", "no_proxy"]];

/// What a piimask config file in a ConfigMap of the stream says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigSeen {
    /// It has an `inbound` section (it defines the proxy's listener).
    pub inbound: bool,
    /// `egress.listen`, when it has an `egress` section.
    pub egress_listen: Option<String>,
    /// Every `egress.peers[].hosts` entry.
    pub peer_hosts: Vec<String>,
}

/// The piimask configs of the ConfigMaps of a stream, by (namespace, name).
#[derive(Debug, Clone, Default)]
pub struct StreamConfigs(HashMap<(String, String), ConfigSeen>);

impl StreamConfigs {
    /// Remembers `doc` if it is a ConfigMap with a `piimask.yaml` key.
    pub fn learn(&mut self, doc: &Value) {
        if doc.get("kind").and_then(Value::as_str) == Some("List") {
            for item in doc.get("items").and_then(Value::as_array).into_iter().flatten() {
                self.learn(item);
            }
            return;
        }
        if doc.get("kind").and_then(Value::as_str) != Some("ConfigMap") {
            return;
        }
        let Some(text) = doc.pointer("/data/piimask.yaml").and_then(Value::as_str) else { return };
        let Ok(Some(config)) = serde_yaml_ng::from_str::<Option<Value>>(text) else { return };
        let egress = config.get("egress").filter(|e| !e.is_null());
        let seen = ConfigSeen {
            inbound: config.get("inbound").is_some_and(|i| !i.is_null()),
            egress_listen: egress.map(|e| e.get("listen").and_then(Value::as_str).unwrap_or(EGRESS_LISTEN).to_string()),
            peer_hosts: egress
                .and_then(|e| e.get("peers"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .flat_map(|p| p.get("hosts").and_then(Value::as_array).into_iter().flatten())
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
        };
        let ns = doc.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default");
        let name = doc.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
        self.0.insert((ns.to_string(), name.to_string()), seen);
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<&ConfigSeen> {
        self.0.get(&(namespace.to_string(), name.to_string()))
    }
}

/// `HTTP_PROXY`'s value for an egress listener on `listen`: a listener on
/// every address is reached on loopback.
pub fn proxy_url(listen: &str) -> String {
    let local = listen.strip_prefix("0.0.0.0:").map(|port| format!("127.0.0.1:{port}"));
    let local = local.or_else(|| listen.strip_prefix("[::]:").map(|port| format!("[::1]:{port}")));
    format!("http://{}", local.as_deref().unwrap_or(listen))
}

/// Whether a `NO_PROXY` entry may send a request for `host` around the
/// proxy under any common client's rule (curl's and Go's domain match,
/// Python's plain suffix match, with or without a leading dot, any case,
/// a port ignored).
pub fn covers(entry: &str, host: &str) -> bool {
    let entry = entry.trim().trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase();
    let host = host.trim().to_ascii_lowercase();
    let host = host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(&*host, |(h, _)| h);
    entry == "*" || host.ends_with(&entry)
}

/// `NO_PROXY`'s value: the cluster-local names that cover no peer host
/// when the peers are known, else loopback only.
pub fn no_proxy(peer_hosts: Option<&[String]>) -> String {
    let Some(hosts) = peer_hosts else { return LOOPBACK_ONLY.join(",") };
    CLUSTER_LOCAL.iter().filter(|e| !hosts.iter().any(|h| covers(e, h))).copied().collect::<Vec<_>>().join(",")
}

/// Sets the proxy variables on every container of `containers` that has
/// neither spelling of a pair; returns, per container, the names it set.
pub fn set_proxy_env(containers: &mut [Value], proxy: &str, no_proxy: &str) -> Vec<(String, Vec<String>)> {
    let mut set = Vec::new();
    for c in containers {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
        let has = |c: &Value, n: &str| {
            c.get("env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|e| e.get("name").and_then(Value::as_str) == Some(n))
        };
        let mut added = Vec::new();
        for (pair, value) in PAIRS.iter().zip([proxy, no_proxy]) {
            if pair.iter().any(|n| has(c, n)) {
                continue;
            }
            let Some(obj) = c.as_object_mut() else { continue };
            let env = obj.entry("env").or_insert_with(|| json!([]));
            if let Some(env) = env.as_array_mut() {
                for n in pair {
                    env.push(json!({"name": n, "value": value}));
                    added.push((*n).to_string());
                }
            }
        }
        if !added.is_empty() {
            set.push((name, added));
        }
    }
    set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_proxy_never_covers_a_peer() {
        assert_eq!(no_proxy(Some(&[])), "kubernetes.default.svc,.svc,.cluster.local,localhost,127.0.0.1");
        assert_eq!(no_proxy(None), "localhost,127.0.0.1");
        let in_cluster = ["analytics.analytics.svc.cluster.local:8443".to_string()];
        assert_eq!(no_proxy(Some(&in_cluster)), "kubernetes.default.svc,.svc,localhost,127.0.0.1");
        let short = ["analytics.analytics.svc".to_string(), "api.partner.example".to_string()];
        assert_eq!(no_proxy(Some(&short)), "kubernetes.default.svc,.cluster.local,localhost,127.0.0.1");
        assert_eq!(no_proxy(Some(&["KUBERNETES.default.svc".to_string()])), ".cluster.local,localhost,127.0.0.1");
        for entry in CLUSTER_LOCAL {
            for host in ["a.b.svc", "x.svc.cluster.local", "kubernetes.default.svc", "localhost"] {
                if covers(entry, host) {
                    assert!(!no_proxy(Some(&[host.to_string()])).split(',').any(|e| e == *entry), "{entry} {host}");
                }
            }
        }
    }

    #[test]
    fn the_proxy_url_is_on_loopback() {
        assert_eq!(proxy_url(EGRESS_LISTEN), "http://127.0.0.1:15001");
        assert_eq!(proxy_url("0.0.0.0:15002"), "http://127.0.0.1:15002");
    }

    #[test]
    fn a_pair_the_user_set_is_left_alone() {
        let mut cs = vec![
            json!({"name": "a", "env": [{"name": "http_proxy", "value": "http://mine:3128"}]}),
            json!({"name": "b"}),
        ];
        let set = set_proxy_env(&mut cs, "http://127.0.0.1:15001", "localhost");
        assert_eq!(set[0], ("a".to_string(), vec!["NO_PROXY".to_string(), "no_proxy".to_string()]));
        assert_eq!(set[1].1.len(), 4);
        assert_eq!(cs[0]["env"].as_array().unwrap().len(), 3);
        assert_eq!(cs[0]["env"][0]["value"], "http://mine:3128");
    }
}
