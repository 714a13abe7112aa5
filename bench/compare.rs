//! The `piimask mask` CLI on a few hundred MB of JSON in three shapes
//! (dense records and prose-heavy tickets with ~1% PII, a PII-dense user
//! directory), against the naive baseline (one email and one phone
//! `replace_all`) on the same file, alternating in one run and reported as
//! a ratio, because this machine is shared and absolute times drift.
//!
//! `cargo bench --bench compare` (PIIMASK_BENCH_MB sets the size, default 300;
//! PIIMASK_BENCH_ROUNDS the rounds, default 3).
//!
//! Throughput counts input bytes per second of the whole pass. The CLI is
//! timed as a process (start-up, reading the file, writing to /dev/null); the
//! baseline in-process with the file already read, which favours it.
//!
//! For scale, the same run also times serde_json parsing the file into
//! nothing (`IgnoredAny`): the cost of merely reading JSON correctly with a
//! mature parser, a floor for any JSON-aware masker built like one. And two
//! ceilings no masker can pass: copying the file 64 KB at a time into one
//! buffer (a masker streams its output out so) and finding every quote in
//! it with `memchr` (a JSON-aware pass looks at every byte at least that
//! much), both in process; the run prints what 20x the naive baseline
//! would be next to them.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

// The generator is shared with the criterion bench, which uses all of it.
#[path = "corpus.rs"]
#[allow(dead_code)]
mod corpus;
#[path = "naive.rs"]
mod naive;

/// The JSON shapes compared: dense API records (ids, UUIDs, timestamps,
/// coordinates in every record: the engine's precision work), prose-heavy
/// tickets (a few hundred bytes of message per record, like the order
/// bodies of the proxy benchmark), both with ~1% PII, and a user directory
/// where every record holds an email address and a phone number (what a
/// service that holds PII sends: the cost of each match).
/// Each with the file name it is kept under, how much PII it holds and
/// what writes it.
const CORPORA: &[Corpus] = &[
    Corpus {
        shape: "dense records",
        name: "corpus",
        pii: "~1% PII",
        write: |w, bytes| corpus::write_json(w, bytes, 42),
    },
    Corpus {
        shape: "prose-heavy tickets",
        name: "prose",
        pii: "~1% PII",
        write: |w, bytes| w.write_all(corpus::json_prose(bytes, 42).as_bytes()),
    },
    Corpus {
        shape: "user directory",
        name: "people",
        pii: "an email and a phone a record, ~20% PII",
        write: |w, bytes| w.write_all(corpus::json_people(bytes, 42).as_bytes()),
    },
];

struct Corpus {
    shape: &'static str,
    name: &'static str,
    pii: &'static str,
    write: WriteCorpus,
}

/// Writes about `bytes` of a corpus.
type WriteCorpus = fn(&mut BufWriter<File>, usize) -> std::io::Result<()>;

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let mb: usize = std::env::var("PIIMASK_BENCH_MB").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let rounds: usize = std::env::var("PIIMASK_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    for c in CORPORA {
        compare(c, &corpus_file(c.name, c.write, mb), rounds);
    }
}

/// Times the three passes over one corpus, alternating, and prints the
/// medians and ratios.
fn compare(corpus: &Corpus, path: &Path, rounds: usize) {
    let shape = corpus.shape;
    let bytes = std::fs::metadata(path).expect("corpus").len() as f64;
    let body = std::fs::read_to_string(path).expect("read corpus");
    let naive = naive::Naive::new();
    let bin = env!("CARGO_BIN_EXE_piimask");

    let (mut cli, mut base, mut parse) = (Vec::new(), Vec::new(), Vec::new());
    let (mut copy, mut look) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let t = Instant::now();
        let status = Command::new(bin)
            .args(["mask", "--content-type", "json"])
            .arg(path)
            .stdout(Stdio::null())
            .status()
            .expect("run piimask");
        assert!(status.success());
        cli.push(bytes / t.elapsed().as_secs_f64() / 1e6);

        let t = Instant::now();
        let masked = naive.mask(&body);
        std::hint::black_box(masked.len());
        base.push(bytes / t.elapsed().as_secs_f64() / 1e6);

        let t = Instant::now();
        let parsed: serde::de::IgnoredAny = serde_json::from_str(&body).expect("the corpus is JSON");
        std::hint::black_box(parsed);
        parse.push(bytes / t.elapsed().as_secs_f64() / 1e6);

        let t = Instant::now();
        // Streamed as a masker writes: 64 KB at a time into one buffer.
        let mut out = Vec::with_capacity(1 << 16);
        for chunk in body.as_bytes().chunks(1 << 16) {
            out.clear();
            out.extend_from_slice(chunk);
            std::hint::black_box(&mut out);
        }
        copy.push(bytes / t.elapsed().as_secs_f64() / 1e6);

        let t = Instant::now();
        std::hint::black_box(memchr::memchr_iter(b'"', body.as_bytes()).count());
        look.push(bytes / t.elapsed().as_secs_f64() / 1e6);
        eprintln!(
            "{shape}, round {round}: piimask {:.0} MB/s, naive regex {:.0} MB/s, serde_json parse {:.0} MB/s, \
             copy {:.0} MB/s, quote count {:.0} MB/s",
            cli[round], base[round], parse[round], copy[round], look[round]
        );
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (c, b, p) = (median(&mut cli), median(&mut base), median(&mut parse));
    let (copy, look) = (median(&mut copy), median(&mut look));
    println!("{shape}: {} ({:.0} MB JSON, {})", path.display(), bytes / 1e6, corpus.pii);
    println!("  piimask mask (CLI, 1 thread): {c:.0} MB/s");
    println!("  naive regex replace_all:      {b:.0} MB/s");
    println!("  ratio: {:.1}x", c / b);
    println!("  serde_json parse only (IgnoredAny, in process): {p:.0} MB/s; piimask masks at {:.2}x that", c / p);
    println!(
        "  ceilings (in process): copying the file {copy:.0} MB/s, counting its quotes (memchr) {look:.0} MB/s; \
         20x naive would be {:.0} MB/s, {:.2}x a copy",
        20.0 * b,
        20.0 * b / copy
    );
}

/// The corpus file `NAME-MBm.json`, written on first use.
fn corpus_file(name: &str, write: WriteCorpus, mb: usize) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("bench data dir");
    let path = dir.join(format!("{name}-{mb}m.json"));
    if !path.exists() {
        let mut w = BufWriter::new(File::create(&path).expect("create corpus"));
        write(&mut w, mb << 20).expect("write corpus");
        w.flush().expect("write corpus");
    }
    path
}
