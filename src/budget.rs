//! The daily bulk budget (proportionaliteit: no bulk), shared by every gateway instance on one
//! database: person-level requests per partner per hour, counted atomically in the database
//! so N instances allow what one would, not N times as much. SQL for both backends.

use chrono::{DateTime, Utc};

use crate::domain::Oin;
use crate::store::{Db, StoreError};
use crate::with_tx;

/// The budget window: the current hour and the 23 before it.
const WINDOW_HOURS: i64 = 24;

fn hour(t: DateTime<Utc>) -> i64 {
    t.timestamp().div_euclid(3600)
}

/// Counts one person-level request of `oin` at `now` and returns how many came before it in
/// the window. One transaction: the hour's counter is incremented (an upsert, which holds the
/// row so concurrent requests of the same partner, on any instance, count one after another),
/// the window summed, and the partner's hours that left the window dropped.
pub async fn take(db: &Db, oin: &Oin, now: DateTime<Utc>) -> Result<u64, StoreError> {
    const COUNT: &str = "INSERT INTO request_budget (partner_oin, hour, requests) VALUES ($1, $2, 1) \
                         ON CONFLICT (partner_oin, hour) DO UPDATE SET requests = request_budget.requests + 1";
    const SUM: &str = "SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) FROM request_budget \
                       WHERE partner_oin = $1 AND hour > $2 - $3";
    const PRUNE: &str = "DELETE FROM request_budget WHERE partner_oin = $1 AND hour <= $2 - $3";
    let h = hour(now);
    let mut tx = db.begin().await?;
    let total: i64 = with_tx!(&mut tx, c => {
        sqlx::query(COUNT).bind(oin.as_str()).bind(h).execute(&mut *c).await?;
        let total: i64 = sqlx::query_scalar(SUM).bind(oin.as_str()).bind(h).bind(WINDOW_HOURS)
            .fetch_one(&mut *c).await?;
        sqlx::query(PRUNE).bind(oin.as_str()).bind(h).bind(WINDOW_HOURS).execute(&mut *c).await?;
        total
    });
    tx.commit().await?;
    Ok(u64::try_from(total.saturating_sub(1)).unwrap_or(0))
}
