//! SQL of the disclosure log.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::{chain_hash, LogEntry, NewEntry, ENTRY_VERSION};
use crate::store::{Db, StoreError};
use crate::with_pool;

/// A stored row, as read back for listing and verification.
#[derive(Clone, Debug, FromRow)]
pub struct LogRow {
    pub seq: i64,
    pub id: Uuid,
    pub recorded_at: DateTime<Utc>,
    pub event: String,
    pub outcome: String,
    pub requester_oin: Option<String>,
    pub case_id: Option<Uuid>,
    pub subject_pseudonym: Option<String>,
    pub policy_revision: String,
    pub entry: String,
    pub prev_hash: Vec<u8>,
    pub entry_hash: Vec<u8>,
}

/// Filters for listing entries (privacy officer).
#[derive(Clone, Debug, Default)]
pub struct LogFilter {
    pub case_id: Option<Uuid>,
    pub partner: Option<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Only entries with a sequence number below this (pagination, newest first).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

const ROW_COLUMNS: &str =
    "seq, id, recorded_at, event, outcome, requester_oin, case_id, subject_pseudonym, \
                           policy_revision, entry, prev_hash, entry_hash";

/// Appends a batch in one transaction: takes the head row's lock first (an UPDATE, which
/// serialises writers on both backends, across processes too), chains every entry, moves the
/// head, commits. Returns the sequence numbers assigned, in order.
pub async fn append_batch(db: &Db, entries: &[NewEntry]) -> Result<Vec<i64>, StoreError> {
    let now = crate::record::now();
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query("UPDATE log_head SET updated_at = $1 WHERE id = 1").bind(now).execute(&mut *tx).await?;
        let (mut seq, mut hash): (i64, Vec<u8>) =
            sqlx::query_as("SELECT seq, hash FROM log_head WHERE id = 1").fetch_one(&mut *tx).await?;
        let mut seqs = Vec::with_capacity(entries.len());
        for entry in entries {
            seq += 1;
            let log_entry = LogEntry { v: ENTRY_VERSION, seq, entry: entry.clone() };
            let bytes = log_entry.canonical_bytes().map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let text = String::from_utf8(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let next = chain_hash(&hash, text.as_bytes());
            let recorded_at = DateTime::parse_from_rfc3339(&entry.time)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sqlx::query(
                "INSERT INTO disclosure_log (seq, id, recorded_at, event, outcome, requester_oin, case_id, \
                 subject_pseudonym, policy_revision, entry, prev_hash, entry_hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(seq)
            .bind(entry.id)
            .bind(recorded_at)
            .bind(entry.event.as_str())
            .bind(outcome_str(entry))
            .bind(entry.requester.oin.as_deref())
            .bind(entry.case_id)
            .bind(entry.subject.as_ref().map(|s| s.pseudonym.as_str()))
            .bind(&entry.policy_revision)
            .bind(&text)
            .bind(&hash)
            .bind(next.to_vec())
            .execute(&mut *tx)
            .await?;
            hash = next.to_vec();
            seqs.push(seq);
        }
        sqlx::query("UPDATE log_head SET seq = $1, hash = $2 WHERE id = 1")
            .bind(seq)
            .bind(&hash)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(seqs)
    })
}

/// The outcome as stored in its own column.
pub fn outcome_str(entry: &NewEntry) -> &'static str {
    match entry.outcome {
        crate::policy::Outcome::Allowed => "allowed",
        crate::policy::Outcome::Partial => "partial",
        crate::policy::Outcome::Denied => "denied",
    }
}

/// Entries matching a filter, newest first.
pub async fn list(db: &Db, f: &LogFilter) -> Result<Vec<LogRow>, StoreError> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM disclosure_log WHERE ($1 IS NULL OR case_id = $1) \
         AND ($2 IS NULL OR requester_oin = $2) AND ($3 IS NULL OR recorded_at >= $3) \
         AND ($4 IS NULL OR recorded_at < $4) AND ($5 IS NULL OR seq < $5) ORDER BY seq DESC LIMIT $6"
    );
    Ok(with_pool!(db, p => sqlx::query_as(&sql)
        .bind(f.case_id).bind(f.partner.as_deref()).bind(f.since).bind(f.until).bind(f.before_seq).bind(f.limit)
        .fetch_all(p).await)?)
}

/// Rows with `seq > after`, in sequence order, at most `limit` (for streaming verification).
pub async fn rows_after(db: &Db, after: i64, limit: i64) -> Result<Vec<LogRow>, StoreError> {
    let sql =
        format!("SELECT {ROW_COLUMNS} FROM disclosure_log WHERE seq > $1 ORDER BY seq LIMIT $2");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(after).bind(limit).fetch_all(p).await)?)
}

/// The chain head: last sequence number and hash.
pub async fn head(db: &Db) -> Result<(i64, Vec<u8>), StoreError> {
    Ok(
        with_pool!(db, p => sqlx::query_as("SELECT seq, hash FROM log_head WHERE id = 1").fetch_one(p).await)?,
    )
}

/// Person-level requests per partner since a moment (for the bulk budget after a restart).
pub async fn requests_since(
    db: &Db,
    since: DateTime<Utc>,
) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
    const SQL: &str = "SELECT requester_oin, recorded_at FROM disclosure_log \
                       WHERE recorded_at >= $1 AND requester_oin IS NOT NULL AND event IN ('read_person', 'lookup')";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(since).fetch_all(p).await)?)
}

/// Number of entries.
pub async fn count(db: &Db) -> Result<i64, StoreError> {
    Ok(
        with_pool!(db, p => sqlx::query_scalar("SELECT COUNT(*) FROM disclosure_log").fetch_one(p).await)?,
    )
}

/// Recomputes the chain link of a row from its stored predecessor hash (used by verify).
pub fn recompute(row: &LogRow) -> [u8; 32] {
    chain_hash(&row.prev_hash, row.entry.as_bytes())
}
