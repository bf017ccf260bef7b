//! Exports of log entries in standard shapes, so existing tooling can read them:
//! Logboek Dataverwerkingen 1.0 records ([`ldv`]) and OPA decision-log events ([`opa`]). Both
//! are derived from the hashed entry; a data subject stays a keyed pseudonym.

pub mod ldv;
pub mod opa;

use super::NewEntry;

/// The W3C trace identity of the request that wrote an entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceIds {
    /// 32 lower-case hex.
    pub trace_id: String,
    /// The gateway's span for the request (16 lower-case hex).
    pub span_id: String,
    /// The partner's calling span (16 hex), when it sent a `traceparent`.
    pub foreign_span_id: Option<String>,
    /// The partner's trace id (the same trace, continued by the gateway).
    pub foreign_trace_id: Option<String>,
}

impl TraceIds {
    /// The ids the entry recorded. Entries written before the gateway recorded its own span
    /// get ids derived from the entry id (stable across exports), and the partner's trace from
    /// its `traceparent`.
    pub fn of(entry: &NewEntry) -> TraceIds {
        let id = entry.id.simple().to_string();
        let partner = entry
            .traceparent
            .as_deref()
            .and_then(crate::trace::trace_and_parent);
        let trace_id = entry
            .trace_id
            .clone()
            .or_else(|| partner.map(|(t, _)| t.to_string()))
            .unwrap_or_else(|| id.clone());
        let span_id = entry
            .span_id
            .clone()
            .unwrap_or_else(|| id[16..32].to_string());
        let foreign_span_id = entry
            .parent_span_id
            .clone()
            .or_else(|| partner.map(|(_, s)| s.to_string()));
        let foreign_trace_id = foreign_span_id.as_ref().map(|_| {
            partner
                .map(|(t, _)| t.to_string())
                .unwrap_or_else(|| trace_id.clone())
        });
        TraceIds {
            trace_id,
            span_id,
            foreign_span_id,
            foreign_trace_id,
        }
    }
}

/// Unix milliseconds of an RFC 3339 time (0 if it does not parse, which verify would flag).
fn millis(time: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}
