//! Admin API for convenant administrators: policy bundles with four-eyes approval.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::admin::impact::{Baseline, ImpactQuery, MAX_REPLAY};
use crate::admin::{self, AdminError};

/// Maps an administration error to problem+json.
pub(super) fn problem(e: AdminError) -> Response {
    match e {
        AdminError::Invalid(problems) => {
            let mut body = serde_json::json!({
                "type": "urn:vhgate:problem:invalid-bundle",
                "title": "Invalid policy bundle",
                "status": 422,
                "detail": "the bundle failed validation; nothing was proposed",
            });
            body["problems"] = serde_json::json!(problems);
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
                body.to_string(),
            )
                .into_response()
        }
        AdminError::Bundle(detail) => {
            Problem::bad_request("invalid-bundle", detail).into_response()
        }
        AdminError::Signature(e) => {
            Problem::bad_request("invalid-bundle-signature", e.to_string()).into_response()
        }
        AdminError::NotFound(rev) => Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("no bundle {rev}"),
        )
        .into_response(),
        AdminError::Conflict(detail) => {
            Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", detail).into_response()
        }
        AdminError::InvalidChange(problems) => {
            let mut body = serde_json::json!({
                "type": "urn:vhgate:problem:invalid-registry-change",
                "title": "Invalid registry change",
                "status": 422,
                "detail": "the change failed validation; nothing was stored or applied",
            });
            body["problems"] = serde_json::json!(problems);
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                [(axum::http::header::CONTENT_TYPE, "application/problem+json")],
                body.to_string(),
            )
                .into_response()
        }
        AdminError::NoSuchChange(id) => Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!(
                "no registry change {}",
                id.chars().take(64).collect::<String>()
            ),
        )
        .into_response(),
        AdminError::BadRequest(detail) => {
            Problem::bad_request("invalid-request", detail).into_response()
        }
        AdminError::Gateway(e) => Problem::from(e).into_response(),
        AdminError::Store(e) => {
            Problem::from(crate::gateway::GatewayError::Store(e)).into_response()
        }
    }
}

/// `POST /v1/admin/policy-bundles` with the `.tar.gz` as body.
pub(super) async fn propose(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Response {
    match admin::propose(&gateway, &caller, &body).await {
        Ok(record) => (StatusCode::CREATED, Json(record)).into_response(),
        Err(e) => problem(e),
    }
}

/// `GET /v1/admin/policy-bundles`: the history.
pub(super) async fn history(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Response {
    match admin::history(&gateway, &caller).await {
        Ok(records) => Json(records).into_response(),
        Err(e) => problem(e),
    }
}

/// `POST /v1/admin/policy-bundles/{revision}/approve`: a second administrator activates it.
pub(super) async fn approve(
    State(gateway): State<AppState>,
    Path(revision): Path<String>,
    Authenticated(caller): Authenticated,
) -> Response {
    match admin::approve(&gateway, &caller, &revision).await {
        Ok(record) => Json(record).into_response(),
        Err(e) => problem(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RejectRequest {
    reason: String,
}

/// The body of a rejection (of a bundle or a registry change): the reason, checked by the
/// administration layer.
pub(super) fn parse_reject(body: &[u8]) -> Result<String, Problem> {
    super::json_body::parse::<RejectRequest>(body).map(|r| r.reason)
}

/// `POST /v1/admin/policy-bundles/{revision}/reject` with `{"reason": "..."}`.
pub(super) async fn reject(
    State(gateway): State<AppState>,
    Path(revision): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Response {
    let reason = match parse_reject(&body) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    match admin::reject(&gateway, &caller, &revision, &reason).await {
        Ok(record) => Json(record).into_response(),
        Err(e) => problem(e),
    }
}

/// `POST /v1/admin/policy-bundles/{revision}/activate`: roll back to an earlier approved revision.
pub(super) async fn activate(
    State(gateway): State<AppState>,
    Path(revision): Path<String>,
    Authenticated(caller): Authenticated,
) -> Response {
    match admin::reactivate(&gateway, &caller, &revision).await {
        Ok(record) => Json(record).into_response(),
        Err(e) => problem(e),
    }
}

/// Parses `last`, `since`, `until` and `baseline` of an impact preview.
pub(super) fn impact_query(query: Option<&str>) -> Result<ImpactQuery, Problem> {
    let mut q = ImpactQuery::default();
    let invalid = |detail: String| Problem::bad_request("invalid-query", detail);
    let time = |k: &str, v: &str| {
        chrono::DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&chrono::Utc))
            .map_err(|_| invalid(format!("{k} must be an RFC 3339 time")))
    };
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "last" => {
                q.last = Some(
                    value
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_REPLAY).contains(n))
                        .ok_or_else(|| invalid(format!("last must be 1 to {MAX_REPLAY}")))?,
                )
            }
            "since" => q.since = Some(time("since", &value)?),
            "until" => q.until = Some(time("until", &value)?),
            "baseline" => {
                q.baseline = Some(match value.as_ref() {
                    "recorded" => Baseline::Recorded,
                    "active" => Baseline::Active,
                    _ => return Err(invalid("baseline must be recorded or active".into())),
                })
            }
            other => return Err(invalid(format!("unknown query parameter {other}"))),
        }
    }
    Ok(q)
}

/// `GET /v1/admin/policy-bundles/{revision}/impact?last=N|since=&until=&baseline=`: what the
/// bundle would change on recorded decisions (default window: the last seven days).
pub(super) async fn impact(
    State(gateway): State<AppState>,
    Path(revision): Path<String>,
    RawQuery(query): RawQuery,
    Authenticated(caller): Authenticated,
) -> Response {
    let query = match impact_query(query.as_deref()) {
        Ok(q) => q,
        Err(p) => return p.into_response(),
    };
    match admin::impact(&gateway, &caller, &revision, query).await {
        Ok(report) => Json(report).into_response(),
        Err(e) => problem(e),
    }
}
