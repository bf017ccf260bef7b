//! `GET /v1/cases/{case_id}/persons/{person_id}`.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tracing::Instrument;

use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::domain::{CaseId, Leefgebied, PersonId};
use crate::gateway::{Contact, ItemView, PersonDisclosure, PersonView};
use crate::policy::{Outcome, Tier, Withheld};

#[derive(Serialize)]
struct DecisionBlock<'a> {
    decision_id: String,
    outcome: Outcome,
    tier: Tier,
    policy_revision: &'a str,
    withheld: &'a [Withheld],
    reasons: &'a [String],
    obligations: &'a [String],
}

#[derive(Serialize)]
struct PersonResponse<'a> {
    case_id: String,
    person_id: String,
    relation: &'a str,
    person: &'a PersonView,
    information: &'a [ItemView],
    decision: DecisionBlock<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    spoed_review: Option<&'a crate::spoed::ReviewTicket>,
    /// Whom to contact about the case: procesregie and the casusregisseur.
    contacts: &'a [Contact],
}

/// Parses `?leefgebieden=wonen,justitie` (also repeated keys); other keys are refused.
pub(super) fn parse_leefgebieden(query: Option<&str>) -> Result<Option<Vec<Leefgebied>>, Problem> {
    let Some(query) = query else { return Ok(None) };
    let mut out: Option<Vec<Leefgebied>> = None;
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if key != "leefgebieden" {
            return Err(Problem::bad_request(
                "invalid-query",
                format!("unknown query parameter {key}"),
            ));
        }
        for part in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let l: Leefgebied = part
                .parse()
                .map_err(|e| Problem::bad_request("invalid-leefgebied", format!("{e}")))?;
            let list = out.get_or_insert_with(Vec::new);
            if !list.contains(&l) {
                list.push(l);
            }
        }
    }
    Ok(out)
}

pub(super) async fn read_person(
    State(gateway): State<AppState>,
    Path((case_id, person_id)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let case_id: CaseId = case_id
        .parse()
        .map_err(|e| Problem::bad_request("invalid-case-id", format!("{e}")))?;
    let person_id: PersonId = person_id
        .parse()
        .map_err(|e| Problem::bad_request("invalid-person-id", format!("{e}")))?;
    let leefgebieden = parse_leefgebieden(query.as_deref())?;
    let span = tracing::info_span!("read_person", case_id = %case_id, oin = %caller.partner.oin, decision_id = tracing::field::Empty);
    let d: PersonDisclosure = gateway
        .read_person(&caller, case_id, person_id, leefgebieden)
        .instrument(span.clone())
        .await?;
    span.record("decision_id", tracing::field::display(&d.disclosure_id));
    let body = PersonResponse {
        case_id: d.case_id.to_string(),
        person_id: d.person_id.to_string(),
        relation: &d.relation,
        person: &d.person,
        information: &d.items,
        decision: DecisionBlock {
            decision_id: d.disclosure_id.to_string(),
            outcome: d.decision.outcome(),
            tier: d.decision.tier,
            policy_revision: &d.policy_revision,
            withheld: &d.decision.withheld,
            reasons: &d.decision.reasons,
            obligations: &d.decision.obligations,
        },
        spoed_review: d.spoed_review.as_ref(),
        contacts: &d.contacts,
    };
    let mut res = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&d.disclosure_id.to_string()) {
        res.headers_mut().insert("disclosure-id", v);
    }
    Ok(res)
}
