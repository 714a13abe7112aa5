//! The admission webhooks, AdmissionReview v1 in and out. The mutating
//! one gives the same injection as `piimask inject`, as a JSONPatch, to
//! Pods being created; which namespaces it sees is the
//! MutatingWebhookConfiguration's `namespaceSelector`, and each Pod is
//! judged by its own annotations. The validating one is the PII guard: a
//! Pod labelled as holding PII is admitted only if it runs the sidecar
//! piimask injects, keeps off the node's network, and is isolated as the
//! NetworkPolicy simulator judges it under every policy in force (the
//! caller reads them from the API server; this file decides). A label
//! value other than the PII value or `false` is refused. A request that
//! cannot be read is answered 400 with what is wrong; the server never
//! stops for it.

use base64::Engine as _;
use serde_json::{Value, json};

use super::inject::{InjectOptions, host_networking, inject_value, sidecar_problem};
use super::kube_api::InForce;
use super::netpol::{Hole, PiiLabel, PiiMark, pod_holes};

/// The only AdmissionReview version piimask reads and writes.
const API_VERSION: &str = "admission.k8s.io/v1";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReviewError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("expected an AdmissionReview (admission.k8s.io/v1) with a `request`")]
    NotAReview,
    #[error("apiVersion `{0}`: piimask reads AdmissionReview admission.k8s.io/v1 only")]
    Version(String),
    #[error("the review has no `request.uid`")]
    NoUid,
    #[error("the review has no `request.namespace` (Pods are namespaced)")]
    NoNamespace,
}

/// The parts of an AdmissionReview request both webhooks read.
struct Review {
    uid: String,
    request: Value,
}

impl Review {
    fn parse(body: &[u8]) -> Result<Review, ReviewError> {
        let mut review: Value = serde_json::from_slice(body).map_err(|e| ReviewError::NotJson(e.to_string()))?;
        if review.get("kind").and_then(Value::as_str) != Some("AdmissionReview") {
            return Err(ReviewError::NotAReview);
        }
        match review.get("apiVersion").and_then(Value::as_str) {
            Some(API_VERSION) => {}
            other => return Err(ReviewError::Version(other.unwrap_or("").chars().take(64).collect())),
        }
        let request = review.get_mut("request").map(Value::take).ok_or(ReviewError::NotAReview)?;
        let uid = request.get("uid").and_then(Value::as_str).ok_or(ReviewError::NoUid)?.to_string();
        Ok(Review { uid, request })
    }

    /// `request.kind.kind`, which a review must carry.
    fn kind(&self) -> Option<&str> {
        self.request.pointer("/kind/kind").and_then(Value::as_str)
    }

    fn operation(&self) -> &str {
        self.request.get("operation").and_then(Value::as_str).unwrap_or("")
    }

    fn sub_resource(&self) -> bool {
        self.request.get("subResource").and_then(Value::as_str).is_some_and(|s| !s.is_empty())
    }

    fn answer(&self, response: Value) -> Value {
        json!({"apiVersion": API_VERSION, "kind": "AdmissionReview", "response": response})
    }

    fn allow(&self) -> Value {
        self.answer(json!({"uid": self.uid, "allowed": true}))
    }

    fn refuse(&self, code: u16, message: &str) -> Value {
        let reason = if code == 400 { "BadRequest" } else { "Forbidden" };
        self.answer(json!({"uid": self.uid, "allowed": false,
            "status": {"code": code, "reason": reason, "message": message}}))
    }
}

const NO_KIND: &str = "piimask: the review has no `request.kind`: refused, as what it is cannot be told";

