//! Content codings as a client or an app applies and undoes them, with
//! the codecs' own readers and writers (not piimask's pipeline): what a
//! peer that honours every coding recovers from a body.

use std::io::{Read, Write};

use http::HeaderMap;

/// `plain` with the codings of `lines` (each a `Content-Encoding` line, a
/// comma-separated list) applied in order, each at its usual level.
pub fn encode(lines: &[&str], plain: &[u8]) -> Vec<u8> {
    let mut bytes = plain.to_vec();
    for coding in codings(lines.iter().copied()) {
        bytes = match coding.as_str() {
            "gzip" | "x-gzip" => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(&bytes).expect("gzip");
                e.finish().expect("gzip")
            }
            "deflate" => {
                let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(&bytes).expect("deflate");
                e.finish().expect("deflate")
            }
            "br" => {
                let mut out = Vec::new();
                let mut e = brotli::CompressorWriter::new(&mut out, 4096, 6, 22);
                e.write_all(&bytes).expect("br");
                drop(e);
                out
            }
            "zstd" => zstd::stream::encode_all(bytes.as_slice(), 3).expect("zstd"),
            other => panic!("the tests do not encode `{other}`"),
        };
    }
    bytes
}

/// The body with every coding its `Content-Encoding` lines declare undone,
/// the last applied first. Panics if any layer does not decode whole.
pub fn decode(headers: &HeaderMap, body: &[u8]) -> Vec<u8> {
    let lines = headers.get_all("content-encoding").iter().map(|v| v.to_str().expect("ASCII codings"));
    let mut bytes = body.to_vec();
    for coding in codings(lines).iter().rev() {
        let mut out = Vec::new();
        match coding.as_str() {
            "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(bytes.as_slice()).read_to_end(&mut out),
            "deflate" => flate2::read::ZlibDecoder::new(bytes.as_slice()).read_to_end(&mut out),
            "br" => brotli::Decompressor::new(bytes.as_slice(), 4096).read_to_end(&mut out),
            "zstd" => zstd::stream::read::Decoder::new(bytes.as_slice()).and_then(|mut d| d.read_to_end(&mut out)),
            other => panic!("the tests do not decode `{other}`"),
        }
        .unwrap_or_else(|e| panic!("the `{coding}` layer does not decode: {e}"));
        bytes = out;
    }
    bytes
}

/// The codings of some `Content-Encoding` lines, in order, lower-case,
/// without `identity`.
fn codings<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    lines
        .flat_map(|line| line.split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect()
}
