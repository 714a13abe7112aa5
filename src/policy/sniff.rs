//! Is a body with no useful type binary or text? Decided from its first
//! bytes as the WHATWG MIME Sniffing standard does: the signatures of
//! images, audio and video, fonts, archives and PDF (§6), then the
//! "binary data byte" rule over the first [`SNIFF_BYTES`] (§7.1). A few
//! signatures the standard leaves out (zstd, xz, bzip2, 7z, MP4's `ftyp`
//! box) are added. Pure bytes in, a verdict out.

/// How many leading bytes decide.
pub const SNIFF_BYTES: usize = 512;

/// The verdict on a body's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Text,
    /// A known binary signature, or a binary data byte in the head.
    Binary,
}

/// A signature: `pattern` compared under `mask` at the start of the head
/// (WHATWG's byte pattern matching; `0xFF` in the mask compares the byte,
/// `0x00` skips it).
struct Signature {
    pattern: &'static [u8],
    mask: Option<&'static [u8]>,
}

const fn exact(pattern: &'static [u8]) -> Signature {
    Signature { pattern, mask: None }
}

const SKIP4: &[u8] = b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF";

/// Binary formats by their first bytes. A body taken for binary passes
/// unmasked (where `binary` allows), so a signature of a few printable
/// letters that a text could start with (BMP's `BM`, MP3's `ID3`, the
/// fonts' `OTTO`, `ttcf`, `wOFF`, `wOF2`, bzip2's `BZh`) is left out:
/// those formats carry control bytes in their first bytes, which the
/// binary data byte rule finds, and a text that starts with the letters
/// is still masked.
const SIGNATURES: &[Signature] = &[
    // Images (§6.1).
    exact(b"\x00\x00\x01\x00"),
    exact(b"\x00\x00\x02\x00"),
    exact(b"GIF87a"),
    exact(b"GIF89a"),
    Signature {
        pattern: b"RIFF\x00\x00\x00\x00WEBPVP",
        mask: Some(b"\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF"),
    },
    exact(b"\x89PNG\r\n\x1A\n"),
    exact(b"\xFF\xD8\xFF"),
    // Audio and video (§6.2).
    Signature { pattern: b"FORM\x00\x00\x00\x00AIFF", mask: Some(SKIP4) },
    exact(b"OggS\x00"),
    exact(b"MThd\x00\x00\x00\x06"),
    Signature { pattern: b"RIFF\x00\x00\x00\x00AVI ", mask: Some(SKIP4) },
    Signature { pattern: b"RIFF\x00\x00\x00\x00WAVE", mask: Some(SKIP4) },
    exact(b"\x1A\x45\xDF\xA3"),
    Signature { pattern: b"\x00\x00\x00\x00ftyp", mask: Some(b"\x00\x00\x00\x00\xFF\xFF\xFF\xFF") },
    // Fonts (§6.3).
    exact(b"\x00\x01\x00\x00"),
    // Archives (§6.4), and others of the same kind.
    exact(b"\x1F\x8B\x08"),
    exact(b"PK\x03\x04"),
    exact(b"Rar!\x1A\x07"),
    exact(b"\x28\xB5\x2F\xFD"),
    exact(b"\xFD7zXZ\x00"),
    exact(b"7z\xBC\xAF\x27\x1C"),
    // PDF (§7.1's unknown-type rules).
    exact(b"%PDF-"),
];

/// Byte order marks: text, whatever follows (§7.1).
const BOMS: &[&[u8]] = &[b"\xFE\xFF", b"\xFF\xFE", b"\xEF\xBB\xBF"];

impl Signature {
    fn matches(&self, head: &[u8]) -> bool {
        head.len() >= self.pattern.len()
            && match self.mask {
                None => head.starts_with(self.pattern),
                Some(mask) => self.pattern.iter().zip(mask).zip(head).all(|((p, m), h)| h & m == p & m),
            }
    }
}