/// The mutating webhook's AdmissionReview response for a request body.
/// Only Pods being created are injected: objects of other kinds, other
/// operations (an UPDATE cannot add containers), subresources, Pods that
/// opt out or are already injected pass unchanged. A Pod that cannot be
/// injected (no port to take, a volume of the sidecar's name, the node's
/// network) passes unchanged with a warning; the validating webhook
/// refuses it if it holds PII.
pub fn review(body: &[u8], opts: &InjectOptions) -> Result<Value, ReviewError> {
    let review = Review::parse(body)?;
    let Some(kind) = review.kind() else { return Ok(review.refuse(400, NO_KIND)) };
    let mut response = json!({"uid": review.uid, "allowed": true});
    let object = review.request.get("object").filter(|_| kind == "Pod");
    if let (Some(object), "CREATE", false) = (object, review.operation(), review.sub_resource()) {
        if let Some(why) = host_networking(object) {
            response["warnings"] = json!([format!("piimask: not injected: {why}")]);
            return Ok(review.answer(response));
        }
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

/// What the validating webhook holds PII pods to.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    pub pii: PiiLabel,
    /// The sidecar the injector writes (its image and form).
    pub sidecar: InjectOptions,
    /// Further images accepted as the sidecar's (a private registry's
    /// copy of it, in pods injected by `piimask inject`).
    pub sidecar_images: Vec<String>,
    /// External address ranges PII pods may reach and be reached from.
    pub allowed_cidrs: Vec<(u32, u32)>,
    /// Namespaces whose pods may opt out of the sidecar
    /// (`piimask.io/inject: "false"`) though they, or their namespace,
    /// are labelled as holding PII; everywhere else such an opt-out is
    /// refused.
    pub allow_opt_out: Vec<String>,
}

impl Guard {
    fn may_opt_out(&self, namespace: &str) -> bool {
        self.allow_opt_out.iter().any(|n| n == namespace)
    }
}

/// Whether a pod asks not to be injected.
fn opts_out(pod: &Value) -> bool {
    pod.pointer("/metadata/annotations/piimask.io~1inject").and_then(Value::as_str) == Some("false")
}

/// A validating review read, before what is in force is known.
pub struct Validation {
    review: Review,
    /// The Pod's namespace when it holds PII and passed every check that
    /// needs no API call, so its isolation must be judged; `None` when
    /// there is nothing (more) to check.
    pub check_namespace: Option<String>,
    /// A refusal decided from the review alone.
    refusal: Option<(u16, String)>,
    /// The Pod is not labelled as holding PII but opts out: what is
    /// checked is only whether its namespace is labelled as holding PII.
    opt_out_only: bool,
}

/// Reads a validating review: whether it is a Pod labelled as holding
/// PII, and if so the checks that need no API call (label spelling, node
/// networking, the sidecar). The namespace is checked to be a DNS label,
/// as it goes into an API path.
pub fn validation(body: &[u8], guard: &Guard) -> Result<Validation, ReviewError> {
    let review = Review::parse(body)?;
    let pii = &guard.pii;
    let done = |review: Review, refusal: Option<(u16, String)>| Validation {
        review,
        check_namespace: None,
        refusal,
        opt_out_only: false,
    };
    let Some(kind) = review.kind() else { return Ok(done(review, Some((400, NO_KIND.to_string())))) };
    // DELETE and CONNECT carry no object to judge; subresources (status,
    // binding) change no container or network setting.
    let object = match review.request.get("object") {
        Some(o) if kind == "Pod" && !review.sub_resource() && o.is_object() => o,
        _ => return Ok(done(review, None)),
    };
    // An update of a pod being deleted (the API server keeps the old
    // deletionTimestamp; it clears one given on create) mostly drops
    // finalizers: never hold that up.
    let deleting = object.pointer("/metadata/deletionTimestamp").is_some_and(|t| !t.is_null());
    if deleting && review.operation() == "UPDATE" {
        return Ok(done(review, None));
    }
    let label = |o: &Value| {
        o.pointer("/metadata/labels").and_then(|l| l.get(&pii.key)).and_then(Value::as_str).map(str::to_string)
    };
    let value = label(object);
    let value = value.as_deref();
    let holds = format!("piimask: the Pod holds PII ({}={})", pii.key, pii.value);
    let was_pii =
        review.request.get("oldObject").and_then(label).is_some_and(|v| pii.mark(Some(&v)) != PiiMark::NotPii);
    match pii.mark(value) {
        PiiMark::Absent | PiiMark::NotPii if review.operation() == "UPDATE" && was_pii => {
            let message =
                format!("{holds} and the label cannot be taken off a running Pod: it was started as holding PII");
            return Ok(done(review, Some((403, message))));
        }
        // A pod not labelled as holding PII that opts out on creation is
        // refused if its namespace is labelled as holding PII (the
        // namespace's label is the platform's; the pod's is the tenant's).
        PiiMark::Absent | PiiMark::NotPii if review.operation() == "CREATE" && opts_out(object) => {
            let ns = namespace(&review)?;
            if guard.may_opt_out(&ns) {
                return Ok(done(review, None));
            }
            return Ok(Validation { review, check_namespace: Some(ns), refusal: None, opt_out_only: true });
        }
        PiiMark::Absent | PiiMark::NotPii => return Ok(done(review, None)),
        PiiMark::Invalid => {
            let shown: String = value.unwrap_or("").chars().take(63).collect();
            let message = format!(
                "piimask: label {} is {shown:?}: only \"{}\" (holds PII) or \"false\" are read; fix the spelling",
                pii.key, pii.value
            );
            return Ok(done(review, Some((403, message))));
        }
        PiiMark::Pii => {}
    }
    let ns = namespace(&review)?;
    // Where the platform allows it, a PII pod may run without the
    // sidecar; it must still keep off the node's network and be isolated.
    let sidecar = if opts_out(object) && guard.may_opt_out(&ns) {
        None
    } else {
        sidecar_problem(object, &guard.sidecar, &guard.sidecar_images)
    };
    let reasons: Vec<String> = host_networking(object).into_iter().chain(sidecar).collect();
    if !reasons.is_empty() {
        return Ok(done(review, Some((403, format!("{holds} but {}", reasons.join("; and "))))));
    }
    Ok(Validation { review, check_namespace: Some(ns), refusal: None, opt_out_only: false })
}

/// The review's namespace, checked to be a DNS label (it goes into an API
/// path).
fn namespace(review: &Review) -> Result<String, ReviewError> {
    let ns = review.request.get("namespace").and_then(Value::as_str).ok_or(ReviewError::NoNamespace)?;
    let is_dns_label = !ns.is_empty()
        && ns.len() <= 63
        && ns.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !is_dns_label {
        return Err(ReviewError::NoNamespace);
    }
    Ok(ns.to_string())
}

impl Validation {
    /// The answer, given what is in force around the Pod, or why that
    /// could not be read (which refuses the Pod: the check fails closed,
    /// like the webhook's failure policy).
    pub fn answer(&self, in_force: Result<&InForce, String>, guard: &Guard) -> Value {
        if let Some((code, message)) = &self.refusal {
            return self.review.refuse(*code, message);
        }
        let Some(ns) = &self.check_namespace else { return self.review.allow() };
        let pii = &guard.pii;
        let in_force = match in_force {
            Ok(f) => f,
            Err(why) if self.opt_out_only => {
                return self.review.refuse(
                    403,
                    &format!(
                        "piimask: the Pod opts out of the sidecar and whether namespace `{ns}` holds PII could not \
                         be read: {why}"
                    ),
                );
            }
            Err(why) => {
                return self.review.refuse(
                    403,
                    &format!(
                        "piimask: the Pod holds PII ({}={}) and the policies in force in namespace `{ns}` could not \
                         be read: {why}",
                        pii.key, pii.value
                    ),
                );
            }
        };
        if self.opt_out_only {
            let label = in_force.namespace_labels.get(&pii.key).and_then(Value::as_str);
            if pii.mark(label) == PiiMark::Absent || pii.mark(label) == PiiMark::NotPii {
                return self.review.allow();
            }
            return self.review.refuse(
                403,
                &format!(
                    "piimask: namespace `{ns}` is labelled as holding PII ({}={}) and its pods may not opt out of \
                     the sidecar (piimask.io/inject: \"false\"); remove the annotation, or have the platform allow \
                     opting out in this namespace (webhook.allow_opt_out in the install values)",
                    pii.key,
                    label.unwrap_or("")
                ),
            );
        }
        let object = self.review.request.get("object").unwrap_or(&Value::Null);
        let holes = pod_holes(object, ns, &in_force.namespace_labels, &in_force.policies, &guard.allowed_cidrs);
        if holes.is_empty() {
            return self.review.allow();
        }
        let advice = if holes.iter().any(|h| matches!(h, Hole::NotIsolated(_))) {
            "apply a default deny for both directions and narrow allows (`piimask netpol generate` writes them)"
        } else {
            "policies add up: narrow or remove the rules named (allow named namespaces or labelled pods instead)"
        };
        let holes: Vec<String> = holes.iter().map(ToString::to_string).collect();
        self.review.refuse(
            403,
            &format!(
                "piimask: the Pod holds PII ({}={}) but is not isolated in namespace `{ns}`: {}; {advice}",
                pii.key,
                pii.value,
                holes.join("; ")
            ),
        )
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

    fn patched_spec(out: &Value) -> Value {
        let patch =
            base64::engine::general_purpose::STANDARD.decode(out["response"]["patch"].as_str().unwrap()).unwrap();
        let patch: Value = serde_json::from_slice(&patch).unwrap();
        assert_eq!(patch[0]["op"], "replace");
        patch[0]["value"].clone()
    }

    #[test]
    fn a_pod_gets_a_patch_with_the_sidecar() {
        let out = review(&pod_review(json!({})), &InjectOptions::default()).unwrap();
        assert_eq!(out["apiVersion"], "admission.k8s.io/v1");
        assert_eq!(out["response"]["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(out["response"]["allowed"], true);
        assert_eq!(patched_spec(&out)["initContainers"][0]["name"], "piimask");
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

    fn edited(body: &[u8], edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let mut v: Value = serde_json::from_slice(body).unwrap();
        edit(&mut v);
        v.to_string().into_bytes()
    }

    #[test]
    fn mutation_is_for_pods_being_created_only() {
        let opts = InjectOptions::default();
        let update = edited(&pod_review(json!({})), |v| v["request"]["operation"] = json!("UPDATE"));
        assert!(review(&update, &opts).unwrap()["response"].get("patch").is_none(), "UPDATE passes unchanged");
        let sub = edited(&pod_review(json!({})), |v| v["request"]["subResource"] = json!("status"));
        assert!(review(&sub, &opts).unwrap()["response"].get("patch").is_none(), "subresources pass");
        let host = edited(&pod_review(json!({})), |v| v["request"]["object"]["spec"]["hostNetwork"] = json!(true));
        let out = review(&host, &opts).unwrap();
        assert!(out["response"].get("patch").is_none());
        assert!(out["response"]["warnings"][0].as_str().unwrap().contains("hostNetwork"), "{out}");
        let no_kind =
            edited(&pod_review(json!({})), |v| v["request"].as_object_mut().unwrap().remove("kind").map(drop).unwrap());
        let out = review(&no_kind, &opts).unwrap();
        assert_eq!(
            (out["response"]["allowed"].as_bool(), out["response"]["status"]["code"].as_u64()),
            (Some(false), Some(400))
        );
        let v1beta1 = edited(&pod_review(json!({})), |v| v["apiVersion"] = json!("admission.k8s.io/v1beta1"));
        assert!(matches!(review(&v1beta1, &opts), Err(ReviewError::Version(v)) if v == "admission.k8s.io/v1beta1"));
        // Injecting the injected pod changes nothing.
        let once = patched_spec(&review(&pod_review(json!({})), &opts).unwrap());
        let again = edited(&pod_review(json!({})), |v| v["request"]["object"]["spec"] = once);
        assert!(review(&again, &opts).unwrap()["response"].get("patch").is_none());
        // A volume of the sidecar's name would be mounted as its certificates.
        let clash = edited(&pod_review(json!({})), |v| {
            v["request"]["object"]["spec"]["volumes"] = json!([{"name": "piimask-certs", "emptyDir": {}}]);
        });
        let out = review(&clash, &opts).unwrap();
        assert!(out["response"].get("patch").is_none());
        assert!(out["response"]["warnings"][0].as_str().unwrap().contains("volume named `piimask-certs`"), "{out}");
    }

    /// A PII pod as the validating webhook sees it: after injection.
    fn pii_pod_review(namespace: &str, labels: Value) -> Vec<u8> {
        let injected = patched_spec(&review(&pod_review(json!({})), &InjectOptions::default()).unwrap());
        json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "operation": "CREATE", "namespace": namespace,
                "object": {"apiVersion": "v1", "metadata": {"name": "p", "labels": labels}, "spec": injected}}
        })
        .to_string()
        .into_bytes()
    }

    fn deny(name: &str, types: &[&str]) -> Value {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "app"},
            "spec": {"podSelector": {}, "policyTypes": types}})
    }

    fn in_force(policies: Vec<Value>) -> InForce {
        InForce { namespace_labels: json!({}), policies }
    }

    fn message(out: &Value) -> String {
        out["response"]["status"]["message"].as_str().unwrap_or("").to_string()
    }

    #[test]
    fn a_pii_pod_is_refused_until_the_simulator_finds_it_isolated() {
        let guard = Guard::default();
        let v = validation(&pii_pod_review("app", json!({"piimask.io/pii": "true"})), &guard).unwrap();
        assert_eq!(v.check_namespace.as_deref(), Some("app"));

        let out = v.answer(Ok(&in_force(vec![])), &guard);
        assert_eq!(out["response"]["allowed"], false);
        assert_eq!(out["response"]["status"]["code"], 403);
        let text = message(&out);
        assert!(
            text.contains("namespace `app`") && text.contains("for Ingress") && text.contains("for Egress"),
            "{text}"
        );

        let only_ingress = in_force(vec![deny("deny-in", &["Ingress"])]);
        let text = message(&v.answer(Ok(&only_ingress), &guard));
        assert!(text.contains("for Egress") && !text.contains("for Ingress"), "{text}");

        let denied = in_force(vec![deny("deny-all", &["Ingress", "Egress"])]);
        assert_eq!(v.answer(Ok(&denied), &guard)["response"]["allowed"], true);

        // Policies add up: a second policy opening the pod cancels the deny.
        let mut opens = deny("allow-all", &["Ingress"]);
        opens["spec"]["ingress"] = json!([{"from": [{"namespaceSelector": {}}]}]);
        let text = message(&v.answer(Ok(&in_force(vec![deny("deny-all", &["Ingress", "Egress"]), opens])), &guard));
        assert!(text.contains("ingress rule 1 of NetworkPolicy app/allow-all lets pods of every namespace"), "{text}");

        let failed = v.answer(Err("the API server answered 403 Forbidden".into()), &guard);
        assert_eq!(failed["response"]["allowed"], false, "fails closed");
    }

    #[test]
    fn pods_without_the_label_and_other_objects_are_not_checked() {
        let guard = Guard::default();
        for labels in [json!({}), json!({"piimask.io/pii": "false"}), json!(null)] {
            let v = validation(&pii_pod_review("app", labels), &guard).unwrap();
            assert!(v.check_namespace.is_none());
            assert_eq!(v.answer(Err("unused".into()), &guard)["response"]["allowed"], true);
        }
        let bad_namespace = validation(&pii_pod_review("../x", json!({"piimask.io/pii": "true"})), &guard);
        assert_eq!(bad_namespace.err(), Some(ReviewError::NoNamespace));
    }

    #[test]
    fn label_spellings_other_than_true_or_false_are_refused() {
        let guard = Guard::default();
        for value in ["True", "yes", "1", " true", "true "] {
            let v = validation(&pii_pod_review("app", json!({"piimask.io/pii": value})), &guard).unwrap();
            assert!(v.check_namespace.is_none(), "decided without the API");
            let out = v.answer(Err("unused".into()), &guard);
            assert_eq!(out["response"]["allowed"], false, "{value:?}");
            assert!(message(&out).contains(&format!("label piimask.io/pii is {value:?}")), "{out}");
        }
    }

    #[test]
    fn the_sidecar_must_be_the_one_piimask_injects() {
        let guard = Guard::default();
        let pii = json!({"piimask.io/pii": "true"});
        let refused = |body: Vec<u8>| -> String {
            let v = validation(&body, &guard).unwrap();
            assert!(v.check_namespace.is_none(), "refused without the API");
            let out = v.answer(Err("unused".into()), &guard);
            assert_eq!(out["response"]["allowed"], false, "{out}");
            message(&out)
        };
        let base = pii_pod_review("app", pii.clone());
        type Edit = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|o| o["metadata"]["annotations"] = json!({"piimask.io/inject": "false"})), "opts out"),
            (
                Box::new(|o| o["spec"]["initContainers"][0]["image"] = json!("evil/piimask:latest")),
                "image `evil/piimask:latest`",
            ),
            (
                Box::new(|o| o["spec"]["initContainers"][0]["command"] = json!(["/bin/sh"])),
                "replaces the image's command",
            ),
            (
                Box::new(|o| o["spec"]["initContainers"][0]["args"] = json!(["run", "--listen", "$(POD_IP):8080"])),
                "arguments differ",
            ),
            (
                Box::new(|o| o["spec"]["initContainers"][0]["args"][4] = json!("http://10.0.0.9:8080")),
                "arguments differ",
            ),
            (
                Box::new(|o| {
                    o["spec"]["initContainers"][0].as_object_mut().unwrap().remove("restartPolicy");
                }),
                "restartPolicy: Always",
            ),
            (
                Box::new(|o| {
                    let sidecar = o["spec"]["initContainers"][0].take();
                    o["spec"]["initContainers"] = json!([]);
                    o["spec"]["containers"].as_array_mut().unwrap().push(sidecar);
                }),
                "is not first",
            ),
            (
                Box::new(|o| {
                    o["spec"].as_object_mut().unwrap().remove("initContainers");
                }),
                "has no piimask sidecar",
            ),
            (Box::new(|o| o["spec"]["hostNetwork"] = json!(true)), "hostNetwork: true"),
            (
                Box::new(|o| o["spec"]["containers"][0]["ports"][0]["hostPort"] = json!(8080)),
                "takes port 8080 on the node",
            ),
        ];
        for (edit, says) in cases {
            let body = edited(&base, |v| edit(&mut v["request"]["object"]));
            let text = refused(body);
            assert!(text.contains(says) && text.starts_with("piimask: the Pod holds PII"), "{says}: {text}");
        }
        // The legacy form (first container) and a private registry's image pass.
        let legacy = InjectOptions { legacy_sidecar: true, ..InjectOptions::default() };
        let spec = patched_spec(&review(&pod_review(json!({})), &legacy).unwrap());
        let body = edited(&base, |v| {
            v["request"]["object"]["spec"] = spec;
            v["request"]["object"]["spec"]["containers"][0]["image"] = json!("registry.local/piimask:0.1.0");
        });
        let private = Guard { sidecar_images: vec!["registry.local/piimask:0.1.0".into()], ..Guard::default() };
        assert_eq!(validation(&body, &private).unwrap().check_namespace.as_deref(), Some("app"));
        assert!(validation(&body, &guard).unwrap().check_namespace.is_none(), "not without --sidecar-image");
    }

    /// A port-less pod naming its egress config, as the guard sees it
    /// after the mutating webhook (and, with `edit`, after a change).
    fn egress_only_review(opts: &InjectOptions, edit: impl FnOnce(&mut Value)) -> Vec<u8> {
        let annotations = json!({"piimask.io/config": "export-piimask"});
        let body = edited(&pod_review(annotations.clone()), |v| {
            v["request"]["object"]["spec"]["containers"][0].as_object_mut().unwrap().remove("ports");
        });
        let out = review(&body, opts).unwrap();
        assert!(out["response"].get("warnings").is_none(), "{out}");
        let spec = patched_spec(&out);
        let mut object = json!({"apiVersion": "v1", "metadata": {"name": "p", "labels": {"piimask.io/pii": "true"},
            "annotations": annotations}, "spec": spec});
        edit(&mut object);
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-2", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "operation": "CREATE", "namespace": "app", "object": object}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn the_guard_admits_the_egress_only_sidecar_injection_writes_and_nothing_else() {
        let guard = Guard::default();
        let spec: Value =
            serde_json::from_slice::<Value>(&egress_only_review(&guard.sidecar, |_| {})).unwrap()["request"]["object"]
                ["spec"]
                .clone();
        let sidecar = &spec["initContainers"][0];
        assert_eq!(sidecar["args"], json!(["run", "--config", "/etc/piimask/piimask.yaml", "--admin", "0.0.0.0:9901"]));
        let env = &spec["containers"][0]["env"];
        assert_eq!(env[0], json!({"name": "HTTP_PROXY", "value": "http://127.0.0.1:15001"}));
        assert_eq!(env[2], json!({"name": "NO_PROXY", "value": "localhost,127.0.0.1"}), "the webhook sees no peers");
        let v = validation(&egress_only_review(&guard.sidecar, |_| {}), &guard).unwrap();
        assert_eq!(v.check_namespace.as_deref(), Some("app"), "admitted as far as the sidecar goes");
        // The legacy form too.
        let legacy =
            Guard { sidecar: InjectOptions { legacy_sidecar: true, ..InjectOptions::default() }, ..guard.clone() };
        let v = validation(&egress_only_review(&legacy.sidecar, |_| {}), &legacy).unwrap();
        assert_eq!(v.check_namespace.as_deref(), Some("app"));
        // Without its config, or with other arguments, it is not injection's.
        type Edit = Box<dyn FnOnce(&mut Value)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|o| o["metadata"]["annotations"] = json!({})), "names no piimask.io/config"),
            (
                Box::new(|o| o["spec"]["initContainers"][0]["args"][2] = json!("/tmp/other.yaml")),
                "an egress-only sidecar",
            ),
            (
                Box::new(|o| {
                    o["spec"]["initContainers"][0]["args"].as_array_mut().unwrap().push(json!("--access-log"))
                }),
                "arguments differ",
            ),
            (Box::new(|o| o["spec"]["initContainers"][0]["args"] = json!(["run"])), "nor `run --config"),
        ];
        for (edit, says) in cases {
            let v = validation(&egress_only_review(&guard.sidecar, edit), &guard).unwrap();
            let text = message(&v.answer(Err("unused".into()), &guard));
            assert!(text.contains(says), "{says}: {text}");
        }
    }

    #[test]
    fn the_guard_admits_the_port_takeover_sidecar_and_not_one_on_the_apps_port() {
        let guard = Guard::default();
        let annotations = json!({"piimask.io/mode": "takeover"});
        let body = edited(&pod_review(annotations.clone()), |v| {
            v["request"]["object"]["spec"]["containers"][0]["ports"][0]["name"] = json!("http");
        });
        let spec = patched_spec(&review(&body, &guard.sidecar).unwrap());
        assert_eq!(spec["initContainers"][0]["ports"][0]["name"], "http");
        assert_eq!(spec["containers"][0]["ports"][0]["name"], "app-http");
        let validated = |spec: Value, annotations: Value| {
            let body = json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                "request": {"uid": "u-4", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "operation": "CREATE", "namespace": "app",
                    "object": {"apiVersion": "v1", "metadata": {"name": "p", "labels": {"piimask.io/pii": "true"},
                        "annotations": annotations}, "spec": spec}}});
            validation(body.to_string().as_bytes(), &guard).unwrap()
        };
        assert_eq!(validated(spec.clone(), annotations.clone()).check_namespace.as_deref(), Some("app"));
        // The same sidecar without the annotation, or listening on the
        // app's port while claiming takeover, is not what injection writes.
        let text = message(&validated(spec.clone(), json!({})).answer(Err("unused".into()), &guard));
        assert!(text.contains("arguments differ"), "{text}");
        let mut on_app_port = spec;
        on_app_port["initContainers"][0]["args"][2] = json!("$(POD_IP):8080");
        let text = message(&validated(on_app_port, annotations).answer(Err("unused".into()), &guard));
        assert!(text.contains("arguments differ"), "{text}");
        let text =
            message(&validated(json!({}), json!({"piimask.io/mode": "sideways"})).answer(Err("unused".into()), &guard));
        assert!(text.contains("no piimask sidecar"), "{text}");
    }

    fn opt_out_review(namespace: &str, labels: Value, operation: &str) -> Vec<u8> {
        json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "request": {"uid": "u-3", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "operation": operation, "namespace": namespace,
                "object": {"apiVersion": "v1", "metadata": {"name": "p", "labels": labels,
                    "annotations": {"piimask.io/inject": "false"}},
                    "spec": {"containers": [{"name": "app", "image": "x", "ports": [{"containerPort": 8080}]}]}}}})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn opting_out_in_a_pii_namespace_is_refused_unless_the_platform_allows_it() {
        let guard = Guard::default();
        let pii_ns = InForce { namespace_labels: json!({"piimask.io/pii": "true"}), policies: vec![] };
        let misspelt_ns = InForce { namespace_labels: json!({"piimask.io/pii": "yes"}), policies: vec![] };
        let plain_ns = InForce { namespace_labels: json!({"team": "shop"}), policies: vec![] };
        // An unlabelled pod, or one that says it holds none, opting out.
        for labels in [json!({}), json!({"piimask.io/pii": "false"})] {
            let v = validation(&opt_out_review("shop", labels.clone(), "CREATE"), &guard).unwrap();
            assert_eq!(v.check_namespace.as_deref(), Some("shop"), "the namespace's label is read");
            let out = v.answer(Ok(&pii_ns), &guard);
            assert_eq!(out["response"]["allowed"], false);
            assert!(message(&out).contains("namespace `shop` is labelled as holding PII"), "{out}");
            assert!(message(&out).contains("webhook.allow_opt_out"), "{out}");
            assert_eq!(v.answer(Ok(&misspelt_ns), &guard)["response"]["allowed"], false, "read as PII");
            assert_eq!(v.answer(Ok(&plain_ns), &guard)["response"]["allowed"], true);
            let failed = v.answer(Err("timeout".into()), &guard);
            assert_eq!(failed["response"]["allowed"], false, "fails closed");
            assert!(message(&failed).contains("whether namespace `shop` holds PII could not be read"), "{failed}");
            // Updates do not inject: an opt-out there changes nothing.
            let v = validation(&opt_out_review("shop", labels, "UPDATE"), &guard).unwrap();
            assert!(v.check_namespace.is_none());
        }
        // A pod labelled as holding PII opting out: refused without an API call.
        let pii = json!({"piimask.io/pii": "true"});
        let v = validation(&opt_out_review("shop", pii.clone(), "CREATE"), &guard).unwrap();
        assert!(message(&v.answer(Err("unused".into()), &guard)).contains("opts out"));

        // Where the platform allows it: the unlabelled pod passes without a
        // call, and the PII pod is still judged for isolation.
        let allowing = Guard { allow_opt_out: vec!["shop".into()], ..Guard::default() };
        let v = validation(&opt_out_review("shop", json!({}), "CREATE"), &allowing).unwrap();
        assert!(v.check_namespace.is_none());
        assert_eq!(v.answer(Err("unused".into()), &allowing)["response"]["allowed"], true);
        let v = validation(&opt_out_review("shop", pii.clone(), "CREATE"), &allowing).unwrap();
        assert_eq!(v.check_namespace.as_deref(), Some("shop"));
        assert_eq!(v.answer(Ok(&in_force(vec![])), &allowing)["response"]["allowed"], false, "not isolated");
        let mut policy = deny("deny-all", &["Ingress", "Egress"]);
        policy["metadata"]["namespace"] = json!("shop");
        assert_eq!(v.answer(Ok(&in_force(vec![policy])), &allowing)["response"]["allowed"], true);
        // Another namespace is not allowed by it.
        let v = validation(&opt_out_review("other", pii, "CREATE"), &allowing).unwrap();
        assert!(message(&v.answer(Err("unused".into()), &allowing)).contains("opts out"));
    }

    #[test]
    fn updates_keep_the_label_and_deletions_pass() {
        let guard = Guard::default();
        let base = pii_pod_review("app", json!({"piimask.io/pii": "true"}));
        let unlabelled = edited(&base, |v| {
            v["request"]["operation"] = json!("UPDATE");
            v["request"]["oldObject"] = v["request"]["object"].clone();
            v["request"]["object"]["metadata"]["labels"] = json!({"piimask.io/pii": "false"});
        });
        let out = validation(&unlabelled, &guard).unwrap().answer(Err("unused".into()), &guard);
        assert!(message(&out).contains("cannot be taken off a running Pod"), "{out}");
        let deleting = edited(&base, |v| {
            v["request"]["operation"] = json!("UPDATE");
            v["request"]["object"]["metadata"]["deletionTimestamp"] = json!("2030-01-01T00:00:00Z");
            v["request"]["object"]["spec"]["hostNetwork"] = json!(true);
        });
        let v = validation(&deleting, &guard).unwrap();
        assert_eq!(v.answer(Err("unused".into()), &guard)["response"]["allowed"], true);
    }
}
