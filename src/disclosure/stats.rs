//! Aggregates of the disclosure log for the privacy officers' overview: requests per day and
//! outcome, the busiest partners and purposes. Computed in the database (GROUP BY over the
//! time index), for both SQLite and PostgreSQL, optionally limited to one organisation's
//! entries (its requests and the disclosures of data it contributed).

use chrono::{DateTime, NaiveDate, Utc};

use crate::store::{Db, StoreError};

/// Entries that record what a partner system asked (reads, lookups, casework, refusals), as
/// opposed to the privacy office's, the administrators' and the gateway's own work.
pub(crate) const NOT_PARTNER_REQUESTS: &str = "('review_log', 'access_report', 'console_session', \
     'spoed_reviewed', 'spoed_review_overdue', 'policy_change', 'registry_change', 'case_destroyed', \
     'embargo', 'signal_reviewed')";

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

/// The shared WHERE clause: partner requests since `$1`, of organisation `$2` if given.
const SCOPE: &str = "recorded_at >= $1 AND event NOT IN {NOT} \
     AND ($2 IS NULL OR requester_oin = $2 OR seq IN (SELECT seq FROM log_sources WHERE oin = $2))";

fn scoped(sql: &str) -> String {
    sql.replace("{SCOPE}", &SCOPE.replace("{NOT}", NOT_PARTNER_REQUESTS))
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
    let per_day: Vec<(String, String, i64)> = match db {
        Db::Sqlite(p) => {
            sqlx::query_as(&scoped(
                "SELECT substr(recorded_at, 1, 10) AS day, outcome, COUNT(*) FROM disclosure_log \
                 WHERE {SCOPE} GROUP BY day, outcome",
            ))
            .bind(from)
            .bind(visible_to)
            .fetch_all(p)
            .await?
        }
        Db::Postgres(p) => {
            sqlx::query_as(&scoped(
                "SELECT to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, outcome, COUNT(*) \
                 FROM disclosure_log WHERE {SCOPE} GROUP BY day, outcome",
            ))
            .bind(from)
            .bind(visible_to)
            .fetch_all(p)
            .await?
        }
    };
    let top = |column: &str| {
        scoped(&format!(
            "SELECT {column}, COUNT(*) AS n FROM disclosure_log WHERE {{SCOPE}} AND {column} IS NOT NULL \
             GROUP BY {column} ORDER BY n DESC, {column} LIMIT 5"
        ))
    };
    let (partners_sql, purposes_sql) = (top("requester_oin"), top("purpose"));
    let top_partners: Vec<(String, i64)> = crate::with_pool!(db, p => sqlx::query_as(&partners_sql)
        .bind(from).bind(visible_to).fetch_all(p).await)?;
    let top_purposes: Vec<(String, i64)> = crate::with_pool!(db, p => sqlx::query_as(&purposes_sql)
        .bind(from).bind(visible_to).fetch_all(p).await)?;

    let mut days: Vec<DayCount> = since
        .iter_days()
        .take_while(|d| *d <= today)
        .map(|day| DayCount {
            day,
            ..DayCount::default()
        })
        .collect();
    for (day, outcome, n) in per_day {
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
