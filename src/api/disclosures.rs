//! `GET /v1/disclosures`: recent log entries for the privacy officer.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::disclosure::store::LogFilter;
use crate::domain::{Bsn, CaseId, Oin};
use crate::gateway::AccessReport;

#[derive(Serialize)]
pub(super) struct DisclosurePage {
    entries: Vec<serde_json::Value>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<i64>,
}

pub(super) fn parse_filter(query: Option<&str>) -> Result<LogFilter, Problem> {
    let mut f = LogFilter {
        limit: 100,
        ..LogFilter::default()
    };
    let time = |k: &str, v: &str| {
        DateTime::parse_from_rfc3339(v)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                Problem::bad_request("invalid-query", format!("{k} must be an RFC 3339 time"))
            })
    };
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "case_id" => {
                let id: CaseId = value
                    .parse()
                    .map_err(|e| Problem::bad_request("invalid-query", format!("{e}")))?;
                f.case_id = Some(id.0);
            }
            "partner" => {
                let oin: Oin = value
                    .parse()
                    .map_err(|e| Problem::bad_request("invalid-query", format!("partner: {e}")))?;
                f.partner = Some(oin.to_string());
            }
            "since" => f.since = Some(time("since", &value)?),
            "until" => f.until = Some(time("until", &value)?),
            "before" => {
                f.before_seq = Some(value.parse().map_err(|_| {
                    Problem::bad_request("invalid-query", "before must be a number")
                })?)
            }
            "sub" => f.sub = Some(value.into_owned()),
            "purpose" => f.purpose = Some(value.into_owned()),
            "outcome" => {
                if !["allowed", "partial", "denied"].contains(&value.as_ref()) {
                    return Err(Problem::bad_request(
                        "invalid-query",
                        "outcome must be allowed, partial or denied",
                    ));
                }
                f.outcome = Some(value.into_owned())
            }
            "limit" => {
                f.limit = value
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| {
                        Problem::bad_request("invalid-query", "limit must be 1 to 1000")
                    })?
            }
            other => {
                return Err(Problem::bad_request(
                    "invalid-query",
                    format!("unknown query parameter {other}"),
                ))
            }
        }
    }
    Ok(f)
}

pub(super) async fn list(
    State(gateway): State<AppState>,
    RawQuery(query): RawQuery,
    Authenticated(caller): Authenticated,
) -> Result<Json<DisclosurePage>, Problem> {
    let filter = parse_filter(query.as_deref())?;
    let rows = gateway.disclosures(&caller, &filter).await?;
    Ok(Json(page(rows, filter.limit)))
}

/// Body of `POST /v1/disclosures/search`: the query parameters of `GET /v1/disclosures`, plus
/// the subject's BSN (never in a URL).
#[derive(Deserialize)]
pub(super) struct SearchRequest {
    bsn: Option<String>,
    #[serde(flatten)]
    query: std::collections::BTreeMap<String, String>,
}

fn page(rows: Vec<crate::disclosure::store::LogRow>, limit: i64) -> DisclosurePage {
    let next_before = (rows.len() as i64 == limit)
        .then(|| rows.last().map(|r| r.seq))
        .flatten();
    let entries = rows
        .into_iter()
        .map(|r| {
            let mut v: serde_json::Value =
                serde_json::from_str(&r.entry).unwrap_or(serde_json::Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("entry_hash".into(), hex::encode(&r.entry_hash).into());
            }
            v
        })
        .collect();
    DisclosurePage {
        entries,
        next_before,
    }
}

fn parse_bsn(bsn: &str) -> Result<Bsn, Problem> {
    bsn.parse()
        .map_err(|e| Problem::bad_request("invalid-bsn", format!("{e}")))
}

/// The body of a search: the optional BSN and the filter its other members make.
pub(super) fn parse_search(body: &[u8]) -> Result<(Option<Bsn>, LogFilter), Problem> {
    let req: SearchRequest = super::json_body::parse(body)?;
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(req.query.iter())
        .finish();
    let filter = parse_filter(Some(&query))?;
    let bsn = req.bsn.as_deref().map(parse_bsn).transpose()?;
    Ok((bsn, filter))
}

/// `POST /v1/disclosures/search`: like `GET /v1/disclosures`, optionally about one person.
pub(super) async fn search(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Json<DisclosurePage>, Problem> {
    let (bsn, filter) = parse_search(&body)?;
    let rows = match &bsn {
        Some(bsn) => gateway.disclosures_about(&caller, bsn, &filter).await?,
        None => gateway.disclosures(&caller, &filter).await?,
    };
    Ok(Json(page(rows, filter.limit)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccessReportRequest {
    bsn: String,
}

/// The body of an access report request: the subject's BSN.
pub(super) fn parse_access_report(body: &[u8]) -> Result<Bsn, Problem> {
    let req: AccessReportRequest = super::json_body::parse(body)?;
    parse_bsn(&req.bsn)
}

/// `GET` or `POST /v1/subjects/access-report` with `{"bsn": "..."}` in the body.
pub(super) async fn access_report(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<Json<AccessReport>, Problem> {
    let bsn = parse_access_report(&body)?;
    Ok(Json(gateway.access_report(&caller, &bsn).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EmbargoRequest {
    bsn: String,
    /// RFC 3339.
    until: String,
    reason: String,
}

#[derive(Serialize)]
pub(super) struct EmbargoCreated {
    id: String,
    until: String,
}

/// An embargo request, parsed (the range of `until` and the reason are the gateway's checks).
pub(super) struct Embargo {
    pub(super) bsn: Bsn,
    pub(super) until: DateTime<Utc>,
    /// `until` as the caller wrote it, echoed in the answer.
    pub(super) until_text: String,
    pub(super) reason: String,
}

/// The body of an embargo request.
pub(super) fn parse_embargo(body: &[u8]) -> Result<Embargo, Problem> {
    let req: EmbargoRequest = super::json_body::parse(body)?;
    let until = DateTime::parse_from_rfc3339(&req.until)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| Problem::bad_request("invalid-body", "until must be an RFC 3339 time"))?;
    Ok(Embargo {
        bsn: parse_bsn(&req.bsn)?,
        until,
        until_text: req.until,
        reason: req.reason,
    })
}

/// `POST /v1/embargoes`: the calling partner holds its requests about a person back from the
/// person's access report until `until` (art. 41 UAVG).
pub(super) async fn embargo(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
    body: Bytes,
) -> Result<(axum::http::StatusCode, Json<EmbargoCreated>), Problem> {
    let e = parse_embargo(&body)?;
    let id = gateway.embargo(&caller, &e.bsn, e.until, &e.reason).await?;
    Ok((
        axum::http::StatusCode::CREATED,
        Json(EmbargoCreated {
            id: id.to_string(),
            until: e.until_text,
        }),
    ))
}
