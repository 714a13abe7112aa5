//! [`MaskStream`]: one body through the engine, and what it found.

use std::sync::Arc;

use super::charset::Charset;
use super::form::FormMasker;
use super::json::JsonMasker;
use super::multipart::{Boundary, MultipartError, MultipartMasker};
use super::segment::{Encoding, ScanScratch, Window};
use super::{Counters, Masker};

/// How a body is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentKind {
    Json,
    /// One JSON document per line; a malformed line is scanned as text and
    /// the next line is JSON again.
    Ndjson,
    /// Anything textual: text/*, logs. Rules that end in a key still
    /// apply to `"key": value` pairs found in it.
    Text,
    /// `application/x-www-form-urlencoded`: pairs percent-decoded for
    /// detection, the key as the value's context.
    Form,
    /// `multipart/*` with its boundary: each part masked by its own type,
    /// transfer encodings decoded and encoded again.
    Multipart(Boundary),
}

/// What a stream masked, reported once at its end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub bytes_in: u64,
    pub bytes_out: u64,
    /// Matches per detector name, in the masker's detector order; only
    /// detectors that matched.
    pub detectors: Vec<(Arc<str>, u64)>,
    /// Values per field rule id, in the masker's rule order; only rules
    /// that applied.
    pub rules: Vec<(Arc<str>, u64)>,
}

impl Stats {
    /// Values masked by detectors and rules together.
    pub fn total(&self) -> u64 {
        self.detectors.iter().chain(&self.rules).map(|(_, n)| n).sum()
    }

    /// Adds another stream's counts over the same body (the same masker,
    /// so the same names in the same order).
    pub fn add_counts(&mut self, other: &Stats) {
        for (mine, theirs) in [(&mut self.detectors, &other.detectors), (&mut self.rules, &other.rules)] {
            for (name, n) in theirs {
                match mine.iter_mut().find(|(m, _)| m == name) {
                    Some((_, count)) => *count += n,
                    None => mine.push((name.clone(), *n)),
                }
            }
        }
    }

    /// The count for one detector or rule, by name.
    pub fn count(&self, name: &str) -> u64 {
        self.detectors.iter().chain(&self.rules).filter(|(n, _)| **n == *name).map(|(_, c)| c).sum()
    }
}

#[derive(Debug)]
enum Inner {
    Json(Box<JsonMasker>),
    Text { window: Window, scratch: ScanScratch },
    Form(Box<FormMasker>),
    Multipart(Box<MultipartMasker>),
}

/// Masks one body. Feed chunks as they arrive; call [`MaskStream::finish`]
/// at the end. Output is identical for any chunking of the same body.
#[derive(Debug)]
pub struct MaskStream {
    masker: Arc<Masker>,
    inner: Inner,
    counters: Counters,
    bytes_in: u64,
    bytes_out: u64,
}

impl MaskStream {
    pub fn new(masker: Arc<Masker>, kind: ContentKind) -> MaskStream {
        let inner = match kind {
            ContentKind::Json => Inner::Json(Box::new(JsonMasker::new(&masker, false))),
            ContentKind::Ndjson => Inner::Json(Box::new(JsonMasker::new(&masker, true))),
            // Text that holds JSON (an API answering `text/html`, a JSONP
            // script): rules that end in a key apply to `"key": value`
            // pairs, as in the text scan of malformed JSON. Without such
            // rules text costs what it did.
            ContentKind::Text if masker.rules.has_last_keys() => Inner::Json(Box::new(JsonMasker::for_text(&masker))),
            ContentKind::Text => Inner::Text { window: Window::default(), scratch: ScanScratch::default() },
            ContentKind::Form => Inner::Form(Box::new(FormMasker::new(&masker))),
            ContentKind::Multipart(b) => Inner::Multipart(Box::new(MultipartMasker::new(b))),
        };
        let counters =
            Counters { detectors: vec![0; masker.detector_names.len()], rules: vec![0; masker.rule_ids.len()] };
        MaskStream { masker, inner, counters, bytes_in: 0, bytes_out: 0 }
    }

    /// A stream for a form whose decoded bytes are in `charset` (see
    /// [`FormMasker::in_charset`]).
    pub fn form_in(masker: Arc<Masker>, charset: &'static encoding_rs::Encoding) -> MaskStream {
        let mut stream = MaskStream::new(masker, ContentKind::Form);
        stream.inner = Inner::Form(Box::new(FormMasker::in_charset(&stream.masker, Some(charset))));
        stream
    }

    /// A stream for a multipart body whose `charset` parameter names
    /// `charset` (see [`MultipartMasker::in_charset`]).
    pub fn multipart_in(masker: Arc<Masker>, boundary: Boundary, charset: Charset) -> MaskStream {
        let mut stream = MaskStream::new(masker, ContentKind::Multipart(boundary));
        stream.inner = Inner::Multipart(Box::new(MultipartMasker::in_charset(boundary, charset)));
        stream
    }