/// WHATWG's binary data bytes: control bytes other than tab, line feed,
/// form feed, carriage return and escape.
fn is_binary_byte(b: u8) -> bool {
    matches!(b, 0x00..=0x08 | 0x0B | 0x0E..=0x1A | 0x1C..=0x1F)
}

/// The verdict on a body's first bytes (only the first [`SNIFF_BYTES`]
/// are read). An empty head is text.
pub fn sniff(head: &[u8]) -> Sniffed {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if SIGNATURES.iter().any(|s| s.matches(head)) {
        return Sniffed::Binary;
    }
    if BOMS.iter().any(|bom| head.starts_with(bom)) {
        return Sniffed::Text;
    }
    // ASCII in UTF-16 or UTF-32 without a mark: NULs, but text a JSON
    // reader decodes (RFC 4627 §3), so masked rather than passed.
    if crate::mask::charset::wide_ascii(head).is_some() {
        return Sniffed::Text;
    }
    if head.iter().copied().any(is_binary_byte) { Sniffed::Binary } else { Sniffed::Text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_signatures_are_binary() {
        for head in [
            &b"\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR"[..],
            b"GIF89a",
            b"\xFF\xD8\xFF\xE0\x00\x10JFIF",
            b"RIFF\x24\x08\x00\x00WEBPVP8 ",
            b"RIFF\x24\x08\x00\x00WAVEfmt ",
            b"ID3\x04\x00\x00\x00\x00\x00\x23",
            b"\x00\x00\x00\x18ftypmp42",
            b"wOF2\x00\x01\x00\x00",
            b"PK\x03\x04\x14\x00",
            b"\x1F\x8B\x08\x00",
            b"%PDF-1.7\n",
            b"\x28\xB5\x2F\xFD",
            b"BM\x36\x00\x0C\x00",
        ] {
            assert_eq!(sniff(head), Sniffed::Binary, "{head:?}");
        }
    }

    #[test]
    fn a_signature_cut_short_or_masked_wrongly_is_not_matched() {
        // Four bytes of `RIFF` and nothing else: not WebP, WAVE or AVI.
        assert_eq!(sniff(b"RIFF"), Sniffed::Text);
        assert_eq!(sniff(b"RIFFabcdTEXT"), Sniffed::Text);
        assert_eq!(sniff(b"RIFFabcdWAVE"), Sniffed::Binary);
        assert_eq!(sniff(b"\x89PNG"), Sniffed::Text);
        // Letters a text may start with are not a signature on their own.
        for text in ["BMI and ana@example.com", "ID3 tags", "OTTO wrote", "BZh: ana@example.com"] {
            assert_eq!(sniff(text.as_bytes()), Sniffed::Text, "{text}");
        }
    }

    #[test]
    fn text_is_text_and_a_control_byte_makes_it_binary() {
        assert_eq!(sniff(b""), Sniffed::Text);
        assert_eq!(sniff(b"name,email\nana,ana@example.com\r\n\t\x0C\x1B[0m"), Sniffed::Text);
        assert_eq!(sniff("Grüße, ana@example.com".as_bytes()), Sniffed::Text);
        for b in [0x00u8, 0x01, 0x08, 0x0B, 0x0E, 0x1A, 0x1C, 0x1F] {
            assert_eq!(sniff(&[b'a', b, b'b']), Sniffed::Binary, "{b:#04x}");
        }
        // A byte order mark says text, even before UTF-16's zero bytes.
        assert_eq!(sniff(b"\xFF\xFEa\x00@\x00"), Sniffed::Text);
    }

    #[test]
    fn only_the_first_512_bytes_count() {
        let mut head = vec![b'a'; SNIFF_BYTES];
        head.push(0);
        assert_eq!(sniff(&head), Sniffed::Text);
        head[SNIFF_BYTES - 1] = 0;
        assert_eq!(sniff(&head), Sniffed::Binary);
    }
}
