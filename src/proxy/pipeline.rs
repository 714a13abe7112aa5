//! One body's way through the engine: undo each content coding (the last
//! applied first), mask, and apply the codings again in their order. Every
//! stage is a writer that writes into the next as bytes come, so a small
//! compressed frame that inflates to gigabytes still costs only the stages'
//! buffers (a decompression bomb is masked and re-compressed as it
//! inflates, never held).

use std::io::{self, Write};
use std::sync::Arc;

use flate2::write::{GzEncoder, MultiGzDecoder, ZlibEncoder};
use flate2::{Compression, Decompress, FlushDecompress, Status};
use http::{HeaderMap, header};

use crate::mask::prescan::DocumentCharset;
use crate::mask::{Charset, ContentKind, Masker, Stats, TextStage};

/// The most content codings one body may carry; more are refused. Real
/// servers apply one, rarely two.
pub const MAX_LAYERS: usize = 4;

/// A content coding piimask can undo and redo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    /// gzip (and `x-gzip`), every member of the stream.
    Gzip,
    /// HTTP's "deflate": zlib-wrapped deflate (RFC 9110 §8.4.1.2).
    Deflate,
    /// Brotli (RFC 7932).
    Brotli,
    /// Zstandard (RFC 8878, as HTTP uses it: RFC 9659).
    Zstd,
}

impl Coding {
    /// One coding name, case-insensitive; `None` for `identity` (no
    /// coding) and for codings piimask cannot undo (`compress`, unknown).
    pub fn parse(name: &str) -> Option<Coding> {
        const NAMES: [(&str, Coding); 5] = [
            ("gzip", Coding::Gzip),
            ("x-gzip", Coding::Gzip),
            ("deflate", Coding::Deflate),
            ("br", Coding::Brotli),
            ("zstd", Coding::Zstd),
        ];
        let name = name.trim();
        NAMES.iter().find(|(known, _)| name.eq_ignore_ascii_case(known)).map(|(_, coding)| *coding)
    }
}

/// Why a body's codings cannot be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodingError {
    /// A coding piimask does not decode, or a value that is not visible
    /// ASCII.
    #[error("a content coding piimask cannot decode")]
    Unsupported,
    #[error("more than {MAX_LAYERS} content codings")]
    TooMany,
}

/// The content codings of a body, in the order they were applied (RFC
/// 9110 §8.4); empty for an identity body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Codings(Vec<Coding>);

impl Codings {
    pub fn identity() -> Codings {
        Codings(Vec::new())
    }

    /// The codings of a message from all its `Content-Encoding` lines, in
    /// order, as one list (RFC 9110 §5.3: repeated lines are one
    /// comma-separated value). `identity` entries are no coding. An error
    /// where piimask cannot undo the whole list: an unknown coding, a value
    /// that is not visible ASCII, or more than [`MAX_LAYERS`] layers.
    pub fn of_headers(headers: &HeaderMap) -> Result<Codings, CodingError> {
        let mut layers = Vec::new();
        for line in headers.get_all(header::CONTENT_ENCODING) {
            let line = line.to_str().map_err(|_| CodingError::Unsupported)?;
            for name in line.split(',').map(str::trim) {
                if name.is_empty() || name.eq_ignore_ascii_case("identity") {
                    continue;
                }
                layers.push(Coding::parse(name).ok_or(CodingError::Unsupported)?);
                if layers.len() > MAX_LAYERS {
                    return Err(CodingError::TooMany);
                }
            }
        }
        Ok(Codings(layers))
    }

    /// The codings, first applied first.
    pub fn layers(&self) -> &[Coding] {
        &self.0
    }
}

impl From<&[Coding]> for Codings {
    fn from(layers: &[Coding]) -> Codings {
        Codings(layers.to_vec())
    }
}

/// Re-compression must not cost more than the masking: the fastest levels
/// (upstreams that care about ratio compress at the edge anyway).
const GZIP_LEVEL: u32 = 1;
const BROTLI_QUALITY: u32 = 1;
/// Brotli's window for re-encoding: 1 MiB.
const BROTLI_WINDOW_LOG: u32 = 20;
const ZSTD_LEVEL: i32 = 1;
/// The largest Zstandard window a body may ask for: 8 MiB, what RFC 9659
/// §3 lets an HTTP decoder hold to (zstd's own default is 128 MiB).
const ZSTD_WINDOW_LOG_MAX: u32 = 23;
/// Each decoder's and encoder's output buffer.
const BUFFER: usize = 32 * 1024;

