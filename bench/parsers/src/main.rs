//! piimask masking JSON against Rust's fastest JSON parsers merely parsing
//! it: serde_json (into `IgnoredAny`, its skipping path), sonic-rs (its
//! lazy array iterator, which validates and skips each element, and its
//! DOM), and simd-json (its tape, the simdjson design, parsing a copy in
//! place). A JSON-aware masker reads everything a parser reads, then
//! validates candidates and writes every byte, so these are the scale its
//! speed is read against: the proxy benchmark's bar at 64 KB (see
//! README.md, "Measuring") asks piimask to mask its order response in
//! less time than Envoy's proxying costs beyond piimask's own.
//!
//! In one process, hot, each measure timed over the same number of passes
//! and the measures alternated round by round (this machine is shared and
//! noisy); medians of the rounds, reported as MB/s and as piimask's speed
//! over each parser's. piimask streams as the proxy does: the body fed in
//! 64 KB pieces, one output buffer reused. Run by `bench/parsers/run.sh`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use piimask::mask::{ContentKind, MaskStream, Masker};

#[path = "../../corpus.rs"]
#[allow(dead_code)]
mod corpus;

/// The piece a streaming masker is fed (a proxy's read size, about).
const PIECE: usize = 64 * 1024;

type Measure<'a> = (&'static str, Box<dyn FnMut(&[u8]) -> usize + 'a>);

fn main() {
    let mut args = std::env::args().skip(1);
    let order_body = args.next().expect("usage: piimask-parser-bench ORDER_BODY.json [--rounds N]");
    let rounds = match (args.next().as_deref(), args.next()) {
        (Some("--rounds"), Some(n)) => n.parse().expect("--rounds takes a number"),
        _ => 21,
    };
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("64 KB order response (bench/proxy)", std::fs::read(&order_body).expect("the order body")),
        ("dense records, 4 MB", corpus::json(4 << 20, 42).into_bytes()),
        ("prose-heavy tickets, 4 MB", corpus::json_prose(4 << 20, 42).into_bytes()),
        ("user directory, 4 MB", corpus::json_people(4 << 20, 42).into_bytes()),
    ];
    let masker = Arc::new(Masker::new(&piimask::patterns::default_config()).expect("the built-in profile"));
    println!("{rounds} rounds; median MB/s, and piimask's speed over the parser's");
    for (name, body) in &bodies {
        compare(name, body, &masker, rounds);
    }
}

fn compare(name: &str, body: &[u8], masker: &Arc<Masker>, rounds: usize) {
    let mut out = Vec::with_capacity(PIECE + PIECE / 8);
    let mut copy = body.to_vec();
    let mut tape = simd_json::Buffers::new(body.len());
    let mut measures: Vec<Measure> = vec![
        (
            "piimask, masking",
            Box::new(|b: &[u8]| {
                let mut stream = MaskStream::new(masker.clone(), ContentKind::Json);
                let mut written = 0;
                for piece in b.chunks(PIECE) {
                    out.clear();
                    stream.feed(piece, &mut out);
                    written += out.len();
                }
                out.clear();
                stream.finish(&mut out);
                written + out.len()
            }),
        ),
        (
            "serde_json, IgnoredAny",
            Box::new(|b: &[u8]| {
                let _: serde::de::IgnoredAny = serde_json::from_slice(b).expect("JSON");
                1
            }),
        ),
        (
            "sonic-rs, array iterator",
            Box::new(|b: &[u8]| sonic_rs::to_array_iter(b).map(|v| v.expect("JSON").as_raw_str().len()).sum()),
        ),
        (
            "sonic-rs, DOM",
            Box::new(|b: &[u8]| {
                let v: sonic_rs::Value = sonic_rs::from_slice(b).expect("JSON");
                black_box(&v);
                1
            }),
        ),
        (
            "simd-json, tape (with the copy)",
            Box::new(|b: &[u8]| {
                copy.copy_from_slice(b);
                simd_json::to_tape_with_buffers(&mut copy, &mut tape).expect("JSON").0.len()
            }),
        ),
    ];
    // About 32 MB a measure and round, so each timing spans milliseconds.
    let passes = ((32 << 20) / body.len()).max(1);
    let mut seconds = vec![Vec::with_capacity(rounds); measures.len()];
    for _ in 0..rounds {
        for (i, (_, run)) in measures.iter_mut().enumerate() {
            let started = Instant::now();
            for _ in 0..passes {
                black_box(run(black_box(body)));
            }
            seconds[i].push(started.elapsed().as_secs_f64() / passes as f64);
        }
    }
    let medians: Vec<f64> = seconds
        .iter_mut()
        .map(|s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect();
    println!("\n{name} ({} bytes)", body.len());
    for ((label, _), t) in measures.iter().zip(&medians) {
        let mb_s = body.len() as f64 / t / 1e6;
        println!("  {label:34} {:8.1} µs  {mb_s:6.0} MB/s  piimask {:.2}x", t * 1e6, t / medians[0]);
    }
}
