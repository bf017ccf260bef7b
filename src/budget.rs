//! The daily bulk budget (proportionaliteit: no bulk), shared by every gateway instance on one
//! database: person-level requests per partner per hour, counted atomically in the database
//! so N instances allow what one would, not N times as much. SQL for both backends.
//!
//! Counting is group-committed like the disclosure log ([`BudgetCounter`]): the requests that
//! queue up while one count transaction runs share the next one (one upsert per partner and
//! hour, one fsync), and each learns its own place in the count. Without this every
//! person-level request was its own write transaction, and SQLite's single writer made that
//! the gateway's throughput ceiling.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot};

use crate::domain::Oin;
use crate::store::{Db, StoreError};
use crate::with_tx;

/// Most requests counted in one transaction.
const BATCH_MAX: usize = 512;

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
    let key = (oin.as_str().to_string(), hour(now));
    let totals = count_many(db, &BTreeMap::from([(key.clone(), 1)])).await?;
    Ok(totals.get(&key).map_or(0, |total| total.saturating_sub(1)))
}

/// Adds `requests` (per partner OIN and hour) in one transaction and returns each partner's
/// window total after its increment. The upsert holds the hour's row until the commit, so
/// concurrent counts of one partner (on any instance) come one after another.
async fn count_many(
    db: &Db,
    requests: &BTreeMap<(String, i64), u64>,
) -> Result<BTreeMap<(String, i64), u64>, StoreError> {
    const COUNT: &str = "INSERT INTO request_budget (partner_oin, hour, requests) VALUES ($1, $2, $3) \
                         ON CONFLICT (partner_oin, hour) DO UPDATE SET requests = request_budget.requests + $3";
    const SUM: &str = "SELECT CAST(COALESCE(SUM(requests), 0) AS BIGINT) FROM request_budget \
                       WHERE partner_oin = $1 AND hour > $2 - $3";
    const PRUNE: &str = "DELETE FROM request_budget WHERE partner_oin = $1 AND hour <= $2 - $3";
    let mut totals = BTreeMap::new();
    let mut tx = db.begin().await?;
    // In key order, so two instances' batches lock partners' rows in the same order.
    for ((oin, h), n) in requests {
        let n = i64::try_from(*n).unwrap_or(i64::MAX);
        let total: i64 = with_tx!(&mut tx, c => {
            sqlx::query(COUNT).bind(oin).bind(*h).bind(n).execute(&mut *c).await?;
            let total: i64 = sqlx::query_scalar(SUM).bind(oin).bind(*h).bind(WINDOW_HOURS)
                .fetch_one(&mut *c).await?;
            sqlx::query(PRUNE).bind(oin).bind(*h).bind(WINDOW_HOURS).execute(&mut *c).await?;
            total
        });
        totals.insert((oin.clone(), *h), u64::try_from(total).unwrap_or(0));
    }
    tx.commit().await?;
    Ok(totals)
}

type Reply = oneshot::Sender<Result<u64, StoreError>>;

/// Handle to the budget's group-commit task; cheap to clone.
#[derive(Clone, Debug)]
pub struct BudgetCounter {
    tx: mpsc::Sender<((String, i64), Reply)>,
    timeout: Duration,
}

impl BudgetCounter {
    /// Starts the counting task on the current runtime. A count not committed within
    /// `timeout` fails (the request is then refused, never answered uncounted).
    pub fn spawn(db: Db, timeout: Duration) -> BudgetCounter {
        let (tx, rx) = mpsc::channel(BATCH_MAX * 8);
        tokio::spawn(run(db, rx));
        BudgetCounter { tx, timeout }
    }

    /// Counts one person-level request of `oin` at `now`; how many came before it in the
    /// window (as [`take`]), once the transaction holding its count has committed.
    pub async fn take(&self, oin: &Oin, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let (reply, wait) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the budget counter has stopped".into());
        let work = async {
            self.tx
                .send(((oin.as_str().to_string(), hour(now)), reply))
                .await
                .map_err(|_| stopped())?;
            wait.await.map_err(|_| stopped())?
        };
        tokio::time::timeout(self.timeout, work)
            .await
            .map_err(|_| {
                StoreError::Unavailable("the budget count did not commit in time".into())
            })?
    }
}

async fn run(db: Db, mut rx: mpsc::Receiver<((String, i64), Reply)>) {
    let mut batch = Vec::with_capacity(BATCH_MAX);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        // What queued up while the last transaction ran shares this one; no extra wait.
        while batch.len() < BATCH_MAX {
            match rx.try_recv() {
                Ok(item) => batch.push(item),
                Err(_) => break,
            }
        }
        let mut requests: BTreeMap<(String, i64), u64> = BTreeMap::new();
        for (key, _) in &batch {
            *requests.entry(key.clone()).or_default() += 1;
        }
        match count_many(&db, &requests).await {
            Ok(totals) => {
                // The k requests of one key take the places total-k .. total-1, in arrival order.
                let mut next: BTreeMap<&(String, i64), u64> = requests
                    .iter()
                    .map(|(key, n)| {
                        (
                            key,
                            totals.get(key).copied().unwrap_or(0).saturating_sub(*n),
                        )
                    })
                    .collect();
                for (key, reply) in batch.drain(..) {
                    let place = next.get_mut(&key).map(|p| {
                        let used = *p;
                        *p += 1;
                        used
                    });
                    let _ = reply.send(place.ok_or_else(|| {
                        StoreError::Unavailable("the budget count lost a request".into())
                    }));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = batch.len(), "budget count failed");
                let message = e.to_string();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(StoreError::Unavailable(message.clone())));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Requests counted together in one transaction each get their own place: 0..n per
    /// partner, none twice, none skipped.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grouped_counts_hand_out_every_place_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("budget.db").display());
        let db = Db::connect(&url, 4).await.expect("db");
        db.migrate().await.expect("migrated");
        let counter = BudgetCounter::spawn(db.clone(), Duration::from_secs(10));
        let now = Utc::now();
        let a: Oin = "00000001000000000011".parse().expect("oin");
        let b: Oin = "00000001000000000012".parse().expect("oin");
        let mut tasks = Vec::new();
        for i in 0..300 {
            let (counter, oin) = (
                counter.clone(),
                if i % 3 == 0 { b.clone() } else { a.clone() },
            );
            tasks.push(tokio::spawn(async move {
                (oin.clone(), counter.take(&oin, now).await)
            }));
        }
        let (mut for_a, mut for_b) = (Vec::new(), Vec::new());
        for t in tasks {
            let (oin, used) = t.await.expect("task");
            let used = used.expect("counted");
            if oin == a {
                for_a.push(used)
            } else {
                for_b.push(used)
            }
        }
        for_a.sort_unstable();
        for_b.sort_unstable();
        assert_eq!(for_a, (0..200).collect::<Vec<u64>>());
        assert_eq!(for_b, (0..100).collect::<Vec<u64>>());
        // The one-transaction path continues the same count.
        assert_eq!(take(&db, &a, now).await.expect("take"), 200);
    }
}
