//! The case life cycle (DESIGN.md §1): `POST /v1/cases` (aanmelding, idempotent with an
//! `Idempotency-Key`), its read-back, screening advice and decision, MDO invitations,
//! acceptance, removal, the casusregisseur, closing, read-back of one's own contributions and
//! extending retention. Parse, call [`crate::casework`], map errors.

use std::collections::BTreeSet;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::casework::{
    self, CaseworkError, NewRegistration, ProblemInput, RegisteredPerson, RegisteredPersonView,
    ScreeningOutcome, StepResult, CHAINS, EFFECTS,
};
use crate::domain::{Bsn, CaseId, CaseKind, Leefgebied, Oin, Phase};

impl From<CaseworkError> for Problem {
    fn from(e: CaseworkError) -> Self {
        match e {
            CaseworkError::Gateway(e) => e.into(),
            CaseworkError::IdempotencyConflict { disclosure_id } => {
                Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "idempotency-key-reused",
                    "Idempotency-Key reused",
                    "this Idempotency-Key was already used for a different registration; use a new key for a new registration",
                )
.logged(Some(disclosure_id))
            }
        }
    }
}

pub(super) fn parse_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    super::json_body::parse(body)
}

pub(super) fn case_id(raw: &str) -> Result<CaseId, Problem> {
    raw.parse()
        .map_err(|e| Problem::bad_request("invalid-case-id", format!("{e}")))
}

pub(super) fn oin(raw: &str) -> Result<Oin, Problem> {
    raw.parse()
        .map_err(|e| Problem::bad_request("invalid-oin", format!("{e}")))
}

/// A non-blank text of at most `max` characters, trimmed.
pub(super) fn text(field: &str, value: &str, max: usize) -> Result<String, Problem> {
    let t = value.trim();
    if t.is_empty() || t.chars().count() > max {
        return Err(Problem::bad_request(
            "invalid-body",
            format!("{field} must be 1 to {max} characters"),
        ));
    }
    Ok(t.to_string())
}

/// 1-64 characters of a-z, 0-9 and _.
fn identifier(field: &str, value: &str) -> Result<String, Problem> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return Err(Problem::bad_request(
            "invalid-body",
            format!("{field} must be 1-64 characters of a-z, 0-9 and _"),
        ));
    }
    Ok(value.to_string())
}

/// Adds the `Disclosure-Id` header.
pub(super) fn with_disclosure_id(mut res: Response, id: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(id) {
        res.headers_mut().insert("disclosure-id", v);
    }
    res
}

/// A JSON answer with its `Disclosure-Id` header.
pub(super) fn json_answer<T: Serialize>(
    status: StatusCode,
    body: &T,
    decision_id: &str,
) -> Response {
    with_disclosure_id((status, Json(body)).into_response(), decision_id)
}

