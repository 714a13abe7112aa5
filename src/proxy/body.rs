//! `MaskBody<B>`: an `http_body::Body` that streams another body's data
//! frames through a masking pipeline and yields the masked bytes as they
//! are ready. Trailers pass after the last masked bytes. If the inner body
//! or the pipeline fails, the error is passed on so hyper resets the stream
//! (HTTP/2) or closes the connection before the final chunk (HTTP/1.1): the
//! peer sees a failure, never a short body that looks complete.
//!
//! A body under a content coding or a legacy charset can be found corrupt
//! in its first bytes; [`MaskBody::prime`] reads until its first masked
//! frame before the head is sent, so such a body is refused with a status
//! and a reason rather than cut off with nothing to tell the peer why.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};

use super::BoxError;
use super::pipeline::Pipeline;
use super::sniff::Replay;
use crate::mask::Stats;

/// Called once with the stream's counts when the body ends cleanly.
pub type OnFinish = Box<dyn FnOnce(&Stats) + Send>;

pub struct MaskBody<B> {
    inner: B,
    /// `None` once the inner body has ended and the pipeline finished.
    pipeline: Option<Pipeline>,
    trailers: Option<HeaderMap>,
    on_finish: Option<OnFinish>,
}

#[derive(Debug, thiserror::Error)]
pub enum MaskBodyError {
    #[error("the body's content encoding or charset is corrupt: {0}")]
    Decode(std::io::Error),
}

impl<B> MaskBody<B> {
    pub fn new(inner: B, pipeline: Pipeline, on_finish: Option<OnFinish>) -> MaskBody<B> {
        MaskBody { inner, pipeline: Some(pipeline), trailers: None, on_finish }
    }
}

/// Why a body could not be primed.
#[derive(Debug, thiserror::Error)]
pub enum PrimeError {
    /// The body's bytes do not decode under its codings or charset.
    #[error(transparent)]
    Corrupt(MaskBodyError),
    /// The sender's body failed (reset, idle, over the size limit).
    #[error("the body failed before its first masked bytes: {0}")]
    Inner(BoxError),
}

impl<B> MaskBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    /// Polls until the first masked frame (or the end), and returns a body
    /// that yields that frame first, then the rest. Memory stays what one
    /// frame costs: the pipeline emits output for every piece it is fed.
    pub async fn prime(mut self) -> Result<Replay<MaskBody<B>>, PrimeError> {
        use http_body_util::BodyExt;
        let first = match self.frame().await {
            None => None,
            Some(Ok(frame)) => Some(frame),
            Some(Err(e)) => {
                return Err(match e.downcast::<MaskBodyError>() {
                    Ok(corrupt) => PrimeError::Corrupt(*corrupt),
                    Err(other) => PrimeError::Inner(other),
                });
            }
        };
        Ok(Replay::after(first, self))
    }
}

