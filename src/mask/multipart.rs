//! Streaming masking of `multipart/*` bodies (`form-data`, `mixed`, …).
//!
//! The body is read part by part (RFC 2046 §5.1): boundary lines are kept
//! byte for byte; each part's headers are scanned as text (a file name can
//! be an email) and otherwise kept; each part's body is masked by its own
//! `Content-Type`, read as a whole body's is ([`content_kind`]): JSON,
//! NDJSON, a form, text, or multipart again (nested up to [`MAX_DEPTH`]).
//! A `Content-Transfer-Encoding` of `base64` or `quoted-printable` is
//! decoded for masking and encoded again; `7bit`, `8bit` and `binary` are
//! read as they are; any other is scanned as text as it stands. A part's
//! `name` (from `Content-Disposition`) is its body's context, as a form
//! key is, and a field rule that matches it as a form key (`$.email`)
//! acts on the whole decoded body. A part of a type the engine does not parse (an image, a PDF,
//! `application/octet-stream`) passes unchanged when its first bytes are
//! not text, and is scanned as text when they are.
//!
//! The preamble and epilogue are scanned as text. A header block longer
//! than [`MAX_HEADERS`], or one the body ends in, turns the rest of the
//! body into text scanning: nothing is passed because it could not be
//! parsed. A body whose closing boundary never comes ends its last part as
//! that part's masker ends it.

mod transfer;

use memchr::memmem;

use self::transfer::{Base64Decoder, Base64Encoder, QpDecoder, QpEncoder};
use super::action::{Action, StreamingHash, StreamingMask};
use super::content_type::content_kind;
use super::detect::Hay;
use super::form::FormMasker;
use super::json::JsonMasker;
use super::json::path::Segment;
use super::segment::{Encoding, ScanScratch, Window, mask_segment};
use super::{ContentKind, Counters, Masker};

/// Longest boundary (RFC 2046 §5.1.1).
pub const MAX_BOUNDARY: usize = 70;
/// A part's header block longer than this is malformed.
pub const MAX_HEADERS: usize = 16 * 1024;
/// Multipart parts nested deeper than this are scanned as text.
pub const MAX_DEPTH: usize = 4;
/// Decoded bytes of a part of an unparsed type looked at to tell text from
/// binary.
const SNIFF: usize = 512;
/// A part name longer than this matches no field rule.
const MAX_NAME: usize = 256;
/// Transport padding accepted after a boundary, before its line break.
const MAX_PADDING: usize = 64;

/// A multipart boundary: 1 to 70 visible ASCII characters (or spaces, not
/// last), kept inline so a [`ContentKind`] stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Boundary {
    len: u8,
    bytes: [u8; MAX_BOUNDARY],
}

impl Boundary {
    pub fn new(b: &[u8]) -> Option<Boundary> {
        let valid = (1..=MAX_BOUNDARY).contains(&b.len())
            && b.iter().all(|&c| (0x20..0x7F).contains(&c) && c != b'"')
            && b.last() != Some(&b' ');
        if !valid {
            return None;
        }
        let mut bytes = [0; MAX_BOUNDARY];
        bytes[..b.len()].copy_from_slice(b);
        Some(Boundary { len: b.len() as u8, bytes })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }

    /// The `boundary` parameter of a `Content-Type` value, if valid.
    pub fn of_content_type(content_type: &str) -> Option<Boundary> {
        params(content_type)
            .find(|(k, _)| k.eq_ignore_ascii_case("boundary"))
            .and_then(|(_, v)| Boundary::new(v.as_bytes()))
    }
}

impl std::fmt::Debug for Boundary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Boundary({:?})", String::from_utf8_lossy(self.as_bytes()))
    }
}

/// The `key=value` parameters after the first `;` of a header value,
/// quotes removed (a `;` inside quotes does not split).
fn params(value: &str) -> impl Iterator<Item = (&str, String)> {
    let mut pieces = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                pieces.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    pieces.push(&value[start..]);
    pieces.into_iter().skip(1).filter_map(|p| {
        let (k, v) = p.split_once('=')?;
        let v = v.trim();
        let v = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(q) => q.replace("\\\"", "\"").replace("\\\\", "\\"),
            None => v.to_string(),
        };
        Some((k.trim(), v))
    })
}

/// How a part's body is encoded for transport.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transfer {
    AsIs,
    Base64,
    QuotedPrintable,
    /// A coding piimask does not decode: the body is scanned as text as it
    /// stands.
    Unknown,
}

