//! What piimask reads from a cluster or a user's manifests, on arbitrary
//! input: AdmissionReview requests (both webhooks), manifest streams
//! (`inject`) and the objects the NetworkPolicy simulator loads. An answer
//! or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use piimask::k8s::inject::{InjectOptions, inject_stream};
use piimask::k8s::kube_api::InForce;
use piimask::k8s::netpol::Cluster;
use piimask::k8s::webhook::{Guard, review, validation};

fuzz_target!(|data: &[u8]| {
    let options = InjectOptions::default();
    let _ = review(data, &options);
    let guard = Guard::default();
    if let Ok(v) = validation(data, &guard) {
        // Judged under no policy, and under the review's own object read
        // as a policy too (a NetworkPolicy or an admin policy if it is one).
        let _ = v.answer(Ok(&InForce { namespace_labels: serde_json::json!({}), policies: Vec::new() }), &guard);
        if let Ok(object) = serde_json::from_slice::<serde_json::Value>(data) {
            let policies = vec![object];
            let _ = v.answer(Ok(&InForce { namespace_labels: serde_json::json!({"a": "b"}), policies }), &guard);
        }
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = inject_stream(text, &options);
    // As the manifest loader does: documents up to the first that fails
    // (serde_yaml_ng's stream must not be read past an error).
    let objects: Vec<serde_json::Value> = serde_yaml_ng::Deserializer::from_str(text)
        .take(32)
        .map_while(|doc| serde::Deserialize::deserialize(doc).ok())
        .collect();
    if data.len() <= 8192 {
        let _ = Cluster::from_objects(&objects).connlist();
    }
});
