//! SQL of policy-bundle administration.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

/// A stored bundle and its four-eyes history.
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct BundleRecord {
    pub revision: String,
    #[serde(skip)]
    pub bundle: Vec<u8>,
    pub status: String,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    /// `proposal` (through the admin API) or `starting_policy` (the policy directory of the
    /// first start).
    pub source: String,
}

const COLUMNS: &str =
    "revision, bundle, status, proposed_by, proposed_at, decided_by, decided_at, reason, source";

/// Who recorded the starting policy: the gateway itself, at start-up.
pub const STARTING_POLICY_ACTOR: &str = "vhgate (starting policy)";

/// Stores a proposal; `false` if this revision was proposed before.
pub async fn propose(db: &Db, revision: &str, bundle: &[u8], by: &str) -> Result<bool, StoreError> {
    const SQL: &str =
        "INSERT INTO policy_bundles (revision, bundle, status, proposed_by, proposed_at) \
                       VALUES ($1, $2, 'proposed', $3, $4) ON CONFLICT (revision) DO NOTHING";
    let n = with_pool!(db, p => sqlx::query(SQL).bind(revision).bind(bundle).bind(by).bind(crate::record::now())
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Records the starting policy as the active bundle, inside the step's transaction, unless a
/// bundle is active already (another instance recorded its own starting policy first, or an
/// administrator activated one) or this revision is in the history. `false` then: nothing
/// was written and the caller rolls back. Two instances starting at once cannot both insert:
/// the one-active partial unique index turns the second insert into a conflict, which `ON
/// CONFLICT DO NOTHING` absorbs (as it does a revision that is already stored).
pub async fn record_starting(
    tx: &mut Tx,
    revision: &str,
    bundle: &[u8],
    reason: &str,
) -> Result<bool, StoreError> {
    const SQL: &str = "INSERT INTO policy_bundles \
         (revision, bundle, status, proposed_by, proposed_at, decided_by, decided_at, reason, source) \
         SELECT $1, $2, 'active', $3, $4, $5, $6, $7, 'starting_policy' \
         WHERE NOT EXISTS (SELECT 1 FROM policy_bundles WHERE status = 'active') \
         ON CONFLICT DO NOTHING";
    let now = crate::record::now();
    let by = STARTING_POLICY_ACTOR;
    let n = with_tx!(tx, c => sqlx::query(SQL).bind(revision).bind(bundle).bind(by).bind(now)
        .bind(by).bind(now).bind(reason).execute(&mut *c).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// One bundle.
pub async fn get(db: &Db, revision: &str) -> Result<Option<BundleRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM policy_bundles WHERE revision = $1");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(revision).fetch_optional(p).await)?)
}

/// Every bundle, newest proposal first.
pub async fn history(db: &Db) -> Result<Vec<BundleRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM policy_bundles ORDER BY proposed_at DESC");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).fetch_all(p).await)?)
}

/// Records a decision on a bundle in state `from`, inside the step's transaction: the new
/// status, who and why. Activating retires the bundle that was active. `false` if the bundle
/// was no longer in state `from` (someone else decided first), or another activation won the
/// race for the one active slot (the partial unique index); the caller then rolls back.
pub async fn decide(
    tx: &mut Tx,
    revision: &str,
    from: &[&str],
    to: &str,
    by: &str,
    reason: Option<&str>,
) -> Result<bool, StoreError> {
    let now = crate::record::now();
    let placeholders: Vec<String> = (0..from.len()).map(|i| format!("${}", i + 6)).collect();
    let sql = format!(
        "UPDATE policy_bundles SET status = $1, decided_by = $2, decided_at = $3, reason = $4 \
         WHERE revision = $5 AND status IN ({})",
        placeholders.join(", ")
    );
    let done: Result<u64, StoreError> = with_tx!(tx, c => async {
        if to == "active" {
            sqlx::query("UPDATE policy_bundles SET status = 'retired' WHERE status = 'active' AND revision <> $1")
                .bind(revision).execute(&mut *c).await?;
        }
        let mut q = sqlx::query(&sql).bind(to).bind(by).bind(now).bind(reason).bind(revision);
        for f in from {
            q = q.bind(*f);
        }
        Ok(q.execute(&mut *c).await?.rows_affected())
    }.await);
    match done {
        Ok(n) => Ok(n == 1),
        Err(e) if crate::store::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

/// The active bundle, if an administrator ever activated one.
pub async fn active(db: &Db) -> Result<Option<BundleRecord>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM policy_bundles WHERE status = 'active'");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).fetch_optional(p).await)?)
}

/// The revision of the active bundle, without its content: the cheap question instances ask
/// every poll interval.
pub async fn active_revision(db: &Db) -> Result<Option<String>, StoreError> {
    const SQL: &str = "SELECT revision FROM policy_bundles WHERE status = 'active'";
    Ok(with_pool!(db, p => sqlx::query_scalar(SQL).fetch_optional(p).await)?)
}
