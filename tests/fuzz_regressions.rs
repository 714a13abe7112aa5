//! Inputs the fuzzers (fuzz/) found, kept as tests named after what they
//! found, so the fix stays fixed without a fuzzer.

use std::path::Path;

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz").join(name)
}

/// k8s_parsers: serde_yaml_ng panics ("unexpected end of mapping") when a
/// multi-document stream is read on past a document that failed. The
/// manifest loader must stop at the first bad document with an error
/// naming it; the other parsers must answer, not panic.
#[test]
fn fuzz_k8s_parsers_yaml_stream_read_past_an_error() {
    let input = std::fs::read(data("yaml-stream-after-error.yaml")).expect("input");
    let dir = std::env::temp_dir().join(format!("piimask-fuzz-regression-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join("bad.yaml"), &input).expect("write");
    let loaded = piimask::k8s::netpol::Cluster::load(&dir);
    std::fs::remove_dir_all(&dir).expect("clean up");
    let error = loaded.err().expect("a load error, not a panic").to_string();
    assert!(error.contains("bad.yaml") && error.contains("document 1"), "{error}");

    let options = piimask::k8s::inject::InjectOptions::default();
    assert!(piimask::k8s::inject::inject_stream(std::str::from_utf8(&input).expect("utf-8"), &options).is_err());
    // Not JSON either (`*8079`): the webhook says where.
    let error = piimask::k8s::webhook::review(&input, &options).expect_err("not JSON").to_string();
    assert!(error.contains("not JSON") && error.contains("column 400"), "{error}");
}
