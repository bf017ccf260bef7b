//! `POST /v1/lookup`: hit/no-hit by BSN (in the body, never in a URL).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::domain::Bsn;
use crate::gateway::Contact;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LookupRequest {
    bsn: String,
}

#[derive(Serialize)]
struct LookupResponse<'a> {
    hit: bool,
    contacts: &'a [Contact],
    decision_id: String,
    policy_revision: &'a str,
}

/// The body of a lookup: the BSN.
pub(super) fn parse_lookup(body: &[u8]) -> Result<Bsn, Problem> {
    let req: LookupRequest = super::json_body::parse(body)?;
    req.bsn
        .parse()
        .map_err(|e| Problem::bad_request("invalid-bsn", format!("{e}")))
}

pub(super) async fn lookup(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let bsn = parse_lookup(&body)?;
    let answer = gateway.lookup(&caller, &bsn).await?;
    let mut res = Json(LookupResponse {
        hit: answer.hit,
        contacts: &answer.contacts,
        decision_id: answer.disclosure_id.to_string(),
        policy_revision: &answer.policy_revision,
    })
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&answer.disclosure_id.to_string()) {
        res.headers_mut().insert("disclosure-id", v);
    }
    Ok(res)
}
