//! SQL of the plan van aanpak: afspraken with their monitoring notes, and the case's
//! escalation history on the AVE ladder. Written for both SQLite and PostgreSQL (`with_pool!`).

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{CaseId, Oin};
use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

/// An afspraak as stored. `updated_at` is NULL until the first change.
#[derive(Clone, Debug, FromRow)]
pub struct AfspraakRow {
    pub id: Uuid,
    pub case_id: Uuid,
    pub partner_oin: String,
    pub action: String,
    pub due_date: String,
    pub status: String,
    pub created_by_oin: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl AfspraakRow {
    /// When the afspraak last changed (status, due date or a note), or was made.
    pub fn last_change(&self) -> DateTime<Utc> {
        self.updated_at.unwrap_or(self.created_at)
    }
}

/// A monitoring note on an afspraak.
#[derive(Clone, Debug, FromRow)]
pub struct NoteRow {
    pub afspraak_id: Uuid,
    pub note: String,
    pub written_by_oin: String,
    pub written_at: DateTime<Utc>,
}

/// One escalation decision.
#[derive(Clone, Debug, FromRow)]
pub struct EscalationRow {
    pub level: i32,
    pub previous_level: Option<i32>,
    pub reason: String,
    pub decided_by_oin: String,
    pub decided_at: DateTime<Utc>,
}

const AFSPRAAK_COLUMNS: &str =
    "id, case_id, partner_oin, action, due_date, status, created_by_oin, created_at, updated_at";

/// Stores a new afspraak made by `by`.
#[allow(clippy::too_many_arguments)]
pub async fn insert_afspraak(
    tx: &mut Tx,
    id: Uuid,
    case: CaseId,
    partner: &Oin,
    action: &str,
    due: NaiveDate,
    status: &str,
    by: &Oin,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO afspraken (id, case_id, partner_oin, action, due_date, status, created_by_oin, created_at, updated_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL)";
    with_tx!(tx, c => sqlx::query(SQL).bind(id).bind(case.0).bind(partner.as_str()).bind(action)
        .bind(due.format("%Y-%m-%d").to_string()).bind(status).bind(by.as_str()).bind(at)
        .execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The afspraken of a case, oldest first.
pub async fn afspraken(db: &Db, case: CaseId) -> Result<Vec<AfspraakRow>, StoreError> {
    let sql = format!(
        "SELECT {AFSPRAAK_COLUMNS} FROM afspraken WHERE case_id = $1 ORDER BY created_at, id"
    );
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(case.0).fetch_all(p).await)?)
}

/// One afspraak of a case.
pub async fn afspraak(db: &Db, case: CaseId, id: Uuid) -> Result<Option<AfspraakRow>, StoreError> {
    let sql = format!("SELECT {AFSPRAAK_COLUMNS} FROM afspraken WHERE case_id = $1 AND id = $2");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(case.0).bind(id).fetch_optional(p).await)?)
}

/// The monitoring notes of a case's afspraken, oldest first.
pub async fn notes(db: &Db, case: CaseId) -> Result<Vec<NoteRow>, StoreError> {
    const SQL: &str = "SELECT afspraak_id, note, written_by_oin, written_at FROM afspraak_notes \
                       WHERE case_id = $1 ORDER BY written_at, id";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).fetch_all(p).await)?)
}

/// Changes an afspraak, inside the step's transaction: the new status and due date (when given), a
/// monitoring note with its id (when given), and `updated_at`.
#[allow(clippy::too_many_arguments)]
pub async fn update_afspraak(
    tx: &mut Tx,
    case: CaseId,
    id: Uuid,
    status: Option<&str>,
    due: Option<NaiveDate>,
    note: Option<(Uuid, &str)>,
    by: &Oin,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    const UPDATE: &str = "UPDATE afspraken SET status = COALESCE($3, status), \
                          due_date = COALESCE($4, due_date), updated_at = $5 \
                          WHERE case_id = $1 AND id = $2";
    const NOTE: &str =
        "INSERT INTO afspraak_notes (id, afspraak_id, case_id, note, written_by_oin, written_at) \
                        VALUES ($1, $2, $3, $4, $5, $6)";
    let due = due.map(|d| d.format("%Y-%m-%d").to_string());
    with_tx!(tx, c => {
        sqlx::query(UPDATE).bind(case.0).bind(id).bind(status).bind(due.as_deref()).bind(at)
            .execute(&mut *c).await?;
        if let Some((note_id, note)) = note {
            sqlx::query(NOTE).bind(note_id).bind(id).bind(case.0).bind(note)
                .bind(by.as_str()).bind(at).execute(&mut *c).await?;
        }
    });
    Ok(())
}

/// The escalation history of a case, oldest first.
pub async fn escalations(db: &Db, case: CaseId) -> Result<Vec<EscalationRow>, StoreError> {
    const SQL: &str = "SELECT level, previous_level, reason, decided_by_oin, decided_at \
                       FROM case_escalations WHERE case_id = $1 ORDER BY decided_at, id";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).fetch_all(p).await)?)
}

/// The case's current AVE level (the latest decision), if it was ever set.
pub async fn current_level(db: &Db, case: CaseId) -> Result<Option<i32>, StoreError> {
    const SQL: &str = "SELECT level FROM case_escalations WHERE case_id = $1 \
                       ORDER BY decided_at DESC, id DESC LIMIT 1";
    let row: Option<(i32,)> =
        with_pool!(db, p => sqlx::query_as(SQL).bind(case.0).fetch_optional(p).await)?;
    Ok(row.map(|(l,)| l))
}

/// Records an escalation decision under `id` (which the step's log entry names).
#[allow(clippy::too_many_arguments)]
pub async fn insert_escalation(
    tx: &mut Tx,
    id: Uuid,
    case: CaseId,
    level: i32,
    previous: Option<i32>,
    reason: &str,
    by: &Oin,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    const SQL: &str = "INSERT INTO case_escalations (id, case_id, level, previous_level, reason, decided_by_oin, decided_at) \
                       VALUES ($1, $2, $3, $4, $5, $6, $7)";
    with_tx!(tx, c => sqlx::query(SQL).bind(id).bind(case.0).bind(level).bind(previous)
        .bind(reason).bind(by.as_str()).bind(at).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(())
}

/// The open cases (not afgesloten) with afspraken, oldest first. The gateway serves one
/// convenant, so these are the region's.
pub async fn open_cases_with_afspraken(db: &Db) -> Result<Vec<CaseId>, StoreError> {
    const SQL: &str = "SELECT c.id FROM cases c WHERE c.phase <> 'afgesloten' \
                       AND EXISTS (SELECT 1 FROM afspraken a WHERE a.case_id = c.id) \
                       ORDER BY c.created_at, c.id";
    let rows: Vec<(Uuid,)> = with_pool!(db, p => sqlx::query_as(SQL).fetch_all(p).await)?;
    Ok(rows.into_iter().map(|(id,)| CaseId(id)).collect())
}
