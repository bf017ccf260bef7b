//! The spoed review items in the database (SQL for both backends).

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

const COLUMNS: &str =
    "id, disclosure_id, case_id, requester_oin, requester_sub, reason, created_at, \
                       due_at, overdue_signalled_at, reviewed_at, reviewed_by, verdict";

/// One review item as stored.
#[derive(Clone, Debug, FromRow)]
pub struct ReviewRow {
    pub id: Uuid,
    pub disclosure_id: Uuid,
    pub case_id: Uuid,
    pub requester_oin: String,
    pub requester_sub: String,
    /// The stated reason; `None` once the case's person data was destroyed.
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub overdue_signalled_at: Option<DateTime<Utc>>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub reviewed_by: Option<String>,
    pub verdict: Option<String>,
}

/// Which items a listing returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Not yet reviewed (overdue or not).
    Open,
    /// Not yet reviewed and past their due time.
    Overdue,
    /// Reviewed.
    Reviewed,
    /// Every item.
    All,
}

/// Opens a review item inside the spoed read's unit of work.
pub async fn insert(tx: &mut Tx, row: &ReviewRow) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO spoed_reviews (id, disclosure_id, case_id, requester_oin, requester_sub, \
                       reason, created_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
    with_tx!(tx, c => sqlx::query(SQL)
        .bind(row.id).bind(row.disclosure_id).bind(row.case_id).bind(&row.requester_oin)
        .bind(&row.requester_sub).bind(&row.reason).bind(row.created_at).bind(row.due_at)
        .execute(&mut *c).await.map(|_| ()))?;
    Ok(())
}

/// The items in `state` as of `now`, oldest due first, at most `limit`.
pub async fn list(
    db: &Db,
    state: State,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ReviewRow>, StoreError> {
    let filter = match state {
        State::Open => "reviewed_at IS NULL AND created_at <= $1",
        State::Overdue => "reviewed_at IS NULL AND due_at <= $1",
        State::Reviewed => "reviewed_at <= $1",
        State::All => "created_at <= $1",
    };
    let sql =
        format!("SELECT {COLUMNS} FROM spoed_reviews WHERE {filter} ORDER BY due_at, id LIMIT $2");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(now).bind(limit).fetch_all(p).await)?)
}

/// One item, inside a unit of work.
pub async fn get(tx: &mut Tx, id: Uuid) -> Result<Option<ReviewRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM spoed_reviews WHERE id = $1");
    Ok(with_tx!(tx, c => sqlx::query_as(&sql).bind(id).fetch_optional(&mut *c).await)?)
}

/// Records the privacy officer's verdict; `false` if the item was already reviewed (or does not
/// exist), so two concurrent reviews cannot both win.
pub async fn mark_reviewed(
    tx: &mut Tx,
    id: Uuid,
    by: &str,
    verdict: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE spoed_reviews SET reviewed_at = $2, reviewed_by = $3, verdict = $4 \
                       WHERE id = $1 AND reviewed_at IS NULL";
    let n = with_tx!(tx, c => sqlx::query(SQL).bind(id).bind(at).bind(by).bind(verdict)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Open items past their due time at `now` whose overdue signal has not been given.
pub async fn unsignalled_overdue(
    db: &Db,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<ReviewRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM spoed_reviews WHERE reviewed_at IS NULL AND due_at <= $1 \
         AND overdue_signalled_at IS NULL ORDER BY due_at, id LIMIT $2"
    );
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(now).bind(limit).fetch_all(p).await)?)
}

/// Marks an item's overdue signal as given; `false` if another instance (or a review) came
/// first, so each item is signalled once.
pub async fn mark_signalled(tx: &mut Tx, id: Uuid, at: DateTime<Utc>) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE spoed_reviews SET overdue_signalled_at = $2 \
                       WHERE id = $1 AND overdue_signalled_at IS NULL AND reviewed_at IS NULL";
    let n = with_tx!(tx, c => sqlx::query(SQL).bind(id).bind(at)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}
