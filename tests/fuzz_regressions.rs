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

/// The engine_chunking oracle on one body: fed whole, cut once at every
/// point, and byte by byte, the output is the same.
fn assert_chunking_independent(kind: piimask::mask::ContentKind, body: &[u8]) {
    use piimask::mask::{MaskStream, Masker};
    let masker = std::sync::Arc::new(Masker::new(&piimask::patterns::default_config()).expect("default profile"));
    let (whole, _) = MaskStream::mask_all(masker.clone(), kind, body);
    for cut in 1..body.len() {
        let (once, _) = MaskStream::mask_in_chunks(masker.clone(), kind, body, &[cut]);
        assert!(once == whole, "{kind:?} cut at {cut}");
    }
    let every: Vec<usize> = (1..body.len()).collect();
    assert!(MaskStream::mask_in_chunks(masker, kind, body, &every).0 == whole, "{kind:?} byte by byte");
}

/// engine_chunking: fed byte by byte, a long run of space-separated digit
/// groups came out with `55 5555555` masked as a phone; fed whole, not.
/// The numeric detector skipped a rejected span whole, and the window
/// resumed inside one and started a fresh candidate there. Now no group
/// inside a run is a candidate, however the scan got there (see the test
/// below, which replaced the first fix).
#[test]
fn fuzz_engine_chunking_resume_inside_rejected_number() {
    use piimask::mask::ContentKind;
    let found = std::fs::read(data("engine-chunking-resume-inside-rejected-number.bin")).expect("input");
    assert_chunking_independent(ContentKind::Json, &found);
    assert_chunking_independent(
        ContentKind::Text,
        "x 5555555 5555555 55 5555555 5555555 55 5 y ".repeat(40).as_bytes(),
    );
}

/// engine_chunking: a span is capped at 19 digits or 8 groups, and in a
/// longer run of space-separated digit groups the detector used to start
/// again at the capped span's end, so which sub-runs were tried depended
/// on where the scan entered the run (segment start, match end, window
/// resume point): cut at 371, `55 5555555` came out masked; whole, not.
/// Now a group that continues a run is never a start of its own (only the
/// run's first group, the first a span's cap leaves out, and the first
/// after a match are), which is decided from the bytes just before it.
#[test]
fn fuzz_engine_chunking_capped_span_in_digit_run() {
    use piimask::mask::ContentKind;
    let found = std::fs::read(data("engine-chunking-capped-span-in-digit-run.bin")).expect("input");
    assert_chunking_independent(ContentKind::Json, &found);
    let run = "a 555555K 5555555 55 5 55 555555 5 55 5555555 5555555 55 5 55 5555555 ".repeat(20);
    assert_chunking_independent(ContentKind::Text, run.as_bytes());
}

/// engine_chunking: `:::2` is no address, but cut inside it `::2` came out
/// masked. The IPv6 detector walked back from a colon to the run's start
/// no further than the scan's start, so a window resuming after the first
/// colon saw a different (valid) run. Now the walk ignores where the scan
/// started, and a run that began before it is left as decided there.
#[test]
fn fuzz_engine_chunking_ipv6_run_resumed_inside() {
    use piimask::mask::ContentKind;
    let found = std::fs::read(data("engine-chunking-ipv6-run-resumed-inside.bin")).expect("input");
    assert_chunking_independent(ContentKind::Json, &found);
    assert_chunking_independent(ContentKind::Text, "a :::2 b ::1 c 1:::2 ".repeat(30).as_bytes());
}