pub struct Pipeline {
    stage: Stage,
}

enum Stage {
    Plain(TextStage),
    /// The outermost decoder: each writes into the next, the innermost
    /// into the masking sink.
    Coded(Decode),
}

/// The decoding half of the chain: one decoder per layer, outermost
/// first, ending in the masking sink.
enum Decode {
    Mask(Box<MaskSink>),
    /// Every member of the gzip stream (RFC 1952 allows several, as
    /// `cat a.gz b.gz` makes), not the first alone.
    Gzip(Box<MultiGzDecoder<Decode>>),
    Deflate(Box<Inflate<Decode>>),
    Brotli(Box<brotli::DecompressorWriter<Counted<Decode>>>),
    Zstd(Box<zstd::stream::write::Decoder<'static, Decode>>),
}

/// A writer that counts what passes, to tell when a decoder has nothing
/// more to give.
struct Counted<W> {
    next: W,
    written: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.next.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.next.flush()
    }
}

/// Receives decoded bytes, masks them and writes them into the encoders.
struct MaskSink {
    stream: TextStage,
    masked: Vec<u8>,
    encode: Encode,
}

/// The encoding half: one encoder per layer, first applied first, ending
/// in the buffer the caller drains.
enum Encode {
    Out(Vec<u8>),
    Gzip(Box<GzEncoder<Encode>>),
    Deflate(Box<ZlibEncoder<Encode>>),
    Brotli(Box<brotli::CompressorWriter<Encode>>),
    Zstd(Box<zstd::stream::write::Encoder<'static, Encode>>),
}

impl Pipeline {
    pub fn new(
        masker: Arc<Masker>,
        kind: ContentKind,
        charset: Option<Charset>,
        codings: &Codings,
    ) -> io::Result<Pipeline> {
        Pipeline::with_document(masker, kind, charset, None, codings)
    }

    /// [`Pipeline::new`] for a body that may name its charset inside
    /// itself (XML, HTML): see [`TextStage::with_document`].
    pub fn with_document(
        masker: Arc<Masker>,
        kind: ContentKind,
        charset: Option<Charset>,
        document: Option<DocumentCharset>,
        codings: &Codings,
    ) -> io::Result<Pipeline> {
        let stream = TextStage::with_document(masker, kind, charset, document);
        if codings.layers().is_empty() {
            return Ok(Pipeline { stage: Stage::Plain(stream) });
        }
        let mut encode = Encode::Out(Vec::new());
        for coding in codings.layers().iter().rev() {
            encode = Encode::new(*coding, encode)?;
        }
        let mut decode = Decode::Mask(Box::new(MaskSink { stream, masked: Vec::new(), encode }));
        for coding in codings.layers() {
            decode = Decode::new(*coding, decode)?;
        }
        Ok(Pipeline { stage: Stage::Coded(decode) })
    }

    /// Pushes `input` through and appends what is ready to `out`. An error
    /// means the encoded body is corrupt: the caller must abort the stream.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        match &mut self.stage {
            Stage::Plain(stream) => Ok(stream.feed(input, out)?),
            // An empty piece (an empty HTTP/2 DATA frame) moves nothing,
            // and libzstd takes repeated calls without progress for an error.
            Stage::Coded(_) if input.is_empty() => Ok(()),
            Stage::Coded(decode) => {
                decode.write_all(input)?;
                // Everything decodable so far goes through every stage and
                // out, so a streamed response (NDJSON, server-sent events)
                // is not held back.
                decode.flush()?;
                out.append(decode.sink().encode.out());
                Ok(())
            }
        }
    }

    /// Ends the body: checks every layer ended where its stream ends,
    /// flushes the carry-over and the encoders' trailers.
    pub fn finish(self, out: &mut Vec<u8>) -> io::Result<Stats> {
        match self.stage {
            Stage::Plain(stream) => Ok(stream.finish(out)?),
            Stage::Coded(decode) => {
                let mut sink = decode.finish()?;
                let stats = sink.stream.finish(&mut sink.masked)?;
                sink.encode.write_all(&sink.masked)?;
                out.append(&mut sink.encode.finish()?);
                Ok(stats)
            }
        }
    }
}