    /// The masker this stream masks with.
    pub fn masker(&self) -> &Arc<Masker> {
        &self.masker
    }

    /// Masks `input`, appending what can already be written to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) {
        let before = out.len();
        self.bytes_in += input.len() as u64;
        let m = &*self.masker;
        match &mut self.inner {
            Inner::Json(j) => j.feed(m, input, out, &mut self.counters),
            Inner::Text { window, scratch } => {
                window.push(input);
                window.process(m, &[], false, Encoding::Raw, out, &mut self.counters, scratch);
            }
            Inner::Form(f) => f.feed(m, input, out, &mut self.counters),
            Inner::Multipart(mp) => mp.feed(m, input, out, &mut self.counters),
        }
        self.bytes_out += (out.len() - before) as u64;
    }

    /// Why the body is refused, once it is: a multipart body whose framing
    /// or parts piimask cannot read as its receiver would. From then on the
    /// stream writes nothing more.
    pub fn error(&self) -> Option<MultipartError> {
        match &self.inner {
            Inner::Multipart(mp) => mp.error(),
            _ => None,
        }
    }

    /// [`MaskStream::finish`], or why the body is refused.
    pub fn try_finish(self, out: &mut Vec<u8>) -> Result<Stats, MultipartError> {
        self.finish_inner(out).map_err(|(e, _)| e)
    }

    /// Writes the rest and returns what the stream masked (a refused body
    /// writes nothing more: see [`MaskStream::error`]).
    pub fn finish(self, out: &mut Vec<u8>) -> Stats {
        match self.finish_inner(out) {
            Ok(stats) | Err((_, stats)) => stats,
        }
    }

    fn finish_inner(mut self, out: &mut Vec<u8>) -> Result<Stats, (MultipartError, Stats)> {
        let before = out.len();
        let m = &*self.masker;
        match &mut self.inner {
            Inner::Json(j) => j.finish(m, out, &mut self.counters),
            Inner::Text { window, scratch } => {
                window.process(m, &[], true, Encoding::Raw, out, &mut self.counters, scratch);
            }
            Inner::Form(f) => f.finish(m, out, &mut self.counters),
            Inner::Multipart(mp) => mp.finish(m, out, &mut self.counters),
        }
        self.bytes_out += (out.len() - before) as u64;
        // Shared names, and only those counted: a report per response
        // allocates nothing for the detectors that found nothing.
        let named = |names: &[Arc<str>], counts: &[u64]| {
            names.iter().zip(counts).filter(|(_, n)| **n > 0).map(|(name, n)| (name.clone(), *n)).collect()
        };
        let stats = Stats {
            bytes_in: self.bytes_in,
            bytes_out: self.bytes_out,
            detectors: named(&self.masker.detector_names, &self.counters.detectors),
            rules: named(&self.masker.rule_ids, &self.counters.rules),
        };
        match self.error() {
            Some(e) => Err((e, stats)),
            None => Ok(stats),
        }
    }

    /// Masks a whole body in one call: what a caller holding the body
    /// already (a header, a query value, a test) wants.
    pub fn mask_all(masker: Arc<Masker>, kind: ContentKind, body: &[u8]) -> (Vec<u8>, Stats) {
        MaskStream::mask_in_chunks(masker, kind, body, &[])
    }

    /// Masks `body` fed in pieces cut at `cuts` (offsets, clamped to the
    /// body and taken in order): the output must not depend on them.
    pub fn mask_in_chunks(masker: Arc<Masker>, kind: ContentKind, body: &[u8], cuts: &[usize]) -> (Vec<u8>, Stats) {
        MaskStream::new(masker, kind).mask_cut(body, cuts)
    }

    /// Masks all of `body` with this stream, fed in pieces cut at `cuts`
    /// (see [`MaskStream::mask_in_chunks`]).
    pub fn mask_cut(mut self, body: &[u8], cuts: &[usize]) -> (Vec<u8>, Stats) {
        let mut out = Vec::with_capacity(body.len() + body.len() / 8);
        let mut from = 0;
        for &cut in cuts {
            let cut = cut.clamp(from, body.len());
            self.feed(&body[from..cut], &mut out);
            from = cut;
        }
        self.feed(&body[from..], &mut out);
        let stats = self.finish(&mut out);
        (out, stats)
    }

    /// Runs the x86-64 baseline build of the JSON loop whatever the CPU,
    /// so tests compare it with the one the CPU picks.
    #[cfg(test)]
    pub fn use_baseline_build(&mut self) {
        if let Inner::Json(j) = &mut self.inner {
            j.use_baseline_build();
        }
    }

    /// Bytes the stream holds between calls: the carry-over that bounds its
    /// memory whatever the body size.
    pub fn held_bytes(&self) -> usize {
        match &self.inner {
            Inner::Json(j) => j.held_bytes(),
            Inner::Text { window, .. } => window.held(),
            Inner::Form(f) => f.held_bytes(),
            Inner::Multipart(mp) => mp.held_bytes(),
        }
    }
}
