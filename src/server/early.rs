//! Answers for requests that never reach the router, in problem+json like every other refusal.
//!
//! hyper refuses some request heads itself: one that does not parse (400), a URI too long
//! (414), headers beyond its read buffer or header count (431). It writes a bare status line
//! (`content-length: 0`) and closes, and no setting changes that answer. A client that takes
//! longer than the header-read timeout to send a head is dropped without any answer.
//!
//! [`EarlyIo`] sits between hyper and the TLS stream. It holds back hyper's bare refusal (and
//! the shutdown after it) and, once hyper has let go of the connection, hands the stream back
//! so that [`answer`] can send the same status as problem+json, or 408 `request-timeout` to a
//! client that had started a request head and not finished it in time. An idle keep-alive
//! connection that times out is closed without an answer: no request was on its way.
//!
//! These refusals come before any request exists (no route, no method, no token), so they are
//! not in the disclosure log, as before; the guard's own limits (32 KiB of headers, 64 KiB of
//! body) sit below hyper's and are logged.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http::StatusCode;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::oneshot;

use crate::api::problem::Problem;

/// How long sending an early answer (and closing) may take: the client may not be reading.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// What the connection saw, handed back with its stream.
#[derive(Debug, Default)]
pub(super) struct Seen {
    /// Bytes received since the gateway last wrote: a request head on its way, if any.
    unanswered: usize,
    /// hyper's bare refusal that was held back (its status).
    refused: Option<u16>,
}

/// The stream as hyper sees it; see the module documentation.
pub(super) struct EarlyIo<S> {
    inner: Option<S>,
    seen: Seen,
    back: Option<oneshot::Sender<(S, Seen)>>,
}

impl<S> EarlyIo<S> {
    /// Wraps `stream`; the receiver gets it back when hyper drops the connection.
    pub(super) fn new(stream: S) -> (Self, oneshot::Receiver<(S, Seen)>) {
        let (tx, rx) = oneshot::channel();
        (
            EarlyIo {
                inner: Some(stream),
                seen: Seen::default(),
                back: Some(tx),
            },
            rx,
        )
    }

    fn inner(&mut self) -> io::Result<&mut S> {
        self.inner
            .as_mut()
            .ok_or_else(|| io::Error::other("connection already handed back"))
    }
}

