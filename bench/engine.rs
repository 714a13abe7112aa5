//! Criterion benchmarks of the masking engine: throughput in input bytes
//! per second of the whole masking pass, beside a naive baseline (one email
//! and one phone `regex::Regex::replace_all` over the same bytes).
//!
//! `cargo bench --bench engine`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use piimask::mask::{Charset, ContentKind, MaskStream, Masker};

#[path = "corpus.rs"]
mod corpus;
#[path = "naive.rs"]
mod naive;

const CHUNK: usize = 64 * 1024;

fn mask_all(masker: &Arc<Masker>, kind: ContentKind, body: &[u8], out: &mut Vec<u8>) -> usize {
    let mut s = MaskStream::new(masker.clone(), kind);
    let mut total = 0;
    for chunk in body.chunks(CHUNK) {
        s.feed(chunk, out);
        total += out.len();
        out.clear();
    }
    s.finish(out);
    total + out.len()
}

fn engine(c: &mut Criterion) {
    let masker = Arc::new(Masker::new(&piimask::patterns::default_config()).expect("default profile"));
    let naive = naive::Naive::new();
    let json = corpus::json(8 << 20, 7);
    let prose = corpus::json_prose(8 << 20, 7);
    let people = corpus::json_people(8 << 20, 7);
    let text = corpus::text(8 << 20, 7);
    let mut out = Vec::with_capacity(CHUNK * 2);

    let mut group = c.benchmark_group("mask");
    group.sample_size(20);
    for (name, kind, body) in [
        ("json", ContentKind::Json, &json),
        ("json_prose", ContentKind::Json, &prose),
        ("json_people", ContentKind::Json, &people),
        ("text", ContentKind::Text, &text),
    ] {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("piimask", name), body, |b, body| {
            b.iter(|| black_box(mask_all(&masker, kind, body.as_bytes(), &mut out)))
        });
        group.bench_with_input(BenchmarkId::new("naive_regex", name), body, |b, body| {
            b.iter(|| black_box(naive.mask(body).len()))
        });
    }
    group.finish();

    // Text built to cost the detectors the most per byte (see
    // `corpus::ADVERSARIAL`): its own group, on smaller bodies.
    let mut group = c.benchmark_group("mask_worst_case");
    group.sample_size(10);
    for (name, generate) in corpus::ADVERSARIAL {
        let body = generate(1 << 20, 7);
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_with_input(BenchmarkId::new("piimask", name), &body, |b, body| {
            b.iter(|| black_box(mask_all(&masker, ContentKind::Text, body.as_bytes(), &mut out)))
        });
        group.bench_with_input(BenchmarkId::new("naive_regex", name), &body, |b, body| {
            b.iter(|| black_box(naive.mask(body).len()))
        });
    }
    group.finish();
}

/// A body through the proxy's whole pipeline: each content coding undone,
/// masked, and applied again at piimask's fast levels. Throughput in
/// decoded bytes, beside the identity body.
fn codings(c: &mut Criterion) {
    use std::io::Write;

    use piimask::proxy::{Coding, Codings, Pipeline};
    let masker = Arc::new(Masker::new(&piimask::patterns::default_config()).expect("default profile"));
    let json = corpus::json(4 << 20, 7);
    let encode = |coding: Coding, bytes: &[u8]| -> Vec<u8> {
        match coding {
            Coding::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(bytes).expect("gzip");
                e.finish().expect("gzip")
            }
            Coding::Deflate => {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(bytes).expect("deflate");
                e.finish().expect("deflate")
            }
            Coding::Brotli => {
                let mut out = Vec::new();
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                e.write_all(bytes).expect("br");
                drop(e);
                out
            }
            Coding::Zstd => zstd::stream::encode_all(bytes, 3).expect("zstd"),
        }
    };
    let mut group = c.benchmark_group("codings");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(json.len() as u64));
    let stacks: [(&str, &[Coding]); 6] = [
        ("identity", &[]),
        ("gzip", &[Coding::Gzip]),
        ("deflate", &[Coding::Deflate]),
        ("br", &[Coding::Brotli]),
        ("zstd", &[Coding::Zstd]),
        ("gzip_br", &[Coding::Gzip, Coding::Brotli]),
    ];
    let mut out = Vec::with_capacity(CHUNK * 2);
    for (name, stack) in stacks {
        let body = stack.iter().fold(json.as_bytes().to_vec(), |bytes, coding| encode(*coding, &bytes));
        let codings = Codings::from(stack);
        group.bench_with_input(BenchmarkId::new("pipeline", name), &body, |b, body| {
            b.iter(|| {
                let mut p =
                    Pipeline::new(masker.clone(), ContentKind::Json, Some(Charset::Utf8), &codings).expect("pipeline");
                let mut total = 0;
                for chunk in body.chunks(16 * 1024) {
                    p.feed(chunk, &mut out).expect("feed");
                    total += out.len();
                    out.clear();
                }
                p.finish(&mut out).expect("finish");
                black_box(total + out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, engine, codings);
criterion_main!(benches);