/// What a part's headers say of its body.
#[derive(Debug, Default)]
struct PartHeaders {
    content_type: Option<String>,
    transfer: Option<String>,
    name: Vec<u8>,
}

fn parse_headers(block: &[u8]) -> PartHeaders {
    let text = String::from_utf8_lossy(block);
    // Unfold continuation lines, then read `Name: value` lines.
    let mut lines: Vec<String> = Vec::new();
    for line in text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)) {
        match (line.starts_with([' ', '\t']), lines.last_mut()) {
            (true, Some(last)) => last.push_str(line),
            _ => lines.push(line.to_string()),
        }
    }
    let mut h = PartHeaders::default();
    for line in &lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => h.content_type = Some(value.to_string()),
            "content-transfer-encoding" => h.transfer = Some(value.to_ascii_lowercase()),
            "content-disposition" => {
                if let Some((_, n)) = params(value).find(|(k, _)| k.eq_ignore_ascii_case("name")) {
                    h.name = n.into_bytes();
                }
            }
            _ => {}
        }
    }
    h
}

/// A part's body masker, by its type.
#[derive(Debug)]
enum Body {
    Json(Box<JsonMasker>),
    Text {
        window: Window,
        scratch: ScanScratch,
    },
    Form(Box<FormMasker>),
    Multipart(Box<MultipartMasker>),
    /// An unparsed type: its first decoded bytes, and its input, until
    /// they show whether it is text.
    Sniff {
        raw: Vec<u8>,
        decoded: Vec<u8>,
    },
    Pass,
    /// A field rule on the part's name: the action on the whole decoded
    /// body.
    Rule(RuleBody),
}

/// A field rule's action on a part's body.
#[derive(Debug)]
enum RuleBody {
    Keep,
    /// Redacted (the placeholder, written at the end) or dropped (empty).
    Replace(Vec<u8>),
    Mask(Option<StreamingMask>),
    Hash(Option<Box<StreamingHash>>),
}

impl Body {
    fn new(masker: &Masker, kind: Option<ContentKind>, depth: usize) -> Body {
        match kind {
            Some(ContentKind::Json) => Body::Json(Box::new(JsonMasker::new(masker, false))),
            Some(ContentKind::Ndjson) => Body::Json(Box::new(JsonMasker::new(masker, true))),
            Some(ContentKind::Form) => Body::Form(Box::new(FormMasker::new(masker))),
            Some(ContentKind::Multipart(b)) if depth < MAX_DEPTH => {
                Body::Multipart(Box::new(MultipartMasker::nested(b, depth + 1)))
            }
            Some(ContentKind::Text | ContentKind::Multipart(_)) => Body::text(),
            None => Body::Sniff { raw: Vec::new(), decoded: Vec::new() },
        }
    }

    fn text() -> Body {
        Body::Text { window: Window::default(), scratch: ScanScratch::default() }
    }

    /// Masks decoded bytes of a parsed type.
    fn feed(&mut self, m: &Masker, key: &[u8], input: &[u8], last: bool, out: &mut Vec<u8>, c: &mut Counters) {
        match self {
            Body::Json(j) => {
                j.feed(m, input, out, c);
                if last {
                    j.finish(m, out, c);
                }
            }
            Body::Text { window, scratch } => {
                window.push(input);
                window.process(m, key, last, Encoding::Raw, out, c, scratch);
            }
            Body::Form(f) => {
                f.feed(m, input, out, c);
                if last {
                    f.finish(m, out, c);
                }
            }
            Body::Multipart(mp) => {
                mp.feed(m, input, out, c);
                if last {
                    mp.finish(m, out, c);
                }
            }
            Body::Sniff { .. } | Body::Pass => out.extend_from_slice(input),
            Body::Rule(rule) => match rule {
                RuleBody::Keep => out.extend_from_slice(input),
                RuleBody::Replace(with) => {
                    if last {
                        out.extend_from_slice(with);
                    }
                }
                RuleBody::Mask(mk) => {
                    if let Some(x) = mk {
                        x.push(input, out);
                    }
                    if last && let Some(x) = mk.take() {
                        x.finish(out);
                    }
                }
                RuleBody::Hash(h) => {
                    if let Some(x) = h {
                        x.push(input);
                    }
                    if last && let Some(x) = h.take() {
                        x.finish(out);
                    }
                }
            },
        }
    }