fn corrupt(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

impl Decode {
    fn new(coding: Coding, next: Decode) -> io::Result<Decode> {
        Ok(match coding {
            Coding::Gzip => Decode::Gzip(Box::new(MultiGzDecoder::new(next))),
            Coding::Deflate => Decode::Deflate(Box::new(Inflate::new(next))),
            Coding::Brotli => {
                Decode::Brotli(Box::new(brotli::DecompressorWriter::new(Counted { next, written: 0 }, BUFFER)))
            }
            Coding::Zstd => {
                let mut decoder = zstd::stream::write::Decoder::new(next)?;
                decoder.window_log_max(ZSTD_WINDOW_LOG_MAX)?;
                Decode::Zstd(Box::new(decoder))
            }
        })
    }

    fn sink(&mut self) -> &mut MaskSink {
        match self {
            Decode::Mask(sink) => sink,
            Decode::Gzip(d) => d.get_mut().sink(),
            Decode::Deflate(d) => d.next.sink(),
            Decode::Brotli(d) => d.get_mut().next.sink(),
            Decode::Zstd(d) => d.get_mut().sink(),
        }
    }

    /// Ends each layer, outermost first: an error if a stream stops short
    /// of its end.
    fn finish(self) -> io::Result<MaskSink> {
        match self {
            Decode::Mask(sink) => Ok(*sink),
            Decode::Gzip(d) => d.finish()?.finish(),
            Decode::Deflate(d) => d.finish()?.finish(),
            Decode::Brotli(d) => (*d).into_inner().map_err(|_| corrupt("the brotli stream ends early"))?.next.finish(),
            Decode::Zstd(d) => d.finish()?.finish(),
        }
    }
}

impl Write for Decode {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Decode::Mask(sink) => sink.write(buf),
            Decode::Gzip(d) => d.write(buf),
            Decode::Deflate(d) => d.write(buf),
            Decode::Brotli(d) => d.write(buf),
            Decode::Zstd(d) => d.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Decode::Mask(sink) => sink.flush(),
            Decode::Gzip(d) => d.flush(),
            Decode::Deflate(d) => d.flush(),
            Decode::Brotli(d) => {
                // The brotli writer hands out one buffer of what it has
                // decoded per write: ask until it has nothing more.
                loop {
                    let before = d.get_ref().written;
                    let taken = d.write(&[])?;
                    debug_assert_eq!(taken, 0, "nothing to take from an empty input");
                    if d.get_ref().written == before {
                        break;
                    }
                }
                d.flush()
            }
            Decode::Zstd(d) => d.flush(),
        }
    }
}

impl Write for MaskSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.feed(buf, &mut self.masked)?;
        let result = self.encode.write_all(&self.masked);
        self.masked.clear();
        result.map(|()| buf.len())
    }

    /// Flushes every encoder, so what was masked so far can go out.
    fn flush(&mut self) -> io::Result<()> {
        self.encode.flush()
    }
}

impl Encode {
    fn new(coding: Coding, next: Encode) -> io::Result<Encode> {
        Ok(match coding {
            Coding::Gzip => Encode::Gzip(Box::new(GzEncoder::new(next, Compression::new(GZIP_LEVEL)))),
            Coding::Deflate => Encode::Deflate(Box::new(ZlibEncoder::new(next, Compression::new(GZIP_LEVEL)))),
            Coding::Brotli => {
                Encode::Brotli(Box::new(brotli::CompressorWriter::new(next, BUFFER, BROTLI_QUALITY, BROTLI_WINDOW_LOG)))
            }
            Coding::Zstd => Encode::Zstd(Box::new(zstd::stream::write::Encoder::new(next, ZSTD_LEVEL)?)),
        })
    }

    /// The buffer at the end of the chain.
    fn out(&mut self) -> &mut Vec<u8> {
        match self {
            Encode::Out(out) => out,
            Encode::Gzip(e) => e.get_mut().out(),
            Encode::Deflate(e) => e.get_mut().out(),
            Encode::Brotli(e) => e.get_mut().out(),
            Encode::Zstd(e) => e.get_mut().out(),
        }
    }

