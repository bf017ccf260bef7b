//! `GET /v1/signals`: aggregate, non-personal signalling figures (purpose signalering).

use axum::extract::{RawQuery, State};
use axum::Json;
use chrono::NaiveDate;

use super::problem::Problem;
use super::{AppState, Authenticated};
use crate::signals::{Granularity, SignalsQuery, SignalsReport};

/// `YYYY-MM-DD`, or `YYYY-MM` for the first of that month.
fn date(key: &str, value: &str) -> Result<NaiveDate, Problem> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(&format!("{value}-01"), "%Y-%m-%d"))
        .map_err(|_| {
            Problem::bad_request(
                "invalid-query",
                format!("{key} must be YYYY-MM-DD or YYYY-MM"),
            )
        })
}

pub(super) fn parse(query: Option<&str>) -> Result<SignalsQuery, Problem> {
    let mut q = SignalsQuery {
        region: None,
        granularity: Granularity::Month,
        from: None,
        until: None,
    };
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "region" => {
                // An exact region name, never a pattern.
                let ok = !value.is_empty()
                    && value.len() <= 64
                    && value.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                    });
                if !ok {
                    return Err(Problem::bad_request(
                        "invalid-query",
                        "region must be 1 to 64 characters a-z, 0-9, - or _",
                    ));
                }
                q.region = Some(value.into_owned());
            }
            "period" => {
                q.granularity = value.parse().map_err(|e: crate::signals::SignalsError| {
                    Problem::bad_request("invalid-query", e.to_string())
                })?
            }
            "from" => q.from = Some(date("from", &value)?),
            "until" => q.until = Some(date("until", &value)?),
            other => {
                return Err(Problem::bad_request(
                    "invalid-query",
                    format!("unknown query parameter {other}"),
                ))
            }
        }
    }
    Ok(q)
}

pub(super) async fn signals(
    State(gateway): State<AppState>,
    Authenticated(caller): Authenticated,
    RawQuery(query): RawQuery,
) -> Result<Json<SignalsReport>, Problem> {
    let query = parse(query.as_deref())?;
    Ok(Json(gateway.signals(&caller, &query).await?))
}
