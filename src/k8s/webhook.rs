//! The admission webhooks, AdmissionReview v1 in and out. The mutating
//! one gives the same injection as `piimask inject`, as a JSONPatch; which
//! namespaces it sees is the MutatingWebhookConfiguration's
//! `namespaceSelector`, and each Pod is judged by its own annotations. The
//! validating one refuses a Pod labelled as holding PII in a namespace
//! without default-deny NetworkPolicies; the caller lists the namespace's
//! policies (from the API server) and this file decides. A request that
//! cannot be read is answered 400 with what is wrong; the server never
//! stops for it.

use base64::Engine as _;
use serde_json::{Value, json};

use super::inject::{InjectOptions, inject_value};
use super::netpol::{PiiLabel, missing_default_deny};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("expected an AdmissionReview (admission.k8s.io/v1) with a `request`")]
    NotAReview,
    #[error("the review has no `request.uid`")]
    NoUid,
    #[error("the review has no `request.namespace` (Pods are namespaced)")]
    NoNamespace,
}

/// The parts of an AdmissionReview request both webhooks read.
struct Review {
    api_version: Value,
    uid: String,
    request: Value,
}

impl Review {
    fn parse(body: &[u8]) -> Result<Review, ReviewError> {
        let mut review: Value = serde_json::from_slice(body).map_err(|e| ReviewError::NotJson(e.to_string()))?;
        if review.get("kind").and_then(Value::as_str) != Some("AdmissionReview") {
            return Err(ReviewError::NotAReview);
        }
        let request = review.get_mut("request").map(Value::take).ok_or(ReviewError::NotAReview)?;
        let uid = request.get("uid").and_then(Value::as_str).ok_or(ReviewError::NoUid)?.to_string();
        let api_version = review.get("apiVersion").cloned().unwrap_or(json!("admission.k8s.io/v1"));
        Ok(Review { api_version, uid, request })
    }

    fn is_pod(&self) -> bool {
        self.request.pointer("/kind/kind").and_then(Value::as_str) == Some("Pod")
    }

    fn answer(&self, response: Value) -> Value {
        json!({"apiVersion": self.api_version, "kind": "AdmissionReview", "response": response})
    }
}