    fn held(&self) -> usize {
        match self {
            Body::Json(j) => j.held_bytes(),
            Body::Text { window, .. } => window.held(),
            Body::Form(f) => f.held_bytes(),
            Body::Multipart(mp) => mp.held_bytes(),
            Body::Sniff { raw, decoded } => raw.len() + decoded.len(),
            Body::Pass | Body::Rule(_) => 0,
        }
    }
}

/// The action of the first field rule that matches a part's name as a
/// form key (`$.name`, `$..name`), counted.
fn rule_for<'m>(masker: &'m Masker, name: &[u8], c: &mut Counters) -> Option<&'m Action> {
    if masker.rules.is_empty() || name.is_empty() || name.len() > MAX_NAME {
        return None;
    }
    let mut next = Vec::new();
    let r = masker.rules.step(&masker.rules.root(), Segment::Key(name), &mut next)?;
    c.rules[r] += 1;
    Some(masker.rules.action(r))
}

/// Whether the start of an unparsed part is text: UTF-8 (perhaps cut in a
/// character at the end) without NUL or other control bytes but tab and
/// line breaks.
fn looks_like_text(bytes: &[u8]) -> bool {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none() && bytes.len() - e.valid_up_to() < 4,
    };
    valid && !bytes.iter().any(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
}

#[derive(Debug)]
enum Decoder {
    AsIs,
    Base64(Base64Decoder),
    Qp(QpDecoder),
}

#[derive(Debug)]
enum Encoder {
    AsIs,
    Base64(Base64Encoder),
    Qp(QpEncoder),
}

/// One part's body on its way through.
#[derive(Debug)]
struct Part {
    name: Vec<u8>,
    decoder: Decoder,
    encoder: Encoder,
    body: Body,
    decoded: Vec<u8>,
    masked: Vec<u8>,
}

impl Part {
    fn new(masker: &Masker, h: PartHeaders, depth: usize, c: &mut Counters) -> Part {
        let transfer = match h.transfer.as_deref() {
            None | Some("7bit" | "8bit" | "binary") => Transfer::AsIs,
            Some("base64") => Transfer::Base64,
            Some("quoted-printable") => Transfer::QuotedPrintable,
            Some(_) => Transfer::Unknown,
        };
        // RFC 2046 §5.1: a part without a type is plain text.
        let kind = match transfer {
            Transfer::Unknown => Some(ContentKind::Text),
            _ => content_kind(Some(h.content_type.as_deref().unwrap_or("text/plain"))),
        };
        let (decoder, encoder) = match transfer {
            Transfer::Base64 => (Decoder::Base64(Base64Decoder::default()), Encoder::Base64(Base64Encoder::default())),
            Transfer::QuotedPrintable => (Decoder::Qp(QpDecoder::default()), Encoder::Qp(QpEncoder::default())),
            Transfer::AsIs | Transfer::Unknown => (Decoder::AsIs, Encoder::AsIs),
        };
        let body = match rule_for(masker, &h.name, c) {
            Some(action) => Body::Rule(match action {
                Action::Keep => RuleBody::Keep,
                Action::Drop => RuleBody::Replace(Vec::new()),
                Action::Redact { placeholder } => RuleBody::Replace(placeholder.as_bytes().to_vec()),
                Action::Mask { keep_last } => RuleBody::Mask(Some(StreamingMask::new(*keep_last))),
                Action::Hash { key, label } => {
                    RuleBody::Hash(Some(Box::new(StreamingHash::new(key.clone(), label.clone()))))
                }
            }),
            None => Body::new(masker, kind, depth),
        };
        Part { name: h.name, decoder, encoder, body, decoded: Vec::new(), masked: Vec::new() }
    }

