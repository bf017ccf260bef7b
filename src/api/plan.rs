//! The plan van aanpak: afspraken (`/v1/cases/{case_id}/afspraken`), the afspraken needing
//! attention (`/v1/cases/{case_id}/attention`) and op- en afschalen on the AVE ladder
//! (`/v1/cases/{case_id}/escalation`). Parse, call [`crate::casework::plan`], map errors.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

use super::casework::{case_id, json_answer, oin, parse_body, text};
use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::casework::plan::{self, AfspraakChange, NewAfspraak, PlanError, AVE_LEVELS, STATUSES};

impl From<PlanError> for Problem {
    fn from(e: PlanError) -> Self {
        match e {
            PlanError::Casework(e) => e.into(),
            PlanError::NoSuchAfspraak { disclosure_id } => Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "the case has no such afspraak",
            )
            .logged(Some(disclosure_id)),
            PlanError::SameLevel {
                level,
                disclosure_id,
            } => Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "same-ave-level",
                "Already at this AVE level",
                format!("the case is already at AVE level {level}; op- or afschalen names another level"),
            )
            .logged(Some(disclosure_id)),
        }
    }
}

fn status(value: &str) -> Result<&'static str, Problem> {
    STATUSES
        .iter()
        .find(|s| **s == value)
        .copied()
        .ok_or_else(|| {
            Problem::bad_request(
                "invalid-body",
                format!(
                    "status must be one of {}, not {value:?}",
                    STATUSES.join(", ")
                ),
            )
        })
}

fn date(field: &str, value: &str) -> Result<NaiveDate, Problem> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| Problem::bad_request("invalid-body", format!("{field} must be YYYY-MM-DD")))
}

pub(super) fn afspraak_id(raw: &str) -> Result<uuid::Uuid, Problem> {
    raw.parse()
        .map_err(|e| Problem::bad_request("invalid-afspraak-id", format!("{e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    partner_oin: String,
    action: String,
    due_date: String,
    status: Option<String>,
}

/// The body of a new afspraak, due `today` or later.
pub(super) fn parse_new_afspraak(body: &[u8], today: NaiveDate) -> Result<NewAfspraak, Problem> {
    let b: CreateBody = parse_body(body)?;
    let due = date("due_date", &b.due_date)?;
    if due < today {
        return Err(Problem::bad_request(
            "invalid-body",
            "due_date lies in the past; an afspraak is due today or later",
        ));
    }
    Ok(NewAfspraak {
        partner: oin(&b.partner_oin)?,
        action: text("action", &b.action, 1000)?,
        due,
        status: status(b.status.as_deref().unwrap_or("open"))?,
    })
}

/// `POST /v1/cases/{case_id}/afspraken`: adds an afspraak to the plan van aanpak.
pub(super) async fn create(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let new = parse_new_afspraak(&body, plan::today())?;
    let r = plan::create(&gateway, &caller, id, &new).await?;
    Ok(json_answer(StatusCode::CREATED, &r, &r.decision_id))
}

/// `GET /v1/cases/{case_id}/afspraken`: the plan van aanpak.
pub(super) async fn list(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let r = plan::read(&gateway, &caller, id).await?;
    Ok(json_answer(StatusCode::OK, &r, &r.decision_id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    status: Option<String>,
    due_date: Option<String>,
    note: Option<String>,
}

/// The body of an afspraak update: at least one of status, due date and note.
pub(super) fn parse_afspraak_change(body: &[u8]) -> Result<AfspraakChange, Problem> {
    let b: UpdateBody = parse_body(body)?;
    if b.status.is_none() && b.due_date.is_none() && b.note.is_none() {
        return Err(Problem::bad_request(
            "invalid-body",
            "name at least one of status, due_date and note",
        ));
    }
    Ok(AfspraakChange {
        status: b.status.as_deref().map(status).transpose()?,
        due: b
            .due_date
            .as_deref()
            .map(|d| date("due_date", d))
            .transpose()?,
        note: b
            .note
            .as_deref()
            .map(|n| text("note", n, 2000))
            .transpose()?,
    })
}

/// `PATCH /v1/cases/{case_id}/afspraken/{afspraak_id}`: status, due date, monitoring note.
pub(super) async fn update(
    State(gateway): State<AppState>,
    Path((id, afspraak)): Path<(String, String)>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let afspraak = afspraak_id(&afspraak)?;
    let change = parse_afspraak_change(&body)?;
    let r = plan::update(&gateway, &caller, id, afspraak, &change).await?;
    Ok(json_answer(StatusCode::OK, &r, &r.decision_id))
}

/// `GET /v1/cases/{case_id}/attention`: afspraken that are overdue, stalled or gestagneerd.
pub(super) async fn attention(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let r = plan::attention(&gateway, &caller, id).await?;
    Ok(json_answer(StatusCode::OK, &r, &r.decision_id))
}

/// `GET /v1/attention`: the procesregisseur's list across the region's open cases.
pub(super) async fn region_attention(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let r = plan::region_attention(&gateway, &caller).await?;
    Ok(json_answer(StatusCode::OK, &r, &r.decision_id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EscalationBody {
    level: i64,
    reason: String,
}

/// The shortest reason an escalation is recorded with: a word or two is not a reason.
pub(super) const MIN_REASON: usize = 10;

/// The body of op- or afschalen: an AVE level and a reason of at least [`MIN_REASON`] characters.
pub(super) fn parse_escalation(body: &[u8]) -> Result<(i32, String), Problem> {
    let b: EscalationBody = parse_body(body)?;
    let level = i32::try_from(b.level)
        .ok()
        .filter(|l| AVE_LEVELS.contains(l))
        .ok_or_else(|| {
            Problem::bad_request("invalid-body", "level must be an AVE level, 1 to 4")
        })?;
    let reason = text("reason", &b.reason, 2000)?;
    if reason.chars().count() < MIN_REASON {
        return Err(Problem::bad_request(
            "invalid-body",
            format!("reason must say why, in at least {MIN_REASON} characters"),
        ));
    }
    Ok((level, reason))
}

/// `POST /v1/cases/{case_id}/escalation`: op- or afschalen on the AVE ladder.
pub(super) async fn escalate(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let (level, reason) = parse_escalation(&body)?;
    let r = plan::escalate(&gateway, &caller, id, level, &reason).await?;
    Ok(json_answer(StatusCode::OK, &r, &r.decision_id))
}

/// `GET /v1/cases/{case_id}/escalation`: the AVE level and its history.
pub(super) async fn escalation_history(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let r = plan::escalation_history(&gateway, &caller, id).await?;
    Ok(json_answer(StatusCode::OK, &r, &r.decision_id))
}
