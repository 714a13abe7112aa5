//! Bodies in charsets other than UTF-8: decoded to UTF-8 for the engine,
//! masked, and encoded back into the body's own charset, streaming.
//!
//! A [`Charset`] is read from a label by the WHATWG Encoding Standard
//! (`latin1`, `us-ascii` and `iso-8859-1` are all windows-1252, `utf-16` is
//! UTF-16LE, …), plus UTF-32, which that standard does not know. A
//! [`TextStage`] masks one body in its charset: UTF-8 (the common case)
//! goes straight to a [`MaskStream`] with no copy, anything else through a
//! [`Transcoder`]. The first bytes of a body are sniffed for a byte order
//! mark, which overrides the label (as WHATWG decoding does), and a JSON
//! body whose first characters are ASCII with NUL bytes around them is
//! read as the UTF-16 or UTF-32 they reveal (RFC 4627 §3).
//!
//! What cannot be transcoded exactly is an error, never a body changed
//! silently or passed in clear: a malformed byte sequence in the input
//! (decoding with replacement would alter the body), and a character the
//! output charset cannot encode. Errors carry no body content.

use std::sync::Arc;

use encoding_rs::{DecoderResult, EncoderResult, Encoding};

use super::multipart::MultipartError;
use super::prescan::{DocumentCharset, InDocument, Markup, PRESCAN_BYTES};
use super::{ContentKind, MaskStream, Masker, Stats};

/// A body's charset, as far as piimask can decode and encode it again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// `utf-16` without an order: a byte order mark decides, else the first
    /// code unit when it is ASCII, else little-endian (as WHATWG reads it).
    Utf16,
    Utf32Le,
    Utf32Be,
    /// `utf-32` without an order: a byte order mark decides, else the first
    /// code unit when it is ASCII, else big-endian (as Unicode reads it).
    Utf32,
    /// A charset encoding_rs decodes and encodes both ways: the
    /// single-byte ones (windows-1252, ISO-8859-x, KOI8, …), Shift_JIS,
    /// EUC-JP, ISO-2022-JP, GBK, gb18030, Big5, EUC-KR, x-user-defined.
    Legacy(&'static Encoding),
}

/// Why a body could not be transcoded. Never carries the body's bytes.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum CharsetError {
    #[error("the body is not valid {charset}: a malformed byte sequence within its first {offset} bytes")]
    Malformed { charset: &'static str, offset: u64 },
    #[error("a character of the masked body has no encoding in {charset}")]
    Unmappable { charset: &'static str },
    #[error("the masked body is not valid UTF-8, so it cannot be encoded as {charset}")]
    MaskedNotUtf8 { charset: &'static str },
    #[error("the body is too large a chunk to transcode at once")]
    Overflow,
    #[error("the body's charset was never settled")]
    Unsettled,
    #[error("the document names a charset piimask cannot decode")]
    UnknownInDocument,
    #[error("the document names a charset other than the one its Content-Type names")]
    Contradicted,
    /// A multipart body refused for its framing or a part (no charset
    /// problem of the whole body, but met on the same way through).
    #[error("{0}")]
    Multipart(MultipartError),
}

impl From<CharsetError> for std::io::Error {
    fn from(e: CharsetError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

impl Charset {
    /// The charset a label names, or `None` for a label piimask cannot
    /// transcode (unknown, or WHATWG's `replacement` for ISO-2022-KR,
    /// HZ-GB-2312 and the like, which decodes to nothing usable).
    pub fn from_label(label: &str) -> Option<Charset> {
        let label = label.trim_matches(|c: char| c.is_ascii_whitespace());
        let lower = label.to_ascii_lowercase();
        match lower.as_str() {
            "utf-32" | "ucs-4" | "iso-10646-ucs-4" | "csucs4" => return Some(Charset::Utf32),
            "utf-32le" => return Some(Charset::Utf32Le),
            "utf-32be" => return Some(Charset::Utf32Be),
            // WHATWG's labels of UTF-16LE that name no order.
            "utf-16" | "unicode" | "ucs-2" | "csunicode" | "iso-10646-ucs-2" => return Some(Charset::Utf16),
            _ => {}
        }
        let encoding = Encoding::for_label_no_replacement(lower.as_bytes())?;
        Some(Charset::of_encoding(encoding))
    }

    fn of_encoding(encoding: &'static Encoding) -> Charset {
        if encoding == encoding_rs::UTF_8 {
            Charset::Utf8
        } else if encoding == encoding_rs::UTF_16LE {
            Charset::Utf16Le
        } else if encoding == encoding_rs::UTF_16BE {
            Charset::Utf16Be
        } else {
            Charset::Legacy(encoding)
        }
    }

    /// The charset's name, for errors and logs.
    pub fn name(self) -> &'static str {
        match self {
            Charset::Utf8 => "UTF-8",
            Charset::Utf16Le => "UTF-16LE",
            Charset::Utf16Be => "UTF-16BE",
            Charset::Utf16 => "UTF-16",
            Charset::Utf32Le => "UTF-32LE",
            Charset::Utf32Be => "UTF-32BE",
            Charset::Utf32 => "UTF-32",
            Charset::Legacy(e) => e.name(),
        }
    }

    /// The decoder that reads bytes in this charset, for a form's
    /// percent-decoded bytes; `None` for UTF-8, and for UTF-32, whose
    /// ASCII NULs around it already show to a detector.
    fn decoder_for_bytes(self) -> Option<&'static Encoding> {
        match self {
            Charset::Utf8 | Charset::Utf32 | Charset::Utf32Le | Charset::Utf32Be => None,
            Charset::Utf16Le | Charset::Utf16 => Some(encoding_rs::UTF_16LE),
            Charset::Utf16Be => Some(encoding_rs::UTF_16BE),
            Charset::Legacy(encoding) => Some(encoding),
        }
    }

    /// The byte order mark of this charset, empty where it has none.
    pub(crate) fn bom(self) -> &'static [u8] {
        match self {
            Charset::Utf8 => b"\xEF\xBB\xBF",
            Charset::Utf16Le | Charset::Utf16 => b"\xFF\xFE",
            Charset::Utf16Be => b"\xFE\xFF",
            Charset::Utf32Le => b"\xFF\xFE\x00\x00",
            Charset::Utf32Be | Charset::Utf32 => b"\x00\x00\xFE\xFF",
            Charset::Legacy(_) => b"",
        }
    }
}

/// Reads the start of a body: the charset it is in and the length of its
/// byte order mark. `head` is the body's first four bytes, or all of it
/// when shorter.
pub(crate) fn sniff(declared: Charset, kind: ContentKind, head: &[u8]) -> (Charset, usize) {
    let utf16 = matches!(declared, Charset::Utf16 | Charset::Utf16Le | Charset::Utf16Be);
    // UTF-32LE's mark starts with UTF-16LE's: a UTF-16 label keeps it UTF-16.
    let bom = match head {
        [0xEF, 0xBB, 0xBF, ..] => Some(Charset::Utf8),
        [0xFF, 0xFE, 0, 0, ..] if !utf16 => Some(Charset::Utf32Le),
        [0, 0, 0xFE, 0xFF, ..] => Some(Charset::Utf32Be),
        [0xFF, 0xFE, ..] => Some(Charset::Utf16Le),
        [0xFE, 0xFF, ..] => Some(Charset::Utf16Be),
        _ => None,
    };
    if let Some(charset) = bom {
        return (charset, charset.bom().len());
    }
    let nonzero = |b: &u8| *b != 0;
    let charset = match declared {
        Charset::Utf16 => match head {
            [0, b, ..] if nonzero(b) => Charset::Utf16Be,
            _ => Charset::Utf16Le,
        },
        Charset::Utf32 => match head {
            [a, 0, 0, 0] if nonzero(a) => Charset::Utf32Le,
            _ => Charset::Utf32Be,
        },
        // Text opening with ASCII in UTF-16 or UTF-32 and no mark: a JSON
        // reader takes it so whatever its label (RFC 4627 §3), and a log
        // or terminal shows its letters between NULs. (Four bytes are one
        // UTF-32 unit: text that only looks so fails to decode further on,
        // and is refused rather than passed.)
        Charset::Utf8 if kind == ContentKind::Text => wide_ascii(head).unwrap_or(Charset::Utf8),
        // JSON opens with ASCII: NULs around it reveal UTF-16 or UTF-32
        // (RFC 4627 §3), which a UTF-8 reading would leave unmasked. JSON
        // readers go by them whatever the label says (Python's
        // `json.loads` of bytes, `requests`' `.json()`), so under a JSON
        // type they decide against any label.
        Charset::Utf8 => json_units(head).unwrap_or(Charset::Utf8),
        other if matches!(kind, ContentKind::Json | ContentKind::Ndjson) => json_units(head).unwrap_or(other),
        other => other,
    };
    (charset, 0)
}

/// The UTF-16 or UTF-32 that NULs around a JSON text's first ASCII
/// character reveal (RFC 4627 §3), or `None` where there are none.
fn json_units(head: &[u8]) -> Option<Charset> {
    match *head {
        [0, 0, 0, d, ..] if d != 0 => Some(Charset::Utf32Be),
        [a, 0, 0, 0, ..] if a != 0 => Some(Charset::Utf32Le),
        [0, b, ..] if b != 0 => Some(Charset::Utf16Be),
        [a, 0, ..] if a != 0 => Some(Charset::Utf16Le),
        _ => None,
    }
}

/// The UTF-16 or UTF-32 whose code units `head` spells as ASCII text
/// (printable, tab, line feed, carriage return), read from its first 16
/// bytes: at least two UTF-16 units or one UTF-32 unit, and every whole
/// unit there ASCII text. `None` for anything else, UTF-8 included.
pub fn wide_ascii(head: &[u8]) -> Option<Charset> {
    let head = &head[..head.len().min(16)];
    let text = |b: u8| matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7e);
    let spells = |width: usize, at: usize| {
        let units: Vec<&[u8]> = head.chunks_exact(width).collect();
        !units.is_empty()
            && units.len() * width >= 4
            && units.iter().all(|u| u.iter().enumerate().all(|(i, &b)| if i == at { text(b) } else { b == 0 }))
    };
    [(4, 0, Charset::Utf32Le), (4, 3, Charset::Utf32Be), (2, 0, Charset::Utf16Le), (2, 1, Charset::Utf16Be)]
        .into_iter()
        .find(|&(width, at, _)| spells(width, at))
        .map(|(_, _, charset)| charset)
}

