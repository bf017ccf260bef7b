//! Liveness, readiness, metrics and the OpenAPI description.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde_json::json;

use super::problem::Problem;
use super::AppState;
use crate::tls::PeerIdentity;

pub(super) async fn healthz() -> impl IntoResponse {
    Json(json!({"status": "ok"}))
}

pub(super) async fn readyz(State(gateway): State<AppState>) -> impl IntoResponse {
    match gateway.record.db().ping().await {
        Ok(()) => (
            StatusCode::OK,
            Json(json!({"status": "ready", "policy_revision": gateway.policy().revision()})),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "database unreachable"})),
            )
        }
    }
}

/// Prometheus text for the monitoring role: a client certificate whose OIN is in
/// `metrics.monitoring_oins`. Anyone else gets 403 (logged like every refusal).
pub(super) async fn metrics(
    State(gateway): State<AppState>,
    peer: Option<Extension<Arc<PeerIdentity>>>,
) -> Response {
    if !peer.is_some_and(|Extension(p)| gateway.is_monitoring(&p)) {
        return Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Forbidden",
            "metrics are for the monitoring role: a client certificate whose OIN is in metrics.monitoring_oins",
        )
        .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        gateway.metrics_text(),
    )
        .into_response()
}

pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../openapi.json"),
    )
}