    /// Masks the next bytes of the part's body as they came (`last` at its
    /// end).
    fn feed(&mut self, m: &Masker, raw: &[u8], last: bool, out: &mut Vec<u8>, c: &mut Counters) {
        if let Body::Pass = self.body {
            out.extend_from_slice(raw);
            return;
        }
        if let Encoder::Base64(e) = &mut self.encoder {
            e.note_input(raw);
        }
        self.decoded.clear();
        match &mut self.decoder {
            Decoder::AsIs => self.decoded.extend_from_slice(raw),
            Decoder::Base64(d) => {
                d.push(raw, &mut self.decoded);
                if last {
                    d.finish(&mut self.decoded);
                }
            }
            Decoder::Qp(d) => {
                d.push(raw, &mut self.decoded);
                if last {
                    d.finish(&mut self.decoded);
                }
            }
        }
        if let Body::Sniff { raw: held_raw, decoded } = &mut self.body {
            held_raw.extend_from_slice(raw);
            decoded.extend_from_slice(&self.decoded);
            // Bounded even when the input decodes to little (base64 of
            // mostly stray characters).
            if decoded.len() < SNIFF && held_raw.len() < 8 * SNIFF && !last {
                return;
            }
            if !looks_like_text(&decoded[..decoded.len().min(SNIFF)]) {
                out.extend_from_slice(held_raw);
                self.body = Body::Pass;
                return;
            }
            self.decoded = std::mem::take(decoded);
            self.body = Body::text();
        }
        let decoded = std::mem::take(&mut self.decoded);
        match &mut self.encoder {
            Encoder::AsIs => self.body.feed(m, &self.name, &decoded, last, out, c),
            _ => {
                self.masked.clear();
                self.body.feed(m, &self.name, &decoded, last, &mut self.masked, c);
                match &mut self.encoder {
                    Encoder::Base64(e) => e.push(&self.masked, out),
                    Encoder::Qp(e) => e.push(&self.masked, out),
                    Encoder::AsIs => {}
                }
            }
        }
        self.decoded = decoded;
        if last {
            match std::mem::replace(&mut self.encoder, Encoder::AsIs) {
                Encoder::Base64(e) => e.finish(out),
                Encoder::Qp(e) => e.finish(out),
                Encoder::AsIs => {}
            }
        }
    }

    fn held(&self) -> usize {
        let encoder = match &self.encoder {
            Encoder::Base64(e) => e.held(),
            _ => 0,
        };
        self.body.held() + encoder
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first boundary: text.
    Preamble,
    /// After a boundary line: the part's header block.
    Headers,
    /// A part's body.
    Body,
    /// After the closing boundary, or after malformed input: text to the
    /// end.
    Text,
}

/// What follows `--boundary` decides whether it is a boundary line.
enum After {
    NeedMore,
    NotBoundary,
    /// A part follows; the boundary line's rest is this long.
    Open(usize),
    /// The closing boundary (`--` consumed).
    Close,
}

/// The multipart half of a [`super::MaskStream`].
#[derive(Debug)]
pub struct MultipartMasker {
    /// `\n--boundary`: a boundary line starts after a line break.
    delimiter: Vec<u8>,
    depth: usize,
    state: State,
    /// Input not yet decided.
    buf: Vec<u8>,
    /// `buf[0]` is a line break standing for the body's start, so a
    /// boundary on the first line is found; it is not output.
    virtual_start: bool,
    text: Window,
    scratch: ScanScratch,
    part: Option<Box<Part>>,
    /// Bytes of a header block already searched for its end.
    scanned: usize,
}

impl MultipartMasker {
    pub fn new(boundary: Boundary) -> MultipartMasker {
        MultipartMasker::nested(boundary, 0)
    }

    fn nested(boundary: Boundary, depth: usize) -> MultipartMasker {
        let mut delimiter = b"\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        MultipartMasker {
            delimiter,
            depth,
            state: State::Preamble,
            buf: vec![b'\n'],
            virtual_start: true,
            text: Window::default(),
            scratch: ScanScratch::default(),
            part: None,
            scanned: 0,
        }
    }

    pub fn held_bytes(&self) -> usize {
        self.buf.len() + self.text.held() + self.part.as_ref().map_or(0, |p| p.held())
    }

    pub fn feed(&mut self, m: &Masker, input: &[u8], out: &mut Vec<u8>, c: &mut Counters) {
        self.buf.extend_from_slice(input);
        self.run(m, false, out, c);
    }

    pub fn finish(&mut self, m: &Masker, out: &mut Vec<u8>, c: &mut Counters) {
        self.run(m, true, out, c);
    }

