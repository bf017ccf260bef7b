//! Aggregates of the disclosure log for the privacy officers' overview: requests per day and
//! outcome, the busiest partners and purposes. Computed in the database (GROUP BY over the
//! time index), for both SQLite and PostgreSQL, optionally limited to one organisation's
//! entries (its requests and the disclosures of data it contributed).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::Event;
use crate::store::{Db, StoreError};

/// Events of the privacy office, the administrators and the gateway itself: everything else
/// records what a partner system asked (reads, lookups, casework, refusals). Keep
/// migration 0019's list in step.
pub const OFFICE_EVENTS: [Event; 10] = [
    Event::ReviewLog,
    Event::AccessReport,
    Event::ConsoleSession,
    Event::SpoedReviewed,
    Event::SpoedReviewOverdue,
    Event::PolicyChange,
    Event::RegistryChange,
    Event::CaseDestroyed,
    Event::Embargo,
    Event::SignalReviewed,
];

/// Whether an entry records a partner system's request (what the overview counts).
pub fn is_partner_request(event: Event) -> bool {
    !OFFICE_EVENTS.contains(&event)
}

/// `('review_log', ...)`: [`OFFICE_EVENTS`] as an SQL list.
pub(crate) fn office_events_sql() -> String {
    let names: Vec<String> = OFFICE_EVENTS
        .iter()
        .map(|e| format!("'{}'", e.as_str()))
        .collect();
    format!("({})", names.join(", "))
}

/// Requests on one day (UTC), by outcome.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DayCount {
    pub day: NaiveDate,
    pub allowed: i64,
    pub partial: i64,
    pub denied: i64,
}

impl DayCount {
    pub fn total(&self) -> i64 {
        self.allowed + self.partial + self.denied
    }
}

/// The overview of a period.
#[derive(Clone, Debug, Default)]
pub struct Overview {
    /// Every day of the period, oldest first (days without requests count zero).
    pub days: Vec<DayCount>,
    /// (OIN, requests), busiest first, at most five.
    pub top_partners: Vec<(String, i64)>,
    /// (purpose, requests), busiest first, at most five.
    pub top_purposes: Vec<(String, i64)>,
}

impl Overview {
    pub fn total(&self) -> i64 {
        self.days.iter().map(DayCount::total).sum()
    }
}

/// One group of the overview's single pass: day, outcome, partner, purpose and count.
type OverviewGroup = (String, String, Option<String>, Option<String>, i64);

/// The shared WHERE clause: partner requests since `$1`, of organisation `$2` if given.
const SCOPE: &str = "recorded_at >= $1 AND event NOT IN {NOT} \
     AND ($2 IS NULL OR requester_oin = $2 OR seq IN (SELECT seq FROM log_sources WHERE oin = $2))";

fn scoped(sql: &str) -> String {
    sql.replace("{SCOPE}", &SCOPE.replace("{NOT}", &office_events_sql()))
}

