//! One part's body: decoded from its transfer encoding, masked by its
//! type (or by a field rule on its name, or passed when binary), and
//! encoded again.

use super::MultipartMasker;
use super::headers::PartHeaders;
use super::transfer::{Base64Decoder, Base64Encoder, QpDecoder, QpEncoder};
use crate::mask::action::{Action, StreamingHash, StreamingMask};
use crate::mask::content_type::content_kind;
use crate::mask::form::FormMasker;
use crate::mask::json::JsonMasker;
use crate::mask::json::path::Segment;
use crate::mask::segment::{Encoding, ScanScratch, Window};
use crate::mask::{ContentKind, Counters, Masker};

/// Multipart parts nested deeper than this are scanned as text.
pub const MAX_DEPTH: usize = 4;
/// Decoded bytes of a part of an unparsed type looked at to tell text from
/// binary.
const SNIFF: usize = 512;
/// A part name longer than this matches no field rule.
const MAX_NAME: usize = 256;

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
pub(super) struct Part {
    name: Vec<u8>,
    decoder: Decoder,
    encoder: Encoder,
    body: Body,
    decoded: Vec<u8>,
    masked: Vec<u8>,
}

impl Part {
    pub(super) fn new(masker: &Masker, h: PartHeaders, depth: usize, c: &mut Counters) -> Part {
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
    pub(super) fn feed(&mut self, m: &Masker, raw: &[u8], last: bool, out: &mut Vec<u8>, c: &mut Counters) {
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

    pub(super) fn held(&self) -> usize {
        let encoder = match &self.encoder {
            Encoder::Base64(e) => e.held(),
            _ => 0,
        };
        self.body.held() + encoder
    }
}