impl<S> Drop for EarlyIo<S> {
    fn drop(&mut self) {
        if let (Some(stream), Some(back)) = (self.inner.take(), self.back.take()) {
            let _ = back.send((stream, std::mem::take(&mut self.seen)));
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for EarlyIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(self.inner()?).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        self.seen.unanswered = self.seen.unanswered.saturating_add(read);
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EarlyIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if let Some(status) = hyper_refusal(buf) {
            self.seen.refused = Some(status);
            return Poll::Ready(Ok(buf.len()));
        }
        self.seen.unanswered = 0;
        Pin::new(self.inner()?).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(self.inner()?).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.seen.refused.is_some() {
            // Closed after the real answer is out (see `answer`).
            return Poll::Ready(Ok(()));
        }
        Pin::new(self.inner()?).poll_shutdown(cx)
    }

    // One buffer per write: hyper then hands a response head over whole, as `hyper_refusal`
    // needs (and TLS gains nothing from vectored writes).
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// The status of hyper's own refusal, if `buf` is one: a 4xx head alone, with
/// `content-length: 0` and no `content-type`. Every answer of the router has a content type
/// (the guard makes each 4xx problem+json), so only hyper writes such a head.
fn hyper_refusal(buf: &[u8]) -> Option<u16> {
    let head = buf.strip_suffix(b"\r\n\r\n")?;
    if head.windows(4).any(|w| w == b"\r\n\r\n") {
        return None;
    }
    let head = std::str::from_utf8(head).ok()?.to_ascii_lowercase();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()?
        .strip_prefix("http/1.1 ")?
        .get(..3)?
        .parse()
        .ok()?;
    let mut headers = lines.filter_map(|l| l.split_once(':'));
    let bare = headers.all(|(name, value)| {
        name != "content-type" && (name != "content-length" || value.trim() == "0")
    });
    ((400..500).contains(&status) && bare).then_some(status)
}

/// The problem for a refusal of hyper's (or a head that did not arrive in time).
fn problem(status: u16) -> Problem {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    match status {
        StatusCode::REQUEST_TIMEOUT => Problem::request_timeout(),
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => Problem::new(
            status,
            "headers-too-large",
            "Request header fields too large",
            format!(
                "request headers are limited to {} bytes and {} fields",
                crate::api::guard::MAX_HEADER_BYTES,
                super::MAX_HEADERS
            ),
        ),
        StatusCode::URI_TOO_LONG => Problem::new(
            status,
            "uri-too-long",
            "URI too long",
            "the request target is too long; see /openapi.json",
        ),
        _ => Problem::new(
            status,
            "invalid-request",
            "Bad request",
            "the request is not valid HTTP/1.1 (its request line or headers could not be read)",
        ),
    }
}

/// The bytes of `problem` as a complete HTTP/1.1 answer that closes the connection.
fn response_bytes(problem: &Problem) -> Vec<u8> {
    let body = serde_json::to_vec(problem).unwrap_or_else(|_| b"{}".to_vec());
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
    let date = chrono::Utc::now().format("%a, %d %b %Y %H:%M:%S GMT");
    let mut out = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\n\
         connection: close\r\ndate: {date}\r\n\r\n",
        status.as_str(),
        status.canonical_reason().unwrap_or("Client Error"),
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Sends the answer hyper's connection ended without, if there is one, and closes: hyper's
/// held-back refusal, or 408 when the header-read timeout (`timed_out`) cut off a request head
/// that had begun.
pub(super) async fn answer<S: AsyncWrite + Unpin>(mut stream: S, seen: Seen, timed_out: bool) {
    let status = match seen.refused {
        Some(status) => status,
        None if timed_out && seen.unanswered > 0 => StatusCode::REQUEST_TIMEOUT.as_u16(),
        None => return,
    };
    let problem = problem(status);
    tracing::info!(
        status,
        problem = problem.slug(),
        "request refused before routing; answered problem+json"
    );
    let bytes = response_bytes(&problem);
    let _ = tokio::time::timeout(ANSWER_TIMEOUT, async {
        stream.write_all(&bytes).await?;
        stream.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hyper_bare_refusals_are_held_back() {
        let date = "date: Tue, 01 Jan 2030 00:00:00 GMT\r\n";
        let bare = |status: &str| format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\n{date}\r\n");
        assert_eq!(
            hyper_refusal(bare("431 Request Header Fields Too Large").as_bytes()),
            Some(431)
        );
        assert_eq!(hyper_refusal(bare("400 Bad Request").as_bytes()), Some(400));
        assert_eq!(
            hyper_refusal(bare("414 URI Too Long").as_bytes()),
            Some(414)
        );
        // Not a refusal, or an answer of the router's.
        assert_eq!(hyper_refusal(bare("200 OK").as_bytes()), None);
        assert_eq!(
            hyper_refusal(bare("503 Service Unavailable").as_bytes()),
            None
        );
        let problem = "HTTP/1.1 404 Not Found\r\ncontent-type: application/problem+json\r\n\
                       content-length: 0\r\n\r\n";
        assert_eq!(hyper_refusal(problem.as_bytes()), None);
        let with_body = "HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}".to_string();
        assert_eq!(hyper_refusal(with_body.as_bytes()), None);
        let two = format!("{}{}", bare("400 Bad Request"), bare("400 Bad Request"));
        assert_eq!(hyper_refusal(two.as_bytes()), None);
    }

    #[test]
    fn an_early_answer_is_problem_json_that_closes() {
        let bytes = response_bytes(&problem(431));
        let text = String::from_utf8(bytes).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"));
        assert!(head.contains("\r\ncontent-type: application/problem+json\r\n"));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        assert!(head.contains("\r\nconnection: close\r\n"));
        let doc: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(doc["type"], "urn:vhgate:problem:headers-too-large");
        assert_eq!(doc["status"], 431);
        assert_eq!(
            problem(408).problem_type,
            "urn:vhgate:problem:request-timeout"
        );
    }
}
