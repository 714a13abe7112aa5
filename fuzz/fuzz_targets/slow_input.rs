//! Inputs that cost the detectors more per byte than the worst shapes we
//! know (`bench/corpus.rs`, `ADVERSARIAL`): the engine over arbitrary
//! bytes, as text and as JSON, with the bytes its detectors read again
//! counted (`piimask::mask::detect::work`; counting, not timing, so a
//! finding repeats). An input fails when it costs more than the known
//! shapes' worst per byte by a quarter, plus a fixed allowance for the
//! candidates a short input can hold. A finding is a new worst shape:
//! make it cheap, then add it to `ADVERSARIAL` (and so to the benchmark
//! and to `bench/worst_case.sh`).
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use piimask::mask::detect::work;
use piimask::mask::{ContentKind, MaskStream, Masker};

#[path = "../../bench/corpus.rs"]
#[allow(dead_code)]
mod corpus;

static MASKER: LazyLock<Arc<Masker>> =
    LazyLock::new(|| Arc::new(Masker::new(&piimask::patterns::default_config()).expect("default profile")));

/// Work a short input may cost beyond the per-byte bound: a few spans
/// of digit groups and their cuts, an address's two halves.
const ALLOWANCE: u64 = 4096;

/// The known shapes' worst work per byte, as text, times 1.25.
static BOUND: LazyLock<f64> = LazyLock::new(|| {
    let worst = corpus::ADVERSARIAL
        .iter()
        .map(|(name, generate)| {
            let body = generate(64 << 10, 7);
            let per_byte = work_of(ContentKind::Text, body.as_bytes()) as f64 / body.len() as f64;
            eprintln!("slow_input: {name}: {per_byte:.1} bytes read again per byte");
            per_byte
        })
        .fold(0.0, f64::max);
    worst * 1.25
});

fn work_of(kind: ContentKind, body: &[u8]) -> u64 {
    work::take();
    let _ = MaskStream::mask_all(MASKER.clone(), kind, body);
    work::take()
}

fuzz_target!(|body: &[u8]| {
    let bound = *BOUND;
    for kind in [ContentKind::Text, ContentKind::Json] {
        let work = work_of(kind, body);
        let limit = (bound * body.len() as f64) as u64 + ALLOWANCE;
        assert!(
            work <= limit,
            "{kind:?}: {work} bytes read again for {} bytes, above {limit} ({bound:.1} a byte)",
            body.len()
        );
    }
});