    /// Ends each layer, first applied first, each trailer written into the
    /// next; the whole remaining output.
    fn finish(self) -> io::Result<Vec<u8>> {
        match self {
            Encode::Out(out) => Ok(out),
            Encode::Gzip(e) => e.finish()?.finish(),
            Encode::Deflate(e) => e.finish()?.finish(),
            Encode::Brotli(mut e) => {
                // `into_inner` ends the stream but drops a write error: a
                // flush first surfaces one (the next stage is an encoder
                // or the buffer, which do not fail).
                e.flush()?;
                (*e).into_inner().finish()
            }
            Encode::Zstd(e) => e.finish()?.finish(),
        }
    }
}

impl Write for Encode {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encode::Out(out) => out.write(buf),
            Encode::Gzip(e) => e.write(buf),
            Encode::Deflate(e) => e.write(buf),
            Encode::Brotli(e) => e.write(buf),
            Encode::Zstd(e) => e.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encode::Out(_) => Ok(()),
            Encode::Gzip(e) => e.flush(),
            Encode::Deflate(e) => e.flush(),
            Encode::Brotli(e) => e.flush(),
            Encode::Zstd(e) => e.flush(),
        }
    }
}

/// A `deflate` decoder that knows where its stream ends: flate2's writer
/// ends a stream cut short without complaint, and then a truncated body
/// would pass for a whole one. Bytes after the end are an error too.
///
/// `deflate` means a zlib stream (RFC 9110), but some servers send bare
/// RFC 1951 data under that name and browsers accept it: as they do, a
/// stream whose first two bytes are not a zlib header is read as bare
/// deflate. Until two bytes have come, the decoder is not yet chosen.
struct Inflate<W> {
    /// `None` until the first two bytes say which format the stream is.
    state: Option<Decompress>,
    /// The first byte, while it waits for the second.
    first: Option<u8>,
    buf: Vec<u8>,
    next: W,
    ended: bool,
}

/// True when `cmf` and `flg` open a zlib stream (RFC 1950 section 2.2):
/// method 8 (deflate), a window of at most 32 KiB, and a check that makes
/// the pair a multiple of 31. A bare deflate stream's first byte opens a
/// block, and few such pairs also pass this check.
fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0
}

impl<W: Write> Inflate<W> {
    fn new(next: W) -> Inflate<W> {
        Inflate { state: None, first: None, buf: Vec::with_capacity(BUFFER), next, ended: false }
    }

    fn finish(self) -> io::Result<W> {
        if self.ended { Ok(self.next) } else { Err(corrupt("the deflate stream ends early")) }
    }

    /// Chooses the format from the stream's first two bytes, feeding a
    /// byte held back from an earlier write first. Returns how many bytes
    /// of `input` were taken while choosing.
    fn choose(&mut self, input: &[u8]) -> io::Result<usize> {
        let Some(first) = self.first.take() else {
            if input.len() < 2 {
                self.first = Some(input[0]);
                return Ok(1);
            }
            self.state = Some(Decompress::new(is_zlib_header(input[0], input[1])));
            return Ok(0);
        };
        let mut state = Decompress::new(is_zlib_header(first, input[0]));
        self.buf.clear();
        state
            .decompress_vec(&[first], &mut self.buf, FlushDecompress::None)
            .map_err(|_| corrupt("the deflate stream is corrupt"))?;
        self.next.write_all(&self.buf)?;
        self.state = Some(state);
        Ok(0)
    }
}