/// What [`TextStage::with_document`] will make of a body that starts with
/// `head` (all of it when `ended`, else at least [`PRESCAN_BYTES`]): an
/// error when the document names a charset piimask cannot decode, or one
/// an XML document names against its header. For a caller that can look
/// at the first bytes before it answers, and refuse with a reason.
pub fn check_document(
    document: DocumentCharset,
    declared: Charset,
    head: &[u8],
    ended: bool,
) -> Result<(), CharsetError> {
    let (_, bom) = sniff(declared, ContentKind::Text, &head[..head.len().min(SNIFF_LEN)]);
    if bom > 0 {
        return Ok(());
    }
    match document.markup.prescan(head, ended) {
        InDocument::Unknown => Err(CharsetError::UnknownInDocument),
        InDocument::Named(named) if document.header && !same_family(named, declared) => Err(CharsetError::Contradicted),
        // HTML whose charset a browser would guess: UTF-8 only if valid
        // (see `TextStage::settle`), which the start already shows.
        InDocument::Unnamed | InDocument::Wait if document.markup == Markup::Html => match std::str::from_utf8(head) {
            Err(e) if e.error_len().is_some() || ended => {
                Err(CharsetError::Malformed { charset: Charset::Utf8.name(), offset: e.valid_up_to() as u64 })
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Whether two charsets read bytes alike (UTF-16 named with and without
/// its order, and so on).
pub(crate) fn same_family(a: Charset, b: Charset) -> bool {
    use Charset::*;
    a == b
        || matches!((a, b), (Utf16 | Utf16Le | Utf16Be, Utf16 | Utf16Le | Utf16Be))
        || matches!((a, b), (Utf32 | Utf32Le | Utf32Be, Utf32 | Utf32Le | Utf32Be))
}

/// Masks one body in its charset, streaming. Built for a declared charset;
/// the body's first bytes settle it (see [`sniff`]). A UTF-8 body goes to
/// a [`MaskStream`] with no copy: the first chunk is looked at in place.
#[derive(Debug)]
pub struct TextStage {
    stage: Stage,
}

#[derive(Debug)]
enum Stage {
    Plain(MaskStream),
    Transcode(Box<Transcoder>),
    /// Waiting for the body's first four bytes.
    Sniff(Box<Sniffing>),
    /// Only while a sniffed stage is being settled.
    Settling,
}

#[derive(Debug)]
struct Sniffing {
    stream: MaskStream,
    declared: Charset,
    kind: ContentKind,
    head: Vec<u8>,
    /// The document may name its charset in its first bytes (up to
    /// [`PRESCAN_BYTES`], held until they tell).
    document: Option<DocumentCharset>,
}

/// The bytes a body's first four decide from.
pub(crate) const SNIFF_LEN: usize = 4;

impl TextStage {
    /// A stage for a body declared in `charset`; `None` scans the raw
    /// bytes as they are, with no sniffing (a type piimask does not parse,
    /// scanned as text because the policy says so).
    pub fn new(masker: Arc<Masker>, kind: ContentKind, charset: Option<Charset>) -> TextStage {
        TextStage::with_document(masker, kind, charset, None)
    }

    /// [`TextStage::new`] for a document that may name its own charset
    /// (see [`DocumentCharset`]): its first bytes are read for it first.
    /// One it names that piimask cannot decode, or one an XML document
    /// names against its header, is an error before anything is written.
    pub fn with_document(
        masker: Arc<Masker>,
        kind: ContentKind,
        charset: Option<Charset>,
        document: Option<DocumentCharset>,
    ) -> TextStage {
        // A form's charset is that of its percent-decoded bytes, not of
        // the body, which serializers write in ASCII (Tomcat and Jetty read
        // values so). In an ASCII-compatible charset both readings agree;
        // under UTF-16 or UTF-32 the body's first bytes decide (see
        // `settle`): a receiver that decodes the body before parsing it
        // (Node's body-parser) reads a body that is itself UTF-16.
        if kind == ContentKind::Form
            && let Some(encoding) =
                charset.filter(|c| matches!(c, Charset::Legacy(_))).and_then(Charset::decoder_for_bytes)
        {
            return TextStage { stage: Stage::Plain(MaskStream::form_in(masker, encoding)) };
        }
        // A multipart body's charset is that of its text parts; its
        // framing is ASCII.
        if let ContentKind::Multipart(boundary) = &kind
            && let Some(charset) = charset.filter(|&c| c != Charset::Utf8)
        {
            return TextStage { stage: Stage::Plain(MaskStream::multipart_in(masker, *boundary, charset)) };
        }
        let stream = MaskStream::new(masker, kind);
        let stage = match charset {
            None => Stage::Plain(stream),
            Some(declared) => Stage::Sniff(Box::new(Sniffing { stream, declared, kind, head: Vec::new(), document })),
        };
        TextStage { stage }
    }

    /// Masks `input`, appending what can already be written to `out`.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CharsetError> {
        match &mut self.stage {
            Stage::Plain(stream) => {
                stream.feed(input, out);
                stream.error().map_or(Ok(()), |e| Err(CharsetError::Multipart(e)))
            }
            Stage::Transcode(t) => t.feed(input, out),
            Stage::Sniff(s) if s.document.is_some() => {
                let take = input.len().min(PRESCAN_BYTES.saturating_sub(s.head.len()));
                s.head.extend_from_slice(&input[..take]);
                let markup = s.document.map_or(Markup::Html, |d| d.markup);
                match markup.prescan(&s.head, false) {
                    InDocument::Wait => Ok(()),
                    found => self.settle(Some(found), &input[take..], out),
                }
            }
            Stage::Sniff(s) if s.head.len() + input.len() < SNIFF_LEN => {
                s.head.extend_from_slice(input);
                Ok(())
            }
            Stage::Sniff(_) => self.settle(None, input, out),
            Stage::Settling => Err(CharsetError::Unsettled),
        }
    }

    /// Writes the rest and returns what the stream masked.
    pub fn finish(mut self, out: &mut Vec<u8>) -> Result<Stats, CharsetError> {
        if let Stage::Sniff(s) = &self.stage {
            let found = s.document.map(|d| d.markup.prescan(&s.head, true));
            self.settle(found, &[], out)?;
        }
        match self.stage {
            Stage::Plain(stream) => stream.try_finish(out).map_err(CharsetError::Multipart),
            Stage::Transcode(t) => t.finish(out),
            Stage::Sniff(_) | Stage::Settling => Err(CharsetError::Unsettled),
        }
    }

    /// Decides the charset from the body's first bytes (those held and the
    /// start of `input`) and what the document says of it (`found`, when
    /// it was read), then feeds them on.
    fn settle(&mut self, found: Option<InDocument>, input: &[u8], out: &mut Vec<u8>) -> Result<(), CharsetError> {
        let sniffing = match std::mem::replace(&mut self.stage, Stage::Settling) {
            Stage::Sniff(s) => s,
            other => {
                self.stage = other;
                return Ok(());
            }
        };
        let Sniffing { stream, declared, kind, head, document } = *sniffing;
        let mut first = [0u8; SNIFF_LEN];
        let from_head = head.len().min(SNIFF_LEN);
        let from_input = (SNIFF_LEN - from_head).min(input.len());
        first[..from_head].copy_from_slice(&head[..from_head]);
        first[from_head..from_head + from_input].copy_from_slice(&input[..from_input]);
        let (mut charset, bom) = sniff(declared, kind, &first[..from_head + from_input]);
        // The bytes decided against a label that names a charset (a mark,
        // or JSON's NULs): a receiver that goes by the label reads them
        // otherwise, so the output is masked in that reading too.
        let overridden = !same_family(charset, declared) && (bom > 0 || declared != Charset::Utf8);
        // A byte order mark decides before anything the document says.
        if bom == 0 {
            match found {
                Some(InDocument::Unknown) => return Err(CharsetError::UnknownInDocument),
                Some(InDocument::Named(named)) => {
                    if document.is_some_and(|d| d.header) && !same_family(named, declared) {
                        return Err(CharsetError::Contradicted);
                    }
                    charset = named;
                }
                Some(InDocument::Wait | InDocument::Unnamed) | None => {}
            }
        }
        // The mark is written again as it came and not masked.
        if bom > 0 {
            out.extend_from_slice(charset.bom());
        }
        let (head_rest, input_rest) = match bom.checked_sub(head.len()) {
            Some(from_input) => (&[][..], &input[from_input..]),
            None => (&head[bom..], input),
        };
        // HTML that names no charset where browsers look for one: they
        // guess it from the bytes. Only valid UTF-8 is read as such; any
        // other byte is an error rather than text read two ways.
        let guessed = bom == 0
            && document.is_some_and(|d| d.markup == Markup::Html)
            && matches!(found, Some(InDocument::Unnamed | InDocument::Wait));
        // A form labelled UTF-16 or UTF-32 whose body is ASCII: its values'
        // bytes are in that charset, the body is not.
        let ascii_form = kind == ContentKind::Form
            && bom == 0
            && !matches!(charset, Charset::Utf8 | Charset::Legacy(_))
            && wide_ascii(&first[..from_head + from_input]).is_none();
        self.stage = match charset {
            _ if ascii_form => match charset.decoder_for_bytes() {
                Some(encoding) => Stage::Plain(MaskStream::form_in(stream.masker().clone(), encoding)),
                // UTF-32 values: their ASCII shows between NULs.
                None => Stage::Plain(stream),
            },
            Charset::Utf8 if !guessed => Stage::Plain(stream),
            _ if overridden => Stage::Transcode(Box::new(Transcoder::with_raw_view(stream, charset, kind))),
            _ => Stage::Transcode(Box::new(Transcoder::new(stream, charset))),
        };
        for piece in [head_rest, input_rest] {
            if !piece.is_empty() {
                self.feed(piece, out)?;
            }
        }
        Ok(())
    }

    /// Bytes held between calls (the engine's carry-over and the
    /// transcoder's partial characters).
    pub fn held_bytes(&self) -> usize {
        match &self.stage {
            Stage::Plain(stream) => stream.held_bytes(),
            Stage::Transcode(t) => t.held_bytes(),
            Stage::Sniff(s) => s.head.len(),
            Stage::Settling => 0,
        }
    }
}

/// Decodes a body to UTF-8, masks it and encodes the result in the body's
/// charset again. Holds only the partial characters at chunk boundaries
/// beyond the engine's own carry-over.
#[derive(Debug)]
pub struct Transcoder {
    stream: MaskStream,
    codec: Codec,
    /// The encoded output read again as the bytes it is, for a body whose
    /// byte order mark overrode its label (see [`TextStage`]).
    raw_view: Option<RawView>,
}

/// A second reading of transcoded output: a receiver that ignores a byte
/// order mark reads the bytes as ASCII-compatible text, and must find no
/// value there either. Legitimate UTF-16 or UTF-32 text holds no ASCII
/// run a detector matches (every other byte is a NUL or a high byte).
#[derive(Debug)]
struct RawView {
    stream: MaskStream,
    encoded: Vec<u8>,
}

/// Both directions of one charset and the buffers between them: what a
/// [`Transcoder`] runs a body through, and a multipart part in a charset
/// of its own.
#[derive(Debug)]
pub(crate) struct Codec {
    charset: Charset,
    decoder: Decoder,
    encoder: Encoder,
    /// The current chunk, decoded.
    decoded: String,
    /// Masked UTF-8 not yet encoded: at most an incomplete character
    /// between calls.
    masked: Vec<u8>,
    /// The body's bytes as they came and went, in its own charset (the
    /// engine counts UTF-8).
    bytes_in: u64,
    bytes_out: u64,
}

#[derive(Debug)]
enum Decoder {
    Whatwg(encoding_rs::Decoder),
    Utf32 { big_endian: bool, partial: [u8; 4], len: usize },
}

#[derive(Debug)]
enum Encoder {
    Whatwg(encoding_rs::Encoder),
    Utf16 { big_endian: bool },
    Utf32 { big_endian: bool },
}

impl Transcoder {
    /// `charset` is settled: not `Utf16` or `Utf32` without an order.
    fn new(stream: MaskStream, charset: Charset) -> Transcoder {
        Transcoder { stream, codec: Codec::new(charset), raw_view: None }
    }

    /// A transcoder whose output is also read as raw text (see
    /// [`RawView`]); a form's as a form, so `+` between digits is a space.
    fn with_raw_view(stream: MaskStream, charset: Charset, kind: ContentKind) -> Transcoder {
        let raw_kind = if kind == ContentKind::Form { ContentKind::Form } else { ContentKind::Text };
        let raw = MaskStream::new(stream.masker().clone(), raw_kind);
        Transcoder { raw_view: Some(RawView { stream: raw, encoded: Vec::new() }), ..Transcoder::new(stream, charset) }
    }

    fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Result<(), CharsetError> {
        let codec = &mut self.codec;
        codec.bytes_in += input.len() as u64;
        codec.decode(input, false)?;
        self.stream.feed(codec.decoded.as_bytes(), &mut codec.masked);
        if let Some(e) = self.stream.error() {
            return Err(CharsetError::Multipart(e));
        }
        match &mut self.raw_view {
            None => codec.encode(false, out),
            Some(raw) => {
                codec.encode(false, &mut raw.encoded)?;
                raw.stream.feed(&raw.encoded, out);
                raw.encoded.clear();
                Ok(())
            }
        }
    }

    fn finish(self, out: &mut Vec<u8>) -> Result<Stats, CharsetError> {
        let Transcoder { mut stream, mut codec, raw_view } = self;
        codec.decode(&[], true)?;
        stream.feed(codec.decoded.as_bytes(), &mut codec.masked);
        let mut stats = stream.try_finish(&mut codec.masked).map_err(CharsetError::Multipart)?;
        match raw_view {
            None => codec.encode(true, out)?,
            Some(mut raw) => {
                codec.encode(true, &mut raw.encoded)?;
                raw.stream.feed(&raw.encoded, out);
                stats.add_counts(&raw.stream.finish(out));
            }
        }
        (stats.bytes_in, stats.bytes_out) = (codec.bytes_in, codec.bytes_out);
        Ok(stats)
    }

    /// Bytes held between calls.
    fn held_bytes(&self) -> usize {
        self.stream.held_bytes() + self.codec.masked.len() + self.raw_view.as_ref().map_or(0, |r| r.stream.held_bytes())
    }
}

impl Codec {
    /// `charset` is settled: not `Utf16` or `Utf32` without an order.
    pub(crate) fn new(charset: Charset) -> Codec {
        let legacy = |e: &'static Encoding| {
            (Decoder::Whatwg(e.new_decoder_without_bom_handling()), Encoder::Whatwg(e.new_encoder()))
        };
        let (decoder, encoder) = match charset {
            Charset::Utf16Le | Charset::Utf16 => (
                Decoder::Whatwg(encoding_rs::UTF_16LE.new_decoder_without_bom_handling()),
                Encoder::Utf16 { big_endian: false },
            ),
            Charset::Utf16Be => (
                Decoder::Whatwg(encoding_rs::UTF_16BE.new_decoder_without_bom_handling()),
                Encoder::Utf16 { big_endian: true },
            ),
            Charset::Utf32Le => {
                (Decoder::Utf32 { big_endian: false, partial: [0; 4], len: 0 }, Encoder::Utf32 { big_endian: false })
            }
            Charset::Utf32Be | Charset::Utf32 => {
                (Decoder::Utf32 { big_endian: true, partial: [0; 4], len: 0 }, Encoder::Utf32 { big_endian: true })
            }
            // Never built for UTF-8, which goes to the engine as it is; were
            // it, UTF-8 in and out is still exact.
            Charset::Utf8 => legacy(encoding_rs::UTF_8),
            Charset::Legacy(e) => legacy(e),
        };
        Codec { charset, decoder, encoder, decoded: String::new(), masked: Vec::new(), bytes_in: 0, bytes_out: 0 }
    }

    /// The text [`Codec::decode`] made, and the buffer masked text goes to
    /// for [`Codec::encode`].
    pub(crate) fn buffers(&mut self) -> (&[u8], &mut Vec<u8>) {
        (self.decoded.as_bytes(), &mut self.masked)
    }

    /// Bytes held between calls: an incomplete masked character.
    pub(crate) fn held_bytes(&self) -> usize {
        self.masked.len()
    }

    /// Decodes `input` into `self.decoded` (replacing what it held).
    pub(crate) fn decode(&mut self, mut input: &[u8], last: bool) -> Result<(), CharsetError> {
        self.decoded.clear();
        let malformed = CharsetError::Malformed { charset: self.charset.name(), offset: self.bytes_in };
        match &mut self.decoder {
            Decoder::Whatwg(d) => loop {
                let room = d.max_utf8_buffer_length_without_replacement(input.len()).ok_or(CharsetError::Overflow)?;
                self.decoded.reserve(room);
                let (result, read) = d.decode_to_string_without_replacement(input, &mut self.decoded, last);
                input = &input[read..];
                match result {
                    DecoderResult::InputEmpty => return Ok(()),
                    DecoderResult::OutputFull => continue,
                    DecoderResult::Malformed(..) => return Err(malformed),
                }
            },
            Decoder::Utf32 { big_endian, partial, len } => {
                for &b in input {
                    partial[*len] = b;
                    *len += 1;
                    if *len == 4 {
                        *len = 0;
                        let unit =
                            if *big_endian { u32::from_be_bytes(*partial) } else { u32::from_le_bytes(*partial) };
                        self.decoded.push(char::from_u32(unit).ok_or(malformed.clone())?);
                    }
                }
                if last && *len != 0 { Err(malformed) } else { Ok(()) }
            }
        }
    }

    /// Encodes the complete characters of `self.masked` into `out`; with
    /// `last`, all of it (an incomplete character left is an error).
    pub(crate) fn encode(&mut self, last: bool, out: &mut Vec<u8>) -> Result<(), CharsetError> {
        let charset = self.charset.name();
        let text = match std::str::from_utf8(&self.masked) {
            Ok(text) => text,
            Err(e) if e.error_len().is_none() && !last => {
                // Cut inside a character: the rest comes with the next call.
                std::str::from_utf8(&self.masked[..e.valid_up_to()])
                    .map_err(|_| CharsetError::MaskedNotUtf8 { charset })?
            }
            Err(_) => return Err(CharsetError::MaskedNotUtf8 { charset }),
        };
        let done = text.len();
        let before = out.len();
        match &mut self.encoder {
            Encoder::Whatwg(e) => {
                let mut rest = text;
                loop {
                    let room =
                        e.max_buffer_length_from_utf8_without_replacement(rest.len()).ok_or(CharsetError::Overflow)?;
                    out.reserve(room);
                    let (result, read) = e.encode_from_utf8_to_vec_without_replacement(rest, out, last);
                    rest = &rest[read..];
                    match result {
                        EncoderResult::InputEmpty => break,
                        EncoderResult::OutputFull => continue,
                        EncoderResult::Unmappable(_) => return Err(CharsetError::Unmappable { charset }),
                    }
                }
            }
            Encoder::Utf16 { big_endian } => {
                out.reserve(text.len() * 2);
                for unit in text.encode_utf16() {
                    out.extend_from_slice(&if *big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
                }
            }
            Encoder::Utf32 { big_endian } => {
                out.reserve(text.len() * 4);
                for c in text.chars() {
                    let unit = c as u32;
                    out.extend_from_slice(&if *big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
                }
            }
        }
        self.masked.drain(..done);
        self.bytes_out += (out.len() - before) as u64;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLANTED: [&str; 3] = ["ana.lopez@example.com", "+14155552671", "4111 1111 1111 1111"];

    fn masker() -> Arc<Masker> {
        Arc::new(Masker::new(&crate::patterns::default_config()).expect("the built-in profile"))
    }

    fn charset(label: &str) -> Charset {
        Charset::from_label(label).unwrap_or_else(|| panic!("a known label: {label}"))
    }

    fn transcode_in(declared: Charset, kind: ContentKind, body: &[u8], piece: usize) -> Result<Vec<u8>, CharsetError> {
        let mut stage = TextStage::new(masker(), kind, Some(declared));
        let mut out = Vec::new();
        for chunk in body.chunks(piece.max(1)) {
            stage.feed(chunk, &mut out)?;
        }
        stage.finish(&mut out)?;
        Ok(out)
    }

    /// The output fed whole, checked equal to the output fed in pieces of
    /// 1 and 7 bytes.
    fn transcode(declared: Charset, kind: ContentKind, body: &[u8]) -> Result<Vec<u8>, CharsetError> {
        let whole = transcode_in(declared, kind, body, body.len());
        for piece in [1, 7] {
            assert_eq!(transcode_in(declared, kind, body, piece), whole, "{declared:?} in pieces of {piece}");
        }
        whole
    }

    /// What the engine makes of `text` in UTF-8.
    fn masked_utf8(kind: ContentKind, text: &str) -> String {
        let out = MaskStream::mask_all(masker(), kind, text.as_bytes()).0;
        let out = String::from_utf8(out).expect("UTF-8 out");
        for value in PLANTED {
            assert!(!out.contains(value), "{value} in {out}");
        }
        out
    }

    fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let units = bom.then_some(0xFEFF).into_iter().chain(text.encode_utf16());
        for unit in units {
            out.extend_from_slice(&if big_endian { unit.to_be_bytes() } else { unit.to_le_bytes() });
        }
        out
    }

    fn utf32(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let chars = bom.then_some('\u{FEFF}').into_iter().chain(text.chars());
        for c in chars {
            out.extend_from_slice(&if big_endian { (c as u32).to_be_bytes() } else { (c as u32).to_le_bytes() });
        }
        out
    }

    fn legacy(label: &str, text: &str) -> Vec<u8> {
        let Charset::Legacy(encoding) = charset(label) else { panic!("{label} is not a legacy charset") };
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable, "{label} encodes the test text");
        bytes.into_owned()
    }

    const TEXT: &str = "Écrivez à ana.lopez@example.com ou appelez +14155552671 — carte 4111 1111 1111 1111. \
                        日本語 😀 Ünïcödé, rest intact.\n";

    #[test]
    fn utf16_and_utf32_with_and_without_a_byte_order_mark() {
        let expected = masked_utf8(ContentKind::Text, TEXT);
        assert!(expected.contains("[EMAIL]") && expected.contains("日本語 😀 Ünïcödé, rest intact."));
        for bom in [false, true] {
            for (label, big) in [("utf-16le", false), ("utf-16be", true), ("UTF-16", false)] {
                let out = transcode(charset(label), ContentKind::Text, &utf16(TEXT, big, bom)).expect(label);
                assert_eq!(out, utf16(&expected, big, bom), "{label}, mark {bom}");
            }
            for (label, big) in [("utf-32le", false), ("utf-32be", true), ("utf-32", true)] {
                let out = transcode(charset(label), ContentKind::Text, &utf32(TEXT, big, bom)).expect(label);
                assert_eq!(out, utf32(&expected, big, bom), "{label}, mark {bom}");
            }
        }
    }

    #[test]
    fn a_byte_order_mark_overrides_the_label() {
        let expected = masked_utf8(ContentKind::Text, TEXT);
        for label in ["windows-1252", "utf-8", "shift_jis", "utf-16be"] {
            let out = transcode(charset(label), ContentKind::Text, &utf16(TEXT, false, true)).expect(label);
            assert_eq!(out, utf16(&expected, false, true), "{label}");
        }
        let out = transcode(charset("latin1"), ContentKind::Text, &utf32(TEXT, true, true)).expect("utf-32be mark");
        assert_eq!(out, utf32(&expected, true, true));
        // A UTF-8 mark: kept, and the JSON after it still read as JSON.
        let json = r#"{"email":"ana.lopez@example.com","n":"+14155552671"}"#;
        let body = [&b"\xEF\xBB\xBF"[..], json.as_bytes()].concat();
        let out = transcode(charset("shift_jis"), ContentKind::Json, &body).expect("utf-8 mark");
        assert_eq!(out, [&b"\xEF\xBB\xBF"[..], masked_utf8(ContentKind::Json, json).as_bytes()].concat());
    }

    #[test]
    fn utf16_without_an_order_takes_it_from_the_first_ascii_unit() {
        let expected = masked_utf8(ContentKind::Text, TEXT);
        let out = transcode(charset("utf-16"), ContentKind::Text, &utf16(TEXT, true, false)).expect("utf-16");
        assert_eq!(out, utf16(&expected, true, false));
        let out = transcode(charset("utf-32"), ContentKind::Text, &utf32(TEXT, false, false)).expect("utf-32");
        assert_eq!(out, utf32(&expected, false, false));
    }

    #[test]
    fn unlabelled_json_in_utf16_or_utf32_is_recognised_by_its_nul_bytes() {
        let json =
            r#"{"email":"ana.lopez@example.com","phone":"+14155552671","card":"4111 1111 1111 1111","ok":"日本"}"#;
        let expected = masked_utf8(ContentKind::Json, json);
        for big in [false, true] {
            let out = transcode(Charset::Utf8, ContentKind::Json, &utf16(json, big, false)).expect("utf-16");
            assert_eq!(out, utf16(&expected, big, false), "UTF-16, big-endian {big}");
            let out = transcode(Charset::Utf8, ContentKind::Ndjson, &utf32(json, big, false)).expect("utf-32");
            assert_eq!(out, utf32(&expected, big, false), "UTF-32, big-endian {big}");
        }
        // Text opening with one UTF-32 unit of ASCII is read as UTF-32,
        // and refused when the rest is not.
        let text = "mail ana.lopez@example.com";
        let out = transcode(Charset::Utf8, ContentKind::Text, &utf32(text, false, false)).expect("utf-32 text");
        assert_eq!(out, utf32("mail [EMAIL]", false, false));
        assert!(transcode(Charset::Utf8, ContentKind::Text, &utf16("a\0b", false, false)).is_err());
        // Text whose first bytes are no such units is not sniffed: NUL
        // bytes may be what it is.
        let raw = b"ab\0\0cd".to_vec();
        assert_eq!(transcode(Charset::Utf8, ContentKind::Text, &raw), Ok(raw));
    }

    /// A form labelled UTF-16 is read both ways a receiver reads one: a
    /// body that is itself UTF-16 (decoded before it is parsed, as Node's
    /// body-parser does), and an ASCII body whose escaped bytes are UTF-16
    /// (as Tomcat reads values).
    #[test]
    fn a_form_labelled_utf16_is_read_as_its_bytes_say() {
        let form = "email=ana.lopez%40example.com&card=4111+1111+1111+1111&x=1";
        let out = transcode(Charset::Utf16Le, ContentKind::Form, &utf16(form, false, false)).expect("utf-16 body");
        assert_eq!(out, utf16("email=%5BEMAIL%5D&card=%5BCARD%5D&x=1", false, false));
        let escaped: String =
            utf16("ana.lopez@example.com", false, false).iter().map(|b| format!("%{b:02X}")).collect();
        let out =
            transcode(Charset::Utf16Le, ContentKind::Form, format!("e={escaped}&x=1").as_bytes()).expect("ascii body");
        let placeholder: String = utf16("[EMAIL]", false, false)
            .iter()
            .map(|&b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect();
        assert_eq!(String::from_utf8(out).expect("ascii"), format!("e={placeholder}&x=1"));
    }

    #[test]
    fn legacy_charsets_round_trip_with_the_pii_masked() {
        let cjk = "連絡先 ana.lopez@example.com、電話 +14155552671、カード 4111 1111 1111 1111。以上です。\n";
        for (label, text) in [
            ("shift_jis", cjk),
            ("euc-jp", cjk),
            ("iso-2022-jp", cjk),
            ("gbk", "联系 ana.lopez@example.com 电话 +14155552671 卡 4111 1111 1111 1111 谢谢\n"),
            ("gb18030", "联系 ana.lopez@example.com 电话 +14155552671 卡 4111 1111 1111 1111 谢谢\n"),
            ("big5", "聯絡 ana.lopez@example.com 電話 +14155552671 卡 4111 1111 1111 1111 謝謝\n"),
            ("euc-kr", "연락처 ana.lopez@example.com 전화 +14155552671 카드 4111 1111 1111 1111 감사\n"),
            ("latin1", "Café René: ana.lopez@example.com, +14155552671, 4111 1111 1111 1111, fin é.\n"),
            ("iso-8859-2", "Zażółć: ana.lopez@example.com, +14155552671, 4111 1111 1111 1111.\n"),
            ("koi8-r", "Привет ana.lopez@example.com +14155552671 4111 1111 1111 1111 пока\n"),
        ] {
            let expected = masked_utf8(ContentKind::Text, text);
            let out = transcode(charset(label), ContentKind::Text, &legacy(label, text)).expect(label);
            assert_eq!(out, legacy(label, &expected), "{label}");
        }
    }

    #[test]
    fn windows_1252_non_ascii_bytes_are_characters_not_utf8() {
        // 'é' is 0xE9: neither valid UTF-8 nor dropped from the local part.
        let body = b"Ren\xE9 writes from ren\xE9.lopez@example.com, caf\xE9.";
        let out = transcode(charset("iso-8859-1"), ContentKind::Text, body).expect("latin1");
        assert_eq!(out, b"Ren\xE9 writes from [EMAIL], caf\xE9.");
    }

    #[test]
    fn a_shift_jis_trail_byte_0x40_is_not_an_at_sign() {
        // 'ァ' is 0x83 0x40 in Shift_JIS: its trail byte is ASCII '@'.
        let text = "見本ァexample.comァtest と ana.lopez@example.com";
        let body = legacy("shift_jis", text);
        assert!(body.windows(3).any(|w| w == b"\x83@e"));
        let out = transcode(charset("shift_jis"), ContentKind::Text, &body).expect("shift_jis");
        assert_eq!(out, legacy("shift_jis", "見本ァexample.comァtest と [EMAIL]"));
    }

    #[test]
    fn json_in_utf16_is_masked_as_json() {
        let json = r#"{"name":"Ana","email":"ana.lopez@example.com","phone":"+14155552671","note":"日本"}"#;
        let expected = masked_utf8(ContentKind::Json, json);
        assert!(expected.contains(r#""name":"Ana""#));
        let out = transcode(charset("utf-16"), ContentKind::Json, &utf16(json, false, false)).expect("utf-16");
        assert_eq!(out, utf16(&expected, false, false));
    }

    #[test]
    fn malformed_input_is_an_error() {
        let lone_surrogate = [&utf16("ana ", false, false)[..], b"\x00\xD8", &utf16(" x", false, false)].concat();
        let odd_length = [&utf16("ana.lopez@example.com", true, false)[..], b"\x00"].concat();
        let beyond_unicode = [&utf32("ok ", true, false)[..], b"\x00\x11\x00\x00"].concat();
        let utf32_cut = [&utf32("ok", false, false)[..], b"\x20\x00"].concat();
        for (label, body) in [
            ("utf-16le", lone_surrogate),
            ("utf-16be", odd_length),
            ("utf-32be", beyond_unicode),
            ("utf-32le", utf32_cut),
            ("shift_jis", b"ok \xA0 ana.lopez@example.com".to_vec()),
            ("big5", b"ok \x81 ana".to_vec()),
            ("iso-8859-3", b"ok \xA5".to_vec()),
        ] {
            for piece in [1, 7, body.len()] {
                let result = transcode_in(charset(label), ContentKind::Text, &body, piece);
                assert!(
                    matches!(result, Err(CharsetError::Malformed { .. })),
                    "{label} in pieces of {piece}: {result:?}"
                );
            }
        }
    }

    #[test]
    fn a_character_the_charset_cannot_encode_again_is_an_error() {
        // EUC-JP decodes JIS X 0212 (0x8F …) but the WHATWG encoder has
        // no way back: never emitted as something else.
        let body = b"ok \x8F\xB0\xA1 ana.lopez@example.com";
        let (_, _, malformed) = encoding_rs::EUC_JP.decode(body);
        assert!(!malformed, "the test input decodes");
        let result = transcode(charset("euc-jp"), ContentKind::Text, body);
        assert_eq!(result, Err(CharsetError::Unmappable { charset: "EUC-JP" }));
    }

    #[test]
    fn labels_follow_the_encoding_standard() {
        assert_eq!(Charset::from_label(" UTF-8 "), Some(Charset::Utf8));
        assert_eq!(Charset::from_label("utf8"), Some(Charset::Utf8));
        assert_eq!(Charset::from_label("us-ascii"), Some(Charset::Legacy(encoding_rs::WINDOWS_1252)));
        assert_eq!(Charset::from_label("ISO-8859-1"), Some(Charset::Legacy(encoding_rs::WINDOWS_1252)));
        assert_eq!(Charset::from_label("utf-16le"), Some(Charset::Utf16Le));
        assert_eq!(Charset::from_label("unicodeFFFE"), Some(Charset::Utf16Be));
        assert_eq!(Charset::from_label("sjis"), Some(Charset::Legacy(encoding_rs::SHIFT_JIS)));
        assert_eq!(Charset::from_label("UTF-32BE"), Some(Charset::Utf32Be));
        for unknown in ["klingon", "", "iso-2022-kr", "hz-gb-2312", "utf-7"] {
            assert_eq!(Charset::from_label(unknown), None, "{unknown}");
        }
    }

    #[test]
    fn utf8_and_raw_bodies_go_to_the_engine_as_they_are() {
        let body = "a\u{FEFF}b ana.lopez@example.com \u{FFFF} \x00 é".as_bytes();
        let plain = MaskStream::mask_all(masker(), ContentKind::Text, body).0;
        assert_eq!(transcode(Charset::Utf8, ContentKind::Text, body), Ok(plain.clone()));
        let mut raw = TextStage::new(masker(), ContentKind::Text, None);
        let mut out = Vec::new();
        raw.feed(&utf16("x", false, true), &mut out).expect("raw");
        raw.feed(body, &mut out).expect("raw");
        raw.finish(&mut out).expect("raw");
        assert_eq!(out, [&utf16("x", false, true)[..], &plain].concat(), "no sniffing");
        // Bodies shorter than a mark.
        for short in [&b""[..], b"a", b"\xFF\xFE", b"\xEF\xBB\xBF"] {
            assert_eq!(transcode(Charset::Utf8, ContentKind::Text, short), Ok(short.to_vec()));
        }
    }

    #[test]
    fn stats_count_the_bodys_own_bytes() {
        let body = utf16(TEXT, false, false);
        let mut stage = TextStage::new(masker(), ContentKind::Text, Some(Charset::Utf16Le));
        let mut out = Vec::new();
        stage.feed(&body, &mut out).expect("feed");
        let stats = stage.finish(&mut out).expect("finish");
        assert_eq!((stats.bytes_in, stats.bytes_out), (body.len() as u64, out.len() as u64));
        assert_eq!((stats.count("email"), stats.count("phone"), stats.count("card")), (1, 1, 1));
    }
    fn document_in(
        doc: DocumentCharset,
        declared: Charset,
        body: &[u8],
        piece: usize,
    ) -> Result<Vec<u8>, CharsetError> {
        let mut stage = TextStage::with_document(masker(), ContentKind::Text, Some(declared), Some(doc));
        let mut out = Vec::new();
        for chunk in body.chunks(piece.max(1)) {
            stage.feed(chunk, &mut out)?;
        }
        stage.finish(&mut out)?;
        Ok(out)
    }

    /// Fed whole, in pieces of 1 and of 7: the same output or error (a
    /// malformed sequence's offset says only which piece it was in).
    fn document(doc: DocumentCharset, declared: Charset, body: &[u8]) -> Result<Vec<u8>, CharsetError> {
        let same = |r: Result<Vec<u8>, CharsetError>| {
            r.map_err(|e| match e {
                CharsetError::Malformed { charset, .. } => CharsetError::Malformed { charset, offset: 0 },
                other => other,
            })
        };
        let whole = document_in(doc, declared, body, body.len());
        for piece in [1, 7] {
            assert_eq!(same(document_in(doc, declared, body, piece)), same(whole.clone()), "pieces of {piece}");
        }
        whole
    }

    #[test]
    fn xml_and_html_are_read_in_the_charset_they_name_inside() {
        let xml = DocumentCharset { markup: Markup::Xml, header: false };
        let html = DocumentCharset { markup: Markup::Html, header: false };
        let doc = format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a>{TEXT}</a>");
        let expected = masked_utf8(ContentKind::Text, &doc);
        for big_endian in [false, true] {
            let out = document(xml, Charset::Utf8, &utf16(&doc, big_endian, false)).expect("UTF-16 XML");
            assert_eq!(out, utf16(&expected, big_endian, false));
        }
        let sjis_text = "連絡先 ana.lopez＠example.com、カード４１１１ １１１１ １１１１ １１１１。以上です。";
        let doc = format!("<!doctype html><meta charset=\"shift_jis\"><p>{sjis_text}</p>");
        let out = document(html, Charset::Utf8, &legacy("shift_jis", &doc)).expect("Shift_JIS HTML");
        let (read, _, _) = encoding_rs::SHIFT_JIS.decode(&out);
        assert!(
            !read.contains("＠example") && !read.contains("１１１１ １１１１") && read.contains("以上です。"),
            "{read}"
        );
        let doc = format!("<?xml version='1.0' encoding='windows-1252'?><a>{TEXT}</a>");
        let bytes = encoding_rs::WINDOWS_1252.encode(&doc).0.into_owned();
        assert!(document(xml, Charset::Utf8, &bytes).is_ok_and(|o| !o.windows(9).any(|w| w == b"ana.lopez")));
    }

    #[test]
    fn a_charset_named_inside_that_cannot_be_read_or_contradicts_the_header_is_an_error() {
        let xml = DocumentCharset { markup: Markup::Xml, header: false };
        let ebcdic = [0x4C, 0x6F, 0xA7, 0x94, 0x93, 0x40, 0xA5, 0x85];
        assert_eq!(document(xml, Charset::Utf8, &ebcdic), Err(CharsetError::UnknownInDocument));
        assert_eq!(check_document(xml, Charset::Utf8, &ebcdic, true), Err(CharsetError::UnknownInDocument));
        let body = b"<?xml version=\"1.0\" encoding=\"x-unknown\"?><a>ana.lopez@example.com</a>";
        assert_eq!(document(xml, Charset::Utf8, body), Err(CharsetError::UnknownInDocument));
        let with_header = DocumentCharset { markup: Markup::Xml, header: true };
        let doc = utf16("<?xml version=\"1.0\"?><a>ana.lopez@example.com</a>", false, false);
        assert_eq!(document(with_header, Charset::Utf8, &doc), Err(CharsetError::Contradicted));
        assert_eq!(check_document(with_header, Charset::Utf8, &doc, true), Err(CharsetError::Contradicted));
        assert_eq!(check_document(with_header, charset("utf-16le"), &doc, true), Ok(()));
        // Agreeing with the header, or naming nothing, is fine.
        assert!(document(with_header, charset("utf-16"), &doc).is_ok());
        assert!(document(with_header, charset("latin1"), b"<a>caf\xE9</a>").is_ok());
        // HTML: an unknown label is passed over, as browsers do.
        let html = DocumentCharset { markup: Markup::Html, header: false };
        let out = document(html, Charset::Utf8, b"<meta charset=ibm037><p>ana.lopez@example.com").expect("HTML");
        assert!(out.ends_with(b"<p>[EMAIL]"));
        // HTML naming no charset in its first 1024 bytes (a browser guesses
        // from the bytes): valid UTF-8 is read, anything else is an error.
        let late = format!("{}<meta charset=shift_jis><p>ana.lopez@example.com 日本", " ".repeat(1024));
        assert!(
            document(html, Charset::Utf8, late.as_bytes()).is_ok_and(|o| o.ends_with("<p>[EMAIL] 日本".as_bytes()))
        );
        let sjis = [late.as_bytes(), b"\x93\xfa\x96\x7b"].concat();
        assert!(matches!(document(html, Charset::Utf8, &sjis), Err(CharsetError::Malformed { .. })));
        assert!(matches!(check_document(html, Charset::Utf8, &sjis, true), Err(CharsetError::Malformed { .. })));
        assert_eq!(check_document(html, Charset::Utf8, &late.as_bytes()[..1030], false), Ok(()));
    }

    /// A UTF-16 mark before ASCII text (an export that wrote a mark and
    /// then UTF-8 rows): browsers read UTF-16, a receiver that goes by the
    /// bytes or the label reads the ASCII. Neither reading finds a value;
    /// real UTF-16 under the same mark is masked as UTF-16 and not broken.
    #[test]
    fn a_mark_that_overrides_the_label_is_masked_in_both_readings() {
        let ascii = "mail ana.lopez@example.com card 4111 1111 1111 1111 call +14155552671\n";
        for (mark, declared) in [(&[0xff, 0xfe][..], Charset::Utf8), (&[0xfe, 0xff][..], Charset::Utf8)] {
            let body = [mark, ascii.as_bytes()].concat();
            let out = transcode(declared, ContentKind::Text, &body).expect("masked");
            let as_bytes = String::from_utf8_lossy(&out);
            for value in PLANTED {
                assert!(!as_bytes.contains(value), "{mark:?}: {value} readable in {as_bytes}");
            }
            assert!(as_bytes.contains("mail ") && as_bytes.contains(" card "), "{as_bytes}");
        }
        let utf16: Vec<u8> = [0xff, 0xfe].into_iter().chain(ascii.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        let out = transcode(Charset::Utf8, ContentKind::Text, &utf16).expect("masked");
        let units: Vec<u16> = out[2..].chunks(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
        assert_eq!(
            String::from_utf16(&units).expect("UTF-16 out"),
            "mail [EMAIL] card [CARD] call [PHONE]\n",
            "real UTF-16 under an overriding mark"
        );
    }

    #[test]
    fn ascii_in_wide_units_is_told_from_its_nuls() {
        let utf16le: Vec<u8> = "{\"a\":1}".encode_utf16().flat_map(u16::to_le_bytes).collect();
        let utf16be: Vec<u8> = "hi there".encode_utf16().flat_map(u16::to_be_bytes).collect();
        let utf32le: Vec<u8> = "ok".chars().flat_map(|c| (c as u32).to_le_bytes()).collect();
        let utf32be: Vec<u8> = "ok".chars().flat_map(|c| (c as u32).to_be_bytes()).collect();
        assert_eq!(wide_ascii(&utf16le), Some(Charset::Utf16Le));
        assert_eq!(wide_ascii(&utf16be), Some(Charset::Utf16Be));
        assert_eq!(wide_ascii(&utf32le), Some(Charset::Utf32Le));
        assert_eq!(wide_ascii(&utf32be), Some(Charset::Utf32Be));
        for other in [&b"plain text"[..], b"\x89PNG\r\n\x1a\n", b"\x00\x01\x00\x00", b"a\x00", b"", "日本".as_bytes()]
        {
            assert_eq!(wide_ascii(other), None, "{other:?}");
        }
    }

    /// UTF-16 text with no mark and no label, under a text type: read as
    /// UTF-16 (a JSON reader would, and a log shows its letters), masked,
    /// and written back in UTF-16.
    #[test]
    fn unmarked_utf16_text_is_masked_as_utf16() {
        let text = "mail ana.lopez@example.com card 4111 1111 1111 1111\n";
        let body: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let out = transcode(Charset::Utf8, ContentKind::Text, &body).expect("masked");
        let units: Vec<u16> = out.chunks(2).map(|p| u16::from_le_bytes([p[0], p[1]])).collect();
        assert_eq!(String::from_utf16(&units).expect("UTF-16 out"), "mail [EMAIL] card [CARD]\n");
    }
}
