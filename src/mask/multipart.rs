//! Streaming masking of `multipart/*` bodies (`form-data`, `mixed`, …).
//!
//! The body is read part by part (RFC 2046 §5.1): boundary lines are kept
//! byte for byte; each part's headers are scanned as text (a file name can
//! be an email) and otherwise kept; each part's body is masked by its own
//! `Content-Type`, read as a whole body's is
//! ([`crate::mask::content_type::content_kind`]): JSON,
//! NDJSON, a form, text, or multipart again (nested up to [`MAX_DEPTH`]).
//! A `Content-Transfer-Encoding` of `base64` or `quoted-printable` is
//! decoded for masking and encoded again; `7bit`, `8bit` and `binary` are
//! read as they are. A part's text is read in its own `charset` (decoded
//! to UTF-8 for the engine and encoded back, as a whole body's is). A part's
//! `name` (from `Content-Disposition`) is its body's context, as a form
//! key is, and a field rule that matches it as a form key (`$.email`)
//! acts on the whole decoded body. A part of a type the engine does not
//! parse (an image, a PDF, `application/octet-stream`) passes unchanged
//! when its first bytes are not text, and is scanned as text when they
//! are.
//!
//! One concern per file: this file finds boundaries and header blocks as
//! the body streams; [`headers`] reads them; [`part`] masks a part's body;
//! [`transfer`] holds the base64 and quoted-printable codecs; [`error`]
//! says why a body is refused.
//!
//! The preamble and epilogue are scanned as text. Wherever a receiver
//! could read the framing or a part otherwise than piimask (a header block
//! longer than [`MAX_HEADERS`] or holding a line that is not a header, a
//! header given twice, an unknown transfer encoding or charset, a boundary
//! after a bare CR, a `message/*` part, parts nested deeper than
//! [`MAX_DEPTH`]), the body is refused: [`MultipartMasker::error`] says
//! why, and nothing more is written. A body that ends in a header block is
//! scanned as text to its end. A body whose closing boundary never comes
//! ends its last part as that part's masker ends it.

mod error;
mod headers;
mod part;
mod transfer;

use memchr::memmem;

pub use self::error::MultipartError;
use self::headers::parse_headers;
pub use self::headers::{Boundary, BoundaryParam};
pub use self::part::MAX_DEPTH;
use self::part::Part;
use super::charset::Charset;
use super::segment::{Encoding, ScanScratch, Window};
use super::value::{Form, find_in, replace};
use super::{Counters, Masker};

/// Longest boundary (RFC 2046 §5.1.1).
pub const MAX_BOUNDARY: usize = 70;
/// A part's header block longer than this is malformed.
pub const MAX_HEADERS: usize = 16 * 1024;
/// Transport padding accepted after a boundary, before its line break;
/// more is refused.
const MAX_PADDING: usize = 64;

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
    /// The closing boundary, or the body's end: this much of the line's
    /// rest (`--`) is consumed, the rest is the epilogue.
    Close(usize),
}

/// The multipart half of a [`super::MaskStream`].
#[derive(Debug)]
pub struct MultipartMasker {
    /// `\n--boundary`: a boundary line starts after a line break.
    delimiter: Vec<u8>,
    /// `\r--boundary`: a boundary after a bare CR, which receivers that
    /// split lines on CR see and piimask refuses.
    cr_delimiter: Vec<u8>,
    failed: Option<MultipartError>,
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
    /// The charset of text parts that name none: the body's `charset`
    /// parameter, then what a `_charset_` field names.
    default_charset: Option<Charset>,
}

impl MultipartMasker {
    pub fn new(boundary: Boundary) -> MultipartMasker {
        MultipartMasker::nested(boundary, 0)
    }

    /// A body whose `charset` parameter names `charset`: the charset of
    /// its text parts that name none (as Tomcat and Jetty read fields),
    /// not of its framing.
    pub fn in_charset(boundary: Boundary, charset: Charset) -> MultipartMasker {
        MultipartMasker { default_charset: Some(charset), ..MultipartMasker::nested(boundary, 0) }
    }

