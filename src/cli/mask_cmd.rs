//! `piimask mask`: stream a file or stdin through the engine to stdout.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};

use super::{ContentTypeArg, MaskArgs};
use crate::config::Config;
use crate::mask::multipart::Boundary;
use crate::mask::{Charset, ContentKind, Masker, MaskerConfig, Stats, TextStage};
use crate::patterns;

/// Read size: large enough to amortise per-call work, small enough that the
/// buffers are a few hundred KiB whatever the input size.
const CHUNK: usize = 256 * 1024;

pub fn run(args: &MaskArgs) -> anyhow::Result<()> {
    let config = masker_config(args)?;
    let charset = match &args.charset {
        None => Charset::Utf8,
        Some(label) => Charset::from_label(label).with_context(|| {
            format!("--charset {label}: not a charset piimask can decode and encode again (see the WHATWG Encoding Standard's labels, or utf-32)")
        })?,
    };
    let masker = Arc::new(Masker::new(&config).context("building the masker")?);

    let (mut input, size): (Box<dyn Read>, Option<u64>) = match &args.file {
        Some(path) => {
            let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            let size = f.metadata().ok().map(|m| m.len());
            (Box::new(f), size)
        }
        None => (Box::new(io::stdin().lock()), None),
    };
    let mut buf = vec![0u8; CHUNK];
    let first = read_some(&mut input, &mut buf)?;
    let kind = content_kind(args, &buf[..first])?;

    let progress = progress_bar(size);
    let started = Instant::now();
    let mut stream = TextStage::new(masker, kind, Some(charset));
    let mut stdout = unbuffered_stdout()?;
    let mut out = Vec::with_capacity(CHUNK + CHUNK / 4);
    let mut n = first;
    while n > 0 {
        stream.feed(&buf[..n], &mut out).context("masking the input")?;
        if write_or_quit(&mut stdout, &out)? {
            return Ok(());
        }
        out.clear();
        if let Some(p) = &progress {
            p.inc(n as u64);
        }
        n = read_some(&mut input, &mut buf)?;
    }
    let stats = stream.finish(&mut out).context("masking the input")?;
    if write_or_quit(&mut stdout, &out)? || stdout.flush().is_err() {
        return Ok(());
    }
    if let Some(p) = progress {
        p.finish_and_clear();
    }
    if args.stats {
        print_stats(&stats, started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn masker_config(args: &MaskArgs) -> anyhow::Result<MaskerConfig> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?.profile(&args.profile)?.clone(),
        None if args.profile == "default" => patterns::default_config(),
        None => bail!("--profile {} needs --config (without it only the built-in `default` exists)", args.profile),
    };
    if let Some(only) = &args.detectors {
        let known: Vec<&str> = config.detectors.iter().map(|d| d.name.as_str()).collect();
        if let Some(bad) = only.iter().find(|n| !known.contains(&n.as_str())) {
            bail!("--detectors: unknown detector `{bad}`; this profile has {}", known.join(", "));
        }
        config.detectors.retain(|d| only.contains(&d.name));
    }
    Ok(config)
}

/// Standard output without the line buffering of `io::stdout()`: the
/// masked body goes out a chunk (256 KB) at a time, and the line writer
/// searched each chunk backwards for its last newline, byte by byte
/// (~1 instruction a byte, 3% of the pass on NDJSON with long lines).
fn unbuffered_stdout() -> anyhow::Result<File> {
    let fd = io::stdout().as_fd().try_clone_to_owned().context("opening standard output")?;
    Ok(File::from(fd))
}

/// Fills as much of `buf` as one read gives, retrying on interrupts.
fn read_some(input: &mut dyn Read, buf: &mut [u8]) -> anyhow::Result<usize> {
    loop {
        match input.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading input"),
        }
    }
}

/// Writes `bytes`; `Ok(true)` when the reader went away (`| head`), which is
/// a normal way for a pipeline to end.
fn write_or_quit(w: &mut impl Write, bytes: &[u8]) -> anyhow::Result<bool> {
    match w.write_all(bytes) {
        Ok(()) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(true),
        Err(e) => Err(e).context("writing output"),
    }
}

fn content_kind(args: &MaskArgs, head: &[u8]) -> anyhow::Result<ContentKind> {
    Ok(match args.content_type {
        ContentTypeArg::Json => ContentKind::Json,
        ContentTypeArg::Ndjson => ContentKind::Ndjson,
        ContentTypeArg::Text => ContentKind::Text,
        ContentTypeArg::Form => ContentKind::Form,
        ContentTypeArg::Multipart => ContentKind::Multipart(first_line_boundary(head).context(
            "multipart input must start with its boundary line (`--` and the boundary, at most 70 characters)",
        )?),
        ContentTypeArg::Auto => {
            let ext =
                args.file.as_ref().and_then(|p| p.extension()).and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            match ext.as_deref() {
                Some("ndjson" | "jsonl") => ContentKind::Ndjson,
                Some("json") => ContentKind::Json,
                // Past a byte order mark and the NULs of UTF-16 or UTF-32.
                _ => match head
                    .iter()
                    .find(|b| !b.is_ascii_whitespace() && ![0, 0xEF, 0xBB, 0xBF, 0xFE, 0xFF].contains(*b))
                {
                    Some(b'{' | b'[') => ContentKind::Json,
                    _ => ContentKind::Text,
                },
            }
        }
    })
}

/// The boundary of a multipart body from its first line, `--boundary`.
fn first_line_boundary(head: &[u8]) -> Option<Boundary> {
    let line = head.split(|&b| b == b'\n').next()?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let boundary = line.strip_prefix(b"--")?;
    let end = boundary.iter().rposition(|&b| b != b' ' && b != b'\t')? + 1;
    Boundary::new(&boundary[..end])
}

/// A progress bar on an interactive stderr only; nothing when piped.
fn progress_bar(size: Option<u64>) -> Option<indicatif::ProgressBar> {
    if !io::stderr().is_terminal() {
        return None;
    }
    let bar = match size {
        Some(n) => indicatif::ProgressBar::new(n).with_style(
            indicatif::ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}").ok()?,
        ),
        None => indicatif::ProgressBar::new_spinner()
            .with_style(indicatif::ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}").ok()?),
    };
    Some(bar)
}

fn print_stats(stats: &Stats, seconds: f64) {
    let mb = stats.bytes_in as f64 / 1e6;
    eprintln!(
        "piimask: {} bytes in, {} bytes out, {:.1} MB/s, {} values masked",
        stats.bytes_in,
        stats.bytes_out,
        if seconds > 0.0 { mb / seconds } else { 0.0 },
        stats.total()
    );
    for (name, n) in stats.detectors.iter().chain(&stats.rules) {
        eprintln!("  {name}: {n}");
    }
}
