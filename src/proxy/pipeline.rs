//! One body's way through the engine: decode the content encoding (gzip,
//! deflate), mask, encode again with the same coding. Each stage writes into
//! the next as bytes come, so a small compressed frame that inflates to
//! gigabytes still costs only the stages' buffers (a decompression bomb is
//! masked and re-compressed as it inflates, never held).

use std::io::{self, Write};
use std::sync::Arc;

use flate2::Compression;
use flate2::write::{GzEncoder, MultiGzDecoder, ZlibDecoder, ZlibEncoder};
use http::{HeaderMap, header};

use crate::mask::{Charset, ContentKind, Masker, Stats, TextStage};

/// A body's `Content-Encoding`, as far as piimask can undo and redo it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coding {
    Identity,
    Gzip,
    /// HTTP's "deflate": zlib-wrapped deflate (RFC 9110 §8.4.1.2).
    Deflate,
}

impl Coding {
    /// Reads a `Content-Encoding` value; `None` for codings piimask cannot
    /// decode (br, zstd, compress) or stacked codings, which must then be
    /// refused rather than passed unmasked.
    pub fn parse(value: Option<&str>) -> Option<Coding> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "identity") => Some(Coding::Identity),
            Some("gzip" | "x-gzip") => Some(Coding::Gzip),
            Some("deflate") => Some(Coding::Deflate),
            Some(_) => None,
        }
    }

    /// The coding of a message from all its `Content-Encoding` lines, in
    /// order, as one list (RFC 9110 §5.3: repeated lines are one
    /// comma-separated value). `identity` entries are no coding. `None`
    /// where piimask cannot undo the whole list: an unknown coding, more
    /// than one layer (two lines of `gzip` over a doubly gzipped body
    /// would otherwise be decoded once and the inner layer passed), or a
    /// value that is not visible ASCII.
    pub fn of_headers(headers: &HeaderMap) -> Option<Coding> {
        let mut layers = Vec::new();
        for line in headers.get_all(header::CONTENT_ENCODING) {
            let line = line.to_str().ok()?;
            for name in line.split(',').map(str::trim) {
                if !name.is_empty() && !name.eq_ignore_ascii_case("identity") {
                    layers.push(name);
                }
            }
        }
        match layers.as_slice() {
            [] => Some(Coding::Identity),
            [one] => Coding::parse(Some(one)),
            _ => None,
        }
    }
}

pub struct Pipeline {
    stage: Stage,
}

enum Stage {
    Plain(TextStage),
    /// Every member of the gzip stream (RFC 1952 allows several, as
    /// `cat a.gz b.gz` makes), not the first alone.
    Gzip(MultiGzDecoder<MaskSink>),
    Deflate(ZlibDecoder<MaskSink>),
}

/// Receives decoded bytes, masks them and writes them into the encoder.
struct MaskSink {
    stream: TextStage,
    masked: Vec<u8>,
    encoder: Encoder,
}

enum Encoder {
    Gzip(GzEncoder<Vec<u8>>),
    Deflate(ZlibEncoder<Vec<u8>>),
}

impl Pipeline {
    pub fn new(masker: Arc<Masker>, kind: ContentKind, charset: Option<Charset>, coding: Coding) -> Pipeline {
        let stream = TextStage::new(masker, kind, charset);
        // Level 1: re-compression must not cost more than the masking;
        // upstreams that care about ratio compress at the edge anyway.
        let level = Compression::fast();
        let stage = match coding {
            Coding::Identity => Stage::Plain(stream),
            Coding::Gzip => Stage::Gzip(MultiGzDecoder::new(MaskSink::new(
                stream,
                Encoder::Gzip(GzEncoder::new(Vec::new(), level)),
            ))),
            Coding::Deflate => Stage::Deflate(ZlibDecoder::new(MaskSink::new(
                stream,
                Encoder::Deflate(ZlibEncoder::new(Vec::new(), level)),
            ))),
        };
        Pipeline { stage }
    }

    /// Pushes `input` through and appends what is ready to `out`. An error
    /// means the encoded body is corrupt: the caller must abort the stream.
    pub fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        match &mut self.stage {
            Stage::Plain(stream) => Ok(stream.feed(input, out)?),
            Stage::Gzip(d) => {
                d.write_all(input)?;
                d.get_mut().drain_into(out)
            }
            Stage::Deflate(d) => {
                d.write_all(input)?;
                d.get_mut().drain_into(out)
            }
        }
    }

    /// Ends the body: flushes the carry-over and the encoder's trailer.
    pub fn finish(self, out: &mut Vec<u8>) -> io::Result<Stats> {
        let sink = match self.stage {
            Stage::Plain(stream) => return Ok(stream.finish(out)?),
            Stage::Gzip(d) => d.finish()?,
            Stage::Deflate(d) => d.finish()?,
        };
        sink.finish(out)
    }
}

impl MaskSink {
    fn new(stream: TextStage, encoder: Encoder) -> MaskSink {
        MaskSink { stream, masked: Vec::new(), encoder }
    }

