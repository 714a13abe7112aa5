//! Personal data in header fields. A response forwarded under a masking
//! profile has its header values masked with that profile, and so do the
//! trailers of every body a rule masks, except the structural fields the
//! policy lists (`policy::headers`). Values are read as sent,
//! percent-decoded (`Location`, `Link`, `Set-Cookie`, `filename*=`),
//! through the spellings a body is read through (`&#64;`, fullwidth
//! forms) and through RFC 2047 encoded-words, and a masked value stays a
//! valid header value. A value that is not UTF-8 is
//! scanned and masked as bytes, never passed unscanned.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};
use http_body::{Body, Frame, SizeHint};

use super::body::OnFinish;
use crate::mask::{Form, Masker, ValueMasker};
use crate::policy::response_header_is_structural;

/// What stands in for a masked value that could not be written back as a
/// header value. Unreachable in practice: a replacement only ever adds
/// visible ASCII to bytes that were a valid value.
const UNWRITABLE: HeaderValue = HeaderValue::from_static("[REDACTED]");

/// Masks every non-structural value of `headers` in place (the field name
/// gives context, as a JSON key does) and returns what it counted.
pub fn mask_header_values(masker: &Arc<Masker>, headers: &mut HeaderMap) -> ValueMasker {
    let mut values = ValueMasker::new(masker.clone());
    for (name, value) in headers.iter_mut() {
        if response_header_is_structural(name) {
            continue;
        }
        if let Some(masked) = values.mask(value.as_bytes(), name.as_str().as_bytes(), Form::Header) {
            let sensitive = value.is_sensitive();
            *value = HeaderValue::from_bytes(&masked).unwrap_or(UNWRITABLE);
            value.set_sensitive(sensitive);
        }
    }
    values
}

/// A body whose trailers are masked as response headers are; data frames
/// pass untouched (the body's own plan deals with them). `report` is
/// called once, when trailers arrive, with what they held.
pub struct MaskTrailers<B> {
    inner: B,
    masker: Arc<Masker>,
    report: Option<OnFinish>,
}

impl<B> MaskTrailers<B> {
    pub fn new(inner: B, masker: Arc<Masker>, report: OnFinish) -> MaskTrailers<B> {
        MaskTrailers { inner, masker, report: Some(report) }
    }
}

impl<B> Body for MaskTrailers<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        let frame = match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            other => return Poll::Ready(other),
        };
        let frame = match frame.into_trailers() {
            Ok(mut trailers) => {
                let values = mask_header_values(&this.masker, &mut trailers);
                if let Some(report) = this.report.take()
                    && !values.is_empty()
                {
                    report(&values.stats());
                }
                Frame::trailers(trailers)
            }
            Err(frame) => frame,
        };
        Poll::Ready(Some(Ok(frame)))
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
    use std::collections::VecDeque;
    use std::convert::Infallible;
    use std::sync::Mutex;

    use http_body_util::BodyExt;

    use super::*;
    use crate::mask::Stats;

    fn masker() -> Arc<Masker> {
        Arc::new(Masker::new(&crate::patterns::default_config()).expect("default profile"))
    }

    fn decoded(v: &HeaderValue) -> String {
        form_urlencoded::parse(v.as_bytes()).map(|(k, v)| format!("{k}{v}")).collect()
    }

    #[test]
    fn personal_data_in_headers_is_masked_and_structure_kept() {
        let mut h = HeaderMap::new();
        h.insert("location", HeaderValue::from_static("/users/john.doe%40example.com?tab=1"));
        h.insert("x-user-email", HeaderValue::from_static("john.doe@example.com"));
        h.append("set-cookie", HeaderValue::from_static("email=john.doe%40example.com; Path=/; HttpOnly"));
        h.append("set-cookie", HeaderValue::from_static("sid=abc123; Secure"));
        h.insert("link", HeaderValue::from_static("<mailto:john.doe@example.com>; rel=\"author\""));
        h.insert(
            "content-disposition",
            HeaderValue::from_static("attachment; filename*=UTF-8''card%204111%201111%201111%201111.pdf"),
        );
        h.insert("x-phone", HeaderValue::from_static("+14155552671"));
        // Structural: untouched even where a detector would match.
        h.insert("etag", HeaderValue::from_static("\"4111111111111111\""));
        h.insert("content-type", HeaderValue::from_static("text/plain; charset=utf-8"));
        h.insert("access-control-allow-origin", HeaderValue::from_static("https://a.example.com"));
        let values = mask_header_values(&masker(), &mut h);

        assert_eq!(h["location"], "/users/%5BEMAIL%5D?tab=1");
        assert_eq!(h["x-user-email"], "[EMAIL]");
        let cookies: Vec<_> = h.get_all("set-cookie").iter().collect();
        assert_eq!(cookies, ["email=%5BEMAIL%5D; Path=/; HttpOnly", "sid=abc123; Secure"]);
        assert_eq!(h["link"], "<mailto:[EMAIL]>; rel=\"author\"");
        assert_eq!(h["content-disposition"], "attachment; filename*=UTF-8''card%20%5BCARD%5D.pdf");
        assert_eq!(h["x-phone"], "[PHONE]");
        assert_eq!(h["etag"], "\"4111111111111111\"");
        assert_eq!(h["content-type"], "text/plain; charset=utf-8");
        assert_eq!(h["access-control-allow-origin"], "https://a.example.com");
        for (name, value) in &h {
            let text = decoded(value);
            for planted in ["john.doe@example.com", "4111 1111 1111 1111", "+14155552671"] {
                assert!(name == "etag" || !text.contains(planted), "{name}: {text}");
            }
        }
        let stats = values.stats();
        assert_eq!((stats.count("email"), stats.count("card"), stats.count("phone")), (4, 1, 1));
    }

    #[test]
    fn values_that_are_not_utf8_are_masked_as_bytes() {
        let mut h = HeaderMap::new();
        h.insert("x-note", HeaderValue::from_bytes(b"caf\xe9 ana@example.com \xff").expect("obs-text"));
        mask_header_values(&masker(), &mut h);
        assert_eq!(h["x-note"].as_bytes(), b"caf\xe9 [EMAIL] \xff");
    }

    /// A body that yields the given frames, one per poll.
    struct Frames(VecDeque<Frame<Bytes>>);

    impl Body for Frames {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            Poll::Ready(self.0.pop_front().map(Ok))
        }
    }

    #[test]
    fn trailers_are_masked_and_counted_once() {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert("grpc-message", HeaderValue::from_static("no user ana%40example.com"));
        let body =
            Frames(VecDeque::from([Frame::data(Bytes::from_static(b"ana@example.com")), Frame::trailers(trailers)]));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let report: OnFinish = Box::new(move |s: &Stats| sink.lock().expect("lock").push(s.total()));
        let out = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(MaskTrailers::new(body, masker(), report).collect())
            .expect("ok");
        let trailers = out.trailers().expect("trailers").clone();
        assert_eq!(trailers["grpc-status"], "0");
        assert_eq!(trailers["grpc-message"], "no user %5BEMAIL%5D");
        assert_eq!(out.to_bytes().as_ref(), b"ana@example.com", "data is the body plan's business");
        assert_eq!(*seen.lock().expect("lock"), vec![1]);
    }
}
