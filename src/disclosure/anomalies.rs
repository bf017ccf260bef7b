//! Signals for the privacy officer, computed from the disclosure log: an employee looking up or
//! being refused many different persons (snuffelen: reading outside the cases where the
//! organisation sits at the table), long runs of refusals, requests at unusual hours, and a
//! partner whose requests spike against its own recent history. Thresholds come from the
//! configuration (`[console]`). A signal is a question for the officer, not a verdict; the
//! officer marks it reviewed with a note.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Timelike, Utc};
use sqlx::FromRow;

use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

/// When a signal is raised.
#[derive(Clone, Debug)]
pub struct Thresholds {
    /// Different persons one employee looked up or was refused in 24 hours.
    pub snoop_persons: usize,
    /// Refusals in a row for one employee (within 24 hours).
    pub refusal_run: usize,
    /// The quiet hours (UTC), `[from, until)`, wrapping past midnight when `from > until`.
    pub quiet_hours: (u32, u32),
    /// Requests in quiet hours by one employee within 7 days.
    pub quiet_requests: usize,
    /// A partner's last 24 hours against its daily average over the 6 days before.
    pub spike_factor: f64,
    /// ... and at least this many requests in those 24 hours.
    pub spike_min: usize,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            snoop_persons: 10,
            refusal_run: 5,
            quiet_hours: (22, 6),
            quiet_requests: 3,
            spike_factor: 3.0,
            spike_min: 20,
        }
    }
}

/// The kinds of signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Snuffelen,
    Weigeringen,
    OngebruikelijkeTijd,
    Piek,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Snuffelen => "snuffelen",
            Kind::Weigeringen => "weigeringen",
            Kind::OngebruikelijkeTijd => "ongebruikelijke_tijd",
            Kind::Piek => "piek",
        }
    }
}

/// One signal.
#[derive(Clone, Debug)]
pub struct Signal {
    /// Stable identity: kind, organisation, employee and day.
    pub key: String,
    pub kind: Kind,
    pub oin: String,
    pub sub: Option<String>,
    /// The figure that raised it (persons, refusals, requests).
    pub count: usize,
    /// What the threshold was.
    pub threshold: String,
    pub reviewed: Option<Review>,
}

/// An officer's review of a signal.
#[derive(Clone, Debug, FromRow)]
pub struct Review {
    pub signal_key: String,
    pub reviewed_at: DateTime<Utc>,
    pub reviewed_by_oin: String,
    pub reviewed_by_sub: String,
    pub note: String,
}

#[derive(Debug, FromRow)]
struct Row {
    recorded_at: DateTime<Utc>,
    event: String,
    outcome: String,
    requester_oin: Option<String>,
    requester_sub: Option<String>,
    subject_pseudonym: Option<String>,
}

fn in_quiet_hours(t: DateTime<Utc>, (from, until): (u32, u32)) -> bool {
    let h = t.hour();
    if from <= until {
        (from..until).contains(&h)
    } else {
        h >= from || h < until
    }
}