impl<W: Write> Write for Inflate<W> {
    fn write(&mut self, input: &[u8]) -> io::Result<usize> {
        if input.is_empty() {
            return Ok(0);
        }
        if self.ended {
            return Err(corrupt("bytes after the end of the deflate stream"));
        }
        if self.state.is_none() {
            let taken = self.choose(input)?;
            if self.state.is_none() {
                return Ok(taken);
            }
        }
        let Some(state) = self.state.as_mut() else { return Ok(0) };
        let mut used = 0;
        loop {
            self.buf.clear();
            let before = state.total_in();
            let status = state
                .decompress_vec(&input[used..], &mut self.buf, FlushDecompress::None)
                .map_err(|_| corrupt("the deflate stream is corrupt"))?;
            used += usize::try_from(state.total_in() - before).unwrap_or(usize::MAX).min(input.len() - used);
            self.next.write_all(&self.buf)?;
            let full = self.buf.len() == self.buf.capacity();
            match status {
                Status::StreamEnd => {
                    self.ended = true;
                    if used < input.len() {
                        return Err(corrupt("bytes after the end of the deflate stream"));
                    }
                    return Ok(used);
                }
                // The output buffer filled: more may be waiting inside.
                _ if full => {}
                _ => return Ok(used),
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.next.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use http::HeaderValue;

    use super::*;

    fn headers(lines: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(header::CONTENT_ENCODING, HeaderValue::from_bytes(line).expect("a header value"));
        }
        map
    }

    fn layers(lines: &[&[u8]]) -> Result<Vec<Coding>, CodingError> {
        Codings::of_headers(&headers(lines)).map(|c| c.layers().to_vec())
    }

    use Coding::{Brotli, Deflate, Gzip, Zstd};

    #[test]
    fn every_content_encoding_line_counts_in_order() {
        assert_eq!(layers(&[]), Ok(vec![]));
        assert_eq!(layers(&[b"GZIP"]), Ok(vec![Gzip]));
        assert_eq!(layers(&[b"identity", b"gzip"]), Ok(vec![Gzip]));
        assert_eq!(layers(&[b"gzip", b"identity"]), Ok(vec![Gzip]));
        assert_eq!(layers(&[b"identity, deflate"]), Ok(vec![Deflate]));
        assert_eq!(layers(&[b" , identity ,"]), Ok(vec![]));
        assert_eq!(layers(&[b"gzip", b"gzip"]), Ok(vec![Gzip, Gzip]));
        assert_eq!(layers(&[b"deflate, Br", b"x-gzip,zstd"]), Ok(vec![Deflate, Brotli, Gzip, Zstd]));
    }

    #[test]
    fn an_unknown_coding_or_too_many_layers_cannot_be_undone() {
        for lines in [&[&b"compress"[..]][..], &[b"gzip", b"identity, br, x-compress"], &[b"gzip\xff"], &[b"*"]] {
            assert_eq!(layers(lines), Err(CodingError::Unsupported), "{lines:?}");
        }
        assert_eq!(layers(&[b"gzip, gzip", b"br, zstd"]).map(|l| l.len()), Ok(MAX_LAYERS));
        assert_eq!(layers(&[b"gzip, gzip", b"br, zstd", b"identity, deflate"]), Err(CodingError::TooMany));
        // An unknown coding is reported as such even past the layer limit.
        assert_eq!(layers(&[b"compress, gzip, gzip, gzip, gzip, gzip"]), Err(CodingError::Unsupported));
    }

    /// `text` with `codings` applied in order, each at its default level.
    fn encode(codings: &[Coding], text: &[u8]) -> Vec<u8> {
        let mut bytes = text.to_vec();
        for coding in codings {
            bytes = match coding {
                Gzip => {
                    let mut e = GzEncoder::new(Vec::new(), Compression::default());
                    e.write_all(&bytes).expect("gzip");
                    e.finish().expect("gzip")
                }
                Deflate => {
                    let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
                    e.write_all(&bytes).expect("deflate");
                    e.finish().expect("deflate")
                }
                Brotli => {
                    let mut out = Vec::new();
                    let mut e = brotli::CompressorWriter::new(&mut out, 4096, 9, 22);
                    e.write_all(&bytes).expect("br");
                    drop(e);
                    out
                }
                Zstd => zstd::stream::encode_all(bytes.as_slice(), 3).expect("zstd"),
            };
        }
        bytes
    }

    /// What a client honouring every coding recovers: each layer undone,
    /// the last applied first.
    fn decode(codings: &[Coding], bytes: &[u8]) -> Vec<u8> {
        let mut bytes = bytes.to_vec();
        for coding in codings.iter().rev() {
            let mut out = Vec::new();
            match coding {
                Gzip => flate2::read::MultiGzDecoder::new(bytes.as_slice()).read_to_end(&mut out),
                Deflate => flate2::read::ZlibDecoder::new(bytes.as_slice()).read_to_end(&mut out),
                Brotli => brotli::Decompressor::new(bytes.as_slice(), 4096).read_to_end(&mut out),
                Zstd => zstd::stream::read::Decoder::new(bytes.as_slice()).and_then(|mut d| d.read_to_end(&mut out)),
            }
            .unwrap_or_else(|e| panic!("{coding:?} output does not decode: {e}"));
            bytes = out;
        }
        bytes
    }

    fn masked_through(codings: &[Coding], body: &[u8], piece: usize) -> io::Result<Vec<u8>> {
        let masker = Arc::new(Masker::new(&crate::patterns::default_config()).expect("the built-in profile"));
        let mut pipeline = Pipeline::new(masker, ContentKind::Text, Some(Charset::Utf8), &Codings::from(codings))?;
        let mut out = Vec::new();
        for chunk in body.chunks(piece.max(1)) {
            pipeline.feed(chunk, &mut out)?;
        }
        pipeline.finish(&mut out)?;
        Ok(out)
    }

    const TEXT: &str =
        "from ana.lopez@example.com, call +44 20 7946 0958, card 4111 1111 1111 1111; invoice 98123457\n";
    const MASKED: &str = "from [EMAIL], call [PHONE], card [CARD]; invoice 98123457\n";

    #[test]
    fn empty_pieces_between_and_after_the_body_change_nothing() {
        // An HTTP/2 peer may send empty DATA frames, as many as it likes.
        let masker = Arc::new(Masker::new(&crate::patterns::default_config()).expect("the built-in profile"));
        for stack in [&[Zstd][..], &[Gzip, Brotli], &[Deflate]] {
            let body = encode(stack, TEXT.as_bytes());
            let mut pipeline =
                Pipeline::new(masker.clone(), ContentKind::Text, Some(Charset::Utf8), &Codings::from(stack))
                    .expect("pipeline");
            let mut out = Vec::new();
            for chunk in body.chunks(5) {
                for _ in 0..40 {
                    pipeline.feed(&[], &mut out).unwrap_or_else(|e| panic!("{stack:?}: {e}"));
                }
                pipeline.feed(chunk, &mut out).unwrap_or_else(|e| panic!("{stack:?}: {e}"));
            }
            pipeline.finish(&mut out).expect("finish");
            assert_eq!(String::from_utf8(decode(stack, &out)).expect("utf-8"), MASKED, "{stack:?}");
        }
    }

    #[test]
    fn every_stack_is_undone_masked_and_redone_in_any_pieces() {
        let stacks: &[&[Coding]] = &[
            &[Gzip],
            &[Deflate],
            &[Brotli],
            &[Zstd],
            &[Gzip, Gzip],
            &[Deflate, Brotli],
            &[Zstd, Gzip],
            &[Brotli, Deflate, Zstd, Gzip],
        ];
        let text = TEXT.repeat(40);
        for stack in stacks {
            let body = encode(stack, text.as_bytes());
            let mut outputs = Vec::new();
            for piece in [1, 7, body.len()] {
                let out = masked_through(stack, &body, piece).unwrap_or_else(|e| panic!("{stack:?} {piece}: {e}"));
                let plain = String::from_utf8(decode(stack, &out)).expect("utf-8");
                assert_eq!(plain, MASKED.repeat(40), "{stack:?} in pieces of {piece}");
                outputs.push(plain);
            }
            assert!(outputs.windows(2).all(|w| w[0] == w[1]));
        }
    }

    #[test]
    fn a_brotli_body_in_many_chunks_streams_out_as_it_comes() {
        // A long body: the output grows while the input is still coming.
        let lines = |text: &str| (0..4000).map(|i| format!("line {i}: {text}")).collect::<String>();
        let (text, masked) = (lines(TEXT), lines(MASKED));
        let body = encode(&[Brotli], text.as_bytes());
        let masker = Arc::new(Masker::new(&crate::patterns::default_config()).expect("the built-in profile"));
        let mut pipeline = Pipeline::new(masker, ContentKind::Text, Some(Charset::Utf8), &Codings::from(&[Brotli][..]))
            .expect("pipeline");
        let mut out = Vec::new();
        let half = body.len() / 2;
        for chunk in body[..half].chunks(1000) {
            pipeline.feed(chunk, &mut out).expect("feed");
        }
        let partial = brotli_prefix(&out);
        assert!(
            partial.len() > text.len() / 4,
            "only {} bytes out ({} coded) after {half} of {} bytes in",
            partial.len(),
            out.len(),
            body.len()
        );
        assert!(masked.starts_with(&partial));
        for chunk in body[half..].chunks(1000) {
            pipeline.feed(chunk, &mut out).expect("feed");
        }
        pipeline.finish(&mut out).expect("finish");
        assert_eq!(String::from_utf8(decode(&[Brotli], &out)).expect("utf-8"), masked);
    }

    /// What a streaming brotli decoder recovers from a stream not yet ended.
    fn brotli_prefix(bytes: &[u8]) -> String {
        let mut decoder = brotli::DecompressorWriter::new(Vec::new(), 4096);
        decoder.write_all(bytes).expect("a valid brotli prefix");
        // It hands out one buffer per write: ask until it has no more.
        loop {
            let before = decoder.get_ref().len();
            let taken = decoder.write(&[]).expect("a valid brotli prefix");
            assert_eq!(taken, 0);
            if decoder.get_ref().len() == before {
                break;
            }
        }
        String::from_utf8_lossy(decoder.get_ref()).into_owned()
    }

    #[test]
    fn every_member_of_a_gzip_stream_is_masked() {
        // `cat first.gz second.gz`: one valid gzip body of two members.
        let mut body = encode(&[Gzip], b"first: ana@example.com\n");
        body.extend(encode(&[Gzip], b"second: bob@example.org\n"));
        for piece in [1, 7, body.len()] {
            let out = decode(&[Gzip], &masked_through(&[Gzip], &body, piece).expect("masked"));
            assert_eq!(out, b"first: [EMAIL]\nsecond: [EMAIL]\n", "in pieces of {piece}");
        }
    }

    #[test]
    fn zstd_frames_one_after_another_are_all_masked() {
        let mut body = encode(&[Zstd], b"first: ana@example.com\n");
        body.extend(encode(&[Zstd], b"second: bob@example.org\n"));
        let out = decode(&[Zstd], &masked_through(&[Zstd], &body, 7).expect("masked"));
        assert_eq!(out, b"first: [EMAIL]\nsecond: [EMAIL]\n");
    }

    #[test]
    fn corrupt_truncated_or_trailing_bytes_are_errors() {
        let stacks: &[&[Coding]] = &[&[Gzip], &[Deflate], &[Brotli], &[Zstd], &[Gzip, Brotli], &[Zstd, Deflate]];
        for stack in stacks {
            let body = encode(stack, TEXT.as_bytes());
            let truncated = &body[..body.len() - 3];
            assert!(masked_through(stack, truncated, 7).is_err(), "{stack:?} truncated");
            let mut trailing = body.clone();
            trailing.extend_from_slice(b"b@example.com in clear");
            assert!(masked_through(stack, &trailing, 64).is_err(), "{stack:?} with bytes after its end");
            // gzip and zlib carry a checksum; brotli and zstd (without
            // its optional one) may decode damaged bytes into other bytes,
            // which are then masked like any others.
            if matches!(stack.last(), Some(Gzip | Deflate)) {
                let mut flipped = body.clone();
                let middle = flipped.len() / 2;
                flipped[middle] ^= 0x55;
                flipped[middle + 1] ^= 0xaa;
                assert!(masked_through(stack, &flipped, 64).is_err(), "{stack:?} corrupt");
            }
            assert!(masked_through(stack, b"ana@example.com plain, not coded", 64).is_err(), "{stack:?} not coded");
        }
    }

    /// Bare RFC 1951 data under `deflate` (sent by some servers, read by
    /// browsers) is read and masked, in any pieces; what goes out is a
    /// zlib stream, as `deflate` means.
    #[test]
    fn bare_deflate_under_deflate_is_read_as_browsers_read_it() {
        let text = TEXT.repeat(40);
        for level in [Compression::none(), Compression::fast(), Compression::best()] {
            let mut bare = flate2::write::DeflateEncoder::new(Vec::new(), level);
            bare.write_all(text.as_bytes()).expect("deflate");
            let body = bare.finish().expect("deflate");
            assert!(!is_zlib_header(body[0], body[1]), "{level:?}: a bare stream read as zlib");
            for piece in [1, 2, 7, body.len()] {
                let out = masked_through(&[Deflate], &body, piece).unwrap_or_else(|e| panic!("{level:?} {piece}: {e}"));
                assert_eq!(String::from_utf8(decode(&[Deflate], &out)).expect("utf-8"), MASKED.repeat(40));
            }
        }
    }

    #[test]
    fn every_zlib_level_opens_with_a_zlib_header() {
        for level in 0..=9 {
            let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), Compression::new(level));
            zlib.write_all(TEXT.as_bytes()).expect("zlib");
            let body = zlib.finish().expect("zlib");
            assert!(is_zlib_header(body[0], body[1]), "level {level}: {:02x} {:02x}", body[0], body[1]);
        }
    }