    fn nested(boundary: Boundary, depth: usize) -> MultipartMasker {
        let mut delimiter = b"\n--".to_vec();
        delimiter.extend_from_slice(boundary.as_bytes());
        let mut cr_delimiter = delimiter.clone();
        cr_delimiter[0] = b'\r';
        MultipartMasker {
            delimiter,
            cr_delimiter,
            failed: None,
            depth,
            state: State::Preamble,
            buf: vec![b'\n'],
            virtual_start: true,
            text: Window::default(),
            scratch: ScanScratch::default(),
            part: None,
            scanned: 0,
            default_charset: None,
        }
    }

    /// Why the body is refused, once it is.
    pub fn error(&self) -> Option<MultipartError> {
        self.failed
    }

    /// Refuses the body: nothing more is read or written.
    fn fail(&mut self, e: MultipartError) {
        self.failed.get_or_insert(e);
        self.buf.clear();
        self.part = None;
    }

    pub fn held_bytes(&self) -> usize {
        self.buf.len() + self.text.held() + self.part.as_ref().map_or(0, |p| p.held())
    }

    pub fn feed(&mut self, m: &Masker, input: &[u8], out: &mut Vec<u8>, c: &mut Counters) {
        if self.failed.is_some() {
            return;
        }
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
            if self.failed.is_some() {
                self.buf.clear();
                return;
            }
            match self.state {
                State::Preamble | State::Body => {
                    let found = memmem::find(&self.buf[from..], &self.delimiter).map(|p| from + p);
                    // Only up to the boundary found: each byte is searched once.
                    let region = found.map_or(self.buf.len(), |at| at + self.cr_delimiter.len() - 1);
                    let bare_cr = memmem::find(&self.buf[from..region], &self.cr_delimiter);
                    if bare_cr.is_some() {
                        self.fail(MultipartError::BoundaryLine);
                        continue;
                    }
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
                    let after_line = match self.after_boundary(after, last) {
                        Ok(a) => a,
                        Err(e) => {
                            self.fail(e);
                            continue;
                        }
                    };
                    let line_end = match after_line {
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
                        After::Close(n) => {
                            self.state = State::Text;
                            after + n
                        }
                    };
                    let state = std::mem::replace(&mut self.state, State::Body);
                    self.content(m, end, out, c);
                    self.end_content(m, out, c);
                    self.state = state;
                    if self.failed.is_some() {
                        continue;
                    }
                    // The boundary line as it came.
                    out.extend_from_slice(&self.buf[end.max(self.virtual_start as usize)..line_end]);
                    self.consume(line_end);
                    from = 0;
                }
                State::Headers => {
                    let Some(end) = header_block_end(&self.buf, self.scanned).filter(|&e| e <= MAX_HEADERS) else {
                        if self.buf.len() > MAX_HEADERS {
                            self.fail(MultipartError::HeaderBlock);
                        } else if last {
                            // The body ends in the headers: no part body
                            // follows, and what there is reads as headers.
                            match parse_headers(&self.buf) {
                                Ok(_) => self.state = State::Text,
                                Err(e) => self.fail(e),
                            }
                        } else {
                            self.scanned = self.buf.len();
                            return;
                        }
                        continue;
                    };
                    self.scanned = 0;
                    let part = parse_headers(&self.buf[..end])
                        .and_then(|h| Part::new(m, h, self.depth, self.default_charset, c));
                    let part = match part {
                        Ok(part) => part,
                        Err(e) => {
                            self.fail(e);
                            continue;
                        }
                    };
                    mask_header_block(m, &self.buf[..end], out, c);
                    self.part = Some(Box::new(part));
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

    /// What follows a `\n--boundary` found at `buf[..after]`, read as
    /// receivers read a boundary line (`--boundary`, `--` to close, spaces
    /// or tabs, a line break): a line break they read and piimask would not
    /// (a bare CR, long padding) is an error.
    fn after_boundary(&self, after: usize, last: bool) -> Result<After, MultipartError> {
        let rest = &self.buf[after..];
        if rest == b"-" && !last {
            return Ok(After::NeedMore);
        }
        let close = rest.starts_with(b"--");
        let dashes = if close { 2 } else { 0 };
        let rest = &rest[dashes..];
        let pad = rest.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
        if pad > MAX_PADDING {
            return Err(MultipartError::BoundaryLine);
        }
        Ok(match &rest[pad..] {
            [b'\n', ..] | [b'\r', b'\n', ..] if close => After::Close(dashes),
            [b'\n', ..] => After::Open(pad + 1),
            [b'\r', b'\n', ..] => After::Open(pad + 2),
            [] | [b'\r'] if !last => After::NeedMore,
            [b'\r', ..] => return Err(MultipartError::BoundaryLine),
            // The body ends on the boundary: read as the closing one.
            [] => After::Close(dashes),
            _ => After::NotBoundary,
        })
    }

    /// Masks `buf[..cut]` as the preamble or the current part's body.
    fn content(&mut self, m: &Masker, cut: usize, out: &mut Vec<u8>, c: &mut Counters) {
        let start = self.virtual_start as usize;
        if cut <= start {
            return;
        }
        match (self.state, self.part.as_mut()) {
            (State::Body, Some(part)) => {
                if let Err(e) = part.feed(m, &self.buf[start..cut], false, out, c) {
                    self.fail(e);
                }
            }
            _ => {
                self.text.push(&self.buf[start..cut]);
                self.text.process(m, &[], false, Encoding::Raw, out, c, &mut self.scratch);
            }
        }
    }

    /// Drops `buf[..cut]`, decided.
    fn consume(&mut self, cut: usize) {
        // A refused body has cleared its buffer.
        let cut = cut.min(self.buf.len());
        self.buf.drain(..cut);
        if cut > 0 {
            self.virtual_start = false;
        }
    }

    /// Ends the preamble or the current part.
    fn end_content(&mut self, m: &Masker, out: &mut Vec<u8>, c: &mut Counters) {
        match self.part.take() {
            Some(mut part) => {
                if let Err(e) = part.feed(m, &[], true, out, c) {
                    self.fail(e);
                }
                if let Some(charset) = part.charset_named() {
                    self.default_charset = Some(charset);
                }
            }
            None => self.text.process(m, &[], true, Encoding::Raw, out, c, &mut self.scratch),
        }
    }
}

/// Writes a part's header block with each header's value masked as an
/// HTTP header value is (see [`super::value`]): through percent-escapes,
/// quoted-pairs, RFC 2047 encoded-words and RFC 2231 continuations, as a
/// receiver reads a file name. The header's name is the value's context.
fn mask_header_block(m: &Masker, block: &[u8], out: &mut Vec<u8>, c: &mut Counters) {
    let mut found = Vec::new();
    for line in block.split_inclusive(|&b| b == b'\n') {
        let body_end = line.len() - line.iter().rev().take_while(|&&b| b == b'\n' || b == b'\r').count();
        let (text, ending) = line.split_at(body_end);
        let colon = match text.first() {
            Some(b' ' | b'\t') | None => None,
            Some(_) => memchr::memchr(b':', text),
        };
        let (name, value) = match colon {
            Some(colon) => text.split_at(colon + 1),
            None => (&b""[..], text),
        };
        let key = name.strip_suffix(b":").unwrap_or(name).to_ascii_lowercase();
        let findings = find_in(m, &mut found, value, &key, Form::Header);
        out.extend_from_slice(name);
        if findings.is_empty() {
            out.extend_from_slice(value);
        } else {
            for f in &findings {
                c.detectors[f.detector as usize] += 1;
            }
            out.extend_from_slice(&replace(value, &findings, Form::Header));
        }
        out.extend_from_slice(ending);
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
