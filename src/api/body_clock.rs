//! A deadline on receiving a request's body (`server.request_timeout_ms`). A client that sends
//! its headers and then trickles the body (or stops) would otherwise hold the handler until
//! the request deadline, and hear 503 `storage-unavailable`, which blames the gateway. Its
//! body fails at the deadline instead, and the guard answers 408 `request-timeout` (and logs
//! the refusal, as every other one).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use http_body::{Frame, SizeHint};
use tokio::time::Sleep;

/// How a request's body is coming in; shared by its [`TimedBody`] and the guard.
#[derive(Debug, Default)]
pub(crate) struct BodyClock {
    complete: AtomicBool,
    expired: AtomicBool,
}

impl BodyClock {
    /// The whole body has arrived (or there was none).
    pub(crate) fn complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// The deadline passed while the body was still arriving.
    pub(crate) fn expired(&self) -> bool {
        self.expired.load(Ordering::Acquire)
    }
}

/// Gives `req`'s body a deadline of `limit` from now; the clock is in the request's
/// extensions and returned.
pub(crate) fn start(req: Request, limit: Duration) -> (Request, Arc<BodyClock>) {
    let clock = Arc::new(BodyClock::default());
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(clock.clone());
    clock
        .complete
        .store(body.is_end_stream(), Ordering::Release);
    let body = Body::new(TimedBody {
        inner: body,
        deadline: Box::pin(tokio::time::sleep(limit)),
        clock: clock.clone(),
    });
    (Request::from_parts(parts, body), clock)
}

/// A body that fails once its deadline passes before its end.
struct TimedBody {
    inner: Body,
    deadline: Pin<Box<Sleep>>,
    clock: Arc<BodyClock>,
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(None) => {
                this.clock.complete.store(true, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => {
                if this.inner.is_end_stream() {
                    this.clock.complete.store(true, Ordering::Release);
                }
                Poll::Ready(Some(frame))
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    this.clock.expired.store(true, Ordering::Release);
                    Poll::Ready(Some(Err(axum::Error::new(
                        "the request body did not arrive in time",
                    ))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
