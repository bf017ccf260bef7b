//! SQL of the demo seeding that no gateway step needs (both backends).

use chrono::{DateTime, Utc};

use crate::domain::CaseId;
use crate::store::{Db, StoreError};
use crate::with_pool;

/// Moves a closed case's closing date back to `closed_at`, so that the demo can show a case
/// whose retention has ended (and let [`crate::casework::destroy_expired`] destroy it) without
/// waiting two years. Only closed cases are touched.
pub async fn backdate_closure(
    db: &Db,
    case: CaseId,
    closed_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    const CASE: &str = "UPDATE cases SET closed_at = $2 WHERE id = $1 AND phase = 'afgesloten'";
    const CLOSURE: &str = "UPDATE case_closures SET closed_at = $2 WHERE case_id = $1";
    for sql in [CASE, CLOSURE] {
        with_pool!(db, p => sqlx::query(sql).bind(case.0).bind(closed_at).execute(p).await.map(|r| r.rows_affected()))?;
    }
    Ok(())
}
