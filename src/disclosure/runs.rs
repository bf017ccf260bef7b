//! Full verifications of the log run in the background, started by a privacy officer: the same
//! auditor as `vhgate log verify` (hash chain, Merkle tree, every signed checkpoint, the
//! indexes, the head), with its progress and result kept in `log_verifications` so the console
//! can show them while it runs and the overview can say when the log was last verified.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::checkpoint::NoteVerifier;
use super::verify::{verify_with, VerifyOptions, VerifyOutcome};
use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

/// A run that has not finished after this long is taken to have died with its process.
pub const STALE_AFTER: chrono::Duration = chrono::Duration::hours(2);

/// One verification run as stored.
#[derive(Clone, Debug, FromRow)]
pub struct VerificationRun {
    pub id: String,
    pub started_at: DateTime<Utc>,
    pub started_by_oin: String,
    pub started_by_sub: String,
    pub checked: i64,
    pub total: i64,
    pub finished_at: Option<DateTime<Utc>>,
    /// `intact`, `broken` or `failed`; None while running.
    pub outcome: Option<String>,
    pub detail: Option<String>,
}

impl VerificationRun {
    /// Still running at `now` (not finished, and not so old that its process must have died).
    pub fn is_running(&self, now: DateTime<Utc>) -> bool {
        self.finished_at.is_none() && now - self.started_at < STALE_AFTER
    }
}

const COLUMNS: &str =
    "id, started_at, started_by_oin, started_by_sub, checked, total, finished_at, outcome, detail";

/// Records a new run inside the unit of work that logs its start.
pub async fn insert(
    tx: &mut Tx,
    id: &str,
    at: DateTime<Utc>,
    oin: &str,
    sub: &str,
) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO log_verifications (id, started_at, started_by_oin, started_by_sub) \
                       VALUES ($1, $2, $3, $4)";
    with_tx!(tx, c => sqlx::query(SQL).bind(id).bind(at).bind(oin).bind(sub).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// One run.
pub async fn get(db: &Db, id: &str) -> Result<Option<VerificationRun>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM log_verifications WHERE id = $1");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?)
}

/// The newest runs, newest first.
pub async fn latest(db: &Db, limit: i64) -> Result<Vec<VerificationRun>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM log_verifications ORDER BY started_at DESC LIMIT $1");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(limit).fetch_all(p).await)?)
}

/// The newest finished run, if any.
pub async fn last_finished(db: &Db) -> Result<Option<VerificationRun>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM log_verifications WHERE finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT 1"
    );
    Ok(with_pool!(db, p => sqlx::query_as(&sql).fetch_optional(p).await)?)
}

async fn progress(db: &Db, id: &str, checked: i64, total: i64) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE log_verifications SET checked = $2, total = $3 WHERE id = $1 AND finished_at IS NULL";
    with_pool!(db, p => sqlx::query(SQL).bind(id).bind(checked).bind(total).execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

async fn finish(
    db: &Db,
    id: &str,
    outcome: &str,
    detail: &str,
    checked: i64,
) -> Result<(), StoreError> {
    const SQL: &str = "UPDATE log_verifications SET finished_at = $2, outcome = $3, detail = $4, \
                       checked = $5, total = CASE WHEN total < $5 THEN $5 ELSE total END WHERE id = $1";
    with_pool!(db, p => sqlx::query(SQL).bind(id).bind(crate::record::now()).bind(outcome).bind(detail).bind(checked)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// Verifies the whole log and records progress (about three times a second) and the result in
/// run `id`. Never panics; a failure to verify is recorded as `failed`.
pub async fn run(db: Db, id: String, log_key: Option<NoteVerifier>) {
    let checked = Arc::new(AtomicI64::new(0));
    let total = Arc::new(AtomicI64::new(0));
    let options = VerifyOptions {
        log_key,
        trusted_checkpoint: None,
        progress: Some(Box::new({
            let (checked, total) = (checked.clone(), total.clone());
            move |done, all| {
                checked.store(done, Ordering::Relaxed);
                total.store(all, Ordering::Relaxed);
            }
        })),
    };
    let reporter = {
        let (db, id, checked, total) = (db.clone(), id.clone(), checked.clone(), total.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(300));
            loop {
                tick.tick().await;
                let (c, t) = (
                    checked.load(Ordering::Relaxed),
                    total.load(Ordering::Relaxed),
                );
                if let Err(e) = progress(&db, &id, c, t).await {
                    tracing::warn!(error = %e, "could not record verification progress");
                }
            }
        })
    };
    let outcome = verify_with(&db, &options).await;
    reporter.abort();
    let (kind, detail, done) = match outcome {
        Ok(VerifyOutcome::Intact {
            entries,
            checkpoints,
        }) => (
            "intact",
            format!(
                "{entries} entries and {checkpoints} signed checkpoints verify{}",
                if options.log_key.is_some() {
                    " (signatures checked with the log's key)"
                } else {
                    ""
                }
            ),
            entries,
        ),
        Ok(VerifyOutcome::Broken { seq, reason }) => {
            ("broken", format!("entry {seq}: {reason}"), (seq - 1).max(0))
        }
        Err(e) => (
            "failed",
            format!("could not verify: {e}"),
            checked.load(Ordering::Relaxed),
        ),
    };
    if kind != "intact" {
        tracing::error!(run = %id, outcome = kind, detail = %detail, "log verification did not pass");
    }
    if let Err(e) = finish(&db, &id, kind, &detail, done).await {
        tracing::error!(run = %id, error = %e, "could not record the verification's result");
    }
}
