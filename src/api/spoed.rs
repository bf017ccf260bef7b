//! `GET /v1/spoed-reviews` and `POST /v1/spoed-reviews/{id}/review`: the privacy officer's
//! review of break-glass (spoed) reads.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::spoed::{ReviewView, Verdict};

#[derive(Serialize)]
pub(super) struct ReviewList {
    state: &'static str,
    reviews: Vec<ReviewView>,
}

/// Parses `?state=open|overdue|reviewed|all` (default open); other keys are refused.
pub(super) fn parse_state(query: Option<&str>) -> Result<crate::spoed::State, Problem> {
    let mut state = crate::spoed::State::Open;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key != "state" {
            return Err(Problem::bad_request(
                "invalid-query",
                format!("unknown query parameter {key}"),
            ));
        }
        state = crate::spoed::State::parse(&value).ok_or_else(|| {
            Problem::bad_request(
                "invalid-query",
                "state must be open, overdue, reviewed or all",
            )
        })?;
    }
    Ok(state)
}

/// `GET /v1/spoed-reviews`: the break-glass reads in a state, oldest due first.
pub(super) async fn list(
    State(gateway): State<AppState>,
    RawQuery(query): RawQuery,
    Authenticated(caller): Authenticated,
) -> Result<Json<ReviewList>, Problem> {
    let state = parse_state(query.as_deref())?;
    let reviews = crate::spoed::reviews(&gateway, &caller, state, crate::record::now()).await?;
    Ok(Json(ReviewList {
        state: state.name(),
        reviews,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewRequest {
    verdict: Verdict,
}

/// The body of a review: the verdict.
pub(super) fn parse_review(body: &[u8]) -> Result<Verdict, Problem> {
    let req: ReviewRequest = super::casework::parse_body(body)?;
    Ok(req.verdict)
}

/// `POST /v1/spoed-reviews/{id}/review` with `{"verdict": "justified" | "unjustified"}`.
pub(super) async fn review(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Json<ReviewView>, Problem> {
    let id: uuid::Uuid = id
        .parse()
        .map_err(|_| Problem::bad_request("invalid-review-id", "the review id is not a UUID"))?;
    let verdict = parse_review(&body)?;
    Ok(Json(
        crate::spoed::review(&gateway, &caller, id, verdict).await?,
    ))
}
