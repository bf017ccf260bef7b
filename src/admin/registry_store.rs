//! SQL of partner-registry administration: change requests, their four-eyes decisions, and
//! applying an approved change to the registry tables in one transaction.

use chrono::{DateTime, Utc};
use sqlx::FromRow;

use super::registry::RegistryChange;
use crate::store::{Db, StoreError, Tx};
use crate::{with_pool, with_tx};

/// A stored change request as it is in the database (`changes` is the JSON list).
#[derive(Clone, Debug, FromRow)]
pub struct ChangeRow {
    pub id: String,
    pub changes: String,
    pub note: Option<String>,
    pub status: String,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// A registered token key with its history (public material only).
#[derive(Clone, Debug, FromRow, serde::Serialize)]
pub struct KeyRow {
    pub kid: String,
    #[serde(skip)]
    pub oin: String,
    pub alg: String,
    pub public_key_pem: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub not_after: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "id, changes, note, status, proposed_by, proposed_at, decided_by, decided_at, reason";

/// The registry version: bumped by every applied change.
pub async fn version(db: &Db) -> Result<i64, StoreError> {
    const SQL: &str = "SELECT version FROM registry_version WHERE id = 1";
    let v: Option<(i64,)> = with_pool!(db, p => sqlx::query_as(SQL).fetch_optional(p).await)?;
    Ok(v.map(|(v,)| v).unwrap_or(0))
}

/// Every certificate constraint as (OIN, thumbprint).
pub async fn certificates(db: &Db) -> Result<Vec<(String, String)>, StoreError> {
    const SQL: &str = "SELECT oin, thumbprint FROM partner_certificates ORDER BY oin, thumbprint";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).fetch_all(p).await)?)
}

/// Every key, revoked ones included.
pub async fn keys(db: &Db) -> Result<Vec<KeyRow>, StoreError> {
    const SQL: &str = "SELECT kid, oin, alg, public_key_pem, created_at, revoked_at, not_after \
                       FROM partner_keys ORDER BY oin, created_at, kid";
    Ok(with_pool!(db, p => sqlx::query_as(SQL).fetch_all(p).await)?)
}

/// Stores a proposal.
pub async fn propose(
    db: &Db,
    id: &str,
    changes_json: &str,
    note: Option<&str>,
    by: &str,
) -> Result<(), StoreError> {
    const SQL: &str =
        "INSERT INTO registry_changes (id, changes, note, status, proposed_by, proposed_at) \
                       VALUES ($1, $2, $3, 'proposed', $4, $5)";
    with_pool!(db, p => sqlx::query(SQL).bind(id).bind(changes_json).bind(note).bind(by)
        .bind(crate::record::now()).execute(p).await.map(|_| ()))?;
    Ok(())
}

/// One change request.
pub async fn get(db: &Db, id: &str) -> Result<Option<ChangeRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM registry_changes WHERE id = $1");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).bind(id).fetch_optional(p).await)?)
}

/// Every change request, newest proposal first.
pub async fn history(db: &Db) -> Result<Vec<ChangeRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM registry_changes ORDER BY proposed_at DESC, id DESC");
    Ok(with_pool!(db, p => sqlx::query_as(&sql).fetch_all(p).await)?)
}

/// Rejects a pending proposal; `false` if it was no longer pending.
pub async fn reject(db: &Db, id: &str, by: &str, reason: &str) -> Result<bool, StoreError> {
    const SQL: &str = "UPDATE registry_changes SET status = 'rejected', decided_by = $1, decided_at = $2, reason = $3 \
                       WHERE id = $4 AND status = 'proposed'";
    let n = with_pool!(db, p => sqlx::query(SQL).bind(by).bind(crate::record::now()).bind(reason).bind(id)
        .execute(p).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Applies a pending proposal inside the step's transaction: its operations, its status and
/// the registry version. `false` (and nothing changed) if it was no longer pending.
pub async fn apply(
    tx: &mut Tx,
    id: &str,
    changes: &[RegistryChange],
    by: &str,
) -> Result<bool, StoreError> {
    let now = crate::record::now();
    with_tx!(tx, tx => {
        // Claim the proposal first: a concurrent approval finds it applied and backs off.
        let n = sqlx::query(
            "UPDATE registry_changes SET status = 'applied', decided_by = $1, decided_at = $2 \
             WHERE id = $3 AND status = 'proposed'",
        )
        .bind(by).bind(now).bind(id)
        .execute(&mut *tx).await?.rows_affected();
        if n != 1 {
            return Ok(false);
        }
        for change in changes {
            match change {
                RegistryChange::UpsertPartner { oin, name, partner_type, active } => {
                    sqlx::query(
                        "INSERT INTO partners (oin, name, partner_type, active, created_at) VALUES ($1, $2, $3, $4, $5) \
                         ON CONFLICT (oin) DO UPDATE SET name = excluded.name, \
                         partner_type = excluded.partner_type, active = excluded.active",
                    )
                    .bind(oin).bind(name).bind(partner_type).bind(*active).bind(now)
                    .execute(&mut *tx).await?;
                }
                RegistryChange::AddKey { oin, kid, alg, public_key_pem, not_after } => {
                    sqlx::query(
                        "INSERT INTO partner_keys (kid, oin, alg, public_key_pem, created_at, not_after) \
                         VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(kid).bind(oin).bind(alg).bind(public_key_pem).bind(now).bind(*not_after)
                    .execute(&mut *tx).await?;
                }
                RegistryChange::RevokeKey { kid } => {
                    sqlx::query("UPDATE partner_keys SET revoked_at = $1 WHERE kid = $2 AND revoked_at IS NULL")
                        .bind(now).bind(kid)
                        .execute(&mut *tx).await?;
                }
                RegistryChange::SetCertificateConstraints { oin, allowed_thumbprints } => {
                    sqlx::query("DELETE FROM partner_certificates WHERE oin = $1")
                        .bind(oin)
                        .execute(&mut *tx).await?;
                    for t in allowed_thumbprints {
                        sqlx::query(
                            "INSERT INTO partner_certificates (oin, thumbprint, created_at) VALUES ($1, $2, $3)",
                        )
                        .bind(oin).bind(t).bind(now)
                        .execute(&mut *tx).await?;
                    }
                }
            }
        }
        sqlx::query("UPDATE registry_version SET version = version + 1 WHERE id = 1")
            .execute(&mut *tx).await?;
        Ok(true)
    })
}