impl<B> Body for MaskBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        loop {
            let Some(pipeline) = this.pipeline.as_mut() else {
                return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
            };
            // One allocation per frame, handed to hyper without a copy.
            let mut out = Vec::new();
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        out.reserve(data.len() + data.len() / 8 + 64);
                        pipeline.feed(&data, &mut out).map_err(MaskBodyError::Decode)?;
                        // When the inner body knows this was its last frame
                        // (a Content-Length reached, HTTP/2's END_STREAM),
                        // the tail goes out with it and this body reports
                        // its end at once: no poll for a tail frame, and
                        // over HTTP/2 the last DATA frame ends the stream
                        // (no empty one after it).
                        if this.inner.is_end_stream() {
                            this.finish(&mut out)?;
                        }
                    }
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            this.trailers = Some(trailers);
                            this.finish(&mut out)?;
                        }
                    }
                },
                Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
                None => this.finish(&mut out)?,
            }
            if !out.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(Bytes::from(out)))));
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pipeline.is_none() && self.trailers.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl<B> MaskBody<B> {
    /// Flushes the pipeline's last masked bytes into `out` and reports the
    /// stream's counts; the trailers, if any, follow.
    fn finish(&mut self, out: &mut Vec<u8>) -> Result<(), BoxError> {
        let Some(pipeline) = self.pipeline.take() else { return Ok(()) };
        let stats = pipeline.finish(out).map_err(MaskBodyError::Decode)?;
        if let Some(report) = self.on_finish.take() {
            report(&stats);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};

    use http_body_util::BodyExt;

    use super::*;
    use crate::mask::{ContentKind, Masker};
    use crate::proxy::pipeline::{Coding, Codings};

    /// A body that yields the given frames, one per poll.
    struct Frames(VecDeque<Frame<Bytes>>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    /// [`Frames`] that knows its end, as hyper's body does from a
    /// `Content-Length`: it says so once its last frame is taken.
    struct KnownEnd(Frames);

    impl Body for KnownEnd {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Pin::new(&mut self.0).poll_frame(cx)
        }
        fn is_end_stream(&self) -> bool {
            self.0.0.is_empty()
        }
    }

    fn data(chunks: &[&[u8]]) -> Frames {
        Frames(chunks.iter().map(|c| Frame::data(Bytes::copy_from_slice(c))).collect())
    }

    fn mask_body<B>(inner: B, coding: &[Coding], on_finish: Option<OnFinish>) -> MaskBody<B> {
        let masker = Arc::new(Masker::new(&crate::patterns::default_config()).expect("default profile builds"));
        let pipeline =
            Pipeline::new(masker, ContentKind::Json, Some(crate::mask::Charset::Utf8), &Codings::from(coding))
                .expect("pipeline");
        MaskBody::new(inner, pipeline, on_finish)
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
    }

    const BODY: &[u8] = br#"{"email":"ana.lopez@example.com","note":"call +44 20 7946 0958"}"#;
    const MASKED: &[u8] = br#"{"email":"[EMAIL]","note":"call [PHONE]"}"#;

    #[test]
    fn masks_across_frame_boundaries_and_reports_once() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let report: OnFinish = Box::new(move |s: &Stats| sink.lock().expect("lock").push(s.total()));
        let (head, tail) = BODY.split_at(17); // inside the email
        let out = block_on(mask_body(data(&[head, tail]), &[], Some(report)).collect()).expect("ok");
        assert_eq!(out.to_bytes().as_ref(), MASKED);
        assert_eq!(*seen.lock().expect("lock"), vec![2]);
    }

    /// The bytes the stream held back (the phone number the cut runs
    /// through) leave with the last data frame, and the body says it has
    /// ended as soon as that frame is out, so hyper ends the body with it.
    #[test]
    fn the_last_frame_carries_the_held_back_tail_when_the_end_is_known() {
        let (head, tail) = BODY.split_at(BODY.len() - 8);
        for inner in [KnownEnd(data(&[head, tail])), KnownEnd(data(&[BODY]))] {
            let frames = block_on(async {
                let mut body = mask_body(inner, &[], None);
                let mut frames = Vec::new();
                while !body.is_end_stream() {
                    let frame = body.frame().await.expect("a frame before the end").expect("ok");
                    frames.push(frame.into_data().expect("data"));
                }
                assert!(body.frame().await.is_none(), "nothing after the end");
                frames
            });
            assert_eq!(frames.concat(), MASKED);
            assert!(frames.iter().all(|f| !f.is_empty()), "no empty frames");
            assert!(frames.last().expect("frames").ends_with(br#"[PHONE]"}"#), "{frames:?}");
        }
    }

    #[test]
    fn trailers_follow_the_masked_bytes() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        let mut inner = data(&[BODY]);
        inner.0.push_back(Frame::trailers(trailers.clone()));
        let out = block_on(mask_body(inner, &[], None).collect()).expect("ok");
        assert_eq!(out.trailers(), Some(&trailers));
        assert_eq!(out.to_bytes().as_ref(), MASKED);
    }

    #[test]
    fn gzip_is_decoded_masked_and_encoded_again() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(BODY).expect("gzip");
        let gz = enc.finish().expect("gzip");
        let pieces: Vec<&[u8]> = gz.chunks(7).collect();
        let out = block_on(mask_body(data(&pieces), &[Coding::Gzip], None).collect()).expect("ok").to_bytes();
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(out.as_ref()).read_to_end(&mut plain).expect("valid gzip out");
        assert_eq!(plain, MASKED);
    }

    #[test]
    fn corrupt_gzip_is_an_error_not_a_short_body() {
        let result =
            block_on(mask_body(data(&[b"\x1f\x8b\x08\x00garbage-not-deflate"]), &[Coding::Gzip], None).collect());
        assert!(result.is_err());
    }
}
