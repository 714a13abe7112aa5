//! Lingering close. A connection the proxy closes while its peer is still
//! sending (a request refused for its oversized head, say) has unread
//! bytes, so the kernel answers with a reset, and a reset can destroy the
//! error response before the peer reads it: the client sees a broken
//! connection instead of a 431. So a dropped connection first shuts its
//! sending side, then reads and discards what still arrives, for a short
//! while, before the socket is closed (nginx's `lingering_close`).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// How long a closed connection is drained at most, and how many bytes.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: usize = 1 << 20;

/// A TCP stream that lingers when dropped (see the module docs).
#[derive(Debug)]
pub struct Lingering(Option<TcpStream>);

impl Lingering {
    pub fn new(tcp: TcpStream) -> Lingering {
        Lingering(Some(tcp))
    }

    /// Runs `poll` on the stream (only `drop` takes it, so it is there).
    fn with_tcp<T>(
        self: Pin<&mut Self>,
        poll: impl FnOnce(Pin<&mut TcpStream>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match self.get_mut().0.as_mut() {
            Some(tcp) => poll(Pin::new(tcp)),
            None => Poll::Ready(Err(io::ErrorKind::NotConnected.into())),
        }
    }
}

impl AsyncRead for Lingering {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        self.with_tcp(|tcp| tcp.poll_read(cx, buf))
    }
}

impl AsyncWrite for Lingering {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.with_tcp(|tcp| tcp.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.with_tcp(|tcp| tcp.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.0.as_ref().is_some_and(TcpStream::is_write_vectored)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with_tcp(|tcp| tcp.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.with_tcp(|tcp| tcp.poll_shutdown(cx))
    }
}

impl Drop for Lingering {
    fn drop(&mut self) {
        let Some(tcp) = self.0.take() else {
            return;
        };
        // Outside a runtime (a test tearing down) the socket just closes.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(tcp));
        }
    }
}

/// Sends FIN (the peer reads the response, then the end), then discards
/// what the peer still sends until it closes, for at most [`LINGER_TIME`]
/// and [`LINGER_BYTES`].
async fn drain(mut tcp: TcpStream) {
    let _ = tcp.shutdown().await;
    let mut buf = vec![0; 8 * 1024];
    let discard = async {
        let mut total = 0;
        while total < LINGER_BYTES {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, discard).await;
}
