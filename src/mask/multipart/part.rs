//! One part's body: decoded from its transfer encoding and from its
//! charset, masked by its type (or by a field rule on its name, or passed
//! when binary), and encoded again in both.
//!
//! A part's text is read in its own `charset` as a whole body's is
//! ([`crate::mask::charset`]): a byte order mark overrides the label, JSON
//! in UTF-16 or UTF-32 is recognised by its NUL bytes, and a charset
//! piimask cannot decode, or bytes that are not valid in it, refuse the
//! body. A part of a type the engine does not parse is read as text in its
//! charset when it declares one other than UTF-8.

use super::MultipartMasker;
use super::error::MultipartError;
use super::headers::{self, Boundary, BoundaryParam, PartHeaders};
use super::transfer::{Base64Decoder, Base64Encoder, QpDecoder, QpEncoder};
use crate::mask::action::{Action, StreamingHash, StreamingMask};
use crate::mask::charset::{Codec, SNIFF_LEN, same_family, sniff, wide_ascii};
use crate::mask::content_type::content_kind;
use crate::mask::form::FormMasker;
use crate::mask::json::JsonMasker;
use crate::mask::segment::{Encoding, ScanScratch, Window};
use crate::mask::{Charset, ContentKind, Counters, Masker};

/// Multipart parts nested deeper than this refuse the body.
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
    /// `depth` is the nested body's; checked by the caller.
    fn new(masker: &Masker, kind: Option<ContentKind>, name: &[u8], depth: usize) -> Body {
        match kind {
            Some(ContentKind::Json) => Body::Json(Box::new(JsonMasker::new(masker, false))),
            Some(ContentKind::Ndjson) => Body::Json(Box::new(JsonMasker::new(masker, true))),
            Some(ContentKind::Form) => Body::Form(Box::new(FormMasker::new(masker))),
            Some(ContentKind::Multipart(b)) => Body::Multipart(Box::new(MultipartMasker::nested(b, depth))),
            Some(ContentKind::Text) => Body::text(masker, name),
            None => Body::Sniff { raw: Vec::new(), decoded: Vec::new() },
        }
    }

    /// Text under the part's `name`; read for `"key": value` pairs when
    /// rules apply by key name (JSON in a text part), as a text body is.
    fn text(masker: &Masker, name: &[u8]) -> Body {
        if masker.rules.has_last_keys() {
            return Body::Json(Box::new(JsonMasker::for_text_under(masker, name)));
        }
        Body::Text { window: Window::default(), scratch: ScanScratch::default() }
    }

    /// Masks decoded bytes of a parsed type; a nested multipart body may
    /// be refused.
    fn feed(
        &mut self,
        m: &Masker,
        key: &[u8],
        input: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> Result<(), MultipartError> {
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
                if let Some(e) = mp.error() {
                    return Err(e);
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
        Ok(())
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
    let r = masker.rules.step_field_name(&masker.rules.root(), name, &mut next)?;
    c.rules[r] += 1;
    Some(masker.rules.action(r))
}

/// Whether the start of an unparsed part is text: a UTF-16 or UTF-32 byte
/// order mark, ASCII in UTF-16 or UTF-32 (NULs around it), or UTF-8
/// (perhaps cut in a character at the end) without NUL or other control
/// bytes but tab and line breaks.
fn looks_like_text(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\xFF\xFE")
        || bytes.starts_with(b"\xFE\xFF")
        || bytes.starts_with(b"\x00\x00\xFE\xFF")
        || wide_ascii(bytes).is_some()
    {
        return true;
    }
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

/// A part's text in its own charset, between its transfer decoding and its
/// body's masker.
#[derive(Debug)]
enum Chars {
    /// As it is: UTF-8, or bytes not read as text.
    Raw,
    /// The first bytes, until a byte order mark (or none) settles the
    /// charset.
    Sniff {
        declared: Charset,
        kind: ContentKind,
        head: Vec<u8>,
    },
    Codec(Box<Codec>),
}

impl Chars {
    /// The stage for a body of `kind` declared in `charset`.
    fn new(kind: Option<ContentKind>, charset: Option<Charset>) -> Chars {
        let sniff = |declared, kind| Chars::Sniff { declared, kind, head: Vec::new() };
        match (kind, charset) {
            (Some(ContentKind::Multipart(_)), _) => Chars::Raw,
            (Some(kind), charset) => sniff(charset.unwrap_or(Charset::Utf8), kind),
            (None, Some(charset)) if charset != Charset::Utf8 => sniff(charset, ContentKind::Text),
            (None, _) => Chars::Raw,
        }
    }

    fn held(&self) -> usize {
        match self {
            Chars::Raw => 0,
            Chars::Sniff { head, .. } => head.len(),
            Chars::Codec(codec) => codec.held_bytes(),
        }
    }
}

/// One part's body on its way through.
#[derive(Debug)]
pub(super) struct Part {
    name: Vec<u8>,
    decoder: Decoder,
    encoder: Encoder,
    chars: Chars,
    body: Body,
    decoded: Vec<u8>,
    masked: Vec<u8>,
    /// The part's encoded text read again as bytes, when a byte order mark
    /// overrode its charset: a receiver that goes by the label reads the
    /// bytes after the mark as ASCII (see [`crate::mask::charset`]).
    raw_view: Option<Box<(Window, ScanScratch)>>,
    /// A `_charset_` field's value as it arrives (WHATWG forms fill it
    /// with the form's encoding, and servers decode later fields by it).
    charset_field: Option<Vec<u8>>,
}

/// The longest `_charset_` value read.
const MAX_CHARSET_FIELD: usize = 64;

impl Part {
    /// The part its headers describe, at `depth` in nested multipart
    /// bodies; an error where a receiver could read it otherwise.
    /// `default` is the charset of a text part that names none (the body's
    /// `charset` parameter, or a `_charset_` field before it).
    pub(super) fn new(
        masker: &Masker,
        h: PartHeaders,
        depth: usize,
        default: Option<Charset>,
        c: &mut Counters,
    ) -> Result<Part, MultipartError> {
        let transfer = match h.transfer.as_deref() {
            None | Some("7bit" | "8bit" | "binary") => Transfer::AsIs,
            Some("base64") => Transfer::Base64,
            Some("quoted-printable") => Transfer::QuotedPrintable,
            Some(_) => return Err(MultipartError::TransferEncoding),
        };
        // RFC 2046 §5.1: a part without a type is plain text.
        let content_type = h.content_type.as_deref().unwrap_or("text/plain");
        if headers::lists_several_types(content_type) {
            return Err(MultipartError::SeveralTypes);
        }
        let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        // A digest's parts are messages by default (RFC 2046 §5.1.5).
        if essence.starts_with("message/") || essence == "multipart/digest" {
            return Err(MultipartError::Message);
        }
        let charset = headers::charset(content_type)?;
        let kind = if essence.starts_with("multipart/") {
            match Boundary::read(content_type) {
                BoundaryParam::Valid(b) if depth < MAX_DEPTH => Some(ContentKind::Multipart(b)),
                BoundaryParam::Valid(_) => return Err(MultipartError::TooDeep),
                BoundaryParam::Unreadable => return Err(MultipartError::Boundary),
                // Without a boundary a receiver has no parts either: text.
                BoundaryParam::Missing => Some(ContentKind::Text),
            }
        } else {
            content_kind(Some(content_type))
        };
        let charset = match (charset, kind) {
            (Some(own), _) => Some(own),
            (None, Some(ContentKind::Multipart(_)) | None) => None,
            (None, Some(_)) => default,
        };
        let chars = Chars::new(kind, charset);
        // A type the engine does not parse, in a charset of its own: text.
        let kind = match (kind, &chars) {
            (None, Chars::Sniff { .. }) => Some(ContentKind::Text),
            (kind, _) => kind,
        };
        let (decoder, encoder) = match transfer {
            Transfer::Base64 => (Decoder::Base64(Base64Decoder::default()), Encoder::Base64(Base64Encoder::default())),
            Transfer::QuotedPrintable => (Decoder::Qp(QpDecoder::default()), Encoder::Qp(QpEncoder::default())),
            Transfer::AsIs => (Decoder::AsIs, Encoder::AsIs),
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
            None => Body::new(masker, kind, &h.name, depth + 1),
        };
        let charset_field = (h.name == b"_charset_").then(Vec::new);
        Ok(Part {
            name: h.name,
            decoder,
            encoder,
            chars,
            body,
            decoded: Vec::new(),
            masked: Vec::new(),
            raw_view: None,
            charset_field,
        })
    }

    /// The charset a `_charset_` field named, once the part has ended.
    pub(super) fn charset_named(&self) -> Option<Charset> {
        let label = std::str::from_utf8(self.charset_field.as_deref()?).ok()?;
        Charset::from_label(label.trim())
    }

    /// Masks the next bytes of the part's body as they came (`last` at its
    /// end).
    pub(super) fn feed(
        &mut self,
        m: &Masker,
        raw: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> Result<(), MultipartError> {
        if let Body::Pass = self.body {
            out.extend_from_slice(raw);
            return Ok(());
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
        if let Some(field) = &mut self.charset_field {
            let room = MAX_CHARSET_FIELD.saturating_sub(field.len());
            field.extend_from_slice(&self.decoded[..room.min(self.decoded.len())]);
        }
        if let Body::Sniff { raw: held_raw, decoded } = &mut self.body {
            held_raw.extend_from_slice(raw);
            decoded.extend_from_slice(&self.decoded);
            // Bounded even when the input decodes to little (base64 of
            // mostly stray characters).
            if decoded.len() < SNIFF && held_raw.len() < 8 * SNIFF && !last {
                return Ok(());
            }
            if !looks_like_text(&decoded[..decoded.len().min(SNIFF)]) {
                out.extend_from_slice(held_raw);
                self.body = Body::Pass;
                return Ok(());
            }
            self.decoded = std::mem::take(decoded);
            self.body = Body::text(m, &self.name);
            // UTF-8, unless a byte order mark says otherwise.
            self.chars = Chars::Sniff { declared: Charset::Utf8, kind: ContentKind::Text, head: Vec::new() };
        }
        let decoded = std::mem::take(&mut self.decoded);
        let result = if let Encoder::AsIs = self.encoder {
            self.mask_text(m, &decoded, last, out, c)
        } else {
            let mut masked = std::mem::take(&mut self.masked);
            masked.clear();
            let result = self.mask_text(m, &decoded, last, &mut masked, c);
            match &mut self.encoder {
                Encoder::Base64(e) => e.push(&masked, out),
                Encoder::Qp(e) => e.push(&masked, out),
                Encoder::AsIs => {}
            }
            self.masked = masked;
            result
        };
        self.decoded = decoded;
        result?;
        if last {
            match std::mem::replace(&mut self.encoder, Encoder::AsIs) {
                Encoder::Base64(e) => e.finish(out),
                Encoder::Qp(e) => e.finish(out),
                Encoder::AsIs => {}
            }
        }
        Ok(())
    }

    /// Masks transfer-decoded bytes in the part's charset: decoded to
    /// UTF-8, masked by the body's masker, encoded back.
    fn mask_text(
        &mut self,
        m: &Masker,
        input: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        c: &mut Counters,
    ) -> Result<(), MultipartError> {
        if let Chars::Sniff { head, .. } = &mut self.chars {
            if head.len() + input.len() < SNIFF_LEN && !last {
                head.extend_from_slice(input);
                return Ok(());
            }
            let Chars::Sniff { declared, kind, mut head } = std::mem::replace(&mut self.chars, Chars::Raw) else {
                return Ok(());
            };
            head.extend_from_slice(input);
            let (charset, bom) = sniff(declared, kind, &head[..head.len().min(SNIFF_LEN)]);
            // The mark is written again as it came and not masked.
            out.extend_from_slice(&head[..bom]);
            if charset != Charset::Utf8 {
                self.chars = Chars::Codec(Box::new(Codec::new(charset)));
            }
            if bom > 0 && !same_family(charset, declared) {
                self.raw_view = Some(Box::default());
            }
            return self.mask_text(m, &head[bom..], last, out, c);
        }
        match &mut self.chars {
            Chars::Codec(codec) => {
                codec.decode(input, last).map_err(|_| MultipartError::Transcode)?;
                let (decoded, masked) = codec.buffers();
                self.body.feed(m, &self.name, decoded, last, masked, c)?;
                let Some(raw) = &mut self.raw_view else {
                    return codec.encode(last, out).map_err(|_| MultipartError::Transcode);
                };
                let mut encoded = Vec::new();
                codec.encode(last, &mut encoded).map_err(|_| MultipartError::Transcode)?;
                let (window, scratch) = &mut **raw;
                window.push(&encoded);
                window.process(m, &self.name, last, Encoding::Raw, out, c, scratch);
                Ok(())
            }
            Chars::Raw | Chars::Sniff { .. } => self.body.feed(m, &self.name, input, last, out, c),
        }
    }

    pub(super) fn held(&self) -> usize {
        let encoder = match &self.encoder {
            Encoder::Base64(e) => e.held(),
            _ => 0,
        };
        let raw_view = self.raw_view.as_ref().map_or(0, |raw| raw.0.held());
        self.body.held() + encoder + self.chars.held() + raw_view
    }
}
