//! The mutating admission webhook: AdmissionReview v1 in, the same
//! injection as `piimask inject` out, as a JSONPatch. Which namespaces it
//! sees is the MutatingWebhookConfiguration's `namespaceSelector`; here,
//! every Pod is judged by its own annotations. A request that cannot be
//! read is answered 400 with what is wrong; the server never stops for it.

use base64::Engine as _;
use serde_json::{Value, json};

use super::inject::{InjectOptions, inject_value};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("expected an AdmissionReview (admission.k8s.io/v1) with a `request`")]
    NotAReview,
    #[error("the review has no `request.uid`")]
    NoUid,
}

/// The AdmissionReview response for a request body. Objects other than
/// Pods, and Pods that opt out or are already injected, are allowed
/// unchanged; a Pod that cannot be injected (no port to take) is allowed
/// unchanged too, with a warning, so a bad annotation never blocks a
/// deployment.
pub fn review(body: &[u8], opts: &InjectOptions) -> Result<Value, ReviewError> {
    let review: Value = serde_json::from_slice(body).map_err(|e| ReviewError::NotJson(e.to_string()))?;
    if review.get("kind").and_then(Value::as_str) != Some("AdmissionReview") {
        return Err(ReviewError::NotAReview);
    }
    let request = review.get("request").ok_or(ReviewError::NotAReview)?;
    let uid = request.get("uid").and_then(Value::as_str).ok_or(ReviewError::NoUid)?;
    let mut response = json!({"uid": uid, "allowed": true});
    let is_pod = request.pointer("/kind/kind").and_then(Value::as_str) == Some("Pod");
    if let (true, Some(object)) = (is_pod, request.get("object")) {
        let mut pod = object.clone();
        // The object in a review may omit its kind; the request names it.
        if let Some(obj) = pod.as_object_mut() {
            obj.insert("kind".into(), json!("Pod"));
        }
        match inject_value(&mut pod, opts) {
            Ok(true) => {
                let patch = json!([{"op": "replace", "path": "/spec", "value": pod["spec"]}]);
                response["patchType"] = json!("JSONPatch");
                response["patch"] = json!(base64::engine::general_purpose::STANDARD.encode(patch.to_string()));
            }
            Ok(false) => {}
            Err(e) => response["warnings"] = json!([format!("piimask: not injected: {e}")]),
        }
    }
    Ok(json!({
        "apiVersion": review.get("apiVersion").cloned().unwrap_or(json!("admission.k8s.io/v1")),
        "kind": "AdmissionReview",
        "response": response
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod_review(annotations: Value) -> Vec<u8> {
        json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "705ab4f5-6393-11e8-b7cc-42010a800002", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "operation": "CREATE", "namespace": "app",
                "object": {"apiVersion": "v1", "metadata": {"name": "p", "annotations": annotations},
                    "spec": {"containers": [{"name": "app", "image": "x", "ports": [{"containerPort": 8080}]}]}}}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn a_pod_gets_a_patch_with_the_sidecar() {
        let out = review(&pod_review(json!({})), &InjectOptions::default()).unwrap();
        assert_eq!(out["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(out["response"]["allowed"], true);
        let patch =
            base64::engine::general_purpose::STANDARD.decode(out["response"]["patch"].as_str().unwrap()).unwrap();
        let patch: Value = serde_json::from_slice(&patch).unwrap();
        assert_eq!(patch[0]["op"], "replace");
        assert_eq!(patch[0]["value"]["initContainers"][0]["name"], "piimask");
    }

    #[test]
    fn opted_out_pods_and_other_kinds_pass_unchanged() {
        let out = review(&pod_review(json!({"piimask.io/inject": "false"})), &InjectOptions::default()).unwrap();
        assert!(out["response"].get("patch").is_none());
        assert_eq!(
            review(b"{", &InjectOptions::default()).unwrap_err().to_string().split(':').next(),
            Some("the body is not JSON")
        );
        assert_eq!(review(br#"{"kind":"Pod"}"#, &InjectOptions::default()), Err(ReviewError::NotAReview));
    }
}
