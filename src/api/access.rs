//! The outermost layer of every request: its W3C trace context (a child of the partner's
//! `traceparent`, or a new trace), the `request` span every log line inside it carries, the
//! `traceresponse` header, one access-log line and the request metrics. It sits outside the
//! request deadline, so a timed-out request is observed too.
//!
//! Only the route template (`unmatched` for none), the method, the status, the partner OIN
//! from the client certificate and the partner type of a verified token are recorded: never
//! the raw path or query, which may hold a BSN.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use super::guard::{method_name, CallerSlot};
use crate::logging::ACCESS_TARGET;
use crate::telemetry;
use crate::tls::PeerIdentity;
use crate::trace::TraceContext;

/// The route label of a request no route matched.
const UNMATCHED: &str = "unmatched";

/// Middleware on every route and the fallback (see [`super::service`]).
pub(crate) async fn observe(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req.extensions().get::<MatchedPath>().cloned();
    let route = route.as_ref().map_or(UNMATCHED, MatchedPath::as_str);
    let method = method_name(req.method());
    let trace = TraceContext::from_traceparent(
        req.headers()
            .get("traceparent")
            .and_then(|v| v.to_str().ok()),
    );
    let peer = req.extensions().get::<Arc<PeerIdentity>>().cloned();
    let oin = peer.as_deref().and_then(|p| p.oin.as_deref());
    let slot = CallerSlot::default();
    req.extensions_mut().insert(trace);
    req.extensions_mut().insert(slot.clone());
    let span = tracing::info_span!(
        "request",
        method,
        route,
        oin,
        trace_id = %trace.trace_id(),
        span_id = %trace.span_id(),
    );
    let mut res = next.run(req).instrument(span.clone()).await;
    if let Ok(v) = HeaderValue::from_str(&trace.traceresponse()) {
        res.headers_mut().insert("traceresponse", v);
    }
    let elapsed = started.elapsed();
    let status = res.status().as_u16();
    slot.with_partner_type(|partner_type| {
        telemetry::record_request(
            route,
            method,
            status,
            partner_type.unwrap_or(telemetry::NO_PARTNER),
            elapsed,
        )
    });
    let decision_id = res
        .headers()
        .get("disclosure-id")
        .and_then(|v| v.to_str().ok());
    span.in_scope(|| {
        tracing::info!(
            target: ACCESS_TARGET,
            method,
            route,
            status,
            // Whole microseconds, so the number prints short.
            duration_ms = elapsed.as_micros() as f64 / 1000.0,
            decision_id,
            oin,
            trace_id = %trace.trace_id(),
            span_id = %trace.span_id(),
            parent_span_id = trace.parent_span_id().map(tracing::field::display),
            traceparent = trace.partner_traceparent(),
            "answered"
        )
    });
    res
}
