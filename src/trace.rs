//! W3C Trace Context for one request. A partner's valid `traceparent` makes the gateway's
//! request span a child of the partner's span (same trace id); without one, or with an invalid
//! one, the gateway starts a trace of its own. Either way the request gets a fresh span id of
//! its own, which the answer names in `traceresponse` (Trace Context Level 2) and every
//! disclosure-log entry the request writes records.

use std::fmt;

use ring::rand::{SecureRandom, SystemRandom};

use crate::disclosure::NewEntry;

/// Trace flags: the trace is recorded (sampled).
const SAMPLED: u8 = 0x01;
/// Trace flags (Level 2): the trace id's right-most seven bytes are random.
const RANDOM_TRACE_ID: u8 = 0x02;

/// A W3C trace id (16 bytes, never all zero); shown as 32 lower-case hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceId([u8; 16]);

/// A W3C span (parent) id (8 bytes, never all zero); shown as 16 lower-case hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpanId([u8; 8]);

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

/// The partner's side of the trace, from its `traceparent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Parent {
    version: u8,
    span_id: SpanId,
}

/// The trace context of one request (or of one piece of work that no request started, such
/// as a console session's step or the demo's seeding): cheap to copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceContext {
    trace_id: TraceId,
    span_id: SpanId,
    parent: Option<Parent>,
    flags: u8,
}

impl TraceContext {
    /// The context of a request that carried `traceparent` (its header value, if any): a child
    /// of the partner's span when the value is valid, else a new trace. Always a new span id.
    pub fn from_traceparent(traceparent: Option<&str>) -> TraceContext {
        match traceparent.and_then(parse) {
            Some((version, trace_id, parent, flags)) => TraceContext {
                trace_id,
                span_id: SpanId(random()),
                parent: Some(Parent {
                    version,
                    span_id: parent,
                }),
                flags,
            },
            None => TraceContext::fresh(),
        }
    }

    /// A new trace: random trace and span ids, sampled (the disclosure log records it).
    pub fn fresh() -> TraceContext {
        let bytes: [u8; 24] = random();
        let mut trace = [0u8; 16];
        let mut span = [0u8; 8];
        trace.copy_from_slice(&bytes[..16]);
        span.copy_from_slice(&bytes[16..]);
        TraceContext {
            trace_id: TraceId(trace),
            span_id: SpanId(span),
            parent: None,
            flags: SAMPLED | RANDOM_TRACE_ID,
        }
    }

    /// The trace id: the partner's, or the one the gateway started.
    pub fn trace_id(&self) -> TraceId {
        self.trace_id
    }

    /// The gateway's own span for this request.
    pub fn span_id(&self) -> SpanId {
        self.span_id
    }

    /// The partner's span that made the request, if it sent a valid `traceparent`.
    pub fn parent_span_id(&self) -> Option<SpanId> {
        self.parent.map(|p| p.span_id)
    }

    /// The partner's `traceparent` as it was received (only a valid one is kept).
    pub fn partner_traceparent(&self) -> Option<String> {
        self.parent.map(|p| {
            format!(
                "{:02x}-{}-{}-{:02x}",
                p.version, self.trace_id, p.span_id, self.flags
            )
        })
    }

    /// The `traceresponse` header value: version 00, the trace id, the gateway's span id and
    /// the trace flags (the partner's, or sampled + random for a trace the gateway started).
    pub fn traceresponse(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.span_id, self.flags)
    }

    /// Records this context in a disclosure-log entry: the partner's `traceparent` as before,
    /// plus the trace id, the gateway's span and the partner's span.
    pub fn record_in(&self, entry: &mut NewEntry) {
        entry.traceparent = self.partner_traceparent();
        entry.trace_id = Some(self.trace_id.to_string());
        entry.span_id = Some(self.span_id.to_string());
        entry.parent_span_id = self.parent_span_id().map(|s| s.to_string());
    }
}

/// W3C trace context `version-traceid-parentid-flags`, lower-case hex; version `ff` and
/// all-zero ids are invalid.
pub fn is_traceparent(v: &str) -> bool {
    parse(v).is_some()
}

/// The trace id and the calling span id of a valid `traceparent`.
pub fn trace_and_parent(traceparent: &str) -> Option<(TraceId, SpanId)> {
    parse(traceparent).map(|(_, trace, parent, _)| (trace, parent))
}

/// `(version, trace id, parent span id, flags)` of a valid `traceparent`.
fn parse(v: &str) -> Option<(u8, TraceId, SpanId, u8)> {
    let mut parts = v.split('-');
    let (version, trace, parent, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let [version] = hex::<1>(version)?;
    let [flags] = hex::<1>(flags)?;
    let trace: [u8; 16] = hex(trace)?;
    let parent: [u8; 8] = hex(parent)?;
    let zero = |b: &[u8]| b.iter().all(|x| *x == 0);
    if version == 0xff || zero(&trace) || zero(&parent) {
        return None;
    }
    Some((version, TraceId(trace), SpanId(parent), flags))
}

/// Exactly `2 * N` lower-case hex digits.
fn hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let s = s.as_bytes();
    if s.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// `N` random bytes, not all zero (ids must not be). The operating system's generator; should
/// it ever fail, the clock and a counter still give distinct ids.
fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    if SystemRandom::new().fill(&mut out).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let mut rng =
            crate::fuzz::engine::Rng::new(nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed));
        for chunk in out.chunks_mut(8) {
            let bytes = rng.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
    if out.iter().all(|b| *b == 0) {
        out[N - 1] = 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTNER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_partner_trace_continues_under_a_new_span() {
        let t = TraceContext::from_traceparent(Some(PARTNER));
        assert_eq!(t.trace_id().to_string(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            t.parent_span_id().map(|s| s.to_string()).as_deref(),
            Some("00f067aa0ba902b7")
        );
        assert_ne!(t.span_id().to_string(), "00f067aa0ba902b7");
        assert_eq!(t.partner_traceparent().as_deref(), Some(PARTNER));
        let response = t.traceresponse();
        assert_eq!(
            response,
            format!("00-4bf92f3577b34da6a3ce929d0e0e4736-{}-01", t.span_id())
        );
        assert!(is_traceparent(&response));
    }

    #[test]
    fn without_a_valid_traceparent_a_new_trace_starts() {
        for bad in [
            None,
            Some(""),
            Some("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xx"),
            Some("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
            Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"),
            Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1"),
        ] {
            let t = TraceContext::from_traceparent(bad);
            assert_eq!(t.parent_span_id(), None, "{bad:?}");
            assert_eq!(t.partner_traceparent(), None, "{bad:?}");
            assert!(t.traceresponse().ends_with("-03"), "{bad:?}");
            assert!(is_traceparent(&t.traceresponse()), "{bad:?}");
        }
        assert_ne!(
            TraceContext::fresh().trace_id(),
            TraceContext::fresh().trace_id()
        );
    }

    #[test]
    fn a_future_version_is_kept_as_received() {
        let v = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
        let t = TraceContext::from_traceparent(Some(v));
        assert_eq!(t.partner_traceparent().as_deref(), Some(v));
        assert!(t
            .traceresponse()
            .starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(t.traceresponse().ends_with("-00"));
    }
}