    /// Reads `buf` as far as it can be decided (with `last`, all of it).
    fn run(&mut self, m: &Masker, last: bool, out: &mut Vec<u8>, c: &mut Counters) {
        let mut from = 0;
        loop {
            match self.state {
                State::Preamble | State::Body => {
                    let found = memmem::find(&self.buf[from..], &self.delimiter).map(|p| from + p);
                    let Some(at) = found else {
                        // Everything but a tail that may start a boundary.
                        let keep = if last { 0 } else { self.delimiter.len() + 1 };
                        let cut = self.buf.len().saturating_sub(keep);
                        self.content(m, cut, out, c);
                        self.consume(cut);
                        if last {
                            self.end_content(m, out, c);
                        }
                        return;
                    };
                    let after = at + self.delimiter.len();
                    // A CR before the line break belongs to the boundary.
                    let end = if at > 0 && self.buf[at - 1] == b'\r' { at - 1 } else { at };
                    let line_end = match self.after_boundary(after, last) {
                        After::NeedMore => {
                            self.content(m, end, out, c);
                            self.consume(end);
                            return;
                        }
                        After::NotBoundary => {
                            from = at + 1;
                            continue;
                        }
                        After::Open(n) => {
                            self.state = State::Headers;
                            after + n
                        }
                        After::Close => {
                            self.state = State::Text;
                            after + 2.min(self.buf.len() - after)
                        }
                    };
                    let state = std::mem::replace(&mut self.state, State::Body);
                    self.content(m, end, out, c);
                    self.end_content(m, out, c);
                    self.state = state;
                    // The boundary line as it came.
                    out.extend_from_slice(&self.buf[end.max(self.virtual_start as usize)..line_end]);
                    self.consume(line_end);
                    from = 0;
                }
                State::Headers => {
                    let Some(end) = header_block_end(&self.buf, self.scanned).filter(|&e| e <= MAX_HEADERS) else {
                        if self.buf.len() > MAX_HEADERS || last {
                            self.state = State::Text;
                            continue;
                        }
                        self.scanned = self.buf.len();
                        return;
                    };
                    self.scanned = 0;
                    let hay = Hay::whole(&self.buf[..end], b"");
                    mask_segment(m, &hay, 0, Encoding::Raw, out, c, &mut self.scratch);
                    let headers = parse_headers(&self.buf[..end]);
                    self.part = Some(Box::new(Part::new(m, headers, self.depth, c)));
                    self.consume(end);
                    from = 0;
                    self.state = State::Body;
                }
                State::Text => {
                    let start = (self.virtual_start as usize).min(self.buf.len());
                    self.text.push(&self.buf[start..]);
                    self.buf.clear();
                    self.virtual_start = false;
                    self.text.process(m, &[], last, Encoding::Raw, out, c, &mut self.scratch);
                    return;
                }
            }
        }
    }

    /// What follows a `\n--boundary` found at `buf[..after]`.
    fn after_boundary(&self, after: usize, last: bool) -> After {
        let rest = &self.buf[after..];
        if rest.starts_with(b"--") {
            return After::Close;
        }
        let pad = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        match &rest[pad..] {
            [b'\n', ..] => After::Open(pad + 1),
            [b'\r', b'\n', ..] => After::Open(pad + 2),
            [] | [b'\r'] if !last && pad <= MAX_PADDING => After::NeedMore,
            [b'-'] if !last && pad == 0 => After::NeedMore,
            // The body ends on the boundary: read as the closing one.
            [] if last && pad == 0 => After::Close,
            _ => After::NotBoundary,
        }
    }

    /// Masks `buf[..cut]` as the preamble or the current part's body.
    fn content(&mut self, m: &Masker, cut: usize, out: &mut Vec<u8>, c: &mut Counters) {
        let start = self.virtual_start as usize;
        if cut <= start {
            return;
        }
        match (self.state, self.part.as_mut()) {
            (State::Body, Some(part)) => part.feed(m, &self.buf[start..cut], false, out, c),
            _ => {
                self.text.push(&self.buf[start..cut]);
                self.text.process(m, &[], false, Encoding::Raw, out, c, &mut self.scratch);
            }
        }
    }

    /// Drops `buf[..cut]`, decided.
    fn consume(&mut self, cut: usize) {
        self.buf.drain(..cut);
        if cut > 0 {
            self.virtual_start = false;
        }
    }

    /// Ends the preamble or the current part.
    fn end_content(&mut self, m: &Masker, out: &mut Vec<u8>, c: &mut Counters) {
        match self.part.take() {
            Some(mut part) => part.feed(m, &[], true, out, c),
            None => self.text.process(m, &[], true, Encoding::Raw, out, c, &mut self.scratch),
        }
    }
}

/// The length of a header block at the start of `buf`, through the empty
/// line that ends it.
/// `buf[..scanned]` was searched before: the search resumes near its end.
fn header_block_end(buf: &[u8], scanned: usize) -> Option<usize> {
    if buf.starts_with(b"\r\n") {
        return Some(2);
    }
    if buf.starts_with(b"\n") {
        return Some(1);
    }
    let from = scanned.saturating_sub(2);
    let crlf = memmem::find(&buf[from..], b"\n\r\n").map(|i| from + i + 3);
    let lf = memmem::find(&buf[from..], b"\n\n").map(|i| from + i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests;
