//! `GET /v1/disclosures`: recent log entries for the privacy officer.

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::disclosure::store::LogFilter;
use crate::domain::{CaseId, Oin};

#[derive(Serialize)]
pub(super) struct DisclosurePage {
    entries: Vec<serde_json::Value>,
    /// Pass as `before` to get the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_before: Option<i64>,
}

fn parse_filter(query: Option<&str>) -> Result<LogFilter, Problem> {
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
    let next_before = (rows.len() as i64 == filter.limit)
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
    Ok(Json(DisclosurePage {
        entries,
        next_before,
    }))
}