/// Requests per day and outcome from `since` (midnight UTC) to `today`, the busiest partners
/// and purposes; only `visible_to`'s entries when given.
pub async fn overview(
    db: &Db,
    since: NaiveDate,
    today: NaiveDate,
    visible_to: Option<&str>,
) -> Result<Overview, StoreError> {
    let from: DateTime<Utc> = since.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    // One pass over the covering index (migration 0018): counts per day, outcome, partner and
    // purpose (a few thousand groups at most), summed here three ways.
    let groups: Vec<OverviewGroup> = match (db, visible_to) {
        // Every partner's requests: the daily counts the writer keeps (migration 0019).
        (_, None) => {
            const DAILY: &str = "SELECT day, outcome, requester_oin, purpose, n FROM log_daily WHERE day >= $1";
            let rows: Vec<(String, String, String, String, i64)> = crate::with_pool!(db, p => sqlx::query_as(DAILY)
                .bind(since.to_string()).fetch_all(p).await)?;
            rows.into_iter()
                .map(|(day, outcome, oin, purpose, n)| {
                    let some = |v: String| (!v.is_empty()).then_some(v);
                    (day, outcome, some(oin), some(purpose), n)
                })
                .collect()
        }
        (Db::Sqlite(p), Some(_)) => {
            sqlx::query_as(&scoped(
                "SELECT substr(recorded_at, 1, 10) AS day, outcome, requester_oin, purpose, COUNT(*) \
                 FROM disclosure_log WHERE {SCOPE} GROUP BY day, outcome, requester_oin, purpose",
            ))
            .bind(from)
            .bind(visible_to)
            .fetch_all(p)
            .await?
        }
        (Db::Postgres(p), Some(_)) => {
            sqlx::query_as(&scoped(
                "SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, outcome, requester_oin, \
                 purpose, COUNT(*) FROM disclosure_log WHERE {SCOPE} \
                 GROUP BY day, outcome, requester_oin, purpose",
            ))
            .bind(from)
            .bind(visible_to)
            .fetch_all(p)
            .await?
        }
    };
    let mut per_day: BTreeMap<(String, String), i64> = BTreeMap::new();
    let mut partners: BTreeMap<String, i64> = BTreeMap::new();
    let mut purposes: BTreeMap<String, i64> = BTreeMap::new();
    for (day, outcome, oin, purpose, n) in groups {
        *per_day.entry((day, outcome)).or_default() += n;
        if let Some(oin) = oin {
            *partners.entry(oin).or_default() += n;
        }
        if let Some(purpose) = purpose {
            *purposes.entry(purpose).or_default() += n;
        }
    }
    let top = |counts: BTreeMap<String, i64>| {
        let mut v: Vec<(String, i64)> = counts.into_iter().collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        v.truncate(5);
        v
    };
    let (top_partners, top_purposes) = (top(partners), top(purposes));

    let mut days: Vec<DayCount> = since
        .iter_days()
        .take_while(|d| *d <= today)
        .map(|day| DayCount {
            day,
            ..DayCount::default()
        })
        .collect();
    for ((day, outcome), n) in per_day {
        let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
            return Err(StoreError::Corrupt(format!("log day {day:?}")));
        };
        if let Some(slot) = days.iter_mut().find(|d| d.day == day) {
            match outcome.as_str() {
                "allowed" => slot.allowed += n,
                "partial" => slot.partial += n,
                _ => slot.denied += n,
            }
        }
    }
    Ok(Overview {
        days,
        top_partners,
        top_purposes,
    })
}

/// When a witness last cosigned a checkpoint, if ever.
pub async fn last_cosignature(db: &Db) -> Result<Option<DateTime<Utc>>, StoreError> {
    const SQL: &str =
        "SELECT received_at FROM checkpoint_cosignatures ORDER BY received_at DESC LIMIT 1";
    Ok(crate::with_pool!(db, p => sqlx::query_scalar(SQL).fetch_optional(p).await)?)
}

/// One signed checkpoint in the history: size, when it was signed, and its witnesses.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CheckpointLine {
    pub size: i64,
    pub signed_at: DateTime<Utc>,
    pub cosignatures: i64,
    pub last_cosigned_at: Option<DateTime<Utc>>,
}

/// The newest `limit` checkpoints, newest first, with how many witnesses cosigned each.
pub async fn checkpoint_history(db: &Db, limit: i64) -> Result<Vec<CheckpointLine>, StoreError> {
    const SQL: &str = "SELECT c.size, c.signed_at, COUNT(w.witness) AS cosignatures, \
                       MAX(w.received_at) AS last_cosigned_at FROM checkpoints c \
                       LEFT JOIN checkpoint_cosignatures w ON w.size = c.size \
                       GROUP BY c.size, c.signed_at ORDER BY c.size DESC LIMIT $1";
    Ok(crate::with_pool!(db, p => sqlx::query_as(SQL).bind(limit).fetch_all(p).await)?)
}

/// The newest `limit` cosignatures: (checkpoint size, witness, received).
pub async fn cosignature_history(
    db: &Db,
    limit: i64,
) -> Result<Vec<(i64, String, DateTime<Utc>)>, StoreError> {
    const SQL: &str = "SELECT size, witness, received_at FROM checkpoint_cosignatures \
                       ORDER BY received_at DESC LIMIT $1";
    Ok(crate::with_pool!(db, p => sqlx::query_as(SQL).bind(limit).fetch_all(p).await)?)
}