fn step_response(r: StepResult) -> Response {
    json_answer(StatusCode::OK, &r, &r.decision_id)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonBody {
    bsn: Option<String>,
    naam: Option<String>,
    geboortedatum: Option<String>,
    relation: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProblemBody {
    leefgebied: String,
    #[serde(default)]
    leads_to: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ChainsBody {
    #[serde(default)]
    involved: Vec<String>,
    #[serde(default)]
    needed: Vec<String>,
    #[serde(default)]
    dwang_en_drang: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SystemBody {
    #[serde(default)]
    family: bool,
    #[serde(default)]
    social_environment: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct AreaBody {
    #[serde(default)]
    serious_safety_problem: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    kind: String,
    region: String,
    title: Option<String>,
    reason: String,
    #[serde(default)]
    adviesvraag: bool,
    persons: Vec<PersonBody>,
    #[serde(default)]
    problems: Vec<ProblemBody>,
    #[serde(default)]
    chains: ChainsBody,
    #[serde(default)]
    system: SystemBody,
    #[serde(default)]
    area: AreaBody,
}

/// A region name: 1-64 characters of a-z, 0-9 and -. Whether it is the convenant's region is
/// the policy's question.
fn region(value: &str) -> Result<String, Problem> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !ok {
        return Err(Problem::bad_request(
            "invalid-body",
            "region must be 1-64 characters of a-z, 0-9 and -",
        ));
    }
    Ok(value.to_string())
}

fn chains(field: &str, list: Vec<String>) -> Result<Vec<String>, Problem> {
    let mut out = Vec::new();
    for c in list {
        if !CHAINS.contains(&c.as_str()) {
            return Err(Problem::bad_request(
                "invalid-body",
                format!(
                    "{field}: unknown chain {c:?} (one of {})",
                    CHAINS.join(", ")
                ),
            ));
        }
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

impl RegisterBody {
    fn validate(self) -> Result<NewRegistration, Problem> {
        let kind: CaseKind = self
            .kind
            .parse()
            .map_err(|e| Problem::bad_request("invalid-body", format!("kind: {e}")))?;
        if self.persons.is_empty() || self.persons.len() > 20 {
            return Err(Problem::bad_request(
                "invalid-body",
                "persons must list 1 to 20 persons",
            ));
        }
        let mut persons = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for (i, p) in self.persons.into_iter().enumerate() {
            let bsn: Option<Bsn> = p
                .bsn
                .as_deref()
                .map(|b| {
                    b.parse().map_err(|e| {
                        Problem::bad_request("invalid-bsn", format!("persons[{i}].bsn: {e}"))
                    })
                })
                .transpose()?;
            if let Some(b) = &bsn {
                if !seen.insert(b.expose().to_string()) {
                    return Err(Problem::bad_request(
                        "invalid-body",
                        format!("persons[{i}]: the same BSN is listed twice"),
                    ));
                }
            }
            let naam = p
                .naam
                .as_deref()
                .map(|n| text(&format!("persons[{i}].naam"), n, 200))
                .transpose()?;
            let geboortedatum = p
                .geboortedatum
                .as_deref()
                .map(|d| {
                    NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| {
                        Problem::bad_request(
                            "invalid-body",
                            format!("persons[{i}].geboortedatum must be YYYY-MM-DD"),
                        )
                    })
                })
                .transpose()?;
            if bsn.is_none() && (naam.is_none() || geboortedatum.is_none()) {
                return Err(Problem::bad_request(
                    "invalid-body",
                    format!("persons[{i}] needs a bsn, or a naam with a geboortedatum"),
                ));
            }
            let relation = identifier(
                &format!("persons[{i}].relation"),
                p.relation.as_deref().unwrap_or("hoofdpersoon"),
            )?;
            persons.push(RegisteredPerson {
                bsn,
                naam,
                geboortedatum,
                relation,
            });
        }
        if self.problems.len() > 50 {
            return Err(Problem::bad_request("invalid-body", "at most 50 problems"));
        }
        let mut problems = Vec::new();
        for (i, p) in self.problems.into_iter().enumerate() {
            let leefgebied: Leefgebied = p.leefgebied.parse().map_err(|e| {
                Problem::bad_request("invalid-leefgebied", format!("problems[{i}]: {e}"))
            })?;
            for effect in &p.leads_to {
                if !EFFECTS.contains(&effect.as_str()) {
                    return Err(Problem::bad_request(
                        "invalid-body",
                        format!(
                            "problems[{i}].leads_to: unknown effect {effect:?} (one of {})",
                            EFFECTS.join(", ")
                        ),
                    ));
                }
            }
            problems.push(ProblemInput {
                leefgebied,
                leads_to: p.leads_to,
            });
        }
        Ok(NewRegistration {
            kind,
            region: region(&self.region)?,
            title: match self.title {
                Some(t) => text("title", &t, 200)?,
                None => format!("aanmelding {}", kind.as_str()),
            },
            reason: text("reason", &self.reason, 2000)?,
            adviesvraag: self.adviesvraag,
            persons,
            problems,
            chains_involved: chains("chains.involved", self.chains.involved)?,
            chains_needed: chains("chains.needed", self.chains.needed)?,
            dwang_en_drang: self.chains.dwang_en_drang,
            family: self.system.family,
            social_environment: self.system.social_environment,
            serious_safety_problem: self.area.serious_safety_problem,
        })
    }
}

/// The `Idempotency-Key` header, if sent: 1 to 200 visible ASCII characters, trimmed.
pub(super) fn idempotency_key(value: Option<&HeaderValue>) -> Result<Option<String>, Problem> {
    let Some(v) = value else { return Ok(None) };
    let k = v
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            Problem::bad_request(
                "invalid-idempotency-key",
                "Idempotency-Key must be 1 to 200 visible ASCII characters",
            )
        })?;
    Ok(Some(k.to_string()))
}

/// The body of `POST /v1/cases`, validated.
pub(super) fn parse_registration(body: &[u8]) -> Result<NewRegistration, Problem> {
    parse_body::<RegisterBody>(body)?.validate()
}

#[derive(Serialize)]
struct RegisteredResponse<'a> {
    case_id: String,
    phase: Phase,
    persons: &'a [RegisteredPersonView],
    repeated: bool,
    decision_id: String,
}

/// `POST /v1/cases`: registers a case (aanmelding).
pub(super) async fn register(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let key = idempotency_key(headers.get("idempotency-key"))?;
    let reg = parse_registration(&body)?;
    let hash = hex::encode(crate::crypto::sha256(&body));
    let idempotency = key.as_deref().map(|k| (k, hash.as_str()));
    let r = casework::register(&gateway, &caller, idempotency, &reg).await?;
    let status = if r.repeated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let decision_id = r.disclosure_id.to_string();
    let mut res = (
        status,
        Json(RegisteredResponse {
            case_id: r.case_id.to_string(),
            phase: r.phase,
            persons: &r.persons,
            repeated: r.repeated,
            decision_id: decision_id.clone(),
        }),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/cases/{}/registration", r.case_id)) {
        res.headers_mut().insert("location", v);
    }
    Ok(with_disclosure_id(res, &decision_id))
}

/// `GET /v1/cases/{case_id}/registration`: the registration read back.
pub(super) async fn read_registration(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let view = casework::read_registration(&gateway, &caller, id).await?;
    Ok(json_answer(StatusCode::OK, &view, &view.decision_id))
}

/// `GET /v1/cases/{case_id}/screening`: the screening advice.
pub(super) async fn screening(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    Ok(step_response(
        casework::screening(&gateway, &caller, id).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    decision: String,
    reason: String,
}

/// `POST /v1/cases/{case_id}/screening/decision`: the procesregisseur's decision.
pub(super) async fn decide_screening(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let (outcome, reason) = parse_screening_decision(&body)?;
    Ok(step_response(
        casework::decide_screening(&gateway, &caller, id, outcome, &reason).await?,
    ))
}

/// The body of a screening decision: the outcome and the trimmed reason.
pub(super) fn parse_screening_decision(body: &[u8]) -> Result<(ScreeningOutcome, String), Problem> {
    let b: DecisionBody = parse_body(body)?;
    let outcome = ScreeningOutcome::parse(&b.decision).ok_or_else(|| {
        Problem::bad_request(
            "invalid-body",
            "decision must be veiligheidshuis_case, advies or terug_naar_keten",
        )
    })?;
    if b.reason.chars().count() > 2000 {
        return Err(Problem::bad_request(
            "invalid-body",
            "reason must be at most 2000 characters",
        ));
    }
    // A blank reason is the policy's to refuse (and log), not the parser's.
    Ok((outcome, b.reason.trim().to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteBody {
    oins: Vec<String>,
}

/// `POST /v1/cases/{case_id}/invitations`: invites partners to the MDO.
pub(super) async fn invite(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let oins = parse_invitation(&body)?;
    Ok(step_response(
        casework::invite(&gateway, &caller, id, &oins).await?,
    ))
}

/// The body of an invitation: 1 to 20 OINs, duplicates dropped.
pub(super) fn parse_invitation(body: &[u8]) -> Result<Vec<Oin>, Problem> {
    let b: InviteBody = parse_body(body)?;
    if b.oins.is_empty() || b.oins.len() > 20 {
        return Err(Problem::bad_request(
            "invalid-body",
            "oins must list 1 to 20 OINs",
        ));
    }
    let mut oins: Vec<Oin> = Vec::new();
    for raw in &b.oins {
        let o = oin(raw)?;
        if !oins.contains(&o) {
            oins.push(o);
        }
    }
    Ok(oins)
}

/// `POST /v1/cases/{case_id}/invitations/accept`: the invited partner joins the table.
pub(super) async fn accept(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    Ok(step_response(
        casework::accept(&gateway, &caller, id).await?,
    ))
}

/// `DELETE /v1/cases/{case_id}/participants/{oin}`: removes a participant.
pub(super) async fn remove(
    State(gateway): State<AppState>,
    Path((id, who)): Path<(String, String)>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let who = oin(&who)?;
    Ok(step_response(
        casework::remove(&gateway, &caller, id, &who).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisseurBody {
    oin: String,
}

/// The body naming the casusregisseur: its OIN.
pub(super) fn parse_casusregisseur(body: &[u8]) -> Result<Oin, Problem> {
    let b: RegisseurBody = parse_body(body)?;
    oin(&b.oin)
}

/// `PUT /v1/cases/{case_id}/casusregisseur`: names the one casusregisseur.
pub(super) async fn set_casusregisseur(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let who = parse_casusregisseur(&body)?;
    Ok(step_response(
        casework::set_casusregisseur(&gateway, &caller, id, &who).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    outcome: String,
    reason: String,
}

/// The body of closing a case: the outcome identifier and the reason.
pub(super) fn parse_close(body: &[u8]) -> Result<(String, String), Problem> {
    let b: CloseBody = parse_body(body)?;
    Ok((
        identifier("outcome", &b.outcome)?,
        text("reason", &b.reason, 2000)?,
    ))
}

/// `POST /v1/cases/{case_id}/close`: closes the case.
pub(super) async fn close(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let (outcome, reason) = parse_close(&body)?;
    Ok(step_response(
        casework::close(&gateway, &caller, id, &outcome, &reason).await?,
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionBody {
    keep_until: String,
    reason: String,
}

/// The body of a retention extension at `now`: a moment in the next ten years and a reason.
pub(super) fn parse_retention(
    body: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(chrono::DateTime<chrono::Utc>, String), Problem> {
    let b: RetentionBody = parse_body(body)?;
    let until = chrono::DateTime::parse_from_rfc3339(&b.keep_until)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| {
            Problem::bad_request("invalid-body", format!("keep_until must be RFC 3339: {e}"))
        })?;
    if until <= now || until > now + chrono::Duration::days(3650) {
        return Err(Problem::bad_request(
            "invalid-body",
            "keep_until must lie in the next ten years",
        ));
    }
    Ok((until, text("reason", &b.reason, 500)?))
}

/// `POST /v1/cases/{case_id}/retention`: keeps a closed case's data longer, with a reason.
pub(super) async fn extend_retention(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let (until, reason) = parse_retention(&body, crate::record::now())?;
    Ok(step_response(
        casework::extend_retention(&gateway, &caller, id, until, &reason).await?,
    ))
}

/// `GET /v1/cases/{case_id}/contributions`: the caller's organisation's own items, read back.
pub(super) async fn own_contributions(
    State(gateway): State<AppState>,
    Path(id): Path<String>,
    Authenticated(caller): Authenticated,
) -> Result<Response, Problem> {
    let id = case_id(&id)?;
    let view = casework::own_contributions(&gateway, &caller, id).await?;
    Ok(json_answer(StatusCode::OK, &view, &view.decision_id))
}
