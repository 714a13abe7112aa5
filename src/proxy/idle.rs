//! `IdleTimeout<B>`: a body that fails when its source goes quiet. A peer
//! that stops sending mid-body (an upstream that stalls after its head, a
//! client that trickles nothing) would otherwise hold both connections
//! forever. The clock runs only while the body is waited on and has
//! nothing: a slow reader downstream never counts against the source.
//! The error makes hyper reset the stream, so a cut-off body never looks
//! complete.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

use super::BoxError;

#[derive(Debug, thiserror::Error)]
#[error("the body's sender was idle for {0:?}")]
pub struct BodyIdle(pub Duration);

pin_project_lite::pin_project! {
    pub struct IdleTimeout<B> {
        #[pin]
        inner: B,
        // Boxed, so the body is `Unpin` when its source is (`MaskBody`
        // wants that); one allocation per body.
        sleep: Pin<Box<Sleep>>,
        timeout: Duration,
        // Whether `sleep` is set for the current wait.
        armed: bool,
    }
}

impl<B> IdleTimeout<B> {
    pub fn new(inner: B, timeout: Duration) -> IdleTimeout<B> {
        IdleTimeout { inner, sleep: Box::pin(tokio::time::sleep(timeout)), timeout, armed: false }
    }
}

impl<B> Body for IdleTimeout<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let this = self.project();
        if let Poll::Ready(frame) = this.inner.poll_frame(cx) {
            *this.armed = false;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if !*this.armed {
            // The wait starts now, not at the last frame: time the reader
            // spent elsewhere is not the sender's.
            this.sleep.as_mut().reset(Instant::now() + *this.timeout);
            *this.armed = true;
        }
        ready!(this.sleep.as_mut().poll(cx));
        Poll::Ready(Some(Err(Box::new(BodyIdle(*this.timeout)))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use http_body_util::channel::Channel;

    #[tokio::test(start_paused = true)]
    async fn a_quiet_sender_fails_the_body_and_a_slow_reader_does_not() {
        let (mut tx, body) = Channel::<Bytes, BoxError>::new(4);
        let mut body = std::pin::pin!(IdleTimeout::new(body, Duration::from_secs(5)));
        tx.send_data(Bytes::from_static(b"one")).await.unwrap();
        // The reader comes back long after the frame was sent: still fine.
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert_eq!(body.frame().await.unwrap().unwrap().into_data().unwrap(), "one");
        // Then the sender goes quiet for longer than the timeout.
        let waited = Instant::now();
        let err = body.frame().await.unwrap().unwrap_err();
        assert!(err.is::<BodyIdle>(), "{err}");
        assert_eq!(waited.elapsed(), Duration::from_secs(5));
        drop(tx);
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_sender_is_never_cut() {
        let (mut tx, body) = Channel::<Bytes, BoxError>::new(1);
        let sender = tokio::spawn(async move {
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_secs(4)).await;
                tx.send_data(Bytes::from_static(b"x")).await.unwrap();
            }
        });
        let collected = IdleTimeout::new(body, Duration::from_secs(5)).collect().await.unwrap().to_bytes();
        assert_eq!(collected.len(), 10);
        sender.await.unwrap();
    }
}
