//! Why a multipart body is refused: its framing or a part's headers could
//! be read otherwise by its receiver than by piimask, or a part cannot be
//! decoded and encoded again. Each reason is a fixed sentence, never
//! anything taken from the body.

use super::MAX_DEPTH;

/// A multipart body piimask will not pass: masking it could leave a part
/// unread where its receiver reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MultipartError {
    #[error(
        "its boundary parameter is not one piimask reads as receivers do (longer than 70 characters, ending in a space, in RFC 2231 form, or given twice)"
    )]
    Boundary,
    #[error("a boundary line is not read the same way by every receiver (a bare CR, or padding longer than 64)")]
    BoundaryLine,
    #[error("a part's header block is malformed (a line that is not a header, a bare CR, or longer than 16 KiB)")]
    HeaderBlock,
    #[error("a part has more than one {0} header")]
    Repeated(&'static str),
    #[error("a part's Content-Type lists more than one type")]
    SeveralTypes,
    #[error("a part's Content-Transfer-Encoding is not 7bit, 8bit, binary, base64 or quoted-printable")]
    TransferEncoding,
    #[error("a part's name is given twice, or in an RFC 2231 form other than one UTF-8 name*= value")]
    Name,
    #[error("a part is a message/* (an e-mail within the body) or a multipart/digest, which piimask does not read")]
    Message,
    #[error("multipart parts are nested more than {MAX_DEPTH} deep")]
    TooDeep,
    #[error("a part's charset is not one piimask can decode and encode again")]
    UnknownCharset,
    #[error("a part is not valid in its charset, or its masked text has no encoding in it")]
    Transcode,
}

impl MultipartError {
    /// The fixed reason a refusal gives, with its context.
    pub fn reason(self) -> &'static str {
        match self {
            MultipartError::Boundary => {
                "multipart body refused: its boundary parameter is longer than 70 characters, ends in a space, is in RFC 2231 form or is given twice"
            }
            MultipartError::BoundaryLine => {
                "multipart body refused: a boundary line after a bare CR, or padded with more than 64 spaces, reads differently to receivers"
            }
            MultipartError::HeaderBlock => {
                "multipart body refused: a part's header block holds a line that is not a header, a bare CR, or is longer than 16 KiB"
            }
            MultipartError::Repeated("Content-Type") => "multipart body refused: a part has two Content-Type headers",
            MultipartError::Repeated("Content-Transfer-Encoding") => {
                "multipart body refused: a part has two Content-Transfer-Encoding headers"
            }
            MultipartError::Repeated(_) => "multipart body refused: a part has two Content-Disposition headers",
            MultipartError::SeveralTypes => "multipart body refused: a part's Content-Type lists more than one type",
            MultipartError::TransferEncoding => {
                "multipart body refused: a part's Content-Transfer-Encoding is not 7bit, 8bit, binary, base64 or quoted-printable"
            }
            MultipartError::Name => {
                "multipart body refused: a part's name is given twice, or in an RFC 2231 form other than one UTF-8 name*= value"
            }
            MultipartError::Message => {
                "multipart body refused: a message/* part (an e-mail within the body) or a multipart/digest is not read by piimask"
            }
            MultipartError::TooDeep => "multipart body refused: parts are nested more than 4 deep",
            MultipartError::UnknownCharset => {
                "multipart body refused: a part's charset cannot be masked (use UTF-8, UTF-16, UTF-32 or a charset of the WHATWG Encoding Standard)"
            }
            MultipartError::Transcode => {
                "multipart body refused: a part is not valid in its declared charset, or its masked text cannot be encoded in it"
            }
        }
    }
}