/// The signals of the 7 days up to `now`; only `visible_to`'s organisation when given.
pub async fn signals(
    db: &Db,
    now: DateTime<Utc>,
    t: &Thresholds,
    visible_to: Option<&str>,
) -> Result<Vec<Signal>, StoreError> {
    let since = now - Duration::days(7);
    let sql = format!(
        "SELECT recorded_at, event, outcome, requester_oin, requester_sub, subject_pseudonym \
         FROM disclosure_log WHERE recorded_at >= $1 AND requester_oin IS NOT NULL \
         AND event NOT IN {} AND ($2 IS NULL OR requester_oin = $2) ORDER BY seq",
        super::stats::office_events_sql()
    );
    let rows: Vec<Row> =
        with_pool!(db, p => sqlx::query_as(&sql).bind(since).bind(visible_to).fetch_all(p).await)?;
    let day = now.date_naive();
    let day_ago = now - Duration::days(1);
    let mut out = Vec::new();
    let mut per_employee: BTreeMap<(String, String), Vec<&Row>> = BTreeMap::new();
    for r in &rows {
        if let (Some(oin), Some(sub)) = (&r.requester_oin, &r.requester_sub) {
            per_employee
                .entry((oin.clone(), sub.clone()))
                .or_default()
                .push(r);
        }
    }
    let signal =
        |kind: Kind, oin: &str, sub: Option<&str>, count: usize, threshold: String| Signal {
            key: format!("{}:{oin}:{}:{day}", kind.as_str(), sub.unwrap_or("*")),
            kind,
            oin: oin.to_string(),
            sub: sub.map(str::to_owned),
            count,
            threshold,
            reviewed: None,
        };
    for ((oin, sub), rows) in &per_employee {
        let recent: Vec<&&Row> = rows.iter().filter(|r| r.recorded_at >= day_ago).collect();
        // Persons asked about outside the table: lookups and refused reads.
        let persons: BTreeSet<&str> = recent
            .iter()
            .filter(|r| r.event == "lookup" || (r.event == "read_person" && r.outcome == "denied"))
            .filter_map(|r| r.subject_pseudonym.as_deref())
            .collect();
        if persons.len() >= t.snoop_persons {
            out.push(signal(
                Kind::Snuffelen,
                oin,
                Some(sub),
                persons.len(),
                format!("{} personen in 24 uur", t.snoop_persons),
            ));
        }
        let (mut run, mut longest) = (0usize, 0usize);
        for r in &recent {
            run = if r.outcome == "denied" { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        if longest >= t.refusal_run {
            out.push(signal(
                Kind::Weigeringen,
                oin,
                Some(sub),
                longest,
                format!("{} weigeringen achter elkaar", t.refusal_run),
            ));
        }
        let quiet = rows
            .iter()
            .filter(|r| in_quiet_hours(r.recorded_at, t.quiet_hours))
            .count();
        if quiet >= t.quiet_requests {
            out.push(signal(
                Kind::OngebruikelijkeTijd,
                oin,
                Some(sub),
                quiet,
                format!(
                    "{} verzoeken tussen {}:00 en {}:00 UTC in 7 dagen",
                    t.quiet_requests, t.quiet_hours.0, t.quiet_hours.1
                ),
            ));
        }
    }
    let mut per_partner: HashMap<&str, (usize, usize)> = HashMap::new();
    for r in &rows {
        if let Some(oin) = r.requester_oin.as_deref() {
            let slot = per_partner.entry(oin).or_default();
            if r.recorded_at >= day_ago {
                slot.0 += 1;
            } else {
                slot.1 += 1;
            }
        }
    }
    let mut partners: Vec<_> = per_partner.into_iter().collect();
    partners.sort();
    for (oin, (last_day, before)) in partners {
        let average = before as f64 / 6.0;
        if last_day >= t.spike_min && last_day as f64 >= t.spike_factor * average.max(1.0) {
            out.push(signal(
                Kind::Piek,
                oin,
                None,
                last_day,
                format!(
                    "{}× het daggemiddelde ({average:.1}) en minstens {}",
                    t.spike_factor, t.spike_min
                ),
            ));
        }
    }
    let keys: Vec<String> = out.iter().map(|s| s.key.clone()).collect();
    let reviews = reviews_of(db, &keys).await?;
    for s in &mut out {
        s.reviewed = reviews.get(&s.key).cloned();
    }
    out.sort_by(|a, b| {
        (a.reviewed.is_some(), a.kind, &a.oin).cmp(&(b.reviewed.is_some(), b.kind, &b.oin))
    });
    Ok(out)
}

async fn reviews_of(db: &Db, keys: &[String]) -> Result<HashMap<String, Review>, StoreError> {
    let mut out = HashMap::new();
    for key in keys {
        const SQL: &str = "SELECT signal_key, reviewed_at, reviewed_by_oin, reviewed_by_sub, note \
                           FROM signal_reviews WHERE signal_key = $1";
        let r: Option<Review> =
            with_pool!(db, p => sqlx::query_as(SQL).bind(key).fetch_optional(p).await)?;
        if let Some(r) = r {
            out.insert(key.clone(), r);
        }
    }
    Ok(out)
}

/// Records a review inside the unit of work that logs it; false when it was reviewed before.
pub async fn insert_review(tx: &mut Tx, r: &Review) -> Result<bool, StoreError> {
    const SQL: &str = "INSERT INTO signal_reviews (signal_key, reviewed_at, reviewed_by_oin, reviewed_by_sub, note) \
                       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (signal_key) DO NOTHING";
    let n = with_tx!(tx, c => sqlx::query(SQL).bind(&r.signal_key).bind(r.reviewed_at).bind(&r.reviewed_by_oin)
        .bind(&r.reviewed_by_sub).bind(&r.note).execute(&mut *c).await.map(|x| x.rows_affected()))?;
    Ok(n > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn quiet_hours_wrap_past_midnight() {
        let at = |h| {
            Utc.with_ymd_and_hms(2026, 12, 4, h, 30, 0)
                .single()
                .expect("time")
        };
        assert!(in_quiet_hours(at(23), (22, 6)));
        assert!(in_quiet_hours(at(2), (22, 6)));
        assert!(!in_quiet_hours(at(6), (22, 6)));
        assert!(!in_quiet_hours(at(12), (22, 6)));
        assert!(in_quiet_hours(at(12), (12, 13)));
    }
}
