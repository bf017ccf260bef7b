//! Information items in a case: `POST /v1/cases/{case_id}/information` (contribute), and for
//! the contributing organisation `.../information/{item_id}/correction`, `.../withdrawal` and
//! `GET .../recipients` (GDPR art. 16, 17 and 19). Parse, call
//! [`crate::casework::information`], map errors.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use serde::Deserialize;

use super::casework::{case_id, json_answer, parse_body, text};
use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::casework::information::{
    self, InformationError, NewContribution, MAX_CONTENT, MAX_REASON,
};
use crate::domain::{Category, ItemId, Leefgebied, PersonId};

impl From<InformationError> for Problem {
    fn from(e: InformationError) -> Self {
        match e {
            InformationError::Casework(e) => e.into(),
            InformationError::ItemNotFound { disclosure_id } => Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                "no such information item in this case",
            )
            .logged(Some(disclosure_id)),
            InformationError::NotActive {
                detail,
                disclosure_id,
            } => Problem::new(
                StatusCode::CONFLICT,
                "item-not-active",
                "Information item not active",
                detail,
            )
            .logged(Some(disclosure_id)),
        }
    }
}

pub(super) fn item_id(raw: &str) -> Result<ItemId, Problem> {
    raw.parse()
        .map_err(|e| Problem::bad_request("invalid-item-id", format!("{e}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContributeBody {
    person_id: String,
    leefgebied: String,
    category: String,
    content: String,
    ground: String,
    /// `YYYY-MM-DD`: when the information dates from; absent, the day it is recorded.
    #[serde(default)]
    dates_from: Option<String>,
}

/// The earliest date information may date from (anything before is a typing error).
const EARLIEST_DATES_FROM: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// A `YYYY-MM-DD` date between 1900-01-01 and today (UTC): information cannot date from the
/// future.
fn dates_from(raw: &str, today: NaiveDate) -> Result<NaiveDate, Problem> {
    let invalid = |why: &str| {
        Problem::bad_request(
            "invalid-body",
            format!("dates_from: {why} (a date YYYY-MM-DD from 1900-01-01 up to today)"),
        )
    };
    let date = NaiveDate::parse_from_str(raw, "%Y-%m-%d")
        .ok()
        .filter(|_| raw.len() == 10)
        .ok_or_else(|| invalid("not a date"))?;
    if date > today {
        return Err(invalid("lies in the future"));
    }
    if date < EARLIEST_DATES_FROM {
        return Err(invalid("before 1900"));
    }
    Ok(date)
}

impl ContributeBody {
    fn validate(self) -> Result<NewContribution, Problem> {
        let person_id: PersonId = self
            .person_id
            .parse()
            .map_err(|e| Problem::bad_request("invalid-person-id", format!("person_id: {e}")))?;
        let leefgebied: Leefgebied = self.leefgebied.parse().map_err(|e| {
            Problem::bad_request(
                "invalid-leefgebied",
                format!(
                    "leefgebied: {e} (one of {})",
                    Leefgebied::ALL
                        .iter()
                        .map(|l| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        let category: Category = self.category.parse().map_err(|e| {
            Problem::bad_request(
                "invalid-category",
                format!(
                    "category: {e} (one of {})",
                    Category::ALL
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )
        })?;
        // Whether the ground exists and fits is the policy's question (and logged).
        let ground = self.ground.trim();
        if ground.is_empty()
            || ground.len() > 64
            || !ground
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(Problem::bad_request(
                "invalid-ground",
                "ground must be 1-64 characters of a-z, 0-9 and _ (a key of the convenant's contribution grounds)",
            ));
        }
        Ok(NewContribution {
            person_id,
            leefgebied,
            category,
            content: text("content", &self.content, MAX_CONTENT)?,
            ground: ground.to_string(),
            dates_from: self
                .dates_from
                .as_deref()
                .map(|d| dates_from(d, crate::record::now().date_naive()))
                .transpose()?,
        })
    }
}

/// The body of a contribution, validated.
pub(super) fn parse_contribution(body: &[u8]) -> Result<NewContribution, Problem> {
    parse_body::<ContributeBody>(body)?.validate()
}

/// `POST /v1/cases/{case_id}/information`: a participant contributes an item.
pub(super) async fn contribute(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let c = parse_contribution(&body)?;
    let r = information::contribute(&gateway, &caller, id, &c).await?;
    let decision_id = r.decision_id.clone();
    Ok(json_answer(StatusCode::CREATED, &r, &decision_id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorrectionBody {
    content: String,
    reason: String,
}

/// The body of a correction: the new content and the reason.
pub(super) fn parse_correction(body: &[u8]) -> Result<(String, String), Problem> {
    let b: CorrectionBody = parse_body(body)?;
    Ok((
        text("content", &b.content, MAX_CONTENT)?,
        text("reason", &b.reason, MAX_REASON)?,
    ))
}

/// `POST /v1/cases/{case_id}/information/{item_id}/correction`: the contributor corrects it.
pub(super) async fn correct(
    State(gateway): State<AppState>,
    Path((id, item)): Path<(String, String)>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let item = item_id(&item)?;
    let (content, reason) = parse_correction(&body)?;
    let r = information::correct(&gateway, &caller, id, item, &content, &reason).await?;
    let decision_id = r.decision_id.clone();
    Ok(json_answer(StatusCode::OK, &r, &decision_id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WithdrawalBody {
    reason: String,
}

/// The body of a withdrawal: the reason.
pub(super) fn parse_withdrawal(body: &[u8]) -> Result<String, Problem> {
    let b: WithdrawalBody = parse_body(body)?;
    text("reason", &b.reason, MAX_REASON)
}

/// `POST /v1/cases/{case_id}/information/{item_id}/withdrawal`: the contributor withdraws it.
pub(super) async fn withdraw(
    State(gateway): State<AppState>,
    Path((id, item)): Path<(String, String)>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let item = item_id(&item)?;
    let reason = parse_withdrawal(&body)?;
    let r = information::withdraw(&gateway, &caller, id, item, &reason).await?;
    let decision_id = r.decision_id.clone();
    Ok(json_answer(StatusCode::OK, &r, &decision_id))
}

/// `GET /v1/cases/{case_id}/information/{item_id}/recipients`: who received the item.
pub(super) async fn recipients(
    State(gateway): State<AppState>,
    Path((id, item)): Path<(String, String)>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let item = item_id(&item)?;
    let r = information::read_recipients(&gateway, &caller, id, item).await?;
    let decision_id = r.decision_id.clone();
    Ok(json_answer(StatusCode::OK, &r, &decision_id))
}