    /// Moves the encoder's output so far into `out`, flushing so a streamed
    /// response (NDJSON, server-sent events) is not held back.
    fn drain_into(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        let buf = match &mut self.encoder {
            Encoder::Gzip(e) => {
                e.flush()?;
                e.get_mut()
            }
            Encoder::Deflate(e) => {
                e.flush()?;
                e.get_mut()
            }
        };
        out.append(buf);
        Ok(())
    }

    fn finish(mut self, out: &mut Vec<u8>) -> io::Result<Stats> {
        let stats = self.stream.finish(&mut self.masked)?;
        let tail = match self.encoder {
            Encoder::Gzip(mut e) => {
                e.write_all(&self.masked)?;
                e.finish()?
            }
            Encoder::Deflate(mut e) => {
                e.write_all(&self.masked)?;
                e.finish()?
            }
        };
        out.extend_from_slice(&tail);
        Ok(stats)
    }
}

impl Write for MaskSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.feed(buf, &mut self.masked)?;
        let result = match &mut self.encoder {
            Encoder::Gzip(e) => e.write_all(&self.masked),
            Encoder::Deflate(e) => e.write_all(&self.masked),
        };
        self.masked.clear();
        result.map(|()| buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(lines: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for line in lines {
            map.append(header::CONTENT_ENCODING, HeaderValue::from_bytes(line).expect("a header value"));
        }
        map
    }

    #[test]
    fn every_content_encoding_line_counts() {
        assert_eq!(Coding::of_headers(&headers(&[])), Some(Coding::Identity));
        assert_eq!(Coding::of_headers(&headers(&[b"GZIP"])), Some(Coding::Gzip));
        assert_eq!(Coding::of_headers(&headers(&[b"identity", b"gzip"])), Some(Coding::Gzip));
        assert_eq!(Coding::of_headers(&headers(&[b"gzip", b"identity"])), Some(Coding::Gzip));
        assert_eq!(Coding::of_headers(&headers(&[b"identity, deflate"])), Some(Coding::Deflate));
        assert_eq!(Coding::of_headers(&headers(&[b" , identity ,"])), Some(Coding::Identity));
    }

    fn masked_through(coding: Coding, body: &[u8], piece: usize) -> io::Result<Vec<u8>> {
        let masker = Arc::new(Masker::new(&crate::patterns::default_config()).expect("the built-in profile"));
        let mut pipeline = Pipeline::new(masker, ContentKind::Text, Some(Charset::Utf8), coding);
        let mut out = Vec::new();
        for chunk in body.chunks(piece) {
            pipeline.feed(chunk, &mut out)?;
        }
        pipeline.finish(&mut out)?;
        Ok(out)
    }

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(text.as_bytes()).expect("gzip");
        encoder.finish().expect("gzip")
    }

    fn gunzip_all(bytes: &[u8]) -> String {
        use std::io::Read;
        let mut text = String::new();
        flate2::read::MultiGzDecoder::new(bytes).read_to_string(&mut text).expect("valid gzip out");
        text
    }

    #[test]
    fn every_member_of_a_gzip_stream_is_masked() {
        // `cat first.gz second.gz`: one valid gzip body of two members.
        let mut body = gzip("first: ana@example.com\n");
        body.extend(gzip("second: bob@example.org\n"));
        for piece in [1, 7, body.len()] {
            let out = gunzip_all(&masked_through(Coding::Gzip, &body, piece).expect("masked"));
            assert_eq!(out, "first: [EMAIL]\nsecond: [EMAIL]\n", "in pieces of {piece}");
        }
    }

    #[test]
    fn bytes_after_a_gzip_member_that_are_not_gzip_are_an_error() {
        let mut body = gzip("a@example.com ");
        body.extend_from_slice(b"b@example.com in clear");
        assert!(masked_through(Coding::Gzip, &body, 64).is_err());
    }

    #[test]
    fn a_gzipped_utf16_body_is_masked_in_utf16() {
        let masker = Arc::new(Masker::new(&crate::patterns::default_config()).expect("the built-in profile"));
        let utf16 = |text: &str| text.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&utf16("write to ana@example.com now")).expect("gzip");
        let body = encoder.finish().expect("gzip");
        for piece in [1, 7, body.len()] {
            let mut pipeline = Pipeline::new(masker.clone(), ContentKind::Text, Some(Charset::Utf16Le), Coding::Gzip);
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
        let mut pipeline = Pipeline::new(masker, ContentKind::Text, Some(Charset::Utf16Le), Coding::Gzip);
        let mut out = Vec::new();
        let fed = pipeline.feed(&encoder.finish().expect("gzip"), &mut out);
        assert!(fed.is_err() || pipeline.finish(&mut out).is_err());
    }

    #[test]
    fn more_than_one_layer_or_an_unknown_one_cannot_be_undone() {
        for lines in [
            &[&b"gzip"[..], b"gzip"][..],
            &[b"gzip, gzip"],
            &[b"gzip", b"deflate"],
            &[b"identity", b"br"],
            &[b"br"],
            &[b"gzip\xff"],
        ] {
            assert_eq!(Coding::of_headers(&headers(lines)), None, "{lines:?}");
        }
    }
}
