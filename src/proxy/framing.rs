//! A multipart body is read ahead before its head goes on: its first
//! [`WINDOW`] bytes are masked once, and if piimask cannot read them as
//! their receiver would (its framing, a part's headers or charset), the
//! exchange is refused with a reason (415 for a request, 502 for a
//! response) instead of starting a body it would have to cut. A problem
//! later in a longer body ends the stream with an error, as a corrupt
//! encoding does: the receiver sees a failure, never a short body.

use std::sync::Arc;

use super::pipeline::{Codings, Pipeline};
use super::sniff::Replay;
use super::{BoxError, respond::ProxyBody};
use crate::mask::multipart::MultipartError;
use crate::mask::{Charset, CharsetError, ContentKind, Masker};

/// Bytes of a multipart body read before its head goes on.
pub const WINDOW: usize = 64 * 1024;
/// The read-ahead is masked in pieces of this size (the output of each is
/// dropped): memory stays that of streaming.
const PIECE: usize = 16 * 1024;

/// Reads the start of a multipart body and masks it once: the body to go
/// on with (replaying what was read), or why it is refused.
pub async fn read_ahead(
    masker: Arc<Masker>,
    kind: ContentKind,
    charset: Option<Charset>,
    codings: &Codings,
    body: ProxyBody,
) -> Result<Result<Replay<ProxyBody>, MultipartError>, BoxError> {
    let replay = Replay::read_up_to(body, WINDOW).await?;
    let Ok(mut pipeline) = Pipeline::new(masker, kind, charset, codings) else { return Ok(Ok(replay)) };
    let mut out = Vec::new();
    for piece in replay.head().chunks(PIECE) {
        if let Err(e) = pipeline.feed(piece, &mut out) {
            return Ok(refusal(&e).map_or(Ok(replay), Err));
        }
        out.clear();
    }
    if replay.is_whole()
        && let Err(e) = pipeline.finish(&mut out)
    {
        return Ok(refusal(&e).map_or(Ok(replay), Err));
    }
    Ok(Ok(replay))
}

/// The multipart refusal an error of the pipeline carries, if any. Other
/// errors (a corrupt encoding) are left to the stream.
fn refusal(error: &std::io::Error) -> Option<MultipartError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.get_ref().map(|e| e as _);
    while let Some(e) = source {
        if let Some(CharsetError::Multipart(m)) = e.downcast_ref::<CharsetError>() {
            return Some(*m);
        }
        source = e.source();
    }
    None
}
