//! Admin API for the partner registry: change requests with four-eyes approval, and the
//! registry as administrators see it.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use super::admin::{impact_query, parse_reject, problem};
use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::admin::registry::{self, ChangeRequest};

/// `GET /v1/admin/registry`: partners, keys, certificate constraints and the convenant's
/// registers (read-only).
pub(super) async fn view(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Response {
    match registry::view(&gateway, &caller).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => problem(e),
    }
}

/// The body of a registry change proposal (validated against the registry by the
/// administration layer).
pub(super) fn parse_change_request(body: &[u8]) -> Result<ChangeRequest, Problem> {
    super::json_body::parse(body)
}

/// `POST /v1/admin/registry/changes` with `{"changes": [...], "note": "..."}`.
pub(super) async fn propose(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Response {
    let request = match parse_change_request(&body) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    match registry::propose(&gateway, &caller, request).await {
        Ok(record) => (StatusCode::CREATED, Json(record)).into_response(),
        Err(e) => problem(e),
    }
}

/// `GET /v1/admin/registry/changes`: every change request with its decision.
pub(super) async fn history(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Response {
    match registry::history(&gateway, &caller).await {
        Ok(records) => Json(records).into_response(),
        Err(e) => problem(e),
    }
}

/// `POST /v1/admin/registry/changes/{id}/approve`: a second administrator applies it.
pub(super) async fn approve(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
) -> Response {
    match registry::approve(&gateway, &caller, &id).await {
        Ok(record) => Json(record).into_response(),
        Err(e) => problem(e),
    }
}

/// `POST /v1/admin/registry/changes/{id}/reject` with `{"reason": "..."}`.
pub(super) async fn reject(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Response {
    let reason = match parse_reject(&body) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    match registry::reject(&gateway, &caller, &id, &reason).await {
        Ok(record) => Json(record).into_response(),
        Err(e) => problem(e),
    }
}

/// `GET /v1/admin/registry/changes/{id}/impact?last=N|since=&until=&baseline=`: what the
/// change would decide differently on recorded requests (default window: the last seven
/// days; default baseline: the policy in force on the same requests).
pub(super) async fn impact(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    Authenticated(caller): Authenticated,
) -> Response {
    let query = match impact_query(query.as_deref()) {
        Ok(q) => q,
        Err(p) => return p.into_response(),
    };
    match crate::admin::registry_impact::impact(&gateway, &caller, &id, query).await {
        Ok(report) => Json(report).into_response(),
        Err(e) => problem(e),
    }
}
