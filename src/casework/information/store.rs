//! SQL of information items contributed through the gateway: new items and versions,
//! corrections and withdrawals, the chain of versions an item replaces, and the read_person
//! entries of a case's disclosure log (to find an item's recipients). Written for both SQLite
//! and PostgreSQL (`with_pool!`).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{CaseId, ItemId, Oin, PersonId};
use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

/// An information item without its content (what the steps need to decide and change it).
#[derive(Clone, Debug, FromRow)]
pub struct StoredItem {
    pub id: Uuid,
    pub person_id: Uuid,
    pub leefgebied: String,
    pub category: String,
    /// None for items recorded before grounds were.
    pub ground: Option<String>,
    /// `actief`, `gecorrigeerd` or `ingetrokken`.
    pub status: String,
    /// The version this one corrects.
    pub replaces: Option<Uuid>,
    pub contributed_by: String,
    pub recorded_at: DateTime<Utc>,
    /// The date the content dates from; None only for rows a migration could not backfill.
    pub dates_from: Option<NaiveDate>,
}

/// A new item, or a new version of one (`replaces`), always `actief`.
#[derive(Clone, Debug)]
pub struct NewVersion<'a> {
    pub id: ItemId,
    pub case: CaseId,
    pub person: PersonId,
    pub leefgebied: &'a str,
    pub category: &'a str,
    pub content: &'a str,
    pub ground: Option<&'a str>,
    pub contributed_by: &'a Oin,
    pub replaces: Option<ItemId>,
    pub recorded_at: DateTime<Utc>,
    /// The date the content dates from (the horizon is measured from it).
    pub dates_from: NaiveDate,
}

const INSERT: &str =
    "INSERT INTO information_items (id, case_id, person_id, leefgebied, category, content, \
                      contributed_by, recorded_at, ground, status, replaces, dates_from) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'actief', $10, $11)";

/// Stores a new, active item.
pub async fn insert(tx: &mut Tx, v: &NewVersion<'_>) -> Result<(), StoreError> {
    with_tx!(tx, c => sqlx::query(INSERT).bind(v.id.0).bind(v.case.0).bind(v.person.0)
        .bind(v.leefgebied).bind(v.category).bind(v.content).bind(v.contributed_by.as_str())
        .bind(v.recorded_at).bind(v.ground).bind(v.replaces.map(|r| r.0)).bind(v.dates_from)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// An item of a case (any status), without its content.
pub async fn item(db: &Db, case: CaseId, id: ItemId) -> Result<Option<StoredItem>, StoreError> {
    const SQL: &str = "SELECT id, person_id, leefgebied, category, ground, status, replaces, \
                       contributed_by, recorded_at, dates_from FROM information_items WHERE case_id = $1 AND id = $2";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).bind(id.0).fetch_optional(p).await)?)
}

/// Inside the step's transaction: marks the active item `old` gecorrigeerd (with the reason) and stores
/// its new version. False, with nothing changed, when `old` is no longer active (a concurrent
/// correction or withdrawal won).
pub async fn correct(
    tx: &mut Tx,
    old: ItemId,
    reason: &str,
    at: DateTime<Utc>,
    new: &NewVersion<'_>,
) -> Result<bool, StoreError> {
    const MARK: &str = "UPDATE information_items SET status = 'gecorrigeerd', changed_at = $2, \
                        change_reason = $3 WHERE id = $1 AND status = 'actief'";
    let n = with_tx!(tx, c => sqlx::query(MARK).bind(old.0).bind(at).bind(reason)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    if n != 1 {
        return Ok(false);
    }
    insert(tx, new).await?;
    Ok(true)
}

/// Withdraws the active item `id`: status ingetrokken, content erased, the reason kept. False
/// when it was no longer active.
pub async fn withdraw(
    tx: &mut Tx,
    id: ItemId,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE information_items SET status = 'ingetrokken', content = '', \
                       changed_at = $2, change_reason = $3 WHERE id = $1 AND status = 'actief'";
    let n = with_tx!(tx, c => sqlx::query(SQL).bind(id.0).bind(at).bind(reason)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// The earlier versions that `item` (transitively) replaces, newest first.
pub async fn earlier_versions(
    db: &Db,
    case: CaseId,
    item: &StoredItem,
) -> Result<Vec<ItemId>, StoreError> {
    const SQL: &str = "SELECT replaces FROM information_items WHERE case_id = $1 AND id = $2";
    let mut out: Vec<ItemId> = Vec::new();
    let mut next = item.replaces;
    // Bounded, so a corrupt cycle cannot loop forever.
    while let Some(id) = next.filter(|_| out.len() < 1000) {
        if out.iter().any(|o| o.0 == id) {
            break;
        }
        out.push(ItemId(id));
        let row: Option<(Option<Uuid>,)> =
            with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).bind(id).fetch_optional(p).await)?;
        next = row.and_then(|(r,)| r);
    }
    Ok(out)
}

/// The entries (JSON text, oldest first) of the case's person reads that disclosed something
/// (outcome allowed or partial): where an item's recipients are found.
pub async fn disclosing_reads(db: &Db, case: CaseId) -> Result<Vec<String>, StoreError> {
    const SQL: &str =
        "SELECT entry FROM disclosure_log WHERE case_id = $1 AND event = 'read_person' \
                       AND outcome IN ('allowed', 'partial') ORDER BY seq";
    let rows: Vec<(String,)> =
        with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|(e,)| e).collect())
}