/// The mutating webhook's AdmissionReview response for a request body.
/// Objects other than Pods, and Pods that opt out or are already
/// injected, are allowed unchanged; a Pod that cannot be injected (no port
/// to take) is allowed unchanged too, with a warning, so a bad annotation
/// never blocks a deployment.
pub fn review(body: &[u8], opts: &InjectOptions) -> Result<Value, ReviewError> {
    let review = Review::parse(body)?;
    let mut response = json!({"uid": review.uid, "allowed": true});
    if let (true, Some(object)) = (review.is_pod(), review.request.get("object")) {
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
    Ok(review.answer(response))
}

/// A validating review read, before the namespace's policies are known.
pub struct Validation {
    review: Review,
    /// The Pod's namespace when it holds PII (and so must be checked);
    /// `None` when there is nothing to check.
    pub check_namespace: Option<String>,
}

/// Reads a validating review: whether it is a Pod labelled as holding PII,
/// and in which namespace. The namespace is checked to be a DNS label, as
/// it goes into an API path.
pub fn validation(body: &[u8], pii: &PiiLabel) -> Result<Validation, ReviewError> {
    let review = Review::parse(body)?;
    let labelled = review
        .request
        .pointer("/object/metadata/labels")
        .and_then(|labels| labels.get(&pii.key))
        .and_then(Value::as_str)
        == Some(pii.value.as_str());
    let check_namespace = if review.is_pod() && labelled {
        let ns = review.request.get("namespace").and_then(Value::as_str).ok_or(ReviewError::NoNamespace)?;
        let is_dns_label = !ns.is_empty()
            && ns.len() <= 63
            && ns.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !is_dns_label {
            return Err(ReviewError::NoNamespace);
        }
        Some(ns.to_string())
    } else {
        None
    };
    Ok(Validation { review, check_namespace })
}

impl Validation {
    /// The answer, given the namespace's NetworkPolicies, or why they could
    /// not be listed (which refuses the Pod: the check fails closed, like
    /// the webhook's failure policy).
    pub fn answer(&self, policies: Result<&[Value], String>, pii: &PiiLabel) -> Value {
        let Some(ns) = &self.check_namespace else {
            return self.review.answer(json!({"uid": self.review.uid, "allowed": true}));
        };
        let refusal = match policies {
            Ok(policies) => {
                let missing = missing_default_deny(policies);
                (!missing.is_empty()).then(|| {
                    format!(
                        "piimask: the Pod holds PII ({}={}) but namespace `{ns}` has no default-deny NetworkPolicy \
                         for {}; apply one first (`piimask netpol generate` writes it)",
                        pii.key,
                        pii.value,
                        missing.join(" and ")
                    )
                })
            }
            Err(why) => Some(format!(
                "piimask: the Pod holds PII ({}={}) and the NetworkPolicies of namespace `{ns}` could not be \
                 checked: {why}",
                pii.key, pii.value
            )),
        };
        let response = match refusal {
            None => json!({"uid": self.review.uid, "allowed": true}),
            Some(message) => json!({"uid": self.review.uid, "allowed": false,
                "status": {"code": 403, "reason": "Forbidden", "message": message}}),
        };
        self.review.answer(response)
    }
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

    fn pii_pod_review(namespace: &str, labels: Value) -> Vec<u8> {
        json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "operation": "CREATE", "namespace": namespace,
                "object": {"apiVersion": "v1", "metadata": {"name": "p", "labels": labels},
                    "spec": {"containers": [{"name": "app", "image": "x"}]}}}
        })
        .to_string()
        .into_bytes()
    }

    fn deny(name: &str, types: &[&str]) -> Value {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "app"},
            "spec": {"podSelector": {}, "policyTypes": types}})
    }

    #[test]
    fn a_pii_pod_is_refused_until_its_namespace_denies_both_directions() {
        let pii = PiiLabel::default();
        let v = validation(&pii_pod_review("app", json!({"piimask.io/pii": "true"})), &pii).unwrap();
        assert_eq!(v.check_namespace.as_deref(), Some("app"));

        let out = v.answer(Ok(&[]), &pii);
        assert_eq!(out["response"]["allowed"], false);
        assert_eq!(out["response"]["status"]["code"], 403);
        let message = out["response"]["status"]["message"].as_str().unwrap();
        assert!(message.contains("namespace `app`") && message.contains("ingress and egress"), "{message}");

        let only_ingress = [deny("deny-in", &["Ingress"])];
        let message = v.answer(Ok(&only_ingress), &pii)["response"]["status"]["message"].as_str().unwrap().to_string();
        assert!(message.contains("for egress;"), "{message}");

        // A policy that selects every pod but allows something is no deny.
        let mut allows = deny("allow-all", &["Ingress", "Egress"]);
        allows["spec"]["ingress"] = json!([{}]);
        let both = [allows, deny("deny-out", &["Egress"])];
        assert!(v.answer(Ok(&both), &pii)["response"]["status"]["message"].as_str().unwrap().contains("for ingress;"));

        let denied = [deny("deny-all", &["Ingress", "Egress"])];
        assert_eq!(v.answer(Ok(&denied), &pii)["response"]["allowed"], true);

        let failed = v.answer(Err("the API server answered 403 Forbidden".into()), &pii);
        assert_eq!(failed["response"]["allowed"], false, "fails closed");
    }

    #[test]
    fn pods_without_the_label_and_other_objects_are_not_checked() {
        let pii = PiiLabel::default();
        for labels in [json!({}), json!({"piimask.io/pii": "false"}), json!(null)] {
            let v = validation(&pii_pod_review("app", labels), &pii).unwrap();
            assert!(v.check_namespace.is_none());
            assert_eq!(v.answer(Err("unused".into()), &pii)["response"]["allowed"], true);
        }
        let bad_namespace = validation(&pii_pod_review("../x", json!({"piimask.io/pii": "true"})), &pii);
        assert_eq!(bad_namespace.err(), Some(ReviewError::NoNamespace));
    }
}
