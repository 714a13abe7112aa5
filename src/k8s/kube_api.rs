//! The calls piimask makes to the Kubernetes API server, all reads, for
//! the validating webhook: a namespace's labels and NetworkPolicies, and
//! the cluster's AdminNetworkPolicies and BaselineAdminNetworkPolicies. In a pod it
//! finds the server and its credentials the standard way (the
//! `KUBERNETES_SERVICE_HOST`/`_PORT` variables, the service account's
//! token and CA); flags override each. The token file is read for every
//! call, as projected tokens rotate.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::tls;

const SERVICE_ACCOUNT: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// A namespace's NetworkPolicies are a few KiB; this bounds a runaway answer.
const MAX_LIST: usize = 16 * 1024 * 1024;
/// Well inside the webhook's own timeout, so a slow API server gives a
/// clear refusal rather than the API server's generic timeout.
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

/// Where the API server is and how to call it; each `None` takes the
/// in-cluster default.
#[derive(Debug, Default, Clone)]
pub struct KubeApiSettings {
    /// The API server's URL (default: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT).
    pub server: Option<String>,
    /// The bearer token file (default: the pod's service account token).
    pub token_file: Option<PathBuf>,
    /// The CA that signs the API server's certificate (default: the service account's).
    pub ca: Option<PathBuf>,
}

/// Why the API client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum KubeApiError {
    #[error("--api-server `{0}`: expected an https URL such as https://10.96.0.1:443")]
    NotHttps(String),
    #[error("--api-ca {path}: {source}")]
    Ca { path: String, source: tls::TlsError },
}

pub struct KubeApi {
    base: String,
    token_file: PathBuf,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl KubeApi {
    /// The client the flags and environment describe; `None` outside a
    /// cluster with no `--api-server`.
    pub fn new(settings: &KubeApiSettings) -> Result<Option<KubeApi>, KubeApiError> {
        let base = match (&settings.server, std::env::var("KUBERNETES_SERVICE_HOST")) {
            (Some(url), _) => url.trim_end_matches('/').to_string(),
            (None, Ok(host)) => {
                let port = std::env::var("KUBERNETES_SERVICE_PORT").unwrap_or_else(|_| "443".into());
                // An IPv6 service host needs brackets in a URL.
                if host.contains(':') { format!("https://[{host}]:{port}") } else { format!("https://{host}:{port}") }
            }
            (None, Err(_)) => return Ok(None),
        };
        if base.parse::<Uri>().ok().filter(|u| u.scheme_str() == Some("https")).is_none() {
            return Err(KubeApiError::NotHttps(base));
        }
        let ca = settings.ca.clone().unwrap_or_else(|| PathBuf::from(SERVICE_ACCOUNT).join("ca.crt"));
        let config = tls::client_config(&ca, None)
            .map_err(|source| KubeApiError::Ca { path: ca.display().to_string(), source })?;
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config).https_only().enable_http1().build();
        Ok(Some(KubeApi {
            base,
            token_file: settings.token_file.clone().unwrap_or_else(|| PathBuf::from(SERVICE_ACCOUNT).join("token")),
            client: Client::builder(TokioExecutor::new()).build(connector),
        }))
    }

    /// What is in force for a PII pod in `namespace` (a DNS label, checked
    /// by the caller): the namespace's labels, its NetworkPolicies, and
    /// every AdminNetworkPolicy and BaselineAdminNetworkPolicy (none when
    /// the cluster does not serve that API); or why they could not be
    /// read, in words fit for a refusal message.
    pub async fn in_force(&self, namespace: &str) -> Result<InForce, String> {
        let anp = "/apis/policy.networking.k8s.io/v1alpha1";
        let paths = [
            format!("/api/v1/namespaces/{namespace}"),
            format!("/apis/networking.k8s.io/v1/namespaces/{namespace}/networkpolicies"),
            format!("{anp}/adminnetworkpolicies"),
            format!("{anp}/baselineadminnetworkpolicies"),
        ];
        let (ns, nps, anps, banps) = tokio::join!(
            self.get(&paths[0], "the Namespace", false),
            self.get(&paths[1], "NetworkPolicies", false),
            self.get(&paths[2], "AdminNetworkPolicies", true),
            self.get(&paths[3], "BaselineAdminNetworkPolicies", true),
        );
        let namespace_labels = ns?.pointer("/metadata/labels").cloned().unwrap_or_else(|| serde_json::json!({}));
        let mut policies = items(nps?, "NetworkPolicy", "networking.k8s.io/v1")?;
        policies.extend(items(anps?, "AdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1")?);
        policies.extend(items(banps?, "BaselineAdminNetworkPolicy", "policy.networking.k8s.io/v1alpha1")?);
        Ok(InForce { namespace_labels, policies })
    }

    /// GETs `path`; with `absent_is_empty`, a 404 (the API is not served)
    /// is an empty list.
    async fn get(&self, path: &str, what: &str, absent_is_empty: bool) -> Result<Value, String> {
        let token = std::fs::read_to_string(&self.token_file)
            .map_err(|e| format!("reading the API token {}: {e}", self.token_file.display()))?;
        let request = Request::get(format!("{}{path}", self.base))
            .header(http::header::AUTHORIZATION, format!("Bearer {}", token.trim()))
            .header(http::header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|e| format!("building the API request: {e}"))?;
        let call = async {
            let response = self.client.request(request).await.map_err(|e| format!("calling the API server: {e}"))?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_LIST)
                .collect()
                .await
                .map_err(|e| format!("reading the API server's answer: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        let (status, body) = tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| format!("the API server did not answer within {} s", CALL_TIMEOUT.as_secs()))??;
        if status == StatusCode::NOT_FOUND && absent_is_empty {
            return Ok(serde_json::json!({"items": []}));
        }
        if status != StatusCode::OK {
            return Err(format!("the API server answered {status} to reading {what}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("the API server's answer for {what} is not JSON: {e}"))
    }
}

/// What the API server says is in force around a pod.
#[derive(Debug, Clone)]
pub struct InForce {
    /// The namespace's labels (an object).
    pub namespace_labels: Value,
    /// NetworkPolicies of the namespace, AdminNetworkPolicies and
    /// BaselineAdminNetworkPolicies, each with its `kind`.
    pub policies: Vec<Value>,
}

/// A list's items, given the `kind` and `apiVersion` list items omit.
fn items(list: Value, kind: &str, api_version: &str) -> Result<Vec<Value>, String> {
    let items =
        list.get("items").and_then(Value::as_array).ok_or(format!("the API server's {kind}List has no `items`"))?;
    Ok(items
        .iter()
        .cloned()
        .map(|mut item| {
            if let Some(o) = item.as_object_mut() {
                o.insert("kind".into(), kind.into());
                o.insert("apiVersion".into(), api_version.into());
            }
            item
        })
        .collect())
}
