//! The first bytes of a body, read before its plan is decided (a body
//! with no type, or `application/octet-stream`, is judged by them; an
//! XML or HTML document may name its charset in them), and the body that
//! replays them (or a first frame read ahead for another reason) before
//! the rest. At most one read past the
//! sniffing window is held: memory stays bounded by a frame.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::HeaderMap;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;

use super::BoxError;
use crate::policy::sniff::SNIFF_BYTES;

/// A body whose first bytes have been read: they come out first, then
/// the rest of the inner body (or its trailers, if it had ended).
pub struct Replay<B> {
    head: Bytes,
    /// `None` once the inner body has ended during the read.
    inner: Option<B>,
    trailers: Option<HeaderMap>,
}

impl<B> Replay<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    /// Reads from `inner` until [`SNIFF_BYTES`] have come or it ends.
    pub async fn read(inner: B) -> Result<Replay<B>, BoxError> {
        Replay::read_up_to(inner, SNIFF_BYTES).await
    }

    /// Reads from `inner` until `limit` bytes have come or it ends.
    pub async fn read_up_to(mut inner: B, limit: usize) -> Result<Replay<B>, BoxError> {
        let mut head = Vec::new();
        let mut trailers = None;
        let mut ended = inner.is_end_stream();
        while !ended && head.len() < limit {
            match inner.frame().await {
                None => ended = true,
                Some(Err(e)) => return Err(e.into()),
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => {
                        head.extend_from_slice(&data);
                        ended = inner.is_end_stream();
                    }
                    Err(frame) => {
                        trailers = frame.into_trailers().ok();
                        ended = true;
                    }
                },
            }
        }
        Ok(Replay { head: Bytes::from(head), inner: (!ended).then_some(inner), trailers })
    }

    /// A body that yields `first` (a frame already read from `rest`),
    /// then the rest.
    pub fn after(first: Option<Frame<Bytes>>, rest: B) -> Replay<B> {
        match first.map(Frame::into_data) {
            Some(Ok(head)) => Replay { head, inner: Some(rest), trailers: None },
            Some(Err(frame)) => Replay { head: Bytes::new(), inner: None, trailers: frame.into_trailers().ok() },
            None => Replay { head: Bytes::new(), inner: None, trailers: None },
        }
    }

    /// Whether the body ended within the bytes read.
    pub fn ended(&self) -> bool {
        self.inner.is_none()
    }

    /// The bytes read so far.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// Whether the head is the whole body.
    pub fn is_whole(&self) -> bool {
        self.inner.is_none()
    }
}

impl<B> Body for Replay<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if !this.head.is_empty() {
            return Poll::Ready(Some(Ok(Frame::data(std::mem::take(&mut this.head)))));
        }
        match &mut this.inner {
            Some(inner) => Pin::new(inner).poll_frame(cx).map_err(Into::into),
            None => Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_empty()
            && match &self.inner {
                Some(inner) => inner.is_end_stream(),
                None => self.trailers.is_none(),
            }
    }

    fn size_hint(&self) -> SizeHint {
        let head = self.head.len() as u64;
        let Some(inner) = &self.inner else { return SizeHint::with_exact(head) };
        let rest = inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + head);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + head);
        }
        hint
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use http_body_util::{Full, StreamBody};

    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().expect("runtime").block_on(f)
    }

    fn frames(chunks: Vec<Frame<Bytes>>) -> impl Body<Data = Bytes, Error = Infallible> + Unpin {
        StreamBody::new(futures_iter(chunks.into_iter().map(Ok)))
    }

    fn futures_iter<I: Iterator + Unpin>(iter: I) -> Iter<I> {
        Iter(iter)
    }

    struct Iter<I>(I);

    impl<I: Iterator + Unpin> futures_core::Stream for Iter<I> {
        type Item = I::Item;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<I::Item>> {
            Poll::Ready(self.0.next())
        }
    }

    #[test]
    fn the_head_is_read_then_replayed_with_the_rest_and_the_trailers() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        let body: Vec<u8> = (0..2000u32).map(|i| (i % 251) as u8).collect();
        let mut chunks: Vec<Frame<Bytes>> = body.chunks(100).map(|c| Frame::data(Bytes::copy_from_slice(c))).collect();
        chunks.push(Frame::trailers(trailers.clone()));
        let collected = block_on(async {
            let replay = Replay::read(frames(chunks)).await.expect("read");
            assert_eq!(replay.head(), &body[..SNIFF_BYTES + 88], "whole frames up to the window");
            replay.collect().await.expect("body")
        });
        assert_eq!(collected.trailers(), Some(&trailers));
        assert_eq!(collected.to_bytes().as_ref(), body.as_slice());
    }

    #[test]
    fn a_short_body_is_read_whole_and_knows_its_size() {
        let (replay, bytes) = block_on(async {
            let replay = Replay::read(Full::new(Bytes::from_static(b"short"))).await.expect("read");
            assert_eq!(replay.size_hint().exact(), Some(5));
            assert!(!replay.is_end_stream());
            let head = replay.head().to_vec();
            (head, replay.collect().await.expect("body").to_bytes())
        });
        assert_eq!((replay.as_slice(), bytes.as_ref()), (&b"short"[..], &b"short"[..]));
    }
}