    #[test]
    fn a_zstd_window_beyond_8_mib_is_refused() {
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).expect("zstd");
        encoder.window_log(24).expect("window");
        encoder.include_contentsize(false).expect("no size");
        encoder.write_all(TEXT.as_bytes()).expect("zstd");
        let body = encoder.finish().expect("zstd");
        assert!(masked_through(&[Zstd], &body, 64).is_err());
    }

    /// A bomb (16 MiB of zeros in a few KiB, twice compressed) streams
    /// through: the output comes out as the input goes in, and no stage
    /// holds the inflated body.
    #[test]
    fn a_decompression_bomb_streams_through_bounded_stages() {
        let mut inner = GzEncoder::new(Vec::new(), Compression::best());
        let zeros = vec![b'0'; 1 << 20];
        for _ in 0..16 {
            inner.write_all(&zeros).expect("gzip");
        }
        let body = encode(&[Brotli], &inner.finish().expect("gzip"));
        assert!(body.len() < 1 << 20, "{} bytes", body.len());
        let masker = Arc::new(Masker::new(&crate::patterns::default_config()).expect("the built-in profile"));
        let mut pipeline =
            Pipeline::new(masker, ContentKind::Text, Some(Charset::Utf8), &Codings::from(&[Gzip, Brotli][..]))
                .expect("pipeline");
        let mut out = Vec::new();
        let mut largest = 0;
        for chunk in body.chunks(512) {
            pipeline.feed(chunk, &mut out).expect("feed");
            largest = largest.max(out.len());
            out.clear();
        }
        let stats = pipeline.finish(&mut out).expect("finish");
        assert_eq!(stats.bytes_in, 16 << 20, "all of it was masked");
        // The re-encoded output of one 512-byte input chunk stays small.
        assert!(largest < 1 << 20, "{largest} bytes out of one feed");
    }

    #[test]
    fn a_gzipped_utf16_body_is_masked_in_utf16() {
        let masker = Arc::new(Masker::new(&crate::patterns::default_config()).expect("the built-in profile"));
        let utf16 = |text: &str| text.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&utf16("write to ana@example.com now")).expect("gzip");
        let body = encoder.finish().expect("gzip");
        let gzip = Codings::from(&[Coding::Gzip][..]);
        for piece in [1, 7, body.len()] {
            let mut pipeline =
                Pipeline::new(masker.clone(), ContentKind::Text, Some(Charset::Utf16Le), &gzip).expect("pipeline");
            let mut out = Vec::new();
            for chunk in body.chunks(piece) {
                pipeline.feed(chunk, &mut out).expect("masked");
            }
            pipeline.finish(&mut out).expect("masked");
            let mut plain = Vec::new();
            std::io::Read::read_to_end(&mut flate2::read::MultiGzDecoder::new(&out[..]), &mut plain).expect("gzip out");
            assert_eq!(plain, utf16("write to [EMAIL] now"), "in pieces of {piece}");
        }
        // Malformed UTF-16 (a lone surrogate) inside the gzip: an error.
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(b"a\x00\x00\xD8b\x00").expect("gzip");
        let mut pipeline = Pipeline::new(masker, ContentKind::Text, Some(Charset::Utf16Le), &gzip).expect("pipeline");
        let mut out = Vec::new();
        let fed = pipeline.feed(&encoder.finish().expect("gzip"), &mut out);
        assert!(fed.is_err() || pipeline.finish(&mut out).is_err());
    }
}
